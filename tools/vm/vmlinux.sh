#!/bin/sh
# vmlinux.sh BZIMAGE OUT - the uncompressed ELF kernel inside a bzImage.
#
# qemu boots an ELF vmlinux directly through its PVH entry point, which
# skips the BIOS, the real-mode setup and the kernel's own decompression
# under TCG: 3 s to power-off instead of 7-10 s.  The bzImage says where
# its compressed kernel is (x86 boot protocol 2.08+): the setup code is
# (setup_sects + 1) sectors of 512 bytes (setup_sects at 0x1f1, 0 means
# 4), and the protected-mode part that follows holds the payload at
# payload_offset (0x248) for payload_length (0x24c) bytes.  The payload's
# first bytes name its compressor; the matching tool unpacks it and the
# result must be an ELF file with a PVH note, else we fail (exit 1) and the
# caller boots the bzImage instead.
set -eu
bz=$1
out=$2

field() {	# field OFFSET BYTES: an unsigned little-endian header field
	od -An -t "u$2" --endian=little -j "$1" -N "$2" "$bz" | tr -d ' '
}
fail() {
	echo "vmlinux.sh: $bz: $*" >&2
	rm -f "$out.tmp"
	exit 1
}

[ "$(dd if="$bz" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS ] ||
	fail "not a bzImage (no HdrS header)"
version=$(field $((0x206)) 2)
[ "$version" -ge $((0x208)) ] || fail "boot protocol $version predates payload_offset"
sects=$(field $((0x1f1)) 1)
[ "$sects" -eq 0 ] && sects=4
start=$(( (sects + 1) * 512 + $(field $((0x248)) 4) ))
len=$(field $((0x24c)) 4)

payload() {
	dd if="$bz" iflag=skip_bytes,count_bytes skip="$start" count="$len" bs=64k 2>/dev/null
}
magic=$(payload | od -An -t x1 -N 6 | tr -d ' \n')
case $magic in
fd377a585a00*) unpack="xz -dc --single-stream" ;;
1f8b*) unpack="gzip -dc" ;;
28b52ffd*) unpack="zstd -dcq" ;;
5d0000*) unpack="xz -dc --format=lzma" ;;
425a68*) unpack="bzip2 -dc" ;;
02214c18*) unpack="lz4 -dc" ;;
894c5a4f*) unpack="lzop -dc" ;;
7f454c46*) unpack="cat" ;;
*) fail "unknown payload compression (magic $magic)" ;;
esac
# gzip and lz4 complain about the 4-byte size the build appends after the
# stream: judge the output, not the exit status
payload | $unpack > "$out.tmp" 2>/dev/null || true
[ "$(od -An -t x1 -N 4 "$out.tmp" | tr -d ' ')" = 7f454c46 ] ||
	fail "payload (${unpack%% *}) did not unpack to an ELF file"
# qemu boots an ELF kernel only through XEN_ELFNOTE_PHYS32_ENTRY (18)
readelf -n "$out.tmp" 2>/dev/null | grep -E -q '^ *Xen .*(type: \(0x00000012\)|PHYS32)' ||
	fail "the ELF kernel has no PVH entry note (CONFIG_PVH)"
mv "$out.tmp" "$out"
