/*
 * uart.c — the 16550A model behind uart.h.
 *
 * Registers (offset: read / write), after the National/TI data sheet:
 *   0  RBR / THR          (DLL when LCR.DLAB)
 *   1  IER / IER          (DLM when LCR.DLAB)
 *   2  IIR / FCR
 *   3  LCR   4  MCR   5  LSR   6  MSR   7  SCR
 *
 * Transmission is instant: THR and the shift register are always empty,
 * so LSR always shows THRE|TEMT and a write to THR goes straight to the tx
 * callback (or, in loopback, into the receiver).  The receiver holds one
 * byte in 16450 mode and UART_FIFO_LEN bytes once FCR[0] enables the
 * FIFOs; a byte that finds no room sets OE.
 *
 * Loopback (MCR bit 4): THR feeds the receiver, the line is disconnected
 * (uart_rx_push drops, uart_rx_push_wait waits), and MSR's inputs follow
 * MCR: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD, with their delta
 * bits and modem status interrupt as for a real line change.
 *
 * Interrupt identification is recomputed from the state on every IIR read,
 * in the data sheet's priority order: receiver line status, received data
 * (or character timeout), THR empty, modem status.  The model has no clock,
 * so with FIFOs on a receive FIFO below its trigger level reports the
 * character timeout at once instead of four character times later.
 *
 * Locking: u->lock guards every field; u->room is signalled whenever the
 * receiver may have gained room for uart_rx_push_wait.
 */
#include "devices/uart.h"

#include <pthread.h>
#include <stdlib.h>

enum {
	REG_DATA, REG_IER, REG_IIR_FCR, REG_LCR, REG_MCR, REG_LSR, REG_MSR,
	REG_SCR,
};

#define IER_RDA     0x01
#define IER_THRE    0x02
#define IER_RLS     0x04
#define IER_MS      0x08
#define IER_MASK    0x0F

#define IIR_MS      0x00
#define IIR_NONE    0x01
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0C
#define IIR_FIFO    0xC0

#define FCR_ENABLE  0x01
#define FCR_CLR_RX  0x02
#define FCR_KEEP    0xC9        /* enable, DMA mode, trigger level */

#define LCR_DLAB    0x80

#define MCR_DTR     0x01
#define MCR_RTS     0x02
#define MCR_OUT1    0x04
#define MCR_OUT2    0x08
#define MCR_LOOP    0x10
#define MCR_MASK    0x1F

#define LSR_DR      0x01
#define LSR_OE      0x02
#define LSR_THRE    0x20
#define LSR_TEMT    0x40

#define MSR_DELTAS  0x0F
#define MSR_DCTS    0x01
#define MSR_DDSR    0x02
#define MSR_TERI    0x04
#define MSR_DDCD    0x08
#define MSR_CTS     0x10
#define MSR_DSR     0x20
#define MSR_RI      0x40
#define MSR_DCD     0x80
/* Outside loopback a terminal is attached and ready. */
#define MSR_LINE    (MSR_DCD | MSR_DSR | MSR_CTS)

struct uart {
	pthread_mutex_t lock;
	pthread_cond_t room;
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
	uint8_t rx[UART_FIFO_LEN];
	unsigned rx_head, rx_count;
	uint8_t rbr;            /* last byte read: what an empty RBR shows */
	uint8_t ier, fcr, lcr, mcr, msr, scr, dll, dlm;
	uint8_t lsr_err;        /* OE until LSR is read */
	bool thre_pending;      /* THRE interrupt not yet acknowledged */
	bool rx_stopped;
};

struct uart *uart_new(void (*tx)(void *ctx, uint8_t byte), void *ctx)
{
	struct uart *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->room, NULL);
	u->tx = tx;
	u->tx_ctx = ctx;
	u->msr = MSR_LINE;
	u->dll = 12;            /* 9600 baud, as a BIOS leaves COM1 */
	return u;
}

