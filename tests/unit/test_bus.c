/*
 * test_bus.c — unit tests of the I/O dispatcher (devices/bus.c).
 *
 * Devices here are `struct rec`: handlers that record the last access they
 * saw (offset, size, value) and return a canned value, so each test can
 * check both where an access went and what the device was told.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "devices/bus.h"

struct rec {
	int reads, writes;
	uint64_t offset, value;
	unsigned size;
	uint64_t ret;
};

static uint64_t rec_read(void *opaque, uint64_t offset, unsigned size)
{
	struct rec *r = opaque;

	r->reads++;
	r->offset = offset;
	r->size = size;
	return r->ret;
}

static void rec_write(void *opaque, uint64_t offset, unsigned size,
                      uint64_t value)
{
	struct rec *r = opaque;

	r->writes++;
	r->offset = offset;
	r->size = size;
	r->value = value;
}

static struct bus *bus;

static void setup(void)
{
	bus = bus_new("test");
	cr_assert_not_null(bus);
}

static void teardown(void)
{
	bus_free(bus);
}

TestSuite(bus, .init = setup, .fini = teardown);

static int reg(const char *name, uint64_t base, uint64_t len, struct rec *r)
{
	return bus_register(bus, name, base, len, rec_read, rec_write, r);
}

Test(bus, name_and_empty_bus)
{
	uint64_t v = 0;

	cr_assert_str_eq(bus_name(bus), "test");
	cr_assert_null(bus_owner(bus, 0));
	cr_assert_eq(bus_read(bus, 0, 1, &v), BUS_UNCLAIMED);
	cr_assert_eq(v, 0xFF);
}

Test(bus, routes_to_device_with_offset_and_size)
{
	struct rec a = { .ret = 0x1234 }, b = { .ret = 0x55 };
	uint64_t v;

	cr_assert_eq(reg("a", 0x100, 0x10, &a), 0);
	cr_assert_eq(reg("b", 0x200, 4, &b), 0);
	cr_assert_eq(bus_read(bus, 0x105, 2, &v), BUS_OK);
	cr_assert_eq(v, 0x1234);
	cr_assert_eq(a.reads, 1);
	cr_assert_eq(a.offset, 5);
	cr_assert_eq(a.size, 2);
	cr_assert_eq(b.reads, 0);
	cr_assert_eq(bus_write(bus, 0x203, 4, 0xdeadbeef), BUS_OK);
	cr_assert_eq(b.writes, 1);
	cr_assert_eq(b.offset, 3);
	cr_assert_eq(b.size, 4);
	cr_assert_eq(b.value, 0xdeadbeef);
	cr_assert_eq(a.writes, 0);
	cr_assert_str_eq(bus_owner(bus, 0x10F), "a");
	cr_assert_str_eq(bus_owner(bus, 0x200), "b");
}

Test(bus, boundaries)
{
	struct rec a = { 0 };
	uint64_t v;

	cr_assert_eq(reg("a", 0x3F8, 8, &a), 0);
	cr_assert_eq(bus_read(bus, 0x3F7, 1, &v), BUS_UNCLAIMED);
	cr_assert_eq(bus_read(bus, 0x400, 1, &v), BUS_UNCLAIMED);
	cr_assert_eq(bus_read(bus, 0x3F8, 1, &v), BUS_OK);
	cr_assert_eq(a.offset, 0);
	cr_assert_eq(bus_read(bus, 0x3FF, 1, &v), BUS_OK);
	cr_assert_eq(a.offset, 7);
	cr_assert_eq(a.reads, 2);
	cr_assert_null(bus_owner(bus, 0x3F7));
	cr_assert_null(bus_owner(bus, 0x400));
}

Test(bus, access_goes_to_region_of_first_byte)
{
	struct rec a = { .ret = 0x11 }, b = { .ret = 0x22 };
	uint64_t v;

	cr_assert_eq(reg("a", 0x10, 2, &a), 0);
	cr_assert_eq(reg("b", 0x12, 2, &b), 0);
	cr_assert_eq(bus_read(bus, 0x11, 4, &v), BUS_OK);
	cr_assert_eq(v, 0x11);
	cr_assert_eq(a.offset, 1);
	cr_assert_eq(b.reads, 0);
	/* A wide access starting just below a region is unclaimed. */
	cr_assert_eq(bus_write(bus, 0xF, 4, 0), BUS_UNCLAIMED);
	cr_assert_eq(a.writes, 0);
}

