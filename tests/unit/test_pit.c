/*
 * test_pit.c — register-level unit tests of the 8254 model (devices/pit.c).
 *
 * Every test drives the PIT through its ports as a guest would, at chosen
 * host times.  T(k) is the first nanosecond at which k input-clock ticks
 * have elapsed since a load, computed here independently (128-bit) from
 * the model's split arithmetic; T0 is a non-zero load time.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "devices/pit.h"

#define T0 1234567ull
#define CAL_LATCH (1193182 / 20)        /* Linux: 50 ms */

static uint64_t T(uint64_t k)
{
	return (uint64_t)(((unsigned __int128)k * 1000000000u + 1193181) /
	                  1193182);
}

static struct pit *pit;

static void setup(void)
{
	pit = pit_new();
	cr_assert_not_null(pit);
}

static void teardown(void)
{
	pit_free(pit);
}

TestSuite(pit, .init = setup, .fini = teardown);

static void ctl(uint8_t v, uint64_t now)
{
	pit_write(pit, 0x43, v, now);
}

static void load16(int ch, uint16_t count, uint64_t now)
{
	pit_write(pit, 0x40 + ch, count & 0xFF, now);
	pit_write(pit, 0x40 + ch, count >> 8, now);
}

static unsigned read16(int ch, uint64_t now)
{
	unsigned lo = pit_read(pit, 0x40 + ch, now);

	return lo | pit_read(pit, 0x40 + ch, now) << 8;
}

static uint8_t readback_status(int ch, uint64_t now)
{
	ctl(0xE0 | 2 << ch, now);
	return pit_read(pit, 0x40 + ch, now);
}

Test(pit, mode2_periodic_1ms)
{
	uint64_t e, sum = 0;

	ctl(0x34, T0);          /* ch0, lobyte/hibyte, mode 2 */
	load16(0, 1193, T0);
	e = pit_next_irq0_ns(pit, T0);
	cr_assert_eq(e, T0 + T(1193));
	cr_assert_eq(e - T0, 999848);
	cr_assert_eq(pit_next_irq0_ns(pit, e - 1), e);
	cr_assert_eq(pit_next_irq0_ns(pit, e), T0 + T(2386));
	cr_assert_eq(pit_irq0_edges(pit, e - 1, e), 1);
	cr_assert_eq(pit_irq0_edges(pit, e, e + 1), 0);
	/* OUT low for exactly the last tick of each period. */
	cr_assert(pit_out(pit, 0, T0 + T(1192) - 1));
	cr_assert_not(pit_out(pit, 0, T0 + T(1192)));
	cr_assert(pit_out(pit, 0, T0 + T(1193)));
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + 1000000000), 1000);
	/* 10 s in 1 ms windows: every edge once, no drift. */
	for (uint64_t t = T0; t < T0 + 10000000000ull; t += 1000000)
		sum += pit_irq0_edges(pit, t, t + 1000000);
	cr_assert_eq(sum, 11931820 / 1193);
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + 10000000000ull), 10001);
	/* Exact after an hour too: no overflow. */
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + 3600000000000ull),
	             T0 + T((3600ull * 1193182 / 1193 + 1) * 1193));
}

Test(pit, mode3_square_wave)
{
	ctl(0x36, T0);          /* ch0, lo/hi, mode 3 */
	load16(0, 1000, T0);
	cr_assert(pit_out(pit, 0, T0));
	cr_assert(pit_out(pit, 0, T0 + T(500) - 1));
	cr_assert_not(pit_out(pit, 0, T0 + T(500)));
	cr_assert_not(pit_out(pit, 0, T0 + T(1000) - 1));
	cr_assert(pit_out(pit, 0, T0 + T(1000)));
	cr_assert_not(pit_out(pit, 0, T0 + T(1500)));
	cr_assert_eq(read16(0, T0 + T(10)), 980);     /* counts by two */
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + T(3000)), 3);
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + T(1200)), T0 + T(2000));
	/* Odd count: high one tick longer than low. */
	ctl(0x36, T0);
	load16(0, 1001, T0);
	cr_assert(pit_out(pit, 0, T0 + T(501) - 1));
	cr_assert_not(pit_out(pit, 0, T0 + T(501)));
	cr_assert(pit_out(pit, 0, T0 + T(1001)));
}

