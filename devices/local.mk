# devices/local.mk — the I/O bus, the platform's devices and their unit tests.

libpopek_la_SOURCES += \
	devices/bus.c devices/bus.h \
	devices/devices.h \
	devices/platform.c devices/platform.h \
	devices/uart.c devices/uart.h \
	devices/stdio_console.c devices/serial_host.c \
	devices/misc.h \
	devices/port80.c \
	devices/debugexit.c \
	devices/testdev.c \
	devices/testtimer.c \
	devices/pcirq.c \
	devices/pci.c devices/pci.h \
	devices/virtqueue.c devices/virtqueue.h \
	devices/virtio_blk.c devices/virtio_blk.h

UNIT_TESTS += tests/unit/test_bus
UNIT_TESTS += tests/unit/test_uart
UNIT_TESTS += tests/unit/test_devices
UNIT_TESTS += tests/unit/test_pci
UNIT_TESTS += tests/unit/test_virtio_blk

# The MC146818 RTC/CMOS and the i8042 keyboard controller.
libpopek_la_SOURCES += devices/rtc.c devices/rtc.h \
	devices/i8042.c devices/i8042.h
UNIT_TESTS += tests/unit/test_rtc
UNIT_TESTS += tests/unit/test_i8042
