#!/bin/sh
# kernel-flags.sh VERSION - the clang arguments that make libclang read an
# installed kernel's headers as that kernel's own build reads them.
#
# Finds Debian's headers for VERSION (/usr/src/linux-headers-VERSION.*-amd64;
# the newest when several are installed) and asks kbuild itself: an empty
# external module whose Kbuild file prints $(LINUXINCLUDE),
# $(KBUILD_CPPFLAGS), $(KBUILD_CFLAGS) and $(NOSTDINC_FLAGS) - the include
# path, -include of compiler-version.h and kconfig.h (hence autoconf.h),
# -D__KERNEL__, -nostdinc, -std=gnu11 and the target flags.  To these it adds
# -include linux/compiler_types.h, which scripts/Makefile.lib puts in every
# c_flags.  Of the result it keeps what decides what a declaration means:
# -I, -D, -U, -include, -nostdinc, -std, -m64, -mcmodel, the -mno-<unit>
# flags that change predefined macros, -fshort-wchar, -f[un]signed-char.
# Warning, optimisation, code-generation and GCC-only flags
# (-mindirect-branch=..., -mrecord-mcount, -fconserve-stack, ...) are
# dropped: they change no type, and clang rejects several of them.
# Prints the arguments on one line; exit 1 (and a message) when no headers.
set -eu
ver=${1:?usage: kernel-flags.sh VERSION}
# the newest ABI when several are installed (sort -V: 6.1.0-9 < 6.1.0-50)
kdir=$(ls -d /usr/src/linux-headers-"$ver".*-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ]; then
	echo "kernel-flags.sh: no /usr/src/linux-headers-$ver.*-amd64 (run tools/deps.sh)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' '$(info NOOKS_FLAGS: $(LINUXINCLUDE) $(KBUILD_CPPFLAGS) $(KBUILD_CFLAGS) $(NOSTDINC_FLAGS))' \
	'obj-m :=' > "$tmp/Kbuild"
raw=$(make -s -C "$kdir" M="$tmp" modules 2>/dev/null | sed -n 's/^NOOKS_FLAGS: //p' | head -1)
if [ -z "$raw" ]; then
	echo "kernel-flags.sh: kbuild in $kdir printed no flags" >&2
	exit 1
fi
common=$(sed -n 's|^include \(/.*\)/Makefile$|\1|p' "$kdir/Makefile")
out=
takes=
for a in $raw; do
	if [ -n "$takes" ]; then
		out="$out $a"
		takes=
		continue
	fi
	case $a in
	-I./*) out="$out -I$kdir/${a#-I./}" ;;
	-I*|-D*|-U*|-nostdinc|-std=*|-m64|-mcmodel=*|-mno-sse|-mno-sse2|-mno-mmx|-mno-3dnow|\
	-mno-avx|-mno-80387|-mno-fp-ret-in-387|-mno-red-zone|-fshort-wchar|-funsigned-char|\
	-fsigned-char) out="$out $a" ;;
	-include) out="$out $a"; takes=1 ;;
	*) ;;
	esac
done
echo "${out# } -include ${common:-$kdir}/include/linux/compiler_types.h"
