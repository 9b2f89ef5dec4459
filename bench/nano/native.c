/*
 * native.c — bench/nano's operations in a native Linux i386 process (built
 * with gcc -m32), timed the same way as the guest does (RDTSC around one
 * operation, median of N):
 *   syscall  int $0x80 (getpid), user -> kernel -> user
 *   in       inb from port 0x80 after ioperm (root only; "-" otherwise)
 *   callret  call/ret of an empty function
 *   divzero  div by zero -> SIGFPE -> handler steps over it -> sigreturn
 *   tsc      nothing between the two timer reads (the floor)
 *   pushf    pushf; pop %eax
 *   popf     push %ebx; popf (%ebx: EFLAGS as pushf read them)
 *   pushf.x100, popf.x100, callret.x100
 *            100 in a row in one timed stretch, per operation (n/10
 *            samples); callret: kloop.h's CALLRET_X100
 *   kloop.nocli  kloop.h's loop without CLI/STI, per iteration (n/50
 *            samples).  No cli, sti or kloop: CLI/STI fault at CPL 3.
 * and the counterparts of bench/nano/paging.c's operations, as close as a
 * Linux process gets to them:
 *   pgfault    a load from a PROT_NONE page -> SIGSEGV -> the handler
 *              steps over the 2-byte load -> sigreturn
 *   pgfix      the same load; the handler mprotects the page read-write
 *              and returns, the load is retried (.enter: to the handler,
 *              .fixup: the mprotect, .resume: sigreturn and the retried
 *              load); between samples, untimed, the page goes back to
 *              PROT_NONE
 *   ptemod     mprotect flipping a page between read-only and read-write
 *              (the kernel rewrites one PTE and flushes its TLB entry),
 *              then a load from it (.inv: the mprotect, .touch: the load)
 *   cr3switch  lmbench lat_ctx style: two processes pinned to one CPU pass
 *              a byte through two pipes, each loading one word from each
 *              of its 64 pages when it has the byte; half a round trip,
 *              so one switch plus one pipe write and one read (no parts)
 *   touch64    the 64 loads alone
 * Also prints the TSC rate.  usage: native [N]
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench/tsc_hz.h"
#include "bench/nano/kloop.h"

#define PAGE 4096u
#define WS   64

static uint32_t *samples, *parts[3];
static int n;
static volatile uint32_t t_enter, t_fixed;
static int segv_fix;      /* 0: step over the load, 1: mprotect the page */

static int cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t median_of(uint32_t *s)
{
	qsort(s, (size_t)n, sizeof(*s), cmp);
	return s[n / 2];
}

static uint32_t median(void)
{
	return median_of(samples);
}

/* lfence; rdtsc, exactly as the guest times itself. */
static inline uint32_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo;
}

static void on_fpe(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)si;
	((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EIP] += 2; /* div %ecx */
}

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	if (!segv_fix) {
		((ucontext_t *)ctx)->uc_mcontext.gregs[REG_EIP] += 2;
		return;
	}
	t_enter = tsc();
	mprotect((void *)((uintptr_t)si->si_addr & ~(uintptr_t)(PAGE - 1)), PAGE,
	         PROT_READ | PROT_WRITE);
	t_fixed = tsc();
}

