/*
 * sysenter.c — SYSENTER and SYSEXIT in protected mode (SDM vol. 2B
 * "SYSENTER", "SYSEXIT"): a transfer between CPL 3 and CPL 0 whose
 * segments are not read from the GDT or LDT.  CS and SS get fixed flat
 * 4 GiB caches (base 0, limit 0xFFFFFFFF, 32-bit, page granular; code
 * execute/read accessed, data read/write accessed) and selectors derived
 * from IA32_SYSENTER_CS, whatever the descriptors at those selectors say;
 * the accessed bits in memory are not touched.  Only the 32-bit form of
 * SYSEXIT exists here (REX.W needs 64-bit mode).
 */
#include "vmm/desc_impl.h"

/* Descriptor bits 40..55 of a flat 4 GiB segment at `dpl`: present, S,
 * D/B and G, with the type given (SDM 3.4.5). */
static struct seg_cache flat(uint16_t sel, unsigned dpl, unsigned type)
{
	return (struct seg_cache){
		.sel = sel, .base = 0, .limit = 0xFFFFFFFFu,
		.attr = (uint16_t)(type | 0x10u | dpl << 5 | 0x80u | 0x4000u |
		                   0x8000u),
	};
}

#define FLAT_CODE (TYPE_CODE | TYPE_WR | TYPE_ACCESSED)   /* 11 */
#define FLAT_DATA (TYPE_WR | TYPE_ACCESSED)               /* 3 */

enum cpu_result cpu_sysenter(struct emu_cpu *c, struct cpu_sys *s,
                             uint32_t cs_msr, uint32_t esp, uint32_t eip,
                             struct cpu_fault *f)
{
	uint16_t cs = (uint16_t)(cs_msr & 0xFFFCu);
	struct seg_cache ccs = flat(cs, 0, FLAT_CODE);
	struct seg_cache css = flat((uint16_t)(cs + 8), 0, FLAT_DATA);

	if (!(s->cr0 & CR0_PE))
		return desc_fault(f, VEC_GP, 0, "SYSENTER in real mode");
	if (cs == 0)
		return desc_fault(f, VEC_GP, 0, "SYSENTER with SYSENTER_CS 0");
	c->eflags &= ~(EFLAGS_VM | EFLAGS_IF | EFLAGS_RF);
	s->cpl = 0;
	desc_commit(c, s, SEG_CS, &ccs);
	desc_commit(c, s, SEG_SS, &css);
	c->gpr[R_ESP] = esp;
	c->eip = eip;
	return CPU_OK;
}

enum cpu_result cpu_sysexit(struct emu_cpu *c, struct cpu_sys *s,
                            uint32_t cs_msr, struct cpu_fault *f)
{
	uint16_t base = (uint16_t)cs_msr;
	struct seg_cache ccs = flat((uint16_t)((base + 16) | 3), 3, FLAT_CODE);
	struct seg_cache css = flat((uint16_t)((base + 24) | 3), 3, FLAT_DATA);

	if (!(s->cr0 & CR0_PE) || s->cpl != 0)
		return desc_fault(f, VEC_GP, 0, "SYSEXIT not at CPL 0");
	if ((base & 0xFFFCu) == 0)
		return desc_fault(f, VEC_GP, 0, "SYSEXIT with SYSENTER_CS 0");
	s->cpl = 3;
	desc_commit(c, s, SEG_CS, &ccs);
	desc_commit(c, s, SEG_SS, &css);
	c->gpr[R_ESP] = c->gpr[R_ECX];
	c->eip = c->gpr[R_EDX];
	return CPU_OK;
}
