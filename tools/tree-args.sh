#!/bin/sh
# tree-args.sh TREE - the clang arguments `nooksc verify` needs for the
# IDL tree idl/TREE, on one line.
#
# They come from idl/TREE/clang-args: one argument per line, '#' comments,
# and "@kernel VERSION" for the flags of an installed kernel's headers
# (tools/kernel-flags.sh).  A tree without that file is the user-space
# kernel's: -Ikernel/include.  -Iidl/TREE (the IDL import path) comes last.
# Exit 1 when the tree or its headers are missing.
set -eu
tree=${1:?usage: tree-args.sh TREE}
dir=idl/$tree
if [ ! -d "$dir" ]; then
	echo "tree-args.sh: no IDL tree $dir" >&2
	exit 1
fi
args=
if [ -f "$dir/clang-args" ]; then
	while read -r a rest; do
		case $a in
		''|'#'*) ;;
		@kernel) args="$args $(sh tools/kernel-flags.sh "$rest")" || exit 1 ;;
		*) args="$args $a${rest:+ $rest}" ;;
		esac
	done < "$dir/clang-args"
else
	args=" -Ikernel/include"
fi
echo "${args# } -I$dir"
