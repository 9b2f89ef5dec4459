# probe-trap.sh — the Popek–Goldberg probe suite under popek --mode=trap:
# exactly the sensitive but unprivileged probes fail (tests/pg/probe.sh).
mode=trap
. "$srcdir/tests/pg/probe.sh"
