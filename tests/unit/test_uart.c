/*
 * test_uart.c — register-level tests of the 16550A model (devices/uart.c).
 *
 * Each test gets a fresh UART whose transmitter appends to `sent`; rd/wr
 * access registers by offset as the bus would.  The threaded tests check
 * the flow-controlled receive path used by the stdio console.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <time.h>

#include "devices/uart.h"

enum { DATA, IER, IIR, FCR = IIR, LCR, MCR, LSR, MSR, SCR };

static struct uart *u;
static uint8_t sent[64];
static unsigned nsent;

static void tx(void *ctx, uint8_t byte)
{
	cr_assert_eq(ctx, &nsent);
	if (nsent < sizeof(sent))
		sent[nsent++] = byte;
}

static void setup(void)
{
	nsent = 0;
	u = uart_new(tx, &nsent);
	cr_assert_not_null(u);
}

static void teardown(void)
{
	uart_free(u);
}

TestSuite(uart, .init = setup, .fini = teardown, .timeout = 60);

static uint8_t rd(unsigned off)
{
	return (uint8_t)uart_read(u, off, 1);
}

static void wr(unsigned off, uint8_t v)
{
	uart_write(u, off, 1, v);
}

Test(uart, reset_state)
{
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(rd(LSR), 0x60);
	cr_assert_eq(rd(IER), 0);
	cr_assert_eq(rd(LCR), 0);
	cr_assert_eq(rd(MCR), 0);
	cr_assert_eq(rd(MSR), 0xB0, "DCD, DSR, CTS of an attached terminal");
	cr_assert_not(uart_irq_pending(u));
}

Test(uart, dlab_selects_divisor_latch)
{
	wr(IER, 0x05);
	wr(LCR, 0x83);
	wr(DATA, 0x01);
	wr(IER, 0x02);
	cr_assert_eq(rd(DATA), 0x01);
	cr_assert_eq(rd(IER), 0x02);
	cr_assert_eq(nsent, 0, "a DLL write is not transmitted");
	wr(LCR, 0x03);
	cr_assert_eq(rd(LCR), 0x03);
	cr_assert_eq(rd(IER), 0x05, "IER kept while DLAB was set");
	wr(DATA, 'x');
	cr_assert_eq(nsent, 1);
	wr(LCR, 0x80);
	cr_assert_eq(rd(DATA), 0x01, "divisor survives DLAB toggling");
	cr_assert_eq(rd(IER), 0x02);
}

Test(uart, scratch_register)
{
	for (unsigned v = 0; v < 256; v += 51) {
		wr(SCR, (uint8_t)v);
		cr_assert_eq(rd(SCR), v);
	}
}

Test(uart, ier_keeps_low_nibble)
{
	wr(IER, 0xFF);
	cr_assert_eq(rd(IER), 0x0F);
}

Test(uart, transmit_is_instant)
{
	const char *msg = "hi!\n";

	for (const char *p = msg; *p; p++) {
		cr_assert_eq(rd(LSR) & 0x60, 0x60, "THRE and TEMT");
		wr(DATA, (uint8_t)*p);
	}
	cr_assert_eq(nsent, 4);
	cr_assert_arr_eq(sent, msg, 4);
	cr_assert_eq(rd(LSR), 0x60);
}

Test(uart, wide_access_is_byte_access)
{
	uart_write(u, SCR, 4, 0x12345678);
	cr_assert_eq(uart_read(u, SCR, 4), 0x78);
	cr_assert_eq(uart_read(u, LSR, 2), 0x60);
}

Test(uart, rx_16450_mode_holds_one_byte)
{
	uart_rx_push(u, 'a');
	cr_assert_eq(rd(LSR), 0x61);
	cr_assert_eq(rd(DATA), 'a');
	cr_assert_eq(rd(LSR), 0x60);
	uart_rx_push(u, 'b');
	uart_rx_push(u, 'c');
	cr_assert_eq(rd(LSR), 0x63, "DR and OE");
	cr_assert_eq(rd(LSR), 0x61, "OE cleared by reading LSR");
	cr_assert_eq(rd(DATA), 'c', "the new byte destroyed the old");
	cr_assert_eq(rd(DATA), 'c', "an empty RBR repeats the last byte");
	cr_assert_eq(rd(LSR), 0x60);
}

Test(uart, rx_fifo_order_and_overrun)
{
	wr(FCR, 0x01);
	for (unsigned i = 0; i < UART_FIFO_LEN; i++)
		uart_rx_push(u, (uint8_t)('A' + i));
	cr_assert_eq(rd(LSR), 0x61, "a full FIFO is no overrun");
	uart_rx_push(u, '!');
	cr_assert_eq(rd(LSR), 0x63);
	for (unsigned i = 0; i < UART_FIFO_LEN; i++) {
		cr_assert(rd(LSR) & 0x01);
		cr_assert_eq(rd(DATA), 'A' + i);
	}
	cr_assert_eq(rd(LSR), 0x60, "the overrunning byte was lost");
}

Test(uart, fcr_enables_and_clears_fifos)
{
	cr_assert_eq(rd(IIR) & 0xC0, 0);
	wr(FCR, 0x01);
	cr_assert_eq(rd(IIR), 0xC1);
	uart_rx_push(u, 1);
	uart_rx_push(u, 2);
	wr(FCR, 0x03);
	cr_assert_eq(rd(LSR), 0x60, "FCR[1] cleared the receive FIFO");
	cr_assert_eq(rd(IIR), 0xC1, "FIFOs still on");
	uart_rx_push(u, 3);
	wr(FCR, 0x00);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_eq(rd(LSR), 0x60, "turning the FIFOs off empties them");
	wr(FCR, 0x06);
	cr_assert_eq(rd(IIR), 0x01, "other bits need FCR[0]");
}

Test(uart, loopback_routes_tx_to_rx)
{
	wr(MCR, 0x10);
	wr(DATA, 'L');
	cr_assert_eq(nsent, 0, "nothing leaves in loopback");
	cr_assert_eq(rd(LSR), 0x61);
	cr_assert_eq(rd(DATA), 'L');
	uart_rx_push(u, 'x');
	cr_assert_eq(rd(LSR), 0x60, "the line is disconnected in loopback");
	wr(MCR, 0x00);
	wr(DATA, 'T');
	cr_assert_eq(nsent, 1);
	cr_assert_eq(sent[0], 'T');
}

Test(uart, loopback_modem_inputs_follow_mcr)
{
	static const struct { uint8_t mcr, status; } map[] = {
		{ 0x10, 0x00 }, { 0x11, 0x20 }, { 0x12, 0x10 },
		{ 0x14, 0x40 }, { 0x18, 0x80 }, { 0x1F, 0xF0 },
	};

	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		wr(MCR, map[i].mcr);
		cr_assert_eq(rd(MSR) & 0xF0, map[i].status, "MCR %#x",
		             map[i].mcr);
	}
	wr(MCR, 0x0F);
	cr_assert_eq(rd(MSR) & 0xF0, 0xB0, "outside loopback: the line");
}

Test(uart, msr_deltas_set_on_change_cleared_on_read)
{
	wr(MCR, 0x10);          /* DCD, DSR, CTS drop */
	cr_assert_eq(rd(MSR), 0x0B);
	cr_assert_eq(rd(MSR), 0x00);
	wr(MCR, 0x14);          /* RI rises: no delta */
	cr_assert_eq(rd(MSR), 0x40);
	wr(MCR, 0x10);          /* RI falls: trailing edge */
	cr_assert_eq(rd(MSR), 0x04);
	wr(MCR, 0x12);          /* CTS rises */
	cr_assert_eq(rd(MSR), 0x11);
	wr(MCR, 0x12);          /* no change, no delta */
	cr_assert_eq(rd(MSR), 0x10);
}

