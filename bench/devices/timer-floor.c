/*
 * timer-floor.c — the host's own part of bench/devices/irq-run's latency:
 * a plain host thread (no popek) sleeping on CLOCK_MONOTONIC absolute
 * deadlines 1 ms apart with pthread_cond_timedwait, as the test timer's
 * thread does (devices/testtimer.c, default timer slack), and reading
 * CLOCK_MONOTONIC as soon as it wakes.  Each sample is deadline → that
 * thread running again; what irq-run measures beyond it is popek's
 * injection path (raise the IRQ, wake or kick the vCPU thread, deliver,
 * the handler's IN).
 *
 * Prints, after a short warm-up, like the guest does:
 *
 *     floor <median ns> <p99 ns> <max ns> <n>
 *
 * usage: timer-floor [N]      (N wake-ups, default 1000)
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PERIOD_NS 1000000L
#define WARMUP    20

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	uint64_t *lat = calloc(n > 0 ? (size_t)n : 1, sizeof(*lat));
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_condattr_t ca;
	pthread_cond_t cond;
	struct timespec next, now;

	if (n < 100 || !lat) {
		fprintf(stderr, "timer-floor: N must be at least 100\n");
		return 2;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cond, &ca);
	pthread_condattr_destroy(&ca);

	clock_gettime(CLOCK_MONOTONIC, &next);
	pthread_mutex_lock(&lock);
	for (int i = -WARMUP; i < n; i++) {
		next.tv_nsec += PERIOD_NS;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		/* Nobody signals: only ETIMEDOUT (or a spurious wake) ends it. */
		while (pthread_cond_timedwait(&cond, &lock, &next) != ETIMEDOUT)
			;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (i >= 0)
			lat[i] = ts_ns(&now) - ts_ns(&next);
	}
	pthread_mutex_unlock(&lock);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	printf("floor %llu %llu %llu %d\n", (unsigned long long)lat[n / 2],
	       (unsigned long long)lat[n * 99 / 100],
	       (unsigned long long)lat[n - 1], n);
	return 0;
}
