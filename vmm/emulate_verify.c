/*
 * emulate_verify.c — LAR, LSL, VERR and VERW: what a selector would give
 * at the current CPL, asked of the guest's own GDT and LDT (on the host
 * they would answer for the host's tables: a Popek-Goldberg hole).
 *
 * The checks are the SDM vol. 2 pseudo-code's, made here on the raw
 * descriptor that sys->read_desc fetches: a null selector, one past its
 * table's limit, a descriptor type the instruction does not accept, or
 * one not visible at max(CPL, RPL) (conforming code is visible at any
 * level) clears ZF and leaves the destination alone; otherwise ZF is set
 * and LAR/LSL write the destination.  No other flag changes, P is not
 * looked at, and nothing faults but the operand read and the table read
 * (#PF).
 *
 * LAR gives the descriptor's second doubleword masked by 00FxFF00H
 * (type, S, DPL, P, AVL, L, D/B, G): the SDM's x, the limit bits 19:16,
 * comes back 0 here.  With a 16-bit operand size the destination gets
 * its low word, masked by FF00H.  LSL gives the byte-granular limit (a
 * G = 1 limit scaled to (limit << 12) | FFFH), truncated to 16 bits at
 * a 16-bit operand size.
 */
#include "vmm/emulate_impl.h"

#define LAR_MASK 0x00f0ff00u

/* System descriptor types each accepts (bit n: type n; SDM vol. 2 LAR
 * and LSL tables, 32-bit mode): TSSs (available and busy, 16- and
 * 32-bit) and LDT for both; call and task gates for LAR only. */
#define LAR_SYSTEM_TYPES ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | \
                          (1u << 5) | (1u << 9) | (1u << 11) | (1u << 12))
#define LSL_SYSTEM_TYPES ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 9) | \
                          (1u << 11))

/* Fields of a raw descriptor (SDM vol. 3A 3.4.5). */
#define D_TYPE(r)  ((unsigned)((r) >> 40) & 0xfu)
#define D_S(r)     ((unsigned)((r) >> 44) & 1u)
#define D_DPL(r)   ((unsigned)((r) >> 45) & 3u)
#define D_G(r)     ((unsigned)((r) >> 55) & 1u)
#define T_CODE     0x8u
#define T_CONFORM  0x4u     /* code: conforming */
#define T_RW       0x2u     /* code: readable; data: writable */

/* The selector in r/m16 operand o and, if it is not null and lies
 * within its table, its descriptor: 1 with *raw, 0 when there is none
 * (ZF = 0), -1 on a fault. */
static int lookup(struct emu *e, const struct insn_opnd *o, uint16_t *sel,
                  uint64_t *raw)
{
	bool found;

	if (emu_src16(e, o, sel))
		return -1;
	if ((*sel & ~3u) == 0)
		return 0;
	if (e->ops->sys->read_desc(e->ctx, *sel, raw, &found))
		return -1;
	return found;
}

/* Visible at this CPL and the selector's RPL: DPL >= both, unless the
 * segment is conforming code. */
static bool visible(const struct emu_cpu *c, uint16_t sel, uint64_t raw)
{
	unsigned dpl = D_DPL(raw);

	if (D_S(raw) && (D_TYPE(raw) & (T_CODE | T_CONFORM)) ==
	                (T_CODE | T_CONFORM))
		return true;
	return c->cpl <= dpl && (sel & 3u) <= dpl;
}

static void set_zf(struct emu_cpu *c, bool ok)
{
	c->eflags = ok ? c->eflags | EFLAGS_ZF : c->eflags & ~EFLAGS_ZF;
}

/* 0F 02 /r: LAR r16/32, r16/32/m16; 0F 03 /r: LSL r16/32, r16/32/m16. */
enum emu_status emu_lar(struct emu *e)
{
	bool lar = e->in->op == INSN_LAR;
	uint16_t sel;
	uint64_t raw;
	uint32_t limit;
	int r = lookup(e, &e->in->opnd[1], &sel, &raw);

	if (r < 0)
		return EMU_FAULT;
	if (r && !D_S(raw))
		r = ((lar ? LAR_SYSTEM_TYPES : LSL_SYSTEM_TYPES) >> D_TYPE(raw)) & 1;
	if (r)
		r = visible(e->cpu, sel, raw);
	set_zf(e->cpu, r);
	if (!r)
		return EMU_OK;
	limit = (uint32_t)(raw & 0xffffu) | ((uint32_t)(raw >> 32) & 0xf0000u);
	if (D_G(raw))
		limit = limit << 12 | 0xfffu;
	emu_set_reg(e->cpu, &e->in->opnd[0],
	            lar ? (uint32_t)(raw >> 32) & LAR_MASK : limit);
	return EMU_OK;
}

/* 0F 00 /4: VERR r/m16 (data, or readable code); 0F 00 /5: VERW r/m16
 * (writable data).  System descriptors never qualify. */
enum emu_status emu_verr(struct emu *e)
{
	bool verr = e->in->op == INSN_VERR;
	uint16_t sel;
	uint64_t raw;
	unsigned type;
	int r = lookup(e, &e->in->opnd[0], &sel, &raw);

	if (r < 0)
		return EMU_FAULT;
	if (r) {
		type = D_TYPE(raw);
		r = D_S(raw) && visible(e->cpu, sel, raw) &&
		    (verr ? !(type & T_CODE) || (type & T_RW)
		          : !(type & T_CODE) && (type & T_RW));
	}
	set_zf(e->cpu, r);
	return EMU_OK;
}
