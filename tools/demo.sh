#!/bin/sh
# demo.sh NOOKSC - what `make run` shows today: the compiler at work.
#
# Checks the example network-driver interface, prints part of its checked
# model, breaks a copy of it in three ways and shows the diagnostics, the
# exit status and that no output file was written, then generates the
# wrappers and compiles them.  The user-space
# kernel with an isolated extension serving clients replaces this demo once
# the runtime and nkernel exist (see README.md, "Status").
set -eu
nooksc=$1
ex=examples/idl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. check the example interface ($ex/netdev.idl, importing core.idl)"
echo "\$ nooksc --check $ex/netdev.idl"
"$nooksc" --check "$ex/netdev.idl"
echo "exit status $? (no errors, no warnings)"

step "2. the checked model: ownership, sizes and failure values resolved"
echo "\$ nooksc --dump $ex/netdev.idl | grep -A3 -E '^(struct net_device|ops|kernel alloc_etherdev)'"
"$nooksc" --dump "$ex/netdev.idl" |
	grep -A3 -E '^(struct net_device |ops |kernel alloc_etherdev)' | grep -v '^--$'

step "3. a broken copy: a misspelt annotation, in+out, fault() on a kernel function"
cp "$ex/core.idl" "$ex/netdev.idl" "$tmp/"
sed -i -e 's/\[\[writable\]\] unsigned int mtu/[[writeable]] unsigned int mtu/' \
       -e 's/void \*to \[\[out, bytes(len)\]\]/void *to [[in, out, bytes(len)]]/' \
       -e 's/int netif_rx(struct sk_buff \*skb \[\[transfer\]\]);/int netif_rx(struct sk_buff *skb [[transfer]]) [[fault(-EIO)]];/' \
       "$tmp/netdev.idl"
mkdir "$tmp/out"
echo "\$ nooksc --dump -o out netdev.idl"
status=0
(cd "$tmp" && "$OLDPWD/$nooksc" --dump -o out netdev.idl) || status=$?
echo "exit status $status; files written to out/: $(ls "$tmp/out" | wc -l)"
[ "$status" -eq 1 ] && [ -z "$(ls "$tmp/out")" ]

step "4. the same input, fixed, writes its output"
cp "$ex/netdev.idl" "$tmp/netdev.idl"
(cd "$tmp" && "$OLDPWD/$nooksc" --dump -o out netdev.idl)
echo "out/: $(ls "$tmp/out")  ($(wc -l < "$tmp/out/netdev.dump") lines)"

step "5. generate the wrappers and compile them"
mkdir "$tmp/gen"
echo "\$ nooksc -o gen -I $ex $ex/core.idl $ex/netdev.idl"
"$nooksc" -o "$tmp/gen" -I "$ex" "$ex/core.idl" "$ex/netdev.idl"
ls "$tmp/gen" | tr '\n' ' '
echo
echo "the kernel wrapper an isolated driver calls for skb_copy_bits():"
sed -n '/^int nooks_kw_skb_copy_bits/,/^}/p' "$tmp/gen/net_kwrap.c"
for f in "$tmp"/gen/*.c; do
	cc -std=c11 -Wall -Wextra -Werror -Iexamples/include -Iruntime/include \
		-I"$tmp/gen" -c "$f" -o "$tmp/gen/$(basename "$f" .c).o"
done
echo "all $(ls "$tmp"/gen/*.o | wc -l) generated .c files compile with -Wall -Wextra -Werror"

printf '\nNext: libnooks (the runtime these wrappers call) and nkernel (README.md, "Status").\n'
