/*
 * desc.c — descriptors and segment registers: decoding, table look-up,
 * the accessed bit, segment loads (MOV/POP Sreg, LDS...), the checks a
 * return CS/SS undergoes, LLDT and LTR.  See desc.h for the conventions;
 * section numbers are SDM vol. 3A unless they say vol. 2.
 */
#include <stdio.h>
#include <string.h>

#include "vmm/desc_impl.h"

static _Thread_local char unsupported_why[96];

const char *cpu_unsupported_why(void)
{
	return unsupported_why;
}

enum cpu_result desc_unsupported(struct cpu_fault *f, const char *why)
{
	snprintf(unsupported_why, sizeof(unsupported_why), "%s", why);
	if (f) {
		f->vector = -1;
		f->has_error = false;
		f->error = 0;
		f->why = why;
	}
	return CPU_UNSUPPORTED;
}

enum cpu_result desc_fault(struct cpu_fault *f, int vector, uint32_t error,
                           const char *why)
{
	f->vector = vector;
	f->has_error = true;    /* every fault raised here has an error code */
	f->error = error;
	f->why = why;
	return CPU_FAULT;
}

enum cpu_result desc_memfault(const struct cpu_mem *m, struct cpu_fault *f)
{
	return desc_fault(f, VEC_PF, m->pf_error ? *m->pf_error : 0,
	                  "page fault on a system access");
}

/* 3.4.5: limit 15:0 | base 23:0 | type S DPL P | limit 19:16 | AVL L D/B
 * G | base 31:24. */
void desc_decode(uint64_t raw, uint16_t sel, struct seg_cache *out)
{
	uint32_t limit = (uint32_t)(raw & 0xFFFF) |
	                 (uint32_t)((raw >> 32) & 0xF0000);

	out->sel = sel;
	out->base = (uint32_t)((raw >> 16) & 0xFFFFFF) |
	            (uint32_t)((raw >> 32) & 0xFF000000u);
	out->attr = (uint16_t)((raw >> 40) & 0xF0FF);
	out->limit = SEG_ATTR_G(out->attr) ? (limit << 12) | 0xFFF : limit;
}

const char *desc_locate(const struct cpu_sys *s, uint16_t sel,
                        uint32_t *addr)
{
	uint32_t base = s->gdtr.base, limit = s->gdtr.limit;

	if (sel & 4) {          /* TI = 1: the LDT (3.5.1) */
		if (!desc_usable(&s->ldtr))
			return "no LDT";
		base = s->ldtr.base;
		limit = s->ldtr.limit;
	}
	if ((uint32_t)(sel | 7) > limit)
		return "selector past table limit";
	*addr = base + (sel & ~7u);
	return NULL;
}

enum cpu_result desc_fetch(const struct cpu_sys *s, const struct cpu_mem *m,
                           uint16_t sel, int vector, uint32_t ext,
                           struct desc_ref *d, struct cpu_fault *f)
{
	const char *none = desc_locate(s, sel, &d->addr);
	uint64_t raw;

	if (none)
		return desc_fault(f, vector, sel_err(sel) | ext, none);
	if (m->read(m->ctx, d->addr, &raw, 8) < 0)
		return desc_memfault(m, f);
	desc_decode(raw, sel, &d->cache);
	return CPU_OK;
}

/* The processor sets the accessed bit with a locked write of the type
 * byte (byte 5) when it loads a segment register. */
enum cpu_result desc_set_accessed(const struct cpu_mem *m, struct desc_ref *d,
                                  struct cpu_fault *f)
{
	uint8_t b = (uint8_t)(d->cache.attr | TYPE_ACCESSED);

	if (d->cache.attr & TYPE_ACCESSED)
		return CPU_OK;
	if (m->write(m->ctx, d->addr + 5, &b, 1) < 0)
		return desc_memfault(m, f);
	d->cache.attr |= TYPE_ACCESSED;
	return CPU_OK;
}

bool desc_in_limit(const struct seg_cache *sc, uint32_t off, unsigned len)
{
	uint64_t last = (uint64_t)off + len - 1;

	if (attr_expand_down(sc->attr))   /* 5.3: limit+1 .. 0xFFFF(FFFF) */
		return off > sc->limit &&
		       last <= (SEG_ATTR_DB(sc->attr) ? 0xFFFFFFFFu : 0xFFFFu);
	return last <= sc->limit;
}

void desc_commit(struct emu_cpu *c, struct cpu_sys *s, enum seg seg,
                 const struct seg_cache *cache)
{
	s->seg[seg] = *cache;
	c->seg_base[seg] = cache->base;
	if (seg == SEG_CS)
		c->code32 = SEG_ATTR_DB(cache->attr);
}

