# syscalls-int80.sh — containment: a guest's Linux system call made with
# int80 must never reach the host kernel (no ESCAPED from write(), no
# exit(42)); popek stops the guest as a crash (status 3) with a message.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run --append how=int80 "$GUESTS/syscalls.elf"
expect_status 3
expect_out '^syscalls: trying int80$'
expect_no_out 'ESCAPED'
expect_no_out 'CONTINUED'
expect_err_nonempty

finish
