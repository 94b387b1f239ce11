#!/bin/sh
# run.sh [--update] NOOKSC RESULTFILE - nooksc verify against real headers.
#
# 1. tests/codegen/tk.idl agrees with tk.h.
# 2. Each case below copies a tree (idl/nk with kernel/include/nk, or
#    tk.idl with tk.h) into a temporary directory, changes one header one
#    way with sed, and compares verify's output with tests/verify/NAME.err
#    (the IDL is unchanged, so the positions are the IDL's; the temporary
#    directory is written as TMP).
# 3. A header that does not compile is reported as [header] errors.
# 4. Every tree under idl/ (idl/nk, idl/linux-6.1, ...) agrees with its
#    headers (tools/verify-tree.sh; missing headers fail, never skip), and
#    for idl/linux-6.1 a copy of the real linux/slab.h with kfree's
#    parameter changed, put first on the include path, is caught at the
#    IDL line with the right message and a note in the copy.
# --update rewrites the .err files.  "PASSED FAILED" goes to RESULTFILE.
set -u
update=0
[ "${1:-}" = "--update" ] && { update=1; shift; }
nooksc=$1
result=$2
here=tests/verify
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
pass() { echo "[PASS] $1"; passed=$((passed + 1)); }
fail() { echo "[FAIL] $1"; failed=$((failed + 1)); }

if "$nooksc" verify -Itests/codegen tests/codegen/tk.idl > "$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
	pass "verify: tests/codegen/tk.idl agrees with tk.h"
else
	fail "verify: tests/codegen/tk.idl agrees with tk.h"; cat "$tmp/out"
fi

# case NAME IDL SED-SCRIPT HEADER: changes HEADER, verifies IDL.  IDL
# tk.idl is tests/codegen's tree (HEADER tk.h); any other is idl/nk's
# (HEADER under nk/, from kernel/include/nk).
case_() {
	name=$1 idl=$2 script=$3 header=$4
	rm -rf "$tmp/t" && mkdir -p "$tmp/t/nk"
	if [ "$idl" = tk.idl ]; then
		orig=tests/codegen/$header
		cp tests/codegen/tk.idl tests/codegen/tk.h "$tmp/t/"
	else
		orig=kernel/include/$header
		cp kernel/include/nk/*.h "$tmp/t/nk/"
		cp idl/nk/*.idl "$tmp/t/"
	fi
	sed -i "$script" "$tmp/t/$header"
	if cmp -s "$orig" "$tmp/t/$header"; then
		fail "$name: the sed script changed nothing"
		return
	fi
	(cd "$tmp/t" && "$OLDPWD/$nooksc" verify -I. "$idl") > "$tmp/out" 2>&1
	status=$?
	{ echo "# exit $status"; sed "s|$tmp/t|TMP|g" "$tmp/out"; } > "$tmp/got"
	if [ "$update" -eq 1 ]; then
		cp "$tmp/got" "$here/$name.err"
		echo "[UPDATED] $name"
		passed=$((passed + 1))
	elif diff -u "$here/$name.err" "$tmp/got"; then
		pass "$name"
	else
		fail "$name"
	fi
}

case_ prototype net.idl \
	's/^ssize_t kernel_recv(struct socket \*sock, void \*buf, size_t len, int flags);/ssize_t kernel_recv(struct socket *sock, void *buf, unsigned int len, int flags);/' \
	nk/net.h
case_ arity net.idl \
	's/^int kernel_listen(struct socket \*sock, int backlog);/int kernel_listen(int backlog);/' \
	nk/net.h
case_ missing-function net.idl 's/^int kernel_sock_shutdown(struct socket \*sock, int how);$//' nk/net.h
case_ field-type net.idl 's/^	unsigned int flags;/	unsigned long flags;/' nk/net.h
case_ missing-field net.idl 's/^	int state;.*//' nk/net.h
case_ ops-entry workqueue.idl \
	's/	void (\*func)(struct delayed_work \*work);/	void (*func)(struct delayed_work *work, int cpu);/' \
	nk/workqueue.h
case_ constant-value tk.idl 's/#define TK_NAME_LEN 16/#define TK_NAME_LEN 32/' tk.h
case_ missing-constant tk.idl 's/^#define TK_NAME_LEN 16.*//' tk.h
case_ typedef core.idl 's/^typedef unsigned int gfp_t;/typedef unsigned long gfp_t;/' nk/core.h
case_ broken-header core.idl 's/^struct mutex;$/struct mutex; frobnicate x y;/' nk/core.h

for dir in idl/*/; do
	[ -d "$dir" ] || continue
	tree=$(basename "$dir")
	if sh tools/verify-tree.sh "$nooksc" "$tree" > "$tmp/out" 2>&1; then
		pass "verify: idl/$tree agrees with its headers"
	else
		fail "verify: idl/$tree agrees with its headers"; cat "$tmp/out"
	fi
done

if [ -d idl/linux-6.1 ]; then
	name="linux-6.1: a changed prototype in a copy of linux/slab.h"
	if kf=$(sh tools/kernel-flags.sh 6.1 2> "$tmp/out"); then
		hdr=$(echo "$kf" | tr ' ' '\n' | sed -n 's|^-I\(.*-common/include\)$|\1|p')
		rm -rf "$tmp/k" && mkdir -p "$tmp/k/linux"
		sed 's/^void kfree(const void \*objp);$/void kfree(void *objp);/' \
			"$hdr/linux/slab.h" > "$tmp/k/linux/slab.h"
		line=$(grep -n 'void kfree(const void \*objp);' idl/linux-6.1/core.idl | cut -d: -f1)
		# shellcheck disable=SC2086
		"$nooksc" verify -I"$tmp/k" $kf -Iidl/linux-6.1 idl/linux-6.1/core.idl > "$tmp/out" 2>&1
		st=$?
		want="idl/linux-6.1/core.idl:$line:7: error: [verify] 'kfree' has another prototype in \"linux/slab.h\""
		if cmp -s "$hdr/linux/slab.h" "$tmp/k/linux/slab.h"; then
			fail "$name: the sed script changed nothing"
		elif [ "$st" -eq 1 ] && grep -qxF "$want" "$tmp/out" &&
		     grep -q "^$tmp/k/linux/slab.h:[0-9]*:[0-9]*: note: previous declaration is here" "$tmp/out" &&
		     [ "$(grep -c ': error: ' "$tmp/out")" -eq 1 ]; then
			pass "$name"
		else
			fail "$name (exit $st, wanted: $want)"; cat "$tmp/out"
		fi
	else
		fail "$name: no headers"; cat "$tmp/out"
	fi
fi

echo "verify: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
