# The same probes as tests/escape/descriptors.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/descriptors.sh"
