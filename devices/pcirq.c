/*
 * pcirq.c — the PC's interrupt path: the 8259A pair (pic.c) and the 8254
 * PIT (pit.c) on the port bus, IRQ0 from the PIT's channel 0, and the
 * PIC's INTR line and INTA cycle handed to the vCPU as its interrupt
 * controller.
 *
 * Locking: one mutex guards both chips; the vCPU thread takes it for port
 * accesses and for the controller's line/ack, the timer thread for IRQ0.
 * The PIC's output callback runs under it and calls the monitor's
 * intr_line hook (lock order: this lock, then the vCPU's).
 *
 * IRQ0 timing: a thread sleeps on a timerfd armed at the PIT's next OUT0
 * rising edge (CLOCK_MONOTONIC, absolute) and on expiry counts the edges
 * since the last one (pit_irq0_edges: none lost, no drift).  A guest write
 * to the PIT re-arms it through an eventfd.
 *
 * Late edges.  The 8259A latches one edge per input: an edge that comes
 * while IRQ0 still waits in IRR merges with it.  On hardware that happens
 * only when the guest keeps interrupts off for a whole period; here it
 * also happens whenever the host does not run the vCPU thread (or this
 * one) for a period, which a loaded 2-core host does for milliseconds at
 * a time.  Measured with this file's IRQ0 path and a vCPU stand-in that
 * halts, acknowledges, spends 25 us and EOIs, 1 kHz for 1 s gave 830-920
 * ticks on a busy 2-core host and 190-690 with four busy loops beside it;
 * with late delivery, 1000-1001 in both.  So, like KVM's in-kernel PIT
 * ("reinject", its default lost-tick policy) and unlike QEMU's own PIT
 * (which merges them as hardware does), popek delivers such edges late:
 * an edge that finds IRQ0 still latched joins a backlog, and each INTA
 * cycle passes one backlogged edge to the PIC, which serves it after the
 * guest's EOI — one per handler run, so the guest catches up without
 * nesting.  After any INTA, IRR0 is clear: IRQ0 was acknowledged, or it
 * was not requested, since in fully nested mode nothing outranks it.
 * The backlog is capped at IRQ0_BACKLOG_MAX edges, so a guest that masks
 * IRQ0 (or keeps IF clear) for long gets a bounded burst afterwards, and
 * it is dropped when the guest reprograms channel 0.
 */
#include "devices/devices.h"
#include "devices/platform.h"
#include "devices/pic.h"
#include "devices/pit.h"

