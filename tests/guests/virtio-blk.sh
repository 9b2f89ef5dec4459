# virtio-blk.sh — the virtio block device against an image whose bytes
# are checked here on the host (tests/guests/virtio-blk.c): reads by
# interrupt and by polling, a write and flush, read-only images, malformed
# rings that must stop the device without touching anything, and the
# --disk errors (missing, bad size, locked).
. "$srcdir/tests/guests/lib.sh"

command -v python3 >/dev/null || { echo "virtio-blk: needs python3" >&2; exit 99; }
img=$work/disk.img
orig=$work/orig.img
python3 -c 'import os, sys; open(sys.argv[1], "wb").write(os.urandom(2048 * 512))' "$orig"
cp "$orig" "$img"

# check_image WHAT: every "hash S N H" line of the run matches the original
# image, and the image is the original (same) or the original with sectors
# 100..107 holding the guest's pattern (written).
check_image() {
	expectations=$((expectations + 1))
	if msg=$(python3 - "$img" "$orig" "$out" "$1" <<'PY'
import sys
img, orig = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
def fnv(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xffffffff
    return h
hashes = 0
for line in open(sys.argv[3]):
    w = line.split()
    if len(w) == 4 and w[0] == 'hash':
        s, n, h = int(w[1]), int(w[2]), int(w[3], 16)
        if fnv(orig[s * 512:(s + n) * 512]) != h:
            sys.exit('guest read other bytes: ' + line.strip())
        hashes += 1
want = bytearray(orig)
if sys.argv[4] == 'written':
    for s in range(100, 108):
        for i in range(512):
            want[s * 512 + i] = (s * 31 + i * 7 + 1) & 0xff
if img != bytes(want):
    diff = [i for i in range(len(img)) if img[i] != want[i]]
    sys.exit('image differs at %d bytes, first at sector %d' % (len(diff), diff[0] // 512))
print('%d hashes match, image %s' % (hashes, sys.argv[4]))
PY
	); then
		met "$msg"
	else
		unmet "$msg"
	fi
}

run_popek 30 run --disk "$img" --append popek=1 "$GUESTS/virtio-blk.elf"
expect_status 0
expect_out '^capacity 2048 sectors, features 0x[0-9a-f]*, queue 256, irq 10$'
for c in device-found-and-started read-by-interrupt \
	interrupt-delivered-isr-bit0 read-into-split-buffers read-by-polling \
	no-isr-when-interrupt-suppressed no-interrupt-when-suppressed \
	write-two-buffers flush read-back read-back-matches-pattern read-20-23 \
	four-in-flight four-in-flight-data get-id read-past-end-ioerr \
	unknown-type-unsupp; do
	expect_out "^PASS: $c\$"
done
expect_out '^hash 5 1 [0-9a-f]{8}$'
expect_out "^id 'disk.img'\$"
expect_no_fail
check_image written

cp "$orig" "$img"
run_popek 30 run --disk "$img,ro" --append ro=1 "$GUESTS/virtio-blk.elf"
expect_status 0
for c in ro-feature-offered write-refused-ioerr read-still-works flush-ok; do
	expect_out "^PASS: $c\$"
done
expect_no_fail
check_image same

run_popek 60 run --disk "$img" --append "bad=1 popek=1" "$GUESTS/virtio-blk.elf"
expect_status 0
for c in buffer-above-4g buffer-in-pci-hole buffer-straddles-ram-end \
	length-overflow descriptor-loop descriptor-index-out-of-range \
	head-out-of-range avail-index-jump; do
	expect_out "^PASS: $c-not-completed\$"
	expect_out "^PASS: $c-needs-reset\$"
	expect_out "^PASS: $c-reset-recovers\$"
done
expect_no_fail
expect_err '^popek: virtio-blk: bad descriptor chain at head 0: buffer outside guest RAM; device stopped until the driver resets it$'
expect_err 'descriptor chain loops'
expect_err 'descriptor index out of range'
expect_err 'avail index jumped'
check_image same

# --disk errors: one line, status 2, the guest never runs.
run_popek 10 run --disk "$work/missing.img" "$GUESTS/virtio-blk.elf"
expect_status 2
expect_out_empty
expect_err_lines 1
expect_err "^popek: device virtio-blk: disk $work/missing.img: No such file or directory\$"

head -c 1000 /dev/zero >"$work/odd.img"
run_popek 10 run --disk "$work/odd.img" "$GUESTS/virtio-blk.elf"
expect_status 2
expect_err_lines 1
expect_err 'size 1000 bytes is not a non-zero multiple of 512$'

if command -v flock >/dev/null; then
	flock "$img" sleep 5 &
	sleep 0.5
	run_popek 10 run --disk "$img" "$GUESTS/virtio-blk.elf"
	expect_status 2
	expect_err_lines 1
	expect_err "^popek: device virtio-blk: disk $img is locked by another process\$"
	wait
fi

run_popek 10 run --disk ,ro "$GUESTS/virtio-blk.elf"
expect_status 2
expect_err "^popek: --disk '': give PATH or PATH,ro"

finish
