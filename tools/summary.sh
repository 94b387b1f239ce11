#!/bin/sh
# summary.sh DIR [SUITE...] - add up the test suites' results and print the
# last line.
#
# Every suite writes "PASSED FAILED" into DIR/<suite>.  A suite expected
# (the SUITEs given, else make test's list below) that left no file (it
# crashed or did not build) counts as one failure, so a broken build can
# never look like a pass.
set -u
dir=$1
shift
[ $# -gt 0 ] || set -- unit-build codegen-build cggolden-build runtime-build golden-build cli-build \
	verify-build import-build generated-build kernel-build install-build khttpd-build netdrv-build fatfs-build hostile-build inject-build vm-build kmod-build proc-build proc-nkernel-build netdrv-proc-build fatfs-proc-build hostile-proc-build \
	kernel-build-san unit-build-san codegen-build-san cggolden-build-san runtime-build-san \
	cli-build-san fuzz-build-san
passed=0
failed=0
for suite in "$@"; do
	f="$dir/$suite"
	if [ -s "$f" ]; then
		read -r p fl < "$f"
		passed=$((passed + p))
		failed=$((failed + fl))
		printf '  %-16s %4d passed, %d failed\n' "$suite" "$p" "$fl"
	else
		failed=$((failed + 1))
		printf '  %-16s did not finish (counted as 1 failure)\n' "$suite"
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
