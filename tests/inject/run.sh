#!/bin/bash
# run.sh BUILD RESULTFILE - nooks-inject on build/examples/khttpd.so.
#
#   1. every fault type with fixed seeds: the mutant differs from the
#      original in exactly the bytes reported (old bytes the original's, new
#      bytes the mutant's), inside one of khttpd's own functions, and the
#      change is what the type says (objdump's before/after); the same seed
#      gives the same mutant, different seeds different ones
#   2. --print-patch prints what the report says
#   3. a persistent ud2 in serve's prologue: natively nkernel dies of
#      SIGILL; isolated the fault is contained and nkernel answers
#   4. the same ud2 transient (--nkctl): recovered, serving, the file intact
#   5. bad input: exit status 2 and a clear message
#
# Writes "PASSED FAILED" to RESULTFILE.
set -u
B=$1
result=$2
inj=$B/tools/nooks-inject
nk=$B/kernel/nkernel
ctl=$B/kernel/nkctl
ext=$B/examples/khttpd.so
types="text nop branch invert ptr dst src interface loop ud2 hlt"
seeds="1 2 3"

tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	if [ -n "${INJECT_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

. tests/lib.sh

# field REPORT KEY: the value of "  KEY  value" in a report
field() { awk -v k="$2" '$1 == k { sub(/^ *[^ ]+ +/, ""); print; exit }' "$1"; }

# .text's VMA and file offset (objdump -h), to turn addresses into offsets
read -r text_vma text_off < <(objdump -h "$ext" | awk '$2 == ".text" { print $4, $6 }')
text_vma=$((16#$text_vma))
text_off=$((16#$text_off))

# the object's own functions with their ranges (nm -S), less crt helpers
nm -S "$ext" | awk '$3 ~ /^[tT]$/ && $4 !~ /^(_init|_fini|frame_dummy|register_tm_clones|deregister_tm_clones|__do_global_dtors_aux)$/ { print $4, $1, $2 }' |
	while read -r n a z; do echo "$n $((16#$a)) $((16#$a + 16#$z))"; done > "$tmp/funcs"

# bytes OFFSET LEN FILE: hex of LEN bytes at OFFSET
bytes() { od -An -tx1 -v -j "$1" -N "$2" "$3" | tr -d ' \n'; }

# jcc inverse pairs, as objdump spells them
inverse() {
	case $1 in
	jo) echo jno ;; jno) echo jo ;; jb) echo jae ;; jae) echo jb ;;
	je) echo jne ;; jne) echo je ;; jbe) echo ja ;; ja) echo jbe ;;
	js) echo jns ;; jns) echo js ;; jp) echo jnp ;; jnp) echo jp ;;
	jl) echo jge ;; jge) echo jl ;; jle) echo jg ;; jg) echo jle ;;
	*) echo "?" ;;
	esac
}

# operands of an instruction text: "mov 0x8(%rbp),%rax" -> lines
operands() { sed -E 's/^[a-z0-9.]+ +//; s/ +#.*//' <<< "$1" | awk '{
	d = 0; s = ""
	for (i = 1; i <= length($0); i++) {
		c = substr($0, i, 1)
		if (c == "(") d++
		if (c == ")") d--
		if (c == "," && !d) { print s; s = ""; continue }
		s = s c
	}
	print s }'; }
first_op() { operands "$1" | head -1; }
last_op() { operands "$1" | tail -1; }
mnem() { awk '{ print $1 }' <<< "$1"; }

