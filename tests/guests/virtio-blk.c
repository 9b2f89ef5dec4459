/*
 * virtio-blk.c — the virtio block device driven by a minimal legacy
 * driver (virtio-drv.h), against an image the host script made and checks
 * afterwards.  Three runs, chosen on the command line:
 *
 *   (default)  reads (one by interrupt through the 8259A, one by polling
 *              the used ring with interrupts suppressed, one into split
 *              buffers, four in flight at once), a write of sectors
 *              100..107 through two buffers, flush, GET_ID, a read past
 *              the end (IOERR) and an unknown request type (UNSUPP).
 *              Prints "hash S N XXXXXXXX" (FNV-1a of sectors S..S+N-1)
 *              for the host to compare with the image.
 *   ro=1       (--disk IMG,ro) the RO feature, a write refused with
 *              IOERR, reads and flush still fine.
 *   bad=1      malformed rings: buffers outside RAM, a length that runs
 *              off the end of the address space, a descriptor loop,
 *              descriptor and head indexes past the queue, an avail index
 *              that jumps a queue ahead.  Each must leave the request
 *              uncompleted and the device working again after a reset.
 *
 * popek=1 adds what is specific to popek's device: DEVICE_NEEDS_RESET in
 * the status register after a bad ring (a legacy device need not say),
 * and buffers outside RAM: above 4 GiB, in the PCI hole, straddling the
 * exact end of RAM (QEMU completes these: it serves non-RAM addresses
 * through a bounce buffer and truncates wide ones).
 */
#include "virtio-drv.h"

static uint8_t buf[8192] __attribute__((aligned(512)));
static uint8_t buf2[8192] __attribute__((aligned(512)));
static uint8_t split_a[1024] __attribute__((aligned(512)));
static uint8_t split_b[3072] __attribute__((aligned(512)));
static struct vblk d;

static uint8_t pattern(uint32_t sector, uint32_t i)
{
	return (uint8_t)(sector * 31 + i * 7 + 1);
}

static void print_hash(uint32_t sector, uint32_t count, const uint8_t *p)
{
	printf("hash %u %u %08x\n", sector, count, fnv1a(p, count * 512));
}

/* --- the default run ---------------------------------------------------------- */

static void reads(void)
{
	uint32_t irqs = dev_irqs;
	uint16_t before;

	check(vblk_io(&d, VBLK_T_IN, 5, buf, 512, true) == 0, "read-by-interrupt");
	/* The wait ends on the used index, which may move a little before
	 * the interrupt arrives. */
	for (uint32_t t0 = ticks; dev_irqs == irqs && ticks - t0 < 500;)
		__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
	check(dev_irqs > irqs && (dev_isr_bits & 1), "interrupt-delivered-isr-bit0");
	print_hash(5, 1, buf);

	before = vblk_used_idx(&d);                 /* split buffers */
	vblk_hdrs[0] = (struct blk_hdr){ .type = VBLK_T_IN, .sector = 8 };
	vblk_status[0] = 0xEE;
	vblk_desc(&d, 0, &vblk_hdrs[0], 16, D_NEXT, 1);
	vblk_desc(&d, 1, split_a, sizeof(split_a), D_NEXT | D_WRITE, 7);
	vblk_desc(&d, 7, split_b, sizeof(split_b), D_NEXT | D_WRITE, 2);
	vblk_desc(&d, 2, &vblk_status[0], 1, D_WRITE, 0);
	vblk_post(&d, 0, true);
	wait_change(&d.used[1], before, 2000);
	check(vblk_used_idx(&d) == (uint16_t)(before + 1) && vblk_status[0] == 0,
	      "read-into-split-buffers");
	memcpy(buf, split_a, sizeof(split_a));
	memcpy(buf + sizeof(split_a), split_b, sizeof(split_b));
	print_hash(8, 8, buf);

	/* Polled, no interrupt.  The last request's interrupt may still be
	 * pending (we woke on the used index, not on it): acknowledge it. */
	(void)inb(d.base + VIO_ISR);
	irqs = dev_irqs;
	d.avail[0] = 1;                             /* VRING_AVAIL_F_NO_INTERRUPT */
	check(vblk_io(&d, VBLK_T_IN, 0, buf, 512, false) == 0, "read-by-polling");
	check(inb(d.base + VIO_ISR) == 0, "no-isr-when-interrupt-suppressed");
	__asm__ volatile("sti\n\tnop\n\tnop\n\tcli");
	check(dev_irqs == irqs, "no-interrupt-when-suppressed");
	d.avail[0] = 0;
	print_hash(0, 1, buf);
}