Test(bus, rejects_bad_ranges)
{
	struct rec a = { 0 };

	cr_assert_eq(reg("zero", 0x10, 0, &a), -1);
	cr_assert_eq(reg("wrap", UINT64_MAX - 3, 5, &a), -1);
	cr_assert_eq(reg("wrap2", 2, UINT64_MAX, &a), -1);
	/* Ending exactly at the top of the address space does not wrap. */
	cr_assert_eq(reg("top", UINT64_MAX - 3, 4, &a), 0);
	cr_assert_str_eq(bus_owner(bus, UINT64_MAX), "top");
	cr_assert_eq(reg("bottom", 0, 1, &a), 0);
	cr_assert_str_eq(bus_owner(bus, 0), "bottom");
}

Test(bus, rejects_overlaps_accepts_neighbours)
{
	struct rec a = { 0 };

	cr_assert_eq(reg("a", 0x100, 0x10, &a), 0);
	cr_assert_eq(reg("same", 0x100, 0x10, &a), -1);
	cr_assert_eq(reg("head", 0xF0, 0x11, &a), -1);
	cr_assert_eq(reg("tail", 0x10F, 4, &a), -1);
	cr_assert_eq(reg("inside", 0x104, 2, &a), -1);
	cr_assert_eq(reg("around", 0x80, 0x100, &a), -1);
	cr_assert_eq(reg("below", 0xF0, 0x10, &a), 0);
	cr_assert_eq(reg("above", 0x110, 0x10, &a), 0);
	cr_assert_eq(reg("gap", 0x10F, 1, &a), -1);
	cr_assert_str_eq(bus_owner(bus, 0xFF), "below");
	cr_assert_str_eq(bus_owner(bus, 0x100), "a");
	cr_assert_str_eq(bus_owner(bus, 0x110), "above");
}

Test(bus, unclaimed_reads_all_ones_and_counts)
{
	static const struct { unsigned size; uint64_t ones; } cases[] = {
		{ 1, 0xFF }, { 2, 0xFFFF }, { 4, 0xFFFFFFFF }, { 8, UINT64_MAX },
	};
	uint64_t v;

	for (unsigned i = 0; i < 4; i++) {
		v = 0;
		cr_assert_eq(bus_read(bus, 0x80, cases[i].size, &v), BUS_UNCLAIMED);
		cr_assert_eq(v, cases[i].ones, "size %u: %#lx", cases[i].size,
		             (unsigned long)v);
		cr_assert_eq(bus_unclaimed_reads(bus), i + 1);
	}
	cr_assert_eq(bus_unclaimed_writes(bus), 0);
	cr_assert_eq(bus_write(bus, 0x80, 1, 0), BUS_UNCLAIMED);
	cr_assert_eq(bus_write(bus, 0x81, 4, 0), BUS_UNCLAIMED);
	cr_assert_eq(bus_unclaimed_writes(bus), 2);
	cr_assert_eq(bus_unclaimed_reads(bus), 4);
}

Test(bus, claimed_accesses_are_not_counted)
{
	struct rec a = { 0 };
	uint64_t v;

	cr_assert_eq(reg("a", 0x80, 1, &a), 0);
	bus_read(bus, 0x80, 1, &v);
	bus_write(bus, 0x80, 1, 0);
	cr_assert_eq(bus_unclaimed_reads(bus), 0);
	cr_assert_eq(bus_unclaimed_writes(bus), 0);
}

Test(bus, values_are_masked_to_size)
{
	struct rec a = { .ret = 0x1122334455667788ull };
	uint64_t v;

	cr_assert_eq(reg("a", 0, 8, &a), 0);
	bus_read(bus, 0, 1, &v);
	cr_assert_eq(v, 0x88);
	bus_read(bus, 0, 2, &v);
	cr_assert_eq(v, 0x7788);
	bus_read(bus, 0, 4, &v);
	cr_assert_eq(v, 0x55667788);
	bus_read(bus, 0, 8, &v);
	cr_assert_eq(v, 0x1122334455667788ull);
	bus_write(bus, 0, 2, 0xAABBCCDD);
	cr_assert_eq(a.value, 0xCCDD);
}

Test(bus, missing_handlers)
{
	uint64_t v = 0;

	cr_assert_eq(bus_register(bus, "ro", 0x10, 1, NULL, NULL, NULL), 0);
	cr_assert_eq(bus_read(bus, 0x10, 2, &v), BUS_OK);
	cr_assert_eq(v, 0xFFFF);
	cr_assert_eq(bus_write(bus, 0x10, 1, 5), BUS_OK);
	cr_assert_eq(bus_unclaimed_reads(bus), 0);
}

