#!/bin/bash
# run.sh BUILD RESULTFILE - fatfs end to end: nkernel with fatfs.so, images
# made by mkfs.vfat, mounted through FUSE, checked with the real tools.
#
#   1. FAT12, FAT16, FAT32, natively and isolated: files written through the
#      mount (long and short names, a directory that grows, a large file)
#      read back with mcopy and listed by mdir; fsck.vfat -n clean
#   2. files written with mtools read through the mount
#   3. fsx (tests/fatfs/fsx.c): random operations against a reference
#      directory, natively and isolated, fsck clean afterwards
#   4. faults of every class injected into isolated fatfs under fsx: fsx
#      sees nothing (the operation in flight runs again on the restarted
#      file system, open files reopened), fsck clean; the same fault is
#      fatal natively
#   5. fatfs_buggy.so (a FAT12 entry read past its sector): contained
#      isolated (the write fails, the rest is served, fsck clean), fatal
#      natively
#   6. FATFS_RESTARTS restarts (default 1,000) with files and a directory
#      open: descriptors, mappings, tracked objects and the VFS's objects
#      back where they were
#
# Every mount is unmounted on every exit path.  Without a usable
# /dev/fuse the mount tests are skipped (one line).  "PASSED FAILED" goes
# to RESULTFILE.
set -u
B=$1
result=$2
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
ext=$B/examples/fatfs.so
buggy=$B/examples/fatfs_buggy.so
restarts=${FATFS_RESTARTS:-1000}
faults=${FATFS_FAULTS:-24}
# the isolated runs' backend (mprotect; FATFS_ISO=process: the process backend)
iso_b=${FATFS_ISO:-mprotect}
# one malloc arena: glibc makes arenas (mappings) as threads contend, late
# and more on a loaded machine; the leak check would count them
export MALLOC_ARENA_MAX=1
export MTOOLS_SKIP_CHECK=1 MALLOC_ARENA_MAX=4 PATH=$PATH:/usr/sbin:/sbin

tmp=$(mktemp -d /tmp/fatfs-test.XXXXXX)
pids=""
mnts=""
cleanup() {
	for m in $mnts; do fusermount3 -u -z "$m" 2>/dev/null; done
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	for m in $mnts; do fusermount3 -u -z "$m" 2>/dev/null; done
	if [ -n "${FATFS_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. tests/lib.sh
finish() {
	echo "fatfs: $passed passed, $failed failed"
	echo "$passed $failed" > "$result"
	exit 0
}

cc -std=c11 -O2 -Wall -Wextra -Werror -o "$tmp/fsx" tests/fatfs/fsx.c || { ko "fsx builds"; finish; }

# start NAME ISOLATION MODULE [nkernel options]: sets pid, sock, log
start() {
	local name=$1 iso=$2 mod=$3
	shift 3
	sock=$tmp/$name.sock
	log=$tmp/$name.log
	"$nk" --control "$sock" --log "$log" --backoff 0 --max-restarts 64 --window 1 "$@" \
		--isolation="$iso" "$mod" > "$tmp/$name.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	for _ in $(seq 1 100); do
		"$ctl" -s "$sock" list > /dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "nkernel did not start:"; cat "$tmp/$name.out" "$log" 2>/dev/null | tail
	return 1
}
stop() {
	"$ctl" -s "$sock" shutdown > /dev/null 2>&1
	wait "$pid" 2>/dev/null
}
# died: nkernel ends within 20 s (else it is killed); its status in st
died() {
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	st=$?
}
# mount IMAGE DIR
mount_() {
	mkdir -p "$2"
	mnts="$mnts $2"
	"$ctl" -s "$sock" mount vfat "$1" "$2"
}
umount_() { "$ctl" -s "$sock" umount "$1"; }
# mkimg FILE FAT KB [mkfs options]
mkimg() {
	local f=$1 fat=$2 kb=$3
	shift 3
	rm -f "$f"
	mkfs.vfat -C -F "$fat" "$@" "$f" "$kb" > /dev/null
}
fsck_clean() { fsck.vfat -n "$1" > "$tmp/fsck.out" 2>&1 || { cat "$tmp/fsck.out"; return 1; }; }
stat_of() { "$ctl" -s "$sock" stats | awk -v k="$1" '$1 == k { print $2 }'; }
kb_of() { case $1 in 12) echo 4000 ;; 16) echo 30000 ;; 32) echo 70000 ;; esac; }

