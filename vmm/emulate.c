/*
 * emulate.c — emu_step: fetch, decode and carry out the one instruction at
 * the guest's CS:EIP, reaching memory, ports and the machine only through
 * `struct emu_ops`.  It holds no state of its own; everything is in the
 * caller's `struct emu_cpu`, so one emulator serves any number of vCPUs
 * and the unit tests drive it with stubs.
 *
 * The instruction is fetched once (one 15-byte read, byte by byte only if
 * that faults near the end of mapped memory) and decoded by scan/.  Its
 * semantics are looked up in a table keyed by the decoded operation,
 * which also says what the instruction demands before it runs: ops->sys
 * (system and segment instructions), CPL 0, or CPL <= IOPL.  The
 * handlers live one file per class: emulate_io.c, emulate_system.c,
 * emulate_segment.c, emulate_data.c, emulate_sensitive.c (PUSHF/POPF,
 * the stores of system registers, Sreg reads, CPUID, RDTSC),
 * emulate_verify.c (LAR/LSL/VERR/VERW) and emulate_branch.c (near
 * RET/JMP/CALL); this file also has the operand and stack helpers they
 * share.
 *
 * Retiring: on EMU_OK and EMU_HLT EIP moves past the instruction, except
 * after a control transfer (JMP/CALL/RET far and near, IRET, SYSENTER,
 * SYSEXIT), which has set EIP itself.  On anything else EIP is unchanged.
 *
 * On EMU_BAD insn->len is the number of bytes fetched (0 if the fetch
 * itself failed) and insn->bytes holds them, for the caller's report.
 *
 * Not done here: segment limits and rights on memory operands, TF,
 * alignment checks.
 */
#include "vmm/emulate_impl.h"

#include <string.h>

#define MAX_INSN_LEN 15
#define EFLAGS_IOPL_SHIFT 12

/* What an instruction demands before it touches anything. */
enum need {
	NEED_NONE,
	NEED_IOPL,      /* CPL <= IOPL, else #GP(0) */
	NEED_SYS,       /* ops->sys, else EMU_UNSUPPORTED */
	NEED_SYS_CPL0,  /* ops->sys, and CPL 0, else #GP(0) */
	NEED_DATA,      /* ops->data, else EMU_UNSUPPORTED */
};

struct rule {
	emu_fn fn;
	uint8_t need;           /* enum need */
	bool transfer;          /* sets EIP itself: do not retire */
};

