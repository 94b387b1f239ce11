m4_divert(-1)
# header.h.m4 - INTERFACE_kmod.h: what the kernel-module target's other
# files define (docs/kmod.md): the type descriptors of the structs the
# tracker follows, the kernel wrappers nooks.ko exports (nooks_kw_NAME,
# which an isolated module's undefined symbols are bound to), and per
# registered ops table the function that fills a binding's table with
# wrappers.
m4_define([[nkm_h_import]], [[#include "$1_kmod.h"
]])
m4_define([[nkm_h_type]], [[nkm_when(nkm_s([[$1]], [[release]]), [[extern const struct nooks_ktype nooks_ktype_$1;
]])]])
m4_define([[nkm_h_kfunc]], [[nkm_fdecl([[$1]], [[nooks_kw_$1]]);
]])
m4_define([[nkm_h_ops]], [[nkm_when(nkm_o([[$1]], [[registered]]), [[void nooks_kx_fill_$1(void *table, const void *orig);
]])]])
m4_divert(0)m4_dnl
nkm_banner([[linux/header.h.m4]])
#ifndef nooks_kmod_[[]]nkm_i([[interface]])_h
#define nooks_kmod_[[]]nkm_i([[interface]])_h

#include <nkm_i([[header]])>
#include "nooks_kmod.h"
nkm_imports([[nkm_h_import]])m4_dnl

/* Type descriptors of the structs an alloc() makes (the tracker's types). */
nkm_structs([[nkm_h_type]])m4_dnl

/* Kernel wrappers: what an isolated module's calls are bound to. */
nkm_kfuncs([[nkm_h_kfunc]])m4_dnl

/* Ops tables the kernel calls through wrappers once registered. */
nkm_ops([[nkm_h_ops]])m4_dnl

#endif
