#!/bin/sh
# verify-tree.sh NOOKSC TREE - `nooksc verify` every idl/TREE/*.idl
# against its headers, with the tree's clang arguments (tools/tree-args.sh).
# Exit 0 when every declaration agrees, 1 otherwise (missing headers too).
set -eu
nooksc=$1
tree=$2
args=$(sh tools/tree-args.sh "$tree")
set -- idl/"$tree"/*.idl
if [ ! -e "$1" ]; then
	echo "verify-tree.sh: no .idl files in idl/$tree" >&2
	exit 1
fi
# shellcheck disable=SC2086
"$nooksc" verify $args "$@" || exit 1
echo "verify: idl/$tree agrees with its headers"
