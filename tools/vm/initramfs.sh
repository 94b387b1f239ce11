#!/bin/sh
# initramfs.sh [options] OUT - a busybox initramfs that runs tests and powers off.
#
#   -p PROG       a program: copied, with every shared library ldd finds
#                 for it (the dynamic loader included); a library it
#                 needs that ldd cannot find is an error
#   -l LIB        a library loaded with dlopen/dlmopen: copied with the
#                 libraries it needs (those ldd cannot find are assumed to
#                 be loaded already, e.g. by the program: a warning);
#                 libgcc_s, which glibc dlopens for pthread_exit, comes
#                 with libc by itself
#   -f PATH       a file or a directory (recursively), copied as it is;
#                 -f SRC=DEST puts it at DEST in the guest
#   -t NAME=CMD   a test: the guest runs CMD with sh, in the order given
#   -C DIR        the tests' working directory (default: the current one)
#   -z            gzip the archive (smaller, but the guest unpacks slower)
#
# Everything is copied at its own absolute path, so programs keep their
# rpaths ($ORIGIN) and tests are written as on the host; the host's
# ld.so.cache comes along, so libraries resolve as they do here.  The
# host's top-level symlinks (/lib -> usr/lib on a merged /usr) are
# copied too.  busybox provides the shell and the tools (one link per applet).
#
# The generated /init mounts proc, sys, devtmpfs, devpts, /tmp and
# /dev/shm, brings lo up, then for each test prints on the second serial
# port (/dev/ttyS1, and on the console):
#   @@VM-BOOT <uptime>         once, when /init starts
#   @@VM-START <name>
#   @@VM-RESULT <name> <exit status> <seconds>
# Each test has VM_OUT=/vm/out in its environment: the text files it
# leaves there are printed line by line as "@@VM-FILE <file> <line>"
# (tools/vm/run.sh -O writes them back on the host).  Then
#   @@VM-DONE <uptime>
# and poweroff -f.  Should /init die instead, the kernel panics, reboots
# at once (panic=-1) and qemu exits (-no-reboot): run.sh sees no DONE.
set -eu

usage() {
	echo "usage: initramfs.sh [-p PROG] [-l LIB] [-f PATH[=DEST]] [-t NAME=CMD] [-C DIR] [-z] OUT" >&2
	exit 2
}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/vm/tests" "$root/vm/out"
cwd=$PWD
gz=0
ntests=0
libs_file=$root/vm/.libs	# removed before packing

