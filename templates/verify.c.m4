m4_divert(-1)
# verify.c.m4 - the C translation unit `nooksc verify` parses with
# libclang: the annotated header, then every declaration of the interface
# restated as C checks, each after a #line pointing at the IDL line that
# declared it, so the C compiler's complaint lands on the IDL.
#   kernel function: must exist (its type is taken), then is redeclared
#                    with the IDL's prototype: "conflicting types" if not;
#   struct field:    its type in the header must be the IDL's;
#   ops entry:       the table's member must have the entry's pointer type;
#   constant:        must exist as a constant expression (and equal the
#                    IDL's value when the IDL gives one);
#   typedef:         must name the IDL's type.
# Never written to disk: nothing here reaches generated/.
m4_define([[nkm_at]], [[#line nkm_get([[$1]], [[$2]], [[line]]) "nkm_get([[$1]], [[$2]], [[file]])"]])
m4_define([[nkm_vf]], [[
nkm_at([[f]], [[$1]])
__typeof__($1) *nkv_exists_$1 __attribute__((unused));
nkm_at([[f]], [[$1]])
nkm_f([[$1]], [[proto]]);
]])
m4_define([[nkm_vfield]], [[
nkm_at([[v]], [[$1:$2]])
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct $1 *)0)->$2), nkm_v([[$1:$2]], [[type]])), "field '$2' of 'struct $1' has another type in the header");
]])
m4_define([[nkm_vstruct]], [[nkm_fields([[$1]], [[nkm_vfield]])]])
m4_define([[nkm_ventry]], [[
nkm_at([[e]], [[$1:$2]])
_Static_assert(__builtin_types_compatible_p(__typeof__(((struct $1 *)0)->$2), nkm_edecl([[$1:$2]], [[(*)]])), "entry '$2' of 'struct $1' has another type in the header");
]])
m4_define([[nkm_vops]], [[nkm_entries([[$1]], [[nkm_ventry]])]])
m4_define([[nkm_vconst]], [[
nkm_at([[c]], [[$1]])
static const long long nkv_const_$1 __attribute__((unused)) = (long long)($1);
nkm_when(nkm_c([[$1]], [[value]]), [[nkm_at([[c]], [[$1]])
_Static_assert(($1) == (nkm_c([[$1]], [[value]])), "'$1' has another value in the header");
]])]])
m4_define([[nkm_vtypedef]], [[
nkm_at([[t]], [[$1]])
_Static_assert(__builtin_types_compatible_p($1, nkm_t([[$1]], [[type]])), "typedef '$1' names another type in the header");
]])
m4_divert(0)m4_dnl
#include "nkm_i([[header]])"
nkm_consts([[nkm_vconst]])m4_dnl
nkm_typedefs([[nkm_vtypedef]])m4_dnl
nkm_structs([[nkm_vstruct]])m4_dnl
nkm_ops([[nkm_vops]])m4_dnl
nkm_kfuncs([[nkm_vf]])m4_dnl
