/*
 * uart-irq.c — the UART's interrupts through the 8259A: with the PIC
 * remapped to 0x20 and only IRQ4 unmasked, the 16550A's received-data
 * interrupt delivers a line typed on popek's stdin (read by the handler,
 * not by polling), IIR names the cause, and enabling the transmitter-empty
 * interrupt raises one at once (THR is empty).  Then, in loopback (MCR
 * bit 4, OUT2 still set), a driver's self-test: MSR shows MCR's outputs,
 * bytes written come back through received-data interrupts with a THRE
 * interrupt after each write and nothing on the line, and a change of an
 * output raises a modem status interrupt (data sheet: "The MODEM Control
 * Interrupts are also operational, but the interrupts' sources are now the
 * lower four bits of the MODEM Control Register"; QEMU 7.2 sets no MSR
 * delta bits in loopback and fails that one check).  Also the scratch
 * register.
 *
 * The handler loops until IIR shows nothing pending, as a PC driver must
 * with the edge-triggered 8259A: a second cause pending when the first is
 * served makes no new edge.
 */
#include "lib.h"

#define VEC_COM1 0x24
#define IER (COM1 + 1)
#define IIR (COM1 + 2)
#define LCR (COM1 + 3)
#define MCR (COM1 + 4)
#define LSR (COM1 + 5)
#define MSR (COM1 + 6)
#define SCR (COM1 + 7)

static uint64_t idt[64] __attribute__((aligned(8)));
static char line[64];
static volatile int len, rda_irqs, thre_irqs, ms_irqs, other_irqs;
static volatile int first_iir = -1, last_msr = -1;

void com1_entry(void);
void com1_isr(void);
__asm__(".globl com1_entry\ncom1_entry:\n\tpushal\n\tcld\n\t"
        "call com1_isr\n\tpopal\n\tiret\n");

void com1_isr(void)
{
	uint8_t iir = inb(IIR) & 0x0F;

	if (first_iir < 0)
		first_iir = iir;
	if (iir & 1)
		other_irqs++;
	for (; !(iir & 1); iir = inb(IIR) & 0x0F) {
		if (iir == 0x04 || iir == 0x0C) {
			rda_irqs++;
			while ((inb(LSR) & 1) && len < (int)sizeof(line) - 1)
				line[len++] = (char)inb(COM1);
		} else if (iir == 0x02) {
			thre_irqs++;
		} else if (iir == 0x00) {
			ms_irqs++;
			last_msr = inb(MSR);
		} else {
			(void)inb(LSR);     /* line status: clear it */
		}
	}
	outb(0x20, 0x20);   /* non-specific EOI */
}

/* Open the interrupt window for the one instruction after STI. */
static void irq_window(void)
{
	__asm__ volatile("sti\n\tnop\n\tnop\n\tcli" ::: "memory");
}

/* Nothing may be printed in loopback: the console is COM1 itself.  The
 * results are kept and checked once the UART is back on the line. */
static void loopback(void)
{
	static const char msg[] = "<loop>";
	const int n = (int)sizeof(msg) - 1;
	uint8_t msr_rts_dtr, msr_out1;
	int thre_enable, loop_len, loop_rda, loop_thre;
	bool same;

	outb(0x00, IER);
	outb(0x1B, MCR);            /* loopback; OUT2, RTS, DTR */
	(void)inb(MSR);             /* the deltas of entering loopback */
	msr_rts_dtr = inb(MSR);
	outb(0x1C, MCR);            /* OUT2, OUT1 only: DCD, RI */
	msr_out1 = inb(MSR);
	outb(0x1B, MCR);
	(void)inb(MSR);
	len = rda_irqs = thre_irqs = ms_irqs = 0;
	outb(0x03, IER);            /* received data, THR empty */
	irq_window();
	thre_enable = thre_irqs;
	for (int i = 0; i < n; i++) {
		outb((uint8_t)msg[i], COM1);
		irq_window();
	}
	loop_len = len;
	loop_rda = rda_irqs;
	loop_thre = thre_irqs;
	same = len == n && memcmp(line, msg, (size_t)n) == 0;
	outb(0x08, IER);            /* modem status only */
	outb(0x19, MCR);            /* RTS drops: CTS falls in loopback */
	irq_window();
	outb(0x00, IER);
	outb(0x0B, MCR);            /* back on the line */
	(void)inb(MSR);

	printf("uart-irq: loopback returned %d bytes in %d received-data and "
	       "%d THRE identifications\n", loop_len, loop_rda, loop_thre);
	check((msr_rts_dtr & 0xF0) == 0xB0, "loopback-msr-follows-mcr");
	check((msr_out1 & 0xF0) == 0xC0, "loopback-msr-out1-is-ri");
	check(thre_enable == 1, "loopback-thre-interrupt-when-enabled");
	check(same && loop_rda == n, "loopback-bytes-back-by-interrupt");
	check(loop_thre == 1 + n, "loopback-thre-after-each-write");
	check(ms_irqs == 1 && last_msr == 0xA1, "loopback-msr-interrupt");
	outb(0x5A, SCR);
	check(inb(SCR) == 0x5A, "scratch-register");
}

static void setup(void)
{
	flat_tables(idt, sizeof(idt));
	idt[VEC_COM1] = int_gate32(com1_entry);
	pic_init(0xEF, 0xFF);          /* only IRQ4 unmasked */
}

int guest_main(void)
{
	setup();
	outb(0x03, LCR);            /* 8N1, DLAB off */
	outb(0x0B, MCR);            /* DTR, RTS, OUT2: IRQ line enabled */
	outb(0x01, IER);            /* received data available */
	for (int spins = 0; spins < 200 && (len == 0 || line[len - 1] != '\n');
	     spins++)
		__asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
	if (len && line[len - 1] == '\n')
		line[--len] = 0;
	line[len] = 0;
	printf("uart-irq: got '%s' in %d interrupts (%d found nothing)\n", line,
	       rda_irqs, other_irqs);
	check(strcmp(line, "ping popek") == 0, "rx-line-by-interrupt");
	/* A byte that arrives while the handler drains the receiver latches
	 * another edge; that interrupt then finds IIR empty, as on hardware. */
	check(first_iir == 0x04 || first_iir == 0x0C, "iir-names-received-data");
	outb(0x02, IER);            /* transmitter empty: THR is empty now */
	__asm__ volatile("sti\n\tnop\n\tnop\n\tcli" ::: "memory");
	check(thre_irqs == 1, "thre-interrupt-when-enabled");
	outb(0x00, IER);
	loopback();
	return finish();
}
