#!/bin/sh
# run.sh BUILDDIR - make bench: the runtime's table (bench.c), the
# compiler's, khttpd's under wrk with its recovery time (khttpd.sh),
# netdrv's throughput and packets/s (netdrv.sh) and fatfs's through FUSE
# (fatfs.sh),
# written to bench/results.md and printed.
set -eu
B=$1
t0=$(date +%s)
out=bench/results.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

{
	echo "# make bench"
	echo
	"$B/bench/bench" "$B/tests/runtime"
	echo
	# the compiler: regenerate every IDL tree, 5 times, median
	for i in 1 2 3 4 5; do
		rm -rf "$tmp/gen"
		s=$(date +%s%N)
		sh tools/regen.sh "$B/nooksc" "$tmp/gen"
		e=$(date +%s%N)
		echo $(((e - s) / 1000000))
	done | sort -n | sed -n 3p > "$tmp/ms"
	n=$(ls idl/*/*.idl 2>/dev/null | wc -l)
	echo "| compiler | median of 5 |"
	echo "|---|---:|"
	echo "| regenerate every IDL in the tree ($n files, $(ls "$tmp/gen"/*/* | wc -l) outputs) | $(cat "$tmp/ms") ms |"
	echo
	# the macro part: khttpd in nkernel, native against isolated
	bash bench/khttpd.sh "$B"
	echo
	# netdrv: native against isolated, with and without deferred calls
	bash bench/netdrv.sh "$B"
	echo
	# fatfs through FUSE, native against isolated
	bash bench/fatfs.sh "$B"
	echo
	echo "make bench took $(($(date +%s) - t0)) s."
	echo
	cat bench/analysis.md
} > "$tmp/results.md"
cp "$tmp/results.md" "$out"
cat "$out"
