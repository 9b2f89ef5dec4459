# probe.sh — the Popek–Goldberg probe suite (tests/pg/probe.c) under one
# runner, and exactly which of its probes fail there.  Sourced by
# tests/pg/probe-MODE.sh, which sets $mode first:
#
#   trap   popek --mode=trap (tests/pg/probe-trap.sh, in `make check`):
#          guest code at every CPL runs directly on the host CPU, so the
#          sensitive but unprivileged probes fail (the lists below, with
#          their causes; docs/popek-goldberg.md §2 has the table), and the
#          privileged ones pass.
#   bt     popek --mode=bt (tests/pg/probe-bt.sh, in `make check`).
#          Guest kernel code runs from the translation cache there, so
#          every cpl0-* probe must pass; guest user code still runs
#          directly (DESIGN.md §3), so the cpl3-* list still fails.
#   qemu   scripts/qemu-guest, QEMU's TCG, the reference: no probe fails
#          (tests/pg/probe-qemu.sh; not in `make check`, which runs no
#          QEMU: run it by hand from the build directory).
#
# A probe that is added or removed changes PROBES.

PROBES=171
PG=${PG:-tests/pg}

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

# cplN-INSN-SEL for each SEL:INSN,INSN... (descriptor probes).
dt() {
	local cpl=$1 s i
	shift
	for s in "$@"; do
		for i in $(echo "${s#*:}" | tr , ' '); do
			printf ' cpl%s-%s-%s' "$cpl" "$i" "${s%%:*}"
		done
	done
}

# At both CPLs: host UMIP makes up SGDT/SIDT/SLDT/STR/SMSW; every segment
# register read shows popek's host-LDT selector (TI set, RPL 3; a guest LDT
# selector in a private slot above the LDT shadows).
both=
for cpl in 0 3; do
	both="$both cpl$cpl-sgdt cpl$cpl-sidt cpl$cpl-sldt cpl$cpl-str cpl$cpl-smsw"
	for r in es cs ss ds fs gs; do
		both="$both cpl$cpl-mov-$r cpl$cpl-push-$r"
	done
done
# LAR, LSL, VERR and VERW read the host's GDT and LDT, not the guest's: the
# ones whose architectural answer differs from the host descriptor's.  A
# guest GDT index 15 selector names the host's CPU-number segment 0x7b.
kernel_dt=$(dt 0 kcode:lar,lsl,verr kdata:lar,lsl,verr,verw \
	udata:lar,lsl,verr,verw tss:lar,lsl,verr ldt:lar,lsl \
	small:lar,lsl,verr,verw ro3:lar,lsl,verr xo:lar,lsl \
	conf:lar,lsl,verr cgate:lar ldt-data:lar,lsl,verr,verw)
user_dt=$(dt 3 udata:lar,lsl,verr,verw tss:lar,lsl,verr ro3:lar,lsl,verr \
	conf:lar,lsl,verr ldt-data:lar,lsl,verr,verw)
# PUSHF shows the host's IF = 1 and IOPL 0; POPF's changes to IF and IOPL
# do not take effect (the INT 80h frame shows the virtual flags).  At
# CPL 3 with IOPL 0 hardware ignores them too: only IOPL 3 shows it.
kernel_flags="cpl0-if0-pushf cpl0-if0-popf-pushf cpl0-if0-popf-int
	cpl0-if1-popf-pushf cpl0-if1-popf-int"
user_flags="cpl3-if0-pushf cpl3-if0-popf-pushf cpl3-iopl3-pushf
	cpl3-iopl3-popf-pushf cpl3-iopl3-popf-int"

kernel_fails=$(for n in $both $kernel_dt $kernel_flags; do
	case $n in cpl0-*) echo "$n" ;; esac
done)
user_fails=$(for n in $both $user_dt $user_flags; do
	case $n in cpl3-*) echo "$n" ;; esac
done)

# Probes whose trap-mode outcome depends on the host: at CPL 0 this
# host's kernel gives up faking SGDT/SIDT for popek's guest (UMIP) and
# sends the #GP, which popek then emulates correctly; a host without
# UMIP runs them natively and they fail.  Counted as failing if they do.
maybe=

case $mode in
trap)
	fails="$kernel_fails $user_fails"
	maybe="cpl0-sgdt cpl0-sidt"
	run_popek 30 run --mode=trap "$PG/probe.elf"
	;;
bt)
	# Guest user code with the virtual IF off runs translated too, so its
	# PUSHF/POPF see and change the virtual flags; with IF on it runs
	# directly and the rest of the user-mode list stays.
	fails=$(for n in $user_fails; do
		case $n in
		cpl3-if0-pushf | cpl3-if0-popf-pushf | cpl3-iopl3-pushf | \
		cpl3-iopl3-popf-int) ;;
		*) echo "$n" ;;
		esac
	done)
	run_popek 30 run --mode=bt "$PG/probe.elf"
	;;
qemu)
	fails=
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
