/*
 * codegen.c - runs m4 over the templates with the model's definitions.
 *
 * A target is a directory of templates with the list of files it writes
 * (TEMPLATES/TARGET/outputs, see codegen.h).  For each file:
 * `m4 -P -E common.m4 MODEL TARGET/TEMPLATE` into memory,
 * where MODEL is the emitter's output in a temporary file.  -P prefixes
 * every builtin with m4_, so C words such as `index` or `len` are safe;
 * -E makes any m4 warning (an undefined macro through m4_indir, say)
 * fatal.  Then the quadrigraphs emit.c wrote for `[`, `]`, `$` and `@` are
 * turned back, and the text is scanned for leftover `m4_` or `nkm`
 * names: m4 passes an undefined plain macro name through silently, and a
 * template typo must fail here rather than in the C compiler.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "codegen.h"

extern char **environ;

/* One file a target writes: its template and its output name, where
 * {interface} stands for the interface's name. */
struct artefact {
	const char *template_name;	/* TARGET/NAME.m4, under the template directory */
	const char *output_pattern;
};

#define MAX_ARTEFACTS 32
#define INTERFACE_HOLE "{interface}"

/* A target name is a directory name: letters, digits, '-', '_', '.', not
 * starting with '.'. */
static bool target_name_ok(const char *t)
{
	if (!*t || *t == '.')
		return false;
	for (; *t; t++)
		if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		      (*t >= '0' && *t <= '9') || *t == '-' || *t == '_' || *t == '.'))
			return false;
	return true;
}

/* A name in a target's list: a file name in its directory. */
static bool file_name_ok(const char *s)
{
	return *s && *s != '.' && !strchr(s, '/');
}

/*
 * Reads TEMPLATES/TARGET/outputs into a[] (strings in nc's arena); the
 * number of files, or -1 after reporting why.
 */
static int read_outputs(struct nooksc *nc, const char *templates, const char *target,
			struct artefact *a)
{
	char path[PATH_MAX];
	char line[512];
	int n = 0, lineno = 0;

	if (!target_name_ok(target)) {
		diag(nc, NOOKSC_ERROR, "codegen", NULL,
		     "'%s' is not a target name (a directory under the template directory)", target);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/outputs", templates, target);
	FILE *f = fopen(path, "r");
	if (!f) {
		diag(nc, NOOKSC_ERROR, "codegen", NULL,
		     "cannot read template list '%s': %s (no target '%s' there; give the template directory with --templates)",
		     path, strerror(errno), target);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char tmpl[256], out[256], extra[2];
		lineno++;
		int k = sscanf(line, " %255s %255s %1s", tmpl, out, extra);
		if (k <= 0 || tmpl[0] == '#')
			continue;
		const char *hole = k == 2 ? strstr(out, INTERFACE_HOLE) : NULL;
		if (k != 2 || !file_name_ok(tmpl) || !file_name_ok(out) || !hole ||
		    strstr(hole + 1, INTERFACE_HOLE)) {
			diag(nc, NOOKSC_ERROR, "codegen", NULL,
			     "%s:%d: want 'TEMPLATE OUTPUT', two file names, OUTPUT holding %s once",
			     path, lineno, INTERFACE_HOLE);
			fclose(f);
			return -1;
		}
		if (n == MAX_ARTEFACTS) {
			diag(nc, NOOKSC_ERROR, "codegen", NULL, "%s: more than %d files",
			     path, MAX_ARTEFACTS);
			fclose(f);
			return -1;
		}
		a[n].template_name = arena_printf(ARENA(nc), "%s/%s", target, tmpl);
		a[n].output_pattern = arena_strdup(ARENA(nc), out);
		n++;
	}
	fclose(f);
	if (n == 0)
		diag(nc, NOOKSC_ERROR, "codegen", NULL, "%s lists no files", path);
	return n ? n : -1;
}

/* Output name of artefact a for interface iface. */
static const char *output_name(struct nooksc *nc, const struct artefact *a, const char *iface)
{
	const char *hole = strstr(a->output_pattern, INTERFACE_HOLE);
	return arena_printf(ARENA(nc), "%.*s%s%s", (int)(hole - a->output_pattern),
			    a->output_pattern, iface, hole + strlen(INTERFACE_HOLE));
}

const char *nooksc_default_templates(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (n <= 0)
		return "templates";
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	static const char *const candidates[] = {
		"%s/../templates",		/* the build tree */
		"%s/../share/nooks/templates",	/* installed */
	};
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), candidates[i], exe);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode) && realpath(path, dir))
			return dir;
	}
