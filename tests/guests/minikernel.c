/*
 * minikernel.c — a small protected-mode kernel that drives the virtual CPU
 * the way an operating system does: its own GDT, TSS and IDT, exceptions
 * in kernel mode, two user tasks at CPL 3 that make system calls, take
 * exceptions and yield to each other, and (only with `timer=1` on the
 * command line) preemption by PIT interrupts through a remapped 8259.
 * Every check runs the same on real hardware and under QEMU.
 *
 * Layout:
 *   GDT   0x00 null         0x08 kernel code   0x10 kernel data
 *         0x18 user code (used as 0x1b)
 *         0x20..0x30 unused: on a Linux x86-64 host, guest selectors with
 *               indexes 4, 5 and 6 load the host's own DPL-3 segments
 *               without trapping (docs/host-gdt-aliases.md), which pure
 *               trap-and-emulate cannot correct
 *         0x38 user data (used as 0x3b)
 *         0x40 32-bit TSS (ss0:esp0 = 0x10:kstack top, no I/O bitmap)
 *         0x48 data segment based at window[], limit 0xff (byte granular)
 *   IDT   0-31  exceptions, interrupt gates (DPL 0; 3 and 4 DPL 3 so that
 *               user INT3 and INTO reach them, as in Linux)
 *         0x20  IRQ0 (PIT) after the PIC remap, interrupt gate, DPL 0
 *         0x80  system calls, trap gate, DPL 3
 *   Every vector enters isr_common, which saves a struct frame and calls
 *   trap_dispatch(frame); the frame of any entry from CPL 3 ends exactly
 *   at the top of kstack, so switching tasks is copying frames there.
 *
 * Catching deliberate faults: before a faulting instruction the test arms
 * a struct expect (one per task, one for the kernel) with the vector and
 * error code it wants and, through the ARMED() asm macro, the instruction's
 * address, the address after it and ESP.  The handler snapshots the
 * expectation with the frame, resumes a fault at the address after it
 * (traps return there by themselves) and treats anything unarmed as a
 * failure that ends the run.  User code cannot print, so frames from CPL 3
 * are judged inside the handler and counted; the kernel reports later.
 *
 * Single CPU; the only concurrency is the timer interrupt, which preempts
 * a user task only inside user_spin() so the cooperative part stays
 * deterministic.
 */
#include "lib.h"

/* Reading a segment register (MOV r, Sreg), STR, and CS.RPL as the CPL are
 * sensitive but unprivileged: pure trap-and-emulate cannot make them show
 * the guest's values (under popek --mode=trap they show popek's host-LDT
 * selectors: the same index, with TI set and RPL 3).  By default the
 * guest compares selector indexes only and skips what only such reads can
 * observe; `exact=1` on the command line (hardware, QEMU, popek's binary
 * translation) demands the architectural values.  PUSHF inside handlers
 * (the virtual IF) is the same kind of observation. */
static bool exact;

static bool sel_eq(uint16_t got, uint16_t want)
{
	return exact ? got == want : (got >> 3) == (want >> 3);
}

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS   (0x18 | 3)
#define USER_DS   (0x38 | 3)
#define TSS_SEL   0x40
#define WINDOW_DS 0x48
#define GDT_ENTRIES 10
#define PAST_GDT_SEL (GDT_ENTRIES * 8) /* first selector beyond the limit */

#define EFLAGS_IF   0x200
#define EFLAGS_IOPL 0x3000

#define VEC_DE 0
#define VEC_BP 3
#define VEC_OF 4
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14
#define VEC_TIMER 0x20
#define VEC_SYSCALL 0x80

#define SYS_WRITE 1
#define SYS_YIELD 2
#define SYS_EXIT  3
#define SYS_GETID 4
#define KSYS_PING 0x50    /* INT 80h from the kernel itself */
#define KSYS_PONG 0x600d

#define NTASKS 2
#define KERNEL_SLOT NTASKS /* expect[] slot of the kernel's own tests */
#define ROUNDS 3
#define SYSCALLS_PER_TASK (3 + ROUNDS) /* write, getid, yields, exit */

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_EOI 0x20
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182u
#define TIMER_HZ 1000u

/* --- descriptor tables ------------------------------------------------- */

struct seg_desc {
	uint16_t limit_lo, base_lo;
	uint8_t base_mid, access, flags_limit_hi, base_hi;
} __attribute__((packed));

struct gate_desc {
	uint16_t offset_lo, selector;
	uint8_t zero, attr;
	uint16_t offset_hi;
} __attribute__((packed));

struct table_reg {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

struct tss {
	uint32_t prev, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
};

#define ACC_KCODE 0x9A /* present, DPL 0, code, readable; accessed clear */
#define ACC_KDATA 0x92
#define ACC_UCODE 0xFA
#define ACC_UDATA 0xF2
#define ACC_TSS   0x89 /* 32-bit available TSS */
#define ACC_ACCESSED 0x01
#define ACC_TSS_BUSY 0x02
#define FLAGS_4K_32 0xC /* G = 1, D = 1 */
#define FLAGS_BYTE_32 0x4
#define GATE_INT  0x8E /* 32-bit interrupt gate, DPL 0 */
#define GATE_INT_USER 0xEE
#define GATE_TRAP_USER 0xEF

static struct seg_desc gdt[GDT_ENTRIES] __attribute__((aligned(8)));
static struct gate_desc idt[256] __attribute__((aligned(8)));
static struct tss tss __attribute__((aligned(16)));
static uint8_t window[256] __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))

