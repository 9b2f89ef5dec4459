# vmm/emulate.mk — the instruction emulator and its unit tests, with the
# unit tests of the decoder it is built on.

libpopek_la_SOURCES += vmm/emulate.c vmm/emulate.h vmm/emulate_impl.h \
	vmm/emulate_io.c vmm/emulate_system.c vmm/emulate_segment.c \
	vmm/emulate_data.c

UNIT_TESTS += tests/unit/test_decode
tests_unit_test_decode_SOURCES = tests/unit/test_decode.c tests/unit/decode_helpers.h

UNIT_TESTS += tests/unit/test_emulate
UNIT_TESTS += tests/unit/test_decode_sys
UNIT_TESTS += tests/unit/test_emulate_sys
UNIT_TESTS += tests/unit/test_decode_data
UNIT_TESTS += tests/unit/test_emulate_data
