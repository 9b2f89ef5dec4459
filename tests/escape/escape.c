/*
 * escape.c — escape probes (docs/escape.md).  One probe per run, named by
 * probe=NAME on the command line, run at CPL 0 (cpl=0, the default) or
 * from CPL 3 (cpl=3: pm_user_run() into the probe, which ends with
 * `int $0x80` with EAX = DONE).  The harness also says how the probe's
 * code runs under popek: direct=1 when it runs in place on the host CPU
 * (guest user code; kernel code under --mode=trap), bt=1 when popek has
 * its monitor region mapped at 0xFF000000 (--mode=bt).
 *
 * Each probe tries one way out of the guest and the guest then checks
 * what it saw.  A check named "...-contained" holds what hardware would
 * do (a fault, or the architectural result); a check named
 * "...-residue-..." holds what popek's phase-1 residue gives instead
 * (DESIGN.md §11), stated precisely.  Probes that end the VM (SYSCALL,
 * SYSENTER, a raw host syscall) print "escape: trying NAME" first and
 * report nothing after: the harness checks popek's status and, under
 * strace, that no host syscall of theirs ran.  The raw syscalls write
 * "HOSTWRITE" and exit with 42 or 77: the guest never prints that word
 * nor ends with those statuses, so either in a strace log is an escape.
 */
#include "lib.h"
#include "pm.h"

#define DONE 0xD0DEu            /* EAX of the final int $0x80 at CPL 3 */
#define GDT_BASED   9           /* data, base 0x80000000, 4 GiB limit */
#define GDT_WRAP    10          /* data, base 0xFF800000, 4 GiB limit */
#define GDT_EXPDOWN 11          /* data, expand-down, limit 0xFFF, B */
#define GDT_CONFORM 12          /* conforming code, DPL 0 */
#define GDT_CGATE   13          /* call gate, DPL 3, to 0x08:cgate_fn */
#define SEL(i, rpl) ((uint16_t)((i) << 3 | (rpl)))

#define VPAGE   0xFF000000u     /* popek's per-vCPU page under bt */
#define TCV_H   52              /* an unused word of it */
#define TCV_ENTRY 16            /* popek_callout's address (64 bits) */
#define STUBS   0xFF100000u
#define TCCODE  0xFF200000u

static const char *probe;
static int cpl;
static bool direct, bt;

/* What the trap handler saw. */
static volatile uint32_t trap_vec, trap_err, trap_count;
static volatile uint32_t int80_count, int80_eax[8];
static volatile bool done;

/* Results the probe bodies leave (CPL 3 cannot print). */
volatile uint32_t r0, r1, r2, r3;

/* The 64-bit side (esc64_*: .code64 below). */
volatile uint32_t esc64_action, esc64_ret_cs, esc64_ret_eip, esc64_arg;
volatile uint64_t esc64_marker, esc64_out0, esc64_out1, esc64_out2;
volatile uint32_t esc64_vkind;
volatile uint64_t esc64_vbuf[32 * 8 + 8] __attribute__((aligned(64)));
void esc64_entry(void);
static const char hostmsg[] = "HOSTWRITE\n";
const char *esc64_msg = hostmsg;

static uint8_t ustack[8192] __attribute__((aligned(16)));
uint32_t k_saved_esp;
int k_run(void (*fn)(void));
extern char k_abort[];

/* k_run(fn): call fn at CPL 0; 0 when it returns, 1 when a fault sent
 * it to k_abort (the handler does that). */
__asm__(".pushsection .text\n"
	".globl k_run, k_abort\n"
	"k_run:\n"
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl %esp, k_saved_esp\n"
	"	call *20(%esp)\n"
	"	xorl %eax, %eax\n"
	"	jmp 1f\n"
	"k_abort:\n"
	"	movl k_saved_esp, %esp\n"
	"	movl $1, %eax\n"
	"1:	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n"
	".popsection\n");

/*
 * 64-bit code, entered by `ljmp $0x33, $esc64_entry` from compatibility
 * mode.  It proves it runs in 64-bit mode (a MOVABS of a 64-bit constant
 * means something else in 32-bit code), does esc64_action, and returns
 * with LRETQ to esc64_ret_cs:esc64_ret_eip (the caller's own host CS).
 *   0  nothing more
 *   1  raw SYSCALL write(1, "HOSTWRITE\n", 10), x86-64 numbers, from an
 *      IP below 4 GiB
 *   2  raw SYSCALL exit_group(42), x86-64 numbers
 *   3  int $0x80 write(1, ...) (i386 numbers) from 64-bit mode
 *   4  scan the first MiB of the monitor region (vpage, lookup table,
 *      trampoline) for qwords that look like host pointers (bits 32..63
 *      in 0x1000..0x7FFF: 16 TiB up to the top of user space): their
 *      number (out0) and the first (out1)
 *   5  write 0x5AFE5AFE at 0xFF000000 + esc64_arg, read it back (out0)
 *   6  vsyscall time(NULL) at 0xffffffffff600400 (out0)
 *   7  jump to the SYSCALL instruction esc64_arg bytes before the
 *      address at VPAGE + TCV_ENTRY (popek_callout) with exit_group(77)
 *   8  read the qword at 0xFF000000 + esc64_arg (out0)
 *  10  what the registers hold: R8-R15 ORed (out0), FS and GS base
 *      (out1, out2), and the vector and opmask registers in esc64_vbuf
 *      (esc64_vkind 2: ZMM0-31 and K0-7 with AVX-512F, 1: YMM0-15 with
 *      AVX, 0: none)
 *  11  jump to a guessed address above 4 GiB (0x123400000000)
 */
