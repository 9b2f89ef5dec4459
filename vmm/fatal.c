/*
 * fatal.c — last words.  Runs in signal context for monitor faults, so it
 * writes with dprintf to fd 2 and ends with _exit: no atexit handlers, no
 * locks that the interrupted code may hold.  A raw terminal goes back to
 * its saved state first (serial_host_restore_tty is async-signal-safe).
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "devices/devices.h"
#include "vmm/fatal.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct vcpu *fatal_vcpu;

void fatal_set_vcpu(struct vcpu *v)
{
	fatal_vcpu = v;
}

static void backtrace_cursor(unw_cursor_t *c)
{
	char name[256];
	unw_word_t ip, off;

	dprintf(2, "popek: monitor backtrace:\n");
	for (int depth = 0; depth < 48; depth++) {
		if (unw_get_reg(c, UNW_REG_IP, &ip) < 0 || ip == 0)
			break;
		if (unw_get_proc_name(c, name, sizeof(name), &off) == 0)
			dprintf(2, "  #%-2d 0x%016lx %s+0x%lx\n", depth,
			        (unsigned long)ip, name, (unsigned long)off);
		else
			dprintf(2, "  #%-2d 0x%016lx ?\n", depth, (unsigned long)ip);
		if (unw_step(c) <= 0)
			break;
	}
}

static void guest_state(void)
{
	if (fatal_vcpu) {
		dprintf(2, "popek: guest state at the last exit:\n");
		vcpu_dump(fatal_vcpu);
	}
}

void fatal_bug(const char *fmt, ...)
{
	unw_context_t ctx;
	unw_cursor_t c;
	va_list ap;

	serial_host_restore_tty();
	dprintf(2, "popek: internal error: ");
	va_start(ap, fmt);
	vdprintf(2, fmt, ap);
	va_end(ap);
	dprintf(2, "\n");
	unw_getcontext(&ctx);
	if (unw_init_local(&c, &ctx) == 0)
		backtrace_cursor(&c);
	guest_state();
	_exit(STATUS_POPEK_ERROR);
}

void fatal_long_mode(int sig, const ucontext_t *uc)
{
	serial_host_restore_tty();
	dprintf(2, "popek: guest crash: guest code left 32-bit compatibility "
	        "mode (a far jump to the host's 64-bit code selector 0x33, "
	        "DESIGN.md section 11) and was stopped by %s at RIP 0x%llx: "
	        "popek cannot run 64-bit code\n", strsignal(sig),
	        (unsigned long long)uc->uc_mcontext.gregs[REG_RIP]);
	_exit(STATUS_GUEST_CRASH);
}

void fatal_signal(int sig, const void *info, ucontext_t *uc)
{
	static volatile int entered;
	const siginfo_t *si = info;
	unw_cursor_t c;

	/* Signals are not deferred (SA_NODEFER): a fault while reporting one
	 * must not recurse. */
	if (entered++)
		_exit(STATUS_POPEK_ERROR);
	serial_host_restore_tty();

	dprintf(2, "popek: internal error: %s in the monitor at rip 0x%llx "
	        "(address 0x%lx)\n", strsignal(sig),
	        (unsigned long long)uc->uc_mcontext.gregs[REG_RIP],
	        (unsigned long)si->si_addr);
	if (unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME) == 0)
		backtrace_cursor(&c);
	guest_state();
	_exit(STATUS_POPEK_ERROR);
}
