/*
 * system.c — the monitor's side of the guest's system instructions: the
 * emulator's `struct emu_sys` callbacks over the virtual CPU (cpu.h),
 * guest memory as the emulator and the descriptor logic reach it, the
 * host-LDT shadows of the guest's segments, and exception delivery.
 *
 * A callback that must give the guest a fault records it in v->fault and
 * returns -1; the exit handler delivers it through the guest IDT once the
 * emulator has stopped.  A path popek cannot follow (triple fault,
 * unsupported feature) stops the VM with vcpu_crash() and also returns -1.
 *
 * The host-LDT shadows of the guest's segments live in segshadow.c; the
 * callbacks that only read the virtual CPU for the sensitive
 * instructions in system_query.c.
 */
#include "vmm/system.h"
#include "translate/tc.h"
#include "vmm/desc.h"
#include "vmm/msr.h"
#include "vmm/vm.h"
#include "devices/bus.h"
#include "shadowpt/shadow.h"

#include <stdio.h>
#include <string.h>
#include <x86intrin.h>


static void raise_fault(void *ctx, int vector, uint32_t error)
{
	struct vcpu *v = ctx;

	v->fault.vector = vector;
	v->fault.has_error = vector_has_error(vector);
	v->fault.error = error;
	v->fault.why = "raised by the emulator";
}

/* --- guest memory ------------------------------------------------------ */

/*
 * The emulator and the descriptor logic reach guest memory by linear
 * address, as supervisor accesses (cpu.h).  With paging on, each page is
 * translated by the guest's tables (setting A/D, giving #PF with CR2);
 * guest-physical addresses outside RAM go to the MMIO bus, where nothing
 * reads as all ones and writes are dropped.
 */

struct shadow_regs system_paging_regs(const struct vcpu *v, int cpl)
{
	return (struct shadow_regs){ .cr0 = v->sys.cr0, .cr3 = v->sys.cr3,
	                             .cr4 = v->sys.cr4, .cpl = cpl };
}

int system_peek_ram(const struct vcpu *v, uint32_t lin, uint32_t *phys)
{
	struct shadow_regs r = system_paging_regs(v, 0);
	struct shadow_result res = { .phys = lin };

	if ((v->sys.cr0 & CR0_PG) &&
	    shadow_peek(v->vm->shadow, &r, lin, &res) != SHADOW_MAPPED)
		return -1;
	*phys = res.phys;
	return (uint64_t)res.phys < v->vm->ram.size ? 0 : -1;
}

/* The emulator's TLB (vcpu.h): what a successful walk for one access
 * says of the others (a user write needs RW and U/S, enough for all). */
#define GTLB_SR 1u
#define GTLB_SW 2u
#define GTLB_UR 4u
#define GTLB_UW 8u
#define GTLB_N  (sizeof(((struct vcpu *)0)->gtlb) / sizeof(((struct vcpu *)0)->gtlb[0]))

void system_tlb_flush(struct vcpu *v)
{
	memset(v->gtlb, 0, sizeof(v->gtlb));
}

/* Linear → guest-physical for one access within a page; 0, or -1 with
 * the guest's fault recorded (or the VM stopped).  Guest RAM pages are
 * kept in the TLB (not with --shadow=traced, where a PTE write counts at
 * once; nor MMIO). */
static int translate(struct vcpu *v, uint32_t lin, bool write, uint32_t *phys)
{
	struct shadow_regs r = system_paging_regs(v, v->user_access ? 3 : 0);
	struct shadow_result res;
	unsigned need = v->user_access ? (write ? GTLB_UW : GTLB_UR) :
	                                 (write ? GTLB_SW : GTLB_SR);
	typeof(v->gtlb[0]) *e = &v->gtlb[(lin >> 12) % GTLB_N];

	*phys = lin;
	if (!(v->sys.cr0 & CR0_PG))
		return 0;
	if (e->tag == (lin >> 12) + 1 && (e->ok & need)) {
		*phys = e->frame | (lin & 0xFFF);
		goto mapped;
	}
	switch (shadow_translate(v->vm->shadow, &r, lin,
	                         write ? WALK_WRITE : WALK_READ, &res)) {
	case SHADOW_MAPPED:
		if (!v->vm->cfg.shadow_traced) {
			unsigned ok = need == GTLB_UW ? 15u : need == GTLB_UR ?
			              GTLB_UR | GTLB_SR : need == GTLB_SW ?
			              GTLB_SW | GTLB_SR : GTLB_SR;
			if (e->tag != (lin >> 12) + 1 ||
			    e->frame != (res.phys & ~0xFFFu))
				e->ok = 0;
			e->tag = (lin >> 12) + 1;
			e->frame = res.phys & ~0xFFFu;
			e->ok |= (uint8_t)ok;
		}
		/* fall through */
	case SHADOW_EMULATE:
		*phys = res.phys;
	mapped:
		/* A user page beyond the cut of user segments: learn it. */
		if (v->user_access && ((uint64_t)lin | 0xFFF) + 1 > v->user_seen)
			v->user_seen = ((uint64_t)lin | 0xFFF) + 1;
		return 0;
	case SHADOW_GUEST_PF:
		v->sys.cr2 = lin;
		v->pf_error = res.error;
		raise_fault(v, VEC_PF, res.error);
		return -1;
	default:
		vcpu_crash(v, "guest page tables (CR3 0x%08x) reach outside guest "
		           "RAM while translating 0x%08x", v->sys.cr3, lin);
		v->fault.vector = -1;
		return -1;
	}
}

