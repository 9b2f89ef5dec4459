/*
 * test_i8042.c — register-level unit tests of the keyboard controller
 * model (devices/i8042.c): status and command byte, controller commands,
 * the keyboard's answers, IRQ1/IRQ12, the reset line and port 0x92, and
 * a replay of the probe that Linux's i8042 and atkbd drivers run
 * (drivers/input/serio/i8042.c, atkbd.c), step by step as they poll;
 * last, the device as the platform attaches it (IRQ1 reaching the
 * 8259A, the reset line reaching the monitor's hook).
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "devices/bus.h"
#include "devices/devices.h"
#include "devices/i8042.h"

#define DATA 0x60
#define CMD  0x64

static struct i8042 *k;
static int resets;

static void on_reset(void *ctx)
{
	cr_assert_eq(ctx, &resets);
	resets++;
}

static void setup(void)
{
	resets = 0;
	k = i8042_new(on_reset, &resets);
	cr_assert_not_null(k);
}

static void teardown(void)
{
	i8042_free(k);
}

TestSuite(i8042, .init = setup, .fini = teardown);

static uint8_t status(void)
{
	return i8042_read(k, CMD);
}

/* The next output byte; fails if there is none. */
static uint8_t next_byte(void)
{
	cr_assert(status() & I8042_STR_OBF, "expected a byte in the buffer");
	return i8042_read(k, DATA);
}

static void expect_bytes(const uint8_t *want, int n)
{
	for (int i = 0; i < n; i++)
		cr_expect_eq(next_byte(), want[i], "byte %d", i);
	cr_expect_not(status() & I8042_STR_OBF, "nothing after %d bytes", n);
}

#define EXPECT_BYTES(...) do {                                         \
	static const uint8_t w_[] = { __VA_ARGS__ };                   \
	expect_bytes(w_, sizeof(w_));                                  \
} while (0)

static uint8_t read_ctr(void)
{
	i8042_write(k, CMD, 0x20);
	return next_byte();
}

static void write_ctr(uint8_t v)
{
	i8042_write(k, CMD, 0x60);
	i8042_write(k, DATA, v);
}

Test(i8042, power_on_state)
{
	cr_expect_eq(status(), I8042_STR_SYS | I8042_STR_UNLOCK);
	cr_expect_eq(read_ctr(), 0x65);
	cr_expect_eq(i8042_read(k, 0x92), 0x02, "A20 on");
	cr_expect_not(i8042_irq(k, 1));
	cr_expect_not(i8042_irq(k, 12));
	cr_expect_eq(i8042_read(k, 0x61), 0xFF, "not ours");
}

Test(i8042, status_a2_bit_follows_last_write)
{
	i8042_write(k, CMD, 0xAD);
	cr_expect(status() & I8042_STR_CMD);
	i8042_write(k, DATA, 0xF4);
	cr_expect_not(status() & I8042_STR_CMD);
}

Test(i8042, command_byte_and_ram)
{
	write_ctr(0x47);
	cr_expect_eq(read_ctr(), 0x47);
	cr_expect(status() & I8042_STR_SYS);
	write_ctr(0x40);
	cr_expect_not(status() & I8042_STR_SYS, "SYS flag is CTR bit 2");
	i8042_write(k, CMD, 0x75);                   /* RAM byte 0x15 */
	i8042_write(k, DATA, 0x9C);
	i8042_write(k, CMD, 0x35);
	EXPECT_BYTES(0x9C);
}

Test(i8042, self_tests)
{
	i8042_write(k, CMD, 0xAA);
	EXPECT_BYTES(0x55);
	i8042_write(k, CMD, 0xAB);
	EXPECT_BYTES(0x00);
	i8042_write(k, CMD, 0xA9);
	EXPECT_BYTES(0x00);
}

Test(i8042, enable_disable_interfaces)
{
	i8042_write(k, CMD, 0xAD);
	cr_expect_eq(read_ctr() & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS);
	i8042_write(k, CMD, 0xAE);
	cr_expect_eq(read_ctr() & I8042_CTR_KBDDIS, 0);
	i8042_write(k, CMD, 0xA8);
	cr_expect_eq(read_ctr() & I8042_CTR_AUXDIS, 0);
	i8042_write(k, CMD, 0xA7);
	cr_expect_eq(read_ctr() & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS);
}

Test(i8042, output_buffer_irq1)
{
	i8042_write(k, CMD, 0xAA);
	cr_expect(i8042_irq(k, 1), "KBDINT set: IRQ1 with the answer");
	cr_expect_not(i8042_irq(k, 12));
	next_byte();
	cr_expect_not(i8042_irq(k, 1), "reading the byte lowers IRQ1");
	cr_expect_eq(i8042_read(k, DATA), 0x55, "an empty buffer rereads");
	write_ctr(0x64);                             /* KBDINT off */
	i8042_write(k, CMD, 0xAA);
	cr_expect_not(i8042_irq(k, 1));
	next_byte();
}

