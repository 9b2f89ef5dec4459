/*
 * segs.c — the segment-register instructions --mode=bt runs inline
 * (translate/inline.c: MOV Sreg and POP Sreg of DS, ES and FS, PUSH of
 * ES, SS, DS and FS, VERW) behave as the instructions do, also while a
 * 10 kHz timer interrupt lands anywhere in them: a loaded selector gives
 * its own descriptor's base, PUSH gives the guest's selector value (null
 * ones with their RPL, which the host's registers cannot keep), VERW sets ZF as the descriptor says and leaves
 * every other flag alone, and a GDT entry the guest rewrites is what the
 * next load of its selector gets (the inline table forgets it), while a
 * register loaded before keeps the old descriptor, as a CPU does.
 *
 * MOV r32, Sreg and MOV r32, CRn (also inline) give the guest's values.
 *
 * In trap mode the same code runs in place: PUSH Sreg, MOV r32, Sreg and
 * VERW then see the host's selectors and descriptors (the Popek–Goldberg
 * residue, docs/popek-goldberg.md), so those checks are bt's only.
 */
#include "lib.h"

#define TIMER_VECTOR 0x40
#define PORT_TIMER_VECTOR 0x500
#define PORT_TIMER_PERIOD 0x504

/* flat code and data (0x08, 0x10), data based at `window` (0x18), flat
 * read-only data (0x20), flat DPL-3 data (0x28, loaded as 0x2b) */
static uint64_t gdt[6] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static uint32_t window[64], window2[64];
volatile uint32_t ticks;

void irq_entry(void);
__asm__(".globl irq_entry\n"
        "irq_entry:\n\t"          /* (DS may be based: its own) */
        "push %ds\n\tpushl $0x10\n\tpop %ds\n\t"
        "incl ticks\n\t"
        "pop %ds\n\tiret\n");

/* A flat-limit descriptor at `base` with access byte `access`. */
static uint64_t desc(uint32_t base, uint8_t access)
{
	return 0xFFFFull | (uint64_t)(base & 0xFFFFFF) << 16 |
	       (uint64_t)access << 40 | 0xCull << 52 | 0xFull << 48 |
	       (uint64_t)(base >> 24) << 56;
}

static void load_tables(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;

	gdt[1] = 0x00CF9B000000FFFFull;
	gdt[2] = 0x00CF93000000FFFFull;
	gdt[3] = desc((uint32_t)(uintptr_t)window, 0x93);
	gdt[4] = desc(0, 0x91);
	gdt[5] = desc(0, 0xF3);
	r.limit = sizeof(gdt) - 1;
	r.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0" : : "m"(r));
	r.limit = sizeof(idt) - 1;
	r.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(r));
}

/* MOV to ES, a read through it, PUSH ES: (word read, pushed value). */
static uint32_t es_read(uint16_t sel, uint32_t off, uint32_t *pushed)
{
	uint32_t v, p;

	__asm__ volatile("mov %w3, %%es\n\t"
	                 "movl %%es:(%2), %0\n\t"
	                 "push %%es\n\tpopl %1\n\t"
	                 "push %%ds\n\tpop %%es"
	                 : "=&r"(v), "=&r"(p) : "r"(off), "r"(sel) : "memory");
	*pushed = p & 0xFFFF;
	return v;
}

/* POP FS of `sel`, a read through it, PUSH FS, back to null. */
static uint32_t fs_pop_read(uint32_t sel, uint32_t off, uint32_t *pushed)
{
	uint32_t v, p;

	__asm__ volatile("pushl %3\n\tpop %%fs\n\t"
	                 "movl %%fs:(%2), %0\n\t"
	                 "push %%fs\n\tpopl %1\n\t"
	                 "pushl $0\n\tpop %%fs"
	                 : "=&r"(v), "=&r"(p) : "r"(off), "r"(sel) : "memory");
	*pushed = p & 0xFFFF;
	return v;
}

/* MOV DS from memory and back to 0x10; a read through the loaded DS. */
static uint32_t ds_mem_read(const volatile uint16_t *sel, uint32_t off)
{
	uint32_t v;

	__asm__ volatile("mov %1, %%ds\n\t"
	                 "movl (%2), %0\n\t"
	                 "movw $0x10, %%cx\n\tmov %%cx, %%ds"
	                 : "=&r"(v) : "m"(*sel), "r"(off) : "ecx", "memory");
	return v;
}

