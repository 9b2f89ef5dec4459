# tests/pg/local.mk — the Popek–Goldberg probe suite: one guest,
# tests/pg/probe.c (built by tests/guests/local.mk's rules, with the
# protected-mode kit: it is listed in GUEST_PM_ELFS there), and the shell
# tests that run it.  tests/pg/probe-qemu.sh, the reference run under
# QEMU, is not part of `make check` (the suite runs no QEMU).
PG_TESTS = tests/pg/probe-trap.sh tests/pg/probe-bt.sh
TESTS += $(PG_TESTS)
noinst_DATA += tests/pg/probe.elf
.SECONDARY: tests/pg/probe.o32
CLEANFILES += tests/pg/probe.elf tests/pg/probe.o32
EXTRA_DIST += tests/pg/probe.c tests/pg/probe.sh tests/pg/probe-qemu.sh \
	tests/pg/expect.txt \
	$(PG_TESTS)
