# window.sh — popek claims the host's low 4 GiB for the guest window at
# start; if anything is already mapped there (here: a page at 1 GiB mapped
# by an LD_PRELOAD'ed constructor), it refuses with one line naming the
# mapping and exits 2, running nothing.
. "$srcdir/tests/guests/lib.sh"
lib=$(pwd)/tests/host/lowmap.so
[ -f "$lib" ] || { echo "window: $lib is not built" >&2; exit 99; }

LD_PRELOAD=$lib ASAN_OPTIONS=verify_asan_link_order=0 \
	run_popek 10 run "$GUESTS/hello.elf"
expect_status 2
expect_out_empty
expect_err_lines 1
expect_err '^popek: cannot reserve the guest window \[0, 0x[0-9a-f]+\): already mapped there: 40000000-40001000 r--p'

finish
