# paging.sh — the access-rights test of 32-bit paging (tests/guests/
# paging.c, after kvm-unit-tests x86/access.c) under popek: every
# combination of PDE and PTE bits (P, R/W, U/S, A, D, G; 4 KiB pages, 4 MiB
# pages, and PS ignored without CR4.PSE) x read/write/fetch x once/after a
# read, at CPL 0 and 3, CR0.WP 0 and 1, against the guest's own model of
# the SDM: fault, error code, CR2, EIP, data, A and D afterwards.  The
# same guest passes under QEMU: scripts/qemu-guest tests/guests/paging.elf
. "$srcdir/tests/guests/lib.sh"

# The default RAM with user/supervisor kept by protection keys (where the
# host has PKU), then the least RAM the guest needs (it stays below 8 MiB)
# with the fallback that unmaps supervisor pages for CPL 3.
for opts in "-m 128" "-m 16 --no-pku"; do
	run_popek 120 run $opts "$GUESTS/paging.elf"
	expect_status 0
	for c in cpu-has-pse-pge ram-covers-8mib paging-enabled-identity; do
		expect_out "^PASS: $c\$"
	done
	for cpl in 0 3; do
		for wp in 0 1; do
			g=cpl$cpl-wp$wp
			expect_out "^PASS: access-4k-$g \(6144 combinations\)\$"
			expect_out "^PASS: access-4m-$g \(384 combinations\)\$"
			expect_out "^PASS: access-ps-ignored-$g \(6144 combinations\)\$"
		done
	done
	expect_out '^guest: 15 checks, 0 failed$'
	expect_no_fail
done

finish
