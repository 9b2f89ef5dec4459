/*
 * emulate_branch.c — the near control transfers whose target is not in
 * the instruction: RET, RET imm16, JMP r/m and CALL r/m.  Binary
 * translation cannot chain them to a known block, so they may come here
 * as callouts; they set EIP themselves (the rule table marks them
 * transfers: emu_step does not retire them).
 *
 * SDM vol. 2 JMP/CALL/RET, near, protected mode: the target (popped, or
 * read from a register or memory) is truncated to 16 bits at a 16-bit
 * operand size and must lie within the CS limit (#GP(0)); the stack is
 * SS:ESP or SS:SP with its limit checked (#SS(0)), through emulate.c's
 * helpers.  Nothing changes unless everything succeeds: a fault leaves
 * EIP on the instruction and ESP as it was.
 */
#include "vmm/emulate_impl.h"

/* The target of JMP/CALL r/m: a register or one read of operand size. */
static int rm_target(struct emu *e, uint32_t *eip)
{
	const struct insn_opnd *o = &e->in->opnd[0];

	if (o->kind == OPND_REG) {
		*eip = emu_get_reg(e->cpu, o);
		return 0;
	}
	return emu_read_mem(e, o, 0, o->size, eip);
}

static int in_cs(struct emu *e, uint32_t eip)
{
	return e->ops->sys->check_limit(e->ctx, SEG_CS, eip, 1);
}

/* C3: RET; C2 iw: RET imm16 (bytes released after the pop). */
enum emu_status emu_ret_near(struct emu *e)
{
	unsigned size = e->in->opsize;
	uint32_t pop = e->in->nopnd ? e->in->opnd[0].imm.value : 0;
	uint32_t eip;

	if (emu_stack_read(e, 0, size, &eip) || in_cs(e, eip))
		return EMU_FAULT;
	emu_stack_release(e->cpu, size + pop);
	e->cpu->eip = eip;
	return EMU_OK;
}

/* FF /4: JMP r/m16, JMP r/m32 */
enum emu_status emu_jmp_near(struct emu *e)
{
	uint32_t eip;

	if (rm_target(e, &eip) || in_cs(e, eip))
		return EMU_FAULT;
	e->cpu->eip = eip;
	return EMU_OK;
}

/* FF /2: CALL r/m16, CALL r/m32 — pushes the next instruction's
 * (E)IP, operand-size bytes. */
enum emu_status emu_call_near(struct emu *e)
{
	unsigned size = e->in->opsize;
	uint32_t eip;

	if (rm_target(e, &eip) || in_cs(e, eip) ||
	    emu_push(e, emu_next_eip(e), size, size))
		return EMU_FAULT;
	e->cpu->eip = eip;
	return EMU_OK;
}
