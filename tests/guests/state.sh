# state.sh — the guest's registers, x87/SSE state, MXCSR, flags and data
# selectors survive exits into the monitor (tests/guests/state.c).
. "$srcdir/tests/guests/lib.sh"

# Translated kernel code loads segments as hardware would: no host alias.
hostsel=1
[ "$popek_mode" = bt ] && hostsel=0
run_popek 10 run --append "hostsel=$hostsel" "$GUESTS/state.elf"
expect_status 0
for c in sse-registers-survive-exits mxcsr-survives-exits \
	x87-control-word-survives-exits x87-stack-depth-survives-exits \
	x87-stack-values-survive-exits gprs-survive-exits cf-df-survive-exits \
	fs-gs-survive-exits ds-es-survive-exits; do
	expect_out "^PASS: $c\$"
done
expect_no_fail

finish
