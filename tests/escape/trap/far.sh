# The same probes as tests/escape/far.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/far.sh"
