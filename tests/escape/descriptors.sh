# descriptors.sh — conforming and call-gate descriptor tricks.  A far
# CALL from CPL 3 into a DPL-0 conforming segment keeps CPL 3 (CLI there
# #GP(0)); from CPL 0 it runs CLI.  A DPL-3 call gate to kernel code:
# popek does not emulate gates and stops the guest (status 3) — contained.
. "$srcdir/tests/escape/lib.sh"

probe 3 conform
expect_pass conform-contained-cpl-stays
probe 0 conform
expect_pass conform-contained-kernel-cli
for cpl in 0 3; do
	probe $cpl cgate
	expect_status 3
	expect_err 'unsupported: call gate \(far CALL\)'
	expect_no_out '^(PASS|FAIL)'
	expect_no_host_syscall
done

finish