Test(i8042, keyboard_commands_translated)
{
	i8042_write(k, CMD, 0xAE);
	i8042_write(k, DATA, 0xFF);
	EXPECT_BYTES(0xFA, 0xAA);
	i8042_write(k, DATA, 0xF2);
	EXPECT_BYTES(0xFA, 0xAB, 0x41);
	i8042_write(k, DATA, 0xED);
	i8042_write(k, DATA, 0x07);
	EXPECT_BYTES(0xFA, 0xFA);
	i8042_write(k, DATA, 0xF3);
	i8042_write(k, DATA, 0x00);
	EXPECT_BYTES(0xFA, 0xFA);
	i8042_write(k, DATA, 0xF4);
	i8042_write(k, DATA, 0xF5);
	i8042_write(k, DATA, 0xF6);
	EXPECT_BYTES(0xFA, 0xFA, 0xFA);
	i8042_write(k, DATA, 0xF0);
	i8042_write(k, DATA, 0x00);
	EXPECT_BYTES(0xFA, 0xFA, 0x41);              /* set 2, translated */
	i8042_write(k, DATA, 0xEE);
	EXPECT_BYTES(0xEE);
	i8042_write(k, DATA, 0x01);                  /* not a command */
	EXPECT_BYTES(0xFE);
	i8042_write(k, DATA, 0xFE);                  /* resend */
	EXPECT_BYTES(0xFE);
}

Test(i8042, keyboard_commands_untranslated)
{
	write_ctr(0x05);                             /* no XLATE, kbd on */
	i8042_write(k, DATA, 0xF2);
	EXPECT_BYTES(0xFA, 0xAB, 0x83);
	i8042_write(k, DATA, 0xF0);
	i8042_write(k, DATA, 0x03);
	i8042_write(k, DATA, 0xF0);
	i8042_write(k, DATA, 0x00);
	EXPECT_BYTES(0xFA, 0xFA, 0xFA, 0xFA, 0x03);
	i8042_write(k, DATA, 0xFF);                  /* reset: set 2 again */
	i8042_write(k, DATA, 0xF0);
	i8042_write(k, DATA, 0x00);
	EXPECT_BYTES(0xFA, 0xAA, 0xFA, 0xFA, 0x02);
}

Test(i8042, keyboard_bytes_wait_while_interface_disabled)
{
	i8042_write(k, CMD, 0xAD);
	i8042_write(k, DATA, 0xFF);
	cr_expect_not(status() & I8042_STR_OBF);
	cr_expect_not(i8042_irq(k, 1));
	i8042_write(k, CMD, 0x20);                   /* controller goes first */
	cr_expect_eq(next_byte() & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS);
	cr_expect_not(status() & I8042_STR_OBF);
	i8042_write(k, CMD, 0xAE);
	cr_expect(i8042_irq(k, 1));
	EXPECT_BYTES(0xFA, 0xAA);
	/* Enabling through the command byte releases them too. */
	write_ctr(0x75);
	i8042_write(k, DATA, 0xF4);
	cr_expect_not(status() & I8042_STR_OBF);
	write_ctr(0x65);
	EXPECT_BYTES(0xFA);
}

Test(i8042, write_output_buffers_and_aux_irq12)
{
	i8042_write(k, CMD, 0xD2);
	i8042_write(k, DATA, 0x1C);
	cr_expect_eq(status() & (I8042_STR_OBF | I8042_STR_AUXDATA),
	             I8042_STR_OBF);
	cr_expect(i8042_irq(k, 1));
	EXPECT_BYTES(0x1C);
	write_ctr(0x47);                             /* AUXINT, aux on */
	i8042_write(k, CMD, 0xD3);
	i8042_write(k, DATA, 0x5A);
	cr_expect_eq(status() & (I8042_STR_OBF | I8042_STR_AUXDATA),
	             I8042_STR_OBF | I8042_STR_AUXDATA);
	cr_expect(i8042_irq(k, 12));
	cr_expect_not(i8042_irq(k, 1));
	EXPECT_BYTES(0x5A);
	cr_expect_not(i8042_irq(k, 12));
}

Test(i8042, aux_device_absent_times_out)
{
	i8042_write(k, CMD, 0xD4);
	i8042_write(k, DATA, 0xFF);
	cr_expect_eq(status() & 0x61, I8042_STR_OBF | I8042_STR_AUXDATA |
	                              I8042_STR_TIMEOUT);
	EXPECT_BYTES(0xFE);
	cr_expect_not(status() & I8042_STR_TIMEOUT);
}