#ifdef NOOKSC_DATADIR
	/* installed where DATADIR is not beside the program */
	if (stat(NOOKSC_DATADIR "/templates", &st) == 0 && S_ISDIR(st.st_mode))
		return NOOKSC_DATADIR "/templates";
#endif
	return "templates";
}

const char *nooksc_reserved_summary(void)
{
	return "no name starts with m4_, nkm, nkw_, nkx_ or nkt_ (the code generator's)";
}

const char *nooksc_reserved_name(struct nooksc *nc, const char *name)
{
	if (!strncmp(name, "m4_", 3) || !strncmp(name, "nkm", 3))
		return arena_printf(ARENA(nc),
				    "'%s' starts with '%.3s', which is reserved for the code generator",
				    name, name);
	if (!strncmp(name, "nkw_", 4) || !strncmp(name, "nkx_", 4) || !strncmp(name, "nkt_", 4))
		return arena_printf(ARENA(nc),
				    "'%s' starts with '%.4s', which is reserved for generated names",
				    name, name);
	if (strstr(name, "nkm_"))
		return arena_printf(ARENA(nc),
				    "'%s' contains 'nkm_', which is reserved for the code generator",
				    name);
	return NULL;
}

const char *nooksc_reserved_interface(const char *interface)
{
	if (!strcmp(interface, "m4"))	/* m4_nooks.h */
		return "interface 'm4' would name its files m4_*, which is reserved for the code generator";
	return NULL;
}

const char *nooksc_reserved_header(struct nooksc *nc, const char *header)
{
	if (strstr(header, "m4_") || strstr(header, "nkm"))
		return arena_printf(ARENA(nc),
				    "header name \"%s\" contains 'm4_' or 'nkm', which are reserved for the code generator",
				    header);
	return NULL;
}

/* Runs m4 with args, its stdout into *text (malloc'd).  0, or -1 with a
 * diagnostic. */
