# unemulated.sh — a privileged instruction popek cannot emulate stops the
# guest as a crash (status 3) with one line naming its bytes, EIP and mode;
# one it emulates (MOV from CR0) just works.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run --append what=xsetbv "$GUESTS/unemulated.elf"
expect_status 3
expect_no_out 'continued'
eip=$(sed -n 's/.*at EIP \(0x[0-9a-f]*\)$/\1/p' "$out")
expect_err "unemulated instruction \[0f 01 d1\] \(xsetbv\) at EIP $eip, 32-bit protected mode, CPL 0"

run_popek 10 run --append what=cr0 "$GUESTS/unemulated.elf"
expect_status 0
expect_out '^unemulated: cr0=0x00000011$'

run_popek 10 run --append what=pat "$GUESTS/unemulated.elf"
expect_status 0
expect_out '^unemulated: msr 0x277 = 0x0007040600070406$'

run_popek 10 run --trace-msr --append what=badmsr "$GUESTS/unemulated.elf"
expect_status 3
expect_no_out '^unemulated: msr'
expect_err '^popek: rdmsr 0x12345678: unknown MSR, #GP$'
expect_err 'triple fault'

finish
