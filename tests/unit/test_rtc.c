/*
 * test_rtc.c — register-level unit tests of the MC146818 model
 * (devices/rtc.c).
 *
 * Every test drives the RTC through ports 0x70/0x71 as a guest would, at
 * chosen wall-clock times: T is 2026-11-23 22:59:30.250 UTC, a Monday.
 * Expected register values are written out by hand from the calendar,
 * not computed by the model's own arithmetic.  The last test runs the
 * RTC as the platform attaches it: its timer thread, the CMOS memory size
 * from the monitor's hooks, and IRQ8 through the slave 8259A.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <time.h>

#include "devices/bus.h"
#include "devices/devices.h"
#include "devices/rtc.h"

#define S   1000000000ull
#define MS  1000000ull
#define T_S 1795474770ull               /* 2026-11-23 22:59:30 UTC */
#define T   (T_S * S + 250 * MS)
#define MIB (1ull << 20)

static struct rtc *rtc;

static void setup(void)
{
	rtc = rtc_new(128 * MIB, T);
	cr_assert_not_null(rtc);
}

static void teardown(void)
{
	rtc_free(rtc);
}

TestSuite(rtc, .init = setup, .fini = teardown);

static uint8_t rd(unsigned reg, uint64_t now)
{
	rtc_write(rtc, 0, (uint8_t)reg, now);
	return rtc_read(rtc, 1, now);
}

static void wr(unsigned reg, uint8_t v, uint64_t now)
{
	rtc_write(rtc, 0, (uint8_t)reg, now);
	rtc_write(rtc, 1, v, now);
}

/* sec min hour wday mday mon year century, in one go. */
static void expect_time(uint64_t now, const uint8_t want[8])
{
	static const unsigned regs[8] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };

	for (int i = 0; i < 8; i++)
		cr_expect_eq(rd(regs[i], now), want[i],
		             "reg 0x%02x: 0x%02x, want 0x%02x", regs[i],
		             rd(regs[i], now), want[i]);
}

Test(rtc, power_on_reads_host_time_in_bcd_24h)
{
	expect_time(T, (uint8_t[]){ 0x30, 0x59, 0x22, 0x02, 0x23, 0x11,
	                            0x26, 0x20 });
	cr_expect_eq(rd(0x0A, T), 0x26);
	cr_expect_eq(rd(0x0B, T), 0x02);
	cr_expect_eq(rd(0x0C, T), 0x00);
	cr_expect_eq(rd(0x0D, T), 0x80);
	cr_expect_not(rtc_irq(rtc));
	/* 30.5 s later the minute has turned. */
	expect_time(T + 30 * S + 500 * MS,
	            (uint8_t[]){ 0x00, 0x00, 0x23, 0x02, 0x23, 0x11, 0x26,
	                         0x20 });
}

Test(rtc, binary_and_12_hour_modes)
{
	wr(0x0B, RTC_B_DM | RTC_B_24H, T);
	expect_time(T, (uint8_t[]){ 30, 59, 22, 2, 23, 11, 26, 20 });
	wr(0x0B, RTC_B_DM, T);                       /* binary, 12 h */
	cr_expect_eq(rd(4, T), 0x80 | 10);           /* 10 PM */
	wr(0x0B, 0, T);                              /* BCD, 12 h */
	cr_expect_eq(rd(4, T), 0x90);
	/* 1 h 30 s later: 00:00:00 is 12 AM, the next day (Tuesday). */
	cr_expect_eq(rd(4, T + 3600 * S + 30 * S), 0x12);
	cr_expect_eq(rd(6, T + 3600 * S + 30 * S), 0x03);
	cr_expect_eq(rd(7, T + 3600 * S + 30 * S), 0x24);
	/* Noon is 12 PM. */
	cr_expect_eq(rd(4, T + 13 * 3600 * S + 30 * S), 0x92);
}

