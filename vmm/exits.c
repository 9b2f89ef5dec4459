/*
 * exits.c — what the monitor does with each exit reason: one table of
 * handlers indexed by enum exit_reason (exits.def).  No device is named
 * here: port I/O goes to the bus, whoever sits on it.
 *
 * Guest exceptions and software interrupts go to the guest through its own
 * IDT (system_deliver); a guest that has none triple-faults, as hardware
 * would.
 */
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/system.h"
#include "vmm/intr.h"
#include "vmm/bt.h"
#include "devices/bus.h"
#include "scan/classify.h"
#include "translate/tc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const vector_name[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD exception",
};

static const char *vec_name(int v)
{
	return v >= 0 && v < 32 && vector_name[v] ? vector_name[v] : "vector";
}

/* --- port I/O for the emulator: the bus, whoever sits on it --- */

static void unclaimed(struct vcpu *v, const char *dir, uint16_t port,
                      unsigned size)
{
	/* the bus counts them; --stats prints its counts */
	if (v->vm->cfg.strict_io && !v->stop)
		vcpu_crash(v, "unclaimed port %s of port 0x%x (%u byte%s) under "
		           "--strict-io", dir, port, size, size > 1 ? "s" : "");
}

static uint32_t port_in(void *ctx, uint16_t port, unsigned size)
{
	struct vcpu *v = ctx;
	uint64_t val;

	v->vm->counters[CTR_port_reads]++;
	if (bus_read(v->vm->io, port, size, &val) == BUS_UNCLAIMED)
		unclaimed(v, "read", port, size);
	return (uint32_t)val;
}

static void port_out(void *ctx, uint16_t port, unsigned size, uint32_t val)
{
	struct vcpu *v = ctx;

	v->vm->counters[CTR_port_writes]++;
	if (bus_write(v->vm->io, port, size, val) == BUS_UNCLAIMED)
		unclaimed(v, "write", port, size);
}

static const struct emu_ops guest_ops = {
	.read = guest_read, .write = guest_write, .in = port_in, .out = port_out,
	.raise = system_raise, .sys = &guest_sys,
};

/* For an access the host could not make (MMIO, nothing): data and ALU
 * instructions too. */
static const struct emu_ops mmio_ops = {
	.read = guest_read, .write = guest_write, .in = port_in, .out = port_out,
	.raise = system_raise, .sys = &guest_sys, .data = true,
};

/* HLT: wait for an interrupt.  A guest that halts with interrupts off, or
 * with no device that could ever interrupt it, can never continue: say so
 * instead of hanging. */
static void do_hlt(struct vcpu *v)
{
	v->vm->counters[CTR_hlt]++;
	if (!(v->cpu.eflags & EFLAGS_IF))
		vcpu_crash(v, "guest halted with interrupts disabled (cli; hlt): "
		           "nothing can wake it");
	else if (!intr_wait(v))
		vcpu_crash(v, "guest halted (hlt) and no device can interrupt it");
}

/* One line: what went wrong, the instruction's bytes and text, EIP and
 * CPU mode. */
static void report_insn(struct vcpu *v, const char *what,
                        const struct insn *in)
{
	char hex[3 * 15 + 1] = "", text[96];
	size_t at = 0;

	for (unsigned i = 0; i < in->len && i < 15; i++)
		at += (size_t)snprintf(hex + at, sizeof(hex) - at, "%s%02x",
		                       i ? " " : "", in->bytes[i]);
	scan_format(in->bytes, in->len, v->cpu.code32, v->cpu.eip, text,
	            sizeof(text));
	vcpu_crash(v, "%s [%s] (%s) at EIP 0x%08x, %s mode, CPL %d", what, hex,
	           text, v->cpu.eip,
	           v->cpu.code32 ? "32-bit protected" : "16-bit protected", v->sys.cpl);
}

/* The host refused a segment-related access (#GP/#NP/#SS/#TS with a
 * selector): for an instruction the emulator does not know, the guest's
 * own segment state faults the same way — reflect the host's fault. */
static void reflect(struct vcpu *v)
{
	system_deliver(v, v->exit.vector, INT_EXCEPTION,
	               vector_has_error(v->exit.vector), v->exit.error);
}

