#!/bin/sh
# run.sh BUILD RESULTFILE [TREE...] - the kernel-module target (make kmod-test).
#
# For each kernel tree (default: every idl/linux-*):
#   1. nooks.ko builds from kmod/ and generated/TREE/kmod/ with kbuild
#      against Debian's headers, warnings as errors, and exports one
#      wrapper per kernel function the tree's IDL declares
#   2. nkvnic (tests/kmod/nkvnic, a virtual NIC written as any driver)
#      builds as it is; tools/kmod/wrap.sh binds a copy of it to the
#      wrappers (the calls the IDL describes, and only those), leaving the
#      original untouched
#   3. in Debian's Linux of that version in qemu (tools/vm), seven guests,
#      three, then four short ones (tests/kmod/guest.sh says what each checks):
#        traffic + double-free      ping through the isolated driver; a
#                                   double consume_skb refused by the wrapper
#        fault + hang +             NULL dereferences in transmit (three
#          init-fault + exit-fault  recoveries, traffic resumes), in init
#                                   and in exit, and a transmit that spins
#                                   past its timeout(); two CPUs here
#        native-double-free         the same bugs without Nooks: the kernel
#        native-fault               must show them (BUG in SLUB, oops)
#        native-init-fault          and the module stuck "Loading"
#        native-exit-fault          or "Unloading"
#        native-hang                an RCU stall, a panic (about 25 s)
# Skips (one line, "0 0") where qemu or the headers cannot be had.
# Writes "PASSED FAILED" to RESULTFILE.
set -u
B=$1
result=$2
shift 2
trees=$*
[ -n "$trees" ] || trees=$(cd idl && ls -d linux-* 2>/dev/null)
vm=tools/vm
t_start=$(date +%s)
passed=0
failed=0
ok() { echo "[PASS] $1"; passed=$((passed + 1)); }
ko() { echo "[FAIL] $1"; failed=$((failed + 1)); }
finish() {
	echo "kmod-test: $passed passed, $failed failed in $(($(date +%s) - t_start)) s"
	echo "$passed $failed" > "$result"
	exit 0
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P=$(pwd)

for tree in $trees; do
	ver=${tree#linux-}
	out=$B/kmod/$tree
	echo "== $tree =="
	sh tools/kmod/build.sh "$tree" "$out" 2> "$tmp/build.err"
	st=$?
	if [ "$st" -eq 2 ]; then
		echo "kmod-test: $tree skipped: $(cat "$tmp/build.err")"
		continue
	fi
	if [ "$st" -ne 0 ]; then
		ko "$tree: nooks.ko builds from generated/$tree/kmod (kbuild, -Werror)"
		head -30 "$tmp/build.err"
		continue
	fi
	ok "$tree: nooks.ko builds from generated/$tree/kmod (kbuild, -Werror): $(ls "$out"/*_kmod_*.c | wc -l) generated files"
	want=$(cat generated/"$tree"/kmod/*.syms | wc -l)
	have=$(nm "$out/nooks.ko" | grep -c ' T nooks_kw_')
	have_ex=$(grep -c '	nooks_kw_.*EXPORT_SYMBOL_GPL' "$out/Module.symvers")
	if [ "$want" -eq "$have" ] && [ "$want" -eq "$have_ex" ]; then
		ok "$tree: nooks.ko defines and exports a wrapper per kernel function of idl/$tree ($want)"
	else
		ko "$tree: nooks.ko: $want kernel functions, $have wrappers defined, $have_ex exported"
	fi

	nd=$B/kmod/nkvnic-$tree
	rm -rf "$nd" && mkdir -p "$nd" && cp tests/kmod/nkvnic/* "$nd/"
	kdir=$(ls -d /usr/src/linux-headers-"$ver".*-amd64 | sort -V | tail -1)
	if make -s -C "$kdir" M="$P/$nd" modules > "$tmp/nkvnic.log" 2>&1 && [ -s "$nd/nkvnic.ko" ]; then
		ok "$tree: nkvnic.ko builds with kbuild, as any module"
	else
		ko "$tree: nkvnic.ko builds with kbuild"
		cat "$tmp/nkvnic.log"
		continue
	fi
	sum=$(cksum < "$nd/nkvnic.ko")
	bound=$(sh tools/kmod/wrap.sh "$tree" "$nd/nkvnic.ko" "$nd/nkvnic.nooks.ko" "$out/Module.symvers")
	expect="__netdev_alloc_skb alloc_etherdev_mqs consume_skb eth_type_trans free_netdev netif_rx register_netdev skb_put unregister_netdev"
	if [ "$bound" = "$expect" ] && [ "$(cksum < "$nd/nkvnic.ko")" = "$sum" ]; then
		ok "$tree: wrap.sh bound a copy's 9 calls the IDL describes to the wrappers; nkvnic.ko unchanged"
	else
		ko "$tree: wrap.sh bound '$bound', not '$expect' (or changed nkvnic.ko)"
		continue
	fi
	if nm -u "$nd/nkvnic.nooks.ko" | grep -qw dev_addr_mod && ! nm -u "$nd/nkvnic.nooks.ko" | grep -qw consume_skb; then
		ok "$tree: what the IDL does not describe stays bound to the kernel (dev_addr_mod)"
	else
		ko "$tree: the bound copy still calls consume_skb, or lost dev_addr_mod"
	fi

	# ---- the guests --------------------------------------------------------
	if ! reason=$(sh $vm/deps.sh); then
		echo "kmod-test: $tree guests skipped: $reason"
		continue
	fi
	case $ver in
	6.1) kernel=$(sh $vm/kernel.sh) || { echo "kmod-test: $tree guests skipped: cannot fetch the kernel"; continue; } ;;
	*) echo "kmod-test: $tree guests skipped: tools/vm boots 6.1 only"; continue ;;
	esac
	g=$P/$nd/guest
	mkdir -p "$g"
	cp "$out/nooks.ko" "$nd/nkvnic.ko" "$nd/nkvnic.nooks.ko" "$g/"
	gs=$P/tests/kmod/guest.sh
	mk() {	# mk NAME SCENARIO...: the initramfs of one guest
		name=$1
		shift
		for s; do	# each SCENARIO becomes "-t SCENARIO=sh guest.sh SCENARIO DIR"
			set -- "$@" -t "$s=sh $gs $s $g"
			shift
		done
		sh $vm/initramfs.sh -f "$g" -f "$gs" -f "$P/tools/kmod/nooks-agent=/sbin/nooks-agent" \
			"$@" "$tmp/$name.cpio"
	}
	mk iso1 traffic double-free && mk iso2 fault hang init-fault exit-fault &&
		mk nat1 native-double-free && mk nat2 native-fault && mk nat3 native-init-fault &&
		mk nat4 native-exit-fault && mk nat5 native-hang ||
		{ ko "$tree: the guests' initramfs builds"; continue; }
	# the long ones first, then the short native ones
	for batch in "iso1 iso2 nat5" "nat1 nat2 nat3 nat4"; do
		for name in $batch; do
			# the faults with two CPUs: recovery runs beside the traffic
			smp=1
			[ "$name" = iso2 ] && smp=2
			(sh $vm/run.sh -t 240 -o "$tmp/$name.log" -r "$tmp/$name.res" -O "$tmp/out-$name" \
				"$kernel" "$tmp/$name.cpio" -- -smp $smp > "$tmp/$name.out" 2>&1
			 echo $? > "$tmp/$name.st") &
		done
		wait
	done
	for name in iso1 iso2 nat3 nat4; do
		st=$(cat "$tmp/$name.st")
		sed 's/^/    /' "$tmp/$name.out"
		tr -d '\r' < "$tmp/$name.log" | grep -a -E '^\[(PASS|FAIL)\]|^fault: [0-9]+ CPUs' | sed 's/^/    guest: /'
		for f in "$tmp/out-$name"/*; do
			[ -s "$f" ] || continue
			read -r p f2 < "$f"
			passed=$((passed + p))
			failed=$((failed + f2))
		done
		if [ "$st" -eq 0 ]; then
			ok "$tree: guest $name finished, its scenarios ran to the end"
		else
			ko "$tree: guest $name: run.sh status $st"
			tr -d '\r' < "$tmp/$name.log" | grep -a -E 'nooks|BUG|Oops|panic|FAIL' | tail -n 30 | sed 's/^/    /'
		fi
	done
	# without Nooks the same bugs reach the kernel
	log=$tmp/nat1.log
	if tr -d '\r' < "$log" | grep -a -q 'kernel BUG at mm/slub.c' ||
	   tr -d '\r' < "$log" | grep -a -q -E 'BUG|Bad page'; then
		ok "$tree: natively the double consume_skb reaches SLUB: $(tr -d '\r' < "$log" | grep -a -m1 -o -E 'kernel BUG at [^ ]*|BUG: [^,]*|Bad page[^,]*')$(tr -d '\r' < "$log" | grep -a -q 'Kernel panic' && echo ', then a panic (Fatal exception in interrupt)')"
	else
		ko "$tree: natively the double consume_skb reaches SLUB (no BUG in the console)"
		tail -n 20 "$tmp/nat1.out"
	fi
	log=$tmp/nat5.log
	# (run.sh's command line panics on a soft lockup or an RCU stall)
	# the stalled CPU detects it itself, or the other CPU of the guest does
	stall='soft lockup|hard LOCKUP|self-detected stall|detected stalls on CPUs'
	if tr -d '\r' < "$log" | grep -a -q -E "$stall" &&
	   ! tr -d '\r' < "$log" | grep -a -q '@@NATIVE-SURVIVED'; then
		ok "$tree: natively the spinning transmit stalls the CPU: $(tr -d '\r' < "$log" | grep -a -m1 -o -E 'soft lockup[^!]*|hard LOCKUP|rcu_preempt (self-)?detected stalls? on CPUs?')$(tr -d '\r' < "$log" | grep -a -q 'Kernel panic' && echo ', then a panic')"
	else
		ko "$tree: natively the spinning transmit stalls the CPU (soft lockup or RCU stall)"
		tr -d '\r' < "$log" | grep -a -m5 -E 'panic|stall|lockup|BUG|NATIVE' | sed 's/^/    /'
		tail -n 20 "$tmp/nat5.out"
	fi
	log=$tmp/nat2.log
	if tr -d '\r' < "$log" | grep -a -q -E 'BUG: kernel NULL pointer dereference|Oops'; then
		ok "$tree: natively the NULL dereference in transmit is the kernel's oops$(tr -d '\r' < "$log" | grep -a -q 'Kernel panic' && echo ', then a panic (Fatal exception in interrupt)')"
	else
		ko "$tree: natively the NULL dereference in transmit is the kernel's oops"
		tail -n 20 "$tmp/nat2.out"
	fi
done
finish
