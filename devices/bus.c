/*
 * bus.c — the I/O dispatcher behind bus.h, for ports and MMIO alike.
 *
 * A bus is an array of regions sorted by base address and never
 * overlapping, so the region holding an address is found by binary search:
 * the last region whose base is <= addr claims it if addr <= its last byte.
 * Registration keeps the array sorted (insertion with memmove); it happens
 * a handful of times at startup, lookups happen on every guest access.
 *
 * Values cross the bus masked to the access size in both directions, so a
 * device never sees, and never leaks, bits beyond the bytes accessed.  A
 * region without a read handler reads as all ones; one without a write
 * handler drops writes.  Both still count as claimed.
 *
 * Locking: none.  Registration happens before any vCPU runs or on the
 * vCPU thread (PCI BAR moves); lookups and the unclaimed counters are
 * touched only by the (single) vCPU thread.
 */
#include "devices/bus.h"

#include <stdlib.h>
#include <string.h>

struct bus_region {
	uint64_t base;
	uint64_t last;          /* last byte claimed: no overflow at 2^64 */
	char *devname;
	bus_read_fn read;
	bus_write_fn write;
	void *opaque;
};

struct bus {
	char *name;
	struct bus_region *regions;
	size_t count, cap;
	uint64_t unclaimed_reads, unclaimed_writes;
};

struct bus *bus_new(const char *name)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->name = strdup(name);
	if (!bus->name) {
		free(bus);
		return NULL;
	}
	return bus;
}

void bus_free(struct bus *bus)
{
	if (!bus)
		return;
	for (size_t i = 0; i < bus->count; i++)
		free(bus->regions[i].devname);
	free(bus->regions);
	free(bus->name);
	free(bus);
}

/* Index of the first region whose base is above addr (0..count). */
static size_t bus_upper_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bus->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct bus_region *bus_find(const struct bus *bus, uint64_t addr)
{
	size_t i = bus_upper_bound(bus, addr);

	if (i == 0 || addr > bus->regions[i - 1].last)
		return NULL;
	return &bus->regions[i - 1];
}

/* Would [base, last] overlap a neighbour of insertion point i? */
static bool bus_overlaps(const struct bus *bus, size_t i, uint64_t base,
                         uint64_t last)
{
	if (i > 0 && bus->regions[i - 1].last >= base)
		return true;
	return i < bus->count && bus->regions[i].base <= last;
}

static int bus_grow(struct bus *bus)
{
	size_t cap = bus->cap ? bus->cap * 2 : 16;
	struct bus_region *r;

	if (bus->count < bus->cap)
		return 0;
	r = realloc(bus->regions, cap * sizeof(*r));
	if (!r)
		return -1;
	bus->regions = r;
	bus->cap = cap;
	return 0;
}

int bus_register(struct bus *bus, const char *devname, uint64_t base,
                 uint64_t len, bus_read_fn read, bus_write_fn write,
                 void *opaque)
{
	uint64_t last = base + len - 1;
	size_t i;
	char *name;

	if (len == 0 || last < base)
		return -1;
	i = bus_upper_bound(bus, base);
	if (bus_overlaps(bus, i, base, last) || bus_grow(bus) < 0)
		return -1;
	name = strdup(devname);
	if (!name)
		return -1;
	memmove(&bus->regions[i + 1], &bus->regions[i],
	        (bus->count - i) * sizeof(bus->regions[0]));
	bus->regions[i] = (struct bus_region){
		.base = base, .last = last, .devname = name,
		.read = read, .write = write, .opaque = opaque,
	};
	bus->count++;
	return 0;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	size_t i = bus_upper_bound(bus, base);

	if (i == 0 || bus->regions[i - 1].base != base)
		return -1;
	i--;
	free(bus->regions[i].devname);
	memmove(&bus->regions[i], &bus->regions[i + 1],
	        (bus->count - i - 1) * sizeof(bus->regions[0]));
	bus->count--;
	return 0;
}

/* All ones in the low `size` bytes: what a floating bus reads as. */
static uint64_t bus_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

enum bus_result bus_read(struct bus *bus, uint64_t addr, unsigned size,
                         uint64_t *value)
{
	const struct bus_region *r = bus_find(bus, addr);

	if (!r) {
		bus->unclaimed_reads++;
		*value = bus_mask(size);
		return BUS_UNCLAIMED;
	}
	*value = r->read ? r->read(r->opaque, addr - r->base, size) : ~0ull;
	*value &= bus_mask(size);
	return BUS_OK;
}

enum bus_result bus_write(struct bus *bus, uint64_t addr, unsigned size,
                          uint64_t value)
{
	const struct bus_region *r = bus_find(bus, addr);

	if (!r) {
		bus->unclaimed_writes++;
		return BUS_UNCLAIMED;
	}
	if (r->write)
		r->write(r->opaque, addr - r->base, size, value & bus_mask(size));
	return BUS_OK;
}

const char *bus_owner(const struct bus *bus, uint64_t addr)
{
	const struct bus_region *r = bus_find(bus, addr);

	return r ? r->devname : NULL;
}

uint64_t bus_unclaimed_reads(const struct bus *bus)
{
	return bus->unclaimed_reads;
}

uint64_t bus_unclaimed_writes(const struct bus *bus)
{
	return bus->unclaimed_writes;
}

const char *bus_name(const struct bus *bus)
{
	return bus->name;
}
