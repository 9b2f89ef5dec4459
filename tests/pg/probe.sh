# probe.sh — the Popek–Goldberg probe suite (tests/pg/probe.c) under one
# runner, and exactly which of its probes fail there.  Sourced by
# tests/pg/probe-MODE.sh, which sets $mode first:
#
#   trap   popek --mode=trap (tests/pg/probe-trap.sh, in `make check`):
#          guest code at every CPL runs directly on the host CPU, so the
#          sensitive but unprivileged probes fail (tests/pg/expect.txt
#          lists them with their causes; docs/popek-goldberg.md §2 has the
#          table), and the privileged ones pass.
#   bt     popek --mode=bt (tests/pg/probe-bt.sh, in `make check`).
#          Guest kernel code runs from the translation cache there, so
#          every cpl0-* probe must pass; guest user code still runs
#          directly (DESIGN.md §3), so the cpl3-* list still fails.
#   qemu   scripts/qemu-guest, QEMU's TCG, the reference: no probe fails
#          (tests/pg/probe-qemu.sh; not in `make check`, which runs no
#          QEMU: run it by hand from the build directory).
#
# What each probe gives in each mode is in tests/pg/expect.txt (the one
# list, which `popek probe` has compiled in): a probe that is added or
# removed is added or removed there.

PG=${PG:-tests/pg}
EXPECT=${EXPECT:-$srcdir/tests/pg/expect.txt}

case ${mode:-} in
trap | bt) ;;
qemu)
	if ! command -v "${QEMU:-qemu-system-i386}" >/dev/null 2>&1; then
		echo "probe-qemu: ${QEMU:-qemu-system-i386} is not installed: skipped"
		exit 77
	fi
	POPEK=${POPEK:-${srcdir:-.}/scripts/qemu-guest}
	;;
*)
	echo "probe.sh: mode '${mode:-}' is none of trap, bt, qemu" >&2
	exit 99
	;;
esac
. "$srcdir/tests/guests/lib.sh"

# The probes of expect.txt whose column $1 (2: trap, 3: bt) says $2 (any
# outcome when $2 is empty).
expected() {
	awk -v col="$1" -v want="${2:-}" '$1 !~ /^(#|row$)/ && NF == 3 &&
		(want == "" || $col == want) { print $1 }' "$EXPECT"
}
PROBES=$(expected 2 | wc -l)
if [ "$PROBES" -eq 0 ]; then
	echo "probe.sh: no probes in $EXPECT" >&2
	exit 99
fi

case $mode in
trap)
	fails=$(expected 2 fail)
	maybe=$(expected 2 either)
	run_popek 30 run --mode=trap "$PG/probe.elf"
	;;
bt)
	fails=$(expected 3 fail)
	maybe=$(expected 3 either)
	run_popek 30 run --mode=bt "$PG/probe.elf"
	;;
qemu)
	fails=
	maybe=
	run_popek 60 "$PG/probe.elf"
	;;
esac

for m in $maybe; do
	fails=$(for n in $fails; do [ "$n" = "$m" ] || echo "$n"; done)
	grep -q "^FAIL: $m " "$out" && fails="$fails $m"
done
set -- $fails
if [ $# -gt 0 ]; then
	expect_status 1
else
	expect_status 0
fi
expect_fails "$@"
expect_out "^guest: $PROBES checks, $# failed\$"
expect_out '^info: cpuid vendor '
finish