/* Run the emulator on the instruction at EIP.  `reflect_unknown`: what to
 * do with an instruction it does not know — reflect the host fault (a
 * guest fault in ordinary guest code) or report it (a privileged
 * instruction popek cannot emulate). */
/* What to do with an instruction the emulator does not know. */
enum unknown { UNKNOWN_REPORT, UNKNOWN_REFLECT, UNKNOWN_RETURN };

static enum emu_status emulate_with(struct vcpu *v, const struct emu_ops *ops,
                                    enum unknown unknown)
{
	struct insn in;
	enum emu_status st;

	v->fault.vector = -1;
	st = emu_step(&v->cpu, ops, v, &in);
	v->vm->counters[CTR_emulated]++;
	switch (st) {
	case EMU_OK:
		break;
	case EMU_HLT:
		do_hlt(v);
		break;
	case EMU_FAULT:
		if (!v->stop && v->fault.vector >= 0)
			system_deliver(v, v->fault.vector, INT_EXCEPTION,
			               v->fault.has_error, v->fault.error);
		break;
	case EMU_UNSUPPORTED:
		if (unknown == UNKNOWN_REFLECT)
			reflect(v);
		else if (unknown == UNKNOWN_REPORT)
			report_insn(v, "unemulated instruction", &in);
		break;
	case EMU_BAD:
		report_insn(v, "undecodable instruction", &in);
		break;
	}
	return st;
}

static void emulate(struct vcpu *v, bool reflect_unknown)
{
	emulate_with(v, &guest_ops,
	             reflect_unknown ? UNKNOWN_REFLECT : UNKNOWN_REPORT);
}

/* Under --mode=bt guest segments are cut below the monitor region, and
 * with --user-isolation=segments guest user segments below the kernel's
 * half (vmm/segshadow.c), so an access the guest's own limit allows can
 * fault on the host beyond the cut.  Such data accesses are emulated
 * against the guest's mapping. */
static bool emulate_cut_segment(struct vcpu *v)
{
	bool user_cut = v->user_top && v->sys.cpl == 3;

	if (v->vm->cfg.mode != MODE_BT && !user_cut)
		return false;
	/* A data access of CPL 3 code: the guest's user rights apply. */
	v->user_access = v->sys.cpl == 3;
	enum emu_status r = emulate_with(v, &mmio_ops, UNKNOWN_RETURN);
	v->user_access = false;
	if (r == EMU_UNSUPPORTED)
		return false;
	if (user_cut)           /* a user PDE above the cut since CR3 was loaded? */
		system_user_top(v);
	return true;
}

static void exit_priv(struct vcpu *v)
{
	if (emulate_with(v, &guest_ops, UNKNOWN_RETURN) != EMU_UNSUPPORTED)
		return;
	if (!emulate_cut_segment(v))
		emulate(v, false);         /* reports it */
}

/* INT n through a host gate of DPL 0 faults on the INT itself: the guest's
 * return address is the next instruction.  The vector is the one in the
 * instruction: the host's error code (n << 3 | 2) says the same on
 * hardware, but QEMU's TCG (a host popek may run on, scripts/tcg-host)
 * reports n << 4 | 2 in long mode. */
static void exit_softint(struct vcpu *v)
{
	uint8_t bytes[15];
	struct insn in;
	unsigned n = vcpu_code_bytes(v, bytes, sizeof(bytes));
	unsigned len = scan_decode(bytes, n, v->cpu.code32, &in) == 0 ? in.len : 2;
	int vector = v->exit.vector;

	if (len >= 2 && len <= n && bytes[len - 2] == 0xCD)
		vector = bytes[len - 1];
	v->cpu.eip += len;
	system_soft_int(v, vector, len);
}

static void exit_syscall(struct vcpu *v)
{
	/* int $0x80 reached the host's syscall gate and was trapped by the
	 * seccomp filter before the host kernel ran it: for the guest it is
	 * INT 0x80, with EIP already past it. */
	bt_user_syscall(v);
	system_soft_int(v, 0x80, 2);
}

