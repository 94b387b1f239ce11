#!/bin/bash
# run.sh BUILD RESULTFILE - buggy extension modules against nkernel
# (issue 11: nothing a buggy isolated module does may kill, wedge or
# corrupt the kernel).
#
# Every case of the table below is one module of tests/hostile/ with one
# bug, run twice, each time in a fresh nkernel that also runs the witness
# (witness.c: a thread, a delayed work and a listener, all correct):
#
#   native    (--isolation=none, witness too): the bug does its damage
#             (crash: nkernel dies; hang: the trigger or `nkctl list` gets
#             no answer within HOSTILE_BOUND s; stall: the witness stops
#             ticking or working; corrupt: a case's own check; fine: the
#             module is correct natively, nothing goes wrong).  This
#             proves the bug is real; it always counts.
#   isolated  (mprotect, the witness too): nkernel lives; `nkctl list`
#             answers; the witness keeps serving and ticking; the module
#             is recovered or given up (state live or failed; or its load
#             or unload answered with an error) and the log has the case's
#             line; a fresh module loads, serves and unloads; once the
#             module is gone, `nkctl stats` is back to the witness's alone.
#             A few cases add checks of their own (iso_CASE, corrupt_CASE).
#
# A case listed in tests/hostile/escapes is not contained yet: its
# isolated failures are reported [XFAIL] and not counted; if all its
# isolated checks pass it is reported [XPASS] and counted as a failure
# (take it off the list).  Native checks always count.
#
# Environment: HOSTILE_ISO (mprotect) the isolated runs' backend
# (HOSTILE_ISO=process: make hostile-proc-test);
# HOSTILE_ONLY="case ..." runs only those; HOSTILE_JOBS (2)
# cases at a time; HOSTILE_BOUND (3 s) for a native hang; HOSTILE_IBOUND
# (15 s) for an isolated command to answer (nkernel's own liveness bounds
# are 10 s at most by default); HOSTILE_KEEP=1 keeps the temporary
# directory (logs, nkctl's answers).
#
# Writes "PASSED FAILED" to RESULTFILE; exits 0.
set -u
B=$1
result=$2
nk=$(realpath -m "$B/kernel/nkernel")
ctl=$(realpath -m "$B/kernel/nkctl")
mods=$(realpath -m "$B/tests/hostile")
escapes_file=tests/hostile/escapes
BOUND=${HOSTILE_BOUND:-3}
IBOUND=${HOSTILE_IBOUND:-15}
JOBS=${HOSTILE_JOBS:-2}

