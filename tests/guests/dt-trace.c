/*
 * dt-trace.c — guest writes to its GDT and LDT take effect as on hardware
 * without reloading GDTR/LDTR (popek write-traces descriptor-table pages
 * through the shadow MMU).  Checks:
 *   - a segment register keeps the descriptor it loaded after the GDT
 *     entry changes (the hidden part is a cache);
 *   - a selector pushed before the change and popped after it loads the
 *     new GDT entry (a native reload of the host's shadow, under popek);
 *   - an LDT entry rewritten in place, without LLDT, is what the next
 *     load of its selector gets;
 *   - paging on (identity, 4 MiB pages): the same GDT write through a
 *     page-table mapping.
 * Runs the same under QEMU: scripts/qemu-guest tests/guests/dt-trace.elf
 */
#include "lib.h"

#define LDT_SEL 0x38        /* GDT index 7 (indexes 4-6 alias host ones) */
#define DATA_IDX 8          /* the GDT entry rewritten */

static uint64_t gdt[10] __attribute__((aligned(4096)));
static uint64_t ldt[2] __attribute__((aligned(8)));
static uint32_t pd[1024] __attribute__((aligned(4096)));

static uint64_t seg(uint32_t base, uint32_t limit, unsigned access, unsigned fl)
{
	return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xF) << 48) |
	       ((uint64_t)fl << 52) | ((uint64_t)(base >> 24) << 56);
}

#define BASE(n) (0x40000u + (n) * 0x2000u)   /* marker n at BASE(n)+0x1000 */

static uint32_t read_fs(void)
{
	uint32_t v;
	__asm__ volatile("movl %%fs:0x1000, %0" : "=r"(v) : : "memory");
	return v;
}

static uint32_t read_gs(void)
{
	uint32_t v;
	__asm__ volatile("movl %%gs:0x1000, %0" : "=r"(v) : : "memory");
	return v;
}

/* FS loaded from DATA_IDX with base a, FS pushed, entry rewritten to base
 * b, popped into GS: FS still reads a, GS reads b. */
static void push_rewrite_pop(unsigned a, unsigned b, const char *tag)
{
	uint32_t fs_val, gs_val;

	gdt[DATA_IDX] = seg(BASE(a), 0xFFFFF, 0x92, 0xC);
	__asm__ volatile("mov %0, %%fs\n\tpushl %%fs" : :
	                 "r"((uint16_t)(DATA_IDX << 3)) : "memory");
	gdt[DATA_IDX] = seg(BASE(b), 0xFFFFF, 0x92, 0xC);
	__asm__ volatile("popl %%gs" : : : "memory");
	fs_val = read_fs();
	gs_val = read_gs();
	check(fs_val == 0xD0 + a, "loaded-fs-keeps-its-cached-descriptor");
	if (fs_val != 0xD0 + a)
		printf("  %s: fs read 0x%x, expected 0x%x\n", tag, fs_val, 0xD0 + a);
	check(gs_val == 0xD0 + b, "popped-selector-loads-the-new-gdt-entry");
	if (gs_val != 0xD0 + b)
		printf("  %s: gs read 0x%x, expected 0x%x\n", tag, gs_val, 0xD0 + b);
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"((uint16_t)0));
}

int guest_main(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;
	uint32_t v;

	for (unsigned n = 0; n < 4; n++)
		*(volatile uint32_t *)(uintptr_t)(BASE(n) + 0x1000) = 0xD0 + n;
	gdt[1] = seg(0, 0xFFFFF, 0x9A, 0xC);
	gdt[2] = seg(0, 0xFFFFF, 0x92, 0xC);
	gdt[7] = seg((uint32_t)(uintptr_t)ldt, sizeof(ldt) - 1, 0x82, 0);
	ldt[1] = seg(BASE(2), 0xFFFFF, 0x92, 0xC);
	r.limit = sizeof(gdt) - 1;
	r.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0\n\tljmp $0x08, $1f\n1:\t"
	                 "movl %1, %%ds\n\tmovl %1, %%es\n\tmovl %1, %%ss\n\t"
	                 "lldt %w2" : : "m"(r), "r"(0x10), "r"(LDT_SEL) : "memory");

	push_rewrite_pop(0, 1, "paging off");

	/* The LDT entry rewritten in place: the next load gets it. */
	__asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)(1 << 3 | 4)));
	v = read_fs();
	check(v == 0xD2, "ldt-entry-loads");
	ldt[1] = seg(BASE(3), 0xFFFFF, 0x92, 0xC);
	__asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)(1 << 3 | 4)));
	v = read_fs();
	check(v == 0xD3, "ldt-entry-rewritten-without-lldt-loads-new");
	__asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)0));

	/* Paging on, identity-mapped with 4 MiB pages: same again. */
	for (unsigned i = 0; i < 1024; i++)
		pd[i] = (i << 22) | 0x83;               /* P, R/W, PS */
	__asm__ volatile("movl %%cr4, %%eax\n\torl $0x10, %%eax\n\t"
	                 "movl %%eax, %%cr4\n\tmovl %0, %%cr3\n\t"
	                 "movl %%cr0, %%eax\n\torl $0x80000000, %%eax\n\t"
	                 "movl %%eax, %%cr0" : : "r"(pd) : "eax", "memory");
	push_rewrite_pop(2, 3, "paging on");
	return finish();
}
