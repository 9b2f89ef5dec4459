/*
 * state.c — guest state survives exits.  Between exits the monitor runs C
 * code (which may use SSE and the x87) on the same host CPU: the world
 * switch must save and restore the guest's x87/SSE registers, MXCSR and
 * FCW, its GPRs and arithmetic flags, and its data segment selectors —
 * including FS/GS loaded with a selector whose host descriptor has a
 * different base from the monitor's FS (the case where the signal handler
 * must repair the monitor's FS base before any C runs).
 */
#include "lib.h"

#define EXITS 64
#define HOST_USER_DS 0x2b /* loads from compatibility mode (DESIGN.md §12) */

static void many_exits(void)
{
	for (int i = 0; i < EXITS; i++)
		outb((uint8_t)i, PORT_POST);
}

static void check_sse(void)
{
	static uint32_t in[8][4] __attribute__((aligned(16)));
	static uint32_t got[8][4] __attribute__((aligned(16)));
	uint32_t mxcsr_in = 0x7F80, mxcsr_out = 0; /* round toward zero */

	for (int r = 0; r < 8; r++)
		for (int w = 0; w < 4; w++)
			in[r][w] = 0x01010101u * (uint32_t)(r + 1) ^ (uint32_t)w << 28;
	__asm__ volatile(
		"ldmxcsr %1\n\t"
		"movdqa 0(%0), %%xmm0\n\t"   "movdqa 16(%0), %%xmm1\n\t"
		"movdqa 32(%0), %%xmm2\n\t"  "movdqa 48(%0), %%xmm3\n\t"
		"movdqa 64(%0), %%xmm4\n\t"  "movdqa 80(%0), %%xmm5\n\t"
		"movdqa 96(%0), %%xmm6\n\t"  "movdqa 112(%0), %%xmm7\n\t"
		: : "r"(in), "m"(mxcsr_in) : "memory");
	many_exits();
	__asm__ volatile(
		"movdqa %%xmm0, 0(%0)\n\t"   "movdqa %%xmm1, 16(%0)\n\t"
		"movdqa %%xmm2, 32(%0)\n\t"  "movdqa %%xmm3, 48(%0)\n\t"
		"movdqa %%xmm4, 64(%0)\n\t"  "movdqa %%xmm5, 80(%0)\n\t"
		"movdqa %%xmm6, 96(%0)\n\t"  "movdqa %%xmm7, 112(%0)\n\t"
		"stmxcsr %1\n\t"
		: : "r"(got), "m"(mxcsr_out) : "memory");
	check(memcmp(in, got, sizeof(in)) == 0, "sse-registers-survive-exits");
	check(mxcsr_out == mxcsr_in, "mxcsr-survives-exits");
}

static void check_x87(void)
{
	uint16_t fcw_in = 0x0F7F, fcw_out = 0; /* round toward zero, 64-bit */
	uint32_t a = 0, b = 0;
	int depth = 0;
	uint16_t fsw;

	__asm__ volatile("fninit\n\tfldcw %0\n\tfld1\n\tfldpi" : : "m"(fcw_in));
	many_exits();
	__asm__ volatile("fnstcw %0\n\tfnstsw %1" : "=m"(fcw_out), "=m"(fsw));
	depth = 8 - ((fsw >> 11) & 7); /* TOP after two pushes is 6 */
	/* pi truncated toward zero, times 2^20, then 1: both popped. */
	__asm__ volatile("fmuls %2\n\tfistpl %0\n\tfistpl %1"
	                 : "=m"(a), "=m"(b) : "m"((float){1048576.0f}));
	check(fcw_out == fcw_in, "x87-control-word-survives-exits");
	check(depth == 2, "x87-stack-depth-survives-exits");
	check(a == 3294198u && b == 1, "x87-stack-values-survive-exits");
}

static void check_gprs_flags(void)
{
	uint32_t r[6];

	__asm__ volatile(
		"push %%ebp\n\t"
		"mov $0x11111111, %%ebx\n\t"  "mov $0x22222222, %%ecx\n\t"
		"mov $0x33333333, %%esi\n\t"  "mov $0x44444444, %%edi\n\t"
		"mov $0x55555555, %%ebp\n\t"
		"stc\n\tstd\n\t"
		"mov $0x0, %%al\n\t"          "outb %%al, $0x80\n\t"
		"outb %%al, $0x80\n\t"
		"pushf\n\tpop %%eax\n\tcld\n\t"
		"mov %%ebp, %%edx\n\t"
		"pop %%ebp\n\t"
		: "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=S"(r[3]), "=D"(r[4]),
		  "=d"(r[5]) : : "memory", "cc");
	check(r[1] == 0x11111111 && r[2] == 0x22222222 && r[3] == 0x33333333 &&
	      r[4] == 0x44444444 && r[5] == 0x55555555, "gprs-survive-exits");
	check((r[0] & 1) && (r[0] & 0x400), "cf-df-survive-exits");
}

static void check_data_segments(void)
{
	uint16_t fs = 0, gs = 0, ds = 0, es = 0;

	/* This guest has no GDT: the host selector loads only because the
	 * load runs natively (trap mode's residue).  hostsel=0: null, which
	 * loads anywhere (under --mode=bt the load is emulated and 0x2b
	 * would #GP, as on hardware). */
	uint16_t sel = cmdline_int("hostsel", 1) ? HOST_USER_DS : 0;

	__asm__ volatile("mov %%ds, %0\n\tmov %%es, %1" : "=r"(ds), "=r"(es));
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(sel));
	many_exits();
	__asm__ volatile("mov %%fs, %0\n\tmov %%gs, %1" : "=r"(fs), "=r"(gs));
	check(fs == sel && gs == sel, "fs-gs-survive-exits");
	uint16_t ds2, es2;
	__asm__ volatile("mov %%ds, %0\n\tmov %%es, %1" : "=r"(ds2), "=r"(es2));
	check(ds2 == ds && es2 == es, "ds-es-survive-exits");
}

int guest_main(void)
{
	check_sse();
	check_x87();
	check_gprs_flags();
	check_data_segments();
	return finish();
}