static struct seg_desc seg(uint32_t base, uint32_t limit, uint8_t access,
                           uint8_t flags)
{
	return (struct seg_desc){
		.limit_lo = limit & 0xFFFF, .base_lo = base & 0xFFFF,
		.base_mid = (base >> 16) & 0xFF, .access = access,
		.flags_limit_hi = (uint8_t)(flags << 4 | ((limit >> 16) & 0xF)),
		.base_hi = base >> 24,
	};
}

static void gate(unsigned vec, uint32_t handler, uint8_t attr)
{
	idt[vec] = (struct gate_desc){
		.offset_lo = handler & 0xFFFF, .selector = KERNEL_CS,
		.attr = attr, .offset_hi = handler >> 16,
	};
}

/* --- the saved frame and the asm entry points -------------------------- */

struct frame {
	uint32_t gs, fs, es, ds;                     /* isr_common */
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* PUSHAL */
	uint32_t vector, err;                        /* stub (err: CPU or 0) */
	uint32_t eip, cs, eflags;                    /* CPU */
	uint32_t user_esp, user_ss;                  /* CPU, only from CPL 3 */
};
_Static_assert(sizeof(struct frame) == 19 * 4, "frame layout");

/* Vectors whose exceptions push an error code (SDM vol. 3 table 6-1). */
#define ERR_VECTORS 8,10,11,12,13,14,17,21,29,30
#define NOERR_VECTORS 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,\
	31,32,128
#define STR_(...) #__VA_ARGS__
#define STR(...) STR_(__VA_ARGS__)

extern const uint32_t isr_table[32];
extern char isr32[], isr128[];
extern char user_spin_loop[], user_spin_end[], user_returned[];
void trap_dispatch(struct frame *f);
void user_enter(struct frame *f);
void user_leave(void) __attribute__((noreturn));

__asm__(
	".macro ISR_NOERR n\n"
	"isr\\n: pushl $0\n"
	"	pushl $\\n\n"
	"	jmp isr_common\n"
	".endm\n"
	".macro ISR_ERR n\n"
	"isr\\n: pushl $\\n\n"
	"	jmp isr_common\n"
	".endm\n"
	".pushsection .text\n"
	".irp n," STR(NOERR_VECTORS) "\n"
	"	ISR_NOERR \\n\n"
	".endr\n"
	".irp n," STR(ERR_VECTORS) "\n"
	"	ISR_ERR \\n\n"
	".endr\n"
	".globl isr32, isr128\n"
	/* Save the interrupted context as a struct frame, run the C side on
	 * kernel data segments, restore whatever frame is there afterwards
	 * (the scheduler may have replaced it) and return into it. */
	"isr_common:\n"
	"	pushal\n"
	"	pushl %ds\n"
	"	pushl %es\n"
	"	pushl %fs\n"
	"	pushl %gs\n"
	"	movl $0x10, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	cld\n"
	"	pushl %esp\n"
	"	call trap_dispatch\n"
	"	addl $4, %esp\n"
	"isr_return:\n"
	"	popl %gs\n"
	"	popl %fs\n"
	"	popl %es\n"
	"	popl %ds\n"
	"	popal\n"
	"	addl $8, %esp\n"
	"	iret\n"
	/* void user_enter(struct frame *f): keep the kernel's context, then
	 * leave through isr_return into *f (at CPL 3).  user_leave() comes
	 * back to user_enter's caller from any handler. */
	".globl user_enter, user_leave\n"
	"user_enter:\n"
	"	movl 4(%esp), %eax\n"
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl %esp, kernel_saved_esp\n"
	"	movl %eax, %esp\n"
	"	jmp isr_return\n"
	"user_leave:\n"
	"	movl kernel_saved_esp, %esp\n"
	"	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n"
	/* void user_spin(struct spin *s), at CPL 3: count in *mine until
	 * *other is nonzero or *ticks reaches until.  The only place the
	 * timer preempts a task; ESP is constant inside the loop. */
	".globl user_spin, user_spin_loop, user_spin_end, user_returned\n"
	"user_spin:\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	movl 12(%esp), %ebx\n"
	"	movl %esp, 16(%ebx)\n"
	"	movl 0(%ebx), %eax\n"
	"	movl 4(%ebx), %ecx\n"
	"	movl 8(%ebx), %esi\n"
	"	movl 12(%ebx), %edx\n"
	"user_spin_loop:\n"
	"	incl (%eax)\n"
	"	cmpl $0, (%ecx)\n"
	"	jne user_spin_end\n"
	"	cmpl %edx, (%esi)\n"
	"	jb user_spin_loop\n"
	"user_spin_end:\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	ret\n"
	/* Return address of a user task's main: it must exit instead. */
	"user_returned:\n"
	"	ud2\n"
	".popsection\n"
	".pushsection .rodata\n"
	".align 4\n"
	"isr_table:\n"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,"
	"23,24,25,26,27,28,29,30,31\n"
	"	.long isr\\n\n"
	".endr\n"
	".popsection\n"
	".pushsection .bss\n"
	".align 4\n"
	"kernel_saved_esp: .skip 4\n"
	".popsection\n");