__asm__(".pushsection .text\n"
	".code64\n"
	".globl esc64_entry\n"
	"esc64_entry:\n"
	"	movl %esp, %esp\n"              /* zero-extend RSP */
	"	movabsq $0x6400000064, %rax\n"
	"	movq %rax, esc64_marker(%rip)\n"
	"	movl esc64_action(%rip), %eax\n"
	"	cmpl $1, %eax\n"
	"	je 1f\n"
	"	cmpl $2, %eax\n"
	"	je 2f\n"
	"	cmpl $3, %eax\n"
	"	je 3f\n"
	"	cmpl $4, %eax\n"
	"	je 4f\n"
	"	cmpl $5, %eax\n"
	"	je 5f\n"
	"	cmpl $6, %eax\n"
	"	je 6f\n"
	"	cmpl $7, %eax\n"
	"	je 7f\n"
	"	cmpl $8, %eax\n"
	"	je 8f\n"
	"	cmpl $10, %eax\n"
	"	je 10f\n"
	"	cmpl $11, %eax\n"
	"	je 11f\n"
	"	jmp 9f\n"
	"1:	movl $1, %eax\n"                /* __NR_write (x86-64) */
	"	movl $1, %edi\n"
	"	movl esc64_msg(%rip), %esi\n"
	"	movl $10, %edx\n"
	"	syscall\n"
	"	jmp 9f\n"
	"2:	movl $231, %eax\n"              /* __NR_exit_group (x86-64) */
	"	movl $42, %edi\n"
	"	syscall\n"
	"	jmp 9f\n"
	"3:	movl $4, %eax\n"                /* __NR_write (i386) */
	"	movl $1, %ebx\n"
	"	movl esc64_msg(%rip), %ecx\n"
	"	movl $10, %edx\n"
	"	int $0x80\n"
	"	jmp 9f\n"
	"4:	movl $0xFF000000, %ecx\n"
	"	xorl %edx, %edx\n"
	"	movq %rdx, esc64_out1(%rip)\n"
	"41:	movl 4(%rcx), %eax\n"
	"	cmpl $0x1000, %eax\n"
	"	jb 42f\n"
	"	cmpl $0x8000, %eax\n"
	"	jae 42f\n"
	"	incl %edx\n"
	"	movq (%rcx), %rax\n"
	"	movq %rax, esc64_out1(%rip)\n"
	"42:	addl $8, %ecx\n"
	"	cmpl $0xFF100000, %ecx\n"
	"	jne 41b\n"
	"	movq %rdx, esc64_out0(%rip)\n"
	"	jmp 9f\n"
	"5:	movl esc64_arg(%rip), %eax\n"
	"	addl $0xFF000000, %eax\n"
	"	movl $0x5AFE5AFE, %edx\n"
	"	movl %edx, (%rax)\n"
	"	movl (%rax), %edx\n"
	"	movq %rdx, esc64_out0(%rip)\n"
	"	jmp 9f\n"
	"6:	xorl %edi, %edi\n"
	"	movq $-0xA00000 + 0x400, %rax\n" /* 0xffffffffff600400 */
	"	call *%rax\n"
	"	movq %rax, esc64_out0(%rip)\n"
	"	jmp 9f\n"
	"7:	movl $0xFF000010, %eax\n"
	"	movq (%rax), %rcx\n"
	"	movl esc64_arg(%rip), %eax\n"
	"	subq %rax, %rcx\n"
	"	movl $231, %eax\n"
	"	movl $77, %edi\n"
	"	jmp *%rcx\n"
	"8:	movl esc64_arg(%rip), %eax\n"
	"	addl $0xFF000000, %eax\n"
	"	movq (%rax), %rax\n"
	"	movq %rax, esc64_out0(%rip)\n"
	"	jmp 9f\n"
	"10:	movq %r8, %rax\n"
	"	orq %r9, %rax\n"
	"	orq %r10, %rax\n"
	"	orq %r11, %rax\n"
	"	orq %r12, %rax\n"
	"	orq %r13, %rax\n"
	"	orq %r14, %rax\n"
	"	orq %r15, %rax\n"
	"	movq %rax, esc64_out0(%rip)\n"
	"	rdfsbase %rax\n"
	"	movq %rax, esc64_out1(%rip)\n"
	"	rdgsbase %rax\n"
	"	movq %rax, esc64_out2(%rip)\n"
	"	movl $0, esc64_vkind(%rip)\n"
	"	pushq %rbx\n"
	"	movl $7, %eax\n"
	"	xorl %ecx, %ecx\n"
	"	cpuid\n"
	"	movl %ebx, %esi\n"
	"	movl $1, %eax\n"
	"	cpuid\n"
	"	popq %rbx\n"
	"	andl $0x18000000, %ecx\n"       /* OSXSAVE | AVX */
	"	cmpl $0x18000000, %ecx\n"
	"	jne 9f\n"
	"	testl $0x10000, %esi\n"         /* AVX-512F */
	"	jz 12f\n"
	"	leaq esc64_vbuf(%rip), %rax\n"
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"	vmovdqu64 %zmm\\n, \\n*64(%rax)\n"
	"	.endr\n"
	"	.irp n, 0,1,2,3,4,5,6,7\n"
	"	kmovq %k\\n, 2048+\\n*8(%rax)\n"
	"	.endr\n"
	"	movl $2, esc64_vkind(%rip)\n"
	"	jmp 9f\n"
	"12:	leaq esc64_vbuf(%rip), %rax\n"
	"	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15\n"
	"	vmovdqu %ymm\\n, \\n*64(%rax)\n"
	"	.endr\n"
	"	movl $1, esc64_vkind(%rip)\n"
	"	jmp 9f\n"
	"11:	movabsq $0x123400000000, %rax\n"
	"	jmp *%rax\n"
	"9:	movl esc64_ret_cs(%rip), %eax\n"
	"	pushq %rax\n"
	"	movl esc64_ret_eip(%rip), %eax\n"
	"	pushq %rax\n"
	"	lretq\n"
	".code32\n"
	".popsection\n");

