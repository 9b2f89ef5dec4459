# echo.sh — bytes on popek's stdin reach the guest through the UART's
# receiver (tests/guests/echo.c) in order and complete.
. "$srcdir/tests/guests/lib.sh"

STDIN=$work/input
printf 'hello from the host, 0123456789\n' >"$STDIN"
run_popek 20 run "$GUESTS/echo.elf"
expect_status 0
expect_out '^echo: HELLO FROM THE HOST, 0123456789$'
expect_no_fail

finish
