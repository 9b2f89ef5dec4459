# reach64.sh — what guest code that far-jumped to 0x33 reaches in 64-bit
# mode (DESIGN.md §11 residue), precisely:
#   - no monitor value in any register: R8-R15 zero, FS/GS bases below
#     4 GiB (also after null FS/GS across exits: AMD keeps a base on a
#     null load), the AVX/AVX-512 and opmask state zero (both modes);
#   - under bt the monitor region at 0xFF000000 reads, but holds no host
#     pointer (the first MiB is scanned); its vpage is writable (harmless,
#     rewritten before translated code runs); a write anywhere else in it
#     (lookup table, trampoline, stubs, code) stops the guest, status 3;
#   - the old gadget (popek_callout's address from the vpage, back to a
#     SYSCALL in popek) finds 0 there and faults: status 3, no host
#     syscall; a jump to a guessed address above 4 GiB the same;
#   - in both modes its call of the vsyscall page's time() is trapped by
#     the seccomp filter (IP in the top 4 GiB) and stops the guest;
#   - a raw SYSCALL or int $0x80 from below 4 GiB is trapped (never runs),
#     and popek stops the guest: one line, status 3 (it cannot run 64-bit
#     code);
#   - under trap, touching 0xFF000000 (not mapped) stops it the same way.
# Translated kernel code (bt, CPL 0) never gets there: #GP(0x30).
. "$srcdir/tests/escape/lib.sh"

# Bytes from the first SYSCALL instruction in popek to popek_callout.
gadget_back() {
	local c s
	c=$(nm "$real_popek" 2>/dev/null | awk '/ T popek_callout$/ { print $1 }')
	s=$(objdump -d "$real_popek" 2>/dev/null |
		awk '$NF == "syscall" { sub(":", "", $1); print $1; exit }')
	[ -n "$c" ] && [ -n "$s" ] && echo $((0x$c - 0x$s))
}

# The guest stopped in 64-bit code: one line, status 3, no host syscall.
expect_stopped_64bit() {
	expect_status 3
	expect_err '^popek: guest crash: guest code left 32-bit compatibility mode'
	expect_out "^escape: trying $1\$"
	expect_no_out '^(PASS|FAIL)'
	expect_no_host_syscall
}

if [ "$popek_mode" = bt ]; then
	probe 0 reach64 what=monitor-read
	expect_pass reach64-contained-gp
	probe 0 reach64 what=syscall-write
	expect_pass reach64-contained-gp
fi

direct_cpls=3
[ "$popek_mode" = trap ] && direct_cpls="0 3"
for cpl in $direct_cpls; do
	if grep -q '\[vsyscall\]' /proc/self/maps; then
		probe $cpl reach64 what=vsyscall
		expect_stopped_64bit vsyscall
	fi
	for nullfs in 0 1; do
		probe $cpl reach64 what=regs nullfs=$nullfs
		expect_pass reach64-contained-no-monitor-registers
	done
	probe $cpl reach64 what=guess
	expect_stopped_64bit guess
	if [ "$popek_mode" = bt ]; then
		# Without FSGSBASE the key page is in the region (tc.h): the
		# weaker arrangement, not probed here.
		if grep -qw fsgsbase /proc/cpuinfo; then
			probe $cpl reach64 what=monitor-read
			expect_pass reach64-contained-no-monitor-pointers
		fi
		probe $cpl reach64 what=monitor-write at=$((0x34))
		expect_pass reach64-residue-writes-vpage
		for at in 0x1000 0xFF000 0x100000 0x200000; do
			probe $cpl reach64 what=monitor-write at=$((at))
			expect_status 3
			expect_err '^popek: guest crash: guest code left 32-bit compatibility mode'
			expect_no_out '^(PASS|FAIL)'
		done
		back=$(gadget_back)
		if [ -n "$back" ]; then
			probe $cpl reach64 what=gadget back=$back
			expect_stopped_64bit gadget
		fi
	else
		for w in monitor-read monitor-write; do
			probe $cpl reach64 what=$w
			expect_status 3
			expect_err '^popek: guest crash: guest code left 32-bit compatibility mode'
			expect_no_out '^(PASS|FAIL)'
			expect_no_host_syscall
		done
	fi
	for w in syscall-write syscall-exit int80-write; do
		probe $cpl reach64 what=$w
		expect_status 3
		expect_err '^popek: guest crash: guest code left 32-bit compatibility mode'
		expect_out "^escape: trying $w\$"
		expect_no_out '^(PASS|FAIL)'
		expect_no_host_syscall
	done
done

finish
