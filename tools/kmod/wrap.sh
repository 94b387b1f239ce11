#!/bin/sh
# wrap.sh TREE IN.ko OUT.ko SYMVERS - bind a copy of an unmodified module to nooks.ko.
#
# Interposition (docs/kmod.md): every undefined symbol of IN.ko that is a
# kernel function idl/TREE describes is renamed to its wrapper,
# NAME -> nooks_kw_NAME (generated/TREE/kmod/*.syms), with
# `objcopy --redefine-syms`; the result is OUT.ko.  The module's source
# and IN.ko are not changed; the kernel's loader then resolves the new
# names in nooks.ko, which must be loaded first.  Symbols the IDL does
# not describe stay bound to the kernel.
#
# The kernel checks symbol versions (CONFIG_MODVERSIONS): the module's
# __versions section names each symbol it uses with the CRC of its type.
# The entries of the renamed symbols get the new names and the CRCs
# nooks.ko exports them with (SYMVERS: the Module.symvers of nooks.ko's
# build), so the loader checks the wrappers' versions as it checks any
# other symbol's.
# Prints the names it bound; exit 1 if it bound none or a CRC is missing.
set -eu
tree=$1
in=$2
out=$3
symvers=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat generated/"$tree"/kmod/*.syms > "$tmp/syms"
objcopy --redefine-syms="$tmp/syms" "$in" "$out"
if objcopy --dump-section __versions="$tmp/versions" "$out" 2>/dev/null; then
	# struct modversion_info: an unsigned long CRC, a 56-byte name
	perl -e '
		my ($syms, $symvers, $file) = @ARGV;
		my (%new, %crc);
		open(my $s, "<", $syms) or die "$syms: $!";
		while (<$s>) { my ($a, $b) = split; $new{$a} = $b if defined $b; }
		open(my $v, "<", $symvers) or die "$symvers: $!";
		while (<$v>) { my ($c, $n) = split /\t/; $crc{$n} = hex($c); }
		open(my $f, "+<:raw", $file) or die "$file: $!";
		local $/;
		my $data = <$f>;
		my $out = "";
		for (my $i = 0; $i + 64 <= length($data); $i += 64) {
			my ($c, $n) = unpack("Q< Z56", substr($data, $i, 64));
			if (exists $new{$n}) {
				$n = $new{$n};
				die "wrap.sh: no CRC for $n in $symvers\n" unless exists $crc{$n};
				$c = $crc{$n};
			}
			$out .= pack("Q< a56", $c, $n);
		}
		seek($f, 0, 0);
		print $f $out;
		close($f);
	' "$tmp/syms" "$symvers" "$tmp/versions"
	objcopy --update-section __versions="$tmp/versions" "$out"
fi
bound=$(nm -u "$out" | awk '$2 ~ /^nooks_kw_/ { sub(/^nooks_kw_/, "", $2); print $2 }')
[ -n "$bound" ] || { echo "wrap.sh: $in calls nothing idl/$tree describes" >&2; exit 1; }
echo $bound
