/*
 * tsc_hz.h — the host TSC rate, measured against CLOCK_MONOTONIC over
 * 0.2 s; shared by the host-side bench programs (64-bit and i386).
 */
#ifndef POPEK_BENCH_TSC_HZ_H
#define POPEK_BENCH_TSC_HZ_H

#include <stdint.h>
#include <time.h>
#include <x86intrin.h>

static inline double tsc_hz(void)
{
	struct timespec a, b;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t t0 = __rdtsc();
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
		ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	} while (ns < 2e8);
	return (double)(__rdtsc() - t0) / ns * 1e9;
}

#endif
