/*
 * vdso.c — a Linux-style vDSO page and calls into it from CPL 3, for
 * popek's three ways of taking them (--vdso=fast|translated|gate,
 * vmm/bt.c; tests/guests/vdso.sh).
 *
 * The page starts with an ELF header's magic and holds, at 0x550, the
 * bytes of Linux's __kernel_vsyscall without SYSENTER (push ECX, EDX,
 * EBP; a 4-byte NOP; INT 0x80; the landing pad: pop EBP, EDX, ECX; RET).
 * It is mapped read-only for user code at L_VDSO and read-write for the
 * kernel only at L_KVIEW.  User code (IF set, so that popek runs it
 * directly) calls it four times with known registers and a known carry
 * flag; the INT 0x80 handler checks what the vDSO's entry left (the
 * three words it pushed, the return address to the landing pad, EFLAGS,
 * the other registers) and returns a value; user code then reports what
 * came back (INT 0x80 from its own page, EAX 0x1FF), which the handler
 * checks (the POPs and the RET undone exactly, EFLAGS kept).
 *
 * Between the calls: user code reloads GS (under --vdso=gate that drops
 * the key from GS base, so the next call takes the gate's other path),
 * reads the page's first code byte through its own mapping (`gate=1`:
 * popek's patched copy shows the far call, 0x9A; anywhere else the PUSH,
 * 0x51), and the kernel writes a byte of the frame through its view (the
 * user view must show it: the patched copy is made again).  Last, user
 * code far-calls selector 0x837 (popek's translation-cache code segment
 * in its host LDT, the gate's own): with no LDT that is #GP(0x834) on
 * any x86, and popek must say the same for a call from outside the vDSO.
 */
#include "lib.h"
#include "pm.h"

#define L_VDSO  0x40000000u        /* PDE 256 -> pt_misc[0]: user, RO */
#define L_KVIEW 0x40001000u        /* pt_misc[1]: supervisor, RW */
#define VSYS    0x550u             /* __kernel_vsyscall's offset */
#define LAND    (VSYS + 9)         /* int80_landing_pad */
#define PROBE   0x800u             /* a byte the kernel rewrites */

#define EF_CF 0x001u

typedef uint32_t page_t[1024] __attribute__((aligned(4096)));
static volatile page_t pd, pt_ident[2], pt_misc;
static uint8_t vdso_frame[4096] __attribute__((aligned(4096)));
static uint8_t ustack[4096] __attribute__((aligned(16)));
#define USTACK_TOP ((uint32_t)(ustack + sizeof(ustack)))

static const uint8_t vsyscall[13] = {
	0x51, 0x52, 0x55, 0x8D, 0x74, 0x26, 0x00, 0xCD, 0x80,
	0x5D, 0x5A, 0x59, 0xC3,
};

/* CPL 3, ESI = __kernel_vsyscall.  Call k (1..4): EAX 0x100+k, EBX
 * 0xB0+k, ECX 0xC0+k, EDX 0xD0+k, EBP 0xE0+k, EDI 0xF0+k, CF = k & 1;
 * then report (the returned EAX pushed, EAX 0x1FF). */
extern char user_main[], user_phase2[], user_lcall[], user_lcall2[];
#define CALL(k)                                                         \
	"	movl $0x10" #k ", %eax\n"                               \
	"	movl $0xB" #k ", %ebx\n"                                \
	"	movl $0xC" #k ", %ecx\n"                                \
	"	movl $0xD" #k ", %edx\n"                                \
	"	movl $0xE" #k ", %ebp\n"                                \
	"	movl $0xF" #k ", %edi\n"                                \
	"	clc\n"                                                  \
	"	.if " #k " & 1\n"                                       \
	"	stc\n"                                                  \
	"	.endif\n"                                               \
	"	call *%esi\n"                                           \
	"	pushl %eax\n"                                           \
	"	movl $0x1FF, %eax\n"                                    \
	"	int $0x80\n"                                            \
	"	addl $4, %esp\n"
