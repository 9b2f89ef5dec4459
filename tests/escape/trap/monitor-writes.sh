# The same probes as tests/escape/monitor-writes.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/monitor-writes.sh"
