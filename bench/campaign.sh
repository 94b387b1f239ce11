#!/bin/bash
# campaign.sh - the fault-injection campaign on khttpd, Nooks style
# (docs/campaign.md).
#
# For each fault type, N mutants made by nooks-inject (seeds SEED..SEED+N-1),
# each run twice, natively (--isolation=none) and isolated (--backend), in
# an nkernel that also runs a clean khttpd as a witness. Persistent mode
# loads a mutated copy of khttpd.so; transient mode loads a clean copy
# and patches its code in memory while clients are running (nkctl patch).
# Two client loops fetch five URLs over keep-alive connections with curl
# for a few seconds and compare every byte of every response (headers and
# body) with what the unmutated server answers; then the kernel, the
# witness and the mutant are checked once more. Every run is bounded
# (curl --max-time, timeout on every nkctl) and its nkernel killed.
#
# Writes bench/campaign.md (--out) and prints its tables.
set -u
B=build
mutants=3
types="text nop branch invert ptr dst src interface loop ud2 hlt"
mode=both
backend=mprotect
seed=1
duration=2
out=bench/campaign.md
keep=""

usage() {
	cat <<EOF
usage: bench/campaign.sh [OPTION]...
  --mutants N        mutants per fault type and mode (default $mutants)
  --types T,T,...    fault types (default: all: ${types// /,})
  --mode M           persistent, transient or both (default $mode)
  --backend KIND     the isolating backend: mprotect or pkey (default $backend)
  --seed S           the first seed; mutant k of a type uses seed S+k (default $seed)
  --duration SEC     seconds of client load per run (default $duration)
  --out FILE         the report (default $out; - for none)
  --build DIR        the build tree (default $B)
  --keep             keep the work directory
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--mutants) mutants=$2; shift ;;
	--types) types=${2//,/ }; shift ;;
	--mode) mode=$2; shift ;;
	--backend) backend=$2; shift ;;
	--seed) seed=$2; shift ;;
	--duration) duration=$2; shift ;;
	--out) out=$2; shift ;;
	--build) B=$2; shift ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "campaign.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case $mode in persistent) modes=persistent ;; transient) modes=transient ;;
	both) modes="persistent transient" ;;
	*) echo "campaign.sh: --mode is persistent, transient or both" >&2; exit 2 ;; esac
case $backend in mprotect | pkey) ;; *) echo "campaign.sh: --backend is mprotect or pkey" >&2; exit 2 ;; esac
for n in "$mutants" "$seed" "$duration"; do
	case $n in '' | *[!0-9]*) echo "campaign.sh: '$n' is not a number" >&2; exit 2 ;; esac
done

inj=$B/tools/nooks-inject
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
ext=$B/examples/khttpd.so
for f in "$inj" "$nk" "$ctl" "$ext"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "campaign.sh: $f missing (make campaign builds it)" >&2; exit 2; }
done
for t in $types; do
	"$inj" --help | grep -q "^  $t " || { echo "campaign.sh: unknown fault type '$t'" >&2; exit 2; }
done
# functions the workload never runs: the inject hook (nkctl inject only)
# and cleanup_module (runs are ended with SIGKILL)
scope="-x nk_fault_inject -x nk_fault_recurse -x cleanup_module"
# a transient fault is injected after the module started, and a restart
# maps clean code: init_module and what only it calls never run mutated
tscope="-x init_module -x param_long"
scope_of() { if [ "$1" = transient ]; then echo "$scope $tscope"; else echo "$scope"; fi; }

