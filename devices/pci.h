/*
 * pci.h — PCI bus 0 of an i440FX-like PC: configuration mechanism #1
 * (ports 0xCF8/0xCFC), the host bridge at 00:00.0, the PIIX3 ISA bridge at
 * 00:01.0 with its PIRQ routing registers, and the API a PCI device model
 * uses to live on that bus.
 *
 * A device model embeds a struct pci_device, fills its identity with
 * pci_device_init, declares its BARs with pci_set_bar (each BAR is a bus
 * region: the device sees (BAR, offset) through the handlers it gives) and
 * is plugged in with pci_host_add, which places BARs as a BIOS would and
 * maps them.  From then on the guest owns the configuration space: a write
 * to a BAR or to the command register's I/O or memory enable bits moves
 * the region on the port or MMIO bus (bus_unregister, bus_register).
 *
 * Interrupts: a device drives its INTx pin with pci_set_irq.  The pin is
 * swizzled to PIRQA..D by slot as on the PIIX3, and PIRQn is routed to the
 * ISA IRQ named by ISA-bridge register 0x60+n (bit 7: disabled).  Power-on
 * routing is what SeaBIOS programs: PIRQA..D -> IRQ 10, 10, 11, 11, and a
 * device's Interrupt Line register (0x3C) is preset to its routed IRQ, for
 * guests that find no BIOS routing table.  Lines are level-triggered.
 *
 * Locking: one mutex per host guards every configuration access (vCPU
 * thread) and INTx changes (any thread).  It is taken before the
 * interrupt controller's lock (set_irq), never after.
 */
#ifndef POPEK_DEVICES_PCI_H
#define POPEK_DEVICES_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "devices/bus.h"

#define PCI_CONFIG_ADDR 0xCF8
#define PCI_CONFIG_DATA 0xCFC

/* Configuration-space registers (type 0 header). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION       0x08
#define PCI_CLASS_PROG     0x09
#define PCI_CACHE_LINE     0x0C
#define PCI_LATENCY        0x0D
#define PCI_HEADER_TYPE    0x0E
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2C
#define PCI_SUBSYS_ID      0x2E
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN  0x3D

#define PCI_CMD_IO         0x0001
#define PCI_CMD_MEM        0x0002
#define PCI_CMD_MASTER     0x0004
#define PCI_CMD_INTX_OFF   0x0400
#define PCI_STATUS_INTX    0x0008
#define PCI_HEADER_MULTIFN 0x80

#define PCI_NUM_BARS   6
#define PCI_IO_START   0xC000u      /* first I/O BAR placed at attach */
#define PCI_MEM_START  0xE0000000u  /* first memory BAR placed at attach */

/* The i440FX platform's built-in functions. */
#define PCI_PIIX3_PIRQ   0x60       /* PIRQA..D route registers */
#define PCI_PIRQ_OFF     0x80

struct pci_host;

struct pci_bar {
	uint32_t size;          /* a power of two; 0: no BAR */
	bool io;                /* I/O space, else 32-bit memory */
	bus_read_fn read;
	bus_write_fn write;
	void *opaque;
	bool mapped;            /* on its bus at base (PCI layer) */
	uint32_t base;
};

struct pci_device {
	const char *name;       /* for bus regions and messages */
	uint8_t config[256];
	uint8_t wmask[256];     /* guest-writable bits */
	struct pci_bar bar[PCI_NUM_BARS];
	/* Called after the generic part of a guest config write, with the
	 * host lock held; NULL: none. */
	void (*config_written)(struct pci_device *d, unsigned off,
	                       unsigned size);
	/* PCI layer */
	struct pci_host *host;
	int devfn;              /* slot << 3 | function; -1: not plugged */
	bool intx;              /* the device's INTx level */
};

/* Identity and default writable bits (command, cache line, latency,
 * interrupt line).  class_code is base << 16 | sub << 8 | prog-if. */
void pci_device_init(struct pci_device *d, const char *name,
                     uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision);
/* Declare BAR n (size: a power of two, at least 4 for I/O and 16 for
 * memory).  The handlers see offsets into the BAR. */
void pci_set_bar(struct pci_device *d, int n, bool io, uint32_t size,
                 bus_read_fn read, bus_write_fn write, void *opaque);

/* set_irq drives an ISA IRQ line (the PIC's); may be NULL in tests. */
struct pci_host *pci_host_new(struct bus *io, struct bus *mmio,
                              void (*set_irq)(void *ctx, int irq, int level),
                              void *irqctx);
void pci_host_free(struct pci_host *h);
/* Plug d into bus 0 at slot (-1: the first free one), function 0: assign
 * BAR addresses, enable decoding, preset Interrupt Line.  0, or -1 with a
 * reason in err. */
int pci_host_add(struct pci_host *h, struct pci_device *d, int slot,
                 char *err, size_t errlen);
/* Unplug: unmap its BARs, drop its interrupt, free its slot. */
void pci_host_remove(struct pci_host *h, struct pci_device *d);
/* The ISA IRQ a PIRQ (0..3) is routed to now, or -1. */
int pci_host_pirq_irq(struct pci_host *h, int pirq);

/* Drive d's INTx pin; any thread. */
void pci_set_irq(struct pci_device *d, int level);

/* Configuration mechanism #1, for the bus (opaque = the host):
 * 0xCF8..0xCFB (the address register: dword accesses only) and
 * 0xCFC..0xCFF (the data window). */
uint64_t pci_addr_read(void *opaque, uint64_t off, unsigned size);
void pci_addr_write(void *opaque, uint64_t off, unsigned size, uint64_t v);
uint64_t pci_data_read(void *opaque, uint64_t off, unsigned size);
void pci_data_write(void *opaque, uint64_t off, unsigned size, uint64_t v);

#endif