static void exit_syscall_lost(struct vcpu *v)
{
	vcpu_crash(v, "guest executed SYSCALL or SYSENTER (host syscall %d "
	           "trapped, not run): the host kernel does not return to the "
	           "guest, so its EIP is lost and popek cannot continue (EIP "
	           "below is where the guest was last entered)",
	           v->exit.syscall_nr);
}

/* INT3 (CC) and INTO (CE) are one byte, INT 3 / INT 4 (CD 03 / CD 04)
 * two; both arrive as the same host trap with EIP past the instruction. */
static unsigned trap_insn_len(const struct vcpu *v, int vec)
{
	uint32_t lin = v->cpu.seg_base[SEG_CS] + v->cpu.eip;
	const uint8_t *ram = v->vm->ram.host;

	if (lin >= 2 && lin <= v->vm->ram.size && ram[lin - 2] == 0xCD &&
	    ram[lin - 1] == (uint8_t)vec)
		return 2;
	return 1;
}

/* A host #UD on SYSENTER or SYSEXIT (AMD and Hygon hosts fault both in
 * compatibility mode, cpuid.c): the guest's own instruction, for the
 * emulator (which gives #UD back where the virtual CPU has no SEP). */
static bool exit_sysenter(struct vcpu *v)
{
	uint8_t b[15];
	struct insn in;
	unsigned n = vcpu_code_bytes(v, b, sizeof(b));

	if (scan_decode(b, n, v->cpu.code32, &in) < 0 ||
	    (in.op != INSN_SYSENTER && in.op != INSN_SYSEXIT))
		return false;
	emulate(v, false);
	return true;
}

static void exit_exception(struct vcpu *v)
{
	int vec = v->exit.vector;

	if (vec == VEC_UD && exit_sysenter(v))
		return;

	if (vec == VEC_DB && v->shadow_step) {
		/* popek's own single step past an interrupt shadow. */
		v->shadow_step = false;
		return;
	}

	if (vec == VEC_GP || vec == VEC_NP || vec == VEC_SS || vec == VEC_TS) {
		/* a segment load or far transfer, mostly; or a data access
		 * through a cut segment (#GP(0), #SS(0)) */
		if (emulate_with(v, &guest_ops, UNKNOWN_RETURN) != EMU_UNSUPPORTED)
			return;
		if (v->exit.error != 0 || !emulate_cut_segment(v))
			reflect(v);
		return;
	}
	/* INT3 and INTO reach the host as #BP/#OF traps (host gates of DPL 3),
	 * EIP past the instruction: for the guest they are software
	 * interrupts, subject to the gate's DPL. */
	if (vec == VEC_BP || vec == VEC_OF)
		system_soft_int(v, vec, trap_insn_len(v, vec));
	else
		system_deliver(v, vec, INT_EXCEPTION, vector_has_error(vec),
		               v->exit.error);
}

/* A fault the shadow MMU filled must let the instruction move on: the
 * same address faulting again and again at the same EIP is a popek bug
 * (or a guest doing something popek cannot map): stop, don't spin. */
static bool no_progress(struct vcpu *v, uint32_t lin)
{
	if (lin == v->pf_last_lin && v->cpu.eip == v->pf_last_eip)
		return ++v->pf_repeats > 8;
	v->pf_last_lin = lin;
	v->pf_last_eip = v->cpu.eip;
	v->pf_repeats = 0;
	return false;
}

/* A host page fault in the window: a shadow miss (map and retry), a guest
 * page fault, or an access outside RAM (MMIO: emulate the instruction). */