__asm__(".pushsection .text\n"
	"user_main:\n"
	CALL(1)
	CALL(2)
	"	movl %gs, %eax\n"           /* reload GS: no key any more */
	"	movl %eax, %gs\n"
	CALL(3)
	"	movzbl 0x40000550, %ebx\n"  /* the user view of the entry */
	"	movl $0x1FE, %eax\n"
	"	int $0x80\n"
	"	movl $0x1FD, %eax\n"        /* end of phase 1 */
	"	int $0x80\n"
	"user_phase2:\n"
	CALL(4)
	"	movzbl 0x40000800, %ebx\n"  /* the byte the kernel rewrote */
	"	movl $0x1FE, %eax\n"
	"	int $0x80\n"
	"	cmpl $0, do_lcall\n"
	"	je 1f\n"
	"user_lcall:\n"
	"	lcall $0x837, $0xFF0FF800\n"
	"user_lcall2:\n"
	"	lcall *hlt_at\n"
	"1:	movl $0x1FD, %eax\n"
	"	int $0x80\n"
	".popsection\n");
/* lcall=1: the far call to 0x837 (elsewhere under popek that selector is
 * its own code segment, which guest user code reaches directly: a
 * residue, docs/escape.md) */
volatile uint32_t do_lcall;
/* hlt=OFFSET: a second far call, to the gate's HLT at 0xFF0FF800 +
 * OFFSET (tests/guests/vdso.sh reads it from popek's symbols), the path
 * a call with no key in GS base takes: also refused, #GP(0x834) */
volatile struct { uint32_t off; uint16_t sel; } __attribute__((packed)) hlt_at = { 0, 0x837 };

static volatile unsigned calls, reports, bad_calls, bad_reports;
static volatile uint32_t user_byte, gp_vector, gp_err, gp_eip, gp_esp;
static volatile uint32_t gp2_err = ~0u, gp2_esp;
static volatile bool flags_ok = true;

static bool call_ok(const struct pm_frame *f, unsigned k)
{
	const uint32_t *st = (const uint32_t *)f->user_esp;

	return f->eip == L_VDSO + LAND && f->ebx == 0xB0 + k &&
	       f->ecx == 0xC0 + k && f->edx == 0xD0 + k && f->ebp == 0xE0 + k &&
	       f->edi == 0xF0 + k && f->esi == L_VDSO + VSYS &&
	       f->user_esp == USTACK_TOP - 16 && st[0] == 0xE0 + k &&
	       st[1] == 0xD0 + k && st[2] == 0xC0 + k;
}

static bool report_ok(const struct pm_frame *f, unsigned k)
{
	const uint32_t *st = (const uint32_t *)f->user_esp;

	return f->ebx == 0xB0 + k && f->ecx == 0xC0 + k && f->edx == 0xD0 + k &&
	       f->ebp == 0xE0 + k && f->edi == 0xF0 + k &&
	       f->esi == L_VDSO + VSYS && f->user_esp == USTACK_TOP - 4 &&
	       st[0] == 0x5000 + k;
}

static void trap(struct pm_frame *f)
{
	if ((f->cs & 3) != 3)
		pm_unexpected(f);
	if (f->vector == 13 && f->eip == (uint32_t)user_lcall) {
		gp_vector = f->vector;
		gp_err = f->err;
		gp_eip = f->eip;
		gp_esp = f->user_esp;
		if (!hlt_at.off)
			pm_user_leave();
		f->eip = (uint32_t)user_lcall2;
		return;
	}
	if (f->vector == 13 && f->eip == (uint32_t)user_lcall2) {
		gp2_err = f->err;
		gp2_esp = f->user_esp;
		pm_user_leave();
	}
	if (f->vector != VEC_SYSCALL)
		pm_unexpected(f);
	if (f->eax >= 0x101 && f->eax <= 0x104) {
		unsigned k = f->eax - 0x100;
		if (!call_ok(f, k)) {
			bad_calls++;
			printf("  call %u: EIP 0x%x ESP 0x%x EBX 0x%x ECX 0x%x "
			       "EDX 0x%x EBP 0x%x\n", k, f->eip, f->user_esp,
			       f->ebx, f->ecx, f->edx, f->ebp);
		}
		if ((f->eflags & EF_CF) != (k & 1)) {
			flags_ok = false;
			printf("  call %u: EFLAGS 0x%x\n", k, f->eflags);
		}
		calls++;
		f->eax = 0x5000 + k;
		return;
	}
	switch (f->eax) {
	case 0x1FF: {
		unsigned k = ++reports;
		if (!report_ok(f, k)) {
			bad_reports++;
			printf("  report %u: ESP 0x%x EBX 0x%x ECX 0x%x EDX 0x%x "
			       "EBP 0x%x\n", k, f->user_esp, f->ebx, f->ecx,
			       f->edx, f->ebp);
		}
		if ((f->eflags & EF_CF) != (k & 1)) {
			flags_ok = false;
			printf("  report %u: EFLAGS 0x%x\n", k, f->eflags);
		}
		return;
	}
	case 0x1FE:
		user_byte = f->ebx;
		return;
	case 0x1FD:
		pm_user_leave();
	}
	pm_unexpected(f);
}