/* --- expectations and trap records ------------------------------------- */

/* The first three fields are written by ARMED(); keep their offsets. */
struct expect {
	uint32_t fault_at, resume_at, esp;
	uint32_t vector, err, cpl, kind;
	bool armed;
};

/* Arm *x (operand %[x]) around one instruction: the handler must see
 * EIP = 72 (fault) or 71 (trap), and resumes at 71. */
#define ARMED(insn)                      \
	"movl $72f, 0(%[x])\n\t"         \
	"movl $71f, 4(%[x])\n\t"         \
	"movl %%esp, 8(%[x])\n"          \
	"72:\t" insn "\n"                \
	"71:\n\t"

struct trap_rec {
	uint32_t vector, err, eip, cs, eflags;
	uint32_t user_esp, user_ss;     /* valid only when from_cpl == 3 */
	uint32_t from_cpl;              /* RPL of CS in the frame */
	uint32_t handler_cpl, handler_if, handler_esp;
	uint32_t frame_end;             /* just above the CPU-pushed words */
	struct expect want;
};

/* Kinds of trap a user task takes; each counted separately. */
enum ukind { UK_DE, UK_UD, UK_GP_CLI, UK_GP_IN, UK_GP_GATE, UK_BP, UK_OF,
	     UK_SYSCALL, UK_N };

static const char *const ukind_check[UK_N] = {
	[UK_DE] = "user-de-frame", [UK_UD] = "user-ud-frame",
	[UK_GP_CLI] = "user-gp-cli-frame", [UK_GP_IN] = "user-gp-in-frame",
	[UK_GP_GATE] = "user-gp-dpl0-gate-frame", [UK_BP] = "user-bp-frame",
	[UK_OF] = "user-of-frame", [UK_SYSCALL] = "user-syscall-frames",
};

static struct expect expect[NTASKS + 1];
static struct trap_rec last;            /* last kernel-mode trap */
static unsigned ukind_ok[UK_N], ukind_bad[UK_N];
static unsigned user_if_bad;            /* IF wrong inside a handler */
static unsigned handler_cpl_bad;        /* a handler saw CPL != 0 */

static inline void arm(struct expect *x, uint32_t vector, uint32_t err,
                       uint32_t cpl, enum ukind kind)
{
	x->vector = vector;
	x->err = err;
	x->cpl = cpl;
	x->kind = kind;
	x->armed = true;
}

/* Arm the kernel's slot and forget the previous kernel trap, so that a
 * test whose instruction does not trap cannot pass on a stale record. */
static struct expect *karm(uint32_t vector, uint32_t err)
{
	memset(&last, 0, sizeof(last));
	arm(&expect[KERNEL_SLOT], vector, err, 0, UK_N);
	return &expect[KERNEL_SLOT];
}

static bool is_trap(uint32_t vector)
{
	return vector == VEC_BP || vector == VEC_OF || vector == VEC_SYSCALL;
}

static uint32_t read_eflags(void)
{
	uint32_t fl;

	__asm__ volatile("pushfl\n\tpopl %0" : "=r"(fl));
	return fl;
}

static bool in_kstack(uint32_t p)
{
	return p >= (uint32_t)kstack && p < KSTACK_TOP;
}

static bool same(const char *what, uint32_t got, uint32_t want)
{
	if (got != want)
		printf("  %s: got 0x%x, want 0x%x\n", what, got, want);
	return got == want;
}

/* Does the recorded frame match what was armed?  Prints each mismatch. */
static bool trap_matches(const struct trap_rec *r)
{
	const struct expect *w = &r->want;
	bool user = w->cpl == 3, ok = true;

	if (!w->armed) {
		printf("  no trap taken\n");
		return false;
	}
	ok &= same("vector", r->vector, w->vector);
	ok &= same("error code", r->err, w->err);
	ok &= same("eip", r->eip,
	           is_trap(w->vector) ? w->resume_at : w->fault_at);
	ok &= same("cs", r->cs, user ? USER_CS : KERNEL_CS);
	if (!user)
		return ok & same("frame end (no stack switch)", r->frame_end,
		                 w->esp);
	ok &= same("ss", r->user_ss, USER_DS);
	ok &= same("esp", r->user_esp, w->esp);
	ok &= same("frame end (tss esp0)", r->frame_end, KSTACK_TOP);
	ok &= same("handler esp in kstack", in_kstack(r->handler_esp), 1);
	ok &= same("eflags IF, IOPL", r->eflags & (EFLAGS_IF | EFLAGS_IOPL),
	           EFLAGS_IF);
	return ok;
}

