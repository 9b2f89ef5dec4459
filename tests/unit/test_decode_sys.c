/*
 * test_decode_sys.c — unit tests of the operands scan/decode.c gives the
 * system and segment instructions: registers (GPR, Sreg, CRn, DRn),
 * memory (base + index * scale + disp, 16-bit forms, default and
 * override segments), immediates and far pointers.  Expected values come
 * from the SDM's ModRM/SIB tables, not from Zydis.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scan/decode.h"
#include "tests/unit/decode_helpers.h"


static void check_op(struct insn in, enum insn_op op, unsigned opsize,
                     unsigned nopnd)
{
	cr_assert_eq(in.op, op, "op %d, expected %d", in.op, op);
	cr_assert_eq(in.opsize, opsize, "opsize %u, expected %u", in.opsize,
	             opsize);
	cr_assert_eq(in.nopnd, nopnd, "nopnd %u, expected %u", in.nopnd,
	             nopnd);
}

static void check_reg(struct insn_opnd o, enum opnd_kind kind,
                      unsigned num, unsigned size)
{
	cr_assert_eq(o.kind, kind, "kind %u, expected %u", o.kind, kind);
	cr_assert_eq(o.reg.num, num, "reg %u, expected %u", o.reg.num, num);
	cr_assert_eq(o.size, size, "size %u, expected %u", o.size, size);
	cr_assert_eq(o.reg.high, false);
}

static void check_mem(struct insn_opnd o, enum seg seg, int base, int index,
                      unsigned scale, uint32_t disp, unsigned addrsize,
                      unsigned size)
{
	cr_assert_eq(o.kind, OPND_MEM, "kind %u", o.kind);
	cr_assert_eq(o.mem.seg, seg, "seg %u, expected %u", o.mem.seg, seg);
	cr_assert_eq(o.mem.base, base, "base %d, expected %d", o.mem.base,
	             base);
	cr_assert_eq(o.mem.index, index, "index %d, expected %d",
	             o.mem.index, index);
	cr_assert_eq(o.mem.scale, scale);
	cr_assert_eq(o.mem.disp, disp, "disp 0x%x, expected 0x%x",
	             o.mem.disp, disp);
	cr_assert_eq(o.mem.addrsize, addrsize);
	cr_assert_eq(o.size, size, "size %u, expected %u", o.size, size);
}

/* GPR numbers, encoding order. */
enum { AX, CX, DX, BX, SP, BP, SI, DI, NONE = INSN_NO_REG };

Test(decode_sys, lgdt_lidt)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0x01, 0x15, 0x00, 0x10, 0x00, 0x00);
	check_op(in, INSN_LGDT, 4, 1);          /* lgdt [0x1000] */
	check_mem(in.opnd[0], SEG_DS, NONE, NONE, 1, 0x1000, 32, 6);
	in = DECODE(true, 0x66, 0x0f, 0x01, 0x1e);
	check_op(in, INSN_LIDT, 2, 1);          /* o16 lidt [esi] */
	check_mem(in.opnd[0], SEG_DS, SI, NONE, 1, 0, 32, 6);
	/* lidt [ebx+ecx*4+0x10]: SIB with disp8 */
	in = DECODE(true, 0x0f, 0x01, 0x5c, 0x8b, 0x10);
	check_op(in, INSN_LIDT, 4, 1);
	check_mem(in.opnd[0], SEG_DS, BX, CX, 4, 0x10, 32, 6);
}

Test(decode_sys, mem_default_ss_for_ebp_esp)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0x01, 0x55, 0xf8);  /* lgdt [ebp-8] */
	check_mem(in.opnd[0], SEG_SS, BP, NONE, 1, 0xfffffff8, 32, 6);
	in = DECODE(true, 0x0f, 0x01, 0x14, 0x24);  /* lgdt [esp] */
	check_mem(in.opnd[0], SEG_SS, SP, NONE, 1, 0, 32, 6);
	/* lgdt [eax+esi*8+0x12345678] */
	in = DECODE(true, 0x0f, 0x01, 0x94, 0xf0, 0x78, 0x56, 0x34, 0x12);
	check_mem(in.opnd[0], SEG_DS, AX, SI, 8, 0x12345678, 32, 6);
}