# ---- can FUSE be used here? ---------------------------------------------------

if ! start probe "$iso_b" "$ext"; then ko "nkernel starts with fatfs.so"; finish; fi
mkimg "$tmp/probe.img" 16 20000
if ! out=$(mount_ "$tmp/probe.img" "$tmp/probe" 2>&1); then
	echo "fatfs: /dev/fuse cannot be used here ($out): mount tests skipped"
	stop
	check "fatfs.so loads and registers vfat" true
	finish
fi
umount_ "$tmp/probe" > /dev/null
out=$("$ctl" -s "$sock" mount nosuchfs "$tmp/probe.img" "$tmp/probe" 2>&1); st=$?
check "mount of an unregistered type is refused" test "$st" = 1 -a -n "$(grep "no file system type 'nosuchfs'" <<< "$out")"
head -c 100000 /dev/zero > "$tmp/zero.img"
out=$("$ctl" -s "$sock" mount vfat "$tmp/zero.img" "$tmp/probe" 2>&1); st=$?
check "mount of a device that is not FAT is refused" test "$st" = 1
stop

# ---- 1. written through the mount, read with mtools ------------------------------

echo "-- written through the mount, checked with mtools and fsck"
head -c 300000 /dev/urandom > "$tmp/big.bin"
for iso in none "$iso_b"; do
	start w-$iso $iso "$ext" || { ko "nkernel starts ($iso)"; continue; }
	for fat in 12 16 32; do
		img=$tmp/w$fat-$iso.img m=$tmp/m-w$fat-$iso
		mkimg "$img" $fat "$(kb_of $fat)"
		if ! mount_ "$img" "$m" > /dev/null; then ko "FAT$fat $iso: mounts"; continue; fi
		echo short > "$m/SHORT.TXT"
		echo lower > "$m/lower.txt"
		echo long > "$m/A rather long file name, with spaces.text"
		mkdir -p "$m/Sub Directory/deeper"
		cp "$tmp/big.bin" "$m/Sub Directory/deeper/big.bin"
		for i in $(seq 1 60); do echo "$i" > "$m/Sub Directory/file number $i"; done
		mv "$m/lower.txt" "$m/Sub Directory/renamed.txt"
		rm "$m/Sub Directory/file number 7"
		check "FAT$fat $iso: ls through the mount" \
			test "$(ls "$m/Sub Directory" | wc -l)" = 61
		umount_ "$m"
		check "FAT$fat $iso: fsck.vfat -n clean" fsck_clean "$img"
		mdir -i "$img" "::/Sub Directory" > "$tmp/mdir.out" 2>&1
		check "FAT$fat $iso: mdir lists the long names" \
			grep -q "file number 60" "$tmp/mdir.out"
		rm -f "$tmp/back.bin"
		mcopy -i "$img" "::/Sub Directory/deeper/big.bin" "$tmp/back.bin" 2>/dev/null
		check "FAT$fat $iso: mcopy reads back the large file" cmp -s "$tmp/back.bin" "$tmp/big.bin"
		got=""
		for f in ::/SHORT.TXT "::/A rather long file name, with spaces.text" \
			 "::/Sub Directory/renamed.txt"; do
			got="$got$(mtype -i "$img" "$f" 2>/dev/null) "
		done
		check "FAT$fat $iso: mtype reads the short and long names" test "$got" = "short long lower "
	done
	stop
done

# ---- 2. written with mtools, read through the mount -------------------------------

echo "-- written with mtools, read through the mount"
start r "$iso_b" "$ext" || ko "nkernel starts"
for fat in 12 16 32; do
	img=$tmp/r$fat.img m=$tmp/m-r$fat
	mkimg "$img" $fat "$(kb_of $fat)"
	mmd -i "$img" "::/Made By Mtools"
	mcopy -i "$img" "$tmp/big.bin" "::/Made By Mtools/Random Data.bin"
	printf 'hello from mtools\n' > "$tmp/hello.txt"
	mcopy -i "$img" "$tmp/hello.txt" ::/HELLO.TXT
	mount_ "$img" "$m" > /dev/null || { ko "FAT$fat: mounts"; continue; }
	check "FAT$fat: a file mcopy wrote reads the same through the mount" \
		cmp -s "$m/Made By Mtools/Random Data.bin" "$tmp/big.bin"
	check "FAT$fat: names mtools made, any case" test "$(cat "$m/hello.txt")" = "hello from mtools"
	umount_ "$m"
	check "FAT$fat: still clean" fsck_clean "$img"
