/*
 * cpuid.c — popek's virtual CPU as CPUID describes it (see cpuid.h).
 *
 * A single-processor Pentium M (family 6, model 13, stepping 8), vendor
 * GenuineIntel, with exactly the features popek virtualises in leaf 1 EDX:
 * FPU DE PSE TSC MSR CX8 PGE CMOV MMX FXSR SSE SSE2, and SEP where the
 * host lets popek catch SYSENTER (below).  Hidden on purpose:
 * VME, PAE and NX (no PAE paging in shadowpt yet), MCE/MCA, APIC (no local
 * APIC is emulated), MTRR and PAT (the MSRs exist, minimal, but
 * the features are not advertised), PSE36, CLFSH, and every leaf-1 ECX
 * feature (SSE3 onwards, PCID) except the hypervisor bit.  Leaf-1 EBX
 * still gives the CLFLUSH line size (8 qwords); guests read it only when
 * CLFSH is set.  Max basic leaf 2 also means no leaf 7: UMIP, SMEP and SMAP
 * cannot even be asked about.  Leaf 2 reports no cache descriptors (AL = 1:
 * one call; every other byte a null descriptor).  Leaves past the basic or
 * extended maximum answer like the highest basic leaf (leaf 2), as Intel
 * documents for both ranges (SDM vol. 2A, CPUID, "INPUT EAX = 0");
 * hypervisor leaves past 0x40000000 answer zeros, so a probe there finds
 * no second signature.  Leaf 0x40000000 names popek; 0x80000001 has no
 * SYSCALL, NX or LM.
 *
 * SEP (SYSENTER/SYSEXIT) is shown only when the host's own CPUID vendor
 * is AuthenticAMD or HygonGenuine: there SYSENTER in compatibility mode
 * is #UD (AMD APM vol. 3, SYSENTER: invalid in long mode), a host SIGILL
 * popek turns into the guest's SYSENTER, and SYSEXIT traps as well.  On
 * Intel a compatibility-mode SYSENTER enters the host kernel, which
 * loses the guest's return address (the seccomp filter stops the call):
 * SEP stays hidden there, and under --sysenter=off on any host; the
 * virtual CPU then has no SYSENTER/SYSEXIT (#UD), as a CPU without SEP.
 * The default (auto) shows SEP only on bare metal: under a hypervisor
 * (KVM on AMD intercepts every #UD) the SIGILL costs more than the
 * int $0x80 it replaces; --sysenter=on shows it there too.
 *
 * Under --mode=trap guest code executing CPUID directly sees the host's:
 * this host has no CPUID faulting (arch_prctl(ARCH_SET_CPUID) fails), so
 * CPUID cannot be made to trap — a documented residue.  Under --mode=bt
 * guest kernel code's CPUID is a callout and sees this table, as
 * `popek cpuid` shows it.
 */
#include "vmm/cpuid.h"

#include <cpuid.h>
#include <string.h>

#define FAMILY 6
#define MODEL 13
#define STEPPING 8

static const uint32_t leaf1_edx =
	CPUID_1_EDX_FPU | CPUID_1_EDX_DE | CPUID_1_EDX_PSE | CPUID_1_EDX_TSC |
	CPUID_1_EDX_MSR | CPUID_1_EDX_CX8 | CPUID_1_EDX_PGE | CPUID_1_EDX_CMOV |
	CPUID_1_EDX_MMX | CPUID_1_EDX_FXSR | CPUID_1_EDX_SSE | CPUID_1_EDX_SSE2;

bool cpuid_host_sysenter_faults(void)
{
	unsigned a, b, c, d;
	char vendor[13] = { 0 };

	__cpuid(0, a, b, c, d);
	(void)a;
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	return !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
}

bool cpuid_sysenter_default(void)
{
	unsigned a, b, c, d;

	__cpuid(1, a, b, c, d);
	(void)a, (void)b, (void)d;
	return cpuid_host_sysenter_faults() && !(c & (1u << 31));
}

