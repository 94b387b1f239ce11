#!/bin/sh
# check-generated.sh NOOKSC RESULTFILE - is generated/ what the IDL and
# templates make today, and does it compile?
#
# Regenerates every tree into a temporary directory and compares it with
# the committed generated/ (any difference is printed and fails: commit
# the output of `make regen` with the change that caused it).  Then
# compiles every generated .c with -Wall -Wextra -Werror as C11, and every
# generated header as C and as C++; docs/idl.md's check table and
# examples are nooksc's (tools/checks-doc.sh --check).  Writes "PASSED FAILED" to RESULTFILE.
set -u
nooksc=$1
result=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/lib.sh

if sh tools/regen.sh "$nooksc" "$tmp/gen"; then
	if diff -ru -x README.md generated "$tmp/gen" > "$tmp/diff"; then
		ok "generated/ is current"
	else
		ko "generated/ differs from what 'make regen' writes:"
		cat "$tmp/diff"
	fi
else
	ko "regeneration failed"
fi

CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
for dir in generated/*/; do
	[ -d "$dir" ] || continue
	name=$(basename "$dir")
	case $name in
	linux-*)
		# Wrappers for a real kernel include its headers, which only
		# compile with that kernel's flags (-nostdinc, -D__KERNEL__, ...).
		# The user target's files here are only checked to be current
		# (the diff above) and the IDL verified (make verify-test); the
		# kernel-module target's (kmod/) are compiled into nooks.ko by
		# kbuild in make kmod-test (tests/kmod/run.sh), which counts it.
		echo "[NOTE] $dir: compiled by make kmod-test (kbuild), not here"
		continue ;;
	*) inc="-Ikernel/include" ;;
	esac
	for f in "$dir"*.c; do
		[ -e "$f" ] || continue
		if cc $CFLAGS $inc -Iruntime/include -I"$dir" -c "$f" -o "$tmp/x.o" 2> "$tmp/err"; then
			ok "compiles: $f"
		else
			ko "compiles: $f"
			head -20 "$tmp/err"
		fi
	done
	for h in "$dir"*.h; do
		[ -e "$h" ] || continue
		if cc $CFLAGS $inc -Iruntime/include -I"$dir" -x c -fsyntax-only "$h" 2> "$tmp/err" &&
		   c++ -std=c++11 -Wall -Wextra -Werror $inc -Iruntime/include -I"$dir" -x c++ -fsyntax-only "$h" 2>> "$tmp/err"; then
			ok "compiles as C and C++: $h"
		else
			ko "compiles as C and C++: $h"
			head -20 "$tmp/err"
		fi
	done
done

# The stub library: idl/nk's generated files linked as a shared object
# under the kernel API library's soname must export every kernel function
# the IDL declares under its real name (what an isolated extension binds
# to).
ex=generated/nk
if ls "$ex"/*_stubs.c >/dev/null 2>&1; then
	if cc $CFLAGS -fPIC -shared -Ikernel/include -Iruntime/include -I"$ex" \
		-Wl,-soname,libnk.so.1 -o "$tmp/libnk-wrap.so" "$ex"/*.c 2> "$tmp/err"; then
		missing=
		fns=$(for f in idl/nk/*.idl; do "$nooksc" --dump -I idl/nk "$f"; done |
			grep -v ' (from [a-z_0-9]*)$' | sed -n 's/^kernel \([a-z_0-9]*\): .*/\1/p')
		[ -n "$fns" ] || missing=" (no kernel functions in idl/nk?)"
		for fn in $fns; do
			nm -D --defined-only "$tmp/libnk-wrap.so" | grep -q " T $fn\$" || missing="$missing $fn"
		done
		if [ -z "$missing" ] &&
		   readelf -d "$tmp/libnk-wrap.so" | grep -q 'SONAME.*\[libnk.so.1\]'; then
			ok "stub library exports the kernel API under soname libnk.so.1"
		else
			ko "stub library: missing exports:$missing"
		fi
	else
		ko "stub library links"
		head -20 "$tmp/err"
	fi
fi

# docs/idl.md: its check table is --list-checks' and its examples give
# the diagnostics it shows
if sh tools/checks-doc.sh --check "$nooksc" > "$tmp/doc" 2>&1; then
	ok "docs/idl.md: check table and examples current"
else
	ko "docs/idl.md differs from nooksc (run tools/checks-doc.sh, fix the examples):"
	grep -v '^\[PASS\]' "$tmp/doc"
fi

echo "generated: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
