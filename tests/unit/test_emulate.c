/*
 * test_emulate.c — unit tests of the instruction emulator (vmm/emulate.c).
 *
 * The guest here is a fake machine: 64 KiB of memory at linear address 0
 * (accesses at or beyond `limit` fault, so a test can make the end of
 * memory anywhere below 64 KiB) and a port space that logs every access
 * and answers reads from a script.  Each test places an instruction at
 * CS:EIP, sets registers, steps once and checks registers, memory and
 * the port log.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/emulate.h"

#define MEM_SIZE 0x10000u
#define MAX_LOG 64

struct io_rec {
	bool out;
	uint16_t port;
	unsigned size;
	uint32_t value;
};

struct fake {
	uint8_t mem[MEM_SIZE];
	uint32_t limit;               /* first faulting linear address */
	struct io_rec log[MAX_LOG];
	unsigned nlog;
	uint32_t in_value;            /* what the next IN returns ... */
	uint32_t in_step;             /* ... and how it changes after */
};

static struct fake F;
static struct emu_cpu C;

static bool mapped(uint32_t lin, unsigned len)
{
	return (uint64_t)lin + len <= F.limit;
}

static int fake_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if (!mapped(lin, len))
		return -1;
	memcpy(dst, F.mem + lin, len);
	return 0;
}

static int fake_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if (!mapped(lin, len))
		return -1;
	memcpy(F.mem + lin, src, len);
	return 0;
}

static void log_io(bool out, uint16_t port, unsigned size, uint32_t value)
{
	cr_assert_lt(F.nlog, MAX_LOG);
	F.log[F.nlog++] = (struct io_rec){ out, port, size, value };
}

/* Returns all 32 bits whatever the size: the emulator must mask. */
static uint32_t fake_in(void *ctx, uint16_t port, unsigned size)
{
	uint32_t v = F.in_value;

	cr_assert_eq(ctx, &F);
	log_io(false, port, size, v);
	F.in_value += F.in_step;
	return v;
}

static void fake_out(void *ctx, uint16_t port, unsigned size, uint32_t value)
{
	cr_assert_eq(ctx, &F);
	log_io(true, port, size, value);
}

static const struct emu_ops ops = {
	.read = fake_read, .write = fake_write, .in = fake_in, .out = fake_out,
};

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	F.limit = MEM_SIZE;
	F.in_value = 0xcafebabe;
	memset(&C, 0, sizeof(C));
	C.code32 = true;
	C.eip = 0x100;
	C.eflags = 0x2;
}

TestSuite(emu, .init = setup);

/* Place bytes at CS:EIP. */
#define CODE(...) place((const uint8_t[]){ __VA_ARGS__ }, \
                        sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void place(const uint8_t *b, size_t n)
{
	memcpy(F.mem + C.seg_base[SEG_CS] + C.eip, b, n);
}

static enum emu_status step(struct insn *in)
{
	return emu_step(&C, &ops, &F, in);
}

/* Steps and expects EMU_OK with EIP advanced by len. */
static void step_ok(unsigned len)
{
	uint32_t eip = C.eip;
	struct insn in;

	cr_assert_eq(step(&in), EMU_OK);
	cr_assert_eq(in.len, len);
	cr_assert_eq(C.eip, eip + len, "EIP 0x%x, expected 0x%x", C.eip,
	             eip + len);
}

static void check_io(unsigned i, bool out, uint16_t port, unsigned size,
                     uint32_t value)
{
	cr_assert_gt(F.nlog, i, "only %u port accesses", F.nlog);
	cr_assert_eq(F.log[i].out, out, "access %u direction", i);
	cr_assert_eq(F.log[i].port, port, "access %u port 0x%x", i,
	             F.log[i].port);
	cr_assert_eq(F.log[i].size, size, "access %u size %u", i,
	             F.log[i].size);
	cr_assert_eq(F.log[i].value, value, "access %u value 0x%x", i,
	             F.log[i].value);
}

