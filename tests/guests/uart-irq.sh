# uart-irq.sh — the 16550A's interrupts reach the guest through the 8259A
# (tests/guests/uart-irq.c): a line on stdin, read by the IRQ4 handler.
. "$srcdir/tests/guests/lib.sh"

STDIN=$work/input
printf 'ping popek\n' >"$STDIN"
run_popek 20 run "$GUESTS/uart-irq.elf"
expect_status 0
expect_out "^uart-irq: got 'ping popek' in [0-9]+ interrupts"
for c in rx-line-by-interrupt iir-names-received-data \
	thre-interrupt-when-enabled; do
	expect_out "^PASS: $c\$"
done
expect_no_fail

finish
