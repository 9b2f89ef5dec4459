/*
 * pci.c — PCI bus 0 behind configuration mechanism #1: the host bridge
 * (i440FX, 00:00.0), the PIIX3 ISA bridge (00:01.0) with its PIRQ router,
 * the device API of pci.h and its platform glue.
 *
 * Configuration space is a byte array per function with a mask of the
 * bits the guest may write; every write goes through that mask, then the
 * PCI layer looks at what it touched: BARs and the command register decide
 * where (and whether) each BAR's region sits on the port or MMIO bus, the
 * command register's INTx-disable bit and the ISA bridge's PIRQ registers
 * decide which ISA lines the devices' INTx pins hold up.
 *
 * INTx: `driven` is the set of ISA IRQs this bus holds high; pirq_sync
 * recomputes it from every function's pin level and the routing, and
 * moves only the lines that changed (several pins may share a line).
 *
 * Locking: h->lock around each configuration access (vCPU thread) and each
 * pci_set_irq (device threads); set_irq (the PIC's lock) is called under
 * it.  The address register is the vCPU thread's alone.
 */
#include "devices/pci.h"
#include "devices/platform.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCI_MEM_END   0xFEB00000u   /* memory BARs stay below this */
#define PCI_IO_END    0x10000u

struct pci_host {
	pthread_mutex_t lock;
	struct bus *io, *mmio;
	void (*set_irq)(void *ctx, int irq, int level);
	void *irqctx;
	uint32_t addr;                   /* CONFIG_ADDRESS (0xCF8) */
	struct pci_device *fn[256];      /* by devfn */
	uint16_t driven;                 /* ISA IRQs held high */
	uint32_t next_io, next_mem;      /* BAR placement at plug time */
	struct pci_device host_bridge, isa_bridge;
};

static uint16_t cfg16(const struct pci_device *d, unsigned off)
{
	return (uint16_t)(d->config[off] | d->config[off + 1] << 8);
}

