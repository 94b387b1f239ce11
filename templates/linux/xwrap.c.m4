m4_divert(-1)
# xwrap.c.m4 - INTERFACE_kmod_xw.c: the kernel side of calls from the
# kernel into an isolated module's ops tables (docs/kmod.md).  When a
# module registers a table, nooks_k_bind gives the kernel a copy of it
# (its binding) in which every entry the IDL describes, where the
# module's table has one, is nooks_kx_TABLE_ENTRY (nooks_kx_fill_TABLE);
# entries the IDL does not describe stay the module's own.  A wrapper
# finds its binding through the object it is called for, returns fault()
# at once when the module is down (failed, being recovered), hands the
# module what a transfer gives it (tracked as the module's from then on),
# and calls the entry through nooks_k_call with the entry's timeout() in
# milliseconds (0: none): a fault in the module's code, or the module
# still running its own code at the deadline, comes back here as a 0 (the
# die notifier or the deadline's timer unwound the thread to this call;
# kmod/call.S), and the wrapper returns fault().
m4_define([[nkm_pn]], [[nkm_p([[$1]], [[$2]], [[name]])]])
m4_define([[nkm_ptype]], [[&nooks_ktype_[[]]nkm_p([[$1]], [[$2]], [[struct]])]])
m4_define([[nkm_faultval]], [[nkm_choose(nkm_e([[$1]], [[fault]]), [[nkm_e([[$1]], [[fault]])]], [[(nkm_e([[$1]], [[ret]]))0]])]])
m4_define([[nkm_fault]], [[m4_ifelse(nkm_e([[$1]], [[void]]), [[1]], [[return;]], [[return nkm_faultval([[$1]]);]])]])
m4_define([[nkm_framearglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])f->nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_frame_field]], [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])
m4_define([[nkm_frame_init]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]]).nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_tracked]], [[nkm_s(nkm_p([[$1]], [[$2]], [[struct]]), [[release]])]])
# A transfer makes the object the module's: tracked, so that recovery
# releases it if the module dies holding it (nooks_k_give releases it at
# once if it cannot be tracked).
m4_define([[nkm_give]], [[nkm_when(nkm_p([[$1]], [[$2]], [[transfer]]), [[nkm_when(nkm_tracked([[$1]], [[$2]]), [[	if (nkm_pn([[$1]], [[$2]]) && nooks_k_give(nkx_b->dom, nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]])))
		nkm_fault([[$1]])
]])]])]])
m4_define([[nkm_entry]], [[
/* ---- $1.$2 */

struct nkx_frame_$1_$2 {
	nkm_edecl([[$1:$2]], [[(*nkx_fn)]]);
nkm_unless(nkm_e([[$1:$2]], [[void]]), [[	nkm_eretdecl([[$1:$2]], [[nkx_ret]]);
]])m4_dnl
nkm_params([[$1:$2]], [[nkm_frame_field]])m4_dnl
};

static void nkx_thunk_$1_$2(void *p)
{
	struct nkx_frame_$1_$2 *f = p;

	nkm_unless(nkm_e([[$1:$2]], [[void]]), [[f->nkx_ret = ]])f->nkx_fn(nkm_params([[$1:$2]], [[nkm_framearglist]]));
}

static nkm_edecl([[$1:$2]], [[nooks_kx_$1_$2]])
{
	const struct nooks_kbind *nkx_b = nooks_k_binding_of(nkm_e([[$1:$2]], [[locparam]])->nkm_e([[$1:$2]], [[locfield]]));
	struct nkx_frame_$1_$2 nkx_fr = { nkm_params([[$1:$2]], [[nkm_frame_init]]) };

	nkx_fr.nkx_fn = ((const struct $1 *)nkx_b->orig)->$2;
nkm_params([[$1:$2]], [[nkm_give]])m4_dnl
	if (!nooks_k_call(nkx_b->dom, nkx_thunk_$1_$2, &nkx_fr, nkm_e([[$1:$2]], [[timeout]])))	/* down, faulted or late */
		nkm_fault([[$1:$2]])
nkm_unless(nkm_e([[$1:$2]], [[void]]), [[	return nkx_fr.nkx_ret;
]])m4_dnl
}
]])
m4_define([[nkm_slot]], [[	if (o->$2)
		t->$2 = nooks_kx_$1_$2;
]])
m4_define([[nkm_table]], [[nkm_when(nkm_o([[$1]], [[registered]]), [[nkm_entries([[$1]], [[nkm_entry]])
/* A binding's table: the module's, with the described entries wrapped. */
void nooks_kx_fill_$1(void *table, const void *orig)
{
	struct $1 *t = table;
	const struct $1 *o = orig;

	*t = *o;
nkm_entries([[$1]], [[nkm_slot]])m4_dnl
}
]])]])
m4_divert(0)m4_dnl
nkm_banner([[linux/xwrap.c.m4]])
#include <linux/kernel.h>

#include "nkm_i([[interface]])_kmod.h"
nkm_ops([[nkm_table]])m4_dnl
