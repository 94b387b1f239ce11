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
m4_define([[nkm_faultval]], [[nkm_choose(nkm_e([[$1]], [[fault]]), [[nkm_e([[$1]], [[fault]])]], [[(nkm_e([[$1]], [[ret]]))0]])]])
m4_define([[nkm_fault]], [[m4_ifelse(nkm_e([[$1]], [[void]]), [[1]], [[return;]], [[return nkm_faultval([[$1]]);]])]])
m4_define([[nkm_framearglist]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])f->nkm_pn([[$1]], [[$2]])]])
m4_define([[nkm_replayarg]], [[m4_ifelse([[$2]], [[0]], [[]], [[, ]])m4_ifelse(nkm_islocator([[$1]], [[$2]]), [[1]],
[[(nkm_p([[$1]], [[$2]], [[type]]))obj]], [[r->nkm_pn([[$1]], [[$2]])]])[[]]]])
m4_define([[nkm_replayok]], [[nkm_case(nkm_e([[$1]], [[retkind]]), [[pointer]], [[nkx_fr.nkw_ret != NULL]],
[[signed]], [[nkx_fr.nkw_ret >= 0]], [[1]])]])
m4_define([[nkm_frame_field]], [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])
m4_define([[nkm_pass]], [[m4_ifelse(nkm_p([[$1]], [[$2]], [[kind]]), [[obj]],
[[nkm_when(nkm_p([[$1]], [[$2]], [[transfer]]), [[	/* the extension owns it from now on */
	if (nkm_pn([[$1]], [[$2]]) && nooks_transfer(NULL, nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]])))
		nooks_track(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
]])m4_dnl
	nkx_fr.nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]]) ? nooks_out(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]])) : NULL;
	if (nkm_pn([[$1]], [[$2]]) && !nkx_fr.nkm_pn([[$1]], [[$2]]))
		nkm_fault([[$1]])
]],
[[	nkx_fr.nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]]);
]])]])
# After the call: copy writable fields back (not for a transferred object:
# the extension may have released it already).
m4_define([[nkm_back]], [[m4_ifelse(nkm_p([[$1]], [[$2]], [[kind]]), [[obj]],
[[nkm_unless(nkm_p([[$1]], [[$2]], [[transfer]]), [[	if (nkm_pn([[$1]], [[$2]])) {
		if (nkx_ok && !nooks_in(nkx_b->domain, nkx_fr.nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]])))
			nkx_ok = 0;	/* invalid writes: not copied back */
		nooks_end_borrow(nkx_b->domain, (void *)nkm_pn([[$1]], [[$2]]), &nooks_type_[[]]nkm_p([[$1]], [[$2]], [[struct]]));
	}
]])]])]])
# The replay record: every parameter but the one the entry is called for.
m4_define([[nkm_islocator]], [[m4_ifelse(nkm_pn([[$1]], [[$2]]), nkm_e([[$1]], [[locparam]]), [[1]], [[0]])]])
m4_define([[nkm_rec_field]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[	nkm_p([[$1]], [[$2]], [[decl]]);
]])]])
m4_define([[nkm_rec_set]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[		nkx_rec.nkm_pn([[$1]], [[$2]]) = nkm_pn([[$1]], [[$2]]);
]])]])
m4_define([[nkm_rec_buf]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]),
[[buf]], [[			{ offsetof(struct nkx_rec_[[]]m4_translit([[$1]], [[:]], [[_]]), nkm_pn([[$1]], [[$2]])), nkm_psize([[$1]], [[$2]]) },
]], [[str]], [[			{ offsetof(struct nkx_rec_[[]]m4_translit([[$1]], [[:]], [[_]]), nkm_pn([[$1]], [[$2]])), NOOKS_REPLAY_STRING },
]], [[]])]])]])
m4_define([[nkm_rec_hasbuf]], [[nkm_unless(nkm_islocator([[$1]], [[$2]]), [[nkm_case(nkm_p([[$1]], [[$2]], [[kind]]), [[buf]], [[x]], [[str]], [[x]], [[]])]])]])
m4_define([[nkm_replay_decl]], [[
/* the arguments of a logged $2 call, but the object */
struct nkx_rec_$1_$2 {
nkm_params([[$1:$2]], [[nkm_rec_field]])m4_dnl
	char nkx_unused;
};

static void nkx_replay_$1_$2(void *obj, const void *p);
]])
m4_define([[nkm_replay_log]], [[m4_ifelse(nkm_replayok([[$1:$2]]), [[1]], [[	{	/* replay: logged for a restarted extension */
]], [[	if (nkm_replayok([[$1:$2]])) {	/* replay: logged for a restarted extension */
]])m4_dnl
		struct nkx_rec_$1_$2 nkx_rec = { 0 };
m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_hasbuf]]), [[]], [[]], [[		const struct nooks_replay_buf bufs[] = {
nkm_params([[$1:$2]], [[nkm_rec_buf]])m4_dnl
		};
]])m4_dnl

nkm_params([[$1:$2]], [[nkm_rec_set]])m4_dnl
		nooks_replay_record(nkx_b->domain, (void *)nkm_e([[$1:$2]], [[locparam]]), nkx_replay_$1_$2, &nkx_rec, sizeof(nkx_rec),
				    m4_ifelse(nkm_params([[$1:$2]], [[nkm_rec_hasbuf]]), [[]], [[NULL, 0]], [[bufs, sizeof(bufs) / sizeof(bufs[0])]]));
	}
]])
m4_define([[nkm_replayer]], [[
/* replays a logged $2 call on the object chosen after a restart,
 * through the wrapper (which contains a fault) */
static void nkx_replay_$1_$2(void *obj, const void *p)
{
	const struct nkx_rec_$1_$2 *r = p;

	(void)r;
	(void)nooks_xw_$1_$2(nkm_params([[$1:$2]], [[nkm_replayarg]]));
}
]])
m4_define([[nkm_entry]], [[
/* ---- $1.$2 */

struct nkx_frame_$1_$2 {
	nkm_edecl([[$1:$2]], [[(*fn)]]);
nkm_params([[$1:$2]], [[nkm_frame_field]])m4_dnl
nkm_unless(nkm_e([[$1:$2]], [[void]]), [[	nkm_eretdecl([[$1:$2]], [[nkw_ret]]);
]])m4_dnl
};
nkm_when(nkm_e([[$1:$2]], [[replay]]), [[nkm_replay_decl([[$1]], [[$2]])]])m4_dnl

static void nkx_thunk_$1_$2(void *p)
{
	struct nkx_frame_$1_$2 *f = p;

	nkm_unless(nkm_e([[$1:$2]], [[void]]), [[f->nkw_ret = ]])f->fn(nkm_params([[$1:$2]], [[nkm_framearglist]]));
}

static nkm_edecl([[$1:$2]], [[nooks_xw_$1_$2]])
{
	const struct nooks_binding *nkx_b = nkm_e([[$1:$2]], [[locparam]]) ? nooks_binding_of(nkm_e([[$1:$2]], [[locparam]])->nkm_e([[$1:$2]], [[locfield]])) : NULL;
	struct nkx_frame_$1_$2 nkx_fr;
	int nkx_ok = 1;

	if (!nkx_b)
		nkm_fault([[$1:$2]])
	nkx_fr.fn = ((const struct $1 *)nkx_b->orig)->$2;
	if (!nkx_fr.fn)
		nkm_fault([[$1:$2]])
nkm_params([[$1:$2]], [[nkm_pass]])m4_dnl
	if (nooks_xpc_ext(nkx_b->domain, nkx_thunk_$1_$2, &nkx_fr, nkm_e([[$1:$2]], [[timeout]])))
		nkx_ok = 0;	/* down, faulted or timed out */
nkm_params([[$1:$2]], [[nkm_back]])m4_dnl
	if (!nkx_ok)
		nkm_fault([[$1:$2]])
nkm_when(nkm_e([[$1:$2]], [[replay]]), [[nkm_replay_log([[$1]], [[$2]])]])m4_dnl
nkm_unless(nkm_e([[$1:$2]], [[void]]), [[	return nkx_fr.nkw_ret;
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

#include "nkm_i([[interface]])_nooks.h"
nkm_ops([[nkm_table]])m4_dnl
