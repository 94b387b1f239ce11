#!/bin/sh
# deps.sh - make sure the VM harness's host tools are here.
#
# The harness needs qemu-system-x86_64 (TCG: no /dev/kvm is needed), a
# busybox for the guest (busybox-static; a dynamic busybox also works, the
# initramfs then carries its libraries), cpio to pack the initramfs and
# xz to unpack the kernel, plus apt-get and dpkg-deb to fetch the kernel.
# What is missing is installed with apt-get when we are root; nothing is
# printed when everything is present.
#
# Exit 0 when the tools are there.  Otherwise exit 1 and print one line on
# stdout saying why (not root, no archive), which the caller turns into its
# "skipped" line: a machine that cannot have qemu skips the VM tests
# instead of failing them.
set -u

# check|package: check is a command on PATH or an absolute path that must exist
NEEDS="
qemu-system-x86_64|qemu-system-x86
busybox|busybox-static
cpio|cpio
xz|xz-utils
dpkg-deb|dpkg
apt-get|apt
"

missing=""
for need in $NEEDS; do
	check=${need%%|*}
	pkg=${need#*|}
	case $check in
	/*) [ -e "$check" ] && continue ;;
	*) command -v "$check" >/dev/null 2>&1 && continue ;;
	esac
	missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "not root and not installed:$missing"
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "no apt-get to install:$missing"
	exit 1
fi
echo "vm deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# Another apt-get may be running (other builds on this machine): wait for
# its lock instead of failing at once.
# shellcheck disable=SC2086
if ! apt-get -qq -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $missing >"$log" 2>&1; then
	# an old package index can name versions the archive no longer has
	apt-get -qq -o DPkg::Lock::Timeout=300 update >>"$log" 2>&1
	# shellcheck disable=SC2086
	if ! apt-get -qq -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $missing >>"$log" 2>&1; then
		echo "apt-get could not install$missing ($(grep -m1 '^E:' "$log" || echo 'no archive?'))"
		rm -f "$log"
		exit 1
	fi
fi
rm -f "$log"
for need in $NEEDS; do
	check=${need%%|*}
	command -v "$check" >/dev/null 2>&1 || [ -e "$check" ] || {
		echo "installed$missing but $check is still missing"
		exit 1
	}
done
exit 0