Test(rtc, uip_in_the_244us_before_each_update)
{
	uint64_t next = (T_S + 1) * S;

	cr_expect_eq(rd(0x0A, next - RTC_UIP_NS - 1) & RTC_A_UIP, 0);
	cr_expect_eq(rd(0x0A, next - RTC_UIP_NS) & RTC_A_UIP, RTC_A_UIP);
	cr_expect_eq(rd(0x0A, next - 1) & RTC_A_UIP, RTC_A_UIP);
	cr_expect_eq(rd(0, next - 1), 0x30);
	cr_expect_eq(rd(0x0A, next) & RTC_A_UIP, 0);
	cr_expect_eq(rd(0, next), 0x31);
	/* Held by SET: no update, no UIP. */
	wr(0x0B, RTC_B_SET | RTC_B_24H, next);
	cr_expect_eq(rd(0x0A, next + S - 1) & RTC_A_UIP, 0);
}

Test(rtc, set_freezes_and_writes_set_the_time)
{
	wr(0x0B, RTC_B_SET | RTC_B_24H, T);
	cr_expect_eq(rd(0, T + 5 * S), 0x30, "frozen while SET");
	/* 1999-12-31 23:59:58 */
	wr(0, 0x58, T + 5 * S); wr(2, 0x59, T + 5 * S); wr(4, 0x23, T + 5 * S);
	wr(7, 0x31, T + 5 * S); wr(8, 0x12, T + 5 * S); wr(9, 0x99, T + 5 * S);
	wr(0x32, 0x19, T + 5 * S);
	cr_expect_eq(rd(9, T + 6 * S), 0x99, "reads back what was written");
	wr(0x0B, RTC_B_24H, T + 10 * S);             /* release at .250 */
	cr_expect_eq(rd(0, T + 10 * S), 0x58);
	/* The divider's phase is kept: the update is still at .000. */
	cr_expect_eq(rd(0, T + 10 * S + 749 * MS), 0x58);
	expect_time(T + 11 * S + 750 * MS,
	            (uint8_t[]){ 0x00, 0x00, 0x00, 0x07, 0x01, 0x01, 0x00,
	                         0x20 });
}

Test(rtc, set_clears_uie)
{
	wr(0x0B, RTC_B_SET | RTC_B_UIE | RTC_B_24H, T);
	cr_expect_eq(rd(0x0B, T), RTC_B_SET | RTC_B_24H);
}

Test(rtc, write_while_running_moves_the_clock)
{
	wr(2, 0x15, T);                              /* minutes := 15 */
	cr_expect_eq(rd(2, T), 0x15);
	cr_expect_eq(rd(0, T), 0x30);
	cr_expect_eq(rd(0, T + 749 * MS), 0x30, "phase kept");
	cr_expect_eq(rd(0, T + 750 * MS), 0x31);
	cr_expect_eq(rd(4, T + 750 * MS), 0x22);
}

Test(rtc, divider_reset_holds_and_first_update_500ms_after)
{
	wr(0x0A, 0x70, T);                           /* divider in reset */
	cr_expect_eq(rd(0, T + 3 * S), 0x30);
	wr(0, 0x10, T + 3 * S);
	wr(0x0A, 0x26, T + 3 * S + 100 * MS);        /* release at .350 */
	cr_expect_eq(rd(0, T + 3 * S + 100 * MS + 499 * MS), 0x10);
	cr_expect_eq(rd(0, T + 3 * S + 100 * MS + 500 * MS), 0x11);
	cr_expect_eq(rd(0, T + 3 * S + 100 * MS + 1500 * MS), 0x12);
}

/* Count the IRQ8 edges in (from, to] by following rtc_next_event_ns,
 * acknowledging each by reading C as a handler does.  None may come
 * between two of its times. */
