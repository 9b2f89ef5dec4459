# vmm/emulate.mk — the instruction emulator and its unit tests, with the
# unit tests of the decoder it is built on.

libpopek_la_SOURCES += vmm/emulate.c vmm/emulate.h vmm/emulate_impl.h \
	vmm/emulate_io.c vmm/emulate_system.c vmm/emulate_segment.c

check_PROGRAMS += tests/unit/test_decode
tests_unit_test_decode_SOURCES = tests/unit/test_decode.c tests/unit/decode_helpers.h
tests_unit_test_decode_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_decode_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_decode

check_PROGRAMS += tests/unit/test_emulate
tests_unit_test_emulate_SOURCES = tests/unit/test_emulate.c
tests_unit_test_emulate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_emulate_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_emulate

check_PROGRAMS += tests/unit/test_decode_sys
tests_unit_test_decode_sys_SOURCES = tests/unit/test_decode_sys.c
tests_unit_test_decode_sys_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_decode_sys_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_decode_sys

check_PROGRAMS += tests/unit/test_emulate_sys
tests_unit_test_emulate_sys_SOURCES = tests/unit/test_emulate_sys.c
tests_unit_test_emulate_sys_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_emulate_sys_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_emulate_sys
