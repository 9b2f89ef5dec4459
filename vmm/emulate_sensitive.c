/*
 * emulate_sensitive.c — the sensitive-but-unprivileged instructions that
 * read or change machine state without trapping at CPL 3 (Robin &
 * Irvine's list, docs/popek-goldberg.md), plus CPUID and RDTSC: PUSHF/
 * POPF, SGDT/SIDT/SLDT/STR/SMSW, MOV r/m, Sreg and PUSH Sreg.  Binary
 * translation turns each into a callout that lands here, so they act on
 * the guest's virtual CPU: its EFLAGS (virtual IF and IOPL), its
 * descriptor-table registers and selectors, its CPUID and TSC.
 * LAR/LSL/VERR/VERW are in emulate_verify.c.
 *
 * emulate.c has already checked that ops->sys is set.  None of these is
 * privileged on popek's virtual CPU: it has no UMIP (CR4.UMIP cannot
 * even be asked about, cpuid.c), so the stores of system registers work
 * at any CPL; only RDTSC checks CR4.TSD.  Stack accesses go through the
 * helpers in emulate.c (SS:ESP or SS:SP, SS limit checked), and every
 * register or flag changes only after the memory access succeeded.
 *
 * Choices where the SDM leaves room (vol. 2, 2023 text):
 *  - SGDT/SIDT store the full 32-bit base at either operand size (the
 *    current pseudo-code; older manuals stored 24 bits and a zero byte
 *    with a 16-bit operand size).
 *  - SMSW r32 stores all of CR0, as Intel and AMD parts do (the SDM
 *    leaves bits 31:16 undefined); r16 and m16 get CR0[15:0].
 *  - SLDT, STR and MOV r32, Sreg zero-extend the selector (P6 and later).
 *  - PUSH Sreg with a 32-bit operand size moves ESP by 4 but writes only
 *    the 2 selector bytes, leaving the upper 2 as they were, as recent
 *    Intel Core and Atom processors do.
 */
#include "vmm/emulate_impl.h"
#include "vmm/cpu.h"

#define EFLAGS_FIXED 0x00000002u        /* bit 1: always set */
/* What POPF may change at any CPL (SDM vol. 2 POPF): the arithmetic
 * flags, TF, DF, NT, AC and ID.  IF and IOPL depend on CPL and IOPL;
 * VM, VIF, VIP and the reserved bits never change; RF is cleared. */
#define POPF_ANY (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | \
                  EFLAGS_SF | EFLAGS_TF | EFLAGS_DF | EFLAGS_OF | \
                  EFLAGS_NT | EFLAGS_AC | EFLAGS_ID)

/* 9C: PUSHF (16-bit operand size) / PUSHFD — EFLAGS with VM and RF
 * cleared in the image (0x00FCFFFF), or its low 16 bits. */
enum emu_status emu_pushf(struct emu *e)
{
	uint32_t image = (e->cpu->eflags | EFLAGS_FIXED) &
	                 ~(EFLAGS_VM | EFLAGS_RF);
	unsigned size = e->in->opsize;

	return emu_push(e, image, size, size) ? EMU_FAULT : EMU_OK;
}

/* The EFLAGS bits a POPF of `size` bytes changes at this CPL and IOPL. */
static uint32_t popf_mask(const struct emu_cpu *c, unsigned size)
{
	unsigned iopl = (c->eflags & EFLAGS_IOPL) >> 12;
	uint32_t m = POPF_ANY;

	if (c->cpl <= iopl)
		m |= EFLAGS_IF;
	if (c->cpl == 0)
		m |= EFLAGS_IOPL;
	return size == 2 ? m & 0xffffu : m;
}

/* 9D: POPF (16-bit operand size) / POPFD.  CPL 0 changes IF and IOPL;
 * CPL <= IOPL changes IF but not IOPL; otherwise neither changes, and
 * no fault is raised.  POPFD clears RF; POPF leaves bits 31:16 alone.
 * Unlike STI, a POPF that sets IF creates no interrupt shadow. */
enum emu_status emu_popf(struct emu *e)
{
	struct emu_cpu *c = e->cpu;
	unsigned size = e->in->opsize;
	uint32_t val, m = popf_mask(c, size);

	if (emu_stack_read(e, 0, size, &val))
		return EMU_FAULT;
	emu_stack_release(c, size);
	c->eflags = (c->eflags & ~m) | (val & m) | EFLAGS_FIXED;
	if (size == 4)
		c->eflags &= ~EFLAGS_RF;
	return EMU_OK;
}

