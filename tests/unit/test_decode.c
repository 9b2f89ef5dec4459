/*
 * test_decode.c — unit tests of the Zydis adapter (scan/decode.c).
 *
 * Each test decodes a hand-assembled byte string and checks every field of
 * `struct insn` the monitor relies on; the expected values come from the
 * SDM's encodings, not from Zydis.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "scan/decode.h"
#include "tests/unit/decode_helpers.h"


static void check_io(struct insn in, enum insn_op op, unsigned opsize,
                     bool dx, uint8_t imm8)
{
	cr_assert_eq(in.op, op);
	cr_assert_eq(in.opsize, opsize, "opsize %u, expected %u", in.opsize,
	             opsize);
	cr_assert_eq(in.port_in_dx, dx);
	cr_assert_eq(in.imm8, imm8);
	cr_assert_eq(in.rep, false);
	cr_assert_eq(in.seg_override, -1);
}

static void check_string(struct insn in, enum insn_op op, unsigned opsize,
                         unsigned addrsize, bool rep, int seg)
{
	cr_assert_eq(in.op, op);
	cr_assert_eq(in.opsize, opsize, "opsize %u, expected %u", in.opsize,
	             opsize);
	cr_assert_eq(in.addrsize, addrsize);
	cr_assert_eq(in.rep, rep);
	cr_assert_eq(in.seg_override, seg, "seg %d, expected %d",
	             in.seg_override, seg);
}

Test(decode, in_imm8)
{
	check_io(DECODE(true, 0xe4, 0x80), INSN_IN, 1, false, 0x80);
	check_io(DECODE(true, 0xe5, 0x71), INSN_IN, 4, false, 0x71);
	check_io(DECODE(true, 0x66, 0xe5, 0x42), INSN_IN, 2, false, 0x42);
}

Test(decode, in_dx)
{
	check_io(DECODE(true, 0xec), INSN_IN, 1, true, 0);
	check_io(DECODE(true, 0xed), INSN_IN, 4, true, 0);
	check_io(DECODE(true, 0x66, 0xed), INSN_IN, 2, true, 0);
}

Test(decode, out_imm8)
{
	check_io(DECODE(true, 0xe6, 0x80), INSN_OUT, 1, false, 0x80);
	check_io(DECODE(true, 0xe7, 0xf4), INSN_OUT, 4, false, 0xf4);
	check_io(DECODE(true, 0x66, 0xe7, 0x70), INSN_OUT, 2, false, 0x70);
}

Test(decode, out_dx)
{
	check_io(DECODE(true, 0xee), INSN_OUT, 1, true, 0);
	check_io(DECODE(true, 0xef), INSN_OUT, 4, true, 0);
	check_io(DECODE(true, 0x66, 0xef), INSN_OUT, 2, true, 0);
}

Test(decode, ins)
{
	check_string(DECODE(true, 0x6c), INSN_INS, 1, 32, false, -1);
	check_string(DECODE(true, 0x6d), INSN_INS, 4, 32, false, -1);
	check_string(DECODE(true, 0x66, 0x6d), INSN_INS, 2, 32, false, -1);
	check_string(DECODE(true, 0xf3, 0x6d), INSN_INS, 4, 32, true, -1);
}

Test(decode, f2_is_rep_on_ins)
{
	check_string(DECODE(true, 0xf2, 0x6c), INSN_INS, 1, 32, true, -1);
}

Test(decode, outs)
{
	check_string(DECODE(true, 0x6e), INSN_OUTS, 1, 32, false, -1);
	check_string(DECODE(true, 0xf3, 0x6e), INSN_OUTS, 1, 32, true, -1);
	check_string(DECODE(true, 0x66, 0xf3, 0x6f), INSN_OUTS, 2, 32, true,
	             -1);
}

Test(decode, addrsize_prefix)
{
	check_string(DECODE(true, 0x67, 0xf3, 0x6f), INSN_OUTS, 4, 16, true,
	             -1);
	check_string(DECODE(false, 0x67, 0x6c), INSN_INS, 1, 32, false, -1);
}

Test(decode, segment_override_on_outs)
{
	check_string(DECODE(true, 0x2e, 0x6e), INSN_OUTS, 1, 32, false,
	             SEG_CS);
	check_string(DECODE(true, 0x64, 0xf3, 0x6f), INSN_OUTS, 4, 32, true,
	             SEG_FS);
	check_string(DECODE(true, 0x26, 0x6e), INSN_OUTS, 1, 32, false,
	             SEG_ES);
	check_string(DECODE(true, 0x65, 0x6e), INSN_OUTS, 1, 32, false,
	             SEG_GS);
	check_string(DECODE(true, 0x36, 0x6e), INSN_OUTS, 1, 32, false,
	             SEG_SS);
	check_string(DECODE(true, 0x3e, 0x6e), INSN_OUTS, 1, 32, false,
	             SEG_DS);
}

Test(decode, last_segment_prefix_wins)
{
	check_string(DECODE(true, 0x26, 0x64, 0x6e), INSN_OUTS, 1, 32, false,
	             SEG_FS);
}

Test(decode, system)
{
	cr_assert_eq(DECODE(true, 0xfa).op, INSN_CLI);
	cr_assert_eq(DECODE(true, 0xfb).op, INSN_STI);
	cr_assert_eq(DECODE(true, 0xf4).op, INSN_HLT);
	cr_assert_eq(DECODE(false, 0xf4).op, INSN_HLT);
}

Test(decode, other_has_length)
{
	/* 0F AF /r: IMUL r32, m32 (disp32 form), 7 bytes: not one of ours. */
	struct insn in = DECODE(true, 0x0f, 0xaf, 0x05, 0x00, 0x10, 0x00, 0x00);

	cr_assert_eq(in.op, INSN_OTHER);
	cr_assert_eq(in.nopnd, 0);
	/* 8D /r: LEA r32, m with disp32: 6 bytes. */
	in = DECODE(true, 0x8d, 0x05, 0x78, 0x56, 0x34, 0x12);
	cr_assert_eq(in.op, INSN_OTHER);
	/* B8 id: MOV EAX, imm32; the same bytes are 3 long in 16-bit code. */
	in = DECODE(false, 0xb8, 0x34, 0x12);
	cr_assert_eq(in.op, INSN_OTHER);
}

