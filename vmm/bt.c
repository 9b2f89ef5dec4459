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
#include "vmm/intr.h"
#include "translate/tc.h"
#include "vmm/switch.h"
#include "scan/decode.h"

#include <signal.h>

#include <asm/ldt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGE 4096u

static int gate_init(struct vcpu *v, char *err, size_t errlen);
static bool gate_start(struct vcpu *v, uint32_t phys);

static volatile uint32_t *vpage32(uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(TC_VPAGE + off);
}

/* The data segment translated code reaches the vpage through (%gs). */
static int write_gs_segment(void)
{
	struct user_desc d = {
		.entry_number = BT_TC_GS_INDEX, .base_addr = TC_VPAGE,
		.limit = TC_VPAGE_SIZE - 1, .seg_32bit = 1,
		.contents = MODIFY_LDT_CONTENTS_DATA, .useable = 1,
	};
	return (int)syscall(SYS_modify_ldt, 0x11, &d, sizeof(d));
}

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

#define HOT_SLOTS (sizeof(((struct bt_state *)0)->hot) / sizeof(struct bt_hot))
#define HOT_AFTER 4       /* traced faults before the store is a callout */
#define HOT_CLEAN 64      /* callouts meeting no traced page before it is
                           * native again (pages freed and reused: Linux
                           * zeroing a page that held translated code) */

/* The slot of eip, or the empty one where it would go; NULL when full. */
static struct bt_hot *hot_slot(struct bt_state *b, uint32_t eip)
{
	for (unsigned i = 0, h = (eip * 0x9E3779B1u) >> 22; i < HOT_SLOTS; i++) {
		struct bt_hot *e = &b->hot[(h + i) % HOT_SLOTS];
		if (e->faults == 0 || e->eip == eip)
			return e;
	}
	return NULL;
}

static bool force_callout(void *ctx, uint32_t eip)
{
	struct vcpu *v = ctx;
	struct bt_hot *e = hot_slot(&v->bt, eip);

	return e && e->faults && e->eip == eip && e->forced;
}

void bt_traced_write(struct vcpu *v, uint32_t eip)
{
	struct bt_hot *e;
	uint32_t phys;

	if (!v->bt.tc || !v->bt.from_tc || !(e = hot_slot(&v->bt, eip)))
		return;
	e->eip = eip;
	if (e->forced || ++e->faults < HOT_AFTER)
		return;
	e->forced = true;
	v->vm->counters[CTR_bt_adaptive]++;
	if (system_peek_ram(v, v->cpu.seg_base[SEG_CS] + eip, &phys) == 0)
		tc_invalidate_frame(v->bt.tc, phys / PAGE);
	v->bt.resume_ok = false;
}

void bt_forced_store(struct vcpu *v, uint32_t eip, bool traced)
{
	struct bt_hot *e = hot_slot(&v->bt, eip);
	uint32_t phys;

	if (!e || !e->forced || e->eip != eip)
		return;
	if (traced) {
		e->clean = 0;
		return;
	}
	/* (each time it comes back, it waits twice as long: a store that
	 * meets traced pages now and then stays a callout) */
	if (++e->clean < HOT_CLEAN << (e->unforced < 8 ? e->unforced : 8))
		return;
	e->forced = false;
	e->faults = 1;            /* (the slot stays this EIP's) */
	e->clean = 0;
	if (e->unforced < 255)
		e->unforced++;
	v->vm->counters[CTR_bt_unforced]++;
	if (system_peek_ram(v, v->cpu.seg_base[SEG_CS] + eip, &phys) == 0)
		tc_invalidate_frame(v->bt.tc, phys / PAGE);
	v->bt.resume_ok = false;
}

