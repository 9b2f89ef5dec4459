/*
 * switch.h — the world switch between the 64-bit monitor and 32-bit guest
 * code running directly in compatibility mode at host ring 3.
 *
 * Entry: popek_enter(area) saves the monitor's callee-saved registers and
 * stack pointer in the area, restores the guest x87/SSE state, loads the
 * guest's (host LDT) selectors and GPRs and iretq's into the guest.
 *
 * Exit: any fault of guest code arrives as a host signal on the vCPU
 * thread's alternate stack.  popek_sig_entry (asm) recovers the monitor's
 * FS base before any C runs, records the guest's data selectors, and calls
 * switch_signal() (C), which copies the guest state (and the x87/SSE image
 * the kernel saved in the frame) out of the ucontext; then it jumps to
 * popek_resume on the monitor stack, without sigreturn (docs/
 * world-switch.md says why that is sound), which returns from
 * popek_enter() to the run loop: one kernel crossing per exit.
 *
 * The switch area sits at the base of the vCPU thread's alternate signal
 * stack, which is SWITCH_ALT_SIZE-aligned, so the signal entry finds it by
 * masking RSP without touching thread-local storage (FS may be the guest's).
 * Layout is shared with switch.S: offsets are asserted in vcpu.c.
 *
 * Callout exit (binary translation, translate/tc.h): translated guest
 * code far-jumps to the host's 64-bit code segment and through its stub
 * to popek_callout, which stores the guest registers and real EFLAGS in
 * the area, saves the guest x87/SSE state (fxsave), repairs FS, and
 * jumps to popek_resume: popek_enter returns with area->callout set.
 * Translated code never loads a segment register, so the host selectors
 * are the ones it was entered with.
 *
 * What guest code could read of the monitor: guest code can always
 * far-jump to the host's 64-bit selector (DESIGN.md section 11) and read
 * every register and any address it knows.  So popek_enter leaves no
 * monitor value in a register: R8-R15 zeroed, the upper halves of the
 * GPRs cleared by 32-bit loads, the AVX/AVX-512 state (which fxrstor does
 * not cover, and glibc's string functions leave behind) reset to its
 * initial state, and a null FS or GS loaded over a zero base (an AMD CPU
 * keeps the old base on a null load: FS's would be the monitor's TLS).
 * The one secret, where popek_callout finds the area (translate/tc.c:
 * the key page), lives in GS base bits 32..46 while translated code runs
 * — compatibility mode ignores them — and nowhere a guest can read.
 */
#ifndef POPEK_VMM_SWITCH_H
#define POPEK_VMM_SWITCH_H

#define SWITCH_ALT_SIZE   0x40000   /* 256 KiB, also the alignment */
#define SWITCH_MAGIC      0x6b65706f70776f72 /* "rowpopek" */

/* struct switch_area offsets (bytes) */
#define SA_MAGIC          0
#define SA_FSBASE         8    /* monitor FS base for this thread */
#define SA_HOST_RSP       16   /* monitor RSP saved by popek_enter */
#define SA_IN_GUEST       24   /* 1 between entry and the exit signal */
#define SA_VCPU           32
#define SA_WRFSBASE       40   /* 1: use wrfsbase, 0: arch_prctl */
#define SA_KICKED         44   /* a kick arrived while in the monitor */
#define SA_EXIT_SEL       48   /* u16 ds, es, fs, gs at signal entry;
                                * popek_callout: ds, es, fs, gs, ss */
#define SA_GPR            64   /* u32 eax ecx edx ebx esp ebp esi edi */
#define SA_EIP            96
#define SA_EFLAGS         100  /* real EFLAGS to enter with */
#define SA_SEL            104  /* u16 es cs ss ds fs gs (host selectors) */
#define SA_XFLAGS         116  /* callout exit: the guest's real EFLAGS */
#define SA_CALLOUT        120  /* 1: the exit was a callout (no signal) */
#define SA_SITE           124  /* callout exit: its site number */
#define SA_FPU            128  /* 512-byte fxsave image, 16-aligned */
#define SA_GSBASE         640  /* non-zero: GS base to enter with (TC) */
#define SA_XMASK          648  /* XSAVE components beyond x87/SSE that
                                * popek_enter resets to their initial
                                * state (AVX, AVX-512: the monitor's) */
#define SA_GSKEY          656  /* non-zero: OR'd into GS base bits 32..63
                                * at a direct entry (--vdso=gate) */
#define SA_SIZE           672  /* (16-aligned) */

/* Linux x86-64 ucontext_t offsets used by the asm entry. */
#define UC_RIP            168  /* uc_mcontext.gregs[REG_RIP] */
#define UC_CSGSFS         184  /* uc_mcontext.gregs[REG_CSGSFS] */

/* The signal other threads send a running vCPU to make it exit (an
 * interrupt is pending). */
#define SIGKICK           10   /* SIGUSR1 */

#define HOST_CS64         0x33
#define HOST_DS64         0x2b

#ifndef __ASSEMBLER__
#include <stdint.h>

struct vcpu;

struct switch_area {
	uint64_t magic;
	uint64_t fsbase;
	uint64_t host_rsp;
	uint64_t in_guest;
	struct vcpu *vcpu;
	uint32_t use_wrfsbase;
	volatile uint32_t kicked;
	uint16_t exit_sel[5];   /* ds es fs gs (ss: popek_callout only) */
	uint8_t pad0[6];
	uint32_t gpr[8];
	uint32_t eip;
	uint32_t eflags;
	uint16_t sel[6];        /* indexed by enum seg */
	uint32_t xflags;
	uint32_t callout;
	uint32_t site;
	uint8_t fpu[512] __attribute__((aligned(16)));
	uint64_t gsbase;        /* translated code: the key in bits 32..46 */
	uint64_t xmask;
	uint64_t gskey;         /* --vdso=gate: the key page, direct entries */
};

void popek_enter(struct switch_area *area);
extern char popek_enter_begin[], popek_enter_end[];
void popek_resume(void);
/* Where translated code's callout stubs jump (64-bit, from the TC):
 * saves the guest registers in the area and returns from popek_enter
 * with area->callout = 1 — no host kernel on the way. */
void popek_callout(void);
extern char popek_callout_end[];
/* The 64-bit code every stub jumps to on its way to popek_callout, as a
 * template the translation cache copies below 4 GiB (translate/tc.c):
 * with FSGSBASE the key page comes from GS base bits 32..46, without it
 * from the fixed address TC_KEYPAGE. */
extern char popek_tramp_key[], popek_tramp_key_end[];
extern char popek_tramp_fixed[], popek_tramp_fixed_end[];
/* The vDSO gate (--vdso=gate, vmm/bt.c), a template copied to TC_GATE:
 * 32-bit code the patched __kernel_vsyscall far-calls, which goes on in
 * 64-bit mode to popek_callout (site TC_SITE_GATE) through the key page
 * whose address popek_enter put in GS base bits 32..63 (compatibility
 * mode uses bits 0..31: the guest's base); with no key there (guest
 * code loaded GS since), a HLT at popek_gate_nokey instead.  GS, not FS:
 * the signal entry rewrites FS base, and a kick may land in the gate. */
extern char popek_gate[], popek_gate_nokey[], popek_gate_end[];
void popek_sig_entry(int sig, void *info, void *uc);
#endif

#endif
