# tests/lib.sh - what the test scripts share: the check counters and how
# a check is counted.  Sourced (". tests/lib.sh", from the top of the
# tree, as every suite runs); POSIX sh.  Each suite writes
# "PASSED FAILED" into its result file itself (tools/summary.sh).
passed=0
failed=0
ok() { echo "[PASS] $1"; passed=$((passed + 1)); }
ko() { echo "[FAIL] $1"; failed=$((failed + 1)); }
# check NAME COMMAND...: passes when COMMAND succeeds
check() {
	_check_name=$1
	shift
	if "$@"; then ok "$_check_name"; else ko "$_check_name"; fi
}
