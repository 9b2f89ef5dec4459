# syscalls.sh — int $0x80, SYSENTER and SYSCALL with Linux i386 and x86-64
# numbers (write(1, "HOSTWRITE\n", 10), exit_group(42)), from CPL 0 and 3:
# none reaches the host.  int $0x80 is the guest's vector 0x80 (eax kept);
# SYSCALL/SYSENTER stop the guest (status 3), except SYSENTER where popek
# virtualises it (AMD and Hygon hosts fault it with #UD in compatibility
# mode, vmm/cpuid.c): the guest's own CPU carries it out, and as this
# guest never set SYSENTER_CS it gets #GP(0).  Under bt at CPL 0 SYSENTER
# is a callout on every host (#GP there, #UD where SEP is hidden) and
# SYSCALL an unemulated instruction (status 3).
. "$srcdir/tests/escape/lib.sh"

is_amd=
grep -Eq '^vendor_id[[:space:]]*: (AuthenticAMD|HygonGenuine)$' /proc/cpuinfo &&
	is_amd=1
for cpl in 0 3; do
	probe $cpl int80
	expect_pass int80-contained-guest-vector
	for insn in sysenter syscall; do
		for nr in 4 1 252 231; do
			probe $cpl $insn nr=$nr
			expect_out "^escape: trying $insn nr $nr\$"
			expect_no_host_syscall
			bt0=
			[ "$popek_mode" = bt ] && [ "$cpl" = 0 ] && bt0=1
			if [ $insn = sysenter ] && [ -n "$is_amd$bt0" ]; then
				expect_status 0
				expect_out "^PASS: sysenter-contained-fault\$"
			elif [ -n "$bt0" ]; then
				expect_status 3
				expect_err "unemulated instruction .*\($insn\)"
			elif [ $insn = sysenter ]; then
				expect_status 0 3
			else
				expect_status 3
				expect_err "guest executed SYSCALL or SYSENTER \(host syscall $nr trapped, not run\)"
			fi
		done
	done
done

finish
