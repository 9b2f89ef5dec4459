/*
 * ldt.c — a guest LDT.  Its entries 0..2 are data segments with distinct
 * bases (a marker at offset 0x1000 of each); entries 1 and 2 share their
 * index with the GDT's code (0x08) and data (0x10) segments, which stay
 * loaded in CS, DS, ES and SS.  Entry 3 is not present.  Checks:
 *   - TI=1 selectors load (natively: popek shadows the LDT at LLDT) and
 *     read their own segment's marker;
 *   - CS/DS keep working while LDT entries use their index;
 *   - a pushed LDT-backed FS popped into GS reads the same segment;
 *   - loading the not-present entry raises #NP with the selector as error
 *     code, delivered through the guest's IDT.
 */
#include "lib.h"

#define LDT_SEL 0x38        /* GDT index 7 (indexes 4-6 alias host ones) */

static uint64_t gdt[8] __attribute__((aligned(8)));
static uint64_t ldt[4] __attribute__((aligned(8)));
static uint64_t idt[32] __attribute__((aligned(8)));
volatile uint32_t np_error, np_count;

void np_entry(void);
__asm__(
	".globl np_entry\n"
	"np_entry:\n\t"
	"pushl %eax\n\t"
	"movl 4(%esp), %eax\n\t"   "movl %eax, np_error\n\t"
	"incl np_count\n\t"
	"addl $2, 8(%esp)\n\t"     /* skip the 2-byte mov %ax, %fs */
	"popl %eax\n\t"
	"addl $4, %esp\n\t"        /* the error code */
	"iret\n");

static uint64_t seg(uint32_t base, uint32_t limit, unsigned access, unsigned fl)
{
	return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xF) << 48) |
	       ((uint64_t)fl << 52) | ((uint64_t)(base >> 24) << 56);
}

static uint32_t read_fs(void)
{
	uint32_t v;
	__asm__ volatile("movl %%fs:0x1000, %0" : "=r"(v) : : "memory");
	return v;
}

int guest_main(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;
	uint32_t got[3], gs_val;
	uint16_t fs_sel;
	static volatile uint32_t flat = 0x5151;

	for (uint32_t j = 0; j < 3; j++) {
		uint32_t base = 0x20000 + j * 0x2000;
		ldt[j] = seg(base, 0xFFFFF, 0x92, 0xC);
		*(volatile uint32_t *)(uintptr_t)(base + 0x1000) = 0xA0 + j;
	}
	ldt[3] = seg(0x26000, 0xFFFF, 0x12, 0x4);     /* P = 0 */
	gdt[1] = seg(0, 0xFFFFF, 0x9A, 0xC);
	gdt[2] = seg(0, 0xFFFFF, 0x92, 0xC);
	gdt[7] = seg((uint32_t)(uintptr_t)ldt, sizeof(ldt) - 1, 0x82, 0);
	idt[11] = ((uint32_t)(uintptr_t)np_entry & 0xFFFF) | (0x08ull << 16) |
	          (0x8Eull << 40) | ((uint64_t)((uint32_t)(uintptr_t)np_entry >> 16) << 48);
	r.limit = sizeof(gdt) - 1;
	r.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0\n\tljmp $0x08, $1f\n1:\t"
	                 "movl %1, %%ds\n\tmovl %1, %%es\n\tmovl %1, %%ss\n\t"
	                 "lldt %w2" : : "m"(r), "r"(0x10), "r"(LDT_SEL) : "memory");
	r.limit = sizeof(idt) - 1;
	r.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(r));

	for (uint32_t j = 0; j < 3; j++) {
		__asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)(j << 3 | 4)));
		got[j] = read_fs();
	}
	check(got[0] == 0xA0, "ldt-entry-0-reads-its-segment");
	check(got[1] == 0xA1, "ldt-entry-1-beside-gdt-cs-index-1");
	check(got[2] == 0xA2, "ldt-entry-2-beside-gdt-ds-index-2");
	check(flat == 0x5151, "gdt-ds-still-flat");
	__asm__ volatile("mov %0, %%fs\n\tpushl %%fs\n\tpopl %%gs\n\t"
	                 "movl %%gs:0x1000, %1\n\tmov %%fs, %2"
	                 : "=r"(fs_sel), "=r"(gs_val), "=r"(fs_sel)
	                 : "0"((uint16_t)(1 << 3 | 4)) : "memory");
	check(gs_val == 0xA1, "pushed-fs-popped-into-gs-same-segment");
	check((fs_sel >> 3) == 1 && (fs_sel & 4), "fs-reads-back-ldt-index-1");
	__asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)(3 << 3 | 4)));
	check(np_count == 1 && np_error == (3 << 3 | 4),
	      "not-present-ldt-entry-np-with-selector");
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"((uint16_t)0));
	return finish();
}