Test(decode_sys, mem_segment_override)
{
	struct insn in;

	in = DECODE(true, 0x2e, 0x0f, 0x01, 0x10);  /* lgdt cs:[eax] */
	check_op(in, INSN_LGDT, 4, 1);
	check_mem(in.opnd[0], SEG_CS, AX, NONE, 1, 0, 32, 6);
	in = DECODE(true, 0x3e, 0x0f, 0x01, 0x55, 0x04); /* ds:[ebp+4] */
	check_mem(in.opnd[0], SEG_DS, BP, NONE, 1, 4, 32, 6);
	in = DECODE(true, 0x65, 0x8e, 0x18);        /* mov ds, gs:[eax] */
	check_mem(in.opnd[1], SEG_GS, AX, NONE, 1, 0, 32, 2);
}

Test(decode_sys, mem_16bit_forms)
{
	struct insn in;

	in = DECODE(false, 0x8e, 0x18);             /* mov ds, [bx+si] */
	check_op(in, INSN_MOV_TO_SREG, 2, 2);
	check_mem(in.opnd[1], SEG_DS, BX, SI, 1, 0, 16, 2);
	in = DECODE(false, 0x8e, 0x42, 0xfe);       /* mov es, [bp+si-2] */
	check_mem(in.opnd[1], SEG_SS, BP, SI, 1, 0xfffffffe, 16, 2);
	in = DECODE(false, 0x8e, 0x46, 0x02);       /* mov es, [bp+2] */
	check_mem(in.opnd[1], SEG_SS, BP, NONE, 1, 2, 16, 2);
	in = DECODE(false, 0x8e, 0x1e, 0x34, 0x12); /* mov ds, [0x1234] */
	check_mem(in.opnd[1], SEG_DS, NONE, NONE, 1, 0x1234, 16, 2);
	in = DECODE(false, 0x8e, 0x9d, 0x00, 0x80); /* mov ds, [di+0x8000] */
	check_mem(in.opnd[1], SEG_DS, DI, NONE, 1, 0xffff8000, 16, 2);
	in = DECODE(true, 0x67, 0x8e, 0x40, 0x05);  /* a16 mov es, [bx+si+5] */
	check_mem(in.opnd[1], SEG_DS, BX, SI, 1, 5, 16, 2);
}

Test(decode_sys, lmsw_lldt_ltr_invlpg)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0x01, 0xf3);        /* lmsw bx */
	cr_assert_eq(in.op, INSN_LMSW);
	check_reg(in.opnd[0], OPND_REG, BX, 2);
	in = DECODE(true, 0x0f, 0x01, 0x30);        /* lmsw [eax] */
	check_mem(in.opnd[0], SEG_DS, AX, NONE, 1, 0, 32, 2);
	in = DECODE(true, 0x0f, 0x00, 0xd1);        /* lldt cx */
	cr_assert_eq(in.op, INSN_LLDT);
	check_reg(in.opnd[0], OPND_REG, CX, 2);
	in = DECODE(true, 0x0f, 0x00, 0x1f);        /* ltr [edi] */
	cr_assert_eq(in.op, INSN_LTR);
	check_mem(in.opnd[0], SEG_DS, DI, NONE, 1, 0, 32, 2);
	in = DECODE(true, 0x0f, 0x01, 0x7b, 0x40);  /* invlpg [ebx+0x40] */
	cr_assert_eq(in.op, INSN_INVLPG);
	cr_assert_eq(in.nopnd, 1);
	cr_assert_eq(in.opnd[0].kind, OPND_MEM);
	cr_assert_eq(in.opnd[0].mem.base, BX);
	cr_assert_eq(in.opnd[0].mem.disp, 0x40);
}

