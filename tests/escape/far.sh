# far.sh — far JMP/CALL to the host's 64-bit (0x33) and 32-bit (0x23) code
# selectors.  Translated kernel code (bt, CPL 0): emulated against the
# guest GDT, #GP(selector) as on hardware.  Directly run code (CPL 3; CPL
# 0 under trap): the residue, the host segment loads silently.
. "$srcdir/tests/escape/lib.sh"

for cpl in 0 3; do
	if [ "$popek_mode" = bt ] && [ "$cpl" = 0 ]; then
		r=contained-gp
	else
		r=
	fi
	probe $cpl far64
	expect_pass "far64-${r:-residue-runs-64bit-code}"
	probe $cpl lcall64
	expect_pass "lcall64-${r:-residue-runs-64bit-code}"
	probe $cpl far32
	expect_pass "far32-${r:-residue-host-cs}"
done

finish