int cpuid_sysenter_option(const char *val, bool *sep)
{
	if (!strcmp(val, "auto"))
		*sep = cpuid_sysenter_default();
	else if (!strcmp(val, "on")) {
		if (!cpuid_host_sysenter_faults())
			return -2;
		*sep = true;
	} else if (!strcmp(val, "off"))
		*sep = false;
	else
		return -1;
	return 0;
}

/* 12 or 16 bytes of a string into registers, little-endian. */
static void put_str(const char *s, size_t off, uint32_t *regs, int nregs)
{
	char buf[48] = { 0 };

	strncpy(buf, s, sizeof(buf));
	memcpy(regs, buf + off, (size_t)nregs * 4);
}

static void basic(uint32_t leaf, bool sep, uint32_t out[4])
{
	switch (leaf) {
	case 0:
		out[CPUID_EAX] = CPUID_MAX_BASIC;
		/* "GenuineIntel" is EBX, EDX, ECX */
		memcpy(&out[CPUID_EBX], "Genu", 4);
		memcpy(&out[CPUID_EDX], "ineI", 4);
		memcpy(&out[CPUID_ECX], "ntel", 4);
		return;
	case 1:
		out[CPUID_EAX] = (FAMILY << 8) | (MODEL << 4) | STEPPING;
		/* brand index 0, CLFLUSH size 8 qwords, 1 logical CPU, APIC ID 0 */
		out[CPUID_EBX] = (8u << 8) | (1u << 16);
		out[CPUID_ECX] = CPUID_1_ECX_HYPERVISOR;
		out[CPUID_EDX] = leaf1_edx | (sep ? CPUID_1_EDX_SEP : 0);
		return;
	default:   /* leaf 2: one call, no descriptors */
		out[CPUID_EAX] = 0x01;
		return;
	}
}

static void extended(uint32_t leaf, uint32_t out[4])
{
	if (leaf == 0x80000000u) {
		out[CPUID_EAX] = CPUID_MAX_EXT;
	} else if (leaf >= 0x80000002u) {
		uint32_t r[4];
		put_str(CPUID_BRAND, (leaf - 0x80000002u) * 16, r, 4);
		memcpy(out, r, sizeof(r));
	}
	/* 0x80000001: no SYSCALL, NX, LM, LAHF — all zero */
}

void cpuid_query(uint32_t leaf, uint32_t subleaf, bool sep, uint32_t out[4])
{
	(void)subleaf;
	memset(out, 0, 4 * sizeof(out[0]));
	if (leaf >= 0x40000000u && leaf < 0x50000000u) {
		if (leaf == 0x40000000u) {
			out[CPUID_EAX] = CPUID_MAX_HV;
			put_str(CPUID_HV_SIGNATURE, 0, &out[CPUID_EBX], 3);
		}
	} else if (leaf >= 0x80000000u && leaf <= CPUID_MAX_EXT) {
		extended(leaf, out);
	} else {
		basic(leaf <= CPUID_MAX_BASIC ? leaf : CPUID_MAX_BASIC, sep, out);
	}
}

static const char *const edx_names[32] = {
	"fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic",
	NULL, "sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "psn",
	"clfsh", NULL, "ds", "acpi", "mmx", "fxsr", "sse", "sse2", "ss", "htt",
	"tm", "ia64", "pbe",
};

static void print_flags(FILE *f, uint32_t edx, uint32_t ecx)
{
	fprintf(f, "    features:");
	for (int b = 0; b < 32; b++)
		if ((edx >> b & 1) && edx_names[b])
			fprintf(f, " %s", edx_names[b]);
	if (ecx & CPUID_1_ECX_HYPERVISOR)
		fprintf(f, " hypervisor");
	fprintf(f, "\n");
}