/* ljmp $0x33 into esc64_entry, back at the local label. */
static void far64(uint32_t action, uint32_t arg)
{
	esc64_action = action;
	esc64_arg = arg;
	__asm__ volatile("movl %%cs, %%eax\n\t"
	                 "movl %%eax, esc64_ret_cs\n\t"
	                 "movl $1f, esc64_ret_eip\n\t"
	                 "ljmp $0x33, $esc64_entry\n"
	                 "1:"
	                 : : : "eax", "ecx", "edx", "memory");
}

static void handler(struct pm_frame *f)
{
	bool user = (f->cs & 3) == 3;

	if (f->vector == VEC_SYSCALL) {
		if (user && f->eax == DONE) {
			done = true;
			pm_user_leave();
		}
		if (int80_count < 8)
			int80_eax[int80_count] = f->eax;
		int80_count++;
		return;                 /* resume after the int $0x80 */
	}
	trap_vec = f->vector;
	trap_err = f->err;
	trap_count++;
	if (user)
		pm_user_leave();
	f->eip = (uint32_t)k_abort;
}

/* The CPL-3 trampoline: user_body, then int $0x80 with DONE. */
void (*volatile user_body)(void);
void user_entry(void);
__asm__(".pushsection .text\n"
	"user_entry:\n"
	"	call *user_body\n"
	"	movl $0xD0DE, %eax\n"
	"	int $0x80\n"
	"	jmp .\n"
	".popsection\n");

/* Run body at the requested CPL; true when it ran to its end. */
static bool run(void (*body)(void))
{
	trap_count = 0;
	trap_vec = trap_err = ~0u;
	int80_count = 0;
	done = false;
	if (cpl == 3) {
		user_body = body;
		pm_user_run((uint32_t)user_entry, (uint32_t)(ustack + sizeof(ustack)),
		            0, 0);
		__asm__ volatile("movl %0, %%ds; movl %0, %%es; movl %0, %%fs; "
		                 "movl %0, %%gs" : : "r"(PM_KERNEL_DS));
		return done;
	}
	int faulted = k_run(body);
	__asm__ volatile("movl %0, %%ds; movl %0, %%es; movl %0, %%fs; "
	                 "movl %0, %%gs" : : "r"(PM_KERNEL_DS));
	return !faulted;
}

static bool faulted_gp(void)
{
	return trap_count == 1 && trap_vec == 13;
}

static void why_trap(const char *name, bool ok)
{
	check_why(ok, name, "ran to end %d, traps %u, vector %u error 0x%x",
	          trap_count == 0, trap_count, trap_vec, trap_err);
}

/* --- far jumps ----------------------------------------------------------- */

static void body_far64(void) { far64(esc64_action, esc64_arg); }

/* Null FS and GS across exits to popek (a spin of a few milliseconds:
 * timer kicks, and first touches of fresh pages), then far64: a null
 * load keeps the old base on AMD, so popek's entry must not leave its
 * own there. */
static uint8_t touch[64 * 4096] __attribute__((aligned(4096)));

static void body_far64_null_fs(void)
{
	__asm__ volatile("movl %0, %%fs; movl %0, %%gs" : : "r"(0));
	for (unsigned i = 0; i < sizeof(touch); i += 4096)
		touch[i] = 1;
	for (volatile uint32_t i = 0; i < 20000000u; i++)
		;
	far64(esc64_action, esc64_arg);
}

struct { uint32_t eip; uint16_t cs; } __attribute__((packed)) far_back;

static void body_far32(void)
{
	/* ljmp to 0x23: guest GDT index 4 is null (pm.c leaves it unused).
	 * Then back to the caller's own CS (an indirect far jump). */
	__asm__ volatile("movl %%cs, %%eax\n\t"
	                 "movw %%ax, far_back+4\n\t"
	                 "movl $2f, far_back\n\t"
	                 "ljmp $0x23, $1f\n1:\n\t"
	                 "movl %%cs, %%eax\n\t"
	                 "movl %%eax, r0\n\t"
	                 "ljmp *far_back\n"
	                 "2:" : : : "eax", "memory");
}

