#!/bin/sh
# run.sh - golden tests for nooksc: one input, one expected output, diff -u.
#
# Usage, from the repository root:
#   sh tests/golden/run.sh [--update] NOOKSC RESULTFILE
#
# tests/idl/bad/NAME.idl (inc/ beside it holds files the tests import; pending/
# holds inputs for known compiler bugs and is not run):
#   `NOOKSC [FLAGS] --check tests/idl/bad/NAME.idl` writes nothing on stdout,
#   and the line "# exit N" (N = its exit status) followed by exactly its
#   stderr equals NAME.err.  When N is not 0 there was an error, so
#   `NOOKSC [FLAGS] --dump -o DIR FILE` must also exit N and leave the empty
#   temporary DIR empty: no partial output on error.
# tests/idl/good/NAME.idl (inc/ again holds imported files):
#   `NOOKSC [FLAGS] --dump FILE` exits 0 with an empty stderr and its stdout
#   equals NAME.dump; `--dump -o DIR FILE` writes exactly DIR/NAME.dump, with
#   the same bytes.
# FLAGS come from a line "// nooksc-flags: -Werror" (say) in the .idl; most
# files have none.
# coverage: every check `NOOKSC --list-checks` names appears as [name] in a
#   bad/*.err, or (for checks whose only cases show a known bug) is the word
#   the first line of a pending/*.idl starts with ("// import-cycle: ..."),
#   and every .err and .dump still has its .idl.
#
# Each test prints [PASS] name, or [FAIL] name and what differed (diff -u
# expected actual).  The last line is "golden: N passed, M failed"; "N M"
# goes into RESULTFILE.  Exit status 1 if M > 0, 2 on bad usage.
#
# --update writes the actual output into NAME.err and NAME.dump instead of
# comparing, and names each file it changed ([UPDATE] path); read the diff
# before committing.  What has no expected file (empty stdout, the -o
# checks, coverage) is still checked and can still fail.
set -u
LC_ALL=C
export LC_ALL

update=0
if [ "${1-}" = --update ]; then
	update=1
	shift
fi
if [ $# -ne 2 ]; then
	echo "usage: sh tests/golden/run.sh [--update] NOOKSC RESULTFILE" >&2
	exit 2
fi
nooksc=$1
result=$2
case $nooksc in
*/*) ;;
*) nooksc=./$nooksc ;;	# a bare name would be looked up in PATH
esac
if [ ! -x "$nooksc" ] || [ ! -d tests/idl/bad ] || [ ! -d tests/idl/good ]; then
	echo "run.sh: run from the repository root with a built nooksc ($nooksc)" >&2
	exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golden.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' HUP INT TERM

passed=0
failed=0
log=$tmp/log		# what the running test found wrong

# flags FILE: the nooksc options the file asks for
flags() {
	sed -n 's|^// nooksc-flags:[ 	]*||p' "$1" | head -n 1
}

# expect EXPECTED ACTUAL: compare, or in --update mode rewrite EXPECTED
expect() {
	if [ -f "$1" ] && cmp -s "$1" "$2"; then
		return 0
	fi
	if [ $update -eq 1 ]; then
		cp "$2" "$1"
		echo "[UPDATE] $1"
		return 0
	fi
	if [ -f "$1" ]; then
		diff -u "$1" "$2" >> "$log"
	else
		echo "no expected file $1; the actual output was:" >> "$log"
		cat "$2" >> "$log"
	fi
	return 1
}

# finish NAME: count the test and say how it went
finish() {
	if [ -s "$log" ]; then
		echo "[FAIL] $1"
		cat "$log"
		failed=$((failed + 1))
	else
		echo "[PASS] $1"
		passed=$((passed + 1))
	fi
	: > "$log"
}

# empty_dir_check FLAGS FILE STATUS: --dump -o into an empty directory
# exits STATUS and writes nothing
empty_dir_check() {
	out=$(mktemp -d "$tmp/out.XXXXXX")
	# shellcheck disable=SC2086
	"$nooksc" $1 --dump -o "$out" "$2" > /dev/null 2>&1
	st=$?
	if [ "$st" -ne "$3" ]; then
		echo "--dump -o exited $st, --check exited $3" >> "$log"
	fi
	if [ -n "$(ls -A "$out")" ]; then
		echo "--dump -o left files behind after an error:" >> "$log"
		ls -A "$out" >> "$log"
	fi
	rm -rf "$out"
}

for idl in tests/idl/bad/*.idl; do
	[ -f "$idl" ] || continue
	name=${idl%.idl}
	fl=$(flags "$idl")
	: > "$log"
	# shellcheck disable=SC2086
	"$nooksc" $fl --check "$idl" > "$tmp/stdout" 2> "$tmp/stderr"
	st=$?
	{ echo "# exit $st"; cat "$tmp/stderr"; } > "$tmp/actual"
	if [ -s "$tmp/stdout" ]; then
		echo "--check wrote to stdout:" >> "$log"
		cat "$tmp/stdout" >> "$log"
	fi
	expect "$name.err" "$tmp/actual"
	if [ "$st" -ne 0 ]; then
		empty_dir_check "$fl" "$idl" "$st"
	fi
	finish "bad/${name##*/}"