void uart_free(struct uart *u)
{
	if (!u)
		return;
	pthread_cond_destroy(&u->room);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* --- receiver ------------------------------------------------------------ */

static unsigned uart_rx_capacity(const struct uart *u)
{
	return (u->fcr & FCR_ENABLE) ? UART_FIFO_LEN : 1;
}

static bool uart_rx_has_room(const struct uart *u)
{
	return u->rx_count < uart_rx_capacity(u) && !(u->mcr & MCR_LOOP);
}

/* A byte reaches the receive shift register. */
static void uart_rx_receive(struct uart *u, uint8_t byte)
{
	if (u->rx_count < uart_rx_capacity(u)) {
		u->rx[(u->rx_head + u->rx_count++) % UART_FIFO_LEN] = byte;
		return;
	}
	u->lsr_err |= LSR_OE;
	/* 16450 mode: the new byte destroys the one in RBR.  FIFO mode: the
	 * FIFO is kept and the byte in the shift register is lost. */
	if (!(u->fcr & FCR_ENABLE))
		u->rx[u->rx_head] = byte;
}

static uint8_t uart_rx_pop(struct uart *u)
{
	if (u->rx_count) {
		u->rbr = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_LEN;
		u->rx_count--;
		pthread_cond_broadcast(&u->room);
	}
	return u->rbr;
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_count = 0;
	pthread_cond_broadcast(&u->room);
}

void uart_rx_push(struct uart *u, uint8_t byte)
{
	pthread_mutex_lock(&u->lock);
	if (!(u->mcr & MCR_LOOP))
		uart_rx_receive(u, byte);
	pthread_mutex_unlock(&u->lock);
}

bool uart_rx_push_wait(struct uart *u, uint8_t byte)
{
	bool ok;

	pthread_mutex_lock(&u->lock);
	while (!u->rx_stopped && !uart_rx_has_room(u))
		pthread_cond_wait(&u->room, &u->lock);
	ok = !u->rx_stopped;
	if (ok)
		uart_rx_receive(u, byte);
	pthread_mutex_unlock(&u->lock);
	return ok;
}

void uart_rx_stop(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	u->rx_stopped = true;
	pthread_cond_broadcast(&u->room);
	pthread_mutex_unlock(&u->lock);
}

/* --- interrupts and modem status ---------------------------------------- */

static bool uart_rx_below_trigger(const struct uart *u)
{
	static const unsigned trigger[4] = { 1, 4, 8, 14 };

	return (u->fcr & FCR_ENABLE) && u->rx_count < trigger[u->fcr >> 6];
}

/* The highest-priority pending interrupt, as IIR bits 3:0. */
static uint8_t uart_iir_id(const struct uart *u)
{
	if ((u->ier & IER_RLS) && u->lsr_err)
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_count)
		return uart_rx_below_trigger(u) ? IIR_TIMEOUT : IIR_RDA;
	if ((u->ier & IER_THRE) && u->thre_pending)
		return IIR_THRE;
	if ((u->ier & IER_MS) && (u->msr & MSR_DELTAS))
		return IIR_MS;
	return IIR_NONE;
}

bool uart_irq_pending(struct uart *u)
{
	bool level;

	pthread_mutex_lock(&u->lock);
	level = uart_iir_id(u) != IIR_NONE && (u->mcr & MCR_OUT2);
	pthread_mutex_unlock(&u->lock);
	return level;
}

/* Modem status inputs: the line outside loopback, MCR's outputs inside. */
static uint8_t uart_modem_inputs(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_LINE;
	return (mcr & MCR_RTS ? MSR_CTS : 0) | (mcr & MCR_DTR ? MSR_DSR : 0) |
	       (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0);
}

/* New input levels; each change sets its delta bit (RI: trailing edge only). */
static void uart_set_modem_inputs(struct uart *u, uint8_t in)
{
	uint8_t old = u->msr, changed = old ^ in;
	uint8_t delta = old & MSR_DELTAS;

	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(in & MSR_RI))
		delta |= MSR_TERI;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	u->msr = in | delta;
}

/* --- registers ----------------------------------------------------------- */