int bt_init(struct vcpu *v, char *err, size_t errlen)
{
	struct tc_ops ops = { .frame_of = frame_of, .flushed = flushed,
	                      .force_callout = force_callout,
	                      .ctx = v, .counters = v->vm->counters };

	v->bt.no_vdso_fast = v->vm->cfg.vdso == VDSO_TRANSLATED;
	if (vcpu_ldt_flat(BT_TC_CS_INDEX, true) < 0 || write_gs_segment() < 0) {
		snprintf(err, errlen, "cannot write the translation cache's code "
		         "and data segments into the host LDT");
		return -1;
	}
	v->bt.tracer = shadow_add_tracer(v->vm->shadow, code_written, v);
	if (v->bt.tracer < 0) {
		snprintf(err, errlen, "no write tracer left for translated code");
		return -1;
	}
	/* The key page's address in GS base bits 32..46 needs WRGSBASE and
	 * RDGSBASE (switch.h); without them it sits at TC_KEYPAGE. */
	bool key_in_gs = v->area->use_wrfsbase;
	const char *t = key_in_gs ? popek_tramp_key : popek_tramp_fixed;
	const char *te = key_in_gs ? popek_tramp_key_end : popek_tramp_fixed_end;
	v->bt.tc = tc_new(&ops, v->area, popek_callout, t, (size_t)(te - t),
	                  key_in_gs, err, errlen);
	if (!v->bt.tc)
		return -1;
	return gate_init(v, err, errlen);
}

