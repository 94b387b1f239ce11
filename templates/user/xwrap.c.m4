m4_divert(-1)
# xwrap.c.m4 - INTERFACE_xwrap.c: for every entry of every registered ops
# table, the wrapper the kernel calls instead of the extension
# (nooks_xw_TABLE_ENTRY), and the table of them (nooks_xw_TABLE) that
# registration binds.  A wrapper finds its binding through the object it
# is called for, returns fault() at once if there is none or the entry is
# NULL, passes the extension shadows of the objects (nooks_out), crosses
# into the extension with a recovery point and deadline, copies writable
# fields back after validation (nooks_in), and returns fault() if the
# extension was down, faulted, timed out or wrote something invalid.
# A replay entry also logs each call that succeeded (nooks_replay_record):
# its arguments but the object in a record struct, buffers by value; its
# replayer calls the wrapper again with the logged arguments on the
# object the runtime chose after a restart.
m4_define([[nkm_pn]], [[nkm_p([[$1]], [[$2]], [[name]])]])
m4_define([[nkm_ptype]], [[&nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]])]])
m4_define([[nkm_faultval]], [[nkm_choose(nkm_e([[$1]], [[fault]]), [[nkm_e([[$1]], [[fault]])]], [[(nkm_e([[$1]], [[ret]]))0]])]])
m4_define([[nkm_fault]], [[m4_ifelse(nkm_e([[$1]], [[void]]), [[1]], [[return;]], [[return nkm_faultval([[$1]]);]])]])
m4_define([[nkm_framearglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])f->nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_arglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_paramlist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])nkm_p([[$1]], [[$2]], [[decl]])]])
m4_define([[nkm_replayarg]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])m4_ifelse(nkm_islocator([[$1]], [[$2]]), [[1]],
[[(nkm_p([[$1]], [[$2]], [[type]]))obj]], [[r->nkm_pn([[$1]], [[$2]])]])[[]]]])
# When a replay entry's call is logged: it succeeded (signed integers not
# negative, pointers not NULL, anything else whenever it did not fault).
m4_define([[nkm_replaycond]], [[nkm_case(nkm_e([[$1]], [[retkind]]), [[pointer]], [[nkx_fr.nkx_ret != NULL]],
[[signed]], [[nkx_fr.nkx_ret >= 0]], [[]])]])
m4_define([[nkm_frame_field]], [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])
m4_define([[nkm_frame_init]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]]).nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_islocator]], [[m4_ifelse(nkm_pn([[$1]], [[$2]]), nkm_e([[$1]], [[locparam]]), [[1]], [[0]])]])
m4_define([[nkm_isobj]], [[m4_ifelse(nkm_p([[$1]], [[$2]], [[kind]]), [[obj]], [[1]])]])
# Before the call: the extension sees its shadows of the objects (a
# transferred one becomes its own first).  The locator is never NULL here.
m4_define([[nkm_pass]], [[nkm_when(nkm_isobj([[$1]], [[$2]]),
[[nkm_when(nkm_p([[$1]], [[$2]], [[transfer]]), [[	/* the extension owns it from now on (released if it cannot) */
	if (nkm_pn([[$1]], [[$2]]) && nooks_give(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]])))
		nkm_fault([[$1]])
]])m4_dnl
nkm_choose(nkm_islocator([[$1]], [[$2]]), [[	nkx_fr.nkm_pn([[$1]], [[$2]]) = nooks_out(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
	if (!nkx_fr.nkm_pn([[$1]], [[$2]]))
		nkm_fault([[$1]])
]], [[	if (nkm_pn([[$1]], [[$2]])) {
		nkx_fr.nkm_pn([[$1]], [[$2]]) = nooks_out(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
		if (!nkx_fr.nkm_pn([[$1]], [[$2]]))
			nkm_fault([[$1]])
	}
]])]])]])
# Right before the call: the kernel buffers it passes (nooks_xpc_buf: a
# process domain gets copies in its window, an out buffer copied back).
m4_define([[nkm_bufdir]], [[nkm_case(nkm_p([[$1]], [[$2]], [[read]])nkm_p([[$1]], [[$2]], [[write]]),
[[01]], [[NOOKS_BUF_OUT]], [[11]], [[NOOKS_BUF_IN | NOOKS_BUF_OUT]], [[NOOKS_BUF_IN]])]])
m4_define([[nkm_bounce]], [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[buf]], [[	nooks_xpc_buf(nkx_b->domain, &nkx_fr, &nkx_fr.nkm_pn([[$1]], [[$2]]), nkm_psize([[$1]], [[$2]]), nkm_bufdir([[$1]], [[$2]]));
]],
[[str]], [[	if (nkm_pn([[$1]], [[$2]]))
		nooks_xpc_buf(nkx_b->domain, &nkx_fr, &nkx_fr.nkm_pn([[$1]], [[$2]]), strnlen(nkm_pn([[$1]], [[$2]]), nkm_pstrbound([[$1]], [[$2]])) + 1, NOOKS_BUF_IN | NOOKS_BUF_STR);
]], [[]])]])
# After the call: writable fields back, validated (not for a transferred
# object: the extension may have released it already), and the loan ends.
# nkm_tail: does anything after the copy-back read nkx_ok?
m4_define([[nkm_tail]], [[nkm_unless(nkm_e([[$1]], [[void]]), [[1]])nkm_when(nkm_e([[$1]], [[replay]]), [[1]])]])
m4_define([[nkm_copyback]], [[nkm_choose(nkm_tail([[$1]]), [[if (nkx_ok && !nooks_in(nkx_b->domain, nkx_fr.nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]])))
$3	nkx_ok = 0;	/* invalid writes: not copied back */]], [[if (nkx_ok)	/* copied back if valid */
$3	nooks_in(nkx_b->domain, nkx_fr.nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));]])]])
m4_define([[nkm_back_p]], [[nkm_when(nkm_isobj([[$1]], [[$2]]), [[nkm_unless(nkm_p([[$1]], [[$2]], [[transfer]]), [[+]])]])]])
m4_define([[nkm_back]], [[nkm_when(nkm_back_p([[$1]], [[$2]]), [[nkm_choose(nkm_islocator([[$1]], [[$2]]), [[	nkm_copyback([[$1]], [[$2]], [[	]])
	nooks_end_borrow(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
]], [[	if (nkm_pn([[$1]], [[$2]])) {
		nkm_copyback([[$1]], [[$2]], [[		]])
		nooks_end_borrow(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), nkm_ptype([[$1]], [[$2]]));
	}
]])]])]])
m4_define([[nkm_needok]], [[nkm_tail([[$1]])nkm_params([[$1]], [[nkm_back_p]])]])
# The replay record: every parameter but the one the entry is called for.
m4_define([[nkm_rec_field]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])]])
m4_define([[nkm_rec_init]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[		.nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]]),
]])]])
m4_define([[nkm_rec_buf]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[buf]], [[		{ offsetof(struct nkx_rec_[[]]m4_translit([[$1]], [[:]], [[_]]), nkm_pn([[$1]], [[$2]])), nkm_psize([[$1]], [[$2]]) },
]], [[str]], [[		{ offsetof(struct nkx_rec_[[]]m4_translit([[$1]], [[:]], [[_]]), nkm_pn([[$1]], [[$2]])), NOOKS_REPLAY_STRING },
]], [[]])]])]])
m4_define([[nkm_rec_hasbuf]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]), [[buf]], [[+]], [[str]], [[+]], [[]])]])]])
m4_define([[nkm_replay_decl]], [[
/* the arguments of a logged $2 call, but the object */
struct nkx_rec_$1_$2 {
m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_field]]), [[]], [[	char nkx_unused;
]], [[nkm_params([[$1:$2]], [[nkm_rec_field]])]])m4_dnl
};