Test(decode, other_ignores_trailing_bytes)
{
	const uint8_t b[] = { 0x90, 0xe6, 0x80 };
	struct insn in;

	cr_assert_eq(scan_decode(b, sizeof(b), true, &in), 0);
	cr_assert_eq(in.op, INSN_OTHER);
	cr_assert_eq(in.len, 1);
}

Test(decode, invalid)
{
	const uint8_t b[] = { 0xff, 0xff, 0x00, 0x00 };
	struct insn in;

	cr_assert_eq(scan_decode(b, sizeof(b), true, &in), -1);
}

Test(decode, truncated)
{
	const uint8_t in_imm[] = { 0xe4 };
	const uint8_t lgdt[] = { 0x0f, 0x01, 0x15, 0x00, 0x10, 0x00 };
	const uint8_t prefix_only[] = { 0x66, 0xf3 };
	struct insn in;

	cr_assert_eq(scan_decode(in_imm, sizeof(in_imm), true, &in), -1);
	cr_assert_eq(scan_decode(lgdt, sizeof(lgdt), true, &in), -1);
	cr_assert_eq(scan_decode(prefix_only, sizeof(prefix_only), true, &in),
	             -1);
	cr_assert_eq(scan_decode(lgdt, 0, true, &in), -1);
}

Test(decode, code16_flips_sizes)
{
	check_io(DECODE(false, 0xed), INSN_IN, 2, true, 0);
	check_io(DECODE(false, 0x66, 0xed), INSN_IN, 4, true, 0);
	check_io(DECODE(false, 0xe7, 0x80), INSN_OUT, 2, false, 0x80);
	check_io(DECODE(false, 0xe4, 0x80), INSN_IN, 1, false, 0x80);
	check_string(DECODE(false, 0x6d), INSN_INS, 2, 16, false, -1);
	check_string(DECODE(false, 0x66, 0x6d), INSN_INS, 4, 16, false, -1);
	check_string(DECODE(false, 0xf3, 0x6f), INSN_OUTS, 2, 16, true, -1);
}

