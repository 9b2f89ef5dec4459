# vmm/desc.mk — protected-mode system logic over the virtual CPU
# (descriptors, segment loads, interrupt delivery, IRET, far transfers,
# SYSENTER/SYSEXIT, LLDT/LTR, host LDT shadows) and its unit tests.

libpopek_la_SOURCES += \
	vmm/desc.h \
	vmm/desc_impl.h \
	vmm/desc.c \
	vmm/desc_stack.c \
	vmm/desc_host.c \
	vmm/gate.c \
	vmm/iret.c \
	vmm/far.c \
	vmm/sysenter.c

UNIT_TESTS += tests/unit/test_desc
tests_unit_test_desc_SOURCES = tests/unit/test_desc.c tests/unit/desc_fixture.h

UNIT_TESTS += tests/unit/test_gate
tests_unit_test_gate_SOURCES = tests/unit/test_gate.c tests/unit/desc_fixture.h
