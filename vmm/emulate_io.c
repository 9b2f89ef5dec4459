/*
 * emulate_io.c — the port I/O instructions (IN, OUT, INS, OUTS) and the
 * interrupt-flag and halt instructions (CLI, STI, HLT).  emulate.c has
 * already checked CPL against IOPL for the ones that need it.
 *
 * A memory fault inside a string instruction returns EMU_FAULT with the
 * registers as the faulting iteration found them: iterations done stay
 * done (index registers and (E)CX stepped) and re-executing the
 * instruction resumes where it stopped, as on hardware.  An INS whose
 * memory write faults has already read the port once; the re-execution
 * reads it again.
 *
 * Not done: the TSS I/O permission bitmap (CPL > IOPL is always #GP),
 * VME/PVI, segment limits.
 */
#include "vmm/emulate_impl.h"

/* Bits of a register an access of `size` bytes touches. */
static uint32_t size_mask(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}




static uint16_t io_port(const struct emu *e)
{
	return e->in->port_in_dx ? (uint16_t)e->cpu->gpr[R_EDX] : e->in->imm8;
}

/* E4 ib: IN AL,imm8; E5 ib: IN eAX,imm8; EC: IN AL,DX; ED: IN eAX,DX.
 * A byte or word IN leaves the rest of EAX alone. */
enum emu_status emu_in(struct emu *e)
{
	unsigned size = e->in->opsize;
	uint32_t m = size_mask(size);
	uint32_t v = e->ops->in(e->ctx, io_port(e), size);
	uint32_t *eax = &e->cpu->gpr[R_EAX];

	*eax = (*eax & ~m) | (v & m);
	return EMU_OK;
}

/* E6 ib: OUT imm8,AL; E7 ib: OUT imm8,eAX; EE: OUT DX,AL; EF: OUT DX,eAX. */
enum emu_status emu_out(struct emu *e)
{
	unsigned size = e->in->opsize;

	e->ops->out(e->ctx, io_port(e), size,
	            e->cpu->gpr[R_EAX] & size_mask(size));
	return EMU_OK;
}

/* One INS element: port DX to ES:(E)DI (ES cannot be overridden). */
static int ins_once(struct emu *e, uint32_t amask)
{
	struct emu_cpu *c = e->cpu;
	unsigned size = e->in->opsize;
	uint32_t v = e->ops->in(e->ctx, (uint16_t)c->gpr[R_EDX], size);
	uint32_t lin = c->seg_base[SEG_ES] + (c->gpr[R_EDI] & amask);

	if (e->ops->write(e->ctx, lin, &v, size))
		return -1;
	emu_step_reg(&c->gpr[R_EDI], emu_stride(e), amask);
	return 0;
}

/* One OUTS element: DS:(E)SI, or the override segment, to port DX. */
static int outs_once(struct emu *e, uint32_t amask)
{
	struct emu_cpu *c = e->cpu;
	unsigned size = e->in->opsize;
	int seg = e->in->seg_override >= 0 ? e->in->seg_override : SEG_DS;
	uint32_t lin = c->seg_base[seg] + (c->gpr[R_ESI] & amask);
	uint32_t v = 0;

	if (e->ops->read(e->ctx, lin, &v, size))
		return -1;
	e->ops->out(e->ctx, (uint16_t)c->gpr[R_EDX], size, v);
	emu_step_reg(&c->gpr[R_ESI], emu_stride(e), amask);
	return 0;
}


/* 6C: INSB; 6D: INSW/INSD (66 selects the other size); F3/F2 for REP. */
enum emu_status emu_ins(struct emu *e)
{
	return emu_string_op(e, ins_once);
}

/* 6E: OUTSB; 6F: OUTSW/OUTSD; segment prefix overrides DS; F3/F2 REP. */
enum emu_status emu_outs(struct emu *e)
{
	return emu_string_op(e, outs_once);
}

/* FA: CLI, on the virtual IF. */
enum emu_status emu_cli(struct emu *e)
{
	e->cpu->eflags &= ~EFLAGS_IF;
	return EMU_OK;
}

/* FB: STI.  Enabling interrupts takes effect after the next instruction:
 * the caller keeps them off while sti_shadow is set. */
enum emu_status emu_sti(struct emu *e)
{
	if (!(e->cpu->eflags & EFLAGS_IF))
		e->cpu->sti_shadow = true;
	e->cpu->eflags |= EFLAGS_IF;
	return EMU_OK;
}

/* F4: HLT.  Retires; waiting for an interrupt is the caller's job. */
enum emu_status emu_hlt(struct emu *e)
{
	(void)e;
	return EMU_HLT;
}