done
stop

# ---- 3. fsx, natively and isolated ------------------------------------------------

echo "-- fsx: random operations against a reference directory"
for iso in none "$iso_b"; do
	start x-$iso $iso "$ext" || { ko "nkernel starts ($iso)"; continue; }
	for fat in 16 32; do
		img=$tmp/x$fat-$iso.img m=$tmp/m-x$fat-$iso refd=$tmp/ref-x$fat-$iso
		mkimg "$img" $fat "$(kb_of $fat)"
		mkdir -p "$refd"
		mount_ "$img" "$m" > /dev/null || { ko "FAT$fat $iso: mounts"; continue; }
		if "$tmp/fsx" -s $fat -n 3000 "$m" "$refd" > "$tmp/fsx.out" 2>&1; then
			ok "fsx FAT$fat $iso: 3000 operations agree"
		else
			ko "fsx FAT$fat $iso: $(tail -1 "$tmp/fsx.out")"
		fi
		umount_ "$m"
		check "fsx FAT$fat $iso: fsck.vfat -n clean" fsck_clean "$img"
	done
	stop
done

# ---- 4. faults under load ---------------------------------------------------------

echo "-- faults injected into isolated fatfs under fsx"
classes="null wild stack loop abort ill fpe exit"
start f "$iso_b" "$ext" --timeout 300 || ko "nkernel starts"
img=$tmp/f.img m=$tmp/m-f refd=$tmp/ref-f
mkimg "$img" 32 70000
mkdir -p "$refd"
mount_ "$img" "$m" > /dev/null || ko "mounts"
"$tmp/fsx" -s 99 -n 1000000 -m 65536 "$m" "$refd" > "$tmp/fsx-f.out" 2>&1 &
fsx=$!
injected=0 contained=0
set -- $classes
for i in $(seq 1 "$faults"); do
	k=$1; shift; [ $# -eq 0 ] && set -- $classes
	sleep 0.1
	kill -0 $fsx 2>/dev/null || break
	out=$("$ctl" -s "$sock" inject fatfs "$k" 2>&1)
	injected=$((injected + 1))
	grep -q "fatfs: recovered in" <<< "$out" && contained=$((contained + 1))
done
sleep 0.3
kill -0 $fsx 2>/dev/null && fsx_alive=1 || fsx_alive=0
kill -TERM $fsx 2>/dev/null
wait $fsx; fst=$?
check "$injected faults injected, $contained contained and recovered" test "$injected" = "$faults" -a "$contained" = "$faults"
check "fsx under the faults: no difference ($(tail -1 "$tmp/fsx-f.out"))" test "$fsx_alive" = 1 -a "$fst" = 0
check "operations in flight ran again on the restarted file system" test "$(stat_of vfs_retried)" -gt 0
check "the mount was made again $(stat_of vfs_remounts) times" test "$(stat_of vfs_remounts)" -ge "$faults"
# the trees, compared in full
if "$tmp/fsx" -s 1 -n 0 "$m" "$refd" > "$tmp/cmp.out" 2>&1; then
	ok "after the faults the mount and the reference agree"
else
	ko "after the faults: $(tail -1 "$tmp/cmp.out")"
fi
umount_ "$m"
check "after $faults faults: fsck.vfat -n clean" fsck_clean "$img"
check "nkernel survived" kill -0 "$pid"
stop

echo "-- natively the same fault is fatal"
start fn none "$ext" || ko "nkernel starts"
mkimg "$tmp/fn.img" 16 20000
mount_ "$tmp/fn.img" "$tmp/m-fn" > /dev/null
echo data > "$tmp/m-fn/file"
"$ctl" -s "$sock" inject fatfs null > /dev/null 2>&1
died
check "native fatfs: an injected NULL dereference kills nkernel (139)" test "$st" = 139
check "... and its mount is dead" sh -c "! ls '$tmp/m-fn' > /dev/null 2>&1"
fusermount3 -u -z "$tmp/m-fn" 2>/dev/null

# ---- 5. the buggy variant --------------------------------------------------------

echo "-- fatfs_buggy.so: a FAT12 entry read one byte past its sector"
head -c 250000 /dev/urandom > "$tmp/fat12.bin"
start b "$iso_b" "$buggy" || ko "nkernel starts"
img=$tmp/b.img m=$tmp/m-b
mkimg "$img" 12 1600 -s 1
mount_ "$img" "$m" > /dev/null || ko "mounts"
echo before > "$m/before.txt"
cp "$tmp/fat12.bin" "$m/big.bin" 2> "$tmp/cp.err"; st=$?
check "isolated: the write that reaches cluster 341 fails (EIO)" \
	test "$st" != 0 -a -n "$(grep -i "input/output" "$tmp/cp.err")"
check "isolated: the overrun was caught (a fault in the FAT code)" \
	grep -qE "nooks: fatfs_buggy: fault: (its process died: )?Segmentation fault" "$log"
check "isolated: nkernel lives and the rest is served" test "$(cat "$m/before.txt" 2>/dev/null)" = before
umount_ "$m"
check "isolated: the image is clean (the failed writes left nothing)" fsck_clean "$img"
stop
start bn none "$buggy" || ko "nkernel starts"
mkimg "$img" 12 1600 -s 1
mount_ "$img" "$tmp/m-bn" > /dev/null
timeout 20 cp "$tmp/fat12.bin" "$tmp/m-bn/big.bin" 2>/dev/null
died
check "native: the same overrun kills nkernel (139)" test "$st" = 139
fusermount3 -u -z "$tmp/m-bn" 2>/dev/null

# ---- 6. restarts leak nothing ------------------------------------------------------

echo "-- $restarts restarts with open files: nothing leaks"
start l "$iso_b" "$ext" || ko "nkernel starts"
img=$tmp/l.img m=$tmp/m-l
mkimg "$img" 16 20000
mount_ "$img" "$m" > /dev/null || ko "mounts"
mkdir "$m/dir"
echo kept > "$m/dir/kept.txt"
exec 7> "$m/dir/open.txt"
exec 8< "$m/dir/kept.txt"
keys="fds mappings tracked vfs_inodes vfs_dentries vfs_handles vfs_bheads vfs_bdevs sockets files tasks threads"
snap() { "$ctl" -s "$sock" stats | awk -v keys="$keys" 'BEGIN { n = split(keys, k) } { v[$1] = $2 } END { for (i = 1; i <= n; i++) printf "%s=%s ", k[i], v[k[i]] }'; }
for i in $(seq 1 5); do "$ctl" -s "$sock" inject fatfs null > /dev/null; echo "w$i" >&7; done
before=$(snap)
good=0
for i in $(seq 1 "$restarts"); do
	"$ctl" -s "$sock" inject fatfs null > /dev/null && good=$((good + 1))
	echo "line $i" >&7
done
after=$(snap)
check "$good of $restarts restarts recovered" test "$good" = "$restarts"
# mappings within 4: the buffer pool's guard pages are mapped anew with
# each instance, and where they land decides which mappings merge
maps_b=$(sed 's/.*mappings=\([0-9]*\).*/\1/' <<< "$before")
maps_a=$(sed 's/.*mappings=\([0-9]*\).*/\1/' <<< "$after")
if [ "$(sed 's/mappings=[0-9]*//' <<< "$before")" = "$(sed 's/mappings=[0-9]*//' <<< "$after")" ] &&
   [ $((maps_a - maps_b)) -le 4 ] && [ $((maps_b - maps_a)) -le 4 ]; then
	ok "nothing leaked: $after"
else
	ko "leak: before $before, after $after"
fi
read -r line <&8
check "a file open across the restarts still reads" test "$line" = kept
exec 7>&- 8<&-
check "a file written across the restarts has every line" \
	test "$(grep -c '^line' "$m/dir/open.txt")" = "$restarts"
umount_ "$m"
check "after $restarts restarts: fsck.vfat -n clean" fsck_clean "$img"
stop

finish