static uint32_t mem32(uint32_t lin)
{
	uint32_t v;

	memcpy(&v, F.mem + lin, 4);
	return v;
}

/* ---- IN ---- */

Test(emu, in_al_imm8_preserves_upper)
{
	C.gpr[R_EAX] = 0x12345678;
	CODE(0xe4, 0x80);                       /* in al, 0x80 */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0x123456be);
	cr_assert_eq(F.nlog, 1);
	check_io(0, false, 0x80, 1, 0xcafebabe);
}

Test(emu, in_ax_imm8_preserves_upper)
{
	C.gpr[R_EAX] = 0x12345678;
	CODE(0x66, 0xe5, 0x71);                 /* in ax, 0x71 */
	step_ok(3);
	cr_assert_eq(C.gpr[R_EAX], 0x1234babe);
	check_io(0, false, 0x71, 2, 0xcafebabe);
}

Test(emu, in_eax_imm8)
{
	C.gpr[R_EAX] = 0x12345678;
	CODE(0xe5, 0xff);                       /* in eax, 0xff */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0xcafebabe);
	check_io(0, false, 0xff, 4, 0xcafebabe);
}

Test(emu, in_dx_all_sizes)
{
	C.gpr[R_EDX] = 0xabcd03f8;              /* only DX is the port */
	C.gpr[R_EAX] = 0x11223344;
	CODE(0xec);                             /* in al, dx */
	step_ok(1);
	cr_assert_eq(C.gpr[R_EAX], 0x112233be);
	CODE(0x66, 0xed);                       /* in ax, dx */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0x1122babe);
	CODE(0xed);                             /* in eax, dx */
	step_ok(1);
	cr_assert_eq(C.gpr[R_EAX], 0xcafebabe);
	cr_assert_eq(F.nlog, 3);
	check_io(0, false, 0x3f8, 1, 0xcafebabe);
	check_io(1, false, 0x3f8, 2, 0xcafebabe);
	check_io(2, false, 0x3f8, 4, 0xcafebabe);
	cr_assert_eq(C.gpr[R_EDX], 0xabcd03f8);
}

/* ---- OUT ---- */

Test(emu, out_imm8_all_sizes)
{
	C.gpr[R_EAX] = 0xdeadbeef;
	CODE(0xe6, 0x80);                       /* out 0x80, al */
	step_ok(2);
	CODE(0x66, 0xe7, 0x70);                 /* out 0x70, ax */
	step_ok(3);
	CODE(0xe7, 0xe9);                       /* out 0xe9, eax */
	step_ok(2);
	cr_assert_eq(F.nlog, 3);
	check_io(0, true, 0x80, 1, 0xef);
	check_io(1, true, 0x70, 2, 0xbeef);
	check_io(2, true, 0xe9, 4, 0xdeadbeef);
	cr_assert_eq(C.gpr[R_EAX], 0xdeadbeef);
}

Test(emu, out_dx_all_sizes)
{
	C.gpr[R_EAX] = 0x01020304;
	C.gpr[R_EDX] = 0xffff0cf8;
	CODE(0xee);                             /* out dx, al */
	step_ok(1);
	CODE(0x66, 0xef);                       /* out dx, ax */
	step_ok(2);
	CODE(0xef);                             /* out dx, eax */
	step_ok(1);
	cr_assert_eq(F.nlog, 3);
	check_io(0, true, 0xcf8, 1, 0x04);
	check_io(1, true, 0xcf8, 2, 0x0304);
	check_io(2, true, 0xcf8, 4, 0x01020304);
}

Test(emu, code16_io_sizes_flip)
{
	C.code32 = false;
	C.gpr[R_EAX] = 0x12345678;
	C.gpr[R_EDX] = 0x60;
	CODE(0xed);                             /* in ax, dx (code16) */
	step_ok(1);
	cr_assert_eq(C.gpr[R_EAX], 0x1234babe);
	CODE(0x66, 0xef);                       /* out dx, eax (code16) */
	step_ok(2);
	check_io(0, false, 0x60, 2, 0xcafebabe);
	check_io(1, true, 0x60, 4, 0x1234babe);
}

