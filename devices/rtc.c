/*
 * rtc.c — the MC146818 model behind rtc.h (Motorola MC146818A data sheet),
 * and its attachment to the platform at ports 0x70/0x71 with IRQ8.
 *
 * Time: the guest's clock g(now) = now + offset, in UTC nanoseconds.
 * While the clock runs, the time registers are computed from g on every
 * read, so they are never stale; the stored bytes in cmos[] matter only
 * while the clock is held (SET in B, or the divider in reset, DV = 6/7 in
 * A).  Holding it snapshots g into cmos[]; the guest then writes those
 * bytes, and releasing it turns them back into an offset.  A write to a
 * time register while the clock runs moves the offset at once.  The day
 * of week is always derived from the date.
 *
 * The divider: the update (second boundary) falls where g is a whole
 * second; releasing SET keeps that phase (the divider never stopped), as
 * a real chip does; releasing a divider reset puts the first update
 * 500 ms later.  Periodic edges fall where g, counted in 32768 Hz ticks,
 * crosses a multiple of the rate's period, so they never drift.
 *
 * Flags: rtc_advance applies the edges in (last, now]: PF if a periodic
 * edge passed, UF if a second boundary passed while the clock ran, and
 * AF if one of those boundaries matched the alarm (0xC0-0xFF: any).
 * Rates 1 and 2 give 256 and 128 Hz as on the 32.768 kHz time base;
 * other divider values than 6/7 all run at 32.768 kHz.
 *
 * Attachment: one mutex guards the model against the vCPU thread (port
 * accesses) and a timer thread that sleeps on a CLOCK_REALTIME timerfd
 * armed at rtc_next_event_ns, so a guest that enables nothing, or has
 * not yet read C, costs no wake-ups.  IRQ8 follows rtc_irq after every
 * call (lock order: this lock, then the PIC's).
 */
#include "devices/rtc.h"
#include "devices/devices.h"
#include "devices/platform.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ll
#define RTC_HZ   32768

struct rtc {
	uint8_t cmos[RTC_CMOS_SIZE];
	uint8_t index;          /* as written, NMI mask bit included */
	uint8_t flags;          /* PF AF UF of register C */
	int64_t offset;         /* g(now) = now + offset */
	uint64_t last;          /* flags are applied up to this time */
};

static const uint8_t time_regs[] = {
	RTC_SEC, RTC_MIN, RTC_HOUR, RTC_WDAY, RTC_MDAY, RTC_MON, RTC_YEAR,
	RTC_CENTURY,
};

/* --- calendar (UTC, proleptic Gregorian; H. Hinnant's day algorithms) -- */

static int64_t fdiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = fdiv(y, 400), yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;

	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

struct civil {
	int sec, min, hour, wday, mday, mon;
	int64_t year;
};

static void civil_from_secs(int64_t s, struct civil *c)
{
	int64_t z = fdiv(s, 86400), t = s - z * 86400;
	int64_t era, doe, yoe, doy, mp;

	c->sec = (int)(t % 60);
	c->min = (int)(t / 60 % 60);
	c->hour = (int)(t / 3600);
	c->wday = (int)(z + 4 - fdiv(z + 4, 7) * 7);      /* 1970-01-01: Thu */
	z += 719468;
	era = fdiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->year = yoe + era * 400 + (c->mon <= 2);
}

/* --- register encoding ---------------------------------------------------- */

static uint8_t enc(const struct rtc *r, int v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM)
		return (uint8_t)v;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static int dec(const struct rtc *r, uint8_t b)
{
	if (r->cmos[RTC_REG_B] & RTC_B_DM)
		return b;
	return (b >> 4) * 10 + (b & 15);
}

static uint8_t enc_hour(const struct rtc *r, int h)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return enc(r, h);
	return enc(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
}

static int dec_hour(const struct rtc *r, uint8_t b)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return dec(r, b);
	return dec(r, b & 0x7F) % 12 + (b & 0x80 ? 12 : 0);
}

/* Time register i as it reads at g = s whole seconds. */
static uint8_t time_reg(const struct rtc *r, int i, int64_t s)
{
	struct civil c;

	civil_from_secs(s, &c);
	switch (i) {
	case RTC_SEC:     return enc(r, c.sec);
	case RTC_MIN:     return enc(r, c.min);
	case RTC_HOUR:    return enc_hour(r, c.hour);
	case RTC_WDAY:    return enc(r, c.wday + 1);
	case RTC_MDAY:    return enc(r, c.mday);
	case RTC_MON:     return enc(r, c.mon);
	case RTC_YEAR:    return enc(r, (int)(c.year % 100));
	default:          return enc(r, (int)(c.year / 100));  /* century */
	}
}