static uint32_t cfg32(const struct pci_device *d, unsigned off)
{
	return (uint32_t)cfg16(d, off) | (uint32_t)cfg16(d, off + 2) << 16;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static bool touches(unsigned off, unsigned size, unsigned reg, unsigned len)
{
	return off < reg + len && reg < off + size;
}

void pci_device_init(struct pci_device *d, const char *name,
                     uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision)
{
	memset(d, 0, sizeof(*d));
	d->name = name;
	d->devfn = -1;
	put16(&d->config[PCI_VENDOR_ID], vendor);
	put16(&d->config[PCI_DEVICE_ID], device);
	d->config[PCI_REVISION] = revision;
	d->config[PCI_CLASS_PROG] = (uint8_t)class_code;
	put16(&d->config[PCI_CLASS_PROG + 1], (uint16_t)(class_code >> 8));
	put16(&d->wmask[PCI_COMMAND], PCI_CMD_IO | PCI_CMD_MEM |
	      PCI_CMD_MASTER | PCI_CMD_INTX_OFF);
	d->wmask[PCI_CACHE_LINE] = 0xFF;
	d->wmask[PCI_LATENCY] = 0xFF;
	d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
}

void pci_set_bar(struct pci_device *d, int n, bool io, uint32_t size,
                 bus_read_fn read, bus_write_fn write, void *opaque)
{
	uint32_t flags = io ? 1 : 0;     /* memory: 32-bit, not prefetchable */

	d->bar[n] = (struct pci_bar){ .size = size, .io = io, .read = read,
	                              .write = write, .opaque = opaque };
	put32(&d->config[PCI_BAR0 + 4 * n], flags);
	put32(&d->wmask[PCI_BAR0 + 4 * n], ~(size - 1) & (io ? ~3u : ~15u));
}

/* --- BARs on the buses ----------------------------------------------- */

/* Where BAR n should be decoded now; false: nowhere (decoding off, base
 * 0, or a range that does not fit, such as the all-ones sizing probe). */
static bool bar_target(const struct pci_device *d, int n, uint32_t *base)
{
	const struct pci_bar *b = &d->bar[n];
	uint16_t cmd = cfg16(d, PCI_COMMAND);
	uint32_t v = cfg32(d, PCI_BAR0 + 4 * n);

	if (!b->size || !(cmd & (b->io ? PCI_CMD_IO : PCI_CMD_MEM)))
		return false;
	*base = v & (b->io ? ~3u : ~15u);
	if (b->io)
		return *base && (uint64_t)*base + b->size <= PCI_IO_END;
	return *base && (uint64_t)*base + b->size < 0x100000000ull;
}

static struct bus *bar_bus(const struct pci_device *d, int n)
{
	return d->bar[n].io ? d->host->io : d->host->mmio;
}

static void bars_update(struct pci_device *d)
{
	for (int n = 0; n < PCI_NUM_BARS; n++) {
		struct pci_bar *b = &d->bar[n];
		uint32_t base = 0;
		bool want = bar_target(d, n, &base);

		if (b->mapped && (!want || b->base != base)) {
			bus_unregister(bar_bus(d, n), b->base);
			b->mapped = false;
		}
		if (!want || b->mapped)
			continue;
		if (bus_register(bar_bus(d, n), d->name, base, b->size, b->read,
		                 b->write, b->opaque) == 0) {
			b->mapped = true;
			b->base = base;
		} else {
			fprintf(stderr, "popek: pci %s: BAR%d at 0x%" PRIx32
			        " overlaps another region; left unmapped\n",
			        d->name, n, base);
		}
	}
}

/* --- INTx through the PIIX3 PIRQ router ---------------------------------- */

static int pirq_of(const struct pci_device *d)
{
	int pin = d->config[PCI_INTERRUPT_PIN];

	if (pin < 1 || pin > 4 || d->devfn < 0)
		return -1;
	return ((d->devfn >> 3) + pin - 2) & 3;
}

static int route(const struct pci_host *h, int pirq)
{
	uint8_t r;

	if (pirq < 0)
		return -1;
	r = h->isa_bridge.config[PCI_PIIX3_PIRQ + pirq];
	if (r & PCI_PIRQ_OFF)
		return -1;
	r &= 0x0F;
	/* PIIX3: IRQ 0, 1, 2, 8 and 13 are reserved encodings. */
	return r < 3 || r == 8 || r == 13 ? -1 : r;
}

static void pirq_sync(struct pci_host *h)
{
	uint16_t want = 0, change;

	for (int df = 0; df < 256; df++) {
		const struct pci_device *d = h->fn[df];
		int irq;

		if (!d || !d->intx || (cfg16(d, PCI_COMMAND) & PCI_CMD_INTX_OFF))
			continue;
		irq = route(h, pirq_of(d));
		if (irq >= 0)
			want |= (uint16_t)(1u << irq);
	}
	change = want ^ h->driven;
	h->driven = want;
	for (int irq = 0; irq < 16; irq++)
		if ((change >> irq & 1) && h->set_irq)
			h->set_irq(h->irqctx, irq, want >> irq & 1);
}

void pci_set_irq(struct pci_device *d, int level)
{
	struct pci_host *h = d->host;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	d->intx = level != 0;
	d->config[PCI_STATUS] = (uint8_t)((d->config[PCI_STATUS] &
	                        ~PCI_STATUS_INTX) | (d->intx ? PCI_STATUS_INTX : 0));
	pirq_sync(h);
	pthread_mutex_unlock(&h->lock);
}

int pci_host_pirq_irq(struct pci_host *h, int pirq)
{
	int irq;

	pthread_mutex_lock(&h->lock);
	irq = route(h, pirq);
	pthread_mutex_unlock(&h->lock);
	return irq;
}

static void isa_bridge_written(struct pci_device *d, unsigned off,
                               unsigned size)
{
	if (touches(off, size, PCI_PIIX3_PIRQ, 4))
		pirq_sync(d->host);
}

/* --- configuration mechanism #1 ---------------------------------------- */

static void config_write(struct pci_device *d, unsigned off, unsigned size,
                         uint32_t v)
{
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = d->wmask[off + i];

		d->config[off + i] = (uint8_t)((d->config[off + i] & ~m) |
		                               ((v >> (8 * i)) & m));
	}
	if (touches(off, size, PCI_COMMAND, 2) ||
	    touches(off, size, PCI_BAR0, 4 * PCI_NUM_BARS))
		bars_update(d);
	if (touches(off, size, PCI_COMMAND, 2))
		pirq_sync(d->host);
	if (d->config_written)
		d->config_written(d, off, size);
}

