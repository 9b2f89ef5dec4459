# cpuid-cmd.sh — `popek cpuid` prints the virtual CPU's table.  SEP is
# shown by default exactly where the host's vendor (its /proc/cpuinfo
# here, not popek's own check) makes SYSENTER #UD in compatibility mode
# (AMD and Hygon) and the host is not a virtual machine itself;
# --sysenter=on shows it on any AMD or Hygon host and is refused
# elsewhere; --sysenter=off hides it everywhere.
. "$srcdir/tests/guests/lib.sh"

sep=
host_sep_default && sep='sep '
run_popek 10 cpuid
expect_status 0
expect_out 'vendor: GenuineIntel'
expect_out '^    family 6, model 13, stepping 8$'
expect_out "^    features: fpu de pse tsc msr cx8 ${sep}pge cmov mmx fxsr sse sse2 hypervisor\$"
expect_out 'hypervisor signature: "popek VMM"'
expect_no_out '^    features:.* (pae|apic|pse36|vme)( |$)'

run_popek 10 cpuid --sysenter=off
expect_status 0
expect_out '^    features: fpu de pse tsc msr cx8 pge cmov mmx fxsr sse sse2 hypervisor$'
expect_out '^sep: hidden'

run_popek 10 cpuid --sysenter=on
if host_sysenter_faults; then
	expect_status 0
	expect_out '^    features: fpu de pse tsc msr cx8 sep pge cmov mmx fxsr sse sse2 hypervisor$'
else
	expect_status 2
	expect_err_lines 1
fi

run_popek 10 cpuid --sysenter=yes
expect_status 2
expect_err_lines 1

run_popek 10 cpuid extra
expect_status 2
expect_err_lines 1

finish
