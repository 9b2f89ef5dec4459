# hostcheck.sh — on a host without modify_ldt and without seccomp (both
# denied by tests/host/deny-exec), popek names each missing piece on its
# own line and exits 2 before running anything.
DENY=tests/host/deny-exec
[ -x "$DENY" ] || { echo "hostcheck: $DENY is not built" >&2; exit 99; }
REAL_POPEK=${POPEK:-./popek}
POPEK=$DENY
. "$srcdir/tests/guests/lib.sh"

run_popek 10 modify_ldt,seccomp -- "$REAL_POPEK" run "$GUESTS/hello.elf"
expect_status 2
expect_out_empty
expect_err_lines 2
expect_err '^popek: host check: modify_ldt does not work'
expect_err '^popek: host check: seccomp filters cannot trap'

run_popek 10 seccomp -- "$REAL_POPEK" run "$GUESTS/hello.elf"
expect_status 2
expect_err_lines 1
expect_err '^popek: host check: seccomp filters cannot trap'

finish
