# irq.sh — interrupt injection through the guest's IDT (tests/guests/irq.c):
# HLT wake-up, a kick into a loop without exits, IF = 0, the STI shadow.
. "$srcdir/tests/guests/lib.sh"

run_popek 30 run "$GUESTS/irq.elf"
expect_status 0
for c in hlt-woken-by-interrupt-frame-eip-after-hlt frame-cs \
	frame-eflags-if-set interrupt-gate-clears-if \
	busy-loop-interrupted-without-exits no-delivery-while-if-clear \
	pending-delivered-once-after-sti \
	delivered-after-the-instruction-following-sti; do
	expect_out "^PASS: $c\$"
done
expect_no_fail

finish
