# probe-bt.sh — the Popek–Goldberg probe suite under popek --mode=bt:
# every kernel-mode probe passes; user mode still runs directly, so its
# residues stay (tests/pg/probe.sh).
mode=bt
. "$srcdir/tests/pg/probe.sh"