tmp=$(mktemp -d /tmp/campaign.XXXXXX)
pids=""
cleanup() {
	# runs happen in subshells: their nkernels are listed in $tmp/pids
	for p in $pids $(cat "$tmp/pids" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$keep" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the files and the answers a correct khttpd gives ------------------------------

www=$tmp/www
mkdir -p "$www/sub"
cp examples/khttpd/www/index.html "$www/"
printf 'plain text\n' > "$www/a.txt"
head -c 4096 /dev/urandom > "$www/4k.bin"
head -c 65536 /dev/urandom > "$www/64k.bin"
printf '<p>sub</p>\n' > "$www/sub/index.html"
paths="/ /a.txt /4k.bin /64k.bin /sub/ /missing /%zz /../a.txt"
npaths=$(wc -w <<< "$paths")

free_port() { bash tools/free-port.sh || echo 0; }

# start_kernel ISO DIR: nkernel with the witness (a clean khttpd); sets
# kpid, sock, log, wport. Fails if it does not answer within 5 s.
start_kernel() {
	local iso=$1 d=$2
	sock=$d/sock log=$d/log wport=$(free_port)
	"$nk" --control "$sock" --log "$log" --isolation="$iso" "$ext" root="$www" port="$wport" \
		threads=2 > "$d/nkernel.out" 2>&1 &
	kpid=$!
	echo "$kpid" >> "$tmp/pids"
	for _ in $(seq 1 100); do
		if timeout 5 "$ctl" -s "$sock" list > /dev/null 2>&1 &&
		   curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$wport/"; then
			return 0
		fi
		kill -0 "$kpid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

stop_kernel() {
	kill -9 "$kpid" 2>/dev/null
	wait "$kpid" 2>/dev/null
}

# fetch PORT DIR: every path once, on one connection; prints per path
# "ok", "wrong" or "fail" (no complete answer); a wrong answer is kept
fetch() {
	local port=$1 d=$2 args=() i=0 p codes
	for p in $paths; do
		rm -f "$d/r$i"
		args+=(-o "$d/r$i" "http://127.0.0.1:$port$p")
		i=$((i + 1))
	done
	# --max-time bounds each transfer, timeout the whole connection
	codes=$(timeout -s KILL 3 curl -s -i --path-as-is --max-time 1 -w '%{exitcode}\n' \
		"${args[@]}" 2>/dev/null)
	i=0
	while read -r rc; do
		[ $i -lt "$npaths" ] || break
		if [ "$rc" = 0 ] && cmp -s "$d/r$i" "$tmp/ref/r$i"; then
			echo ok
		elif [ "$rc" = 0 ] || [ "$rc" = 8 ]; then	# 8: not HTTP at all
			echo wrong
			[ -e "$d/wrong" ] || cp "$d/r$i" "$d/wrong" 2>/dev/null
		else
			echo fail
		fi
		i=$((i + 1))
	done <<< "$codes"
	while [ $i -lt "$npaths" ]; do echo fail; i=$((i + 1)); done
}

# client PORT DIR UNTIL: fetch in a loop until the date UNTIL (seconds)
client() {
	local port=$1 d=$2 until=$3
	mkdir -p "$d"
	while [ "$(date +%s%N)" -lt "$until" ]; do
		fetch "$port" "$d"
	done > "$d/results"
}

# all_ok PORT DIR: every path answered correctly
all_ok() {
	local r
	mkdir -p "$2"
	r=$(fetch "$1" "$2")
	[ "$(grep -c '^ok$' <<< "$r")" -eq "$npaths" ]
}

# ---- the reference answers: a clean khttpd, natively ---------------------------------

mkdir -p "$tmp/ref" "$tmp/refrun"
if ! start_kernel none "$tmp/refrun"; then
	echo "campaign.sh: nkernel does not start:" >&2
	cat "$tmp/refrun/nkernel.out" >&2
	exit 1
fi
i=0
for p in $paths; do
	curl -s -i --path-as-is --max-time 2 -o "$tmp/ref/r$i" "http://127.0.0.1:$wport$p"
	i=$((i + 1))
done
stop_kernel
# the references themselves are checked: bodies are the files, statuses right
tail -c 65536 "$tmp/ref/r3" | cmp -s - "$www/64k.bin" && tail -c 4096 "$tmp/ref/r2" | cmp -s - "$www/4k.bin" &&
	head -1 "$tmp/ref/r5" | grep -q '^HTTP/1.1 404' && head -1 "$tmp/ref/r0" | grep -q '^HTTP/1.1 200' ||
	{ echo "campaign.sh: the clean khttpd's answers are not what they should be" >&2; exit 1; }

# ---- one run ------------------------------------------------------------------------

# run MODE TYPE SEED ISO: prints "CLASS|DETAIL"
run() {
	local mode=$1 t=$2 s=$3 iso=$4 d=$tmp/$1-$2-$3-$4 mport name st=0 alive=1 list=""
	mkdir -p "$d"
	if ! start_kernel "$iso" "$d"; then
		echo "error|nkernel did not start: $(tail -1 "$d/nkernel.out")"
		stop_kernel
		return
	fi
	mkdir -p "$d/m"
	mport=$(free_port)
	if [ "$mode" = persistent ]; then
		"$inj" -t "$t" -s "$s" $(scope_of "$mode") -o "$d/m/khttpd.so" "$ext" > "$d/inject.out" 2>&1
	else
		cp "$ext" "$d/m/khttpd.so"
	fi
	timeout 10 "$ctl" -s "$sock" load --isolation="$iso" "$d/m/khttpd.so" root="$www" \
		port="$mport" threads=2 > "$d/load.out" 2>&1 || st=$?
	name=$(awk '/ loaded$/ { print $1 }' "$d/load.out")
	local loaded=0 fstart fend
	[ -n "$name" ] && loaded=1
	if [ $loaded = 1 ]; then
		fstart=$(date +%s%N)
		fend=$((fstart + duration * 1000000000))
		client "$mport" "$d/c1" "$fend" &
		local c1=$!
		client "$mport" "$d/c2" "$fend" &
		local c2=$!
		if [ "$mode" = transient ]; then
			sleep 0.3
			timeout 10 "$inj" -t "$t" -s "$s" $(scope_of "$mode") --nkctl "$sock" --module "$name" \
				--nkctl-bin "$ctl" "$ext" > "$d/inject.out" 2>&1
		fi
		wait $c1 $c2
	fi
	kill -0 "$kpid" 2>/dev/null || alive=0
	local hung=0 serving=0 witness=0 state=- faults=0
	if [ $alive = 1 ]; then
		if list=$(timeout 5 "$ctl" -s "$sock" list 2>/dev/null); then
			read -r state faults <<< "$(awk -v n="$name" '$1 == n { print $2, $5 }' <<< "$list")"
			state=${state:--}
			faults=${faults:-0}
		else
			hung=1
		fi
		all_ok "$wport" "$d/w" && witness=1
		if [ $loaded = 1 ]; then
			# serving correctly again within 3 s (a restart may wait its backoff)
			local until=$(( $(date +%s%N) + 3000000000 ))
			while [ "$(date +%s%N)" -lt "$until" ]; do
				if all_ok "$mport" "$d/f"; then serving=1; break; fi
				kill -0 "$kpid" 2>/dev/null || break
				sleep 0.2
			done
		fi
		kill -0 "$kpid" 2>/dev/null || alive=0
	fi
	stop_kernel
	local ok wrong fail
	ok=$(cat "$d"/c?/results 2>/dev/null | grep -c '^ok$')
	wrong=$(cat "$d"/c?/results 2>/dev/null | grep -c '^wrong$')
	fail=$(cat "$d"/c?/results 2>/dev/null | grep -c '^fail$')
	[ -e "$d/f/wrong" ] && wrong=$((wrong + 1))
	local detail="$ok ok, $wrong wrong, $fail lost"
	[ $loaded = 1 ] || detail="load: $(sed 's/^nkctl: //' "$d/load.out" | tail -1)"
	[ "$st" = 124 ] && detail="load timed out"
	local class
	if [ "$iso" = none ]; then
		if [ $alive = 0 ]; then class=crash
		elif [ "$wrong" -gt 0 ]; then class=wrong
		elif [ $loaded = 0 ] && [ "$st" != 124 ] && [ $hung = 0 ] && [ $witness = 1 ]; then
			class=refused	# init_module returned an error, nothing ran
		elif [ $hung = 1 ] || [ $serving = 0 ] || [ $witness = 0 ]; then class=hang
		else class=none
		fi
	else
		if [ $alive = 0 ]; then class=died
		elif [ $hung = 1 ] || [ $witness = 0 ]; then class=hung
		elif [ "$wrong" -gt 0 ]; then class=wrong
		elif [ $loaded = 0 ] || [ "$state" = failed ]; then class=gave-up
		elif [ $serving = 0 ]; then class=not-serving
		elif [ "$faults" -gt 0 ]; then class=recovered
		else class=none
		fi
		detail="$detail; $faults faults, $state"
	fi
	echo "$class|$detail"
}

# ---- the campaign ------------------------------------------------------------------

rows=$tmp/rows
: > "$rows"
start_s=$(date +%s)
total=$(( $(wc -w <<< "$modes") * $(wc -w <<< "$types") * mutants ))
n=0
for m in $modes; do
	for t in $types; do
		for k in $(seq 0 $((mutants - 1))); do
			s=$((seed + k))
			n=$((n + 1))
			# what the mutant is (the same for both runs and both modes)
			desc=$("$inj" -t "$t" -s "$s" $(scope_of "$m") "$ext" 2>&1)
			if [ $? -ne 0 ]; then
				echo "[$n/$total] $m $t seed $s: $desc"
				continue
			fi
			where=$(awk '$1 == "function" { print $2 }' <<< "$desc")
			change="$(awk '$1 == "before" { sub(/^ *before +/, ""); print }' <<< "$desc") => $(awk '$1 == "after" { sub(/^ *after +/, ""); print }' <<< "$desc")"
			change=$(sed -E 's/ +# [^;=]*//g; s/ ?=> ?/ => /; s/ +/ /g; s/\|/\//g' <<< "$change")
			IFS='|' read -r nc nd <<< "$(run "$m" "$t" "$s" none)"
			IFS='|' read -r ic id <<< "$(run "$m" "$t" "$s" "$backend")"
			printf '[%d/%d] %-10s %-9s seed %-3s %-26s native %-6s isolated %-11s (%s)\n' \
				"$n" "$total" "$m" "$t" "$s" "$where" "$nc" "$ic" "$id"
			echo "$m|$t|$s|$where|$change|$nc|$nd|$ic|$id" >> "$rows"
		done
	done
done
elapsed=$(( $(date +%s) - start_s ))

# ---- the report ------------------------------------------------------------------------

report() {
	echo "# Fault-injection campaign: khttpd"
	echo
	echo "Generated by \`make campaign\` (\`bench/campaign.sh --mutants $mutants --mode $mode" \
		"--backend $backend --seed $seed --duration $duration --types ${types// /,}\`)" \
		"on $(date -u '+%Y-%m-%d %H:%M UTC'), in ${elapsed} s."
	echo
	echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs," \
		"Linux $(uname -r), $(hostname). Isolated runs: \`--isolation=$backend\`$(
		[ "$backend" = pkey ] && echo ' (falls back to mprotect where the CPU has no keys)')."
	echo
	echo "Each mutant ran natively and isolated in an nkernel beside a clean khttpd (the"
	echo "witness), under two curl clients for $duration s comparing every byte of every answer"
	echo "(5 files, a 404, a 400 and a traversal attempt); classes and method in \`docs/campaign.md\`."
	for m in $modes; do
		local f=$tmp/rows.$m
		grep "^$m|" "$rows" > "$f"
		local all nat ni surv serv
		all=$(wc -l < "$f")
		echo
		echo "## $m faults ($all mutants)"
		echo
		echo "| type | mutants | native: crash | hang | wrong | refused | no effect | isolated: died | hung | wrong | recovered | gave up | not serving | no effect |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		for t in $types all; do
			awk -F'|' -v t="$t" '
				t == "all" || $2 == t {
					n++; nat[$6]++; iso[$8]++
				}
				END {
					if (!n) exit
					printf "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n",
						t == "all" ? "**all**" : t, n, nat["crash"], nat["hang"], nat["wrong"],
						nat["refused"], nat["none"],
						iso["died"], iso["hung"], iso["wrong"], iso["recovered"], iso["gave-up"],
						iso["not-serving"], iso["none"]
				}' "$f"
		done
		nat=$(awk -F'|' '$6 == "crash" || $6 == "hang"' "$f" | wc -l)
		surv=$(awk -F'|' '($6 == "crash" || $6 == "hang") && $8 != "died" && $8 != "hung"' "$f" | wc -l)
		serv=$(awk -F'|' '($6 == "crash" || $6 == "hang") && ($8 == "recovered" || $8 == "none")' "$f" | wc -l)
		pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b) printf "%.0f%%", 100 * a / b; else printf "-" }'; }
		echo
		echo "| of the $m faults that crash or hang the native kernel | count | share |"
		echo "|---|---:|---:|"
		echo "| crash or hang natively | $nat | |"
		echo "| the isolated kernel survives (neither dies nor hangs) | $surv | $(pct "$surv" "$nat") |"
		echo "| … and khttpd serves correct bytes again within 3 s | $serv | $(pct "$serv" "$nat") |"
		local fails
		fails=$(awk -F'|' '$8 == "died" || $8 == "hung" || ($8 == "wrong" && $6 != "wrong")' "$f")
		echo
		if [ -z "$fails" ]; then
			echo "Failures of isolation (isolated kernel died or hung, or wrong bytes where native gave none): none."
		else
			echo "Failures of isolation (isolated kernel died or hung, or wrong bytes where native gave none):"
			echo
			while IFS='|' read -r _ ft fs fw fc fnc _ fic fid; do
				echo "- $ft seed $fs at $fw (\`$fc\`): native $fnc, isolated **$fic** ($fid). Reproduce:"
				if [ "$m" = persistent ]; then
					echo "  \`$inj -t $ft -s $fs $(scope_of "$m") -o /tmp/m/khttpd.so $ext &&" \
						"$nk --isolation=$backend /tmp/m/khttpd.so root=DIR port=8080 threads=2\`"
				else
					echo "  \`$nk --control /tmp/nk.sock --isolation=$backend $ext root=DIR port=8080 threads=2 &" \
						"$inj -t $ft -s $fs $(scope_of "$m") --nkctl /tmp/nk.sock --module khttpd $ext\`"
				fi
				echo "  with clients running; the whole run: \`bash bench/campaign.sh --mode $m --types $ft --seed $fs --mutants 1 --out -\`"
			done <<< "$fails"
		fi
		echo
		echo "<details><summary>every $m mutant</summary>"
		echo
		echo "| type | seed | where | change | native | | isolated | |"
		echo "|---|---:|---|---|---|---|---|---|"
		while IFS='|' read -r _ ft fs fw fc fnc fnd fic fid; do
			echo "| $ft | $fs | $fw | \`$fc\` | $fnc | $fnd | $fic | $fid |"
		done < "$f"
		echo
		echo "</details>"
	done
}

report > "$tmp/report.md"
echo
grep -v '^|.*|.*`' "$tmp/report.md" | grep -v 'details>' | sed '/^$/N;/^\n$/D'
if [ "$out" != - ]; then
	cp "$tmp/report.md" "$out"
	echo
	echo "written: $out"
fi
