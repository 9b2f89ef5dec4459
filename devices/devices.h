/*
 * devices.h — the platform's device set, as the monitor sees it: one call
 * registers every device on the buses; the monitor hands in the few hooks a
 * device may need from it (ending the VM, the console's host side) and
 * never names a device afterwards.
 */
#ifndef POPEK_DEVICES_DEVICES_H
#define POPEK_DEVICES_DEVICES_H

#include <stddef.h>
#include <stdint.h>
#include "devices/bus.h"

/* What devices may ask of the monitor. */
struct platform_hooks {
	/* The guest asked to end the VM with this exit status
	 * (debug-exit port).  Called on the vCPU thread. */
	void (*request_exit)(void *ctx, int status);
	/* The guest pulsed the CPU's reset line (i8042, port 0x92): popek
	 * ends the VM (STATUS_GUEST_RESET).  Called on the vCPU thread. */
	void (*request_reset)(void *ctx);
	/* Raise an interrupt vector on the vCPU; any thread. */
	void (*raise_irq)(void *ctx, int vector);
	/* A device that can raise interrupts says so once when it attaches
	 * (a halted guest that nothing could wake is then reported, not left
	 * hanging). */
	void (*add_irq_source)(void *ctx);
	/* The interrupt controller in front of the vCPU: its INTR line and
	 * INTA cycle (both take the controller's lock), and the hook it calls
	 * when INTR goes up (with its lock held). */
	void (*set_intr_controller)(void *ctx, bool (*line)(void *dev),
	                            int (*ack)(void *dev), void *dev);
	void (*intr_line)(void *ctx);
	void *ctx;
	/* End the VM with this exit status; any thread (the console's
	 * Ctrl-A x).  NULL: the console ignores Ctrl-A x. */
	void (*request_quit)(void *ctx, int status);
	/* Console host side: fd the UART transmits to, fd it receives from
	 * (-1: no input).  Receiving runs on its own thread. */
	int console_out_fd;
	int console_in_fd;
	/* Guest RAM: its size (CMOS) and host view (DMA): guest-physical
	 * address a is ram[a] for a < ram_bytes. */
	uint8_t *ram;
	uint64_t ram_bytes;
	/* The virtio disk image (--disk PATH[,ro]); NULL: no disk. */
	const char *disk_path;
	bool disk_ro;
	/* The input is a raw terminal: Ctrl-A x quits, Ctrl-A Ctrl-A sends a
	 * Ctrl-A, Ctrl-A h lists these (serial_host.c sets it). */
	bool console_escapes;
};

struct platform;

/* Create every device of the PC platform and register it on io/mmio.
 * Returns NULL (after printing one line naming the problem) on failure. */
struct platform *platform_new(struct bus *io, struct bus *mmio,
                              const struct platform_hooks *hooks);
/* Stop device threads and free the devices, in reverse order of creation. */
void platform_free(struct platform *p);

/* The host end of COM1 (serial_host.c), opened before the devices and
 * closed after them.  spec: "stdio" (or NULL), "file:PATH", "unix:PATH".
 * NULL after one line in err (a bad spec, a file that cannot be created,
 * a socket nobody listens on). */
struct serial_host;
int serial_spec_check(const char *spec, char *err, size_t errlen);
struct serial_host *serial_host_open(const char *spec, char *err,
                                     size_t errlen);
/* Fill in the console_* fields of hooks. */
void serial_host_hooks(const struct serial_host *h,
                       struct platform_hooks *hooks);
void serial_host_close(struct serial_host *h);
/* Put a terminal that serial_host_open made raw back as it was.
 * Idempotent and async-signal-safe: fatal.c calls it before dying. */
void serial_host_restore_tty(void);

/* Port numbers fixed by the platform (documented in README.md). */
#define PORT_COM1       0x3F8
#define PORT_POST       0x80
#define PORT_DEBUG_EXIT 0xF4
#define PORT_TESTDEV    0xE0 /* 0xE0..0xEF, see devices/testdev.c */
#define PORT_TESTTIMER  0x500 /* 0x500..0x50F, see devices/testtimer.c */
#define PORT_I8042_DATA 0x60  /* i8042 data; 0x64 status/command */
#define PORT_I8042_CMD  0x64
#define PORT_SYSCTL_A   0x92  /* fast A20 and reset */
#define PORT_RTC        0x70  /* 0x70 index, 0x71 data */

/* Guest-physical MMIO addresses fixed by the platform (README.md). */
#define MMIO_TESTDEV    0xFEB00000u /* ..0xFEB0001F, devices/testdev.c */

#endif
