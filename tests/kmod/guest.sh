#!/bin/sh
# guest.sh SCENARIO DIR - one kernel-module scenario, run inside a guest
# (tests/kmod/run.sh boots one guest per scenario or pair of them).
#
# DIR holds nooks.ko, nkvnic.ko (the module as kbuild made it) and
# nkvnic.nooks.ko (the copy tools/kmod/wrap.sh bound to the wrappers);
# the agent is /sbin/nooks-agent.  Scenarios:
#   traffic         ping through nkvnic isolated (and natively, for
#                   comparison); the tracker's counts; rmmod leaves nothing
#   double-free     the isolated module releases an skb twice: the second
#                   consume_skb is refused by the wrapper, traffic goes on
#   fault           a NULL dereference in the isolated module's transmit,
#                   three times: each is recovered (unwound, released,
#                   reloaded by the agent, configuration replayed) and
#                   ping works again
#   init-fault      a NULL dereference in the isolated module's init: the
#                   load fails cleanly (no module left "Loading"), its
#                   device is unregistered, a second load works
#   native-double-free, native-fault
#                   the same bugs in the module as kbuild made it (no
#                   Nooks): the kernel is expected to die here (its own
#                   guest; run.sh reads the console)
#   hang            the isolated module spins in transmit: its timeout()
#                   (100 ms) unwinds it, it is recovered, ping works again
#   exit-fault      a NULL dereference in the isolated module's exit: rmmod
#                   completes, what the module left is released
#   native-hang     the spin without Nooks: an RCU stall, a panic
#   native-init-fault, native-exit-fault
#                   those faults without Nooks: insmod (rmmod) dies and the
#                   module stays "Loading" ("Unloading"), its device
#                   registered
# Prints [PASS]/[FAIL] lines and writes "PASSED FAILED" to $VM_OUT/SCENARIO.
set -u
sc=$1
dir=$2
passed=0
failed=0
ok() { echo "[PASS] $sc: $1"; passed=$((passed + 1)); }
ko() { echo "[FAIL] $sc: $1"; failed=$((failed + 1)); }
check() { name=$1; shift; if "$@"; then ok "$name"; else ko "$name"; fi; }
finish() {
	echo "$passed $failed" > "$VM_OUT/$sc"
	echo "kmod guest $sc: $passed passed, $failed failed"
	exit 0
}
# replies LOSS... : ping COUNT times, print how many replies came
replies() { ping -c "$1" -W 2 -i 0.2 "$2" 2>/dev/null | sed -n 's/.* \([0-9]*\) packets received.*/\1/p'; }
domain() { awk -v m="$1" '$1 == m { print $2, $3, $4, $5 }' /proc/nooks; }
up_nkv() {	# configure nkv0: address, MTU, up
	ip addr add 10.9.0.1/24 dev nkv0 && ip link set dev nkv0 mtu 1400 && ip link set dev nkv0 up
}
mac_of() { cat /sys/class/net/"$1"/address 2>/dev/null; }
mark=0
log_since() { dmesg | tail -n +"$((mark + 1))"; }
set_mark() { mark=$(dmesg | wc -l); }

load_nooks() { grep -q '^nooks ' /proc/modules || insmod "$dir/nooks.ko" agent=/sbin/nooks-agent; }
load_isolated() {
	load_nooks || return 1
	nooks-agent load "$dir/nkvnic.nooks.ko" "$@"
}

case $sc in
traffic)
	insmod "$dir/nkvnic.ko" && up_nkv
	n=$(replies 5 10.9.0.2)
	check "natively, nkvnic answers ping: $n/5 replies" [ "$n" = 5 ]
	rmmod nkvnic
	check "nooks.ko loads" insmod "$dir/nooks.ko" agent=/sbin/nooks-agent
	check "the bound copy of nkvnic loads through the agent" nooks-agent load "$dir/nkvnic.nooks.ko" ndevs=2
	set -- $(domain nkvnic)
	check "nkvnic is a domain, live: $*" [ "${1:-}" = live ]
	check "its two devices are registered" sh -c "[ -e /sys/class/net/nkv0 ] && [ -e /sys/class/net/nkv1 ]"
	up_nkv
	n=$(replies 20 10.9.0.2)
	check "isolated, nkvnic answers ping: $n/20 replies" [ "$n" = 20 ]
	set -- $(domain nkvnic)
	# two net_devices; the skbs it made were all handed to the kernel
	check "the tracker holds its 2 net_devices and nothing else: ${2:-} objects" [ "${2:-}" = 2 ]
	check "no call was refused: ${4:-}" [ "${4:-}" = 0 ]
	set_mark
	check "rmmod nkvnic" rmmod nkvnic
	check "it left nothing behind (0 registrations, 0 objects)" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nkvnic: unloaded (0 faults, 0 calls refused); it left 0 registrations and 0 objects'"
	check "nkv0 is gone" [ ! -e /sys/class/net/nkv0 ]
	check "rmmod nooks" rmmod nooks
	;;
