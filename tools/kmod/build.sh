#!/bin/sh
# build.sh TREE OUTDIR - nooks.ko for the kernel tree TREE (linux-6.1, ...).
#
# Copies the runtime (kmod/) and the wrappers nooksc --target linux
# generated for the tree (generated/TREE/kmod/) into OUTDIR and runs
# kbuild there against Debian's linux-headers-VERSION.*-amd64 (the newest
# installed; KDIR= names another build tree).  Warnings are errors
# (kmod/Kbuild).  Exit 0 with OUTDIR/nooks.ko; 1 when the build failed; 2
# when no headers for VERSION are installed (the caller skips).
set -eu
tree=$1
out=$2
ver=${tree#linux-}
kdir=${KDIR:-$(ls -d /usr/src/linux-headers-"$ver".*-amd64 2>/dev/null | sort -V | tail -1)}
if [ -z "$kdir" ] || [ ! -e "$kdir/Makefile" ]; then
	echo "build.sh: no linux-headers-$ver.*-amd64 installed (tools/deps.sh installs them)" >&2
	exit 2
fi
[ -d "generated/$tree/kmod" ] || { echo "build.sh: no generated/$tree/kmod (make regen KVER=$ver)" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.c "$out"/*.h "$out"/*.S
cp kmod/*.c kmod/*.h kmod/*.S kmod/Kbuild "generated/$tree/kmod/"*.[ch] "$out/"
make -s -C "$kdir" M="$(cd "$out" && pwd)" modules >"$out/build.log" 2>&1 || {
	cat "$out/build.log" >&2
	exit 1
}
[ -s "$out/nooks.ko" ]
