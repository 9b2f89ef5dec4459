/*
 * pit.c — the 8254 model behind pit.h (Intel 8254 data sheet; OSDev
 * "Programmable Interval Timer").
 *
 * Each channel keeps a timeline: t, the ticks since its counting element
 * (CE) was loaded, is offset + ticks(now - start) while counting and
 * offset when stopped.  OUT, the count, and the edges of OUT are pure
 * functions of (mode, n, t), n being the loaded count (1..65536, or
 * 1..10000 in BCD).  Ticks are floor(ns * 1193182 / 1e9), so the edge at
 * tick k falls at start + ceil(k * 1e9 / 1193182) exactly, without drift.
 *
 * A written count goes to the count register (CR) and reaches the CE as
 * the mode says: at once in modes 0 and 4, on a gate rising edge in 1 and
 * 5, at the end of the current period (or a gate edge) in modes 2 and 3.
 * NULL COUNT in the status byte is set while the CR holds a count not yet
 * in the CE.  Simplifications: the CE is loaded at the time of the write
 * rather than one clock later; in mode 3 a new count takes effect at the
 * end of the period, not of the half period; odd mode 3 counts read back
 * as (n - 1) counting down by two in each half.
 */
#include "devices/pit.h"

#include <stdlib.h>

#define NS_PER_S 1000000000ull

enum { RW_LATCH, RW_LO, RW_HI, RW_LOHI };

struct pit_chan {
	uint8_t mode;           /* as programmed, 0..7 */
	uint8_t rw, bcd;
	bool gate;
	bool loaded;            /* a count was written since the mode set */
	bool armed;             /* modes 1/5: triggered by the gate */
	bool running;           /* CE counting (t advances) */
	bool null_count;        /* CR holds a count not yet in the CE */
	bool wr_hi, rd_hi;      /* lobyte/hibyte flip-flops */
	bool latched, status_latched;
	uint8_t wr_lo, status;
	uint16_t latch, hold;   /* hold: what a stopped, unloaded CE shows */
	uint32_t n, cr;         /* CE start count, count register (decoded) */
	uint64_t start_ns;
	int64_t offset, pending_at; /* pending_at: ticks of a mode 2/3 reload */
};

struct pit {
	struct pit_chan ch[3];
	uint8_t port61;         /* bits 0-3 as written */
};

/* floor(ns * PIT_HZ / 1e9), split so that nothing overflows. */
static int64_t ns_to_ticks(uint64_t ns)
{
	return (int64_t)((ns / NS_PER_S) * PIT_HZ +
	                 (ns % NS_PER_S) * PIT_HZ / NS_PER_S);
}

/* ceil(ticks * 1e9 / PIT_HZ): the first ns at which ns_to_ticks >= ticks. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (ticks / PIT_HZ) * NS_PER_S +
	       ((ticks % PIT_HZ) * NS_PER_S + PIT_HZ - 1) / PIT_HZ;
}

static unsigned chan_mode(const struct pit_chan *c)
{
	return c->mode > 5 ? c->mode - 4u : c->mode;
}

static bool chan_periodic(const struct pit_chan *c)
{
	return chan_mode(c) == 2 || chan_mode(c) == 3;
}

static int64_t chan_t(const struct pit_chan *c, uint64_t now)
{
	if (!c->running)
		return c->offset;
	return c->offset + (now > c->start_ns ? ns_to_ticks(now - c->start_ns)
	                                      : 0);
}

static void chan_restart(struct pit_chan *c, uint64_t now, int64_t offset)
{
	c->start_ns = now;
	c->offset = offset;
	c->running = true;
}

static void chan_take_cr(struct pit_chan *c)
{
	c->n = c->cr;
	c->null_count = false;
}

/* Modes 2/3: a reload due by now moves the CE to the new count. */
static void chan_settle(struct pit_chan *c, uint64_t now)
{
	if (chan_periodic(c) && c->loaded && c->running && c->null_count &&
	    chan_t(c, now) >= c->pending_at) {
		c->offset -= c->pending_at;
		chan_take_cr(c);
	}
}

static bool chan_out(const struct pit_chan *c, uint64_t now)
{
	int64_t t = chan_t(c, now), n = c->n;

	if (!c->loaded)
		return chan_mode(c) != 0;
	switch (chan_mode(c)) {
	case 0: case 1: return !c->armed || t >= n;
	case 2: return !c->gate || t % n != n - 1;
	case 3: return !c->gate || t % n < (n + 1) / 2;
	default: return !c->armed || t != n; /* 4 and 5 */
	}
}

