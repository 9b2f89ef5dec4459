/*
 * signal.c — the C half of a guest exit.
 *
 * switch_signal() runs on the vCPU thread's alternate stack, after the asm
 * entry has repaired FS.  It turns the host's view of the fault (signal,
 * trap number, error code, ucontext registers) into the guest's view
 * (struct vcpu) and classifies the exit; the asm entry then jumps to the
 * monitor stack without sigreturn (see switch.S for why that is sound).
 *
 * A signal that interrupted the monitor itself is a popek bug: report it.
 */
#include "vmm/fatal.h"
#include "vmm/vcpu.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

#define AUDIT_ARCH_I386_ 0x40000003u

int switch_signal(int sig, siginfo_t *si, ucontext_t *uc,
                  struct switch_area *a);
int switch_signal_outside(int sig, siginfo_t *si, ucontext_t *uc,
                          struct switch_area *a);


static void save_guest(struct vcpu *v, const ucontext_t *uc,
                       const struct switch_area *a)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	struct emu_cpu *c = &v->cpu;

	c->gpr[R_EAX] = (uint32_t)g[REG_RAX];
	c->gpr[R_ECX] = (uint32_t)g[REG_RCX];
	c->gpr[R_EDX] = (uint32_t)g[REG_RDX];
	c->gpr[R_EBX] = (uint32_t)g[REG_RBX];
	c->gpr[R_ESP] = (uint32_t)g[REG_RSP];
	c->gpr[R_EBP] = (uint32_t)g[REG_RBP];
	c->gpr[R_ESI] = (uint32_t)g[REG_RSI];
	c->gpr[R_EDI] = (uint32_t)g[REG_RDI];
	c->eip = (uint32_t)g[REG_RIP];
	c->eflags = (c->eflags & ~EFLAGS_LIVE) |
	            ((uint32_t)g[REG_EFL] & EFLAGS_LIVE);
	v->host_sel[SEG_CS] = (uint16_t)g[REG_CSGSFS];
	v->host_sel[SEG_SS] = (uint16_t)((uint64_t)g[REG_CSGSFS] >> 48);
	v->host_sel[SEG_DS] = a->exit_sel[0];
	v->host_sel[SEG_ES] = a->exit_sel[1];
	v->host_sel[SEG_FS] = a->exit_sel[2];
	v->host_sel[SEG_GS] = a->exit_sel[3];
}

static enum exit_reason classify_segv(struct exit_info *e)
{
	if (e->vector == VEC_GP && e->error == 0)
		return EXIT_PRIV;
	if (e->vector == VEC_GP && (e->error & 3) == 2) {
		/* INT n through a host gate of DPL 0: error = n << 3 | IDT */
		e->vector = (int)(e->error >> 3);
		e->error = 0;
		return EXIT_SOFTINT;
	}
	if (e->vector == VEC_PF)
		return EXIT_PAGE_FAULT;
	return EXIT_EXCEPTION;
}

static void classify(struct vcpu *v, int sig, const siginfo_t *si,
                     const ucontext_t *uc)
{
	const greg_t *g = uc->uc_mcontext.gregs;
	struct exit_info *e = &v->exit;

	e->signo = sig;
	e->si_code = si->si_code;
	e->vector = (int)g[REG_TRAPNO];
	e->error = (uint32_t)g[REG_ERR];
	e->cr2 = (uint64_t)g[REG_CR2];
	e->syscall_nr = -1;
	if (sig == SIGSYS) {
		e->syscall_nr = si->si_syscall;
		/* The host's SYSCALL/SYSENTER paths replace CS with its own
		 * 32-bit selector and EIP with a landing pad: the guest's
		 * return address is gone.  int $0x80 keeps both. */
		if ((v->host_sel[SEG_CS] & 4) == 0) {
			e->reason = EXIT_SYSCALL_LOST;
			return;
		}
		/* The kernel put -ENOSYS in EAX; INT n changes no GPR. */
		v->cpu.gpr[R_EAX] = (uint32_t)si->si_syscall;
		e->reason = EXIT_SYSCALL;
		e->vector = 0x80;
		return;
	}
	if (sig == SIGSEGV)
		e->reason = classify_segv(e);
	else
		e->reason = EXIT_EXCEPTION;
}

