/*
 * far.c — far JMP, CALL and RET in protected mode (SDM vol. 2 "JMP",
 * "CALL", "RET" pseudo-code; vol. 3A 5.8).  Direct transfers to
 * conforming and non-conforming code segments; RET to the same or an
 * outer level.  Call gates, task gates and task switches through a TSS
 * are unsupported.
 */
#include "vmm/desc_impl.h"

/* vol. 2 JMP/CALL: null → #GP(0); past limit or not code/gate/TSS →
 * #GP(sel); conforming needs DPL <= CPL, non-conforming RPL <= CPL and
 * DPL = CPL (#GP(sel)); not present → #NP(sel). */
static enum cpu_result far_target(const struct cpu_sys *s,
                                  const struct cpu_mem *m, uint16_t sel,
                                  struct desc_ref *d, struct cpu_fault *f)
{
	uint16_t a;
	enum cpu_result r;

	if (sel_null(sel))
		return desc_fault(f, VEC_GP, 0, "far transfer to null selector");
	if ((r = desc_fetch(s, m, sel, VEC_GP, 0, d, f)) != CPU_OK)
		return r;
	a = d->cache.attr;
	if (!SEG_ATTR_S(a)) {
		switch (SEG_ATTR_TYPE(a)) {
		case 4: case 12: return desc_unsupported(f, "call gate");
		case 5:          return desc_unsupported(f, "task gate");
		case 1: case 9:  return desc_unsupported(f, "task switch");
		}
	}
	if (!attr_code(a))
		return desc_fault(f, VEC_GP, sel_err(sel), "far target not code");
	if (attr_conforming(a) ? (int)SEG_ATTR_DPL(a) > s->cpl
	                       : ((int)(sel & 3) > s->cpl ||
	                          (int)SEG_ATTR_DPL(a) != s->cpl))
		return desc_fault(f, VEC_GP, sel_err(sel), "far target privilege");
	if (!SEG_ATTR_P(a))
		return desc_fault(f, VEC_NP, sel_err(sel), "far target not present");
	return CPU_OK;
}

/* CS := target with RPL = CPL; EIP := off. */
static void enter_code(struct emu_cpu *c, struct cpu_sys *s,
                       struct desc_ref *d, uint32_t off)
{
	d->cache.sel = (uint16_t)(sel_err(d->cache.sel) | (unsigned)s->cpl);
	desc_commit(c, s, SEG_CS, &d->cache);
	c->eip = off;
}

enum cpu_result cpu_far_jmp(struct emu_cpu *c, struct cpu_sys *s,
                            const struct cpu_mem *m, uint16_t sel,
                            uint32_t off, struct cpu_fault *f)
{
	struct desc_ref d;
	enum cpu_result r;

	if ((r = far_target(s, m, sel, &d, f)) != CPU_OK)
		return r;
	if (off > d.cache.limit)
		return desc_fault(f, VEC_GP, 0, "JMP offset past CS limit");
	if ((r = desc_set_accessed(m, &d, f)) != CPU_OK)
		return r;
	enter_code(c, s, &d, off);
	return CPU_OK;
}

enum cpu_result cpu_far_call(struct emu_cpu *c, struct cpu_sys *s,
                             const struct cpu_mem *m, uint16_t sel,
                             uint32_t off, unsigned opsize,
                             struct cpu_fault *f)
{
	struct stk k = { &s->seg[SEG_SS], c->gpr[R_ESP], 0 };
	struct desc_ref d;
	enum cpu_result r;

	if ((r = far_target(s, m, sel, &d, f)) != CPU_OK ||
	    (r = stk_room_push(&k, 2 * opsize, f)) != CPU_OK)
		return r;
	if (off > d.cache.limit)
		return desc_fault(f, VEC_GP, 0, "CALL offset past CS limit");
	if ((r = stk_push(m, &k, s->seg[SEG_CS].sel, opsize, f)) != CPU_OK ||
	    (r = stk_push(m, &k, c->eip, opsize, f)) != CPU_OK ||
	    (r = desc_set_accessed(m, &d, f)) != CPU_OK)
		return r;
	c->gpr[R_ESP] = k.esp;
	enter_code(c, s, &d, off);
	return CPU_OK;
}

