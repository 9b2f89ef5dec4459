# reset.sh — a guest reset (i8042 command 0xFE, port 0x92 bit 0, i8042
# output port bit 0) ends popek with one line and status 4
# (tests/guests/reset.c).
. "$srcdir/tests/guests/lib.sh"

for via in 64 92 d1; do
	run_popek 20 run --append "via=$via" "$GUESTS/reset.elf"
	expect_status 4
	expect_out "^reset: via $via\$"
	expect_err '^popek: guest reset$'
	expect_err_lines 1
	expect_no_fail
done

finish
