/*
 * rtc.c — the MC146818 RTC as a guest sees it:
 *   - the date and time, read as a BIOS or Linux does (wait for UIP to
 *     clear, read twice until stable, BCD or binary and 12/24 h per
 *     register B), printed as "rtc: epoch N ..." for the shell test to
 *     compare with the host clock;
 *   - UIP goes up before the seconds change;
 *   - the CMOS memory-size bytes, printed for the test to compare with -m;
 *   - IRQ8 through the remapped 8259A pair (slave IR0, vector 0x28): the
 *     periodic interrupt at 1024 Hz (rate 6) counted between two
 *     update-ended interrupts, that is over one second of the RTC's own
 *     clock, and the alarm interrupt with "don't care" in all three alarm
 *     registers, once per update.
 * Runs under QEMU too (-rtc base=utc).
 */
#include "lib.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define VEC_RTC    0x28
#define REG_A 0x0A
#define REG_B 0x0B
#define REG_C 0x0C
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM  0x04
#define B_24H 0x02
#define C_PF  0x40
#define C_AF  0x20
#define C_UF  0x10

static uint64_t idt[64] __attribute__((aligned(8)));
static volatile uint32_t pf, uf, af, irqs;
static volatile uint32_t pf_at_uf[4];

static uint8_t cmos(uint8_t reg)
{
	outb(reg, CMOS_INDEX);
	return inb(CMOS_DATA);
}

static void cmos_set(uint8_t reg, uint8_t v)
{
	outb(reg, CMOS_INDEX);
	outb(v, CMOS_DATA);
}

void rtc_entry(void);
void rtc_isr(void);
__asm__(".globl rtc_entry\nrtc_entry:\n\tpushal\n\tcld\n\t"
        "call rtc_isr\n\tpopal\n\tiret\n");

void rtc_isr(void)
{
	uint8_t c = cmos(REG_C);

	irqs++;
	if (c & C_PF)
		pf++;
	if (c & C_AF)
		af++;
	if (c & C_UF) {
		if (uf < 4)
			pf_at_uf[uf] = pf;
		uf++;
	}
	outb(0x20, 0xA0);   /* non-specific EOI: slave, then master */
	outb(0x20, 0x20);
}

static void setup(void)
{
	flat_tables(idt, sizeof(idt));
	idt[VEC_RTC] = int_gate32(rtc_entry);
	/* Only the cascade (IRQ2) and IRQ8 unmasked. */
	pic_init(0xFB, 0xFE);
}

static int from_bcd(uint8_t b, uint8_t regb)
{
	return (regb & B_DM) ? b : (b >> 4) * 10 + (b & 15);
}

struct date {
	int year, mon, day, hour, min, sec;
};

/* One consistent reading: UIP clear, then the same values twice. */
static void read_date(struct date *d)
{
	uint8_t v[7], w[7];
	static const uint8_t regs[7] = { 0x32, 9, 8, 7, 4, 2, 0 };

	do {
		while (cmos(REG_A) & 0x80)
			;
		for (int i = 0; i < 7; i++)
			v[i] = cmos(regs[i]);
		for (int i = 0; i < 7; i++)
			w[i] = cmos(regs[i]);
	} while (memcmp(v, w, sizeof(v)) != 0);

	uint8_t b = cmos(REG_B);
	int h = from_bcd(v[4] & 0x7F, b);

	if (!(b & B_24H))
		h = h % 12 + ((v[4] & 0x80) ? 12 : 0);
	d->year = from_bcd(v[0], b) * 100 + from_bcd(v[1], b);
	d->mon = from_bcd(v[2], b);
	d->day = from_bcd(v[3], b);
	d->hour = h;
	d->min = from_bcd(v[5], b);
	d->sec = from_bcd(v[6], b);
}

static uint32_t epoch(const struct date *d)
{
	int y = d->year - (d->mon <= 2);
	int era = y / 400, yoe = y - era * 400;
	int doy = (153 * (d->mon + (d->mon > 2 ? -3 : 9)) + 2) / 5 + d->day - 1;
	uint32_t days = (uint32_t)(era * 146097 + yoe * 365 + yoe / 4 -
	                           yoe / 100 + doy - 719468);

	return days * 86400u + (uint32_t)(d->hour * 3600 + d->min * 60 + d->sec);
}

static void check_date(void)
{
	struct date d;

	read_date(&d);
	printf("rtc: epoch %u (%d-%02d-%02d %02d:%02d:%02d UTC)\n", epoch(&d),
	       d.year, d.mon, d.day, d.hour, d.min, d.sec);
	check(d.year >= 2024 && d.mon >= 1 && d.mon <= 12 && d.day >= 1 &&
	      d.day <= 31 && d.hour < 24 && d.min < 60 && d.sec < 60,
	      "date-plausible");
	check((cmos(0x0D) & 0x80) != 0, "register-d-vrt");
}

/* Poll register A for up to six seconds of RTC time: UIP must go up,
 * and when it falls again the seconds have moved on. */
static void check_uip(void)
{
	uint8_t s0, seen = 0, after = 0;
	int changes = 0;

	/* Clear C first: QEMU stops its update timer, and with it UIP,
	 * while UF and AF sit unread. */
	cmos(REG_C);
	s0 = cmos(0);
	while (changes < 6 && !seen) {   /* a loaded host may miss a few */
		uint8_t s = cmos(0);

		if (s != s0) {
			changes++;
			s0 = s;
		}
		if (cmos(REG_A) & 0x80) {
			seen = 1;
			while (cmos(REG_A) & 0x80)
				;
			after = cmos(0);
		}
	}
	check(seen, "uip-seen");
	check(seen && after != s0, "uip-precedes-update");
}

static void show_memory(void)
{
	printf("rtc: cmos base %u ext %u %u high %u\n",
	       cmos(0x15) | cmos(0x16) << 8, cmos(0x17) | cmos(0x18) << 8,
	       cmos(0x30) | cmos(0x31) << 8, cmos(0x34) | cmos(0x35) << 8);
}

static void check_interrupts(void)
{
	uint8_t b = cmos(REG_B) & (B_DM | B_24H);
	uint32_t spins = 0;

	cmos_set(1, 0xFF);          /* alarm: any second, minute, hour */
	cmos_set(3, 0xFF);
	cmos_set(5, 0xFF);
	cmos_set(REG_A, 0x26);      /* 32.768 kHz, rate 6: 1024 Hz */
	cmos(REG_C);
	cmos_set(REG_B, b | B_PIE | B_AIE | B_UIE);
	while (uf < 3 && spins++ < 20000)
		__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
	cmos_set(REG_B, b);
	cmos(REG_C);

	uint32_t per_s = pf_at_uf[2] - pf_at_uf[1];

	printf("rtc: %u periodic interrupts in the second between two "
	       "updates (1024 expected), %u updates, %u alarms, %u irqs\n",
	       per_s, uf, af, irqs);
	check(uf >= 3, "update-interrupts");
	check(af == uf, "alarm-dont-care-every-update");
	check(per_s >= 512 && per_s <= 1026, "periodic-1024hz");
}

int guest_main(void)
{
	setup();
	check_date();
	check_uip();
	show_memory();
	check_interrupts();
	return finish();
}
