/*
 * import.h - nooksc import (import.c): an unannotated IDL skeleton written
 * from a C header with libclang.
 */
#ifndef NOOKSC_IMPORT_H
#define NOOKSC_IMPORT_H

#include "nooksc.h"

enum nooksc_import_kind {
	NOOKSC_IMPORT_FUNCTION,		/* a kernel function */
	NOOKSC_IMPORT_STRUCT,		/* a struct or union, with its fields */
	NOOKSC_IMPORT_OPS,		/* a struct of function pointers */
};

struct nooksc_import_item {
	enum nooksc_import_kind kind;
	const char *name;
	struct srcpos pos;		/* in a list file; pos.file NULL: argv */
};

struct nooksc_import_request {
	const char *header;		/* as an #include "..." spells it */
	const char *interface;		/* NULL: the header's base name */
	const struct nooksc_import_item *items;
	int n_items;
	const char *const *clang_args;	/* -I, -D, -include, ... */
	int n_clang_args;
};

/* Reads a list file: lines "function NAME...", "struct NAME...",
 * "ops NAME...", '#' comments.  The items live in nc's arena.  0, or -1
 * after reporting (an unreadable file, a bad line). */
int nooksc_import_read_list(struct nooksc *nc, const char *path,
			    struct nooksc_import_item **items, int *n);

/* Parses the header and writes the skeleton into *idl (nc's arena).
 * 0, or -1 after reporting every error ([header] in the header, [import]
 * for a name it does not declare); *idl is then NULL. */
int nooksc_import(struct nooksc *nc, const struct nooksc_import_request *rq,
		  const char **idl);

#endif