static int count_irqs(uint64_t from, uint64_t to, uint8_t *flags_seen)
{
	uint64_t now = from;
	int n = 0;

	rd(0x0C, from);
	for (;;) {
		uint64_t t = rtc_next_event_ns(rtc, now);

		if (t > to)
			return n;
		cr_assert_gt(t, now);
		rtc_advance(rtc, t - 1);
		cr_assert_not(rtc_irq(rtc), "no IRQ before the event");
		rtc_advance(rtc, t);
		now = t;
		if (!rtc_irq(rtc))
			continue;   /* AIE: a second without the alarm */
		*flags_seen |= rd(0x0C, t);
		cr_assert_not(rtc_irq(rtc), "reading C lowers IRQ8");
		n++;
	}
}

Test(rtc, periodic_rates)
{
	static const struct { uint8_t rs; int hz; } r[] = {
		{ 6, 1024 }, { 15, 2 }, { 3, 8192 }, { 1, 256 }, { 2, 128 },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		uint64_t from = (T_S + 10 * i) * S;
		uint8_t seen = 0;

		wr(0x0A, 0x20 | r[i].rs, from);
		wr(0x0B, RTC_B_PIE | RTC_B_24H, from);
		cr_expect_eq(count_irqs(from, from + S, &seen), r[i].hz,
		             "rate %u", r[i].rs);
		cr_expect_eq(seen & ~RTC_C_UF, RTC_C_IRQF | RTC_C_PF);
	}
}

Test(rtc, periodic_off_with_rate_0_or_pie_clear)
{
	uint8_t seen = 0;

	wr(0x0A, 0x20, T);
	wr(0x0B, RTC_B_PIE | RTC_B_24H, T);
	cr_expect_eq(rtc_next_event_ns(rtc, T), UINT64_MAX);
	wr(0x0A, 0x26, T);
	wr(0x0B, RTC_B_24H, T);
	cr_expect_eq(rtc_next_event_ns(rtc, T), UINT64_MAX);
	/* PF is still set in C, without IRQF, and no IRQ. */
	rtc_advance(rtc, T + 10 * MS);
	cr_expect_not(rtc_irq(rtc));
	cr_expect_eq(rd(0x0C, T + 10 * MS), RTC_C_PF);
	cr_expect_eq(count_irqs(T + 10 * MS, T + 2 * S, &seen), 0);
}

Test(rtc, pending_flag_raises_irq_when_enabled)
{
	rtc_advance(rtc, T + 10 * MS);              /* PF set, PIE clear */
	cr_expect_not(rtc_irq(rtc));
	wr(0x0B, RTC_B_PIE | RTC_B_24H, T + 10 * MS);
	cr_expect(rtc_irq(rtc));
	cr_expect_eq(rtc_next_event_ns(rtc, T + 10 * MS), UINT64_MAX,
	             "nothing to wait for while IRQ8 is up");
	cr_expect_eq(rd(0x0C, T + 10 * MS), RTC_C_IRQF | RTC_C_PF);
	cr_expect_eq(rd(0x0C, T + 10 * MS), 0, "a read clears C");
}

Test(rtc, update_interrupt_once_per_second)
{
	uint8_t seen = 0;

	wr(0x0B, RTC_B_UIE | RTC_B_24H, T);
	cr_expect_eq(rtc_next_event_ns(rtc, T), (T_S + 1) * S);
	cr_expect_eq(count_irqs(T, T + 5 * S, &seen), 5);
	cr_expect_eq(seen & (RTC_C_UF | RTC_C_AF), RTC_C_UF);
}

Test(rtc, alarm_interrupt)
{
	uint8_t seen = 0;

	/* 22:59:35 */
	wr(1, 0x35, T); wr(3, 0x59, T); wr(5, 0x22, T);
	wr(0x0B, RTC_B_AIE | RTC_B_24H, T);
	cr_expect_eq(count_irqs(T, T + 4 * S, &seen), 0, "not before :35");
	cr_expect_eq(count_irqs(T + 4 * S, T + 5 * S, &seen), 1);
	cr_expect_eq(rtc_next_event_ns(rtc, T + 5 * S), (T_S + 6) * S);
	cr_expect_eq(count_irqs(T + 5 * S, T + 60 * S, &seen), 0,
	             "once a day, not each second");
	cr_expect_eq(seen & (RTC_C_AF | RTC_C_UF), RTC_C_AF | RTC_C_UF);
	/* All three "don't care": every second. */
	wr(1, 0xC0, T + 60 * S); wr(3, 0xFF, T + 60 * S);
	wr(5, 0xC5, T + 60 * S);
	cr_expect_eq(count_irqs(T + 60 * S, T + 63 * S, &seen), 3);
	/* Seconds match, minutes and hours any: once a minute. */
	wr(1, 0x00, T + 63 * S);
	cr_expect_eq(count_irqs(T + 63 * S, T + 183 * S, &seen), 2);
}

