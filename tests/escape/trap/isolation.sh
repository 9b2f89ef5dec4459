# The same probes as tests/escape/isolation.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/isolation.sh"
