# smc.sh — self-modifying code runs patched (tests/guests/smc.c); the
# bt variant is where it matters.
. "$srcdir/tests/guests/lib.sh"

run_popek 20 run "$GUESTS/smc.elf"
expect_status 0
expect_out '^PASS: smc: store to the next instruction$'
expect_out '^PASS: smc: guest text unchanged but for its own patches$'
expect_no_fail
finish
