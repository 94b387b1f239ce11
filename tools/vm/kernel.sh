#!/bin/sh
# kernel.sh [--deb] - Debian's Linux 6.1, ready for qemu; prints its path.
#
# Installing linux-image-amd64 takes minutes (its post-install builds an
# initramfs we do not want); `apt-get download` and `dpkg-deb` take
# seconds.  The package pinned is the one matching the installed
# /usr/src/linux-headers-6.1.*-amd64 (the headers modules are built
# against), else the newest 6.1 the archive has; VM_KPKG names another.
# Everything is cached in $VM_CACHE/kernel (default build/vm/kernel) and
# reused: the .deb (the kernel-module tests unpack their .ko files from
# it), the bzImage and the ELF vmlinux that tools/vm/vmlinux.sh extracts.
#
# Prints the kernel to boot: the vmlinux (fast PVH boot), or the bzImage
# when extraction failed.  --deb prints the .deb instead.  Exit 1, with
# the reason on stderr, when the package cannot be fetched.
set -eu
here=$(dirname "$0")
cache=${VM_CACHE:-build/vm}/kernel

newest_in_archive() {
	apt-cache search --names-only '^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$' 2>/dev/null |
		cut -d' ' -f1 | sort -V | tail -1
}
pkg=${VM_KPKG:-}
if [ -z "$pkg" ]; then
	hdr=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -1)
	if [ -n "$hdr" ]; then
		pkg=linux-image-${hdr#/usr/src/linux-headers-}
	else
		pkg=$(newest_in_archive)
		if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
			apt-get -qq update >/dev/null 2>&1 || true
			pkg=$(newest_in_archive)
		fi
	fi
fi
[ -n "$pkg" ] || { echo "kernel.sh: no linux-image-6.1.*-amd64 in the package index" >&2; exit 1; }
kver=${pkg#linux-image-}
dir=$cache/$kver
mkdir -p "$dir"

deb=$(ls "$dir"/"$pkg"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	echo "kernel.sh: downloading $pkg" >&2
	# as root, apt would drop to the _apt user, who cannot write here
	sandbox=""
	[ "$(id -u)" -eq 0 ] && sandbox="-o APT::Sandbox::User=root"
	# into a directory of its own, so an interrupted download is never
	# taken for a whole package
	rm -rf "$dir/partial"
	mkdir -p "$dir/partial"
	# shellcheck disable=SC2086
	if ! (cd "$dir/partial" && apt-get -qq $sandbox download "$pkg" >/dev/null 2>&1); then
		# an old index names files the archive no longer has
		[ "$(id -u)" -eq 0 ] && apt-get -qq update >/dev/null 2>&1
		# shellcheck disable=SC2086
		(cd "$dir/partial" && apt-get -qq $sandbox download "$pkg" >/dev/null 2>&1) || {
			echo "kernel.sh: apt-get download $pkg failed" >&2
			rm -rf "$dir/partial"
			rmdir "$dir" 2>/dev/null
			exit 1
		}
	fi
	mv "$dir/partial/$pkg"_*.deb "$dir/"
	rm -rf "$dir/partial"
	deb=$(ls "$dir"/"$pkg"_*.deb | head -1)
fi
if [ "${1:-}" = --deb ]; then
	echo "$deb"
	exit 0
fi

bz=$dir/vmlinuz-$kver
if [ ! -s "$bz" ]; then
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./boot/vmlinuz-$kver" > "$bz.tmp"
	mv "$bz.tmp" "$bz"
fi
vml=$dir/vmlinux-$kver
# a failed extraction is remembered, not retried on every run
if [ ! -s "$vml" ] && [ ! -e "$vml.failed" ]; then
	sh "$here/vmlinux.sh" "$bz" "$vml" || touch "$vml.failed"
fi
if [ -s "$vml" ]; then
	echo "$vml"
else
	echo "$bz"
fi