# ---- the cases ----------------------------------------------------------------
#
# trigger  what sets the bug off once the module is loaded: load (its
#          init or constructor), thread (a thread or work it started: the
#          suite waits for the case's log line), inject (`nkctl inject
#          NAME null`), unload
# native   crash, hang, stall, corrupt or fine (above)
# flags    victim: a second witness is loaded after the module and must
#          still tick and work after the trigger; port: the module gets
#          port=N; fault: isolated, the module must show a fault (FAULTS
#          in `nkctl list`, or a load that fails)
# options  nkernel's, for both runs
# log      what the isolated run's log must match (grep -E); NAME stands
#          for the case
cases=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' <<'TABLE'
# 1. releasing an object forgets its registrations
rel_put_running        | unload | fine    | victim     |                                | nkernel: NAME: unloaded
rel_oneshot            | unload | fine    | victim     |                                | nkernel: NAME: unloaded
rel_free_work          | unload | fine    | victim     |                                | nkernel: NAME: unloaded
rel_self_put           | unload | fine    |            |                                | nkernel: NAME: unloaded
# 2. kernel code on memory the extension may write
stack_scribble         | thread | crash   |            | --max-restarts=2               | nooks: NAME: .*giving up|NAME: scribbled
shadow_overrun         | load   | crash   |            |                                | nooks: NAME: .*(fault|refused)|NAME: overran a task
lock_overrun           | load   | crash   |            |                                | nooks: NAME: .*Segmentation fault|NAME: overran a lock handle
# 3. pointers the kernel reads from the extension's memory
ops_wake               | load   | crash   |            |                                | NAME: .*(refused|fault|returned -)
ops_work               | load   | crash   |            |                                | NAME: .*(refused|fault|returned -)
# 4. hangs through kernel calls
hang_init_msleep       | load   | hang    | fault      |                                | NAME: .*(took longer|bound)
hang_work_msleep       | thread | stall   | fault      | --max-restarts=2               | nooks: NAME: .*giving up
hang_inject_msleep     | inject | hang    | fault      |                                | nooks: NAME: fault
hang_kthread_nostop    | unload | hang    |            |                                | NAME: .*(stop|bound|longer|fault)
hang_mutex_twice       | load   | hang    | fault      |                                | NAME: .*(twice|deadlock)
hang_lock_fault        | thread | crash   | fault      | --max-restarts=2               | nooks: NAME: .*giving up
hang_lock_unload       | unload | hang    |            |                                | NAME: .*(lock|bound|longer|fault)
hang_lock_returned     | thread | corrupt | fault      | --max-restarts=2               | nooks: NAME: .*giving up
hang_refusal_storm     | load   | crash   | fault      |                                | NAME: .*storm
hang_thread_flood      | load   | fine    |            |                                | NAME: [0-9]+ threads started
# 5. exits, and module code run outside any call into it
exit_quick_init        | load   | crash   | fault      |                                | NAME: .*exit
exit_quick_kthread     | thread | crash   | fault      | --max-restarts=2               | nooks: NAME: .*giving up
exit_pthread_kthread   | thread | corrupt | fault      | --max-restarts=10 --backoff=0  | nooks: NAME: .*giving up
exit_atexit            | unload | crash   |            |                                | NAME: .*(fault|atexit)
elf_ctor               | load   | crash   | fault      |                                | NAME: .*(fault|constructor)
elf_dtor               | unload | crash   |            |                                | NAME: .*(fault|destructor)
# 6. threads the module starts itself (pthread_create)
pthread_null           | thread | crash   | fault      | --max-restarts=2               | nooks: NAME: .*giving up
pthread_double_release | thread | crash   |            |                                | nooks: NAME: refused struct socket
# 7. exhaustion
exhaust_sockets        | load   | hang    |            |                                | nooks: NAME: .*quota
exhaust_files          | load   | hang    |            |                                | nooks: NAME: .*quota
exhaust_heap           | load   | corrupt |            |                                | NAME: [0-9]+ blocks, [0-9]+ MiB allocated
# 8. recovery itself
rec_init_enomem        | load   | crash   |            |                                | nooks: NAME: init failed
rec_restart_count      | thread | crash   | fault      | --max-restarts=5 --backoff=0   | nooks: NAME: .*giving up
rec_giveup_socket      | thread | crash   | fault,port | --max-restarts=2 --backoff=0   | nooks: NAME: .*giving up
TABLE
)

# ---- helpers ----------------------------------------------------------------------