static struct trap_rec record(const struct frame *f)
{
	struct trap_rec r = {
		.vector = f->vector, .err = f->err, .eip = f->eip,
		.cs = f->cs & 0xFFFF, .eflags = f->eflags,
		.from_cpl = f->cs & 3,
	};
	uint32_t cs, esp;

	__asm__ volatile("movl %%cs, %0\n\tmovl %%esp, %1"
	                 : "=r"(cs), "=r"(esp));
	r.handler_cpl = cs & 3;
	handler_cpl_bad += r.handler_cpl != 0;
	r.handler_if = !!(read_eflags() & EFLAGS_IF);
	r.handler_esp = esp;
	if (r.from_cpl == 3) {
		r.user_esp = f->user_esp;
		r.user_ss = f->user_ss & 0xFFFF;
		r.frame_end = (uint32_t)(f + 1);
	} else {
		r.frame_end = (uint32_t)&f->user_esp;
	}
	return r;
}

/* --- tasks and the scheduler ------------------------------------------- */

struct task {
	struct frame f;    /* saved while the other task runs */
	bool live;
};

struct spin {          /* user_spin()'s argument; offsets used in asm */
	volatile uint32_t *mine, *other, *ticks;
	uint32_t until, esp;
};

static struct task tasks[NTASKS];
static uint8_t ustack[NTASKS][4096] __attribute__((aligned(16)));
static unsigned cur;                       /* running task */
static volatile char tlog[64];             /* "A1 B1 ..." written by both */
static volatile unsigned tlog_len;
static unsigned writes_ok[NTASKS];
static uint32_t got_id[NTASKS], user_cpl[NTASKS];
static bool regs_ok[NTASKS], segs_ok[NTASKS];

static volatile uint32_t ticks;
static bool timer_on;
/* timer=1: the 8254 PIT through the 8259 PIC (hardware, QEMU); timer=2:
 * popek's test timer (devices/testtimer.c, ports 0x500..) raising the same
 * vector, until popek emulates the PIT and PIC.  The handler's EOI to the
 * PIC is then an unclaimed port write, dropped. */
static int timer_source;
static unsigned timer_hz = TIMER_HZ;   /* hz=N on the command line */
#define TESTTIMER_VECTOR 0x500
#define TESTTIMER_PERIOD 0x504
static struct spin spin[NTASKS];
static volatile uint32_t spins[NTASKS];
static bool saw_other[NTASKS];
static unsigned kernel_ticks, user_ticks, spin_ticks, preemptions;
static unsigned timer_frames_bad;

static void tlog_add(char a, char b)
{
	tlog[tlog_len++] = a;
	tlog[tlog_len++] = b;
	tlog[tlog_len++] = ' ';
}

/* The next live task after cur, or -1. */
static int next_live(void)
{
	for (unsigned i = 1; i <= NTASKS; i++)
		if (tasks[(cur + i) % NTASKS].live)
			return (int)((cur + i) % NTASKS);
	return -1;
}

/* Round robin: park the running task's frame, run the next live one.
 * Did it switch? */
static bool schedule(struct frame *f)
{
	int next = next_live();

	if (next < 0 || (unsigned)next == cur)
		return false;
	tasks[cur].f = *f;
	cur = (unsigned)next;
	*f = tasks[cur].f;
	return true;
}

static void task_exit(struct frame *f)
{
	int next;

	tasks[cur].live = false;
	tlog_add((char)('A' + cur), 'X');
	next = next_live();
	if (next < 0)
		user_leave();
	cur = (unsigned)next;
	*f = tasks[cur].f;
}

/* --- the handlers ------------------------------------------------------ */

static void __attribute__((noreturn)) unexpected(const struct frame *f)
{
	printf("minikernel: unexpected vector %u error 0x%x at %x:%x "
	       "(eflags %x)\n", f->vector, f->err, f->cs & 0xFFFF, f->eip,
	       f->eflags);
	check(false, "no-unexpected-exceptions");
	finish();
	exit_guest(1);
}

/* A trap from CPL 3: judge it now (user code cannot print). */
static void judge_user_trap(const struct trap_rec *r)
{
	uint32_t kind = r->want.kind;
	bool if_want = r->vector == VEC_SYSCALL ? !!(r->eflags & EFLAGS_IF) : 0;

	if (trap_matches(r)) {
		ukind_ok[kind]++;
	} else {
		printf("minikernel: task %c: wrong frame for %s\n",
		       'A' + cur, ukind_check[kind]);
		ukind_bad[kind]++;
	}
	if (r->handler_if != if_want)
		user_if_bad++;
}

static void do_syscall(struct frame *f)
{
	const char *s = (const char *)f->ebx;
	char want[] = "hello from task ?";

	switch (f->eax) {
	case SYS_WRITE:
		want[sizeof(want) - 2] = (char)('A' + cur);
		printf("user: %s\n", s);
		writes_ok[cur] += strcmp(s, want) == 0;
		f->eax = 0;
		break;
	case SYS_GETID:
		f->eax = cur;
		break;
	case SYS_YIELD:
		f->eax = 0;
		schedule(f);
		break;
	case SYS_EXIT:
		task_exit(f);
		break;
	default:
		f->eax = (uint32_t)-1;
	}
}

