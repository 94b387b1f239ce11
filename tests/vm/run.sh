#!/bin/sh
# run.sh BUILD RESULTFILE - the VM harness's smoke test (make vm-test).
#
# Boots Debian's Linux 6.1 in qemu (tools/vm) and checks that
#   1. the kernel booted is the extracted ELF vmlinux; vmlinux.sh refuses
#      what is no bzImage
#   2. the guest has protection keys: /proc/cpuinfo shows pku and ospke
#   3. pkey_smoke (tests/vm/pkey_smoke.c, dynamically linked) passes
#      there: a write with the key write-disabled faults with
#      SEGV_PKUERR while another thread writes the same page; its checks
#      come back through $VM_OUT and count here one by one
#   4. dl_smoke passes there: a library given with -l loads with dlopen
#      and with dlmopen into a new namespace, and pthread_exit works
#      (the files ldd cannot name: the loader by its soname, libgcc_s)
#   5. on real keys: the runtime's whole suite (its pkey tests then run
#      on keys, not the fallback) and khttpd in nkernel on the pkey
#      backend (tests/vm/khttpd_pkey.sh: a wild write stopped with
#      SEGV_PKUERR, recovery under requests); their counts add up here
#   6. the harness tells outcomes apart: a failing guest test is reported
#      with its exit status, a guest that hangs times out (status 3), one
#      that panics ends at once (status 3) and a missing qemu is status 4
#
# Where qemu cannot be installed (not root, no archive) or the kernel
# cannot be fetched, prints one "vm-test: skipped: ..." line and leaves
# "0 0".  Writes "PASSED FAILED" to RESULTFILE.
set -u
B=$1
result=$2
vm=tools/vm
t_start=$(date +%s)

skip() {
	echo "vm-test: skipped: $*"
	echo "0 0" > "$result"
	exit 0
}
reason=$(sh $vm/deps.sh) || skip "$reason"
kernel=$(sh $vm/kernel.sh) || skip "cannot fetch Debian's Linux 6.1 kernel package (no archive?)"
echo "kernel: $kernel"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib.sh
finish() {
	echo "vm-test: $passed passed, $failed failed in $(($(date +%s) - t_start)) s"
	echo "$passed $failed" > "$result"
	exit 0
}
# expect NAME COMMAND...: passes when COMMAND succeeds (and returns its status)
expect() {
	name=$1
	shift
	if "$@"; then ok "$name"; return 0; fi
	ko "$name"
	return 1
}
# status_of NAME: NAME's exit status in the guest, from run.sh -r
status_of() { sed -n "s/^$1 //p" "$tmp/res"; }

# ---- the kernel ------------------------------------------------------------------

case $kernel in
*/vmlinux-*)
	if [ "$(od -An -t x1 -N 4 "$kernel" | tr -d ' ')" = 7f454c46 ]; then
		ok "the kernel booted is the ELF vmlinux extracted from the bzImage (fast PVH boot)"
	else
		ko "the kernel booted is the ELF vmlinux extracted from the bzImage ($kernel is no ELF file)"
	fi
	;;
*) ko "the kernel booted is the ELF vmlinux extracted from the bzImage, not $kernel" ;;
esac
if sh $vm/vmlinux.sh tests/vm/pkey_smoke.c "$tmp/vmlinux" 2>/dev/null || [ -e "$tmp/vmlinux" ]; then
	ko "vmlinux.sh refuses a file that is no bzImage"
else
	ok "vmlinux.sh refuses a file that is no bzImage (kernel.sh then boots the bzImage)"
fi

# ---- the test program ---------------------------------------------------------

prog=$B/tests/vm/pkey_smoke
mkdir -p "$(dirname "$prog")"
if ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -pthread -o "$prog" tests/vm/pkey_smoke.c; then
	ok "pkey_smoke builds with -Wall -Wextra -Werror"
else
	ko "pkey_smoke builds with -Wall -Wextra -Werror"
	finish
fi
if ldd "$prog" | grep -q 'libc\.so'; then
	ok "pkey_smoke is dynamically linked (the initramfs must carry libc and the loader)"
else
	ko "pkey_smoke is dynamically linked"
