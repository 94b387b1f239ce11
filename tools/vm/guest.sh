#!/bin/bash
# guest.sh [options] [-- QEMU-ARGS...] - tests in a fresh guest, in one command.
#
# kernel.sh, initramfs.sh and run.sh together: fetches (or reuses) the
# kernel, packs an initramfs into a temporary file, boots it and exits
# with run.sh's status (0 passed, 1 a test failed, 2 usage, 3 the guest
# did not finish, 4 no qemu; 5 the kernel could not be fetched).
#
#   initramfs.sh's:  -p PROG  -l LIB  -f PATH[=DEST]  -t NAME=CMD  -C DIR  -z
#   run.sh's:        -T SECONDS (its -t)  -o LOG  -O DIR  -r FILE  -a WORDS  -v
#
# e.g. the runtime's suite in the guest (docs/vm.md):
#   R=build/tests/runtime
#   tools/vm/guest.sh -T 300 -O build/vm/out -p $R/runtime -f $R -f tests/runtime \
#       $(for l in $R/*.so $R/wrap/*.so*; do echo -l $l; done) \
#       -t runtime="$R/runtime \$VM_OUT/runtime $R/ext_faults.so $R $R/ext_tk.so $R/wrap/libtk.so.1"
set -u
here=$(dirname "$0")
ramfs_args=()
run_args=()
while getopts p:l:f:t:C:zT:o:O:r:a:v opt; do
	case $opt in
	p|l|f|t|C) ramfs_args+=("-$opt" "$OPTARG") ;;
	z) ramfs_args+=(-z) ;;
	T) run_args+=(-t "$OPTARG") ;;
	o|O|r|a) run_args+=("-$opt" "$OPTARG") ;;
	v) run_args+=(-v) ;;
	*) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift

kernel=$(sh "$here/kernel.sh") || exit 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/initramfs.sh" "${ramfs_args[@]}" "$tmp/initramfs.cpio" || exit 2
sh "$here/run.sh" "${run_args[@]}" "$kernel" "$tmp/initramfs.cpio" -- "$@"
