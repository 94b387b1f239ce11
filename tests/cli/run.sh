#!/bin/sh
# run.sh NOOKSC RESULTFILE - the nooksc command line: options, exit
# statuses, and that a run with any error writes no output at all.
#
# Each case prints [PASS]/[FAIL] with what differed; the totals go to
# RESULTFILE as "PASSED FAILED".
set -u
nooksc=$1
result=$2
good=idl/nk/net.idl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect NAME STATUS PATTERN -- command...: status must match and stdout+stderr
# must contain PATTERN (grep -E; empty: anything).
expect() {
	name=$1 want=$2 pattern=$3
	shift 4
	"$@" >"$tmp/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && { [ -z "$pattern" ] || grep -Eq -- "$pattern" "$tmp/out"; }; then
		echo "[PASS] $name"
		passed=$((passed + 1))
	else
		echo "[FAIL] $name: exit $got (wanted $want), output:"
		sed 's/^/    /' "$tmp/out" | head -20
		failed=$((failed + 1))
	fi
}

# check NAME CONDITION...: a shell condition that must hold
check() {
	name=$1
	shift
	if "$@"; then
		echo "[PASS] $name"
		passed=$((passed + 1))
	else
		echo "[FAIL] $name"
		failed=$((failed + 1))
	fi
}

empty_dir() { [ -z "$(ls -A "$1")" ]; }

expect "--help" 0 "^Usage: nooksc" -- "$nooksc" --help
expect "--version" 0 "^nooksc [0-9]+\.[0-9]+" -- "$nooksc" --version
expect "--list-checks" 0 "^alloc-release-missing +error" -- "$nooksc" --list-checks
expect "no input" 2 "no input files" -- "$nooksc" --check
expect "unknown option" 2 "unknown option '--frob'" -- "$nooksc" --frob x.idl
expect "unknown single-dash option" 2 "unknown option '-MX'" -- "$nooksc" -o "$tmp" -MX x.idl
expect "unknown letter in a cluster" 2 "unknown option '-z' in '-cz'" -- "$nooksc" -cz x.idl
expect "missing argument" 2 "option '-I' needs an argument \(a directory\)" -- "$nooksc" --check x.idl -I
expect "-MF without its file" 2 "option '-MF' needs an argument \(a file name\)" -- "$nooksc" x.idl -MF
expect "-MT without its target" 2 "option '-MT' needs an argument \(a make target\)" -- "$nooksc" -M x.idl -MT
expect "argument to a flag" 2 "option '-MD' takes no argument \(in '-MD=x.d'\)" -- "$nooksc" -MD=x.d x.idl
expect "argument to a long flag" 2 "option '--check' takes no argument \(in '--check=yes'\)" -- \
	"$nooksc" --check=yes x.idl
expect "empty -o" 2 "option '-o' needs a directory, not an empty name" -- "$nooksc" -o "" x.idl
expect "an error as -Wno-" 2 "'-Wno-syntax': \[syntax\] is an error" -- "$nooksc" -Wno-syntax --check "$good"
expect "unknown -Wno-" 2 "'-Wno-frob': no check is called 'frob'" -- "$nooksc" -Wno-frob --check "$good"
expect "unknown -W" 2 "unknown warning option '-Wfrob'" -- "$nooksc" -W frob --check "$good"
expect "-MD's would-be argument" 1 "note: '-MD' takes no argument, so 'deps.d' was read as an input file" -- \
	"$nooksc" -o "$tmp" -MD deps.d "$good"
