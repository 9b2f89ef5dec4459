/*
 * nano.c — bench guest: Adams & Agesen's nanobenchmarks (ASPLOS 2006)
 * that popek's virtual CPU supports, each timed from inside the guest with
 * RDTSC (which does not exit) around one operation, N times; prints
 *
 *     nano <op> <median TSC ticks>
 *
 *   syscall  INT 0x80 from CPL 3 to a trap gate whose handler IRETs
 *   in       IN from port 0x80 at CPL 0 (a trapped instruction)
 *   callret  CALL to a function that RETs, at CPL 0 (trap mode: no exit,
 *            native speed; bt: the CALL is translated inline, the RET is
 *            a callout)
 *   divzero  DIV by zero at CPL 0: #DE to the guest's handler, which steps
 *            over the DIV and IRETs
 * and, all at CPL 0 as well (guest_main runs there once the syscall part
 * has come back from CPL 3):
 *   tsc      nothing: the two timer reads back to back, the floor under
 *            every single-operation row (under bt each RDTSC is itself a
 *            callout)
 *   cli      CLI with IF=1 (an untimed STI before each sample)
 *   sti      STI with IF=0 (an untimed CLI before each), nothing pending:
 *            both 8259s are masked
 *   pushf    PUSHF; POP %eax
 *   popf     PUSH %ebx; POPF, %ebx holding EFLAGS as PUSHF read them
 *            before the loop (the current IF, IOPL 0)
 *   <op>.x100  cli, sti, pushf, popf, callret: 100 of the operation in a
 *            row in one timed stretch (.rept 100; callret: kloop.h's
 *            CALLRET_X100, CALLs to a bare RET in the same page), reported per operation with two decimals; n/10 samples
 *   kloop    per iteration of KLOOP_ITERS (kloop.h): CLI, CALL to a leaf
 *            doing a load, arithmetic, a conditional branch, a store and
 *            RET (in the same page), STI, DEC/JNZ; the whole loop timed, n/50 samples, two
 *            decimals
 *   kloop.nocli  the same loop without the CLI/STI pair
 *
 * bench/nano/run sets them beside the same operations in a native Linux
 * i386 process (bench/nano/native.c; no cli/sti there) and under QEMU.
 * Command line: n=N.
 */
#include "kit.h"
#include "kloop.h"

#define MAX_N 20000

static uint32_t samples[MAX_N];
static int n;
static uint8_t ustack[8192] __attribute__((aligned(16)));
uint32_t nano_saved_esp;

void de_entry(void), sys_entry(void), back_entry(void);
void enter_user(void (*fn)(void), uint32_t esp);
__asm__(
	".globl de_entry, sys_entry, back_entry, enter_user\n"
	"de_entry:\n\t"    "addl $2, (%esp)\n\t" "iret\n"  /* skip div %ecx */
	"sys_entry:\n\t"   "iret\n"
	/* enter_user(fn, esp): IRET to CPL 3; back_entry returns here. */
	"enter_user:\n\t"
	"pushal\n\t"
	"movl %esp, nano_saved_esp\n\t"
	"movl 36(%esp), %eax\n\t"   /* fn */
	"movl 40(%esp), %ecx\n\t"   /* esp */
	"pushl $0x3b\n\t" "pushl %ecx\n\t" "pushl $0x202\n\t"
	"pushl $0x1b\n\t" "pushl %eax\n\t"
	"movl $0x3b, %eax\n\t" "movl %eax, %ds\n\t" "movl %eax, %es\n\t"
	"iret\n"
	"back_entry:\n\t"
	"movl $0x10, %eax\n\t" "movl %eax, %ds\n\t" "movl %eax, %es\n\t"
	"movl nano_saved_esp, %esp\n\t"
	"popal\n\t"
	"ret\n");

static void setup(void)
{
	kit_gate(0, de_entry, GATE_INT);
	kit_gate(0x80, sys_entry, GATE_TRAP_USER);
	kit_gate(0x81, back_entry, GATE_INT_USER);
	kit_tables();
}

static void user_syscalls(void)
{
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		__asm__ volatile("int $0x80" : : "a"(20) : "memory");
		samples[i] = kit_tsc() - t0;
	}
	__asm__ volatile("int $0x81");
}

__attribute__((noinline)) static void empty(void)
{
	__asm__ volatile("" ::: "memory");
}

KLOOP(kloop_cli, "cli", "sti");
KLOOP(kloop_plain, "", "");
static uint32_t kloop_cell;

