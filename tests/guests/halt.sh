# halt.sh — HLT with interrupts disabled can never resume: popek must end
# the VM promptly as a guest crash (status 3) and say why.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run "$GUESTS/halt.elf"
expect_status 3
expect_out '^halt: executing cli; hlt$'
expect_no_out 'resumed'
expect_err 'halt'
expect_err 'interrupt'

finish