# The host's top-level symlinks (bin -> usr/bin ...), and their targets
for l in /bin /sbin /lib /lib32 /lib64 /libx32; do
	[ -L "$l" ] || continue
	tgt=$(readlink "$l")
	case $tgt in /*) tgt=${tgt#/} ;; esac
	mkdir -p "$root/$tgt"
	ln -s "$tgt" "$root$l"
done
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" "$root/run"

copy() {	# copy SRC DEST: SRC at DEST in the guest, following links
	mkdir -p "$root$(dirname "$2")"
	if [ -d "$1" ]; then
		mkdir -p "$root$2"
		cp -a "$1/." "$root$2/"
	else
		cp -L "$1" "$root$2"
	fi
}

# copy_lib PATH: a library at PATH, and every symbolic link on the way to
# its file.  A new dlmopen namespace finds even the dynamic loader by its
# soname, through ld.so.cache, at the link's target
# (/lib/x86_64-linux-gnu/...), not at the interpreter path ldd printed
# (/lib64/...).
copy_lib() {
	p=$1
	n=0
	while [ -L "$p" ] && [ "$n" -lt 16 ]; do
		t=$(readlink "$p")
		mkdir -p "$root$(dirname "$p")"
		[ -L "$root$p" ] || ln -s "$t" "$root$p"
		case $t in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
		n=$((n + 1))
	done
	[ -f "$root$p" ] || copy "$p" "$p"
}

# libs FILE STRICT: copy the libraries ldd lists for FILE
libs() {
	lddout=$(ldd "$1" 2>&1) || {
		# static or not ELF (a script): nothing to add
		case $lddout in *"not a dynamic executable"*|*"statically linked"*) return 0 ;; esac
		echo "initramfs.sh: ldd $1: $lddout" >&2
		exit 1
	}
	echo "$lddout" | while read -r a b c _; do
		case "$a $b $c" in
		*"=> not found"*)
			if [ "$2" = strict ]; then
				echo "initramfs.sh: $1 needs $a, which ldd cannot find" >&2
				exit 1
			fi
			echo "initramfs.sh: warning: $1: $a not found (loaded by the program?)" >&2
			;;
		*" => /"*) echo "$c" ;;
		/*) echo "$a" ;;
		esac
	done >> "$libs_file"
}

while getopts p:l:f:t:C:z opt; do
	case $opt in
	p|l)
		[ -e "$OPTARG" ] || { echo "initramfs.sh: $OPTARG: no such file" >&2; exit 1; }
		path=$(readlink -f "$OPTARG")
		abs=$(cd "$(dirname "$OPTARG")" && pwd)/$(basename "$OPTARG")
		copy "$path" "$abs"
		if [ "$opt" = p ]; then libs "$path" strict; else libs "$path" loose; fi
		;;
	f)
		src=${OPTARG%%=*}
		dest=${OPTARG#*=}
		[ -e "$src" ] || { echo "initramfs.sh: $src: no such file" >&2; exit 1; }
		[ "$dest" = "$OPTARG" ] && dest=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
		copy "$src" "$dest"
		;;
	t)
		name=${OPTARG%%=*}
		cmd=${OPTARG#*=}
		case $name in
		""|*[!A-Za-z0-9._-]*) echo "initramfs.sh: bad test name '$name'" >&2; exit 2 ;;
		esac
		[ "$cmd" != "$OPTARG" ] || usage
		ntests=$((ntests + 1))
		printf '%s\n' "$cmd" > "$root/vm/tests/$(printf %03d "$ntests")-$name"
		;;
	C) cwd=$OPTARG ;;
	z) gz=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
out=$1

# busybox: the shell, mount, poweroff and the rest as symlinks
bb=$(command -v busybox) || { echo "initramfs.sh: no busybox (apt-get install busybox-static)" >&2; exit 1; }
copy "$bb" /bin/busybox
libs "$(readlink -f "$bb")" strict
# (not --install: its links point at the path busybox runs from here;
# perl, Essential in Debian, makes the 270 links without 270 forks)
# shellcheck disable=SC2046
perl -e 'chdir shift or die; for (@ARGV) { -e or -l or symlink "busybox", $_ or die "$_: $!" }' \
	"$root/bin" $("$bb" --list)

# glibc dlopens libgcc_s for pthread_exit and pthread_cancel (it unwinds
# the stack), which ldd cannot see: bring it whenever libc comes
if grep -q '/libc\.so\.6$' "$libs_file" 2>/dev/null; then
	ldconfig -p 2>/dev/null | sed -n 's/^[[:space:]]*libgcc_s\.so\.1 (libc6,x86-64) => //p' |
		head -n 1 >> "$libs_file"
fi
if [ -s "$libs_file" ]; then
	sort -u "$libs_file" | while read -r lib; do
		copy_lib "$lib"
	done
fi
rm -f "$libs_file"
[ -e /etc/ld.so.cache ] && cp /etc/ld.so.cache "$root/etc/ld.so.cache"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
echo "root:x:0:" > "$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$root/etc/hosts"
mkdir -p "$root$cwd"

cat > "$root/init" <<INIT
#!/bin/sh
# /init of a tools/vm/initramfs.sh guest
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t devtmpfs dev /dev
exec 0</dev/null 1>/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
# not over /tmp when the tree under test lives there (a clone in /tmp):
# the initramfs is writable memory already
[ -n "\$(ls -A /tmp 2>/dev/null)" ] || mount -t tmpfs tmp /tmp
mount -t tmpfs shm /dev/shm
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# markers go to the second serial port, away from kernel messages,
# and to the console for the reader; without ttyS1 the console only
if (exec 3>/dev/ttyS1) 2>/dev/null; then
	exec 3>/dev/ttyS1
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
	mark() { echo "\$*" >&3; echo "\$*"; }
else
	mark() { echo "\$*"; }
fi
up() { cut -d' ' -f1 /proc/uptime; }
mark "@@VM-BOOT \$(up)"
for t in /vm/tests/*; do
	[ -e "\$t" ] || continue
	name=\${t##*/}
	name=\${name#*-}
	mark "@@VM-START \$name"
	t0=\$(up)
	(cd '$cwd' && VM_OUT=/vm/out exec sh "\$t")
	st=\$?
	mark "@@VM-RESULT \$name \$st \$(echo "\$t0 \$(up)" | awk '{ printf "%.1f", \$2 - \$1 }')"
done
for f in /vm/out/*; do
	[ -f "\$f" ] || continue
	while IFS= read -r line || [ -n "\$line" ]; do
		mark "@@VM-FILE \${f##*/} \$line"
	done < "\$f"
done
mark "@@VM-DONE \$(up)"
poweroff -f
INIT
chmod 755 "$root/init"

mkdir -p "$(dirname "$out")"
if [ "$gz" -eq 1 ]; then
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) > "$out.tmp"
else
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$out.tmp"
fi
mv "$out.tmp" "$out"