static bool is_time_reg(unsigned i)
{
	for (size_t k = 0; k < sizeof(time_regs); k++)
		if (time_regs[k] == i)
			return true;
	return false;
}

/* The held registers as seconds since the epoch; out-of-range fields
 * carry into the next ones (a month is clamped to 1..12). */
static int64_t held_secs(const struct rtc *r)
{
	const uint8_t *m = r->cmos;
	int mon = dec(r, m[RTC_MON]);
	int64_t year = dec(r, m[RTC_CENTURY]) * 100 + dec(r, m[RTC_YEAR]);

	mon = mon < 1 ? 1 : mon > 12 ? 12 : mon;
	return days_from_civil(year, mon, dec(r, m[RTC_MDAY])) * 86400 +
	       dec_hour(r, m[RTC_HOUR]) * 3600 + dec(r, m[RTC_MIN]) * 60 +
	       dec(r, m[RTC_SEC]);
}

/* --- the clock -------------------------------------------------------------- */

static int64_t g_ns(const struct rtc *r, uint64_t now)
{
	return (int64_t)now + r->offset;
}

static bool divider_reset(const struct rtc *r)
{
	return (r->cmos[RTC_REG_A] & RTC_A_DV) >= 0x60;
}

static bool running(const struct rtc *r)
{
	return !(r->cmos[RTC_REG_B] & RTC_B_SET) && !divider_reset(r);
}

/* Periodic period in 32768 Hz ticks; 0: none. */
static int64_t pf_period(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & RTC_A_RS;

	if (rs == 0 || divider_reset(r))
		return 0;
	return 1ll << (rs <= 2 ? rs + 6 : rs - 1);
}

static int64_t ticks32(int64_t g)
{
	__int128 t = (__int128)g * RTC_HZ;

	return (int64_t)(t / NS_PER_S - (t % NS_PER_S < 0));
}

static void snapshot(struct rtc *r, uint64_t now)
{
	int64_t s = fdiv(g_ns(r, now), NS_PER_S);

	for (size_t k = 0; k < sizeof(time_regs); k++)
		r->cmos[time_regs[k]] = time_reg(r, time_regs[k], s);
}

/* The held registers become the running time; the sub-second phase of g
 * stays. */
static void release(struct rtc *r, uint64_t now)
{
	int64_t g = g_ns(r, now);
	int64_t frac = g - fdiv(g, NS_PER_S) * NS_PER_S;

	r->offset = held_secs(r) * NS_PER_S + frac - (int64_t)now;
}

static bool alarm_match(const struct rtc *r, int64_t s)
{
	static const uint8_t pairs[][2] = {
		{ RTC_SEC_ALARM, RTC_SEC }, { RTC_MIN_ALARM, RTC_MIN },
		{ RTC_HOUR_ALARM, RTC_HOUR },
	};

	for (size_t k = 0; k < 3; k++) {
		uint8_t a = r->cmos[pairs[k][0]];

		if ((a & 0xC0) != 0xC0 && a != time_reg(r, pairs[k][1], s))
			return false;
	}
	return true;
}

void rtc_advance(struct rtc *r, uint64_t now)
{
	int64_t g0 = g_ns(r, r->last), g1 = g_ns(r, now), p = pf_period(r);

	if (now <= r->last) {   /* the host clock stepped back: from here */
		r->last = now;
		return;
	}
	if (p && fdiv(ticks32(g1), p) > fdiv(ticks32(g0), p))
		r->flags |= RTC_C_PF;
	if (running(r)) {
		int64_t s0 = fdiv(g0, NS_PER_S), s1 = fdiv(g1, NS_PER_S);

		if (s1 > s0)
			r->flags |= RTC_C_UF;
		/* The alarm repeats daily at most: a day of boundaries will do. */
		for (int64_t s = s1 - s0 > 86400 ? s1 - 86399 : s0 + 1;
		     s <= s1 && !(r->flags & RTC_C_AF); s++)
			if (alarm_match(r, s))
				r->flags |= RTC_C_AF;
	}
	r->last = now;
}

static bool irqf(const struct rtc *r)
{
	uint8_t b = r->cmos[RTC_REG_B];

	return ((r->flags & RTC_C_PF) && (b & RTC_B_PIE)) ||
	       ((r->flags & RTC_C_AF) && (b & RTC_B_AIE)) ||
	       ((r->flags & RTC_C_UF) && (b & RTC_B_UIE));
}

bool rtc_irq(const struct rtc *r)
{
	return irqf(r);
}

