# io.sh — every IN/OUT/INS/OUTS form against the test device (ports
# 0xE0..0xEF), port 0x80 and an unclaimed port; each form is one PASS line
# of the io guest, and each is required here by name so that a guest that
# stops early cannot pass.
. "$srcdir/tests/guests/lib.sh"

forms='
outb-imm8 outw-imm8 outl-imm8 outb-dx outw-dx outl-dx
inb-imm8 inw-imm8 inl-imm8 inb-dx inw-dx inl-dx
latch-offsets fifo-basics port80-readback
unclaimed-inb unclaimed-inw unclaimed-inl
outsb outsw outsl insb insw insl
rep-outsb rep-outsw rep-outsl rep-insb rep-insw rep-insl
rep-outs-ecx0 rep-ins-ecx0 rep-4k-roundtrip
rep-outsb-df outsw-df rep-insl-df
addr16-rep-outsb addr16-rep-insw addr16-di-wrap
fs-outsb gs-rep-outsl
'

run_popek 30 run "$GUESTS/io.elf"
expect_status 0
for f in $forms; do
	expect_out "^PASS: $f\$"
done
expect_no_fail
expect_out '^guest: 41 checks, 0 failed$'

finish
