#!/bin/bash
# khttpd.sh BUILD - make bench's macro part: khttpd in nkernel under wrk,
# native against each isolating backend, and khttpd's recovery time.
#
# Prints Markdown tables on standard output (bench/run.sh appends them to
# bench/results.md); progress goes to standard error.
#
#   1. throughput and latency: files of 100 B, 4 KiB, 64 KiB and 1 MiB in a
#      temporary document root; backends none, mprotect and pkey (which
#      falls back to mprotect where the CPU has no protection keys: the
#      table says so); ROUNDS rounds, each starting nkernel once per
#      backend in turn (process: a domain process of its own), so the
#      backends alternate and share the machine's
#      drift; `wrk -t 2 -c 8 -d SECS --latency` per file; khttpd with
#      threads=16 (each of wrk's 8 keep-alive connections holds a worker).
#      Reported: the median requests/s across rounds, its spread, the
#      median p50 and p99 latency, and isolated/native per file size.
#   2. recovery: FAULTS injections of `null` into khttpd per isolating
#      backend, nkernel started with --max-restarts 64 --window 1
#      --backoff 0 so the policy never waits or gives up; median and worst
#      of nkctl's "recovered in N us (M us from the injection)".
#
# Environment: KHTTPD_BENCH_ROUNDS (3), KHTTPD_BENCH_SECS (4),
# KHTTPD_BENCH_FAULTS (50), KHTTPD_BENCH_THREADS (16).
# Exits non-zero, loudly, if nkernel does not start, a file is served
# wrong, wrk fails, or an injected fault is not recovered.
set -u
B=$1
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
ext=$B/examples/khttpd.so
rounds=${KHTTPD_BENCH_ROUNDS:-3}
secs=${KHTTPD_BENCH_SECS:-4}
faults=${KHTTPD_BENCH_FAULTS:-50}
threads=${KHTTPD_BENCH_THREADS:-16}
backends="none mprotect pkey process"
sizes="100 4096 65536 1048576"

tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "bench/khttpd.sh: $*" >&2
	[ -f "$tmp/log" ] && tail -20 "$tmp/log" | sed 's/^/  log: /' >&2
	exit 1
}
note() { echo "bench/khttpd.sh: $*" >&2; }

for f in "$nk" "$ctl" "$ext" "$B/kernel/wrap/libnk.so.1"; do
	[ -e "$f" ] || die "$f is missing (make bench builds it)"
done
command -v wrk > /dev/null || die "wrk is not installed (tools/deps.sh installs it)"
command -v curl > /dev/null || die "curl is not installed"

www=$tmp/www
mkdir -p "$www"
for s in $sizes; do
	head -c "$s" /dev/urandom > "$www/f$s"
done
label() {
	case $1 in
	100) echo "100 B" ;; 4096) echo "4 KiB" ;; 65536) echo "64 KiB" ;; 1048576) echo "1 MiB" ;;
	esac
}

# A port nobody listens on.
free_port() { bash tools/free-port.sh || die "no free port found"; }

# start BACKEND [OPTIONS...]: nkernel with khttpd; sets pid, port, and
# actual (the backend nkctl reports: pkey may fall back to mprotect)
start() {
	local iso=$1
	shift
	sock=$tmp/nk.sock
	rm -f "$sock" "$tmp/log"
	port=$(free_port)
	"$nk" --control "$sock" --log "$tmp/log" --isolation="$iso" "$@" \
		"$ext" root="$www" port="$port" threads="$threads" > "$tmp/nk.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do
		if "$ctl" -s "$sock" list > /dev/null 2>&1 &&
		   curl -s -o /dev/null "http://127.0.0.1:$port/f100"; then
			actual=$("$ctl" -s "$sock" list | awk '$1 == "khttpd" { print $3 }')
			[ -n "$actual" ] || die "nkctl list does not show khttpd ($iso)"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$tmp/nk.out" >&2
	die "nkernel did not start (--isolation=$iso, port $port)"
}

stop() {
	"$ctl" -s "$sock" shutdown > /dev/null 2>&1
	local st=0
	wait "$pid" || st=$?
	pid=
	[ "$st" -eq 0 ] || die "nkernel exited with status $st at shutdown"
}