struct ret_frame {
	uint32_t eip, cs, esp, ss;
	struct desc_ref dcs, dss;
	struct stk k;
	bool outer;
};

/* vol. 2 RET RETURN-TO-OUTER-PRIVILEGE-LEVEL: release the parameters,
 * pop ESP and SS, check SS. */
static enum cpu_result ret_outer(const struct cpu_sys *s,
                                 const struct cpu_mem *m, unsigned pop_bytes,
                                 unsigned opsize, struct ret_frame *fr,
                                 struct cpu_fault *f)
{
	enum cpu_result r;

	if ((r = stk_room_pop(&fr->k, pop_bytes + 2 * opsize, f)) != CPU_OK)
		return r;
	fr->k.esp = stk_add(fr->k.ss, fr->k.esp, pop_bytes);
	if ((r = stk_pop(m, &fr->k, &fr->esp, opsize, f)) != CPU_OK ||
	    (r = stk_pop(m, &fr->k, &fr->ss, opsize, f)) != CPU_OK)
		return r;
	return desc_check_ret_ss(s, m, (uint16_t)fr->ss, fr->cs & 3, &fr->dss, f);
}

/* Pop and check everything; change nothing. */
static enum cpu_result ret_check(const struct cpu_sys *s,
                                 const struct cpu_mem *m, unsigned pop_bytes,
                                 unsigned opsize, struct ret_frame *fr,
                                 struct cpu_fault *f)
{
	enum cpu_result r;
	unsigned rpl;

	if ((r = stk_room_pop(&fr->k, 2 * opsize, f)) != CPU_OK ||
	    (r = stk_pop(m, &fr->k, &fr->eip, opsize, f)) != CPU_OK ||
	    (r = stk_pop(m, &fr->k, &fr->cs, opsize, f)) != CPU_OK ||
	    (r = desc_check_ret_cs(s, m, (uint16_t)fr->cs, &fr->dcs, f)) != CPU_OK)
		return r;
	rpl = fr->cs & 3;
	fr->outer = (int)rpl > s->cpl;
	if (fr->outer && rpl != 3)
		return desc_unsupported(f, "CPL 1/2 unsupported");
	if (fr->outer && (r = ret_outer(s, m, pop_bytes, opsize, fr, f)) != CPU_OK)
		return r;
	if (fr->eip > fr->dcs.cache.limit)
		return desc_fault(f, VEC_GP, 0, "RET EIP past CS limit");
	if ((r = desc_set_accessed(m, &fr->dcs, f)) != CPU_OK)
		return r;
	return fr->outer ? desc_set_accessed(m, &fr->dss, f) : CPU_OK;
}

enum cpu_result cpu_far_ret(struct emu_cpu *c, struct cpu_sys *s,
                            const struct cpu_mem *m, unsigned pop_bytes,
                            unsigned opsize, struct cpu_fault *f)
{
	struct ret_frame fr = { .k = { &s->seg[SEG_SS], c->gpr[R_ESP], 0 } };
	enum cpu_result r;

	if ((r = ret_check(s, m, pop_bytes, opsize, &fr, f)) != CPU_OK)
		return r;
	c->eip = fr.eip;
	desc_commit(c, s, SEG_CS, &fr.dcs.cache);
	if (!fr.outer) {
		c->gpr[R_ESP] = stk_add(fr.k.ss, fr.k.esp, pop_bytes);
		return CPU_OK;
	}
	s->cpl = (int)(fr.cs & 3);
	desc_commit(c, s, SEG_SS, &fr.dss.cache);
	c->gpr[R_ESP] = stk_add(&fr.dss.cache, fr.esp, pop_bytes);
	desc_null_data_segs(c, s, s->cpl);
	return CPU_OK;
}