Test(rtc, alarm_seen_by_a_late_reader)
{
	/* 23:00:00 passes with nobody looking; C still says so. */
	wr(1, 0x00, T); wr(3, 0x00, T); wr(5, 0x23, T);
	cr_expect_eq(rd(0x0C, T + 3600 * S), RTC_C_PF | RTC_C_AF | RTC_C_UF);
}

Test(rtc, calendar_rollovers)
{
	static const struct { uint64_t s; uint8_t want[8]; } c[] = {
		/* 2099-12-31 23:59:59 Thursday + 1 s: Friday 2100-01-01 */
		{ 4102444799ull, { 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00,
		                   0x21 } },
		/* 2024-02-28 23:59:59 Wednesday + 1 s: Thursday 02-29 */
		{ 1709164799ull, { 0x00, 0x00, 0x00, 0x05, 0x29, 0x02, 0x24,
		                   0x20 } },
	};

	for (size_t i = 0; i < 2; i++) {
		rtc_free(rtc);
		rtc = rtc_new(128 * MIB, c[i].s * S);
		expect_time(c[i].s * S + S, c[i].want);
	}
}

Test(rtc, registers_c_and_d_read_only_index_bit7_ignored)
{
	rtc_advance(rtc, T + 10 * MS);
	wr(0x0C, 0x00, T + 10 * MS);
	wr(0x0D, 0x00, T + 10 * MS);
	cr_expect_eq(rd(0x0D, T + 10 * MS), 0x80);
	cr_expect_eq(rd(0x80 | 0x0C, T + 10 * MS), RTC_C_PF,
	             "NMI-mask bit of the index has no effect");
	cr_expect_eq(rtc_read(rtc, 0, T), 0xFF, "index port is write-only");
	wr(0x80 | 0x0A, 0xA6, T);
	cr_expect_eq(rd(0x0A, T), 0x26, "UIP is read-only");
}

Test(rtc, nvram_and_memory_size_bytes)
{
	unsigned sum = 0;

	cr_expect_eq(rd(0x15, T), 0x80);             /* 640 KiB */
	cr_expect_eq(rd(0x16, T), 0x02);
	cr_expect_eq(rd(0x17, T), 0xFF);             /* 127 MiB: capped */
	cr_expect_eq(rd(0x18, T), 0xFF);
	cr_expect_eq(rd(0x30, T), 0xFF);
	cr_expect_eq(rd(0x31, T), 0xFF);
	cr_expect_eq(rd(0x34, T), 0x00);             /* 112 MiB / 64 KiB */
	cr_expect_eq(rd(0x35, T), 0x07);
	for (unsigned i = 0x10; i <= 0x2D; i++)
		sum += rd(i, T);
	cr_expect_eq(rd(0x2E, T) << 8 | rd(0x2F, T), sum);
	for (unsigned i = 0x0E; i < 0x80; i++)
		if (i != 0x32)
			wr(i, (uint8_t)(i ^ 0x5A), T);
	for (unsigned i = 0x0E; i < 0x80; i++)
		if (i != 0x32)
			cr_expect_eq(rd(i, T), (uint8_t)(i ^ 0x5A), "0x%02x", i);
}

