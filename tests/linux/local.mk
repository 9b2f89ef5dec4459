# tests/linux/local.mk — Debian's i386 kernel under popek.  userspace.sh
# (and shell.sh, the interactive shell of ./quickstart run on a pty)
# fetches the kernel and busybox (scripts/fetch-linux; skipped, status 77,
# where they cannot be fetched) and takes about a minute; -gate and
# -translated run it again with the other two --vdso modes; boot.sh is a
# by-hand report of how far a boot gets.
LINUX_TESTS = tests/linux/userspace.sh tests/linux/userspace-gate.sh \
	tests/linux/userspace-translated.sh tests/linux/shell.sh
TESTS += $(LINUX_TESTS)
EXTRA_DIST += $(LINUX_TESTS) tests/linux/userspace-script.sh \
	tests/linux/boot.sh scripts/fetch-linux scripts/mkinitramfs \
	scripts/run-linux
