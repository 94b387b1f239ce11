#!/bin/bash
# run.sh BUILD RESULTFILE - netdrv end to end: nkernel's emulated card and
# the driver, natively and isolated, carrying real traffic between two
# network namespaces this script makes (names unique to the run, removed
# on every exit path).
#
#   host namespace H: nkernel --nic WIRE, the driver's eth0 (10.77.0.1)
#   peer namespace P: the card's wire WIRE (10.77.0.2), moved there
#
#   1. nkernel's --nic errors
#   2. natively and isolated: ping, a byte-exact TCP bulk transfer both
#      ways, MTU and MAC address set through the driver, clean unload
#   3. isolated: every fault class injected under a bulk transfer, which
#      completes byte-exact; the MTU and MAC address are back after each
#      recovery (replay); ping works after
#   4. natively, an injected fault kills nkernel (it is real)
#   5. netdrv_buggy.so's write after free: contained isolated, fatal native
#   6. NETDRV_RESTARTS (default 1000) restarts under ping: nothing leaks
#      (buffers, devices, tracked objects, descriptors, mappings)
#
# Writes "PASSED FAILED" to RESULTFILE.
set -u
B=$1
result=$2
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
bulk=$B/tests/netdrv/bulk
drv=$B/examples/netdrv.so
buggy=$B/examples/netdrv_buggy.so
restarts=${NETDRV_RESTARTS:-1000}
# the isolated runs' backend (mprotect; NETDRV_ISO=process: the process backend)
iso_b=${NETDRV_ISO:-mprotect}
# one malloc arena: glibc makes arenas (mappings) as threads contend, up to
# its limit, late in a long restart loop; the leak check would count them
export MALLOC_ARENA_MAX=1