expect "-MP alone" 2 "-MP and -MT need -M, -MM, -MD, -MMD or -MF" -- "$nooksc" -MP "$good"
expect "-MD with --check" 2 "-MD goes with code generation, not with --check" -- "$nooksc" --check -MD "$good"
expect "-MF with --dump" 2 "-MF goes with code generation, -M or -MM only" -- "$nooksc" --dump -MF x.d "$good"
expect "-M and -MM together" 2 "exclude each other" -- "$nooksc" -M -MM "$good"
expect "-Werror after the input" 1 "error: \[fault-missing\]" -- sh -c "printf 'interface w; header \"w.h\";\nops o { int f(void); };\n' > '$tmp/w0.idl' && '$nooksc' --check '$tmp/w0.idl' -Werror"
expect "bad --max-errors" 2 "max-errors" -- "$nooksc" --max-errors=0 --check "$good"
expect "check and dump together" 2 "exclude" -- "$nooksc" --check --dump "$good"
expect "missing file" 1 "cannot read 'nope.idl'" -- "$nooksc" --check nope.idl
expect "directory as input" 1 "Is a directory" -- "$nooksc" --check idl
expect "good file" 0 "" -- "$nooksc" --check "$good"
expect "dump to stdout" 0 "^interface net$" -- "$nooksc" --dump "$good"

# a warning: 0, or 1 with -Werror, or silent with -Wno-
printf 'interface w; header "w.h";\nops o { int f(void); };\n' > "$tmp/warn.idl"
expect "warning exits 0" 0 "warning: \[fault-missing\]" -- "$nooksc" --check "$tmp/warn.idl"
expect "-Werror" 1 "error: \[fault-missing\]" -- "$nooksc" -Werror --check "$tmp/warn.idl"
expect "-Wno-fault-missing" 0 "" -- "$nooksc" -Wno-fault-missing --check "$tmp/warn.idl"
check "-Wno-fault-missing is silent" test ! -s "$tmp/out"

# diagnostics: sorted by position, "In file imported from" once per change
# of file, a missing ';' just after the token it should follow
mkdir "$tmp/diag"
printf 'interface c; header "c.h";\nstruct sc { int z [[bogus]]; };\n' > "$tmp/diag/c.idl"
printf 'interface b; header "b.h";\nimport "c.idl";\nconst int B1 = x1;\nconst int B2 = x2;\n' > "$tmp/diag/b.idl"
printf 'interface a; header "a.h";\nconst int A1 = y1;\nimport "b.idl";\nconst int A2 = y2;\n' > "$tmp/diag/a.idl"
expect "errors in imported files" 1 "" -- "$nooksc" --check "$tmp/diag/a.idl"
grep -E '^(In file|  |[^ ]*:[0-9]+:[0-9]+:)' "$tmp/out" | grep -v '^  *\^' | sed "s|$tmp/diag/||g" > "$tmp/diag/got"
cat > "$tmp/diag/want" <<'EOF2'
a.idl:2:16: error: [const-value] 'y1' is not a declared constant
In file imported from b.idl:2:8,
                 from a.idl:3:8:
c.idl:2:21: error: [annotation-unknown] unknown annotation 'bogus'
In file imported from a.idl:3:8:
b.idl:3:16: error: [const-value] 'x1' is not a declared constant
b.idl:4:16: error: [const-value] 'x2' is not a declared constant
a.idl:4:16: error: [const-value] 'y2' is not a declared constant
EOF2
check "sorted as the text reads, with the import lines" diff -u "$tmp/diag/want" "$tmp/diag/got"
printf 'interface s; header "s.h";\nstruct s {\n\tint x;\n}\n\nconst int X = 1;\n' > "$tmp/diag/semi.idl"
expect "missing ';' just after the '}'" 1 "semi.idl:4:2: error: \[syntax\] expected ';' after '}', found 'const'" -- \
	"$nooksc" --check "$tmp/diag/semi.idl"
check "with the caret after it" sh -c "sed -n 2,3p '$tmp/out' | tr '\n' '|' | grep -qxF '}| ^|'"