Test(pit, mode0_one_shot)
{
	ctl(0x30, T0);          /* ch0, lo/hi, mode 0 */
	cr_assert_not(pit_out(pit, 0, T0));     /* low after the mode set */
	cr_assert_eq(pit_next_irq0_ns(pit, T0), UINT64_MAX);
	load16(0, 100, T0);
	cr_assert_not(pit_out(pit, 0, T0));
	cr_assert_eq(read16(0, T0 + T(40)), 60);
	cr_assert_not(pit_out(pit, 0, T0 + T(100) - 1));
	cr_assert(pit_out(pit, 0, T0 + T(100)));
	cr_assert_eq(pit_next_irq0_ns(pit, T0), T0 + T(100));
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + T(100)), UINT64_MAX);
	/* Stays high, also after the counter wraps past 0. */
	cr_assert(pit_out(pit, 0, T0 + T(100 + 65536 * 3)));
	cr_assert_eq(read16(0, T0 + T(101)), 0xFFFF);
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + 10000000000ull), 1);
}

Test(pit, mode4_strobe)
{
	ctl(0x38, T0);          /* ch0, lo/hi, mode 4 */
	cr_assert(pit_out(pit, 0, T0));
	load16(0, 50, T0);
	cr_assert(pit_out(pit, 0, T0 + T(50) - 1));
	cr_assert_not(pit_out(pit, 0, T0 + T(50)));
	cr_assert(pit_out(pit, 0, T0 + T(51)));
	cr_assert(pit_out(pit, 0, T0 + T(50 + 65536)));  /* no re-strobe */
	cr_assert_eq(pit_next_irq0_ns(pit, T0), T0 + T(51));
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + 1000000000), 1);
}

Test(pit, byte_access_sequencing)
{
	ctl(0x30, T0);
	pit_write(pit, 0x40, 0x34, T0);
	pit_write(pit, 0x40, 0x12, T0);
	cr_assert_eq(pit_read(pit, 0x40, T0), 0x34);    /* flip-flop: lo */
	cr_assert_eq(pit_read(pit, 0x40, T0), 0x12);    /* then hi */
	cr_assert_eq(pit_read(pit, 0x40, T0), 0x34);
	cr_assert_eq(pit_read(pit, 0x40, T0), 0x12);
	/* Mode 0: the first byte of a new count stops counting. */
	pit_write(pit, 0x40, 0x10, T0 + T(0x1000));
	cr_assert_eq(read16(0, T0 + T(0x1100)), 0x0234);
	pit_write(pit, 0x40, 0x00, T0 + T(0x1200));
	cr_assert_eq(read16(0, T0 + T(0x1200) + T(0x10)), 0);
	/* Lobyte only: hibyte is 0, every read is the low byte. */
	ctl(0x10, T0);
	pit_write(pit, 0x40, 0x80, T0);
	cr_assert_eq(pit_read(pit, 0x40, T0 + T(1)), 0x7F);
	cr_assert_eq(pit_read(pit, 0x40, T0 + T(2)), 0x7E);
	cr_assert(pit_out(pit, 0, T0 + T(0x80)));
	/* Hibyte only: lobyte is 0. */
	ctl(0x20, T0);
	pit_write(pit, 0x40, 0x02, T0);
	cr_assert_eq(pit_read(pit, 0x40, T0 + T(1)), 0x01);
	cr_assert_not(pit_out(pit, 0, T0 + T(0x200) - 1));
	cr_assert(pit_out(pit, 0, T0 + T(0x200)));
	/* A mode set resets the write flip-flop. */
	ctl(0x34, T0);
	pit_write(pit, 0x40, 0x99, T0);
	ctl(0x34, T0);
	load16(0, 3000, T0);
	cr_assert_eq(pit_next_irq0_ns(pit, T0), T0 + T(3000));
}

Test(pit, latch_freezes_read_value)
{
	ctl(0x34, T0);
	load16(0, 10000, T0);
	ctl(0x00, T0 + T(100));         /* latch ch0 */
	ctl(0x00, T0 + T(200));         /* ignored while latched */
	cr_assert_eq(read16(0, T0 + T(5000)), 9900);
	cr_assert_eq(read16(0, T0 + T(5000)), 5000);    /* live again */
	/* Counting went on underneath: the edge is where it was. */
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + T(5000)), T0 + T(10000));
	/* Latch, read only the low byte: the latch holds the high byte. */
	ctl(0x00, T0 + T(300));
	cr_assert_eq(pit_read(pit, 0x40, T0 + T(300)), 9700 & 0xFF);
	cr_assert_eq(pit_read(pit, 0x40, T0 + T(9000)), 9700 >> 8);
}

