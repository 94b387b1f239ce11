#!/bin/sh
# regen.sh NOOKSC OUTROOT - regenerate the wrappers of every IDL tree.
#
# Trees: idl/<target-or-version>/ -> OUTROOT/<target-or-version> for
# every directory under idl/ holding .idl files (idl/nk, idl/linux-6.1, ...);
# a linux-* tree also -> OUTROOT/<tree>/kmod with --target linux.  `make regen` writes into generated/;
# `make check-generated` writes into a temporary tree and diffs it against
# the committed one, which is what CI enforces.  With NOOKS_TREE=TREE in
# the environment (`make regen KVER=TREE`) only idl/TREE is regenerated.
set -eu
nooksc=$1
root=$2
only=${NOOKS_TREE:-}

gen() {
	src=$1 out=$2
	set -- "$src"/*.idl
	[ -e "$1" ] || return 0
	mkdir -p "$out"
	"$nooksc" -o "$out" -I "$src" "$@"
	# a Linux tree also gets the kernel-module target's wrappers, the
	# ones nooks.ko is built from (make kmod, docs/kmod.md)
	case $(basename "$src") in
	linux-*)
		mkdir -p "$out/kmod"
		"$nooksc" --target linux -o "$out/kmod" -I "$src" "$@" ;;
	esac
}

if [ -n "$only" ]; then
	if [ ! -d "idl/$only" ]; then
		echo "regen.sh: no IDL tree idl/$only" >&2
		exit 1
	fi
	gen "idl/$only" "$root/$only"
	exit 0
fi
for dir in idl/*/; do
	[ -d "$dir" ] || continue
	name=$(basename "$dir")
	gen "idl/$name" "$root/$name"
done
