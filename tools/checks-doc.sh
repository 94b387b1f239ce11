#!/bin/sh
# checks-doc.sh [--check] [NOOKSC [DOC]] - keep docs/idl.md true of nooksc.
#
# The check table of docs/idl.md is the output of `nooksc --list-checks`,
# written between the lines `<!-- checks:begin ... -->` and
# `<!-- checks:end -->`.  Without --check this rewrites that region in
# place.  With --check it changes nothing and fails (exit 1) when:
#   - the region differs from what --list-checks gives (it prints the diff);
#   - an IDL example of the document does not give the diagnostics the
#     document shows for it.
#
# The examples are the ```c blocks.  A block is a fragment of a file named
# ex.idl: it is checked after `interface ex; header "ex.h";` and a cpp
# line marker, so positions count from its own first line.  A comment line
# right before the block changes that:
#   <!-- raw -->          the block is the whole of ex.idl
#   <!-- name: F.idl -->  the block is the whole file F.idl, checked as such
#   <!-- file: F.idl -->  the whole file F.idl, only imported by others
#   <!-- generate -->     a fragment run through code generation (nooksc -o)
# A ```text block right after an example lists its diagnostics: every
# `FILE:LINE:COL: error|warning:` line of nooksc's output must be there, in
# the same order, and every such line there must be in the output (notes
# may be left out; caret lines and prose are not compared).  An example
# without one must give no diagnostic at all and exit 0.  A ```text block
# after `<!-- dump-of: F.idl -->` must equal `nooksc --dump F.idl`, where
# a line `...` stands for any run of lines.
# Prints [PASS]/[FAIL] lines and "N passed, M failed".
set -u

check=0
if [ "${1:-}" = "--check" ]; then
	check=1
	shift
fi
root=$(dirname "$(dirname "$0")")
nooksc=${1:-$root/build/nooksc}
doc=${2:-$root/docs/idl.md}

if [ ! -x "$nooksc" ]; then
	echo "checks-doc.sh: no nooksc at '$nooksc' (run make first)" >&2
	exit 2
