/*
 * test_cpuid.c — the virtual CPU's CPUID table (vmm/cpuid.c) and MSRs
 * (vmm/msr.c), register by register.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpuid.h"
#include "vmm/msr.h"

static void q(uint32_t leaf, uint32_t r[4])
{
	cpuid_query(leaf, 0, false, r);
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

/* SEP is the one host-dependent bit (the caller's choice): it adds SEP
 * to leaf 1 EDX and changes nothing else in any leaf. */
Test(cpuid, sep_adds_only_sep)
{
	static const uint32_t leaves[] = { 0, 1, 2, 0x40000000u, 0x80000000u,
	                                   0x80000001u, 0x80000004u };

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		uint32_t off[4], on[4];

		cpuid_query(leaves[i], 0, false, off);
		cpuid_query(leaves[i], 0, true, on);
		if (leaves[i] == 1)
			off[CPUID_EDX] |= CPUID_1_EDX_SEP;
		cr_assert_arr_eq(on, off, sizeof(on), "leaf %08x", leaves[i]);
	}
}

Test(cpuid, sysenter_option)
{
	bool sep = true;

	cr_assert_eq(cpuid_sysenter_option("off", &sep), 0);
	cr_assert(!sep);
	cr_assert_eq(cpuid_sysenter_option("auto", &sep), 0);
	cr_assert_eq(sep, cpuid_sysenter_default());
	cr_assert(!sep || cpuid_host_sysenter_faults());
	cr_assert_eq(cpuid_sysenter_option("on", &sep),
	             cpuid_host_sysenter_faults() ? 0 : -2);
	cr_assert(!cpuid_host_sysenter_faults() || sep);
	cr_assert_eq(cpuid_sysenter_option("yes", &sep), -1);
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

/* --- register-exact checks (the values a guest kernel branches on) ---- */

Test(cpuid, leaf1_exact_encoding)
{
	uint32_t r[4];

	q(1, r);
	/* stepping 8, model 0xD, family 6, type 0, no extended model/family */
	cr_assert_eq(r[CPUID_EAX], 0x000006D8u, "eax %08x", r[CPUID_EAX]);
	/* brand index 0, CLFLUSH 8 qwords, 1 logical CPU, initial APIC ID 0 */
	cr_assert_eq(r[CPUID_EBX], 0x00010800u, "ebx %08x", r[CPUID_EBX]);
	cr_assert_eq(r[CPUID_EDX], 0x0780A13Du, "edx %08x", r[CPUID_EDX]);
	cr_assert_eq(r[CPUID_ECX], 0x80000000u, "ecx %08x", r[CPUID_ECX]);
}

Test(cpuid, vendor_register_bytes)
{
	uint32_t r[4];

	q(0, r);
	cr_assert_eq(r[CPUID_EBX], 0x756E6547u);   /* "Genu" */
	cr_assert_eq(r[CPUID_EDX], 0x49656E69u);   /* "ineI" */
	cr_assert_eq(r[CPUID_ECX], 0x6C65746Eu);   /* "ntel" */
}

/* Bit numbers spelled out, so a wrong macro in cpuid.h cannot hide them. */
Test(cpuid, hidden_bits_by_number)
{
	static const unsigned edx_hidden[] = { 1, 6, 7, 9, 11, 12, 14, 16, 17,
	                                       19, 21, 22, 27, 28, 29, 31 };
	uint32_t r[4];

	q(1, r);
	for (size_t i = 0; i < sizeof(edx_hidden) / sizeof(edx_hidden[0]); i++)
		cr_assert_eq(r[CPUID_EDX] >> edx_hidden[i] & 1, 0,
		             "leaf 1 EDX bit %u set", edx_hidden[i]);
	cr_assert_eq(r[CPUID_ECX] & 0x7FFFFFFFu, 0, "leaf 1 ECX features");
	q(0x80000001u, r);
	cr_assert_eq(r[CPUID_EDX] >> 20 & 1, 0, "NX");
	cr_assert_eq(r[CPUID_EDX] >> 29 & 1, 0, "LM");
	cr_assert_eq(r[CPUID_EDX] >> 11 & 1, 0, "SYSCALL");
	cr_assert_eq(r[0] | r[1] | r[2] | r[3], 0, "0x80000001 all zero");
}

Test(cpuid, leaf2_one_call_no_descriptors)
{
	uint32_t r[4];

	q(2, r);
	cr_assert_eq(r[CPUID_EAX], 0x00000001u);
	cr_assert_eq(r[CPUID_EBX] | r[CPUID_ECX] | r[CPUID_EDX], 0);
}

Test(cpuid, hypervisor_registers_and_brand_start)
{
	uint32_t r[4];

	q(0x40000000u, r);
	cr_assert_eq(r[CPUID_EBX], 0x65706F70u);   /* "pope" */
	cr_assert_eq(r[CPUID_ECX], 0x4D56206Bu);   /* "k VM" */
	cr_assert_eq(r[CPUID_EDX], 0x0000004Du);   /* "M\0\0\0" */
	q(0x80000002u, r);
	cr_assert_eq(r[CPUID_EAX], 0x65706F70u);   /* "pope" */
	q(0x80000004u, r);
	cr_assert_eq(r[0] | r[1] | r[2] | r[3], 0, "48-byte brand NUL padded");
}

Test(cpuid, subleaf_is_ignored)
{
	uint32_t a[4], b[4];

	for (uint32_t leaf = 0; leaf <= CPUID_MAX_BASIC; leaf++) {
		cpuid_query(leaf, 0, true, a);
		cpuid_query(leaf, 0xFFFFFFFFu, true, b);
		cr_assert_arr_eq(a, b, sizeof(a), "leaf %u", leaf);
	}
}

Test(cpuid, more_out_of_range_leaves)
{
	static const uint32_t as_leaf2[] = { 3, 4, 7, 0x3FFFFFFFu, 0x50000000u,
	                                     0x80000005u, 0xFFFFFFFFu };
	static const uint32_t zeros[] = { 0x40000001u, 0x40000100u,
	                                  0x4FFFFFFFu };
	uint32_t r[4], hi[4];

	q(CPUID_MAX_BASIC, hi);
	for (size_t i = 0; i < sizeof(as_leaf2) / sizeof(as_leaf2[0]); i++) {
		q(as_leaf2[i], r);
		cr_assert_arr_eq(r, hi, sizeof(r), "leaf %08x", as_leaf2[i]);
	}
	for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		q(zeros[i], r);
		cr_assert_eq(r[0] | r[1] | r[2] | r[3], 0, "leaf %08x", zeros[i]);
	}
}

