/*
 * verify.h - nooksc verify (verify.c): the IDL against its C header.
 */
#ifndef NOOKSC_VERIFY_H
#define NOOKSC_VERIFY_H

#include "nooksc.h"

/* Parses the header model m names, with the compiler arguments given
 * (-I, -D, -std, ...), and reports every disagreement as an error at the
 * IDL declaration ([verify]) and every error in the header itself
 * ([header]).  0 when they agree, -1 otherwise. */
int nooksc_verify(struct nooksc *nc, const struct idl_model *m, const char *templates,
		  const char *const *clang_args, int n_clang_args);

#endif
