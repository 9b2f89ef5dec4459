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
# with the fallback that unmaps supervisor pages for CPL 3, and with user
# segments cut below the supervisor pages (--user-isolation=segments: the
# cut learnt from the user pages the guest maps, the emulator's accesses
# beyond it made with user rights); then with no
# user/supervisor separation at all (--no-user-isolation), which must lose
# exactly that.
for opts in "-m 128" "-m 16 --no-pku" "-m 16 --user-isolation=segments"; do
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

# --no-user-isolation: supervisor pages stay mapped while CPL 3 runs, so
# what CPL 0 mapped, CPL 3 reaches.  Exactly that is lost: CPL 0 groups
# pass, and every CPL 3 failure is a wanted fault that did not come, on
# the second access, after the supervisor read mapped the page.
run_popek 120 run -m 16 --no-user-isolation "$GUESTS/paging.elf"
expect_status 1
for wp in 0 1; do
	for grp in 4k 4m ps-ignored; do
		expect_out "^PASS: access-$grp-cpl0-wp$wp "
		expect_out "^FAIL: access-$grp-cpl3-wp$wp "
	done
done
expectations=$((expectations + 1))
other=$(grep '^FAIL: access-[^ ]*: ' "$out" |
	grep -v '^FAIL: access-[a-z0-9-]*-cpl3-wp[01]: .* twice: faulted 0x0, want 0x1 ' |
	grep -v '^FAIL: access-[a-z0-9-]*-cpl3-wp[01]: [0-9]* more failing combinations not shown$' |
	head -n1)
if [ -z "$other" ] && grep -q '^FAIL: access-.*: ' "$out"; then
	met "every difference is a supervisor page CPL 3 reached after CPL 0 mapped it"
else
	unmet "another difference under --no-user-isolation: ${other:-none at all}"
fi

finish