static void build(void)
{
	for (unsigned t = 0; t < 2; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_ident[t][i] = (t * 1024 + i) * PAGE_SIZE | PG_P | PG_RW | PG_US;
		pd[t] = (uint32_t)pt_ident[t] | PG_P | PG_RW | PG_US;
	}
	pd[L_VDSO >> 22] = (uint32_t)pt_misc | PG_P | PG_RW | PG_US;
	pt_misc[0] = (uint32_t)vdso_frame | PG_P | PG_US;
	pt_misc[1] = (uint32_t)vdso_frame | PG_P | PG_RW;
	memset(vdso_frame, 0xCC, sizeof(vdso_frame));
	memcpy(vdso_frame, "\177ELF", 4);
	memcpy(vdso_frame + VSYS, vsyscall, sizeof(vsyscall));
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

int guest_main(void)
{
	bool gate = cmdline_int("gate", 0) == 1;

	do_lcall = cmdline_int("lcall", 0) == 1;
	if (cmdline_int("hlt", 0) > 0)
		hlt_at.off = 0xFF0FF800u + (uint32_t)cmdline_int("hlt", 0);

	pm_init(trap);
	build();
	pm_user_eflags = 0x202;           /* IF set: popek runs it directly */
	pm_user_run((uint32_t)user_main, USTACK_TOP, 0, L_VDSO + VSYS);
	check_why(calls == 3 && bad_calls == 0, "vdso-entry-pushes-and-int80",
	          "%u calls, %u wrong", calls, bad_calls);
	check_why(reports == 3 && bad_reports == 0, "vdso-landing-pad-returns",
	          "%u reports, %u wrong", reports, bad_reports);
	check_why(user_byte == (gate ? 0x9Au : 0x51u), "vdso-user-view",
	          "first byte 0x%x (gate=%d)", user_byte, gate);
	check(*(volatile uint8_t *)(L_KVIEW + VSYS) == 0x51, "vdso-kernel-view-exact");

	*(volatile uint8_t *)(L_KVIEW + PROBE) = 0xAB;   /* the kernel writes it */
	pm_user_run((uint32_t)user_phase2, USTACK_TOP, 0, L_VDSO + VSYS);
	check_why(calls == 4 && reports == 4 && bad_calls == 0 && bad_reports == 0,
	          "vdso-call-after-frame-write", "%u calls, %u reports", calls,
	          reports);
	check_why(user_byte == 0xAB, "vdso-frame-write-seen-by-user",
	          "0x%x", user_byte);
	check(flags_ok, "vdso-eflags-kept");
	if (do_lcall)
		check_why(gp_vector == 13 && gp_err == 0x834 &&
		          gp_eip == (uint32_t)user_lcall && gp_esp == USTACK_TOP,
		          "lcall-0x837-is-gp", "vector %u error 0x%x EIP 0x%x "
		          "ESP 0x%x", gp_vector, gp_err, gp_eip, gp_esp);
	if (do_lcall && hlt_at.off)
		check_why(gp2_err == 0x834 && gp2_esp == USTACK_TOP,
		          "lcall-gate-hlt-is-gp", "error 0x%x ESP 0x%x", gp2_err,
		          gp2_esp);
	return finish();
}