fi
# on the host it passes where the CPU has keys and says it has none elsewhere
"$prog" > "$tmp/host.out" 2>&1
st=$?
if grep -qw pku /proc/cpuinfo; then want=0; else want=77; fi
if [ "$st" -eq "$want" ]; then
	ok "on the host pkey_smoke exits $want ($(tail -n 1 "$tmp/host.out"))"
else
	ko "on the host pkey_smoke exits $want, not $st"
	cat "$tmp/host.out"
fi

# dl_smoke: what the runtime's loader needs, which ldd does not show
dlprog=$B/tests/vm/dl_smoke
dllib=$(ldconfig -p | sed -n 's/^[[:space:]]*libcunit\.so\.1 (libc6,x86-64) => //p' | head -n 1)
if ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -pthread -o "$dlprog" tests/vm/dl_smoke.c -ldl && [ -n "$dllib" ]; then
	ok "dl_smoke builds, and libcunit.so.1 is at $dllib"
else
	ko "dl_smoke builds, and libcunit.so.1 is installed (libcunit1-dev)"
	finish
fi

# ---- the guest: keys, pkey_smoke, dl_smoke, a failing test ---------------------

cpuinfo='for w in pku ospke; do
	if grep -qw $w /proc/cpuinfo; then echo "cpuinfo: $w"; else echo "cpuinfo: no $w"; exit 1; fi
done'
if sh $vm/initramfs.sh -p "$prog" -p "$dlprog" -l "$dllib" \
	-t cpuinfo="$cpuinfo" -t pkey="$prog \$VM_OUT/pkey" -t dl="$dlprog libcunit.so.1" \
	-t must-fail='echo "a failing test, on purpose"; exit 3' "$tmp/smoke.cpio"; then
	ok "the initramfs builds ($(($(wc -c < "$tmp/smoke.cpio") / 1024)) KiB)"
else
	ko "the initramfs builds"
	finish
fi
# a guest that never finishes, alongside (it sleeps: it costs little
# CPU), through guest.sh, the three steps in one command
hang_t0=$(date +%s)
(bash $vm/guest.sh -t hang='sleep 600' -T 8 -o "$tmp/hang.log" > "$tmp/hang.out" 2>&1; echo $? "$(date +%s)" > "$tmp/hang.st") &
hang_pid=$!

sh $vm/run.sh -o "$tmp/console" -r "$tmp/res" -O "$tmp/out" "$kernel" "$tmp/smoke.cpio"
st=$?
expect "run.sh exits 1 when a guest test failed (it did: $st)" [ "$st" -eq 1 ]
expect "the guest's /proc/cpuinfo shows pku and ospke (status '$(status_of cpuinfo)')" \
	[ "$(status_of cpuinfo)" = 0 ]
expect "pkey_smoke passes in the guest (status '$(status_of pkey)')" [ "$(status_of pkey)" = 0 ]
expect "dlopen, dlmopen(LM_ID_NEWLM) and pthread_exit work in the guest (status '$(status_of dl)')" \
	[ "$(status_of dl)" = 0 ]
expect "a failing guest test is reported with its status: 3 (got '$(status_of must-fail)')" \
	[ "$(status_of must-fail)" = 3 ]
if [ -s "$tmp/out/pkey" ] && read -r p f < "$tmp/out/pkey" && [ "$p" -gt 0 ] 2>/dev/null; then
	ok "pkey_smoke's counts came back through \$VM_OUT ($p passed, $f failed)"
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -eq 0 ] || grep 'pkey_smoke: FAILED' "$tmp/console"
else
	ko "pkey_smoke's counts came back through \$VM_OUT"
fi
if [ "$st" -ne 1 ] || [ "$(status_of pkey)" != 0 ] || [ "$(status_of dl)" != 0 ]; then
	echo "    console:"
	tr -d '\r' < "$tmp/console" | tail -n 40 | sed 's/^/    /'
fi

# ---- the project on real keys: the runtime's suite, khttpd in nkernel -----------

