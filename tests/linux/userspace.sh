# tests/linux/userspace.sh — Debian's i386 kernel (scripts/fetch-linux)
# boots under popek to /init, which runs tests/linux/userspace-script.sh
# (fork/exec, pipes, signals, /proc, tmpfs, raw reads and writes of a
# virtio disk) and ends popek; the same script runs natively here with
# the same i386 busybox, and the lines that must agree are compared.  The
# disk is an image made here with known bytes: the kernel's own
# virtio_pci and virtio_blk modules drive popek's device, the guest
# checksums sectors 0..2047 and writes a pattern into 4096..4223, and the
# image is checked from the host afterwards.
#
# The script ends with busybox's `poweroff`: busybox init, then the
# kernel's power-off, which the apm module hands to popek's APM BIOS
# (vmm/loader_linux.c), which ends popek with status 0.
#
# Part of `make check`: about a minute.  It downloads the kernel and
# busybox the first time (.cache/linux, git-ignored); where they cannot be
# fetched it is skipped (status 77) with one line saying why.
. "$srcdir/tests/guests/lib.sh"

skip() { echo "$test_name: skipped: $*"; exit 77; }
command -v python3 >/dev/null || { echo "$test_name: needs python3" >&2; exit 99; }
kernel=$("$srcdir/scripts/fetch-linux" kernel 2>"$work/fetch.err") ||
	skip "cannot fetch the kernel ($(tail -n1 "$work/fetch.err"))"
busybox=$("$srcdir/scripts/fetch-linux" busybox 2>"$work/fetch.err") ||
	skip "cannot fetch busybox ($(tail -n1 "$work/fetch.err"))"
initrd=$("$srcdir/scripts/mkinitramfs" 2>"$work/fetch.err") ||
	skip "cannot build the initramfs ($(tail -n1 "$work/fetch.err"))"
script=$(cd "$srcdir" && pwd)/tests/linux/userspace-script.sh

# 8192 sectors of known (seeded pseudo-random) bytes.
orig=$work/orig.img
img=$work/guest.img
python3 -c 'import random, sys
r = random.Random(20261203)
open(sys.argv[1], "wb").write(r.randbytes(8192 * 512))' "$orig"
cp "$orig" "$img"
cp "$orig" "$work/native.img"

# The native run: the same busybox, every command one of its applets.
mkdir "$work/bin"
for a in $("$busybox" --list 2>/dev/null); do
	ln -s "$busybox" "$work/bin/$a"
done
(cd "$work" && env -i PATH="$work/bin" "$busybox" sh "$script" "$work/native.img") \
	>"$work/native.out" 2>"$work/native.err"
native_status=$?

append="console=ttyS0 earlyprintk=serial,ttyS0,115200 reservetop=16M"
append+=" nolapic noapic acpi=off panic=-1 popek.test"
run_popek 300 run --stats --disk "$img" --append "$append" --initrd "$initrd" "$kernel"
tr -d '\r' <"$out" >"$work/guest.out"
cp "$work/guest.out" "$out"

expect_status 0
expect_out 'Run /init as init process'
expect_out 'virtio_blk virtio0: \[vda\] 8192 512-byte logical blocks'
expect_out '^popek initramfs: Linux .*, [1-9][0-9]* virtio device'
expect_out '^info: Linux [^ ]* i686$'
for c in fork-ppid fork-20-children-waited proc-self-pid tmpfs-mount \
	tmpfs-full tmpfs-umount virtio-blk-device disk-write disk-drop-caches; do
	expect_out "^PASS: $c\$"
done
expect_out '^done: [0-9]+ checks, 0 failed$'
expect_out '^popek.test: end, status 0$'
expect_out 'apm: BIOS version 1\.2 Flags 0x02'
expect_out '^Requesting system poweroff'
expect_out 'reboot: Power down'
expect_no_out 'System halted|Kernel panic'
expect_no_fail

