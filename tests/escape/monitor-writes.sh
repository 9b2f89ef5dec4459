# monitor-writes.sh — guest writes into the monitor region 0xFF000000..
# (vpage, lookup table, stubs, translated code) through a flat segment,
# a segment based at 0x80000000, one whose base + offset wraps round
# 4 GiB into it, an expand-down segment, and guest page tables mapping
# 0xFF000000 to a guest page.  Contained everywhere: the write never lands
# in the monitor (reads back as no RAM, or lands in the guest's own page),
# popek runs on.  Under trap, the wrapping segment is not emulated:
# popek stops the guest (status 3) — contained, not exact.
. "$srcdir/tests/escape/lib.sh"

for cpl in 0 3; do
	for how in flat based wrap expdown paged; do
		probe $cpl write how=$how
		if [ "$popek_mode" = trap ] && [ $how = wrap ]; then
			expect_status 3
			expect_err 'unemulated instruction'
			expect_no_out '^(PASS|FAIL)'
			expect_no_host_syscall
		else
			expect_pass write-contained-$how
		fi
	done
	probe $cpl wrap-read
	if [ "$popek_mode" = trap ]; then
		expect_status 3
		expect_err 'unemulated instruction .*es:\[0x80002000\]'
		expect_no_host_syscall
	else
		expect_pass wrap-read-contained-architectural
	fi
done

finish
