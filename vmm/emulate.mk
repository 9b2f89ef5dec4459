# vmm/emulate.mk — the instruction emulator and its unit tests, with the
# unit tests of the decoder it is built on.

libpopek_la_SOURCES += vmm/emulate.c vmm/emulate.h vmm/emulate_impl.h \
	vmm/emulate_io.c vmm/emulate_system.c vmm/emulate_segment.c \
	vmm/emulate_data.c vmm/emulate_sensitive.c vmm/emulate_verify.c \
	vmm/emulate_branch.c

UNIT_TESTS += tests/unit/test_decode
tests_unit_test_decode_SOURCES = tests/unit/test_decode.c tests/unit/decode_helpers.h

UNIT_TESTS += tests/unit/test_emulate
UNIT_TESTS += tests/unit/test_decode_sys
UNIT_TESTS += tests/unit/test_emulate_sys
UNIT_TESTS += tests/unit/test_decode_data
UNIT_TESTS += tests/unit/test_emulate_data
UNIT_TESTS += tests/unit/test_emulate_sensitive
tests_unit_test_emulate_sensitive_SOURCES = \
	tests/unit/test_emulate_sensitive.c tests/unit/sensitive_fixture.h
UNIT_TESTS += tests/unit/test_emulate_verify
tests_unit_test_emulate_verify_SOURCES = \
	tests/unit/test_emulate_verify.c tests/unit/sensitive_fixture.h