static const struct rule rules[INSN_OP_COUNT] = {
	[INSN_IN]          = { emu_in, NEED_IOPL, false },
	[INSN_OUT]         = { emu_out, NEED_IOPL, false },
	[INSN_INS]         = { emu_ins, NEED_IOPL, false },
	[INSN_OUTS]        = { emu_outs, NEED_IOPL, false },
	[INSN_CLI]         = { emu_cli, NEED_IOPL, false },
	[INSN_STI]         = { emu_sti, NEED_IOPL, false },
	[INSN_HLT]         = { emu_hlt, NEED_NONE, false },  /* CPL: below */
	[INSN_LGDT]        = { emu_lgdt, NEED_SYS_CPL0, false },
	[INSN_LIDT]        = { emu_lidt, NEED_SYS_CPL0, false },
	[INSN_LMSW]        = { emu_lmsw, NEED_SYS_CPL0, false },
	[INSN_INVLPG]      = { emu_invlpg, NEED_SYS_CPL0, false },
	[INSN_LLDT]        = { emu_lldt, NEED_SYS_CPL0, false },
	[INSN_LTR]         = { emu_ltr, NEED_SYS_CPL0, false },
	[INSN_MOV_FROM_CR] = { emu_mov_from_cr, NEED_SYS_CPL0, false },
	[INSN_MOV_TO_CR]   = { emu_mov_to_cr, NEED_SYS_CPL0, false },
	[INSN_MOV_FROM_DR] = { emu_mov_from_dr, NEED_SYS_CPL0, false },
	[INSN_MOV_TO_DR]   = { emu_mov_to_dr, NEED_SYS_CPL0, false },
	[INSN_CLTS]        = { emu_clts, NEED_SYS_CPL0, false },
	[INSN_INVD]        = { emu_wbinvd, NEED_SYS_CPL0, false },
	[INSN_WBINVD]      = { emu_wbinvd, NEED_SYS_CPL0, false },
	[INSN_RDMSR]       = { emu_rdmsr, NEED_SYS_CPL0, false },
	[INSN_WRMSR]       = { emu_wrmsr, NEED_SYS_CPL0, false },
	[INSN_RDPMC]       = { emu_rdpmc, NEED_SYS, false },
	[INSN_MOV_TO_SREG] = { emu_mov_to_sreg, NEED_SYS, false },
	[INSN_POP_SREG]    = { emu_pop_sreg, NEED_SYS, false },
	[INSN_LDS]         = { emu_load_far, NEED_SYS, false },
	[INSN_LES]         = { emu_load_far, NEED_SYS, false },
	[INSN_LSS]         = { emu_load_far, NEED_SYS, false },
	[INSN_LFS]         = { emu_load_far, NEED_SYS, false },
	[INSN_LGS]         = { emu_load_far, NEED_SYS, false },
	[INSN_JMP_FAR]     = { emu_jmp_far, NEED_SYS, true },
	[INSN_CALL_FAR]    = { emu_call_far, NEED_SYS, true },
	[INSN_RET_FAR]     = { emu_ret_far, NEED_SYS, true },
	[INSN_IRET]        = { emu_iret, NEED_SYS, true },
	[INSN_SYSENTER]    = { emu_sysenter, NEED_SYS, true },
	[INSN_SYSEXIT]     = { emu_sysexit, NEED_SYS, true },   /* CPL: sys */
	[INSN_MOV]         = { emu_mov, NEED_DATA, false },
	[INSN_MOVZX]       = { emu_movx, NEED_DATA, false },
	[INSN_MOVSX]       = { emu_movx, NEED_DATA, false },
	[INSN_XCHG]        = { emu_xchg, NEED_DATA, false },
	[INSN_CMPXCHG]     = { emu_cmpxchg, NEED_DATA, false },
	[INSN_XADD]        = { emu_xadd, NEED_DATA, false },
	[INSN_ADD]         = { emu_alu, NEED_DATA, false },
	[INSN_OR]          = { emu_alu, NEED_DATA, false },
	[INSN_ADC]         = { emu_alu, NEED_DATA, false },
	[INSN_SBB]         = { emu_alu, NEED_DATA, false },
	[INSN_AND]         = { emu_alu, NEED_DATA, false },
	[INSN_SUB]         = { emu_alu, NEED_DATA, false },
	[INSN_XOR]         = { emu_alu, NEED_DATA, false },
	[INSN_CMP]         = { emu_alu, NEED_DATA, false },
	[INSN_TEST]        = { emu_test, NEED_DATA, false },
	[INSN_INC]         = { emu_unary, NEED_DATA, false },
	[INSN_DEC]         = { emu_unary, NEED_DATA, false },
	[INSN_NOT]         = { emu_unary, NEED_DATA, false },
	[INSN_NEG]         = { emu_unary, NEED_DATA, false },
	[INSN_BT]          = { emu_bt, NEED_DATA, false },
	[INSN_BTS]         = { emu_bt, NEED_DATA, false },
	[INSN_BTR]         = { emu_bt, NEED_DATA, false },
	[INSN_BTC]         = { emu_bt, NEED_DATA, false },
	[INSN_MOVS]        = { emu_movs, NEED_DATA, false },
	[INSN_STOS]        = { emu_stos, NEED_DATA, false },
	[INSN_PUSH_RM]     = { emu_push_rm, NEED_DATA, false },
	[INSN_POP_RM]      = { emu_pop_rm, NEED_DATA, false },
	[INSN_PUSHF]       = { emu_pushf, NEED_SYS, false },
	[INSN_POPF]        = { emu_popf, NEED_SYS, false },
	[INSN_SGDT]        = { emu_sgdt, NEED_SYS, false },
	[INSN_SIDT]        = { emu_sgdt, NEED_SYS, false },
	[INSN_SMSW]        = { emu_smsw, NEED_SYS, false },
	[INSN_SLDT]        = { emu_sldt, NEED_SYS, false },
	[INSN_STR]         = { emu_sldt, NEED_SYS, false },
	[INSN_VERR]        = { emu_verr, NEED_SYS, false },
	[INSN_VERW]        = { emu_verr, NEED_SYS, false },
	[INSN_LAR]         = { emu_lar, NEED_SYS, false },
	[INSN_LSL]         = { emu_lar, NEED_SYS, false },
	[INSN_MOV_FROM_SREG] = { emu_mov_from_sreg, NEED_SYS, false },
	[INSN_PUSH_SREG]   = { emu_push_sreg, NEED_SYS, false },
	[INSN_CPUID]       = { emu_cpuid, NEED_SYS, false },
	[INSN_RDTSC]       = { emu_rdtsc, NEED_SYS, false },
	[INSN_RET_NEAR]    = { emu_ret_near, NEED_SYS, true },
	[INSN_JMP_NEAR]    = { emu_jmp_near, NEED_SYS, true },
	[INSN_CALL_NEAR]   = { emu_call_near, NEED_SYS, true },
};

