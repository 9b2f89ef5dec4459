# The same checks as tests/guests/segs.sh, with guest kernel code run in
# place (--mode=trap): PUSH Sreg and VERW see the host's selectors there.
POPEK_MODE=trap
. "$srcdir/tests/guests/segs.sh"
