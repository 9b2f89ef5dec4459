# devices/pit.mk — the 8254 PIT model and its unit test
libpopek_la_SOURCES += devices/pit.c devices/pit.h

check_PROGRAMS += tests/unit/test_pit
tests_unit_test_pit_SOURCES = tests/unit/test_pit.c
tests_unit_test_pit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pit_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_pit
