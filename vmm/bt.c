/*
 * bt.c — binary translation in the run loop (see bt.h, translate/tc.h).
 *
 * Entry: at guest CPL 0 in 32-bit code, the vCPU enters the TC at the
 * translation of its EIP (translated on a miss) in a flat host code
 * segment of its own (BT_TC_CS_SEL); data segments stay the guest's
 * shadows, truncated below the monitor region.  Guest TF is not honoured
 * in translated code (a residue), and stepping past an interrupt shadow
 * enters a one-instruction translation instead of setting TF.
 *
 * Exit: a callout (popek_callout, no signal) or a host signal in
 * translated code; either way the guest EIP comes from the TC's map, and
 * the TC address is kept so that an exit that leaves the guest where it
 * was (a shadow miss, a kick with interrupts off) resumes there.
 *
 * Code frames are write-traced with a tracer of their own: a guest write
 * to one drops its translations and stops tracing it until code there is
 * translated again.  A frame the shadow MMU cannot trace (its writes are
 * not all emulatable) gets translations that are never reused.
 */
#include "vmm/bt.h"
#include "vmm/system.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "translate/tc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

static int frame_of(void *ctx, uint32_t lin, uint32_t *frame)
{
	uint32_t phys;

	if (system_peek_ram(ctx, lin, &phys) < 0)
		return -1;
	*frame = phys / PAGE;
	return 0;
}

/* The cache dropped everything: so do the code tracer's frames. */
static void flushed(void *ctx)
{
	struct vcpu *v = ctx;

	for (unsigned i = 0; i < v->bt.nframes; i++)
		shadow_trace(v->vm->shadow, v->bt.tracer, v->bt.frames[i], false);
	v->bt.nframes = 0;
	v->bt.resume_ok = false;
}

/* The shadow MMU's tracer: a guest write to a frame holding code. */
static void code_written(void *ctx, uint32_t phys, unsigned len)
{
	struct vcpu *v = ctx;
	uint32_t f = phys / PAGE;

	(void)len;
	tc_invalidate_frame(v->bt.tc, f);
	shadow_trace(v->vm->shadow, v->bt.tracer, f, false);
	for (unsigned i = 0; i < v->bt.nframes; i++)
		if (v->bt.frames[i] == f) {
			v->bt.frames[i] = v->bt.frames[--v->bt.nframes];
			break;
		}
	v->bt.resume_ok = false;
}

/* Trace a frame that now holds translated code; false if it cannot be. */
static bool trace_frame(struct vcpu *v, uint32_t f)
{
	struct shadow *s = v->vm->shadow;

	if (shadow_is_traced_by(s, v->bt.tracer, f))
		return true;
	shadow_trace(s, v->bt.tracer, f, true);
	if (!shadow_is_traced_by(s, v->bt.tracer, f))
		return false;
	if (v->bt.nframes == v->bt.maxframes) {
		unsigned n = v->bt.maxframes ? 2 * v->bt.maxframes : 256;
		uint32_t *p = realloc(v->bt.frames, n * sizeof(*p));
		if (!p)
			return false;
		v->bt.frames = p;
		v->bt.maxframes = n;
	}
	v->bt.frames[v->bt.nframes++] = f;
	return true;
}

int bt_init(struct vcpu *v, char *err, size_t errlen)
{
	struct tc_ops ops = { .frame_of = frame_of, .flushed = flushed,
	                      .ctx = v, .counters = v->vm->counters };

	if (vcpu_ldt_flat(BT_TC_CS_INDEX, true) < 0) {
		snprintf(err, errlen, "cannot write the translation cache's code "
		         "segment into the host LDT");
		return -1;
	}
	v->bt.tracer = shadow_add_tracer(v->vm->shadow, code_written, v);
	if (v->bt.tracer < 0) {
		snprintf(err, errlen, "no write tracer left for translated code");
		return -1;
	}
	v->bt.tc = tc_new(&ops, v->area, popek_callout, err, errlen);
	return v->bt.tc ? 0 : -1;
}

void bt_free(struct vcpu *v)
{
	tc_free(v->bt.tc);
	free(v->bt.frames);
	v->bt.tc = NULL;
}

static void deliver_fault(struct vcpu *v)
{
	if (!v->stop && v->fault.vector >= 0)
		system_deliver(v, v->fault.vector, INT_EXCEPTION,
		               v->fault.has_error, v->fault.error);
}

/* Fetch and translate the block at EIP: its TC address, or 0 with the
 * fetch's fault delivered (or the VM stopped). */
