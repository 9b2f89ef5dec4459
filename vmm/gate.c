/*
 * gate.c — interrupt and exception delivery through the guest IDT (SDM
 * vol. 3A 6.10–6.15, vol. 2 "INT n/INTO/INT3/INT1" pseudo-code), with the
 * double-fault and shutdown rules of 6.15 tables 6-4/6-5.  Trap and
 * interrupt gates, 16- and 32-bit, same level or to a more privileged
 * non-conforming segment with the stack from the 32-bit TSS.  Task gates
 * are unsupported.  IRET lives in iret.c.
 */
#include <stdio.h>

#include "vmm/desc_impl.h"

/* One event being delivered. */
struct event {
	int vector;
	enum int_kind kind;
	bool has_error;
	uint32_t error;
};

/* An IDT gate (6.11): type 5 task, 6/7 16-bit interrupt/trap, 14/15
 * 32-bit interrupt/trap. */
struct gate {
	uint16_t sel;
	uint32_t off;
	bool is32, trap;
};

static enum cpu_result read_gate(const struct cpu_sys *s,
                                 const struct cpu_mem *m,
                                 const struct event *ev, uint32_t ext,
                                 struct gate *g, struct cpu_fault *f)
{
	uint32_t err = (uint32_t)ev->vector * 8 + 2 + ext;   /* IDT bit */
	unsigned type, dpl;
	uint64_t raw;

	if ((uint32_t)ev->vector * 8 + 7 > s->idtr.limit)
		return desc_fault(f, VEC_GP, err, "vector past IDT limit");
	if (m->read(m->ctx, s->idtr.base + ev->vector * 8u, &raw, 8) < 0)
		return desc_memfault(m, f);
	type = (raw >> 40) & 0x1F;     /* S bit included: must be 0 */
	dpl = (raw >> 45) & 3;
	if (type != 5 && type != 6 && type != 7 && type != 14 && type != 15)
		return desc_fault(f, VEC_GP, err, "not a gate in the IDT");
	if (ev->kind == INT_SOFTWARE && (int)dpl < s->cpl)
		return desc_fault(f, VEC_GP, ev->vector * 8u + 2,
		                  "software interrupt: gate DPL < CPL");
	if (!((raw >> 47) & 1))
		return desc_fault(f, VEC_NP, err, "gate not present");
	if (type == 5) {
		char why[48];

		snprintf(why, sizeof(why), "task gate for vector %d", ev->vector);
		return desc_unsupported(NULL, why);
	}
	g->sel = (uint16_t)(raw >> 16);
	g->off = (uint32_t)(raw & 0xFFFF) | (uint32_t)((raw >> 32) & 0xFFFF0000u);
	g->is32 = type >= 14;
	g->trap = type & 1;
	if (!g->is32)
		g->off &= 0xFFFF;
	return CPU_OK;
}

/* vol. 2 TRAP-OR-INTERRUPT-GATE: the target must be a present code
 * segment with DPL <= CPL. */
static enum cpu_result gate_target(const struct cpu_sys *s,
                                   const struct cpu_mem *m,
                                   const struct gate *g, uint32_t ext,
                                   struct desc_ref *cs, struct cpu_fault *f)
{
	enum cpu_result r;

	if (sel_null(g->sel))
		return desc_fault(f, VEC_GP, ext, "gate selector null");
	if ((r = desc_fetch(s, m, g->sel, VEC_GP, ext, cs, f)) != CPU_OK)
		return r;
	if (!attr_code(cs->cache.attr) ||
	    (int)SEG_ATTR_DPL(cs->cache.attr) > s->cpl)
		return desc_fault(f, VEC_GP, sel_err(g->sel) | ext,
		                  "gate target not code or DPL > CPL");
	if (!SEG_ATTR_P(cs->cache.attr))
		return desc_fault(f, VEC_NP, sel_err(g->sel) | ext,
		                  "gate target not present");
	return CPU_OK;
}

/* vol. 2 INTER-PRIVILEGE-LEVEL-INTERRUPT: SS:ESP for `dpl` from the
 * 32-bit TSS (7.2.1, ESPn at 4 + 8n, SSn at 8 + 8n), then the new SS
 * checks (#TS, #SS). */
