# syscalls-sysenter.sh — containment: a guest's Linux system call made with
# sysenter must never reach the host kernel (no ESCAPED from write(), no
# exit(42)); popek stops the guest as a crash (status 3) with a message.
# Where popek virtualises SYSENTER by default (AMD and Hygon hosts on bare
# metal, vmm/cpuid.c) the guest's own CPU takes it: this guest never set
# SYSENTER_CS, so it is a #GP(0), and with no IDT a triple fault.
# Elsewhere SEP is hidden: under bt (a callout), and under trap where the
# host faults SYSENTER, the guest gets #UD; under trap on other hosts the
# host kernel's SYSENTER path is entered and its seccomp trap stops the
# guest.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run --append how=sysenter "$GUESTS/syscalls.elf"
expect_status 3
expect_out '^syscalls: trying sysenter$'
expect_no_out 'ESCAPED'
expect_no_out 'CONTINUED'
if host_sep_default; then
	expect_err 'triple fault delivering vector 0xd$'
elif [ "$popek_mode" = bt ] || host_sysenter_faults; then
	expect_err 'triple fault delivering vector 0x6$'
else
	expect_err 'guest executed SYSCALL or SYSENTER \(host syscall 4 trapped'
fi

finish
