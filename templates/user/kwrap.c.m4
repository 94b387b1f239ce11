m4_divert(-1)
# kwrap.c.m4 - INTERFACE_kwrap.c: for every kernel function, the wrapper an
# isolated extension calls (nooks_kw_NAME).  It packs its arguments in one
# frame and crosses into the kernel first (nooks_xpc_kernel), so everything
# after runs as kernel code: the arena writable, faults the kernel's.
# There (nkw_checked_NAME) it copies the frame off the extension's stack,
# checks every pointer (tracked objects through the tracker, buffers and
# strings against their sizes, NULL only where nullable) and returns the
# function's error value on a bad one; calls the function; then registers
# what alloc() made, ends what release ended, binds registered ops tables
# to extension wrappers and records registrations and locks for recovery.
# A [[deferred]] function's wrapper queues the frame instead of crossing
# (nooks_xpc_defer); the runtime runs the checked function later, with the
# thread's other queued calls, in one crossing.
#
# In the checked function the arguments are the frame's: nkw_fr.NAME.
m4_define([[nkm_arg]], [[nkw_fr.$1]])
#
# Per parameter (key = function, $2 = index):
m4_define([[nkm_pn]], [[nkm_p([[$1]], [[$2]], [[name]])]])
m4_define([[nkm_pa]], [[nkw_fr.nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_ptype]], [[&nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]])]])
m4_define([[nkm_nullable]], [[nkm_p([[$1]], [[$2]], [[nullable]])]])
# how a check fails: void functions return, others set the error value
m4_define([[nkm_err]], [[nkm_choose(nkm_f([[$1]], [[void]]), [[return;]], [[goto fail;]])]])
# Summaries over the parameters ("+" per hit; never a word, which m4
# would glue to the next call): does the function use its domain, hold
# an object, or have a check that can fail?
m4_define([[nkm_dom_p]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]), [[obj]], [[+]], [[buf]], [[+]],
[[str]], [[+]], [[allocout]], [[+]], [[]])]])
m4_define([[nkm_fail_p]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]), [[scalar]], [[]],
[[handle]], [[nkm_unless(nkm_nullable([[$1]], [[$2]]), [[+]])]], [[+]])]])
m4_define([[nkm_usesdom]], [[nkm_params([[$1]], [[nkm_dom_p]])nkm_f([[$1]], [[alloc]])nkm_f([[$1]], [[retstruct]])nkm_f([[$1]], [[regtable]])nkm_f([[$1]], [[undo]])nkm_f([[$1]], [[undoof]])nkm_f([[$1]], [[unlock]])nkm_f([[$1]], [[unlockfn]])]])
m4_define([[nkm_precall]], [[nkm_params([[$1]], [[nkm_fail_p]])nkm_f([[$1]], [[regtable]])nkm_f([[$1]], [[undoof]])nkm_f([[$1]], [[unlock]])]])
m4_define([[nkm_mayfail]], [[nkm_params([[$1]], [[nkm_fail_p]])nkm_f([[$1]], [[alloc]])nkm_f([[$1]], [[regtable]])]])
m4_define([[nkm_plus]], [[+]])
m4_define([[nkm_hasparams]], [[nkm_params([[$1]], [[nkm_plus]])]])
# a failing non-void function sets its error value at the end
m4_define([[nkm_failexit]], [[nkm_unless(nkm_f([[$1]], [[void]]), [[nkm_when(nkm_mayfail([[$1]]), [[1]])]])]])
m4_define([[nkm_arglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_framearglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_pa([[$1]], [[$2]])]])
m4_define([[nkm_frame_field]], [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])
m4_define([[nkm_frame_init]], [[, .nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_hasobj_p]], [[m4_ifelse(nkm_p([[$1]], [[$2]], [[kind]]), [[obj]], [[+]])]])
# The checks, in parameter order.  An object becomes the kernel object
# it stands for (nooks_in_arg: refused and logged if it is none).
m4_define([[nkm_obj_in]], [[$3nkm_pa([[$1]], [[$2]]) = nooks_in_arg(nkw_dom, nkm_pa([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
$3if (!nkm_pa([[$1]], [[$2]]))
$3	nkm_err([[$1]])	/* nkm_unless(nkm_nullable([[$1]], [[$2]]), [[NULL, or ]])not a live struct nkm_p([[$1]], [[$2]], [[struct]]) of this extension */
nkm_when(nkm_p([[$1]], [[$2]], [[release]]), [[$3if (nooks_forget(nkw_dom, nkm_pa([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]])))
$3	nkm_err([[$1]])	/* released twice */
]])]])
m4_define([[nkm_check]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[obj]], [[nkm_choose(nkm_nullable([[$1]], [[$2]]), [[	if (nkm_pa([[$1]], [[$2]])) {
nkm_obj_in([[$1]], [[$2]], [[		]])m4_dnl
	}
]], [[nkm_obj_in([[$1]], [[$2]], [[	]])]])]],
[[buf]], [[	if (nkm_choose(nkm_nullable([[$1]], [[$2]]), [[nkm_pa([[$1]], [[$2]]) &&]], [[!nkm_pa([[$1]], [[$2]]) ||]]) nooks_check_buffer(nkw_dom, nkm_pa([[$1]], [[$2]]), nkm_psize([[$1]], [[$2]]), nkm_p([[$1]], [[$2]], [[write]])))
		nkm_err([[$1]])	/* nkm_unless(nkm_nullable([[$1]], [[$2]]), [[NULL, ]])outside the extension's memory, or too large */
]],
[[str]], [[	if (nkm_choose(nkm_nullable([[$1]], [[$2]]), [[nkm_pa([[$1]], [[$2]]) &&]], [[!nkm_pa([[$1]], [[$2]]) ||]]) nooks_check_string(nkw_dom, nkm_pa([[$1]], [[$2]]), nkm_pstrbound([[$1]], [[$2]])))
		nkm_err([[$1]])	/* nkm_unless(nkm_nullable([[$1]], [[$2]]), [[NULL, ]])unterminated, unreadable or too long */
]],
[[allocout]], [[	if (!nkm_pa([[$1]], [[$2]]) || nooks_check_buffer(nkw_dom, nkm_pa([[$1]], [[$2]]), sizeof(*nkm_pa([[$1]], [[$2]])), 1))
		nkm_err([[$1]])	/* nowhere to put the result */
]],
[[handle]], [[nkm_unless(nkm_nullable([[$1]], [[$2]]), [[	if (!nkm_pa([[$1]], [[$2]]))
		nkm_err([[$1]])	/* NULL where not nullable */
]])]], [[]])]])
# After the call: what alloc() made is the extension's, a transfer the
# kernel's; other objects show the extension what the kernel changed.
m4_define([[nkm_ifnull]], [[nkm_when(nkm_nullable([[$1]], [[$2]]), [[	if (nkm_pa([[$1]], [[$2]]))
	]])]])
