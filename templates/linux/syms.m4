m4_divert(-1)
# syms.m4 - INTERFACE.syms: the kernel functions of the interface and
# their wrappers, one "NAME nooks_kw_NAME" a line: the list
# `objcopy --redefine-syms` reads to bind a copy of an unmodified module
# to nooks.ko's wrappers (tools/kmod/wrap.sh).  A function the header
# defines inline (kmalloc) is never an undefined symbol of a module: its
# line binds nothing (docs/kmod.md).
m4_define([[nkm_sym]], [[$1 nooks_kw_$1
]])
m4_divert(0)m4_dnl
nkm_kfuncs([[nkm_sym]])m4_dnl
