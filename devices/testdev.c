/*
 * testdev.c — a device for guest tests of IN, OUT, INS and OUTS at ports
 * 0xE0..0xEF, and of MMIO at guest-physical MMIO_TESTDEV (0xFEB00000).
 * Guest tests are written against this contract; keep it:
 *
 *   0xE0..0xE3  a 4-byte latch.  A write of size s at 0xE0+o stores its s
 *               little-endian bytes into latch bytes o..o+s-1; a read
 *               returns latch bytes o..o+s-1 little-endian.  Bytes past
 *               latch byte 3 are dropped on write and read as 0.
 *   0xE4        a byte FIFO of TESTDEV_FIFO_LEN bytes.  A write of size s
 *               appends its s bytes, low first (each dropped when full); a
 *               read pops s bytes, low first (0xFF for each byte missing).
 *               Every access, read or write, counts once.
 *   0xE8        read: bytes in the FIFO.  Write: empties the FIFO and
 *               zeroes the access count.
 *   0xEC        read: the access count of 0xE4.
 *   other       read 0, writes ignored.
 *
 * An access goes to the region holding its first byte, so the device is
 * one 16-port region and decodes the offset itself: `outl` to 0xE2 reaches
 * the latch at offset 2, and its upper two bytes fall off the end.
 *
 * MMIO, TESTDEV_MMIO_LEN (0x20) bytes at MMIO_TESTDEV + offset:
 *
 *   0x00..0x0F  16 scratch bytes.  A write of size s at offset o stores its
 *               s little-endian bytes into scratch bytes o..o+s-1; a read
 *               returns them.  Bytes past 0x0F are dropped on write and
 *               read as 0.  Each access, read or write, counts once.
 *   0x10..0x13  read-only: the count of scratch accesses (a read at 0x10+k
 *               returns its bytes k..k+s-1).  Writes are ignored; neither
 *               reads nor writes here count.
 *   0x14..0x1F  read 0, writes ignored, not counted.
 *
 * Interface in misc.h; vCPU thread only.
 */
#include "devices/misc.h"
#include "devices/platform.h"

#include <stdio.h>
#include <stdlib.h>

#define TESTDEV_LATCH_LEN   4
#define TESTDEV_FIFO        0x4
#define TESTDEV_FIFO_COUNT  0x8
#define TESTDEV_ACCESSES    0xC
#define TESTDEV_FIFO_LEN    4096
#define TESTDEV_SCRATCH_LEN 16
#define TESTDEV_MMIO_COUNT  0x10

struct testdev {
	uint8_t latch[TESTDEV_LATCH_LEN];
	uint8_t fifo[TESTDEV_FIFO_LEN];
	unsigned head, count;
	uint64_t accesses;
	uint8_t scratch[TESTDEV_SCRATCH_LEN];
	uint32_t mmio_accesses;
};

struct testdev *testdev_new(void)
{
	return calloc(1, sizeof(struct testdev));
}

void testdev_free(struct testdev *t)
{
	free(t);
}

/* Bytes off..off+size-1 of an n-byte little-endian array; 0 past its end. */
static uint64_t bytes_read(const uint8_t *b, unsigned n, uint64_t off,
                           unsigned size)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < size && off + i < n; i++)
		v |= (uint64_t)b[off + i] << (8 * i);
	return v;
}

static uint64_t testdev_latch_read(const struct testdev *t, unsigned off,
                                   unsigned size)
{
	return bytes_read(t->latch, TESTDEV_LATCH_LEN, off, size);
}

static void testdev_latch_write(struct testdev *t, unsigned off,
                                unsigned size, uint64_t v)
{
	for (unsigned i = 0; i < size && off + i < TESTDEV_LATCH_LEN; i++)
		t->latch[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t testdev_fifo_pop(struct testdev *t, unsigned size)
{
	uint64_t v = 0, byte;

	t->accesses++;
	for (unsigned i = 0; i < size; i++) {
		byte = 0xFF;
		if (t->count) {
			byte = t->fifo[t->head];
			t->head = (t->head + 1) % TESTDEV_FIFO_LEN;
			t->count--;
		}
		v |= byte << (8 * i);
	}
	return v;
}

static void testdev_fifo_push(struct testdev *t, unsigned size, uint64_t v)
{
	t->accesses++;
	for (unsigned i = 0; i < size && t->count < TESTDEV_FIFO_LEN; i++)
		t->fifo[(t->head + t->count++) % TESTDEV_FIFO_LEN] =
			(uint8_t)(v >> (8 * i));
}

uint64_t testdev_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *t = opaque;

	if (size > 8)
		size = 8;
	if (offset < TESTDEV_LATCH_LEN)
		return testdev_latch_read(t, offset, size);
	switch (offset) {
	case TESTDEV_FIFO:       return testdev_fifo_pop(t, size);
	case TESTDEV_FIFO_COUNT: return t->count;
	case TESTDEV_ACCESSES:   return t->accesses;
	default:                 return 0;
	}
}

void testdev_write(void *opaque, uint64_t offset, unsigned size,
                   uint64_t value)
{
	struct testdev *t = opaque;

	if (size > 8)
		size = 8;
	if (offset < TESTDEV_LATCH_LEN) {
		testdev_latch_write(t, offset, size, value);
		return;
	}
	switch (offset) {
	case TESTDEV_FIFO:
		testdev_fifo_push(t, size, value);
		break;
	case TESTDEV_FIFO_COUNT:
		t->head = t->count = 0;
		t->accesses = 0;
		break;
	default:
		break;
	}
}

uint64_t testdev_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *t = opaque;
	uint8_t count[4];

	if (size > 8)
		size = 8;
	if (offset < TESTDEV_SCRATCH_LEN) {
		t->mmio_accesses++;
		return bytes_read(t->scratch, TESTDEV_SCRATCH_LEN, offset,
		                  size);
	}
	if (offset - TESTDEV_MMIO_COUNT < sizeof(count)) {
		for (unsigned i = 0; i < sizeof(count); i++)
			count[i] = (uint8_t)(t->mmio_accesses >> (8 * i));
		return bytes_read(count, sizeof(count),
		                  offset - TESTDEV_MMIO_COUNT, size);
	}
	return 0;
}

void testdev_mmio_write(void *opaque, uint64_t offset, unsigned size,
                        uint64_t value)
{
	struct testdev *t = opaque;

	if (size > 8)
		size = 8;
	if (offset >= TESTDEV_SCRATCH_LEN)
		return;
	t->mmio_accesses++;
	for (unsigned i = 0; i < size && offset + i < TESTDEV_SCRATCH_LEN; i++)
		t->scratch[offset + i] = (uint8_t)(value >> (8 * i));
}

void *testdev_attach(struct platform_env *env)
{
	struct testdev *t = testdev_new();

	if (t && platform_claim(env, PORT_TESTDEV, TESTDEV_NPORTS, testdev_read,
	                        testdev_write, t) < 0) {
		testdev_free(t);
		return NULL;
	}
	if (t && bus_register(env->mmio, env->name, MMIO_TESTDEV,
	                      TESTDEV_MMIO_LEN, testdev_mmio_read,
	                      testdev_mmio_write, t) < 0) {
		snprintf(env->err, sizeof(env->err), "cannot claim mmio "
		         "0x%x..0x%x: taken by %s", MMIO_TESTDEV,
		         MMIO_TESTDEV + TESTDEV_MMIO_LEN - 1,
		         bus_owner(env->mmio, MMIO_TESTDEV) ?: "?");
		testdev_free(t);
		return NULL;
	}
	return t;
}

void testdev_detach(void *dev)
{
	testdev_free(dev);
}
