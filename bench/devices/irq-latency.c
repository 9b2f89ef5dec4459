/*
 * irq-latency.c — bench guest: interrupt injection latency, from the host
 * timer's expiry to the first instruction of the guest's handler.
 *
 * The test timer (devices/testtimer.c) raises vector 0x40 every
 * millisecond from a host thread sleeping on CLOCK_MONOTONIC deadlines;
 * its port 0x50C reads the host nanoseconds since the last deadline.  The
 * handler reads it as its first instruction (after PUSHAL), then once
 * more: the second read minus the first is one IN exit, printed beside the
 * latency because every figure includes part of one.  Two ways to wait:
 *
 *   halted  sti; hlt — popek wakes the vCPU thread from its condition
 *           variable;
 *   busy    a loop that makes no exits — popek kicks the running vCPU
 *           thread with a signal.
 *
 * Prints, per way, with n samples after a short warm-up:
 *
 *     latency <way> <median ns> <p99 ns> <max ns> <n>
 *     in_exit <way> <median ns>
 *     overruns <way> <count>
 *
 * The port measures from the latest deadline, so a handler that starts
 * more than a period (1 ms) late reads too little; it then also finds the
 * timer's count (port 0x508) advanced by more than one since the last
 * handler.  Such samples are counted as overruns: with any, the maximum
 * and perhaps p99 are wrong.
 *
 * Command line: n=N samples per way (default 1000, at most MAX_N).
 * bench/devices/irq-run runs it a few times and takes medians.
 */
#include "lib.h"

#define VEC          0x40
#define PORT_VECTOR  0x500
#define PORT_PERIOD  0x504
#define PORT_FIRED   0x508
#define PORT_LATENCY 0x50C
#define MAX_N        10000
#define WARMUP       20

static uint64_t idt[VEC + 1] __attribute__((aligned(8)));
static uint32_t lat[MAX_N], gap[MAX_N];
static volatile int taken, want, overruns;
static uint32_t last_fired;

void irq_entry(void);
void irq_isr(uint32_t first);
__asm__(".globl irq_entry\nirq_entry:\n\t"
        "pushal\n\t"
        "movw $0x50C, %dx\n\t"
        "inl %dx, %eax\n\t"
        "pushl %eax\n\t"
        "cld\n\t"
        "call irq_isr\n\t"
        "addl $4, %esp\n\t"
        "popal\n\t"
        "iret\n");

void irq_isr(uint32_t first)
{
	uint32_t second = inl(PORT_LATENCY), fired = inl(PORT_FIRED);
	int i = taken++ - WARMUP;

	if (i >= 0 && i < want) {
		lat[i] = first;
		gap[i] = second - first;
		if (fired - last_fired != 1)
			overruns++;
	}
	last_fired = fired;
}

static void setup(void)
{
	flat_tables(idt, sizeof(idt));
	idt[VEC] = int_gate32(irq_entry);
}

static void run(const char *way, bool busy)
{
	taken = overruns = 0;
	outl(1000, PORT_PERIOD);                /* 1 ms */
	if (busy) {
		__asm__ volatile("sti" ::: "memory");
		while (taken < WARMUP + want)
			__asm__ volatile("pause" ::: "memory");
		__asm__ volatile("cli" ::: "memory");
	} else {
		while (taken < WARMUP + want)
			__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
	}
	outl(0, PORT_PERIOD);
	sort_u32(lat, want);
	sort_u32(gap, want);
	printf("latency %s %u %u %u %d\n", way, lat[want / 2],
	       lat[want * 99 / 100], lat[want - 1], want);
	printf("in_exit %s %u\n", way, gap[want / 2]);
	printf("overruns %s %d\n", way, overruns);
}

int guest_main(void)
{
	want = cmdline_int("n", 1000);
	if (want < 100 || want > MAX_N) {
		printf("irq-latency: n must be 100..%d\n", MAX_N);
		return 2;
	}
	setup();
	outb(VEC, PORT_VECTOR);
	run("halted", false);
	run("busy", true);
	return 0;
}
