# devices/pit.mk — the 8254 PIT model and its unit test
libpopek_la_SOURCES += devices/pit.c devices/pit.h

UNIT_TESTS += tests/unit/test_pit
