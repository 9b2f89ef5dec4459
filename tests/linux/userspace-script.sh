# tests/linux/userspace-script.sh — the user-space checks that
# tests/linux/userspace.sh runs twice with the same i386 busybox: inside
# Linux under popek (scripts/mkinitramfs builds it in as /popek/test.sh and
# /init runs it when the kernel command line has popek.test), and natively
# on the host.  Run it with busybox's sh, every command a busybox applet:
#
#   sh test.sh DISK [guest]
#
# DISK is the raw disk: /dev/vda in the guest (the kernel's virtio_pci and
# virtio_blk modules driving popek's device), a copy of the same image
# natively.  `guest` enables what only the guest can do (mount a tmpfs,
# drop the page cache, ask the kernel about its virtio disk); natively
# each of those prints "SKIP: NAME (native)" instead of its PASS/FAIL.
#
# Output, one line each:
#   PASS: NAME / FAIL: NAME (why)    a check
#   = KEY VALUE                      a result that must be the same in both runs
#   info: ...                        differs by nature (kernel, /proc), not compared
# and last "done: N checks, F failed".  The harness compares the PASS/FAIL/
# SKIP/= lines of both runs (a native SKIP standing for the guest's PASS)
# and checks the disk image from the host afterwards.

DISK=$1
GUEST=${2:-}
checks=0
failed=0

pass() { checks=$((checks + 1)); echo "PASS: $1"; }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $1 ($2)"; }
# check NAME COMMAND...: PASS when COMMAND succeeds.
check() {
	n=$1
	shift
	if "$@"; then pass "$n"; else fail "$n" "failed: $*"; fi
}
# same NAME WANT GOT: PASS when equal.
same() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi
}
value() { echo "= $1 $2"; }
# guest_only NAME: true in the guest; natively says SKIP.
guest_only() {
	[ -n "$GUEST" ] && return 0
	checks=$((checks + 1))
	echo "SKIP: $1 (native)"
	return 1
}

if [ -n "$GUEST" ]; then
	# Kernel messages would cut into the transcript's lines.
	dmesg -n 1
	T=/mnt/t
	mkdir -p "$T"
fi
echo "info: $(uname -s) $(uname -r) $(uname -m)"

# --- fork and exec -------------------------------------------------------
same fork-ppid "$$" "$(sh -c 'echo $PPID')"
sh -c 'exit 42'
value exit-status $?
value exec "$(sh -c 'exec echo exec-replaced; echo not-reached')"
check exec-true true
check exec-false-fails sh -c '! false'
i=0
while [ $i -lt 20 ]; do
	(echo $i >/dev/null) &
	i=$((i + 1))
done
wait
pass fork-20-children-waited
value nested "$(sh -c 'sh -c "sh -c \"echo three-deep\""')"
value subshell-env "$(X=inner sh -c 'echo $X')"

# --- pipes -----------------------------------------------------------------
value pipe-sum "$(seq 1 10000 | awk '{ s += $1 } END { print s }')"
value pipe-bytes "$(dd if=/dev/zero bs=4096 count=1024 2>/dev/null | cat | cat | wc -c)"
value pipe-sort "$(printf '3\n1\n2\n' | sort -n | tr '\n' ' ')"
value pipe-md5 "$(seq 1 50000 | md5sum | cut -d' ' -f1)"
pipedir=$(mktemp -d)
mkfifo "$pipedir/fifo"
(echo through-fifo >"$pipedir/fifo") &
read -r line <"$pipedir/fifo"
wait
value fifo "$line"
# A writer whose reader has gone: SIGPIPE (status 128 + 13).
(yes; echo $? >"$pipedir/status") | head -c 10 >/dev/null
value sigpipe-status "$(cat "$pipedir/status")"
rm -rf "$pipedir"

# --- signals ---------------------------------------------------------------
# (In a command substitution, with the shell's "Terminated" note dropped.)
value sigterm-status "$( (sleep 100 & p=$!; kill -TERM $p; wait $p; echo $?) 2>/dev/null)"
value sigkill-status "$( (sleep 100 & p=$!; kill -KILL $p; wait $p; echo $?) 2>/dev/null)"
value trap-usr1 "$(sh -c 'trap "echo caught-usr1" USR1; kill -USR1 $$; echo after' | tr '\n' ' ')"
value trap-exit "$(sh -c 'trap "echo exit-trap" EXIT; true')"
check kill-0-self kill -0 $$
value timeout-status "$( (timeout 1 sleep 5; echo $?) 2>/dev/null)"

