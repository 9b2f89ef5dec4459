# syscalls-syscall.sh — containment: a guest's Linux system call made with
# syscall must never reach the host kernel (no ESCAPED from write(), no
# exit(42)); popek stops the guest as a crash (status 3) with a message.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run --append how=syscall "$GUESTS/syscalls.elf"
expect_status 3
expect_out '^syscalls: trying syscall$'
expect_no_out 'ESCAPED'
expect_no_out 'CONTINUED'
expect_err_nonempty

finish