Test(decode_sys, mov_cr_dr)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0x20, 0xc3);        /* mov ebx, cr0 */
	check_op(in, INSN_MOV_FROM_CR, 4, 2);
	check_reg(in.opnd[0], OPND_REG, BX, 4);
	check_reg(in.opnd[1], OPND_CR, 0, 4);
	in = DECODE(true, 0x0f, 0x22, 0xde);        /* mov cr3, esi */
	check_op(in, INSN_MOV_TO_CR, 4, 2);
	check_reg(in.opnd[0], OPND_CR, 3, 4);
	check_reg(in.opnd[1], OPND_REG, SI, 4);
	/* mod != 3 still means a register (SDM: mod is ignored). */
	in = DECODE(true, 0x0f, 0x22, 0x20);        /* mov cr4, eax */
	check_reg(in.opnd[0], OPND_CR, 4, 4);
	check_reg(in.opnd[1], OPND_REG, AX, 4);
	in = DECODE(true, 0x0f, 0x21, 0xf9);        /* mov ecx, dr7 */
	check_op(in, INSN_MOV_FROM_DR, 4, 2);
	check_reg(in.opnd[0], OPND_REG, CX, 4);
	check_reg(in.opnd[1], OPND_DR, 7, 4);
	in = DECODE(true, 0x0f, 0x23, 0xc7);        /* mov dr0, edi */
	check_op(in, INSN_MOV_TO_DR, 4, 2);
	check_reg(in.opnd[0], OPND_DR, 0, 4);
	check_reg(in.opnd[1], OPND_REG, DI, 4);
	/* 16-bit code: still the 32-bit GPR. */
	in = DECODE(false, 0x0f, 0x20, 0xd2);       /* mov edx, cr2 */
	check_reg(in.opnd[0], OPND_REG, DX, 4);
	check_reg(in.opnd[1], OPND_CR, 2, 4);
}

Test(decode_sys, reserved_cr_and_mov_cs_do_not_decode)
{
	struct insn in;

	/* 0F 20 /1: CR1 is reserved (#UD); 8E /1: MOV CS is #UD. */
	cr_assert_eq(scan_decode((const uint8_t[]){ 0x0f, 0x20, 0xc8 }, 3,
	                         true, &in), -1);
	cr_assert_eq(scan_decode((const uint8_t[]){ 0x8e, 0xc8 }, 2, true,
	                         &in), -1);
}

Test(decode_sys, no_operand_system)
{
	check_op(DECODE(true, 0x0f, 0x06), INSN_CLTS, 4, 0);
	check_op(DECODE(true, 0x0f, 0x08), INSN_INVD, 4, 0);
	check_op(DECODE(true, 0x0f, 0x09), INSN_WBINVD, 4, 0);
	check_op(DECODE(true, 0x0f, 0x32), INSN_RDMSR, 4, 0);
	check_op(DECODE(true, 0x0f, 0x30), INSN_WRMSR, 4, 0);
	check_op(DECODE(true, 0x0f, 0x33), INSN_RDPMC, 4, 0);
	check_op(DECODE(true, 0x0f, 0x34), INSN_SYSENTER, 4, 0);
	check_op(DECODE(true, 0x0f, 0x35), INSN_SYSEXIT, 4, 0);
}

Test(decode_sys, mov_sreg)
{
	struct insn in;

	in = DECODE(true, 0x8e, 0xd8);              /* mov ds, eax */
	check_op(in, INSN_MOV_TO_SREG, 4, 2);
	check_reg(in.opnd[0], OPND_SREG, SEG_DS, 2);
	check_reg(in.opnd[1], OPND_REG, AX, 2);
	in = DECODE(true, 0x8e, 0xd3);              /* mov ss, bx */
	check_reg(in.opnd[0], OPND_SREG, SEG_SS, 2);
	check_reg(in.opnd[1], OPND_REG, BX, 2);
	in = DECODE(true, 0x8e, 0xe6);              /* mov fs, si */
	check_reg(in.opnd[0], OPND_SREG, SEG_FS, 2);
	in = DECODE(true, 0x8e, 0x6c, 0x24, 0x08);  /* mov gs, [esp+8] */
	check_reg(in.opnd[0], OPND_SREG, SEG_GS, 2);
	check_mem(in.opnd[1], SEG_SS, SP, NONE, 1, 8, 32, 2);
	in = DECODE(true, 0x8e, 0x05, 0x78, 0x56, 0x34, 0x12); /* es, [abs] */
	check_reg(in.opnd[0], OPND_SREG, SEG_ES, 2);
	check_mem(in.opnd[1], SEG_DS, NONE, NONE, 1, 0x12345678, 32, 2);
}

