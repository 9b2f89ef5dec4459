/*
 * cpu.h — the virtual CPU's system state (SDM vol. 3A, ch. 2–7), as the
 * guest believes it to be: control and debug registers, descriptor-table
 * registers, the hidden descriptor caches of every segment register, CPL.
 *
 * GPRs, EIP and EFLAGS live in `struct emu_cpu` (vmm/emulate.h); the two
 * structures together are the whole architectural state.  The pure
 * functions over them (vmm/desc.c: segment loads, interrupt delivery,
 * IRET, far transfers) reach guest memory only through `struct cpu_mem`,
 * so unit tests drive them with a fake memory.
 */
#ifndef POPEK_VMM_CPU_H
#define POPEK_VMM_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "scan/decode.h"   /* enum seg */

/* Exception vectors (SDM vol. 3A, table 6-1). */
enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11,
	VEC_SS = 12, VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17,
	VEC_MC = 18, VEC_XM = 19,
};

/* Exceptions that push an error code (SDM vol. 3A, table 6-1). */
static inline bool vector_has_error(int vector)
{
	return vector == VEC_DF || (vector >= VEC_TS && vector <= VEC_PF) ||
	       vector == VEC_AC;
}

/* CR0 bits an i686 has. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
/* CR4 bits popek's virtual i686 offers. */
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE  0x0008u
#define CR4_PSE 0x0010u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u

/* EFLAGS bits beyond those in emulate.h. */
#define EFLAGS_IOPL 0x00003000u
#define EFLAGS_NT   0x00004000u
#define EFLAGS_RF   0x00010000u
#define EFLAGS_VM   0x00020000u
#define EFLAGS_AC   0x00040000u
#define EFLAGS_VIF  0x00080000u
#define EFLAGS_VIP  0x00100000u
#define EFLAGS_ID   0x00200000u

/* A hidden descriptor cache.  `attr` holds descriptor bits 40..55 with the
 * limit bits 19:16 (bits 8..11) zeroed: type in 0..3, S in 4, DPL in 5..6,
 * P in 7, AVL in 12, L in 13, D/B in 14, G in 15.  `limit` is the
 * effective byte limit (granularity applied). */
struct seg_cache {
	uint16_t sel;
	uint32_t base;
	uint32_t limit;
	uint16_t attr;
};

#define SEG_ATTR_TYPE(a) ((a) & 0xF)
#define SEG_ATTR_S(a)    (((a) >> 4) & 1)
#define SEG_ATTR_DPL(a)  (((a) >> 5) & 3)
#define SEG_ATTR_P(a)    (((a) >> 7) & 1)
#define SEG_ATTR_DB(a)   (((a) >> 14) & 1)
#define SEG_ATTR_G(a)    (((a) >> 15) & 1)

struct dtr {
	uint32_t base;
	uint16_t limit;
};

struct cpu_sys {
	uint32_t cr0, cr2, cr3, cr4;
	uint32_t dr[8];
	struct dtr gdtr, idtr;
	struct seg_cache seg[SEG_COUNT];  /* ES CS SS DS FS GS */
	struct seg_cache ldtr, tr;
	int cpl;
	bool mov_ss_shadow;               /* interrupts held for one insn */
};

/* Guest linear memory as system structures see it (descriptor tables,
 * TSS, stacks): supervisor accesses, no CPL checks.  0, or -1 when the
 * access faulted (the callee records #PF for the guest). */
struct cpu_mem {
	int (*read)(void *ctx, uint32_t linear, void *dst, unsigned len);
	int (*write)(void *ctx, uint32_t linear, const void *src, unsigned len);
	void *ctx;
	/* Where read/write leave the #PF error code of a failed access (CR2
	 * is the callee's business); NULL: error code 0. */
	const uint32_t *pf_error;
};

/* What a system operation did. */
enum cpu_result {
	CPU_OK,
	CPU_FAULT,        /* fault recorded in struct cpu_fault: deliver it */
	CPU_TRIPLE,       /* shutdown: popek dumps the state and exits 3 */
	CPU_UNSUPPORTED,  /* a path popek does not implement (task gates...) */
};

struct cpu_fault {
	int vector;            /* -1: none */
	bool has_error;
	uint32_t error;
	const char *why;       /* for traces and "unsupported" messages */
};

#endif
