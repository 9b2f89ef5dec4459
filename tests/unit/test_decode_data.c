/*
 * test_decode_data.c — unit tests of how scan/decode.c classifies the
 * data-moving and ALU instructions (INSN_MOV .. INSN_STOS) and the
 * operands it gives them: which encodings are ours (the ModRM forms and
 * MOV's moffs forms) and which stay INSN_OTHER, operand sizes in 32- and
 * 16-bit code, sign-extended imm8s, moffs, and the string fields of
 * MOVS/STOS.  Expected values come from the SDM's opcode tables.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scan/decode.h"
#include "tests/unit/decode_helpers.h"

/* GPR numbers, encoding order. */
enum { AX, CX, DX, BX, SP, BP, SI, DI, NONE = INSN_NO_REG };

static void check_op(struct insn in, enum insn_op op, unsigned opsize,
                     unsigned nopnd)
{
	cr_assert_eq(in.op, op, "op %d, expected %d", in.op, op);
	cr_assert_eq(in.opsize, opsize, "opsize %u, expected %u", in.opsize,
	             opsize);
	cr_assert_eq(in.nopnd, nopnd, "nopnd %u, expected %u", in.nopnd,
	             nopnd);
}

static void check_reg(struct insn_opnd o, unsigned num, bool high,
                      unsigned size)
{
	cr_assert_eq(o.kind, OPND_REG, "kind %u", o.kind);
	cr_assert_eq(o.reg.num, num, "reg %u, expected %u", o.reg.num, num);
	cr_assert_eq(o.reg.high, high);
	cr_assert_eq(o.size, size, "size %u, expected %u", o.size, size);
}

static void check_mem(struct insn_opnd o, enum seg seg, int base, int index,
                      uint32_t disp, unsigned addrsize, unsigned size)
{
	cr_assert_eq(o.kind, OPND_MEM, "kind %u", o.kind);
	cr_assert_eq(o.mem.seg, seg, "seg %u, expected %u", o.mem.seg, seg);
	cr_assert_eq(o.mem.base, base, "base %d", o.mem.base);
	cr_assert_eq(o.mem.index, index, "index %d", o.mem.index);
	cr_assert_eq(o.mem.disp, disp, "disp 0x%x", o.mem.disp);
	cr_assert_eq(o.mem.addrsize, addrsize);
	cr_assert_eq(o.size, size, "size %u, expected %u", o.size, size);
}

static void check_imm(struct insn_opnd o, uint32_t value, unsigned size)
{
	cr_assert_eq(o.kind, OPND_IMM, "kind %u", o.kind);
	cr_assert_eq(o.imm.value, value, "imm 0x%x, expected 0x%x",
	             o.imm.value, value);
	cr_assert_eq(o.size, size, "size %u, expected %u", o.size, size);
}

Test(decode_data, mov_forms)
{
	struct insn in;

	in = DECODE(true, 0x89, 0x03);              /* mov [ebx], eax */
	check_op(in, INSN_MOV, 4, 2);
	check_mem(in.opnd[0], SEG_DS, BX, NONE, 0, 32, 4);
	check_reg(in.opnd[1], AX, false, 4);
	in = DECODE(true, 0x8a, 0x63, 0x10);        /* mov ah, [ebx+0x10] */
	check_op(in, INSN_MOV, 1, 2);
	check_reg(in.opnd[0], 4, true, 1);
	check_mem(in.opnd[1], SEG_DS, BX, NONE, 0x10, 32, 1);
	in = DECODE(true, 0x66, 0x8b, 0x0c, 0x24);  /* mov cx, [esp] */
	check_op(in, INSN_MOV, 2, 2);
	check_reg(in.opnd[0], CX, false, 2);
	check_mem(in.opnd[1], SEG_SS, SP, NONE, 0, 32, 2);
	in = DECODE(true, 0x88, 0xd8);              /* mov al, bl */
	check_op(in, INSN_MOV, 1, 2);
	in = DECODE(true, 0xc6, 0x07, 0x80);        /* mov byte [edi], 0x80 */
	check_op(in, INSN_MOV, 1, 2);
	check_imm(in.opnd[1], 0x80, 1);
	/* mov dword [eax+ecx*4], 0x12345678 */
	in = DECODE(true, 0xc7, 0x04, 0x88, 0x78, 0x56, 0x34, 0x12);
	check_op(in, INSN_MOV, 4, 2);
	check_mem(in.opnd[0], SEG_DS, AX, CX, 0, 32, 4);
	cr_assert_eq(in.opnd[0].mem.scale, 4);
	check_imm(in.opnd[1], 0x12345678, 4);
}