Test(decode_sys, pop_sreg)
{
	struct insn in;

	check_reg(DECODE(true, 0x07).opnd[0], OPND_SREG, SEG_ES, 2);
	check_reg(DECODE(true, 0x17).opnd[0], OPND_SREG, SEG_SS, 2);
	check_reg(DECODE(true, 0x1f).opnd[0], OPND_SREG, SEG_DS, 2);
	check_reg(DECODE(true, 0x0f, 0xa1).opnd[0], OPND_SREG, SEG_FS, 2);
	check_reg(DECODE(true, 0x0f, 0xa9).opnd[0], OPND_SREG, SEG_GS, 2);
	check_op(DECODE(true, 0x1f), INSN_POP_SREG, 4, 1);
	check_op(DECODE(true, 0x66, 0x1f), INSN_POP_SREG, 2, 1);
	check_op(DECODE(false, 0x07), INSN_POP_SREG, 2, 1);
	check_op(DECODE(false, 0x66, 0x0f, 0xa9), INSN_POP_SREG, 4, 1);
	/* POP of a GPR is not ours; POP of memory is (a data op, for
	 * accesses the host could not make). */
	in = DECODE(true, 0x58);
	cr_assert_eq(in.op, INSN_OTHER);
	in = DECODE(true, 0x8f, 0x00);
	cr_assert_eq(in.op, INSN_POP_RM);
	cr_assert_eq(in.opnd[0].kind, OPND_MEM);
	cr_assert_eq(in.opnd[0].size, 4);
	/* MOV between GPRs is a data move; MOV r/m16, Sreg (8C) reads one. */
	cr_assert_eq(DECODE(true, 0x89, 0xd8).op, INSN_MOV);
	cr_assert_eq(DECODE(true, 0x8c, 0xd8).op, INSN_MOV_FROM_SREG);
}

Test(decode_sys, load_far_pointer)
{
	struct insn in;

	in = DECODE(true, 0xc5, 0x06);              /* lds eax, [esi] */
	check_op(in, INSN_LDS, 4, 2);
	check_reg(in.opnd[0], OPND_REG, AX, 4);
	check_mem(in.opnd[1], SEG_DS, SI, NONE, 1, 0, 32, 6);
	in = DECODE(true, 0xc4, 0x5d, 0x08);        /* les ebx, [ebp+8] */
	check_op(in, INSN_LES, 4, 2);
	check_reg(in.opnd[0], OPND_REG, BX, 4);
	check_mem(in.opnd[1], SEG_SS, BP, NONE, 1, 8, 32, 6);
	in = DECODE(true, 0x0f, 0xb2, 0x20);        /* lss esp, [eax] */
	check_op(in, INSN_LSS, 4, 2);
	check_reg(in.opnd[0], OPND_REG, SP, 4);
	in = DECODE(true, 0x66, 0x0f, 0xb4, 0x18);  /* lfs bx, [eax] */
	check_op(in, INSN_LFS, 2, 2);
	check_reg(in.opnd[0], OPND_REG, BX, 2);
	check_mem(in.opnd[1], SEG_DS, AX, NONE, 1, 0, 32, 4);
	in = DECODE(false, 0x0f, 0xb5, 0x0f);       /* lgs cx, [bx] */
	check_op(in, INSN_LGS, 2, 2);
	check_reg(in.opnd[0], OPND_REG, CX, 2);
	check_mem(in.opnd[1], SEG_DS, BX, NONE, 1, 0, 16, 4);
}

