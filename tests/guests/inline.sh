# inline.sh — the inline sequences of --mode=bt (tests/guests/inline.c)
# under a 10 kHz timer; the trap variant runs the same code in place.
. "$srcdir/tests/guests/lib.sh"

bt=0
[ "$popek_mode" = bt ] && bt=1
run_popek 60 run --append "bt=$bt" "$GUESTS/inline.elf"
expect_status 0
for c in inline-pushf-popf-arithmetic-flags inline-indirect-call-and-ret \
	inline-virtual-if inline-timer-interrupts-delivered \
	inline-no-interrupt-while-if-0 inline-guest-gs-load-store-and-selector; do
	expect_out "^PASS: $c\$"
done
expect_no_fail
finish
