#!/bin/sh
# run.sh BUILDDIR RESULTFILE - the robustness test of nooksc.
#
# Feeds nooksc tens of thousands of mutants of the good IDL files
# (tests/idl/good, idl/nk; the random mutants also start from
# tests/idl/bad) and pathological inputs, under the sanitizers of a
# `make SAN=1` build, and wants: no crash, no sanitizer report, no leak, no
# hang, exit status 0 or 1, and no output file after errors.
#
#   1. in process (BUILDDIR/tests/fuzz/mutate, see mutate.c): every seed
#      truncated at every offset; the stress cases (100k-deep nesting, huge
#      tokens and lists, line markers, NULs, every byte, import chains,
#      ...); random stacked mutations.  An input that ends the process
#      (crash, sanitizer report, hang) is kept and the run goes on from the
#      next one; each kind of failure is shown once, then counted.
#   2. the CLI: some 800 files (the stress cases and random mutants), each
#      through `nooksc --check` and `nooksc --dump -o DIR` under `timeout`.
#   3. every reproducer in tests/fuzz/crashers/ (bugs found: they fail until
#      fixed and stay as regression tests).
#
# Deterministic: the seed is printed; NOOKSC_FUZZ_SEED=N reproduces a run.
# NOOKSC_FUZZ_RANDOM, NOOKSC_FUZZ_TRUNC and NOOKSC_FUZZ_CLI change the
# numbers of inputs.  Failing inputs are kept in RESULTFILE.d/ with a
# command that reproduces each.  About a minute on two CPUs when all is
# well; a broken build is cut short (at most 200 restarts and 8 hangs per
# in-process test, 4 hangs per CLI worker).
# Prints [PASS]/[FAIL] lines and "fuzz: N passed, M failed", writes "N M"
# to RESULTFILE and exits 1 if anything failed.
set -u

