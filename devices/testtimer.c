/*
 * testtimer.c — a periodic interrupt source for guest tests of interrupt
 * injection, until the 8254/8259 pair exists.  Ports 0x500..0x50F:
 *
 *   0x500  write (byte): the vector to raise.
 *   0x504  write (dword): period in microseconds; starts the timer, or
 *          stops it when 0.  Each period the vector is raised once.
 *   0x508  read (dword): how many times the vector has been raised.
 *   0x50C  read (dword): host CLOCK_MONOTONIC nanoseconds from the
 *          deadline of the last tick to this read, 0xFFFFFFFF when there
 *          was none or more than that passed.  An interrupt handler that
 *          reads it first thing measures injection latency: host timer
 *          expiry to guest handler, plus half an exit or so for the IN
 *          itself (bench/devices/irq-latency.c).
 *   other  read 0, writes ignored.
 *
 * The ticks come from a thread of its own sleeping on CLOCK_MONOTONIC
 * absolute deadlines (no drift, no busy loop).  Locking: `lock` guards the
 * period and vector against the vCPU thread; the count and the last
 * deadline are atomic.
 */
#include "devices/devices.h"
#include "devices/platform.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define TESTTIMER_NPORTS 16

struct testtimer {
	struct platform_hooks hooks;   /* a copy: the caller's may not live */
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t thread;
	uint32_t period_us;   /* 0: stopped */
	uint8_t vector;
	bool quit;
	uint32_t fired;       /* atomic */
	uint64_t expired_ns;  /* atomic: deadline of the last tick, 0: none */
};

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

/* Nanoseconds since the last tick's deadline, saturated to 32 bits. */
static uint32_t since_expiry(struct testtimer *t)
{
	uint64_t at = __atomic_load_n(&t->expired_ns, __ATOMIC_SEQ_CST);
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!at || ts_ns(&now) - at > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)(ts_ns(&now) - at);
}

static void add_us(struct timespec *t, uint32_t us)
{
	t->tv_nsec += (long)us * 1000;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

/* Sleep to the next deadline, waking early if the guest reprograms us. */
static void *testtimer_thread(void *arg)
{
	struct testtimer *t = arg;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&t->lock);
	while (!t->quit) {
		if (!t->period_us) {
			pthread_cond_wait(&t->changed, &t->lock);
			clock_gettime(CLOCK_MONOTONIC, &next);
			continue;
		}
		add_us(&next, t->period_us);
		int r = pthread_cond_timedwait(&t->changed, &t->lock, &next);
		if (r == ETIMEDOUT && t->period_us && !t->quit) {
			__atomic_store_n(&t->expired_ns, ts_ns(&next),
			                 __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&t->fired, 1, __ATOMIC_SEQ_CST);
			t->hooks.raise_irq(t->hooks.ctx, t->vector);
		} else if (r != ETIMEDOUT) {
			clock_gettime(CLOCK_MONOTONIC, &next); /* reprogrammed */
		}
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static uint64_t testtimer_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testtimer *t = opaque;

	(void)size;
	if (offset == 8)
		return __atomic_load_n(&t->fired, __ATOMIC_SEQ_CST);
	if (offset == 12)
		return since_expiry(t);
	return 0;
}

static void testtimer_write(void *opaque, uint64_t offset, unsigned size,
                            uint64_t value)
{
	struct testtimer *t = opaque;

	(void)size;
	pthread_mutex_lock(&t->lock);
	if (offset == 0)
		t->vector = (uint8_t)value;
	else if (offset == 4)
		t->period_us = (uint32_t)value;
	pthread_cond_signal(&t->changed);
	pthread_mutex_unlock(&t->lock);
}

void *testtimer_attach(struct platform_env *env)
{
	struct testtimer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->hooks = *env->hooks;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->changed, &ca);
	pthread_condattr_destroy(&ca);
	if (platform_claim(env, PORT_TESTTIMER, TESTTIMER_NPORTS, testtimer_read,
	                   testtimer_write, t) < 0 ||
	    pthread_create(&t->thread, NULL, testtimer_thread, t) != 0) {
		free(t);
		return NULL;
	}
	if (env->hooks->add_irq_source)
		env->hooks->add_irq_source(env->hooks->ctx);
	return t;
}

void testtimer_detach(void *dev)
{
	struct testtimer *t = dev;

	pthread_mutex_lock(&t->lock);
	t->quit = true;
	pthread_cond_signal(&t->changed);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->changed);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