# to_us 349.00us | 19.21ms | 1.02s -> microseconds
to_us() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000;
		else if (v ~ /m$/) m = 60000000; else if (v ~ /s$/) m = 1000000; else m = -1
		if (m < 0) exit 1
		printf "%.0f", n * m }'
}

# stats: numbers on standard input -> "median min max"
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}

fmt_us() {	# microseconds -> "349 us" / "19.2 ms"
	awk -v u="$1" 'BEGIN { if (u < 1000) printf "%.0f us", u; else printf "%.2f ms", u / 1000 }'
}

# ---- 1. throughput and latency --------------------------------------------

: > "$tmp/runs"		# backend size round rps p50_us p99_us errors
declare -A shown	# backend -> what the table calls it
for r in $(seq 1 "$rounds"); do
	for b in $backends; do
		start "$b"
		if [ "$actual" = "$b" ]; then
			shown[$b]=$b
		else
			shown[$b]="$b (falls back to $actual here)"
		fi
		for s in $sizes; do
			url="http://127.0.0.1:$port/f$s"
			curl -s -o "$tmp/got" "$url" || die "curl $url failed ($b)"
			cmp -s "$tmp/got" "$www/f$s" || die "$url served the wrong bytes ($b)"
			note "round $r/$rounds, $b, $(label $s): wrk -t 2 -c 8 -d ${secs}s"
			st=0
			timeout $((secs + 30)) wrk -t 2 -c 8 -d "${secs}s" --latency "$url" \
				> "$tmp/wrk.out" 2>&1 || st=$?
			if [ "$st" -ne 0 ] || ! grep -q '^Requests/sec:' "$tmp/wrk.out"; then
				cat "$tmp/wrk.out" >&2
				die "wrk failed (status $st) on $url ($b)"
			fi
			rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk.out")
			p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$tmp/wrk.out")") ||
				die "no p50 in wrk's output"
			p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$tmp/wrk.out")") ||
				die "no p99 in wrk's output"
			err=$(awk -F'[ ,]+' '/Socket errors/ { e = $5 + $7 + $9 + $11 }
				/Non-2xx/ { e += $5 } END { print e + 0 }' "$tmp/wrk.out")
			echo "$b $s $r $rps $p50 $p99 $err" >> "$tmp/runs"
		done
		kill -0 "$pid" 2>/dev/null || die "nkernel died under load ($b)"
		stop
	done
done

field() {	# field BACKEND SIZE COLUMN -> the column's values, one a line
	awk -v b="$1" -v s="$2" -v c="$3" '$1 == b && $2 == s { print $c }' "$tmp/runs"
}

echo "| khttpd in nkernel, 127.0.0.1, threads=$threads, wrk -t 2 -c 8 -d ${secs}s, $rounds rounds alternated | requests/s (median) | spread | p50 latency | p99 latency | errors | vs native |"
echo "|---|---:|---|---:|---:|---:|---:|"
: > "$tmp/ratios"
for s in $sizes; do
	native=$(field none "$s" 4 | stats | cut -d' ' -f1)
	for b in $backends; do
		read -r med lo hi <<< "$(field "$b" "$s" 4 | stats)"
		p50=$(field "$b" "$s" 5 | stats | cut -d' ' -f1)
		p99=$(field "$b" "$s" 6 | stats | cut -d' ' -f1)
		errs=$(field "$b" "$s" 7 | awk '{ t += $1 } END { print t + 0 }')
		ratio=$(awk -v a="$med" -v n="$native" 'BEGIN { printf "%.2f", a / n }')
		[ "$b" = none ] || echo "$s $b $ratio" >> "$tmp/ratios"
		printf '| %s, %s | %.0f | %.0f..%.0f | %s | %s | %s | %s |\n' \
			"$(label "$s")" "${shown[$b]}" "$med" "$lo" "$hi" \
			"$(fmt_us "$p50")" "$(fmt_us "$p99")" "$errs" \
			"$([ "$b" = none ] && echo 1.00x || echo "${ratio}x")"
	done
done
echo
awk -v lab="100:100 B,4096:4 KiB,65536:64 KiB,1048576:1 MiB" '
	BEGIN { n = split(lab, l, ","); for (i = 1; i <= n; i++) { split(l[i], kv, ":"); name[kv[1]] = kv[2] } }
	$2 == "mprotect" { r[$1] = $3; if ($3 >= 0.97) met = met (met ? ", " : "") name[$1]; else miss = miss (miss ? ", " : "") name[$1] " (" int($3 * 100 + 0.5) "%)" }
	END {
		printf "Goal: khttpd isolated at 97%% or more of native throughput. mprotect: "
		if (!miss) print "met for every file size."
		else if (!met) print "not met: " miss "."
		else print "met for " met "; not met for " miss "."
	}' "$tmp/ratios"
echo

# ---- 2. recovery ----------------------------------------------------------

echo "| recovery, khttpd in nkernel (threads=$threads, idle, $faults faults \`null\`) | median | worst |"
echo "|---|---:|---:|"
: > "$tmp/recovery_medians"
for b in mprotect pkey process; do
	start "$b" --max-restarts 64 --window 1 --backoff 0
	name=$b
	[ "$actual" = "$b" ] || name="$b (falls back to $actual here)"
	note "recovery, $b: $faults injections"
	: > "$tmp/rec"
	: > "$tmp/phases"
	for i in $(seq 1 "$faults"); do
		out=$("$ctl" -s "$sock" inject khttpd null 2>&1) ||
			die "inject $i failed ($b): $out"
		# "khttpd: recovered in N us (M us from the injection)"
		line=$(grep 'recovered in' <<< "$out") || die "inject $i: not recovered ($b): $out"
		awk '{ for (i = 1; i <= NF; i++) if ($i == "in") { n = $(i + 1); m = substr($(i + 3), 2); print n, m, m - n; exit } }' \
			<<< "$line" >> "$tmp/rec"
		# "khttpd: phases: unwind N us, release N us, reload N us, init N us, replay N us"
		line=$(grep 'phases:' <<< "$out") || die "inject $i: no phases ($b): $out"
		awk '{ for (i = 1; i < NF; i++) if ($(i + 2) ~ /^us/) printf "%s ", $(i + 1); print "" }' \
			<<< "$line" >> "$tmp/phases"
	done
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/f100")" = 200 ] ||
		die "khttpd does not serve after $faults faults ($b)"
	stop
	[ "$(wc -l < "$tmp/rec")" -eq "$faults" ] || die "missing recovery times ($b)"
	read -r m1 _ w1 <<< "$(awk '{ print $3 }' "$tmp/rec" | stats)"
	read -r m2 _ w2 <<< "$(awk '{ print $1 }' "$tmp/rec" | stats)"
	read -r m3 _ w3 <<< "$(awk '{ print $2 }' "$tmp/rec" | stats)"
	echo "| $name: injection to the error return (fault, unwind, hand-off to the recovery thread) | $(fmt_us "$m1") | $(fmt_us "$w1") |"
	echo "| $name: error return to serving again (release, reload, init) | $(fmt_us "$m2") | $(fmt_us "$w2") |"
	col=1
	for ph in "unwind (the domain's other threads leave it)" "release (what it held)" \
		"reload (the object)" "init (its init_module)" "replay (logged calls)"; do
		read -r pm _ pw <<< "$(awk -v c=$col '{ print $c }' "$tmp/phases" | stats)"
		echo "| $name: &nbsp; of which $ph | $(fmt_us "$pm") | $(fmt_us "$pw") |"
		col=$((col + 1))
	done
	echo "| $name: injection to serving again | $(fmt_us "$m3") | $(fmt_us "$w3") |"
	echo "$b $m3 $w3" >> "$tmp/recovery_medians"
done
echo
if awk '$2 >= 200 || $3 >= 1000 { bad = 1 } END { exit bad ? 0 : 1 }' "$tmp/recovery_medians"; then
	verdict="not met"
else
	verdict="met"
fi
echo "Goal: khttpd recovery, injection to serving again, median under 200 us and worst under 1 ms: $verdict ($(awk 'function t(x) { return x < 1000 ? sprintf("%.0f us", x) : sprintf("%.2f ms", x / 1000) } { printf "%s%s median %s, worst %s", (NR > 1 ? "; " : ""), $1, t($2), t($3) }' "$tmp/recovery_medians"))."