static int run_m4(struct nooksc *nc, char *const argv[], const char *tmpl,
		  char **text, size_t *len)
{
	int pipefd[2];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, err;

	if (pipe(pipefd)) {
		diag(nc, NOOKSC_ERROR, "codegen", NULL, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	posix_spawn_file_actions_addclose(&fa, pipefd[1]);
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (err) {
		close(pipefd[0]);
		diag(nc, NOOKSC_ERROR, "codegen", NULL,
		     "cannot run '%s': %s (code generation needs GNU m4; install the m4 package)",
		     argv[0], strerror(err));
		return -1;
	}

	struct strbuf b = { 0 };
	char chunk[8192];
	ssize_t n;
	while ((n = read(pipefd[0], chunk, sizeof(chunk) - 1)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		chunk[n] = '\0';
		/* templates are text: a NUL would end the chunk early, and
		 * the leftover scan below treats the text as a C string */
		sb_puts(&b, chunk);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(b.s);
		diag(nc, NOOKSC_ERROR, "codegen", NULL,
		     "m4 failed on template '%s' (%s %d)", tmpl,
		     WIFEXITED(status) ? "exit status" : "signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	*text = b.s ? b.s : calloc(1, 1);
	*len = b.len;
	return 0;
}

/* Quadrigraphs back to the characters they stand for, in place. */
static size_t unquad(char *s, size_t len)
{
	static const struct {
		const char *quad;
		char c;
	} q[] = { { "@<:@", '[' }, { "@:>@", ']' }, { "@S|@", '$' }, { "@&t@", '@' } };
	size_t r = 0, w = 0;

	while (r < len) {
		size_t i;
		for (i = 0; i < 4; i++)
			if (!strncmp(s + r, q[i].quad, 4))
				break;
		if (i < 4) {
			s[w++] = q[i].c;
			r += 4;
		} else {
			s[w++] = s[r++];
		}
	}
	s[w] = '\0';
	return w;
}

/* A leftover macro name: a word starting m4_, or nkm_ / nkm: anywhere (a
 * template that glues a call to a name, `x_$1]]nkm_when(...)`, leaves
 * it inside a longer word; the reserved-name check keeps such words out
 * of the input). */
static const char *leftover(const char *s)
{
	for (const char *p = s; *p; p++) {
		if (!strncmp(p, "nkm_", 4) || !strncmp(p, "nkm:", 4))
			return p;
		bool word_start = p == s || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
					      (p[-1] >= 'A' && p[-1] <= 'Z') ||
					      (p[-1] >= '0' && p[-1] <= '9'));
		if (word_start && !strncmp(p, "m4_", 3))
			return p;
	}
	return NULL;
}

/* The model as m4 definitions in a temporary file; its path in path. */
static int write_model(struct nooksc *nc, const struct idl_model *m, char *path)
{
	int fd = mkstemp(path);

	if (fd < 0) {
		diag(nc, NOOKSC_ERROR, "codegen", NULL, "cannot create a temporary file: %s",
		     strerror(errno));
		return -1;
	}
	FILE *mf = fdopen(fd, "w");
	int rc = 0;
	if (!mf || emit_model(mf, nc, m) || fflush(mf)) {
		if (!nc->errors)
			diag(nc, NOOKSC_ERROR, "codegen", NULL, "cannot write the model: %s",
			     strerror(errno));
		rc = -1;
	}
	if (mf)
		fclose(mf);
	else
		close(fd);
	return nc->errors ? -1 : rc;
}

/* One template expanded over the model file: quadrigraphs restored, no
 * leftover macro names.  *text is malloc'd. */
static int expand(struct nooksc *nc, const char *templates, const char *model_path,
		  const char *template_name, char **text, size_t *len)
{
	const char *m4 = getenv("NOOKSC_M4");
	char common[PATH_MAX], tmpl[PATH_MAX];
	char *argv[] = { (char *)(m4 && *m4 ? m4 : "m4"), "-P", "-E",
			 common, (char *)model_path, tmpl, NULL };

	snprintf(common, sizeof(common), "%s/common.m4", templates);
	snprintf(tmpl, sizeof(tmpl), "%s/%s", templates, template_name);
	if (access(tmpl, R_OK) || access(common, R_OK)) {
		diag(nc, NOOKSC_ERROR, "codegen", NULL,
		     "cannot read template '%s' (give the template directory with --templates)",
		     access(common, R_OK) ? common : tmpl);
		return -1;
	}
	if (run_m4(nc, argv, template_name, text, len))
		return -1;
	*len = unquad(*text, *len);
	const char *left = leftover(*text);
	if (left) {
		int line = 1;
		for (const char *p = *text; p < left; p++)
			line += *p == '\n';
		diag(nc, NOOKSC_ERROR, "codegen", NULL,
		     "template '%s' left the macro name '%.*s' unexpanded (output line %d)",
		     template_name, (int)strcspn(left, " \t\n(),;[]"), left, line);
		free(*text);
		return -1;
	}
	return 0;
}

int nooksc_expand_template(struct nooksc *nc, const struct idl_model *m,
			   const char *templates, const char *template_name,
			   char **text, size_t *len)
{
	char model_path[] = "/tmp/nooksc-model-XXXXXX";
	int rc = write_model(nc, m, model_path);

	if (rc == 0)
		rc = expand(nc, templates, model_path, template_name, text, len);
	unlink(model_path);	/* harmless when mkstemp failed: no such file */
	return rc;
}

/* A file name as make reads it in a rule: '$' doubled, blanks and '#'
 * escaped (as cc -MD writes them). */
static void sb_make_name(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '$')
			sb_puts(b, "$");
		else if (*s == ' ' || *s == '\t' || *s == '#')
			sb_puts(b, "\\");
		sb_printf(b, "%c", *s);
	}
}

const char *nooksc_make_rules(struct nooksc *nc, const struct idl_model *m,
			      const char *templates, const char *target,
			      const char *outdir, const struct nooksc_deps *deps)
{
	struct artefact arts[MAX_ARTEFACTS];
	struct strbuf b = { 0 };

	if (!target)
		target = NOOKSC_DEFAULT_TARGET;
	int na = read_outputs(nc, templates, target, arts);
	if (na < 0)
		return NULL;

	int n = nooksc_source_count(m), ndeps = 0;
	const char **dep = arena_alloc(ARENA(nc), sizeof(*dep) * (size_t)(n + 2 + na));

	for (int i = 0; i < deps->n_targets; i++)
		sb_printf(&b, "%s%s", i ? " " : "", deps->targets[i]);
	for (int i = 0; i < na && !deps->n_targets; i++) {
		if (i)
			sb_puts(&b, " ");
		sb_make_name(&b, arena_printf(ARENA(nc), "%s/", outdir));
		sb_make_name(&b, output_name(nc, &arts[i], m->main->interface));
	}
	sb_puts(&b, ":");
	for (int i = 0; i < n; i++)
		if (!deps->user_only || !nooksc_source_is_system(m, i))
			dep[ndeps++] = nooksc_source_path(m, i);
	dep[ndeps++] = arena_printf(ARENA(nc), "%s/common.m4", templates);
	dep[ndeps++] = arena_printf(ARENA(nc), "%s/%s/outputs", templates, target);
	for (int i = 0; i < na; i++)
		dep[ndeps++] = arena_printf(ARENA(nc), "%s/%s", templates, arts[i].template_name);
	for (int i = 0; i < ndeps; i++) {
		sb_puts(&b, " \\\n ");
		sb_make_name(&b, dep[i]);
	}
	sb_puts(&b, "\n");
	/* -MP: every prerequisite but the input as a target of its own, so
	 * that make does not fail when one is deleted */
	for (int i = 1; i < ndeps && deps->phony; i++) {
		sb_puts(&b, "\n");
		sb_make_name(&b, dep[i]);
		sb_puts(&b, ":\n");
	}
	return sb_finish(ARENA(nc), &b);
}

int nooksc_generate(struct nooksc *nc, const struct idl_model *m,
		    const char *templates, const char *target, const char *outdir,
		    struct outset *os)
{
	struct artefact arts[MAX_ARTEFACTS];
	int na = read_outputs(nc, templates, target ? target : NOOKSC_DEFAULT_TARGET, arts);
	if (na < 0)
		return -1;

	char model_path[] = "/tmp/nooksc-model-XXXXXX";
	int rc = write_model(nc, m, model_path);
	char out[2 * PATH_MAX + 2];

	for (int i = 0; i < na && rc == 0; i++) {
		const struct artefact *a = &arts[i];
		char *text;
		size_t len;

		if (expand(nc, templates, model_path, a->template_name, &text, &len)) {
			rc = -1;
			break;
		}
		snprintf(out, sizeof(out), "%s/%s", outdir,
			 output_name(nc, a, m->main->interface));
		FILE *fp;
		int err = out_open(os, out, &fp);
		if (err) {
			/* not the input's fault: a usage or system problem */
			fprintf(stderr, "nooksc: cannot write '%s': %s\n", out,
				err == EEXIST ? "two inputs would both write it" : strerror(err));
			free(text);
			rc = -2;
			break;
		}
		fwrite(text, 1, len, fp);
		free(text);
	}
	unlink(model_path);
	return rc;
}