Test(format, intel_text)
{
	char t[64];

	scan_format((const uint8_t[]){ 0xe6, 0x80 }, 2, true, 0, t, sizeof(t));
	cr_assert_str_eq(t, "out 0x80, al");
	scan_format((const uint8_t[]){ 0xf3, 0x6e }, 2, true, 0, t, sizeof(t));
	cr_assert_str_eq(t, "rep outsb");
	scan_format((const uint8_t[]){ 0x66, 0xed }, 2, false, 0, t, sizeof(t));
	cr_assert_str_eq(t, "in eax, dx");
}

Test(format, runtime_address_is_eip)
{
	char t[64];

	/* EB cb: JMP rel8; -2 jumps to itself. */
	scan_format((const uint8_t[]){ 0xeb, 0xfe }, 2, true, 0x1234, t,
	            sizeof(t));
	cr_assert(strstr(t, "jmp") && strstr(t, "1234"), "got \"%s\"", t);
}

Test(format, bad_and_truncated)
{
	char t[64];

	scan_format((const uint8_t[]){ 0xff, 0xff }, 2, true, 0, t, sizeof(t));
	cr_assert_str_eq(t, "(bad)");
	scan_format((const uint8_t[]){ 0xe6 }, 1, true, 0, t, sizeof(t));
	cr_assert_str_eq(t, "(bad)");
}

Test(format, small_buffer_is_terminated)
{
	char t[8];

	memset(t, 'x', sizeof(t));
	scan_format((const uint8_t[]){ 0xe6, 0x80 }, 2, true, 0, t, 5);
	cr_assert_str_eq(t, "out ");
	cr_assert_eq(t[5], 'x');
}

/* scan_decode remembers recent results: they must never leak into a
 * decode of other bytes, another mode or a shorter buffer. */

Test(memo, same_bytes_other_mode)
{
	check_io(DECODE(true, 0xed), INSN_IN, 4, true, 0);
	check_io(DECODE(false, 0xed), INSN_IN, 2, true, 0);
	check_io(DECODE(true, 0xed), INSN_IN, 4, true, 0);
}

Test(memo, same_start_other_bytes)
{
	check_io(DECODE(true, 0x66, 0xe5, 0x40), INSN_IN, 2, false, 0x40);
	check_io(DECODE(true, 0x66, 0xe5, 0x41), INSN_IN, 2, false, 0x41);
	check_string(DECODE(true, 0x64, 0xf3, 0x6e), INSN_OUTS, 1, 32, true,
	             SEG_FS);
	check_string(DECODE(true, 0x64, 0xf3, 0x6f), INSN_OUTS, 4, 32, true,
	             SEG_FS);
}

Test(memo, cut_short_after_a_hit)
{
	const uint8_t b[] = { 0xe6, 0x80 };
	struct insn in;

	cr_assert_eq(scan_decode(b, 2, true, &in), 0);
	cr_assert_eq(scan_decode(b, 2, true, &in), 0);
	cr_assert_eq(in.len, 2);
	cr_assert_eq(scan_decode(b, 1, true, &in), -1);
}

Test(memo, same_start_cut_short)
{
	const uint8_t b[] = { 0x66, 0xe5, 0x40 };
	struct insn in;

	cr_assert_eq(scan_decode(b, 3, true, &in), 0);
	cr_assert_eq(scan_decode(b, 2, true, &in), -1);
}

Test(memo, repeated_decode_is_identical)
{
	const uint8_t b[] = { 0x2e, 0x67, 0xf3, 0x66, 0x6f, 0x90 };
	struct insn first, again;

	cr_assert_eq(scan_decode(b, sizeof(b), true, &first), 0);
	for (int i = 0; i < 3; i++) {
		memset(&again, 0x5a, sizeof(again));
		cr_assert_eq(scan_decode(b, sizeof(b), true, &again), 0);
		cr_assert_eq(again.op, first.op);
		cr_assert_eq(again.len, first.len);
		cr_assert_eq(again.opsize, first.opsize);
		cr_assert_eq(again.addrsize, first.addrsize);
		cr_assert_eq(again.rep, first.rep);
		cr_assert_eq(again.seg_override, first.seg_override);
		cr_assert_eq(again.port_in_dx, first.port_in_dx);
		cr_assert_eq(again.imm8, first.imm8);
		cr_assert_arr_eq(again.bytes, first.bytes, first.len);
	}
	check_string(first, INSN_OUTS, 2, 16, true, SEG_CS);
	cr_assert_eq(first.len, 5);
}