static void timer_tick(struct frame *f)
{
	bool in_spin = f->eip >= (uint32_t)user_spin_loop &&
	               f->eip < (uint32_t)user_spin_end;
	struct trap_rec r;

	ticks++;
	outb(PIC_EOI, PIC1_CMD);
	if ((f->cs & 3) != 3) {
		kernel_ticks++;
		return;
	}
	user_ticks++;
	r = record(f);
	if ((r.cs != USER_CS || r.user_ss != USER_DS ||
	     r.frame_end != KSTACK_TOP || !in_kstack(r.handler_esp) ||
	     (in_spin && r.user_esp != spin[cur].esp)) && !timer_frames_bad++)
		printf("minikernel: bad timer frame %x:%x esp %x:%x\n", r.cs,
		       r.eip, r.user_ss, r.user_esp);
	if (in_spin) {
		spin_ticks++;
		preemptions += schedule(f);
	}
}

void trap_dispatch(struct frame *f)
{
	struct trap_rec r;
	struct expect *x;

	if (f->vector == VEC_TIMER) {
		timer_tick(f);
		return;
	}
	r = record(f);
	x = &expect[r.from_cpl == 3 ? cur : KERNEL_SLOT];
	if (!x->armed)
		unexpected(f);
	r.want = *x;
	x->armed = false;
	if (!is_trap(f->vector))
		f->eip = r.want.resume_at;
	if (r.from_cpl == 3)
		judge_user_trap(&r);
	else
		last = r;
	if (f->vector == VEC_SYSCALL && r.from_cpl == 3)
		do_syscall(f);
	else if (f->vector == VEC_SYSCALL)
		f->eax = f->eax == KSYS_PING ? KSYS_PONG : 0;
}

/* --- user tasks (CPL 3: no I/O, no printf; they only touch memory) ----- */

static inline uint32_t sys(struct expect *x, uint32_t nr, uint32_t arg)
{
	arm(x, VEC_SYSCALL, 0, 3, UK_SYSCALL);
	__asm__ volatile(ARMED("int $0x80")
	                 : "+a"(nr) : [x] "r"(x), "b"(arg) : "memory", "cc");
	return nr;
}

static void user_faults(struct expect *x, int round)
{
	uint32_t a = 1, d = 0;

	if (round == 1) {
		arm(x, VEC_DE, 0, 3, UK_DE);
		__asm__ volatile(ARMED("divl %%ecx") : "+a"(a), "+d"(d)
		                 : [x] "r"(x), "c"(0) : "memory", "cc");
		arm(x, VEC_UD, 0, 3, UK_UD);
		__asm__ volatile(ARMED("ud2") : : [x] "r"(x) : "memory");
	} else if (round == 2) {
		arm(x, VEC_GP, 0, 3, UK_GP_CLI);
		__asm__ volatile(ARMED("cli") : : [x] "r"(x) : "memory");
		arm(x, VEC_GP, 0, 3, UK_GP_IN);
		__asm__ volatile(ARMED("inb $0x80, %%al") : : [x] "r"(x)
		                 : "eax", "memory");
		/* INT n through a DPL 0 gate: #GP(vector * 8 + 2 (IDT bit)). */
		arm(x, VEC_GP, VEC_PF * 8 + 2, 3, UK_GP_GATE);
		__asm__ volatile(ARMED("int $0x0e") : : [x] "r"(x) : "memory");
	} else {
		arm(x, VEC_OF, 0, 3, UK_OF);
		__asm__ volatile("movl $0x7fffffff, %%eax\n\t"
		                 "addl $1, %%eax\n\t" ARMED("into")
		                 : : [x] "r"(x) : "eax", "memory", "cc");
	}
}

/* INT3 with recognisable values in the registers the handler saves and
 * restores: they and the user data selectors must come back intact. */
static void user_regs_check(struct expect *x, int id)
{
	uint32_t b = 0xB0B0B0B0u ^ (uint32_t)id, c = 0xC0C0C0C0u;
	uint32_t s = 0x5151515u, d = 0xD1D1D1D1u, ob, os, od, oc;
	uint16_t ds, es, fs, gs;

	arm(x, VEC_BP, 0, 3, UK_BP);
	__asm__ volatile(ARMED("int3")
	                 : "=b"(ob), "=S"(os), "=D"(od), "=c"(oc)
	                 : [x] "d"(x), "0"(b), "1"(s), "2"(d), "3"(c)
	                 : "memory");
	__asm__ volatile("movw %%ds, %0\n\tmovw %%es, %1\n\t"
	                 "movw %%fs, %2\n\tmovw %%gs, %3"
	                 : "=r"(ds), "=r"(es), "=r"(fs), "=r"(gs));
	regs_ok[id] = ob == b && os == s && od == d && oc == c;
	segs_ok[id] = sel_eq(ds, USER_DS) && sel_eq(es, USER_DS) &&
	              sel_eq(fs, USER_DS) && sel_eq(gs, USER_DS);
}

