/*
 * emulate.h — the instruction emulator: a pure library that carries out
 * the one instruction at the guest's EIP against a `struct emu_cpu`,
 * reaching memory, ports and the rest of the machine only through the
 * callbacks in `struct emu_ops`.  Unit tests drive it with stubs; the
 * monitor drives it with guest RAM, the I/O bus and its CPU model.
 *
 * Covered: IN/OUT, INS/OUTS (REP, 16/32-bit addressing, DF), CLI/STI on
 * the virtual IF, HLT; with ops->sys set also the system instructions
 * (LGDT/LIDT/LLDT/LTR/LMSW/INVLPG, MOV CR/DR, CLTS/INVD/WBINVD, RDMSR/
 * WRMSR/RDPMC) and the segment loads and far transfers (MOV/POP Sreg,
 * LDS/LES/LSS/LFS/LGS, far JMP/CALL/RET, IRET, SYSENTER/SYSEXIT), the
 * sensitive-but-unprivileged instructions that binary translation turns
 * into callouts
 * (PUSHF/POPF, SGDT/SIDT/SLDT/STR/SMSW, LAR/LSL/VERR/VERW, MOV r/m, Sreg,
 * PUSH Sreg), CPUID and RDTSC against the guest's virtual CPU, and the
 * near indirect branches and returns (RET, RET imm16, JMP r/m, CALL r/m);
 * and, for MMIO and
 * write-traced memory, the data-moving and ALU instructions in their
 * ModRM forms (MOV incl. moffs, MOVZX/MOVSX, XCHG, CMPXCHG, XADD,
 * ADD/OR/ADC/SBB/AND/SUB/XOR/CMP, TEST, INC/DEC, NOT/NEG, BT/BTS/BTR/BTC)
 * and MOVS/STOS (REP, DF, 16/32-bit addressing), whose memory operands
 * go through ops->read/write one access per operand read or write, at
 * the operand's size.  Anything else returns EMU_UNSUPPORTED and the
 * caller reports it with its bytes, EIP and mode.
 *
 * The emulator makes the checks an instruction makes before touching the
 * machine (CPL 0 for system instructions, CPL <= IOPL for CLI/STI and
 * I/O, POPF's rules by CPL and IOPL, CR4.TSD for RDTSC, the descriptor
 * checks of LAR/LSL/VERR/VERW, the SS limit of its stack accesses and
 * the CS limit of a near branch's target); everything that needs
 * descriptor tables or the CPU model (what a selector loads, CR bits,
 * MSRs, segment limits, CPUID) is the sys callbacks' business.
 */
#ifndef POPEK_VMM_EMULATE_H
#define POPEK_VMM_EMULATE_H

#include <stdint.h>
#include <stdbool.h>
#include "scan/decode.h"

/* GPR indices in x86 encoding order. */
enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI, R_COUNT };

#define EFLAGS_CF 0x00000001u
#define EFLAGS_PF 0x00000004u
#define EFLAGS_AF 0x00000010u
#define EFLAGS_IF 0x00000200u
#define EFLAGS_DF 0x00000400u
#define EFLAGS_OF 0x00000800u
#define EFLAGS_TF 0x00000100u
#define EFLAGS_ZF 0x00000040u
#define EFLAGS_SF 0x00000080u

/* Exception vectors the emulator raises itself. */
#define EMU_VEC_UD 6
#define EMU_VEC_GP 13

struct emu_cpu {
	uint32_t gpr[R_COUNT];
	uint32_t eip;
	uint32_t eflags;          /* as the guest sees it, IF = virtual IF */
	uint32_t seg_base[SEG_COUNT];
	bool code32;              /* CS.D: 32-bit default operand/address size */
	bool sti_shadow;          /* interrupt shadow: set by STI when IF went
	                           * 0 -> 1 and by a load of SS (MOV/POP SS) */
	uint8_t cpl;              /* current privilege level, 0..3 */
	bool ss16;                /* SS.B clear: POP Sreg uses SP, not ESP */
};

/* The machine beyond GPRs, memory and ports: descriptor tables, control
 * and debug registers, MSRs, TLB and caches.  Each returns 0, or -1 when
 * the guest must take a fault (the callee has recorded it): the emulator
 * then returns EMU_FAULT with EIP (and every register it owns) as the
 * instruction found them. */
