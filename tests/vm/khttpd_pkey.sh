#!/bin/sh
# khttpd_pkey.sh BUILD WWW OUTFILE - run INSIDE a guest with protection keys
# (tests/vm/run.sh packs it): nkernel with khttpd isolated on the pkey
# backend serves curl, survives an injected wild write into a kernel
# object (stopped by the key: SEGV_PKUERR, the object intact) and a NULL
# dereference, and serves again, with requests running meanwhile.  Then a
# module whose own pthread (started from its code, so it inherits the
# module's PKRU) makes kernel calls that write kernel objects
# (BUILD/tests/hostile/pthread_double_release.so): the kernel writes them
# unhindered and refuses the thread's double release; and a module whose
# SIGEV_THREAD timer callback (a thread libc starts) calls the kernel.
# Prints [PASS]/[FAIL] lines; writes "PASSED FAILED" to OUTFILE.
set -u
B=$1
www=$2
result=$3
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
sock=/tmp/nk.sock
log=/tmp/nk.log
port=8080
passed=0
failed=0
ok() { echo "[PASS] $1"; passed=$((passed + 1)); }
ko() { echo "[FAIL] $1"; failed=$((failed + 1)); }
check() {
	name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
finish() {
	echo "$passed $failed" > "$result"
	exit 0
}
get() { curl -s -m 20 -o /tmp/body -w '%{http_code}' "http://127.0.0.1:$port$1"; }

"$nk" --control "$sock" --log "$log" --isolation=pkey "$B/examples/khttpd.so" \
	root="$www" port=$port threads=4 > /tmp/nk.out 2>&1 &
pid=$!
i=0
while [ $i -lt 400 ] && ! "$ctl" -s "$sock" list > /dev/null 2>&1; do
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
if ! "$ctl" -s "$sock" list > /tmp/list 2>&1; then
	ko "nkernel starts with khttpd on pkey"
	cat /tmp/nk.out "$log"
	finish
fi
check "khttpd runs on the pkey backend itself (no fallback)" \
	awk '$1 == "khttpd" { found = ($3 == "pkey") } END { exit !found }' /tmp/list
check "no fallback line in the kernel log" sh -c "! grep -q 'using the mprotect backend' $log /tmp/nk.out"
check "curl: 200 and the file's bytes" sh -c "[ \"\$(curl -s -m 20 -o /tmp/body -w '%{http_code}' http://127.0.0.1:$port/index.html)\" = 200 ] && cmp -s /tmp/body $www/index.html"

# requests all along the faults: each must end in a full answer or a
# refused connection, never a wrong body
(n=0; bad=0
 while [ ! -e /tmp/stop ]; do
	code=$(get /index.html)
	if [ "$code" = 200 ] && ! cmp -s /tmp/body "$www/index.html"; then bad=$((bad + 1)); fi
	n=$((n + 1))
 done
 echo "$n $bad" > /tmp/load) &
load=$!

"$ctl" -s "$sock" inject khttpd wild > /tmp/wild 2>&1
st=$?
cat /tmp/wild
check "inject wild: contained (nkctl exit 0)" [ $st -eq 0 ]
check "the wild write was stopped by the protection key (SEGV_PKUERR)" \
	grep -q 'contained: Segmentation fault at .*(protection key)' /tmp/wild
check "the kernel object it wrote is intact" grep -q 'intact' /tmp/wild
check "khttpd recovered" grep -q 'recovered in' /tmp/wild
"$ctl" -s "$sock" inject khttpd null > /tmp/null 2>&1
st=$?
cat /tmp/null
check "inject null: contained and recovered" sh -c "[ $st -eq 0 ] && grep -q 'recovered in' /tmp/null"
touch /tmp/stop
wait $load
read -r n bad < /tmp/load
check "requests during the faults: $n made, none with a wrong body" [ "$bad" -eq 0 ]
check "serves again after the faults" sh -c "[ \"\$(curl -s -m 20 -o /tmp/body -w '%{http_code}' http://127.0.0.1:$port/index.html)\" = 200 ] && cmp -s /tmp/body $www/index.html"
"$ctl" -s "$sock" list > /tmp/list 2>&1
check "nkctl list: live on pkey, 2 faults, 2 restarts" \
	awk '$1 == "khttpd" { found = ($2 == "live" && $3 == "pkey" && $5 == 2 && $6 == 2) } END { exit !found }' /tmp/list
# a thread the module starts itself: its kernel calls run with the
# kernel's PKRU (sock_create_kern writes arena objects), its bug is refused
out=$("$ctl" -s "$sock" load --isolation=pkey "$B/tests/hostile/pthread_double_release.so" 2>&1)
echo "$out"
i=0
while [ $i -lt 100 ] && ! grep -q 'refused struct socket' "$log"; do sleep 0.05; i=$((i + 1)); done
check "a module's own pthread: its kernel calls write kernel objects, its double release is refused" \
	grep -q 'pthread_double_release: refused struct socket' "$log"
check "the kernel lives after the module's thread ran" "$ctl" -s "$sock" list
check "the module unloads, its kept socket released" "$ctl" -s "$sock" unload pthread_double_release
# a thread libc starts for the module (SIGEV_THREAD) calls the kernel:
# kernel code runs with the arena's key enabled whatever PKRU the thread
# inherited from the module's code
"$ctl" -s "$sock" load --isolation=pkey "$B/tests/vm/timer_thread.so"
i=0
while [ $i -lt 100 ] && ! grep -q 'timer_thread: the kernel made' "$log"; do
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
	i=$((i + 1))
done
check "a libc thread of the module calls the kernel, which writes its object" \
	grep -q 'timer_thread: the kernel made a socket' "$log"
check "the kernel lives after it" "$ctl" -s "$sock" unload timer_thread
"$ctl" -s "$sock" shutdown > /dev/null 2>&1
st=$?
wait $pid
nst=$?
check "clean shutdown (nkctl $st, nkernel $nst)" [ $((st + nst)) -eq 0 ]
if [ $failed -ne 0 ]; then
	cat /tmp/list
	tail -n 30 "$log"
fi
finish
