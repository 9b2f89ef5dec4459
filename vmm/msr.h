/*
 * msr.h — the virtual CPU's model-specific registers (msr.c).
 *
 * RDMSR/WRMSR of an MSR popek does not model, or a write with reserved
 * bits set, is a #GP for the guest: msr_read/msr_write return -1 and the
 * caller raises it.  The TSC passes the host's through, plus an offset
 * that guest writes set.
 */
#ifndef POPEK_VMM_MSR_H
#define POPEK_VMM_MSR_H

#include <stdint.h>

#define MSR_TSC              0x010
#define MSR_PLATFORM_ID      0x017
#define MSR_APIC_BASE        0x01B
#define MSR_BIOS_SIGN_ID     0x08B
#define MSR_MTRRCAP          0x0FE
#define MSR_SYSENTER_CS      0x174
#define MSR_SYSENTER_ESP     0x175
#define MSR_SYSENTER_EIP     0x176
#define MSR_MISC_ENABLE      0x1A0
#define MSR_PAT              0x277
#define MSR_MTRR_DEF_TYPE    0x2FF

struct msr_state {
	uint64_t tsc_offset;
	uint64_t apic_base;
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t misc_enable;
	uint64_t pat;
	uint64_t mtrr_def_type;
};

void msr_init(struct msr_state *m);
int msr_read(struct msr_state *m, uint32_t index, uint64_t host_tsc,
             uint64_t *val);
int msr_write(struct msr_state *m, uint32_t index, uint64_t val,
              uint64_t host_tsc);
/* Name of a modelled MSR for traces, or NULL. */
const char *msr_name(uint32_t index);

#endif
