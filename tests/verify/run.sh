#!/bin/sh
# run.sh [--update] NOOKSC RESULTFILE - nooksc verify against real headers.
#
# 1. Every IDL tree in the project agrees with its header: examples/idl
#    with examples/include, tests/codegen/tk.idl with tk.h.
# 2. Each case below copies examples/include into a temporary tree,
#    changes the header one way with sed, and compares verify's output
#    with tests/verify/NAME.err (the IDL is unchanged, so the positions
#    are the IDL's; the temporary directory is written as TMP).
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

if "$nooksc" verify -Iexamples/include -Iexamples/idl examples/idl/*.idl > "$tmp/out" 2>&1 &&
   [ ! -s "$tmp/out" ]; then
	pass "verify: examples/idl agrees with examples/include"
else
	fail "verify: examples/idl agrees with examples/include"; cat "$tmp/out"
fi
if "$nooksc" verify -Itests/codegen tests/codegen/tk.idl > "$tmp/out" 2>&1 && [ ! -s "$tmp/out" ]; then
	pass "verify: tests/codegen/tk.idl agrees with tk.h"
else
	fail "verify: tests/codegen/tk.idl agrees with tk.h"; cat "$tmp/out"
fi

# case NAME IDL SED-SCRIPT HEADER: changes HEADER (under nk/), verifies IDL
case_() {
	name=$1 idl=$2 script=$3 header=$4
	rm -rf "$tmp/t" && mkdir -p "$tmp/t/nk"
	cp examples/include/nk/*.h "$tmp/t/nk/"
	cp examples/idl/*.idl "$tmp/t/"
	sed -i "$script" "$tmp/t/nk/$header"
	if cmp -s "examples/include/nk/$header" "$tmp/t/nk/$header"; then
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

case_ prototype netdev.idl \
	's/int skb_copy_bits(const struct sk_buff \*skb, int offset, void \*to, int len);/int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, unsigned int len);/' \
	netdevice.h
case_ arity netdev.idl \
	's/struct sk_buff \*netdev_alloc_skb(struct net_device \*dev, unsigned int len);/struct sk_buff *netdev_alloc_skb(unsigned int len);/' \
	netdevice.h
case_ missing-function netdev.idl 's/^int netif_rx(struct sk_buff \*skb);$//' netdevice.h
case_ field-type netdev.idl 's/	unsigned int mtu;/	unsigned long mtu;/' netdevice.h
case_ missing-field netdev.idl 's/	unsigned int flags;//' netdevice.h
case_ ops-entry netdev.idl \
	's/	void (\*ndo_tx_timeout)(struct net_device \*dev, unsigned int txqueue);/	void (*ndo_tx_timeout)(struct net_device *dev);/' \
	netdevice.h
case_ constant-value core.idl 's/#define IFNAMSIZ 16/#define IFNAMSIZ 32/' core.h
case_ missing-constant netdev.idl 's/	NETDEV_TX_BUSY = 0x10,/	NETDEV_TX_LOCKED = 0x20,/' netdevice.h
case_ typedef netdev.idl 's/typedef enum netdev_tx netdev_tx_t;/typedef int netdev_tx_t;/' netdevice.h
case_ broken-header core.idl 's/^struct nk_mutex;$/struct nk_mutex; frobnicate x y;/' core.h

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
