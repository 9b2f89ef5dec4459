/*
 * virtio-drv.h — what the PCI and virtio test guests share (header-only,
 * each guest stays one .c file): PCI configuration mechanism #1, the
 * 8259A and IDT set up for the 16 ISA IRQs at vectors 0x20..0x2F with a
 * 1 kHz PIT tick (so that every wait is bounded), and a minimal legacy
 * virtio-pci block driver over one split queue.  Paging is off, so a
 * buffer's address is its guest-physical address.
 *
 * The driver does what Linux's virtio_pci_legacy + virtio_blk do at the
 * register level: reset, ACKNOWLEDGE | DRIVER, features, queue PFN,
 * DRIVER_OK; requests are header / data / status chains; a notify is
 * skipped while the device sets VRING_USED_F_NO_NOTIFY.  Single-threaded;
 * the interrupt handler only counts and reads ISR.
 */
#ifndef POPEK_GUEST_VIRTIO_DRV_H
#define POPEK_GUEST_VIRTIO_DRV_H

#include "lib.h"

/* --- PCI -------------------------------------------------------------------- */

static inline uint32_t pci_addr(int slot, int fn, int reg)
{
	return 0x80000000u | (uint32_t)slot << 11 | (uint32_t)fn << 8 |
	       (uint32_t)(reg & 0xFC);
}

static inline uint32_t pci_read32(int slot, int fn, int reg)
{
	outl(pci_addr(slot, fn, reg), 0xCF8);
	return inl(0xCFC);
}

static inline uint16_t pci_read16(int slot, int fn, int reg)
{
	outl(pci_addr(slot, fn, reg), 0xCF8);
	return inw((uint16_t)(0xCFC + (reg & 2)));
}

static inline uint8_t pci_read8(int slot, int fn, int reg)
{
	outl(pci_addr(slot, fn, reg), 0xCF8);
	return inb((uint16_t)(0xCFC + (reg & 3)));
}

static inline void pci_write32(int slot, int fn, int reg, uint32_t v)
{
	outl(pci_addr(slot, fn, reg), 0xCF8);
	outl(v, 0xCFC);
}

static inline void pci_write16(int slot, int fn, int reg, uint16_t v)
{
	outl(pci_addr(slot, fn, reg), 0xCF8);
	outw(v, (uint16_t)(0xCFC + (reg & 2)));
}

/* Visit every function present on bus 0 (functions 1-7 only of
 * multi-function devices) until visit returns non-zero; returns that, or
 * 0. */