static void check_ptr(struct insn_opnd o, uint16_t sel, uint32_t off)
{
	cr_assert_eq(o.kind, OPND_PTR);
	cr_assert_eq(o.ptr.sel, sel);
	cr_assert_eq(o.ptr.off, off, "off 0x%x, expected 0x%x", o.ptr.off,
	             off);
}

Test(decode_sys, jmp_call_far)
{
	struct insn in;

	in = DECODE(true, 0xea, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00);
	check_op(in, INSN_JMP_FAR, 4, 1);
	check_ptr(in.opnd[0], 0x0008, 0x12345678);
	in = DECODE(true, 0x66, 0xea, 0x34, 0x12, 0x10, 0x00);
	check_op(in, INSN_JMP_FAR, 2, 1);
	check_ptr(in.opnd[0], 0x0010, 0x1234);
	in = DECODE(false, 0xea, 0xcd, 0xab, 0x18, 0x00);
	check_op(in, INSN_JMP_FAR, 2, 1);
	check_ptr(in.opnd[0], 0x0018, 0xabcd);
	in = DECODE(true, 0x9a, 0x00, 0x00, 0x10, 0x00, 0x1b, 0x00);
	check_op(in, INSN_CALL_FAR, 4, 1);
	check_ptr(in.opnd[0], 0x001b, 0x100000);
	in = DECODE(true, 0xff, 0x28);              /* jmp far [eax] */
	check_op(in, INSN_JMP_FAR, 4, 1);
	check_mem(in.opnd[0], SEG_DS, AX, NONE, 1, 0, 32, 6);
	in = DECODE(true, 0xff, 0x5d, 0x0c);        /* call far [ebp+12] */
	check_op(in, INSN_CALL_FAR, 4, 1);
	check_mem(in.opnd[0], SEG_SS, BP, NONE, 1, 12, 32, 6);
	in = DECODE(true, 0x66, 0xff, 0x2b);        /* jmp far word [ebx] */
	check_op(in, INSN_JMP_FAR, 2, 1);
	check_mem(in.opnd[0], SEG_DS, BX, NONE, 1, 0, 32, 4);
}

/* Near branches with the target outside the instruction are ours; the
 * relative ones are not. */
Test(decode_sys, near_branches)
{
	struct insn in;

	in = DECODE(true, 0xff, 0xe0);                  /* jmp eax */
	check_op(in, INSN_JMP_NEAR, 4, 1);
	check_reg(in.opnd[0], OPND_REG, AX, 4);
	in = DECODE(true, 0x66, 0xff, 0xe3);            /* jmp bx */
	check_op(in, INSN_JMP_NEAR, 2, 1);
	check_reg(in.opnd[0], OPND_REG, BX, 2);
	in = DECODE(true, 0xff, 0x10);                  /* call [eax] */
	check_op(in, INSN_CALL_NEAR, 4, 1);
	check_mem(in.opnd[0], SEG_DS, AX, NONE, 1, 0, 32, 4);
	in = DECODE(false, 0xff, 0x56, 0x02);           /* call [bp+2] */
	check_op(in, INSN_CALL_NEAR, 2, 1);
	check_mem(in.opnd[0], SEG_SS, BP, NONE, 1, 2, 16, 2);
	check_op(DECODE(true, 0xc3), INSN_RET_NEAR, 4, 0);
	check_op(DECODE(true, 0x66, 0xc3), INSN_RET_NEAR, 2, 0);
	check_op(DECODE(false, 0xc3), INSN_RET_NEAR, 2, 0);
	in = DECODE(true, 0xc2, 0x04, 0x01);            /* ret 0x104 */
	check_op(in, INSN_RET_NEAR, 4, 1);
	cr_assert_eq(in.opnd[0].kind, OPND_IMM);
	cr_assert_eq(in.opnd[0].imm.value, 0x104);
	cr_assert_eq(DECODE(true, 0xe9, 0, 0, 0, 0).op, INSN_OTHER);
	cr_assert_eq(DECODE(true, 0xe8, 0, 0, 0, 0).op, INSN_OTHER);
	cr_assert_eq(DECODE(true, 0xeb, 0x00).op, INSN_OTHER);
	cr_assert_eq(DECODE(true, 0x74, 0x00).op, INSN_OTHER);  /* jz */
	in = DECODE(true, 0x65, 0xff, 0x30);                   /* push gs:[eax] */
	cr_assert_eq(in.op, INSN_PUSH_RM);
	cr_assert_eq(in.opnd[0].kind, OPND_MEM);
	cr_assert_eq(in.opnd[0].mem.seg, SEG_GS);
	cr_assert_eq(in.opnd[0].size, 4);
}