Test(pit, read_back_status)
{
	ctl(0x34, T0);
	/* OUT high, NULL COUNT, RW 3, mode 2, binary. */
	cr_assert_eq(readback_status(0, T0), 0xF4);
	load16(0, 1000, T0);
	cr_assert_eq(readback_status(0, T0 + 1), 0xB4);
	cr_assert_eq(readback_status(0, T0 + T(999)), 0x34);  /* OUT low */
	/* Mode 0 after the mode set: OUT low, NULL COUNT. */
	ctl(0xB0, T0);          /* ch2, lo/hi, mode 0 */
	cr_assert_eq(readback_status(2, T0), 0x70);
	/* Count and status together: status first, then the count. */
	ctl(0x50, T0);          /* ch1, lobyte, mode 0 */
	pit_write(pit, 0x41, 200, T0);
	ctl(0xC4, T0 + T(50));  /* count + status, ch1 */
	cr_assert_eq(pit_read(pit, 0x41, T0 + T(90)), 0x10);
	cr_assert_eq(pit_read(pit, 0x41, T0 + T(90)), 150);
	cr_assert_eq(pit_read(pit, 0x41, T0 + T(90)), 110);
	/* Several channels' counts in one command. */
	ctl(0xD6, T0 + T(60));  /* count only, ch1 and ch2 */
	cr_assert_eq(pit_read(pit, 0x41, T0 + T(99)), 140);
	cr_assert_eq(pit_read(pit, 0x41, T0 + T(99)), 101);
}

Test(pit, null_count_until_reload)
{
	ctl(0x34, T0);
	load16(0, 1000, T0);
	load16(0, 400, T0 + T(300));            /* mid-period */
	cr_assert_eq(readback_status(0, T0 + T(300)) & 0x40, 0x40);
	cr_assert_eq(readback_status(0, T0 + T(1000)) & 0x40, 0);
}

Test(pit, count_zero_is_65536)
{
	ctl(0x34, T0);
	load16(0, 0, T0);
	cr_assert_eq(read16(0, T0), 0);
	cr_assert_eq(read16(0, T0 + T(1)), 65535);
	cr_assert_eq(pit_next_irq0_ns(pit, T0), T0 + T(65536));
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + 1000000000), 18);
	ctl(0x30, T0);
	load16(0, 0, T0);
	cr_assert_not(pit_out(pit, 0, T0 + T(65535)));
	cr_assert(pit_out(pit, 0, T0 + T(65536)));
}

/* Linux pit_calibrate_tsc(): gate on, speaker off, ch2 mode 0, poll bit 5. */
Test(pit, channel2_linux_calibration)
{
	uint64_t t = T0;

	pit_write(pit, 0x61, (pit_read(pit, 0x61, t) & ~0x02) | 0x01, t);
	cr_assert_eq(pit_read(pit, 0x61, t) & 0x03, 0x01);
	ctl(0xB0, t);
	pit_write(pit, 0x42, CAL_LATCH & 0xFF, t);
	pit_write(pit, 0x42, CAL_LATCH >> 8, t);
	while (!(pit_read(pit, 0x61, t) & 0x20) && t < T0 + 1000000000)
		t += 1000;
	cr_assert_geq(t, T0 + T(CAL_LATCH));
	cr_assert_lt(t, T0 + T(CAL_LATCH) + 1000);
	cr_assert_eq(t - T0, 50000000);   /* 59659 ticks = 49999917 ns */
	/* And stays high. */
	cr_assert(pit_read(pit, 0x61, t + 500000000) & 0x20);
}