done

for idl in tests/idl/good/*.idl; do
	[ -f "$idl" ] || continue
	name=${idl%.idl}
	base=${name##*/}
	fl=$(flags "$idl")
	: > "$log"
	# shellcheck disable=SC2086
	"$nooksc" $fl --dump "$idl" > "$tmp/stdout" 2> "$tmp/stderr"
	st=$?
	if [ "$st" -ne 0 ]; then
		echo "--dump exited $st, not 0" >> "$log"
	fi
	if [ -s "$tmp/stderr" ]; then
		echo "--dump wrote to stderr:" >> "$log"
		cat "$tmp/stderr" >> "$log"
	fi
	expect "$name.dump" "$tmp/stdout"
	out=$(mktemp -d "$tmp/out.XXXXXX")
	# shellcheck disable=SC2086
	"$nooksc" $fl --dump -o "$out" "$idl" > "$tmp/stdout-o" 2>&1
	st=$?
	if [ "$st" -ne 0 ] || [ -s "$tmp/stdout-o" ]; then
		echo "--dump -o exited $st, and printed:" >> "$log"
		cat "$tmp/stdout-o" >> "$log"
	fi
	if [ "$(ls -A "$out")" != "$base.dump" ]; then
		echo "--dump -o wrote these files, not just $base.dump:" >> "$log"
		ls -A "$out" >> "$log"
	elif ! cmp -s "$out/$base.dump" "$tmp/stdout"; then
		echo "--dump -o wrote other bytes than --dump printed:" >> "$log"
		diff -u "$tmp/stdout" "$out/$base.dump" >> "$log"
	fi
	rm -rf "$out"
	finish "good/$base"
done

# Every check has a test case (adding a check is adding a row and a test).
: > "$log"
"$nooksc" --list-checks > "$tmp/checks" 2>> "$log" ||
	echo "--list-checks failed" >> "$log"
pending=
while read -r check _; do
	if cat tests/idl/bad/*.err 2> /dev/null | grep -qF "[$check]"; then
		continue
	fi
	if for p in tests/idl/bad/pending/*.idl; do
		[ -f "$p" ] && head -n 1 "$p"
	   done | grep -q "^// $check:"; then
		pending="$pending $check"
		continue
	fi
	echo "no bad/*.err reports [$check]" >> "$log"
done < "$tmp/checks"
# and no expected file has lost its input
for exp in tests/idl/bad/*.err tests/idl/good/*.dump; do
	[ -f "$exp" ] || continue
	[ -f "${exp%.*}.idl" ] || echo "$exp has no ${exp%.*}.idl" >> "$log"
done
if [ -n "$pending" ]; then
	echo "note: tested only in bad/pending/ (known bugs):$pending"
fi
finish coverage

echo "golden: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