void bt_free(struct vcpu *v)
{
	if (v->bt.gate_page) {
		munmap(v->bt.gate_page, PAGE);
		close(v->bt.gate_fd);
	}
	v->bt.gate_page = NULL;
	v->bt.gate_fd = -1;
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

/* Read guest code [lin, lin+len) within one page as the current CPL
 * fetches it (a supervisor read at CPL 0, a user fetch at CPL 3): 0, or
 * -1 with the fault recorded in v->fault (#PF: CR2 set). */
static int fetch(struct vcpu *v, uint32_t lin, uint8_t *dst, unsigned len)
{
	struct shadow_regs r = system_paging_regs(v, v->sys.cpl);
	struct shadow_result res = { .phys = lin };

	if (v->sys.cpl == 0 || !(v->sys.cr0 & CR0_PG))
		return guest_read(v, lin, dst, len);
	switch (shadow_translate(v->vm->shadow, &r, lin, WALK_FETCH, &res)) {
	case SHADOW_MAPPED:
		if ((uint64_t)res.phys + len <= v->vm->ram.size) {
			memcpy(dst, v->vm->ram.host + res.phys, len);
			return 0;
		}
		break;
	case SHADOW_GUEST_PF:
		v->sys.cr2 = lin;
		v->fault = (struct cpu_fault){ .vector = VEC_PF, .has_error = true,
		                               .error = res.error };
		return -1;
	default:
		break;
	}
	v->fault.vector = -1;
	return -1;
}

/* EIP is in the guest's vDSO code page, which the guest's CPL 3 may
 * fetch from (a user fetch walk, setting A as the CPU would). */
static bool in_vdso(struct vcpu *v)
{
	uint32_t lin = v->cpu.seg_base[SEG_CS] + v->cpu.eip;
	uint32_t pg = lin / PAGE + 1;
	struct shadow_regs r = system_paging_regs(v, 3);
	struct shadow_result res = { .phys = lin };

	if (!v->bt.vdso_frame || v->sys.cpl != 3 || !v->cpu.code32 ||
	    !(v->sys.cr0 & CR0_PG))
		return false;
	if (pg == v->bt.vdso_yes || pg == v->bt.vdso_no)
		return pg == v->bt.vdso_yes;
	if (shadow_translate(v->vm->shadow, &r, lin, WALK_FETCH, &res) !=
	    SHADOW_MAPPED)
		return false;     /* (not kept: a TLB keeps no miss either) */
	bool yes = res.phys / PAGE + 1 == v->bt.vdso_frame;
	if (yes)
		v->bt.vdso_yes = pg;
	else
		v->bt.vdso_no = pg;
	return yes;
}

void bt_user_syscall(struct vcpu *v)
{
	static const uint8_t elf[4] = { 0x7F, 'E', 'L', 'F' };
	uint32_t lin = v->cpu.seg_base[SEG_CS] + v->cpu.eip - 2, phys;

	if (!v->bt.tc || v->bt.vdso_frame || v->bt.gate_frame ||
	    v->sys.cpl != 3 || system_peek_ram(v, lin, &phys) < 0 ||
	    (uint64_t)(phys & ~(PAGE - 1)) + PAGE > v->vm->ram.size ||
	    memcmp(v->vm->ram.host + (phys & ~(PAGE - 1)), elf, 4))
		return;
	if (v->vm->cfg.vdso == VDSO_GATE && gate_start(v, phys))
		return;
	v->bt.vdso_frame = phys / PAGE + 1;
	shadow_noexec(v->vm->shadow, phys / PAGE);
}

bool bt_vdso_fetch(struct vcpu *v, uint32_t lin)
{
	if (!v->bt.vdso_frame ||
	    lin != v->cpu.seg_base[SEG_CS] + v->cpu.eip || !in_vdso(v))
		return false;
	v->vm->counters[CTR_bt_vdso_faults]++;
	return true;
}

/* --- __kernel_vsyscall, taken by the monitor ------------------------------
 *
 * Linux's 32-bit vDSO enters the kernel through __kernel_vsyscall: push
 * ECX, EDX, EBP; the SYSENTER/SYSCALL alternative, here left as a 4-byte
 * NOP (popek shows neither, or SEP only where the host runs it); INT 0x80;
 * and at int80_landing_pad, where the kernel's IRET returns, pop EBP, EDX,
 * ECX and RET.  Run translated, that is a TC entry and a callout on each
 * side of the call; the monitor does the same work itself when the bytes
 * at EIP are exactly these, with the guest's CPL 3 rights on the stack (a
 * fault there goes to the guest as the vDSO's own access would have). */
static const uint8_t vsys_entry[] = { 0x51, 0x52, 0x55 };  /* then NOP4, INT 0x80 */
static const uint8_t vsys_nop4[][4] = {
	{ 0x8D, 0x74, 0x26, 0x00 },       /* lea 0(%esi,%eiz), %esi */
	{ 0x0F, 0x1F, 0x40, 0x00 },       /* nopl 0(%eax) */
	{ 0x90, 0x90, 0x90, 0x90 },
};
static const uint8_t vsys_land[] = { 0x5D, 0x5A, 0x59, 0xC3 };

/* The vDSO frame's bytes at EIP (which in_vdso found in it). */
static bool vdso_code_is(struct vcpu *v, unsigned skip, const uint8_t *want,
                         unsigned len)
{
	uint32_t off = (v->cpu.seg_base[SEG_CS] + v->cpu.eip + skip) & (PAGE - 1);

	return off + len <= PAGE &&
	       !memcmp(v->vm->ram.host + (uint64_t)(v->bt.vdso_frame - 1) * PAGE +
	               off, want, len);
}

/* One CPL 3 access to the guest's stack: 0, or -1 with its fault in
 * v->fault (guest_access: #PF, CR2 set). */
static int user_stack(struct vcpu *v, uint32_t esp, void *buf, unsigned len,
                      bool write)
{
	int r;

	v->user_access = true;
	r = write ? guest_write(v, v->cpu.seg_base[SEG_SS] + esp, buf, len) :
	            guest_read(v, v->cpu.seg_base[SEG_SS] + esp, buf, len);
	v->user_access = false;
	return r;
}

/* __kernel_vsyscall from its entry to the INT 0x80, included. */
static void vsys_call(struct vcpu *v)
{
	uint32_t esp = v->cpu.gpr[R_ESP];
	uint32_t push[3] = { v->cpu.gpr[R_EBP], v->cpu.gpr[R_EDX],
	                     v->cpu.gpr[R_ECX] };

	if (user_stack(v, esp - 12, push, sizeof(push), true) < 0) {
		deliver_fault(v);        /* the first PUSH's */
		return;
	}
	v->cpu.gpr[R_ESP] = esp - 12;
	v->cpu.eip += 9;
	system_soft_int(v, 0x80, 2);
}

/* The offset of __kernel_vsyscall in a vDSO code page (entry, NOP4, INT
 * 0x80, landing pad), or -1: found exactly once. */
static int vsys_find(const uint8_t *page)
{
	int at = -1;

	for (unsigned off = 0; off + 13 <= PAGE; off++) {
		if (memcmp(page + off, vsys_entry, 3) || page[off + 7] != 0xCD ||
		    page[off + 8] != 0x80 ||
		    memcmp(page + off + 9, vsys_land, sizeof(vsys_land)))
			continue;
		unsigned i = 0;
		while (i < 3 && memcmp(page + off + 3, vsys_nop4[i], 4))
			i++;
		if (i == 3)
			continue;
		if (at >= 0)
			return -1;
		at = (int)off;
	}
	return at;
}

/* --- the vDSO gate (--vdso=gate) ------------------------------------------
 *
 * Guest user code that calls __kernel_vsyscall sees, in place of its
 * first 7 bytes (the three PUSHes and the NOP), `lcall $TC_GATE_CS,
 * $TC_GATE`: the shadow MMU maps a patched copy of the vDSO frame for
 * user mappings (shadow_alias), executable, and the kernel's own view of
 * the frame stays exact.  The gate (vmm/switch.S) reaches popek_callout
 * without a host signal; the monitor pops the far call's return address,
 * does the PUSHes and the INT 0x80 (vsys_call), and the kernel's IRET
 * returns to the landing pad, which runs natively.  The price: the key
 * page's address sits in GS base bits 32..63 while guest user code runs,
 * where 64-bit code can read it (docs/escape.md).  A write to the frame
 * drops the copy and patches it again. */

static int gate_patch(struct vcpu *v)
{
	const uint8_t *frame = v->vm->ram.host + (uint64_t)(v->bt.gate_frame - 1) * PAGE;
	uint8_t *p = v->bt.gate_page;
	uint32_t to = TC_GATE;
	uint16_t cs = TC_GATE_CS;
	int off = vsys_find(frame);

	if (off < 0)
		return -1;
	memcpy(p, frame, PAGE);
	p[off] = 0x9A;                        /* lcall ptr16:32 */
	memcpy(p + off + 1, &to, 4);
	memcpy(p + off + 5, &cs, 2);
	v->bt.gate_off = (uint32_t)off;
	return 0;
}

/* The tracer: the vDSO frame was written (the kernel patching it). */
static void gate_frame_written(void *ctx, uint32_t phys, unsigned len)
{
	struct vcpu *v = ctx;
	uint32_t f = v->bt.gate_frame - 1;

	(void)phys, (void)len;
	if (gate_patch(v) < 0) {          /* no __kernel_vsyscall left */
		shadow_trace(v->vm->shadow, v->bt.gate_tracer, f, false);
		shadow_alias(v->vm->shadow, f, -1);
		v->bt.gate_key = 0;
		v->bt.gate_frame = 0;
		return;
	}
	shadow_alias(v->vm->shadow, f, v->bt.gate_fd);
}

static int gate_init(struct vcpu *v, char *err, size_t errlen)
{
	_Static_assert(TC_GATE_CS == BT_TC_CS_SEL, "TC_GATE_CS");
	v->bt.gate_fd = -1;
	if (v->vm->cfg.vdso != VDSO_GATE)
		return 0;
	if (!tc_key_addr(v->bt.tc)) {
		snprintf(err, errlen, "--vdso=gate needs FSGSBASE on the host "
		         "(Linux 5.9 or later, not booted with nofsgsbase)");
		return -1;
	}
	if (tc_install_gate(v->bt.tc, popek_gate,
	                    (size_t)(popek_gate_end - popek_gate)) < 0) {
		snprintf(err, errlen, "the vDSO gate does not fit its page");
		return -1;
	}
	v->bt.gate_fd = memfd_create("popek-vdso-gate", MFD_CLOEXEC);
	if (v->bt.gate_fd < 0 || ftruncate(v->bt.gate_fd, PAGE) < 0 ||
	    (v->bt.gate_page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
	                            MAP_SHARED, v->bt.gate_fd, 0)) == MAP_FAILED) {
		snprintf(err, errlen, "cannot make the vDSO gate's page: %s",
		         strerror(errno));
		if (v->bt.gate_fd >= 0)
			close(v->bt.gate_fd);
		v->bt.gate_page = NULL;
		return -1;
	}
	v->bt.gate_tracer = shadow_add_tracer(v->vm->shadow, gate_frame_written, v);
	if (v->bt.gate_tracer < 0) {
		snprintf(err, errlen, "no write tracer left for the vDSO gate");
		return -1;
	}
	return 0;
}

