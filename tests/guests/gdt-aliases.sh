# gdt-aliases.sh — each row of docs/host-gdt-aliases.md: guest GDT
# selectors whose host entry faults are emulated from the guest's own GDT;
# the four whose host entry is a DPL-3 segment (indexes 4, 5, 6, 15) load
# the host's descriptor silently — the documented residue.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run "$GUESTS/gdt-aliases.elf"
expect_status 0
for i in 01 02 03 07 08 09 10 11 12 13 14 16 17 18 19 20; do
	expect_out "^PASS: index-$i-emulated-from-guest-gdt\$"
done
for i in 04 05 06 15; do
	expect_out "^PASS: index-$i-residue-host-alias\$"
done
expect_no_fail

finish