uint64_t rtc_next_event_ns(const struct rtc *r, uint64_t now)
{
	int64_t g = g_ns(r, now), p = pf_period(r), best = INT64_MAX;
	uint8_t b = r->cmos[RTC_REG_B];

	if (irqf(r))
		return UINT64_MAX;
	if (p && (b & RTC_B_PIE)) {
		__int128 k = (__int128)(fdiv(ticks32(g), p) + 1) * p;
		__int128 t = k * NS_PER_S + RTC_HZ - 1;

		best = (int64_t)(t / RTC_HZ - (t % RTC_HZ < 0));  /* ceil */
	}
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && running(r)) {
		int64_t next_s = (fdiv(g, NS_PER_S) + 1) * NS_PER_S;

		if (next_s < best)
			best = next_s;
	}
	return best == INT64_MAX ? UINT64_MAX : (uint64_t)(best - r->offset);
}

/* --- registers ------------------------------------------------------------ */

static uint8_t read_data(struct rtc *r, unsigned i, uint64_t now)
{
	int64_t g = g_ns(r, now);
	uint8_t v;

	switch (i) {
	case RTC_REG_A:
		v = r->cmos[RTC_REG_A] & ~RTC_A_UIP;
		if (running(r) && g - fdiv(g, NS_PER_S) * NS_PER_S >=
		                  NS_PER_S - RTC_UIP_NS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = r->flags | (irqf(r) ? RTC_C_IRQF : 0);
		r->flags = 0;
		return v;
	case RTC_REG_D:
		return RTC_D_VRT;
	}
	if (running(r) && is_time_reg(i))
		return time_reg(r, (int)i, fdiv(g, NS_PER_S));
	return r->cmos[i];
}

static void write_ctl(struct rtc *r, unsigned i, uint8_t v, uint64_t now)
{
	bool was_running = running(r), was_reset = divider_reset(r);

	if (i == RTC_REG_A) {
		r->cmos[i] = v & ~RTC_A_UIP;
	} else {
		if (v & RTC_B_SET)
			v &= ~RTC_B_UIE;    /* SET clears UIE (data sheet) */
		r->cmos[i] = v;
	}
	if (was_reset && !divider_reset(r)) {
		/* First update 500 ms after the divider leaves reset. */
		int64_t g = g_ns(r, now);

		r->offset += NS_PER_S / 2 - (g - fdiv(g, NS_PER_S) * NS_PER_S);
	}
	if (was_running && !running(r))
		snapshot(r, now);
	else if (!was_running && running(r))
		release(r, now);
}

static void write_data(struct rtc *r, unsigned i, uint8_t v, uint64_t now)
{
	switch (i) {
	case RTC_REG_A:
	case RTC_REG_B:
		write_ctl(r, i, v, now);
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return;     /* read-only */
	}
	if (running(r) && is_time_reg(i)) {
		int64_t before = fdiv(g_ns(r, now), NS_PER_S);

		snapshot(r, now);
		r->cmos[i] = v;
		r->offset += (held_secs(r) - before) * NS_PER_S;
		return;
	}
	r->cmos[i] = v;
}

uint8_t rtc_read(struct rtc *r, unsigned offset, uint64_t now)
{
	if (offset != 1)
		return 0xFF;
	rtc_advance(r, now);
	return read_data(r, r->index & 0x7F, now);
}

void rtc_write(struct rtc *r, unsigned offset, uint8_t value, uint64_t now)
{
	if (offset == 0) {
		r->index = value;
		return;
	}
	if (offset == 1) {
		rtc_advance(r, now);
		write_data(r, r->index & 0x7F, value, now);
	}
}

static void put16(uint8_t *cmos, unsigned lo, unsigned hi, uint64_t v)
{
	cmos[lo] = (uint8_t)v;
	cmos[hi] = (uint8_t)(v >> 8);
}

struct rtc *rtc_new(uint64_t ram_bytes, uint64_t now)
{
	struct rtc *r = calloc(1, sizeof(*r));
	uint64_t kib = ram_bytes >> 10, ext = 0, high = 0;
	unsigned sum = 0;

	if (!r)
		return NULL;
	r->cmos[RTC_REG_A] = 0x26;
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->cmos[RTC_REG_D] = RTC_D_VRT;
	if (kib > 1024)
		ext = kib - 1024 > 0xFFFF ? 0xFFFF : kib - 1024;
	if (ram_bytes > (16u << 20))
		high = (ram_bytes - (16u << 20)) >> 16;
	put16(r->cmos, 0x15, 0x16, kib < 640 ? kib : 640);
	put16(r->cmos, 0x17, 0x18, ext);
	put16(r->cmos, 0x30, 0x31, ext);
	put16(r->cmos, 0x34, 0x35, high > 0xFFFF ? 0xFFFF : high);
	for (unsigned i = 0x10; i <= 0x2D; i++)
		sum += r->cmos[i];
	put16(r->cmos, 0x2F, 0x2E, sum);
	r->last = now;
	return r;
}

void rtc_free(struct rtc *r)
{
	free(r);
}

/* --- the platform device ------------------------------------------------- */

struct rtc_dev {
	pthread_mutex_t lock;
	struct rtc *rtc;
	void (*set_irq)(void *irqctx, int irq, int level);
	void *irqctx;
	bool level;             /* IRQ8 as last driven */
	int tfd;
	uint64_t armed;         /* the timerfd's deadline; UINT64_MAX: none */
	bool quit;
	pthread_t thread;
};

static uint64_t wall_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * NS_PER_S + (uint64_t)t.tv_nsec;
}