# all or nothing across inputs
printf 'interface b; header "b.h";\nconst int A = B;\n' > "$tmp/bad.idl"
mkdir "$tmp/o1" "$tmp/o2"
expect "dump -o with a bad input" 1 "\[const-value\]" -- "$nooksc" --dump -o "$tmp/o1" "$good" "$tmp/bad.idl"
check "no output when any input fails" empty_dir "$tmp/o1"
expect "dump -o" 0 "" -- "$nooksc" --dump -o "$tmp/o2" "$good" "$tmp/warn.idl"
check "one .dump per input" test -s "$tmp/o2/net.dump" -a -s "$tmp/o2/warn.dump"
check "no temporaries left" sh -c "[ \$(ls -A '$tmp/o2' | wc -l) -eq 2 ]"
expect "same output twice" 2 "two inputs would both write" -- "$nooksc" --dump -o "$tmp/o2" "$good" "$good"
expect "unwritable output dir" 2 "cannot write" -- "$nooksc" --dump -o "$tmp/none/x" "$good"

# code generation
mkdir "$tmp/gen" "$tmp/gen2"
expect "generate" 0 "" -- "$nooksc" -o "$tmp/gen" -I idl/nk "$good"
check "five artefacts" test -s "$tmp/gen/net_nooks.h" -a -s "$tmp/gen/net_kwrap.c" -a \
	-s "$tmp/gen/net_xwrap.c" -a -s "$tmp/gen/net_shadow.c" -a -s "$tmp/gen/net_stubs.c"
"$nooksc" -o "$tmp/gen2" "$good" 2>/dev/null
check "deterministic" diff -r "$tmp/gen" "$tmp/gen2"
expect "generate with a bad input" 1 "const-value" -- "$nooksc" -o "$tmp/o1" "$good" "$tmp/bad.idl"
check "nothing generated on error" empty_dir "$tmp/o1"
expect "m4 missing" 1 "cannot run '/nonexistent/m4'.*install the m4 package" -- \
	env NOOKSC_M4=/nonexistent/m4 "$nooksc" -o "$tmp/o1" "$good"
check "nothing generated without m4" empty_dir "$tmp/o1"
cp -r templates "$tmp/tpl"
echo 'nkm_typo(x)' >> "$tmp/tpl/user/stubs.c.m4"
expect "leftover macro name" 1 "left the macro name 'nkm_typo' unexpanded" -- \
	"$nooksc" --templates "$tmp/tpl" -o "$tmp/o1" "$good"
echo 'nkm_f([[nope]], [[x]])' >> "$tmp/tpl/user/header.h.m4"
expect "undefined model value" 1 "m4 failed on template 'user/header.h.m4'" -- \
	"$nooksc" --templates "$tmp/tpl" -o "$tmp/o1" "$good"
check "nothing generated on template errors" empty_dir "$tmp/o1"
mkdir "$tmp/tpl/mini"
cp "$tmp/tpl/user/stubs.c.m4" "$tmp/tpl/mini/s.m4"
sed -i '/nkm_typo/d' "$tmp/tpl/mini/s.m4"
printf '# a target writing one file\ns.m4\tx_{interface}.c\n' > "$tmp/tpl/mini/outputs"
mkdir "$tmp/mini"
expect "a target is a directory" 0 "" -- "$nooksc" --templates "$tmp/tpl" --target mini -o "$tmp/mini" "$good"
check "the target's list says what is written" sh -c "[ \"\$(ls '$tmp/mini')\" = x_net.c ]"
expect "unknown target" 1 "no target 'nope'" -- "$nooksc" --target nope -o "$tmp/o1" "$good"
printf 's.m4 x.c\n' > "$tmp/tpl/mini/outputs"
expect "a list without {interface}" 1 "outputs:1: want 'TEMPLATE OUTPUT'" -- \
	"$nooksc" --templates "$tmp/tpl" --target mini -o "$tmp/o1" "$good"
check "nothing generated for a bad target" empty_dir "$tmp/o1"
expect "missing templates" 1 "cannot read template" -- "$nooksc" --templates "$tmp/none" -o "$tmp/o1" "$good"
expect "-M" 0 "^$tmp/o1/net_nooks.h .*: \\\\$" -- "$nooksc" -M -o "$tmp/o1" "$good"
check "-M lists imports and templates" sh -c "grep -q 'idl/nk/core.idl' '$tmp/out' && grep -q 'templates/user/kwrap.c.m4' '$tmp/out' && grep -q 'templates/user/outputs' '$tmp/out'"
check "-M writes nothing" empty_dir "$tmp/o1"
check "-M has no phony rules without -MP" sh -c "! grep -q '^idl/nk/core.idl:' '$tmp/out'"

