m4_divert(-1)
# kwrap.c.m4 - INTERFACE_kmod_kw.c: the kernel side of calls from an
# isolated module into the kernel (docs/kmod.md).  For every kernel
# function, nooks_kw_NAME, exported by nooks.ko; an isolated module's
# undefined symbol NAME is renamed to it (tools/kmod/wrap.sh).  The
# wrapper finds the module's domain by its caller (nooks_k_caller); a
# caller that is no isolated module gets the function unchecked.  For a
# module it checks every object parameter against the in-kernel tracker
# (a live object of that module, of that type), refuses a second release
# before it reaches the allocator, forgets what release() and transfer
# end, tracks what alloc() makes, binds a registered ops table to the
# wrappers of INTERFACE_kmod_xw.c and records registrations with their
# undo() for recovery.  There is no shadow copy and no memory protection
# here: the module shares the kernel's address space and writes the
# kernel's objects in place (docs/kmod.md, "What is protected").
#
# Per parameter (key = function, $2 = index):
m4_define([[nkm_pn]], [[nkm_p([[$1]], [[$2]], [[name]])]])
m4_define([[nkm_ptype]], [[&nooks_ktype_[[]]nkm_p([[$1]], [[$2]], [[struct]])]])
m4_define([[nkm_nullable]], [[nkm_p([[$1]], [[$2]], [[nullable]])]])
# a refused call: void functions return, others return the error value
m4_define([[nkm_err]], [[nkm_choose(nkm_f([[$1]], [[void]]), [[return;]], [[return nkm_errval(nkm_f([[$1]], [[retkind]]), nkm_f([[$1]], [[ret]]));]])]])
m4_define([[nkm_arglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_pn([[$1]], [[$2]])]])
# Is the parameter's struct one the tracker follows (an alloc() makes it)?
m4_define([[nkm_tracked]], [[nkm_s(nkm_p([[$1]], [[$2]], [[struct]]), [[release]])]])
# The checks, in parameter order.  A tracked object must be a live one of
# this module; release() and transfer forget it (a second release is
# refused: the double free never reaches the allocator).
m4_define([[nkm_ends]], [[m4_ifelse(nkm_p([[$1]], [[$2]], [[release]])nkm_p([[$1]], [[$2]], [[transfer]]), [[00]], [[]], [[1]])]])
m4_define([[nkm_objcheck]], [[nkm_choose(nkm_ends([[$1]], [[$2]]),
[[$3if (nooks_k_forget(nkw_dom, nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]), "$1"))
$3	nkm_err([[$1]])	/* not a live struct nkm_p([[$1]], [[$2]], [[struct]]) of this module: released twice? */
]], [[$3if (nooks_k_check(nkw_dom, nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]), "$1"))
$3	nkm_err([[$1]])	/* not a live struct nkm_p([[$1]], [[$2]], [[struct]]) of this module */
]])]])
m4_define([[nkm_nullcheck]], [[nkm_unless(nkm_nullable([[$1]], [[$2]]), [[	if (!nkm_pn([[$1]], [[$2]]) && nooks_k_refuse(nkw_dom, "$1", "NULL nkm_pn([[$1]], [[$2]])"))
		nkm_err([[$1]])
]])]])
m4_define([[nkm_check]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[obj]], [[nkm_choose(nkm_tracked([[$1]], [[$2]]), [[nkm_choose(nkm_nullable([[$1]], [[$2]]), [[	if (nkm_pn([[$1]], [[$2]])) {
nkm_objcheck([[$1]], [[$2]], [[		]])m4_dnl
	}
]], [[nkm_objcheck([[$1]], [[$2]], [[	]])]])]], [[nkm_nullcheck([[$1]], [[$2]])]])]],
[[buf]], [[nkm_nullcheck([[$1]], [[$2]])]],
[[str]], [[nkm_nullcheck([[$1]], [[$2]])]],
[[allocout]], [[nkm_nullcheck([[$1]], [[$2]])]],
[[handle]], [[nkm_nullcheck([[$1]], [[$2]])]], [[]])]])
# After the call: what an out-parameter's alloc() made is the module's.
m4_define([[nkm_after]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[allocout]], [[	if (nkm_choose(nkm_f([[$1]], [[void]]), [[]], [[nkm_succeeded([[$1]]) && ]])*nkm_pn([[$1]], [[$2]]) &&
	    nooks_k_track(nkw_dom, *nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]), "$1")) {
		nkm_s(nkm_p([[$1]], [[$2]], [[struct]]), [[release]])(*nkm_pn([[$1]], [[$2]]));
		*nkm_pn([[$1]], [[$2]]) = NULL;
		nkm_err([[$1]])
	}
]], [[]])]])
m4_define([[nkm_failed]], [[nkm_case(nkm_f([[$1]], [[retkind]]), [[pointer]], [[!nkw_ret]], [[nkw_ret != 0]])]])
m4_define([[nkm_succeeded]], [[nkm_case(nkm_f([[$1]], [[retkind]]), [[pointer]], [[nkw_ret]], [[nkw_ret == 0]])]])
m4_define([[nkm_reg]], [[nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]])]])
m4_define([[nkm_undo_adapter]], [[nkm_when(nkm_f([[$1]], [[undo]]), [[
static void nkw_undo_$1(void *obj)
{
	nkm_f([[$1]], [[undo]])((struct nkm_f([[$1]], [[regstruct]]) *)obj);
}
]])]])
m4_define([[nkm_kfunc]], [[
/* ---- nkm_f([[$1]], [[proto]]) */
nkm_undo_adapter([[$1]])
nkm_fdecl([[$1]], [[nooks_kw_$1]])
{
	struct nooks_kdom *nkw_dom = nooks_k_caller(_RET_IP_);
nkm_unless(nkm_f([[$1]], [[void]]), [[	nkm_fretdecl([[$1]], [[nkw_ret]]);
]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[	struct nooks_kbind *nkw_bind;
	int nkw_fresh;
]])m4_dnl

nkm_choose(nkm_f([[$1]], [[void]]), [[	if (!nkw_dom) {	/* not called by an isolated module: nothing to check */
		$1(nkm_params([[$1]], [[nkm_arglist]]));
		return;
	}
]], [[	if (!nkw_dom)	/* not called by an isolated module: nothing to check */
		return $1(nkm_params([[$1]], [[nkm_arglist]]));
]])m4_dnl
nkm_params([[$1]], [[nkm_check]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[	/* the kernel calls the module's table through wrappers */
	nkw_bind = nooks_k_bind(nkw_dom, nkm_reg([[$1]]), sizeof(struct nkm_f([[$1]], [[regtable]])), nooks_kx_fill_[[]]nkm_f([[$1]], [[regtable]]), &nkw_fresh);
	if (!nkw_bind)
		nkm_err([[$1]])
	nkm_reg([[$1]]) = (const void *)nkw_bind->table;
]])m4_dnl
nkm_when(nkm_f([[$1]], [[undoof]]), [[	nooks_k_drop_reg(nkw_dom, (void *)nkm_f([[$1]], [[undoof]]));
]])m4_dnl
	nkm_unless(nkm_f([[$1]], [[void]]), [[nkw_ret = ]])$1(nkm_params([[$1]], [[nkm_arglist]]));
nkm_params([[$1]], [[nkm_after]])m4_dnl
nkm_when(nkm_f([[$1]], [[alloc]]), [[	if (nkw_ret && nooks_k_track(nkw_dom, nkw_ret, &nooks_ktype_[[]]nkm_f([[$1]], [[alloc]]), "$1")) {
		nkm_s(nkm_f([[$1]], [[alloc]]), [[release]])(nkw_ret);
		return NULL;
	}
]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[nkm_unless(nkm_f([[$1]], [[void]]), [[	if (nkm_failed([[$1]]) && nkw_fresh)	/* not registered: the module's own table again */
		nkm_reg([[$1]]) = nkw_bind->orig;
]])]])m4_dnl
nkm_when(nkm_f([[$1]], [[undo]]), [[nkm_unless(nkm_f([[$1]], [[void]]), [[	if (nkm_succeeded([[$1]]))
	]])	nooks_k_record_reg(nkw_dom, (void *)nkm_f([[$1]], [[regparam]]), nkw_undo_$1, nkm_choose(nkm_s(nkm_f([[$1]], [[regstruct]]), [[release]]), [[&nooks_ktype_[[]]nkm_f([[$1]], [[regstruct]])]], [[NULL]]));
]])m4_dnl
nkm_unless(nkm_f([[$1]], [[void]]), [[	return nkw_ret;
]])m4_dnl
}
EXPORT_SYMBOL_GPL(nooks_kw_$1);
]])
# Per struct the tracker follows: its descriptor and release adapter.
m4_define([[nkm_type]], [[nkm_when(nkm_s([[$1]], [[release]]), [[
static void nkt_release_$1(void *obj)
{
	nkm_s([[$1]], [[release]])((struct $1 *)obj);
}

const struct nooks_ktype nooks_ktype_$1 = {
	.name = "nkm_s([[$1]], [[typename]])",
	.release = nkt_release_$1,
};
]])]])
m4_divert(0)m4_dnl
nkm_banner([[linux/kwrap.c.m4]])
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/kernel.h>

#include "nkm_i([[interface]])_kmod.h"
nkm_structs([[nkm_type]])m4_dnl
nkm_kfuncs([[nkm_kfunc]])m4_dnl
