# vdso.sh — calls from CPL 3 into a Linux-style vDSO page (tests/guests/
# vdso.c) under the three --vdso modes of --mode=bt: each call's PUSHes,
# INT 0x80 and return exact, EFLAGS kept, the kernel's view of the frame
# unpatched, a kernel write to the frame seen by user code; and --stats
# shows which path each took:
#   fast        the monitor did the entries and landing pads (the first
#               call is a host int $0x80: it finds the vDSO);
#   translated  the vDSO ran in the translation cache;
#   gate        the calls came through the gate, the user view shows the
#               far call, and far calls to the gate and to its HLT (the
#               way with no key in GS base) from outside the vDSO are
#               #GP(0x834), as a call to that selector is on hardware.
. "$srcdir/tests/guests/lib.sh"

checks="vdso-entry-pushes-and-int80 vdso-landing-pad-returns vdso-user-view
	vdso-kernel-view-exact vdso-call-after-frame-write
	vdso-frame-write-seen-by-user vdso-eflags-kept"

run_popek 30 run --stats --vdso=fast "$GUESTS/vdso.elf"
expect_status 0
for c in $checks; do expect_out "^PASS: $c\$"; done
expect_no_fail
expect_stat() { # LINE MIN: the --stats count of LINE is at least MIN
	local n
	n=$(stats_count "$1")
	expectations=$((expectations + 1))
	if [ "${n:-0}" -ge "$2" ]; then
		met "$1: $n"
	else
		unmet "$1: ${n:-none}, not >= $2"
	fi
}
expect_stat 'bt: vDSO system calls entered by the monitor' 3
expect_stat 'bt: vDSO landing-pad returns done by the monitor' 3

run_popek 30 run --stats --vdso=translated "$GUESTS/vdso.elf"
expect_status 0
for c in $checks; do expect_out "^PASS: $c\$"; done
expect_no_fail
expect_stat 'bt: entries into the guest vDSO, run translated' 6

if grep -qw fsgsbase /proc/cpuinfo; then
	# The gate's HLT, as an offset from its start (popek's symbols).
	# (A call with no key in GS base goes there; on AMD a GS load in
	# compatibility mode keeps bits 32..63 of the base, so no guest
	# call does: the test far-calls it from outside the vDSO.)
	g=$(nm "$POPEK" | awk '$3 == "popek_gate" { print $1 }')
	h=$(nm "$POPEK" | awk '$3 == "popek_gate_nokey" { print $1 }')
	hlt=0
	[ -n "$g" ] && [ -n "$h" ] && hlt=$((0x$h - 0x$g))
	run_popek 30 run --stats --vdso=gate --append "gate=1 lcall=1 hlt=${hlt:-0}" \
		"$GUESTS/vdso.elf"
	expect_status 0
	for c in $checks lcall-0x837-is-gp lcall-gate-hlt-is-gp; do
		expect_out "^PASS: $c\$"
	done
	expect_no_fail
	# (calls 2-4: the first finds the vDSO; and the two refused)
	expect_stat 'bt: system call through the vDSO gate (no signal)' 5
	expect_stat 'bt: vDSO gate calls with no key in GS base (HLT)' 1
	expect_stat 'bt: far calls to the vDSO gate from elsewhere (#GP)' 2
else
	echo "$test_name: --vdso=gate part skipped: the host has no FSGSBASE"
fi
finish
