/*
 * desc.h — x86 protected-mode system logic over the virtual CPU state
 * (SDM vol. 3A ch. 3, 5, 6, 7; vol. 2 pseudo-code of MOV/POP Sreg, LDS,
 * JMP/CALL/RET far, INT n, IRET, SYSENTER, SYSEXIT, LLDT, LTR): descriptor
 * decoding, segment loads, interrupt and exception delivery through the
 * guest IDT, IRET, far transfers, SYSENTER/SYSEXIT, LLDT/LTR, and the host
 * LDT entry that shadows a cache.
 *
 * Pure functions: they read and write guest memory only through `struct
 * cpu_mem` and change nothing but the emu_cpu / cpu_sys they are given,
 * and only when the whole operation succeeds (faults are restartable).
 * They keep emu_cpu.seg_base[] and emu_cpu.code32 in step with the
 * caches; the CPL of record is cpu_sys.cpl.  No locking: one vCPU.
 *
 * Conventions:
 *  - A cache whose P bit is clear is unusable (null selector loaded).
 *  - CPU_FAULT fills *f (vector, error code, a short why).  A memory
 *    callback returning -1 is reported as #PF, error 0 (vector 14): the
 *    callback recorded the real CR2 and error code for the guest.
 *  - CPU_UNSUPPORTED sets f->why (when there is an f) and the message
 *    cpu_unsupported_why() returns.
 *  - Only CPL 0 and 3 exist: any transfer to CPL 1 or 2 is unsupported.
 */
#ifndef POPEK_VMM_DESC_H
#define POPEK_VMM_DESC_H

#include <stdbool.h>
#include <stdint.h>
#include <asm/ldt.h>        /* struct user_desc */
#include "vmm/cpu.h"
#include "vmm/emulate.h"

/* Exception vectors: enum in cpu.h. */

/* Decode the 8-byte descriptor `raw` (SDM 3.4.5) for selector `sel`. */
void desc_decode(uint64_t raw, uint16_t sel, struct seg_cache *out);

/* Whether a cache holds a usable segment (not loaded from a null one). */
static inline bool desc_usable(const struct seg_cache *c)
{
	return SEG_ATTR_P(c->attr);
}

/* Where the descriptor of `sel` lies (TI picks GDT or LDT, SDM 3.4.2):
 * NULL with its linear address in *addr, or why there is none ("no
 * LDT", "selector past table limit").  Any selector, null included. */
const char *desc_locate(const struct cpu_sys *s, uint16_t sel,
                        uint32_t *addr);

/* Whether offsets off..off+len-1 are within segment *sc (SDM 5.3). */
bool desc_in_limit(const struct seg_cache *sc, uint32_t off, unsigned len);

/* MOV/POP Sreg, LDS/LES/LFS/LGS/LSS into DS/ES/FS/GS/SS (not CS): SDM
 * vol. 2 "MOV—Move", protected-mode segment-load pseudo-code. */
enum cpu_result seg_load(struct emu_cpu *c, struct cpu_sys *s,
                         const struct cpu_mem *m, enum seg seg, uint16_t sel,
                         struct cpu_fault *f);

enum int_kind {
	INT_EXTERNAL,    /* device interrupt, NMI: EXT = 1 */
	INT_EXCEPTION,   /* processor exception: EXT = 1 for nested faults */
	INT_SOFTWARE,    /* INT n, INT3, INTO: gate DPL checked against CPL */
};

/* Deliver `vector` through the guest IDT (SDM 6.12, vol. 2 "INT n"),
 * including the #DF/triple-fault escalation of SDM 6.15 table 6-5 for
 * faults met on the way.  c->eip is the return EIP the caller prepared
 * (the faulting instruction for faults, the next for traps and INT n;
 * the caller also sets RF in c->eflags for faults if it wants it pushed).
 * CPU_OK, CPU_TRIPLE or CPU_UNSUPPORTED (see cpu_unsupported_why()). */
enum cpu_result cpu_interrupt(struct emu_cpu *c, struct cpu_sys *s,
                              const struct cpu_mem *m, int vector,
                              enum int_kind kind, bool has_error,
                              uint32_t error);

