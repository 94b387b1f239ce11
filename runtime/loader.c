/*
 * loader.c - loading an unmodified extension object, natively or isolated.
 *
 * Native: dlopen() into the kernel's namespace; the extension's imports of
 * the kernel API bind to the kernel itself.  Isolated: a new link
 * namespace (dlmopen) that first receives the wrapper library, a shared
 * object carrying the kernel API library's soname and built from the
 * generated stubs; the extension, loaded next into the same namespace,
 * finds its DT_NEEDED library already there and binds to the stubs.  The
 * namespace cannot see the kernel's symbols, so the loader hands each
 * stub table pointer (nooks_stubs_IFACE) the kernel's table of wrappers
 * and the exit hook (extlib.c) the runtime's exit handler.  A reload after
 * a fault closes only the extension: the namespace, its libc and the
 * wrapper library stay, since glibc cannot unload a namespace's libc and
 * namespaces are few (about a dozen).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nooks_internal.h"

struct nooks_ext {
	struct nooks_domain *d;
	char *path;
	void *handle;		/* the extension */
	void *wrapper;		/* isolated: the wrapper library */
	Lmid_t lmid;
};

static void set_err(char *err, size_t len, const char *fmt, const char *a,
		    const char *b)
{
	if (err && len)
		snprintf(err, len, fmt, a, b ? b : "");
}

/* A clear reason before dlopen's own: missing, unreadable, not ELF. */
static int precheck(const char *path, char *err, size_t errlen)
{
	unsigned char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		set_err(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n != 4 || memcmp(magic, "\177ELF", 4) != 0) {
		set_err(err, errlen, "'%s' is not an ELF shared object%s", path, "");
		return -1;
	}
	return 0;
}

/* Its PT_LOAD segments (readable; writable where the segment is), read
 * from the program headers mapped with the object (dl_iterate_phdr sees
 * only the caller's namespace): the extension may pass its string
 * constants and tables to the kernel as well as its data. */
static void allow_segments(struct nooks_ext *e, const struct link_map *lm)
{
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)lm->l_addr;

	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(lm->l_addr + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			nk_tracker_allow(e->d, (const void *)(lm->l_addr + ph[i].p_vaddr),
					 ph[i].p_memsz, (ph[i].p_flags & PF_W) != 0);
}

static int open_ext(struct nooks_ext *e, char *err, size_t errlen)
{
	if (e->wrapper)
		e->handle = dlmopen(e->lmid, e->path, RTLD_NOW | RTLD_LOCAL);
	else
		e->handle = dlopen(e->path, RTLD_NOW | RTLD_LOCAL);
	if (!e->handle) {
		set_err(err, errlen, "cannot load '%s': %s", e->path, dlerror());
		return -1;
	}
	/* its writable segments are memory it may pass to the kernel */
	struct link_map *lm = NULL;
	if (dlinfo(e->handle, RTLD_DI_LINKMAP, &lm) == 0 && lm)
		allow_segments(e, lm);
	return 0;
}

struct nooks_ext *nooks_ext_load(struct nooks_domain *d, const char *path,
				 const char *wrapper,
				 const struct nooks_stub_binding *bind, size_t nbind,
				 char *err, size_t errlen)
{
	struct nooks_ext *e;

	if (precheck(path, err, errlen) || (wrapper && precheck(wrapper, err, errlen)))
		return NULL;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->path = strdup(path))) {
		free(e);
		set_err(err, errlen, "out of memory loading '%s'%s", path, "");
		return NULL;
	}
	e->d = d;
	if (wrapper) {
		e->wrapper = dlmopen(LM_ID_NEWLM, wrapper, RTLD_NOW | RTLD_LOCAL);
		if (!e->wrapper) {
			const char *why = dlerror();
			if (why && (strstr(why, "namespace") || strstr(why, "static TLS")))
				set_err(err, errlen, "no link namespace left for '%s' (%s)", path, why);
			else
				set_err(err, errlen, "cannot load the wrapper library: %s%s",
					why ? why : "?", "");
			free(e->path);
			free(e);
			return NULL;
		}
		dlinfo(e->wrapper, RTLD_DI_LMID, &e->lmid);
		for (size_t i = 0; i < nbind; i++) {
			const void **slot = dlsym(e->wrapper, bind[i].pointer);
			if (!slot) {
				set_err(err, errlen, "the wrapper library has no '%s'%s",
					bind[i].pointer, "");
				dlclose(e->wrapper);
				free(e->path);
				free(e);
				return NULL;
			}
			*slot = bind[i].table;
		}
		void (**exit_hook)(int) = dlsym(e->wrapper, "nooks_ext_exit_hook");
		if (exit_hook)
			*exit_hook = nooks_ext_exited;
	}
	if (open_ext(e, err, errlen)) {
		if (e->wrapper)
			dlclose(e->wrapper);
		free(e->path);
		free(e);
		return NULL;
	}
	return e;
}

void *nooks_ext_sym(struct nooks_ext *e, const char *name)
{
	return dlsym(e->handle, name);
}

int nooks_ext_reload(struct nooks_ext *e, char *err, size_t errlen)
{
	if (e->handle)
		dlclose(e->handle);
	e->handle = NULL;
	return open_ext(e, err, errlen);
}

void nooks_ext_unload(struct nooks_ext *e)
{
	if (!e)
		return;
	if (e->handle)
		dlclose(e->handle);
	if (e->wrapper)
		dlclose(e->wrapper);
	free(e->path);
	free(e);
}

int nooks_ext_isolated(const struct nooks_ext *e)
{
	return e->wrapper != NULL;
}