Test(decode_sys, pushf_popf_cpuid_rdtsc)
{
	check_op(DECODE(true, 0x9c), INSN_PUSHF, 4, 0);
	check_op(DECODE(true, 0x66, 0x9c), INSN_PUSHF, 2, 0);
	check_op(DECODE(false, 0x9c), INSN_PUSHF, 2, 0);
	check_op(DECODE(false, 0x66, 0x9c), INSN_PUSHF, 4, 0);
	check_op(DECODE(true, 0x9d), INSN_POPF, 4, 0);
	check_op(DECODE(true, 0x66, 0x9d), INSN_POPF, 2, 0);
	check_op(DECODE(true, 0x0f, 0xa2), INSN_CPUID, 4, 0);
	check_op(DECODE(true, 0x0f, 0x31), INSN_RDTSC, 4, 0);
}

Test(decode_sys, store_system_registers)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0x01, 0x03);            /* sgdt [ebx] */
	check_op(in, INSN_SGDT, 4, 1);
	check_mem(in.opnd[0], SEG_DS, BX, NONE, 1, 0, 32, 6);
	in = DECODE(true, 0x66, 0x0f, 0x01, 0x4d, 0x10); /* o16 sidt [ebp+16] */
	check_op(in, INSN_SIDT, 2, 1);
	check_mem(in.opnd[0], SEG_SS, BP, NONE, 1, 0x10, 32, 6);
	in = DECODE(true, 0x0f, 0x00, 0xc1);            /* sldt ecx */
	check_op(in, INSN_SLDT, 4, 1);
	check_reg(in.opnd[0], OPND_REG, CX, 4);
	in = DECODE(true, 0x66, 0x0f, 0x00, 0xc9);      /* str cx */
	check_op(in, INSN_STR, 2, 1);
	check_reg(in.opnd[0], OPND_REG, CX, 2);
	in = DECODE(true, 0x0f, 0x00, 0x0e);            /* str [esi] */
	check_op(in, INSN_STR, 4, 1);
	check_mem(in.opnd[0], SEG_DS, SI, NONE, 1, 0, 32, 2);
	in = DECODE(true, 0x0f, 0x01, 0xe2);            /* smsw edx */
	check_op(in, INSN_SMSW, 4, 1);
	check_reg(in.opnd[0], OPND_REG, DX, 4);
	in = DECODE(true, 0x0f, 0x01, 0x27);            /* smsw [edi] */
	check_op(in, INSN_SMSW, 4, 1);
	check_mem(in.opnd[0], SEG_DS, DI, NONE, 1, 0, 32, 2);
}

Test(decode_sys, descriptor_queries)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0x02, 0xc1);            /* lar eax, ecx */
	check_op(in, INSN_LAR, 4, 2);
	check_reg(in.opnd[0], OPND_REG, AX, 4);
	check_reg(in.opnd[1], OPND_REG, CX, 4);
	in = DECODE(true, 0x66, 0x0f, 0x03, 0x1e);      /* lsl bx, [esi] */
	check_op(in, INSN_LSL, 2, 2);
	check_reg(in.opnd[0], OPND_REG, BX, 2);
	check_mem(in.opnd[1], SEG_DS, SI, NONE, 1, 0, 32, 2);
	in = DECODE(true, 0x0f, 0x00, 0xe0);            /* verr ax */
	check_op(in, INSN_VERR, 4, 1);
	check_reg(in.opnd[0], OPND_REG, AX, 2);
	in = DECODE(true, 0x0f, 0x00, 0x2b);            /* verw [ebx] */
	check_op(in, INSN_VERW, 4, 1);
	check_mem(in.opnd[0], SEG_DS, BX, NONE, 1, 0, 32, 2);
}

