/*
 * iret.c — IRET/IRETD in protected mode (SDM vol. 2 "IRET/IRETD"
 * pseudo-code, vol. 3A 6.12.1): return to the same level, or to an outer
 * one with the SS:ESP popped from the frame and DS/ES/FS/GS the new CPL
 * may not use nulled.  Task returns (NT = 1) and returns to virtual-8086
 * mode are unsupported.
 */
#include "vmm/desc_impl.h"

/* Bits IRET takes from the popped image at any CPL:
 * CF PF AF ZF SF TF DF OF NT. */
#define IRET_ALWAYS 0x4DD5u

/* vol. 2 IRET RETURN-TO-SAME/OUTER-PRIVILEGE-LEVEL: RF AC ID with a
 * 32-bit operand; IF only if CPL <= IOPL; IOPL (and VIF VIP) only at
 * CPL 0.  `cpl` is the CPL before the return. */
static uint32_t iret_flags(uint32_t old, uint32_t img, int cpl,
                           unsigned opsize)
{
	uint32_t mask = IRET_ALWAYS;
	int iopl = (int)((old & EFLAGS_IOPL) >> 12);

	if (opsize == 4)
		mask |= EFLAGS_RF | EFLAGS_AC | EFLAGS_ID;
	if (cpl <= iopl)
		mask |= EFLAGS_IF;
	if (cpl == 0) {
		mask |= EFLAGS_IOPL;
		if (opsize == 4)
			mask |= EFLAGS_VIF | EFLAGS_VIP;
	}
	return (old & ~mask) | (img & mask) | 2;   /* bit 1 is always 1 */
}

struct iret_frame {
	uint32_t eip, cs, eflags, esp, ss;
	struct desc_ref dcs, dss;
	struct stk k;
	bool outer;
};

static enum cpu_result pop_n(const struct cpu_mem *m, struct stk *k,
                             uint32_t *const *v, unsigned n, unsigned opsize,
                             struct cpu_fault *f)
{
	enum cpu_result r;

	if ((r = stk_room_pop(k, n * opsize, f)) != CPU_OK)
		return r;
	for (unsigned i = 0; i < n; i++)
		if ((r = stk_pop(m, k, v[i], opsize, f)) != CPU_OK)
			return r;
	return CPU_OK;
}

/* Pop and check everything; change nothing. */
static enum cpu_result iret_check(const struct cpu_sys *s,
                                  const struct cpu_mem *m, unsigned opsize,
                                  struct iret_frame *fr, struct cpu_fault *f)
{
	uint32_t *head[] = { &fr->eip, &fr->cs, &fr->eflags };
	uint32_t *tail[] = { &fr->esp, &fr->ss };
	enum cpu_result r;
	unsigned rpl;

	if ((r = pop_n(m, &fr->k, head, 3, opsize, f)) != CPU_OK)
		return r;
	if (opsize == 4 && (fr->eflags & EFLAGS_VM) && s->cpl == 0)
		return desc_unsupported(f, "virtual-8086 mode");
	if ((r = desc_check_ret_cs(s, m, (uint16_t)fr->cs, &fr->dcs, f)) != CPU_OK)
		return r;
	rpl = fr->cs & 3;
	fr->outer = (int)rpl > s->cpl;
	if (fr->outer) {
		if (rpl != 3)
			return desc_unsupported(f, "CPL 1/2 unsupported");
		if ((r = pop_n(m, &fr->k, tail, 2, opsize, f)) != CPU_OK ||
		    (r = desc_check_ret_ss(s, m, (uint16_t)fr->ss, rpl, &fr->dss,
		                           f)) != CPU_OK)
			return r;
	}
	if (fr->eip > fr->dcs.cache.limit)
		return desc_fault(f, VEC_GP, 0, "IRET EIP past CS limit");
	if ((r = desc_set_accessed(m, &fr->dcs, f)) != CPU_OK)
		return r;
	if (fr->outer)
		return desc_set_accessed(m, &fr->dss, f);
	return CPU_OK;
}

enum cpu_result cpu_iret(struct emu_cpu *c, struct cpu_sys *s,
                         const struct cpu_mem *m, unsigned opsize,
                         struct cpu_fault *f)
{
	struct iret_frame fr = { .k = { &s->seg[SEG_SS], c->gpr[R_ESP], 0 } };
	enum cpu_result r;

	if (opsize != 2 && opsize != 4)
		return desc_unsupported(f, "IRET operand size");
	if (c->eflags & EFLAGS_NT)
		return desc_unsupported(f, "task return");
	if ((r = iret_check(s, m, opsize, &fr, f)) != CPU_OK)
		return r;
	c->eflags = iret_flags(c->eflags, fr.eflags, s->cpl, opsize);
	c->eip = fr.eip;
	desc_commit(c, s, SEG_CS, &fr.dcs.cache);
	if (!fr.outer) {
		c->gpr[R_ESP] = fr.k.esp;
		return CPU_OK;
	}
	s->cpl = (int)(fr.cs & 3);
	desc_commit(c, s, SEG_SS, &fr.dss.cache);
	c->gpr[R_ESP] = fr.esp;
	desc_null_data_segs(c, s, s->cpl);
	return CPU_OK;
}