# dependency files as cc writes them: -MD, -MMD, -MP, -MF, -MT, -MM
mkdir "$tmp/d" "$tmp/d/out" "$tmp/d/sys" "$tmp/d/src"
cp "$good" "$tmp/d/src/"
cp idl/nk/core.idl "$tmp/d/sys/"
expect "-MD" 0 "" -- "$nooksc" -o "$tmp/d/out" -MD -I "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MD writes DIR/INTERFACE.d beside the outputs" test -s "$tmp/d/out/net.d" -a -s "$tmp/d/out/net_kwrap.c"
check "-MD: the outputs depend on the input, its import and the templates" sh -c \
	"head -n 1 '$tmp/d/out/net.d' | grep -qx '$tmp/d/out/net_nooks.h $tmp/d/out/net_kwrap.c $tmp/d/out/net_xwrap.c $tmp/d/out/net_shadow.c $tmp/d/out/net_stubs.c: \\\\' &&
	 grep -qx ' $tmp/d/src/net.idl \\\\' '$tmp/d/out/net.d' &&
	 grep -qx ' $tmp/d/sys/core.idl \\\\' '$tmp/d/out/net.d' &&
	 grep -q 'templates/user/kwrap.c.m4' '$tmp/d/out/net.d'"
check "-MD without -MP: one rule" sh -c "[ \$(grep -c ':' '$tmp/d/out/net.d') -eq 1 ]"
expect "-MD -MP" 0 "" -- "$nooksc" -o "$tmp/d/out" -MD -MP -I "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MP: a phony rule for the import, each template and the target's list" sh -c \
	"grep -qx '$tmp/d/sys/core.idl:' '$tmp/d/out/net.d' && grep -q '^.*templates/common.m4:\$' '$tmp/d/out/net.d' &&
	 [ \$(grep -c ':\$' '$tmp/d/out/net.d') -eq 8 ]"
check "-MP: none for the input itself" sh -c "! grep -q '^$tmp/d/src/net.idl:' '$tmp/d/out/net.d'"
expect "-MMD with an -isystem import" 0 "" -- "$nooksc" -o "$tmp/d/out" -MMD -isystem "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MMD leaves out the system import" sh -c "grep -q net.idl '$tmp/d/out/net.d' && ! grep -q core.idl '$tmp/d/out/net.d'"
expect "-MD with an -isystem import" 0 "" -- "$nooksc" -o "$tmp/d/out" -MD -isystem "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MD keeps the system import" grep -q "$tmp/d/sys/core.idl" "$tmp/d/out/net.d"
expect "-MMD with an -I import" 0 "" -- "$nooksc" -o "$tmp/d/out" -MMD -I "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MMD keeps an -I import" grep -q "$tmp/d/sys/core.idl" "$tmp/d/out/net.d"
expect "-MM" 0 "net.idl" -- "$nooksc" -MM -isystem "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MM leaves out the system import" sh -c "! grep -q core.idl '$tmp/out'"
rm "$tmp/d/out/net.d"
expect "-MD -MF" 0 "" -- "$nooksc" -o "$tmp/d/out" -MD -MF "$tmp/d/deps.mk" -I "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-MF names the file" sh -c "test -s '$tmp/d/deps.mk' && test ! -e '$tmp/d/out/net.d'"
expect "-MT twice" 0 "" -- "$nooksc" -o "$tmp/d/out" -MD -MT stamp -MT 'other $(X)' -I "$tmp/d/sys" "$tmp/d/src/net.idl"
head -n 1 "$tmp/d/out/net.d" > "$tmp/d/got"
printf '%s\n' 'stamp other $(X): \' > "$tmp/d/want"
check "-MT names the targets as given" cmp -s "$tmp/d/got" "$tmp/d/want"
expect "-M -MF" 0 "" -- "$nooksc" -M -MF "$tmp/d/m.mk" -I "$tmp/d/sys" "$tmp/d/src/net.idl"
check "-M -MF: the rules go to the file, not to standard output" sh -c "test ! -s '$tmp/out' && grep -q core.idl '$tmp/d/m.mk'"
mkdir "$tmp/d/e" "$tmp/d/sp ace"
expect "-MD with an error" 1 "const-value" -- "$nooksc" -o "$tmp/d/e" -MD "$tmp/bad.idl"
check "-MD writes nothing on error" empty_dir "$tmp/d/e"
printf 'interface sp; header "s.h";\nkernel { int f(int x); };\n' > "$tmp/d/sp ace/s\$p.idl"
expect "-MD with a blank and a dollar in a name" 0 "" -- "$nooksc" -o "$tmp/d/e" -MD "$tmp/d/sp ace/s\$p.idl"
check "names quoted for make" grep -qxF " $tmp/d/sp\\ ace/s\$\$p.idl \\" "$tmp/d/e/sp.d"