Test(cpuid, print_decodes_the_table)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	cpuid_print(f, false);
	cr_assert_eq(fclose(f), 0);
	cr_assert_not_null(strstr(buf, "vendor: GenuineIntel, highest basic leaf 2"));
	cr_assert_not_null(strstr(buf, "family 6, model 13, stepping 8\n"));
	cr_assert_not_null(strstr(buf, "    features: fpu de pse tsc msr cx8 "
	                          "pge cmov mmx fxsr sse sse2 hypervisor\n"));
	cr_assert_not_null(strstr(buf, "hypervisor signature: \"popek VMM\""));
	cr_assert_not_null(strstr(buf, "brand: popek virtual i686 CPU\n"));
	cr_assert_not_null(strstr(buf, "hidden on purpose:"));
	cr_assert_not_null(strstr(buf, "apic (no local APIC), sep syscall"));
	free(buf);
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cpuid_print(f, true);
	cr_assert_eq(fclose(f), 0);
	cr_assert_not_null(strstr(buf, "    features: fpu de pse tsc msr cx8 "
	                          "sep pge cmov mmx fxsr sse sse2 hypervisor\n"));
	cr_assert_not_null(strstr(buf, "apic (no local APIC), syscall"));
	cr_assert_not_null(strstr(buf, "\nsep: shown"));
	free(buf);
}

Test(cpuid, command_rejects_arguments, .init = cr_redirect_stderr)
{
	char *argv[] = { "cpuid", "--verbose", NULL };

	cr_assert_eq(cpuid_command(2, argv), 2);
	cr_assert_stderr_eq_str("popek cpuid: takes only --sysenter=auto|on|off\n");
}