static void body_lcall64(void)
{
	__asm__ volatile("lcall $0x33, $2f\n\t"
	                 "jmp 1f\n"
	                 ".code64\n"
	                 "2: movl $0x64, r1(%%rip)\n"
	                 "	lretl\n"
	                 ".code32\n"
	                 "1:" : : : "memory");
}

/* --- segment loads of host GDT selectors --------------------------------- */

static uint16_t load_sel;

static void body_load_write(void)
{
	/* Load the selector into ES, then write a word of the vpage. */
	r0 = 0;
	__asm__ volatile("movw %0, %%es\n\t"
	                 "movl $0x5AFE5AFE, %%es:0xFF000034\n\t"
	                 "movl %%es:0xFF000034, %%eax\n\t"
	                 "movl %%eax, r0\n\t"
	                 "movl %%es:0xFF000010, %%eax\n\t"
	                 "movl %%eax, r1\n\t"
	                 "movl %%es:0xFF000014, %%eax\n\t"
	                 "movl %%eax, r2"
	                 : : "r"(load_sel) : "eax", "memory");
}

/* --- int $0x80 with Linux numbers ---------------------------------------- */

static void body_int80(void)
{
	/* write(1, msg, 10) and exit_group with i386 and x86-64 numbers */
	__asm__ volatile("movl $4, %%eax; movl $1, %%ebx; movl %0, %%ecx; "
	                 "movl $10, %%edx; int $0x80\n\t"
	                 "movl $252, %%eax; movl $42, %%ebx; int $0x80\n\t"
	                 "movl $1, %%eax; movl $1, %%ebx; int $0x80\n\t"
	                 "movl $231, %%eax; movl $42, %%ebx; int $0x80\n\t"
	                 "movl $1, %%eax; movl $42, %%ebx; int $0x80"
	                 : : "r"(hostmsg) : "eax", "ebx", "ecx", "edx", "memory");
}

static void body_sysenter(void)
{
	__asm__ volatile("push %%ebp; mov %%esp, %%ebp; sysenter; pop %%ebp"
	                 : : "a"(esc64_arg), "b"(1), "c"(hostmsg), "d"(10)
	                 : "memory");
}

static void body_syscall(void)
{
	__asm__ volatile("push %%ebp; mov %%ecx, %%ebp; syscall; pop %%ebp"
	                 : : "a"(esc64_arg), "b"(1), "c"(hostmsg), "d"(10),
	                   "D"(1), "S"(hostmsg) : "memory");
}

/* --- writes into the monitor region -------------------------------------- */

static uint16_t wr_sel;
static uint32_t wr_off;

static void body_write(void)
{
	uint32_t v;

	__asm__ volatile("movw %2, %%es\n\t"
	                 "movl $0x5AFE5AFE, %%es:(%1)\n\t"
	                 "movl %%es:(%1), %0"
	                 : "=&r"(v) : "r"(wr_off), "r"(wr_sel) : "memory");
	r0 = v;
	r3 = 1;
}

/* Several monitor addresses through flat DS: vpage, lookup, stubs, TC. */
static void body_write_flat(void)
{
	static const uint32_t at[] = { VPAGE, VPAGE + TCV_H, VPAGE + 0x1000,
	                               STUBS, TCCODE, TCCODE + 0x10000,
	                               0xFFFFFFF0u };
	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		*(volatile uint32_t *)at[i] = 0xCCCCCCCC;   /* int3 x 4 */
	r0 = *(volatile uint32_t *)(VPAGE + TCV_H);
	r3 = 1;
}

/* --- conforming code and call gates -------------------------------------- */

void conform_fn(void);
void cgate_fn(void);
__asm__(".pushsection .text\n"
	"conform_fn:\n"
	"	movl $1, r1\n"
	"	cli\n"                 /* at CPL 3 (IOPL 0): #GP */
	"	movl $2, r1\n"
	"	lret\n"
	"cgate_fn:\n"
	"	movl $3, r1\n"
	"	lret\n"
	".popsection\n");

static void body_conform(void)
{
	__asm__ volatile("lcall %0, $conform_fn"
	                 : : "i"(SEL(GDT_CONFORM, 0)) : "memory");
}

static void body_cgate(void)
{
	__asm__ volatile("lcall %0, $0" : : "i"(SEL(GDT_CGATE, 3)) : "memory");
}

/* --- paging: a guest page at 0xFF000000 ----------------------------------- */

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_low[4][1024] __attribute__((aligned(4096)));
static uint32_t pt_top[1024] __attribute__((aligned(4096)));
static uint32_t top_page[1024] __attribute__((aligned(4096)));