/* Outside RAM: the MMIO bus, in naturally sized pieces. */
static void mmio_access(struct vcpu *v, uint32_t phys, uint8_t *buf,
                        unsigned len, bool write)
{
	v->vm->counters[CTR_mmio]++;
	while (len) {
		unsigned n = len >= 4 && !(phys & 3) ? 4 :
		             len >= 2 && !(phys & 1) ? 2 : 1;
		uint64_t val = 0;

		if (write) {
			memcpy(&val, buf, n);
			bus_write(v->vm->mmio, phys, n, val);
		} else {
			if (bus_read(v->vm->mmio, phys, n, &val) != BUS_OK)
				val = ~0ull;
			memcpy(buf, &val, n);
		}
		phys += n, buf += n, len -= n;
	}
}

/* Most emulated accesses are a dword or a word (stack pushes and pops,
 * descriptors, gates): fixed-size copies compile to plain moves, where a
 * variable-length memcpy became `rep movsq` and its startup cost. */
static inline void copy_small(uint8_t *dst, const uint8_t *src, unsigned n)
{
	switch (n) {
	case 4: memcpy(dst, src, 4); return;
	case 2: memcpy(dst, src, 2); return;
	case 8: memcpy(dst, src, 8); return;
	case 1: *dst = *src; return;
	default: memcpy(dst, src, n); return;
	}
}

static int guest_access(struct vcpu *v, uint32_t lin, uint8_t *buf,
                        unsigned len, bool write)
{
	while (len) {
		unsigned n = 4096 - (lin & 4095);
		uint32_t phys;

		if (n > len)
			n = len;
		if (translate(v, lin, write, &phys) < 0)
			return -1;
		if ((uint64_t)phys + n <= v->vm->ram.size) {
			uint8_t *ram = v->vm->ram.host + phys;
			if (write) {
				copy_small(ram, buf, n);
				if (shadow_is_traced(v->vm->shadow, phys))
					shadow_wrote(v->vm->shadow, phys, n);
			} else
				copy_small(buf, ram, n);
		} else {
			mmio_access(v, phys, buf, n, write);
		}
		lin += n, buf += n, len -= n;
	}
	return 0;
}

int guest_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	return guest_access(ctx, lin, dst, len, false);
}

int guest_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	return guest_access(ctx, lin, (uint8_t *)src, len, true);
}

static struct cpu_mem sys_mem(struct vcpu *v)
{
	return (struct cpu_mem){ .read = guest_read, .write = guest_write,
	                         .ctx = v, .pf_error = &v->pf_error };
}

/* --- results of the descriptor logic ---------------------------------- */

static void mark_all_segs(struct vcpu *v)
{
	v->seg_dirty = (1u << SEG_COUNT) - 1;
}

/* Turn a cpu_result into the callback convention (0 / -1). */
static int result(struct vcpu *v, enum cpu_result r, const struct cpu_fault *f,
                  const char *what)
{
	switch (r) {
	case CPU_OK:
		mark_all_segs(v);
		return 0;
	case CPU_FAULT:
		v->fault = *f;
		return -1;
	case CPU_TRIPLE:
		vcpu_crash(v, "triple fault during %s", what);
		break;
	case CPU_UNSUPPORTED:
		vcpu_crash(v, "unsupported: %s (%s)", f && f->why ? f->why : what,
		           what);
		break;
	}
	v->fault.vector = -1;
	return -1;
}

static int gp0(struct vcpu *v)
{
	raise_fault(v, VEC_GP, 0);
	return -1;
}

/* --- the emu_sys callbacks --------------------------------------------- */