static inline int pci_walk(int (*visit)(int slot, int fn, uint32_t id,
                                        void *ctx), void *ctx)
{
	for (int slot = 0; slot < 32; slot++)
		for (int fn = 0; fn < 8; fn++) {
			uint32_t id = pci_read32(slot, fn, 0);
			int r;

			if ((id & 0xFFFF) == 0xFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			if ((r = visit(slot, fn, id, ctx)) != 0)
				return r;
			if (fn == 0 && !(pci_read8(slot, 0, 0x0E) & 0x80))
				break;
		}
	return 0;
}

static inline int pci_match(int slot, int fn, uint32_t id, void *want)
{
	return id == *(uint32_t *)want ? 1 + (slot << 3 | fn) : 0;
}

/* slot << 3 | function of the first vendor:device on bus 0, or -1. */
static inline int pci_find(uint16_t vendor, uint16_t device)
{
	uint32_t want = (uint32_t)device << 16 | vendor;

	return pci_walk(pci_match, &want) - 1;
}

/* The ISA IRQ the PIIX3 routes a slot's pin (1..4) to, or -1. */
static inline int pci_routed_irq(int slot, int pin)
{
	uint8_t r = pci_read8(1, 0, 0x60 + ((slot + pin - 2) & 3));

	return r & 0x80 ? -1 : r & 0x0F;
}

/* --- interrupts: 8259A at 0x20/0x28, PIT at 1 kHz -------------------------- */

static uint64_t drv_gdt[3] __attribute__((aligned(8), unused)) = {
	0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull,
};
static uint64_t drv_idt[0x30] __attribute__((aligned(8), unused));
static volatile uint32_t ticks, dev_irqs, dev_isr_bits;
static int dev_irq = -1;
static uint16_t dev_isr_port;

void irq_stubs(void);
void irq_dispatch(uint32_t irq);
__asm__(".text\n.balign 8\n.globl irq_stubs\nirq_stubs:\n"
        ".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n\t"
        "pushl $\\n\n\tjmp irq_common\n\t.balign 8\n.endr\n"
        "irq_common:\n\tpushal\n\tcld\n\tpushl 32(%esp)\n\t"
        "call irq_dispatch\n\taddl $4, %esp\n\tpopal\n\taddl $4, %esp\n\t"
        "iret\n");

void irq_dispatch(uint32_t irq)
{
	if (irq == 0)
		ticks++;
	if ((int)irq == dev_irq && dev_isr_port) {
		uint8_t isr = inb(dev_isr_port);   /* acknowledges, drops INTx */

		dev_irqs++;
		dev_isr_bits |= isr;
	}
	if (irq >= 8)
		outb(0x20, 0xA0);
	outb(0x20, 0x20);
}

/* Tables, PIC (only IRQ 0, the cascade and `irq` unmasked), PIT. */
static inline void irq_setup(int irq)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;
	uint8_t mask = 0xFF, smask = 0xFF;

	r.limit = sizeof(drv_gdt) - 1;
	r.base = (uint32_t)(uintptr_t)drv_gdt;
	__asm__ volatile("lgdt %0\n\tljmp $0x08, $1f\n1:\tmovl $0x10, %%eax\n\t"
	                 "movl %%eax, %%ds\n\tmovl %%eax, %%es\n\tmovl %%eax, %%ss"
	                 : : "m"(r) : "eax", "memory");
	for (int v = 0; v < 16; v++) {
		uint32_t off = (uint32_t)(uintptr_t)irq_stubs + 8 * v;

		drv_idt[0x20 + v] = (off & 0xFFFF) | (0x08ull << 16) |
		                    (0x8Eull << 40) | ((uint64_t)(off >> 16) << 48);
	}
	r.limit = sizeof(drv_idt) - 1;
	r.base = (uint32_t)(uintptr_t)drv_idt;
	__asm__ volatile("lidt %0" : : "m"(r));
	mask &= (uint8_t)~1u;
	if (irq >= 8) {
		mask &= (uint8_t)~4u;
		smask &= (uint8_t)~(1u << (irq - 8));
	} else if (irq >= 0) {
		mask &= (uint8_t)~(1u << irq);
	}
	dev_irq = irq;
	outb(0x11, 0x20); outb(0x11, 0xA0);
	outb(0x20, 0x21); outb(0x28, 0xA1);
	outb(0x04, 0x21); outb(0x02, 0xA1);
	outb(0x01, 0x21); outb(0x01, 0xA1);
	outb(mask, 0x21); outb(smask, 0xA1);
	outb(0x34, 0x43);                 /* channel 0, mode 2, 1193 = 1 kHz */
	outb(1193 & 0xFF, 0x40);
	outb(1193 >> 8, 0x40);
}

/* Halt (interrupts on) until *p != old or `ms` ticks passed. */
static inline bool wait_change(volatile uint16_t *p, uint16_t old, uint32_t ms)
{
	uint32_t t0 = ticks;

	while (*p == old && ticks - t0 < ms)
		__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
	return *p != old;
}

/* Spin (interrupts off, no exits) until *p reaches want, or ~n polls. */
static inline bool poll_for(volatile uint16_t *p, uint16_t want, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (*p == want)
			return true;
		__asm__ volatile("pause" ::: "memory");
	}
	return *p == want;
}

/* --- legacy virtio-pci block driver ------------------------------------------ */

#define VIO_HOST_FEATURES  0x00
#define VIO_GUEST_FEATURES 0x04
#define VIO_QUEUE_PFN      0x08
#define VIO_QUEUE_NUM      0x0C
#define VIO_QUEUE_SEL      0x0E
#define VIO_QUEUE_NOTIFY   0x10
#define VIO_STATUS         0x12
#define VIO_ISR            0x13
#define VIO_CONFIG         0x14
#define VIO_S_NEEDS_RESET  0x40
#define VBLK_F_RO          (1u << 5)
#define VBLK_F_BLK_SIZE    (1u << 6)
#define VBLK_F_FLUSH       (1u << 9)
#define VBLK_T_IN    0
#define VBLK_T_OUT   1
#define VBLK_T_FLUSH 4
#define VBLK_T_GET_ID 8
#define D_NEXT  1
#define D_WRITE 2
#define VQ_MAX  256

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct blk_hdr {
	uint32_t type, ioprio;
	uint64_t sector;
};

struct vblk {
	int devfn;
	uint16_t base;
	int irq;
	unsigned n;
	uint32_t features;
	uint32_t capacity;              /* sectors (low 32 bits) */
	struct vq_desc *desc;
	volatile uint16_t *avail;       /* flags, idx, ring[n] */
	volatile uint16_t *used;        /* flags, idx, then {id, len} pairs */
	uint16_t avail_idx;
};

static uint8_t vq_mem[4 * 4096] __attribute__((aligned(4096), unused));
static struct blk_hdr vblk_hdrs[VQ_MAX / 3] __attribute__((unused));
static volatile uint8_t vblk_status[VQ_MAX / 3] __attribute__((unused));

static inline uint8_t vblk_dev_status(const struct vblk *d)
{
	return inb(d->base + VIO_STATUS);
}

