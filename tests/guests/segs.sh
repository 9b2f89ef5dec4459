# segs.sh — the segment-register instructions --mode=bt runs inline (MOV
# and POP Sreg, PUSH Sreg, VERW; tests/guests/segs.c) under a 10 kHz
# timer; the trap variant runs the same code in place.
. "$srcdir/tests/guests/lib.sh"

bt=0
[ "$popek_mode" = bt ] && bt=1
run_popek 60 run --append "bt=$bt" "$GUESTS/segs.elf"
expect_status 0
for c in segs-mov-es-loads-its-base segs-pop-fs-loads-its-base \
	segs-mov-ds-from-memory segs-push-gives-guest-selectors \
	segs-verw-zf-and-other-flags segs-gdt-rewrite-reaches-the-next-load \
	segs-verw-follows-gdt-rewrite segs-mov-from-sreg-gives-guest-selectors \
	segs-mov-from-cr-reads-what-was-written segs-timer-interrupts-delivered; do
	expect_out "^PASS: $c\$"
done
expect_no_fail
finish