__attribute__((noinline)) static void empty(void)
{
	__asm__ volatile("" ::: "memory");
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

KLOOP(kloop_plain, "", "");
static uint32_t kloop_cell;

/* n/d samples, at least 11 (never more than n), as the guest takes. */
static int fewer(int d)
{
	int m = n / d;

	return m < 11 ? (n < 11 ? n : 11) : m;
}

/* The median of the first m samples, per `per` operations. */
static void report_per(const char *op, int m, uint32_t per)
{
	int keep = n;

	n = m;
	printf("nano %s %.2f\n", op, (double)median() / per);
	n = keep;
}

#define X100(op, ...)                                     \
	do {                                              \
		int m_ = fewer(10);                       \
		for (int i = 0; i < m_; i++) {            \
			uint32_t t0 = tsc();              \
			__VA_ARGS__;                      \
			samples[i] = tsc() - t0;          \
		}                                         \
		report_per(op ".x100", m_, 100);          \
	} while (0)

static void flag_ops(void)
{
	uint32_t fl;
	int m = fewer(50);

	MEASURE("tsc", (void)0);
	MEASURE("pushf", __asm__ volatile("pushf; popl %%eax" ::: "eax", "memory"));
	__asm__ volatile("pushf; popl %0" : "=r"(fl));
	MEASURE("popf", __asm__ volatile("pushl %0; popf" : : "r"(fl) : "cc", "memory"));
	X100("pushf", __asm__ volatile(".rept 100\n\tpushf\n\tpopl %%eax\n\t.endr"
	                               ::: "eax", "memory"));
	X100("popf", __asm__ volatile(".rept 100\n\tpushl %0\n\tpopf\n\t.endr"
	                              : : "r"(fl) : "cc", "memory"));
	X100("callret", __asm__ volatile(CALLRET_X100
	                                 ::: "memory"));
	for (int i = 0; i < m; i++) {
		uint32_t t0 = tsc();
		kloop_plain(KLOOP_ITERS, &kloop_cell);
		samples[i] = tsc() - t0;
	}
	report_per("kloop.nocli", m, KLOOP_ITERS);
}


/* The guest's 2-byte load, 8b 00 (movl (%eax), %eax). */
static inline uint32_t load2(uint32_t a)
{
	__asm__ volatile(".byte 0x8b, 0x00" : "+a"(a) : : "memory");
	return a;
}

static void report(const char *op, uint32_t *s)
{
	printf("nano %s %u\n", op, median_of(s));
}

static uint32_t touch(const uint8_t *ws)
{
	uint32_t sum = 0;

	for (uint32_t p = 0; p < WS; p++)
		sum += *(volatile const uint32_t *)(ws + p * PAGE);
	return sum;
}

static void pgfault(uint8_t *two)
{
	segv_fix = 0;
	mprotect(two, 2 * PAGE, PROT_NONE);
	MEASURE("pgfault", load2((uint32_t)(uintptr_t)two));
	segv_fix = 1;
	for (int i = 0; i < n; i++) {
		uint8_t *pg = two + (i & 1) * PAGE;
		uint32_t t0 = tsc();
		load2((uint32_t)(uintptr_t)pg);
		uint32_t t1 = tsc();
		samples[i] = t1 - t0;
		parts[0][i] = t_enter - t0;
		parts[1][i] = t_fixed - t_enter;
		parts[2][i] = t1 - t_fixed;
		mprotect(pg, PAGE, PROT_NONE);
	}
	report("pgfix", samples);
	report("pgfix.enter", parts[0]);
	report("pgfix.fixup", parts[1]);
	report("pgfix.resume", parts[2]);
}

static void ptemod(uint8_t *pg)
{
	for (int i = 0; i < n; i++) {
		uint32_t t0 = tsc();
		mprotect(pg, PAGE, i & 1 ? PROT_READ : PROT_READ | PROT_WRITE);
		uint32_t t1 = tsc();
		(void)*(volatile uint32_t *)pg;
		uint32_t t2 = tsc();
		samples[i] = t2 - t0;
		parts[0][i] = t1 - t0;
		parts[1][i] = t2 - t1;
	}
	report("ptemod", samples);
	report("ptemod.inv", parts[0]);
	report("ptemod.touch", parts[1]);
}

/* Pin to the first CPU we may run on: the two processes share it. */
static void pin(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			CPU_ZERO(&set);
			CPU_SET(c, &set);
			sched_setaffinity(0, sizeof(set), &set);
			return;
		}
}

static void cr3switch(uint8_t *ws)
{
	int down[2], up[2];
	char b = 0;
	pid_t child;

	pin();
	if (pipe(down) < 0 || pipe(up) < 0 || (child = fork()) < 0) {
		printf("nano cr3switch -\n");
		return;
	}
	if (child == 0) {
		for (uint32_t p = 0; p < WS; p++)   /* frames of its own */
			ws[p * PAGE] = (uint8_t)~p;
		for (int i = 0; i < n; i++) {
			if (read(down[0], &b, 1) != 1)
				_exit(1);
			b = (char)touch(ws);
			if (write(up[1], &b, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	for (int i = 0; i < n; i++) {
		uint32_t t0 = tsc();
		if (write(down[1], &b, 1) != 1 || read(up[0], &b, 1) != 1)
			break;
		b = (char)touch(ws);
		samples[i] = (tsc() - t0) / 2;
	}
	waitpid(child, NULL, 0);
	printf("nano cr3switch %u\n", median());
	MEASURE("touch64", touch(ws));
}

static void paging_ops(void)
{
	uint8_t *m = mmap(NULL, (WS + 3) * PAGE, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct sigaction sa;

	if (m == MAP_FAILED) {
		printf("nano pgfault -\n");
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	for (uint32_t p = 0; p < WS + 3; p++)
		m[p * PAGE] = (uint8_t)p;
	pgfault(m + WS * PAGE);
	ptemod(m + (WS + 2) * PAGE);
	cr3switch(m);
}

int main(int argc, char **argv)
{
	struct sigaction sa;

	n = argc > 1 ? atoi(argv[1]) : 5000;
	samples = calloc((size_t)(n > 0 ? n : 1), sizeof(*samples));
	for (int i = 0; i < 3; i++)
		parts[i] = calloc((size_t)(n > 0 ? n : 1), sizeof(*samples));
	if (n <= 0 || !samples || !parts[0] || !parts[1] || !parts[2])
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
	flag_ops();
	paging_ops();
	printf("tsc_hz %.0f\n", tsc_hz());
	return 0;
}