uint64_t pci_addr_read(void *opaque, uint64_t off, unsigned size)
{
	const struct pci_host *h = opaque;

	return off == 0 && size == 4 ? h->addr : ~0ull;
}

void pci_addr_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pci_host *h = opaque;

	/* Byte and word accesses to 0xCF8..0xCFB are not the register. */
	if (off == 0 && size == 4)
		h->addr = (uint32_t)v & 0x80FFFFFCu;
}

/* The function the address register selects, and the register offset of
 * a data-port access; NULL if disabled, another bus, absent, or the
 * access would cross the dword. */
static struct pci_device *selected(struct pci_host *h, uint64_t off,
                                   unsigned size, unsigned *reg)
{
	uint32_t a = h->addr;

	if (!(a & 0x80000000u) || (a >> 16 & 0xFF) != 0 || off + size > 4)
		return NULL;
	*reg = (a & 0xFC) + (unsigned)off;
	return h->fn[a >> 8 & 0xFF];
}

uint64_t pci_data_read(void *opaque, uint64_t off, unsigned size)
{
	struct pci_host *h = opaque;
	struct pci_device *d;
	uint64_t v = 0;
	unsigned reg;

	pthread_mutex_lock(&h->lock);
	d = selected(h, off, size, &reg);
	if (!d)
		v = ~0ull;
	else
		for (unsigned i = 0; i < size; i++)
			v |= (uint64_t)d->config[reg + i] << (8 * i);
	pthread_mutex_unlock(&h->lock);
	return v;
}

void pci_data_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct pci_host *h = opaque;
	struct pci_device *d;
	unsigned reg;

	pthread_mutex_lock(&h->lock);
	d = selected(h, off, size, &reg);
	if (d)
		config_write(d, reg, size, (uint32_t)v);
	pthread_mutex_unlock(&h->lock);
}

/* --- the host and its devices ---------------------------------------------- */

struct pci_host *pci_host_new(struct bus *io, struct bus *mmio,
                              void (*set_irq)(void *ctx, int irq, int level),
                              void *irqctx)
{
	static const uint8_t pirq_default[4] = { 10, 10, 11, 11 };
	struct pci_host *h = calloc(1, sizeof(*h));
	struct pci_device *hb, *isa;

	if (!h)
		return NULL;
	*h = (struct pci_host){ .io = io, .mmio = mmio, .set_irq = set_irq,
	                        .irqctx = irqctx, .next_io = PCI_IO_START,
	                        .next_mem = PCI_MEM_START };
	pthread_mutex_init(&h->lock, NULL);
	hb = &h->host_bridge;
	pci_device_init(hb, "i440fx", 0x8086, 0x1237, 0x060000, 0x02);
	put16(&hb->config[PCI_COMMAND], PCI_CMD_IO | PCI_CMD_MEM);
	isa = &h->isa_bridge;
	pci_device_init(isa, "piix3", 0x8086, 0x7000, 0x060100, 0x00);
	isa->config[PCI_HEADER_TYPE] = PCI_HEADER_MULTIFN;
	put16(&isa->config[PCI_COMMAND], PCI_CMD_IO | PCI_CMD_MEM |
	      PCI_CMD_MASTER);
	memcpy(&isa->config[PCI_PIIX3_PIRQ], pirq_default, 4);
	memset(&isa->wmask[PCI_PIIX3_PIRQ], 0x8F, 4);
	isa->config_written = isa_bridge_written;
	hb->host = isa->host = h;
	hb->devfn = 0;
	isa->devfn = 1 << 3;
	h->fn[0] = hb;
	h->fn[1 << 3] = isa;
	return h;
}