/* The first INT 0x80 from the vDSO page at phys: patch it.  False when
 * this vDSO has no __kernel_vsyscall popek knows (then: --vdso=fast). */
static bool gate_start(struct vcpu *v, uint32_t phys)
{
	struct shadow *s = v->vm->shadow;
	uint32_t f = phys / PAGE;

	v->bt.gate_frame = f + 1;
	if (gate_patch(v) < 0) {
		v->bt.gate_frame = 0;
		return false;
	}
	shadow_trace(s, v->bt.gate_tracer, f, true);
	shadow_alias(s, f, v->bt.gate_fd);
	v->bt.gate_key = tc_key_addr(v->bt.tc);
	return true;
}

/* The EIP of the far call that returns to ret: the longest CALL FAR
 * ending there (7 bytes, ptr16:32, down to FF /3 through a register),
 * or ret itself if no such instruction ends there. */
static uint32_t far_call_before(struct vcpu *v, uint32_t ret)
{
	uint8_t buf[16];
	struct insn in;

	v->user_access = true;
	bool ok = guest_read(v, v->cpu.seg_base[SEG_CS] + ret - 15, buf, 15) == 0;
	v->user_access = false;
	for (unsigned len = 15; ok && len >= 2; len--)
		if (scan_decode(buf + 15 - len, len, true, &in) == 0 &&
		    in.len == len && in.op == INSN_CALL_FAR)
			return ret - len;
	return ret;
}

