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

check_PROGRAMS += tests/unit/test_bus
tests_unit_test_bus_SOURCES = tests/unit/test_bus.c
tests_unit_test_bus_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_bus_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_bus

check_PROGRAMS += tests/unit/test_uart
tests_unit_test_uart_SOURCES = tests/unit/test_uart.c
tests_unit_test_uart_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_uart_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_uart

check_PROGRAMS += tests/unit/test_devices
tests_unit_test_devices_SOURCES = tests/unit/test_devices.c
tests_unit_test_devices_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_devices_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_devices
