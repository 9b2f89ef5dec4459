# bench/ — benchmarks, run by hand (not by make check).  README.md quotes
# them with their commands.

# bench/exits: the host floor (a plain host program) and the bench guest.
noinst_PROGRAMS = bench/exits/floor
bench_exits_floor_SOURCES = bench/exits/floor.c bench/tsc_hz.h
bench_exits_floor_LDADD =
# bench/exits/switch-insns: the world switch's instructions, each alone
# (a plain host program; docs/world-switch.md).
noinst_PROGRAMS += bench/exits/switch-insns
bench_exits_switch_insns_SOURCES = bench/exits/switch-insns.c
bench_exits_switch_insns_LDADD =
noinst_DATA += bench/exits/exits.elf bench/nano/nano.elf
EXTRA_DIST += bench/exits/exits.c bench/exits/run
CLEANFILES += bench/exits/exits.elf bench/exits/exits.o32
.SECONDARY: bench/exits/exits.o32
# built by the generic guest rules in tests/guests/local.mk

# bench/nano: the bench guest (generic guest rules) and its native i386
# counterpart (a Linux i386 process: gcc -m32 with the multilib libc).
noinst_DATA += bench/nano/native
EXTRA_DIST += bench/nano/nano.c bench/nano/native.c bench/nano/run bench/tsc_hz.h \
	bench/nano/kloop.h
CLEANFILES += bench/nano/nano.elf bench/nano/nano.o32 bench/nano/native
.SECONDARY: bench/nano/nano.o32
bench/nano/native: $(srcdir)/bench/nano/native.c $(srcdir)/bench/tsc_hz.h \
		$(srcdir)/bench/nano/kloop.h
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(CC) -m32 -O2 -Wall -Wextra -Werror -I$(srcdir) -o $@ $<

# bench/devices/irq-run: interrupt injection latency (generic guest rules),
# beside the host floor (a plain host program: the timer thread's wake-up).
noinst_DATA += bench/devices/irq-latency.elf
noinst_PROGRAMS += bench/devices/timer-floor
bench_devices_timer_floor_SOURCES = bench/devices/timer-floor.c
bench_devices_timer_floor_LDADD = -lpthread
EXTRA_DIST += bench/devices/irq-latency.c bench/devices/irq-run
CLEANFILES += bench/devices/irq-latency.elf bench/devices/irq-latency.o32
.SECONDARY: bench/devices/irq-latency.o32

# bench/devices/vblk-run: virtio-blk sequential MB/s (generic guest rules;
# the guest includes tests/guests/virtio-drv.h).
noinst_DATA += bench/devices/vblk.elf
EXTRA_DIST += bench/devices/vblk.c bench/devices/vblk-run
CLEANFILES += bench/devices/vblk.elf bench/devices/vblk.o32
.SECONDARY: bench/devices/vblk.o32
bench/devices/vblk.o32: $(srcdir)/tests/guests/virtio-drv.h

# bench/nano/paging: guest paging under shadow page tables (issue 4), run
# by bench/nano/run beside nano.elf.  Both bench guests share kit.h.
noinst_DATA += bench/nano/paging.elf
EXTRA_DIST += bench/nano/paging.c bench/nano/kit.h
CLEANFILES += bench/nano/paging.elf bench/nano/paging.o32
.SECONDARY: bench/nano/paging.o32
bench/nano/nano.o32 bench/nano/paging.o32: $(srcdir)/bench/nano/kit.h
bench/nano/nano.o32: $(srcdir)/bench/nano/kloop.h

# bench/linux/run: issue 7's workload benchmark (workload.sh natively, under
# popek and under QEMU TCG); bench/tool.sh finds or installs QEMU and gnuplot
# for it and for bench/nano/run.
EXTRA_DIST += bench/linux/run bench/linux/workload.sh bench/tool.sh
