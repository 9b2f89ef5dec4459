# tests/escape/local.mk — escape probes (docs/escape.md): one guest,
# tests/escape/escape.c, run one probe at a time by the shell tests below,
# under --mode=bt (tests/escape/*.sh) and --mode=trap (tests/escape/trap/).

ESCAPE_ELF = tests/escape/escape.elf
noinst_DATA += $(ESCAPE_ELF)
.SECONDARY: tests/escape/escape.o32
CLEANFILES += $(ESCAPE_ELF) tests/escape/escape.o32
EXTRA_DIST += tests/escape/escape.c tests/escape/lib.sh

$(ESCAPE_ELF): %.elf: %.o32 $(GUEST_RT) $(GUEST_PM) $(GUEST_LDSCRIPT)
	$(AM_V_CCLD)$(LD) -m elf_i386 -T $(GUEST_LDSCRIPT) -nostdlib -o $@ \
		$(GUEST_RT) $(GUEST_PM) $< $$($(CC) -m32 -print-libgcc-file-name)

ESCAPE_TESTS = \
	tests/escape/far.sh \
	tests/escape/reach64.sh \
	tests/escape/loads.sh \
	tests/escape/syscalls.sh \
	tests/escape/monitor-writes.sh \
	tests/escape/descriptors.sh \
	tests/escape/isolation.sh \
	tests/escape/trap/far.sh \
	tests/escape/trap/reach64.sh \
	tests/escape/trap/loads.sh \
	tests/escape/trap/syscalls.sh \
	tests/escape/trap/monitor-writes.sh \
	tests/escape/trap/descriptors.sh \
	tests/escape/trap/isolation.sh
TESTS += $(ESCAPE_TESTS)
EXTRA_DIST += $(ESCAPE_TESTS)
