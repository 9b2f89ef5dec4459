/*
 * irq.c — interrupt injection: the test timer (ports 0x500.., see
 * devices/testtimer.c) raises vector 0x40 every millisecond, and the guest
 * checks that its handler runs through its own IDT
 *   - out of HLT (a pending interrupt wakes HLT; the frame's EIP is the
 *     instruction after HLT),
 *   - into a busy loop that makes no exits (popek must kick the vCPU),
 *   - never while IF = 0, and right after the one instruction that
 *     follows STI (the STI shadow),
 * with an interrupt gate clearing IF inside the handler, and the frame's
 * CS and EFLAGS as pushed by hardware.
 */
#include "lib.h"

#define TIMER_VECTOR 0x40
#define PORT_TIMER_VECTOR 0x500
#define PORT_TIMER_PERIOD 0x504
#define PORT_TIMER_FIRED  0x508

static uint64_t idt[256] __attribute__((aligned(8)));

volatile uint32_t ticks, last_eip, last_cs, last_eflags, handler_eflags;
volatile uint32_t marker, marker_at_irq;

void irq_entry(void);
__asm__(
	".globl irq_entry\n"
	"irq_entry:\n\t"
	"pushl %eax\n\t"
	/* The virtual IF, as the frame of a nested INT shows it (PUSHF
	 * would show the host's IF under trap-and-emulate). */
	"int $0x41\n\t"
	"movl probe_eflags, %eax\n\t"
	"movl %eax, handler_eflags\n\t"
	"movl 4(%esp), %eax\n\t"  "movl %eax, last_eip\n\t"
	"movl 8(%esp), %eax\n\t"  "movl %eax, last_cs\n\t"
	"movl 12(%esp), %eax\n\t" "movl %eax, last_eflags\n\t"
	"movl marker, %eax\n\t"   "movl %eax, marker_at_irq\n\t"
	"incl ticks\n\t"
	"popl %eax\n\t"
	"iret\n");

volatile uint32_t probe_eflags;

/* Trap gate 0x41: record the EFLAGS its frame holds. */
void probe_entry(void);
__asm__(
	".globl probe_entry\n"
	"probe_entry:\n\t"
	"pushl %eax\n\t"
	"movl 12(%esp), %eax\n\t"
	"movl %eax, probe_eflags\n\t"
	"popl %eax\n\t"
	"iret\n");

static void load_tables(void)
{
	idt[TIMER_VECTOR] = int_gate32(irq_entry);
	idt[0x41] = int_gate32(probe_entry) | ((uint64_t)0x0100 << 32); /* trap gate */
	flat_tables(idt, sizeof(idt));
}

static void hlt_wakeups(void)
{
	uint32_t after_hlt = 0, ok_eip = 1;

	for (int i = 0; i < 20; i++) {
		uint32_t t = ticks;
		__asm__ volatile("movl $1f, %0\n\tsti\n\thlt\n1:\tcli"
		                 : "=r"(after_hlt) : : "memory");
		/* At least one tick: a host that delays the vCPU past the next
		 * period delivers another right after the handler's IRET, at
		 * the same EIP, as hardware would. */
		ok_eip &= ticks > t && last_eip == after_hlt;
	}
	check(ok_eip, "hlt-woken-by-interrupt-frame-eip-after-hlt");
	check(last_cs == 0x08, "frame-cs");
	check((last_eflags & 0x200) != 0, "frame-eflags-if-set");
	check((handler_eflags & 0x200) == 0, "interrupt-gate-clears-if");
}

static void busy_loop_is_interrupted(void)
{
	uint32_t start = ticks;

	__asm__ volatile("sti");
	for (uint32_t spins = 0; ticks < start + 10 && spins < 400000000u; spins++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	check(ticks >= start + 10, "busy-loop-interrupted-without-exits");
}

static void if_clear_holds_off_and_sti_shadow(void)
{
	uint32_t t0, fired0;

	__asm__ volatile("cli");
	t0 = ticks;
	fired0 = inl(PORT_TIMER_FIRED);
	while (inl(PORT_TIMER_FIRED) < fired0 + 3)
		;                           /* raised while IF = 0 */
	outl(0, PORT_TIMER_PERIOD);     /* no new tick from here on */
	check(ticks == t0, "no-delivery-while-if-clear");
	marker = 0;
	__asm__ volatile("sti\n\tmovl $1, marker\n\tmovl $2, marker\n\tcli"
	                 : : : "memory");
	check(ticks == t0 + 1, "pending-delivered-once-after-sti");
	check(marker_at_irq == 1, "delivered-after-the-instruction-following-sti");
}

int guest_main(void)
{
	load_tables();
	outb(TIMER_VECTOR, PORT_TIMER_VECTOR);
	outl(1000, PORT_TIMER_PERIOD);
	hlt_wakeups();
	busy_loop_is_interrupted();
	if_clear_holds_off_and_sti_shadow();
	return finish();
}