static int sys_load_seg(void *ctx, enum seg seg, uint16_t sel)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };

	return result(v, seg_load(&v->cpu, &v->sys, &m, seg, sel, &f), &f,
	              "segment load");
}

static int sys_far_jmp(void *ctx, uint16_t sel, uint32_t off)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };

	return result(v, cpu_far_jmp(&v->cpu, &v->sys, &m, sel, off, &f), &f,
	              "far JMP");
}

static int sys_far_call(void *ctx, uint16_t sel, uint32_t off, unsigned opsize)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };

	return result(v, cpu_far_call(&v->cpu, &v->sys, &m, sel, off, opsize, &f),
	              &f, "far CALL");
}

static int sys_far_ret(void *ctx, unsigned pop_bytes, unsigned opsize)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };

	return result(v, cpu_far_ret(&v->cpu, &v->sys, &m, pop_bytes, opsize, &f),
	              &f, "far RET");
}

/* IRET back to the instruction whose host fault became a guest #PF:
 * the handler has presumably mapped the page, so map it on the host now
 * (what the retry's own host fault would do, A/D bits included: the
 * retry makes the access).  A page still not present stays unmapped. */
static void replay_fault(struct vcpu *v)
{
	struct shadow_result res = { .phys = 0 };

	v->pf_replay = false;
	if (v->cpu.eip != v->pf_replay_eip || v->sys.cpl != v->pf_replay_cpl)
		return;
	struct shadow_regs r = system_paging_regs(v, v->sys.cpl);
	if (shadow_fault(v->vm->shadow, &r, v->pf_replay_lin, v->pf_replay_err,
	                 &res) == SHADOW_MAPPED)
		v->vm->counters[CTR_pf_replayed]++;
}

static int sys_iret(void *ctx, unsigned opsize)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };
	int r = result(v, cpu_iret(&v->cpu, &v->sys, &m, opsize, &f), &f, "IRET");

	if (r == 0 && v->pf_replay)
		replay_fault(v);
	return r;
}

/* SYSENTER/SYSEXIT where the virtual CPU has no SEP (--sysenter,
 * cpuid.c): #UD, as on a CPU without them. */
static bool no_sep(struct vcpu *v)
{
	if (v->vm->cfg.sep)
		return false;
	raise_fault(v, VEC_UD, 0);
	return true;
}

static int sys_sysenter(void *ctx)
{
	struct vcpu *v = ctx;
	struct cpu_fault f = { .vector = -1 };

	if (no_sep(v))
		return -1;
	if (result(v, cpu_sysenter(&v->cpu, &v->sys,
	                           (uint32_t)v->msr.sysenter_cs,
	                           (uint32_t)v->msr.sysenter_esp,
	                           (uint32_t)v->msr.sysenter_eip, &f),
	           &f, "SYSENTER") < 0)
		return -1;
	v->vm->counters[CTR_sysenter]++;
	return 0;
}

static int sys_sysexit(void *ctx)
{
	struct vcpu *v = ctx;
	struct cpu_fault f = { .vector = -1 };

	if (no_sep(v))
		return -1;
	return result(v, cpu_sysexit(&v->cpu, &v->sys,
	                             (uint32_t)v->msr.sysenter_cs, &f),
	              &f, "SYSEXIT");
}

static int sys_lgdt(void *ctx, uint32_t base, uint16_t limit)
{
	struct vcpu *v = ctx;

	v->sys.gdtr = (struct dtr){ .base = base, .limit = limit };
	segshadow_trace_tables(v);
	return 0;
}

static int sys_lidt(void *ctx, uint32_t base, uint16_t limit)
{
	struct vcpu *v = ctx;

	v->sys.idtr = (struct dtr){ .base = base, .limit = limit };
	return 0;
}

static int sys_lldt(void *ctx, uint16_t sel)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };

	if (result(v, cpu_lldt(&v->cpu, &v->sys, &m, sel, &f), &f, "LLDT") < 0)
		return -1;
	segshadow_trace_tables(v);
	return segshadow_ldt(v);
}

static int sys_ltr(void *ctx, uint16_t sel)
{
	struct vcpu *v = ctx;
	struct cpu_mem m = sys_mem(v);
	struct cpu_fault f = { .vector = -1 };

	return result(v, cpu_ltr(&v->cpu, &v->sys, &m, sel, &f), &f, "LTR");
}

/* CR4 bits the virtual i686 accepts (CPUID shows their features). */
#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | \
                   CR4_OSFXSR | CR4_OSXMMEXCPT)
/* CR0 bits the guest may change; ET is hardwired to 1 on a P6. */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_NE | CR0_WP | \
                   CR0_AM | CR0_NW | CR0_CD | CR0_PG)

