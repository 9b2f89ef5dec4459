# pci.sh — PCI bus 0 through 0xCF8/0xCFC (tests/guests/pci.c): the host
# and ISA bridges and nothing else without --disk; with --disk the legacy
# virtio block device at 00:02.0, its BAR0 placed at 0xC000 as a BIOS
# would, INTA# routed through PIRQB to IRQ 10.
. "$srcdir/tests/guests/lib.sh"

bridges="address-register-reads-back enable-bit-clear-reads-ones
	byte-and-word-reads-in-the-window absent-function-reads-ones
	vendor-id-read-only host-bridge-i440fx host-bridge-class
	isa-bridge-piix3 isa-bridge-class isa-bridge-multifunction
	pirq-routes-10-10-11-11"

run_popek 20 run "$GUESTS/pci.elf"
expect_status 0
expect_out '^pci 00:00\.0 8086:1237 class 060000 pin 0 irq 0$'
expect_out '^pci 00:01\.0 8086:7000 class 060100 pin 0 irq 0$'
expect_no_out '^pci 00:0[2-9a-f]'
for c in $bridges no-virtio-without-disk; do
	expect_out "^PASS: $c\$"
done
expect_no_fail

img=$work/disk.img
head -c 1048576 /dev/zero >"$img"
run_popek 20 run --disk "$img" --append disk=1 "$GUESTS/pci.elf"
expect_status 0
expect_out '^pci 00:02\.0 1af4:1001 class 010000 pin 1 irq 10$'
expect_out '^virtio BAR0 at 0xc000, 64 bytes$'
for c in $bridges virtio-blk-found virtio-subsystem-block \
	virtio-legacy-revision-0 virtio-pin-inta \
	virtio-irq-line-matches-pirq-route virtio-bar0-io-enabled \
	virtio-bar0-answers-flush-feature virtio-bar0-sized-by-ones \
	bar0-moved-answers-at-new-base bar0-moved-old-base-silent \
	io-decode-off-silent bar0-restored; do
	expect_out "^PASS: $c\$"
done
expect_no_fail

finish
