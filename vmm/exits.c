/*
 * exits.c — what the monitor does with each exit reason: one table of
 * handlers indexed by enum exit_reason (exits.def).  No device is named
 * here: port I/O goes to the bus, whoever sits on it.
 *
 * Until the virtual CPU grows an IDT (guest exceptions and interrupts are
 * delivered through it), the guest's IDTR is empty, so any exception or
 * INT n it raises ends as a triple fault, as it would on hardware.
 */
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "devices/bus.h"

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

/* --- emulator callbacks against guest RAM (paging off) and the I/O bus --- */

static int mem_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	struct vcpu *v = ctx;
	if ((uint64_t)lin + len > v->vm->ram.size)
		return -1;
	memcpy(dst, v->vm->ram.host + lin, len);
	return 0;
}

static int mem_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	struct vcpu *v = ctx;
	if ((uint64_t)lin + len > v->vm->ram.size)
		return -1;
	memcpy(v->vm->ram.host + lin, src, len);
	return 0;
}

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
	.read = mem_read, .write = mem_write, .in = port_in, .out = port_out,
};

/* HLT: wait for an interrupt.  Nothing can raise one yet, so a halted
 * guest can never continue: say so instead of hanging. */
static void do_hlt(struct vcpu *v)
{
	v->vm->counters[CTR_hlt]++;
	if (!(v->cpu.eflags & EFLAGS_IF))
		vcpu_crash(v, "guest halted with interrupts disabled (cli; hlt): "
		           "nothing can wake it");
	else
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
	           v->cpu.code32 ? "32-bit protected" : "16-bit protected", v->cpl);
}

static void exit_priv(struct vcpu *v)
{
	struct insn in;
	enum emu_status st = emu_step(&v->cpu, &guest_ops, v, &in);

	v->vm->counters[CTR_emulated]++;
	switch (st) {
	case EMU_OK:
		return;
	case EMU_HLT:
		do_hlt(v);
		return;
	case EMU_UNSUPPORTED:
		report_insn(v, "unemulated instruction", &in);
		return;
	case EMU_BAD:
		report_insn(v, "undecodable instruction", &in);
		return;
	case EMU_FAULT:
		vcpu_crash(v, "emulated access outside guest RAM at EIP 0x%08x",
		           v->cpu.eip);
		return;
	}
}

/* An exception or interrupt for the guest.  With IDTR.limit = 0 every
 * delivery fails: #GP, then #DF, then shutdown (SDM vol. 3A, 6.15). */
static void deliver(struct vcpu *v, int vector, const char *what)
{
	vcpu_crash(v, "triple fault: %s (vector 0x%x) at EIP 0x%08x with no "
	           "guest IDT (IDTR limit 0)", what, vector, v->cpu.eip);
}

static void exit_softint(struct vcpu *v)
{
	deliver(v, v->exit.vector, "software interrupt INT n");
}

static void exit_syscall(struct vcpu *v)
{
	/* int $0x80 reached the host's syscall gate and was trapped by the
	 * seccomp filter: for the guest it is just INT 0x80. */
	deliver(v, 0x80, "INT 0x80 (trapped before the host kernel ran it)");
}

static void exit_syscall_lost(struct vcpu *v)
{
	vcpu_crash(v, "guest executed SYSCALL or SYSENTER (host syscall %d "
	           "trapped, not run): the host kernel does not return to the "
	           "guest, so its EIP is lost and popek cannot continue (EIP "
	           "below is where the guest was last entered)",
	           v->exit.syscall_nr);
}

static void exit_exception(struct vcpu *v)
{
	deliver(v, v->exit.vector, vec_name(v->exit.vector));
}

static void exit_page_fault(struct vcpu *v)
{
	vcpu_crash(v, "access to guest linear address 0x%08llx outside guest "
	           "RAM (%llu MiB, paging off) at EIP 0x%08x",
	           (unsigned long long)v->exit.cr2,
	           (unsigned long long)(v->vm->ram.size >> 20), v->cpu.eip);
}

static void exit_entry_fault(struct vcpu *v)
{
	vcpu_crash(v, "the host CPU refused the guest state on entry "
	           "(%s, error 0x%x)", vec_name(v->exit.vector), v->exit.error);
}

static void (*const handlers[EXIT_MAX])(struct vcpu *) = {
	[EXIT_PRIV] = exit_priv,
	[EXIT_SOFTINT] = exit_softint,
	[EXIT_SYSCALL] = exit_syscall,
	[EXIT_SYSCALL_LOST] = exit_syscall_lost,
	[EXIT_EXCEPTION] = exit_exception,
	[EXIT_PAGE_FAULT] = exit_page_fault,
	[EXIT_ENTRY_FAULT] = exit_entry_fault,
};

static void trace_exit(const struct vcpu *v)
{
	fprintf(stderr, "popek: exit %-40s EIP=%08x vector=%d error=0x%x\n",
	        exit_reason_name[v->exit.reason], v->cpu.eip, v->exit.vector,
	        v->exit.error);
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
	handlers[v->exit.reason](v);
	if (v->vm->exit_requested && !v->stop) {
		v->stop = true;
		v->stop_status = v->vm->exit_status;
	}
}