static void paging_on(void)
{
	for (unsigned t = 0; t < 4; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_low[t][i] = ((t * 1024 + i) * PAGE_SIZE) | PG_P | PG_RW | PG_US;
		pd[t] = (uint32_t)pt_low[t] | PG_P | PG_RW | PG_US;
	}
	/* 0xFF000000..0xFF3FFFFF: all of it onto one guest page. */
	for (unsigned i = 0; i < 1024; i++)
		pt_top[i] = (uint32_t)top_page | PG_P | PG_RW | PG_US;
	pd[0xFF000000u >> 22] = (uint32_t)pt_top | PG_P | PG_RW | PG_US;
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG);
}

/* --- a supervisor page above the user pages ------------------------------ */

/* Linear 0x02000000 (guest-physical 0x02000000): supervisor only, above
 * the user pages paging_on() maps (0..16 MiB), where popek's
 * --user-isolation=segments cuts user segments (docs/shadow-paging.md). */
#define SUPER_LIN 0x02000000u
static uint32_t pt_super[1024] __attribute__((aligned(4096)));
static uint16_t super_sel;

static void body_super_read(void)
{
	uint32_t v;

	__asm__ volatile("movw %1, %%es\n\t"
	                 "movl %%es:(%2), %0" : "=r"(v)
	                 : "r"(super_sel), "r"(SUPER_LIN) : "memory");
	r0 = v;
}

static void probe_super(void)
{
	int which = cmdline_int("sel", 0);

	paging_on();
	pt_super[0] = SUPER_LIN | PG_P | PG_RW;          /* no U/S */
	pd[SUPER_LIN >> 22] = (uint32_t)pt_super | PG_P | PG_RW;
	write_cr3((uint32_t)pd);
	*(volatile uint32_t *)SUPER_LIN = 0x5EC2E7;      /* mapped at CPL 0 */
	super_sel = which ? (uint16_t)which : PM_USER_DS;
	r0 = 0;
	bool ran = run(body_super_read);
	if (!which) {
		/* The guest's own user DS: #PF, as on hardware. */
		why_trap("super-contained-user-ds-pf", !ran && trap_count == 1 &&
		         trap_vec == 14 && r0 == 0);
		return;
	}
	if (ran && r0 == 0x5EC2E7) {
		/* Through a host selector the read lands: the residue of
		 * --user-isolation=segments (and of none). */
		check_why(true, "super-residue-host-selector-reads", "read 0x%x", r0);
		return;
	}
	why_trap("super-contained-host-selector-pf", !ran && trap_count == 1 &&
	         trap_vec == 14 && r0 == 0);
}

/* --- the probes ---------------------------------------------------------- */

static void name(char *buf, const char *a, const char *b)
{
	int k = 0;

	for (const char *p = a; *p; p++)
		buf[k++] = *p;
	for (const char *p = b; *p; p++)
		buf[k++] = *p;
	buf[k] = 0;
}

static void probe_far64(void)
{
	/* far64-run: 64-bit code at an address below 4 GiB runs. */
	esc64_marker = 0;
	esc64_action = 0;
	bool ran = run(body_far64);
	if (direct)
		check_why(ran && esc64_marker == 0x6400000064ull,
		          "far64-residue-runs-64bit-code", "ran %d marker 0x%x",
		          ran, (uint32_t)esc64_marker);
	else
		why_trap("far64-contained-gp", !ran && faulted_gp() &&
		         trap_err == 0x30 && esc64_marker == 0);
}

static void probe_lcall64(void)
{
	r1 = 0;
	bool ran = run(body_lcall64);
	if (direct)
		check_why(ran && r1 == 0x64, "lcall64-residue-runs-64bit-code",
		          "ran %d r1 0x%x", ran, r1);
	else
		why_trap("lcall64-contained-gp", !ran && faulted_gp() &&
		         trap_err == 0x30 && r1 == 0);
}

static void probe_far32(void)
{
	r0 = 0;
	bool ran = run(body_far32);
	if (direct)
		/* The host's flat 32-bit code segment loads silently. */
		check_why(ran && (r0 & 0xFFFF) == 0x23, "far32-residue-host-cs",
		          "ran %d cs 0x%x", ran, r0);
	else
		why_trap("far32-contained-gp", !ran && faulted_gp() &&
		         trap_err == 0x20);
}