/* The CE as a guest reads it (BCD-encoded if so programmed). */
static uint16_t chan_count(const struct pit_chan *c, uint64_t now)
{
	uint32_t mod = c->bcd ? 10000 : 65536, n = c->n, v;
	int64_t t = chan_t(c, now);

	if (!c->loaded || !c->armed)
		return c->hold;
	switch (chan_mode(c)) {
	case 2:
		v = n - (uint32_t)(t % n);
		break;
	case 3: {
		uint32_t p = (uint32_t)(t % n), h = (n + 1) / 2;
		v = (n & ~1u) - 2 * (p < h ? p : p - h);
		break;
	}
	default:
		v = (uint32_t)((n + mod - (uint64_t)t % mod) % mod);
	}
	v %= mod;
	if (c->bcd)
		v = (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
		    v % 10;
	return (uint16_t)v;
}

/* The one rising edge of a one-shot mode (0, 1, 4, 5), in ticks. */
static int64_t chan_oneshot_edge(const struct pit_chan *c, uint32_t n)
{
	return chan_mode(c) <= 1 ? (int64_t)n : (int64_t)n + 1;
}

/* Rising edges of OUT in ticks (a, b] of one timeline with count n. */
static int64_t chan_edges_at(const struct pit_chan *c, uint32_t n,
                             int64_t a, int64_t b)
{
	int64_t e = chan_oneshot_edge(c, n);

	if (b <= a || !c->armed)
		return 0;
	if (chan_periodic(c))
		return n < 2 ? 0 : b / n - a / n;
	return a < e && e <= b;
}

/* Next rising edge strictly after tick t, or -1.  A pending mode 2/3
 * reload falls on the same period end. */
static int64_t chan_next_edge(const struct pit_chan *c, int64_t t)
{
	int64_t e = chan_oneshot_edge(c, c->n);

	if (!c->loaded || !c->armed || !c->running)
		return -1;
	if (chan_periodic(c))
		return c->n < 2 ? -1 : (t / c->n + 1) * c->n;
	return t < e ? e : -1;
}

/* --- writes ------------------------------------------------------------- */

static void chan_gate(struct pit_chan *c, bool gate, uint64_t now)
{
	bool pauses = chan_mode(c) == 0 || chan_mode(c) == 4;

	if (c->loaded && gate && !c->gate && pauses) {
		chan_restart(c, now, c->offset);
	} else if (c->loaded && gate && !c->gate) {     /* (re)trigger */
		if (c->null_count)
			chan_take_cr(c);
		c->armed = true;
		chan_restart(c, now, 0);
	} else if (c->loaded && !gate && c->gate &&
	           (pauses || chan_periodic(c))) {
		c->offset = chan_t(c, now);
		c->running = false;
	}
	c->gate = gate;
}

static void chan_load(struct pit_chan *c, uint16_t raw, uint64_t now)
{
	unsigned m = chan_mode(c);
	bool first = !c->loaded;

	if (c->bcd)
		raw = (raw >> 12) * 1000 + (raw >> 8 & 15) * 100 +
		      (raw >> 4 & 15) * 10 + (raw & 15);
	c->cr = raw ? raw : (c->bcd ? 10000 : 65536);
	c->null_count = true;
	c->loaded = true;
	if (m == 0 || m == 4 || (chan_periodic(c) && first)) {
		chan_take_cr(c);
		c->armed = true;
		chan_restart(c, now, 0);
		c->running = c->gate;
	} else if (chan_periodic(c) && c->running) {
		c->pending_at = (chan_t(c, now) / c->n + 1) * c->n;
	}
}

static void chan_write_data(struct pit_chan *c, uint8_t v, uint64_t now)
{
	switch (c->rw) {
	case RW_LO: chan_load(c, v, now); break;
	case RW_HI: chan_load(c, (uint16_t)(v << 8), now); break;
	default:
		if (!c->wr_hi) {
			c->wr_lo = v;
			c->wr_hi = true;
			/* Mode 0: the first byte stops the count, OUT low. */
			if (chan_mode(c) == 0 && c->loaded) {
				c->hold = chan_count(c, now);
				c->loaded = false;
			}
			return;
		}
		c->wr_hi = false;
		chan_load(c, (uint16_t)(c->wr_lo | v << 8), now);
	}
}

static void chan_latch_count(struct pit_chan *c, uint64_t now)
{
	if (c->latched)
		return;
	c->latch = chan_count(c, now);
	c->latched = true;
}

static void chan_latch_status(struct pit_chan *c, uint64_t now)
{
	if (c->status_latched)
		return;
	c->status = (uint8_t)(chan_out(c, now) << 7 | c->null_count << 6 |
	                      c->rw << 4 | c->mode << 1 | c->bcd);
	c->status_latched = true;
}

static void pit_control(struct pit *pit, uint8_t v, uint64_t now)
{
	unsigned sc = v >> 6, rw = v >> 4 & 3;
	struct pit_chan *c;

	if (sc == 3) {          /* read-back: D5 = !COUNT, D4 = !STATUS */
		for (int i = 0; i < 3; i++) {
			if ((v & 2 << i) && !(v & 0x20))
				chan_latch_count(&pit->ch[i], now);
			if ((v & 2 << i) && !(v & 0x10))
				chan_latch_status(&pit->ch[i], now);
		}
		return;
	}
	c = &pit->ch[sc];
	if (rw == RW_LATCH) {
		chan_latch_count(c, now);
		return;
	}
	c->hold = chan_count(c, now);
	c->rw = (uint8_t)rw;
	c->mode = v >> 1 & 7;
	c->bcd = v & 1;
	c->loaded = c->armed = c->running = false;
	c->null_count = true;
	c->wr_hi = c->rd_hi = c->latched = c->status_latched = false;
}

static uint8_t chan_read_data(struct pit_chan *c, uint64_t now)
{
	uint16_t v = c->latched ? c->latch : chan_count(c, now);
	bool hi = c->rw == RW_HI || (c->rw == RW_LOHI && c->rd_hi);

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->rw == RW_LOHI)
		c->rd_hi = !c->rd_hi;
	if (hi || c->rw == RW_LO)       /* the last byte of the count */
		c->latched = false;
	return (uint8_t)(hi ? v >> 8 : v);
}

