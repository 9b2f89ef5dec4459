/*
 * switch-insns.c — what the instructions of popek's world switch
 * (vmm/switch.S) cost on this host, each alone in a loop: the x87/SSE
 * save and restore, FNINIT, segment loads (an LDT selector, a null one),
 * WRFSBASE and IRETQ.  A plain host program, 64-bit code at CPL 3; no
 * popek.  docs/world-switch.md quotes it.
 *
 * Prints one "name cycles" line per instruction: the median over 7 runs
 * of N iterations each, in TSC cycles per instruction (loop included).
 *
 * usage: switch-insns [N]
 */
#include <asm/ldt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

#define RUNS 7

static uint8_t fx[512] __attribute__((aligned(64)));
static uint16_t ldt_sel, null_sel, flat_sel = 0x2b;
static uint64_t fs_base;

static void op_fxsave(void) { __asm__ volatile("fxsave64 %0" : "=m"(fx)); }
static void op_fxrstor(void) { __asm__ volatile("fxrstor64 %0" : : "m"(fx)); }
static void op_fninit(void) { __asm__ volatile("fninit"); }
static void op_ldt_load(void) { __asm__ volatile("mov %0, %%es" : : "r"(ldt_sel)); }
static void op_null_load(void) { __asm__ volatile("mov %0, %%es" : : "r"(null_sel)); }
static void op_wrfsbase(void) { __asm__ volatile("wrfsbase %0" : : "r"(fs_base)); }
static void op_iretq(void)
{
	__asm__ volatile("mov %%ss, %%eax\n\tpush %%rax\n\tpush %%rsp\n\t"
	                 "addq $8, (%%rsp)\n\tpushfq\n\tmov %%cs, %%eax\n\t"
	                 "push %%rax\n\tlea 1f(%%rip), %%rax\n\tpush %%rax\n\t"
	                 "iretq\n1:" : : : "rax", "memory", "cc");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void measure(const char *name, void (*op)(void), long n)
{
	double r[RUNS];

	for (int k = 0; k < RUNS; k++) {
		uint64_t t0 = __rdtsc();
		for (long i = 0; i < n; i++)
			op();
		r[k] = (double)(__rdtsc() - t0) / (double)n;
	}
	qsort(r, RUNS, sizeof(r[0]), cmp_double);
	printf("%-12s %6.1f\n", name, r[RUNS / 2]);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct user_desc d = { .entry_number = 5, .base_addr = 0, .limit = 0xFFFFF,
	                       .seg_32bit = 1, .limit_in_pages = 1, .useable = 1 };

	if (n <= 0) {
		fprintf(stderr, "switch-insns: N must be a positive count\n");
		return 2;
	}
	if (syscall(SYS_modify_ldt, 1, &d, sizeof(d)) != 0) {
		perror("switch-insns: modify_ldt");
		return 2;
	}
	ldt_sel = 5 << 3 | 7;
	op_fxsave();
	measure("fxsave64", op_fxsave, n);
	measure("fxrstor64", op_fxrstor, n);
	measure("fninit", op_fninit, n);
	measure("load-ldt", op_ldt_load, n);
	measure("load-null", op_null_load, n);
	__asm__ volatile("mov %0, %%es" : : "r"(flat_sel));
	if (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) {
		__asm__ volatile("rdfsbase %0" : "=r"(fs_base));
		measure("wrfsbase", op_wrfsbase, n);
	} else {
		printf("%-12s %6s\n", "wrfsbase", "-");
	}
	measure("iretq", op_iretq, n);
	return 0;
}
