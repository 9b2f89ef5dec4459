# minikernel.sh — a small protected-mode kernel (tests/guests/minikernel.c)
# runs under popek: its own GDT, TSS and IDT, exceptions at CPL 0,
# two user tasks at CPL 3 that make INT 80h system calls, take #DE #UD #GP
# #BP #OF and yield to each other, with and without timer interrupts.  Without exact=1 the guest
# skips what only sensitive-unprivileged reads can observe (STR, PUSHF's
# IF, CS.RPL as CPL) and compares selector indexes only: the
# Popek-Goldberg holes of pure trap-and-emulate (docs/popek-goldberg.md,
# later).
. "$srcdir/tests/guests/lib.sh"

run_popek 20 run "$GUESTS/minikernel.elf"
expect_status 0
for c in gdt-cs-selector gdt-data-selectors gdt-kernel-data-accessed-bit \
	ltr-marks-tss-busy \
	segment-base-applied segment-limit-last-byte-readable \
	gdt-window-accessed-bit selector-past-gdt-limit-gp null-ss-gp \
	kernel-de kernel-ud kernel-bp kernel-of kernel-int80 \
	frame-eflags-has-if \
	user-runs-at-cpl3 user-de-frame user-ud-frame user-gp-cli-frame \
	user-gp-in-frame user-gp-dpl0-gate-frame user-bp-frame user-of-frame \
	user-syscall-frames user-write-syscall \
	user-getid-syscall user-regs-survive-traps user-segments-survive-traps \
	tasks-round-robin-interleave tasks-all-exited \
	gdt-user-data-accessed-bit; do
	expect_out "^PASS: $c\$"
done
expect_out '^user: hello from task A$'
expect_out '^user: hello from task B$'
expect_out '^guest: 31 checks, 0 failed$'
expect_no_fail

# exact=1: the checks only sensitive-unprivileged reads can make.  Under
# bt, guest kernel code is translated and sees its own state; only the
# user-mode read of segment selectors (direct execution) still shows
# popek's host selectors.  Under trap mode the kernel's reads fail too.
run_popek 20 run --append exact=1 "$GUESTS/minikernel.elf"
expect_status 1
if [ "$popek_mode" = bt ]; then
	expect_fails user-segments-survive-traps
	expect_out '^guest: 37 checks, 1 failed$'
else
	expect_fails gdt-cs-selector gdt-data-selectors null-ss-gp \
		interrupt-gate-clears-if user-handler-if-per-gate-type \
		user-segments-survive-traps handlers-run-at-cpl0
	expect_out '^guest: 37 checks, 7 failed$'
fi

# timer=1: the 8254 PIT at 1 kHz through the 8259A pair (remapped to
# 0x20, EOI per tick); timer=2: popek's test timer on the same vector.
# Either way HLT wakes, the kernel ticks, user tasks are interrupted at
# CPL 3 (frames checked) and preempted.
# Under software emulation a 1 kHz tick can cost more than its period
# (the guest would do nothing but take ticks): 100 Hz there.
hz=1000
if emulated_host; then
	hz=100
fi
for t in 1 2; do
	run_popek 30 run --append "timer=$t hz=$hz" \
		"$GUESTS/minikernel.elf"
	expect_status 0
	for c in timer-wakes-hlt timer-ticks-with-eoi timer-user-frames \
		timer-preempts-user tasks-round-robin-interleave; do
		expect_out "^PASS: $c\$"
	done
	expect_out '^guest: 35 checks, 0 failed$'
	expect_no_fail
done

finish