double-free)
	load_isolated && up_nkv
	n=$(replies 3 10.9.0.2)
	check "isolated, nkvnic answers ping: $n/3" [ "$n" = 3 ]
	set_mark
	echo 1 > /sys/module/nkvnic/parameters/double_free
	replies 2 10.9.0.2 >/dev/null	# the answer to one of them (or to an ARP probe) is lost
	check "the buggy transmit ran (double_free is 0 again)" [ "$(cat /sys/module/nkvnic/parameters/double_free)" = 0 ]
	check "the second consume_skb was refused by the wrapper" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nooks: nkvnic: consume_skb(.*): not a live struct sk_buff of this module (never allocated, or released already): refused'"
	check "SLUB never saw it: no BUG, no oops" sh -c "! dmesg | tail -n +$((mark + 1)) | grep -Eq 'BUG|Oops|Bad page'"
	set -- $(domain nkvnic)
	check "the domain is live, one call refused: $*" [ "${1:-}/${4:-}" = live/1 ]
	n=$(replies 10 10.9.0.2)
	check "traffic goes on: $n/10" [ "$n" = 10 ]
	check "rmmod nkvnic" rmmod nkvnic
	;;
fault)
	echo "fault: $(grep -c '^processor' /proc/cpuinfo) CPUs"
	load_isolated && up_nkv
	mac=$(mac_of nkv0)
	n=$(replies 3 10.9.0.2)
	check "isolated, nkvnic answers ping: $n/3" [ "$n" = 3 ]
	for round in 1 2 3; do
		set_mark
		t0=$(cut -d' ' -f1 /proc/uptime)
		echo 1 > /sys/module/nkvnic/parameters/fault
		ping -c 1 -W 1 10.9.0.2 >/dev/null 2>&1 &
		i=0
		while [ "$(cat /run/nooks/recovered 2>/dev/null | grep -c '^nkvnic 0$')" -lt "$round" ] && [ $i -lt 600 ]; do
			sleep 0.05
			i=$((i + 1))
		done
		t1=$(cut -d' ' -f1 /proc/uptime)
		wait
		check "round $round: the oops in nkvnic was caught and unwound" \
			sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nooks: nkvnic: Oops.* at nkv_xmit.*the thread returns to the wrapper'"
		check "round $round: the agent reloaded it, $(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') s after the fault" \
			[ "$(grep -c '^nkvnic 0$' /run/nooks/recovered 2>/dev/null)" = "$round" ]
		check "round $round: its device and skbs were released (dmesg)" \
			sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nooks: nkvnic: undid 1 registrations, released [1-9][0-9]* objects'"
		check "round $round: a new domain, live, no fault: $(domain nkvnic)" [ "$(domain nkvnic)" = "live 1 0 0" ]
		check "round $round: configuration replayed: nkv0 up, MTU 1400, 10.9.0.1/24, MAC $mac" \
			sh -c "ip addr show nkv0 | grep -q 'inet 10.9.0.1/24' && ip link show nkv0 | grep -q 'mtu 1400' && ip link show nkv0 | grep -q 'UP' && [ \"\$(cat /sys/class/net/nkv0/address)\" = $mac ]"
		n=$(replies 5 10.9.0.2)
		check "round $round: traffic resumed: $n/5" [ "$n" = 5 ]
	done
	check "the kernel carried on: no panic, ping to lo works" ping -c 1 -W 2 127.0.0.1
	check "rmmod nkvnic" rmmod nkvnic
	;;
init-fault)
	load_nooks
	set_mark
	insmod "$dir/nkvnic.nooks.ko" init_fault=1
	st=$?
	check "a fault in the isolated module's init fails insmod (status $st)" [ "$st" -ne 0 ]
	check "the oops was caught in its init" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nooks: nkvnic: Oops.*(its init: the load fails)'"
	check "no module is left \"Loading\"" sh -c "! grep -q '^nkvnic ' /proc/modules"
	check "the device it registered was unregistered" [ ! -e /sys/class/net/nkv0 ]
	check "it left 1 registration and 1 object, undone and released" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nkvnic: unloaded (1 faults, 0 calls refused); it left 1 registrations and 1 objects'"
	check "loaded again without the bug, it works" nooks-agent load "$dir/nkvnic.nooks.ko"
	up_nkv
	n=$(replies 3 10.9.0.2)
	check "traffic: $n/3" [ "$n" = 3 ]
	;;