# The guest's system calls go through its vDSO (vmm/bt.c): after the
# first few, none is a host int $0x80.  --vdso=fast (default): the
# monitor does __kernel_vsyscall's entry and landing pad; translated: the
# vDSO runs in the TC; gate (POPEK_VDSO, tests/linux/userspace-gate.sh):
# guest user code far-calls into popek through the patched vDSO.
int80=$(stats_count 'host syscall trap (int $0x80, seccomp)')
case ${POPEK_VDSO:-fast} in
fast)
	calls=$(stats_count 'bt: vDSO system calls entered by the monitor')
	rets=$(stats_count 'bt: vDSO landing-pad returns done by the monitor')
	what="vDSO calls and returns by the monitor: ${calls:-none}, ${rets:-none}"
	[ "${rets:-0}" -ge "$((${calls:-0} * 9 / 10))" ] || calls=0 ;;
translated)
	calls=$(stats_count 'bt: entries into the guest vDSO, run translated')
	what="vDSO run translated: ${calls:-none} entries" ;;
gate)
	calls=$(stats_count 'bt: system call through the vDSO gate (no signal)')
	what="vDSO gate: ${calls:-none} calls" ;;
esac
expectations=$((expectations + 1))
if [ "${calls:-0}" -ge 1000 ] && [ "${int80:-0}" -lt $((${calls:-0} / 20)) ]; then
	met "$what, ${int80:-0} host int \$0x80 traps"
else
	unmet "$what, host int \$0x80 traps ${int80:-none}"
fi

# The lines that must agree: PASS/FAIL/SKIP and "= KEY VALUE", a native
# SKIP (what only the guest can do) standing for the guest's PASS.
expectations=$((expectations + 1))
if [ "$native_status" != 0 ] || ! grep -q '^done: ' "$work/native.out"; then
	unmet "the native run (busybox sh $script) failed with status $native_status: $(grep -m1 '^FAIL:' "$work/native.out") $(head -c 300 "$work/native.err")"
else
	sed -n 's/^SKIP: \([^ ]*\) (native)$/PASS: \1/; /^\(PASS\|FAIL\|SKIP\): \|^= /p' \
		"$work/native.out" >"$work/native.cmp"
	grep -E '^(PASS|FAIL|SKIP): |^= ' "$work/guest.out" >"$work/guest.cmp"
	if diff -u "$work/native.cmp" "$work/guest.cmp" >"$work/cmp.diff"; then
		met "the guest's $(wc -l <"$work/guest.cmp") results are the native run's"
	else
		unmet "guest and native transcripts differ (- native, + guest):"
		sed 's/^/    /' "$work/cmp.diff"
	fi
fi

# The disk, from the host: what the guest read is the image's sectors
# 0..2047; the image is the original with sectors 4096..4223 holding the
# guest's pattern, byte for byte what the native run wrote into its copy.
expectations=$((expectations + 1))
if msg=$(python3 - "$orig" "$img" "$work/native.img" "$work/guest.out" 2>&1 <<'PY'
import hashlib, sys
orig, img, native = (open(p, 'rb').read() for p in sys.argv[1:4])
vals = {}
for line in open(sys.argv[4]):
    w = line.split()
    if len(w) == 3 and w[0] == '=':
        vals[w[1]] = w[2]
md5 = lambda b: hashlib.md5(b).hexdigest()
if vals.get('disk-read-md5') != md5(orig[:2048 * 512]):
    sys.exit('the guest read other bytes: %s' % vals.get('disk-read-md5'))
if vals.get('disk-read-tail-md5') != md5(orig[1023 * 4096:1024 * 4096]):
    sys.exit('the guest read other bytes at the end: %s' % vals.get('disk-read-tail-md5'))
pattern = (' '.join(str(i) for i in range(1, 100001)) + ' ').encode()[:65536]
want = orig[:4096 * 512] + pattern + orig[4096 * 512 + len(pattern):]
if img != want:
    diff = [i for i in range(len(img)) if i >= len(want) or img[i] != want[i]]
    sys.exit('image differs at %d bytes, first at sector %d' % (len(diff), diff[0] // 512))
if native != want:
    sys.exit('the native run wrote something else')
print('the guest read the known bytes, and its pattern is in sectors 4096..4223')
PY
); then
	met "$msg"
else
	unmet "$msg"
fi

finish
