/*
 * emulate_system.c — the system instructions a guest kernel executes at
 * CPL 0: descriptor-table registers, LMSW, INVLPG, MOV to and from the
 * control and debug registers, CLTS, INVD/WBINVD, the MSRs and RDPMC.
 *
 * emulate.c has already checked that ops->sys is set and that CPL is 0.
 * What the registers mean (CR0 bits, MSR numbers, DR4/DR5 aliasing,
 * DR7.GD) is the sys callbacks' business; this file moves operands
 * between the instruction, the GPRs, memory and the callbacks.  Every
 * GPR write happens only after the callback succeeded.
 */
#include "vmm/emulate_impl.h"

#define CR0_PE 0x1u
#define LMSW_BITS 0xfu      /* PE, MP, EM, TS */

/* LGDT/LIDT operand: limit16 then base32; with a 16-bit operand size
 * only 24 bits of the base are loaded (SDM vol. 2, LGDT/LIDT). */
static int read_dtr(struct emu *e, uint32_t *base, uint16_t *limit)
{
	const struct insn_opnd *m = &e->in->opnd[0];
	uint32_t lim;

	if (emu_read_mem(e, m, 0, 2, &lim) || emu_read_mem(e, m, 2, 4, base))
		return -1;
	if (e->in->opsize == 2)
		*base &= 0x00ffffffu;
	*limit = (uint16_t)lim;
	return 0;
}

/* 0F 01 /2: LGDT m16&32 */
enum emu_status emu_lgdt(struct emu *e)
{
	uint32_t base;
	uint16_t limit;

	if (read_dtr(e, &base, &limit))
		return EMU_FAULT;
	return emu_sys_status(e->ops->sys->lgdt(e->ctx, base, limit));
}

/* 0F 01 /3: LIDT m16&32 */
enum emu_status emu_lidt(struct emu *e)
{
	uint32_t base;
	uint16_t limit;

	if (read_dtr(e, &base, &limit))
		return EMU_FAULT;
	return emu_sys_status(e->ops->sys->lidt(e->ctx, base, limit));
}

/* 0F 01 /6: LMSW r/m16.  Only CR0 bits 3:0 change, and PE cannot be
 * cleared by it. */
enum emu_status emu_lmsw(struct emu *e)
{
	const struct emu_sys *s = e->ops->sys;
	uint16_t msw;
	uint32_t cr0;

	if (emu_src16(e, &e->in->opnd[0], &msw) || s->read_cr(e->ctx, 0, &cr0))
		return EMU_FAULT;
	cr0 = (cr0 & ~LMSW_BITS) | (msw & LMSW_BITS) | (cr0 & CR0_PE);
	return emu_sys_status(s->write_cr(e->ctx, 0, cr0));
}

/* 0F 01 /7: INVLPG m — the operand's linear address, nothing read. */
enum emu_status emu_invlpg(struct emu *e)
{
	uint32_t lin = emu_linear(e, &e->in->opnd[0], 0);

	return emu_sys_status(e->ops->sys->invlpg(e->ctx, lin));
}

/* 0F 00 /2: LLDT r/m16 */
enum emu_status emu_lldt(struct emu *e)
{
	uint16_t sel;

	if (emu_src16(e, &e->in->opnd[0], &sel))
		return EMU_FAULT;
	return emu_sys_status(e->ops->sys->lldt(e->ctx, sel));
}

/* 0F 00 /3: LTR r/m16 */
enum emu_status emu_ltr(struct emu *e)
{
	uint16_t sel;

	if (emu_src16(e, &e->in->opnd[0], &sel))
		return EMU_FAULT;
	return emu_sys_status(e->ops->sys->ltr(e->ctx, sel));
}

/* 0F 20 /r: MOV r32, CR0-CR7.  The ModRM mod field is ignored: the GPR
 * is always a register, always all 32 bits. */
enum emu_status emu_mov_from_cr(struct emu *e)
{
	uint32_t v;

	if (e->ops->sys->read_cr(e->ctx, e->in->opnd[1].reg.num, &v))
		return EMU_FAULT;
	e->cpu->gpr[e->in->opnd[0].reg.num] = v;
	return EMU_OK;
}

/* 0F 22 /r: MOV CR0-CR7, r32 */
enum emu_status emu_mov_to_cr(struct emu *e)
{
	uint32_t v = e->cpu->gpr[e->in->opnd[1].reg.num];

	return emu_sys_status(e->ops->sys->write_cr(e->ctx,
	                                            e->in->opnd[0].reg.num, v));
}

/* 0F 21 /r: MOV r32, DR0-DR7 */
enum emu_status emu_mov_from_dr(struct emu *e)
{
	uint32_t v;

	if (e->ops->sys->read_dr(e->ctx, e->in->opnd[1].reg.num, &v))
		return EMU_FAULT;
	e->cpu->gpr[e->in->opnd[0].reg.num] = v;
	return EMU_OK;
}

/* 0F 23 /r: MOV DR0-DR7, r32 */
enum emu_status emu_mov_to_dr(struct emu *e)
{
	uint32_t v = e->cpu->gpr[e->in->opnd[1].reg.num];

	return emu_sys_status(e->ops->sys->write_dr(e->ctx,
	                                            e->in->opnd[0].reg.num, v));
}

/* 0F 06: CLTS */
enum emu_status emu_clts(struct emu *e)
{
	return emu_sys_status(e->ops->sys->clts(e->ctx));
}

/* 0F 09: WBINVD; 0F 08: INVD (popek has no caches to lose: the same). */
enum emu_status emu_wbinvd(struct emu *e)
{
	return emu_sys_status(e->ops->sys->wbinvd(e->ctx));
}

/* 0F 32: RDMSR — EDX:EAX = MSR[ECX] */
enum emu_status emu_rdmsr(struct emu *e)
{
	struct emu_cpu *c = e->cpu;
	uint64_t v;

	if (e->ops->sys->rdmsr(e->ctx, c->gpr[R_ECX], &v))
		return EMU_FAULT;
	c->gpr[R_EAX] = (uint32_t)v;
	c->gpr[R_EDX] = (uint32_t)(v >> 32);
	return EMU_OK;
}

/* 0F 30: WRMSR — MSR[ECX] = EDX:EAX */
enum emu_status emu_wrmsr(struct emu *e)
{
	const struct emu_cpu *c = e->cpu;
	uint64_t v = (uint64_t)c->gpr[R_EDX] << 32 | c->gpr[R_EAX];

	return emu_sys_status(e->ops->sys->wrmsr(e->ctx, c->gpr[R_ECX], v));
}

/* 0F 33: RDPMC — popek offers no performance counters: ECX names an
 * invalid counter at any CPL, #GP(0). */
enum emu_status emu_rdpmc(struct emu *e)
{
	return emu_raise(e, EMU_VEC_GP, 0);
}
