m4_divert(-1)
# stubs.c.m4 - INTERFACE_stubs.c: the kernel API under its real names,
# for the wrapper library an isolated extension binds to.  Built as a
# shared object carrying the kernel API library's soname, it stands in for
# the kernel when the extension is loaded into its own link namespace.
# That namespace cannot see the kernel's symbols, so each stub calls its
# kernel wrapper through a table pointer the loader sets.
m4_define([[nkm_stub_arg]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_p([[$1]], [[$2]], [[name]])]])
m4_define([[nkm_stub]], [[
nkm_f([[$1]], [[proto]])
{
	nkm_unless(nkm_f([[$1]], [[void]]), [[return ]])nooks_stubs_[[]]nkm_i([[interface]])->$1(nkm_params([[$1]], [[nkm_stub_arg]]));
}
]])
m4_divert(0)m4_dnl
nkm_banner([[user/stubs.c.m4]])
#include "nkm_i([[interface]])_nooks.h"

/* Set by the loader to the kernel's nooks_kw_table_[[]]nkm_i([[interface]]). */
const struct nooks_kw_table_[[]]nkm_i([[interface]]) *nooks_stubs_[[]]nkm_i([[interface]]);
nkm_kfuncs([[nkm_stub]])m4_dnl