/* --- interface ---------------------------------------------------------- */

struct pit *pit_new(void)
{
	struct pit *pit = calloc(1, sizeof(*pit));

	if (!pit)
		return NULL;
	for (int i = 0; i < 3; i++) {
		pit->ch[i].gate = i < 2;
		pit->ch[i].rw = RW_LOHI;
		pit->ch[i].n = pit->ch[i].cr = 65536;
	}
	return pit;
}

void pit_free(struct pit *pit)
{
	free(pit);
}

/* Every entry point first applies the reloads due by now_ns. */
static void pit_settle(struct pit *pit, uint64_t now_ns)
{
	for (int i = 0; i < 3; i++)
		chan_settle(&pit->ch[i], now_ns);
}

uint8_t pit_read(struct pit *pit, unsigned port, uint64_t now_ns)
{
	pit_settle(pit, now_ns);
	if (port >= PIT_PORT && port < PIT_PORT + 3)
		return chan_read_data(&pit->ch[port - PIT_PORT], now_ns);
	if (port == PIT_PORT_61) {
		bool refresh = now_ns / 15085 & 1; /* toggles every 15.085 us */

		return (uint8_t)(pit->port61 | refresh << 4 |
		                 chan_out(&pit->ch[2], now_ns) << 5);
	}
	return 0xFF;            /* 0x43 is write-only */
}

void pit_write(struct pit *pit, unsigned port, uint8_t value, uint64_t now_ns)
{
	pit_settle(pit, now_ns);
	if (port >= PIT_PORT && port < PIT_PORT + 3)
		chan_write_data(&pit->ch[port - PIT_PORT], value, now_ns);
	else if (port == PIT_PORT + 3)
		pit_control(pit, value, now_ns);
	else if (port == PIT_PORT_61) {
		pit->port61 = value & 0x0F;
		chan_gate(&pit->ch[2], value & 1, now_ns);
	}
}

bool pit_out(struct pit *pit, int channel, uint64_t now_ns)
{
	if (channel < 0 || channel > 2)
		return false;
	chan_settle(&pit->ch[channel], now_ns);
	return chan_out(&pit->ch[channel], now_ns);
}

uint64_t pit_next_irq0_ns(struct pit *pit, uint64_t now_ns)
{
	struct pit_chan *c = &pit->ch[0];
	int64_t e;

	chan_settle(c, now_ns);
	e = chan_next_edge(c, chan_t(c, now_ns));
	if (e < 0)
		return UINT64_MAX;
	return c->start_ns + ticks_to_ns((uint64_t)(e - c->offset));
}

int pit_irq0_edges(struct pit *pit, uint64_t from_ns, uint64_t to_ns)
{
	struct pit_chan *c = &pit->ch[0];
	int64_t a, b, edges;

	if (to_ns <= from_ns)
		return 0;
	chan_settle(c, from_ns);
	if (!c->loaded)
		return 0;
	a = chan_t(c, from_ns);
	b = chan_t(c, to_ns);
	if (chan_periodic(c) && c->null_count && c->running &&
	    b >= c->pending_at)
		edges = chan_edges_at(c, c->n, a, c->pending_at) +
		        chan_edges_at(c, c->cr, 0, b - c->pending_at);
	else
		edges = chan_edges_at(c, c->n, a, b);
	return edges > INT32_MAX ? INT32_MAX : (int)edges;
}