static void writes(void)
{
	uint16_t before = vblk_used_idx(&d);
	bool same = true;

	for (uint32_t i = 0; i < 4096; i++)
		buf[i] = pattern(100 + i / 512, i % 512);
	vblk_hdrs[0] = (struct blk_hdr){ .type = VBLK_T_OUT, .sector = 100 };
	vblk_status[0] = 0xEE;
	vblk_desc(&d, 0, &vblk_hdrs[0], 16, D_NEXT, 1);
	vblk_desc(&d, 1, buf, 1536, D_NEXT, 3);
	vblk_desc(&d, 3, buf + 1536, 2560, D_NEXT, 2);
	vblk_desc(&d, 2, &vblk_status[0], 1, D_WRITE, 0);
	vblk_post(&d, 0, true);
	wait_change(&d.used[1], before, 2000);
	check(vblk_used_idx(&d) == (uint16_t)(before + 1) && vblk_status[0] == 0,
	      "write-two-buffers");
	check(vblk_io(&d, VBLK_T_FLUSH, 0, NULL, 0, true) == 0, "flush");
	memset(buf2, 0, 4096);
	check(vblk_io(&d, VBLK_T_IN, 100, buf2, 4096, true) == 0, "read-back");
	for (uint32_t i = 0; i < 4096; i++)
		same &= buf2[i] == pattern(100 + i / 512, i % 512);
	check(same, "read-back-matches-pattern");
}

static void batch(void)
{
	uint16_t before = vblk_used_idx(&d);
	uint32_t t0 = ticks;
	bool ok = true;

	check(vblk_io(&d, VBLK_T_IN, 20, buf2, 2048, true) == 0, "read-20-23");
	for (unsigned s = 1; s <= 4; s++)
		vblk_post(&d, vblk_chain(&d, s, VBLK_T_IN, 19 + s,
		                         buf + 512 * (s - 1), 512), false);
	before = vblk_used_idx(&d);
	outw(0, d.base + VIO_QUEUE_NOTIFY);
	while (vblk_used_idx(&d) != (uint16_t)(before + 4) && ticks - t0 < 2000)
		__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
	for (unsigned s = 1; s <= 4; s++)
		ok &= vblk_status[s] == 0;
	check(vblk_used_idx(&d) == (uint16_t)(before + 4) && ok, "four-in-flight");
	check(memcmp(buf, buf2, 2048) == 0, "four-in-flight-data");
}

static void odd_requests(void)
{
	char id[21];                  /* 20 bytes, not NUL-terminated if full */

	memset(buf, 0, 32);
	check(vblk_io(&d, VBLK_T_GET_ID, 0, buf, 20, true) == 0, "get-id");
	memcpy(id, buf, 20);
	id[20] = 0;
	printf("id '%s'\n", id);
	check(vblk_io(&d, VBLK_T_IN, d.capacity, buf, 512, true) == 1,
	      "read-past-end-ioerr");
	check(vblk_io(&d, 0x55, 0, buf, 512, true) == 2, "unknown-type-unsupp");
}

/* --- ro=1 ----------------------------------------------------------------------- */

static void read_only(void)
{
	check(d.features & VBLK_F_RO, "ro-feature-offered");
	memset(buf, 0xAB, 512);
	check(vblk_io(&d, VBLK_T_OUT, 3, buf, 512, true) == 1, "write-refused-ioerr");
	check(vblk_io(&d, VBLK_T_IN, 3, buf, 512, true) == 0, "read-still-works");
	print_hash(3, 1, buf);
	check(vblk_io(&d, VBLK_T_FLUSH, 0, NULL, 0, true) == 0, "flush-ok");
}