/* ---- INS ---- */

Test(emu, insb_df0)
{
	C.seg_base[SEG_ES] = 0x1000;
	C.seg_base[SEG_DS] = 0x5000;            /* must not be used */
	C.gpr[R_EDI] = 0x20;
	C.gpr[R_EDX] = 0x3f8;
	C.gpr[R_ECX] = 7;
	CODE(0x6c);                             /* insb */
	step_ok(1);
	cr_assert_eq(F.mem[0x1020], 0xbe);
	cr_assert_eq(F.mem[0x1021], 0);
	cr_assert_eq(C.gpr[R_EDI], 0x21);
	cr_assert_eq(C.gpr[R_ECX], 7, "no REP: ECX untouched");
	cr_assert_eq(F.nlog, 1);
	check_io(0, false, 0x3f8, 1, 0xcafebabe);
}

Test(emu, insw_df1)
{
	C.eflags |= EFLAGS_DF;
	C.gpr[R_EDI] = 0x2000;
	C.gpr[R_EDX] = 0x1f0;
	CODE(0x66, 0x6d);                       /* insw */
	step_ok(2);
	cr_assert_eq(F.mem[0x2000], 0xbe);
	cr_assert_eq(F.mem[0x2001], 0xba);
	cr_assert_eq(F.mem[0x2002], 0);
	cr_assert_eq(C.gpr[R_EDI], 0x1ffe);
}

Test(emu, insd_ignores_segment_prefix)
{
	C.seg_base[SEG_ES] = 0x3000;
	C.seg_base[SEG_CS] = 0x0;
	C.seg_base[SEG_FS] = 0x6000;
	C.gpr[R_EDI] = 0x10;
	CODE(0x64, 0x6d);                       /* fs insd: still ES */
	step_ok(2);
	cr_assert_eq(mem32(0x3010), 0xcafebabe);
	cr_assert_eq(mem32(0x6010), 0);
	cr_assert_eq(C.gpr[R_EDI], 0x14);
}

Test(emu, rep_insb_df0)
{
	F.in_value = 0x11;
	F.in_step = 0x11;
	C.gpr[R_EDI] = 0x4000;
	C.gpr[R_ECX] = 4;
	C.gpr[R_EDX] = 0x60;
	CODE(0xf3, 0x6c);                       /* rep insb */
	step_ok(2);
	cr_assert_eq(mem32(0x4000), 0x44332211);
	cr_assert_eq(F.mem[0x4004], 0);
	cr_assert_eq(C.gpr[R_EDI], 0x4004);
	cr_assert_eq(C.gpr[R_ECX], 0);
	cr_assert_eq(F.nlog, 4);
}

Test(emu, rep_insd_df1)
{
	F.in_value = 1;
	F.in_step = 1;
	C.eflags |= EFLAGS_DF;
	C.gpr[R_EDI] = 0x4008;
	C.gpr[R_ECX] = 3;
	CODE(0xf3, 0x6d);                       /* rep insd */
	step_ok(2);
	cr_assert_eq(mem32(0x4008), 1);
	cr_assert_eq(mem32(0x4004), 2);
	cr_assert_eq(mem32(0x4000), 3);
	cr_assert_eq(C.gpr[R_EDI], 0x3ffc);
	cr_assert_eq(C.gpr[R_ECX], 0);
}

Test(emu, rep_with_ecx_zero_does_nothing)
{
	C.gpr[R_ECX] = 0;
	C.gpr[R_ESI] = 0x1234;
	C.gpr[R_EDI] = 0x5678;
	CODE(0xf3, 0x6e);                       /* rep outsb */
	step_ok(2);
	CODE(0xf3, 0x6d);                       /* rep insd */
	step_ok(2);
	cr_assert_eq(F.nlog, 0);
	cr_assert_eq(C.gpr[R_ESI], 0x1234);
	cr_assert_eq(C.gpr[R_EDI], 0x5678);
	cr_assert_eq(C.gpr[R_ECX], 0);
}