tmp=$(mktemp -d)
pidfile=$tmp/pids	# every nkernel started, for the final cleanup
: > "$pidfile"
cleanup() {
	local p
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	for p in $(cat "$pidfile"); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${HOSTILE_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

trim() { local s=$1; s=${s#"${s%%[![:space:]]*}"}; echo "${s%"${s##*[![:space:]]}"}"; }
free_port() { bash tools/free-port.sh || echo 0; }
has() { [[ ",$2," == *",$1,"* ]]; }	# has FLAG FLAGS

# Per case (each runs in its own subshell): ctlc ARGS... is nkctl on this
# run's nkernel, bounded by $limit seconds; prints the answer, returns
# nkctl's status (124 when it did not answer in time).
# A command that gets no answer leaves a mark (hung): the checks after it
# that need the control socket fail at once instead of waiting again.
ctlc() {
	timeout "${limit:-$BOUND}" "$ctl" -s "$sock" "$@" 2>&1
	local st=$?
	[ $st = 124 ] && touch "$tmp/$name.$run.hung"
	return $st
}
hung() { [ -e "$tmp/$name.$run.hung" ] && why="nkctl got no answer before"; }
alive() { kill -0 "$pid" 2>/dev/null; }
quiet() { "$@" > /dev/null; }
stat_sig() {	# the counters nothing may leak, as one word
	ctlc stats | awk '$1 ~ /^(sockets|files|tasks|threads|works|locks|fds)$/ { printf "%s=%s ", $1, $2 }'
}
state_of() { ctlc list | awk -v m="$1" '$1 == m { print $2, $5, $6 }'; }	# STATE FAULTS RESTARTS

# witness_line PORT: "TICKS WORKS" from the witness on PORT, or nothing
witness_line() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r w t k <&3 && [ "$w" = witness ] && echo "$t $k"' \
		_ "$1" 2>/dev/null
}
# witness_ok PORT: it answers, and both counts grow (retried for 5 s: a
# work of another module may hold the shared worker up to its bound, 2 s)
witness_ok() {
	local a b
	a=$(witness_line "$1")
	[ -n "$a" ] || { why="no answer on port $1"; return 1; }
	for _ in $(seq 1 12); do
		sleep 0.4
		b=$(witness_line "$1")
		[ -n "$b" ] || { why="no answer on port $1 the second time"; return 1; }
		if [ "${b% *}" -gt "${a% *}" ] && [ "${b#* }" -gt "${a#* }" ]; then
			return 0
		fi
	done
	why="ticks and works went from $a to $b"
	return 1
}

# start ISOLATION [OPTIONS...]: a fresh nkernel with the witness; sets pid,
# sock, log, wport.  A busy port is tried again with another.
start() {
	local iso=$1 try
	shift
	for try in 1 2 3; do
		run=$((run + 1))
		sock=$tmp/$name.$run.sock
		log=$tmp/$name.$run.log
		wport=$(free_port)
		# a watcher runs it and keeps its exit status (and keeps bash's
		# "Segmentation fault" notices out of the report)
		( "$nk" --control "$sock" --log "$log" "$@" --isolation="$iso" \
			"$mods/witness.so" port="$wport" > "$tmp/$name.$run.out" 2>&1 &
		  echo $! > "$tmp/$name.$run.pid"
		  wait $!
		  echo $? > "$tmp/$name.$run.status" ) 2> /dev/null &
		watcher=$!
		until [ -s "$tmp/$name.$run.pid" ]; do sleep 0.01; done
		pid=$(cat "$tmp/$name.$run.pid")
		echo "$pid" >> "$pidfile"
		for _ in $(seq 1 100); do
			if alive && timeout 2 "$ctl" -s "$sock" list > /dev/null 2>&1 &&
			   [ -n "$(witness_line "$wport")" ]; then
				return 0
			fi
			alive || break
			sleep 0.1
		done
		stop
	done
	echo "nkernel did not start: $(tail -3 "$tmp/$name.$run.out" "$log" 2>/dev/null)"
	return 1
}

stop() {
	kill -9 "$pid" 2>/dev/null
	wait "$watcher" 2>/dev/null
}
# exit_status: how the stopped nkernel ended (139: SIGSEGV...)
exit_status() {
	wait "$watcher" 2>/dev/null
	cat "$tmp/$name.$run.status" 2>/dev/null || echo "?"
}

# load_witness ISOLATION COPY: another witness, from a copy of its file
# (natively, dlopen of the same file twice would share one copy);
# sets vport, vname
load_witness() {
	local out try
	for try in 1 2 3; do
		vport=$(free_port)
		out=$(limit=$IBOUND ctlc load --isolation="$1" "$tmp/$2.so" port="$vport")
		case $out in
		*" loaded"*) vname=$(awk '/ loaded$/ { print $1 }' <<< "$out"); return 0 ;;
		*"Address already in use"* | *"init_module failed"*) alive || return 1 ;;
		*) return 1 ;;
		esac
	done
	return 1
}

# wait_log PATTERN SECONDS: until the log matches (0) or time is up (1);
# also ends, after a last look, once nkernel is dead, the module given
# up or the control socket silent: the line will not come any more
wait_log() {
	local i n=$(( $2 * 10 ))
	for i in $(seq 1 "$n"); do
		grep -Eq -- "$1" "$log" 2>/dev/null && return 0
		if ! alive || { [ $((i % 5)) = 0 ] && ! hung && [ "$(state_of "$name" | cut -d' ' -f1)" = failed ]; } ||
		   hung; then
			sleep 0.3
			grep -Eq -- "$1" "$log" 2>/dev/null
			return
		fi
		sleep 0.1
	done
	return 1
}

# ---- one case ---------------------------------------------------------------------

iso_failed=0 escape=0
. tests/lib.sh
# iso_check DESC COMMAND...: an isolated check, an expected failure for
# a listed escape; the reason shown is what COMMAND left in why, else
# $note (note="..." iso_check ...)
iso_check() {
	local desc=$1
	shift
	why=""
	if "$@"; then
		ok "$name isolated: $desc"
	else
		iso_failed=$((iso_failed + 1))
		why=${why:-${note:-}}
		if [ "$escape" = 1 ]; then
			echo "[XFAIL] $name isolated: $desc${why:+ ($why)}"
		else
			ko "$name isolated: $desc${why:+ ($why)}"
		fi
	fi
}