static void nkx_replay_$1_$2(void *obj, const void *p);

/* logs a $2 call that succeeded, for a restarted extension (buffers by
 * value) */
static void nkx_log_$1_$2(const struct nooks_binding *nkx_b, nkm_params([[$1:$2]], [[nkm_paramlist]]))
{
m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_field]]), [[]], [[	struct nkx_rec_$1_$2 nkx_rec = { 0 };
]], [[	struct nkx_rec_$1_$2 nkx_rec = {
nkm_params([[$1:$2]], [[nkm_rec_init]])m4_dnl
	};
]])m4_dnl
m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_hasbuf]]), [[]], [[]], [[	const struct nooks_replay_buf nkx_bufs[] = {
nkm_params([[$1:$2]], [[nkm_rec_buf]])m4_dnl
	};
]])m4_dnl

	nooks_replay_record(nkx_b->domain, (void *)nkm_e([[$1:$2]], [[locparam]]), nkx_replay_$1_$2, &nkx_rec, sizeof(nkx_rec),
			    m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_hasbuf]]), [[]], [[NULL, 0]], [[nkx_bufs, sizeof(nkx_bufs) / sizeof(nkx_bufs[0])]]));
}
]])
m4_define([[nkm_replay_log]], [[m4_ifelse(nkm_replaycond([[$1:$2]]), [[]], [[]], [[	if (nkm_replaycond([[$1:$2]]))
	]])	nkx_log_$1_$2(nkx_b, nkm_params([[$1:$2]], [[nkm_arglist]]));
]])
m4_define([[nkm_replayer]], [[
/* replays a logged $2 call on the object chosen after a restart,
 * through the wrapper (which contains a fault) */
m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_field]]), [[]], [[static void nkx_replay_$1_$2(void *obj, const void *p __attribute__((unused)))
{
]], [[static void nkx_replay_$1_$2(void *obj, const void *p)
{
	const struct nkx_rec_$1_$2 *r = p;

]])m4_dnl
	nooks_xw_$1_$2(nkm_params([[$1:$2]], [[nkm_replayarg]]));
}
]])
m4_define([[nkm_entry]], [[
/* ---- $1.$2 */

struct nkx_frame_$1_$2 {
	nkm_edecl([[$1:$2]], [[(*nkx_fn)]]);
nkm_unless(nkm_e([[$1:$2]], [[void]]), [[	nkm_eretdecl([[$1:$2]], [[nkx_ret]]);
]])m4_dnl
nkm_params([[$1:$2]], [[nkm_frame_field]])m4_dnl
};
nkm_when(nkm_e([[$1:$2]], [[replay]]), [[nkm_replay_decl([[$1]], [[$2]])]])m4_dnl

static void nkx_thunk_$1_$2(void *p)
{
	struct nkx_frame_$1_$2 *f = p;

	nkm_unless(nkm_e([[$1:$2]], [[void]]), [[f->nkx_ret = ]])f->nkx_fn(nkm_params([[$1:$2]], [[nkm_framearglist]]));
}

static nkm_edecl([[$1:$2]], [[nooks_xw_$1_$2]])
{
	const struct nooks_binding *nkx_b = nkm_e([[$1:$2]], [[locparam]]) ? nooks_binding_of(nkm_e([[$1:$2]], [[locparam]])->nkm_e([[$1:$2]], [[locfield]])) : NULL;
	struct nkx_frame_$1_$2 nkx_fr = { nkm_params([[$1:$2]], [[nkm_frame_init]]) };
nkm_when(nkm_needok([[$1:$2]]), [[	int nkx_ok;
]])m4_dnl

	if (!nkx_b)
		nkm_fault([[$1:$2]])
	nkx_fr.nkx_fn = ((const struct $1 *)nkx_b->orig)->$2;
	if (!nkx_fr.nkx_fn)
		nkm_fault([[$1:$2]])
nkm_params([[$1:$2]], [[nkm_pass]])m4_dnl
nkm_params([[$1:$2]], [[nkm_bounce]])m4_dnl
	nkm_when(nkm_needok([[$1:$2]]), [[nkx_ok = !]])nooks_xpc_ext_frame(nkx_b->domain, nkx_thunk_$1_$2, &nkx_fr, sizeof(nkx_fr), nkm_e([[$1:$2]], [[timeout]]));nkm_when(nkm_needok([[$1:$2]]), [[	/* 0: down, faulted or timed out */]])
nkm_params([[$1:$2]], [[nkm_back]])m4_dnl
nkm_choose(nkm_e([[$1:$2]], [[void]]), [[nkm_when(nkm_e([[$1:$2]], [[replay]]), [[	if (nkx_ok)
	nkm_replay_log([[$1]], [[$2]])]])]], [[	if (!nkx_ok)
		nkm_fault([[$1:$2]])
nkm_when(nkm_e([[$1:$2]], [[replay]]), [[nkm_replay_log([[$1]], [[$2]])]])m4_dnl
	return nkx_fr.nkx_ret;
]])m4_dnl
}
nkm_when(nkm_e([[$1:$2]], [[replay]]), [[nkm_replayer([[$1]], [[$2]])]])m4_dnl
]])
m4_define([[nkm_slot]], [[	.$2 = nooks_xw_$1_$2,
]])
m4_define([[nkm_table]], [[nkm_when(nkm_o([[$1]], [[registered]]), [[nkm_entries([[$1]], [[nkm_entry]])
const struct $1 nooks_xw_$1 = {
nkm_entries([[$1]], [[nkm_slot]])m4_dnl
};
]])]])
m4_divert(0)m4_dnl
nkm_banner([[user/xwrap.c.m4]])
#include <stddef.h>
#include <string.h>

#include "nkm_i([[interface]])_nooks.h"
nkm_ops([[nkm_table]])m4_dnl
