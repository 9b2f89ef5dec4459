/*
 * emulate_segment.c — segment-register loads (MOV Sreg, POP Sreg, LDS,
 * LES, LSS, LFS, LGS) and the far control transfers (JMP/CALL far, RET
 * far, IRET).
 *
 * emulate.c has already checked that ops->sys is set.  What a selector
 * loads, and every check on it, is sys->load_seg's business; the far
 * transfers are entirely the sys callbacks' (they read and write the
 * stack and set CS, EIP and ESP), so emu_step does not retire them.
 * This file finds the operands and keeps the order of effects: nothing
 * in a GPR or ESP changes unless the segment load succeeded.
 *
 * The stack of POP Sreg is SS:ESP, or SS:SP when cpu->ss16 says SS.B is
 * clear.  A load of SS by MOV or POP sets the interrupt shadow (SDM vol.
 * 2, MOV: "inhibits all interrupts until after the next instruction").
 */
#include "vmm/emulate_impl.h"

/* load_seg, and the interrupt shadow that MOV SS and POP SS create. */
static enum emu_status load_sreg(struct emu *e, enum seg seg, uint16_t sel)
{
	if (e->ops->sys->load_seg(e->ctx, seg, sel))
		return EMU_FAULT;
	if (seg == SEG_SS)
		e->cpu->sti_shadow = true;
	return EMU_OK;
}

/* 8E /r: MOV Sreg, r/m16.  MOV to CS is #UD (Zydis rejects 8E /1 as
 * invalid already; this keeps the rule whatever the decoder does). */
enum emu_status emu_mov_to_sreg(struct emu *e)
{
	enum seg seg = (enum seg)e->in->opnd[0].reg.num;
	uint16_t sel;

	if (seg == SEG_CS)
		return emu_raise(e, EMU_VEC_UD, 0);
	if (emu_src16(e, &e->in->opnd[1], &sel))
		return EMU_FAULT;
	return load_sreg(e, seg, sel);
}

/* 07: POP ES; 17: POP SS; 1F: POP DS; 0F A1: POP FS; 0F A9: POP GS.
 * Pops 2 or 4 bytes (operand size); the selector is the low 16 bits. */
enum emu_status emu_pop_sreg(struct emu *e)
{
	struct emu_cpu *c = e->cpu;
	unsigned size = e->in->opsize;
	uint32_t mask = emu_stack_mask(c);
	uint32_t *esp = &c->gpr[R_ESP];
	uint8_t b[4];

	if (e->ops->read(e->ctx, c->seg_base[SEG_SS] + (*esp & mask), b, size))
		return EMU_FAULT;
	if (load_sreg(e, (enum seg)e->in->opnd[0].reg.num,
	              (uint16_t)(b[0] | b[1] << 8)))
		return EMU_FAULT;
	*esp = (*esp & ~mask) | ((*esp + size) & mask);
	return EMU_OK;
}

/* A far pointer in memory, m16:16 or m16:32: offset, then selector. */
static int read_far_ptr(struct emu *e, const struct insn_opnd *m,
                        uint16_t *sel, uint32_t *off)
{
	unsigned size = e->in->opsize;
	uint32_t s;

	if (emu_read_mem(e, m, 0, size, off) ||
	    emu_read_mem(e, m, size, 2, &s))
		return -1;
	*sel = (uint16_t)s;
	return 0;
}

static enum seg far_load_seg(enum insn_op op)
{
	switch (op) {
	case INSN_LES: return SEG_ES;
	case INSN_LSS: return SEG_SS;
	case INSN_LFS: return SEG_FS;
	case INSN_LGS: return SEG_GS;
	default:       return SEG_DS;
	}
}

/* C5 /r: LDS; C4 /r: LES; 0F B2 /r: LSS; 0F B4 /r: LFS; 0F B5 /r: LGS —
 * r16/32, m16:16/32.  LSS sets no interrupt shadow. */
enum emu_status emu_load_far(struct emu *e)
{
	uint16_t sel;
	uint32_t off;

	if (read_far_ptr(e, &e->in->opnd[1], &sel, &off) ||
	    e->ops->sys->load_seg(e->ctx, far_load_seg(e->in->op), sel))
		return EMU_FAULT;
	emu_set_reg(e->cpu, &e->in->opnd[0], off);
	return EMU_OK;
}

/* The target of JMP/CALL far: ptr16:16/32 immediate or m16:16/32. */
static int far_target(struct emu *e, uint16_t *sel, uint32_t *off)
{
	const struct insn_opnd *o = &e->in->opnd[0];

	if (o->kind == OPND_PTR) {
		*sel = o->ptr.sel;
		*off = o->ptr.off;
		return 0;
	}
	return read_far_ptr(e, o, sel, off);
}

/* EA cd: JMP ptr16:16; EA cp: JMP ptr16:32; FF /5: JMP m16:16/32 */
enum emu_status emu_jmp_far(struct emu *e)
{
	uint16_t sel;
	uint32_t off;

	if (far_target(e, &sel, &off))
		return EMU_FAULT;
	return emu_sys_status(e->ops->sys->far_jmp(e->ctx, sel, off));
}

/* 9A cd: CALL ptr16:16; 9A cp: CALL ptr16:32; FF /3: CALL m16:16/32.
 * The callee pushes CS:EIP of the next instruction, so EIP is already
 * past the CALL when it runs, and back on the CALL if it fails. */
enum emu_status emu_call_far(struct emu *e)
{
	uint32_t eip = e->cpu->eip;
	uint16_t sel;
	uint32_t off;

	if (far_target(e, &sel, &off))
		return EMU_FAULT;
	e->cpu->eip = emu_next_eip(e);
	if (e->ops->sys->far_call(e->ctx, sel, off, e->in->opsize)) {
		e->cpu->eip = eip;
		return EMU_FAULT;
	}
	return EMU_OK;
}

/* CB: RET far; CA iw: RET far imm16 (bytes to release after popping). */
enum emu_status emu_ret_far(struct emu *e)
{
	unsigned pop = e->in->nopnd ? e->in->opnd[0].imm.value : 0;

	return emu_sys_status(e->ops->sys->far_ret(e->ctx, pop,
	                                           e->in->opsize));
}

/* CF: IRET (16-bit operand size) / IRETD (32-bit). */
enum emu_status emu_iret(struct emu *e)
{
	return emu_sys_status(e->ops->sys->iret(e->ctx, e->in->opsize));
}

/* 0F 34: SYSENTER; 0F 35: SYSEXIT.  Which segments, stack and entry
 * point they load, and every check (SEP, SYSENTER_CS, CPL), are the sys
 * callbacks' business: the MSRs live there. */
enum emu_status emu_sysenter(struct emu *e)
{
	return emu_sys_status(e->ops->sys->sysenter(e->ctx));
}

enum emu_status emu_sysexit(struct emu *e)
{
	return emu_sys_status(e->ops->sys->sysexit(e->ctx));
}
