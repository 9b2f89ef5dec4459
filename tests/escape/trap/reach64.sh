# The same probes as tests/escape/reach64.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/reach64.sh"