printf 'interface v; header "v.h";\nkernel { int logf(const char *f [[string]], ...); };\n' > "$tmp/var.idl"
expect "variadic: --check says generation would refuse it" 1 "error: \[wrap-variadic\] cannot wrap variadic function 'logf'" -- \
	"$nooksc" --check "$tmp/var.idl"
expect "variadic: not generated" 1 "error: \[wrap-variadic\] cannot wrap variadic function 'logf'" -- \
	"$nooksc" -o "$tmp/o1" "$tmp/var.idl"
check "nothing written for a codegen error" empty_dir "$tmp/o1"
printf 'interface r; header "r.h";\nstruct dev { [[writable]] const struct r_ops *ops; };\nops r_ops { int link(struct dev *d, struct dev *peer) [[fault(-1), replay]]; };\nkernel {\n\tint reg(struct dev *d) [[registers(d->ops), undo(unreg)]];\n\tvoid unreg(struct dev *d);\n};\n' > "$tmp/rep.idl"
expect "replay of another object: error" 1 "error: \[replay-object\] cannot replay 'link': its parameter 'peer'" -- \
	"$nooksc" -o "$tmp/o1" "$tmp/rep.idl"
check "nothing written for a replay error" empty_dir "$tmp/o1"
expect "generate into a missing directory" 2 "cannot write" -- "$nooksc" -o "$tmp/none/x" "$good"
cp "$good" "$tmp/twin.idl"
expect "two inputs, one interface" 2 "two inputs would both write" -- \
	"$nooksc" -o "$tmp/o1" -I idl/nk "$good" "$tmp/twin.idl"
check "nothing written for twins" empty_dir "$tmp/o1"
mkdir "$tmp/many" "$tmp/many.out"
for i in $(seq 1 20); do
	printf 'interface iface%d; header "m.h";\nkernel { int f%d(int x); };\n' "$i" "$i" > "$tmp/many/m$i.idl"
done
expect "twenty inputs at once" 0 "" -- sh -c "'$nooksc' -o '$tmp/many.out' '$tmp'/many/*.idl"
check "a hundred outputs" sh -c "[ \$(ls '$tmp/many.out' | wc -l) -eq 100 ]"

# escaping: m4's quotes, $, @ and quadrigraph look-alikes in input text
# come out as written
printf 'interface esc;\nheader "a[[b]]c$1@<:@d$@#.h";\nkernel { int f(int x); };\n' > "$tmp/esc.idl"
mkdir "$tmp/esc"
expect "generate with m4-special text" 0 "" -- "$nooksc" -o "$tmp/esc" "$tmp/esc.idl"
check "special text survives" grep -qF '#include "a[[b]]c$1@<:@d$@#.h"' "$tmp/esc/esc_nooks.h"