void user_spin(struct spin *s);

/* Timer part: task A spins until task B has run, which B can only do if
 * the timer preempts A (A gives up after two seconds of ticks).  B only
 * notes that it ran after A had started spinning, and never spins itself,
 * so that the exit order is fixed: B, then A. */
static void user_spin_phase(int id)
{
	struct spin *s = &spin[id];

	if (id == 1) {
		saw_other[1] = spins[0] != 0;
		spins[1]++;
		return;
	}
	s->mine = &spins[0];
	s->other = &spins[1];
	s->ticks = &ticks;
	s->until = ticks + 2 * timer_hz;
	user_spin(s);
	saw_other[0] = spins[1] != 0;
}

static void user_main(int id)
{
	struct expect *x = &expect[id];
	uint32_t cs;

	__asm__ volatile("movl %%cs, %0" : "=r"(cs));
	user_cpl[id] = cs & 3;
	sys(x, SYS_WRITE,
	    (uint32_t)(id ? "hello from task B" : "hello from task A"));
	got_id[id] = sys(x, SYS_GETID, 0);
	for (int round = 1; round <= ROUNDS; round++) {
		tlog_add((char)('A' + id), (char)('0' + round));
		user_faults(x, round);
		if (round == ROUNDS)
			user_regs_check(x, id);
		sys(x, SYS_YIELD, 0);
	}
	if (timer_on)
		user_spin_phase(id);
	sys(x, SYS_EXIT, 0);
}

/* A task starts in user_main(id) as if called from user_returned. */
static void task_init(int id)
{
	struct frame *f = &tasks[id].f;
	uint32_t *sp = (uint32_t *)(ustack[id] + sizeof(ustack[id]) - 20);

	sp[0] = (uint32_t)user_returned;
	sp[1] = (uint32_t)id;
	memset(f, 0, sizeof(*f));
	f->eip = (uint32_t)user_main;
	f->cs = USER_CS;
	f->eflags = EFLAGS_IF | 0x2;
	f->user_esp = (uint32_t)sp;
	f->user_ss = f->ds = f->es = f->fs = f->gs = USER_DS;
	tasks[id].live = true;
}

/* --- kernel: GDT, TSS, segments ---------------------------------------- */


