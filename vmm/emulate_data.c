/*
 * emulate_data.c — the data-moving and ALU instructions: MOV, MOVZX/MOVSX,
 * XCHG, CMPXCHG, XADD, ADD..CMP, TEST, INC/DEC, NOT/NEG, BT/BTS/BTR/BTC,
 * and the string moves MOVS and STOS.  The monitor emulates them when
 * guest code touches memory that is not plain RAM: device registers
 * (MMIO) and write-traced guest page tables.
 *
 * Memory is touched exactly as the instruction touches the bus, because
 * behind ops->read / ops->write may be a device register: one access of
 * the operand's size per read and per write.  A read-modify-write is one
 * read, then one write (CMPXCHG writes back the old value when the
 * compare fails, as the SDM says the processor does); CMP, TEST and BT
 * only read, MOV to memory only writes.  Every memory access comes
 * before any register or flag changes, so a fault leaves the guest as
 * the instruction found it; string moves keep the iterations done, as
 * emulate_io.c's INS/OUTS do.
 *
 * EFLAGS are computed in C from operands and result, as the SDM defines
 * them, and only the arithmetic flags the instruction writes change:
 * CF PF AF ZF SF OF, but not CF for INC/DEC, only CF for BT*, none for
 * NOT.  Flags the SDM leaves undefined: AND/OR/XOR/TEST clear AF (as
 * Intel and AMD parts do), BT* leave OF SF AF PF alone.
 *
 * LOCK is accepted and needs nothing here for MMIO; atomicity of an
 * emulated locked RMW on RAM against other vCPUs is the callbacks'
 * concern.
 */
#include "vmm/emulate_impl.h"

#define EFLAGS_ARITH (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | \
                      EFLAGS_SF | EFLAGS_OF)

/* The two-operand ALU ops in /digit order (80-83 group), as INSN_ADD.. */
enum alu { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR,
           ALU_CMP };

static uint32_t mask_of(unsigned size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static uint32_t sign_of(unsigned size)
{
	return 1u << (8 * size - 1);
}

/* ---- operands ---- */

/* Operand o: a register, an immediate, or one read of o->size bytes at
 * o + off.  0, or -1 if the read faulted. */
static int get(struct emu *e, const struct insn_opnd *o, uint32_t off,
               uint32_t *v)
{
	if (o->kind == OPND_REG) {
		*v = emu_get_reg(e->cpu, o);
		return 0;
	}
	if (o->kind == OPND_IMM) {
		*v = o->imm.value;
		return 0;
	}
	return emu_read_mem(e, o, off, o->size, v);
}

/* Assigns operand o: a register, or one write of o->size bytes at
 * o + off.  0, or -1 if the write faulted. */
static int put(struct emu *e, const struct insn_opnd *o, uint32_t off,
               uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	                 (uint8_t)(v >> 24) };

	if (o->kind == OPND_REG) {
		emu_set_reg(e->cpu, o, v);
		return 0;
	}
	return e->ops->write(e->ctx, emu_linear(e, o, off), b, o->size);
}

/* ---- flags ---- */

/* ZF, SF and PF (even parity of the low byte) of result r. */
static uint32_t zsp(uint32_t r, unsigned size)
{
	uint32_t f = __builtin_parity(r & 0xffu) ? 0 : EFLAGS_PF;

	if (!(r & mask_of(size)))
		f |= EFLAGS_ZF;
	if (r & sign_of(size))
		f |= EFLAGS_SF;
	return f;
}

/* a + b + cin (cin 0 or 1); the arithmetic flags in *fl. */
static uint32_t add(uint32_t a, uint32_t b, uint32_t cin, unsigned size,
                    uint32_t *fl)
{
	uint32_t m = mask_of(size), r;

	a &= m;
	b &= m;
	r = (a + b + cin) & m;
	*fl = zsp(r, size) | ((a ^ b ^ r) & EFLAGS_AF);
	if ((uint64_t)a + b + cin > m)
		*fl |= EFLAGS_CF;
	if ((a ^ r) & (b ^ r) & sign_of(size))
		*fl |= EFLAGS_OF;
	return r;
}