# nooks.mk in another project: builds, then rebuilds when an import changes
mkdir "$tmp/proj"
cp idl/nk/core.idl idl/nk/net.idl "$tmp/proj/"
cat > "$tmp/proj/Makefile" <<MK
NOOKS_IDL := net.idl
NOOKS_OUT := gen
NOOKSC := $PWD/$nooksc
include $PWD/nooks.mk
all: \$(NOOKS_STAMPS)
MK
expect "nooks.mk builds" 0 "" -- make -C "$tmp/proj" -s all
check "nooks.mk generated" test -s "$tmp/proj/gen/net_kwrap.c"
expect "nooks.mk up to date" 0 "" -- sh -c "make -C '$tmp/proj' -q all"
sleep 1
touch "$tmp/proj/core.idl"
expect "nooks.mk sees an import change" 1 "" -- make -C "$tmp/proj" -q all
# -MP: an import that is dropped and deleted does not break the build
mkdir "$tmp/proj2"
printf 'interface a; header "a.h";\nimport "b.idl";\nkernel { int f(struct b *x); };\n' > "$tmp/proj2/a.idl"
printf 'interface b; header "b.h";\nstruct b { int y; };\n' > "$tmp/proj2/b.idl"
cat > "$tmp/proj2/Makefile" <<MK
NOOKS_IDL := a.idl
NOOKS_OUT := gen
NOOKSC := $PWD/$nooksc
include $PWD/nooks.mk
all: \$(NOOKS_STAMPS)
MK
expect "nooks.mk with an import" 0 "" -- make -C "$tmp/proj2" -s all
check "the import is a dependency" grep -q "b.idl" "$tmp/proj2/gen/a.stamp.d"
sleep 1
printf 'interface a; header "a.h";\nstruct b { int y; };\nkernel { int f(struct b *x); };\n' > "$tmp/proj2/a.idl"
rm "$tmp/proj2/b.idl"
expect "nooks.mk after the import is deleted (-MP)" 0 "" -- make -C "$tmp/proj2" -s all
check "and no longer depends on it" sh -c "! grep -q b.idl '$tmp/proj2/gen/a.stamp.d'"

# parameters named like a wrapper's own variables (kfree(const void *p)
# once broke the kernel wrapper): the generated code still compiles
mkdir -p "$tmp/names"
cat > "$tmp/names/names.h" <<'H'
struct dev { int fd; const struct dev_ops *ops; };
struct dev_ops { int op(struct dev *d, int b, int ok, int frame, int rec, int p, int f); };
void take(const void *p);
int reg(struct dev *d);
int calls(struct dev *d, int frame, int binding, int fp, int ret, int f);
H
sed -i 's/^struct dev_ops { int op(\(.*\)); };/struct dev_ops { int (*op)(\1); };/' "$tmp/names/names.h"
cat > "$tmp/names/names.idl" <<'I'
interface names;
header "names.h";
struct dev { [[writable]] const struct dev_ops *ops; };
ops dev_ops { int op(struct dev *d, int b, int ok, int frame, int rec, int p, int f) [[fault(-5), replay]]; };
kernel {
	void take(const void *p [[opaque, nullable]]);
	int reg(struct dev *d) [[registers(d->ops)]];
	int calls(struct dev *d, int frame, int binding, int fp, int ret, int f);
};
I
expect "parameters named like wrapper variables: generate" 0 "" -- "$nooksc" -o "$tmp/names" "$tmp/names/names.idl"
for f in kwrap xwrap shadow stubs; do
	expect "parameters named like wrapper variables: $f compiles" 0 "" -- \
		cc -std=c11 -Wall -Wextra -Werror -Iruntime/include -I"$tmp/names" -c \
		-o "$tmp/names/$f.o" "$tmp/names/names_$f.c"
done

# cpp in front: markers keep the original positions
if command -v cpp >/dev/null; then
	printf 'interface c; header "c.h";\n#define BAD [[bogus]]\nstruct s { int a BAD; };\n' > "$tmp/c.idl"

	cpp "$tmp/c.idl" > "$tmp/c.i"	# includes stdc-predef.h markers
	expect "through cpp" 1 "c.idl:3:[0-9]+: error: \[annotation-unknown\]" -- "$nooksc" --check "$tmp/c.i"
fi

echo "cli: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