/* The median of m samples, per `per` operations, with two decimals. */
static void report_per(const char *op, int m, uint32_t per)
{
	uint32_t t = median_u32(samples, m);

	printf("nano %s %u.%02u\n", op, t / per, t % per * 100 / per);
}

/* n/d samples, at least 11 (and never more than n). */
static int fewer(int d)
{
	int m = n / d;

	return m < 11 ? (n < 11 ? n : 11) : m;
}

#define X100(op, ...)                                                     \
	do {                                                              \
		int m_ = fewer(10);                                       \
		for (int i = 0; i < m_; i++) {                            \
			uint32_t t0 = kit_tsc();                          \
			__VA_ARGS__;                                      \
			samples[i] = kit_tsc() - t0;                      \
		}                                                         \
		report_per(op ".x100", m_, 100);                          \
	} while (0)

static void kernel_ops(void)
{
	uint32_t fl;

	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		samples[i] = kit_tsc() - t0;
	}
	printf("nano tsc %u\n", median_u32(samples, n));
	for (int i = 0; i < n; i++) {
		__asm__ volatile("sti" ::: "memory");
		uint32_t t0 = kit_tsc();
		__asm__ volatile("cli" ::: "memory");
		samples[i] = kit_tsc() - t0;
	}
	printf("nano cli %u\n", median_u32(samples, n));
	for (int i = 0; i < n; i++) {
		__asm__ volatile("cli" ::: "memory");
		uint32_t t0 = kit_tsc();
		__asm__ volatile("sti" ::: "memory");
		samples[i] = kit_tsc() - t0;
	}
	printf("nano sti %u\n", median_u32(samples, n));
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		__asm__ volatile("pushf; popl %%eax" ::: "eax", "memory");
		samples[i] = kit_tsc() - t0;
	}
	printf("nano pushf %u\n", median_u32(samples, n));
	__asm__ volatile("pushf; popl %0" : "=r"(fl));
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		__asm__ volatile("pushl %0; popf" : : "r"(fl) : "cc", "memory");
		samples[i] = kit_tsc() - t0;
	}
	printf("nano popf %u\n", median_u32(samples, n));

	X100("cli", __asm__ volatile(".rept 100\n\tcli\n\t.endr" ::: "memory"));
	X100("sti", __asm__ volatile(".rept 100\n\tsti\n\t.endr" ::: "memory"));
	X100("pushf", __asm__ volatile(".rept 100\n\tpushf\n\tpopl %%eax\n\t.endr"
	                               ::: "eax", "memory"));
	X100("popf", __asm__ volatile(".rept 100\n\tpushl %0\n\tpopf\n\t.endr"
	                              : : "r"(fl) : "cc", "memory"));
	X100("callret", __asm__ volatile(CALLRET_X100
	                                 ::: "memory"));

	int m = fewer(50);
	for (int i = 0; i < m; i++) {
		uint32_t t0 = kit_tsc();
		kloop_cli(KLOOP_ITERS, &kloop_cell);
		samples[i] = kit_tsc() - t0;
	}
	report_per("kloop", m, KLOOP_ITERS);
	for (int i = 0; i < m; i++) {
		uint32_t t0 = kit_tsc();
		kloop_plain(KLOOP_ITERS, &kloop_cell);
		samples[i] = kit_tsc() - t0;
	}
	report_per("kloop.nocli", m, KLOOP_ITERS);
	__asm__ volatile("cli" ::: "memory");
}

int guest_main(void)
{
	n = cmdline_int("n", 5000);
	if (n < 1 || n > MAX_N)
		n = 5000;
	setup();
	enter_user(user_syscalls, (uint32_t)(uintptr_t)(ustack + sizeof(ustack)));
	printf("nano syscall %u\n", median_u32(samples, n));
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		__asm__ volatile("inb $0x80, %%al" : : : "eax", "memory");
		samples[i] = kit_tsc() - t0;
	}
	printf("nano in %u\n", median_u32(samples, n));
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		empty();
		samples[i] = kit_tsc() - t0;
	}
	printf("nano callret %u\n", median_u32(samples, n));
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		__asm__ volatile("xorl %%edx, %%edx\n\tdivl %%ecx"
		                 : : "a"(1), "c"(0) : "edx", "memory");
		samples[i] = kit_tsc() - t0;
	}
	printf("nano divzero %u\n", median_u32(samples, n));
	kernel_ops();
	return 0;
}
