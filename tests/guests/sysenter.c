/*
 * sysenter.c — SYSENTER and SYSEXIT as a 32-bit kernel uses them (SDM
 * vol. 2B "SYSENTER", "SYSEXIT"; Linux's vDSO and entry_SYSENTER_32).
 *
 * The kernel sets IA32_SYSENTER_CS/ESP/EIP, drops to CPL 3 and the user
 * code makes a SYSENTER with arguments in the GPRs.  The kernel entry
 * reports its arrival at once with INT 80h from CPL 0 (the frame gives
 * CS, EIP, EFLAGS, ESP and every GPR as SYSENTER left them), then returns
 * with SYSEXIT, as Linux does after `sti` when the user ran with IF set
 * (the STI shadow covers the SYSEXIT); the user code reports its arrival
 * with INT 80h from CPL 3 (CS, SS, ESP, EIP, EFLAGS).  It does so twice:
 * user IF set and clear (under popek: SYSENTER met by direct execution,
 * and by translated user code).
 *
 * SYSENTER_CS is 0x51: its RPL bits are dropped by SYSENTER (CS 0x50,
 * SS 0x58) and kept by SYSEXIT (CS (0x51 + 16) | 3 = 0x63, SS 0x6b).
 * The user descriptors at 0x60 and 0x68 are left not present: SYSEXIT
 * loads fixed flat segments and never reads the GDT.  The kernel ones at
 * 0x50 and 0x58 are flat and present, for the IRETs back to the entry.
 *
 * Then the faults: SYSENTER with SYSENTER_CS 0 (or 3) is #GP(0) at CPL 0
 * and 3; SYSEXIT at CPL 3 and with SYSENTER_CS 0 is #GP(0).
 *
 * `off=1` (popek --sysenter=off): the CPU has no SEP, both instructions
 * are #UD everywhere.  `exact=1`: MOV from SS shows the guest's own
 * selector (hardware, QEMU, popek's binary translation; pure trap mode
 * shows popek's host selector, same index — compared by index there).
 * CPUID.1:EDX.SEP is checked only with `cpuid=1` (under --mode=trap guest
 * CPUID is the host's).  Under QEMU (scripts/qemu-guest --append
 * "exact=1 cpuid=1" tests/guests/sysenter.elf) every check passes but the
 * last, sysenter-cs-rpl-only-gp: TCG tests the whole SYSENTER_CS against
 * 0, not bits 15:2 as the SDM says.
 */
#include "lib.h"
#include "pm.h"

#define MSR_SYSENTER_CS  0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

#define SE_MSR   0x51u
#define SE_CS    0x50u
#define SE_SS    0x58u
#define SX_CS    0x63u
#define SX_SS    0x6bu
#define CPUID_SEP (1u << 11)

#define EF_CF 0x001u
#define EF_IF 0x200u
#define EF_RF 0x10000u
#define EF_VM 0x20000u

#define VEC_UD 6
#define VEC_GP 13

/* The kernel stack SYSENTER switches to, and the user stack. */
static uint8_t se_stack[4096] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
#define SE_STACK_TOP ((uint32_t)(se_stack + sizeof(se_stack)))
#define USER_STACK_TOP ((uint32_t)(user_stack + sizeof(user_stack)))

extern char se_entry[], se_reported[], user_sysenter[], user_back[];
extern char user_sysexit[], user_sysenter_only[], k_sysenter[], k_sysexit[];
extern uint16_t se_ss;

