# hello.sh — the demo guest greets, sees its command line and RAM, and
# its status=N word becomes popek's exit status.
. "$srcdir/tests/guests/lib.sh"

run_popek 20 run "$GUESTS/hello.elf"
expect_status 0
expect_out '^Hello from a popek guest!$'
expect_out '^Booted by: popek$'
expect_out "^Command line: ''$"
expect_out '^RAM: 639 KiB low, 130048 KiB above 1 MiB'

run_popek 20 run -m 16 --append "status=42 greeting=yes" "$GUESTS/hello.elf"
expect_status 42
expect_out '^Hello from a popek guest!$'
expect_out "^Command line: 'status=42 greeting=yes'$"
expect_out '^RAM: 639 KiB low, 15360 KiB above 1 MiB \(16 MiB in all\)$'

finish