if [ $# -ne 2 ]; then
	echo "usage: sh tests/fuzz/run.sh BUILDDIR RESULTFILE" >&2
	exit 2
fi
B=$1
RESULT=$2
MUTATE=$B/tests/fuzz/mutate
NOOKSC=$B/nooksc
HERE=$(dirname "$0")
SEED=${NOOKSC_FUZZ_SEED:-20240611}
N_RANDOM=${NOOKSC_FUZZ_RANDOM:-30000}
N_TRUNC=${NOOKSC_FUZZ_TRUNC:-0}		# 0: cut at every offset; N: about N cuts
N_CLI=${NOOKSC_FUZZ_CLI:-400}
LIMIT=60					# seconds per input, in process: a hang, not a slow run
CLI_LIMIT=120				# seconds per nooksc run
RUN_LIMIT=1800				# seconds per mutate process: a backstop behind LIMIT
CRASHER_LIMIT=300			# seconds per known crasher (one input, several variants)

for f in "$MUTATE" "$NOOKSC"; do
	if [ ! -x "$f" ]; then
		echo "run.sh: $f is missing; build it first (make SAN=1 fuzz)" >&2
		echo "0 1" > "$RESULT"
		exit 1
	fi
done

# Ours first, so that the caller's settings win.  Exit codes of their own,
# since ASan's default (1) is also nooksc's "errors in the input"; an input
# that wants gigabytes is a failure, not a reason to swap.
ASAN_OPTIONS="detect_leaks=1:exitcode=86:max_allocation_size_mb=2048:hard_rss_limit_mb=4096${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=87${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
SAN_PATTERN='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer'

# The seeds: the good files.  The random mutants also start from the bad
# ones (each valid but for one mistake), which reach deeper into the checks.
SEEDS=
BAD=
INCLUDES=
for f in tests/idl/good/*.idl tests/idl/good/*/*.idl idl/nk/*.idl; do
	[ -f "$f" ] && SEEDS="$SEEDS $f"
done
for f in tests/idl/bad/*.idl tests/idl/bad/*/*.idl; do
	[ -f "$f" ] && BAD="$BAD $f"
done
# imports like "inc/base.idl" resolve in the seeds' own directories
for d in tests/idl/good idl/nk tests/idl/bad; do
	[ -d "$d" ] && INCLUDES="$INCLUDES -I $d"
done
if [ -z "$SEEDS" ]; then
	echo "run.sh: no seed files (tests/idl/good/*.idl, idl/nk/*.idl)" >&2
	echo "0 1" > "$RESULT"
	exit 1
fi

ART=$RESULT.d
rm -rf "$ART"
mkdir -p "$ART"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nooksc-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
# Each test starts with begin(); pass/fail print its time.
begin() { t_begin=$(date +%s); }
took() { echo "$(($(date +%s) - t_begin)) s"; }
pass() { passed=$((passed + 1)); echo "[PASS] $1 ($(took))"; }
fail() { failed=$((failed + 1)); echo "[FAIL] $1 ($(took))"; }

set -- $SEEDS
n_good=$#
set -- $BAD
echo "fuzz: seed $SEED (NOOKSC_FUZZ_SEED=$SEED reproduces this run), $n_good good and $# bad seed files, $B"
echo "fuzz: good seeds:$SEEDS" > "$ART/seeds"
echo "fuzz: bad seeds (random mode):$BAD" >> "$ART/seeds"
T0=$(date +%s)

# ---- 1. in process -------------------------------------------------------

# signature < LOG: one line naming the last sanitizer report in LOG: its
# kind and the first frame in the compiler (other than the arena's).
signature() {
	awk '
	/runtime error:/ {
		sig = $0
		sub(/^.*compiler\//, "compiler/", sig)
		sig = "UBSan: " sig; kind = ""
		next
	}
	/ERROR: (AddressSanitizer|LeakSanitizer)/ {
		kind = $0
		sub(/.*ERROR: [A-Za-z]+: /, "", kind)
		sub(/ on (address|unknown).*/, "", kind)
		sub(/ \(.*/, "", kind)
		sub(/requested allocation size.*/, "allocation-size-too-big", kind)
		if (kind ~ /^detected memory leaks/) kind = "memory leak"
		sig = "ASan: " kind
		next
	}
	kind != "" && / in [A-Za-z_0-9]+ .*compiler\// && !/compiler\/arena\.c/ {
		f = $0
		sub(/.* in /, "", f)
		sub(/ .*compiler\//, " compiler/", f)
		sig = "ASan: " kind " in " f; kind = ""
	}
	END { print sig }
	'
}

# run_mutate ID NAME MODE [mutate options]: one test.  After an input that
# ends mutate (crash, sanitizer report, hang) it goes on at the next one;
# each kind of failure is shown in full once, then counted.
run_mutate() {
	id=$1
	name=$2
	mode=$3
	shift 3
	begin
	echo "  running: $name"
	log=$ART/$id.log
	seg=$WORK/segment.log
	sigs=$WORK/$id.sigs
	: > "$log"
	: > "$sigs"
	start=0
	enders=0
	while :; do
		rm -f "$WORK/repro.idl" "$WORK/repro.idl.at"
		timeout -s KILL "$RUN_LIMIT" "$MUTATE" -m "$mode" -s "$SEED" -j "$start" \
			-t "$LIMIT" -d "$WORK/imports" $INCLUDES -r "$WORK/repro.idl" \
			-k "$ART/kept" "$@" $RUN_SEEDS > "$seg" 2>&1
		rc=$?
		cat "$seg" >> "$log"
		[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] && break
		enders=$((enders + 1))
		at=
		variant=0
		[ -s "$WORK/repro.idl.at" ] && read -r at variant < "$WORK/repro.idl.at"
		if [ -z "$at" ]; then
			echo "  mutate failed before its first input (exit $rc):"
			tail -n 5 "$seg" | sed 's/^/    /'
			break
		fi
		case $rc in
		3) sig="no result within $LIMIT s (a hang)" ;;
		137) sig="mutate killed after $RUN_LIMIT s" ;;
		*) sig=$(signature < "$seg")
		   [ -n "$sig" ] || sig="exit status $rc" ;;
		esac
		echo "$sig" >> "$sigs"
		if [ "$(grep -cxF "$sig" "$sigs")" -eq 1 ]; then
			cp "$WORK/repro.idl" "$ART/$id-$at.idl"
			echo "  $mode #$at: $sig"
			echo "    kept as $ART/$id-$at.idl; reproduce:"
			echo "    $MUTATE -f $ART/$id-$at.idl -O $variant -d DIR$INCLUDES SEEDS (see $ART/seeds)"
		fi
		# bounds on the time a broken build takes (each restart costs
		# a tenth of a second, each hang the time limit)
		if [ "$enders" -ge 200 ]; then
			echo "  giving up after $enders inputs that ended the process"
			break
		fi
		if [ "$rc" -eq 3 ] && [ "$(grep -c '(a hang)$' "$sigs")" -ge 8 ]; then
			echo "  giving up after 8 hangs"
			break
		fi
		start=$((at + 1))
	done
	if [ "$enders" -gt 0 ]; then
		echo "  inputs that ended the process, by kind:"
		sort "$sigs" | uniq -c | sort -rn | sed 's/^ */    /'
	fi
	# inputs that failed a check without ending the process (a hang
	# prints a FAIL line too, counted above)
	checks=$(grep -a '^mutate: FAIL' "$log" | grep -avc 'a hang?')
	if [ "$checks" -gt 0 ]; then
		echo "  $checks inputs failed a check (kept in $ART/kept), the first ones:"
		grep -a '^mutate: FAIL' "$log" | grep -av 'a hang?' | head -n 5 |
			cut -c 1-240 | sed 's/^mutate: /    /'
	fi
	# a leak found after several inputs: find the one
	grep -a '^mutate: LEAK in' "$log" | sed 's/.*#\([0-9]*\)\.\.#\([0-9]*\).*/\1 \2/' |
	while read -r a b; do
		i=$a
		while [ "$i" -le "$b" ]; do
			"$MUTATE" -m "$mode" -s "$SEED" -i "$i" -t "$LIMIT" \
				-d "$WORK/imports" $INCLUDES -k "$ART/kept" "$@" $RUN_SEEDS \
				> "$WORK/leak.log" 2>&1
			if grep -aq 'ERROR: LeakSanitizer' "$WORK/leak.log"; then
				echo "  $mode #$i leaks: $(signature < "$WORK/leak.log"); kept in $ART/kept"
			fi
			i=$((i + 1))
		done
	done
	grep -aq '^mutate: LEAK in' "$log" && checks=$((checks + 1))
	summary=$(grep -a 'inputs (' "$log" | tail -n 1 | sed 's/^mutate: //')
	[ -n "$summary" ] && echo "  last run: $summary"
	if [ "$enders" -eq 0 ] && [ "$checks" -eq 0 ] && [ "$rc" -eq 0 ]; then
		pass "$name"
	else
		fail "$name: $enders inputs ended the process, $checks failed a check (log: $log)"
	fi
}