static uint32_t translate(struct vcpu *v, bool one_shot)
{
	static uint8_t buf[PAGE + 16];
	uint32_t cs_base = v->cpu.seg_base[SEG_CS], lin = cs_base + v->cpu.eip;
	uint32_t first = PAGE - (lin & (PAGE - 1)), phys;
	struct tc_src src = { .eip = v->cpu.eip, .cs_base = cs_base,
	                      .bytes = buf, .one_shot = one_shot };
	struct cpu_fault next_fault = { .vector = -1 };
	bool used_next;

	v->fault.vector = -1;
	if (guest_read(v, lin, buf, first) < 0) {
		deliver_fault(v);
		return 0;
	}
	if (system_peek_ram(v, lin, &phys) < 0) {
		vcpu_crash(v, "guest code at linear 0x%08x is not in RAM", lin);
		return 0;
	}
	src.frame[0] = phys / PAGE;
	src.avail = first;
	if (guest_read(v, lin + first, buf + first, 15) == 0 &&
	    system_peek_ram(v, lin + first, &phys) == 0) {
		src.frame[1] = phys / PAGE;
		src.next_ok = true;
		src.avail += 15;
	} else {
		next_fault = v->fault;
	}
	uint32_t t = tc_translate(v->bt.tc, &src, &used_next);
	if (!t) {
		/* The first instruction runs into a page the guest cannot
		 * fetch: that page's fault. */
		v->fault = next_fault;
		if (v->fault.vector < 0)
			vcpu_crash(v, "cannot fetch the guest instruction at 0x%08x", lin);
		deliver_fault(v);
		return 0;
	}
	if (!one_shot && (!trace_frame(v, src.frame[0]) ||
	                  (used_next && !trace_frame(v, src.frame[1]))))
		tc_invalidate_frame(v->bt.tc, src.frame[0]);  /* not reusable */
	return t;
}

bool bt_prepare(struct vcpu *v)
{
	struct bt_state *b = &v->bt;
	uint32_t cs_base = v->cpu.seg_base[SEG_CS];

	b->entry = 0;
	if (!b->tc || v->sys.cpl != 0 || !v->cpu.code32)
		return true;
	if (v->shadow_step) {
		b->entry = translate(v, true);
		return b->entry != 0;
	}
	if (b->resume_ok && b->resume_eip == v->cpu.eip &&
	    b->resume_cs_base == cs_base &&
	    b->resume_gen == tc_generation(b->tc)) {
		b->entry = b->resume_tc;
		v->vm->counters[CTR_bt_resumes]++;
		return true;
	}
	b->entry = tc_find(b->tc, v->cpu.eip, cs_base);
	if (!b->entry)
		b->entry = translate(v, false);
	return b->entry != 0;
}

static void keep_resume(struct vcpu *v, uint32_t tc_addr)
{
	v->bt.resume_eip = v->cpu.eip;
	v->bt.resume_cs_base = v->cpu.seg_base[SEG_CS];
	v->bt.resume_tc = tc_addr;
	v->bt.resume_gen = tc_generation(v->bt.tc);
	v->bt.resume_ok = true;
}

void bt_after_exit(struct vcpu *v)
{
	struct switch_area *a = v->area;
	uint32_t eip;

	if (!v->bt.entry)
		return;
	v->bt.resume_ok = false;
	if (a->callout) {
		a->callout = 0;
		memcpy(v->cpu.gpr, a->gpr, sizeof(v->cpu.gpr));
		v->cpu.eflags = (v->cpu.eflags & ~EFLAGS_LIVE) |
		                (a->xflags & EFLAGS_LIVE);
		memcpy(v->host_sel, a->sel, sizeof(v->host_sel));
		v->host_sel[SEG_CS] = v->bt.guest_cs;
		v->bt.site = a->site;
		v->exit.reason = EXIT_CALLOUT;
		v->exit.signo = 0;
		v->exit.vector = -1;
		v->exit.error = 0;
		return;
	}
	/* popek_enter declined to enter, or was kicked before the iretq:
	 * nothing ran, and nothing of the guest state was replaced. */
	if (v->host_sel[SEG_CS] != BT_TC_CS_SEL)
		return;
	uint32_t tc_addr = v->cpu.eip;
	if (tc_map_back(v->bt.tc, tc_addr, &eip) < 0) {
		vcpu_crash(v, "bt: exit at TC address 0x%08x outside any block",
		           tc_addr);
		return;
	}
	v->cpu.eip = eip;
	v->host_sel[SEG_CS] = v->bt.guest_cs;
	keep_resume(v, tc_addr);
}

const struct tc_site *bt_callout(struct vcpu *v)
{
	const struct tc_site *s = tc_site(v->bt.tc, v->bt.site);
	uint32_t t;

	if (!s) {
		vcpu_crash(v, "bt: callout from unknown site %u", v->bt.site);
		return NULL;
	}
	v->cpu.eip = s->guest_eip;
	if (s->kind == TC_SITE_EMULATE) {
		v->vm->counters[CTR_bt_callout_emulate]++;
		return s;
	}
	v->vm->counters[CTR_bt_callout_branch]++;
	if (!s->patch)
		return NULL;
	/* Look the target up now, to chain the branch to it. */
	uint32_t site = v->bt.site, cs_base = v->cpu.seg_base[SEG_CS];
	uint64_t gen = tc_generation(v->bt.tc);
	t = tc_find(v->bt.tc, v->cpu.eip, cs_base);
	if (!t)
		t = translate(v, false);
	if (t && tc_generation(v->bt.tc) == gen) {   /* no flush in between */
		tc_chain(v->bt.tc, site, t);
		keep_resume(v, t);
	}
	return NULL;
}