# trigger ISOLATION: loads the module and sets its bug off; sets
# load_st/load_out and trig_st/trig_out (124: no answer in time)
trigger() {
	local iso=$1 params=""
	has port "$flags" && { mport=$(free_port); params="port=$mport"; }
	load_out=$(ctlc load --isolation="$iso" "$mods/$name.so" $params); load_st=$?
	echo "load: $load_st $load_out" > "$tmp/$name.$run.answers"
	trig_st=$load_st trig_out=$load_out
	victim=""
	if has victim "$flags" && [ "$load_st" = 0 ]; then
		load_witness "$iso" witness2 && victim=$vname
	fi
	case $trigger in
	inject) trig_out=$(ctlc inject "$name" null); trig_st=$? ;;
	unload) trig_out=$(ctlc unload "$name"); trig_st=$? ;;
	esac
	[ "$trigger" = inject ] || [ "$trigger" = unload ] && echo "$trigger: $trig_st $trig_out" >> "$tmp/$name.$run.answers"
}

native_run() {
	local st=0 what="" base_threads
	start none $opts || { ko "$name native: nkernel starts"; return; }
	base_threads=$(ctlc stats | awk '$1 == "threads" { print $2 }')
	# the bound a hang is shown by; other cases just may take their time
	if [ "$native" = hang ]; then limit=$BOUND trigger none; else limit=$IBOUND trigger none; fi
	case $native in
	crash)
		for _ in $(seq 1 $((BOUND * 10))); do alive || break; sleep 0.1; done
		if alive; then
			ko "$name native: crash (nkernel still alive; trigger: $trig_st ${trig_out//$'\n'/ })"
		else
			ok "$name native: crash (nkernel died, status $(exit_status))"
		fi
		;;
	hang)
		if [ "$trig_st" = 124 ]; then
			what="the $trigger did not answer within ${BOUND}s"
		else
			for _ in 1 2 3; do
				alive || break
				limit=$BOUND ctlc list > /dev/null && { sleep 0.2; continue; }
				what="nkctl list got no answer (status $?)"
				break
			done
		fi
		if [ -n "$what" ] && alive; then
			ok "$name native: hang ($what)"
		else
			ko "$name native: hang (trigger: $trig_st ${trig_out//$'\n'/ }; alive: $(alive && echo yes || echo no))"
		fi
		;;
	stall)
		sleep 0.5
		if alive && ! witness_ok "$wport"; then
			ok "$name native: stall (the witness stopped: $why)"
		else
			ko "$name native: stall (the witness went on, or nkernel died)"
		fi
		;;
	corrupt)
		sleep 0.3
		if alive && "corrupt_$name"; then
			ok "$name native: corrupt ($what)"
		else
			ko "$name native: corrupt (no damage seen; alive: $(alive && echo yes || echo no))"
		fi
		;;
	fine)
		sleep 0.3
		what=""
		alive || what="nkernel died"
		[ -z "$what" ] && ! ctlc list > /dev/null && what="nkctl list does not answer"
		[ -z "$what" ] && [ "$trig_st" != 0 ] && what="the $trigger failed: ${trig_out//$'\n'/ }"
		[ -z "$what" ] && ! witness_ok "$wport" && what="the witness stopped: $why"
		if [ -z "$what" ] && has victim "$flags"; then
			[ -n "$victim" ] || what="the second witness did not load"
			[ -z "$what" ] && ! witness_ok "$vport" && what="the second witness stopped: $why"
		fi
		if [ -z "$what" ]; then
			ok "$name native: fine (nothing goes wrong natively)"
		else
			ko "$name native: fine ($what)"
		fi
		;;
	esac
	stop
}

# the native damage of the corrupt cases: 0 when seen (sets what)
corrupt_exit_pthread_kthread() {
	ctlc unload "$name" > /dev/null || { what="unload failed"; return 1; }
	local t
	for _ in 1 2 3 4 5; do
		t=$(ctlc stats | awk '$1 == "threads" { print $2 }')
		[ "${t:-0}" -gt "$base_threads" ] || return 1
		sleep 0.2
	done
	what="after unload the kernel counts $t threads running, the witness alone $base_threads"
}
corrupt_hang_lock_returned() {
	sleep 0.5
	grep -q 'hang_lock_returned: waiting for the lock' "$log" || return 1
	! grep -q 'hang_lock_returned: got the lock' "$log" || return 1
	what="its waiter never gets the lock its ended sibling held"
}