static void arm(int tfd, uint64_t at)
{
	struct itimerspec its = { 0 };

	if (at != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(at / NS_PER_S);
		its.it_value.tv_nsec = (long)(at % NS_PER_S);
	}
	timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Lock held: IRQ8 follows the model, the timer its next event. */
static void rtc_sync(struct rtc_dev *d, uint64_t now)
{
	bool level = rtc_irq(d->rtc);
	uint64_t next = rtc_next_event_ns(d->rtc, now);

	if (level != d->level && d->set_irq) {
		d->level = level;
		d->set_irq(d->irqctx, RTC_IRQ, level);
	}
	if (next != d->armed) {
		d->armed = next;
		arm(d->tfd, next);
	}
}

static void *rtc_thread(void *arg)
{
	struct rtc_dev *d = arg;
	struct pollfd pfd = { .fd = d->tfd, .events = POLLIN };
	uint64_t buf, now;

	for (;;) {
		if (poll(&pfd, 1, -1) < 0 && errno == EINTR)
			continue;
		if (read(d->tfd, &buf, sizeof(buf)) < 0 && errno != EAGAIN)
			return NULL;
		pthread_mutex_lock(&d->lock);
		if (d->quit) {
			pthread_mutex_unlock(&d->lock);
			return NULL;
		}
		now = wall_ns();
		rtc_advance(d->rtc, now);
		d->armed = UINT64_MAX;  /* a one-shot timer that fired */
		rtc_sync(d, now);
		pthread_mutex_unlock(&d->lock);
	}
}

/* A wider access is a byte access to each port of the region it covers;
 * bytes past the region read as all ones. */
static uint64_t rtc_port_read(void *opaque, uint64_t off, unsigned size)
{
	struct rtc_dev *d = opaque;
	uint64_t v = ~0ull, now;

	pthread_mutex_lock(&d->lock);
	now = wall_ns();
	for (unsigned k = 0; k < size && off + k < RTC_NPORTS; k++) {
		v &= ~(0xFFull << 8 * k);
		v |= (uint64_t)rtc_read(d->rtc, (unsigned)off + k, now) << 8 * k;
	}
	rtc_sync(d, now);
	pthread_mutex_unlock(&d->lock);
	return v;
}

static void rtc_port_write(void *opaque, uint64_t off, unsigned size,
                           uint64_t val)
{
	struct rtc_dev *d = opaque;
	uint64_t now;

	pthread_mutex_lock(&d->lock);
	now = wall_ns();
	for (unsigned k = 0; k < size && off + k < RTC_NPORTS; k++)
		rtc_write(d->rtc, (unsigned)off + k, (uint8_t)(val >> 8 * k), now);
	rtc_sync(d, now);
	pthread_mutex_unlock(&d->lock);
}

void *rtc_attach(struct platform_env *env)
{
	struct rtc_dev *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->set_irq = env->set_irq;
	d->irqctx = env->irqctx;
	d->armed = UINT64_MAX;
	d->rtc = rtc_new(env->hooks->ram_bytes, wall_ns());
	d->tfd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	/* A failing start leaks what it made: popek exits anyway. */
	if (!d->rtc)
		return NULL;
	if (d->tfd < 0) {
		snprintf(env->err, sizeof(env->err), "cannot create its "
		         "timerfd: %s", strerror(errno));
		return NULL;
	}
	if (platform_claim(env, PORT_RTC, RTC_NPORTS, rtc_port_read,
	                   rtc_port_write, d) < 0)
		return NULL;
	err = pthread_create(&d->thread, NULL, rtc_thread, d);
	if (err) {
		snprintf(env->err, sizeof(env->err), "cannot start its timer "
		         "thread: %s", strerror(err));
		return NULL;
	}
	if (env->hooks->add_irq_source && d->set_irq)
		env->hooks->add_irq_source(env->hooks->ctx);
	return d;
}

void rtc_detach(void *dev)
{
	struct rtc_dev *d = dev;

	pthread_mutex_lock(&d->lock);
	d->quit = true;
	arm(d->tfd, 1);         /* long past: wakes the thread at once */
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	close(d->tfd);
	rtc_free(d->rtc);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