/* INT n, INT3 or INTO, `insn_len` bytes long, with c->eip already past
 * it: as cpu_interrupt(INT_SOFTWARE), except that a fault the delivery
 * raises (gate DPL below CPL, gate not present...) reports the INT
 * instruction's own address, as a fault of that instruction should. */
enum cpu_result cpu_soft_interrupt(struct emu_cpu *c, struct cpu_sys *s,
                                   const struct cpu_mem *m, int vector,
                                   unsigned insn_len);

/* Why the last CPU_UNSUPPORTED of this thread happened, e.g. "task gate
 * for vector 8", "virtual-8086 mode". */
const char *cpu_unsupported_why(void);

/* IRET/IRETD (opsize 2 or 4) to the same or an outer privilege level. */
enum cpu_result cpu_iret(struct emu_cpu *c, struct cpu_sys *s,
                         const struct cpu_mem *m, unsigned opsize,
                         struct cpu_fault *f);

/* JMP ptr16:16/32, JMP m16:16/32 to a code segment; `off` is already
 * truncated to the operand size.  Call gates, task gates, TSS:
 * CPU_UNSUPPORTED. */
enum cpu_result cpu_far_jmp(struct emu_cpu *c, struct cpu_sys *s,
                            const struct cpu_mem *m, uint16_t sel,
                            uint32_t off, struct cpu_fault *f);
/* CALL far: pushes CS and c->eip (set it to the next instruction first). */
enum cpu_result cpu_far_call(struct emu_cpu *c, struct cpu_sys *s,
                             const struct cpu_mem *m, uint16_t sel,
                             uint32_t off, unsigned opsize,
                             struct cpu_fault *f);
/* RET far [imm16]: same and outer privilege level. */
enum cpu_result cpu_far_ret(struct emu_cpu *c, struct cpu_sys *s,
                            const struct cpu_mem *m, unsigned pop_bytes,
                            unsigned opsize, struct cpu_fault *f);

/* SYSENTER (SDM vol. 2B): to CPL 0 at eip with esp, CS from `cs_msr`
 * (IA32_SYSENTER_CS) and SS after it, fixed flat caches; VM, IF and RF
 * cleared.  #GP(0) when cs_msr[15:2] is 0.  Any CPL. */
enum cpu_result cpu_sysenter(struct emu_cpu *c, struct cpu_sys *s,
                             uint32_t cs_msr, uint32_t esp, uint32_t eip,
                             struct cpu_fault *f);
/* SYSEXIT (32-bit form): to CPL 3 at EDX with ESP = ECX, CS and SS 16
 * and 24 past `cs_msr` with RPL 3, fixed flat caches.  #GP(0) at CPL > 0
 * or when cs_msr[15:2] is 0. */
enum cpu_result cpu_sysexit(struct emu_cpu *c, struct cpu_sys *s,
                            uint32_t cs_msr, struct cpu_fault *f);

/* LLDT and LTR (CPL 0 only).  LTR takes an available 32-bit TSS and
 * marks it busy in the GDT; a 16-bit TSS is CPU_UNSUPPORTED. */
enum cpu_result cpu_lldt(struct emu_cpu *c, struct cpu_sys *s,
                         const struct cpu_mem *m, uint16_t sel,
                         struct cpu_fault *f);
enum cpu_result cpu_ltr(struct emu_cpu *c, struct cpu_sys *s,
                        const struct cpu_mem *m, uint16_t sel,
                        struct cpu_fault *f);

/* The modify_ldt entry `entry` that mirrors code/data cache *c at host
 * DPL 3, its limit cut so that no usable byte lies above linear address
 * limit_cap.  False for what user_desc cannot express: unusable caches,
 * system segments, segments with no byte at or below limit_cap, and
 * expand-down segments whose top lies above limit_cap.  Conforming code
 * is shadowed as non-conforming (Linux refuses present conforming
 * segments; at CPL 3 the two behave alike). */
bool desc_to_host(const struct seg_cache *c, unsigned entry,
                  uint32_t limit_cap, struct user_desc *out);

#endif
