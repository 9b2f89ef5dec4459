# devices/pic.mk — the 8259A PIC pair and its unit test
libpopek_la_SOURCES += devices/pic.c devices/pic.h

check_PROGRAMS += tests/unit/test_pic
tests_unit_test_pic_SOURCES = tests/unit/test_pic.c
tests_unit_test_pic_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_pic_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_pic
