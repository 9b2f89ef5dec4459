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
#include "lib.h"

#define MAX_N 20000
#define KCODE 0x08
#define KDATA 0x10
#define UCODE (0x18 | 3)
#define UDATA (0x38 | 3)  /* GDT indexes 4-6 alias host segments: skip */
#define TSS   0x40

static uint32_t samples[MAX_N];
static int n;
static uint8_t kstack[8192] __attribute__((aligned(16)));
static uint8_t ustack[8192] __attribute__((aligned(16)));
static uint64_t gdt[9] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static uint32_t tss[26] __attribute__((aligned(8)));
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

static uint64_t seg(uint32_t base, uint32_t limit, unsigned access, unsigned fl)
{
	return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xF) << 48) |
	       ((uint64_t)fl << 52) | ((uint64_t)(base >> 24) << 56);
}

static uint64_t gate(void (*fn)(void), unsigned type_dpl)
{
	uint32_t off = (uint32_t)(uintptr_t)fn;
	return (off & 0xFFFF) | ((uint64_t)KCODE << 16) |
	       ((uint64_t)type_dpl << 40) | ((uint64_t)(off >> 16) << 48);
}

static void setup(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;

	gdt[1] = seg(0, 0xFFFFF, 0x9A, 0xC);
	gdt[2] = seg(0, 0xFFFFF, 0x92, 0xC);
	gdt[3] = seg(0, 0xFFFFF, 0xFA, 0xC);
	gdt[7] = seg(0, 0xFFFFF, 0xF2, 0xC);
	gdt[8] = seg((uint32_t)(uintptr_t)tss, sizeof(tss) - 1, 0x89, 0);
	tss[1] = (uint32_t)(uintptr_t)(kstack + sizeof(kstack));  /* esp0 */
	tss[2] = KDATA;                                           /* ss0 */
	idt[0] = gate(de_entry, 0x8E);
	idt[0x80] = gate(sys_entry, 0xEF);   /* trap gate, DPL 3 */
	idt[0x81] = gate(back_entry, 0xEE);  /* interrupt gate, DPL 3 */
	r.limit = sizeof(gdt) - 1;
	r.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0\n\t"
	                 "ljmp $0x08, $1f\n1:\t"
	                 "movl %1, %%ds\n\tmovl %1, %%es\n\tmovl %1, %%ss\n\t"
	                 "ltr %w2" : : "m"(r), "r"(KDATA), "r"(TSS) : "memory");
	r.limit = sizeof(idt) - 1;
	r.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(r));
}

static inline uint32_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo;
}

static uint32_t median(void)
{
	/* insertion into a histogram-free partial sort: shell sort */
	for (int gap = n / 2; gap > 0; gap /= 2)
		for (int i = gap; i < n; i++)
			for (int j = i; j >= gap && samples[j - gap] > samples[j]; j -= gap) {
				uint32_t t = samples[j];
				samples[j] = samples[j - gap];
				samples[j - gap] = t;
			}
	return samples[n / 2];
}

static void user_syscalls(void)
{
	for (int i = 0; i < n; i++) {
		uint32_t t0 = tsc();
		__asm__ volatile("int $0x80" : : "a"(20) : "memory");
		samples[i] = tsc() - t0;
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
	printf("nano syscall %u\n", median());
	for (int i = 0; i < n; i++) {
		uint32_t t0 = tsc();
		__asm__ volatile("inb $0x80, %%al" : : : "eax", "memory");
		samples[i] = tsc() - t0;
	}
	printf("nano in %u\n", median());
	for (int i = 0; i < n; i++) {
		uint32_t t0 = tsc();
		empty();
		samples[i] = tsc() - t0;
	}
	printf("nano callret %u\n", median());
	for (int i = 0; i < n; i++) {
		uint32_t t0 = tsc();
		__asm__ volatile("xorl %%edx, %%edx\n\tdivl %%ecx"
		                 : : "a"(1), "c"(0) : "edx", "memory");
		samples[i] = tsc() - t0;
	}
	printf("nano divzero %u\n", median());
	return 0;
}