# Files go in at their host paths (absolute: the guest's /init runs in /).
P=$(pwd)
R=$P/$B/tests/runtime
set --
for l in "$R"/*.so "$R"/wrap/*.so*; do set -- "$@" -l "$l"; done
if sh $vm/initramfs.sh -p "$R/runtime" -f "$R" -f "$P/tests/runtime" "$@" \
	-p "$P/$B/kernel/nkernel" -p "$P/$B/kernel/nkctl" -p "$(command -v curl)" \
	-l "$P/$B/kernel/wrap/libnk.so.1" -l "$P/$B/examples/khttpd.so" \
	-l "$P/$B/tests/hostile/pthread_double_release.so" -l "$P/$B/tests/vm/timer_thread.so" \
	-f "$P/examples/khttpd/www" -f "$P/tests/vm/khttpd_pkey.sh" \
	-t runtime="CUNIT_VERBOSE=1 $R/runtime \$VM_OUT/runtime $R/ext_faults.so $R $R/ext_tk.so $R/wrap/libtk.so.1" \
	-t khttpd="sh $P/tests/vm/khttpd_pkey.sh $P/$B $P/examples/khttpd/www \$VM_OUT/khttpd" \
	"$tmp/keys.cpio"; then
	sh $vm/run.sh -t 600 -o "$tmp/keys.log" -r "$tmp/res" -O "$tmp/out" "$kernel" "$tmp/keys.cpio"
	st=$?
	expect "the runtime's suite and khttpd ran in the guest (run.sh: $st)" [ "$st" -le 1 ]
	# the crossing tests must have run on keys, not on the fallback
	expect "the runtime's pkey tests ran with protection keys" \
		grep -q 'pkey (protection keys): contains \.\.\.passed' "$tmp/keys.log"
	for suite in runtime khttpd; do
		if [ -s "$tmp/out/$suite" ] && read -r p f < "$tmp/out/$suite"; then
			echo "guest $suite: $p passed, $f failed"
			passed=$((passed + p))
			failed=$((failed + f))
		else
			ko "the guest's $suite suite left its counts (status '$(status_of $suite)')"
		fi
	done
	if [ "$st" -ne 0 ]; then
		echo "    console:"
		tr -d '\r' < "$tmp/keys.log" | grep -E 'FAIL|Segm|Abort|\[FAIL\]|nooks:|nkernel:' | tail -n 40 | sed 's/^/    /'
	else
		tr -d '\r' < "$tmp/keys.log" | grep -E '^\[(PASS|FAIL)\]|^khttpd: ' | sed 's/^/    guest: /'
	fi
else
	ko "the initramfs with the runtime's suite and nkernel builds"
fi

# ---- outcomes the harness must tell apart --------------------------------------

sh $vm/initramfs.sh -t panic='echo c > /proc/sysrq-trigger; sleep 600' "$tmp/panic.cpio"
t0=$(date +%s)
sh $vm/run.sh -t 60 -o "$tmp/panic.log" "$kernel" "$tmp/panic.cpio" > "$tmp/panic.out" 2>&1
st=$?
secs=$(($(date +%s) - t0))
if [ "$st" -eq 3 ] && ! grep -q 'timed out' "$tmp/panic.out" && grep -q 'Kernel panic' "$tmp/panic.log"; then
	ok "a guest that panics ends at once (panic=-1, -no-reboot): status 3 after $secs s"
else
	ko "a guest that panics ends at once: status 3 before the timeout, not $st after $secs s"
	cat "$tmp/panic.out"
fi

wait "$hang_pid"
read -r st hang_t1 < "$tmp/hang.st"
secs=$((hang_t1 - hang_t0))
if [ "$st" -eq 3 ] && grep -q 'timed out' "$tmp/hang.out"; then
	ok "a hung guest times out (guest.sh -T 8): status 3 after $secs s"
else
	ko "a hung guest times out: status 3, not $st after $secs s"
	cat "$tmp/hang.out"
fi

QEMU=/nonexistent/qemu-system-x86_64 sh $vm/run.sh "$kernel" "$tmp/smoke.cpio" > "$tmp/noq.out" 2>&1
st=$?
expect "a missing qemu is status 4 (got $st)" [ "$st" -eq 4 ] || cat "$tmp/noq.out"

finish