static enum cpu_result tss_stack(const struct cpu_sys *s,
                                 const struct cpu_mem *m, unsigned dpl,
                                 uint32_t ext, struct desc_ref *ss,
                                 uint32_t *esp, struct cpu_fault *f)
{
	uint32_t at = 4 + 8 * dpl, tserr = sel_err(s->tr.sel) | ext;
	uint16_t sel;
	enum cpu_result r;

	if (!desc_usable(&s->tr) || at + 5 > s->tr.limit)
		return desc_fault(f, VEC_TS, tserr, "TSS too small for stack");
	if (m->read(m->ctx, s->tr.base + at, esp, 4) < 0 ||
	    m->read(m->ctx, s->tr.base + at + 4, &sel, 2) < 0)
		return desc_memfault(m, f);
	if (sel_null(sel))
		return desc_fault(f, VEC_TS, ext, "TSS stack selector null");
	if ((sel & 3) != dpl)
		return desc_fault(f, VEC_TS, sel_err(sel) | ext, "TSS SS RPL");
	if ((r = desc_fetch(s, m, sel, VEC_TS, ext, ss, f)) != CPU_OK)
		return r;
	if (SEG_ATTR_DPL(ss->cache.attr) != dpl ||
	    !attr_writable_data(ss->cache.attr))
		return desc_fault(f, VEC_TS, sel_err(sel) | ext, "TSS SS descriptor");
	if (!SEG_ATTR_P(ss->cache.attr))
		return desc_fault(f, VEC_SS, sel_err(sel) | ext, "TSS SS not present");
	return CPU_OK;
}

/* Where the frame goes and what it holds. */
struct frame {
	struct desc_ref cs, ss;
	struct seg_cache ss_cache;     /* the stack pushed on */
	struct stk k;
	bool outer;
	int cpl;                       /* CPL after delivery */
	uint32_t ext;                  /* EXT bit of fault error codes */
};

static enum cpu_result pick_stack(const struct emu_cpu *c,
                                  const struct cpu_sys *s,
                                  const struct cpu_mem *m, uint32_t ext,
                                  struct frame *fr, struct cpu_fault *f)
{
	unsigned dpl = SEG_ATTR_DPL(fr->cs.cache.attr);
	enum cpu_result r;
	uint32_t esp;

	fr->ext = ext;
	fr->outer = !attr_conforming(fr->cs.cache.attr) && (int)dpl < s->cpl;
	if (!fr->outer) {
		fr->cpl = s->cpl;
		fr->ss_cache = s->seg[SEG_SS];
		fr->k = (struct stk){ &fr->ss_cache, c->gpr[R_ESP], ext };
		return CPU_OK;
	}
	if (dpl != 0)
		return desc_unsupported(NULL, "CPL 1/2 unsupported");
	if ((r = tss_stack(s, m, dpl, ext, &fr->ss, &esp, f)) != CPU_OK)
		return r;
	fr->cpl = (int)dpl;
	fr->ss_cache = fr->ss.cache;
	fr->k = (struct stk){ &fr->ss_cache, esp,
	                      sel_err(fr->ss.cache.sel) | ext };
	return CPU_OK;
}

/* Push [SS, ESP,] EFLAGS, CS, EIP [, error] (6.12.1 figure 6-4). */
static enum cpu_result push_frame(const struct emu_cpu *c,
                                  const struct cpu_sys *s,
                                  const struct cpu_mem *m,
                                  const struct event *ev, const struct gate *g,
                                  struct frame *fr, struct cpu_fault *f)
{
	uint32_t w[6];
	unsigned n = 0, size = g->is32 ? 4 : 2;
	enum cpu_result r;

	if (fr->outer) {
		w[n++] = s->seg[SEG_SS].sel;
		w[n++] = c->gpr[R_ESP];
	}
	w[n++] = c->eflags;
	w[n++] = s->seg[SEG_CS].sel;
	w[n++] = c->eip;
	if (ev->has_error)
		w[n++] = ev->error;
	if ((r = stk_room_push(&fr->k, n * size, f)) != CPU_OK)
		return r;
	if (g->off > fr->cs.cache.limit)
		return desc_fault(f, VEC_GP, fr->ext,
		                  "gate offset past CS limit");
	for (unsigned i = 0; i < n; i++)
		if ((r = stk_push(m, &fr->k, w[i], size, f)) != CPU_OK)
			return r;
	return CPU_OK;
}

