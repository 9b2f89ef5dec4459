# vmm/loader.mk — the multiboot v1 kernel loader and its unit test.

libpopek_la_SOURCES += \
	vmm/loader.h \
	vmm/loader_multiboot.c \
	vmm/loader_file.c

UNIT_TESTS += tests/unit/test_loader
