m4_divert(-1)
# kwrap.c.m4 - INTERFACE_kwrap.c: for every kernel function, the wrapper an
# isolated extension calls (nooks_kw_NAME).  It crosses into the kernel
# first (nooks_xpc_kernel), so everything after runs as kernel code: the
# arena writable, faults the kernel's.  There (nkw_checked_NAME) it checks
# every pointer (tracked objects through the tracker, buffers and strings
# against their sizes, NULL only where nullable) and returns the
# function's error value on a bad one; calls the function; then registers
# what alloc() made, ends what release ended, binds registered ops tables
# to extension wrappers and records registrations and locks for recovery.
#
# Per parameter (key = function, $2 = index):
m4_define([[nkm_pn]], [[nkm_p([[$1]], [[$2]], [[name]])]])
m4_define([[nkm_err]], [[m4_ifelse(nkm_f([[$1]], [[void]]), [[1]], [[return;]], [[{ nkw_fp->nkw_ret = nkm_errval(nkm_f([[$1]], [[retkind]]), nkm_f([[$1]], [[ret]])); return; }]])]])
m4_define([[nkm_arglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_framearglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])f->nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_frame_field]], [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])
m4_define([[nkm_frame_set]], [[	nkw_fr.nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]]);
]])
m4_define([[nkm_frame_get]], [[	nkm_p([[$1]], [[$2]], [[decl]]) = nkw_fp->nkm_pn([[$1]], [[$2]]);
]])
m4_define([[nkm_null_check]], [[nkm_unless(nkm_p([[$1]], [[$2]], [[nullable]]), [[	if (!nkm_pn([[$1]], [[$2]]))
		nkm_err([[$1]]) /* NULL where not nullable */
]])]])
m4_define([[nkm_check]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[obj]], [[nkm_null_check([[$1]], [[$2]])m4_dnl
	if (nkm_pn([[$1]], [[$2]])) {
		void *nkw_in = nooks_in(nkw_dom, nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
		if (!nkw_in) {	/* not a live struct nkm_p([[$1]], [[$2]], [[struct]]) of this extension */
			nooks_refused(nkw_dom, nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
			nkm_err([[$1]])
		}
		nkm_pn([[$1]], [[$2]]) = nkw_in;
nkm_when(nkm_p([[$1]], [[$2]], [[release]]), [[		if (nooks_forget(nkw_dom, nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]])))
			nkm_err([[$1]]) /* released twice */
]])	}
]],
[[buf]], [[nkm_null_check([[$1]], [[$2]])m4_dnl
	if (nkm_pn([[$1]], [[$2]]) && nooks_check_buffer(nkw_dom, nkm_pn([[$1]], [[$2]]), nkm_psize([[$1]], [[$2]]), nkm_p([[$1]], [[$2]], [[write]])))
		nkm_err([[$1]]) /* outside the extension's memory, or too large */
]],
[[str]], [[nkm_null_check([[$1]], [[$2]])m4_dnl
	if (nkm_pn([[$1]], [[$2]]) && nooks_check_string(nkw_dom, nkm_pn([[$1]], [[$2]]), nkm_pstrbound([[$1]], [[$2]])))
		nkm_err([[$1]]) /* unterminated, unreadable or too long */
]],
[[allocout]], [[	if (!nkm_pn([[$1]], [[$2]]) || nooks_check_buffer(nkw_dom, nkm_pn([[$1]], [[$2]]), sizeof(*nkm_pn([[$1]], [[$2]])), 1))
		nkm_err([[$1]])
]],
[[handle]], [[nkm_null_check([[$1]], [[$2]])]], [[]])]])
m4_define([[nkm_after]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[allocout]], [[	if (*nkw_fr.nkm_pn([[$1]], [[$2]])) {
		if (nooks_track(nkw_dom, *nkw_fr.nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]))) {
			nkm_s(nkm_p([[$1]], [[$2]], [[struct]]), [[release]])(*nkw_fr.nkm_pn([[$1]], [[$2]]));
			*nkw_fr.nkm_pn([[$1]], [[$2]]) = NULL;
			nkm_err([[$1]])
		}
		*nkw_fr.nkm_pn([[$1]], [[$2]]) = nooks_out(nkw_dom, *nkw_fr.nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
	}
]],
[[obj]], [[nkm_when(nkm_p([[$1]], [[$2]], [[transfer]]), [[	if (nkm_pn([[$1]], [[$2]]))
		nooks_transfer(nkw_dom, NULL, (void *)nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
]])m4_dnl
m4_ifelse(nkm_p([[$1]], [[$2]], [[transfer]])nkm_p([[$1]], [[$2]], [[release]]), [[00]], [[	if (nkm_pn([[$1]], [[$2]]))	/* what the kernel changed, the extension sees */
		nooks_refresh(nkw_dom, (void *)nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
]])]], [[]])]])

