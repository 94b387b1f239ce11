#!/bin/bash
# netdrv.sh BUILD - make bench's network part: netdrv in nkernel between
# two network namespaces (as tests/netdrv/run.sh), native against
# isolated with and without deferred calls.
#
# Prints a Markdown table on standard output (bench/run.sh appends it to
# bench/results.md); progress goes to standard error.
#
# Configurations: native (--isolation=none: the driver calls libnk
# directly), mprotect with deferred calls (the default), mprotect with
# --defer off.  NETDRV_BENCH_ROUNDS rounds (3), each starting nkernel once
# per configuration in turn, so that they alternate and share the
# machine's drift.  Per round: a byte-exact TCP transfer of
# NETDRV_BENCH_MB MB (256) from the host's namespace to the peer's
# (through ndo_start_xmit) and back (through NAPI), and NETDRV_BENCH_SECS
# seconds (2) of 64-byte UDP datagrams each way, counted by the receiver
# (packets/s through the driver).  Reported: medians across rounds, the
# spread, and each configuration against native.
# Exits non-zero, loudly, if nkernel does not start or a transfer is not
# byte-exact.
set -u
B=$1
nk=$B/kernel/nkernel
bulk=$B/tests/netdrv/bulk
drv=$B/examples/netdrv.so
rounds=${NETDRV_BENCH_ROUNDS:-3}
mb=${NETDRV_BENCH_MB:-256}
secs=${NETDRV_BENCH_SECS:-2}
configs="native mprotect-defer mprotect-nodefer"

tmp=$(mktemp -d)
run=nb$$
pid=
H=
P=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -n "$H" ] && ip netns del "$H" 2>/dev/null
	[ -n "$P" ] && ip netns del "$P" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "netdrv.sh: $*" >&2
	exit 1
}

n=0
start() {	# start CONFIG
	local iso=mprotect defer=on
	case $1 in
	native) iso=none ;;
	mprotect-nodefer) defer=off ;;
	esac
	n=$((n + 1))
	H=${run}h$n
	P=${run}p$n
	local wire=${run}w$n
	ip netns add "$H" && ip netns add "$P" || die "cannot make namespaces"
	ip -n "$H" link set lo up
	ip -n "$P" link set lo up
	ip netns exec "$H" "$nk" --control "$tmp/ctl.sock" --log "$tmp/log" --nic "$wire" \
		--defer "$defer" --isolation="$iso" "$drv" > "$tmp/out" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		ip -n "$H" link show eth0 > /dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$H" link set "$wire" netns "$P" && ip -n "$P" addr add 10.78.0.2/24 dev "$wire" &&
		ip -n "$P" link set "$wire" up && ip -n "$H" addr add 10.78.0.1/24 dev eth0 ||
		die "nkernel ($1) did not start: $(cat "$tmp/out")"
	for _ in $(seq 1 50); do
		ip netns exec "$H" ping -c 1 -W 1 10.78.0.2 > /dev/null 2>&1 && return 0
		sleep 0.2
	done
	die "no traffic through netdrv ($1)"
}

stop() {
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
	ip netns del "$H"
	ip netns del "$P"
	H=
	P=
}

# tcp FROM TO ADDR: MB/s of a byte-exact transfer
tcp() {
	local bytes=$((mb * 1000000))
	ip netns exec "$2" "$bulk" recv 5201 "$bytes" 3 > "$tmp/recv" 2>&1 &
	local r=$!
	sleep 0.2
	ip netns exec "$1" timeout 120 "$bulk" send "$3" 5201 "$bytes" 3 > /dev/null 2>&1
	wait "$r" || die "transfer not byte-exact: $(cat "$tmp/recv")"
	awk '/^ok/ { print $4 }' "$tmp/recv"
}

# udp FROM TO ADDR: packets/s received
udp() {
	ip netns exec "$2" "$bulk" udprecv 5202 "$secs" > "$tmp/urecv" 2>&1 &
	local r=$!
	sleep 0.2
	ip netns exec "$1" "$bulk" udpsend "$3" 5202 "$secs" 64 > /dev/null 2>&1
	wait "$r" || die "udp: $(cat "$tmp/urecv")"
	awk '{ print $3 }' "$tmp/urecv"
}

for r in $(seq 1 "$rounds"); do
	for c in $configs; do
		echo "netdrv bench: round $r, $c" >&2
		start "$c"
		tcp "$H" "$P" 10.78.0.2 >> "$tmp/$c.tx"
		tcp "$P" "$H" 10.78.0.1 >> "$tmp/$c.rx"
		udp "$H" "$P" 10.78.0.2 >> "$tmp/$c.utx"
		udp "$P" "$H" 10.78.0.1 >> "$tmp/$c.urx"
		stop
	done
done

# stats FILE: "median min max"
stats() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo "| netdrv in nkernel, two network namespaces, $rounds rounds alternated | median | spread | vs native |"
echo "|---|---:|---|---:|"
for m in "tx:TCP host to peer (ndo_start_xmit), MB/s" "rx:TCP peer to host (NAPI receive), MB/s" \
	"utx:64-byte UDP host to peer, packets/s" "urx:64-byte UDP peer to host, packets/s"; do
	k=${m%%:*}
	what=${m#*:}
	read -r base _ _ <<< "$(stats "$tmp/native.$k")"
	for c in $configs; do
		read -r med lo hi <<< "$(stats "$tmp/$c.$k")"
		case $c in
		native) name="native" ;;
		mprotect-defer) name="isolated (mprotect), deferred calls" ;;
		*) name="isolated (mprotect), no deferred calls" ;;
		esac
		ratio=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
		echo "| $what, $name | $med | $lo..$hi | $ratio |"
	done
done
