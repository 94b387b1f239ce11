#!/bin/bash
# run.sh BUILD [PORT] - what `make run` shows: the nk kernel with khttpd
# isolated, serving curl, surviving an injected fault.
#
# Starts nkernel with khttpd.so in an mprotect domain on 127.0.0.1:PORT
# (default: 8088, or the next free port), serving examples/khttpd/www;
# fetches a page; injects a NULL dereference into khttpd through nkctl;
# shows the recovery lines of the kernel log; fetches again; stops.
set -u
B=$1
port=${2:-}
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
tmp=$(mktemp -d)
sock=$tmp/nkernel.sock
log=$tmp/kernel.log
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT

# bold only on a terminal; every command shown is the one run, quoted so
# that it can be pasted into a shell
if [ -t 1 ]; then
	bold() { printf '\n\033[1m%s\033[0m\n' "$*"; }
else
	bold() { printf '\n%s\n' "$*"; }
fi
cmdline() { printf '$'; printf ' %q' "$@"; }
show() { cmdline "$@"; echo; "$@"; }
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -z "$port" ]; then
	port=8088
	while busy $port; do port=$((port + 1)); done
elif busy "$port"; then
	echo "make run: port $port is in use; choose another: make run PORT=N" >&2
	exit 1
fi

bold "1. Start the kernel with khttpd isolated (mprotect domain) on 127.0.0.1:$port"
set -- "$nk" --control "$sock" --log "$log" --isolation=mprotect "$B/examples/khttpd.so" \
	root=examples/khttpd/www port="$port"
cmdline "$@"; echo " &"
"$@" &
pid=$!
for _ in $(seq 1 100); do
	"$ctl" -s "$sock" list > /dev/null 2>&1 && break
	kill -0 $pid 2>/dev/null || { cat "$log"; echo "make run: nkernel failed to start" >&2; exit 1; }
	sleep 0.05
done
if ! "$ctl" -s "$sock" list > /dev/null 2>&1; then
	cat "$log"
	echo "make run: nkernel failed to start" >&2
	exit 1
fi
sed 's/^/  log: /' "$log"

bold "2. A real client fetches a page"
show curl -s -i "http://127.0.0.1:$port/" | head -8

bold "3. The modules, as the kernel sees them"
show "$ctl" -s "$sock" list

bold "4. Inject a fault: khttpd dereferences NULL in its own code"
lines=$(wc -l < "$log")
show "$ctl" -s "$sock" inject khttpd null
echo "The kernel log meanwhile:"
tail -n +$((lines + 1)) "$log" | sed 's/^/  log: /'

bold "5. The kernel survived; khttpd was restarted and serves again"
show curl -s -o /dev/null -w 'HTTP %{http_code}, %{size_download} bytes in %{time_total} s\n' \
	"http://127.0.0.1:$port/"
show "$ctl" -s "$sock" list

bold "6. Stop the kernel"
show "$ctl" -s "$sock" shutdown
wait $pid
st=$?
pid=
tail -n 3 "$log" | sed 's/^/  log: /'
echo
echo "nkernel exited with status $st.  Natively (--isolation=none) the same"
echo "fault kills the kernel: see tests/khttpd/run.sh and docs/kernel.md."
exit $st
