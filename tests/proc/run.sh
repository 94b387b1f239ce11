#!/bin/bash
# run.sh BUILD RESULTFILE - malicious modules against nkernel on the
# process backend (issue 12), each beside tests/hostile's witness.
#
# tests/proc/evil.so does, in its init_module, what act=NAME says to the
# process it runs in (libc alone).  Each case runs in a fresh nkernel
# started with the witness, evil then loaded with `nkctl load`:
#   native   (--isolation=none) where it is safe to: the damage is real
#            (nkernel dies or stops answering, or its working directory or
#            descriptor limit changed);
#   process  (--isolation=process, the witness on mprotect): nkernel
#            lives and answers, the witness keeps serving and ticking,
#            nkernel's working directory, descriptor limit and SIGTERM
#            handling are as they were, and evil is not running (its init
#            fault reported by the load, not retried) or, for the memory
#            case, live (bounded by its address-space limit).
# Also: kill -9 of a domain process from outside, recovered.
# Writes "PASSED FAILED" to RESULTFILE.
set -u
B=$1
result=$2
nk=$(realpath -m "$B/kernel/nkernel")
ctl=$(realpath -m "$B/kernel/nkctl")
evil=$(realpath -m "$B/tests/proc/evil.so")
witness=$(realpath -m "$B/tests/hostile/witness.so")
khttpd=$(realpath -m "$B/examples/khttpd.so")
tmp=$(mktemp -d)
pids=""
passed=0
failed=0
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "[PASS] $1"; passed=$((passed + 1)); }
ko() { echo "[FAIL] $1"; failed=$((failed + 1)); }
check() { local name=$1; shift; if "$@" > /dev/null 2>&1; then ok "$name"; else ko "$name"; fi; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

witness_line() {
	timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && read -r w t k <&3 && [ "$w" = witness ] && echo "$t $k"' \
		_ "$1" 2>/dev/null
}

# witness_ok PORT: it answers and both counts grow (retried for 5 s)
witness_ok() {
	local a b
	a=$(witness_line "$1")
	[ -n "$a" ] || return 1
	for _ in $(seq 1 25); do
		sleep 0.2
		b=$(witness_line "$1")
		[ -n "$b" ] || return 1
		set -- "$1" $a $b
		[ "$4" -gt "$2" ] && [ "$5" -gt "$3" ] && return 0
		a=$b
	done
	return 1
}

# start NAME ISO ACT: nkernel with the witness, then `nkctl load` of evil
# act=ACT (on ISO), in the background; returns once evil's init_module
# has begun (or nkernel ended).  An init that faults is not retried: the
# load fails, on every backend.  init_ms: nkernel's --timeout (1000).
start() {
	local name=$1 iso=$2 act=$3 wiso=mprotect
	[ "$iso" = none ] && wiso=none
	sock=$tmp/$name.sock
	log=$tmp/$name.log
	wport=$(free_port)
	(cd "$tmp" && exec "$nk" --control "$sock" --log "$log" --max-restarts 2 --window 60000 \
		--backoff 0 --timeout "${init_ms:-1000}" --isolation="$wiso" "$witness" port="$wport") \
		> "$tmp/$name.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	for _ in $(seq 1 100); do
		[ -n "$(witness_line "$wport")" ] && break
		sleep 0.1
	done
	timeout 30 "$ctl" -s "$sock" load --isolation="$iso" "$evil" act="$act" \
		> "$tmp/$name.load" 2>&1 &
	for _ in $(seq 1 100); do
		grep -q "evil: $act" "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

nofile() { awk '/Max open files/ { print $4 }' "/proc/$1/limits" 2>/dev/null; }

# stop: SIGTERM, which ends nkernel within 10 s; 0 if it did
stop() {
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 1
}

# ---- natively, the damage is real ---------------------------------------------

echo "-- natively (the same module, the same calls)"
native() {	# ACT EXPECT: dies | deaf | cwd | rlimit
	local act=$1 expect=$2 died=0
	start "native-$act" none "$act"
	sleep 0.5
	kill -0 "$pid" 2>/dev/null || died=1
	check "native $act: evil's init_module ran" grep -q "evil: $act" "$log"
	case $expect in
	dies) check "native $act: nkernel is gone" test $died -eq 1 ;;
	deaf) if witness_ok "$wport"; then ko "native $act: the witness no longer answers"
	      else ok "native $act: the witness no longer answers (its socket closed)"; fi ;;
	cwd) check "native $act: nkernel's working directory changed" \
		test "$(readlink "/proc/$pid/cwd")" = / ;;
	rlimit) check "native $act: nkernel may open no descriptor" test "$(nofile "$pid")" = 0 ;;
	esac
	stop > /dev/null 2>&1 || true
}
native kill dies
native exit_group dies
native execve dies
native wild dies
native close deaf
native chdir cwd
native rlimit rlimit

# ---- on the process backend, nothing reaches the kernel or the witness --------