/* Reset and bring the queue up (the device must be found already). */
static inline bool vblk_start(struct vblk *d)
{
	uint32_t avail_bytes;

	outb(0, d->base + VIO_STATUS);
	outb(1, d->base + VIO_STATUS);
	outb(3, d->base + VIO_STATUS);
	d->features = inl(d->base + VIO_HOST_FEATURES);
	outl(d->features & (VBLK_F_RO | VBLK_F_BLK_SIZE | VBLK_F_FLUSH),
	     d->base + VIO_GUEST_FEATURES);
	outw(0, d->base + VIO_QUEUE_SEL);
	d->n = inw(d->base + VIO_QUEUE_NUM);
	if (d->n == 0 || d->n > VQ_MAX)
		return false;
	memset(vq_mem, 0, sizeof(vq_mem));
	d->desc = (struct vq_desc *)vq_mem;
	d->avail = (volatile uint16_t *)(vq_mem + 16 * d->n);
	avail_bytes = 16 * d->n + 6 + 2 * d->n;
	d->used = (volatile uint16_t *)(vq_mem + ((avail_bytes + 4095) & ~4095u));
	d->avail_idx = 0;
	outl((uint32_t)(uintptr_t)vq_mem >> 12, d->base + VIO_QUEUE_PFN);
	outb(7, d->base + VIO_STATUS);
	d->capacity = inl(d->base + VIO_CONFIG);
	return true;
}

/* Find the device, enable I/O decoding and bus mastering, start it. */
static inline bool vblk_probe(struct vblk *d)
{
	int slot;

	d->devfn = pci_find(0x1AF4, 0x1001);
	if (d->devfn < 0)
		return false;
	slot = d->devfn >> 3;
	pci_write16(slot, d->devfn & 7, 0x04,
	            pci_read16(slot, d->devfn & 7, 0x04) | 0x5);
	d->base = (uint16_t)(pci_read32(slot, d->devfn & 7, 0x10) & ~3u);
	d->irq = pci_read8(slot, d->devfn & 7, 0x3C);
	dev_isr_port = d->base + VIO_ISR;
	return vblk_start(d);
}

static inline void vblk_desc(struct vblk *d, unsigned i, const volatile void *p,
                             uint32_t len, uint16_t flags, unsigned next)
{
	d->desc[i].addr = (uint32_t)(uintptr_t)p;
	d->desc[i].len = len;
	d->desc[i].flags = flags;
	d->desc[i].next = (uint16_t)next;
}

static inline uint16_t vblk_used_idx(const struct vblk *d)
{
	return d->used[1];
}

/* Make head available; notify unless the device said not to. */
static inline void vblk_post(struct vblk *d, uint16_t head, bool kick)
{
	d->avail[2 + d->avail_idx % d->n] = head;
	__asm__ volatile("" ::: "memory");   /* x86: stores stay in order */
	d->avail[1] = ++d->avail_idx;
	__asm__ volatile("mfence" ::: "memory");
	if (kick && !(d->used[0] & 1))
		outw(0, d->base + VIO_QUEUE_NOTIFY);
}

/* Chain a request in slot s (descriptors 3s..3s+2): header, data (none if
 * len is 0), status. */
static inline uint16_t vblk_chain(struct vblk *d, unsigned s, uint32_t type,
                                  uint32_t sector, volatile void *buf,
                                  uint32_t len)
{
	unsigned i = 3 * s;

	vblk_hdrs[s] = (struct blk_hdr){ .type = type, .sector = sector };
	vblk_status[s] = 0xEE;
	vblk_desc(d, i, &vblk_hdrs[s], sizeof(struct blk_hdr), D_NEXT,
	          len ? i + 1 : i + 2);
	vblk_desc(d, i + 1, buf, len,
	          D_NEXT | (type == VBLK_T_OUT ? 0 : D_WRITE), i + 2);
	vblk_desc(d, i + 2, &vblk_status[s], 1, D_WRITE, 0);
	return (uint16_t)i;
}

/* One request, waited for by interrupt (irq) or by polling the used ring;
 * its status byte, or 0xEE if it did not complete. */
static inline uint8_t vblk_io(struct vblk *d, uint32_t type, uint32_t sector,
                              volatile void *buf, uint32_t len, bool irq)
{
	uint16_t before = vblk_used_idx(d);

	vblk_post(d, vblk_chain(d, 0, type, sector, buf, len), true);
	if (irq)
		wait_change(&d->used[1], before, 2000);
	else
		poll_for(&d->used[1], (uint16_t)(before + 1), 400000000u);
	return vblk_used_idx(d) == (uint16_t)(before + 1) ? vblk_status[0] : 0xEE;
}

/* FNV-1a over a buffer: what the tests print for the host to compare. */
static inline uint32_t fnv1a(const volatile uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

#endif
