# uart-irq.sh — the 16550A's interrupts reach the guest through the 8259A
# (tests/guests/uart-irq.c): a line on stdin, read by the IRQ4 handler;
# then loopback (MSR, received-data, THRE and modem status interrupts).
. "$srcdir/tests/guests/lib.sh"

STDIN=$work/input
printf 'ping popek\n' >"$STDIN"
run_popek 20 run "$GUESTS/uart-irq.elf"
expect_status 0
expect_out "^uart-irq: got 'ping popek' in [0-9]+ interrupts"
for c in rx-line-by-interrupt iir-names-received-data \
	thre-interrupt-when-enabled loopback-msr-follows-mcr \
	loopback-msr-out1-is-ri loopback-thre-interrupt-when-enabled \
	loopback-bytes-back-by-interrupt loopback-thre-after-each-write \
	loopback-msr-interrupt scratch-register; do
	expect_out "^PASS: $c\$"
done
expect_no_fail
# What the guest sent in loopback never reached the line.
expect_no_out '<loop>'

finish
