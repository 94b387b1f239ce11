m4_divert(-1)
# header.h.m4 - INTERFACE_nooks.h: declares everything the other
# artefacts define, for the runtime, the kernel and the tests.
m4_define([[nkm_h_import]], [[#include "$1_nooks.h"
]])
m4_define([[nkm_h_type]], [[extern const struct nooks_type nooks_type_$1;
]])
m4_define([[nkm_h_kfunc]], [[nkm_fdecl([[$1]], [[nooks_kw_$1]]);
]])
m4_define([[nkm_h_slot]], [[	nkm_fdecl([[$1]], [[(*$1)]]);
]])
m4_define([[nkm_h_ops]], [[nkm_when(nkm_o([[$1]], [[registered]]), [[extern const struct $1 nooks_xw_$1;
]])]])
m4_divert(0)m4_dnl
nkm_banner([[user/header.h.m4]])
#ifndef nkm_i([[guard]])
#define nkm_i([[guard]])

#include "nooks.h"
#include "nkm_i([[header]])"
nkm_imports([[nkm_h_import]])m4_dnl

#ifdef __cplusplus
extern "C" {
#endif

/* Type descriptors (nooks_type), one per struct of the interface. */
nkm_structs([[nkm_h_type]])m4_dnl

/* Kernel wrappers: what an isolated extension calls. */
nkm_kfuncs([[nkm_h_kfunc]])m4_dnl

/*
 * The kernel wrappers as a table.  An extension loaded into its own link
 * namespace cannot see the kernel's symbols: its stub library
 * (nkm_i([[interface]])_stubs.c) calls through nooks_stubs_[[]]nkm_i([[interface]]), which the loader
 * points at this table.
 */
struct nooks_kw_table_[[]]nkm_i([[interface]]) {
	const char *interface;
	/* the checked functions, NULL-terminated: the only kernel code a
	 * process domain may ask the kernel to run (struct nooks_kw_head) */
	const nooks_thunk *checked;
nkm_kfuncs([[nkm_h_slot]])m4_dnl
};
extern const struct nooks_kw_table_[[]]nkm_i([[interface]]) nooks_kw_table_[[]]nkm_i([[interface]]);

/* Extension wrapper tables, installed by registration. */
nkm_ops([[nkm_h_ops]])m4_dnl

#ifdef __cplusplus
}
#endif

#endif