#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* What a port region's handlers get: the device and the chip-level
 * opaque (a PIC chip, the ELCR, or the PIT's first port). */
struct pcirq;
struct port_ctx {
	struct pcirq *p;
	void *inner;
	bool elcr;
};

enum { R_MASTER, R_SLAVE, R_ELCR, R_PIT, R_61, R_COUNT };

struct pcirq {
	pthread_mutex_t lock;
	struct port_ctx ports[R_COUNT];
	struct pic *pic;
	struct pit *pit;
	struct platform_hooks hooks;   /* a copy */
	int tfd, efd;
	pthread_t thread;
	bool quit;
	uint64_t last_ns;              /* IRQ0 edges counted up to here */
	bool irq0_latched;             /* our last IRQ0 edge may be in IRR */
	unsigned irq0_backlog;         /* edges to deliver late */
};

#define IRQ0_BACKLOG_MAX 100           /* 0.1 s at 1 kHz */

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* --- the vCPU's view: INTR and INTA -------------------------------------- */

static bool pcirq_line(void *dev)
{
	struct pcirq *p = dev;
	bool up;

	pthread_mutex_lock(&p->lock);
	up = pic_output(p->pic);
	pthread_mutex_unlock(&p->lock);
	return up;
}

static void irq0_pulse(struct pcirq *p)
{
	pic_set_irq(p->pic, 0, 1);
	pic_set_irq(p->pic, 0, 0);
	p->irq0_latched = true;
}

/* INTA: IRR0 is clear now (see the header); one late edge may follow. */
static int pcirq_ack(void *dev)
{
	struct pcirq *p = dev;
	int vec;

	pthread_mutex_lock(&p->lock);
	vec = pic_ack(p->pic);
	p->irq0_latched = false;
	if (p->irq0_backlog) {
		p->irq0_backlog--;
		irq0_pulse(p);
	}
	pthread_mutex_unlock(&p->lock);
	return vec;
}

static void pic_output_changed(void *ctx, bool level)
{
	struct pcirq *p = ctx;

	if (level && p->hooks.intr_line)
		p->hooks.intr_line(p->hooks.ctx);
}

/* An ISA interrupt line, for the other devices (platform_env.set_irq). */
static void pcirq_set_irq(void *irqctx, int irq, int level)
{
	struct pcirq *p = irqctx;

	pthread_mutex_lock(&p->lock);
	pic_set_irq(p->pic, irq, level);
	pthread_mutex_unlock(&p->lock);
}

/* --- ports ------------------------------------------------------------------ */

static uint64_t pic_read_locked(void *opaque, uint64_t off, unsigned size)
{
	const struct port_ctx *c = opaque;
	struct pcirq *p = c->p;
	uint64_t v;

	pthread_mutex_lock(&p->lock);
	v = c->elcr ? pic_elcr_read(p->pic, off, size)
	            : pic_io_read(c->inner, off, size);
	pthread_mutex_unlock(&p->lock);
	return v;
}

static void pic_write_locked(void *opaque, uint64_t off, unsigned size,
                             uint64_t val)
{
	const struct port_ctx *c = opaque;
	struct pcirq *p = c->p;

	pthread_mutex_lock(&p->lock);
	if (c->elcr)
		pic_elcr_write(p->pic, off, size, val);
	else
		pic_io_write(c->inner, off, size, val);
	pthread_mutex_unlock(&p->lock);
}

static void rearm(struct pcirq *p)
{
	uint64_t one = 1;
	if (write(p->efd, &one, sizeof(one)) < 0) {
		/* eventfd counter full: a wake-up is pending anyway */
	}
}

static uint64_t pit_read_locked(void *opaque, uint64_t off, unsigned size)
{
	const struct port_ctx *c = opaque;
	struct pcirq *p = c->p;
	unsigned base = (unsigned)(uintptr_t)c->inner;
	uint64_t v;

	(void)size;
	pthread_mutex_lock(&p->lock);
	v = pit_read(p->pit, base + (unsigned)off, mono_ns());
	pthread_mutex_unlock(&p->lock);
	return v;
}

/* A count for channel 0, or a control word that sets its mode. */
static bool reprograms_irq0(unsigned port, uint8_t v)
{
	return port == PIT_PORT ||
	       (port == PIT_PORT + 3 && (v >> 6) == 0 && (v & 0x30));
}

static void pit_write_locked(void *opaque, uint64_t off, unsigned size,
                             uint64_t val)
{
	const struct port_ctx *c = opaque;
	struct pcirq *p = c->p;
	unsigned base = (unsigned)(uintptr_t)c->inner;

	(void)size;
	pthread_mutex_lock(&p->lock);
	pit_write(p->pit, base + (unsigned)off, (uint8_t)val, mono_ns());
	if (reprograms_irq0(base + (unsigned)off, (uint8_t)val))
		p->irq0_backlog = 0;   /* edges of the old programming */
	pthread_mutex_unlock(&p->lock);
	rearm(p);
}

/* --- IRQ0 from the PIT -------------------------------------------------- */

static void arm(struct pcirq *p, uint64_t at_ns)
{
	struct itimerspec its = { 0 };

	if (at_ns != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(at_ns / 1000000000ull);
		its.it_value.tv_nsec = (long)(at_ns % 1000000000ull);
	}
	timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Edges from the timer: the first reaches the PIC unless the last one is
 * still latched there; the rest wait for INTA cycles. */
static void irq0_edges(struct pcirq *p, unsigned edges)
{
	if (!edges)
		return;
	if (!p->irq0_latched) {
		irq0_pulse(p);
		edges--;
	}
	p->irq0_backlog += edges;
	if (p->irq0_backlog > IRQ0_BACKLOG_MAX)
		p->irq0_backlog = IRQ0_BACKLOG_MAX;
}

static void *pcirq_thread(void *arg)
{
	struct pcirq *p = arg;
	struct pollfd fds[2] = { { .fd = p->tfd, .events = POLLIN },
	                         { .fd = p->efd, .events = POLLIN } };
	uint64_t buf;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->quit) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		uint64_t now = mono_ns();
		unsigned edges = (unsigned)pit_irq0_edges(p->pit, p->last_ns,
		                                          now);
		p->last_ns = now;
		irq0_edges(p, edges);
		arm(p, pit_next_irq0_ns(p->pit, now));
		pthread_mutex_unlock(&p->lock);
		if (poll(fds, 2, -1) < 0)
			continue;
		if (fds[0].revents & POLLIN && read(p->tfd, &buf, sizeof(buf)) < 0)
			continue;
		if (fds[1].revents & POLLIN && read(p->efd, &buf, sizeof(buf)) < 0)
			continue;
	}
}