Test(decode_sys, segment_register_reads)
{
	static const struct { uint8_t b[2]; unsigned n; enum seg seg; } push[] = {
		{ { 0x06 }, 1, SEG_ES }, { { 0x0e }, 1, SEG_CS },
		{ { 0x16 }, 1, SEG_SS }, { { 0x1e }, 1, SEG_DS },
		{ { 0x0f, 0xa0 }, 2, SEG_FS }, { { 0x0f, 0xa8 }, 2, SEG_GS },
	};
	struct insn in;

	for (size_t i = 0; i < sizeof(push) / sizeof(push[0]); i++) {
		in = decode_ok(push[i].b, push[i].n, true);
		check_op(in, INSN_PUSH_SREG, 4, 1);
		check_reg(in.opnd[0], OPND_SREG, push[i].seg, 2);
	}
	check_op(DECODE(true, 0x66, 0x1e), INSN_PUSH_SREG, 2, 1);
	check_op(DECODE(false, 0x0e), INSN_PUSH_SREG, 2, 1);
	cr_assert_eq(DECODE(true, 0x50).op, INSN_OTHER);        /* push eax */
	in = DECODE(true, 0x8c, 0xd8);                  /* mov eax, ds */
	check_op(in, INSN_MOV_FROM_SREG, 4, 2);
	check_reg(in.opnd[0], OPND_REG, AX, 4);
	check_reg(in.opnd[1], OPND_SREG, SEG_DS, 2);
	in = DECODE(true, 0x66, 0x8c, 0xe1);            /* mov cx, fs */
	check_op(in, INSN_MOV_FROM_SREG, 2, 2);
	check_reg(in.opnd[0], OPND_REG, CX, 2);
	check_reg(in.opnd[1], OPND_SREG, SEG_FS, 2);
	in = DECODE(true, 0x8c, 0x50, 0x04);            /* mov [eax+4], ss */
	check_op(in, INSN_MOV_FROM_SREG, 4, 2);
	check_mem(in.opnd[0], SEG_DS, AX, NONE, 1, 4, 32, 2);
	check_reg(in.opnd[1], OPND_SREG, SEG_SS, 2);
}

Test(decode_sys, ret_far_iret)
{
	struct insn in;

	check_op(DECODE(true, 0xcb), INSN_RET_FAR, 4, 0);
	check_op(DECODE(true, 0x66, 0xcb), INSN_RET_FAR, 2, 0);
	in = DECODE(true, 0xca, 0x08, 0x01);        /* retf 0x108 */
	check_op(in, INSN_RET_FAR, 4, 1);
	cr_assert_eq(in.opnd[0].kind, OPND_IMM);
	cr_assert_eq(in.opnd[0].size, 2);
	cr_assert_eq(in.opnd[0].imm.value, 0x108);
	in = DECODE(true, 0xca, 0xfc, 0xff);        /* retf 0xfffc: no sign */
	cr_assert_eq(in.opnd[0].imm.value, 0xfffc);
	check_op(DECODE(true, 0xcf), INSN_IRET, 4, 0);
	check_op(DECODE(true, 0x66, 0xcf), INSN_IRET, 2, 0);
	check_op(DECODE(false, 0xcf), INSN_IRET, 2, 0);
	check_op(DECODE(false, 0x66, 0xcf), INSN_IRET, 4, 0);
}

/* The memo returns the operands too, and never another mode's. */
Test(decode_sys, memo_keeps_operands)
{
	const uint8_t b[] = { 0x8e, 0x18 };
	struct insn a, c;

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(scan_decode(b, sizeof(b), true, &a), 0);
		check_mem(a.opnd[1], SEG_DS, AX, NONE, 1, 0, 32, 2);
		cr_assert_eq(scan_decode(b, sizeof(b), false, &c), 0);
		check_mem(c.opnd[1], SEG_DS, BX, SI, 1, 0, 16, 2);
	}
}