Test(cpuid, command_rejects_bad_sysenter, .init = cr_redirect_stderr)
{
	char *argv[] = { "cpuid", "--sysenter=yes", NULL };
	char *two[] = { "cpuid", "--sysenter=off", "--sysenter=off", NULL };

	cr_assert_eq(cpuid_command(2, argv), 2);
	cr_assert_eq(cpuid_command(3, two), 2);
	cr_assert_stderr_eq_str("popek cpuid: takes only --sysenter=auto|on|off\n"
	                        "popek cpuid: takes only --sysenter=auto|on|off\n");
}

/* --sysenter=on where the host's SYSENTER enters its kernel: refused. */
Test(cpuid, command_on_needs_a_faulting_host, .init = cr_redirect_stderr)
{
	char *argv[] = { "cpuid", "--sysenter=on", NULL };

	if (cpuid_host_sysenter_faults()) {
		cr_redirect_stdout();
		cr_assert_eq(cpuid_command(2, argv), 0);
		return;
	}
	cr_assert_eq(cpuid_command(2, argv), 2);
	cr_assert_stderr_eq_str("popek cpuid: --sysenter=on: this host's SYSENTER "
	                        "enters its own kernel (not AMD or Hygon)\n");
}

/* --- MSRs -------------------------------------------------------------- */

static struct msr_state fresh(void)
{
	struct msr_state m;

	msr_init(&m);
	return m;
}

static uint64_t rd(struct msr_state *m, uint32_t index)
{
	uint64_t v = 0xDEADBEEFull;

	cr_assert_eq(msr_read(m, index, 0, &v), 0, "rdmsr 0x%x", index);
	return v;
}

Test(msr, more_reset_values)
{
	struct msr_state m = fresh();

	cr_assert_eq(rd(&m, MSR_MISC_ENABLE) & 1, 1, "fast strings");
	cr_assert_eq(rd(&m, MSR_MTRR_DEF_TYPE), 0);
	cr_assert_eq(rd(&m, MSR_PLATFORM_ID), 0);
	cr_assert_eq(rd(&m, MSR_BIOS_SIGN_ID), 0);
	cr_assert_eq(rd(&m, MSR_SYSENTER_CS), 0);
	cr_assert_eq(rd(&m, MSR_SYSENTER_ESP), 0);
	cr_assert_eq(rd(&m, MSR_SYSENTER_EIP), 0);
}

/* Linux's microcode revision read: WRMSR 0x8B <- 0, CPUID 1, RDMSR 0x8B. */
Test(msr, microcode_revision_sequence)
{
	struct msr_state m = fresh();

	cr_assert_eq(msr_write(&m, MSR_BIOS_SIGN_ID, 0, 0), 0);
	cr_assert_eq(rd(&m, MSR_BIOS_SIGN_ID) >> 32, 0, "revision 0");
}

Test(msr, read_only_msrs_refuse_writes)
{
	struct msr_state m = fresh();

	cr_assert_eq(msr_write(&m, MSR_PLATFORM_ID, 0, 0), -1);
	cr_assert_eq(msr_write(&m, MSR_MTRRCAP, 0, 0), -1);
}

