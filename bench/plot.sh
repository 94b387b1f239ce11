#!/bin/sh
# plot.sh RESULTS.md OUTDIR - make bench's plots, from the tables of
# bench/results.md (bench/run.sh), with gnuplot (tools/deps.sh bench):
#
#   OUTDIR/khttpd.svg     khttpd's throughput per file size and backend,
#                         as a ratio to native in the same run (the 0.97
#                         goal drawn)
#   OUTDIR/crossings.svg  what a crossing costs, in ns, per kind
#
# Ratios to native and costs in ns are separate plots: neither is a
# multiple of the other's unit.  PLOT_FORMAT=png writes PNG files instead.
# Exits 1 if a table is missing.
set -eu
res=$1
out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v gnuplot > /dev/null || { echo "plot.sh: gnuplot is not installed (sh tools/deps.sh bench)" >&2; exit 1; }

# "| 4 KiB, mprotect | 29510 | ... | 0.85x |": size, backend, ratio
awk -F'|' '
	$2 ~ /^ (100 B|4 KiB|64 KiB|1 MiB), / {
		split($2, a, ", "); size = a[1]; sub(/^ /, "", size)
		b = a[2]; sub(/ .*/, "", b)
		r = $(NF - 1); gsub(/[ x]/, "", r)
		if (b != "none") ratio[size, b] = r
		if (!(size in seen)) { seen[size] = 1; order[++n] = size }
		if (!(b in bseen) && b != "none") { bseen[b] = 1; border[++m] = b }
	}
	END {
		printf "size"; for (j = 1; j <= m; j++) printf "\t%s", border[j]; print ""
		for (i = 1; i <= n; i++) {
			printf "\"%s\"", order[i]
			for (j = 1; j <= m; j++) printf "\t%s", ratio[order[i], border[j]]
			print ""
		}
	}' "$res" > "$tmp/khttpd.dat"
[ "$(wc -l < "$tmp/khttpd.dat")" -gt 1 ] || { echo "plot.sh: no khttpd table in $res" >&2; exit 1; }

# the crossing table: "| null extension call, mprotect | 25.2 | 53 | ... |"
awk -F'|' '
	/^\| crossing \|/ { on = 1; next }
	on && /^\|---/ { next }
	on && !/^\|/ { on = 0 }
	on { name = $2; gsub(/^ | $/, "", name); ns = $3; gsub(/ /, "", ns)
	     printf "\"%s\"\t%s\n", name, ns }' "$res" > "$tmp/crossings.dat"
[ -s "$tmp/crossings.dat" ] || { echo "plot.sh: no crossing table in $res" >&2; exit 1; }

fmt=${PLOT_FORMAT:-svg}
case $fmt in
svg) term() { echo "svg size $1,$2 dynamic font \"sans,11\""; } ;;
png) term() { echo "pngcairo size $1,$2 font \"sans,10\""; } ;;
*) echo "plot.sh: PLOT_FORMAT is svg or png" >&2; exit 2 ;;
esac

machine=$(sed -n 's/^Machine: //p' "$res" | head -n 1)
nb=$(head -n 1 "$tmp/khttpd.dat" | awk -F'\t' '{ print NF - 1 }')

gnuplot <<EOF
set terminal $(term 760 380)
set output "$out/khttpd.$fmt"
set title "khttpd in nkernel under wrk: isolated throughput / native, same run\n{/*0.8 $machine}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:1.15]
set ytics 0.1
set grid ytics
set ylabel "requests/s, ratio to native"
set xlabel "file size"
set key outside right top
f(x) = 0.97
plot for [i=2:$((nb + 1))] "$tmp/khttpd.dat" using i:xtic(1) title columnheader(i), \
	0.97 with lines dashtype 2 linewidth 2 linecolor rgb "#aa0000" title "goal 0.97"
EOF

n=$(wc -l < "$tmp/crossings.dat")
gnuplot <<EOF
set terminal $(term 900 $((120 + 28 * n)))
set output "$out/crossings.$fmt"
stats "$tmp/crossings.dat" using 2 nooutput
set xrange [0:STATS_max * 1.15]
set title "what a crossing costs (ns, median)\n{/*0.8 $machine}"
set style fill solid 0.8 border -1
set yrange [$n - 0.4:-0.6]
set ytics scale 0
set grid xtics
set xlabel "ns"
unset key
plot "$tmp/crossings.dat" using (\$2 / 2):0:(\$2 / 2):(0.35):yticlabels(1) with boxxyerror, \
	"" using 2:0:(sprintf(" %.1f", \$2)) with labels left
EOF
echo "plot.sh: wrote $out/khttpd.$fmt and $out/crossings.$fmt"