fi
case $nooksc in
/*) ;;
*) nooksc=$(pwd)/$nooksc ;;	# the examples run in their own directories
esac
if ! grep -q '^<!-- checks:begin' "$doc" || ! grep -q '^<!-- checks:end' "$doc"; then
	echo "checks-doc.sh: $doc has no '<!-- checks:begin -->' ... '<!-- checks:end -->' region" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The table: one row per line of --list-checks, "NAME  LEVEL  PURPOSE".
if ! "$nooksc" --list-checks > "$tmp/list"; then
	echo "checks-doc.sh: '$nooksc --list-checks' failed" >&2
	exit 2
fi
{
	echo '| check | level | what it enforces |'
	echo '|---|---|---|'
	# shellcheck disable=SC2016 # the backquotes are markdown
	sed -e 's/|/\\|/g' \
	    -e 's/^\([^ ]*\)  *\([^ ]*\)  *\(.*\)$/| `\1` | \2 | \3 |/' "$tmp/list"
} > "$tmp/table"

# The document with the region replaced.
awk -v table="$tmp/table" '
	/^<!-- checks:begin/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
	/^<!-- checks:end/ { skip = 0 }
	!skip { print }
' "$doc" > "$tmp/new"

if [ $check = 0 ]; then
	if cmp -s "$doc" "$tmp/new"; then
		echo "$doc: check table is current"
	else
		cat "$tmp/new" > "$doc"
		echo "$doc: check table rewritten from '$nooksc --list-checks'"
	fi
	exit 0
fi

. tests/lib.sh

if diff -u "$doc" "$tmp/new" > "$tmp/diff"; then
	ok "check table = nooksc --list-checks"
else
	ko "check table differs from nooksc --list-checks (run sh tools/checks-doc.sh):"
	cat "$tmp/diff"
fi

# Split the examples out: ex/N/{mode,name,src,expect}; named files go to
# ex/files/ so that they can import each other.
mkdir -p "$tmp/ex/files"
awk -v dir="$tmp/ex" '
	function flush() { if (out) close(out); out = "" }
	/^<!-- .* -->$/ && !inblock { mark = $0; next }
	/^```c$/ && !inblock {
		n++; inblock = "c"; mode = "fragment"; name = ""
		if (mark ~ /^<!-- raw -->$/) mode = "raw"
		else if (mark ~ /^<!-- generate -->$/) mode = "generate"
		else if (mark ~ /^<!-- name: /) { mode = "name"; name = mark }
		else if (mark ~ /^<!-- file: /) { mode = "file"; name = mark }
		sub(/^<!-- [a-z]*: /, "", name); sub(/ -->$/, "", name)
		system("mkdir -p " dir "/" n)
		print mode > (dir "/" n "/mode"); close(dir "/" n "/mode")
		print name > (dir "/" n "/name"); close(dir "/" n "/name")
		out = dir "/" n "/src"; mark = ""; lastc = n; next
	}
	/^```text$/ && !inblock {
		inblock = "text"
		if (mark ~ /^<!-- dump-of: /) {
			dn++; name = mark
			sub(/^<!-- dump-of: /, "", name); sub(/ -->$/, "", name)
			system("mkdir -p " dir "/dump" dn)
			print name > (dir "/dump" dn "/name"); close(dir "/dump" dn "/name")
			out = dir "/dump" dn "/expect"
		} else if (lastc && follows) {
			out = dir "/" lastc "/expect"
		}
		mark = ""; next
	}
	/^```/ && !inblock { inblock = "other"; mark = ""; next }
	/^```$/ && inblock {
		flush(); follows = (inblock == "c"); inblock = ""; next
	}
	inblock { if (out) print > out; next }
	/^[ \t]*$/ { next }
	{ mark = ""; follows = 0 }
' "$doc"

for d in "$tmp/ex"/[0-9]*; do
	[ -d "$d" ] || continue
	mode=$(cat "$d/mode")
	case $mode in
	name|file) cp "$d/src" "$tmp/ex/files/$(cat "$d/name")" ;;
	esac
done

# The diagnostic lines of a nooksc output or of an expected block.
diags() {
	grep -E '^[^ 	]+:[0-9]+:[0-9]+: (error|warning): ' "$1"
}

n=0
while [ -d "$tmp/ex/$((n + 1))" ]; do
	n=$((n + 1))
	d=$tmp/ex/$n
	mode=$(cat "$d/mode")
	what="example $n ($(head -c 60 "$d/src" | head -1))"
	case $mode in
	file)
		continue ;;
	name)
		run="$tmp/ex/files"
		file=$(cat "$d/name")
		what="example $file" ;;
	*)
		run="$d/run"
		mkdir -p "$run"
		file=ex.idl
		if [ "$mode" = raw ]; then
			cp "$d/src" "$run/ex.idl"
		else
			{
				printf 'interface ex; header "ex.h";\n# 1 "ex.idl"\n'
				cat "$d/src"
			} > "$run/ex.idl"
		fi ;;
	esac
	if [ "$mode" = generate ]; then
		mkdir -p "$d/gen"
		(cd "$run" && "$nooksc" -o "$d/gen" "$file") > "$d/out" 2>&1
	else
		(cd "$run" && "$nooksc" --check "$file") > "$d/out" 2>&1
	fi
	status=$?
	diags "$d/out" > "$d/got"
	if [ -e "$d/expect" ]; then
		diags "$d/expect" > "$d/want"
		if cmp -s "$d/got" "$d/want"; then
			ok "$what"
		else
			ko "$what: diagnostics differ from the document's"
			diff -u "$d/want" "$d/got" | sed 1,2d
		fi
	elif [ $status -eq 0 ] && [ ! -s "$d/out" ]; then
		ok "$what"
	else
		ko "$what: expected no diagnostics, got (exit $status):"
		cat "$d/out"
	fi
done

# Does output $2 match the document's $1, where a line "..." stands for any
# run of lines (none included) and the other lines must appear as written?
dump_matches() {
	awk '
		NR == FNR { e[++m] = $0; next }
		{ a[++n] = $0 }
		END {
			i = 1	# next expected line
			j = 1	# next actual line
			while (i <= m) {
				if (e[i] == "...") {
					# the segment after the gap: its first place at or after j
					i++
					if (i > m)
						exit 0
					k = i
					while (k <= m && e[k] != "...")
						k++
					for (p = j; p + (k - i) - 1 <= n; p++) {
						for (q = 0; q < k - i && a[p + q] == e[i + q]; q++)
							;
						if (q == k - i)
							break
					}
					if (p + (k - i) - 1 > n)
						exit 1
					j = p + (k - i)
					i = k
				} else {
					if (j > n || a[j] != e[i])
						exit 1
					i++
					j++
				}
			}
			exit j <= n
		}
	' "$1" "$2"
}

for d in "$tmp/ex"/dump*; do
	[ -d "$d" ] || continue
	file=$(cat "$d/name")
	if (cd "$tmp/ex/files" && "$nooksc" --dump "$file") > "$d/got" 2>&1 &&
	   dump_matches "$d/expect" "$d/got"; then
		ok "dump of $file"
	else
		ko "dump of $file differs from the document's:"
		diff -u "$d/expect" "$d/got" | sed 1,2d
	fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