void pci_host_free(struct pci_host *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int place_bars(struct pci_host *h, struct pci_device *d, char *err,
                      size_t errlen)
{
	uint16_t cmd = cfg16(d, PCI_COMMAND);

	for (int n = 0; n < PCI_NUM_BARS; n++) {
		struct pci_bar *b = &d->bar[n];
		uint32_t *next = b->io ? &h->next_io : &h->next_mem;
		uint64_t end = b->io ? PCI_IO_END : PCI_MEM_END;
		uint64_t base;

		if (!b->size)
			continue;
		base = ((uint64_t)*next + b->size - 1) & ~(uint64_t)(b->size - 1);
		if (base + b->size > end) {
			snprintf(err, errlen, "no room for BAR%d of %" PRIu32
			         " bytes", n, b->size);
			return -1;
		}
		*next = (uint32_t)(base + b->size);
		put32(&d->config[PCI_BAR0 + 4 * n],
		      (uint32_t)base | (cfg32(d, PCI_BAR0 + 4 * n) & 0xF));
		cmd |= b->io ? PCI_CMD_IO : PCI_CMD_MEM;
	}
	put16(&d->config[PCI_COMMAND], cmd);
	return 0;
}

static void unmap_all(struct pci_device *d)
{
	for (int n = 0; n < PCI_NUM_BARS; n++)
		if (d->bar[n].mapped) {
			bus_unregister(bar_bus(d, n), d->bar[n].base);
			d->bar[n].mapped = false;
		}
}

static int plug(struct pci_host *h, struct pci_device *d, int slot,
                char *err, size_t errlen)
{
	int irq;

	for (int s = 2; slot < 0 && s < 32; s++)
		if (!h->fn[s << 3])
			slot = s;
	if (slot < 0 || slot > 31 || h->fn[slot << 3]) {
		snprintf(err, errlen, "no free PCI slot");
		return -1;
	}
	if (place_bars(h, d, err, errlen) < 0)
		return -1;
	d->host = h;
	d->devfn = slot << 3;
	h->fn[d->devfn] = d;
	irq = route(h, pirq_of(d));
	if (d->config[PCI_INTERRUPT_PIN])
		d->config[PCI_INTERRUPT_LINE] = irq >= 0 ? (uint8_t)irq : 0xFF;
	bars_update(d);
	for (int n = 0; n < PCI_NUM_BARS; n++)
		if (d->bar[n].size && !d->bar[n].mapped) {
			snprintf(err, errlen, "BAR%d at 0x%" PRIx32 " is taken", n,
			         cfg32(d, PCI_BAR0 + 4 * n) & ~15u);
			unmap_all(d);
			h->fn[d->devfn] = NULL;
			d->devfn = -1;
			d->host = NULL;
			return -1;
		}
	return 0;
}

int pci_host_add(struct pci_host *h, struct pci_device *d, int slot,
                 char *err, size_t errlen)
{
	int r;

	pthread_mutex_lock(&h->lock);
	r = plug(h, d, slot, err, errlen);
	pthread_mutex_unlock(&h->lock);
	return r;
}

void pci_host_remove(struct pci_host *h, struct pci_device *d)
{
	pthread_mutex_lock(&h->lock);
	unmap_all(d);
	d->intx = false;
	pirq_sync(h);
	if (d->devfn >= 0)
		h->fn[d->devfn] = NULL;
	d->devfn = -1;
	d->host = NULL;
	pthread_mutex_unlock(&h->lock);
}

/* --- platform glue -------------------------------------------------------- */

/* Mark the ISA lines PIRQs are routed to as level-triggered in the ELCR
 * (0x4D0/0x4D1, the PIC's), as the BIOS does; no BIOS runs here. */
static void elcr_preset(struct platform_env *env, struct pci_host *h)
{
	uint16_t level = 0;
	uint64_t v;

	for (int p = 0; p < 4; p++) {
		int irq = pci_host_pirq_irq(h, p);

		if (irq >= 0)
			level |= (uint16_t)(1u << irq);
	}
	for (unsigned i = 0; i < 2; i++) {
		if (bus_read(env->io, 0x4D0 + i, 1, &v) != BUS_OK)
			continue;
		bus_write(env->io, 0x4D0 + i, 1, v | (level >> (8 * i) & 0xFF));
	}
}

void *pci_attach(struct platform_env *env)
{
	struct pci_host *h;

	if (!env->set_irq) {
		snprintf(env->err, sizeof(env->err), "needs the PIC first");
		return NULL;
	}
	h = pci_host_new(env->io, env->mmio, env->set_irq, env->irqctx);
	if (!h)
		return NULL;
	if (platform_claim(env, PCI_CONFIG_ADDR, 4, pci_addr_read,
	                   pci_addr_write, h) < 0 ||
	    platform_claim(env, PCI_CONFIG_DATA, 4, pci_data_read,
	                   pci_data_write, h) < 0) {
		pci_host_free(h);
		return NULL;
	}
	elcr_preset(env, h);
	env->pci = h;
	return h;
}

void pci_detach(void *dev)
{
	pci_host_free(dev);
}
