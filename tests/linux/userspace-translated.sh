# The checks of tests/linux/userspace.sh with the guest's vDSO run in the
# translation cache (--vdso=translated), as before the monitor took
# __kernel_vsyscall's entry and return (vmm/bt.c).
POPEK_VDSO=translated
. "$srcdir/tests/linux/userspace.sh"