/* --- bad=1 ---------------------------------------------------------------------- */

static void expect_stopped(const char *what, bool popek)
{
	uint16_t before = vblk_used_idx(&d);
	char name[64];
	bool done;

	memcpy(name, what, strlen(what));
	if (popek) {   /* the worker says so once it has looked at the ring */
		uint32_t t0 = ticks;

		while (!(vblk_dev_status(&d) & VIO_S_NEEDS_RESET) &&
		       ticks - t0 < 2000)
			__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
		memcpy(name + strlen(what), "-needs-reset", 13);
		check(vblk_dev_status(&d) & VIO_S_NEEDS_RESET, name);
	}
	done = wait_change(&d.used[1], before, 200);
	memcpy(name + strlen(what), "-not-completed", 15);
	check(!done, name);
	vblk_start(&d);
	memcpy(name + strlen(what), "-reset-recovers", 16);
	check(vblk_io(&d, VBLK_T_IN, 1, buf, 512, true) == 0, name);
}

static void bad_rings(bool popek, uint32_t ram_end)
{
	uint16_t h;

	if (popek) {   /* QEMU completes these: see the header */
		h = vblk_chain(&d, 0, VBLK_T_IN, 0, buf, 512);
		d.desc[1].addr = 0x1000000000ull;        /* 64 GiB */
		vblk_post(&d, h, true);
		expect_stopped("buffer-above-4g", popek);
		h = vblk_chain(&d, 0, VBLK_T_IN, 0, buf, 512);
		d.desc[1].addr = 0xF0000000;             /* the PCI hole */
		vblk_post(&d, h, true);
		expect_stopped("buffer-in-pci-hole", popek);
		h = vblk_chain(&d, 0, VBLK_T_OUT, 200, buf, 512);
		d.desc[1].addr = ram_end - 256;          /* straddles the end */
		vblk_post(&d, h, true);
		expect_stopped("buffer-straddles-ram-end", popek);
	}
	h = vblk_chain(&d, 0, VBLK_T_IN, 0, buf, 512);
	d.desc[1].addr = 0x200000;
	d.desc[1].len = 0xFFFFFE00;                  /* runs off the end */
	vblk_post(&d, h, true);
	expect_stopped("length-overflow", popek);
	h = vblk_chain(&d, 0, VBLK_T_IN, 0, buf, 512);
	d.desc[2].flags |= D_NEXT;                   /* status -> data -> ... */
	d.desc[2].next = 1;
	vblk_post(&d, h, true);
	expect_stopped("descriptor-loop", popek);
	h = vblk_chain(&d, 0, VBLK_T_IN, 0, buf, 512);
	d.desc[1].next = (uint16_t)d.n;              /* index past the queue */
	vblk_post(&d, h, true);
	expect_stopped("descriptor-index-out-of-range", popek);
	vblk_post(&d, (uint16_t)(d.n + 5), true);    /* head past the queue */
	expect_stopped("head-out-of-range", popek);
	d.avail_idx = (uint16_t)(d.avail_idx + d.n + 1);
	d.avail[1] = d.avail_idx;                    /* a queue and one ahead */
	outw(0, d.base + VIO_QUEUE_NOTIFY);
	expect_stopped("avail-index-jump", popek);
}

int guest_main(void)
{
	const struct multiboot_info *mbi = boot_info();
	bool popek = cmdline_int("popek", 0);

	if (!check(vblk_probe(&d), "device-found-and-started"))
		return finish();
	irq_setup(d.irq);
	printf("capacity %u sectors, features 0x%x, queue %u, irq %d\n",
	       d.capacity, d.features, d.n, d.irq);
	if (cmdline_int("bad", 0)) {
		bad_rings(popek, mbi ? (mbi->mem_upper + 1024) * 1024 : 0);
	} else if (cmdline_int("ro", 0)) {
		read_only();
	} else {
		reads();
		writes();
		batch();
		odd_requests();
	}
	return finish();
}
