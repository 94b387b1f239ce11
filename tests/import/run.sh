#!/bin/sh
# run.sh [--update] NOOKSC RESULTFILE - golden tests for nooksc import.
#
# 1. The skeleton of inc/imp/test.h for the names in test.list equals
#    test.idl (its stderr, the warnings for what was left out, equals
#    test.err), and passes `nooksc --check` as is but for the variadic
#    imp_log (code generation cannot wrap it: the wrap-variadic error).
# 2. A skeleton of the same header from command-line names passes
#    `nooksc verify` against that header (imp_log is variadic: verify,
#    like code generation, cannot wrap it, so it is not asked for).
# 3. The example's header: its skeleton checks and verifies too.
# 4. Errors: each case's exit status and stderr equal NAME.err, and -o
#    leaves no file behind.
# --update rewrites test.idl and the .err files.  "PASSED FAILED" goes to
# RESULTFILE.
set -u
update=0
[ "${1:-}" = "--update" ] && { update=1; shift; }
nooksc=$1
result=$2
here=tests/import
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
pass() { echo "[PASS] $1"; passed=$((passed + 1)); }
fail() { echo "[FAIL] $1"; failed=$((failed + 1)); }

# same NAME EXPECTED ACTUAL: compare, or copy under --update
same() {
	if [ "$update" -eq 1 ]; then
		cmp -s "$2" "$3" || { cp "$3" "$2"; echo "[UPDATED] $2"; }
		passed=$((passed + 1))
	elif diff -u "$2" "$3"; then
		pass "$1"
	else
		fail "$1"
	fi
}

"$nooksc" import -I"$here/inc" imp/test.h --list "$here/test.list" -o "$tmp/test.idl" \
	2> "$tmp/test.stderr"
{ echo "# exit $?"; cat "$tmp/test.stderr"; } > "$tmp/test.err"
same "import: skeleton of imp/test.h" "$here/test.idl" "$tmp/test.idl"
same "import: what was left out, on stderr" "$here/test.err" "$tmp/test.err"
# but for imp_log: variadic, which code generation cannot wrap
"$nooksc" --check -Wno-fault-missing "$tmp/test.idl" > "$tmp/check" 2>&1
st=$?
if [ "$st" -eq 1 ] && [ "$(grep -c ': error: ' "$tmp/check")" -eq 1 ] &&
   grep -q "error: \[wrap-variadic\] cannot wrap variadic function 'imp_log'" "$tmp/check" &&
   ! grep -q ': warning: ' "$tmp/check"; then
	pass "import: the skeleton passes --check but for the variadic imp_log"
else
	fail "import: the skeleton passes --check but for the variadic imp_log"; cat "$tmp/check"
fi
"$nooksc" import -I"$here/inc" imp/test.h --struct imp_dev --ops imp_dev_ops \
	--function imp_alloc,imp_free,imp_register,imp_copy,imp_get_stats,imp_noargs,imp_inline \
	> "$tmp/v.idl" 2> "$tmp/err"
if [ -s "$tmp/v.idl" ] && [ ! -s "$tmp/err" ] &&
   "$nooksc" verify -I"$here/inc" "$tmp/v.idl" > "$tmp/err" 2>&1; then
	pass "import: a skeleton from command-line names passes verify"
else
	fail "import: a skeleton from command-line names passes verify"; cat "$tmp/err"
fi
if "$nooksc" import -Ikernel/include nk/workqueue.h --struct delayed_work \
	--ops work_ops --function alloc_delayed_work,schedule_delayed_work,cancel_delayed_work_sync,free_delayed_work \
	--interface workqueue -o "$tmp/workqueue.idl" > "$tmp/err" 2>&1 &&
   "$nooksc" --check -Wno-fault-missing "$tmp/workqueue.idl" >> "$tmp/err" 2>&1 &&
   "$nooksc" verify -Ikernel/include "$tmp/workqueue.idl" >> "$tmp/err" 2>&1; then
	pass "import: nk/workqueue.h, checked and verified"
else
	fail "import: nk/workqueue.h, checked and verified"; cat "$tmp/err"
fi

# bad NAME ARGS...: exit status and stderr against NAME.err, no -o file
bad() {
	name=$1
	shift
	"$nooksc" import -I"$here/inc" "$@" -o "$tmp/out.idl" > "$tmp/stdout" 2> "$tmp/stderr"
	{ echo "# exit $?"; cat "$tmp/stderr"; } > "$tmp/$name.err"
	same "import error: $name" "$here/$name.err" "$tmp/$name.err"
	if [ -e "$tmp/out.idl" ] || [ -s "$tmp/stdout" ] || ls "$tmp" | grep -q tmp; then
		fail "import error: $name: left output behind"
		rm -f "$tmp/out.idl" "$tmp"/*.tmp*
	fi
}
bad missing-header imp/nope.h --function imp_free
bad unknown-name imp/test.h --function imp_free,imp_nope --struct imp_nope --ops imp_nope
bad bad-list imp/test.h --list "$here/bad.list"
bad unknown-in-list imp/test.h --list "$here/unknown.list"
bad no-list imp/test.h --list "$here/nope.list"
bad broken-header imp/broken.h --function imp_broken
bad ops-union imp/test.h --ops imp_addr

echo "import: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