static void exit_page_fault(struct vcpu *v)
{
	struct shadow_regs r = system_paging_regs(v, v->sys.cpl);
	struct shadow_result res = { .phys = 0 };
	uint32_t lin = (uint32_t)v->exit.cr2;
	enum shadow_outcome o = SHADOW_OUTSIDE;

	/* (host error code bit 4: an instruction fetch) */
	if ((v->exit.error & 0x10u) && v->sys.cpl == 3 && bt_vdso_fetch(v, lin))
		return;                  /* the vDSO: translated from now on */
	if (v->exit.cr2 < WINDOW_SIZE)
		o = shadow_fault(v->vm->shadow, &r, lin, v->exit.error, &res);
	switch (o) {
	case SHADOW_MAPPED:
		if (no_progress(v, lin))
			vcpu_crash(v, "shadow MMU: the access to 0x%08x keeps faulting "
			           "after being mapped (host error 0x%x)", lin,
			           v->exit.error);
		return;
	case SHADOW_GUEST_PF:
		v->sys.cr2 = lin;
		v->pf_replay = true;
		v->pf_replay_lin = lin;
		v->pf_replay_err = v->exit.error;
		v->pf_replay_eip = v->cpu.eip;
		v->pf_replay_cpl = v->sys.cpl;
		system_deliver(v, VEC_PF, INT_EXCEPTION, true, res.error);
		return;
	case SHADOW_EMULATE:     /* outside RAM */
		emulate_with(v, &mmio_ops, UNKNOWN_REPORT);
		return;
	case SHADOW_TRACED:      /* a write the tracers must see */
		/* An instruction popek does not emulate (a PUSH onto a stack
		 * that shares its page with a GDT): give the page up and let
		 * the guest write it natively from now on. */
	{
		uint32_t eip = v->cpu.eip;
		if (emulate_with(v, &mmio_ops, UNKNOWN_RETURN) == EMU_UNSUPPORTED)
			shadow_untraceable(v->vm->shadow, res.phys);
		else
			bt_traced_write(v, eip);   /* adaptive translation */
		return;
	}
	case SHADOW_BAD_TABLE:
		vcpu_crash(v, "guest page tables (CR3 0x%08x) reach outside guest "
		           "RAM (%llu MiB) for linear address 0x%08x", v->sys.cr3,
		           (unsigned long long)(v->vm->ram.size >> 20), lin);
		return;
	case SHADOW_HOST_FAIL:
		vcpu_crash(v, "cannot map guest linear 0x%08x (guest-physical "
		           "0x%08x) on the host: %s", lin, res.phys,
		           errno == EEXIST ? "something that is not popek's guest "
		           "window is mapped there" : strerror(errno));
		return;
	case SHADOW_OUTSIDE:
		break;
	}
	vcpu_crash(v, "access to linear address 0x%08llx, outside the window "
	           "popek can map [0x%llx, 0x%llx)",
	           (unsigned long long)v->exit.cr2,
	           (unsigned long long)v->vm->window_low, WINDOW_TOP);
}

static void exit_entry_fault(struct vcpu *v)
{
	vcpu_crash(v, "the host CPU refused the guest state on entry "
	           "(%s, error 0x%x)", vec_name(v->exit.vector), v->exit.error);
}

/* Nothing to do: the run loop delivers what is pending before entry. */
static void exit_kick(struct vcpu *v)
{
	(void)v;
}

/* INT n, INT3, INTO and INT1 met in translated code, EIP on them. */
static void bt_softint(struct vcpu *v)
{
	uint8_t b[15];
	unsigned n = vcpu_code_bytes(v, b, sizeof(b)), pfx = 0;

	while (pfx < n && pfx < 14 && (b[pfx] == 0x66 || b[pfx] == 0x67 ||
	                               b[pfx] == 0xF2 || b[pfx] == 0xF3))
		pfx++;   /* prefixes that INT n may carry and ignores */
	if (pfx >= n) {
		vcpu_crash(v, "bt: software interrupt at 0x%08x not readable",
		           v->cpu.eip);
		return;
	}
	switch (b[pfx]) {
	case 0xCD:                                    /* CD ib: INT imm8 */
		v->cpu.eip += pfx + 2;
		system_soft_int(v, b[pfx + 1], pfx + 2);
		return;
	case 0xCC:                                    /* CC: INT3 */
		v->cpu.eip += pfx + 1;
		system_soft_int(v, VEC_BP, pfx + 1);
		return;
	case 0xCE:                                    /* CE: INTO */
		v->cpu.eip += pfx + 1;
		if (v->cpu.eflags & 0x800u)           /* OF */
			system_soft_int(v, VEC_OF, pfx + 1);
		return;
	case 0xF1:                                    /* F1: INT1 (ICEBP) */
		v->cpu.eip += pfx + 1;
		system_deliver(v, VEC_DB, INT_EXCEPTION, false, 0);
		return;
	}
	emulate(v, false);
}

