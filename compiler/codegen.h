/*
 * codegen.h - generating C from the checked model (emit.c, codegen.c).
 */
#ifndef NOOKSC_CODEGEN_H
#define NOOKSC_CODEGEN_H

#include <stdio.h>

#include "nooksc.h"
#include "output.h"

struct nooksc;

/* Writes the model as m4 definitions; 0 or -1 on a write error.
 * What cannot be generated the checks refused before (wrap-variadic,
 * release-arity, ops-locator, replay-object: checks.c). */
int emit_model(FILE *out, struct nooksc *nc, const struct idl_model *m);

/*
 * Targets.  The template directory holds common.m4 (read before every
 * template), verify.c.m4 (nooksc verify) and one directory per target:
 * its templates and `outputs`, the list of files it writes per interface
 * (a template and an output name per line, {interface} standing for the
 * interface's name).  Adding a target is adding a directory.
 */
#define NOOKSC_DEFAULT_TARGET "user"

/*
 * Expands every template target (NULL: the default) lists for model m
 * into outdir, through os (nothing is renamed into place here).
 * templates: the template directory.  0; -1 after reporting why as an
 * error in the input or the templates (m4 missing or failing, a leftover
 * macro name, a bad list); -2 when an output cannot be written (reported
 * on stderr).
 */
int nooksc_generate(struct nooksc *nc, const struct idl_model *m,
		    const char *templates, const char *target, const char *outdir,
		    struct outset *os);

/* What the make rules of -M, -MM, -MD, -MMD and -MF say. */
struct nooksc_deps {
	const char *const *targets;	/* -MT, as given; none: the outputs */
	int n_targets;
	bool phony;			/* -MP: a rule of its own for each prerequisite */
	bool user_only;			/* -MM, -MMD: leave out system imports */
};

/* Make rules for model m's outputs in outdir (or for the -MT targets) for
 * target (NULL: the default): they depend on the IDL files read, the
 * target's list and every template.  NULL after reporting a bad target. */
const char *nooksc_make_rules(struct nooksc *nc, const struct idl_model *m,
			      const char *templates, const char *target,
			      const char *outdir, const struct nooksc_deps *deps);

/* One template (e.g. verify.c.m4) expanded over model m into *text
 * (malloc'd); 0, or -1 after reporting why. */
int nooksc_expand_template(struct nooksc *nc, const struct idl_model *m,
			   const char *templates, const char *template_name,
			   char **text, size_t *len);

/*
 * The names the generated code keeps for itself, which the input must not
 * use (the reserved-name check): m4_ and nkm are the model's and m4's (such
 * a name in the output would be taken for a macro left unexpanded); nkw_,
 * nkx_ and nkt_ are the templates' own (their variables, frames and
 * helpers).  Each returns the diagnostic's text (in nc's arena), or NULL
 * when the name or text is free.
 */
const char *nooksc_reserved_name(struct nooksc *nc, const char *name);
const char *nooksc_reserved_interface(const char *interface);
const char *nooksc_reserved_header(struct nooksc *nc, const char *header);
/* The rule in one line, for the check table. */
const char *nooksc_reserved_summary(void);

/* The template directory to use when none is given: beside the program
 * (../templates in the build tree, ../share/nooks/templates installed). */
const char *nooksc_default_templates(void);

#endif
