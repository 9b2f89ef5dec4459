# monitor-writes.sh — guest writes into the monitor region 0xFF000000..
# (vpage, lookup table, stubs, translated code) through a flat segment,
# a segment based at 0x80000000, one whose base + offset wraps round
# 4 GiB into it, an expand-down segment, and guest page tables mapping
# 0xFF000000 to a guest page.  Contained everywhere: the write never lands
# in monitor state that matters (reads back as no RAM, or lands in the
# guest's own page), popek runs on.  The one residue: under bt a segment
# that wraps round 4 GiB keeps its 4 GiB limit (Linux's TLS needs it,
# vmm/desc_host.c), so the 0x80000000-based write lands in the vpage —
# harmless, the vpage is rewritten before translated code runs.  A read
# through a wrapping segment wraps as on hardware (compatibility mode
# truncates linear addresses to 32 bits), in both modes natively.
. "$srcdir/tests/escape/lib.sh"

for cpl in 0 3; do
	for how in flat based wrap expdown paged; do
		probe $cpl write how=$how
		if [ "$popek_mode" = bt ] && [ $how = based ]; then
			expect_pass write-residue-based-vpage
		else
			expect_pass write-contained-$how
		fi
	done
	probe $cpl wrap-read
	expect_pass wrap-read-contained-architectural
done

finish