Test(i8042, output_port_a20_stays_on)
{
	i8042_write(k, CMD, 0xD0);
	cr_expect_eq(next_byte() & 0x03, 0x03);
	i8042_write(k, CMD, 0xD1);
	i8042_write(k, DATA, 0xDD);                  /* A20 off: ignored */
	i8042_write(k, CMD, 0xD0);
	cr_expect_eq(next_byte() & 0x03, 0x03);
	cr_expect_eq(resets, 0);
	i8042_write(k, CMD, 0x20);                   /* bit 4: IRQ1 pin */
	i8042_write(k, CMD, 0xD0);
	cr_expect_eq(i8042_read(k, 0x64) & I8042_STR_OBF, I8042_STR_OBF);
	next_byte();
	cr_expect_eq(next_byte() & 0x30, 0x10,
	             "the buffer held a kbd byte when D0 ran");
}

Test(i8042, reset_line)
{
	i8042_write(k, CMD, 0xFF);                   /* pulse nothing */
	i8042_write(k, CMD, 0xFD);
	cr_expect_eq(resets, 0);
	i8042_write(k, CMD, 0xFE);
	cr_expect_eq(resets, 1);
	i8042_write(k, CMD, 0xF0);
	cr_expect_eq(resets, 2);
	i8042_write(k, CMD, 0xD1);
	i8042_write(k, DATA, 0xDE);
	cr_expect_eq(resets, 3);
}

Test(i8042, port_92)
{
	i8042_write(k, 0x92, 0x00);                  /* A20 off: ignored */
	cr_expect_eq(i8042_read(k, 0x92), 0x02);
	cr_expect_eq(resets, 0);
	i8042_write(k, 0x92, 0x03);
	cr_expect_eq(resets, 1);
}

/* --- Linux's probe, as drivers/input/serio/i8042.c polls ------------------ */

#define CTL_TEST 0x01AA
#define CTL_RCTR 0x0120
#define CTL_WCTR 0x1060
#define AUX_LOOP 0x11D3
#define AUX_SEND 0x10D4
#define AUX_ENABLE 0x00A8
#define AUX_DISABLE 0x00A7

/* __i8042_command: waits on IBF/OBF with a bound, checks AUXDATA on the
 * loop command.  0 or -1. */
static int linux_command(uint8_t *param, int command)
{
	if (status() & I8042_STR_IBF)
		return -1;
	i8042_write(k, CMD, command & 0xFF);
	for (int i = 0; i < ((command >> 12) & 0xF); i++) {
		if (status() & I8042_STR_IBF)
			return -1;
		i8042_write(k, DATA, param[i]);
	}
	for (int i = 0; i < ((command >> 8) & 0xF); i++) {
		if (!(status() & I8042_STR_OBF))
			return -1;      /* would time out */
		if (command == AUX_LOOP && !(status() & I8042_STR_AUXDATA))
			return -1;
		param[i] = i8042_read(k, DATA);
	}
	return 0;
}

static int linux_flush(void)
{
	int n = 0;

	while (status() & I8042_STR_OBF) {
		if (n++ >= 16)
			return -1;
		i8042_read(k, DATA);
	}
	return 0;
}

