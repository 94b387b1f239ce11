#!/bin/sh
# deps.sh - install what the build and the tests need, if it is missing.
#
# Called by the Makefile before `make run`, `make test` and friends, so each
# README command works alone on a fresh Debian 12 machine as root. Each need
# is a "command-or-file package" pair; only the missing packages are handed to
# apt-get, and nothing is printed when everything is already present.
set -eu

# check|package: check is a command on PATH or an absolute path that must exist.
NEEDS="
flex|flex
bison|bison
m4|m4
llvm-config-14|llvm-14
/usr/lib/llvm-14/include/clang-c/Index.h|libclang-14-dev
/usr/include/CUnit/Basic.h|libcunit1-dev
curl|curl
wrk|wrk
cc|gcc
c++|g++
readelf|binutils
nm|binutils
"

missing=""
for need in $NEEDS; do
	check=${need%%|*}
	pkg=${need#*|}
	case $check in
	/*) [ -e "$check" ] && continue ;;
	*) command -v "$check" >/dev/null 2>&1 && continue ;;
	esac
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done

# Debian's headers for Linux 6.1 (idl/linux-6.1 is verified against them):
# any installed linux-headers-6.1.*-amd64 will do, else the newest the
# archive offers (the ABI number changes with every point release; the
# -common package comes with it as a dependency).
kheaders_newest() {
	apt-cache search --names-only '^linux-headers-6\.1\.[0-9]+-[0-9]+-amd64$' 2>/dev/null |
		cut -d' ' -f1 | sort -V | tail -1
}
if ! ls -d /usr/src/linux-headers-6.1.*-amd64 >/dev/null 2>&1; then
	kpkg=$(kheaders_newest)
	if [ -z "$kpkg" ] && [ "$(id -u)" -eq 0 ]; then
		apt-get -qq update >/dev/null
		kpkg=$(kheaders_newest)
	fi
	missing="$missing ${kpkg:-linux-headers-6.1-amd64}"
fi

[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install these packages yourself:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# An old package index can name versions the archive no longer has: refresh
# it once, then install.
apt-get -qq update >/dev/null
# shellcheck disable=SC2086
apt-get -qq install -y --no-install-recommends $missing >/dev/null
