/*
 * native.c — bench/nano's operations in a native Linux i386 process (built
 * with gcc -m32), timed the same way as the guest does (RDTSC around one
 * operation, median of N):
 *   syscall  int $0x80 (getpid), user -> kernel -> user
 *   in       inb from port 0x80 after ioperm (root only; "-" otherwise)
 *   callret  call/ret of an empty function
 *   divzero  div by zero -> SIGFPE -> handler steps over it -> sigreturn
 * Also prints the TSC rate.  usage: native [N]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <time.h>
#include <ucontext.h>
#include <x86intrin.h>

#include "bench/tsc_hz.h"

static uint32_t *samples;
static int n;

static int cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t median(void)
{
	qsort(samples, (size_t)n, sizeof(*samples), cmp);
	return samples[n / 2];
}

static void on_fpe(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EIP] += 2; /* div %ecx */
}

__attribute__((noinline)) static void empty(void)
{
	__asm__ volatile("" ::: "memory");
}

/* lfence; rdtsc, exactly as the guest times itself. */
static inline uint32_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo;
}

#define MEASURE(op, ...)                                  \
	do {                                              \
		for (int i = 0; i < n; i++) {             \
			uint32_t t0 = tsc();              \
			__VA_ARGS__;                      \
			samples[i] = tsc() - t0;          \
		}                                         \
		printf("nano %s %u\n", op, median());     \
	} while (0)

int main(int argc, char **argv)
{
	struct sigaction sa;

	n = argc > 1 ? atoi(argv[1]) : 5000;
	samples = calloc((size_t)(n > 0 ? n : 1), sizeof(*samples));
	if (n <= 0 || !samples)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fpe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGFPE, &sa, NULL);
	MEASURE("syscall", __asm__ volatile("int $0x80" : : "a"(20) : "memory"));
	if (ioperm(0x80, 1, 1) == 0)
		MEASURE("in", __asm__ volatile("inb $0x80, %%al" : : : "eax", "memory"));
	else
		printf("nano in -\n");
	MEASURE("callret", empty());
	MEASURE("divzero", __asm__ volatile("xorl %%edx, %%edx\n\tdivl %%ecx"
	                                    : : "a"(1), "c"(0) : "edx", "memory"));
	printf("tsc_hz %.0f\n", tsc_hz());
	return 0;
}
