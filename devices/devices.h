/*
 * devices.h — the platform's device set, as the monitor sees it: one call
 * registers every device on the buses; the monitor hands in the few hooks a
 * device may need from it (ending the VM, the console's host side) and
 * never names a device afterwards.
 */
#ifndef POPEK_DEVICES_DEVICES_H
#define POPEK_DEVICES_DEVICES_H

#include <stdint.h>
#include "devices/bus.h"

/* What devices may ask of the monitor. */
struct platform_hooks {
	/* The guest asked to end the VM with this exit status
	 * (debug-exit port).  Called on the vCPU thread. */
	void (*request_exit)(void *ctx, int status);
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
	/* Console host side: fd the UART transmits to, fd it receives from
	 * (-1: no input).  Receiving runs on its own thread. */
	int console_out_fd;
	int console_in_fd;
};

struct platform;

/* Create every device of the PC platform and register it on io/mmio.
 * Returns NULL (after printing one line naming the problem) on failure. */
struct platform *platform_new(struct bus *io, struct bus *mmio,
                              const struct platform_hooks *hooks);
/* Stop device threads and free the devices, in reverse order of creation. */
void platform_free(struct platform *p);

/* Port numbers fixed by the platform (documented in README.md). */
#define PORT_COM1       0x3F8
#define PORT_POST       0x80
#define PORT_DEBUG_EXIT 0xF4
#define PORT_TESTDEV    0xE0 /* 0xE0..0xEF, see devices/testdev.c */
#define PORT_TESTTIMER  0x500 /* 0x500..0x50F, see devices/testtimer.c */

#endif
