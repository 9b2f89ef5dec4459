/*
 * misc.h — the small devices of the platform, each one bus region with a
 * read and a write handler shaped as bus.h wants them.  Tests drive them
 * through _new, the handlers and _free; platform.c attaches them to the
 * bus with the _attach/_detach of platform.h.
 *
 *   port80     POST code port: keeps the last byte written.
 *   debugexit  a write ends the VM with the low byte as exit status.
 *   testdev    latch, FIFO and counters for guest tests of I/O
 *              instructions, and scratch registers with an access counter
 *              on the MMIO bus (contract in testdev.c).
 *
 * Locking: none; all of them are touched by the vCPU thread only.
 */
#ifndef POPEK_DEVICES_MISC_H
#define POPEK_DEVICES_MISC_H

#include <stdint.h>

#define PORT80_NPORTS    1
#define DEBUGEXIT_NPORTS 1
#define TESTDEV_NPORTS   16
#define TESTDEV_MMIO_LEN 0x20

struct port80;
struct port80 *port80_new(void);
void port80_free(struct port80 *p);
uint64_t port80_read(void *opaque, uint64_t offset, unsigned size);
void port80_write(void *opaque, uint64_t offset, unsigned size,
                  uint64_t value);

struct debugexit;
struct debugexit *debugexit_new(void (*request_exit)(void *ctx, int status),
                                void *ctx);
void debugexit_free(struct debugexit *d);
uint64_t debugexit_read(void *opaque, uint64_t offset, unsigned size);
void debugexit_write(void *opaque, uint64_t offset, unsigned size,
                     uint64_t value);

struct testdev;
struct testdev *testdev_new(void);
void testdev_free(struct testdev *t);
uint64_t testdev_read(void *opaque, uint64_t offset, unsigned size);
void testdev_write(void *opaque, uint64_t offset, unsigned size,
                   uint64_t value);
uint64_t testdev_mmio_read(void *opaque, uint64_t offset, unsigned size);
void testdev_mmio_write(void *opaque, uint64_t offset, unsigned size,
                        uint64_t value);

#endif
