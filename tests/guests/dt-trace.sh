# dt-trace.sh — guest writes to its GDT and LDT (tests/guests/dt-trace.c)
# take effect without LGDT/LLDT, as on hardware: popek write-traces the
# descriptor-table pages through the shadow MMU.  Paging off and on.
. "$srcdir/tests/guests/lib.sh"

for opts in "" "--no-pku"; do
	run_popek 20 run $opts "$GUESTS/dt-trace.elf"
	expect_status 0
	for c in loaded-fs-keeps-its-cached-descriptor \
		popped-selector-loads-the-new-gdt-entry ldt-entry-loads \
		ldt-entry-rewritten-without-lldt-loads-new; do
		expect_out "^PASS: $c\$"
	done
	expect_out '^guest: 6 checks, 0 failed$'
	expect_no_fail
done

finish