Test(uart, ier_masks_interrupts)
{
	uart_rx_push(u, 'a');
	cr_assert_eq(rd(IIR), 0x01, "RDA masked");
	wr(IER, 0x01);
	cr_assert_eq(rd(IIR), 0x04);
	wr(IER, 0x00);
	cr_assert_eq(rd(IIR), 0x01);
	wr(IER, 0x02);
	cr_assert_eq(rd(IIR), 0x02, "enabling THRE raises it: THR is empty");
	cr_assert_eq(rd(IIR), 0x01, "reading IIR acknowledged it");
	wr(DATA, 'z');
	cr_assert_eq(rd(IIR), 0x02, "THR empty again after a write");
}

Test(uart, iir_priorities)
{
	wr(IER, 0x0F);
	wr(MCR, 0x10);          /* modem status deltas */
	cr_assert_eq(rd(IIR), 0x02, "THRE above modem status");
	cr_assert_eq(rd(IIR), 0x00, "then modem status");
	wr(DATA, 1);            /* loopback: data received */
	cr_assert_eq(rd(IIR), 0x04, "RDA above THRE");
	wr(DATA, 2);            /* overrun */
	cr_assert_eq(rd(IIR), 0x06, "line status above RDA");
	cr_assert_eq(rd(LSR), 0x63);
	cr_assert_eq(rd(IIR), 0x04, "LSR read cleared line status");
	cr_assert_eq(rd(DATA), 2);
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_eq(rd(IIR), 0x00);
	cr_assert_eq(rd(MSR), 0x0B);
	cr_assert_eq(rd(IIR), 0x01, "nothing left");
}