# type_ok TYPE REPORT: the change is what TYPE means
type_ok() {
	local t=$1 r=$2 before after old new
	before=$(field "$r" before)
	after=$(field "$r" after)
	after1=${after%% ; *}	# the first instruction after
	old=$(field "$r" old)
	new=$(field "$r" new)
	case $t in
	text)	# one bit of one byte
		[ ${#old} -eq 2 ] || return 1
		local x=$(( 16#$old ^ 16#$new ))
		[ $x -ne 0 ] && [ $(( x & (x - 1) )) -eq 0 ] ;;
	nop)	[ -z "$(tr -d ' ;nop' <<< "$after")" ] && ! grep -q nop <<< "$before" ;;
	ud2)	[[ $after == ud2* ]] && [ -z "$(sed 's/^ud2//' <<< "$after" | tr -d ' ;nop')" ] ;;
	hlt)	[[ $after == hlt* ]] && [ -z "$(sed 's/^hlt//' <<< "$after" | tr -d ' ;nop')" ] ;;
	invert)	[ "$(mnem "$after")" = "$(inverse "$(mnem "$before")")" ] &&
		[ "$(first_op "$after")" = "$(first_op "$before")" ] ;;
	branch)	local m
		m=$(mnem "$after")
		[[ $m == j* ]] && [ "$m" != "$(mnem "$before")" ] && [ "$m" != jmp ] &&
		[ "$m" != "$(inverse "$(mnem "$before")")" ] &&
		[ "$(first_op "$after")" = "$(first_op "$before")" ] ;;
	loop)	# a backward conditional branch made a jmp to the same target
		local addr tgt
		addr=$(field "$r" address)
		tgt=$(first_op "$before" | awk '{ print $1 }')
		[[ $(mnem "$before") == j* ]] && [ "$(mnem "$before")" != jmp ] &&
		[ "$(mnem "$after1")" = jmp ] && [ $((16#$tgt)) -lt $((addr)) ] &&
		[ "$(first_op "$after1")" = "$(first_op "$before")" ] &&
		[ -z "$(sed 's/^[^;]*//' <<< "$after" | tr -d ' ;nop')" ] ;;
	dst)	[ "$(mnem "$after")" = "$(mnem "$before")" ] &&
		[ "$(last_op "$after")" != "$(last_op "$before")" ] &&
		[ "$(first_op "$after")" = "$(first_op "$before")" ] ;;
	src)	[ "$(mnem "$after")" = "$(mnem "$before")" ] &&
		[ "$(first_op "$after")" != "$(first_op "$before")" ] &&
		[ "$(last_op "$after")" = "$(last_op "$before")" ] ;;
	ptr)	# a memory operand changed, nothing else
		[ "$(mnem "$after")" = "$(mnem "$before")" ] &&
		[ "$(operands "$before" | grep -v '(')" = "$(operands "$after" | grep -v '(')" ] &&
		[ "$(operands "$before" | grep '(')" != "$(operands "$after" | grep '(')" ] ;;
	interface)	# an argument register set up for a kernel call through the PLT
		local what callee
		what=$(field "$r" what)
		callee=$(sed -E 's/^argument of ([A-Za-z0-9_]+) at .*/\1/' <<< "$what")
		grep -q "^argument of " <<< "$what" &&
		nm -D --undefined-only "$ext" | grep -qw "$callee" &&
		[ "$(mnem "$after")" = "$(mnem "$before")" ] &&
		[ "$(last_op "$after")" = "$(last_op "$before")" ] &&
		grep -Eq '^%(r|e)?(di|si|dx|cx)|^%r[89]' <<< "$(last_op "$after")" &&
		[ "$after" != "$before" ] ;;
	*)	return 1 ;;
	esac
}

same_run() {
	cmp -s "$1" "$1.again" && diff <(grep -v written "$2") <(grep -v written "$2.again") > /dev/null
}

# ---- 1. every type, fixed seeds ----------------------------------------------

