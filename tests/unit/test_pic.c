/*
 * test_pic.c — register-level tests of the 8259A pair (devices/pic.c).
 *
 * Each test gets a fresh pair; most first program it as Linux does
 * (vector bases 0x20/0x28, cascade on IR2, 8086 mode) and unmask every
 * input.  wr/rd reach the ports by chip and offset as the bus would; the
 * output callback counts INTR transitions.
 */
#include <criterion/criterion.h>

#include "devices/pic.h"

enum { CMD, DATA };
#define M PIC_MASTER
#define S PIC_SLAVE

static struct pic *pic;
static int out_level = -1, out_changes;

static void out_cb(void *ctx, bool level)
{
	cr_assert_eq(ctx, &out_level);
	out_level = level;
	out_changes++;
}

static void setup(void)
{
	pic = pic_new();
	cr_assert_not_null(pic);
	out_level = -1;
	out_changes = 0;
	pic_set_output_cb(pic, out_cb, &out_level);
}

static void teardown(void)
{
	pic_free(pic);
}

TestSuite(pic, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t rd(int chip, unsigned off)
{
	return (uint8_t)pic_io_read(pic_chip_opaque(pic, chip), off, 1);
}

static void wr(int chip, unsigned off, uint8_t v)
{
	pic_io_write(pic_chip_opaque(pic, chip), off, 1, v);
}

static void elcr(unsigned off, uint8_t v)
{
	pic_elcr_write(pic, off, 1, v);
}

/* ICW1..ICW4 on one chip, then OCW1. */
static void init_chip(int chip, uint8_t icw1, uint8_t base, uint8_t icw3,
                      uint8_t icw4, uint8_t imr)
{
	wr(chip, CMD, icw1);
	wr(chip, DATA, base);
	wr(chip, DATA, icw3);
	wr(chip, DATA, icw4);
	wr(chip, DATA, imr);
}

static void init_linux(uint8_t icw4)
{
	init_chip(M, 0x11, 0x20, 0x04, icw4, 0x00);
	init_chip(S, 0x11, 0x28, 0x02, icw4, 0x00);
}

static uint8_t irr(int chip)
{
	wr(chip, CMD, 0x0A);
	return rd(chip, CMD);
}

static uint8_t isr(int chip)
{
	wr(chip, CMD, 0x0B);
	return rd(chip, CMD);
}

static void pulse(int irq)
{
	pic_set_irq(pic, irq, 1);
	pic_set_irq(pic, irq, 0);
}

Test(pic, power_on_all_masked)
{
	cr_assert_eq(rd(M, DATA), 0xFF);
	cr_assert_eq(rd(S, DATA), 0xFF);
	pic_set_irq(pic, 0, 1);
	cr_assert_not(pic_output(pic));
	cr_assert_eq(rd(M, CMD), 0x01, "IRR read by default, request kept");
	wr(M, DATA, 0xFE);
	cr_assert(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x08, "BIOS vector base");
}

Test(pic, linux_remap_vectors)
{
	init_linux(0x01);
	cr_assert_eq(rd(M, DATA), 0x00, "ICW1 clears IMR; OCW1 after ICW4");
	pulse(1);
	cr_assert(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x21);
	wr(M, CMD, 0x20);
	pulse(9);
	cr_assert_eq(pic_ack(pic), 0x29);
	cr_assert_eq(isr(S), 0x02);
	cr_assert_eq(isr(M), 0x04, "IRQ1 was EOIed");
}

Test(pic, icw2_low_bits_ignored_and_short_sequence)
{
	/* Single, no ICW4: ICW2 is the last ICW, next data write is IMR. */
	wr(M, CMD, 0x12);
	wr(M, DATA, 0x47);
	wr(M, DATA, 0xF7);
	cr_assert_eq(rd(M, DATA), 0xF7);
	pulse(3);
	cr_assert_eq(pic_ack(pic), 0x43);
}

Test(pic, imr_masks_output_not_irr)
{
	init_linux(0x01);
	wr(M, DATA, 0x08);
	pic_set_irq(pic, 3, 1);
	cr_assert_not(pic_output(pic));
	cr_assert_eq(out_changes, 0);
	cr_assert_eq(irr(M), 0x08);
	wr(M, DATA, 0x00);
	cr_assert(pic_output(pic));
	cr_assert_eq(out_level, 1, "unmasking through the bus raises INTR");
	wr(M, DATA, 0x08);
	cr_assert_eq(out_level, 0);
	cr_assert_eq(pic_ack(pic), 0x27, "masked: spurious");
	cr_assert_eq(isr(M), 0x00);
}

Test(pic, edge_latched_once_per_rising_edge)
{
	init_linux(0x01);
	pic_set_irq(pic, 4, 1);
	cr_assert_eq(pic_ack(pic), 0x24);
	cr_assert_eq(irr(M), 0x00, "edge latch consumed by INTA");
	wr(M, CMD, 0x20);
	cr_assert_not(pic_output(pic), "line held high: no new request");
	pic_set_irq(pic, 4, 1);
	cr_assert_not(pic_output(pic));
	pic_set_irq(pic, 4, 0);
	pic_set_irq(pic, 4, 1);
	cr_assert(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x24);
	wr(M, CMD, 0x20);
	pic_set_irq(pic, 4, 0);
	pulse(4);
	cr_assert(pic_output(pic), "a pulse stays latched");
	cr_assert_eq(pic_ack(pic), 0x24);
}

Test(pic, level_follows_line)
{
	init_linux(0x01);
	elcr(0, 0x20);
	pic_set_irq(pic, 5, 1);
	cr_assert_eq(irr(M), 0x20);
	pic_set_irq(pic, 5, 0);
	cr_assert_eq(irr(M), 0x00);
	cr_assert_not(pic_output(pic));
	pic_set_irq(pic, 5, 1);
	cr_assert_eq(pic_ack(pic), 0x25);
	cr_assert_eq(irr(M), 0x20, "INTA does not clear a level request");
	cr_assert_not(pic_output(pic), "in service");
	wr(M, CMD, 0x20);
	cr_assert(pic_output(pic), "still asserted after EOI");
}

Test(pic, ltim_makes_all_inputs_level)
{
	init_chip(M, 0x19, 0x20, 0x04, 0x01, 0x00);
	pic_set_irq(pic, 6, 1);
	pic_set_irq(pic, 6, 0);
	cr_assert_not(pic_output(pic));
	cr_assert_eq(irr(M), 0x00);
}

Test(pic, elcr_reserved_bits)
{
	pic_elcr_write(pic, 0, 2, 0xFFFF);
	cr_assert_eq(pic_elcr_read(pic, 0, 2), 0xDEF8);
	cr_assert_eq(pic_elcr_read(pic, 1, 1), 0xDE);
}

Test(pic, priority_irq0_over_irq3)
{
	init_linux(0x01);
	pic_set_irq(pic, 3, 1);
	pic_set_irq(pic, 0, 1);
	cr_assert_eq(pic_ack(pic), 0x20);
	cr_assert_not(pic_output(pic), "IRQ3 waits behind IRQ0 in service");
	wr(M, CMD, 0x20);
	cr_assert(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x23);
}

Test(pic, slave_irqs_at_ir2_priority)
{
	init_linux(0x01);
	pic_set_irq(pic, 3, 1);
	pic_set_irq(pic, 12, 1);
	cr_assert_eq(pic_ack(pic), 0x2C, "IRQ12 via IR2 beats IRQ3");
	pic_set_irq(pic, 1, 1);
	cr_assert(pic_output(pic), "IRQ1 outranks IR2 in service");
	cr_assert_eq(pic_ack(pic), 0x21);
	cr_assert_eq(isr(M), 0x06);
}

Test(pic, cascade_sets_both_isr_bits)
{
	init_linux(0x01);
	pic_set_irq(pic, 14, 1);
	cr_assert_eq(irr(M), 0x04);
	cr_assert_eq(irr(S), 0x40);
	cr_assert_eq(pic_ack(pic), 0x2E);
	cr_assert_eq(isr(M), 0x04);
	cr_assert_eq(isr(S), 0x40);
	pic_set_irq(pic, 8, 1);
	cr_assert_not(pic_output(pic), "IR2 in service on the master");
	wr(S, CMD, 0x20);
	wr(M, CMD, 0x20);
	cr_assert(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x28);
}

Test(pic, masked_lines_on_either_chip)
{
	init_linux(0x01);
	wr(S, DATA, 0x01);
	pic_set_irq(pic, 8, 1);
	cr_assert_not(pic_output(pic), "masked on the slave: INT low");
	cr_assert_eq(irr(S), 0x01);
	cr_assert_eq(irr(M), 0x00);
	wr(M, DATA, 0x04);
	wr(S, DATA, 0x00);
	cr_assert_not(pic_output(pic), "IR2 masked on the master");
	cr_assert_eq(irr(M), 0x04);
	wr(M, DATA, 0x00);
	cr_assert(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x28);
}

Test(pic, nonspecific_and_specific_eoi)
{
	init_linux(0x01);
	pic_set_irq(pic, 3, 1);
	cr_assert_eq(pic_ack(pic), 0x23);
	pic_set_irq(pic, 1, 1);
	cr_assert_eq(pic_ack(pic), 0x21);
	cr_assert_eq(isr(M), 0x0A);
	wr(M, CMD, 0x20);
	cr_assert_eq(isr(M), 0x08, "non-specific EOI: highest in service");
	wr(M, CMD, 0x20);
	cr_assert_eq(isr(M), 0x00);
	pic_set_irq(pic, 5, 1);
	pic_set_irq(pic, 6, 1);
	cr_assert_eq(pic_ack(pic), 0x25);
	wr(M, CMD, 0x65);
	cr_assert_eq(isr(M), 0x00, "specific EOI for IR5");
	cr_assert_eq(pic_ack(pic), 0x26);
	wr(M, CMD, 0x62);
	cr_assert_eq(isr(M), 0x40, "specific EOI of a level not in service");
}

Test(pic, auto_eoi)
{
	init_linux(0x03);
	pic_set_irq(pic, 3, 1);
	pic_set_irq(pic, 0, 1);
	cr_assert_eq(pic_ack(pic), 0x20);
	cr_assert_eq(isr(M), 0x00);
	cr_assert(pic_output(pic), "nothing in service: IRQ3 next");
	cr_assert_eq(pic_ack(pic), 0x23);
	pic_set_irq(pic, 9, 1);
	pic_set_irq(pic, 10, 1);
	cr_assert_eq(pic_ack(pic), 0x29);
	cr_assert(pic_output(pic), "slave INT falls in INTA: new IR2 edge");
	cr_assert_eq(pic_ack(pic), 0x2A);
	cr_assert_eq(isr(S) | isr(M), 0x00);
}

Test(pic, ocw3_selects_irr_or_isr)
{
	init_linux(0x01);
	pic_set_irq(pic, 4, 1);
	pic_set_irq(pic, 6, 1);
	pic_ack(pic);
	cr_assert_eq(isr(M), 0x10);
	wr(M, CMD, 0x08);
	cr_assert_eq(rd(M, CMD), 0x10, "OCW3 without RR keeps ISR selected");
	cr_assert_eq(irr(M), 0x40);
	cr_assert_eq(rd(M, CMD), 0x40);
	cr_assert_eq(rd(M, DATA), 0x00, "data port still reads IMR");
}

Test(pic, poll_mode)
{
	init_linux(0x01);
	wr(M, CMD, 0x0C);
	cr_assert_eq(rd(M, CMD), 0x00, "nothing pending");
	pic_set_irq(pic, 3, 1);
	pic_set_irq(pic, 5, 1);
	wr(M, CMD, 0x0C);
	cr_assert_eq(rd(M, DATA), 0x83, "poll read acknowledges");
	cr_assert_eq(isr(M), 0x08);
	cr_assert_eq(irr(M), 0x20);
	cr_assert_eq(rd(M, CMD), 0x20, "one read only: back to IRR");
	wr(M, CMD, 0x20);
	wr(M, CMD, 0x0C);
	cr_assert_eq(rd(M, CMD), 0x85);
	cr_assert_not(pic_output(pic));
}

Test(pic, spurious_irq7_when_level_drops)
{
	init_linux(0x01);
	cr_assert_eq(pic_ack(pic), 0x27, "INTA with nothing pending");
	elcr(0, 0x08);
	pic_set_irq(pic, 3, 1);
	cr_assert(pic_output(pic));
	pic_set_irq(pic, 3, 0);
	cr_assert_not(pic_output(pic));
	cr_assert_eq(pic_ack(pic), 0x27);
	cr_assert_eq(isr(M), 0x00, "spurious sets no ISR bit");
}

Test(pic, spurious_irq15_on_slave)
{
	init_linux(0x01);
	elcr(1, 0x04);
	pic_set_irq(pic, 10, 1);
	pic_set_irq(pic, 10, 0);
	cr_assert(pic_output(pic), "master IR2 edge stays latched");
	cr_assert_eq(pic_ack(pic), 0x2F);
	cr_assert_eq(isr(S), 0x00);
	cr_assert_eq(isr(M), 0x04, "master still puts IR2 in service");
}

Test(pic, rotation)
{
	init_linux(0x01);
	wr(M, CMD, 0xC4);               /* set priority: IR4 lowest */
	pic_set_irq(pic, 4, 1);
	pic_set_irq(pic, 5, 1);
	pic_set_irq(pic, 0, 1);
	cr_assert_eq(pic_ack(pic), 0x25, "IR5 now highest");
	wr(M, CMD, 0xA0);               /* rotate on non-specific EOI */
	cr_assert_eq(pic_ack(pic), 0x20, "IR5 lowest: IR0 before IR4");
	wr(M, CMD, 0xE0);               /* rotate on specific EOI of IR0 */
	pic_set_irq(pic, 5, 0);
	pic_set_irq(pic, 5, 1);
	cr_assert_eq(pic_ack(pic), 0x24, "IR0 lowest: IR1 highest, then IR4");
}

Test(pic, rotate_in_aeoi_mode)
{
	init_linux(0x03);
	wr(M, CMD, 0x80);
	pic_set_irq(pic, 1, 1);
	pic_set_irq(pic, 3, 1);
	cr_assert_eq(pic_ack(pic), 0x21);
	pic_set_irq(pic, 1, 0);
	pic_set_irq(pic, 1, 1);
	cr_assert_eq(pic_ack(pic), 0x23, "IR1 rotated to lowest");
	wr(M, CMD, 0x00);
	cr_assert_eq(pic_ack(pic), 0x21);
}

Test(pic, special_mask_mode)
{
	init_linux(0x01);
	pic_set_irq(pic, 3, 1);
	cr_assert_eq(pic_ack(pic), 0x23);
	pic_set_irq(pic, 6, 1);
	cr_assert_not(pic_output(pic));
	wr(M, DATA, 0x08);
	wr(M, CMD, 0x68);               /* set special mask */
	cr_assert(pic_output(pic), "lower level enabled in SMM");
	cr_assert_eq(pic_ack(pic), 0x26);
	wr(M, CMD, 0x48);               /* reset special mask */
	cr_assert_eq(isr(M), 0x48);
}

Test(pic, icw1_resets_state)
{
	init_linux(0x01);
	pic_set_irq(pic, 1, 1);
	pic_ack(pic);
	pic_set_irq(pic, 4, 1);
	init_chip(M, 0x11, 0x30, 0x04, 0x01, 0x00);
	cr_assert_eq(isr(M), 0x00);
	cr_assert_eq(irr(M), 0x00, "edge sense latches reset");
	cr_assert_not(pic_output(pic));
	pic_set_irq(pic, 4, 0);
	pic_set_irq(pic, 4, 1);
	cr_assert_eq(pic_ack(pic), 0x34);
}

Test(pic, irq2_and_out_of_range_ignored)
{
	init_linux(0x01);
	pic_set_irq(pic, 2, 1);
	pic_set_irq(pic, 16, 1);
	pic_set_irq(pic, -1, 1);
	cr_assert_not(pic_output(pic));
	cr_assert_eq(irr(M), 0x00);
}

Test(pic, special_fully_nested_mode)
{
	init_chip(M, 0x11, 0x20, 0x04, 0x11, 0x00);
	init_chip(S, 0x11, 0x28, 0x02, 0x01, 0x00);
	pic_set_irq(pic, 12, 1);
	cr_assert_eq(pic_ack(pic), 0x2C);
	pic_set_irq(pic, 3, 1);
	cr_assert_not(pic_output(pic), "IR3 still below IR2 in service");
	pic_set_irq(pic, 9, 1);
	cr_assert(pic_output(pic), "a higher slave request nests");
	cr_assert_eq(pic_ack(pic), 0x29);
	cr_assert_eq(isr(S), 0x12);
	cr_assert_eq(isr(M), 0x04);
}

Test(pic, word_access_is_two_ports)
{
	init_linux(0x01);
	pic_io_write(pic_chip_opaque(pic, M), 0, 2, 0xF70A);
	cr_assert_eq(rd(M, DATA), 0xF7);
	pic_set_irq(pic, 3, 1);
	cr_assert_eq(pic_io_read(pic_chip_opaque(pic, M), 0, 2), 0xF708);
	cr_assert_eq(pic_io_read(pic_chip_opaque(pic, M), 1, 2), 0xFFF7);
}