Test(uart, fifo_trigger_level_and_timeout)
{
	wr(FCR, 0xC1);          /* trigger at 14 bytes */
	wr(IER, 0x01);
	uart_rx_push(u, 0);
	cr_assert_eq(rd(IIR), 0xCC, "below the trigger: character timeout");
	for (unsigned i = 1; i < 14; i++)
		uart_rx_push(u, (uint8_t)i);
	cr_assert_eq(rd(IIR), 0xC4);
	rd(DATA);
	cr_assert_eq(rd(IIR), 0xCC);
	wr(FCR, 0x01);          /* trigger at 1 byte */
	uart_rx_push(u, 0);
	cr_assert_eq(rd(IIR), 0xC4);
}

Test(uart, irq_line_gated_by_out2)
{
	wr(IER, 0x02);
	cr_assert_not(uart_irq_pending(u), "OUT2 closed");
	wr(MCR, 0x08);
	cr_assert(uart_irq_pending(u));
	wr(MCR, 0x18);
	cr_assert(uart_irq_pending(u), "the OUT2 bit gates, in loopback too");
	wr(MCR, 0x10);
	cr_assert_not(uart_irq_pending(u), "loopback without OUT2");
	wr(MCR, 0x08);
	cr_assert(uart_irq_pending(u));
	rd(IIR);
	cr_assert_not(uart_irq_pending(u), "THRE acknowledged");
}

/* A guest driver's self-test: in loopback with OUT2 set, its own bytes
 * come back through received-data interrupts, THRE interrupts follow each
 * write, and the line shows every one of them. */
Test(uart, loopback_interrupts_reach_the_line)
{
	wr(MCR, 0x18);
	wr(IER, 0x03);
	cr_assert(uart_irq_pending(u), "THRE at once: THR is empty");
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_not(uart_irq_pending(u));
	wr(DATA, 'a');
	cr_assert(uart_irq_pending(u));
	cr_assert_eq(rd(IIR), 0x04, "received data first");
	cr_assert_eq(rd(DATA), 'a');
	cr_assert(uart_irq_pending(u), "then THRE of the write");
	cr_assert_eq(rd(IIR), 0x02);
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_not(uart_irq_pending(u));
	cr_assert_eq(nsent, 0, "nothing left on the line");
}

Test(uart, loopback_fifo_fills_then_overruns)
{
	wr(MCR, 0x10);
	wr(FCR, 0x01);
	for (unsigned i = 0; i <= UART_FIFO_LEN; i++)
		wr(DATA, (uint8_t)('a' + i));
	cr_assert_eq(rd(LSR), 0x63, "the 17th byte overran");
	for (unsigned i = 0; i < UART_FIFO_LEN; i++)
		cr_assert_eq(rd(DATA), 'a' + i);
	cr_assert_eq(rd(LSR), 0x60);
	cr_assert_eq(nsent, 0);
}

/* Modem status interrupts: a delta bit raises one (with IER bit 3),
 * reading MSR clears the deltas and with them the interrupt. */
