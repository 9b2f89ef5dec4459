/*
 * test_cpuid.c — the virtual CPU's CPUID table (vmm/cpuid.c) and MSRs
 * (vmm/msr.c), register by register.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/cpuid.h"
#include "vmm/msr.h"

static void q(uint32_t leaf, uint32_t r[4])
{
	cpuid_query(leaf, 0, r);
}

Test(cpuid, vendor_and_max_leaf)
{
	uint32_t r[4];
	char v[13] = { 0 };

	q(0, r);
	memcpy(v, &r[CPUID_EBX], 4);
	memcpy(v + 4, &r[CPUID_EDX], 4);
	memcpy(v + 8, &r[CPUID_ECX], 4);
	cr_assert_str_eq(v, "GenuineIntel");
	cr_assert_eq(r[CPUID_EAX], CPUID_MAX_BASIC);
}

Test(cpuid, family_model_stepping)
{
	uint32_t r[4];

	q(1, r);
	cr_assert_eq(r[CPUID_EAX] >> 8 & 0xF, 6);
	cr_assert_eq(r[CPUID_EAX] >> 4 & 0xF, 13);
	cr_assert_eq(r[CPUID_EAX] & 0xF, 8);
	cr_assert_eq(r[CPUID_EBX] >> 16 & 0xFF, 1, "one logical processor");
}

Test(cpuid, exactly_the_virtualised_features)
{
	uint32_t r[4];
	const uint32_t want = CPUID_1_EDX_FPU | CPUID_1_EDX_DE | CPUID_1_EDX_PSE |
	                      CPUID_1_EDX_TSC | CPUID_1_EDX_MSR | CPUID_1_EDX_CX8 |
	                      CPUID_1_EDX_PGE | CPUID_1_EDX_CMOV | CPUID_1_EDX_MMX |
	                      CPUID_1_EDX_FXSR | CPUID_1_EDX_SSE | CPUID_1_EDX_SSE2;

	q(1, r);
	cr_assert_eq(r[CPUID_EDX], want);
	cr_assert_eq(r[CPUID_ECX], CPUID_1_ECX_HYPERVISOR);
	cr_assert_eq(r[CPUID_EDX] & (CPUID_1_EDX_PAE | CPUID_1_EDX_APIC |
	             CPUID_1_EDX_SEP | CPUID_1_EDX_PSE36 | CPUID_1_EDX_VME), 0);
}

Test(cpuid, extended_leaf_hides_nx_lm_syscall)
{
	uint32_t r[4];

	q(0x80000000u, r);
	cr_assert_eq(r[CPUID_EAX], CPUID_MAX_EXT);
	q(0x80000001u, r);
	cr_assert_eq(r[CPUID_EDX] & (CPUID_EXT1_EDX_NX | CPUID_EXT1_EDX_LM |
	                             CPUID_EXT1_EDX_SYSCALL), 0);
}

Test(cpuid, hypervisor_signature_and_brand)
{
	uint32_t r[4], b[12];
	char s[49] = { 0 };

	q(0x40000000u, r);
	cr_assert_eq(r[CPUID_EAX], CPUID_MAX_HV);
	memcpy(s, &r[CPUID_EBX], 12);
	cr_assert_str_eq(s, CPUID_HV_SIGNATURE);
	for (uint32_t l = 0; l < 3; l++)
		q(0x80000002u + l, &b[4 * l]);
	memcpy(s, b, 48);
	cr_assert_str_eq(s, CPUID_BRAND);
}

Test(cpuid, out_of_range_leaves)
{
	uint32_t r[4], hi[4];

	q(CPUID_MAX_BASIC, hi);
	q(7, r);
	cr_assert_arr_eq(r, hi, sizeof(r), "past max basic: highest basic leaf");
	q(0x40000001u, r);
	cr_assert_eq(r[0] | r[1] | r[2] | r[3], 0);
	q(0x80000008u, r);
	cr_assert_arr_eq(r, hi, sizeof(r), "past max extended: highest basic");
}

Test(msr, reset_values)
{
	struct msr_state m;
	uint64_t v;

	msr_init(&m);
	cr_assert_eq(msr_read(&m, MSR_PAT, 0, &v), 0);
	cr_assert_eq(v, 0x0007040600070406ull);
	cr_assert_eq(msr_read(&m, MSR_APIC_BASE, 0, &v), 0);
	cr_assert_eq(v, 0xFEE00900ull);
	cr_assert_eq(msr_read(&m, MSR_MTRRCAP, 0, &v), 0);
	cr_assert_eq(v, 0);
}

Test(msr, tsc_offset)
{
	struct msr_state m;
	uint64_t v;

	msr_init(&m);
	cr_assert_eq(msr_read(&m, MSR_TSC, 1000, &v), 0);
	cr_assert_eq(v, 1000);
	cr_assert_eq(msr_write(&m, MSR_TSC, 50, 1000), 0);
	cr_assert_eq(msr_read(&m, MSR_TSC, 1500, &v), 0);
	cr_assert_eq(v, 550, "guest TSC advances with the host's from 50");
}

Test(msr, sysenter_round_trip_and_reserved)
{
	struct msr_state m;
	uint64_t v;

	msr_init(&m);
	cr_assert_eq(msr_write(&m, MSR_SYSENTER_EIP, 0xC0001234, 0), 0);
	cr_assert_eq(msr_read(&m, MSR_SYSENTER_EIP, 0, &v), 0);
	cr_assert_eq(v, 0xC0001234);
	cr_assert_eq(msr_write(&m, MSR_PAT, 0x0007040600070402ull, 0), -1,
	             "PAT memory type 2 is reserved");
	cr_assert_eq(msr_write(&m, MSR_PAT, 0x0007040600070408ull, 0), -1);
	cr_assert_eq(msr_write(&m, MSR_APIC_BASE, 0xFEE00900ull | 1, 0), -1);
	cr_assert_eq(msr_read(&m, MSR_PAT, 0, &v), 0);
	cr_assert_eq(v, 0x0007040600070406ull, "failed writes change nothing");
}

Test(msr, unknown_msr_is_gp)
{
	struct msr_state m;
	uint64_t v = 7;

	msr_init(&m);
	cr_assert_eq(msr_read(&m, 0xC0000080u, 0, &v), -1);  /* EFER: no LM */
	cr_assert_eq(msr_write(&m, 0xC0000080u, 0, 0), -1);
	cr_assert_eq(msr_read(&m, 0x12345678u, 0, &v), -1);
	cr_assert_eq(v, 7);
	cr_assert_str_eq(msr_name(MSR_PAT), "PAT");
	cr_assert_null(msr_name(0x12345678u));
}