/* EXIT_VDSO_GATE: the far call's return address (just past the patched
 * bytes) and CS are on the guest's stack. */
void bt_gate_call(struct vcpu *v)
{
	uint32_t esp = v->cpu.gpr[R_ESP], ret[2];
	struct shadow_regs r = system_paging_regs(v, 3);
	struct shadow_result res = { .phys = 0 };

	if (v->sys.cpl != 3 || esp > 0xFFFFFFF7u ||
	    user_stack(v, esp, ret, sizeof(ret), false) < 0) {
		vcpu_crash(v, "vDSO gate: the far call's return address is not "
		           "on the guest's stack (ESP 0x%08x)", esp);
		return;
	}
	/* The state before the far call: at it, the stack as it was. */
	v->cpu.gpr[R_ESP] = esp + 8;
	v->cpu.eip = ret[0] - 7;
	uint32_t lin = v->cpu.seg_base[SEG_CS] + v->cpu.eip;
	if (!v->bt.gate_frame || (lin & (PAGE - 1)) != v->bt.gate_off ||
	    shadow_translate(v->vm->shadow, &r, lin, WALK_FETCH, &res) !=
	    SHADOW_MAPPED || res.phys / PAGE + 1 != v->bt.gate_frame) {
		/* Not a call from the patched vDSO: as hardware, a far call to
		 * a selector the guest's LDT does not have, at the call. */
		v->vm->counters[CTR_bt_gate_refused]++;
		v->cpu.eip = far_call_before(v, ret[0]);
		system_deliver(v, VEC_GP, INT_EXCEPTION, true, TC_GATE_CS & ~3u);
		return;
	}
	vsys_call(v);
}

/* At CPL 3 in the vDSO: the entry or the landing pad done here.  True
 * when the guest state moved on (the caller starts over). */
static bool vdso_fast(struct vcpu *v)
{
	const struct seg_cache *ss = &v->sys.seg[SEG_SS];
	uint32_t esp = v->cpu.gpr[R_ESP];

	/* (a flat 32-bit stack far from its ends, no guest TF) */
	if ((v->cpu.eflags & EFLAGS_TF) || v->shadow_step ||
	    !SEG_ATTR_DB(ss->attr) || ss->limit != 0xFFFFFFFFu ||
	    (SEG_ATTR_TYPE(ss->attr) & 4) || esp < 16 || esp > 0xFFFFFFF0u)
		return false;
	if (vdso_code_is(v, 0, vsys_entry, 3) &&
	    vdso_code_is(v, 7, (const uint8_t[]){ 0xCD, 0x80 }, 2)) {
		unsigned i = 0;
		while (i < 3 && !vdso_code_is(v, 3, vsys_nop4[i], 4))
			i++;
		if (i == 3)
			return false;
		v->vm->counters[CTR_bt_vdso_fast_calls]++;
		vsys_call(v);
		return true;
	}
	if (vdso_code_is(v, 0, vsys_land, sizeof(vsys_land))) {
		uint32_t pop[4];
		if (user_stack(v, esp, pop, sizeof(pop), false) < 0)
			return false;            /* translated: it faults there */
		v->cpu.gpr[R_EBP] = pop[0];
		v->cpu.gpr[R_EDX] = pop[1];
		v->cpu.gpr[R_ECX] = pop[2];
		v->cpu.eip = pop[3];
		v->cpu.gpr[R_ESP] = esp + 16;
		v->vm->counters[CTR_bt_vdso_fast_returns]++;
		return true;
	}
	return false;
}

