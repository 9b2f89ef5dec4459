# traced-stack.sh — pushes onto a write-traced page (tests/guests/
# traced-stack.c) are emulated against the virtual CPU: PUSHF gives the
# virtual IF, PUSH CS the guest's selector, CALL r/m the next EIP.
. "$srcdir/tests/guests/lib.sh"

for opts in "" "--no-pku"; do
	run_popek 20 run $opts "$GUESTS/traced-stack.elf"
	expect_status 0
	for c in pushf-after-cli-pushes-if-0 push-cs-pushes-the-guest-selector \
		call-pushes-the-next-eip; do
		expect_out "^PASS: $c\$"
	done
	expect_out '^guest: 3 checks, 0 failed$'
	expect_no_fail
done

finish