echo "-- every fault type on $ext, seeds $seeds"
for t in $types; do
	sigs=""
	for s in $seeds; do
		m=$tmp/$t-$s.so
		r=$tmp/$t-$s.txt
		if ! "$inj" -t "$t" -s "$s" -o "$m" "$ext" > "$r" 2> "$tmp/err"; then
			ko "$t seed $s: nooks-inject failed: $(cat "$tmp/err")"
			continue
		fi
		addr=$(( $(field "$r" address) ))
		old=$(field "$r" old)
		new=$(field "$r" new)
		len=$(( ${#new} / 2 ))
		off=$(( addr - text_vma + text_off ))
		# every byte that differs lies in [off, off + len)
		outside=$(cmp -l "$ext" "$m" | awk -v lo=$((off + 1)) -v hi=$((off + len)) \
			'$1 < lo || $1 > hi { n++ } END { print n + 0 }')
		ndiff=$(cmp -l "$ext" "$m" | wc -l)
		check "$t seed $s: only the reported bytes differ ($ndiff changed, $outside outside)" \
			test "$outside" -eq 0 -a "$ndiff" -gt 0 -a "$(stat -c %s "$ext")" -eq "$(stat -c %s "$m")"
		check "$t seed $s: old bytes are the original's, new the mutant's" \
			test "$(bytes $off $len "$ext")" = "$old" -a "$(bytes $off $len "$m")" = "$new"
		fn=$(field "$r" function)
		name=${fn%+*}
		check "$t seed $s: inside its own function $fn" awk -v n="$name" -v a="$addr" -v l="$len" '
			$1 == n && a >= $2 && a + l <= $3 { f = 1 }
			END { exit !f }' "$tmp/funcs"
		check "$t seed $s: the change is a $t fault ($(field "$r" before) => $(field "$r" after))" \
			type_ok "$t" "$r"
		"$inj" -t "$t" -s "$s" -o "$m.again" "$ext" > "$r.again" 2>&1
		check "$t seed $s: the same seed gives the same mutant and report" same_run "$m" "$r"
		sigs="$sigs $addr:$new"
	done
	check "$t: seeds $seeds give $(tr ' ' '\n' <<< "$sigs" | sed '/^$/d' | sort -u | wc -l) different mutants" \
		test "$(tr ' ' '\n' <<< "$sigs" | sed '/^$/d' | sort -u | wc -l)" -eq "$(wc -w <<< "$seeds")"
done

# ---- 2. --print-patch -----------------------------------------------------------

out=$("$inj" -t nop -s 7 --print-patch "$ext" 2> "$tmp/pp.txt")
check "--print-patch prints ADDRESS HEXBYTES as reported" \
	test "$out" = "$(field "$tmp/pp.txt" address) $(field "$tmp/pp.txt" new)"
check "--print-patch changes no file" cmp -s "$ext" "$B/examples/khttpd.so"

# ---- 3 and 4. a ud2 that runs: natively fatal, isolated contained ---------------

www=$tmp/www
mkdir -p "$www"
printf 'hello\n' > "$www/index.html"
# serve's first instruction runs on every request
"$inj" -t ud2 --at serve "$ext" > "$tmp/u.txt" 2>&1
check "--at serve: the ud2 is serve's first instruction" test "$(field "$tmp/u.txt" function)" = serve+0x0
useed=1

# start NAME ISO MODULE: nkernel with MODULE; sets pid sock log port
start() {
	sock=$tmp/$1.sock log=$tmp/$1.log port=$(bash tools/free-port.sh || echo 0)
	"$nk" --control "$sock" --log "$log" --isolation="$2" "$3" root="$www" port="$port" \
		threads=2 > "$tmp/$1.out" 2>&1 &
	pid=$!
	pids="$pids $pid"
	for _ in $(seq 1 100); do
		timeout 5 "$ctl" -s "$sock" list > /dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
# gone PID: waits up to 5 s for it to end; its status in $st
gone() {
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	st=0
	if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; wait "$1" 2>/dev/null; st=-1; return 1; fi
	wait "$1" 2>/dev/null || st=$?
	return 0
}

if [ -n "$useed" ]; then
	"$inj" -t ud2 --at serve -s "$useed" -o "$tmp/ud2.so" "$ext" > /dev/null
	if start native none "$tmp/ud2.so"; then
		curl -s -m 3 -o /dev/null "http://127.0.0.1:$port/"
		gone "$pid"
		check "persistent ud2, native: nkernel dies of SIGILL (status $st)" test "$st" -eq 132
	else
		ko "persistent ud2, native: nkernel starts"
	fi
	if start iso mprotect "$tmp/ud2.so"; then
		curl -s -m 3 -o /dev/null "http://127.0.0.1:$port/"
		sleep 0.3
		check "persistent ud2, isolated: nkernel lives and answers" \
			sh -c "kill -0 $pid && timeout 5 '$ctl' -s '$sock' list > '$tmp/list'"
		check "persistent ud2, isolated: the fault is contained and counted" \
			sh -c "grep -q 'Illegal instruction' '$log' &&
			       awk '\$1 == \"ud2\" && \$5 >= 1 { f = 1 } END { exit !f }' '$tmp/list'"
		timeout 5 "$ctl" -s "$sock" shutdown > /dev/null 2>&1
		gone "$pid"
	else
		ko "persistent ud2, isolated: nkernel starts"
	fi
	cp "$ext" "$tmp/clean.so"
	if start tr mprotect "$tmp/clean.so"; then
		"$inj" -t ud2 --at serve -s "$useed" --nkctl "$sock" --module clean --nkctl-bin "$ctl" \
			"$ext" > "$tmp/tr.out" 2>&1
		check "transient ud2: nkctl patch applied" grep -q "clean: patched" "$tmp/tr.out"
		curl -s -m 3 -o /dev/null "http://127.0.0.1:$port/"
		sleep 0.3
		curl -s -m 3 -o "$tmp/got" "http://127.0.0.1:$port/"
		check "transient ud2: contained, restarted from the clean file and serving" \
			sh -c "grep -q 'recovered in' '$log' && cmp -s '$tmp/got' '$www/index.html'"
		check "transient ud2: the file is untouched" cmp -s "$tmp/clean.so" "$ext"
		timeout 5 "$ctl" -s "$sock" shutdown > /dev/null 2>&1
		gone "$pid"
	else
		ko "transient: nkernel starts"
	fi
fi

# ---- 5. bad input -----------------------------------------------------------------

# fails NAME STATUS PATTERN COMMAND...
fails() {
	local name=$1 want=$2 pat=$3 st=0 out
	shift 3
	out=$("$@" 2>&1) || st=$?
	if [ "$st" -eq "$want" ] && grep -q -- "$pat" <<< "$out"; then ok "$name"; else ko "$name (status $st: $out)"; fi
}
printf 'not an object\n' > "$tmp/text.so"
fails "not an ELF: exit 2" 2 "not an ELF file" "$inj" -t nop "$tmp/text.so"
fails "no such function: exit 2" 2 "no function 'nosuch'" "$inj" -t nop -f nosuch "$ext"
fails "unknown type: exit 2, the types listed" 2 "unknown fault type 'bitrot' (text, nop" "$inj" -t bitrot "$ext"
fails "missing file: exit 2" 2 "No such file" "$inj" -t nop "$tmp/none.so"
fails "no type: exit 2" 2 "no fault type" "$inj" "$ext"
fails "bad seed: exit 2" 2 "bad seed" "$inj" -t nop -s x1 "$ext"
fails "a crt helper is not one of its functions: exit 2" 2 "no function '_init'" "$inj" -t nop -f _init "$ext"
fails "--nkctl without --module: exit 2" 2 "go together" "$inj" -t nop --nkctl "$tmp/s" "$ext"
fails "no candidate (no loop in inside_root): exit 1" 1 "no instruction for a loop fault" \
	"$inj" -t loop -f inside_root "$ext"
fails "--at where no instruction starts: exit 2" 2 "no instruction of its own functions starts at" \
	"$inj" -t nop --at serve+1 "$ext"
fails "--at a function not chosen: exit 2" 2 "no function 'serve' among those chosen" \
	"$inj" -t nop -f worker --at serve "$ext"
out=$("$inj" --help)
check "--help lists every type" sh -c "for t in $types; do grep -q \"^  \$t \" <<'EOF' || exit 1
$out
EOF
done"

echo "inject: $passed passed, $failed failed"
echo "$passed $failed" > "$result"
[ "$failed" -eq 0 ]