/* a - b - bin (bin 0 or 1); the arithmetic flags in *fl. */
static uint32_t sub(uint32_t a, uint32_t b, uint32_t bin, unsigned size,
                    uint32_t *fl)
{
	uint32_t m = mask_of(size), r;

	a &= m;
	b &= m;
	r = (a - b - bin) & m;
	*fl = zsp(r, size) | ((a ^ b ^ r) & EFLAGS_AF);
	if ((uint64_t)b + bin > a)
		*fl |= EFLAGS_CF;
	if ((a ^ b) & (a ^ r) & sign_of(size))
		*fl |= EFLAGS_OF;
	return r;
}

/* a OP b; *fl holds EFLAGS on entry (ADC/SBB take CF from it) and the
 * new arithmetic flags on return. */
static uint32_t alu(enum alu op, uint32_t a, uint32_t b, unsigned size,
                    uint32_t *fl)
{
	uint32_t c = *fl & EFLAGS_CF, r;

	switch (op) {
	case ALU_ADD: return add(a, b, 0, size, fl);
	case ALU_ADC: return add(a, b, c, size, fl);
	case ALU_SBB: return sub(a, b, c, size, fl);
	case ALU_SUB:
	case ALU_CMP: return sub(a, b, 0, size, fl);
	case ALU_OR:  r = a | b; break;
	case ALU_AND: r = a & b; break;
	default:      r = a ^ b; break;
	}
	r &= mask_of(size);
	*fl = zsp(r, size);                 /* CF, OF (and AF) clear */
	return r;
}

/* Replaces the flags in `which` by those of fl. */
static void set_flags(struct emu_cpu *c, uint32_t fl, uint32_t which)
{
	c->eflags = (c->eflags & ~which) | (fl & which);
}

/* ---- moves ---- */

/* 88/89 /r: MOV r/m, r; 8A/8B /r: MOV r, r/m; C6 /0 ib, C7 /0 iw/id:
 * MOV r/m, imm; A0/A1: MOV AL/eAX, moffs; A2/A3: MOV moffs, AL/eAX. */
enum emu_status emu_mov(struct emu *e)
{
	uint32_t v;

	if (get(e, &e->in->opnd[1], 0, &v) || put(e, &e->in->opnd[0], 0, v))
		return EMU_FAULT;
	return EMU_OK;
}

/* 0F B6/B7 /r: MOVZX r, r/m8/16; 0F BE/BF /r: MOVSX r, r/m8/16. */
enum emu_status emu_movx(struct emu *e)
{
	const struct insn_opnd *s = &e->in->opnd[1];
	uint32_t v;

	if (get(e, s, 0, &v))
		return EMU_FAULT;
	if (e->in->op == INSN_MOVSX && (v & sign_of(s->size)))
		v |= ~mask_of(s->size);
	put(e, &e->in->opnd[0], 0, v);      /* a register */
	return EMU_OK;
}

/* 86/87 /r: XCHG r/m, r (LOCK implied with memory). */
enum emu_status emu_xchg(struct emu *e)
{
	const struct insn_opnd *d = &e->in->opnd[0], *s = &e->in->opnd[1];
	uint32_t a, b;

	if (get(e, d, 0, &a) || get(e, s, 0, &b) || put(e, d, 0, b))
		return EMU_FAULT;
	put(e, s, 0, a);
	return EMU_OK;
}

/* 0F C0/C1 /r: XADD r/m, r.  TEMP = SRC + DEST; SRC = DEST; DEST = TEMP
 * (in that order: XADD r, r with one register leaves the sum). */
enum emu_status emu_xadd(struct emu *e)
{
	const struct insn_opnd *d = &e->in->opnd[0], *s = &e->in->opnd[1];
	uint32_t a, b, r, fl;

	if (get(e, d, 0, &a) || get(e, s, 0, &b))
		return EMU_FAULT;
	r = add(a, b, 0, d->size, &fl);
	if (d->kind == OPND_MEM && put(e, d, 0, r))
		return EMU_FAULT;
	put(e, s, 0, a);
	if (d->kind != OPND_MEM)
		put(e, d, 0, r);
	set_flags(e->cpu, fl, EFLAGS_ARITH);
	return EMU_OK;
}

/* 0F B0/B1 /r: CMPXCHG r/m, r.  Flags as CMP accumulator, DEST; equal:
 * DEST = SRC; else accumulator = DEST, and memory gets its old value
 * back (the processor always writes). */
