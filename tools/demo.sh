#!/bin/sh
# demo.sh NOOKSC - the compiler at work (`make demo-nooksc`).
#
# Checks the nk kernel's socket interface (idl/nk/net.idl), prints part of
# its checked model, breaks a copy of it in three ways and shows the
# diagnostics, the exit status and that no output file was written, then
# generates the wrappers and compiles them.
set -eu
nooksc=$1
ex=idl/nk
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. check an interface ($ex/net.idl, importing core.idl)"
echo "\$ nooksc --check $ex/net.idl"
"$nooksc" --check "$ex/net.idl"
echo "exit status $? (no errors, no warnings)"

step "2. the checked model: ownership, sizes and failure values resolved"
echo "\$ nooksc --dump $ex/net.idl | grep -A3 -E '^(struct socket|kernel kernel_send)'"
"$nooksc" --dump "$ex/net.idl" |
	grep -A3 -E '^(struct socket |kernel kernel_send)' | grep -v '^--$'

step "3. a broken copy: a misspelt annotation, in+out, fault() on a kernel function"
cp "$ex/core.idl" "$ex/net.idl" "$tmp/"
sed -i -e 's/\[\[private\]\] void \*sk_user_data/[[privat]] void *sk_user_data/' \
       -e 's/void \*buf \[\[out, bytes(len)\]\]/void *buf [[in, out, bytes(len)]]/' \
       -e 's/int kernel_listen(struct socket \*sock, int backlog);/int kernel_listen(struct socket *sock, int backlog) [[fault(-EIO)]];/' \
       "$tmp/net.idl"
mkdir "$tmp/out"
echo "\$ nooksc --dump -o out net.idl"
status=0
(cd "$tmp" && "$OLDPWD/$nooksc" --dump -o out net.idl) || status=$?
echo "exit status $status; files written to out/: $(ls "$tmp/out" | wc -l)"
[ "$status" -eq 1 ] && [ -z "$(ls "$tmp/out")" ]

step "4. the same input, fixed, writes its output"
cp "$ex/net.idl" "$tmp/net.idl"
(cd "$tmp" && "$OLDPWD/$nooksc" --dump -o out net.idl)
echo "out/: $(ls "$tmp/out")  ($(wc -l < "$tmp/out/net.dump") lines)"

step "5. generate the wrappers and compile them"
mkdir "$tmp/gen"
echo "\$ nooksc -o gen -I $ex $ex/core.idl $ex/net.idl"
"$nooksc" -o "$tmp/gen" -I "$ex" "$ex/core.idl" "$ex/net.idl"
ls "$tmp/gen" | tr '\n' ' '
echo
echo "the kernel wrapper an isolated extension calls for kernel_send(), and its checks:"
sed -n '/^struct nkw_frame_kernel_send/,/^}/p; /^static void nkw_checked_kernel_send/,/^}/p; /^ssize_t nooks_kw_kernel_send/,/^}/p' "$tmp/gen/net_kwrap.c"
for f in "$tmp"/gen/*.c; do
	cc -std=c11 -Wall -Wextra -Werror -Ikernel/include -Iruntime/include \
		-I"$tmp/gen" -c "$f" -o "$tmp/gen/$(basename "$f" .c).o"
done
echo "all $(ls "$tmp"/gen/*.o | wc -l) generated .c files compile with -Wall -Wextra -Werror"
