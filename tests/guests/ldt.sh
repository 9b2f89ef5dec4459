# ldt.sh — a guest LDT (tests/guests/ldt.c): TI=1 selectors, entries that
# share an index with loaded GDT segments, push/pop, a not-present entry.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run "$GUESTS/ldt.elf"
expect_status 0
for c in ldt-entry-0-reads-its-segment ldt-entry-1-beside-gdt-cs-index-1 \
	ldt-entry-2-beside-gdt-ds-index-2 gdt-ds-still-flat \
	pushed-fs-popped-into-gs-same-segment fs-reads-back-ldt-index-1 \
	not-present-ldt-entry-np-with-selector; do
	expect_out "^PASS: $c\$"
done
expect_no_fail

finish