RUN_SEEDS=$SEEDS
run_mutate trunc "in process: seeds truncated" trunc -n "$N_TRUNC"
run_mutate stress "in process: stress cases" stress
RUN_SEEDS="$SEEDS $BAD"
run_mutate random "in process: $N_RANDOM random mutants" random -n "$N_RANDOM" -g "$n_good"

# ---- 2. the command line -------------------------------------------------

# cli_file FILE SCRATCH: runs nooksc --check and --dump -o on FILE, in the
# directory SCRATCH; prints what is wrong, if anything.
cli_file() {
	f=$1
	s=$2
	stem=$(basename "$f" .idl)
	timeout "$CLI_LIMIT" "$NOOKSC" $INCLUDES --check "$f" > "$s/stdout" 2> "$s/err"
	st=$?
	case $st in
	0|1) ;;
	124) echo "--check: no result within $CLI_LIMIT s"
	     return ;;		# --dump would hang as well
	*) echo "--check: exit status $st" ;;
	esac
	grep -aE "$SAN_PATTERN" "$s/err" | head -n 2 | cut -c 1-200 | sed 's/^/--check: /'
	rm -rf "$s/out"
	mkdir "$s/out"
	timeout "$CLI_LIMIT" "$NOOKSC" $INCLUDES --dump -o "$s/out" "$f" > "$s/stdout" 2> "$s/err"
	sd=$?
	case $sd in
	0)
		[ -s "$s/out/$stem.dump" ] || echo "--dump: exit 0 but no $stem.dump"
		;;
	1)
		if [ -n "$(ls -A "$s/out")" ]; then
			echo "--dump: exit 1 but wrote: $(ls -A "$s/out" | tr '\n' ' ')"
		fi
		;;
	124) echo "--dump: no result within $CLI_LIMIT s" ;;
	*) echo "--dump: exit status $sd" ;;
	esac
	[ -s "$s/stdout" ] && echo "--dump -o: wrote to stdout"
	grep -aE "$SAN_PATTERN" "$s/err" | head -n 2 | cut -c 1-200 | sed 's/^/--dump: /'
	if { [ "$st" -eq 0 ] || [ "$st" -eq 1 ]; } &&
	   { [ "$sd" -eq 0 ] || [ "$sd" -eq 1 ]; } && [ "$st" -ne "$sd" ]; then
		echo "--check exits $st but --dump exits $sd"
	fi
}

