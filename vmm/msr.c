/*
 * msr.c — the MSRs of popek's virtual i686 (see msr.h).
 *
 * Reset values (SDM vol. 4 and vol. 3A 11.12): PAT 0x0007040600070406;
 * APIC_BASE 0xFEE00900 (BSP, global enable) although CPUID hides the
 * APIC — a kernel that reads it without looking at CPUID still gets the
 * architectural value; MISC_ENABLE with fast strings (bit 0); MTRRcap 0
 * (no variable or fixed ranges, no write-combining) and MTRRdefType 0;
 * an MTRRdefType write with an undefined type (2, 3, 7 and up: UC- exists
 * only in the PAT) is a #GP, as the SDM (vol. 3A 11.11.2) says.
 * PLATFORM_ID and BIOS_SIGN_ID read 0 (Linux reads them for microcode).
 * SYSENTER_CS/ESP/EIP are what SYSENTER and SYSEXIT use (sysenter.c)
 * where CPUID shows SEP; they are stored where it hides SEP too, as P6
 * parts with SEP accept them.
 */
#include "vmm/msr.h"

#include <stddef.h>

void msr_init(struct msr_state *m)
{
	*m = (struct msr_state){
		.apic_base = 0xFEE00900ull,
		.misc_enable = 1,
		.pat = 0x0007040600070406ull,
	};
}

/* PAT entries: memory types 0, 1, 4, 5, 6, 7 exist; 2, 3 and >7 do not. */
static int pat_valid(uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		unsigned t = (unsigned)(v >> (8 * i)) & 0xFF;
		if (t == 2 || t == 3 || t > 7)
			return 0;
	}
	return 1;
}

static uint64_t *storage(struct msr_state *m, uint32_t index)
{
	switch (index) {
	case MSR_SYSENTER_CS: return &m->sysenter_cs;
	case MSR_SYSENTER_ESP: return &m->sysenter_esp;
	case MSR_SYSENTER_EIP: return &m->sysenter_eip;
	case MSR_MISC_ENABLE: return &m->misc_enable;
	case MSR_PAT: return &m->pat;
	case MSR_MTRR_DEF_TYPE: return &m->mtrr_def_type;
	case MSR_APIC_BASE: return &m->apic_base;
	default: return NULL;
	}
}

int msr_read(struct msr_state *m, uint32_t index, uint64_t host_tsc,
             uint64_t *val)
{
	uint64_t *p;

	switch (index) {
	case MSR_TSC:
		*val = host_tsc + m->tsc_offset;
		return 0;
	case MSR_PLATFORM_ID:
	case MSR_BIOS_SIGN_ID:
	case MSR_MTRRCAP:
		*val = 0;
		return 0;
	}
	p = storage(m, index);
	if (!p)
		return -1;
	*val = *p;
	return 0;
}

/* MTRR memory types: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB. */
static int mtrr_type_valid(unsigned t)
{
	return t == 0 || t == 1 || (t >= 4 && t <= 6);
}

/* Reserved bits or encodings, per MSR; nonzero for a write that sets one. */
static int reserved_bits(uint32_t index, uint64_t val)
{
	switch (index) {
	case MSR_PAT: return !pat_valid(val);
	case MSR_APIC_BASE: return (val & ~0xFFFFF900ull) != 0; /* 32-bit PA */
	case MSR_MTRR_DEF_TYPE:
		return (val & ~0xCFFull) != 0 || !mtrr_type_valid(val & 0xFF);
	case MSR_SYSENTER_CS: return (val >> 32) != 0;
	default: return 0;
	}
}

int msr_write(struct msr_state *m, uint32_t index, uint64_t val,
              uint64_t host_tsc)
{
	uint64_t *p;

	switch (index) {
	case MSR_TSC:
		m->tsc_offset = val - host_tsc;
		return 0;
	case MSR_BIOS_SIGN_ID:
		return 0;   /* microcode update signature: ignored */
	}
	p = storage(m, index);
	if (!p || reserved_bits(index, val))
		return -1;
	*p = val;
	return 0;
}

const char *msr_name(uint32_t index)
{
	static const struct { uint32_t i; const char *n; } names[] = {
		{ MSR_TSC, "TSC" }, { MSR_PLATFORM_ID, "PLATFORM_ID" },
		{ MSR_APIC_BASE, "APIC_BASE" }, { MSR_BIOS_SIGN_ID, "BIOS_SIGN_ID" },
		{ MSR_MTRRCAP, "MTRRcap" }, { MSR_SYSENTER_CS, "SYSENTER_CS" },
		{ MSR_SYSENTER_ESP, "SYSENTER_ESP" },
		{ MSR_SYSENTER_EIP, "SYSENTER_EIP" },
		{ MSR_MISC_ENABLE, "MISC_ENABLE" }, { MSR_PAT, "PAT" },
		{ MSR_MTRR_DEF_TYPE, "MTRRdefType" },
	};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (names[k].i == index)
			return names[k].n;
	return NULL;
}
