# The same checks as tests/guests/paging.sh, with the guest's page tables
# write-traced (--shadow=traced, added by lib.sh's run_popek): every
# PTE the access test changes is an emulated write that drops a mapping.
POPEK_SHADOW=traced
. "$srcdir/tests/guests/paging.sh"