/* ---- OUTS ---- */

Test(emu, outsb_df0)
{
	C.seg_base[SEG_DS] = 0x2000;
	C.seg_base[SEG_ES] = 0x7000;            /* must not be used */
	C.gpr[R_ESI] = 0x40;
	C.gpr[R_EDX] = 0xe9;
	F.mem[0x2040] = 'h';
	CODE(0x6e);                             /* outsb */
	step_ok(1);
	check_io(0, true, 0xe9, 1, 'h');
	cr_assert_eq(C.gpr[R_ESI], 0x41);
}

Test(emu, outsw_df1)
{
	C.eflags |= EFLAGS_DF;
	C.gpr[R_ESI] = 0x3000;
	C.gpr[R_EDX] = 0x1f0;
	memcpy(F.mem + 0x3000, "\x34\x12\x78\x56", 4);
	CODE(0x66, 0x6f);                       /* outsw */
	step_ok(2);
	check_io(0, true, 0x1f0, 2, 0x1234);
	cr_assert_eq(C.gpr[R_ESI], 0x2ffe);
}

Test(emu, rep_outsd_df0)
{
	C.gpr[R_ESI] = 0x3000;
	C.gpr[R_ECX] = 2;
	C.gpr[R_EDX] = 0x1f0;
	memcpy(F.mem + 0x3000, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	CODE(0xf3, 0x6f);                       /* rep outsd */
	step_ok(2);
	cr_assert_eq(F.nlog, 2);
	check_io(0, true, 0x1f0, 4, 0x04030201);
	check_io(1, true, 0x1f0, 4, 0x08070605);
	cr_assert_eq(C.gpr[R_ESI], 0x3008);
	cr_assert_eq(C.gpr[R_ECX], 0);
}

Test(emu, rep_outsb_df1)
{
	C.eflags |= EFLAGS_DF;
	C.gpr[R_ESI] = 0x3002;
	C.gpr[R_ECX] = 3;
	C.gpr[R_EDX] = 0xe9;
	memcpy(F.mem + 0x3000, "abc", 3);
	CODE(0xf2, 0x6e);                       /* repne outsb: REP too */
	step_ok(2);
	cr_assert_eq(F.nlog, 3);
	check_io(0, true, 0xe9, 1, 'c');
	check_io(1, true, 0xe9, 1, 'b');
	check_io(2, true, 0xe9, 1, 'a');
	cr_assert_eq(C.gpr[R_ESI], 0x2fff);
	cr_assert_eq(C.gpr[R_ECX], 0);
}

Test(emu, outs_segment_override)
{
	C.seg_base[SEG_DS] = 0x1000;
	C.seg_base[SEG_CS] = 0x0;
	C.seg_base[SEG_ES] = 0x3000;
	C.seg_base[SEG_FS] = 0x4000;
	C.seg_base[SEG_GS] = 0x5000;
	C.seg_base[SEG_SS] = 0x6000;
	C.gpr[R_ESI] = 0x800;
	F.mem[0x1800] = 'd';
	F.mem[0x0800] = 'c';
	F.mem[0x3800] = 'e';
	F.mem[0x4800] = 'f';
	F.mem[0x5800] = 'g';
	F.mem[0x6800] = 's';
	const uint8_t prefix[] = { 0x3e, 0x2e, 0x26, 0x64, 0x65, 0x36 };
	const char expect[] = "dcefgs";
	for (unsigned i = 0; i < sizeof(prefix); i++) {
		C.gpr[R_ESI] = 0x800;
		place((const uint8_t[]){ prefix[i], 0x6e }, 2);
		step_ok(2);
		check_io(i, true, 0, 1, (uint8_t)expect[i]);
		cr_assert_eq(C.gpr[R_ESI], 0x801);
	}
}

Test(emu, rep_outs_with_override_and_nonzero_cs)
{
	C.seg_base[SEG_CS] = 0x8000;
	C.seg_base[SEG_FS] = 0x4000;
	C.eip = 0x10;
	C.gpr[R_ESI] = 0x20;
	C.gpr[R_ECX] = 2;
	memcpy(F.mem + 0x4020, "\x11\x22\x33\x44", 4);
	CODE(0x64, 0xf3, 0x66, 0x6f);           /* rep outsw fs:[esi] */
	cr_assert_eq(F.mem[0x8010], 0x64);
	step_ok(4);
	check_io(0, true, 0, 2, 0x2211);
	check_io(1, true, 0, 2, 0x4433);
	cr_assert_eq(C.eip, 0x14);
}

/* ---- 16-bit address size ---- */

Test(emu, addr16_outs_wraps_si_cx)
{
	C.gpr[R_ESI] = 0xabcdfffe;
	C.gpr[R_ECX] = 0x55550003;
	C.gpr[R_EDX] = 0xe9;
	F.mem[0xfffe] = 'x';
	F.mem[0xffff] = 'y';
	F.mem[0x0000] = 'z';
	C.eip = 0x200;
	CODE(0x67, 0xf3, 0x6e);                 /* rep outsb [si] */
	step_ok(3);
	cr_assert_eq(F.nlog, 3);
	check_io(0, true, 0xe9, 1, 'x');
	check_io(1, true, 0xe9, 1, 'y');
	check_io(2, true, 0xe9, 1, 'z');
	cr_assert_eq(C.gpr[R_ESI], 0xabcd0001);
	cr_assert_eq(C.gpr[R_ECX], 0x55550000);
}

Test(emu, addr16_ins_df1_wraps_di)
{
	C.code32 = false;                       /* default address size 16 */
	C.eflags |= EFLAGS_DF;
	C.gpr[R_EDI] = 0x77770001;
	C.gpr[R_ECX] = 0x88880003;
	F.in_value = 0xa1;
	F.in_step = 1;
	CODE(0xf3, 0x6c);                       /* rep insb [di] */
	step_ok(2);
	cr_assert_eq(F.mem[0x0001], 0xa1);
	cr_assert_eq(F.mem[0x0000], 0xa2);
	cr_assert_eq(F.mem[0xffff], 0xa3);
	cr_assert_eq(C.gpr[R_EDI], 0x7777fffe);
	cr_assert_eq(C.gpr[R_ECX], 0x88880000);
}

Test(emu, addr16_cx_zero_ignores_upper_ecx)
{
	C.gpr[R_ECX] = 0x00010000;              /* CX = 0 */
	C.gpr[R_ESI] = 0x100;
	CODE(0x67, 0xf3, 0x6e);
	step_ok(3);
	cr_assert_eq(F.nlog, 0);
	cr_assert_eq(C.gpr[R_ECX], 0x00010000);
	cr_assert_eq(C.gpr[R_ESI], 0x100);
}

Test(emu, addr32_in_code16)
{
	C.code32 = false;
	C.gpr[R_ESI] = 0x0000ffff;
	C.gpr[R_ECX] = 2;
	F.limit = MEM_SIZE;
	CODE(0x67, 0xf3, 0x6e);                 /* rep outsb [esi] */
	cr_assert_eq(step(NULL), EMU_FAULT);    /* 0x10000 is unmapped */
	cr_assert_eq(C.gpr[R_ESI], 0x10000, "ESI did not wrap at 16 bits");
	cr_assert_eq(C.gpr[R_ECX], 1);
}

/* ---- faults ---- */

Test(emu, fault_mid_rep_outs_is_restartable)
{
	C.gpr[R_ESI] = 0xfffe;
	C.gpr[R_ECX] = 5;
	F.mem[0xfffe] = 'a';
	F.mem[0xffff] = 'b';
	CODE(0xf3, 0x6e);
	struct insn in;
	cr_assert_eq(step(&in), EMU_FAULT);
	cr_assert_eq(in.op, INSN_OUTS);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(F.nlog, 2);
	cr_assert_eq(C.gpr[R_ESI], 0x10000);
	cr_assert_eq(C.gpr[R_ECX], 3);

	/* Still faulting: re-executing changes nothing. */
	cr_assert_eq(step(NULL), EMU_FAULT);
	cr_assert_eq(C.gpr[R_ESI], 0x10000);
	cr_assert_eq(C.gpr[R_ECX], 3);
	cr_assert_eq(F.nlog, 2);
}

Test(emu, fault_then_resume_completes)
{
	C.gpr[R_ESI] = 0x8ffe;
	C.gpr[R_ECX] = 4;
	C.gpr[R_EDX] = 0xe9;
	memcpy(F.mem + 0x8ffe, "wxyz", 4);
	F.limit = 0x9000;
	CODE(0xf3, 0x6e);
	cr_assert_eq(step(NULL), EMU_FAULT);
	cr_assert_eq(C.gpr[R_ESI], 0x9000);
	cr_assert_eq(C.gpr[R_ECX], 2);
	cr_assert_eq(C.eip, 0x100);
	F.limit = MEM_SIZE;                     /* the "page fault" resolved */
	step_ok(2);
	cr_assert_eq(F.nlog, 4);
	check_io(0, true, 0xe9, 1, 'w');
	check_io(1, true, 0xe9, 1, 'x');
	check_io(2, true, 0xe9, 1, 'y');
	check_io(3, true, 0xe9, 1, 'z');
	cr_assert_eq(C.gpr[R_ECX], 0);
	cr_assert_eq(C.gpr[R_ESI], 0x9002);
}

Test(emu, fault_mid_rep_ins)
{
	C.gpr[R_EDI] = 0x8ffc;
	C.gpr[R_ECX] = 3;
	F.limit = 0x9000;
	CODE(0xf3, 0x66, 0x6d);                 /* rep insw */
	cr_assert_eq(step(NULL), EMU_FAULT);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(C.gpr[R_EDI], 0x8ffe + 2);
	cr_assert_eq(C.gpr[R_ECX], 1);
	cr_assert_eq(F.mem[0x8ffc], 0xbe);
	cr_assert_eq(F.mem[0x8ffe], 0xbe);
}

Test(emu, fault_single_outs)
{
	C.gpr[R_ESI] = 0xffff;
	CODE(0x66, 0x6f);                       /* outsw across the end */
	cr_assert_eq(step(NULL), EMU_FAULT);
	cr_assert_eq(F.nlog, 0);
	cr_assert_eq(C.gpr[R_ESI], 0xffff);
	cr_assert_eq(C.eip, 0x100);
}

/* ---- CLI / STI / HLT ---- */

Test(emu, cli)
{
	C.eflags |= EFLAGS_IF;
	CODE(0xfa);
	step_ok(1);
	cr_assert_eq(C.eflags, 0x2);
}

Test(emu, sti_from_if0_sets_shadow)
{
	CODE(0xfb);
	step_ok(1);
	cr_assert(C.eflags & EFLAGS_IF);
	cr_assert(C.sti_shadow);
}

Test(emu, sti_from_if1_no_shadow)
{
	C.eflags |= EFLAGS_IF;
	CODE(0xfb);
	step_ok(1);
	cr_assert(C.eflags & EFLAGS_IF);
	cr_assert_not(C.sti_shadow);
}

Test(emu, hlt_retires)
{
	struct insn in;

	CODE(0xf4);
	cr_assert_eq(step(&in), EMU_HLT);
	cr_assert_eq(in.op, INSN_HLT);
	cr_assert_eq(C.eip, 0x101);
}

/* ---- unsupported, bad, fetch ---- */

/* Without ops->sys the system instructions stay unsupported. */
Test(emu, lgdt_unsupported_without_sys)
{
	const uint8_t lgdt[] = { 0x0f, 0x01, 0x15, 0x00, 0x10, 0x00, 0x00 };
	struct insn in;

	place(lgdt, sizeof(lgdt));
	C.gpr[R_EAX] = 0x1234;
	cr_assert_eq(step(&in), EMU_UNSUPPORTED);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(in.op, INSN_LGDT);
	cr_assert_eq(in.len, sizeof(lgdt));
	cr_assert_arr_eq(in.bytes, lgdt, sizeof(lgdt));
	cr_assert_eq(C.gpr[R_EAX], 0x1234);
	cr_assert_eq(F.nlog, 0);
}

/* Without ops->data a MOV to memory is not carried out: on a host #GP
 * the monitor reflects it instead (the emulator checks no limits). */
Test(emu, mov_unsupported_without_data)
{
	struct insn in;

	CODE(0x89, 0x18);                       /* mov [eax], ebx */
	C.gpr[R_EAX] = 0x200;
	C.gpr[R_EBX] = 0xdeadbeef;
	cr_assert_eq(step(&in), EMU_UNSUPPORTED);
	cr_assert_eq(in.op, INSN_MOV);
	cr_assert_eq(F.nlog, 0);
	cr_assert_eq(C.eip, 0x100);
}

Test(emu, imul_unsupported)
{
	struct insn in;

	CODE(0x0f, 0xaf, 0xc3);                 /* imul eax, ebx */
	C.gpr[R_EBX] = 5;
	cr_assert_eq(step(&in), EMU_UNSUPPORTED);
	cr_assert_eq(in.len, 3);
	cr_assert_eq(in.bytes[0], 0x0f);
	cr_assert_eq(in.bytes[2], 0xc3);
	cr_assert_eq(C.gpr[R_EAX], 0);
	cr_assert_eq(C.eip, 0x100);
}

Test(emu, fetch_failure_is_bad)
{
	struct insn in;

	C.eip = MEM_SIZE;
	memset(&in, 0x55, sizeof(in));
	cr_assert_eq(step(&in), EMU_BAD);
	cr_assert_eq(in.len, 0);
	cr_assert_eq(C.eip, MEM_SIZE);
}

Test(emu, invalid_bytes_are_bad)
{
	struct insn in;

	CODE(0xff, 0xff);
	cr_assert_eq(step(&in), EMU_BAD);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(in.len, 15, "all fetched bytes reported");
	cr_assert_eq(in.bytes[0], 0xff);
	cr_assert_eq(in.bytes[1], 0xff);
}

Test(emu, insn_ending_at_last_mapped_byte)
{
	C.eip = MEM_SIZE - 2;
	C.gpr[R_EAX] = 0x42;
	CODE(0xe6, 0x80);
	step_ok(2);
	check_io(0, true, 0x80, 1, 0x42);
	cr_assert_eq(C.eip, MEM_SIZE);
}

Test(emu, insn_cut_by_end_of_memory_is_bad)
{
	struct insn in;

	C.eip = MEM_SIZE - 1;
	CODE(0xe6);
	cr_assert_eq(step(&in), EMU_BAD);
	cr_assert_eq(in.len, 1);
	cr_assert_eq(F.nlog, 0);
	cr_assert_eq(C.eip, MEM_SIZE - 1);
}

Test(emu, code16_eip_wraps)
{
	C.code32 = false;
	C.eip = 0xfffe;
	CODE(0xe6, 0x80);
	cr_assert_eq(step(NULL), EMU_OK);
	cr_assert_eq(C.eip, 0);
}

Test(emu, cs_base_used_for_fetch)
{
	C.seg_base[SEG_CS] = 0x9000;
	C.eip = 0x10;
	F.mem[0x10] = 0xf4;                     /* HLT at linear EIP: wrong */
	CODE(0xfa);                             /* CLI at CS:EIP */
	C.eflags |= EFLAGS_IF;
	step_ok(1);
	cr_assert_not(C.eflags & EFLAGS_IF);
}
