/*
 * debugexit.c — the debug-exit port (0xF4): a guest ends the VM by writing
 * its exit status there; the low byte of the value becomes the status
 * handed to the monitor's request_exit hook, called on the vCPU thread.
 * Nothing is readable: reads return all ones, as from an empty port.
 * Interface in misc.h.
 */
#include "devices/misc.h"
#include "devices/platform.h"

#include <stdlib.h>

struct debugexit {
	void (*request_exit)(void *ctx, int status);
	void *ctx;
};

struct debugexit *debugexit_new(void (*request_exit)(void *ctx, int status),
                                void *ctx)
{
	struct debugexit *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->request_exit = request_exit;
	d->ctx = ctx;
	return d;
}

void debugexit_free(struct debugexit *d)
{
	free(d);
}

uint64_t debugexit_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return ~0ull;
}

void debugexit_write(void *opaque, uint64_t offset, unsigned size,
                     uint64_t value)
{
	struct debugexit *d = opaque;

	(void)offset;
	(void)size;
	if (d->request_exit)
		d->request_exit(d->ctx, (int)(value & 0xFF));
}

void *debugexit_attach(struct platform_env *env)
{
	struct debugexit *d = debugexit_new(env->hooks->request_exit,
	                                    env->hooks->ctx);

	if (d && platform_claim(env, PORT_DEBUG_EXIT, DEBUGEXIT_NPORTS,
	                        debugexit_read, debugexit_write, d) < 0) {
		debugexit_free(d);
		return NULL;
	}
	return d;
}

void debugexit_detach(void *dev)
{
	debugexit_free(dev);
}
