/*
 * cpuid.h — what the guest learns from CPUID: a virtual single-processor
 * Pentium M ("Dothan", family 6 model 13 stepping 8) with the features
 * popek cannot honour taken out, plus a hypervisor leaf naming popek.
 *
 * cpuid_query() is a pure function of (leaf, subleaf, sep): no state, no
 * host CPUID, safe from any thread.  Whether SEP is shown is the one
 * choice that depends on the host (cpuid_host_sysenter_faults) and the
 * command line (--sysenter), made once by the caller.  The table and every choice behind it are
 * described at the top of cpuid.c; `popek cpuid` prints it decoded.
 */
#ifndef POPEK_VMM_CPUID_H
#define POPEK_VMM_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Highest leaf of each range the virtual CPU answers. */
#define CPUID_MAX_BASIC     0x00000002u
#define CPUID_MAX_HV        0x40000000u
#define CPUID_MAX_EXT       0x80000004u

/* The signature in leaf 0x40000000 EBX:ECX:EDX (NUL padded to 12). */
#define CPUID_HV_SIGNATURE  "popek VMM"
/* The brand string of leaves 0x80000002..4 (NUL padded to 48). */
#define CPUID_BRAND         "popek virtual i686 CPU"

enum { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* Leaf 1 EDX bits used outside cpuid.c (system.c checks CR4 against them,
 * tests check the hidden ones stay clear). */
#define CPUID_1_EDX_FPU    (1u << 0)
#define CPUID_1_EDX_VME    (1u << 1)
#define CPUID_1_EDX_DE     (1u << 2)
#define CPUID_1_EDX_PSE    (1u << 3)
#define CPUID_1_EDX_TSC    (1u << 4)
#define CPUID_1_EDX_MSR    (1u << 5)
#define CPUID_1_EDX_PAE    (1u << 6)
#define CPUID_1_EDX_MCE    (1u << 7)
#define CPUID_1_EDX_CX8    (1u << 8)
#define CPUID_1_EDX_APIC   (1u << 9)
#define CPUID_1_EDX_SEP    (1u << 11)
#define CPUID_1_EDX_MTRR   (1u << 12)
#define CPUID_1_EDX_PGE    (1u << 13)
#define CPUID_1_EDX_MCA    (1u << 14)
#define CPUID_1_EDX_CMOV   (1u << 15)
#define CPUID_1_EDX_PAT    (1u << 16)
#define CPUID_1_EDX_PSE36  (1u << 17)
#define CPUID_1_EDX_CLFSH  (1u << 19)
#define CPUID_1_EDX_MMX    (1u << 23)
#define CPUID_1_EDX_FXSR   (1u << 24)
#define CPUID_1_EDX_SSE    (1u << 25)
#define CPUID_1_EDX_SSE2   (1u << 26)
#define CPUID_1_ECX_PCID   (1u << 17)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_EXT1_EDX_SYSCALL (1u << 11)
#define CPUID_EXT1_EDX_NX  (1u << 20)
#define CPUID_EXT1_EDX_LM  (1u << 29)

/* out[] = EAX, EBX, ECX, EDX of CPUID with EAX = leaf, ECX = subleaf;
 * `sep`: leaf 1 shows SEP (SYSENTER/SYSEXIT).  No leaf of this CPU
 * depends on the subleaf. */
void cpuid_query(uint32_t leaf, uint32_t subleaf, bool sep, uint32_t out[4]);

/* Whether the host CPU's vendor is AuthenticAMD or HygonGenuine, whose
 * SYSENTER in compatibility mode is #UD (a host SIGILL popek catches),
 * not an entry to the host kernel as on Intel. */
bool cpuid_host_sysenter_faults(void);

/* --sysenter=auto (the default): SEP where the host faults SYSENTER and
 * runs on bare metal.  Under a hypervisor (the host's CPUID hypervisor
 * bit) a #UD is dearer than the int $0x80 it would replace: KVM on AMD
 * intercepts every #UD (README: a Linux guest's dd bs=1 about 20 %
 * slower with SEP on such a host). */
bool cpuid_sysenter_default(void);

/* The value of --sysenter into *sep, 0: "auto" (cpuid_sysenter_default),
 * "on" (SEP where the host faults SYSENTER; -2 on a host where it does
 * not), "off"; anything else -1. */
int cpuid_sysenter_option(const char *val, bool *sep);

/* The table as `popek cpuid` shows it: raw registers and a decoding of
 * every leaf, then what is hidden on purpose and why. */
void cpuid_print(FILE *f, bool sep);

/* `popek cpuid` (argv[0] is "cpuid"): print the table on stdout, 0;
 * --sysenter=auto|off picks SEP as `popek run` does (default auto); any
 * other argument is one line on stderr and 2; a failed write to stdout,
 * 1. */
int cpuid_command(int argc, char **argv);

#endif
