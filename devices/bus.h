/*
 * bus.h — the one I/O dispatcher: a port bus and an MMIO bus are both a
 * `struct bus`.  Devices register {base, len, read, write, opaque} at init
 * and never learn who called them; the run loop names no device.
 *
 * An access is routed to the region that holds its first byte; the device
 * sees an offset into its region and the access size (1, 2, 4 or 8).
 * Unclaimed reads return all ones and unclaimed writes are dropped; both
 * are counted, and bus_read/bus_write say BUS_UNCLAIMED so that the caller
 * can make them fatal (--strict-io).
 *
 * Locking: registration happens before any vCPU runs, or later on the vCPU
 * thread itself (a guest moving a PCI BAR); lookups take no lock, so only
 * the vCPU thread may look up once it runs.  A device that is also fed by
 * another thread locks its own state.
 */
#ifndef POPEK_DEVICES_BUS_H
#define POPEK_DEVICES_BUS_H

#include <stdint.h>
#include <stdbool.h>

typedef uint64_t (*bus_read_fn)(void *opaque, uint64_t offset, unsigned size);
typedef void (*bus_write_fn)(void *opaque, uint64_t offset, unsigned size,
                             uint64_t value);

enum bus_result { BUS_OK, BUS_UNCLAIMED };

struct bus;

struct bus *bus_new(const char *name);
void bus_free(struct bus *bus);
/* 0 on success; -1 if len is 0, the range wraps, or it overlaps a region. */
int bus_register(struct bus *bus, const char *devname, uint64_t base,
                 uint64_t len, bus_read_fn read, bus_write_fn write,
                 void *opaque);
/* Remove the region that starts at base: 0, or -1 if none starts there. */
int bus_unregister(struct bus *bus, uint64_t base);
enum bus_result bus_read(struct bus *bus, uint64_t addr, unsigned size,
                         uint64_t *value);
enum bus_result bus_write(struct bus *bus, uint64_t addr, unsigned size,
                          uint64_t value);
/* Name of the device claiming addr, or NULL. */
const char *bus_owner(const struct bus *bus, uint64_t addr);
uint64_t bus_unclaimed_reads(const struct bus *bus);
uint64_t bus_unclaimed_writes(const struct bus *bus);
const char *bus_name(const struct bus *bus);

#endif