enum emu_status emu_cmpxchg(struct emu *e)
{
	const struct insn_opnd *d = &e->in->opnd[0], *s = &e->in->opnd[1];
	struct insn_opnd acc = { .kind = OPND_REG, .size = d->size,
	                         .reg = { R_EAX, false } };
	uint32_t a = emu_get_reg(e->cpu, &acc), v, src, fl;

	if (get(e, d, 0, &v) || get(e, s, 0, &src))
		return EMU_FAULT;
	sub(a, v, 0, d->size, &fl);
	if (fl & EFLAGS_ZF) {
		if (put(e, d, 0, src))
			return EMU_FAULT;
	} else {
		if (d->kind == OPND_MEM && put(e, d, 0, v))
			return EMU_FAULT;
		emu_set_reg(e->cpu, &acc, v);
	}
	set_flags(e->cpu, fl, EFLAGS_ARITH);
	return EMU_OK;
}

/* ---- arithmetic and logic ---- */

/* 00-03, 08-0B, 10-13, 18-1B, 20-23, 28-2B, 30-33, 38-3B /r and
 * 80-83 /0-/7: ADD OR ADC SBB AND SUB XOR CMP, r/m, r/imm or r, r/m. */
enum emu_status emu_alu(struct emu *e)
{
	const struct insn_opnd *d = &e->in->opnd[0], *s = &e->in->opnd[1];
	enum alu op = (enum alu)(e->in->op - INSN_ADD);
	uint32_t a, b, r, fl = e->cpu->eflags;

	if (get(e, d, 0, &a) || get(e, s, 0, &b))
		return EMU_FAULT;
	r = alu(op, a, b, d->size, &fl);
	if (op != ALU_CMP && put(e, d, 0, r))
		return EMU_FAULT;
	set_flags(e->cpu, fl, EFLAGS_ARITH);
	return EMU_OK;
}

/* 84/85 /r: TEST r/m, r; F6 /0 ib, F7 /0 iw/id: TEST r/m, imm. */
enum emu_status emu_test(struct emu *e)
{
	uint32_t a, b, fl = 0;

	if (get(e, &e->in->opnd[0], 0, &a) || get(e, &e->in->opnd[1], 0, &b))
		return EMU_FAULT;
	alu(ALU_AND, a, b, e->in->opnd[0].size, &fl);
	set_flags(e->cpu, fl, EFLAGS_ARITH);
	return EMU_OK;
}

/* FE/FF /0: INC r/m; FE/FF /1: DEC r/m (CF kept); F6/F7 /2: NOT r/m
 * (no flags); F6/F7 /3: NEG r/m (flags of 0 - DEST). */
enum emu_status emu_unary(struct emu *e)
{
	const struct insn_opnd *d = &e->in->opnd[0];
	uint32_t a, r, fl = 0, which = EFLAGS_ARITH & ~EFLAGS_CF;

	if (get(e, d, 0, &a))
		return EMU_FAULT;
	switch (e->in->op) {
	case INSN_INC: r = add(a, 1, 0, d->size, &fl); break;
	case INSN_DEC: r = sub(a, 1, 0, d->size, &fl); break;
	case INSN_NEG:
		r = sub(0, a, 0, d->size, &fl);
		which = EFLAGS_ARITH;
		break;
	default:
		r = ~a;
		which = 0;
		break;
	}
	if (put(e, d, 0, r))
		return EMU_FAULT;
	set_flags(e->cpu, fl, which);
	return EMU_OK;
}

/* ---- bit tests ---- */

/* Byte displacement of the operand-sized chunk that holds bit `bitoff`
 * (a signed register value) of a memory bit string starting at the
 * operand: size * floor(bitoff / (8 * size)). */
static uint32_t bit_disp(uint32_t bitoff, unsigned size)
{
	int32_t n = size == 2 ? (int16_t)bitoff : (int32_t)bitoff;

	return (uint32_t)((n >> (size == 2 ? 4 : 5)) * (int32_t)size);
}

/* 0F A3/AB/B3/BB /r: BT/BTS/BTR/BTC r/m, r; 0F BA /4-/7 ib: the same
 * with imm8.  The bit offset is taken modulo the operand size, except
 * a register offset into memory, which addresses the whole bit string
 * (negative offsets included): the processor then reads the
 * operand-sized chunk that holds the bit.  CF = the bit. */
