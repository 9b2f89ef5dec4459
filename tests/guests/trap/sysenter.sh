# The same checks as tests/guests/sysenter.sh, with guest kernel code run
# in place and privileged instructions trapping (--mode=trap, added by
# lib.sh's run_popek): the teaching baseline.
POPEK_MODE=trap
. "$srcdir/tests/guests/sysenter.sh"