/* Whether linear page lin is mapped global (or paging is off). */
static bool page_global(struct vcpu *v, uint32_t lin)
{
	struct shadow_regs r = system_paging_regs(v, 0);
	struct shadow_result res = { .phys = 0 };

	if (!(v->sys.cr0 & CR0_PG))
		return true;
	return shadow_peek(v->vm->shadow, &r, lin, &res) == SHADOW_MAPPED &&
	       res.global;
}

/* Fetch and translate the block at EIP: its TC address, or 0 with the
 * fetch's fault delivered (or the VM stopped). */
static uint32_t translate(struct vcpu *v, bool one_shot, bool keep)
{
	static uint8_t buf[PAGE + 16];
	uint32_t cs_base = v->cpu.seg_base[SEG_CS], lin = cs_base + v->cpu.eip;
	uint32_t first = PAGE - (lin & (PAGE - 1)), phys;
	struct tc_src src = { .eip = v->cpu.eip, .cs_base = cs_base,
	                      .bytes = buf, .one_shot = one_shot,
	                      .user = v->sys.cpl != 0, .keep = keep };
	struct cpu_fault next_fault = { .vector = -1 };
	bool used_next;

	v->fault.vector = -1;
	if (fetch(v, lin, buf, first) < 0) {
		if (v->fault.vector < 0 && !v->stop)
			vcpu_crash(v, "guest code at linear 0x%08x is not in RAM", lin);
		deliver_fault(v);
		return 0;
	}
	if (system_peek_ram(v, lin, &phys) < 0) {
		vcpu_crash(v, "guest code at linear 0x%08x is not in RAM", lin);
		return 0;
	}
	src.frame[0] = phys / PAGE;
	src.avail = first;
	if (fetch(v, lin + first, buf + first, 15) == 0 &&
	    system_peek_ram(v, lin + first, &phys) == 0) {
		src.frame[1] = phys / PAGE;
		src.next_ok = true;
		src.avail += 15;
	} else {
		next_fault = v->fault;
	}
	src.global = page_global(v, lin) &&
	             (!src.next_ok || page_global(v, lin + first));
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
	if (!one_shot && (!src.user || keep) && (!trace_frame(v, src.frame[0]) ||
	                  (used_next && !trace_frame(v, src.frame[1]))))
		tc_invalidate_frame(v->bt.tc, src.frame[0]);  /* not reusable */
	return t;
}

bool bt_prepare(struct vcpu *v)
{
	struct bt_state *b = &v->bt;
	uint32_t cs_base = v->cpu.seg_base[SEG_CS];

	b->entry = 0;
	if (!b->tc)
		return true;
	if (b->stepping) {
		b->entry = b->step_tc;
		return true;
	}
	/* CPL 0, and CPL 3 with the virtual IF off (which direct execution
	 * would show as on) or in the vDSO page; 16-bit code runs directly. */
	bool vdso = v->bt.vdso_frame && in_vdso(v);
	if (vdso && !v->bt.no_vdso_fast && vdso_fast(v))
		return false;            /* moved on: the run loop starts over */
	if (((v->sys.cpl != 0 && (v->cpu.eflags & EFLAGS_IF)) ||
	     !v->cpu.code32) && !vdso)
		return true;
	*vpage32(TCV_PEND) = intr_maybe_pending(v);
	if (v->shadow_step) {
		b->entry = translate(v, true, false);
		return b->entry != 0;
	}
	if (b->resume_ok && b->resume_eip == v->cpu.eip &&
	    b->resume_cs_base == cs_base && b->resume_cpl == v->sys.cpl &&
	    b->resume_gen == tc_generation(b->tc)) {
		b->entry = b->resume_tc;
		v->vm->counters[CTR_bt_resumes]++;
		return true;
	}
	if (vdso) {
		v->vm->counters[CTR_bt_vdso_entries]++;
		b->entry = tc_find_user(b->tc, v->cpu.eip, cs_base);
	} else {
		b->entry = v->sys.cpl ? 0 : tc_find(b->tc, v->cpu.eip, cs_base);
		if (b->entry && cs_base == 0)   /* inline branches look it up too */
			tc_lookup_insert(b->tc, v->cpu.eip, b->entry);
	}
	if (!b->entry)
		b->entry = translate(v, false, vdso);
	return b->entry != 0;
}