Test(bus, owner_name_is_copied)
{
	char name[] = "dev";
	struct rec a = { 0 };

	cr_assert_eq(reg(name, 0x10, 1, &a), 0);
	name[0] = 'X';
	cr_assert_str_eq(bus_owner(bus, 0x10), "dev");
}

/* Regions 4 bytes long every 8 bytes, registered in a scrambled order;
 * every address of the span must reach the right device at the right
 * offset, and every gap must be unclaimed. */
#define MANY 1000

Test(bus, many_regions_binary_search)
{
	static struct rec recs[MANY];
	static char names[MANY][8];
	uint64_t v;

	for (unsigned k = 0; k < MANY; k++) {
		unsigned i = (k * 617) % MANY;   /* 617 is prime to 1000 */

		snprintf(names[i], sizeof(names[i]), "d%u", i);
		recs[i].ret = i;
		cr_assert_eq(reg(names[i], 0x1000 + 8 * i, 4, &recs[i]), 0);
	}
	for (uint64_t a = 0xFF8; a < 0x1000 + 8 * MANY + 8; a++) {
		uint64_t rel = a - 0x1000, i = rel / 8;
		bool claimed = a >= 0x1000 && i < MANY && rel % 8 < 4;

		cr_assert_eq(bus_read(bus, a, 2, &v),
		             claimed ? BUS_OK : BUS_UNCLAIMED, "addr %#lx",
		             (unsigned long)a);
		if (!claimed)
			continue;
		cr_assert_eq(v, i);
		cr_assert_eq(recs[i].offset, rel % 8);
		cr_assert_str_eq(bus_owner(bus, a), names[i]);
	}
	/* The last byte of a region overlapping the next is refused. */
	cr_assert_eq(reg("late", 0x1000 + 8 * 500 + 4, 5, &recs[0]), -1);
	cr_assert_eq(reg("fit", 0x1000 + 8 * 500 + 4, 4, &recs[0]), 0);
}

/* The MMIO bus is the same dispatcher over guest-physical addresses:
 * regions high in the 32-bit space (where a PC's APICs and firmware sit),
 * 8-byte accesses, and a region ending at the very top of the space. */
Test(bus, mmio_bus_high_addresses_and_wide_accesses)
{
	struct bus *mmio = bus_new("mmio");
	struct rec ioapic = { .ret = 0x1122334455667788ull };
	struct rec top = { .ret = 0xAB };
	uint64_t v;

	cr_assert_not_null(mmio);
	cr_assert_eq(bus_register(mmio, "ioapic", 0xFEC00000ull, 0x1000,
	                          rec_read, rec_write, &ioapic), 0);
	cr_assert_eq(bus_register(mmio, "top", 0xFFFFF000ull, 0x1000,
	                          rec_read, rec_write, &top), 0);
	cr_assert_eq(bus_read(mmio, 0xFEC00010ull, 8, &v), BUS_OK);
	cr_assert_eq(v, 0x1122334455667788ull);
	cr_assert_eq(ioapic.offset, 0x10);
	cr_assert_eq(ioapic.size, 8);
	cr_assert_eq(bus_write(mmio, 0xFEC00FF8ull, 8, 0x0102030405060708ull), BUS_OK);
	cr_assert_eq(ioapic.value, 0x0102030405060708ull);
	cr_assert_eq(ioapic.offset, 0xFF8);
	cr_assert_eq(bus_read(mmio, 0xFFFFFFFFull, 1, &v), BUS_OK);
	cr_assert_eq(v, 0xAB);
	cr_assert_eq(top.offset, 0xFFF);
	/* Just past the ioapic, and above 4 GiB: nobody. */
	cr_assert_eq(bus_read(mmio, 0xFEC01000ull, 4, &v), BUS_UNCLAIMED);
	cr_assert_eq(v, 0xFFFFFFFFull);
	cr_assert_eq(bus_read(mmio, 0x100000000ull, 8, &v), BUS_UNCLAIMED);
	cr_assert_eq(v, ~0ull);
	cr_assert_eq(bus_unclaimed_reads(mmio), 2);
	/* A region that would wrap past 2^64 is refused. */
	cr_assert_eq(bus_register(mmio, "wrap", ~0ull - 0xF, 0x20,
	                          rec_read, rec_write, &top), -1);
	bus_free(mmio);
}