__asm__(
	".pushsection .text\n"
	/* SYSENTER_EIP.  ESI nonzero: return with IF set, as Linux does. */
	".globl se_entry, se_reported\n"
	"se_entry:\n"
	"	movw %ss, se_ss\n"
	"	int $0x80\n"
	"se_reported:\n"
	"	testl %esi, %esi\n"
	"	jz 1f\n"
	"	sti\n"
	"1:	sysexit\n"
	"	ud2\n"
	/* At CPL 3, EAX and ESI from pm_user_run: SYSENTER with the
	 * arguments in EBX..EBP, the return ESP in ECX and EIP in EDX. */
	".globl user_sysenter, user_back\n"
	"user_sysenter:\n"
	"	movl $0x0b0b0b0b, %ebx\n"
	"	leal -16(%esp), %ecx\n"
	"	movl $user_back, %edx\n"
	"	movl $0x0d0d0d0d, %edi\n"
	"	movl $0x0e0e0e0e, %ebp\n"
	"	stc\n"
	"	sysenter\n"
	"	ud2\n"
	"user_back:\n"
	"	int $0x80\n"
	"	ud2\n"
	/* At CPL 3: SYSEXIT (#GP(0)), or SYSENTER on its own. */
	".globl user_sysexit, user_sysenter_only\n"
	"user_sysexit:\n"
	"	sysexit\n"
	"	ud2\n"
	"user_sysenter_only:\n"
	"	sysenter\n"
	"	ud2\n"
	/* At CPL 0, each followed by where a fault resumes. */
	".globl k_sysenter, k_sysexit\n"
	"k_sysenter:\n"
	"	sysenter\n"
	"	ret\n"
	"k_sysexit:\n"
	"	sysexit\n"
	"	ret\n"
	".popsection\n"
	".pushsection .bss\n"
	".globl se_ss\n"
	"se_ss: .skip 2\n"
	".popsection\n");

static void wrmsr(uint32_t index, uint32_t lo)
{
	__asm__ volatile("wrmsr" : : "c"(index), "a"(lo), "d"(0) : "memory");
}

/* What the handler saw: the INT 80h frames from the entry (CPL 0) and
 * from the user's return (CPL 3), and one expected fault. */
static struct pm_frame arrival, back, fault;
static unsigned arrivals, backs, faults;
static uint32_t arrival_esp;            /* ESP before the entry's INT 80h */
static int expect_vec = -1;
static uint32_t expect_eip;

static void handler(struct pm_frame *f)
{
	bool user = (f->cs & 3) == 3;

	if (f->vector == VEC_SYSCALL && !user) {
		arrival = *f;
		arrival_esp = (uint32_t)&f->user_esp;
		arrivals++;
		return;
	}
	if (f->vector == VEC_SYSCALL) {
		back = *f;
		backs++;
		pm_user_leave();
	}
	if ((int)f->vector == expect_vec && f->eip == expect_eip) {
		fault = *f;
		faults++;
		expect_vec = -1;
		if (user)
			pm_user_leave();
		f->eip += 2;              /* past the 2-byte instruction */
		return;
	}
	pm_unexpected(f);
}

static bool exact;

static bool sel_eq(uint32_t got, uint32_t want)
{
	got &= 0xFFFF;
	return exact ? got == want : (got >> 3) == (want >> 3);
}

/* Check names for either round trip. */
#define TAG(pre, what) (user_if ? pre "-if1-" what : pre "-if0-" what)

