/*
 * desc_impl.h — helpers shared by desc.c (descriptors, segment loads,
 * LLDT/LTR), desc_stack.c (stack pushes and pops), gate.c (interrupt
 * delivery, IRET) and far.c (far JMP/CALL/RET).  Not part of the API.
 */
#ifndef POPEK_VMM_DESC_IMPL_H
#define POPEK_VMM_DESC_IMPL_H

#include "vmm/desc.h"

/* Descriptor type bits (S = 1), SDM 3.4.5.1. */
#define TYPE_ACCESSED 0x1u
#define TYPE_WR       0x2u    /* data: writable; code: readable */
#define TYPE_EC       0x4u    /* data: expand-down; code: conforming */
#define TYPE_CODE     0x8u

static inline bool sel_null(uint16_t sel) { return (sel & ~3u) == 0; }
static inline uint32_t sel_err(uint16_t sel) { return sel & 0xFFFCu; }

static inline bool attr_code(uint16_t a)
{
	return SEG_ATTR_S(a) && (SEG_ATTR_TYPE(a) & TYPE_CODE);
}
static inline bool attr_conforming(uint16_t a)
{
	return attr_code(a) && (SEG_ATTR_TYPE(a) & TYPE_EC);
}
static inline bool attr_writable_data(uint16_t a)
{
	return SEG_ATTR_S(a) && (SEG_ATTR_TYPE(a) & (TYPE_CODE | TYPE_WR))
	       == TYPE_WR;
}
static inline bool attr_expand_down(uint16_t a)
{
	return SEG_ATTR_S(a) && (SEG_ATTR_TYPE(a) & (TYPE_CODE | TYPE_EC))
	       == TYPE_EC;
}

/* Fill *f; return CPU_FAULT. */
enum cpu_result desc_fault(struct cpu_fault *f, int vector, uint32_t error,
                           const char *why);
/* A memory callback failed: #PF with the error code it left in
 * m->pf_error. */
enum cpu_result desc_memfault(const struct cpu_mem *m, struct cpu_fault *f);
/* Record an unsupported path (f may be NULL); return CPU_UNSUPPORTED. */
enum cpu_result desc_unsupported(struct cpu_fault *f, const char *why);

/* A descriptor read from the GDT or LDT, and where it lives. */
struct desc_ref {
	struct seg_cache cache;
	uint32_t addr;          /* linear address of the 8 bytes */
};

/* Read the descriptor of non-null `sel` (TI picks GDT or LDT, SDM 3.4.2);
 * a selector past the table limit (or TI=1 with no LDT) faults with
 * `vector`, error sel_err(sel) | ext. */
enum cpu_result desc_fetch(const struct cpu_sys *s, const struct cpu_mem *m,
                           uint16_t sel, int vector, uint32_t ext,
                           struct desc_ref *d, struct cpu_fault *f);
/* Set the accessed bit in memory (and in d->cache) if clear (SDM 3.4.5.1). */
enum cpu_result desc_set_accessed(const struct cpu_mem *m, struct desc_ref *d,
                                  struct cpu_fault *f);

/* Commit a cache to segment register `seg` (CS: also code32). */
void desc_commit(struct emu_cpu *c, struct cpu_sys *s, enum seg seg,
                 const struct seg_cache *cache);
/* After a return to outer level: null DS/ES/FS/GS that the new CPL may
 * not use (SDM vol. 2 RET/IRET "RETURN-TO-OUTER-PRIVILEGE-LEVEL"). */
void desc_null_data_segs(struct emu_cpu *c, struct cpu_sys *s, int cpl);

/* Checks of a return CS (far RET, IRET) and, for a return to an outer
 * level, of the return SS with RPL `rpl` (SDM vol. 2 RET, IRET). */
enum cpu_result desc_check_ret_cs(const struct cpu_sys *s,
                                  const struct cpu_mem *m, uint16_t sel,
                                  struct desc_ref *d, struct cpu_fault *f);
enum cpu_result desc_check_ret_ss(const struct cpu_sys *s,
                                  const struct cpu_mem *m, uint16_t sel,
                                  unsigned rpl, struct desc_ref *d,
                                  struct cpu_fault *f);

/* A stack being pushed or popped: ESP moves only in a copy, so nothing
 * changes until the caller commits k.esp.  16-bit stacks (SS.B = 0) use
 * and wrap SP only (SDM 6.2.3 stack-address size). */
struct stk {
	const struct seg_cache *ss;
	uint32_t esp;
	uint32_t ss_error;      /* error code of #SS on a limit violation */
};

/* Room for n more bytes pushed / popped, else #SS(ss_error). */
enum cpu_result stk_room_push(const struct stk *k, unsigned n,
                              struct cpu_fault *f);
enum cpu_result stk_room_pop(const struct stk *k, unsigned n,
                             struct cpu_fault *f);
/* Push or pop `size` (2 or 4) bytes; a popped value is zero-extended. */
enum cpu_result stk_push(const struct cpu_mem *m, struct stk *k,
                         uint32_t val, unsigned size, struct cpu_fault *f);
enum cpu_result stk_pop(const struct cpu_mem *m, struct stk *k,
                        uint32_t *val, unsigned size, struct cpu_fault *f);
/* ESP + n within the stack-address size. */
uint32_t stk_add(const struct seg_cache *ss, uint32_t esp, uint32_t n);

#endif
