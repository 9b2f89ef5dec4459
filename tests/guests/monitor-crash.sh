# monitor-crash.sh — a fault inside popek itself (injected with
# POPEK_FAULT_INJECT=monitor-segv) ends with status 2, a symbolised
# backtrace of the monitor and the guest state at the last exit.
export POPEK_FAULT_INJECT=monitor-segv
. "$srcdir/tests/guests/lib.sh"

run_popek 10 run "$GUESTS/hello.elf"
expect_status 2
expect_err '^popek: internal error: Segmentation fault in the monitor at rip 0x[0-9a-f]+'
expect_err '^popek: monitor backtrace:$'
expect_err '^  #0  0x[0-9a-f]+ (inject_monitor_fault|exits_dispatch)\+0x[0-9a-f]+$'
expect_err '^  #[12] +0x[0-9a-f]+ vcpu_thread\+0x[0-9a-f]+$'
expect_err '^popek: guest state at the last exit:$'
expect_err '^  EIP=0010[0-9a-f]{4} EFLAGS=[0-9a-f]{8} \(IF=0\) CPL=0 mode=32-bit protected$'
expect_err '^  bytes at EIP: [0-9a-f]{2} '

finish