/* VERW of sel with CF, PF, AF, SF and OF set or clear (`ones`); the
 * EFLAGS image after. */
static uint32_t verw_flags(uint16_t sel, bool ones)
{
	uint32_t in = (ones ? 0x8D5u : 0) | 0x202, out;

	__asm__ volatile("pushl %1\n\tpopf\n\t"
	                 "verw %w2\n\t"
	                 "pushf\n\tpopl %0"
	                 : "=&r"(out) : "r"(in), "r"(sel) : "cc");
	return out;
}

/* ZF after VERW is `zf`, the other arithmetic flags as they were. */
static bool verw_is(uint16_t sel, bool zf)
{
	for (int k = 0; k < 2; k++) {
		uint32_t f = verw_flags(sel, k), want = k ? 0x8D5u : 0;
		if ((f & 0x40) != (zf ? 0x40u : 0) || (f & 0x895) != (want & 0x895))
			return false;
	}
	return true;
}

int guest_main(void)
{
	bool bt = cmdline_int("bt", 0);
	uint32_t bad_base = 0, bad_push = 0, bad_pop = 0, bad_mem = 0;
	uint32_t bad_verw = 0, p;
	static volatile uint16_t sel18 = 0x18, sel2b = 0x2B;

	for (unsigned i = 0; i < 64; i++) {
		window[i] = 0xA0000000u + i;
		window2[i] = 0xB0000000u + i;
	}
	load_tables();
	idt[TIMER_VECTOR] = int_gate32(irq_entry);
	outb(TIMER_VECTOR, PORT_TIMER_VECTOR);
	outl(100, PORT_TIMER_PERIOD);             /* µs */
	__asm__ volatile("sti");
	for (uint32_t i = 0, n = bt ? 200000 : 20000; i < n; i++) {
		uint32_t off = 4 * (i % 64);
		bad_base += es_read(0x18, off, &p) != 0xA0000000u + i % 64;
		if (bt && p != 0x18 && bad_push++ < 5)
			printf("segs: PUSH ES gave 0x%x in round %u\n", p, i);
		bad_pop += fs_pop_read(0x18, off, &p) != 0xA0000000u + i % 64;
		if (bt && p != 0x18 && bad_push++ < 5)
			printf("segs: PUSH FS gave 0x%x in round %u\n", p, i);
		bad_mem += ds_mem_read(&sel18, off) !=
		           0xA0000000u + i % 64;
		bad_mem += ds_mem_read(&sel2b, (uint32_t)(uintptr_t)&window[i % 64]) !=
		           0xA0000000u + i % 64;
		if (bt && (i & 7) == 0) {
			/* (selectors loaded above: the inline table knows them) */
			bad_verw += !verw_is(0x10, true) + !verw_is(0x18, true) +
			            !verw_is(0x2B, true) + !verw_is(0, false) +
			            !verw_is(0x3, false) + !verw_is(0x08, false) +
			            !verw_is(0x20, false);
		}
		if ((i & 7) == 0) {
			uint32_t v, n;
			/* read-only data and readable code load into FS; a
			 * null selector keeps its RPL */
			__asm__ volatile("movw $0x20, %%ax\n\tmov %%ax, %%fs\n\t"
			                 "movw $0x08, %%ax\n\tmov %%ax, %%fs\n\t"
			                 "movl %%fs:(%2), %0\n\t"
			                 "movw $3, %%ax\n\tmov %%ax, %%fs\n\t"
			                 "push %%fs\n\tpopl %1\n\t"
			                 "movw $0, %%ax\n\tmov %%ax, %%fs"
			                 : "=&r"(v), "=&r"(n) : "r"(&window[1])
			                 : "eax", "memory");
			bad_base += v != 0xA0000001u;
			if (bt && (n & 0xFFFF) != 3 && bad_push++ < 5)
				printf("segs: PUSH FS (null 3) gave 0x%x in round %u\n",
				       n & 0xFFFF, i);
		}
	}
	printf("segs: wrong base %u, pop %u, from memory %u, push %u, verw %u\n",
	       bad_base, bad_pop, bad_mem, bad_push, bad_verw);
	check(bad_base == 0, "segs-mov-es-loads-its-base");
	check(bad_pop == 0, "segs-pop-fs-loads-its-base");
	check(bad_mem == 0, "segs-mov-ds-from-memory");
	check(!bt || bad_push == 0, "segs-push-gives-guest-selectors");
	check(!bt || bad_verw == 0, "segs-verw-zf-and-other-flags");

	/* Rewrite GDT entry 3 while ES holds it: ES keeps the old base; a
	 * reload gets the new one, also through POP FS and from memory.
	 * Then make 0x20 writable: VERW says so. */
	uint32_t kept, fresh, popped, mem;
	__asm__ volatile("movw $0x18, %%ax\n\tmov %%ax, %%es" ::: "eax");
	gdt[3] = desc((uint32_t)(uintptr_t)window2, 0x93);
	__asm__ volatile("movl %%es:4, %0\n\t"
	                 "movw $0x18, %%ax\n\tmov %%ax, %%es\n\t"
	                 "movl %%es:4, %1\n\t"
	                 "push %%ds\n\tpop %%es"
	                 : "=&r"(kept), "=&r"(fresh) : : "eax", "memory");
	popped = fs_pop_read(0x18, 8, &p);
	mem = ds_mem_read(&sel18, (uint32_t)(uintptr_t)&window2[3] -
	                  (uint32_t)(uintptr_t)window2);
	check(kept == 0xA0000001u && fresh == 0xB0000001u &&
	      popped == 0xB0000002u && mem == 0xB0000003u,
	      "segs-gdt-rewrite-reaches-the-next-load");
	gdt[4] = desc(0, 0x93);
	__asm__ volatile("movw $0x20, %%ax\n\tmov %%ax, %%fs\n\t"
	                 "movw $0, %%ax\n\tmov %%ax, %%fs" ::: "eax");
	check(!bt || (verw_is(0x20, true) && verw_is(0x08, false)),
	      "segs-verw-follows-gdt-rewrite");
	/* MOV r32, Sreg gives the guest's selectors; MOV r32, CRn reads back
	 * what MOV CRn, r32 wrote (bt: from the vpage's copies, which every
	 * entry rewrites) */
	uint32_t ss, ds, es, bad_cr = 0;
	__asm__ volatile("movw $0x2B, %%ax\n\tmov %%ax, %%es\n\t"
	                 "mov %%ss, %0\n\tmov %%ds, %1\n\tmov %%es, %2\n\t"
	                 "push %%ds\n\tpop %%es"
	                 : "=r"(ss), "=r"(ds), "=r"(es) : : "eax");
	check(!bt || (ss == 0x10 && ds == 0x10 && es == 0x2B),
	      "segs-mov-from-sreg-gives-guest-selectors");
	for (uint32_t i = 0; i < 1000; i++) {
		uint32_t cr0, cr2, cr3, cr4, want2 = 0x1000u * i + 0x123;
		uint32_t want3 = (0x1000u * i) & 0x00FFF000u;
		__asm__ volatile("mov %%cr0, %%eax\n\txorl $8, %%eax\n\t"
		                 "mov %%eax, %%cr0\n\t"         /* TS toggled */
		                 "mov %4, %%cr2\n\tmov %5, %%cr3\n\t"
		                 "mov %%cr4, %%eax\n\txorl $0x10, %%eax\n\t"
		                 "mov %%eax, %%cr4\n\t"         /* PSE toggled */
		                 "mov %%cr0, %0\n\tmov %%cr2, %1\n\t"
		                 "mov %%cr3, %2\n\tmov %%cr4, %3"
		                 : "=&r"(cr0), "=&r"(cr2), "=&r"(cr3), "=&r"(cr4)
		                 : "r"(want2), "r"(want3) : "eax", "memory");
		bad_cr += !(cr0 & 1) || ((cr0 >> 3) & 1) != ((i & 1) ? 0u : 1u) ||
		          cr2 != want2 || cr3 != want3 ||
		          ((cr4 >> 4) & 1) != ((i & 1) ? 0u : 1u);
	}
	__asm__ volatile("clts");
	check(bad_cr == 0, "segs-mov-from-cr-reads-what-was-written");
	__asm__ volatile("cli");
	outl(0, PORT_TIMER_PERIOD);
	printf("segs: %u ticks\n", ticks);
	check(ticks > 10, "segs-timer-interrupts-delivered");
	return finish();
}
