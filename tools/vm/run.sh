#!/bin/sh
# run.sh [options] KERNEL INITRAMFS [-- QEMU-ARGS...] - boot, run, read the markers.
#
#   -t SECONDS   host timeout for the whole guest (default $VM_TIMEOUT or 90)
#   -o FILE      keep the serial console here (default: a temporary file,
#                kept and named only when something went wrong)
#   -O DIR       write the files the guest's tests left in $VM_OUT here
#   -r FILE      write one "NAME STATUS" line per test here
#   -a WORDS     more kernel command-line words
#   -v           copy the console to stdout as it comes
#
# Boots qemu-system-x86_64 under TCG with -cpu max (protection keys) and
# no network (-nic none; QEMU-ARGS after -- may add one, or another -cpu;
# $QEMU names another qemu binary).  The kernel command line makes a
# wedged guest end by itself: panic=-1 reboots at once and -no-reboot
# turns that into qemu's exit, RCU stalls and soft lockups panic.  The
# console is the first serial port; the markers of tools/vm/initramfs.sh
# come on the second, a file of their own, so kernel messages never cut
# through them.
#
# Exit status: 0 every test passed; 1 a test failed; 2 bad usage or a
# missing kernel or initramfs; 3 the guest did not finish (timed out,
# panicked, or /init died); 4 qemu is missing or did not start.
set -u

timeout=${VM_TIMEOUT:-90}
log=""
outdir=""
resfile=""
append=""
verbose=0
qemu=${QEMU:-qemu-system-x86_64}

usage() {
	echo "usage: run.sh [-t SECONDS] [-o LOG] [-O DIR] [-r FILE] [-a WORDS] [-v] KERNEL INITRAMFS [-- QEMU-ARGS...]" >&2
	exit 2
}
while getopts t:o:O:r:a:v opt; do
	case $opt in
	t) timeout=$OPTARG ;;
	o) log=$OPTARG ;;
	O) outdir=$OPTARG ;;
	r) resfile=$OPTARG ;;
	a) append=$OPTARG ;;
	v) verbose=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
kernel=$1
initrd=$2
shift 2
[ "${1:-}" = -- ] && shift
[ -f "$kernel" ] || { echo "vm: $kernel: no kernel" >&2; exit 2; }
[ -f "$initrd" ] || { echo "vm: $initrd: no initramfs" >&2; exit 2; }
command -v "$qemu" >/dev/null 2>&1 || {
	echo "vm: $qemu is not installed (tools/vm/deps.sh installs it)" >&2
	exit 4
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
keep_log=1
if [ -z "$log" ]; then
	log=$(mktemp "${TMPDIR:-/tmp}/vm-console.XXXXXX")
	keep_log=0
fi
markers=$tmp/markers
: > "$markers"

cmdline="console=ttyS0 quiet panic=-1 sysctl.kernel.panic_on_rcu_stall=1 softlockup_panic=1"
[ -n "$append" ] && cmdline="$cmdline $append"

start=$(date +%s.%N)
# stdin from /dev/null: qemu must never wait for a terminal (or stop on
# SIGTTIN when timeout runs it in the background)
if [ "$verbose" -eq 1 ]; then
	{
		timeout -k 5 "$timeout" "$qemu" -accel tcg -cpu max -m 512 -nographic -no-reboot -nic none \
			-monitor none -serial stdio -serial "file:$markers" \
			-kernel "$kernel" -initrd "$initrd" -append "$cmdline" "$@" \
			</dev/null 2>"$tmp/stderr"
		echo $? > "$tmp/st"
	} | tee "$log"
	st=$(cat "$tmp/st")
else
	timeout -k 5 "$timeout" "$qemu" -accel tcg -cpu max -m 512 -nographic -no-reboot -nic none \
		-monitor none -serial stdio -serial "file:$markers" \
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline" "$@" \
		</dev/null >"$log" 2>"$tmp/stderr"
	st=$?
fi
end=$(date +%s.%N)
secs=$(echo "$start $end" | awk '{ printf "%.1f", $2 - $1 }')

# the markers, without the serial line's carriage returns
tr -d '\r' < "$markers" > "$tmp/m"
grep -q '^@@VM-' "$tmp/m" || tr -d '\r' < "$log" | grep '^@@VM-' > "$tmp/m"

[ -n "$resfile" ] && : > "$resfile"
failed=0
while read -r tag name status secs_t _; do
	case $tag in
	@@VM-RESULT)
		[ -n "$resfile" ] && echo "$name $status" >> "$resfile"
		if [ "$status" = 0 ]; then
			echo "vm: $name: passed (${secs_t}s)"
		else
			echo "vm: $name: FAILED (exit status $status, ${secs_t}s)"
			failed=1
		fi
		;;
	esac
done < "$tmp/m"
if [ -n "$outdir" ]; then
	mkdir -p "$outdir"
	# "@@VM-FILE name line": the line is everything after the second space
	grep '^@@VM-FILE ' "$tmp/m" | while IFS= read -r l; do
		rest=${l#@@VM-FILE }
		name=${rest%% *}
		case $name in */*|.*) continue ;; esac
		case $rest in
		*" "*) line=${rest#* } ;;
		*) line="" ;;
		esac
		printf '%s\n' "$line" >> "$outdir/$name.tmp"
	done
	for f in "$outdir"/*.tmp; do
		[ -e "$f" ] && mv "$f" "${f%.tmp}"
	done
fi

boot=$(sed -n 's/^@@VM-BOOT \([0-9.]*\).*/\1/p' "$tmp/m")
done_at=$(sed -n 's/^@@VM-DONE \([0-9.]*\).*/\1/p' "$tmp/m")
show_log() {
	echo "vm: console ($log), last lines:" >&2
	tr -d '\r' < "$log" | tail -n 25 | sed 's/^/    /' >&2
	keep_log=1
}
if [ -n "$done_at" ]; then
	echo "vm: guest done in ${secs}s (/init at ${boot}s, tests done at ${done_at}s guest time)"
	[ "$keep_log" -eq 0 ] && [ "$failed" -eq 0 ] && rm -f "$log"
	[ "$failed" -eq 0 ] || { [ "$keep_log" -eq 1 ] || echo "vm: console kept in $log"; exit 1; }
	exit 0
fi
if [ -z "$boot" ] && [ "$st" -ne 124 ] && [ "$st" -ne 137 ] && [ -s "$tmp/stderr" ]; then
	echo "vm: qemu did not start (status $st): $(head -n 3 "$tmp/stderr")" >&2
	rm -f "$log"
	exit 4
fi
case $st in
124|137) echo "vm: guest did not finish: timed out after ${timeout}s${boot:+ (/init reached at ${boot}s)}" >&2 ;;
*) echo "vm: guest did not finish: qemu exited (status $st) before @@VM-DONE${boot:+ (/init reached at ${boot}s)}" >&2 ;;
esac
show_log
exit 3