# Per function ($1 = name):
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
m4_define([[nkm_kfunc]], [[
/* ---- nkm_f([[$1]], [[proto]]) */

struct nkw_frame_$1 {
	struct nooks_domain *nkw_d;
nkm_params([[$1]], [[nkm_frame_field]])m4_dnl
nkm_unless(nkm_f([[$1]], [[void]]), [[	nkm_fretdecl([[$1]], [[nkw_ret]]);
]])	char nkw_unused;
};

static void nkw_thunk_$1(void *p)
{
	struct nkw_frame_$1 *f = p;

	nkm_unless(nkm_f([[$1]], [[void]]), [[f->nkw_ret = ]])$1(nkm_params([[$1]], [[nkm_framearglist]]));
	(void)f;
}
nkm_undo_adapter([[$1]])nkm_unlock_adapter([[$1]])
/* The wrapper proper, run as kernel code for extension nkw_fp->nkw_d. */
static void nkw_checked_$1(void *nkw_arg)
{
	struct nkw_frame_$1 *nkw_fp = nkw_arg;
	struct nooks_domain *nkw_dom = nkw_fp->nkw_d;
	struct nkw_frame_$1 nkw_fr;
nkm_params([[$1]], [[nkm_frame_get]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[	struct nooks_binding *nkw_bind;
	int nkw_again;
]])m4_dnl

nkm_params([[$1]], [[nkm_check]])m4_dnl
nkm_when(nkm_f([[$1]], [[regtable]]), [[	/* the kernel calls the extension's table through wrappers */
	if (!nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]]))
		nkm_err([[$1]])
	/* registered again with the table the kernel already calls (its
	 * binding, as the extension's shadow shows it): the same binding */
	nkw_bind = (struct nooks_binding *)nooks_binding_of(nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]]));
	if (nkw_bind && nkw_bind->domain != nkw_dom)
		nkm_err([[$1]])
	nkw_again = nkw_bind != NULL;
	(void)nkw_again;
	if (!nkw_bind)
		nkw_bind = nooks_bind_ops(nkw_dom, nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]]), &nooks_xw_[[]]nkm_f([[$1]], [[regtable]]), sizeof(struct nkm_f([[$1]], [[regtable]])));
	if (!nkw_bind)
		nkm_err([[$1]])
	nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]]) = nkw_bind->table;
]])m4_dnl
nkm_when(nkm_f([[$1]], [[undoof]]), [[	nooks_drop_registration(nkw_dom, (void *)nkm_f([[$1]], [[undoof]]));
]])m4_dnl
nkm_when(nkm_f([[$1]], [[unlock]]), [[	nooks_drop_lock(nkw_dom, (void *)nkm_f([[$1]], [[unlock]]));
]])m4_dnl
nkm_params([[$1]], [[nkm_frame_set]])m4_dnl
	nkw_thunk_$1(&nkw_fr);
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
nkm_when(nkm_f([[$1]], [[regtable]]), [[nkm_unless(nkm_f([[$1]], [[void]]), [[	if (nkw_fr.nkw_ret != 0 && !nkw_again)	/* not registered: the extension's table again */
		nkm_f([[$1]], [[regparam]])->nkm_f([[$1]], [[regfield]]) = nkw_bind->orig;
]])]])m4_dnl
nkm_when(nkm_f([[$1]], [[undo]]), [[	if (nkm_unless(nkm_f([[$1]], [[void]]), [[nkw_fr.nkw_ret == 0]])nkm_when(nkm_f([[$1]], [[void]]), [[1]]))
		nooks_record_registration(nkw_dom, (void *)nkm_f([[$1]], [[regparam]]), nkw_undo_$1);
]])m4_dnl
nkm_when(nkm_f([[$1]], [[unlockfn]]), [[	nooks_record_lock(nkw_dom, (void *)nkm_f([[$1]], [[lock]]), nkw_unlock_$1);
]])m4_dnl
nkm_unless(nkm_f([[$1]], [[void]]), [[	nkw_fp->nkw_ret = nkw_fr.nkw_ret;
]])m4_dnl
	(void)nkw_dom;
}

nkm_fdecl([[$1]], [[nooks_kw_$1]])
{
	struct nooks_domain *nkw_dom = nooks_self();
	struct nkw_frame_$1 nkw_fr;

	if (!nkw_dom) {	/* the kernel itself: nothing to check */
		nkm_unless(nkm_f([[$1]], [[void]]), [[return ]])$1(nkm_params([[$1]], [[nkm_arglist]]));
nkm_when(nkm_f([[$1]], [[void]]), [[		return;
]])m4_dnl
	}
	nkw_fr.nkw_d = nkw_dom;
nkm_params([[$1]], [[nkm_frame_set]])m4_dnl
	nooks_xpc_kernel(nkw_dom, nkw_checked_$1, &nkw_fr);
nkm_unless(nkm_f([[$1]], [[void]]), [[	return nkw_fr.nkw_ret;
]])m4_dnl
}
]])
m4_define([[nkm_table_slot]], [[	.$1 = nooks_kw_$1,
]])
m4_divert(0)m4_dnl
nkm_banner([[user/kwrap.c.m4]])
#include <errno.h>
#include <stddef.h>

#include "nkm_i([[interface]])_nooks.h"
nkm_kfuncs([[nkm_kfunc]])m4_dnl

const struct nooks_kw_table_[[]]nkm_i([[interface]]) nooks_kw_table_[[]]nkm_i([[interface]]) = {
	.interface = "nkm_i([[interface]])",
nkm_kfuncs([[nkm_table_slot]])m4_dnl
};
