/*
 * platform.h — private to devices/: how platform.c brings each device up.
 *
 * Every device of the platform table has an attach function that creates
 * the device, registers it on the bus(es) in env and returns its state, or
 * returns NULL after saying why in env->err (left empty: out of memory);
 * and a detach function that stops and frees what attach made.  The bus
 * regions stay behind: the buses are freed right after the platform.
 */
#ifndef POPEK_DEVICES_PLATFORM_H
#define POPEK_DEVICES_PLATFORM_H

#include "devices/bus.h"
#include "devices/devices.h"

#include <stddef.h>

struct platform_env {
	struct bus *io, *mmio;
	const struct platform_hooks *hooks;
	/* ISA interrupt lines, once the PIC is attached (NULL before): set
	 * line irq to level; takes the PIC's lock. */
	void (*set_irq)(void *irqctx, int irq, int level);
	void *irqctx;
	/* PCI bus 0, once the host bridge is attached (NULL before). */
	struct pci_host *pci;
	const char *name;       /* of the device being attached */
	char err[256];
};

/* bus_register on env->io under env->name; on failure -1 with env->err
 * naming the ports and their current owner. */
int platform_claim(struct platform_env *env, uint64_t base, uint64_t len,
                   bus_read_fn read, bus_write_fn write, void *opaque);

void *console_attach(struct platform_env *env);   /* stdio_console.c */
void console_detach(void *dev);
void *port80_attach(struct platform_env *env);
void port80_detach(void *dev);
void *debugexit_attach(struct platform_env *env);
void debugexit_detach(void *dev);
void *testdev_attach(struct platform_env *env);
void testdev_detach(void *dev);
void *pcirq_attach(struct platform_env *env);      /* pcirq.c */
void pcirq_detach(void *dev);
void *testtimer_attach(struct platform_env *env);  /* testtimer.c */
void testtimer_detach(void *dev);
void *rtc_attach(struct platform_env *env);        /* rtc.c */
void rtc_detach(void *dev);
void *i8042_attach(struct platform_env *env);      /* i8042.c */
void i8042_detach(void *dev);
void *pci_attach(struct platform_env *env);        /* pci.c */
void pci_detach(void *dev);
void *virtio_blk_attach(struct platform_env *env); /* virtio_blk.c */
void virtio_blk_detach(void *dev);

#endif
