/*
 * exits.c — bench guest: the round-trip cost of each kind of exit, timed
 * from inside the guest with RDTSC (which does not exit) around one
 * trapping instruction, N times per kind.  Prints one line per kind:
 *
 *     exit <kind> <median TSC ticks>
 *
 * bench/exits/run turns ticks into ns with the TSC rate it measures on the
 * host and sets them beside the host floor (bench/exits/floor.c).
 * Command line: n=N (samples per kind, default 20000, at most MAX_N).
 */
#include "lib.h"

#define MAX_N 50000

static uint32_t samples[MAX_N];

static inline uint32_t rdtsc_lo(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo;
}

static uint8_t outs_buf[16];

#define MEASURE(kind, insn_asm, ...)                                   \
	do {                                                           \
		for (int i = 0; i < n; i++) {                          \
			uint32_t t0 = rdtsc_lo();                      \
			__asm__ volatile(insn_asm __VA_ARGS__);        \
			samples[i] = rdtsc_lo() - t0;                  \
		}                                                      \
		printf("exit %s %u\n", kind, median_u32(samples, n));      \
	} while (0)

int guest_main(void)
{
	int n = cmdline_int("n", 20000);
	uint32_t ecx, esi;

	if (n < 1 || n > MAX_N)
		n = 20000;
	/* One trapped OUT: #GP, emulate, port 0x80. */
	MEASURE("out", "outb %%al, $0x80", : : "a"(0) : "memory");
	/* One trapped IN. */
	MEASURE("in", "inb $0x80, %%al", : : : "eax", "memory");
	/* CLI: the cheapest emulation, virtual IF only. */
	MEASURE("cli", "cli", : : : "memory");
	/* REP OUTSB of 16 bytes: one exit, 16 port writes. */
	MEASURE("rep-outsb-16", "rep outsb",
	        : "=c"(ecx), "=S"(esi) : "c"(16), "S"(outs_buf), "d"(0x80)
	        : "memory");
	return 0;
}