static void commit(struct emu_cpu *c, struct cpu_sys *s, const struct gate *g,
                   struct frame *fr)
{
	fr->cs.cache.sel = (uint16_t)(sel_err(fr->cs.cache.sel) | fr->cpl);
	if (fr->outer)
		desc_commit(c, s, SEG_SS, &fr->ss.cache);
	desc_commit(c, s, SEG_CS, &fr->cs.cache);
	c->gpr[R_ESP] = fr->k.esp;
	c->eip = g->off;
	c->eflags &= ~(EFLAGS_TF | EFLAGS_NT | EFLAGS_RF | EFLAGS_VM);
	if (!g->trap)
		c->eflags &= ~EFLAGS_IF;
	s->cpl = fr->cpl;
}

/* One delivery attempt; a fault met on the way comes back in *f. */
static enum cpu_result deliver(struct emu_cpu *c, struct cpu_sys *s,
                               const struct cpu_mem *m, const struct event *ev,
                               struct cpu_fault *f)
{
	uint32_t ext = ev->kind != INT_SOFTWARE;
	struct gate g = { 0 };
	struct frame fr = { 0 };
	enum cpu_result r;

	if ((r = read_gate(s, m, ev, ext, &g, f)) != CPU_OK ||
	    (r = gate_target(s, m, &g, ext, &fr.cs, f)) != CPU_OK ||
	    (r = pick_stack(c, s, m, ext, &fr, f)) != CPU_OK ||
	    (r = push_frame(c, s, m, ev, &g, &fr, f)) != CPU_OK ||
	    (r = desc_set_accessed(m, &fr.cs, f)) != CPU_OK ||
	    (fr.outer && (r = desc_set_accessed(m, &fr.ss, f)) != CPU_OK))
		return r;
	commit(c, s, &g, &fr);
	return CPU_OK;
}

enum fault_class { BENIGN, CONTRIBUTORY, PAGE_FAULT };

/* 6.15 table 6-4; external and software interrupts are benign. */
static enum fault_class classify(const struct event *ev)
{
	if (ev->kind != INT_EXCEPTION)
		return BENIGN;
	switch (ev->vector) {
	case 0: case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP:
		return CONTRIBUTORY;
	case VEC_PF:
		return PAGE_FAULT;
	default:
		return BENIGN;
	}
}

/* 6.15 table 6-5: what to deliver after `f` interrupted delivery of *ev. */
static struct event next_event(const struct event *ev,
                               const struct cpu_fault *f)
{
	struct event second = { f->vector, INT_EXCEPTION, f->has_error, f->error };
	enum fault_class a = classify(ev), b = classify(&second);

	if ((a == CONTRIBUTORY && b == CONTRIBUTORY) ||
	    (a == PAGE_FAULT && b != BENIGN))
		return (struct event){ VEC_DF, INT_EXCEPTION, true, 0 };
	return second;
}

/* The delivery loop of 6.15.  `rewind`: the length of the INT n / INT3 /
 * INTO instruction being delivered — a fault raised by that delivery
 * (gate DPL, gate not present...) is a fault of the instruction itself,
 * so its frame holds the instruction's address, not the next one. */
static enum cpu_result interrupt_loop(struct emu_cpu *c, struct cpu_sys *s,
                                      const struct cpu_mem *m,
                                      struct event ev, unsigned rewind)
{
	/* Faults met on the way are contributory or #PF, so this ends
	 * within four rounds (x, contributory, #PF, #DF); the bound only
	 * guards against a broken table. */
	for (int round = 0; round < 8; round++) {
		struct cpu_fault f = { .vector = -1 };
		enum cpu_result r = deliver(c, s, m, &ev, &f);

		if (r != CPU_FAULT)
			return r;
		if (ev.kind == INT_EXCEPTION && ev.vector == VEC_DF)
			return CPU_TRIPLE;     /* 6.15 "interrupt 8": shutdown */
		if (round == 0 && ev.kind == INT_SOFTWARE)
			c->eip -= rewind;
		ev = next_event(&ev, &f);
	}
	return CPU_TRIPLE;
}

enum cpu_result cpu_interrupt(struct emu_cpu *c, struct cpu_sys *s,
                              const struct cpu_mem *m, int vector,
                              enum int_kind kind, bool has_error,
                              uint32_t error)
{
	struct event ev = { vector, kind, has_error, error };

	return interrupt_loop(c, s, m, ev, 0);
}

enum cpu_result cpu_soft_interrupt(struct emu_cpu *c, struct cpu_sys *s,
                                   const struct cpu_mem *m, int vector,
                                   unsigned insn_len)
{
	struct event ev = { vector, INT_SOFTWARE, false, 0 };

	return interrupt_loop(c, s, m, ev, insn_len);
}