Test(pit, channel2_gate)
{
	uint64_t on = T0 + 100000000;

	pit_write(pit, 0x61, 0x02, T0);         /* gate off, speaker data on */
	ctl(0xB0, T0);
	load16(2, 1000, T0);
	cr_assert_eq(pit_read(pit, 0x61, on) & 0x23, 0x02);  /* not counting */
	cr_assert_eq(read16(2, on), 1000);
	pit_write(pit, 0x61, 0x03, on);
	cr_assert_not(pit_read(pit, 0x61, on + T(1000) - 1) & 0x20);
	cr_assert(pit_read(pit, 0x61, on + T(1000)) & 0x20);
	/* Gate low pauses mode 0 and high resumes it. */
	ctl(0xB0, on);
	load16(2, 1000, on);
	pit_write(pit, 0x61, 0x00, on + T(400));
	cr_assert_eq(read16(2, on + T(5000)), 600);
	pit_write(pit, 0x61, 0x01, on + T(5000));
	cr_assert_not(pit_out(pit, 2, on + T(5000) + T(600) - 1));
	cr_assert(pit_out(pit, 2, on + T(5000) + T(600)));
	/* Mode 2: gate low forces OUT high; the rising edge restarts. */
	ctl(0xB4, on);
	load16(2, 100, on);
	pit_write(pit, 0x61, 0x00, on + T(99));
	cr_assert(pit_out(pit, 2, on + T(99)));
	pit_write(pit, 0x61, 0x01, on + T(150));
	cr_assert_eq(read16(2, on + T(150) + T(10)), 90);
	cr_assert_not(pit_out(pit, 2, on + T(150) + T(99)));
}

Test(pit, gate_triggered_modes_1_and_5)
{
	ctl(0xB2, T0);          /* ch2, lo/hi, mode 1 */
	load16(2, 100, T0);
	cr_assert(pit_out(pit, 2, T0 + T(500)));        /* waits for gate */
	pit_write(pit, 0x61, 0x01, T0 + T(500));
	cr_assert_not(pit_out(pit, 2, T0 + T(500)));
	cr_assert(pit_out(pit, 2, T0 + T(500) + T(100)));
	ctl(0xBA, T0);          /* mode 5 */
	load16(2, 100, T0);
	pit_write(pit, 0x61, 0x00, T0 + T(10));
	pit_write(pit, 0x61, 0x01, T0 + T(20));
	cr_assert_not(pit_out(pit, 2, T0 + T(20) + T(100)));
	cr_assert(pit_out(pit, 2, T0 + T(20) + T(101)));
}

Test(pit, reprogram_mid_count)
{
	ctl(0x34, T0);
	load16(0, 1000, T0);
	load16(0, 500, T0 + T(300));
	/* The current period ends at 1000, then periods of 500. */
	cr_assert_eq(pit_irq0_edges(pit, T0 + T(300), T0 + T(2000)), 3);
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + T(300)), T0 + T(1000));
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + T(1000)), T0 + T(1500));
	cr_assert_eq(read16(0, T0 + T(1100)), 400);
	/* Mode 0: a new count restarts the one-shot with OUT low. */
	ctl(0x30, T0);
	load16(0, 1000, T0);
	load16(0, 200, T0 + T(300));
	cr_assert_not(pit_out(pit, 0, T0 + T(300) + T(199)));
	cr_assert(pit_out(pit, 0, T0 + T(300) + T(200)));
	/* A mode set stops the channel until a count is written. */
	ctl(0x34, T0);
	load16(0, 1000, T0);
	ctl(0x34, T0 + T(300));
	cr_assert_eq(pit_next_irq0_ns(pit, T0 + T(300)), UINT64_MAX);
	cr_assert_eq(pit_irq0_edges(pit, T0, T0 + T(5000)), 0);
}

Test(pit, bcd_counting)
{
	ctl(0x31, T0);          /* ch0, lo/hi, mode 0, BCD */
	load16(0, 0x1000, T0);
	cr_assert_eq(read16(0, T0 + T(1)), 0x0999);
	cr_assert_eq(read16(0, T0 + T(1000) + T(1)) & 0xFFFF, 0x9999);
	cr_assert_eq(pit_next_irq0_ns(pit, T0), T0 + T(1000));
}

Test(pit, port61_bits)
{
	uint64_t b = 15085 * 1000;      /* on a refresh toggle */

	pit_write(pit, 0x61, 0xFE, b);  /* only bits 1-3 stick */
	cr_assert_eq(pit_read(pit, 0x61, b) & 0xCF, 0x0E);
	/* Bit 4 (refresh request) toggles every 15.085 us. */
	cr_assert_neq(pit_read(pit, 0x61, b + 15084) & 0x10,
	              pit_read(pit, 0x61, b + 15085) & 0x10);
	cr_assert_eq(pit_read(pit, 0x61, b + 15085) & 0x10,
	             pit_read(pit, 0x61, b + 30169) & 0x10);
	cr_assert_eq(pit_read(pit, 0x43, b), 0xFF);     /* write-only */
}
