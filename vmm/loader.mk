# vmm/loader.mk — the kernel loaders (multiboot v1, Linux bzImage) and
# their unit test.

libpopek_la_SOURCES += \
	vmm/loader.h \
	vmm/loader_multiboot.c \
	vmm/loader_linux.c vmm/loader_impl.h \
	vmm/loader_file.c

UNIT_TESTS += tests/unit/test_loader tests/unit/test_loader_linux