/* A callout from translated code: a block exit (bt.c chains it), or an
 * instruction to carry out, as trap mode would on its fault. */
static void exit_callout(struct vcpu *v)
{
	const struct tc_site *s = bt_callout(v);

	if (!s)
		return;
	switch (s->cls) {
	case SCAN_SOFTINT:
		bt_softint(v);
		return;
	case SCAN_UNDEFINED:
		system_deliver(v, VEC_UD, INT_EXCEPTION, false, 0);
		return;
	case SCAN_IDENT: {            /* adaptive: a store to a traced page */
		uint64_t traced = v->vm->counters[CTR_traced_writes];
		uint32_t eip = v->cpu.eip;
		emulate_with(v, &mmio_ops, UNKNOWN_REPORT);
		bt_forced_store(v, eip, v->vm->counters[CTR_traced_writes] != traced);
		return;
	}
	case SCAN_SEGREG_RESERVED:    /* a use of %gs: the guest's own */
		emulate_with(v, &mmio_ops, UNKNOWN_REPORT);
		return;
	default:
		emulate(v, false);
	}
}

static void (*const handlers[EXIT_MAX])(struct vcpu *) = {
	[EXIT_CALLOUT] = exit_callout,
	[EXIT_PRIV] = exit_priv,
	[EXIT_SOFTINT] = exit_softint,
	[EXIT_SYSCALL] = exit_syscall,
	[EXIT_SYSCALL_LOST] = exit_syscall_lost,
	[EXIT_EXCEPTION] = exit_exception,
	[EXIT_PAGE_FAULT] = exit_page_fault,
	[EXIT_ENTRY_FAULT] = exit_entry_fault,
	[EXIT_KICK] = exit_kick,
	[EXIT_VDSO_GATE] = bt_gate_call,
};

/* EIP: where the guest was entered (for a callout, the site's own guest
 * EIP and kind follow: emulate or branch). */
static void trace_exit(const struct vcpu *v)
{
	const struct tc_site *s = v->exit.reason == EXIT_CALLOUT ?
	                          tc_site(v->bt.tc, v->bt.site) : NULL;

	fprintf(stderr, "popek: exit %-40s EIP=%08x vector=%d error=0x%x",
	        exit_reason_name[v->exit.reason], v->cpu.eip, v->exit.vector,
	        v->exit.error);
	if (s)
		fprintf(stderr, " %s=%08x", s->kind == TC_SITE_EMULATE ?
		        "emulate" : "branch", s->guest_eip);
	fputc('\n', stderr);
}

/* A monitor bug on purpose: a non-canonical address faults (#GP) even
 * though guest RAM may be mapped at host address 0. */
static void inject_monitor_fault(void)
{
	*(volatile int *)0x8000000000000000ull = 0;
}

void exits_dispatch(struct vcpu *v)
{
	if (v->vm->fault_inject)
		inject_monitor_fault();
	if (v->vm->cfg.trace_exits)
		trace_exit(v);
	if (v->exit.reason != EXIT_PAGE_FAULT)
		v->pf_repeats = 0;       /* progress: only back-to-back misses count */
	if (v->alias_fixed) {
		/* A segment register held a host GDT alias, now the guest's own
		 * descriptor: a fault may have come from the alias — run the
		 * instruction again (a fault that stays comes back). */
		v->alias_fixed = false;
		if (v->exit.reason == EXIT_PAGE_FAULT || v->exit.reason == EXIT_PRIV ||
		    (v->exit.reason == EXIT_EXCEPTION &&
		     (v->exit.vector == VEC_GP || v->exit.vector == VEC_SS ||
		      v->exit.vector == VEC_NP)))
			return;
	}
	handlers[v->exit.reason](v);
	if (v->vm->exit_requested && !v->stop) {
		v->stop = true;
		v->stop_status = v->vm->exit_status;
	}
}