hang)
	grep -q '^nkvnic ' /proc/modules || { load_isolated && up_nkv; }
	before=$(cat /run/nooks/recovered 2>/dev/null | grep -c '^nkvnic 0$')
	set_mark
	t0=$(cut -d' ' -f1 /proc/uptime)
	echo 1 > /sys/module/nkvnic/parameters/hang
	ping -c 1 -W 1 10.9.0.2 >/dev/null 2>&1 &
	i=0
	while [ "$(cat /run/nooks/recovered 2>/dev/null | grep -c '^nkvnic 0$')" -le "$before" ] && [ $i -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	t1=$(cut -d' ' -f1 /proc/uptime)
	wait
	check "the spinning transmit was stopped at its deadline" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nooks: nkvnic: timeout at nkv_xmit.*the thread returns to the wrapper'"
	check "the agent reloaded it, $(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }') s after" \
		[ "$(cat /run/nooks/recovered 2>/dev/null | grep -c '^nkvnic 0$')" -gt "$before" ]
	n=$(replies 5 10.9.0.2)
	check "traffic resumed: $n/5" [ "$n" = 5 ]
	check "rmmod nkvnic" rmmod nkvnic
	;;
exit-fault)
	grep -q '^nkvnic ' /proc/modules || load_isolated
	check "nkv0 is there" [ -e /sys/class/net/nkv0 ]
	set_mark
	echo 1 > /sys/module/nkvnic/parameters/exit_fault
	rmmod nkvnic
	st=$?
	check "rmmod of the isolated module whose exit faults completes (status $st)" [ "$st" = 0 ]
	check "the oops was caught in its exit" \
		sh -c "dmesg | tail -n +$((mark + 1)) | grep -q 'nooks: nkvnic: Oops.*(its exit: the module unloads anyway)'"
	check "the module is gone" sh -c "! grep -q '^nkvnic ' /proc/modules"
	check "what it left (its device) was unregistered and released" \
		sh -c "[ ! -e /sys/class/net/nkv0 ] && dmesg | tail -n +$((mark + 1)) | grep -q 'nkvnic: unloaded (1 faults, 0 calls refused); it left 1 registrations and 1 objects'"
	check "it loads again" nooks-agent load "$dir/nkvnic.nooks.ko"
	up_nkv
	n=$(replies 3 10.9.0.2)
	check "traffic: $n/3" [ "$n" = 3 ]
	;;
native-exit-fault)
	insmod "$dir/nkvnic.ko" && up_nkv
	echo 1 > /sys/module/nkvnic/parameters/exit_fault
	rmmod nkvnic
	st=$?
	check "natively, rmmod with a fault in exit dies (status $st)" [ "$st" -ne 0 ]
	check "the kernel logged the oops" sh -c "dmesg | grep -q 'BUG: kernel NULL pointer dereference'"
	check "the module stays \"Unloading\": $(grep '^nkvnic ' /proc/modules)" sh -c "grep -q '^nkvnic .* Unloading ' /proc/modules"
	check "its device stays registered" [ -e /sys/class/net/nkv0 ]
	;;
native-init-fault)
	insmod "$dir/nkvnic.ko" init_fault=1
	st=$?
	check "natively, insmod with a fault in init dies (status $st)" [ "$st" -ne 0 ]
	check "the kernel logged the oops" sh -c "dmesg | grep -q 'BUG: kernel NULL pointer dereference'"
	check "the module stays \"Loading\": $(grep '^nkvnic ' /proc/modules)" sh -c "grep -q '^nkvnic .* Loading ' /proc/modules"
	check "the device it registered stays registered" [ -e /sys/class/net/nkv0 ]
	# a second load waits for the first to finish loading: for ever
	timeout 5 insmod "$dir/nkvnic.ko" 2>/dev/null
	st=$?
	check "loading it again waits for ever (killed after 5 s: status $st)" [ "$st" -ne 0 ]
	rmmod nkvnic 2>/dev/null
	check "nor unloaded" sh -c "grep -q '^nkvnic ' /proc/modules"
	;;
native-hang)
	insmod "$dir/nkvnic.ko" && up_nkv
	n=$(replies 2 10.9.0.2)
	check "natively, nkvnic answers ping: $n/2" [ "$n" = 2 ]
	echo 1 > /sys/module/nkvnic/parameters/hang
	ping -c 1 -W 1 10.9.0.2 >/dev/null 2>&1
	sleep 60
	echo "@@NATIVE-SURVIVED"
	;;
native-double-free|native-fault)
	insmod "$dir/nkvnic.ko" && up_nkv
	n=$(replies 2 10.9.0.2)
	check "natively, nkvnic answers ping: $n/2" [ "$n" = 2 ]
	case $sc in
	native-double-free) echo 1 > /sys/module/nkvnic/parameters/double_free ;;
	*) echo 1 > /sys/module/nkvnic/parameters/fault ;;
	esac
	replies 3 10.9.0.2 >/dev/null
	sleep 1
	# still here: the kernel noticed nothing, or noticed and lived
	if dmesg | grep -Eq 'BUG|Oops|Bad page|general protection'; then
		echo "native: the kernel oopsed and lived on"
	else
		echo "native: no trace of the bug in the kernel's log"
	fi
	echo "@@NATIVE-SURVIVED"
	;;
*) ko "unknown scenario $sc" ;;
esac
finish