# --- /proc -----------------------------------------------------------------
value proc-self-name "$(sed -n 's/^Name:[[:space:]]*//p' /proc/self/status)"
same proc-self-pid "$$" "$(sh -c 'read -r a b </proc/$PPID/stat; echo $a')"
check proc-meminfo grep -q '^MemTotal:' /proc/meminfo
check proc-mounts-proc grep -q ' /proc proc ' /proc/mounts
check proc-cmdline-readable test -r /proc/cmdline
same proc-self-cmdline "cat./proc/self/cmdline." "$(cat /proc/self/cmdline | tr '\0' '.')"
check proc-uptime sh -c 'read -r up idle </proc/uptime && [ -n "$idle" ]'
echo "info: $(grep -m1 'model name' /proc/cpuinfo)"
echo "info: $(grep MemTotal /proc/meminfo)"

# --- tmpfs -----------------------------------------------------------------
if guest_only tmpfs-mount; then
	if mount -t tmpfs -o size=4m tmpfs "$T" && grep -q " $T tmpfs " /proc/mounts; then
		pass tmpfs-mount
	else
		fail tmpfs-mount "mount -t tmpfs"
	fi
else
	T=$(mktemp -d)
fi
dd if=/dev/zero of="$T/big" bs=1024 count=2048 2>/dev/null
value tmpfs-file-size "$(wc -c <"$T/big")"
echo hello >"$T/a"
ln -s a "$T/link"
mv "$T/a" "$T/b"
ln -s b "$T/link2"
value tmpfs-symlink "$(readlink "$T/link2"):$(cat "$T/link2")"
check tmpfs-dangling-link sh -c "! cat '$T/link' 2>/dev/null"
mkdir -p "$T/d/e/f"
touch "$T/d/e/f/g"
value tmpfs-find "$(cd "$T" && find d | sort | tr '\n' ' ')"
rm -rf "$T/d" "$T/big"
value tmpfs-after-rm "$(ls "$T" | tr '\n' ' ')"
if guest_only tmpfs-full; then
	if dd if=/dev/zero of="$T/fill" bs=1024 count=8192 2>/dev/null; then
		fail tmpfs-full "8 MiB fitted in a 4 MiB tmpfs"
	else
		pass tmpfs-full
	fi
	rm -f "$T/fill"
	umount "$T" && pass tmpfs-umount || fail tmpfs-umount "umount $T"
else
	checks=$((checks + 1))
	echo "SKIP: tmpfs-umount (native)"
	rm -rf "$T"
fi

# --- the disk --------------------------------------------------------------
# The image (tests/linux/userspace.sh): 8192 sectors of known bytes.  Read
# sectors 0..2047 and checksum them; write a pattern into 4096..4223 and
# read it back.
if guest_only virtio-blk-device; then
	if [ -b "$DISK" ] && [ -e /sys/block/vda/device ]; then
		pass virtio-blk-device
	else
		fail virtio-blk-device "no block device $DISK"
	fi
	value disk-sectors "$(cat /sys/block/vda/size)"
else
	value disk-sectors "$(($(wc -c <"$DISK") / 512))"
fi
value disk-read-md5 "$(dd if="$DISK" bs=512 count=2048 2>/dev/null | md5sum | cut -d' ' -f1)"
value disk-read-tail-md5 "$(dd if="$DISK" bs=4096 skip=1023 count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
pattern() { seq 1 100000 | tr '\n' ' ' | head -c 65536; }
value pattern-md5 "$(pattern | md5sum | cut -d' ' -f1)"
if pattern | dd of="$DISK" bs=512 seek=4096 conv=notrunc,fsync 2>/dev/null; then
	pass disk-write
else
	fail disk-write "dd of=$DISK"
fi
sync
if guest_only disk-drop-caches; then
	echo 3 >/proc/sys/vm/drop_caches && pass disk-drop-caches ||
		fail disk-drop-caches "drop_caches"
fi
value disk-readback-md5 "$(dd if="$DISK" bs=512 skip=4096 count=128 2>/dev/null | md5sum | cut -d' ' -f1)"

echo "done: $checks checks, $failed failed"
[ -n "$GUEST" ] && dmesg -n 7
[ "$failed" = 0 ]
