/*
 * floor.c — the bare host floor for a trapped instruction: this process
 * executes `cli` (a privileged instruction: #GP → SIGSEGV) and its
 * handler steps over it, N times.  No popek: just the host kernel's signal
 * delivery and sigreturn, which every popek exit pays at least.
 *
 * Prints the median cost per round trip in TSC ticks and in ns, and the
 * TSC frequency it measured, one "key value" per line.
 *
 * usage: floor [N]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <x86intrin.h>

#include "bench/tsc_hz.h"

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)sig;
	(void)si;
	uc->uc_mcontext.gregs[REG_RIP] += 1; /* cli is one byte */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	uint64_t *t = calloc((size_t)n, sizeof(*t));
	struct sigaction sa;

	if (n <= 0 || !t)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSEGV, &sa, NULL);
	for (int i = 0; i < n; i++) {
		uint64_t a = __rdtsc();
		__asm__ volatile("cli" ::: "memory");
		t[i] = __rdtsc() - a;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_u64);
	double hz = tsc_hz();
	printf("tsc_hz %.0f\n", hz);
	printf("floor_ticks %llu\n", (unsigned long long)t[n / 2]);
	printf("floor_ns %.0f\n", (double)t[n / 2] / hz * 1e9);
	return 0;
}
