# loads.sh — host GDT selectors 0x23, 0x2b, 0x33, 0x7b loaded into ES,
# then a write and reads at 0xFF000000 (the vpage under bt) through it.
# Translated kernel code: #GP(selector) from the guest GDT, as hardware.
# Directly run code under bt: the host's flat data segment 0x2b WRITES the
# vpage (harmless: its fields are rewritten before translated code runs);
# the read-only ones (0x23, 0x33, 0x7b) have their write dropped (no #GP)
# and READ the vpage, where no monitor pointer is (its old place, +0x10,
# reads 0: translate/tc.h's key page).  Under trap:
# nothing is at 0xFF000000 (0x2b: write dropped, all ones); the write
# through a read-only host segment stops the guest (status 3).
. "$srcdir/tests/escape/lib.sh"

for cpl in 0 3; do
	for sel in 23 2b 33 7b; do
		probe $cpl load sel=$((0x$sel))
		if [ "$popek_mode" = bt ] && [ "$cpl" = 0 ]; then
			expect_pass load-contained-gp-$sel
		elif [ "$popek_mode" = bt ] && [ $sel = 2b ]; then
			expect_pass load-residue-writes-vpage-$sel
		elif [ "$popek_mode" = bt ]; then
			expect_pass load-residue-reads-vpage-$sel
		elif [ $sel = 2b ]; then
			expect_pass load-contained-no-monitor-$sel
		else
			expect_status 3
			expect_err 'unemulated instruction .*es:\[0xFF000034\]'
			expect_no_out '^(PASS|FAIL)'
			expect_no_host_syscall
		fi
	done
done

finish
