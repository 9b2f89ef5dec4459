# gdt-aliases.sh — each row of docs/host-gdt-aliases.md: guest GDT
# selectors whose host entry faults are emulated from the guest's own GDT;
# the four whose host entry is a DPL-3 segment (indexes 4, 5, 6, 15) load
# the host's descriptor silently — the documented residue.
. "$srcdir/tests/guests/lib.sh"

# Under --mode=bt the guest's loads are translated: every row is
# emulated from the guest's GDT, the residue gone.
if [ "$popek_mode" = bt ]; then
	run_popek 10 run --append translated=1 "$GUESTS/gdt-aliases.elf"
	emulated="01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20"
	residue=
else
	run_popek 10 run "$GUESTS/gdt-aliases.elf"
	emulated="01 02 03 07 08 09 10 11 12 13 14 16 17 18 19 20"
	residue="04 05 06 15"
fi
expect_status 0
for i in $emulated; do
	expect_out "^PASS: index-$i-emulated-from-guest-gdt\$"
done
for i in $residue; do
	expect_out "^PASS: index-$i-residue-host-alias\$"
done
expect_no_fail

finish
