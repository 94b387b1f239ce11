#!/bin/sh
# run.sh BUILDDIR RESULTFILE - make install as an outside project meets it.
#
#  1. make install PREFIX=TMP/prefix: every file is there, pkg-config
#     (PKG_CONFIG_LIBDIR at the prefix only) describes it, nkernel and
#     nooksc run from it (nooksc also away from it, on DATADIR's templates).
#  2. From a scratch directory outside the tree, with only the prefix's
#     files, pkg-config and the installed nooks.mk (tests/install/
#     project.mk): an nkernel module, the wrapper library generated from
#     the installed idl/nk, programs on libnooks.so and libnooks.a; a
#     second make keeps the project's own default goal.
#  3. The installed nkernel runs the module natively and isolated (the
#     installed wrapper library), then isolated on the generated one;
#     nkctl lists it, its log shows it working, injected faults (and an
#     exit()) are contained.
#  4. make uninstall leaves nothing; the same with DESTDIR.
#
# Prints [PASS]/[FAIL] lines and "install: N passed, M failed"; writes
# "N M" to RESULTFILE.
set -u
if [ $# -ne 2 ]; then
	echo "usage: sh tests/install/run.sh BUILDDIR RESULTFILE" >&2
	exit 2
fi
B=$1
RESULT=$2
SRC=$(pwd)
HERE=$SRC/tests/install
MAKE=${MAKE:-make}
# The tree's make calls it: neither the tree's make (its install, below)
# nor the outside project may inherit that make's flags and variables.
unset MAKEFLAGS MFLAGS MAKELEVEL
case $B in
build-san) SAN=1 ;;
*) SAN= ;;
esac
export SAN
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nooks-install.XXXXXX") || exit 1
prefix=$tmp/prefix
proj=$tmp/proj
nkpid=
cleanup() {
	[ -n "$nkpid" ] && kill "$nkpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0
failed=0
# check NAME CONDITION...: a shell command that must succeed
check() {
	name=$1
	shift
	if "$@" > "$tmp/check.out" 2>&1; then
		echo "[PASS] $name"
		passed=$((passed + 1))
	else
		echo "[FAIL] $name:"
		sed 's/^/    /' "$tmp/check.out" | tail -n 20
		failed=$((failed + 1))
	fi
}
# has FILE PATTERN: FILE holds a line matching PATTERN (grep -E)
has() { grep -Eq -- "$2" "$1" || { echo "no /$2/ in $1:"; tail -n 15 "$1"; return 1; }; }
finish() {
	echo "install: $passed passed, $failed failed"
	echo "$passed $failed" > "$RESULT"
	[ "$failed" -eq 0 ]
	exit
}

# ---- 1. make install ----------------------------------------------------------

echo "-- make install PREFIX=$prefix"
check "make install" $MAKE -s --no-print-directory install PREFIX="$prefix" DESTDIR=
[ "$failed" -eq 0 ] || finish

# What an outside project may use: nothing of the tree from here on.
PATH=$prefix/bin:$PATH
PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig
PKG_CONFIG_PATH=
export PATH PKG_CONFIG_LIBDIR PKG_CONFIG_PATH
unset NKERNEL_CONTROL

files_present() {
	for f in bin/nooksc bin/nkctl bin/nkernel lib/nooks/nkernel lib/nooks/wrap/libnk.so.1 \
		lib/libnooks.a lib/libnooks.so lib/libnooks-ext.a lib/libnk.so.1 lib/libnk.so \
		lib/pkgconfig/nooks.pc lib/pkgconfig/nk.pc include/nooks.h include/nooks_runtime.h \
		include/nk/core.h include/nk/module.h share/nooks/nooks.mk share/nooks/templates/common.m4 \
		share/nooks/idl/nk/core.idl share/man/man1/nooksc.1 share/man/man1/nkernel.1 \
		share/man/man1/nkctl.1 share/doc/nooks/kernel.md; do
		[ -e "$prefix/$f" ] || { echo "missing: $f"; return 1; }
	done
}
check "installed files" files_present
# (echo: pkg-config ends its flags with a space)
check "pkg-config nooks, nk" sh -c "pkg-config --exists nooks nk &&
	[ \"\$(echo \$(pkg-config --cflags nk))\" = '-I$prefix/include' ] &&
	[ \"\$(echo \$(pkg-config --libs nooks))\" = '-L$prefix/lib -lnooks' ] &&
	[ \"\$(pkg-config --variable=nkernel nk)\" = '$prefix/lib/nooks/nkernel' ] &&
	[ \"\$(pkg-config --modversion nooks)\" = \"\$(nooksc --version | cut -d' ' -f2)\" ]"
check "nkernel runs from the prefix" sh -c "nkernel --version | grep -q '^nkernel ' &&
	! ldd '$prefix/lib/nooks/nkernel' | grep -q 'not found' &&
	ldd '$prefix/lib/nooks/nkernel' | grep -q 'libnk.so.1 => $prefix/lib/nooks/../libnk.so.1'"
# a nooksc away from the prefix (no templates beside it) falls back on
# DATADIR/templates as the install built it
check "nooksc finds DATADIR's templates from anywhere" sh -c "mkdir -p '$tmp/away' &&
	cp '$prefix/bin/nooksc' '$tmp/away/' && cd '$tmp/away' &&
	./nooksc -o . '$prefix/share/nooks/idl/nk/core.idl' && [ -s core_kwrap.c ] &&
	./nooksc -M -o . '$prefix/share/nooks/idl/nk/core.idl' | grep -q '$prefix/share/nooks/templates/user/kwrap.c.m4'"
check "man pages" sh -c "for m in nooksc nkernel nkctl; do
	groff -man -ww -z '$prefix/share/man/man1/'\$m.1 2>&1 | grep . && exit 1; done; exit 0"

# ---- 2. an outside project ----------------------------------------------------

echo "-- an outside project in $proj"
mkdir -p "$proj"
cp "$HERE/project.mk" "$proj/Makefile"
cp "$HERE/hello.c" "$HERE/rt.c" "$proj/"
cd "$proj" || exit 1
check "build: module, generated wrapper library, programs" $MAKE --no-print-directory
check "generated from the installed idl/nk" sh -c "ls gen/core_stubs.c gen/net_kwrap.c &&
	has() { grep -q \"\$2\" \"\$1\"; } && has gen/core.stamp.d '$prefix/share/nooks/templates/' &&
	readelf -d wrap/libnk.so.1 | grep -q 'SONAME.*libnk.so.1' &&
	nm -D --defined-only wrap/libnk.so.1 | grep -qw exit &&
	readelf -d hello.so | grep -q 'NEEDED.*libnk.so.1'"
check "libnooks.so and libnooks.a programs" sh -c "readelf -d rt | grep -q 'NEEDED.*libnooks.so.0' &&
	[ \"\$(./rt)\" = 'rt mprotect' ] &&
	! readelf -d rt-static | grep -q libnooks && [ \"\$(./rt-static)\" = 'rt mprotect' ]"
# a second run reads gen/*.stamp.d: `all` must still be the goal
sleep 1
touch hello.c
$MAKE --no-print-directory > "$tmp/make2.out" 2>&1
check "second make keeps the project's default goal" sh -c "cat '$tmp/make2.out' &&
	grep -q 'hello.so' '$tmp/make2.out' && $MAKE -q all"
touch "$prefix/share/nooks/idl/nk/net.idl"
$MAKE --no-print-directory > "$tmp/make3.out" 2>&1
check "an edited IDL regenerates its wrappers" sh -c "cat '$tmp/make3.out' &&
	grep -q 'nooksc.*net.idl' '$tmp/make3.out' && grep -q 'libnk.so.1' '$tmp/make3.out' &&
	$MAKE -q all"

# ---- 3. the installed nkernel -------------------------------------------------

# start NAME ARGS...: nkernel in the background on TMP/NAME.sock, its log in
# TMP/NAME.log; waits until nkctl list answers (60 s: a hang, not a slow start).
start() {
	sock=$tmp/$1.sock
	log=$tmp/$1.log
	out=$tmp/$1.out
	shift
	nkernel --control "$sock" --log "$log" "$@" > "$out" 2>&1 &
	nkpid=$!
	for _ in $(seq 1 1200); do
		nkctl -s "$sock" list > /dev/null 2>&1 && return 0
		kill -0 "$nkpid" 2>/dev/null || break
		sleep 0.05
	done
	echo "nkernel did not start:"
	cat "$out" "$log" 2>/dev/null | tail -n 20
	return 1
}
# stop: nkctl shutdown answers ok (nkernel is told to stop only once the
# answer is out); nkernel must exit 0 having logged "stopped".
stop() {
	nkctl -s "$sock" shutdown > "$tmp/stop.out" 2>&1
	ctl=$?
	wait "$nkpid"
	st=$?
	nkpid=
	if [ "$st" -eq 0 ] && [ "$ctl" -eq 0 ] && grep -q 'nkernel: stopped$' "$log"; then
		return 0
	fi
	echo "nkctl shutdown: exit $ctl; nkernel: exit $st"
	cat "$tmp/stop.out" "$out"
	tail -n 8 "$log"
	return 1
}
# ticks FILE GREETING N: the log shows tick N of GREETING (60 s at most)
ticks() {
	for _ in $(seq 1 1200); do
		grep -q "hello: $2 #$3\$" "$1" && return 0
		sleep 0.05
	done
	echo "no tick #$3 of $2 in $1:"
	tail -n 15 "$1"
	return 1
}

echo "-- the installed nkernel: native and isolated (installed wrapper library)"
if check "nkernel starts with hello native and isolated" start both \
	--isolation=none ./hello.so greeting=native period=20 \
	--isolation=mprotect ./hello.so greeting=isolated period=20; then
	check "nkctl list" sh -c "nkctl -s '$sock' list | tee /dev/stderr |
		grep -Eq '^hello +live +none' &&
		nkctl -s '$sock' list | grep -Eq '^hello-2 +live +mprotect'"
	check "native module ticks" ticks "$log" native 3
	check "isolated module ticks" ticks "$log" isolated 3
	check "a fault in the isolated one is contained" sh -c "nkctl -s '$sock' inject hello-2 null |
		tee /dev/stderr | grep -q 'hello-2: recovered in'"
	check "it ticks again from 1, the native one goes on" sh -c "
		grep -q 'nooks: hello-2: fault: Segmentation fault' '$log' &&
		n=\$(grep -c 'hello: isolated #1\$' '$log'); [ \"\$n\" -eq 2 ] || exit 1"
	check "native one still ticking" ticks "$log" native 10
	check "nkernel stops cleanly" stop
fi

echo "-- the installed nkernel, isolated on the generated wrapper library"
if check "nkernel starts with --wrapper wrap/libnk.so.1" start gen \
	--wrapper "$proj/wrap/libnk.so.1" ./hello.so greeting=generated period=20; then
	check "isolated module on it ticks" ticks "$log" generated 3
	check "a NULL dereference is contained" sh -c "nkctl -s '$sock' inject hello null |
		grep -q 'hello: recovered in'"
	check "exit() is contained (libnooks-ext.a linked in)" sh -c "nkctl -s '$sock' inject hello exit |
		tee /dev/stderr | grep -q 'called exit'"
	check "it ticks again" sh -c "nkctl -s '$sock' list | grep -Eq '^hello +live +mprotect +[0-9]+ +2 +2'"
	check "nkernel stops cleanly" stop
fi

# ---- 4. make uninstall --------------------------------------------------------

cd "$SRC" || exit 1
echo "-- make uninstall"
# only empty directories may be left, none of them ours
nothing_left() {
	left=$(find "$1" ! -type d; find "$1" -type d \( -name nooks -o -name nk \))
	[ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}
check "make uninstall" $MAKE -s --no-print-directory uninstall PREFIX="$prefix" DESTDIR=
check "nothing left in the prefix" nothing_left "$prefix"

echo "-- make install DESTDIR=$tmp/stage PREFIX=/usr/local"
stage=$tmp/stage
check "make install DESTDIR" $MAKE -s --no-print-directory install \
	DESTDIR="$stage" PREFIX=/usr/local
check "staged under DESTDIR, naming the final prefix" sh -c "
	[ -x '$stage/usr/local/bin/nooksc' ] && [ -x '$stage/usr/local/lib/nooks/nkernel' ] &&
	[ \"\$(readlink '$stage/usr/local/bin/nkernel')\" = ../lib/nooks/nkernel ] &&
	grep -qx 'prefix=/usr/local' '$stage/usr/local/lib/pkgconfig/nooks.pc' &&
	! grep -rq '$stage' '$stage/usr/local/lib/pkgconfig'"
check "make uninstall DESTDIR" $MAKE -s --no-print-directory uninstall \
	DESTDIR="$stage" PREFIX=/usr/local
check "nothing left under DESTDIR" nothing_left "$stage"

finish
