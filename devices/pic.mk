# devices/pic.mk — the 8259A PIC pair and its unit test
libpopek_la_SOURCES += devices/pic.c devices/pic.h

UNIT_TESTS += tests/unit/test_pic