void system_user_top(struct vcpu *v)
{
	uint64_t high = shadow_user_high(v->vm->shadow);

	if (!v->vm->cfg.seg_user_isolation || v->user_cut_off)
		return;
	if (v->user_seen > high)
		high = v->user_seen;
	high = (high + 0x3FFFFF) & ~(uint64_t)0x3FFFFF;   /* whole 4 MiB */
	if (high <= v->user_top)
		return;
	if (high >= TC_BASE) {             /* user pages up to the monitor */
		v->user_cut_off = true;
		v->user_top = 0;
		shadow_set_user_top(v->vm->shadow, 0xFFFFFFFFu);
		return;
	}
	v->user_top = (uint32_t)high;
	shadow_set_user_top(v->vm->shadow, v->user_top);
}

bool system_user_fetch(struct vcpu *v)
{
	uint32_t lin = v->cpu.seg_base[SEG_CS] + v->cpu.eip;
	struct shadow_result res;

	system_user_top(v);                /* user pages mapped since? */
	if (!v->user_top || v->sys.cpl != 3 || lin < v->user_top)
		return true;
	struct shadow_regs r = system_paging_regs(v, 3);
	if (shadow_translate(v->vm->shadow, &r, lin, WALK_FETCH, &res) ==
	    SHADOW_GUEST_PF) {
		v->sys.cr2 = lin;
		system_deliver(v, VEC_PF, INT_EXCEPTION, true, res.error);
		return false;
	}
	/* A user page not yet mapped above the cut: learn it. */
	v->user_seen = ((uint64_t)lin | 0xFFF) + 1;
	system_user_top(v);
	return true;
}

/* Paging turned on or off, or a bit that changes every translation. */
static int paging_reset(struct vcpu *v)
{
	char err[256];

	bt_mappings_changed(v, TC_MAP_ALL, 0);
	system_tlb_flush(v);
	if (shadow_reset(v->vm->shadow, v->sys.cr0 & CR0_PG, err,
	                 sizeof(err)) == 0) {
		segshadow_trace_tables(v);
		system_user_top(v);
		return 0;
	}
	vcpu_crash(v, "%s", err);
	v->fault.vector = -1;
	return -1;
}

static int write_cr0(struct vcpu *v, uint32_t val)
{
	val = (val & CR0_VALID) | CR0_ET;
	if (((val & CR0_PG) && !(val & CR0_PE)) ||
	    ((val & CR0_NW) && !(val & CR0_CD)))
		return gp0(v);                   /* SDM vol. 2, MOV CR: #GP(0) */
	if (!(val & CR0_PE)) {
		vcpu_crash(v, "unsupported: CR0 = 0x%08x (real mode)", val);
		v->fault.vector = -1;
		return -1;
	}
	uint32_t changed = v->sys.cr0 ^ val;
	v->sys.cr0 = val;
	if (changed & (CR0_PG | CR0_WP))
		return paging_reset(v);
	return 0;
}

static int sys_write_cr(void *ctx, int cr, uint32_t val)
{
	struct vcpu *v = ctx;

	switch (cr) {
	case 0: return write_cr0(v, val);
	case 2: v->sys.cr2 = val; return 0;
	case 3:
		v->sys.cr3 = val;
		v->vm->counters[CTR_cr3_loads]++;
		shadow_new_cr3(v->vm->shadow);
		bt_mappings_changed(v, TC_MAP_CR3, 0);
		system_tlb_flush(v);
		segshadow_trace_tables(v);
		system_user_top(v);
		return 0;
	case 4: {
		if (val & ~CR4_VALID)
			return gp0(v);
		uint32_t changed = v->sys.cr4 ^ val;
		v->sys.cr4 = val;
		if (changed & (CR4_PSE | CR4_PGE))
			return paging_reset(v);
		return 0;
	}
	default:
		raise_fault(v, VEC_UD, 0);
		return -1;
	}
}

static int sys_read_cr(void *ctx, int cr, uint32_t *val)
{
	struct vcpu *v = ctx;
	const uint32_t *r[5] = { &v->sys.cr0, NULL, &v->sys.cr2, &v->sys.cr3,
	                         &v->sys.cr4 };

	if (cr < 0 || cr > 4 || !r[cr]) {
		raise_fault(v, VEC_UD, 0);
		return -1;
	}
	*val = *r[cr];
	return 0;
}

/* DR4/DR5 alias DR6/DR7 while CR4.DE = 0 (SDM vol. 3B, 17.2.2). */
static int dr_index(struct vcpu *v, int dr)
{
	if ((dr == 4 || dr == 5) && !(v->sys.cr4 & CR4_DE))
		return dr + 2;
	if (dr == 4 || dr == 5) {
		raise_fault(v, VEC_UD, 0);
		return -1;
	}
	return dr;
}

