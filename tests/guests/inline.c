/*
 * inline.c — what --mode=bt translates into inline sequences (CLI, STI,
 * PUSHF, POPF, RET, JMP/CALL r/m; translate/inline.c) behaves as the
 * instructions do, also while a timer interrupt (the test timer, every
 * 100 µs) lands anywhere in them: the arithmetic flags survive PUSHF,
 * POPF sets them and the virtual IF, no interrupt arrives while IF = 0,
 * indirect calls and returns reach their targets, and registers are
 * intact after three million of them.  In trap mode the same code runs in
 * place (where PUSHF shows the host's IF: the IF checks are bt's only).
 */
#include "lib.h"

#define TIMER_VECTOR 0x40
#define PORT_TIMER_VECTOR 0x500
#define PORT_TIMER_PERIOD 0x504

static uint64_t idt[256] __attribute__((aligned(8)));
volatile uint32_t ticks, ticks_if0;
volatile uint32_t in_cli;

void irq_entry(void);
__asm__(".globl irq_entry\n"
        "irq_entry:\n\t"
        "cmpl $0, in_cli\n\t"
        "je 1f\n\t"
        "incl ticks_if0\n"
        "1:\tincl ticks\n\t"
        "iret\n");

static uint32_t __attribute__((noinline)) add3(uint32_t x)
{
	return x + 3;
}

static uint32_t (*volatile fp)(uint32_t) = add3;

/* pushf with CF and ZF set by the caller's choice; the flags after. */
static uint32_t flags_roundtrip(uint32_t in, uint32_t *after)
{
	uint32_t img, out;

	__asm__ volatile("pushl %2\n\tpopf\n\t"     /* flags := in */
	                 "pushf\n\tpopl %0\n\t"     /* the image */
	                 "pushf\n\tpopl %1\n\t"     /* unchanged by pushf */
	                 : "=r"(img), "=r"(out) : "r"(in) : "cc", "memory");
	*after = out;
	return img;
}

int guest_main(void)
{
	bool bt = cmdline_int("bt", 0);
	uint32_t bad_flags = 0, bad_calls = 0, bad_if = 0, x = 0;

	idt[TIMER_VECTOR] = int_gate32(irq_entry);
	flat_tables(idt, sizeof(idt));
	outb(TIMER_VECTOR, PORT_TIMER_VECTOR);
	outl(100, PORT_TIMER_PERIOD);             /* µs */
	__asm__ volatile("sti");
	for (uint32_t i = 0; i < 3000000; i++) {
		/* CF, PF, ZF, SF, OF and DF in two patterns, IF on */
		uint32_t in = (i & 1) ? 0x0A85u | 0x200 : 0x0241u | 0x200;
		uint32_t after, img = flags_roundtrip(in, &after);
		bad_flags += (img & 0xCD5) != (in & 0xCD5) ||
		             (after & 0xCD5) != (in & 0xCD5) || !(img & 2);
		if (bt)
			bad_if += !(img & 0x200);
		__asm__ volatile("cld" ::: "cc");
		x = fp(x);
		bad_calls += x != 3 * (i + 1);
		if ((i & 1023) == 0) {
			uint32_t f;
			__asm__ volatile("cli");
			in_cli = 1;
			for (int k = 0; k < 2000; k++)
				__asm__ volatile("" ::: "memory");
			__asm__ volatile("pushf\n\tpopl %0" : "=r"(f));
			if (bt)
				bad_if += (f & 0x200) != 0;
			in_cli = 0;
			__asm__ volatile("sti");
		}
	}
	__asm__ volatile("cli");
	outl(0, PORT_TIMER_PERIOD);

	/* %gs is the monitor's inside translated code: the guest's own
	 * %gs, its loads and its memory accesses, are emulated. */
	static volatile uint32_t word = 0x1234;
	uint32_t got, sel;
	__asm__ volatile("movw $0x10, %%ax\n\tmovw %%ax, %%gs\n\t"
	                 "movl %%gs:(%2), %0\n\t"
	                 "movl $0x5678, %%gs:(%2)\n\t"
	                 "movw %%gs, %w1\n\tmovzwl %w1, %1"
	                 : "=&r"(got), "=&r"(sel) : "r"(&word) : "eax", "memory");
	/* (trap mode reads the host's selector for %gs: its residue) */
	check(got == 0x1234 && word == 0x5678 && (!bt || sel == 0x10),
	      "inline-guest-gs-load-store-and-selector");
	printf("inline: %u ticks, %u with IF = 0\n", ticks, ticks_if0);
	check(bad_flags == 0, "inline-pushf-popf-arithmetic-flags");
	check(bad_calls == 0, "inline-indirect-call-and-ret");
	check(!bt || bad_if == 0, "inline-virtual-if");
	check(ticks > 10, "inline-timer-interrupts-delivered");
	check(ticks_if0 == 0, "inline-no-interrupt-while-if-0");
	return finish();
}
