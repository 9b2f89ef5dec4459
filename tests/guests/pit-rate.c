/*
 * pit-rate.c — IRQ0 comes at the rate programmed into the 8254, measured
 * against host time.
 *
 * Channel 0 runs in mode 2 with divisor 1193182 / hz (1193 for the
 * default 1 kHz), the 8259A pair is remapped to 0x20/0x28 with IRQ0, the
 * cascade and IRQ8 unmasked, and the MC146818's update-ended interrupt
 * (IRQ8, once a second) marks seconds of host time.  The guest halts
 * between interrupts and counts IRQ0 from one update to the update secs
 * seconds later: hz * secs expected, within 2 %.  (The RTC rather than
 * RDTSC calibrated by PIT channel 2: under a software-emulated host the
 * TSC and the host clocks drift apart, while the PIT and the RTC both
 * follow the host's clock.)
 *
 * Command line: hz=N (default 1000), secs=N (default 1).  With idle=1 the
 * guest leaves the RTC alone and only halts until hz * secs ticks have
 * come: tests/guests/pit-rate.sh times that run to check that a halted
 * guest costs the host no CPU.
 */
#include "lib.h"

#define VEC_TIMER 0x20
#define VEC_RTC   0x28          /* slave IR0: IRQ8 */
#define PIT_HZ    1193182u
#define MAX_SECS  10

static uint64_t idt[VEC_RTC + 1] __attribute__((aligned(8)));
static volatile uint32_t ticks, updates;
static volatile uint32_t ticks_at[MAX_SECS + 2];

void timer_entry(void);
__asm__(".globl timer_entry\ntimer_entry:\n\t"
        "incl ticks\n\t"
        "pushl %eax\n\t"
        "movb $0x20, %al\n\t"
        "outb %al, $0x20\n\t"   /* non-specific EOI */
        "popl %eax\n\t"
        "iret\n");

static uint8_t cmos_read(uint8_t reg)
{
	outb(reg, 0x70);
	return inb(0x71);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
	outb(reg, 0x70);
	outb(v, 0x71);
}

void rtc_entry(void);
void rtc_isr(void);
__asm__(".globl rtc_entry\nrtc_entry:\n\tpushal\n\tcld\n\t"
        "call rtc_isr\n\tpopal\n\tiret\n");

void rtc_isr(void)
{
	/* Reading C acknowledges; UF says a second ended. */
	if ((cmos_read(0x0C) & 0x10) && updates < MAX_SECS + 2)
		ticks_at[updates++] = ticks;
	outb(0x20, 0xA0);
	outb(0x20, 0x20);
}

static void setup(void)
{
	flat_tables(idt, sizeof(idt));
	idt[VEC_TIMER] = int_gate32(timer_entry);
	idt[VEC_RTC] = int_gate32(rtc_entry);
	pic_init(0xFA, 0xFE);          /* IRQ0, IRQ2 (cascade), IRQ8 */
}

static void pit0_periodic(uint32_t hz)
{
	uint32_t div = (PIT_HZ + hz / 2) / hz;

	outb(0x34, 0x43);               /* channel 0, lo/hi, mode 2, binary */
	outb((uint8_t)div, 0x40);
	outb((uint8_t)(div >> 8), 0x40);
}

static void halt(void)
{
	__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
}

/* Halt until `n` RTC updates were counted, or far too many ticks came
 * (no update interrupts): false then. */
static bool wait_updates(uint32_t n, uint32_t hz)
{
	uint32_t start = ticks;

	while (updates < n)
		if (ticks - start > hz * 3)
			return false;
		else
			halt();
	return true;
}

static int idle_run(uint32_t want)
{
	uint32_t start;

	printf("pit-rate: halting for %u ticks\n", want);
	start = ticks;
	while (ticks - start < want)
		halt();
	printf("pit-rate: %u ticks while halted\n", ticks - start);
	return finish();
}

int guest_main(void)
{
	int hz = cmdline_int("hz", 1000), secs = cmdline_int("secs", 1);
	uint32_t n, want, slack;
	bool rtc_ok;

	if (hz < 19 || hz > 10000 || secs < 1 || secs > MAX_SECS) {
		printf("pit-rate: bad hz=%d or secs=%d\n", hz, secs);
		return 2;
	}
	setup();
	pit0_periodic((uint32_t)hz);
	want = (uint32_t)hz * (uint32_t)secs;
	if (cmdline_int("idle", 0))
		return idle_run(want);
	cmos_write(0x0B, (uint8_t)(cmos_read(0x0B) | 0x10));   /* UIE */
	(void)cmos_read(0x0C);
	/* The first update starts the count, the next secs ones end it. */
	rtc_ok = wait_updates(1 + (uint32_t)secs, (uint32_t)hz);
	cmos_write(0x0B, (uint8_t)(cmos_read(0x0B) & ~0x10));
	outb(0x30, 0x43);               /* channel 0 to mode 0: no more edges */
	check(rtc_ok, "rtc-update-interrupts-mark-seconds");
	if (!rtc_ok)
		return finish();
	n = ticks_at[secs] - ticks_at[0];
	slack = want / 50;              /* 2 % */
	printf("pit-rate: %u IRQ0 in %d s of RTC updates at %d Hz "
	       "(want %u..%u)\n", n, secs, hz, want - slack, want + slack);
	check(n >= want - slack && n <= want + slack, "irq0-rate-within-2-percent");
	return finish();
}