Test(msr, tsc_offset_wraps_and_keeps_ticking)
{
	struct msr_state m = fresh();
	uint64_t v;
	const uint64_t host = 0xFFFFFFFF00000000ull;

	cr_assert_eq(msr_write(&m, MSR_TSC, 10, host), 0);
	cr_assert_eq(msr_read(&m, MSR_TSC, host, &v), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(msr_read(&m, MSR_TSC, host + 0x1000, &v), 0);
	cr_assert_eq(v, 0x100A, "advances with the host TSC");
	/* a second write replaces the offset rather than adding to it */
	cr_assert_eq(msr_write(&m, MSR_TSC, 0x123456789ull, 5000), 0);
	cr_assert_eq(msr_read(&m, MSR_TSC, 6000, &v), 0);
	cr_assert_eq(v, 0x123456789ull + 1000);
}

Test(msr, sysenter_all_three)
{
	struct msr_state m = fresh();

	cr_assert_eq(msr_write(&m, MSR_SYSENTER_CS, 0x0010, 0), 0);
	cr_assert_eq(msr_write(&m, MSR_SYSENTER_ESP, 0xC1234FF0u, 0), 0);
	cr_assert_eq(msr_write(&m, MSR_SYSENTER_EIP, 0xC0101000u, 0), 0);
	cr_assert_eq(rd(&m, MSR_SYSENTER_CS), 0x0010);
	cr_assert_eq(rd(&m, MSR_SYSENTER_ESP), 0xC1234FF0u);
	cr_assert_eq(rd(&m, MSR_SYSENTER_EIP), 0xC0101000u);
	cr_assert_eq(msr_write(&m, MSR_SYSENTER_CS, 1ull << 32, 0), -1);
	cr_assert_eq(rd(&m, MSR_SYSENTER_CS), 0x0010);
}

Test(msr, pat_every_entry_checked)
{
	struct msr_state m = fresh();
	static const unsigned bad[] = { 2, 3, 8, 0x17, 0xFF };

	for (int e = 0; e < 8; e++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			uint64_t v = 0x0006060606060606ull & ~(0xFFull << 8 * e);

			v |= (uint64_t)bad[i] << 8 * e;
			cr_assert_eq(msr_write(&m, MSR_PAT, v, 0), -1,
			             "PAT entry %d = 0x%x", e, bad[i]);
		}
	/* UC WC WT WP WB UC- and back: every defined type, accepted */
	cr_assert_eq(msr_write(&m, MSR_PAT, 0x0700060504010000ull, 0), 0);
	cr_assert_eq(rd(&m, MSR_PAT), 0x0700060504010000ull);
}

Test(msr, apic_base_reserved_bits)
{
	struct msr_state m = fresh();
	static const unsigned bad[] = { 0, 1, 7, 9, 10, 32, 35, 36, 63 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(msr_write(&m, MSR_APIC_BASE,
		                       0xFEE00900ull | 1ull << bad[i], 0), -1,
		             "APIC_BASE bit %u", bad[i]);
	cr_assert_eq(rd(&m, MSR_APIC_BASE), 0xFEE00900ull);
	cr_assert_eq(msr_write(&m, MSR_APIC_BASE, 0xFED00100ull, 0), 0,
	             "relocate and disable");
	cr_assert_eq(rd(&m, MSR_APIC_BASE), 0xFED00100ull);
}

Test(msr, mtrr_def_type_reserved)
{
	struct msr_state m = fresh();
	static const uint64_t bad[] = { 2, 3, 7, 8, 0xFF, 1u << 8, 1u << 9,
	                                1u << 12, 1ull << 32 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(msr_write(&m, MSR_MTRR_DEF_TYPE, bad[i], 0), -1,
		             "MTRRdefType 0x%llx", (unsigned long long)bad[i]);
	cr_assert_eq(msr_write(&m, MSR_MTRR_DEF_TYPE, 0xC06, 0), 0, "E FE WB");
	cr_assert_eq(rd(&m, MSR_MTRR_DEF_TYPE), 0xC06);
}

Test(msr, unknown_msrs_both_ways)
{
	struct msr_state m = fresh();
	/* MCG_CAP (no MCE), FEATURE_CONTROL, MTRRphysBase0 (VCNT 0),
	 * EFER/STAR (no LM/SYSCALL), x2APIC */
	static const uint32_t unknown[] = { 0x179, 0x3A, 0x200, 0xC0000080u,
	                                    0xC0000081u, 0x802 };

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		uint64_t v = 42;

		cr_assert_eq(msr_read(&m, unknown[i], 0, &v), -1, "0x%x",
		             unknown[i]);
		cr_assert_eq(v, 42, "a refused read leaves *val alone");
		cr_assert_eq(msr_write(&m, unknown[i], 0, 0), -1, "0x%x",
		             unknown[i]);
	}
}

/* msr_name names exactly the MSRs msr_read knows. */
Test(msr, names_match_the_modelled_set)
{
	struct msr_state m = fresh();
	static const uint32_t bases[] = { 0, 0x40000000u, 0xC0000000u };

	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (uint32_t i = bases[b]; i < bases[b] + 0x1000; i++) {
			uint64_t v;
			int known = msr_read(&m, i, 0, &v) == 0;

			cr_assert_eq(known, msr_name(i) != NULL, "MSR 0x%x", i);
		}
}
