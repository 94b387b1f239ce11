#!/bin/bash
# free-port.sh - print a TCP port on 127.0.0.1 that nobody listens on
# (bash's /dev/tcp connect to it fails); exit 1 if 100 tries find none.
# For the scripts that start nkernel: tests/khttpd/run.sh, bench/khttpd.sh.
# The port is below the kernel's ephemeral range: a port in it can be
# taken between this check and the server's bind by any client's
# connection (curl, wrk, another test's), which made a start fail with
# "Address already in use".
lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
case $lo in '' | *[!0-9]*) lo=32768 ;; esac
[ "$lo" -gt 12000 ] || lo=32768
for _ in $(seq 1 100); do
	p=$((10000 + RANDOM % (lo - 10000)))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "$p"
		exit 0
	fi
done
echo "free-port.sh: no free port found" >&2
exit 1
