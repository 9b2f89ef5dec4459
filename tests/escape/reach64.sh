# reach64.sh — what guest code that far-jumped to 0x33 reaches in 64-bit
# mode (DESIGN.md §11 residue), precisely:
#   - under bt it reads popek_callout's address (above 4 GiB) from the
#     vpage at 0xFF000000 and the monitor code there, writes the vpage, and
#     jumps to a SYSCALL instruction inside popek: a real host
#     exit_group(77) — the seccomp filter allows syscalls from IP >= 4 GiB;
#   - in both modes it calls the vsyscall page's time() (IP above 4 GiB:
#     allowed, a real host syscall, harmless);
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

if [ "$popek_mode" = bt ]; then
	probe 0 reach64 what=monitor-read
	expect_pass reach64-contained-gp
	probe 0 reach64 what=syscall-write
	expect_pass reach64-contained-gp
fi

direct_cpls=3
[ "$popek_mode" = trap ] && direct_cpls="0 3"
for cpl in $direct_cpls; do
	probe $cpl reach64 what=vsyscall
	if grep -q '\[vsyscall\]' /proc/self/maps; then
		expect_pass reach64-residue-vsyscall-time
	fi
	if [ "$popek_mode" = bt ]; then
		probe $cpl reach64 what=monitor-read
		expect_pass reach64-residue-reads-monitor-above-4g
		probe $cpl reach64 what=monitor-write
		expect_pass reach64-residue-writes-monitor-region
		back=$(gadget_back)
		if [ -n "$back" ]; then
			probe $cpl reach64 what=gadget back=$back
			expect_out '^escape: trying gadget$'
			expect_no_out '^FAIL'
			expect_host_exit 77
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
