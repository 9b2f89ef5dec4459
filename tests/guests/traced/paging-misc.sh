# The same checks as tests/guests/paging-misc.sh, with the guest's page tables
# write-traced (--shadow=traced, added by lib.sh's run_popek), and
# the coherent-* checks that PTE and PDE changes count without INVLPG.
POPEK_SHADOW=traced
. "$srcdir/tests/guests/paging-misc.sh"
