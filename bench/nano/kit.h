/*
 * kit.h — what the bench/nano guests (nano.c, paging.c) share: flat
 * descriptor tables, interrupt gates, the timer and the median.
 *
 *   GDT  0x08 kernel code, 0x10 kernel data, 0x1b user code, 0x3b user
 *        data (indexes 4-6 alias the host's own segments under popek:
 *        skipped), 0x40 the TSS (ESP0 = the top of a kernel stack).
 *
 * The exception entries stay in each guest's own assembly, as short as
 * a handler can be: the tables here are all the kit does.  Header-only
 * (static), so that each guest stays one object for the generic guest
 * rules in tests/guests/local.mk.
 */
#ifndef POPEK_BENCH_NANO_KIT_H
#define POPEK_BENCH_NANO_KIT_H

#include "lib.h"

#define KCODE 0x08
#define KDATA 0x10
#define UCODE (0x18 | 3)
#define UDATA (0x38 | 3)
#define TSS   0x40

#define GATE_INT       0x8E   /* interrupt gate, DPL 0 */
#define GATE_INT_USER  0xEE   /* interrupt gate, DPL 3 */
#define GATE_TRAP_USER 0xEF   /* trap gate, DPL 3 */

static uint64_t kit_gdt[9] __attribute__((aligned(8)));
static uint64_t kit_idt[256] __attribute__((aligned(8)));
static uint32_t kit_tss[26] __attribute__((aligned(8)));
static uint8_t kit_kstack[8192] __attribute__((aligned(16)));

static inline uint64_t kit_seg(uint32_t base, uint32_t limit, unsigned access,
                               unsigned fl)
{
	return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xF) << 48) |
	       ((uint64_t)fl << 52) | ((uint64_t)(base >> 24) << 56);
}

/* IDT entry `vec` calls fn in kernel code. */
static inline void kit_gate(unsigned vec, void (*fn)(void), unsigned type_dpl)
{
	uint32_t off = (uint32_t)(uintptr_t)fn;

	kit_idt[vec] = (off & 0xFFFF) | ((uint64_t)KCODE << 16) |
	               ((uint64_t)type_dpl << 40) | ((uint64_t)(off >> 16) << 48);
}

/* Load the GDT, the TSS and the IDT (gates set with kit_gate, before or
 * after: the CPU reads them at delivery) and mask both 8259s: the guests
 * take no interrupts, even at CPL 3 with IF set, where a timer tick would
 * find no gate (a triple fault on a host slow enough to see one). */
static inline void kit_tables(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;

	outb(0xFF, 0x21);
	outb(0xFF, 0xA1);

	kit_gdt[1] = kit_seg(0, 0xFFFFF, 0x9A, 0xC);
	kit_gdt[2] = kit_seg(0, 0xFFFFF, 0x92, 0xC);
	kit_gdt[3] = kit_seg(0, 0xFFFFF, 0xFA, 0xC);
	kit_gdt[7] = kit_seg(0, 0xFFFFF, 0xF2, 0xC);
	kit_gdt[8] = kit_seg((uint32_t)(uintptr_t)kit_tss, sizeof(kit_tss) - 1,
	                     0x89, 0);
	kit_tss[1] = (uint32_t)(uintptr_t)(kit_kstack + sizeof(kit_kstack));
	kit_tss[2] = KDATA;                                   /* ss0 */
	r.limit = sizeof(kit_gdt) - 1;
	r.base = (uint32_t)(uintptr_t)kit_gdt;
	__asm__ volatile("lgdt %0\n\t"
	                 "ljmp $0x08, $1f\n1:\t"
	                 "movl %1, %%ds\n\tmovl %1, %%es\n\tmovl %1, %%ss\n\t"
	                 "ltr %w2" : : "m"(r), "r"(KDATA), "r"(TSS) : "memory");
	r.limit = sizeof(kit_idt) - 1;
	r.base = (uint32_t)(uintptr_t)kit_idt;
	__asm__ volatile("lidt %0" : : "m"(r));
}

/* The low half of the TSC after the instructions before it completed. */
static inline uint32_t kit_tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return lo;
}

#endif
