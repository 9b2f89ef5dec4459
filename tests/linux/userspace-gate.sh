# The checks of tests/linux/userspace.sh with the guest's system calls
# through the vDSO gate (--vdso=gate: guest user code far-calls into
# popek through a patched __kernel_vsyscall, no host signal; vmm/bt.c).
POPEK_VDSO=gate
# (it needs FSGSBASE: the key lives in GS base bits 32..63)
grep -qw fsgsbase /proc/cpuinfo ||
	{ echo "userspace-gate: skipped: the host has no FSGSBASE"; exit 77; }
. "$srcdir/tests/linux/userspace.sh"
