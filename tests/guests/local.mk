# tests/guests/local.mk — the test guests (32-bit freestanding multiboot
# kernels built with $(CC) -m32 and linked by link.ld) and the shell tests
# that run them under ./popek.
#
# Guest objects get their own suffix (.o32) so that automake's host .c.o
# and .S.o rules never build them with host flags.

GUEST_CFLAGS = -m32 -march=i686 -ffreestanding -fno-pie -fno-pic \
	-fno-stack-protector -fno-asynchronous-unwind-tables -nostdlib \
	-O2 -g -Wall -Wextra -Werror -std=gnu11 -I$(srcdir)/tests/guests/rt
GUEST_LDSCRIPT = $(srcdir)/tests/guests/link.ld
GUEST_RT = tests/guests/rt/start.o32 tests/guests/rt/lib.o32
GUEST_PM = tests/guests/rt/pm.o32
GUEST_INCLUDES = $(srcdir)/tests/guests/rt/lib.h $(srcdir)/tests/guests/rt/pm.h
GUEST_NAMES = hello io halt syscalls unemulated state echo minikernel irq gdt-aliases ldt uart-irq
GUEST_NAMES += paging paging-misc dt-trace traced-stack
GUEST_NAMES += pit-rate
GUEST_NAMES += rtc reset
GUEST_NAMES += pci virtio-blk
GUEST_NAMES += smc inline segs
GUEST_NAMES += sysenter vdso
GUESTS = $(GUEST_NAMES:%=tests/guests/%.elf)

noinst_DATA += $(GUESTS)
# Keep the objects: they are intermediates of pattern rules, which GNU make
# would otherwise delete after each link and rebuild every time.
.SECONDARY: $(GUEST_NAMES:%=tests/guests/%.o32) $(GUEST_RT) $(GUEST_PM)
CLEANFILES += $(GUESTS) $(GUEST_NAMES:%=tests/guests/%.o32) $(GUEST_RT) \
	$(GUEST_PM)
EXTRA_DIST += $(GUEST_NAMES:%=tests/guests/%.c) $(GUEST_LDSCRIPT) \
	$(GUEST_INCLUDES) tests/guests/rt/lib.c tests/guests/rt/start.S \
	tests/guests/rt/pm.c tests/guests/lib.sh scripts/qemu-guest

# Generic: any guest program X.c in the tree (tests/guests/, bench/) links
# with the runtime into X.elf.
%.o32: $(srcdir)/%.c $(GUEST_INCLUDES)
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

tests/guests/rt/%.o32: $(srcdir)/tests/guests/rt/%.S
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(CC) -m32 -c -o $@ $<

%.elf: %.o32 $(GUEST_RT) $(GUEST_LDSCRIPT)
	$(AM_V_CCLD)$(LD) -m elf_i386 -T $(GUEST_LDSCRIPT) -nostdlib -o $@ \
		$(GUEST_RT) $< $$($(CC) -m32 -print-libgcc-file-name)

# Guests that bring their own GDT, IDT and paging link the protected-mode
# kit rt/pm.c (pm.h, GUEST_PM) as well; the others do not carry it.
GUEST_PM_ELFS = tests/guests/paging.elf tests/guests/paging-misc.elf \
	tests/guests/sysenter.elf tests/guests/vdso.elf tests/pg/probe.elf

$(GUEST_PM_ELFS): %.elf: %.o32 $(GUEST_RT) $(GUEST_PM) $(GUEST_LDSCRIPT)
	$(AM_V_CCLD)$(LD) -m elf_i386 -T $(GUEST_LDSCRIPT) -nostdlib -o $@ \
		$(GUEST_RT) $(GUEST_PM) $< $$($(CC) -m32 -print-libgcc-file-name)