static uint16_t read_sel(int which)
{
	uint16_t v = 0;

	switch (which) {
	case 0: __asm__ volatile("movw %%cs, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("movw %%ds, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("movw %%es, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("movw %%fs, %0" : "=r"(v)); break;
	case 4: __asm__ volatile("movw %%gs, %0" : "=r"(v)); break;
	case 5: __asm__ volatile("movw %%ss, %0" : "=r"(v)); break;
	}
	return v;
}

static void load_gdt(void)
{
	struct table_reg gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };

	gdt[1] = seg(0, 0xFFFFF, ACC_KCODE, FLAGS_4K_32);
	gdt[2] = seg(0, 0xFFFFF, ACC_KDATA, FLAGS_4K_32);
	gdt[3] = seg(0, 0xFFFFF, ACC_UCODE, FLAGS_4K_32);
	gdt[7] = seg(0, 0xFFFFF, ACC_UDATA, FLAGS_4K_32);
	gdt[8] = seg((uint32_t)&tss, sizeof(tss) - 1, ACC_TSS, 0);
	gdt[9] = seg((uint32_t)window, sizeof(window) - 1, ACC_KDATA,
	             FLAGS_BYTE_32);
	tss.ss0 = KERNEL_DS;
	tss.esp0 = KSTACK_TOP;
	tss.iomap_base = sizeof(tss); /* beyond the limit: no I/O bitmap */
	__asm__ volatile("lgdt %0\n\t"
	                 "ljmp $0x08, $1f\n"
	                 "1:\tmovl %1, %%ds\n\t"
	                 "movl %1, %%es\n\t"
	                 "movl %1, %%fs\n\t"
	                 "movl %1, %%gs\n\t"
	                 "movl %1, %%ss\n\t"
	                 "ltr %w2"
	                 : : "m"(gdtr), "r"(KERNEL_DS), "r"(TSS_SEL)
	                 : "memory");
}

static void test_gdt(void)
{
	uint16_t tr = 0;
	bool data = true;

	load_gdt();
	__asm__ volatile("str %0" : "=r"(tr));
	for (int i = 1; i <= 5; i++)
		data &= sel_eq(read_sel(i), KERNEL_DS);
	check(sel_eq(read_sel(0), KERNEL_CS), "gdt-cs-selector");
	check(data, "gdt-data-selectors");
	check(gdt[2].access & ACC_ACCESSED, "gdt-kernel-data-accessed-bit");
	if (exact)
		check(tr == TSS_SEL, "ltr-task-register");
	check(gdt[8].access == (ACC_TSS | ACC_TSS_BUSY), "ltr-marks-tss-busy");
}

/* FS = the window segment: offsets are relative to its base and the last
 * byte within the limit is reachable.  (Beyond the limit a CPU raises
 * #GP(0), but QEMU's TCG does not check data segment limits, so that is
 * not tested here.)  Then the selector loads that must fault. */
static void test_segment_window(void)
{
	struct expect *x;
	uint32_t first = 0, last_byte = 0;

	window[0] = 0x5A;
	window[255] = 0xA5;
	__asm__ volatile("movl %2, %%fs\n\t"
	                 "movzbl %%fs:0, %0\n\t"
	                 "movzbl %%fs:0xff, %1\n\t"
	                 "movb $0x77, %%fs:4"
	                 : "=&r"(first), "=&r"(last_byte)
	                 : "r"(WINDOW_DS) : "memory");
	check(first == 0x5A && window[4] == 0x77, "segment-base-applied");
	check(last_byte == 0xA5, "segment-limit-last-byte-readable");
	check(gdt[9].access & ACC_ACCESSED, "gdt-window-accessed-bit");

	x = karm(VEC_GP, PAST_GDT_SEL);
	__asm__ volatile("movl %[s], %%eax\n\t" ARMED("movl %%eax, %%fs")
	                 : : [x] "r"(x), [s] "i"(PAST_GDT_SEL)
	                 : "eax", "memory");
	check(trap_matches(&last), "selector-past-gdt-limit-gp");

	x = karm(VEC_GP, 0);
	__asm__ volatile("xorl %%eax, %%eax\n\t" ARMED("movl %%eax, %%ss")
	                 : : [x] "r"(x) : "eax", "memory");
	check(trap_matches(&last) && sel_eq(read_sel(5), KERNEL_DS), "null-ss-gp");
	__asm__ volatile("movl %0, %%fs" : : "r"(KERNEL_DS));
}

/* --- kernel: IDT and kernel-mode exceptions ---------------------------- */

static void load_idt(void)
{
	struct table_reg idtr = { sizeof(idt) - 1, (uint32_t)idt };

	for (unsigned v = 0; v < 32; v++)
		gate(v, isr_table[v],
		     v == VEC_BP || v == VEC_OF ? GATE_INT_USER : GATE_INT);
	gate(VEC_TIMER, (uint32_t)isr32, GATE_INT);
	gate(VEC_SYSCALL, (uint32_t)isr128, GATE_TRAP_USER);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

static void test_kernel_exceptions(void)
{
	struct expect *x;
	uint32_t a = 1, d = 0;

	x = karm(VEC_DE, 0);
	__asm__ volatile(ARMED("divl %%ecx") : "+a"(a), "+d"(d)
	                 : [x] "r"(x), "c"(0) : "memory", "cc");
	check(trap_matches(&last), "kernel-de");

	x = karm(VEC_UD, 0);
	__asm__ volatile(ARMED("ud2") : : [x] "r"(x) : "memory");
	check(trap_matches(&last), "kernel-ud");

	x = karm(VEC_BP, 0);
	__asm__ volatile(ARMED("int3") : : [x] "r"(x) : "memory");
	check(trap_matches(&last), "kernel-bp");

	x = karm(VEC_OF, 0);
	__asm__ volatile("movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n\t"
	                 ARMED("into") : : [x] "r"(x) : "eax", "memory", "cc");
	check(trap_matches(&last), "kernel-of");

	a = KSYS_PING;
	x = karm(VEC_SYSCALL, 0);
	__asm__ volatile(ARMED("int $0x80") : "+a"(a) : [x] "r"(x) : "memory");
	check(trap_matches(&last) && a == KSYS_PONG, "kernel-int80");
}

/* With IF = 1 (the PICs are masked): an interrupt gate clears IF, the
 * trap gate keeps it, and IRET brings it back. */
static void test_gates_if(void)
{
	struct expect *x;
	uint32_t a = KSYS_PING, after;
	struct trap_rec ud, sc;

	__asm__ volatile("sti" ::: "memory");
	x = karm(VEC_UD, 0);
	__asm__ volatile(ARMED("ud2") : : [x] "r"(x) : "memory");
	ud = last;
	x = karm(VEC_SYSCALL, 0);
	__asm__ volatile(ARMED("int $0x80") : "+a"(a) : [x] "r"(x) : "memory");
	sc = last;
	after = read_eflags();
	__asm__ volatile("cli" ::: "memory");
	check((ud.eflags & EFLAGS_IF) && (sc.eflags & EFLAGS_IF),
	      "frame-eflags-has-if");
	/* PUSHF shows the real IF under pure trap-and-emulate (always 1):
	 * only an exact CPU can show these three. */
	if (exact) {
		check(!ud.handler_if, "interrupt-gate-clears-if");
		check(sc.handler_if, "trap-gate-keeps-if");
		check(after & EFLAGS_IF, "iret-restores-if");
	}
}

/* --- kernel: user mode ------------------------------------------------- */

static void run_tasks(void)
{
	struct frame *top = (struct frame *)KSTACK_TOP - 1;

	for (int id = 0; id < NTASKS; id++)
		task_init(id);
	cur = 0;
	*top = tasks[0].f;
	user_enter(top);
	__asm__ volatile("cli" ::: "memory");
}

static void report_tasks(void)
{
	static const unsigned per_task[UK_N] = {
		[UK_DE] = 1, [UK_UD] = 1, [UK_GP_CLI] = 1, [UK_GP_IN] = 1,
		[UK_GP_GATE] = 1, [UK_BP] = 1, [UK_OF] = 1,
		[UK_SYSCALL] = SYSCALLS_PER_TASK,
	};
	const char *want = timer_on ? "A1 B1 A2 B2 A3 B3 BX AX "
	                            : "A1 B1 A2 B2 A3 B3 AX BX ";

	tlog[tlog_len] = '\0';
	check(user_cpl[0] == 3 && user_cpl[1] == 3, "user-runs-at-cpl3");
	for (int k = 0; k < UK_N; k++)
		check(ukind_ok[k] == NTASKS * per_task[k] && !ukind_bad[k],
		      ukind_check[k]);
	if (exact)   /* PUSHF again */
		check(user_if_bad == 0, "user-handler-if-per-gate-type");
	check(writes_ok[0] == 1 && writes_ok[1] == 1, "user-write-syscall");
	check(got_id[0] == 0 && got_id[1] == 1, "user-getid-syscall");
	check(regs_ok[0] && regs_ok[1], "user-regs-survive-traps");
	check(segs_ok[0] && segs_ok[1], "user-segments-survive-traps");
	printf("minikernel: task log \"%s\"\n", (const char *)tlog);
	check(strcmp((const char *)tlog, want) == 0,
	      "tasks-round-robin-interleave");
	check(!tasks[0].live && !tasks[1].live, "tasks-all-exited");
	check(gdt[7].access & ACC_ACCESSED, "gdt-user-data-accessed-bit");
	if (exact)
		check(handler_cpl_bad == 0, "handlers-run-at-cpl0");
}

/* --- kernel: the timer (timer=1 only) ---------------------------------- */

/* Both PICs masked: the BIOS leaves IRQ0 enabled at vector 8. */
static void pic_mask_all(void)
{
	outb(0xFF, PIC1_DATA);
	outb(0xFF, PIC2_DATA);
}

/* Channel 0, mode 2 (rate generator), lobyte/hibyte. */
static void pit_start(unsigned hz)
{
	uint16_t div = (uint16_t)(PIT_HZ / hz);

	outb(0x34, PIT_CMD);
	outb(div & 0xFF, PIT_CH0);
	outb(div >> 8, PIT_CH0);
}

/* HLT waits for IRQ0; more ticks follow only if the handler's EOI
 * reached the PIC (bounded wait, about a second under QEMU). */
static void test_timer_in_kernel(void)
{
	uint32_t before;

	if (timer_source == 2) {
		outb(VEC_TIMER, TESTTIMER_VECTOR);
		outl(1000000 / timer_hz, TESTTIMER_PERIOD);
	} else {
		pic_init(0xFE, 0xFF);   /* IRQ0-7 at 0x20, 8-15 at 0x28; only IRQ0 */
		pit_start(timer_hz);
	}
	before = ticks;
	__asm__ volatile("sti\n\thlt" ::: "memory");
	check(ticks > before, "timer-wakes-hlt");
	for (uint32_t i = 0; ticks < before + 10 && i < 100000000u; i++)
		__asm__ volatile("pause" ::: "memory");
	__asm__ volatile("cli" ::: "memory");
	check(ticks >= before + 10, "timer-ticks-with-eoi");
}

static void report_timer(void)
{
	pic_mask_all();
	if (timer_source == 2)
		outl(0, TESTTIMER_PERIOD);
	printf("minikernel: %u ticks (%u kernel, %u user, %u in spin), "
	       "%u preemptions\n", ticks, kernel_ticks, user_ticks, spin_ticks,
	       preemptions);
	check(user_ticks > 0 && timer_frames_bad == 0, "timer-user-frames");
	check(preemptions > 0 && saw_other[0] && saw_other[1],
	      "timer-preempts-user");
}

int guest_main(void)
{
	timer_source = cmdline_int("timer", 0);
	timer_hz = (unsigned)cmdline_int("hz", TIMER_HZ);
	if (timer_hz < 19 || timer_hz > 10000)
		timer_hz = TIMER_HZ;
	timer_on = timer_source == 1 || timer_source == 2;
	exact = cmdline_int("exact", 0) == 1;
	pic_mask_all();
	test_gdt();               /* GDT, segment reloads, TSS */
	load_idt();               /* exceptions, IRQ0, INT 80h */
	test_segment_window();    /* segment base and limit, #GP on loads */
	test_kernel_exceptions(); /* CPL 0 -> CPL 0 */
	test_gates_if();
	if (timer_on)
		test_timer_in_kernel();
	run_tasks();              /* CPL 3 and back, until both tasks exit */
	report_tasks();
	if (timer_on)
		report_timer();
	return finish();
}