enum emu_status emu_raise(struct emu *e, int vector, uint32_t error)
{
	if (!e->ops->raise)
		return EMU_UNSUPPORTED;
	e->ops->raise(e->ctx, vector, error);
	return EMU_FAULT;
}

uint32_t emu_linear(const struct emu *e, const struct insn_opnd *o,
                    uint32_t off)
{
	const struct emu_cpu *c = e->cpu;
	uint32_t ea = o->mem.disp;

	if (o->mem.base != INSN_NO_REG)
		ea += c->gpr[o->mem.base];
	if (o->mem.index != INSN_NO_REG)
		ea += c->gpr[o->mem.index] * o->mem.scale;
	if (o->mem.addrsize == 16)
		ea &= 0xffffu;
	/* The parts of a multi-byte operand follow in linear memory, even
	 * where a 16-bit effective address would have wrapped. */
	return c->seg_base[o->mem.seg] + ea + off;
}

int emu_read_mem(struct emu *e, const struct insn_opnd *o, uint32_t off,
                 unsigned len, uint32_t *val)
{
	uint8_t b[4] = { 0 };

	if (e->ops->read(e->ctx, emu_linear(e, o, off), b, len))
		return -1;
	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
	return 0;
}

uint32_t emu_get_reg(const struct emu_cpu *c, const struct insn_opnd *o)
{
	if (o->size == 1)
		return o->reg.high ? (c->gpr[o->reg.num - 4] >> 8) & 0xffu
		                   : c->gpr[o->reg.num] & 0xffu;
	return o->size == 2 ? c->gpr[o->reg.num] & 0xffffu : c->gpr[o->reg.num];
}

void emu_set_reg(struct emu_cpu *c, const struct insn_opnd *o, uint32_t v)
{
	uint32_t *r;

	if (o->size == 1 && o->reg.high) {
		r = &c->gpr[o->reg.num - 4];
		*r = (*r & ~0xff00u) | (v & 0xffu) << 8;
		return;
	}
	r = &c->gpr[o->reg.num];
	if (o->size == 1)
		*r = (*r & ~0xffu) | (v & 0xffu);
	else if (o->size == 2)
		*r = (*r & ~0xffffu) | (v & 0xffffu);
	else
		*r = v;
}

int emu_src16(struct emu *e, const struct insn_opnd *o, uint16_t *v)
{
	uint32_t x;

	if (o->kind == OPND_MEM) {
		if (emu_read_mem(e, o, 0, 2, &x))
			return -1;
	} else {
		x = e->cpu->gpr[o->reg.num];
	}
	*v = (uint16_t)x;
	return 0;
}

int emu_dst16(struct emu *e, const struct insn_opnd *o, uint32_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	if (o->kind == OPND_MEM)
		return e->ops->write(e->ctx, emu_linear(e, o, 0), b, 2);
	emu_set_reg(e->cpu, o, v);
	return 0;
}

uint32_t emu_stack_mask(const struct emu_cpu *c)
{
	return c->ss16 ? 0xffffu : 0xffffffffu;
}

int emu_stack_read(struct emu *e, uint32_t off, unsigned size,
                   uint32_t *val)
{
	const struct emu_cpu *c = e->cpu;
	uint32_t sp = (c->gpr[R_ESP] + off) & emu_stack_mask(c);
	uint8_t b[4] = { 0 };

	if (e->ops->sys->check_limit(e->ctx, SEG_SS, sp, size) ||
	    e->ops->read(e->ctx, c->seg_base[SEG_SS] + sp, b, size))
		return -1;
	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
	return 0;
}

int emu_push(struct emu *e, uint32_t val, unsigned size, unsigned len)
{
	struct emu_cpu *c = e->cpu;
	uint32_t mask = emu_stack_mask(c), sp = (c->gpr[R_ESP] - size) & mask;
	uint8_t b[4] = { (uint8_t)val, (uint8_t)(val >> 8),
	                 (uint8_t)(val >> 16), (uint8_t)(val >> 24) };

	if (e->ops->sys->check_limit(e->ctx, SEG_SS, sp, size) ||
	    e->ops->write(e->ctx, c->seg_base[SEG_SS] + sp, b, len))
		return -1;
	c->gpr[R_ESP] = (c->gpr[R_ESP] & ~mask) | sp;
	return 0;
}