void desc_null_data_segs(struct emu_cpu *c, struct cpu_sys *s, int cpl)
{
	static const enum seg data[] = { SEG_ES, SEG_FS, SEG_GS, SEG_DS };

	for (unsigned i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		const struct seg_cache *sc = &s->seg[data[i]];
		struct seg_cache null = { 0 };

		if (!desc_usable(sc) ||
		    ((int)SEG_ATTR_DPL(sc->attr) < cpl && !attr_conforming(sc->attr)))
			desc_commit(c, s, data[i], &null);
	}
}

/* vol. 2 RET/IRET: null → #GP(0); past limit, not code, RPL < CPL,
 * conforming with DPL > RPL, non-conforming with DPL != RPL → #GP(sel);
 * not present → #NP(sel). */
enum cpu_result desc_check_ret_cs(const struct cpu_sys *s,
                                  const struct cpu_mem *m, uint16_t sel,
                                  struct desc_ref *d, struct cpu_fault *f)
{
	unsigned rpl = sel & 3, dpl;
	enum cpu_result r;

	if (sel_null(sel))
		return desc_fault(f, VEC_GP, 0, "return CS null");
	if ((r = desc_fetch(s, m, sel, VEC_GP, 0, d, f)) != CPU_OK)
		return r;
	dpl = SEG_ATTR_DPL(d->cache.attr);
	if (!attr_code(d->cache.attr) || (int)rpl < s->cpl ||
	    (attr_conforming(d->cache.attr) ? dpl > rpl : dpl != rpl))
		return desc_fault(f, VEC_GP, sel_err(sel), "bad return CS");
	if (!SEG_ATTR_P(d->cache.attr))
		return desc_fault(f, VEC_NP, sel_err(sel), "return CS not present");
	return CPU_OK;
}

/* vol. 2 RET/IRET RETURN-TO-OUTER-PRIVILEGE-LEVEL: null → #GP(0);
 * past limit, RPL or DPL != rpl, not writable data → #GP(sel); not
 * present → #SS(sel). */
enum cpu_result desc_check_ret_ss(const struct cpu_sys *s,
                                  const struct cpu_mem *m, uint16_t sel,
                                  unsigned rpl, struct desc_ref *d,
                                  struct cpu_fault *f)
{
	enum cpu_result r;

	if (sel_null(sel))
		return desc_fault(f, VEC_GP, 0, "return SS null");
	if ((r = desc_fetch(s, m, sel, VEC_GP, 0, d, f)) != CPU_OK)
		return r;
	if ((sel & 3) != rpl || SEG_ATTR_DPL(d->cache.attr) != rpl ||
	    !attr_writable_data(d->cache.attr))
		return desc_fault(f, VEC_GP, sel_err(sel), "bad return SS");
	if (!SEG_ATTR_P(d->cache.attr))
		return desc_fault(f, VEC_SS, sel_err(sel), "return SS not present");
	return CPU_OK;
}

/* vol. 2 MOV "IF SS is loaded": RPL = CPL, writable data, DPL = CPL. */
static enum cpu_result check_ss(const struct cpu_sys *s, uint16_t sel,
                                const struct seg_cache *d, struct cpu_fault *f)
{
	if ((int)(sel & 3) != s->cpl || !attr_writable_data(d->attr) ||
	    (int)SEG_ATTR_DPL(d->attr) != s->cpl)
		return desc_fault(f, VEC_GP, sel_err(sel), "bad SS descriptor");
	if (!SEG_ATTR_P(d->attr))
		return desc_fault(f, VEC_SS, sel_err(sel), "SS not present");
	return CPU_OK;
}

/* vol. 2 MOV "IF DS, ES, FS, or GS is loaded with non-NULL selector":
 * data or readable code; for data and non-conforming code RPL and CPL
 * both <= DPL. */
static enum cpu_result check_data(const struct cpu_sys *s, uint16_t sel,
                                  const struct seg_cache *d,
                                  struct cpu_fault *f)
{
	unsigned type = SEG_ATTR_TYPE(d->attr), dpl = SEG_ATTR_DPL(d->attr);

	if (!SEG_ATTR_S(d->attr) ||
	    (type & (TYPE_CODE | TYPE_WR)) == TYPE_CODE)
		return desc_fault(f, VEC_GP, sel_err(sel), "not data or readable code");
	if (!attr_conforming(d->attr) && ((sel & 3) > dpl || s->cpl > (int)dpl))
		return desc_fault(f, VEC_GP, sel_err(sel), "segment DPL < CPL/RPL");
	if (!SEG_ATTR_P(d->attr))
		return desc_fault(f, VEC_NP, sel_err(sel), "segment not present");
	return CPU_OK;
}

