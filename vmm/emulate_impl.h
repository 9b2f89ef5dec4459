/*
 * emulate_impl.h — what the emulator's files share: the instruction being
 * carried out, the operand helpers, and the handlers that emulate.c's
 * dispatch table names.  Private to vmm/emulate*.c.
 *
 * Handlers return EMU_OK when the instruction is done (emu_step then
 * retires it, unless the table marks it a control transfer), or
 * EMU_FAULT having changed nothing the guest can see.
 */
#ifndef POPEK_VMM_EMULATE_IMPL_H
#define POPEK_VMM_EMULATE_IMPL_H

#include "vmm/emulate.h"

/* One instruction being carried out. */
struct emu {
	struct emu_cpu *cpu;
	const struct emu_ops *ops;
	void *ctx;
	const struct insn *in;
};

typedef enum emu_status (*emu_fn)(struct emu *e);

/* ops->raise(vector, error) and EMU_FAULT; EMU_UNSUPPORTED without raise. */
enum emu_status emu_raise(struct emu *e, int vector, uint32_t error);

/* A sys callback's 0 / -1 as a status. */
static inline enum emu_status emu_sys_status(int rc)
{
	return rc ? EMU_FAULT : EMU_OK;
}

/* Linear address of memory operand o, plus off (for the later parts of
 * a far pointer or a descriptor-table operand). */
uint32_t emu_linear(const struct emu *e, const struct insn_opnd *o,
                    uint32_t off);

/* Reads len bytes (little-endian, zero-extended) at memory operand o + off;
 * 0, or -1 if ops->read faulted. */
int emu_read_mem(struct emu *e, const struct insn_opnd *o, uint32_t off,
                 unsigned len, uint32_t *val);

/* The value of a REG operand (zero-extended), and its assignment. */
uint32_t emu_get_reg(const struct emu_cpu *c, const struct insn_opnd *o);
void emu_set_reg(struct emu_cpu *c, const struct insn_opnd *o, uint32_t v);

/* An r/m16 source (LMSW, LLDT, LTR, MOV Sreg): 0, or -1 on a fault. */
int emu_src16(struct emu *e, const struct insn_opnd *o, uint16_t *v);

/* A store to r/m16 or r32/m16 (SLDT, STR, SMSW, MOV r/m, Sreg): a
 * register gets v at the operand's size (a 32-bit one all of v), memory
 * always 2 bytes.  0, or -1 on a fault. */
int emu_dst16(struct emu *e, const struct insn_opnd *o, uint32_t v);

/* The stack: SS:ESP, or SS:SP when cpu->ss16 (the bits of ESP the
 * stack-address size uses are emu_stack_mask's).  emu_stack_read reads
 * size bytes (zero-extended) at ESP + off, moving nothing; emu_push
 * writes the low len bytes of val at ESP - size and then moves ESP down
 * by size; emu_stack_release moves ESP up by n.  Both accesses check
 * the SS limit over the whole slot first.  0, or -1 on a fault with ESP
 * unchanged. */
uint32_t emu_stack_mask(const struct emu_cpu *c);
int emu_stack_read(struct emu *e, uint32_t off, unsigned size,
                   uint32_t *val);
int emu_push(struct emu *e, uint32_t val, unsigned size, unsigned len);
void emu_stack_release(struct emu_cpu *c, uint32_t n);

/* EIP of the next instruction (16-bit code wraps). */
uint32_t emu_next_eip(const struct emu *e);

/* String instructions (emulate.c): the address-size mask, a register
 * step within it, the element stride (DF), and the REP loop around one
 * element, which returns non-zero on a fault. */
uint32_t emu_addr_mask(const struct insn *in);
void emu_step_reg(uint32_t *reg, uint32_t delta, uint32_t mask);
uint32_t emu_stride(const struct emu *e);
enum emu_status emu_string_op(struct emu *e,
                              int (*once)(struct emu *, uint32_t));

/* emulate_io.c */
enum emu_status emu_in(struct emu *e);
enum emu_status emu_out(struct emu *e);
enum emu_status emu_ins(struct emu *e);
enum emu_status emu_outs(struct emu *e);
enum emu_status emu_cli(struct emu *e);
enum emu_status emu_sti(struct emu *e);
enum emu_status emu_hlt(struct emu *e);

/* emulate_system.c */
enum emu_status emu_lgdt(struct emu *e);
enum emu_status emu_lidt(struct emu *e);
enum emu_status emu_lmsw(struct emu *e);
enum emu_status emu_invlpg(struct emu *e);
enum emu_status emu_lldt(struct emu *e);
enum emu_status emu_ltr(struct emu *e);
enum emu_status emu_mov_from_cr(struct emu *e);
enum emu_status emu_mov_to_cr(struct emu *e);
enum emu_status emu_mov_from_dr(struct emu *e);
enum emu_status emu_mov_to_dr(struct emu *e);
enum emu_status emu_clts(struct emu *e);
enum emu_status emu_wbinvd(struct emu *e);
enum emu_status emu_rdmsr(struct emu *e);
enum emu_status emu_wrmsr(struct emu *e);
enum emu_status emu_rdpmc(struct emu *e);

/* emulate_segment.c */
enum emu_status emu_mov_to_sreg(struct emu *e);
enum emu_status emu_pop_sreg(struct emu *e);
enum emu_status emu_load_far(struct emu *e);
enum emu_status emu_jmp_far(struct emu *e);
enum emu_status emu_call_far(struct emu *e);
enum emu_status emu_ret_far(struct emu *e);
enum emu_status emu_iret(struct emu *e);
enum emu_status emu_sysenter(struct emu *e);
enum emu_status emu_sysexit(struct emu *e);

/* emulate_data.c */
enum emu_status emu_mov(struct emu *e);
enum emu_status emu_movx(struct emu *e);      /* MOVZX, MOVSX */
enum emu_status emu_xchg(struct emu *e);
enum emu_status emu_xadd(struct emu *e);
enum emu_status emu_cmpxchg(struct emu *e);
enum emu_status emu_alu(struct emu *e);       /* ADD .. CMP */
enum emu_status emu_test(struct emu *e);
enum emu_status emu_unary(struct emu *e);     /* INC DEC NOT NEG */
enum emu_status emu_bt(struct emu *e);        /* BT BTS BTR BTC */
enum emu_status emu_movs(struct emu *e);
enum emu_status emu_stos(struct emu *e);
enum emu_status emu_push_rm(struct emu *e);
enum emu_status emu_pop_rm(struct emu *e);

/* emulate_sensitive.c */
enum emu_status emu_pushf(struct emu *e);
enum emu_status emu_popf(struct emu *e);
enum emu_status emu_sgdt(struct emu *e);     /* SGDT, SIDT */
enum emu_status emu_sldt(struct emu *e);     /* SLDT, STR */
enum emu_status emu_smsw(struct emu *e);
enum emu_status emu_mov_from_sreg(struct emu *e);
enum emu_status emu_push_sreg(struct emu *e);
enum emu_status emu_cpuid(struct emu *e);
enum emu_status emu_rdtsc(struct emu *e);

/* emulate_verify.c */
enum emu_status emu_lar(struct emu *e);      /* LAR, LSL */
enum emu_status emu_verr(struct emu *e);     /* VERR, VERW */

/* emulate_branch.c */
enum emu_status emu_ret_near(struct emu *e);
enum emu_status emu_jmp_near(struct emu *e);
enum emu_status emu_call_near(struct emu *e);

#endif
