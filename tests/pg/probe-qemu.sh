# probe-qemu.sh — the Popek–Goldberg probe suite under QEMU's TCG
# (scripts/qemu-guest), the reference: every probe passes.  Not part of
# `make check`; run it from the build directory once tests/pg/probe.elf is
# built:  srcdir=SRCDIR sh SRCDIR/tests/pg/probe-qemu.sh
# Skips (status 77) when qemu-system-i386 is not installed.
mode=qemu
srcdir=${srcdir:-.}
. "$srcdir/tests/pg/probe.sh"