Test(decode_data, mov_moffs)
{
	struct insn in;

	in = DECODE(true, 0xa1, 0x00, 0xf0, 0xbf, 0xfe); /* mov eax, [moffs] */
	check_op(in, INSN_MOV, 4, 2);
	check_reg(in.opnd[0], AX, false, 4);
	check_mem(in.opnd[1], SEG_DS, NONE, NONE, 0xfebff000, 32, 4);
	in = DECODE(true, 0x64, 0xa2, 0x10, 0x00, 0x00, 0x00); /* fs: al */
	check_op(in, INSN_MOV, 1, 2);
	check_mem(in.opnd[0], SEG_FS, NONE, NONE, 0x10, 32, 1);
	check_reg(in.opnd[1], AX, false, 1);
	in = DECODE(false, 0xa3, 0x34, 0x12);       /* mov [0x1234], ax */
	check_op(in, INSN_MOV, 2, 2);
	check_mem(in.opnd[0], SEG_DS, NONE, NONE, 0x1234, 16, 2);
	check_reg(in.opnd[1], AX, false, 2);
}

Test(decode_data, movzx_movsx)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0xb6, 0x0b);        /* movzx ecx, byte [ebx] */
	check_op(in, INSN_MOVZX, 4, 2);
	check_reg(in.opnd[0], CX, false, 4);
	check_mem(in.opnd[1], SEG_DS, BX, NONE, 0, 32, 1);
	in = DECODE(true, 0x0f, 0xbf, 0x0b);        /* movsx ecx, word [ebx] */
	check_op(in, INSN_MOVSX, 4, 2);
	check_mem(in.opnd[1], SEG_DS, BX, NONE, 0, 32, 2);
	in = DECODE(false, 0x0f, 0xbe, 0x07);       /* movsx ax, byte [bx] */
	check_op(in, INSN_MOVSX, 2, 2);
	check_reg(in.opnd[0], AX, false, 2);
	check_mem(in.opnd[1], SEG_DS, BX, NONE, 0, 16, 1);
}

Test(decode_data, xchg_cmpxchg_xadd)
{
	struct insn in;

	in = DECODE(true, 0x87, 0x0b);              /* xchg [ebx], ecx */
	check_op(in, INSN_XCHG, 4, 2);
	check_mem(in.opnd[0], SEG_DS, BX, NONE, 0, 32, 4);
	check_reg(in.opnd[1], CX, false, 4);
	in = DECODE(true, 0xf0, 0x0f, 0xb1, 0x0b);  /* lock cmpxchg [ebx], ecx */
	check_op(in, INSN_CMPXCHG, 4, 2);           /* EAX is implicit */
	check_reg(in.opnd[1], CX, false, 4);
	in = DECODE(true, 0x0f, 0xc0, 0x2b);        /* xadd [ebx], ch */
	check_op(in, INSN_XADD, 1, 2);
	check_reg(in.opnd[1], 5, true, 1);
}

/* ADD..CMP in their r/m forms and the 80-83 group, in /digit order. */
Test(decode_data, alu_forms)
{
	static const enum insn_op ops[8] = {
		INSN_ADD, INSN_OR, INSN_ADC, INSN_SBB,
		INSN_AND, INSN_SUB, INSN_XOR, INSN_CMP,
	};

	for (unsigned i = 0; i < 8; i++) {
		uint8_t base = (uint8_t)(i * 8), modrm = (uint8_t)(i << 3 | 3);

		check_op(DECODE(true, base, 0x0b), ops[i], 1, 2);
		check_op(DECODE(true, base + 1, 0x0b), ops[i], 4, 2);
		check_op(DECODE(true, base + 2, 0x0b), ops[i], 1, 2);
		check_op(DECODE(true, base + 3, 0x0b), ops[i], 4, 2);
		check_op(DECODE(true, 0x80, modrm, 0x01), ops[i], 1, 2);
		check_op(DECODE(true, 0x81, modrm, 1, 0, 0, 0), ops[i], 4, 2);
		check_op(DECODE(true, 0x83, modrm, 0x01), ops[i], 4, 2);
	}
}

/* 83 /r ib: the imm8 is sign-extended to the operand size. */
Test(decode_data, imm8_sign_extended)
{
	struct insn in;

	in = DECODE(true, 0x83, 0x03, 0xff);        /* add dword [ebx], -1 */
	check_imm(in.opnd[1], 0xffffffff, 4);
	in = DECODE(true, 0x66, 0x83, 0x2b, 0x80);  /* sub word [ebx], -128 */
	check_imm(in.opnd[1], 0xff80, 2);
	in = DECODE(true, 0x83, 0x3b, 0x7f);        /* cmp dword [ebx], 127 */
	check_imm(in.opnd[1], 0x7f, 4);
	in = DECODE(true, 0x80, 0x03, 0xff);        /* add byte [ebx], 0xff */
	check_imm(in.opnd[1], 0xff, 1);
	/* An imm8 bit offset stays as it is. */
	in = DECODE(true, 0x0f, 0xba, 0x23, 0xff);  /* bt dword [ebx], 0xff */
	check_op(in, INSN_BT, 4, 2);
	check_imm(in.opnd[1], 0xff, 1);
}

