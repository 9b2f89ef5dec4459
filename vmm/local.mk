# vmm/ — the monitor core: CLI, VM life, window, world switch, exits.
libpopek_la_SOURCES += \
	vmm/vm.c vmm/vm.h \
	vmm/window.c vmm/window.h \
	vmm/vcpu.c vmm/vcpu.h \
	vmm/bt.c vmm/bt.h \
	vmm/switch.S vmm/switch.h \
	vmm/signal.c \
	vmm/seccomp.c \
	vmm/hostcheck.c \
	vmm/exits.c vmm/exits.def \
	vmm/system.c vmm/system.h vmm/system_query.c \
	vmm/segshadow.c \
	vmm/intr.c vmm/intr.h \
	vmm/msr.c vmm/msr.h \
	vmm/cpuid.c vmm/cpuid.h \
	vmm/cpu.h \
	vmm/counters.def \
	vmm/stats.c vmm/stats.h \
	vmm/fatal.c vmm/fatal.h

UNIT_TESTS += tests/unit/test_cpuid
TESTS += tests/guests/cpuid-cmd.sh tests/guests/stats-time.sh
EXTRA_DIST += tests/guests/cpuid-cmd.sh tests/guests/stats-time.sh

# popek probe: the probe suite and its expected results are compiled in
# (vmm/probe_blob.S, with .incbin: the guest from the build directory,
# expect.txt through the assembler's include path from the source
# directory).  Neither dependency is one the compiler can see.
popek_SOURCES += vmm/probe.c vmm/probe_table.c vmm/probe.h vmm/probe_blob.S
AM_CCASFLAGS += -Wa,-I$(top_srcdir)
vmm/probe_blob.$(OBJEXT): tests/pg/probe.elf $(srcdir)/tests/pg/expect.txt
TESTS += tests/pg/probe-cmd.sh
EXTRA_DIST += tests/pg/probe-cmd.sh