static uint8_t uart_read_iir(struct uart *u)
{
	uint8_t id = uart_iir_id(u);

	if (id == IIR_THRE)
		u->thre_pending = false;  /* reading IIR acknowledges THRE */
	return id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
}

static uint8_t uart_read_lsr(struct uart *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT | u->lsr_err;

	if (u->rx_count)
		lsr |= LSR_DR;
	u->lsr_err = 0;
	return lsr;
}

static uint8_t uart_read_msr(struct uart *u)
{
	uint8_t msr = u->msr;

	u->msr &= ~MSR_DELTAS;
	return msr;
}

static uint8_t uart_read_reg(struct uart *u, unsigned reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_DATA:    return dlab ? u->dll : uart_rx_pop(u);
	case REG_IER:     return dlab ? u->dlm : u->ier;
	case REG_IIR_FCR: return uart_read_iir(u);
	case REG_LCR:     return u->lcr;
	case REG_MCR:     return u->mcr;
	case REG_LSR:     return uart_read_lsr(u);
	case REG_MSR:     return uart_read_msr(u);
	default:          return u->scr;
	}
}

/* THR: true when the byte leaves on the line (the caller sends it). */
static bool uart_write_thr(struct uart *u, uint8_t byte)
{
	u->thre_pending = true;   /* transmitted at once: THR is empty again */
	if (!(u->mcr & MCR_LOOP))
		return true;
	uart_rx_receive(u, byte);
	return false;
}

static void uart_write_ier(struct uart *u, uint8_t v)
{
	uint8_t enabled = (v & ~u->ier) & IER_THRE;

	u->ier = v & IER_MASK;
	/* THR is always empty, so enabling its interrupt raises it. */
	if (enabled)
		u->thre_pending = true;
	else if (!(u->ier & IER_THRE))
		u->thre_pending = false;
}

static void uart_write_fcr(struct uart *u, uint8_t v)
{
	/* Switching the FIFOs on or off empties them; with FCR[0] clear the
	 * other bits are not programmed. */
	if ((v ^ u->fcr) & FCR_ENABLE)
		uart_rx_clear(u);
	if (!(v & FCR_ENABLE)) {
		u->fcr = 0;
		return;
	}
	if (v & FCR_CLR_RX)
		uart_rx_clear(u);
	u->fcr = v & FCR_KEEP;
}

static void uart_write_mcr(struct uart *u, uint8_t v)
{
	u->mcr = v & MCR_MASK;
	uart_set_modem_inputs(u, uart_modem_inputs(u->mcr));
	pthread_cond_broadcast(&u->room);   /* loopback may have ended */
}

/* Returns true when `v` must be transmitted. */
static bool uart_write_reg(struct uart *u, unsigned reg, uint8_t v)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case REG_DATA:
		if (!dlab)
			return uart_write_thr(u, v);
		u->dll = v;
		break;
	case REG_IER:
		if (dlab)
			u->dlm = v;
		else
			uart_write_ier(u, v);
		break;
	case REG_IIR_FCR: uart_write_fcr(u, v); break;
	case REG_LCR:     u->lcr = v; break;
	case REG_MCR:     uart_write_mcr(u, v); break;
	case REG_SCR:     u->scr = v; break;
	default:          break;  /* LSR, MSR: factory test, not modelled */
	}
	return false;
}

uint64_t uart_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart *u = opaque;
	uint8_t v;

	(void)size;             /* every register is one byte wide */
	pthread_mutex_lock(&u->lock);
	v = uart_read_reg(u, offset % UART_NPORTS);
	pthread_mutex_unlock(&u->lock);
	return v;
}

void uart_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart *u = opaque;
	uint8_t byte = (uint8_t)value;
	bool send;

	(void)size;
	pthread_mutex_lock(&u->lock);
	send = uart_write_reg(u, offset % UART_NPORTS, byte);
	pthread_mutex_unlock(&u->lock);
	/* Unlocked: the host side may block, the input thread must not. */
	if (send && u->tx)
		u->tx(u->tx_ctx, byte);
}