/* What 64-bit code reaches from inside the guest. */
static void probe_reach64(void)
{
	const char *what = cmdline_get("what");
	char n[64];

	if (what == NULL)
		what = "";
	if (!direct) {
		/* Translated: the far jump is emulated against the guest GDT,
		 * whose index 6 is null. */
		esc64_action = 0;
		esc64_marker = 0;
		bool ran = run(body_far64);
		why_trap("reach64-contained-gp", !ran && faulted_gp() &&
		         trap_err == 0x30 && esc64_marker == 0);
		return;
	}
	if (strcmp(what, "monitor-read") == 0) {
		esc64_out0 = esc64_out1 = ~0ull;
		esc64_action = 4;
		bool ran = run(body_far64);
		if (bt)
			/* The region reads (it is below 4 GiB), but holds no
			 * host pointer (translate/tc.h: the key page). */
			check_why(ran && esc64_out0 == 0,
			          "reach64-contained-no-monitor-pointers",
			          "ran %d: %u pointer-like qwords, e.g. 0x%x%08x", ran,
			          (uint32_t)esc64_out0, (uint32_t)(esc64_out1 >> 32),
			          (uint32_t)esc64_out1);
		else
			/* No monitor region: 0xFF000000 is not mapped. */
			why_trap("reach64-contained-no-monitor-region",
			         !ran && trap_count == 1);
		return;
	}
	if (strcmp(what, "monitor-write") == 0) {
		esc64_out0 = 0;
		esc64_action = 5;
		esc64_arg = (uint32_t)cmdline_int("at", 0x34);
		printf("escape: writing 0xFF000000 + 0x%x\n", esc64_arg);
		bool ran = run(body_far64);
		/* The vpage is writable (its fields are rewritten before
		 * translated code runs); the rest of the region is read-only
		 * to the guest, and a write stops it (the harness checks). */
		if (bt)
			check_why(ran && esc64_out0 == 0x5AFE5AFE,
			          "reach64-residue-writes-vpage",
			          "ran %d read back 0x%x", ran, (uint32_t)esc64_out0);
		else
			why_trap("reach64-contained-no-monitor-region",
			         !ran && trap_count == 1);
		return;
	}
	if (strcmp(what, "regs") == 0) {
		esc64_action = 10;
		for (unsigned i = 0; i < sizeof(esc64_vbuf) / 8; i++)
			esc64_vbuf[i] = 0x5A5A5A5A5A5A5A5Aull;
		bool ran = run(cmdline_int("nullfs", 0) ? body_far64_null_fs :
		               body_far64);
		/* Nothing the monitor left: R8-R15 zero, FS and GS bases the
		 * guest's (below 4 GiB), and every vector or opmask bit zero
		 * but XMM0-7, which are the guest's. */
		unsigned nregs = esc64_vkind == 2 ? 32 : esc64_vkind == 1 ? 16 : 0;
		unsigned dirty = 0, first = ~0u;
		for (unsigned r = 0; r < nregs; r++)
			for (unsigned q = r < 8 ? 2 : 0; q < (esc64_vkind == 2 ? 8u : 4u); q++)
				if (esc64_vbuf[r * 8 + q] != 0 && dirty++ == 0)
					first = r;
		if (esc64_vkind == 2)
			for (unsigned k = 0; k < 8; k++)
				if (esc64_vbuf[256 + k] != 0 && dirty++ == 0)
					first = 100 + k;
		check_why(ran && esc64_out0 == 0 && (esc64_out1 >> 32) == 0 &&
		          (esc64_out2 >> 32) == 0 && dirty == 0,
		          "reach64-contained-no-monitor-registers",
		          "ran %d r8-r15 0x%x%08x fsbase 0x%x%08x gsbase 0x%x%08x, "
		          "vector kind %u: %u dirty qwords, first in register %u",
		          ran, (uint32_t)(esc64_out0 >> 32), (uint32_t)esc64_out0,
		          (uint32_t)(esc64_out1 >> 32), (uint32_t)esc64_out1,
		          (uint32_t)(esc64_out2 >> 32), (uint32_t)esc64_out2,
		          esc64_vkind, dirty, first);
		printf("escape: vector registers checked: %s\n",
		       esc64_vkind == 2 ? "ZMM0-31, K0-7" :
		       esc64_vkind == 1 ? "YMM0-15" : "none (no AVX)");
		return;
	}
	if (strcmp(what, "guess") == 0) {
		/* Ends the VM (status 3): the fetch at the guess faults. */
		puts("escape: trying guess\n");
		esc64_action = 11;
		run(body_far64);
		why_trap("reach64-guess-returned", false);
		return;
	}
	if (strcmp(what, "vsyscall") == 0) {
		/* time(NULL) from the vsyscall page: the seccomp filter traps
		 * it (IP in the top 4 GiB) and popek stops the guest (status
		 * 3: the harness checks). */
		puts("escape: trying vsyscall\n");
		esc64_out0 = 0;
		esc64_action = 6;
		bool ran = run(body_far64);
		check_why(false, "reach64-continued-vsyscall",
		          "ran %d traps %u time %u", ran, trap_count,
		          (uint32_t)esc64_out0);
		return;
	}
	if (strcmp(what, "gadget") == 0) {
		/* Ends popek with exit_group(77) when it works: it did while
		 * the vpage held popek_callout's address; now it reads 0 there
		 * and the jump faults (status 3). */
		puts("escape: trying gadget\n");
		esc64_action = 7;
		esc64_arg = (uint32_t)cmdline_int("back", 0);
		run(body_far64);
		why_trap("reach64-gadget-returned", false);
		return;
	}
	static const struct { const char *w; uint32_t action; } ends[] = {
		{ "syscall-write", 1 }, { "syscall-exit", 2 }, { "int80-write", 3 },
	};
	for (unsigned i = 0; i < 3; i++) {
		if (strcmp(what, ends[i].w) == 0) {
			printf("escape: trying %s\n", what);
			esc64_action = ends[i].action;
			bool ran = run(body_far64);
			name(n, "reach64-continued-", what);
			check_why(false, n, "ran %d traps %u vector %u", ran,
			          trap_count, trap_vec);
			return;
		}
	}
	printf("FAIL: reach64-unknown-what %s\n", what);
}