/* The kernel saved the guest's x87/SSE state in the signal frame (and
 * gave the handler a clean one, which the monitor keeps): take it for the
 * next entry. */
static void take_guest_fpu(const ucontext_t *uc, struct switch_area *a)
{
	memcpy(a->fpu, uc->uc_mcontext.fpregs, sizeof(a->fpu));
}

/* A kick that interrupted the monitor: leave a note for popek_enter.  The
 * kick goes only to vCPU threads, whose handler runs on the aligned
 * alternate stack that holds the area. */
static void kick_note(int sig, siginfo_t *si, ucontext_t *uc)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	struct switch_area *a = (struct switch_area *)(sp & ~(uintptr_t)
	                                               (SWITCH_ALT_SIZE - 1));

	if (a->magic != SWITCH_MAGIC)
		fatal_signal(sig, si, uc);
	a->kicked = 1;
}

/* A signal in 64-bit code (the host's selector) outside popek_enter: the
 * monitor, a callout stub or popek_callout, or guest code that far-jumped
 * to the host's 64-bit selector (DESIGN.md section 11).  Guest code is
 * anything below 4 GiB, and anything above it while the guest runs
 * (in_guest) other than popek_callout: a jump to a guessed monitor
 * address (docs/escape.md).  The guest is stopped; for the monitor it is
 * a popek bug; a kick is only noted.  `a`: the area if the signal stack
 * is the vCPU's, else NULL. */
int switch_signal_outside(int sig, siginfo_t *si, ucontext_t *uc,
                          struct switch_area *a)
{
	uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	bool ours = a && a->magic == SWITCH_MAGIC;

	if (sig != SIGKICK && (uint16_t)uc->uc_mcontext.gregs[REG_CSGSFS] ==
	    HOST_CS64 && (rip < 0x100000000ull ||
	                  (ours && a->in_guest &&
	                   (rip < (uintptr_t)popek_callout ||
	                    rip >= (uintptr_t)popek_callout_end))))
		fatal_long_mode(sig, uc);        /* guest code in 64-bit mode */
	if (sig != SIGKICK)
		fatal_signal(sig, si, uc);
	if (ours)
		a->kicked = 1;
	else
		kick_note(sig, si, uc);
	return 0;
}

int switch_signal(int sig, siginfo_t *si, ucontext_t *uc,
                  struct switch_area *a)
{
	if (!a || a->magic != SWITCH_MAGIC || !a->in_guest)
		return switch_signal_outside(sig, si, uc, a);

	struct vcpu *v = a->vcpu;
	uint16_t cs = (uint16_t)uc->uc_mcontext.gregs[REG_CSGSFS];

	if (cs == HOST_CS64) {
		/* Inside popek_enter: v->cpu still holds the state being
		 * entered, and the area the guest FPU image. */
		v->exit.reason = sig == SIGKICK ? EXIT_KICK : EXIT_ENTRY_FAULT;
		v->exit.signo = sig;
		v->exit.vector = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
		v->exit.error = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];
		a->in_guest = 0;
		return 1;
	}
	save_guest(v, uc, a);
	if (sig == SIGKICK) {
		v->exit.reason = EXIT_KICK;
		v->exit.signo = sig;
	} else {
		classify(v, sig, si, uc);
		if (v->exit.reason == EXIT_SYSCALL_LOST)
			v->cpu.eip = a->eip; /* best we know: where it was entered */
	}
	a->in_guest = 0;
	take_guest_fpu(uc, a);
	return 1;
}

int signals_install(char *err, size_t errlen)
{
	static const int sigs[] = { SIGSEGV, SIGTRAP, SIGILL, SIGFPE, SIGBUS,
	                            SIGSYS, SIGKICK };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))popek_sig_entry;
	/* SA_NODEFER and an empty sa_mask: the handler runs with the mask the
	 * guest ran with, so it can leave without sigreturn (switch.S). */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0) {
			snprintf(err, errlen, "sigaction(%s) failed", strsignal(sigs[i]));
			return -1;
		}
	}
	/* Only the vCPU thread takes kicks (it unblocks them): threads created
	 * from here on inherit the block, so a stray SIGUSR1 from outside
	 * waits instead of landing on a thread with no switch area. */
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, SIGKICK);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	return 0;
}
