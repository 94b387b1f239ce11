#!/bin/bash
# free-port.sh - print a TCP port on 127.0.0.1 that nobody listens on
# (bash's /dev/tcp connect to it fails); exit 1 if 100 tries find none.
# For the scripts that start nkernel: tests/khttpd/run.sh, bench/khttpd.sh.
for _ in $(seq 1 100); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "$p"
		exit 0
	fi
done
echo "free-port.sh: no free port found" >&2
exit 1
