/*
 * platform.c — the PC platform popek offers a guest: the one table of its
 * devices, brought up in order (one line each) and torn down in reverse.
 *
 * Each row names a device and its attach/detach pair (platform.h); the
 * device decides its own ports, from the PORT_ constants of devices.h.
 * If one cannot attach, platform_new prints one line naming it, detaches
 * those already up and fails.  PCI devices are placed on the buses by the
 * PCI host (pci.c), which the "pci" row brings up.
 *
 * Locking: platform_new and platform_free run before and after the vCPU;
 * devices with threads of their own stop them in their detach.
 */
#include "devices/devices.h"
#include "devices/platform.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct platform_device {
	const char *name;
	void *(*attach)(struct platform_env *env);
	void (*detach)(void *dev);
};

static const struct platform_device platform_devices[] = {
	{ "pcirq",     pcirq_attach,     pcirq_detach },     /* 8259A pair, 8254 */
	{ "com1",      console_attach,   console_detach },   /* 16550A on stdio */
	{ "port80",    port80_attach,    port80_detach },    /* POST codes */
	{ "debugexit", debugexit_attach, debugexit_detach }, /* guest ends VM */
	{ "testdev",   testdev_attach,   testdev_detach },   /* I/O tests */
	{ "testtimer", testtimer_attach, testtimer_detach }, /* IRQ tests */
	{ "rtc",       rtc_attach,       rtc_detach },       /* MC146818, CMOS */
	{ "i8042",     i8042_attach,     i8042_detach },     /* kbd ctl, 0x92 */
	{ "pci",       pci_attach,       pci_detach },       /* i440FX, PIIX3 */
	{ "virtio-blk", virtio_blk_attach, virtio_blk_detach }, /* --disk */
};

#define PLATFORM_NDEVICES \
	(sizeof(platform_devices) / sizeof(platform_devices[0]))

struct platform {
	void *dev[PLATFORM_NDEVICES];
	size_t up;              /* devices attached, a prefix of the table */
};

int platform_claim(struct platform_env *env, uint64_t base, uint64_t len,
                   bus_read_fn read, bus_write_fn write, void *opaque)
{
	const char *owner = NULL;

	if (bus_register(env->io, env->name, base, len, read, write,
	                 opaque) == 0)
		return 0;
	/* Name the culprit; a scan is cheap for ports, bounded for MMIO. */
	for (uint64_t a = base; a - base < len && a - base < 4096 && !owner; a++)
		owner = bus_owner(env->io, a);
	snprintf(env->err, sizeof(env->err), "cannot claim %s 0x%" PRIx64
	         "..0x%" PRIx64 ": %s%s", bus_name(env->io), base,
	         base + len - 1, owner ? "taken by " : "out of memory",
	         owner ? owner : "");
	return -1;
}

struct platform *platform_new(struct bus *io, struct bus *mmio,
                              const struct platform_hooks *hooks)
{
	struct platform_env env = { .io = io, .mmio = mmio, .hooks = hooks };
	struct platform *p = calloc(1, sizeof(*p));

	if (!p) {
		fprintf(stderr, "popek: out of memory creating the devices\n");
		return NULL;
	}
	for (; p->up < PLATFORM_NDEVICES; p->up++) {
		env.name = platform_devices[p->up].name;
		env.err[0] = '\0';
		p->dev[p->up] = platform_devices[p->up].attach(&env);
		if (!p->dev[p->up]) {
			fprintf(stderr, "popek: device %s: %s\n", env.name,
			        env.err[0] ? env.err : "out of memory");
			platform_free(p);
			return NULL;
		}
	}
	return p;
}

void platform_free(struct platform *p)
{
	if (!p)
		return;
	while (p->up > 0) {
		p->up--;
		platform_devices[p->up].detach(p->dev[p->up]);
	}
	free(p);
}