static void probe_load(void)
{
	static const uint16_t sels[] = { 0x23, 0x2b, 0x33, 0x7b };
	char n[64];
	int which = cmdline_int("sel", 0x2b);

	for (unsigned i = 0; i < 4; i++) {
		if (sels[i] != which)
			continue;
		load_sel = sels[i];
		r0 = r1 = r2 = 0;
		bool ran = run(body_load_write);
		const char *s = which == 0x23 ? "23" : which == 0x2b ? "2b" :
		                which == 0x33 ? "33" : "7b";
		/* Hardware: pm's GDT entries 4, 5, 6 and 15 are zero, so
		 * each load #GP(selector). */
		bool hw = !ran && faulted_gp() && trap_err == (which & ~3u);
		if (!direct) {
			name(n, "load-contained-gp-", s);
			why_trap(n, hw);
		} else if (which == 0x2b && bt) {
			/* The host's flat data segment: the write reaches the
			 * vpage (rewritten before translated code runs), where
			 * no monitor pointer is any more (translate/tc.h). */
			name(n, "load-residue-writes-vpage-", s);
			check_why(ran && r0 == 0x5AFE5AFE && r1 == 0 && r2 == 0, n,
			          "ran %d r0 0x%x qword at +0x10: 0x%x%08x", ran, r0,
			          r2, r1);
		} else if (bt) {
			/* 0x23, 0x33 (code) and 0x7b (read-only): the write
			 * #GPs on the host and popek drops it; the reads reach
			 * the vpage, which holds no monitor pointer. */
			name(n, "load-residue-reads-vpage-", s);
			check_why(ran && r0 != 0x5AFE5AFE && r1 == 0 && r2 == 0, n,
			          "ran %d r0 0x%x qword at +0x10: 0x%x%08x", ran, r0,
			          r2, r1);
		} else if (which == 0x2b) {
			/* Loads; nothing at 0xFF000000 in trap mode: the write
			 * is dropped, reads are all ones (no RAM there). */
			name(n, "load-contained-no-monitor-", s);
			check_why(ran && r0 == ~0u && r1 == ~0u, n,
			          "ran %d r0 0x%x r1 0x%x", ran, r0, r1);
		} else {
			/* The write #GPs on the host; popek stops the guest
			 * (status 3: the harness checks).  Not reached. */
			name(n, "load-continued-", s);
			check_why(false, n, "ran %d traps %u vector %u", ran,
			          trap_count, trap_vec);
		}
		return;
	}
	printf("FAIL: load-unknown-sel 0x%x\n", which);
}

static void probe_int80(void)
{
	bool ran = run(body_int80);
	bool ok = ran && int80_count == 5 && int80_eax[0] == 4 &&
	          int80_eax[1] == 252 && int80_eax[2] == 1 &&
	          int80_eax[3] == 231 && int80_eax[4] == 1;
	check_why(ok, "int80-contained-guest-vector", "ran %d count %u eax %u %u %u",
	          ran, int80_count, int80_eax[0], int80_eax[1], int80_eax[2]);
}

static void probe_sysx(bool sysenter)
{
	esc64_arg = (uint32_t)cmdline_int("nr", 4);
	printf("escape: trying %s nr %u\n", sysenter ? "sysenter" : "syscall",
	       esc64_arg);
	bool ran = run(sysenter ? body_sysenter : body_syscall);
	/* Reached only when the guest gets a fault: SYSENTER where popek
	 * virtualises it (AMD hosts; SYSENTER_CS is 0 here: #GP) or hides
	 * SEP under bt (#UD).  The other cases end the VM (status 3). */
	why_trap(sysenter ? "sysenter-contained-fault" : "syscall-contained-fault",
	         !ran && trap_count == 1);
}

static void probe_write(void)
{
	const char *how = cmdline_get("how");
	char n[64];
	uint32_t marker = 0x5AFE5AFE;

	if (how == NULL)
		how = "";
	r0 = r3 = 0;
	if (strcmp(how, "flat") == 0) {
		bool ran = run(body_write_flat);
		/* Paging off: nothing (no RAM) at these physical addresses;
		 * popek must not store into its own region. */
		name(n, "write-contained-", how);
		check_why(ran ? r0 != marker : trap_count == 1, n,
		          "ran %d read 0x%x traps %u vec %u", ran, r0, trap_count,
		          trap_vec);
		return;
	}
	if (strcmp(how, "paged") == 0) {
		paging_on();
		top_page[TCV_H / 4] = 0;
		wr_sel = cpl == 3 ? PM_USER_DS : PM_KERNEL_DS;
		wr_off = VPAGE + TCV_H;
		bool ran = run(body_write);
		/* The guest's own page behind 0xFF000000: the write lands
		 * there and reads back. */
		check_why(ran && r0 == marker && top_page[TCV_H / 4] == marker,
		          "write-contained-paged", "ran %d read 0x%x page 0x%x",
		          ran, r0, top_page[TCV_H / 4]);
		return;
	}
	if (strcmp(how, "based") == 0) {
		wr_sel = SEL(GDT_BASED, 3);
		wr_off = 0x7F000034;
	} else if (strcmp(how, "wrap") == 0) {
		wr_sel = SEL(GDT_WRAP, 3);
		wr_off = 0xFF800034;
	} else if (strcmp(how, "expdown") == 0) {
		wr_sel = SEL(GDT_EXPDOWN, 3);
		wr_off = 0xFF000034;
	} else {
		printf("FAIL: write-unknown-how %s\n", how);
		return;
	}
	bool ran = run(body_write);
	if (bt && strcmp(how, "based") == 0) {
		/* A segment that wraps round 4 GiB keeps its limit (vmm/
		 * desc_host.c): the write lands in the vpage, read-write and
		 * rewritten before translated code runs (translate/tc.h). */
		check_why(ran && r0 == marker, "write-residue-based-vpage",
		          "ran %d read 0x%x traps %u vec %u", ran, r0, trap_count,
		          trap_vec);
		return;
	}
	name(n, "write-contained-", how);
	check_why(ran ? r0 != marker : trap_count == 1, n,
	          "ran %d read 0x%x traps %u vec %u", ran, r0, trap_count, trap_vec);
}