tmp=$(mktemp -d)
run=nd$$
nets=""
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	for n in $nets; do ip netns del "$n" 2>/dev/null; done
	if [ -n "${NETDRV_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. tests/lib.sh

n=0
# start ISOLATION MODULE [NKERNEL-ARGS...] [-- MODULE-ARGS...]: two fresh
# namespaces H and P, nkernel in H with a card whose wire goes to P, the
# module loaded; sets H, P, pid, sock, log.  Fails if the driver's
# device cannot reach the peer within 10 s.
start() {
	local iso=$1 mod=$2 margs=()
	shift 2
	local nargs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do nargs+=("$1"); shift; done
	[ $# -gt 0 ] && shift && margs=("$@")
	n=$((n + 1))
	H=${run}h$n
	P=${run}p$n
	local wire=${run}w$n
	nets="$nets $H $P"
	ip netns add "$H" && ip netns add "$P" || return 1
	ip -n "$H" link set lo up
	ip -n "$P" link set lo up
	sock=$tmp/$n.sock
	log=$tmp/$n.log
	ip netns exec "$H" "$nk" --control "$sock" --log "$log" --nic "$wire" "${nargs[@]}" \
		--isolation="$iso" "$mod" "${margs[@]}" > "$tmp/$n.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	for _ in $(seq 1 100); do
		ip -n "$H" link show eth0 > /dev/null 2>&1 && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	ip -n "$H" link set "$wire" netns "$P" &&
		ip -n "$P" addr add 10.77.0.2/24 dev "$wire" &&
		ip -n "$P" link set "$wire" up &&
		ip -n "$H" addr add 10.77.0.1/24 dev eth0 || { cat "$tmp/$n.out" "$log"; return 1; }
	for _ in $(seq 1 50); do
		ip netns exec "$H" ping -c 1 -W 1 10.77.0.2 > /dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	echo "no traffic through the driver:"
	cat "$tmp/$n.out" "$log" 2>/dev/null | tail -20
	return 1
}

nkc() { "$ctl" -s "$sock" "$@"; }
quiet() { "$@" > /dev/null; }

# stop: shut nkernel down; its exit status
stop() {
	nkc shutdown > /dev/null 2>&1
	local st=0
	wait "$pid" || st=$?
	return $st
}

stat_of() { nkc stats | awk -v k="$1" '$1 == k { print $2 }'; }

# pings COUNT [ARGS]: COUNT pings from H to P all answered
pings() {
	local c=$1
	shift
	ip netns exec "$H" ping -q -c "$c" -W 2 "$@" 10.77.0.2 > "$tmp/ping" 2>&1 &&
		grep -q " 0% packet loss" "$tmp/ping"
}

# transfer FROM TO ADDR BYTES SEED: a byte-exact TCP transfer
transfer() {
	local from=$1 to=$2 addr=$3 bytes=$4 seed=$5 port=$((5000 + RANDOM % 1000))
	ip netns exec "$to" "$bulk" recv "$port" "$bytes" "$seed" > "$tmp/recv" 2>&1 &
	local r=$!
	sleep 0.2
	ip netns exec "$from" timeout 120 "$bulk" send "$addr" "$port" "$bytes" "$seed" \
		> "$tmp/send" 2>&1
	local s=$?
	wait "$r"
	local st=$?
	[ $s -eq 0 ] && [ $st -eq 0 ] && grep -q "^ok $bytes bytes" "$tmp/recv" ||
		{ cat "$tmp/send" "$tmp/recv"; return 1; }
}

# config_is MTU MAC: the device, the card and the host's side agree (the
# host's side follows a replayed change within 50 ms: a second here)
config_is() {
	local mtu=$1 mac=$2 net
	for _ in $(seq 1 20); do
		config_is_now "$mtu" "$mac" > /dev/null && return 0
		sleep 0.05
	done
	config_is_now "$mtu" "$mac"
}
config_is_now() {
	local mtu=$1 mac=$2 net
	net=$(nkc net)
	grep -q "^dev eth0 open carrier on .* mtu $mtu mac $mac " <<< "$net" &&
		grep -q "^nic 0 .* mac $mac maxframe $((mtu + 14)) " <<< "$net" &&
		ip -n "$H" link show eth0 | grep -q "mtu $mtu .*" &&
		ip -n "$H" link show eth0 | grep -q "link/ether $mac " ||
		{ echo "$net"; ip -n "$H" link show eth0; return 1; }
}

# ---- 1. nkernel's --nic errors -------------------------------------------------

out=$("$nk" --control "$tmp/e.sock" --nic abcdefghijklmnopq "$drv" 2>&1)
st=$?
if [ $st -eq 1 ] && grep -q -- "--nic abcdefghijklmnopq: bad TAP device name" <<< "$out"; then
	ok "--nic with a name too long: exit 1, one line"
else
	ko "--nic with a name too long (status $st: $out)"
fi
out=$("$nk" --control "$tmp/e.sock" --nic 2>&1)
st=$?
if [ $st -eq 2 ] && grep -q -- "--nic needs a value" <<< "$out"; then
	ok "--nic without a value: exit 2"
else
	ko "--nic without a value (status $st: $out)"
fi

# ---- 2. natively and isolated ------------------------------------------------------

for iso in none "$iso_b"; do
	echo "== $iso =="
	if ! start "$iso" "$drv"; then
		ko "$iso: nkernel with netdrv started"
		continue
	fi
	check "$iso: 20 pings through the driver" pings 20 -i 0.05
	check "$iso: 64 MB host to peer, byte-exact" transfer "$H" "$P" 10.77.0.2 67108864 11
	check "$iso: 64 MB peer to host, byte-exact" transfer "$P" "$H" 10.77.0.1 67108864 12
	grep -h "MB/s" "$tmp/recv"
	check "$iso: large pings (1472 bytes of data)" pings 5 -i 0.05 -s 1472 -M do
	check "$iso: nkctl net mtu 1400" quiet nkc net mtu eth0 1400
	check "$iso: nkctl net mac" quiet nkc net mac eth0 02:77:00:00:00:07
	check "$iso: MTU and MAC in the device, the card and the host" \
		config_is 1400 02:77:00:00:00:07
	check "$iso: pings of 1372 bytes pass at MTU 1400" pings 3 -i 0.05 -s 1372 -M do
	check "$iso: pings of 1373 bytes do not (DF)" eval '! pings 1 -s 1373 -M do'
	check "$iso: a bad MTU is refused" eval '! nkc net mtu eth0 20 > /dev/null 2>&1'
	check "$iso: a multicast MAC is refused by the driver" \
		eval 'nkc net mac eth0 03:00:00:00:00:01 2>&1 | grep -q "ndo_set_mac_address: Invalid argument"'
	check "$iso: 16 MB after the change, byte-exact" transfer "$H" "$P" 10.77.0.2 16777216 13
	check "$iso: unload" nkc unload netdrv
	check "$iso: nothing left: no buffer, no device" \
		eval '[ "$(stat_of skbs)" = 0 ] && [ "$(stat_of netdevs)" = 0 ] && [ "$(stat_of tracked)" = 0 ]'
	check "$iso: carrier off on the host's side" eval 'ip -n "$H" link show eth0 | grep -q NO-CARRIER'
	check "$iso: load it again" quiet nkc load --isolation="$iso" "$drv"
	check "$iso: a new copy's device: MTU 1500 and the card's own address again" \
		config_is 1500 02:00:6e:6b:00:01
	check "$iso: traffic again" pings 5 -i 0.05
	check "$iso: clean shutdown (exit 0, nothing left behind)" \
		eval 'stop && ! grep -q "left behind" "$log"'
done

# ---- 3. isolated: faults under traffic ----------------------------------------------

echo "== faults under traffic ($iso_b) =="
if start "$iso_b" "$drv" --timeout 300 --max-restarts 64 --window 1 --backoff 0; then
	nkc net mtu eth0 1400 > /dev/null
	nkc net mac eth0 02:77:00:00:00:09 > /dev/null
	port=$((6000 + RANDOM % 1000))
	bytes=268435456
	ip netns exec "$P" "$bulk" recv "$port" "$bytes" 21 > "$tmp/recv" 2>&1 &
	r=$!
	sleep 0.2
	ip netns exec "$H" timeout 120 "$bulk" send 10.77.0.2 "$port" "$bytes" 21 > "$tmp/send" 2>&1 &
	s=$!
	sleep 0.3
	for f in null wild stack loop abort ill fpe exit null ill; do
		out=$(nkc inject netdrv $f 2>&1)
		# the reply names the injected fault, not "down" (the card's
		# thread calling into the domain after the fault must not hide it)
		if grep -q "netdrv: contained: " <<< "$out" && ! grep -q "contained: down" <<< "$out" &&
		   grep -q "netdrv: recovered in" <<< "$out" &&
		   config_is 1400 02:77:00:00:00:09 > /dev/null; then
			ok "inject $f under traffic: contained (the fault named), recovered, MTU and MAC replayed"
		else
			ko "inject $f under traffic ($out)"
			config_is 1400 02:77:00:00:00:09
		fi
		sleep 0.1
	done
	wait $s
	s=$?
	wait $r
	check "256 MB through 10 faults, byte-exact" eval '[ $s = 0 ] && grep -q "^ok $bytes bytes" "$tmp/recv"'
	cat "$tmp/recv" "$tmp/send"
	check "the log has the replays" eval '[ "$(grep -c "replayed 2 of 2 logged calls" "$log")" -ge 10 ]'
	check "ping after the faults" pings 10 -i 0.02
	check "shutdown after the faults" stop
else
	ko "nkernel with netdrv started for faults"
fi

# ---- 4. natively, the faults are real ------------------------------------------------

echo "== native faults =="
for f in null ill; do
	if start none "$drv"; then
		out=$(nkc inject netdrv $f 2>&1)
		st=0
		wait "$pid" || st=$?
		if grep -q "did it die" <<< "$out" && [ "$st" -ge 128 ]; then
			ok "native inject $f: nkernel dies (status $st)"
		else
			ko "native inject $f (status $st: $out)"
		fi
	else
		ko "nkernel with native netdrv started"
	fi
done

# ---- 5. the write after free ------------------------------------------------------------

echo "== netdrv_buggy.so =="
if start "$iso_b" "$buggy" --max-restarts 64 --window 1 --backoff 0 -- bug_every=50; then
	ip netns exec "$H" ping -q -c 300 -i 0.01 -W 1 10.77.0.2 > "$tmp/ping" 2>&1
	check "isolated: the writes after free are faults, contained" \
		eval 'grep -Eq "nooks: netdrv_buggy: fault: (its process died: )?Segmentation fault" "$log" && kill -0 $pid'
	grep -Ec "fault: (its process died: )?Segmentation fault" "$log" | sed 's/^/  faults contained: /'
	check "isolated: nothing reached the kernel" eval '! grep -q "BUG: sk_buff" "$log"'
	check "isolated: pings after the faults" pings 5 -i 0.05
	check "isolated: shutdown" stop
else
	ko "nkernel with netdrv_buggy started"
fi
if start none "$buggy" -- bug_every=50; then
	ip netns exec "$H" ping -q -c 300 -i 0.01 -W 1 10.77.0.2 > /dev/null 2>&1
	st=0
	for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && nkc shutdown > /dev/null 2>&1
	wait "$pid" || st=$?
	if [ "$st" -eq 134 ] && grep -q "BUG: sk_buff .* written after it was freed" "$log"; then
		ok "native: the kernel finds the write after free and stops (134)"
	else
		ko "native write after free (status $st)"
		tail -5 "$log"
	fi
else
	ko "nkernel with native netdrv_buggy started"
fi

# ---- 6. restarts: nothing leaks -------------------------------------------------------------

echo "== $restarts restarts ($iso_b) =="
if start "$iso_b" "$drv" --timeout 300 --max-restarts 64 --window 1 --backoff 0; then
	nkc inject netdrv null > /dev/null	# the first restart's own allocations
	pings 3 -i 0.05
	sleep 0.2
	before=$(nkc stats | grep -E "^(skbs|netdevs|tracked|fds|mappings) ")
	ip netns exec "$H" ping -q -i 0.005 -W 1 10.77.0.2 > /dev/null 2>&1 &
	pp=$!
	pids="$pids $pp"
	t0=$(date +%s)
	bad=0
	for i in $(seq 1 "$restarts"); do
		nkc inject netdrv null > "$tmp/inj" 2>&1 && grep -q "recovered in" "$tmp/inj" ||
			{ bad=$((bad + 1)); cat "$tmp/inj"; [ $bad -gt 3 ] && break; }
	done
	kill "$pp" 2>/dev/null
	wait "$pp" 2>/dev/null
	echo "  $restarts restarts in $(($(date +%s) - t0)) s"
	check "$restarts restarts under ping, each recovered" eval '[ $bad = 0 ]'
	# (the last copy may still be bringing its link up: a few tries)
	traffic_ok() { for _ in 1 2 3; do pings 10 -i 0.02 && return 0; sleep 0.5; done; return 1; }
	check "traffic after them" traffic_ok
	# the last requests' threads end after their answers: a moment.
	# Mappings may be up by 2 (one 16 MiB area and its guard page, seen
	# once in 10,000 restarts, not in 6,000 of a loop alone: not a leak
	# per restart, which would be thousands here); the rest is exact.
	for _ in 1 2 3 4 5; do
		sleep 0.3
		after=$(nkc stats | grep -E "^(skbs|netdevs|tracked|fds|mappings) ")
		[ "$before" = "$after" ] && break
	done
	m0=$(awk '$1 == "mappings" { print $2 }' <<< "$before")
	m1=$(awk '$1 == "mappings" { print $2 }' <<< "$after")
	if [ "$(grep -v mappings <<< "$before")" = "$(grep -v mappings <<< "$after")" ] &&
	   [ "$m1" -le $((m0 + 2)) ]; then
		ok "nothing leaked: $(echo $after) (mappings before: $m0)"
	else
		ko "leak: before: $(echo $before); after: $(echo $after)"
	fi
	check "shutdown after the restarts" eval 'stop && ! grep -q "left behind" "$log"'
else
	ko "nkernel with netdrv started for restarts"
fi

echo "$passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
