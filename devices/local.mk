# devices/local.mk — the I/O bus, the platform's devices and their unit tests.

libpopek_la_SOURCES += \
	devices/bus.c devices/bus.h \
	devices/devices.h \
	devices/platform.c devices/platform.h \
	devices/uart.c devices/uart.h \
	devices/stdio_console.c \
	devices/misc.h \
	devices/port80.c \
	devices/debugexit.c \
	devices/testdev.c \
	devices/testtimer.c \
	devices/pcirq.c

UNIT_TESTS += tests/unit/test_bus
UNIT_TESTS += tests/unit/test_uart
UNIT_TESTS += tests/unit/test_devices