Test(decode_data, test_inc_dec_not_neg)
{
	check_op(DECODE(true, 0x84, 0x03), INSN_TEST, 1, 2);
	check_op(DECODE(true, 0x85, 0x03), INSN_TEST, 4, 2);
	check_op(DECODE(true, 0xf6, 0x03, 0x01), INSN_TEST, 1, 2);
	check_op(DECODE(true, 0xf7, 0x03, 1, 0, 0, 0), INSN_TEST, 4, 2);
	check_op(DECODE(true, 0xfe, 0x03), INSN_INC, 1, 1);
	check_op(DECODE(true, 0xff, 0x0b), INSN_DEC, 4, 1);
	check_op(DECODE(true, 0xf6, 0x13), INSN_NOT, 1, 1);
	check_op(DECODE(false, 0xf7, 0x1f), INSN_NEG, 2, 1);
}

Test(decode_data, bit_tests)
{
	struct insn in;

	in = DECODE(true, 0x0f, 0xa3, 0x0b);        /* bt [ebx], ecx */
	check_op(in, INSN_BT, 4, 2);
	check_reg(in.opnd[1], CX, false, 4);
	check_op(DECODE(true, 0x0f, 0xab, 0x0b), INSN_BTS, 4, 2);
	check_op(DECODE(true, 0x0f, 0xb3, 0x0b), INSN_BTR, 4, 2);
	check_op(DECODE(true, 0x66, 0x0f, 0xbb, 0x0b), INSN_BTC, 2, 2);
	check_op(DECODE(true, 0x0f, 0xba, 0x2b, 3), INSN_BTS, 4, 2);
	check_op(DECODE(true, 0x0f, 0xba, 0x33, 3), INSN_BTR, 4, 2);
	check_op(DECODE(true, 0x0f, 0xba, 0x3b, 3), INSN_BTC, 4, 2);
}

Test(decode_data, string_moves)
{
	struct insn in;

	in = DECODE(true, 0xa4);
	check_op(in, INSN_MOVS, 1, 0);
	cr_assert_eq(in.rep, false);
	cr_assert_eq(in.addrsize, 32);
	in = DECODE(true, 0xf3, 0x66, 0xa5);        /* rep movsw */
	check_op(in, INSN_MOVS, 2, 0);
	cr_assert_eq(in.rep, true);
	in = DECODE(true, 0x26, 0xa5);              /* movsd, source es: */
	check_op(in, INSN_MOVS, 4, 0);
	cr_assert_eq(in.seg_override, SEG_ES);
	in = DECODE(false, 0xf3, 0xab);             /* rep stosw, 16-bit */
	check_op(in, INSN_STOS, 2, 0);
	cr_assert_eq(in.rep, true);
	cr_assert_eq(in.addrsize, 16);
	in = DECODE(true, 0xf2, 0x67, 0xaa);        /* F2 acts as REP */
	check_op(in, INSN_STOS, 1, 0);
	cr_assert_eq(in.rep, true);
	cr_assert_eq(in.addrsize, 16);
}

/* Forms that cannot touch memory (and look-alikes) are not ours. */
Test(decode_data, not_ours)
{
	cr_assert_eq(DECODE(true, 0xb8, 1, 2, 3, 4).op, INSN_OTHER);  /* mov eax, imm */
	cr_assert_eq(DECODE(true, 0x04, 0x01).op, INSN_OTHER);  /* add al, 1 */
	cr_assert_eq(DECODE(true, 0x3d, 1, 0, 0, 0).op, INSN_OTHER);
	cr_assert_eq(DECODE(true, 0xa8, 0x01).op, INSN_OTHER);  /* test al, 1 */
	cr_assert_eq(DECODE(true, 0x40).op, INSN_OTHER);        /* inc eax */
	cr_assert_eq(DECODE(true, 0x91).op, INSN_OTHER);        /* xchg ecx, eax */
	cr_assert_eq(DECODE(true, 0xac).op, INSN_OTHER);        /* lodsb */
	cr_assert_eq(DECODE(true, 0xa6).op, INSN_OTHER);        /* cmpsb */
	/* SSE2 movsd shares the mnemonic with the string move. */
	cr_assert_eq(DECODE(true, 0xf2, 0x0f, 0x10, 0xc1).op, INSN_OTHER);
	/* IMUL, SHL: memory-capable, but not (yet) emulated. */
	cr_assert_eq(DECODE(true, 0x0f, 0xaf, 0x03).op, INSN_OTHER);
	cr_assert_eq(DECODE(true, 0xd1, 0x23).op, INSN_OTHER);
}

/* LOCK on a form that cannot take it is #UD: it does not decode. */
Test(decode_data, lock_needs_memory_destination)
{
	const uint8_t lock_mov[] = { 0xf0, 0x89, 0x03 };
	const uint8_t lock_add_reg[] = { 0xf0, 0x01, 0xc0 };
	struct insn in;

	cr_assert_eq(scan_decode(lock_mov, sizeof(lock_mov), true, &in), -1);
	cr_assert_eq(scan_decode(lock_add_reg, sizeof(lock_add_reg), true,
	                         &in), -1);
	check_op(DECODE(true, 0xf0, 0x01, 0x03), INSN_ADD, 4, 2);
}
