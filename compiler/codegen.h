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
 * Reports what cannot be generated as [codegen] errors. */
int emit_model(FILE *out, struct nooksc *nc, const struct idl_model *m);

/* One generated artefact: a template and the output name it makes,
 * "%s" standing for the interface name. */
struct artefact {
	const char *template_name;
	const char *output_pattern;
};

extern const struct artefact nooksc_artefacts[];
extern const int nooksc_n_artefacts;

/*
 * Expands every artefact's template for model m into outdir, through os
 * (nothing is renamed into place here).  templates: the template
 * directory.  0; -1 after reporting why as an error in the input or the
 * templates (m4 missing or failing, a leftover macro name); -2 when an
 * output cannot be written (reported on stderr).
 */
int nooksc_generate(struct nooksc *nc, const struct idl_model *m,
		    const char *templates, const char *outdir, struct outset *os);

/* What the make rules of -M, -MM, -MD, -MMD and -MF say. */
struct nooksc_deps {
	const char *const *targets;	/* -MT, as given; none: the outputs */
	int n_targets;
	bool phony;			/* -MP: a rule of its own for each prerequisite */
	bool user_only;			/* -MM, -MMD: leave out system imports */
};

/* Make rules for model m's outputs in outdir (or for the -MT targets):
 * they depend on the IDL files read and every template. */
const char *nooksc_make_rules(struct nooksc *nc, const struct idl_model *m,
			      const char *templates, const char *outdir,
			      const struct nooksc_deps *deps);

/* One template (e.g. verify.c.m4) expanded over model m into *text
 * (malloc'd); 0, or -1 after reporting why. */
int nooksc_expand_template(struct nooksc *nc, const struct idl_model *m,
			   const char *templates, const char *template_name,
			   char **text, size_t *len);

/* The template directory to use when none is given: beside the program
 * (../templates in the build tree, ../share/nooks/templates installed). */
const char *nooksc_default_templates(void);

#endif