# cli_worker K N OUT FILES...: cli_file on files K, K+N, K+2N, ...; appends
# "FILE<tab>problem" lines to OUT.
cli_worker() {
	k=$1
	n=$2
	out=$3
	shift 3
	mkdir -p "$WORK/worker$k"
	i=0
	hangs=0
	for f in "$@"; do
		if [ $((i % n)) -eq "$k" ]; then
			cli_file "$f" "$WORK/worker$k" > "$WORK/worker$k/problems"
			awk -v f="$f" '{ print f "\t" $0 }' "$WORK/worker$k/problems" >> "$out"
			if grep -q 'no result within' "$WORK/worker$k/problems"; then
				hangs=$((hangs + 1))
				if [ "$hangs" -ge 4 ]; then
					printf '%s\t%s\n' "(the rest)" "not run: $hangs files hung already" >> "$out"
					return
				fi
			fi
		fi
		i=$((i + 1))
	done
}

# cli_test NAME FILES...: one test over many files, on two CPUs.
cli_test() {
	name=$1
	shift
	begin
	echo "  running: $name ($# files)"
	: > "$WORK/cli-0.txt"
	: > "$WORK/cli-1.txt"
	cli_worker 0 2 "$WORK/cli-0.txt" "$@" &
	cli_worker 1 2 "$WORK/cli-1.txt" "$@" &
	wait
	sort -s -t "$(printf '\t')" -k 1,1 "$WORK/cli-0.txt" "$WORK/cli-1.txt" > "$WORK/cli.txt"
	cut -f 1 "$WORK/cli.txt" | grep -vxF '(the rest)' | uniq > "$WORK/cli-bad.txt"
	bad=$(wc -l < "$WORK/cli-bad.txt")
	head -n 8 "$WORK/cli-bad.txt" | while read -r f; do
		cp "$f" "$ART/cli-$(basename "$f")"
		echo "  $(basename "$f") (kept as $ART/cli-$(basename "$f")):"
		grep -aF "$f	" "$WORK/cli.txt" | cut -f 2- | sed 's/^/    /'
	done
	[ "$bad" -gt 8 ] && echo "  ... and $((bad - 8)) more files"
	grep -aF '(the rest)	' "$WORK/cli.txt" | cut -f 2- | sed 's/^/  /'
	if [ "$bad" -eq 0 ] && ! grep -qaF '(the rest)	' "$WORK/cli.txt"; then
		pass "$name ($# files)"
	else
		fail "$name ($bad of $# files)"
	fi
}

CLI=$WORK/cli
begin
mkdir -p "$CLI"
: > "$CLI/empty.idl"
"$MUTATE" -m stress -w "$CLI" $SEEDS 2> "$WORK/w.log" &&
"$MUTATE" -m random -s "$SEED" -n "$N_CLI" -x 1000000 -g "$n_good" -w "$CLI" $SEEDS $BAD 2>> "$WORK/w.log"
if [ $? -ne 0 ]; then
	cat "$WORK/w.log"
	fail "cli: writing the mutants"
else
	cli_test "cli --check/--dump: stress cases" "$CLI"/mut-stress-*.idl
	cli_test "cli --check/--dump: random mutants (seed $SEED)" "$CLI"/mut-random-*.idl
	cli_test "cli --check/--dump: empty file and /dev/null" "$CLI/empty.idl" /dev/null
fi

# ---- 3. known crashers -----------------------------------------------------

for f in "$HERE"/crashers/*.idl; do
	[ -f "$f" ] || continue
	name="crasher $(basename "$f")"
	begin
	problems=$(timeout -s KILL "$CRASHER_LIMIT" "$MUTATE" -f "$f" -t "$LIMIT" -d "$WORK/imports" $INCLUDES $SEEDS $BAD 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "  in process: exit status $rc"
		echo "$problems" | grep -aE "$SAN_PATTERN|SUMMARY|FAIL|^    #[0-2] " | head -n 6 | cut -c 1-200 | sed 's/^/    /'
	fi
	mkdir -p "$WORK/crasher"
	cp "$f" "$WORK/crasher/$(basename "$f")"
	cli=$(cli_file "$WORK/crasher/$(basename "$f")" "$WORK/crasher")
	[ -n "$cli" ] && echo "$cli" | sed 's/^/  /'
	if [ "$rc" -eq 0 ] && [ -z "$cli" ]; then
		pass "$name"
	else
		fail "$name"
	fi
done

echo "fuzz: $passed passed, $failed failed ($(($(date +%s) - T0)) s, seed $SEED)"
echo "$passed $failed" > "$RESULT"
[ "$failed" -eq 0 ]