/* 0F 01 /0: SGDT m; 0F 01 /1: SIDT m — limit16 then base32, one 6-byte
 * write, at either operand size (see the file header). */
enum emu_status emu_sgdt(struct emu *e)
{
	const struct emu_sys *s = e->ops->sys;
	uint32_t base;
	uint16_t limit;
	uint8_t b[6];
	int rc = e->in->op == INSN_SGDT ? s->read_gdtr(e->ctx, &base, &limit)
	                                : s->read_idtr(e->ctx, &base, &limit);

	if (rc)
		return EMU_FAULT;
	b[0] = (uint8_t)limit;
	b[1] = (uint8_t)(limit >> 8);
	for (unsigned i = 0; i < 4; i++)
		b[2 + i] = (uint8_t)(base >> (8 * i));
	return e->ops->write(e->ctx, emu_linear(e, &e->in->opnd[0], 0), b, 6)
	       ? EMU_FAULT : EMU_OK;
}

/* 0F 00 /0: SLDT r/m16, r32/m16; 0F 00 /1: STR r/m16, r32/m16. */
enum emu_status emu_sldt(struct emu *e)
{
	const struct emu_sys *s = e->ops->sys;
	uint16_t sel;
	int rc = e->in->op == INSN_SLDT ? s->read_ldtr(e->ctx, &sel)
	                                : s->read_tr(e->ctx, &sel);

	if (rc || emu_dst16(e, &e->in->opnd[0], sel))
		return EMU_FAULT;
	return EMU_OK;
}

/* 0F 01 /4: SMSW r/m16, r32/m16 — m16 and r16 get CR0[15:0], r32 all of
 * CR0. */
enum emu_status emu_smsw(struct emu *e)
{
	uint32_t cr0;

	if (e->ops->sys->read_cr(e->ctx, 0, &cr0) ||
	    emu_dst16(e, &e->in->opnd[0], cr0))
		return EMU_FAULT;
	return EMU_OK;
}

/* 8C /r: MOV r/m16, Sreg; MOV r32, Sreg (zero-extended). */
enum emu_status emu_mov_from_sreg(struct emu *e)
{
	uint16_t sel;

	if (e->ops->sys->read_seg(e->ctx, (enum seg)e->in->opnd[1].reg.num,
	                          &sel) ||
	    emu_dst16(e, &e->in->opnd[0], sel))
		return EMU_FAULT;
	return EMU_OK;
}

/* 0E: PUSH CS; 16: PUSH SS; 1E: PUSH DS; 06: PUSH ES; 0F A0: PUSH FS;
 * 0F A8: PUSH GS — ESP moves by the operand size, 2 bytes are written. */
enum emu_status emu_push_sreg(struct emu *e)
{
	uint16_t sel;

	if (e->ops->sys->read_seg(e->ctx, (enum seg)e->in->opnd[0].reg.num,
	                          &sel) ||
	    emu_push(e, sel, e->in->opsize, 2))
		return EMU_FAULT;
	return EMU_OK;
}

/* 0F A2: CPUID — EAX, EBX, ECX, EDX = the leaf EAX (subleaf ECX) of the
 * virtual CPU. */
enum emu_status emu_cpuid(struct emu *e)
{
	struct emu_cpu *c = e->cpu;
	uint32_t out[4];

	if (e->ops->sys->cpuid(e->ctx, c->gpr[R_EAX], c->gpr[R_ECX], out))
		return EMU_FAULT;
	c->gpr[R_EAX] = out[0];
	c->gpr[R_EBX] = out[1];
	c->gpr[R_ECX] = out[2];
	c->gpr[R_EDX] = out[3];
	return EMU_OK;
}

/* 0F 31: RDTSC — EDX:EAX = TSC; #GP(0) if CR4.TSD and CPL > 0. */
enum emu_status emu_rdtsc(struct emu *e)
{
	const struct emu_sys *s = e->ops->sys;
	struct emu_cpu *c = e->cpu;
	uint32_t cr4;
	uint64_t tsc;

	if (c->cpl > 0) {
		if (s->read_cr(e->ctx, 4, &cr4))
			return EMU_FAULT;
		if (cr4 & CR4_TSD)
			return emu_raise(e, EMU_VEC_GP, 0);
	}
	if (s->rdtsc(e->ctx, &tsc))
		return EMU_FAULT;
	c->gpr[R_EAX] = (uint32_t)tsc;
	c->gpr[R_EDX] = (uint32_t)(tsc >> 32);
	return EMU_OK;
}
