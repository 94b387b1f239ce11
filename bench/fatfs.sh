#!/bin/bash
# fatfs.sh BUILDDIR - fatfs through FUSE, native against isolated, in one
# nkernel: fatfs.so loaded natively (type vfatn) and isolated (vfat), each
# mounting its own FAT32 image (4 KiB clusters).  Alternated rounds of:
# sequential write (dd, 128 KiB blocks, fsync at the end), sequential
# read (a fresh open: FUSE's page cache is dropped at open), and metadata
# operations (creates, stats and unlinks of small files).  Then
# FATFS_BENCH_FAULTS faults injected into the isolated copy while idle,
# for its recovery time, remount included.  Prints markdown tables.
set -u
B=$1
rounds=${FATFS_BENCH_ROUNDS:-3}
mib=${FATFS_BENCH_MIB:-32}
nfiles=${FATFS_BENCH_FILES:-500}
nfaults=${FATFS_BENCH_FAULTS:-20}
export PATH=$PATH:/usr/sbin:/sbin
tmp=$(mktemp -d /tmp/fatfs-bench.XXXXXX)
sock=$tmp/ctl.sock
pid=
cleanup() {
	for m in "$tmp"/m-*; do fusermount3 -u -z "$m" 2>/dev/null; done
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ctl() { "$B/kernel/nkctl" -s "$sock" "$@"; }

"$B/kernel/nkernel" --control "$sock" --log "$tmp/log" --backoff 0 --max-restarts 64 \
	--window 1 --isolation=none "$B/examples/fatfs.so" type=vfatn \
	--isolation=mprotect "$B/examples/fatfs.so" type=vfat > "$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 1 100); do ctl list > /dev/null 2>&1 && break; sleep 0.05; done
for k in none mprotect; do
	mkfs.vfat -C -F 32 -s 8 "$tmp/$k.img" $((mib * 1024 * 3)) > /dev/null
	mkdir -p "$tmp/m-$k"
	t=vfat
	[ $k = none ] && t=vfatn
	ctl mount $t "$tmp/$k.img" "$tmp/m-$k" > /dev/null || { echo "fatfs.sh: cannot mount"; exit 1; }
done

now() { date +%s%N; }
# MiB/s of `what` on mount k
write_bw() {
	local m=$tmp/m-$1 s e
	rm -f "$m/big"
	s=$(now)
	dd if=/dev/zero of="$m/big" bs=128k count=$((mib * 8)) conv=fsync status=none
	e=$(now)
	echo "$mib $s $e" | awk '{ printf "%.1f", $1 / (($3 - $2) / 1e9) }'
}
read_bw() {
	local m=$tmp/m-$1 s e
	s=$(now)
	dd if="$m/big" of=/dev/null bs=128k status=none
	e=$(now)
	echo "$mib $s $e" | awk '{ printf "%.1f", $1 / (($3 - $2) / 1e9) }'
}
meta_ops() {
	local m=$tmp/m-$1 s e
	mkdir -p "$m/meta"
	s=$(now)
	for i in $(seq 1 "$nfiles"); do : > "$m/meta/file number $i.txt"; done
	ls -l "$m/meta" > /dev/null
	rm -r "$m/meta"
	e=$(now)
	echo "$nfiles $s $e" | awk '{ printf "%.0f", 3 * $1 / (($3 - $2) / 1e9) }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -n | awk '{ v[NR] = $1 } END { print v[1] ".." v[NR] }'; }

for r in $(seq 1 "$rounds"); do
	for k in none mprotect; do
		write_bw $k >> "$tmp/w-$k"; echo >> "$tmp/w-$k"
		read_bw $k >> "$tmp/r-$k"; echo >> "$tmp/r-$k"
		meta_ops $k >> "$tmp/o-$k"; echo >> "$tmp/o-$k"
	done
done

echo "| fatfs through FUSE, FAT32 4 KiB clusters, $rounds rounds alternated | native (median) | spread | isolated, mprotect (median) | spread | vs native |"
echo "|---|---:|---|---:|---|---:|"
row() {
	local n i
	n=$(median < "$tmp/$1-none")
	i=$(median < "$tmp/$1-mprotect")
	echo "| $2 | $n $3 | $(spread < "$tmp/$1-none") | $i $3 | $(spread < "$tmp/$1-mprotect") | $(echo "$n $i" | awk '{ printf "%.2fx", $2 / $1 }') |"
}
row w "sequential write, $mib MiB, 128 KiB blocks, fsync" "MiB/s"
row r "sequential read, $mib MiB, 128 KiB blocks" "MiB/s"
row o "metadata: create, stat, unlink $nfiles files" "ops/s"
echo

# recovery while mounted, with a file open: injection to serving again
exec 9< "$tmp/m-mprotect/big"
for i in $(seq 1 "$nfaults"); do
	ctl inject fatfs-2 null | sed -n 's/.*recovered in \([0-9]*\) us (\([0-9]*\) us from.*/\1 \2/p'
done > "$tmp/rec"
exec 9<&-
echo "| recovery, isolated fatfs mounted with a file open ($nfaults faults \`null\`) | median | worst |"
echo "|---|---:|---:|"
echo "| error return to serving again (release, reload, init, remount, reopen) | $(cut -d' ' -f1 "$tmp/rec" | median) us | $(cut -d' ' -f1 "$tmp/rec" | sort -n | tail -1) us |"
echo "| injection to serving again | $(cut -d' ' -f2 "$tmp/rec" | median) us | $(cut -d' ' -f2 "$tmp/rec" | sort -n | tail -1) us |"
for k in none mprotect; do ctl umount "$tmp/m-$k" > /dev/null; done
ctl shutdown > /dev/null
wait "$pid"
pid=