Test(i8042, linux_probe)
{
	uint8_t ctr[2], p;

	/* i8042_controller_check, _selftest */
	cr_assert_eq(linux_flush(), 0);
	cr_assert_eq(linux_command(&p, CTL_TEST), 0);
	cr_assert_eq(p, 0x55);
	/* i8042_controller_init: a stable CTR, no keylock, write it back */
	cr_assert_eq(linux_command(&ctr[0], CTL_RCTR), 0);
	cr_assert_eq(linux_command(&ctr[1], CTL_RCTR), 0);
	cr_assert_eq(ctr[0], ctr[1]);
	cr_assert(ctr[0] & I8042_CTR_XLATE, "BIOS left translation on");
	cr_assert(status() & I8042_STR_UNLOCK, "no \"Keylock active\"");
	ctr[0] = (ctr[0] | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT;
	cr_assert_eq(linux_command(&ctr[0], CTL_WCTR), 0);
	linux_flush();
	/* i8042_check_aux: the loop works, so AUX_TEST is not asked */
	p = 0x5A;
	cr_assert_eq(linux_command(&p, AUX_LOOP), 0);
	cr_assert_eq(p, 0x5A);
	cr_assert_eq(linux_command(&p, AUX_DISABLE), 0);
	cr_assert_eq(linux_command(&p, CTL_RCTR), 0);
	cr_assert(p & I8042_CTR_AUXDIS);
	cr_assert_eq(linux_command(&p, AUX_ENABLE), 0);
	cr_assert_eq(linux_command(&p, CTL_RCTR), 0);
	cr_assert_not(p & I8042_CTR_AUXDIS);
	/* ... and IRQ12 delivery, with the byte left for the handler */
	ctr[0] = (ctr[0] & ~I8042_CTR_AUXDIS) | I8042_CTR_AUXINT;
	cr_assert_eq(linux_command(&ctr[0], CTL_WCTR), 0);
	p = 0xA5;
	cr_assert_eq(linux_command(&p, AUX_LOOP & 0xF0FF), 0);
	cr_assert(i8042_irq(k, 12));
	cr_assert(status() & I8042_STR_AUXDATA);
	cr_assert_eq(i8042_read(k, DATA), 0xA5);
	ctr[0] = (ctr[0] | I8042_CTR_AUXDIS) & ~I8042_CTR_AUXINT;
	cr_assert_eq(linux_command(&ctr[0], CTL_WCTR), 0);
	/* i8042_check_mux: a plain loop echoes 0xA4, so no multiplexer */
	static const uint8_t mux[3] = { 0xF0, 0x56, 0xA4 };
	for (int i = 0; i < 3; i++) {
		p = mux[i];
		cr_assert_eq(linux_command(&p, AUX_LOOP), 0);
		cr_assert_eq(p, mux[i]);
	}
	/* i8042_enable_aux_port, _enable_kbd_port */
	ctr[0] = (ctr[0] & ~(I8042_CTR_AUXDIS | I8042_CTR_KBDDIS)) |
	         I8042_CTR_AUXINT | I8042_CTR_KBDINT;
	cr_assert_eq(linux_command(&ctr[0], CTL_WCTR), 0);
	/* atkbd_probe: GETID through IRQ1 */
	i8042_write(k, DATA, 0xF2);
	for (int i = 0; i < 3; i++) {
		static const uint8_t id[3] = { 0xFA, 0xAB, 0x41 };

		cr_assert(i8042_irq(k, 1));
		cr_assert_not(status() & I8042_STR_AUXDATA);
		cr_assert_eq(i8042_read(k, DATA), id[i]);
	}
	/* psmouse_probe: the aux port answers, but no mouse does */
	p = 0xF2;
	cr_assert_eq(linux_command(&p, AUX_SEND), 0);
	cr_assert(i8042_irq(k, 12));
	cr_assert_eq(status() & I8042_STR_TIMEOUT, I8042_STR_TIMEOUT);
	cr_assert_eq(i8042_read(k, DATA), 0xFE);
	cr_assert_not(i8042_irq(k, 12));
	cr_assert_eq(resets, 0);
}

/* --- through the platform: IRQ1 at the 8259A, the monitor's reset hook --- */

struct intc {
	bool (*line)(void *dev);
	int (*ack)(void *dev);
	void *dev;
	int resets;
};

static void set_intc(void *ctx, bool (*line)(void *dev),
                     int (*ack)(void *dev), void *dev)
{
	struct intc *c = ctx;

	c->line = line;
	c->ack = ack;
	c->dev = dev;
}

static void count_reset(void *ctx)
{
	((struct intc *)ctx)->resets++;
}

static struct bus *io;

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

Test(i8042_platform, irq1_and_reset_hook)
{
	struct intc intc = { 0 };
	struct platform_hooks hooks = {
		.set_intr_controller = set_intc, .request_reset = count_reset,
		.ctx = &intc, .console_out_fd = -1, .console_in_fd = -1,
	};
	struct bus *mmio = bus_new("mmio");
	struct platform *p;

	io = bus_new("port");
	p = platform_new(io, mmio, &hooks);
	cr_assert_not_null(p);
	cr_assert_str_eq(bus_owner(io, 0x60), "i8042");
	cr_assert_str_eq(bus_owner(io, 0x64), "i8042");
	cr_assert_str_eq(bus_owner(io, 0x92), "i8042");
	outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0x21, 0xFD);                            /* IRQ1 only */
	cr_assert_not(intc.line(intc.dev));
	outb(0x64, 0xAA);
	cr_assert(intc.line(intc.dev), "IRQ1 with the self-test answer");
	cr_assert_eq(intc.ack(intc.dev), 0x21);
	cr_assert_eq(inb(0x60), 0x55);
	outb(0x20, 0x20);
	cr_assert_not(intc.line(intc.dev));
	cr_assert_eq(inb(0x92), 0x02);
	cr_assert_eq(intc.resets, 0);
	outb(0x64, 0xFE);
	cr_assert_eq(intc.resets, 1);
	outb(0x92, 0x01);
	cr_assert_eq(intc.resets, 2);
	platform_free(p);
	bus_free(mmio);
	bus_free(io);
}
