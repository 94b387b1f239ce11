#!/bin/sh
# golden.sh [--update] NOOKSC RESULTFILE - generated code against its
# expected text.
#
# For each tests/codegen/*.idl, generate into a temporary directory and
# compare with tests/codegen/expected/<name>/ (diff -ru, printed on a
# failure).  --update rewrites the expected files instead: do that on
# purpose, read the diff, and commit it with the template change.
# Writes "PASSED FAILED" to RESULTFILE.
set -u
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
nooksc=$1
result=$2
here=tests/codegen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

for idl in "$here"/*.idl; do
	[ -e "$idl" ] || continue
	name=$(basename "$idl" .idl)
	want="$here/expected/$name"
	out="$tmp/$name"
	mkdir -p "$out"
	if ! "$nooksc" -o "$out" -I "$here" "$idl" 2> "$tmp/err"; then
		echo "[FAIL] codegen/$name: nooksc failed"
		cat "$tmp/err"
		failed=$((failed + 1))
		continue
	fi
	if [ "$update" -eq 1 ]; then
		rm -rf "$want"
		mkdir -p "$want"
		cp "$out"/* "$want"/
		echo "[UPDATED] codegen/$name"
		passed=$((passed + 1))
	elif diff -ru "$want" "$out"; then
		echo "[PASS] codegen/$name"
		passed=$((passed + 1))
	else
		echo "[FAIL] codegen/$name"
		failed=$((failed + 1))
	fi
done

echo "codegen golden: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