/* --- attach / detach ------------------------------------------------------ */

static int claim_all(struct platform_env *env, struct pcirq *p)
{
	static const struct { int r; uint64_t base, len; bool pit; } map[] = {
		{ R_MASTER, PIC_MASTER_BASE, PIC_NPORTS, false },
		{ R_SLAVE, PIC_SLAVE_BASE, PIC_NPORTS, false },
		{ R_ELCR, PIC_ELCR_BASE, PIC_NPORTS, false },
		{ R_PIT, PIT_PORT, PIT_NPORTS, true },
		{ R_61, PIT_PORT_61, 1, true },
	};

	p->ports[R_MASTER] = (struct port_ctx){ p, pic_chip_opaque(p->pic, PIC_MASTER), false };
	p->ports[R_SLAVE] = (struct port_ctx){ p, pic_chip_opaque(p->pic, PIC_SLAVE), false };
	p->ports[R_ELCR] = (struct port_ctx){ p, p->pic, true };
	p->ports[R_PIT] = (struct port_ctx){ p, (void *)(uintptr_t)PIT_PORT, false };
	p->ports[R_61] = (struct port_ctx){ p, (void *)(uintptr_t)PIT_PORT_61, false };
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (platform_claim(env, map[i].base, map[i].len,
		                   map[i].pit ? pit_read_locked : pic_read_locked,
		                   map[i].pit ? pit_write_locked : pic_write_locked,
		                   &p->ports[map[i].r]) < 0)
			return -1;
	return 0;
}

void *pcirq_attach(struct platform_env *env)
{
	struct pcirq *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->hooks = *env->hooks;
	p->pic = pic_new();
	p->pit = pit_new();
	p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&p->lock, NULL);
	p->last_ns = mono_ns();
	if (!p->pic || !p->pit || p->tfd < 0 || p->efd < 0 ||
	    claim_all(env, p) < 0 ||
	    pthread_create(&p->thread, NULL, pcirq_thread, p) != 0)
		return NULL;   /* leaks on a failing start: popek exits anyway */
	pic_set_output_cb(p->pic, pic_output_changed, p);
	env->set_irq = pcirq_set_irq;   /* devices attached after this one */
	env->irqctx = p;
	if (p->hooks.set_intr_controller)
		p->hooks.set_intr_controller(p->hooks.ctx, pcirq_line, pcirq_ack, p);
	if (p->hooks.add_irq_source)
		p->hooks.add_irq_source(p->hooks.ctx);
	return p;
}

void pcirq_detach(void *dev)
{
	struct pcirq *p = dev;

	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_mutex_unlock(&p->lock);
	rearm(p);
	pthread_join(p->thread, NULL);
	close(p->tfd);
	close(p->efd);
	pit_free(p->pit);
	pic_free(p->pic);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
