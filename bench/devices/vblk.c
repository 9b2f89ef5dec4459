/*
 * vblk.c — bench guest: sequential virtio-blk throughput.  Reads the whole
 * disk, then writes it (and flushes), in requests of REQ bytes with QD of
 * them in flight, the way a block layer with plugging would; each pass
 * once completing by polling the used ring (interrupts suppressed) and
 * once by interrupt.  Time comes from the TSC, calibrated against the
 * PIT's channel 0 (read latched, no interrupts).  Prints one line a pass:
 *
 *     vblk <read|write>-<poll|irq> <MiB> MiB <tenths of MB/s>
 *
 * Command line: passes=read (skip the writes).  bench/devices/vblk-run
 * runs it beside the host reading and writing the same file.
 */
#include "../../tests/guests/virtio-drv.h"

#define REQ (128 * 1024)
#define QD 8

static uint8_t bufs[QD][REQ] __attribute__((aligned(4096)));
static struct vblk d;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static uint16_t pit_count(void)
{
	uint8_t lo, hi;

	outb(0x00, 0x43);                    /* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return (uint16_t)(hi << 8 | lo);
}

/* TSC ticks per second over 200 ms of PIT time (1193182 Hz). */
static uint64_t tsc_hz(void)
{
	uint32_t elapsed = 0;
	uint16_t last, now;
	uint64_t t0;

	outb(0x34, 0x43);                    /* mode 2, reload 65536 */
	outb(0, 0x40);
	outb(0, 0x40);
	last = pit_count();
	t0 = rdtsc();
	while (elapsed < 1193182 / 5) {
		now = pit_count();
		elapsed += (uint16_t)(last - now);
		last = now;
	}
	return (rdtsc() - t0) * 1193182ull / elapsed;
}

static uint32_t used_id(unsigned i)
{
	return ((volatile uint32_t *)(d.used + 2))[2 * (i % d.n)];
}

/* One pass over the disk; returns the TSC ticks it took, 0 on an error. */
static uint64_t pass(uint32_t type, uint32_t sectors, bool irq)
{
	uint32_t per = REQ / 512, nreq = sectors / per, next = 0, done = 0;
	uint16_t seen = vblk_used_idx(&d);
	uint8_t busy = 0;
	uint64_t t0 = rdtsc();

	d.avail[0] = irq ? 0 : 1;            /* NO_INTERRUPT when polling */
	while (done < nreq) {
		for (unsigned s = 0; s < QD && next < nreq; s++) {
			if (busy & (1u << s))
				continue;
			busy |= (uint8_t)(1u << s);
			vblk_post(&d, vblk_chain(&d, s, type, next * per, bufs[s], REQ),
			          false);
			next++;
		}
		if (!(d.used[0] & 1))
			outw(0, d.base + VIO_QUEUE_NOTIFY);
		if (irq)
			wait_change(&d.used[1], seen, 5000);
		else
			while (d.used[1] == seen)
				__asm__ volatile("pause" ::: "memory");
		if (d.used[1] == seen)
			return 0;                    /* nothing in 5 s */
		for (; seen != d.used[1]; seen++, done++) {
			unsigned s = used_id(seen) / 3;

			if (s >= QD || vblk_status[s] != 0)
				return 0;
			busy &= (uint8_t)~(1u << s);
		}
	}
	if (type == VBLK_T_OUT &&
	    vblk_io(&d, VBLK_T_FLUSH, 0, NULL, 0, irq) != 0)
		return 0;
	return rdtsc() - t0;
}

static void report(const char *name, uint32_t sectors, uint64_t ticks,
                   uint64_t hz)
{
	uint64_t bytes = (uint64_t)sectors * 512;

	if (!ticks) {
		printf("vblk %s failed\n", name);
		return;
	}
	printf("vblk %s %u MiB %u\n", name, (uint32_t)(bytes >> 20),
	       (uint32_t)(bytes * 10 * hz / ticks / 1000000));
}

int guest_main(void)
{
	const char *passes = cmdline_get("passes");
	bool writes = !passes || strcmp(passes, "read") != 0;
	uint64_t hz;
	uint32_t sectors;

	if (!vblk_probe(&d)) {
		printf("vblk: no virtio block device\n");
		return 1;
	}
	hz = tsc_hz();
	irq_setup(d.irq);
	sectors = d.capacity - d.capacity % (REQ / 512);
	printf("vblk tsc_hz %u disk %u sectors queue %u\n", (uint32_t)hz,
	       d.capacity, d.n);
	report("read-poll", sectors, pass(VBLK_T_IN, sectors, false), hz);
	report("read-irq", sectors, pass(VBLK_T_IN, sectors, true), hz);
	if (writes) {
		report("write-poll", sectors, pass(VBLK_T_OUT, sectors, false), hz);
		report("write-irq", sectors, pass(VBLK_T_OUT, sectors, true), hz);
	}
	return 0;
}