GUEST_TESTS = \
	tests/guests/hello.sh \
	tests/guests/io.sh \
	tests/guests/halt.sh \
	tests/guests/syscalls-int80.sh \
	tests/guests/syscalls-sysenter.sh \
	tests/guests/syscalls-syscall.sh \
	tests/guests/bad-input.sh \
	tests/guests/unemulated.sh \
	tests/guests/state.sh \
	tests/guests/echo.sh \
	tests/guests/cli.sh \
	tests/guests/monitor-crash.sh \
	tests/guests/irq.sh \
	tests/guests/gdt-aliases.sh \
	tests/guests/minikernel.sh \
	tests/guests/ldt.sh \
	tests/guests/uart-irq.sh
GUEST_TESTS += tests/guests/paging.sh tests/guests/paging-misc.sh \
	tests/guests/dt-trace.sh tests/guests/traced-stack.sh
GUEST_TESTS += tests/guests/serial.sh tests/guests/pit-rate.sh
GUEST_TESTS += tests/guests/rtc.sh tests/guests/reset.sh
GUEST_TESTS += tests/guests/pci.sh tests/guests/virtio-blk.sh
GUEST_TESTS += tests/guests/smc.sh tests/guests/inline.sh tests/guests/adaptive.sh \
	tests/guests/segs.sh
GUEST_TESTS += tests/guests/sysenter.sh tests/guests/vdso.sh tests/guests/pin-threads.sh
# The PCI and virtio guests share a header-only driver.
tests/guests/pci.o32 tests/guests/virtio-blk.o32: \
	$(srcdir)/tests/guests/virtio-drv.h
EXTRA_DIST += tests/guests/virtio-drv.h
TESTS += $(GUEST_TESTS)
EXTRA_DIST += $(GUEST_TESTS)

# The same guests in trap mode (the default is bt).
TRAP_TESTS = \
	tests/guests/trap/cli.sh \
	tests/guests/trap/dt-trace.sh \
	tests/guests/trap/echo.sh \
	tests/guests/trap/gdt-aliases.sh \
	tests/guests/trap/halt.sh \
	tests/guests/trap/hello.sh \
	tests/guests/trap/inline.sh \
	tests/guests/trap/io.sh \
	tests/guests/trap/irq.sh \
	tests/guests/trap/ldt.sh \
	tests/guests/trap/minikernel.sh \
	tests/guests/trap/paging-misc.sh \
	tests/guests/trap/paging.sh \
	tests/guests/trap/pci.sh \
	tests/guests/trap/pit-rate.sh \
	tests/guests/trap/reset.sh \
	tests/guests/trap/segs.sh \
	tests/guests/trap/rtc.sh \
	tests/guests/trap/serial.sh \
	tests/guests/trap/smc.sh \
	tests/guests/trap/state.sh \
	tests/guests/trap/syscalls-int80.sh \
	tests/guests/trap/syscalls-syscall.sh \
	tests/guests/trap/syscalls-sysenter.sh \
	tests/guests/trap/sysenter.sh \
	tests/guests/trap/traced-stack.sh \
	tests/guests/trap/uart-irq.sh \
	tests/guests/trap/unemulated.sh \
	tests/guests/trap/virtio-blk.sh
TESTS += $(TRAP_TESTS)
EXTRA_DIST += $(TRAP_TESTS)

# The paging guests with the guest's page tables write-traced
# (--shadow=traced).
TRACED_TESTS = \
	tests/guests/traced/paging-misc.sh \
	tests/guests/traced/paging.sh
TESTS += $(TRACED_TESTS)
EXTRA_DIST += $(TRACED_TESTS)

# linux-entry: a synthetic bzImage (setup header, then 32-bit code run at
# 1 MiB) as a flat binary: linked so that file offset 0xA00 is 0x100000.
tests/guests/linux-entry.bin: $(srcdir)/tests/guests/linux-entry.S
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(CC) -m32 -c -o tests/guests/linux-entry.o32 $<
	$(AM_V_CCLD)$(LD) -m elf_i386 -Ttext=0xFF600 -e 0x100000 \
		--oformat binary -o $@ tests/guests/linux-entry.o32
noinst_DATA += tests/guests/linux-entry.bin
CLEANFILES += tests/guests/linux-entry.bin tests/guests/linux-entry.o32
EXTRA_DIST += tests/guests/linux-entry.S
GUEST_TESTS += tests/guests/linux-entry.sh