enum cpu_result seg_load(struct emu_cpu *c, struct cpu_sys *s,
                         const struct cpu_mem *m, enum seg seg, uint16_t sel,
                         struct cpu_fault *f)
{
	struct desc_ref d;
	enum cpu_result r;

	if (seg == SEG_CS || seg >= SEG_COUNT)
		return desc_fault(f, VEC_GP, 0, "CS is not a data segment register");
	if (sel_null(sel)) {
		struct seg_cache null = { .sel = sel };

		if (seg == SEG_SS)   /* null SS is legal only in 64-bit mode */
			return desc_fault(f, VEC_GP, 0, "null SS");
		desc_commit(c, s, seg, &null);
		return CPU_OK;
	}
	if ((r = desc_fetch(s, m, sel, VEC_GP, 0, &d, f)) != CPU_OK)
		return r;
	r = seg == SEG_SS ? check_ss(s, sel, &d.cache, f)
	                  : check_data(s, sel, &d.cache, f);
	if (r != CPU_OK || (r = desc_set_accessed(m, &d, f)) != CPU_OK)
		return r;
	desc_commit(c, s, seg, &d.cache);
	if (seg == SEG_SS)
		s->mov_ss_shadow = true;
	return CPU_OK;
}

/* vol. 2 LLDT: CPL 0; null → LDTR unusable; TI = 1 or past the GDT
 * limit or not an LDT descriptor → #GP(sel); not present → #NP(sel). */
enum cpu_result cpu_lldt(struct emu_cpu *c, struct cpu_sys *s,
                         const struct cpu_mem *m, uint16_t sel,
                         struct cpu_fault *f)
{
	struct desc_ref d;
	enum cpu_result r;

	(void)c;
	if (s->cpl != 0)
		return desc_fault(f, VEC_GP, 0, "LLDT at CPL > 0");
	if (sel_null(sel)) {
		memset(&s->ldtr, 0, sizeof(s->ldtr));
		s->ldtr.sel = sel;
		return CPU_OK;
	}
	if (sel & 4)
		return desc_fault(f, VEC_GP, sel_err(sel), "LDT selector in LDT");
	if ((r = desc_fetch(s, m, sel, VEC_GP, 0, &d, f)) != CPU_OK)
		return r;
	if (SEG_ATTR_S(d.cache.attr) || SEG_ATTR_TYPE(d.cache.attr) != 2)
		return desc_fault(f, VEC_GP, sel_err(sel), "not an LDT descriptor");
	if (!SEG_ATTR_P(d.cache.attr))
		return desc_fault(f, VEC_NP, sel_err(sel), "LDT not present");
	s->ldtr = d.cache;
	return CPU_OK;
}

/* vol. 2 LTR: CPL 0; null → #GP(0); TI = 1, past the limit, not an
 * available TSS → #GP(sel); not present → #NP(sel); then the busy bit is
 * set in the descriptor (7.2.2). */
enum cpu_result cpu_ltr(struct emu_cpu *c, struct cpu_sys *s,
                        const struct cpu_mem *m, uint16_t sel,
                        struct cpu_fault *f)
{
	struct desc_ref d;
	enum cpu_result r;
	unsigned type;
	uint8_t b;

	(void)c;
	if (s->cpl != 0)
		return desc_fault(f, VEC_GP, 0, "LTR at CPL > 0");
	if (sel_null(sel))
		return desc_fault(f, VEC_GP, 0, "LTR null selector");
	if (sel & 4)
		return desc_fault(f, VEC_GP, sel_err(sel), "TSS selector in LDT");
	if ((r = desc_fetch(s, m, sel, VEC_GP, 0, &d, f)) != CPU_OK)
		return r;
	type = SEG_ATTR_TYPE(d.cache.attr);
	if (SEG_ATTR_S(d.cache.attr) || (type != 1 && type != 9))
		return desc_fault(f, VEC_GP, sel_err(sel), "not an available TSS");
	if (!SEG_ATTR_P(d.cache.attr))
		return desc_fault(f, VEC_NP, sel_err(sel), "TSS not present");
	if (type == 1)
		return desc_unsupported(f, "16-bit TSS");
	d.cache.attr |= 2;      /* type 9 → 11, busy */
	b = (uint8_t)d.cache.attr;
	if (m->write(m->ctx, d.addr + 5, &b, 1) < 0)
		return desc_memfault(m, f);
	s->tr = d.cache;
	return CPU_OK;
}
