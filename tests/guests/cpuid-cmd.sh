# cpuid-cmd.sh — `popek cpuid` prints the virtual CPU's table.
. "$srcdir/tests/guests/lib.sh"

run_popek 10 cpuid
expect_status 0
expect_out 'vendor: GenuineIntel'
expect_out '^    family 6, model 13, stepping 8$'
expect_out '^    features: fpu de pse tsc msr cx8 pge cmov mmx fxsr sse sse2 hypervisor$'
expect_out 'hypervisor signature: "popek VMM"'
expect_no_out '^    features:.* (pae|apic|sep|pse36|vme)( |$)'

run_popek 10 cpuid extra
expect_status 2
expect_err_lines 1

finish
