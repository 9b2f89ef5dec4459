/*
 * system_query.c — the emu_sys callbacks the sensitive-but-unprivileged
 * instructions need (emulate_sensitive.c, emulate_verify.c,
 * emulate_branch.c), over the guest's virtual CPU: its descriptor-table
 * registers and selectors (never the host shadow selectors of
 * segshadow.c), descriptors read from its own GDT/LDT, its segment
 * limits, its CPUID (cpuid.c) and its TSC (the host's plus the offset a
 * guest write of the TSC MSR set, msr.c).
 *
 * They only read; a fault (#PF reading a descriptor table, a limit
 * violation) is recorded in v->fault like system.c's, for the exit
 * handler to deliver.  guest_sys (system.c) names them.
 */
#include "vmm/system.h"
#include "vmm/cpuid.h"
#include "vmm/msr.h"
#include "vmm/vm.h"

#include <x86intrin.h>

int system_read_gdtr(void *ctx, uint32_t *base, uint16_t *limit)
{
	const struct vcpu *v = ctx;

	*base = v->sys.gdtr.base;
	*limit = v->sys.gdtr.limit;
	return 0;
}

int system_read_idtr(void *ctx, uint32_t *base, uint16_t *limit)
{
	const struct vcpu *v = ctx;

	*base = v->sys.idtr.base;
	*limit = v->sys.idtr.limit;
	return 0;
}

int system_read_ldtr(void *ctx, uint16_t *sel)
{
	*sel = ((const struct vcpu *)ctx)->sys.ldtr.sel;
	return 0;
}

int system_read_tr(void *ctx, uint16_t *sel)
{
	*sel = ((const struct vcpu *)ctx)->sys.tr.sel;
	return 0;
}

int system_read_seg(void *ctx, enum seg seg, uint16_t *sel)
{
	*sel = ((const struct vcpu *)ctx)->sys.seg[seg].sel;
	return 0;
}

/* The descriptor as the guest's tables hold it now (not a cache). */
int system_read_desc(void *ctx, uint16_t sel, uint64_t *raw, bool *found)
{
	struct vcpu *v = ctx;
	uint32_t addr;

	*found = desc_locate(&v->sys, sel, &addr) == NULL;
	if (!*found)
		return 0;
	return guest_read(v, addr, raw, 8);
}

/* An unusable segment (null selector loaded) has no byte within it. */
int system_check_limit(void *ctx, enum seg seg, uint32_t off, unsigned len)
{
	struct vcpu *v = ctx;
	const struct seg_cache *sc = &v->sys.seg[seg];

	if (desc_usable(sc) && desc_in_limit(sc, off, len))
		return 0;
	system_raise(v, seg == SEG_SS ? VEC_SS : VEC_GP, 0);
	return -1;
}

int system_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	const struct vcpu *v = ctx;

	cpuid_query(leaf, subleaf, v->vm->cfg.sep, out);
	return 0;
}

int system_rdtsc(void *ctx, uint64_t *tsc)
{
	struct vcpu *v = ctx;

	return msr_read(&v->msr, MSR_TSC, __rdtsc(), tsc);
}
