m4_divert(-1)
# shadow.c.m4 - INTERFACE_shadow.c: per struct, the shadow synchronisers
# (readable fields in, writable and private fields out after validation;
# hidden fields never) and the nooks_type descriptor.
m4_define([[nkm_in_field]], [[m4_ifelse(nkm_v([[$1:$2]], [[access]]), [[hidden]], [[]],
[[nkm_when(nkm_v([[$1:$2]], [[array]]), [[	memcpy(s->$2, o->$2, sizeof(s->$2));
]])nkm_unless(nkm_v([[$1:$2]], [[array]]), [[	s->$2 = o->$2;
]])]])]])
m4_define([[nkm_out_writes]], [[m4_ifelse(nkm_v([[$1:$2]], [[access]]), [[writable]], [[1]],
nkm_v([[$1:$2]], [[access]]), [[private]], [[1]], [[]])]])
m4_define([[nkm_check_field]], [[nkm_when(nkm_out_writes([[$1]], [[$2]]),
[[nkm_when(nkm_v([[$1:$2]], [[string]]), [[nkm_when(nkm_v([[$1:$2]], [[array]]), [[	if (!memchr(s->$2, '\0', sizeof(s->$2)))
		return -EINVAL;	/* the extension left $2 unterminated */
]])]])]])]])
# Only what changed is written: the kernel object usually lives in the
# arena, where a write costs a protection change while extensions run.
m4_define([[nkm_out_field]], [[nkm_when(nkm_out_writes([[$1]], [[$2]]),
[[	if (memcmp(&o->$2, &s->$2, sizeof(o->$2)))
		memcpy(&o->$2, &s->$2, sizeof(o->$2));
]])]])
# a synchroniser with nothing to copy leaves its arguments unused
m4_define([[nkm_unused]], [[nkm_unless([[$1]], [[ __attribute__((unused))]])]])
m4_define([[nkm_struct]], [[nkm_when(nkm_s([[$1]], [[shadow]]), [[
static void nkt_sync_in_$1(void *shadow[[]]nkm_unused(nkm_fields([[$1]], [[nkm_in_field]])), const void *obj[[]]nkm_unused(nkm_fields([[$1]], [[nkm_in_field]])))
{
nkm_when(nkm_fields([[$1]], [[nkm_in_field]]), [[	struct $1 *s = shadow;
	const struct $1 *o = obj;

nkm_fields([[$1]], [[nkm_in_field]])]])m4_dnl
}

static int nkt_sync_out_$1(void *obj[[]]nkm_unused(nkm_fields([[$1]], [[nkm_out_field]])), const void *shadow[[]]nkm_unused(nkm_fields([[$1]], [[nkm_check_field]])nkm_fields([[$1]], [[nkm_out_field]])))
{
nkm_when(nkm_fields([[$1]], [[nkm_out_field]]), [[	struct $1 *o = obj;
]])m4_dnl
nkm_when(nkm_fields([[$1]], [[nkm_check_field]])nkm_fields([[$1]], [[nkm_out_field]]), [[	const struct $1 *s = shadow;

]])m4_dnl
nkm_fields([[$1]], [[nkm_check_field]])m4_dnl
nkm_fields([[$1]], [[nkm_out_field]])m4_dnl
	return 0;
}
]])nkm_when(nkm_s([[$1]], [[release]]), [[
static void nkt_release_$1(void *obj)
{
	nkm_s([[$1]], [[release]])((struct $1 *)obj);
}
]])
const struct nooks_type nooks_type_$1 = {
	.name = "nkm_s([[$1]], [[typename]])",
	.id = nkm_s([[$1]], [[id]]),
	.size = nkm_choose(nkm_s([[$1]], [[shadow]]), [[sizeof(struct $1)]], [[0]]),
	.release = nkm_choose(nkm_s([[$1]], [[release]]), [[nkt_release_$1]], [[NULL]]),
	.sync_in = nkm_choose(nkm_s([[$1]], [[shadow]]), [[nkt_sync_in_$1]], [[NULL]]),
	.sync_out = nkm_choose(nkm_s([[$1]], [[shadow]]), [[nkt_sync_out_$1]], [[NULL]]),
};
]])
m4_divert(0)m4_dnl
nkm_banner([[user/shadow.c.m4]])
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "nkm_i([[interface]])_nooks.h"
nkm_structs([[nkm_struct]])m4_dnl