void emu_stack_release(struct emu_cpu *c, uint32_t n)
{
	emu_step_reg(&c->gpr[R_ESP], n, emu_stack_mask(c));
}

uint32_t emu_next_eip(const struct emu *e)
{
	uint32_t eip = e->cpu->eip + e->in->len;

	return e->cpu->code32 ? eip : eip & 0xffffu;
}

/* Read up to 15 bytes at CS:EIP into buf; returns how many were read. */
static unsigned fetch(const struct emu_cpu *cpu, const struct emu_ops *ops,
                      void *ctx, uint8_t *buf)
{
	uint32_t lin = cpu->seg_base[SEG_CS] + cpu->eip;
	unsigned n;

	if (ops->read(ctx, lin, buf, MAX_INSN_LEN) == 0)
		return MAX_INSN_LEN;
	for (n = 0; n < MAX_INSN_LEN; n++)
		if (ops->read(ctx, lin + n, buf + n, 1))
			break;
	return n;
}

static unsigned iopl(const struct emu_cpu *cpu)
{
	return (cpu->eflags >> EFLAGS_IOPL_SHIFT) & 3;
}

/* The checks before the instruction runs: EMU_OK to go ahead. */
static enum emu_status admit(struct emu *e, const struct rule *r)
{
	const struct emu_cpu *c = e->cpu;
	bool cpl0 = r->need == NEED_SYS_CPL0 || e->in->op == INSN_HLT;

	if ((r->need == NEED_SYS || r->need == NEED_SYS_CPL0) && !e->ops->sys)
		return EMU_UNSUPPORTED;
	if (r->need == NEED_DATA && !e->ops->data)
		return EMU_UNSUPPORTED;
	if ((cpl0 && c->cpl != 0) || (r->need == NEED_IOPL && c->cpl > iopl(c)))
		return emu_raise(e, EMU_VEC_GP, 0);
	return EMU_OK;
}

static void retire(struct emu_cpu *cpu, unsigned len)
{
	cpu->eip += len;
	if (!cpu->code32)
		cpu->eip &= 0xffffu;
}

enum emu_status emu_step(struct emu_cpu *cpu, const struct emu_ops *ops,
                         void *ctx, struct insn *insn)
{
	struct insn local;
	struct insn *in = insn ? insn : &local;
	uint8_t buf[MAX_INSN_LEN];
	unsigned n = fetch(cpu, ops, ctx, buf);
	struct emu e = { .cpu = cpu, .ops = ops, .ctx = ctx, .in = in };
	const struct rule *r;
	enum emu_status st;

	if (scan_decode(buf, n, cpu->code32, in)) {
		in->len = (uint8_t)n;
		memcpy(in->bytes, buf, n);
		return EMU_BAD;
	}
	r = (size_t)in->op < INSN_OP_COUNT ? &rules[in->op] : NULL;
	if (!r || !r->fn)
		return EMU_UNSUPPORTED;
	st = admit(&e, r);
	if (st != EMU_OK)
		return st;
	st = r->fn(&e);
	if ((st == EMU_OK || st == EMU_HLT) && !r->transfer)
		retire(cpu, in->len);
	return st;
}

/* --- string instructions (INS/OUTS, MOVS/STOS) -------------------------- */

/* Bits of (E)SI/(E)DI/(E)CX the address size uses. */
uint32_t emu_addr_mask(const struct insn *in)
{
	return in->addrsize == 16 ? 0xffffu : 0xffffffffu;
}

/* reg += delta within the bits of mask; the bits above are preserved. */
void emu_step_reg(uint32_t *reg, uint32_t delta, uint32_t mask)
{
	*reg = (*reg & ~mask) | ((*reg + delta) & mask);
}

/* String element stride: +size, or -size with EFLAGS.DF set. */
uint32_t emu_stride(const struct emu *e)
{
	uint32_t size = e->in->opsize;

	return (e->cpu->eflags & EFLAGS_DF) ? -size : size;
}

/* Once, or with REP while (E)CX != 0, counting (E)CX down after each
 * element so that a fault leaves a restartable state. */
enum emu_status emu_string_op(struct emu *e,
                              int (*once)(struct emu *, uint32_t))
{
	uint32_t amask = emu_addr_mask(e->in);
	uint32_t *cx = &e->cpu->gpr[R_ECX];

	if (!e->in->rep)
		return once(e, amask) ? EMU_FAULT : EMU_OK;
	while (*cx & amask) {
		if (once(e, amask))
			return EMU_FAULT;
		emu_step_reg(cx, (uint32_t)-1, amask);
	}
	return EMU_OK;
}