static void keep_resume(struct vcpu *v, uint32_t tc_addr)
{
	v->bt.resume_eip = v->cpu.eip;
	v->bt.resume_cs_base = v->cpu.seg_base[SEG_CS];
	v->bt.resume_tc = tc_addr;
	v->bt.resume_cpl = (uint8_t)v->sys.cpl;
	v->bt.resume_gen = tc_generation(v->bt.tc);
	v->bt.resume_ok = true;
}

void bt_load_area(struct vcpu *v)
{
	struct switch_area *a = v->area;

	v->bt.guest_cs = a->sel[SEG_CS];
	v->bt.guest_gs = a->sel[SEG_GS];
	a->sel[SEG_CS] = BT_TC_CS_SEL;
	a->sel[SEG_GS] = BT_TC_GS_SEL;
	a->gsbase = tc_gs_base(v->bt.tc);
	a->gskey = 0;
	a->eip = v->bt.entry;
	/* PUSH of a null register gives 0 inline only while no register
	 * holds a null with an RPL (translate/tc.h) */
	bool zero = true;
	for (int s = 0; s < SEG_COUNT; s++)
		zero &= v->host_sel[s] != 0 || v->sys.seg[s].sel == 0;
	tc_seg_push_null(v->bt.tc, zero);
	a->eflags &= ~EFLAGS_TF;
	if (v->bt.stepping)
		a->eflags |= EFLAGS_TF;
	*vpage32(TCV_TF) = v->bt.stepping ? EFLAGS_TF : 0;
	*vpage32(TCV_VIF) = v->cpu.eflags & EFLAGS_IF;
	*vpage32(TCV_VFL) = v->cpu.eflags & 0x00247000u;
	/* (no TF term: stepping ends at an exact position, so a PUSHF never
	 * runs with popek's TF set) */
	*vpage32(TCV_PDELTA) = (v->cpu.eflags & 0x00247000u) - EFLAGS_IF;
	*vpage32(TCV_CR0) = v->sys.cr0;
	*vpage32(TCV_CR0 + 8) = v->sys.cr2;
	*vpage32(TCV_CR0 + 12) = v->sys.cr3;
	*vpage32(TCV_CR0 + 16) = v->sys.cr4;
}

void bt_mappings_changed(struct vcpu *v, enum tc_map_change what, uint32_t lin)
{
	v->bt.vdso_yes = v->bt.vdso_no = 0;
	if (v->bt.tc)
		tc_mappings_changed(v->bt.tc, what, lin);
}

void bt_note_pending(void)
{
	*vpage32(TCV_PEND) = 1;
}

/* The guest's view back after translated code ran: its CS and GS
 * shadows, the virtual IF that inline CLI/STI/POPF kept in the vpage. */
static void guest_view(struct vcpu *v)
{
	v->host_sel[SEG_CS] = v->bt.guest_cs;
	v->host_sel[SEG_GS] = v->bt.guest_gs;
	v->cpu.eflags = (v->cpu.eflags & ~EFLAGS_IF) | (*vpage32(TCV_VIF) & EFLAGS_IF);
}

/* After a direct entry with the gate on: whether guest user code came
 * through it (a callout with the gate's site, or its HLT). */
/* A popek_callout exit (no signal): the guest registers it saved, and
 * the data selectors as it found them (inline loads in translated code,
 * native ones in user code before the gate; translated code's GS is the
 * vpage's, which guest_view then replaces). */
