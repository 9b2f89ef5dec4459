/*
 * emulate.h — the instruction emulator: a pure library that carries out
 * the one instruction at the guest's EIP against a `struct emu_cpu`,
 * reaching memory and ports only through the callbacks in `struct
 * emu_ops`.  Unit tests drive it with stubs; the monitor drives it with
 * guest RAM and the I/O bus.
 *
 * Covered now: IN/OUT (imm8 and DX; 8/16/32-bit), INS/OUTS with and
 * without REP (16/32-bit address size, segment override on OUTS, DF),
 * CLI/STI on the virtual IF, HLT.  Anything else returns EMU_UNSUPPORTED
 * and the caller reports it with its bytes, EIP and mode.
 */
#ifndef POPEK_VMM_EMULATE_H
#define POPEK_VMM_EMULATE_H

#include <stdint.h>
#include <stdbool.h>
#include "scan/decode.h"

/* GPR indices in x86 encoding order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, R_COUNT };

#define EFLAGS_CF 0x00000001u
#define EFLAGS_IF 0x00000200u
#define EFLAGS_DF 0x00000400u
#define EFLAGS_TF 0x00000100u

struct emu_cpu {
	uint32_t gpr[R_COUNT];
	uint32_t eip;
	uint32_t eflags;          /* as the guest sees it, IF = virtual IF */
	uint32_t seg_base[SEG_COUNT];
	bool code32;              /* CS.D: 32-bit default operand/address size */
	bool sti_shadow;          /* set by STI when IF went 0 -> 1 */
};

struct emu_ops {
	/* Linear-address memory access; 0 on success, -1 on a fault (the
	 * emulator then stops with EMU_FAULT and leaves the instruction
	 * un-retired: registers as the faulting iteration found them). */
	int (*read)(void *ctx, uint32_t linear, void *dst, unsigned len);
	int (*write)(void *ctx, uint32_t linear, const void *src, unsigned len);
	uint32_t (*in)(void *ctx, uint16_t port, unsigned size);
	void (*out)(void *ctx, uint16_t port, unsigned size, uint32_t value);
};

enum emu_status {
	EMU_OK,          /* instruction retired, EIP advanced */
	EMU_HLT,         /* HLT retired (EIP past it): caller waits */
	EMU_UNSUPPORTED, /* not an instruction the emulator handles */
	EMU_BAD,         /* bytes at EIP do not decode (or fetch faulted) */
	EMU_FAULT,       /* a memory callback faulted mid-instruction */
};

/* Fetch, decode and carry out one instruction at seg_base[CS] + eip.
 * On return, *insn (if non-NULL) holds what was decoded (len 0 if the
 * fetch itself failed), for the caller's reports and counters. */
enum emu_status emu_step(struct emu_cpu *cpu, const struct emu_ops *ops,
                         void *ctx, struct insn *insn);

#endif
