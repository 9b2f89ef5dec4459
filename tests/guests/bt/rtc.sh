# The same checks as tests/guests/rtc.sh, with guest kernel code
# translated (--mode=bt, added by lib.sh's run_popek).
POPEK_MODE=bt
. "$srcdir/tests/guests/rtc.sh"
