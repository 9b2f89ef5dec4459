# vmm/loader.mk — the multiboot v1 kernel loader and its unit test.

libpopek_la_SOURCES += \
	vmm/loader.h \
	vmm/loader_multiboot.c \
	vmm/loader_file.c

check_PROGRAMS += tests/unit/test_loader
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_loader_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_loader