Test(uart, msr_interrupt_raised_by_deltas_cleared_by_msr_read)
{
	wr(IER, 0x08);
	wr(MCR, 0x08);
	cr_assert_not(uart_irq_pending(u), "no delta yet");
	wr(MCR, 0x1A);          /* loopback: CTS, DCD stay; DSR drops */
	cr_assert(uart_irq_pending(u));
	cr_assert_eq(rd(IIR), 0x00, "modem status");
	cr_assert(uart_irq_pending(u), "reading IIR does not clear it");
	cr_assert_eq(rd(MSR), 0x92, "DCD, CTS, delta DSR");
	cr_assert_eq(rd(IIR), 0x01);
	cr_assert_not(uart_irq_pending(u));
	wr(MCR, 0x1E);          /* OUT1 -> RI rises: no delta */
	cr_assert_not(uart_irq_pending(u));
	wr(MCR, 0x1A);          /* RI falls: trailing edge */
	cr_assert(uart_irq_pending(u));
	cr_assert_eq(rd(MSR), 0x94);
	cr_assert_not(uart_irq_pending(u));
	wr(IER, 0x00);
	wr(MCR, 0x18);          /* CTS drops with the interrupt disabled */
	cr_assert_not(uart_irq_pending(u));
	wr(IER, 0x08);
	cr_assert(uart_irq_pending(u), "a delta kept while masked");
}

/* --- the flow-controlled receive path ------------------------------------ */

#define NBYTES 200

struct pusher {
	const uint8_t *bytes;
	unsigned n, pushed;
	bool result;
};

static void *push_all(void *arg)
{
	struct pusher *p = arg;

	p->result = true;
	for (p->pushed = 0; p->pushed < p->n; p->pushed++)
		if (!uart_rx_push_wait(u, p->bytes[p->pushed])) {
			p->result = false;
			break;
		}
	return NULL;
}

static bool wait_data(void)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		if (rd(LSR) & 0x01)
			return true;
		nanosleep(&ms, NULL);
	}
	return false;
}

/* A thread pushes NBYTES while this one reads them as a polling driver
 * would: nothing may be lost or overrun, whatever the receiver depth. */
static void push_and_read_all(void)
{
	uint8_t bytes[NBYTES];
	struct pusher p = { .bytes = bytes, .n = NBYTES };
	pthread_t t;

	for (unsigned i = 0; i < NBYTES; i++)
		bytes[i] = (uint8_t)(i * 7);
	cr_assert_eq(pthread_create(&t, NULL, push_all, &p), 0);
	for (unsigned i = 0; i < NBYTES; i++) {
		cr_assert(wait_data(), "byte %u never arrived", i);
		cr_assert_eq(rd(LSR) & 0x02, 0, "no overrun");
		cr_assert_eq(rd(DATA), bytes[i]);
	}
	pthread_join(t, NULL);
	cr_assert(p.result);
	cr_assert_eq(rd(LSR), 0x60);
}

Test(uart, push_wait_16450_mode)
{
	push_and_read_all();
}

Test(uart, push_wait_fifo_mode)
{
	wr(FCR, 0x01);
	push_and_read_all();
}

Test(uart, push_wait_waits_out_loopback_and_stops)
{
	uint8_t bytes[2] = { 'k', 'q' };
	struct pusher p = { .bytes = bytes, .n = 2 };
	struct timespec pause = { 0, 50000000 };
	pthread_t t;

	wr(MCR, 0x10);
	cr_assert_eq(pthread_create(&t, NULL, push_all, &p), 0);
	nanosleep(&pause, NULL);
	cr_assert_eq(rd(LSR) & 0x01, 0, "nothing arrives in loopback");
	wr(MCR, 0x00);
	cr_assert(wait_data());
	cr_assert_eq(rd(LSR) & 0x02, 0);
	/* 'q' waits for room behind the unread 'k' until the receiver stops. */
	nanosleep(&pause, NULL);
	uart_rx_stop(u);
	pthread_join(t, NULL);
	cr_assert_not(p.result);
	cr_assert_eq(p.pushed, 1);
	cr_assert_eq(rd(DATA), 'k');
	cr_assert_eq(rd(LSR) & 0x01, 0);
	cr_assert_not(uart_rx_push_wait(u, 'z'), "stopped for good");
}