/* A wrapping 4 GiB segment reads what the wrapped linear address holds. */
static void body_wrap_read(void)
{
	uint32_t v;

	__asm__ volatile("movw %1, %%es\n\t"
	                 "movl %%es:0x80002000, %0" : "=r"(v)
	                 : "r"(SEL(GDT_BASED, 3)) : "memory");
	r0 = v;
}

static void probe_wrap_read(void)
{
	*(volatile uint32_t *)0x2000 = 0x12345678;
	r0 = 0;
	bool ran = run(body_wrap_read);
	check_why(ran && r0 == 0x12345678, "wrap-read-contained-architectural",
	          "ran %d read 0x%x traps %u vec %u", ran, r0, trap_count, trap_vec);
}

static void probe_conform(void)
{
	r1 = 0;
	bool ran = run(body_conform);
	if (cpl == 3)
		/* CPL stays 3 in a conforming segment: CLI #GP(0). */
		why_trap("conform-contained-cpl-stays", !ran && faulted_gp() &&
		         trap_err == 0 && r1 == 1);
	else
		why_trap("conform-contained-kernel-cli", ran && r1 == 2);
}

static void probe_cgate(void)
{
	/* popek stops the guest (call gates are not emulated): the harness
	 * checks status 3.  Reaching here is architectural (the gate ran). */
	puts("escape: trying cgate\n");
	r1 = 0;
	bool ran = run(body_cgate);
	why_trap("cgate-architectural", ran && r1 == 3);
}

int guest_main(void)
{
	probe = cmdline_get("probe");
	static char probe_buf[32];
	if (probe == NULL) {
		puts("FAIL: no-probe\n");
		return 1;
	}
	memcpy(probe_buf, probe, strlen(probe) + 1);
	probe = probe_buf;
	cpl = cmdline_int("cpl", 0);
	/* CPL 3 with IF on: what runs directly under both modes (bt runs
	 * CPL 3 with IF off from its cache). */
	if (cpl == 3)
		pm_user_eflags = 0x202;
	direct = cmdline_int("direct", 0) != 0;
	bt = cmdline_int("bt", 0) != 0;
	pm_init(handler);
	pm_gdt_set(GDT_BASED, pm_seg(0x80000000u, 0xFFFFF, 0xF2, 0xC));
	pm_gdt_set(GDT_WRAP, pm_seg(0xFF800000u, 0xFFFFF, 0xF2, 0xC));
	pm_gdt_set(GDT_EXPDOWN, pm_seg(0, 0xFFF, 0xF6, 0x4));
	pm_gdt_set(GDT_CONFORM, pm_seg(0, 0xFFFFF, 0x9E, 0xC));
	{
		uint32_t off = (uint32_t)cgate_fn;
		uint64_t g = (off & 0xFFFF) | (uint64_t)PM_KERNEL_CS << 16 |
		             (uint64_t)0xEC << 40 | (uint64_t)(off >> 16) << 48;
		pm_gdt_set(GDT_CGATE, g);
	}
	printf("escape: probe %s cpl %d direct %d bt %d\n", probe, cpl, direct, bt);
	if (strcmp(probe, "far64") == 0)
		probe_far64();
	else if (strcmp(probe, "lcall64") == 0)
		probe_lcall64();
	else if (strcmp(probe, "far32") == 0)
		probe_far32();
	else if (strcmp(probe, "reach64") == 0)
		probe_reach64();
	else if (strcmp(probe, "load") == 0)
		probe_load();
	else if (strcmp(probe, "int80") == 0)
		probe_int80();
	else if (strcmp(probe, "sysenter") == 0)
		probe_sysx(true);
	else if (strcmp(probe, "syscall") == 0)
		probe_sysx(false);
	else if (strcmp(probe, "write") == 0)
		probe_write();
	else if (strcmp(probe, "wrap-read") == 0)
		probe_wrap_read();
	else if (strcmp(probe, "conform") == 0)
		probe_conform();
	else if (strcmp(probe, "cgate") == 0)
		probe_cgate();
	else if (strcmp(probe, "super") == 0)
		probe_super();
	else
		printf("FAIL: unknown-probe %s\n", probe);
	return finish();
}