enum emu_status emu_bt(struct emu *e)
{
	const struct insn_opnd *d = &e->in->opnd[0], *s = &e->in->opnd[1];
	uint32_t bit = s->kind == OPND_IMM ? s->imm.value
	                                   : emu_get_reg(e->cpu, s);
	uint32_t off = 0, v, r;

	if (d->kind == OPND_MEM && s->kind == OPND_REG)
		off = bit_disp(bit, d->size);
	bit &= 8u * d->size - 1;
	if (get(e, d, off, &v))
		return EMU_FAULT;
	switch (e->in->op) {
	case INSN_BTS: r = v | 1u << bit; break;
	case INSN_BTR: r = v & ~(1u << bit); break;
	case INSN_BTC: r = v ^ 1u << bit; break;
	default:       r = v; break;
	}
	if (e->in->op != INSN_BT && put(e, d, off, r))
		return EMU_FAULT;
	set_flags(e->cpu, (v >> bit) & 1, EFLAGS_CF);
	return EMU_OK;
}

/* ---- string moves ---- */




/* One MOVS element: DS:(E)SI (or the override segment) to ES:(E)DI. */
static int movs_once(struct emu *e, uint32_t amask)
{
	struct emu_cpu *c = e->cpu;
	unsigned size = e->in->opsize;
	int seg = e->in->seg_override >= 0 ? e->in->seg_override : SEG_DS;
	uint32_t src = c->seg_base[seg] + (c->gpr[R_ESI] & amask);
	uint32_t dst = c->seg_base[SEG_ES] + (c->gpr[R_EDI] & amask);
	uint8_t b[4];

	if (e->ops->read(e->ctx, src, b, size) ||
	    e->ops->write(e->ctx, dst, b, size))
		return -1;
	emu_step_reg(&c->gpr[R_ESI], emu_stride(e), amask);
	emu_step_reg(&c->gpr[R_EDI], emu_stride(e), amask);
	return 0;
}

/* One STOS element: AL/AX/EAX to ES:(E)DI (ES cannot be overridden). */
static int stos_once(struct emu *e, uint32_t amask)
{
	struct emu_cpu *c = e->cpu;
	uint32_t v = c->gpr[R_EAX];
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	                 (uint8_t)(v >> 24) };
	uint32_t dst = c->seg_base[SEG_ES] + (c->gpr[R_EDI] & amask);

	if (e->ops->write(e->ctx, dst, b, e->in->opsize))
		return -1;
	emu_step_reg(&c->gpr[R_EDI], emu_stride(e), amask);
	return 0;
}


/* A4: MOVSB; A5: MOVSW/MOVSD; segment prefix overrides DS; F3/F2 REP. */
enum emu_status emu_movs(struct emu *e)
{
	return emu_string_op(e, movs_once);
}

/* AA: STOSB; AB: STOSW/STOSD; F3/F2 REP. */
enum emu_status emu_stos(struct emu *e)
{
	return emu_string_op(e, stos_once);
}

/* FF /6: PUSH r/m16/32.  The operand is read before ESP moves (an ESP
 * base addresses the old top). */
enum emu_status emu_push_rm(struct emu *e)
{
	const struct insn_opnd *o = &e->in->opnd[0];
	uint32_t v;

	if (!e->ops->sys)               /* the stack's limit check */
		return EMU_UNSUPPORTED;
	if (get(e, o, 0, &v) || emu_push(e, v, o->size, o->size))
		return EMU_FAULT;
	return EMU_OK;
}

/* 8F /0: POP r/m16/32.  An ESP base addresses the destination after ESP
 * moved up (SDM); a faulting store leaves ESP as it was. */
enum emu_status emu_pop_rm(struct emu *e)
{
	const struct insn_opnd *o = &e->in->opnd[0];
	uint32_t v, esp = e->cpu->gpr[R_ESP];

	if (!e->ops->sys)
		return EMU_UNSUPPORTED;
	if (emu_stack_read(e, 0, o->size, &v))
		return EMU_FAULT;
	emu_stack_release(e->cpu, o->size);
	if (put(e, o, 0, v)) {
		e->cpu->gpr[R_ESP] = esp;
		return EMU_FAULT;
	}
	return EMU_OK;
}
