/*
 * nano.c — bench guest: Adams & Agesen's nanobenchmarks (ASPLOS 2006)
 * that popek's virtual CPU supports, each timed from inside the guest with
 * RDTSC (which does not exit) around one operation, N times; prints
 *
 *     nano <op> <median TSC ticks>
 *
 *   syscall  INT 0x80 from CPL 3 to a trap gate whose handler IRETs
 *   in       IN from port 0x80 at CPL 0 (a trapped instruction)
 *   callret  CALL to a function that RETs (no exit: native speed)
 *   divzero  DIV by zero at CPL 0: #DE to the guest's handler, which steps
 *            over the DIV and IRETs
 *
 * bench/nano/run sets them beside the same operations in a native Linux
 * i386 process (bench/nano/native.c) and under QEMU.  Command line: n=N.
 */
#include "kit.h"

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
	return 0;
}
