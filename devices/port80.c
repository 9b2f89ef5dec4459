/*
 * port80.c — the POST code port (0x80).  Firmware and kernels write
 * progress codes here, and Linux also uses it as an I/O delay; the device
 * only remembers the last byte so that it can be read back (0 before the
 * first write).  Interface in misc.h; vCPU thread only.
 */
#include "devices/misc.h"
#include "devices/platform.h"

#include <stdlib.h>

struct port80 {
	uint8_t code;
};

struct port80 *port80_new(void)
{
	return calloc(1, sizeof(struct port80));
}

void port80_free(struct port80 *p)
{
	free(p);
}

uint64_t port80_read(void *opaque, uint64_t offset, unsigned size)
{
	struct port80 *p = opaque;

	(void)offset;
	(void)size;
	return p->code;
}

void port80_write(void *opaque, uint64_t offset, unsigned size,
                  uint64_t value)
{
	struct port80 *p = opaque;

	(void)offset;
	(void)size;
	p->code = (uint8_t)value;
}

void *port80_attach(struct platform_env *env)
{
	struct port80 *p = port80_new();

	if (p && platform_claim(env, PORT_POST, PORT80_NPORTS, port80_read,
	                        port80_write, p) < 0) {
		port80_free(p);
		return NULL;
	}
	return p;
}

void port80_detach(void *dev)
{
	port80_free(dev);
}
