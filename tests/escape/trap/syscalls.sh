# The same probes as tests/escape/syscalls.sh under --mode=trap.
POPEK_MODE=trap
. "$srcdir/tests/escape/syscalls.sh"