corrupt_exhaust_heap() {
	local out
	out=$(ctlc load --isolation=none "$tmp/witness3.so" port="$(free_port)")
	case $out in
	*" loaded"*) return 1 ;;
	esac
	what="no other module can be loaded: ${out//$'\n'/ }"
}

iso_run() {
	local base pat listed
	start ${HOSTILE_ISO:-mprotect} $opts || { iso_check "nkernel starts" false; return; }
	base=$(stat_sig)
	limit=$IBOUND trigger ${HOSTILE_ISO:-mprotect}
	pat=${logre//NAME/$name}
	if [ "$trigger" = thread ]; then
		wait_log "$pat" "$IBOUND"
	else
		wait_log "$pat" 2
	fi

	if ! alive; then
		note="it died, status $(exit_status); $(grep -E '^<[0-4]>' "$log" | tail -2 | tr '\n' ' ')" \
			iso_check "nkernel lives" false
		iso_check "the rest (nkernel is dead)" false
		return
	fi
	iso_check "nkernel lives" alive
	if quiet ctlc list; then listed=1; else listed=0; fi
	note="the $trigger's status: $trig_st" iso_check "nkctl list answers" test $listed = 1
	if [ $listed = 0 ]; then
		iso_check "the rest (the control socket is dead)" false
		stop
		return
	fi
	iso_check "the module is recovered or given up" module_settled
	iso_check "the log says what happened (/$pat/)" grep -Eq -- "$pat" "$log"
	iso_check "the witness keeps serving and ticking" witness_ok "$wport"
	if has victim "$flags"; then
		note="it did not load" iso_check "the witness loaded after it still ticks and works" \
			eval '[ -n "$victim" ] && witness_ok "$vport"'
	fi
	if declare -F "iso_$name" > /dev/null; then "iso_$name"; fi
	iso_check "a fresh module loads, serves and unloads" fresh_module
	iso_check "the module unloads" unload_all
	iso_check "stats back to the witness's alone" stats_back "$base"
	stop
}

# live or failed in the list (not stuck recovering); or gone when its load
# failed or it was unloaded, the command having answered
module_settled() {
	local s
	if [ "$trigger" = unload ]; then
		case $trig_st in 0 | 1) ;; *) why="unload: $trig_st ${trig_out//$'\n'/ }"; return 1 ;; esac
		s=$(state_of "$name")
		[ -z "$s" ] || { why="still listed: $s"; return 1; }
		return 0
	fi
	case $load_st in
	0) ;;
	1) [ -z "$(state_of "$name")" ] && return 0; why="its load failed, yet it is listed"; return 1 ;;
	*) why="load: $load_st ${load_out//$'\n'/ }"; return 1 ;;
	esac
	if [ "$trigger" = inject ] && [ "$trig_st" != 0 ]; then
		why="inject: $trig_st ${trig_out//$'\n'/ }"
		return 1
	fi
	for _ in $(seq 1 25); do
		hung && return 1
		s=$(state_of "$name")
		case $s in
		live* | failed*)
			if has fault "$flags" && [ "$(awk '{ print $2 }' <<< "$s")" = 0 ]; then
				why="no fault counted: $s"
			else
				return 0
			fi
			;;
		"") why="gone from the list"; return 1 ;;
		*) why="state $s" ;;
		esac
		sleep 0.2
	done
	return 1
}

fresh_module() {
	local out st=0
	hung && return 1
	load_witness ${HOSTILE_ISO:-mprotect} witness3 || { why="load failed"; return 1; }
	witness_ok "$vport" || st=1
	out=$(limit=$IBOUND ctlc unload "$vname") || { why="unload: ${out//$'\n'/ }"; return 1; }
	return $st
}

unload_all() {
	local out
	hung && return 1
	if [ -n "$victim" ]; then
		out=$(limit=$IBOUND ctlc unload "$victim") || { why="unload $victim: $out"; return 1; }
	fi
	[ -n "$(state_of "$name")" ] || return 0
	out=$(limit=$IBOUND ctlc unload "$name") || { why="${out//$'\n'/ }"; return 1; }
}

stats_back() {
	local now
	for _ in $(seq 1 25); do
		hung && return 1
		now=$(stat_sig)
		[ "$now" = "$1" ] && return 0
		sleep 0.2
	done
	why="witness alone: $1; now: $now"
	return 1
}