static int sys_read_dr(void *ctx, int dr, uint32_t *val)
{
	struct vcpu *v = ctx;
	int i = dr_index(v, dr);

	if (i < 0)
		return -1;
	*val = v->sys.dr[i];
	return 0;
}

static int sys_write_dr(void *ctx, int dr, uint32_t val)
{
	struct vcpu *v = ctx;
	int i = dr_index(v, dr);

	if (i < 0)
		return -1;
	v->sys.dr[i] = val;  /* stored: breakpoints are not armed */
	return 0;
}

static int sys_rdmsr(void *ctx, uint32_t index, uint64_t *val)
{
	struct vcpu *v = ctx;

	if (msr_read(&v->msr, index, __rdtsc(), val) == 0)
		return 0;
	if (v->vm->cfg.trace_msr)
		fprintf(stderr, "popek: rdmsr 0x%08x: unknown MSR, #GP\n", index);
	return gp0(v);
}

static int sys_wrmsr(void *ctx, uint32_t index, uint64_t val)
{
	struct vcpu *v = ctx;

	if (msr_write(&v->msr, index, val, __rdtsc()) == 0)
		return 0;
	if (v->vm->cfg.trace_msr)
		fprintf(stderr, "popek: wrmsr 0x%08x <- 0x%016llx: unknown MSR or "
		        "reserved bits, #GP\n", index, (unsigned long long)val);
	return gp0(v);
}

static int sys_invlpg(void *ctx, uint32_t linear)
{
	struct vcpu *v = ctx;

	v->vm->counters[CTR_invlpg]++;
	shadow_invlpg(v->vm->shadow, linear);
	bt_mappings_changed(v, TC_MAP_PAGE, linear);
	system_tlb_flush(v);      /* (all of it: INVLPG may name a 4 MiB page) */
	return 0;
}

static int sys_clts(void *ctx)
{
	struct vcpu *v = ctx;

	v->sys.cr0 &= ~CR0_TS;
	return 0;
}

static int sys_wbinvd(void *ctx)
{
	(void)ctx;   /* caches are the host's business */
	return 0;
}

const struct emu_sys guest_sys = {
	.load_seg = sys_load_seg, .far_jmp = sys_far_jmp,
	.far_call = sys_far_call, .far_ret = sys_far_ret, .iret = sys_iret,
	.sysenter = sys_sysenter, .sysexit = sys_sysexit,
	.lgdt = sys_lgdt, .lidt = sys_lidt, .lldt = sys_lldt, .ltr = sys_ltr,
	.read_cr = sys_read_cr, .write_cr = sys_write_cr,
	.read_dr = sys_read_dr, .write_dr = sys_write_dr,
	.rdmsr = sys_rdmsr, .wrmsr = sys_wrmsr, .invlpg = sys_invlpg,
	.clts = sys_clts, .wbinvd = sys_wbinvd,
	.read_gdtr = system_read_gdtr, .read_idtr = system_read_idtr,
	.read_ldtr = system_read_ldtr, .read_tr = system_read_tr,
	.read_seg = system_read_seg, .read_desc = system_read_desc,
	.check_limit = system_check_limit, .cpuid = system_cpuid,
	.rdtsc = system_rdtsc,
};

void system_raise(void *ctx, int vector, uint32_t error)
{
	raise_fault(ctx, vector, error);
}

/* --- delivery and host shadows ------------------------------------------ */

static void delivered(struct vcpu *v, enum cpu_result r, int vector)
{
	v->vm->counters[CTR_delivered]++;
	if (r == CPU_OK)
		mark_all_segs(v);
	else if (r == CPU_TRIPLE)
		vcpu_crash(v, "triple fault delivering vector 0x%x", vector);
	else
		vcpu_crash(v, "unsupported: delivering vector 0x%x (%s)", vector,
		           cpu_unsupported_why());
}

void system_deliver(struct vcpu *v, int vector, enum int_kind kind,
                    bool has_error, uint32_t error)
{
	struct cpu_mem m = sys_mem(v);

	delivered(v, cpu_interrupt(&v->cpu, &v->sys, &m, vector, kind,
	                           has_error, error), vector);
}

void system_soft_int(struct vcpu *v, int vector, unsigned insn_len)
{
	struct cpu_mem m = sys_mem(v);

	delivered(v, cpu_soft_interrupt(&v->cpu, &v->sys, &m, vector, insn_len),
	          vector);
}
