#!/bin/sh
# deps.sh [build] - install what the build and the tests need, if it is
# missing.
#
#   sh tools/deps.sh         what `make test`, `make run` and `make bench`
#                            need: the build's needs and the tests' (CUnit,
#                            curl, wrk, g++, binutils, ping, ip, fuse3,
#                            dosfstools, mtools, Linux 6.1 headers)
#   sh tools/deps.sh build   only what `make` and `make install` need (gcc,
#                            make, flex, bison, m4, llvm-14, libclang-14-dev,
#                            libfuse3-dev, libseccomp-dev)
#   sh tools/deps.sh bench   the tests' needs and gnuplot, for `make bench`'s
#                            plots
#
# `make deps` runs the first; the Makefile runs it before `make run`,
# `make test`, `make check`, `make bench` and the test targets, so each
# README command works alone on a fresh Debian 12 machine as root.  `make`
# and `make install` never run it: they install nothing.  Each need is a
# "command-or-file package" pair; only the missing packages are handed to
# apt-get, and nothing is printed when everything is already present.
set -eu

case ${1:-all} in
build) what=build ;;
all) what=all ;;
bench) what=bench ;;
*) echo "usage: sh tools/deps.sh [build|bench]" >&2; exit 2 ;;
esac

# check|package: check is a command on PATH or an absolute path that must exist.
BUILD_NEEDS="
cc|gcc
make|make
flex|flex
bison|bison
m4|m4
llvm-config-14|llvm-14
/usr/lib/llvm-14/include/clang-c/Index.h|libclang-14-dev
/usr/include/fuse3/fuse.h|libfuse3-dev
/usr/include/seccomp.h|libseccomp-dev
"
TEST_NEEDS="
/usr/include/CUnit/Basic.h|libcunit1-dev
curl|curl
wrk|wrk
c++|g++
readelf|binutils
nm|binutils
objcopy|binutils
pkg-config|pkg-config
ping|iputils-ping
ip|iproute2
fusermount3|fuse3
/usr/sbin/mkfs.vfat|dosfstools
/usr/sbin/fsck.vfat|dosfstools
mcopy|mtools
"
BENCH_NEEDS="
gnuplot|gnuplot-nox
"
NEEDS=$BUILD_NEEDS
[ "$what" = all ] && NEEDS="$BUILD_NEEDS $TEST_NEEDS"
[ "$what" = bench ] && NEEDS="$BUILD_NEEDS $TEST_NEEDS $BENCH_NEEDS"

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

# Debian's headers for Linux 6.1 (idl/linux-6.1 is verified against them,
# in the tests only): any installed linux-headers-6.1.*-amd64 will do, else
# the newest the archive offers (the ABI number changes with every point
# release; the -common package comes with it as a dependency).
kheaders_newest() {
	apt-cache search --names-only '^linux-headers-6\.1\.[0-9]+-[0-9]+-amd64$' 2>/dev/null |
		cut -d' ' -f1 | sort -V | tail -1
}
if [ "$what" != build ] && ! ls -d /usr/src/linux-headers-6.1.*-amd64 >/dev/null 2>&1; then
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