# the isolated checks of a case's own
iso_rec_restart_count() {
	local s n
	for _ in $(seq 1 $((IBOUND * 5))); do
		hung && break
		s=$(state_of "$name")
		[ "${s%% *}" = failed ] && break
		sleep 0.2
	done
	# --max-restarts=5: the 5th fault gives it up
	n=$(grep -c "nooks: $name: fault: " "$log")
	note="state, faults, restarts: $s; $n faults in the log" \
		iso_check "given up at the 5th fault, after 4 restarts" \
		test "${s%% *} ${s##* } $n" = "failed 4 5"
	note="state, faults, restarts: $s" \
		iso_check "nkctl list counts its 5 faults" test "$(awk '{ print $2 }' <<< "$s")" = 5
}
iso_exit_pthread_kthread() {
	# contained by luck is not contained: the unwinder of pthread_exit
	# crashing through the crossing also shows up as a fault
	iso_check "the log names the exit as the fault" \
		grep -Eq "$name: .*(pthread_exit|fault: called exit)" "$log"
}
iso_rec_giveup_socket() {
	local s st
	for _ in $(seq 1 $((IBOUND * 5))); do
		hung && break
		s=$(state_of "$name")
		[ "${s%% *}" = failed ] && break
		sleep 0.2
	done
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$mport" 2>/dev/null; st=$?
	note="state $s; a client's connect $([ $st = 0 ] && echo succeeded || echo timed out)" \
		iso_check "after giving up its port refuses connections" test "$st" = 1
}

run_case() {
	name=$1 trigger=$2 native=$3 flags=$4 opts=$5 logre=$6 run=0
	awk -v n="$name" '$1 == n { f = 1 } END { exit !f }' "$escapes_file" 2>/dev/null && escape=1
	native_run
	iso_run
	if [ "$escape" = 1 ] && [ "$iso_failed" = 0 ]; then
		echo "[XPASS] $name isolated: every check passed: take it off $escapes_file"
		failed=$((failed + 1))
	fi
	echo "$passed $failed" > "$tmp/$name.res"
}

# ---- the run ----------------------------------------------------------------------

for f in "$nk" "$ctl" "$mods/witness.so"; do
	[ -e "$f" ] || { echo "run.sh: $f is missing (make hostile-test builds it)"; echo "0 1" > "$result"; exit 0; }
done
cp "$mods/witness.so" "$tmp/witness2.so"
cp "$mods/witness.so" "$tmp/witness3.so"
t0=$SECONDS
tp=0 tf=0 i=0 total=0
declare -A started
# report: prints the cases whose job has ended, and adds up their counts
report() {
	local n p fl
	for n in "${!started[@]}"; do
		[ -e "$tmp/$n.done" ] || continue
		i=$((i + 1))
		echo "-- $n ($i/$total, $((SECONDS - ${started[$n]}))s)"
		cat "$tmp/$n.txt"
		if [ -s "$tmp/$n.res" ]; then
			read -r p fl < "$tmp/$n.res"
		else
			echo "[FAIL] $n: the case's script ended early"
			p=0 fl=1
		fi
		tp=$((tp + p))
		tf=$((tf + fl))
		unset "started[$n]"
	done
}
if [ -n "${HOSTILE_ONLY:-}" ]; then
	cases=$(awk -v only=" $HOSTILE_ONLY " 'index(only, " " $1 " ")' <<< "$cases")
fi
total=$(grep -c . <<< "$cases")
while IFS='|' read -r c_name c_trigger c_native c_flags c_opts c_log; do
	c_name=$(trim "$c_name")
	[ -n "$c_name" ] || continue
	if [ ! -e "$mods/$c_name.so" ]; then
		echo "[FAIL] $c_name: $mods/$c_name.so is missing"
		tf=$((tf + 1))
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n 2>/dev/null
		report
	done
	started[$c_name]=$SECONDS
	( run_case "$c_name" "$(trim "$c_trigger")" "$(trim "$c_native")" "$(trim "$c_flags")" \
		"$(trim "$c_opts")" "$(trim "$c_log")" > "$tmp/$c_name.txt" 2>&1 < /dev/null
	  touch "$tmp/$c_name.done" ) &
done <<< "$cases"
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
	wait -n 2>/dev/null
	report
done
report
echo "hostile: $tp passed, $tf failed in $((SECONDS - t0))s"
echo "$tp $tf" > "$result"
exit 0