Test(rtc, memory_size_small_and_large)
{
	rtc_free(rtc);
	rtc = rtc_new(8 * MIB, T);                   /* 7 MiB extended */
	cr_expect_eq(rd(0x17, T) | rd(0x18, T) << 8, 7 * 1024);
	cr_expect_eq(rd(0x30, T) | rd(0x31, T) << 8, 7 * 1024);
	cr_expect_eq(rd(0x34, T) | rd(0x35, T) << 8, 0);
	rtc_free(rtc);
	rtc = rtc_new(3072 * MIB, T);
	cr_expect_eq(rd(0x34, T) | rd(0x35, T) << 8, (3072 - 16) * 16);
	rtc_free(rtc);
	rtc = rtc_new(1 * MIB, T);
	cr_expect_eq(rd(0x15, T) | rd(0x16, T) << 8, 640);
	cr_expect_eq(rd(0x17, T) | rd(0x18, T) << 8, 0);
}

/* --- through the platform: timer thread, IRQ8 via the slave 8259A --------- */

struct intc {
	bool (*line)(void *dev);
	int (*ack)(void *dev);
	void *dev;
};

static void set_intc(void *ctx, bool (*line)(void *dev),
                     int (*ack)(void *dev), void *dev)
{
	*(struct intc *)ctx = (struct intc){ line, ack, dev };
}

static struct bus *io, *mmio;

static void outb(uint16_t port, uint8_t v)
{
	cr_assert_eq(bus_write(io, port, 1, v), BUS_OK, "port %#x", port);
}

static uint8_t inb(uint16_t port)
{
	uint64_t v;

	cr_assert_eq(bus_read(io, port, 1, &v), BUS_OK, "port %#x", port);
	return (uint8_t)v;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * S + (uint64_t)t.tv_nsec;
}

Test(rtc_platform, memory_size_and_periodic_irq8, .timeout = 60)
{
	struct intc intc = { 0 };
	struct platform_hooks hooks = {
		.set_intr_controller = set_intc, .ctx = &intc,
		.console_out_fd = -1, .console_in_fd = -1,
		.ram_bytes = 48 * MIB,
	};
	struct platform *p;
	uint64_t start;
	int n = 0;

	io = bus_new("port");
	mmio = bus_new("mmio");
	p = platform_new(io, mmio, &hooks);
	cr_assert_not_null(p);
	cr_assert_str_eq(bus_owner(io, 0x70), "rtc");
	cr_assert_str_eq(bus_owner(io, 0x71), "rtc");
	outb(0x70, 0x34);
	cr_expect_eq(inb(0x71), 0x00);               /* 32 MiB / 64 KiB */
	outb(0x70, 0x35);
	cr_expect_eq(inb(0x71), 0x02);
	/* 8259A pair at 0x20/0x28, only the cascade and IRQ8 open. */
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xA0, 0x11); outb(0xA1, 0x28); outb(0xA1, 0x02); outb(0xA1, 0x01);
	outb(0x21, 0xFB); outb(0xA1, 0xFE);
	cr_assert_not_null(intc.line);
	outb(0x70, 0x0A); outb(0x71, 0x26);          /* 1024 Hz */
	outb(0x70, 0x0C); inb(0x71);
	outb(0x70, 0x0B); outb(0x71, RTC_B_PIE | RTC_B_24H);
	start = mono_ns();
	while (mono_ns() - start < 250 * MS) {
		if (!intc.line(intc.dev)) {
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
			continue;
		}
		cr_assert_eq(intc.ack(intc.dev), 0x28);
		outb(0x70, 0x0C);
		cr_assert_eq(inb(0x71) & 0xC0, RTC_C_IRQF | RTC_C_PF);
		outb(0xA0, 0x20);
		outb(0x20, 0x20);
		n++;
	}
	outb(0x70, 0x0B); outb(0x71, RTC_B_24H);
	cr_log_info("%d periodic interrupts in 250 ms", n);
	/* 256 in 250 ms; a loaded host may merge some. */
	cr_expect(n >= 128 && n <= 257, "%d periodic interrupts in 250 ms", n);
	platform_free(p);
	bus_free(mmio);
	bus_free(io);
}