m4_define([[nkm_after]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[allocout]], [[	if (*nkm_pa([[$1]], [[$2]])) {
		if (nooks_track(nkw_dom, *nkm_pa([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]))) {
			nkm_s(nkm_p([[$1]], [[$2]], [[struct]]), [[release]])(*nkm_pa([[$1]], [[$2]]));
			*nkm_pa([[$1]], [[$2]]) = NULL;
			nkm_err([[$1]])
		}
		*nkm_pa([[$1]], [[$2]]) = nooks_out(nkw_dom, *nkm_pa([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
	}
]],
[[obj]], [[nkm_when(nkm_p([[$1]], [[$2]], [[transfer]]), [[nkm_ifnull([[$1]], [[$2]])	nooks_transfer(nkw_dom, NULL, (void *)nkm_pa([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
]])m4_dnl
m4_ifelse(nkm_p([[$1]], [[$2]], [[transfer]])nkm_p([[$1]], [[$2]], [[release]]), [[00]], [[nkm_ifnull([[$1]], [[$2]])	nooks_refresh(nkw_dom, (void *)nkm_pa([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
]])]], [[]])]])

# Per function ($1 = name):
# Whether the call failed or succeeded: a pointer is NULL on failure,
# anything else 0 on success.
m4_define([[nkm_failed]], [[nkm_case(nkm_f([[$1]], [[retkind]]), [[pointer]], [[!nkw_fr.nkw_ret]], [[nkw_fr.nkw_ret != 0]])]])
m4_define([[nkm_succeeded]], [[nkm_case(nkm_f([[$1]], [[retkind]]), [[pointer]], [[nkw_fr.nkw_ret]], [[nkw_fr.nkw_ret == 0]])]])
m4_define([[nkm_reg]], [[nkw_fr.nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]])]])
m4_define([[nkm_undo_adapter]], [[nkm_when(nkm_f([[$1]], [[undo]]), [[
static void nkw_undo_$1(void *obj)
{
	nkm_f([[$1]], [[undo]])((struct nkm_f([[$1]], [[regstruct]]) *)obj);
}
]])]])
m4_define([[nkm_unlock_adapter]], [[nkm_when(nkm_f([[$1]], [[unlockfn]]), [[
static void nkw_unlock_$1(void *lock)
{
	nkm_f([[$1]], [[unlockfn]])((nkm_f([[$1]], [[locktype]]))lock);
}
]])]])
m4_define([[nkm_locals]], [[m4_dnl
nkm_choose(nkm_f([[$1]], [[void]]), [[nkm_choose(nkm_hasparams([[$1]]), [[	struct nkw_frame_$1 nkw_fr = *(struct nkw_frame_$1 *)nkw_arg;	/* off the extension's stack */
]])]], [[	struct nkw_frame_$1 *nkw_fp = nkw_arg;
	struct nkw_frame_$1 nkw_fr = *nkw_fp;	/* off the extension's stack */
]])m4_dnl
nkm_when(nkm_usesdom([[$1]]), [[	struct nooks_domain *nkw_dom = nkw_fr.nkw_dom;
]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[	struct nooks_binding *nkw_bind;
	int nkw_fresh;
]])]])
m4_define([[nkm_kfunc]], [[
/* ---- nkm_f([[$1]], [[proto]]) */

struct nkw_frame_$1 {
	struct nooks_domain *nkw_dom;
nkm_unless(nkm_f([[$1]], [[void]]), [[	nkm_fretdecl([[$1]], [[nkw_ret]]);
]])m4_dnl
nkm_params([[$1]], [[nkm_frame_field]])m4_dnl
};
nkm_undo_adapter([[$1]])nkm_unlock_adapter([[$1]])
/* Run as kernel code for the extension nkw_dom names. */
static void nkw_checked_$1(void *nkw_arg[[]]nkm_when(nkm_f([[$1]], [[void]]), [[nkm_unless(nkm_hasparams([[$1]]), [[ __attribute__((unused))]])]]))
{
nkm_locals([[$1]])m4_dnl
nkm_when(nkm_locals([[$1]]), [[
]])m4_dnl
nkm_params([[$1]], [[nkm_check]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[	/* the kernel calls the extension's table through wrappers */
	nkw_bind = nooks_bind_registration(nkw_dom, nkm_reg([[$1]]), &nooks_xw_[[]]nkm_f([[$1]], [[regtable]]), sizeof(struct nkm_f([[$1]], [[regtable]])), &nkw_fresh);
	if (!nkw_bind)
		nkm_err([[$1]])
	nkm_reg([[$1]]) = nkw_bind->table;
]])m4_dnl
nkm_when(nkm_f([[$1]], [[undoof]]), [[	nooks_drop_registration(nkw_dom, (void *)nkw_fr.nkm_f([[$1]], [[undoof]]));
]])m4_dnl
nkm_when(nkm_f([[$1]], [[unlock]]), [[	nooks_drop_lock(nkw_dom, (void *)nkw_fr.nkm_f([[$1]], [[unlock]]));
]])m4_dnl
nkm_when(nkm_precall([[$1]]), [[
]])m4_dnl
	nkm_unless(nkm_f([[$1]], [[void]]), [[nkw_fr.nkw_ret = ]])$1(nkm_params([[$1]], [[nkm_framearglist]]));
nkm_params([[$1]], [[nkm_after]])m4_dnl
nkm_when(nkm_f([[$1]], [[alloc]]), [[	if (nkw_fr.nkw_ret) {
		if (nooks_track(nkw_dom, nkw_fr.nkw_ret, &nooks_type_[[]]nkm_f([[$1]], [[alloc]]))) {
			nkm_s(nkm_f([[$1]], [[alloc]]), [[release]])(nkw_fr.nkw_ret);
			nkm_err([[$1]])
		}
		nkw_fr.nkw_ret = nooks_out(nkw_dom, nkw_fr.nkw_ret, &nooks_type_[[]]nkm_f([[$1]], [[alloc]]));
	}
]])m4_dnl
nkm_unless(nkm_f([[$1]], [[alloc]]), [[nkm_when(nkm_f([[$1]], [[retstruct]]), [[	if (nkw_fr.nkw_ret)
		nkw_fr.nkw_ret = nooks_out(nkw_dom, nkw_fr.nkw_ret, &nooks_type_[[]]nkm_f([[$1]], [[retstruct]]));
]])]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[nkm_unless(nkm_f([[$1]], [[void]]), [[	if (nkm_failed([[$1]]) && nkw_fresh)	/* not registered: the extension's table again */
		nkm_reg([[$1]]) = nkw_bind->orig;
]])]])m4_dnl
nkm_when(nkm_f([[$1]], [[undo]]), [[nkm_unless(nkm_f([[$1]], [[void]]), [[	if (nkm_succeeded([[$1]]))
	]])	nooks_record_registration(nkw_dom, (void *)nkw_fr.nkm_f([[$1]], [[regparam]]), nkw_undo_$1);
]])m4_dnl
nkm_when(nkm_f([[$1]], [[unlockfn]]), [[	nooks_record_lock(nkw_dom, (void *)nkw_fr.nkm_f([[$1]], [[lock]]), nkw_unlock_$1);
]])m4_dnl
nkm_unless(nkm_f([[$1]], [[void]]), [[	nkw_fp->nkw_ret = nkw_fr.nkw_ret;
]])m4_dnl
nkm_when(nkm_failexit([[$1]]), [[	return;
fail:
	nkw_fp->nkw_ret = nkm_errval(nkm_f([[$1]], [[retkind]]), nkm_f([[$1]], [[ret]]));
]])m4_dnl
}

nkm_fdecl([[$1]], [[nooks_kw_$1]])
{
	struct nkw_frame_$1 nkw_fr = { .nkw_dom = nooks_self()nkm_params([[$1]], [[nkm_frame_init]]) };

	if (!nkw_fr.nkw_dom) {	/* no crossing: kernel code, nothing to check */
		nooks_kernel_mode();
nkm_choose(nkm_f([[$1]], [[void]]), [[		$1(nkm_params([[$1]], [[nkm_arglist]]));
	} else {
		nkm_choose(nkm_f([[$1]], [[deferred]]), [[nooks_xpc_defer(nkw_fr.nkw_dom, nkw_checked_$1, &nkw_fr, sizeof(nkw_fr));	/* made later, in a batch */]], [[nooks_xpc_kernel(nkw_fr.nkw_dom, nkw_checked_$1, &nkw_fr);]])
	}
]], [[		return $1(nkm_params([[$1]], [[nkm_arglist]]));
	}
	nooks_xpc_kernel(nkw_fr.nkw_dom, nkw_checked_$1, &nkw_fr);
	return nkw_fr.nkw_ret;
]])m4_dnl
}
]])
m4_define([[nkm_table_slot]], [[	.$1 = nooks_kw_$1,
]])
m4_define([[nkm_checked_slot]], [[	nkw_checked_$1,
]])
m4_divert(0)m4_dnl
nkm_banner([[user/kwrap.c.m4]])
#include <errno.h>
#include <stddef.h>

#include "nkm_i([[interface]])_nooks.h"
nkm_kfuncs([[nkm_kfunc]])m4_dnl

static const nooks_thunk nkw_checked[] = {
nkm_kfuncs([[nkm_checked_slot]])m4_dnl
	NULL
};

const struct nooks_kw_table_[[]]nkm_i([[interface]]) nooks_kw_table_[[]]nkm_i([[interface]]) = {
	.interface = "nkm_i([[interface]])",
	.checked = nkw_checked,
nkm_kfuncs([[nkm_table_slot]])m4_dnl
};
