# sysenter.sh — SYSENTER and SYSEXIT (tests/guests/sysenter.c): a round
# trip from CPL 3 to the guest kernel's SYSENTER_EIP and back with user
# IF set (under popek: SYSENTER met by direct execution, a host #UD) and
# clear (translated user code under bt), CS/SS/ESP/EIP/EFLAGS checked on
# both sides; #GP(0) for SYSENTER_CS 0 at CPL 0 and 3 and for SYSEXIT at
# CPL 3; with --sysenter=off, #UD for all of them.
#
# popek can show SEP (--sysenter=on) only where the host makes SYSENTER
# in compatibility mode #UD (AMD, Hygon; vmm/cpuid.c): elsewhere it
# enters the host kernel and the test is skipped.  The host's vendor is read from /proc/cpuinfo
# here, not from popek, so a popek that hid SEP on AMD fails.
. "$srcdir/tests/guests/lib.sh"

if ! host_sysenter_faults; then
	echo "$test_name: skipped: the host CPU is not AMD or Hygon, popek" \
		"hides SEP"
	exit 77
fi

# Under bt guest kernel code sees popek's CPUID and its own SS selector;
# under trap, the host's CPUID and popek's host selector (same index).
append="cpuid=1 exact=1"
[ "$popek_mode" = trap ] && append=
round="arrives-once cs-eip ss esp eflags gprs-kept"
faults="sysenter-cpl0-cs0 sysenter-cpl3-cs0 sysexit-cpl0-cs0 sysexit-cpl3
	sysenter-cs-rpl-only"

run_popek 20 run --sysenter=on ${append:+--append "$append"} "$GUESTS/sysenter.elf"
expect_status 0
for c in $round; do
	expect_out "^PASS: sysenter-if1-$c\$"
	expect_out "^PASS: sysenter-if0-$c\$"
done
for c in cs-ss eip-esp eflags; do
	expect_out "^PASS: sysexit-if1-$c\$"
	expect_out "^PASS: sysexit-if0-$c\$"
done
for c in $faults; do
	expect_out "^PASS: $c-gp\$"
done
if [ -n "$append" ]; then
	expect_out '^PASS: cpuid-shows-sep$'
	expect_out '^guest: 24 checks, 0 failed$'
else
	expect_out '^guest: 23 checks, 0 failed$'
fi
expect_no_fail

# --sysenter=off: a CPU without SEP.
run_popek 20 run --sysenter=off --append "off=1 ${append%% *}" \
	"$GUESTS/sysenter.elf"
expect_status 0
for c in $faults; do
	expect_out "^PASS: $c-ud\$"
done
[ -n "$append" ] && expect_out '^PASS: cpuid-hides-sep$'
expect_no_fail

finish
