# paging-misc.sh — paging as an operating system uses it (tests/guests/
# paging-misc.c) under popek: aliases, four address spaces switched
# by CR3, INVLPG, global pages and CR4.PGE, demand paging and copy-on-write
# from the #PF handler, paging turned off and on again; with mmio=1, the
# test device's MMIO registers through a PTE and a physical page beyond
# RAM.  Without mmio=1 the same guest passes under QEMU:
# scripts/qemu-guest tests/guests/paging-misc.elf
# Under POPEK_SHADOW=traced (tests/guests/traced/) the guest also checks,
# with coherent=1, that PTE and PDE changes count without INVLPG.
. "$srcdir/tests/guests/lib.sh"

checks="cpu-has-pge ram-covers-8mib paging-enabled-identity
	alias-write-one-read-other alias-dirty-per-entry cr3-switch-4-spaces
	invlpg-new-frame invlpg-unmapped-faults invlpg-readonly-write-faults
	global-cr3-load-refetches-nonglobal global-pge-toggle-flushes
	global-invlpg-flushes demand-paging-maps-on-fault
	demand-paging-from-cpl3 cow-write-fault-remaps
	paging-off-gives-identity paging-on-again paging-off-write-went-to-phys"
mmio_checks="mmio-scratch-mov-1-2-4-bytes mmio-access-counter
	mmio-counter-read-only mmio-read-modify-write
	unclaimed-phys-reads-ones-drops-writes"
coherent_checks="coherent-pte-new-frame coherent-pte-unmapped-faults
	coherent-pte-readonly-write-faults coherent-pde-new-table"
append=mmio=1 nchecks=23
if [ "${POPEK_SHADOW:-}" = traced ]; then
	append="mmio=1 coherent=1" nchecks=27
	mmio_checks="$mmio_checks $coherent_checks"
fi

for opts in "-m 128" "-m 16 --no-pku"; do
	run_popek 30 run $opts --append "$append" \
		"$GUESTS/paging-misc.elf"
	expect_status 0
	for c in $checks $mmio_checks; do
		expect_out "^PASS: $c\$"
	done
	expect_out "^guest: $nchecks checks, 0 failed\$"
	expect_no_fail
done

# Without mmio=1 (as under QEMU) the MMIO part is skipped, nothing else.
run_popek 30 run "$GUESTS/paging-misc.elf"
expect_status 0
expect_out '^paging: mmio checks skipped'
expect_out '^guest: 18 checks, 0 failed$'
expect_no_fail

finish
