# The same probes as tests/escape/loads.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/loads.sh"