echo "-- process: each contained, the kernel and the witness unaffected"
contained() {	# ACT
	local act=$1 cwd lim st init_ms=1000
	# touching its gigabyte takes 1-3 s on a busy machine: not a hang
	[ "$act" = memory ] && init_ms=60000
	if ! start "proc-$act" process "$act"; then
		ko "process $act: nkernel starts with the witness"
		cat "$tmp/proc-$act.out" | tail -5
		return
	fi
	cwd=$(readlink "/proc/$pid/cwd")
	lim=$(nofile "$pid")
	# until the load answered, and a recovery (under the policy: 2
	# restarts) is over
	wait $! 2>/dev/null
	for _ in $(seq 1 300); do
		st=$(timeout 5 "$ctl" -s "$sock" list | awk '$1 == "evil" { print $2 }')
		case $st in recovering|loading) sleep 0.1 ;; *) break ;; esac
	done
	check "process $act: nkernel lives" kill -0 "$pid"
	check "process $act: nkctl answers" timeout 5 "$ctl" -s "$sock" list
	check "process $act: the witness serves and ticks" witness_ok "$wport"
	st=$(timeout 5 "$ctl" -s "$sock" list | awk '$1 == "evil" { print $2, $5 }')
	if [ "$act" = memory ]; then	# bounded (RLIMIT_AS): init returns
		check "process $act: evil is live, its address space bounded ($st)" \
			sh -c "case '$st' in live*|failed*) exit 0;; *) exit 1;; esac"
	else
		# its init faulted: not loaded (the load's answer says why), or
		# failed, or live with its faults counted
		check "process $act: evil's init fault is reported, evil not running (${st:-not loaded})" \
			sh -c "case '$st' in failed*) exit 0;; live\ 0) exit 1;; live*) exit 0;;
				'') grep -q 'init_module faulted' '$tmp/proc-$act.load';; *) exit 1;; esac"
		check "process $act: the log names the fault" \
			grep -qE 'evil: .*(fault|died|timed out|exited)' "$log"
	fi
	check "process $act: nkernel's working directory and descriptor limit as they were" \
		sh -c "test '$(readlink "/proc/$pid/cwd")' = '$cwd' && test '$(nofile "$pid")' = '$lim'"
	stop
	check "process $act: SIGTERM still stops nkernel" test $? -eq 0
}
for a in kill killparent exit_group execve fork wild close sigaction blockloop chdir rlimit memory; do
	contained "$a"
done

# ---- threads of its own, each blocked in a kernel call, at its unload ---------

echo "-- process: evil's own threads, as many as it may start, sleeping in the kernel"
if start proc-threads process threads; then
	wait $! 2>/dev/null
	for _ in $(seq 1 100); do grep -q "threads started" "$log" && break; sleep 0.1; done
	n=$(sed -n 's/.*evil: \([0-9]*\) threads started.*/\1/p' "$log" | tail -1)
	check "process threads: bounded by its thread limit (${n:-?} started)" \
		sh -c "[ '${n:-0}' -gt 0 ] && [ '${n:-0}' -lt 200 ]"
	check "process threads: the witness serves and ticks" witness_ok "$wport"
	check "process threads: it unloads though every thread sleeps in a kernel call" \
		timeout 20 "$ctl" -s "$sock" unload evil
	check "process threads: nkernel lives and the witness still ticks" witness_ok "$wport"
	stop
	check "process threads: SIGTERM still stops nkernel" test $? -eq 0
else
	ko "process threads: nkernel starts with the witness"
fi

# ---- kill -9 of a domain process from outside, under requests -----------------

echo "-- process: kill -9 of khttpd's domain process from outside"
port=$(free_port)
www=$tmp/www
mkdir -p "$www"
echo hello > "$www/index.html"
sock=$tmp/k9.sock
log=$tmp/k9.log
"$nk" --control "$sock" --log "$log" --backoff 0 --isolation=process "$khttpd" \
	root="$www" port="$port" > "$tmp/k9.out" 2>&1 &
pid=$!
pids="$pids $pid"
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
dpids() { pgrep -P "$(pgrep -P "$pid" | head -1)" 2>/dev/null; }
# the domain process, then its standby (the next one, loaded ahead)
for _ in $(seq 1 50); do [ "$(dpids | wc -l)" -ge 2 ] && break; sleep 0.1; done
victim=$(pgrep -o -P "$(pgrep -P "$pid" | head -1)")
standby=$(dpids | grep -vx "$victim" | head -1)
check "khttpd's domain process is a process of its own" test -n "$victim"
check "a standby process is ready beside it" test -n "$standby"
kill -9 "$victim" 2>/dev/null
ok9=0
for _ in $(seq 1 50); do
	[ "$(curl -s "http://127.0.0.1:$port/")" = hello ] && [ "$(dpids | head -1)" != "$victim" ] && { ok9=1; break; }
	sleep 0.1
done
check "khttpd serves again from a new domain process" test $ok9 -eq 1
check "... the standby, now the domain process: no fork on the way back" \
	test "$(pgrep -o -P "$(pgrep -P "$pid" | head -1)")" = "$standby"
check "... and a new standby is made" sh -c "for i in \$(seq 1 50); do [ \$(pgrep -P \$(pgrep -P $pid | head -1) | wc -l) -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
# the standby killed from outside: the next restart forks a fresh one
sb=$(pgrep -n -P "$(pgrep -P "$pid" | head -1)")
active=$(pgrep -o -P "$(pgrep -P "$pid" | head -1)")
kill -9 "$sb" 2>/dev/null
sleep 0.2
kill -9 "$active" 2>/dev/null
ok9=0
for _ in $(seq 1 50); do
	[ "$(curl -s "http://127.0.0.1:$port/")" = hello ] && ! kill -0 "$active" 2>/dev/null && { ok9=1; break; }
	sleep 0.1
done
check "its standby killed too: khttpd serves again from a fresh process" test $ok9 -eq 1
check "the log has the death and the recovery" \
	sh -c "grep -q 'its process died: Killed' '$log' && grep -q 'khttpd: recovered in' '$log'"
check "nkernel stops cleanly" stop

echo "proc-nkernel: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