static void print_leaf(FILE *f, uint32_t leaf, bool sep)
{
	uint32_t r[4];
	char s[49] = { 0 };

	cpuid_query(leaf, 0, sep, r);
	fprintf(f, "  0x%08x: eax=%08x ebx=%08x ecx=%08x edx=%08x\n", leaf,
	        r[CPUID_EAX], r[CPUID_EBX], r[CPUID_ECX], r[CPUID_EDX]);
	if (leaf == 0) {
		memcpy(s, &r[CPUID_EBX], 4);
		memcpy(s + 4, &r[CPUID_EDX], 4);
		memcpy(s + 8, &r[CPUID_ECX], 4);
		fprintf(f, "    vendor: %s, highest basic leaf %u\n", s, r[CPUID_EAX]);
	} else if (leaf == 1) {
		fprintf(f, "    family %u, model %u, stepping %u\n",
		        r[CPUID_EAX] >> 8 & 0xF, r[CPUID_EAX] >> 4 & 0xF,
		        r[CPUID_EAX] & 0xF);
		print_flags(f, r[CPUID_EDX], r[CPUID_ECX]);
	} else if (leaf == 0x40000000u) {
		memcpy(s, &r[CPUID_EBX], 12);
		fprintf(f, "    hypervisor signature: \"%s\"\n", s);
	} else if (leaf == 0x80000004u) {
		uint32_t b[12];
		for (uint32_t l = 0; l < 3; l++)
			cpuid_query(0x80000002u + l, 0, sep, &b[4 * l]);
		memcpy(s, b, 48);
		fprintf(f, "    brand: %s\n", s);
	}
}

void cpuid_print(FILE *f, bool sep)
{
	static const uint32_t leaves[] = { 0, 1, 2, 0x40000000u, 0x80000000u,
	                                   0x80000001u, 0x80000002u,
	                                   0x80000003u, 0x80000004u };

	fprintf(f, "popek virtual CPU: the CPUID table popek defines\n");
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		print_leaf(f, leaves[i], sep);
	fprintf(f, "hidden on purpose: vme pae nx (no PAE paging), mce mca, apic "
	        "(no local APIC), %ssyscall (not virtualised), mtrr pat "
	        "(minimal MSRs only), pse36 clfsh, lm, every leaf-1 ECX "
	        "feature (sse3.., pcid) but hypervisor, and leaf 7 (umip, "
	        "smep, smap: the highest basic leaf is 2)\n", sep ? "" : "sep ");
	fprintf(f, "sep: %s\n", sep ? "shown: this host makes SYSENTER in "
	        "compatibility mode #UD (AMD, Hygon), so popek catches and "
	        "emulates SYSENTER and SYSEXIT" : cpuid_host_sysenter_faults() ?
	        "hidden (SYSENTER/SYSEXIT are #UD): --sysenter=off, or the default "
	        "under a hypervisor, where a #UD exit costs more than int $0x80's; "
	        "--sysenter=on shows it" :
	        "hidden: on this host SYSENTER in compatibility mode enters "
	        "the host kernel, which loses the guest's return address");
	fprintf(f, "note: under --mode=trap guest code that executes CPUID "
	        "directly sees the host's CPUID (no CPUID faulting on this "
	        "host)\n");
}

int cpuid_command(int argc, char **argv)
{
	bool sep = cpuid_sysenter_default();
	const char *opt = "--sysenter=";
	int r = 0;

	if (argc > 2 || (argc == 2 && (strncmp(argv[1], opt, strlen(opt)) ||
	                               (r = cpuid_sysenter_option(argv[1] + strlen(opt),
	                                                          &sep)) < 0))) {
		fprintf(stderr, r == -2 ? "popek cpuid: --sysenter=on: this host's "
		        "SYSENTER enters its own kernel (not AMD or Hygon)\n" :
		        "popek cpuid: takes only --sysenter=auto|on|off\n");
		return 2;
	}
	cpuid_print(stdout, sep);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