/* One round trip from CPL 3 with the user's IF as given. */
static void round_trip(bool user_if)
{
	uint32_t ret_esp = USER_STACK_TOP - 16;

	wrmsr(MSR_SYSENTER_CS, SE_MSR);
	wrmsr(MSR_SYSENTER_ESP, SE_STACK_TOP);
	wrmsr(MSR_SYSENTER_EIP, (uint32_t)se_entry);
	arrivals = backs = 0;
	arrival_esp = 0;
	se_ss = 0;
	pm_user_eflags = 0x2 | (user_if ? EF_IF : 0);
	pm_user_run((uint32_t)user_sysenter, USER_STACK_TOP, 0xa0a0a0a0u,
	            user_if);

	check_why(arrivals == 1 && backs == 1, TAG("sysenter", "arrives-once"),
	          "arrivals %u returns %u", arrivals, backs);
	check_why((arrival.cs & 0xFFFF) == SE_CS &&
	          arrival.eip == (uint32_t)se_reported, TAG("sysenter", "cs-eip"),
	          "cs %x eip %x", arrival.cs & 0xFFFF, arrival.eip);
	check_why(sel_eq(se_ss, SE_SS), TAG("sysenter", "ss"), "ss %x", se_ss);
	check_why(arrival_esp == SE_STACK_TOP, TAG("sysenter", "esp"),
	          "esp %x, want %x", arrival_esp, SE_STACK_TOP);
	check_why((arrival.eflags & (EF_IF | EF_VM | EF_RF)) == 0 &&
	          (arrival.eflags & EF_CF), TAG("sysenter", "eflags"),
	          "eflags %x", arrival.eflags);
	check_why(arrival.eax == 0xa0a0a0a0u && arrival.ebx == 0x0b0b0b0bu &&
	          arrival.ecx == ret_esp && arrival.edx == (uint32_t)user_back &&
	          arrival.esi == (uint32_t)user_if &&
	          arrival.edi == 0x0d0d0d0du && arrival.ebp == 0x0e0e0e0eu,
	          TAG("sysenter", "gprs-kept"),
	          "eax %x ebx %x ecx %x edx %x esi %x edi %x ebp %x",
	          arrival.eax, arrival.ebx, arrival.ecx, arrival.edx,
	          arrival.esi, arrival.edi, arrival.ebp);
	check_why((back.cs & 0xFFFF) == SX_CS && (back.user_ss & 0xFFFF) == SX_SS,
	          TAG("sysexit", "cs-ss"), "cs %x ss %x", back.cs & 0xFFFF,
	          back.user_ss & 0xFFFF);
	check_why(back.eip == (uint32_t)user_back + 2 && back.user_esp == ret_esp,
	          TAG("sysexit", "eip-esp"), "eip %x esp %x", back.eip,
	          back.user_esp);
	check_why((back.eflags & EF_IF) == (user_if ? EF_IF : 0),
	          TAG("sysexit", "eflags"), "eflags %x", back.eflags);
}

/* A fault at `insn` (CPL 0: call it; CPL 3: run it from there). */
static bool faults_at(char *insn, bool user, int vec)
{
	faults = 0;
	expect_vec = vec;
	expect_eip = (uint32_t)insn;
	if (user)
		pm_user_run((uint32_t)insn, USER_STACK_TOP, 0, 0);
	else
		((void (*)(void))insn)();
	expect_vec = -1;
	return faults == 1 && fault.err == 0 &&
	       (fault.cs & 3) == (user ? 3u : 0u);
}

/* Every fault the two instructions make, all #GP(0) (all #UD with
 * `ud`: no SEP); user code runs with IF set (under popek: directly). */
#define FAULT(what) (ud ? what "-ud" : what "-gp")

static void faults_all(bool ud)
{
	int vec = ud ? VEC_UD : VEC_GP;

	pm_user_eflags = 0x2 | EF_IF;
	wrmsr(MSR_SYSENTER_CS, 0);
	check(faults_at(k_sysenter, false, vec), FAULT("sysenter-cpl0-cs0"));
	check(faults_at(user_sysenter_only, true, vec),
	      FAULT("sysenter-cpl3-cs0"));
	check(faults_at(k_sysexit, false, vec), FAULT("sysexit-cpl0-cs0"));
	wrmsr(MSR_SYSENTER_CS, SE_MSR);
	check(faults_at(user_sysexit, true, vec), FAULT("sysexit-cpl3"));
	/* Last: QEMU's TCG compares the whole MSR with 0 and enters with a
	 * null CS here (the run then ends on an unexpected trap). */
	wrmsr(MSR_SYSENTER_CS, 3);
	check(faults_at(k_sysenter, false, vec), FAULT("sysenter-cs-rpl-only"));
	pm_user_eflags = 0x2;
}

int guest_main(void)
{
	bool off = cmdline_int("off", 0) != 0;

	exact = cmdline_int("exact", 0) != 0;
	pm_init(handler);
	pm_gdt_set(SE_CS >> 3, pm_seg(0, 0xFFFFF, 0x9A, 0xC));
	pm_gdt_set(SE_SS >> 3, pm_seg(0, 0xFFFFF, 0x92, 0xC));
	if (cmdline_int("cpuid", 0))
		check_why(!(cpuid_edx(1) & CPUID_SEP) == off,
		          off ? "cpuid-hides-sep" : "cpuid-shows-sep",
		          "edx %x", cpuid_edx(1));
	if (off) {
		faults_all(true);
		return finish();
	}
	round_trip(true);
	round_trip(false);
	faults_all(false);
	return finish();
}