struct emu_sys {
	/* MOV/POP Sreg, LDS..LGS: data segment registers and SS. */
	int (*load_seg)(void *ctx, enum seg seg, uint16_t sel);
	/* The far transfers set CS, EIP and ESP themselves; emu_step does
	 * not advance EIP after them.  far_call finds cpu->eip already at
	 * the next instruction (the return address to push); if it fails,
	 * the emulator puts EIP back on the CALL. */
	int (*far_jmp)(void *ctx, uint16_t sel, uint32_t off);
	int (*far_call)(void *ctx, uint16_t sel, uint32_t off,
	                unsigned opsize);
	int (*far_ret)(void *ctx, unsigned pop_bytes, unsigned opsize);
	int (*iret)(void *ctx, unsigned opsize);
	/* SYSENTER and SYSEXIT: the callee makes every check (whether the
	 * CPU has them, SYSENTER_CS, CPL for SYSEXIT) and sets CS, SS, EIP,
	 * ESP and CPL. */
	int (*sysenter)(void *ctx);
	int (*sysexit)(void *ctx);
	int (*lgdt)(void *ctx, uint32_t base, uint16_t limit);
	int (*lidt)(void *ctx, uint32_t base, uint16_t limit);
	int (*lldt)(void *ctx, uint16_t sel);
	int (*ltr)(void *ctx, uint16_t sel);
	int (*read_cr)(void *ctx, int cr, uint32_t *val);
	int (*write_cr)(void *ctx, int cr, uint32_t val);
	int (*read_dr)(void *ctx, int dr, uint32_t *val);
	int (*write_dr)(void *ctx, int dr, uint32_t val);
	int (*rdmsr)(void *ctx, uint32_t index, uint64_t *val);
	int (*wrmsr)(void *ctx, uint32_t index, uint64_t val);
	int (*invlpg)(void *ctx, uint32_t linear);
	int (*clts)(void *ctx);
	int (*wbinvd)(void *ctx);   /* also INVD */
	/* What the sensitive instructions read: the descriptor-table
	 * registers (SGDT/SIDT/SLDT/STR), the guest's selector in a segment
	 * register (MOV r/m, Sreg; PUSH Sreg) — the guest's own, never the
	 * host shadow's. */
	int (*read_gdtr)(void *ctx, uint32_t *base, uint16_t *limit);
	int (*read_idtr)(void *ctx, uint32_t *base, uint16_t *limit);
	int (*read_ldtr)(void *ctx, uint16_t *sel);
	int (*read_tr)(void *ctx, uint16_t *sel);
	int (*read_seg)(void *ctx, enum seg seg, uint16_t *sel);
	/* LAR/LSL/VERR/VERW: the 8 raw bytes of the descriptor non-null
	 * `sel` names in the GDT or LDT (TI), *found true; *found false when
	 * it lies past the table's limit or TI = 1 with no LDT (the
	 * instruction then clears ZF).  -1 only when reading the table
	 * faulted. */
	int (*read_desc)(void *ctx, uint16_t sel, uint64_t *raw, bool *found);
	/* Bytes off..off+len-1 of segment `seg` within its limit (SDM vol.
	 * 3A 5.3, expand-down included)?  0, or -1 having recorded #SS(0)
	 * for SS, #GP(0) for any other segment.  The stack accesses of
	 * PUSHF/POPF, PUSH Sreg and the near branches, and their targets
	 * against CS, are checked; other memory operands are not. */
	int (*check_limit)(void *ctx, enum seg seg, uint32_t off, unsigned len);
	/* CPUID: out[] = EAX, EBX, ECX, EDX for EAX = leaf, ECX = subleaf. */
	int (*cpuid)(void *ctx, uint32_t leaf, uint32_t subleaf,
	             uint32_t out[4]);
	/* RDTSC: the guest's time-stamp counter (the emulator has checked
	 * CR4.TSD through read_cr). */
	int (*rdtsc)(void *ctx, uint64_t *tsc);
};

struct emu_ops {
	/* Linear-address memory access; 0 on success, -1 on a fault (the
	 * callee records it; the emulator then stops with EMU_FAULT and
	 * leaves the instruction un-retired: registers as the faulting
	 * iteration found them). */
	int (*read)(void *ctx, uint32_t linear, void *dst, unsigned len);
	int (*write)(void *ctx, uint32_t linear, const void *src, unsigned len);
	uint32_t (*in)(void *ctx, uint16_t port, unsigned size);
	void (*out)(void *ctx, uint16_t port, unsigned size, uint32_t value);
	/* A fault the emulator detects itself (#GP(0) for privilege, #UD):
	 * it calls raise, then returns EMU_FAULT with EIP unchanged.  NULL:
	 * such an instruction returns EMU_UNSUPPORTED instead, for the caller
	 * to report. */
	void (*raise)(void *ctx, int vector, uint32_t error);
	/* NULL: the system and segment instructions return EMU_UNSUPPORTED. */
	const struct emu_sys *sys;
	/* false: the data-moving and ALU instructions (INSN_MOV on) return
	 * EMU_UNSUPPORTED.  They are for accesses the host could not make
	 * (MMIO); a host #GP on one is a guest fault to reflect, since the
	 * emulator checks no segment limits or rights. */
	bool data;
};

enum emu_status {
	EMU_OK,          /* instruction retired, EIP advanced (far transfers:
	                  * EIP/CS/ESP as the sys callback set them) */
	EMU_HLT,         /* HLT retired (EIP past it): caller waits */
	EMU_UNSUPPORTED, /* not an instruction the emulator handles */
	EMU_BAD,         /* bytes at EIP do not decode (or fetch faulted);
	                  * hardware would raise #UD (or the fetch's fault) */
	EMU_FAULT,       /* the guest takes a fault, already recorded by a
	                  * memory or sys callback or by ops->raise */
};

/* Fetch, decode and carry out one instruction at seg_base[CS] + eip.
 * On return, *insn (if non-NULL) holds what was decoded (len 0 if the
 * fetch itself failed), for the caller's reports and counters. */
enum emu_status emu_step(struct emu_cpu *cpu, const struct emu_ops *ops,
                         void *ctx, struct insn *insn);

#endif