static void callout_state(struct vcpu *v)
{
	struct switch_area *a = v->area;

	a->callout = 0;
	memcpy(v->cpu.gpr, a->gpr, sizeof(v->cpu.gpr));
	v->cpu.eflags = (v->cpu.eflags & ~EFLAGS_LIVE) | (a->xflags & EFLAGS_LIVE);
	memcpy(v->host_sel, a->sel, sizeof(v->host_sel));
	v->host_sel[SEG_DS] = a->exit_sel[0];
	v->host_sel[SEG_ES] = a->exit_sel[1];
	v->host_sel[SEG_FS] = a->exit_sel[2];
	v->host_sel[SEG_GS] = a->exit_sel[3];
	v->host_sel[SEG_SS] = a->exit_sel[4];
}

static void signal_free_exit(struct vcpu *v, enum exit_reason why)
{
	v->exit.reason = why;
	v->exit.signo = 0;
	v->exit.vector = -1;
	v->exit.error = 0;
}

static void gate_exit(struct vcpu *v)
{
	struct switch_area *a = v->area;

	if (a->callout && a->site == TC_SITE_GATE) {
		callout_state(v);
	} else if (v->host_sel[SEG_CS] == BT_TC_CS_SEL &&
	           (v->cpu.eip == TC_GATE || v->cpu.eip == TC_GATE +
	            (uint32_t)(popek_gate_nokey - popek_gate))) {
		/* its HLT, or a signal (a kick) before its first instruction:
		 * the far call is done, nothing else */
		v->host_sel[SEG_CS] = a->sel[SEG_CS];
		if (v->cpu.eip != TC_GATE)
			v->vm->counters[CTR_bt_gate_nokey]++;
	} else {
		return;
	}
	signal_free_exit(v, EXIT_VDSO_GATE);
}

void bt_after_exit(struct vcpu *v)
{
	struct switch_area *a = v->area;
	uint32_t eip;

	v->bt.from_tc = false;
	if (!v->bt.entry) {
		if (v->bt.gate_page)      /* --vdso=gate (found or not yet) */
			gate_exit(v);
		return;
	}
	v->bt.resume_ok = false;
	if (a->callout) {
		v->bt.site = a->site;
		callout_state(v);
		guest_view(v);
		v->bt.stepping = false;
		signal_free_exit(v, EXIT_CALLOUT);
		return;
	}
	/* popek_enter declined to enter, or was kicked before the iretq:
	 * nothing ran, and nothing of the guest state was replaced. */
	if (v->host_sel[SEG_CS] != BT_TC_CS_SEL)
		return;
	uint32_t tc_addr = v->cpu.eip;
	int at = tc_map_back(v->bt.tc, tc_addr, &eip);
	bool own_step = v->bt.stepping && v->exit.signo == SIGTRAP;

	guest_view(v);
	if (at < 0) {
		vcpu_crash(v, "bt: exit at TC address 0x%08x outside any block",
		           tc_addr);
		return;
	}
	if (at == 1) {
		/* Inside an inline sequence: only a kick or popek's own step
		 * can stop it there (its instructions that may fault run on
		 * exact state).  Step on; the guest sees nothing. */
		if (v->exit.reason != EXIT_KICK && !own_step) {
			vcpu_crash(v, "bt: %s inside an inline sequence at TC "
			           "address 0x%08x", exit_reason_name[v->exit.reason],
			           tc_addr);
			return;
		}
		v->bt.stepping = true;
		v->bt.step_tc = tc_addr;
		v->vm->counters[CTR_bt_steps]++;
		v->exit.reason = EXIT_KICK;
		return;
	}
	v->bt.stepping = false;
	v->bt.from_tc = true;
	if (own_step)
		v->exit.reason = EXIT_KICK;      /* popek's TF, not the guest's */
	v->cpu.eip = eip;
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
	if (!s->patch || v->sys.cpl != 0)   /* CPL 3 blocks are not reused */
		return NULL;
	/* Look the target up now, to chain the branch to it. */
	uint32_t site = v->bt.site, cs_base = v->cpu.seg_base[SEG_CS];
	uint64_t gen = tc_generation(v->bt.tc);
	t = tc_find(v->bt.tc, v->cpu.eip, cs_base);
	if (!t)
		t = translate(v, false, false);
	if (t && tc_generation(v->bt.tc) == gen) {   /* no flush in between */
		tc_chain(v->bt.tc, site, t);
		keep_resume(v, t);
	}
	return NULL;
}
