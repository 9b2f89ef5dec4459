/*
 * test_emulate_data.c — unit tests of the emulator's data-moving and ALU
 * instructions (vmm/emulate_data.c) through emu_step.
 *
 * The guest is a fake machine: 64 KiB of memory at linear address 0
 * (accesses at or beyond `limit` fault; writes into [ro_lo, ro_hi)
 * fault, so a read-modify-write can fault on its write) that logs every
 * data access — direction, address, length, value — the way an MMIO bus
 * would see it.  The instruction fetch (one 15-byte read at CS:EIP) is
 * not logged.
 *
 * The flags oracle is the host CPU: the same operation, at the same
 * width, executed in inline asm on a few hundred operand pairs per op,
 * edge values included.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/emulate.h"

#define MEM_SIZE 0x10000u
#define MAX_LOG 32

#define F_CF 0x001u
#define F_PF 0x004u
#define F_AF 0x010u
#define F_ZF 0x040u
#define F_SF 0x080u
#define F_OF 0x800u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)
#define F_IOPL3 0x3000u

struct acc {
	bool write;
	uint32_t lin;
	unsigned len;
	uint32_t value;
};

struct fake {
	uint8_t mem[MEM_SIZE];
	uint32_t limit;               /* first faulting linear address */
	uint32_t ro_lo, ro_hi;        /* writes here fault */
	uint32_t fetch_lin;           /* CS:EIP of the step: not logged */
	struct acc log[MAX_LOG];
	unsigned nlog;                /* accesses, logged or not */
	uint32_t fault_lin;           /* where the last fault was */
};

static struct fake F;
static struct emu_cpu C;

static bool mapped(uint32_t lin, unsigned len)
{
	return (uint64_t)lin + len <= F.limit;
}

static void log_acc(bool write, uint32_t lin, const void *p, unsigned len)
{
	uint32_t v = 0;

	memcpy(&v, p, len);
	if (F.nlog < MAX_LOG)
		F.log[F.nlog] = (struct acc){ write, lin, len, v };
	F.nlog++;
}

static int fake_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if (lin == F.fetch_lin && len == 15)
		return mapped(lin, len) ? (memcpy(dst, F.mem + lin, len), 0) : -1;
	cr_assert(len == 1 || len == 2 || len == 4, "read of %u bytes", len);
	if (!mapped(lin, len)) {
		F.fault_lin = lin;
		return -1;
	}
	memcpy(dst, F.mem + lin, len);
	log_acc(false, lin, dst, len);
	return 0;
}

static int fake_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	cr_assert_eq(ctx, &F);
	cr_assert(len == 1 || len == 2 || len == 4, "write of %u bytes", len);
	if (!mapped(lin, len) || (lin + len > F.ro_lo && lin < F.ro_hi)) {
		F.fault_lin = lin;
		return -1;
	}
	log_acc(true, lin, src, len);
	memcpy(F.mem + lin, src, len);
	return 0;
}

static uint32_t no_in(void *ctx, uint16_t port, unsigned size)
{
	(void)ctx, (void)port, (void)size;
	cr_assert_fail("port read");
	return 0;
}

static void no_out(void *ctx, uint16_t port, unsigned size, uint32_t value)
{
	(void)ctx, (void)port, (void)size, (void)value;
	cr_assert_fail("port write");
}

/* No raise, no sys: data instructions need neither, only ops->data. */
static const struct emu_ops ops = {
	.read = fake_read, .write = fake_write, .in = no_in, .out = no_out,
	.data = true,
};

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	F.limit = MEM_SIZE;
	memset(&C, 0, sizeof(C));
	C.code32 = true;
	C.eip = 0x100;
	C.eflags = 0x2;
}

TestSuite(data, .init = setup);
TestSuite(oracle, .init = setup);

#define CODE(...) place((const uint8_t[]){ __VA_ARGS__ }, \
                        sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void place(const uint8_t *b, size_t n)
{
	memcpy(F.mem + C.seg_base[SEG_CS] + C.eip, b, n);
}

static enum emu_status step(void)
{
	F.nlog = 0;
	F.fetch_lin = C.seg_base[SEG_CS] + C.eip;
	return emu_step(&C, &ops, &F, NULL);
}

static void step_ok(unsigned len)
{
	uint32_t eip = C.eip;

	cr_assert_eq(step(), EMU_OK);
	cr_assert_eq(C.eip, eip + len, "EIP 0x%x, expected 0x%x", C.eip,
	             eip + len);
}

/* A fault must leave every register, EFLAGS and EIP as they were. */
static void step_fault(void)
{
	struct emu_cpu before = C;

	cr_assert_eq(step(), EMU_FAULT);
	cr_assert_arr_eq(C.gpr, before.gpr, sizeof(C.gpr));
	cr_assert_eq(C.eip, before.eip);
	cr_assert_eq(C.eflags, before.eflags);
}

static void check_acc(unsigned i, bool write, uint32_t lin, unsigned len,
                      uint32_t value)
{
	cr_assert_gt(F.nlog, i, "only %u accesses", F.nlog);
	cr_assert_eq(F.log[i].write, write, "access %u: %s", i,
	             F.log[i].write ? "write" : "read");
	cr_assert_eq(F.log[i].lin, lin, "access %u at 0x%x, expected 0x%x",
	             i, F.log[i].lin, lin);
	cr_assert_eq(F.log[i].len, len, "access %u of %u bytes", i,
	             F.log[i].len);
	cr_assert_eq(F.log[i].value, value, "access %u value 0x%x", i,
	             F.log[i].value);
}

static void check_nacc(unsigned n)
{
	cr_assert_eq(F.nlog, n, "%u accesses, expected %u", F.nlog, n);
}

static uint32_t mem32(uint32_t lin)
{
	uint32_t v;

	memcpy(&v, F.mem + lin, 4);
	return v;
}

static void set32(uint32_t lin, uint32_t v)
{
	memcpy(F.mem + lin, &v, 4);
}

/* ---- MOV: the MMIO access pattern ---- */

Test(data, mov_load_is_one_read_of_the_operand_size)
{
	set32(0xf000, 0xfeedface);
	C.gpr[R_EBX] = 0xf000;
	CODE(0x8b, 0x03);                         /* mov eax, [ebx] */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0xfeedface);
	check_nacc(1);
	check_acc(0, false, 0xf000, 4, 0xfeedface);

	C.gpr[R_ECX] = 0x11223344;
	CODE(0x66, 0x8b, 0x0b);                   /* mov cx, [ebx] */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0x1122face);
	check_nacc(1);
	check_acc(0, false, 0xf000, 2, 0xface);

	CODE(0x8a, 0x6b, 0x03);                   /* mov ch, [ebx+3] */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0x1122feceu);
	check_nacc(1);
	check_acc(0, false, 0xf003, 1, 0xfe);
}

Test(data, mov_store_is_one_write)
{
	C.gpr[R_EBX] = 0xf000;
	C.gpr[R_EAX] = 0x8899aabb;
	set32(0xf000, 0x01020304);
	CODE(0x89, 0x43, 0x04);                   /* mov [ebx+4], eax */
	step_ok(3);
	check_nacc(1);
	check_acc(0, true, 0xf004, 4, 0x8899aabb);
	CODE(0x88, 0x23);                         /* mov [ebx], ah */
	step_ok(2);
	check_nacc(1);
	check_acc(0, true, 0xf000, 1, 0xaa);
	cr_assert_eq(mem32(0xf000), 0x010203aa);
	CODE(0x66, 0xc7, 0x03, 0x34, 0x12);       /* mov word [ebx], 0x1234 */
	step_ok(5);
	check_nacc(1);
	check_acc(0, true, 0xf000, 2, 0x1234);
	cr_assert_eq(mem32(0xf000), 0x01021234);
	CODE(0xc6, 0x43, 0x01, 0x80);             /* mov byte [ebx+1], 0x80 */
	step_ok(4);
	check_acc(0, true, 0xf001, 1, 0x80);
	/* mov dword [ebx+ecx*4+8], 0xcafebabe */
	C.gpr[R_ECX] = 2;
	CODE(0xc7, 0x44, 0x8b, 0x08, 0xbe, 0xba, 0xfe, 0xca);
	step_ok(8);
	check_nacc(1);
	check_acc(0, true, 0xf010, 4, 0xcafebabe);
}

Test(data, mov_moffs_and_segment_override)
{
	C.seg_base[SEG_FS] = 0x4000;
	C.seg_base[SEG_DS] = 0x100;
	set32(0x4010, 0x55667788);
	CODE(0x64, 0xa1, 0x10, 0x00, 0x00, 0x00); /* mov eax, fs:[0x10] */
	step_ok(6);
	cr_assert_eq(C.gpr[R_EAX], 0x55667788);
	check_acc(0, false, 0x4010, 4, 0x55667788);
	CODE(0xa2, 0x00, 0x20, 0x00, 0x00);       /* mov [0x2000], al */
	step_ok(5);
	check_nacc(1);
	check_acc(0, true, 0x2100, 1, 0x88);
	C.seg_base[SEG_ES] = 0x6000;
	C.gpr[R_EBX] = 0x10;
	CODE(0x26, 0x89, 0x03);                   /* mov es:[ebx], eax */
	step_ok(3);
	check_acc(0, true, 0x6010, 4, 0x55667788);
}

Test(data, mov_between_registers_touches_no_memory)
{
	C.gpr[R_EBX] = 0x12345678;
	C.gpr[R_EAX] = 0xffffffff;
	CODE(0x88, 0xf8);                         /* mov al, bh */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0xffffff56);
	check_nacc(0);
}

Test(data, movzx_movsx)
{
	C.gpr[R_EBX] = 0x3000;
	set32(0x3000, 0x80f08182);
	C.gpr[R_ECX] = 0xdeadbeef;
	CODE(0x0f, 0xb6, 0x0b);                   /* movzx ecx, byte [ebx] */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0x82);
	check_nacc(1);
	check_acc(0, false, 0x3000, 1, 0x82);
	CODE(0x0f, 0xbe, 0x0b);                   /* movsx ecx, byte [ebx] */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0xffffff82);
	CODE(0x0f, 0xbf, 0x4b, 0x02);             /* movsx ecx, word [ebx+2] */
	step_ok(4);
	cr_assert_eq(C.gpr[R_ECX], 0xffff80f0);
	check_acc(0, false, 0x3002, 2, 0x80f0);
	CODE(0x0f, 0xb7, 0x4b, 0x02);             /* movzx ecx, word [ebx+2] */
	step_ok(4);
	cr_assert_eq(C.gpr[R_ECX], 0x80f0);
	C.gpr[R_ECX] = 0xdeadbeef;
	CODE(0x66, 0x0f, 0xbe, 0x0b);             /* movsx cx, byte [ebx] */
	step_ok(4);
	cr_assert_eq(C.gpr[R_ECX], 0xdeadff82);
}

/* ---- read-modify-write: one read, one write ---- */

Test(data, alu_rmw_is_one_read_then_one_write)
{
	uint32_t fl;

	C.gpr[R_EBX] = 0xf000;
	C.gpr[R_EAX] = 1;
	set32(0xf000, 0xffffffff);
	C.eflags = 0x2 | EFLAGS_IF | F_IOPL3 | EFLAGS_DF;
	CODE(0xf0, 0x01, 0x03);                   /* lock add [ebx], eax */
	step_ok(3);
	check_nacc(2);
	check_acc(0, false, 0xf000, 4, 0xffffffff);
	check_acc(1, true, 0xf000, 4, 0);
	fl = C.eflags;
	cr_assert_eq(fl & F_ARITH, F_CF | F_ZF | F_PF | F_AF, "flags 0x%x", fl);
	cr_assert_eq(fl & ~F_ARITH, 0x2 | EFLAGS_IF | F_IOPL3 | EFLAGS_DF);

	CODE(0x83, 0x6b, 0x02, 0x01);             /* sub dword [ebx+2], 1 */
	step_ok(4);
	check_nacc(2);
	check_acc(0, false, 0xf002, 4, 0);
	check_acc(1, true, 0xf002, 4, 0xffffffff);
	cr_assert_eq(C.eflags & F_ARITH, F_CF | F_SF | F_PF | F_AF);
}

Test(data, cmp_and_test_only_read)
{
	C.gpr[R_EBX] = 0xf000;
	set32(0xf000, 5);
	CODE(0x80, 0x3b, 0x05);                   /* cmp byte [ebx], 5 */
	step_ok(3);
	check_nacc(1);
	check_acc(0, false, 0xf000, 1, 5);
	cr_assert_eq(C.eflags & F_ARITH, F_ZF | F_PF);
	C.gpr[R_ECX] = 0x80000000;
	set32(0xf000, 0x80000001);
	CODE(0x85, 0x0b);                         /* test [ebx], ecx */
	step_ok(2);
	check_nacc(1);
	check_acc(0, false, 0xf000, 4, 0x80000001);
	cr_assert_eq(C.eflags & F_ARITH, F_SF | F_PF);
	CODE(0xf7, 0x03, 0x02, 0x00, 0x00, 0x00); /* test dword [ebx], 2 */
	step_ok(6);
	check_nacc(1);
	cr_assert_eq(C.eflags & F_ARITH, F_ZF | F_PF);
}

Test(data, alu_register_destination_from_memory)
{
	C.gpr[R_EBX] = 0x2000;
	set32(0x2000, 0x0f0f0f0f);
	C.gpr[R_EDX] = 0xff00ff00;
	CODE(0x0b, 0x13);                         /* or edx, [ebx] */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EDX], 0xff0fff0f);
	check_nacc(1);
	check_acc(0, false, 0x2000, 4, 0x0f0f0f0f);
	CODE(0x32, 0x33);                         /* xor dh, [ebx] */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EDX], 0xff0ff00f);
}

Test(data, inc_dec_keep_cf_not_neg)
{
	C.gpr[R_EBX] = 0x2000;
	set32(0x2000, 0x7fffffff);
	C.eflags = 0x2 | F_CF;
	CODE(0xff, 0x03);                         /* inc dword [ebx] */
	step_ok(2);
	cr_assert_eq(mem32(0x2000), 0x80000000);
	cr_assert_eq(C.eflags & F_ARITH, F_CF | F_OF | F_SF | F_AF | F_PF);
	check_nacc(2);
	CODE(0xfe, 0x0b);                         /* dec byte [ebx] */
	step_ok(2);
	cr_assert_eq(mem32(0x2000), 0x800000ff);
	cr_assert_eq(C.eflags & F_ARITH, F_CF | F_SF | F_AF | F_PF);
	C.eflags = 0x2 | F_ZF | F_OF;
	CODE(0xf7, 0x13);                         /* not dword [ebx] */
	step_ok(2);
	cr_assert_eq(mem32(0x2000), 0x7fffff00);
	cr_assert_eq(C.eflags, 0x2 | F_ZF | F_OF);  /* NOT: no flags */
	check_nacc(2);
	CODE(0x66, 0xf7, 0x1b);                   /* neg word [ebx] */
	step_ok(3);
	cr_assert_eq(mem32(0x2000), 0x7fff0100);
	cr_assert_eq(C.eflags & F_ARITH, F_CF | F_PF);
	check_acc(0, false, 0x2000, 2, 0xff00);
	check_acc(1, true, 0x2000, 2, 0x0100);
}

Test(data, xchg_memory)
{
	C.gpr[R_EBX] = 0x2000;
	C.gpr[R_ECX] = 0xaabbccdd;
	set32(0x2000, 0x11223344);
	CODE(0x87, 0x0b);                         /* xchg [ebx], ecx */
	step_ok(2);
	cr_assert_eq(C.gpr[R_ECX], 0x11223344);
	cr_assert_eq(mem32(0x2000), 0xaabbccdd);
	check_nacc(2);
	check_acc(0, false, 0x2000, 4, 0x11223344);
	check_acc(1, true, 0x2000, 4, 0xaabbccdd);
	CODE(0x86, 0x2b);                         /* xchg [ebx], ch */
	step_ok(2);
	cr_assert_eq(C.gpr[R_ECX], 0x1122dd44);
	cr_assert_eq(mem32(0x2000), 0xaabbcc33);
}

Test(data, xadd)
{
	C.gpr[R_EBX] = 0x2000;
	C.gpr[R_ECX] = 3;
	set32(0x2000, 0xfffffffe);
	CODE(0xf0, 0x0f, 0xc1, 0x0b);             /* lock xadd [ebx], ecx */
	step_ok(4);
	cr_assert_eq(C.gpr[R_ECX], 0xfffffffe);
	cr_assert_eq(mem32(0x2000), 1);
	cr_assert_eq(C.eflags & F_ARITH, F_CF | F_AF);
	check_nacc(2);
	check_acc(1, true, 0x2000, 4, 1);
	/* One register as both operands: the sum wins (SRC = DEST first). */
	C.gpr[R_EAX] = 5;
	CODE(0x0f, 0xc1, 0xc0);                   /* xadd eax, eax */
	step_ok(3);
	cr_assert_eq(C.gpr[R_EAX], 10);
}

Test(data, cmpxchg_equal_and_not)
{
	C.gpr[R_EBX] = 0x2000;
	C.gpr[R_ECX] = 0x99;
	C.gpr[R_EAX] = 0x1234;
	set32(0x2000, 0x1234);
	CODE(0xf0, 0x0f, 0xb1, 0x0b);             /* lock cmpxchg [ebx], ecx */
	step_ok(4);
	cr_assert_eq(mem32(0x2000), 0x99);
	cr_assert_eq(C.gpr[R_EAX], 0x1234);
	cr_assert(C.eflags & F_ZF);
	check_nacc(2);
	check_acc(0, false, 0x2000, 4, 0x1234);
	check_acc(1, true, 0x2000, 4, 0x99);
	/* Not equal: EAX gets memory, which is written back unchanged. */
	C.eip = 0x100;
	step_ok(4);
	cr_assert_eq(C.gpr[R_EAX], 0x99);
	cr_assert_eq(mem32(0x2000), 0x99);
	cr_assert_eq(C.eflags & F_ARITH, F_AF);   /* 0x1234 - 0x99 */
	check_nacc(2);
	check_acc(1, true, 0x2000, 4, 0x99);
	/* Byte form: AL is the accumulator, the rest of EAX stays. */
	C.gpr[R_EAX] = 0xabcd0099;
	C.gpr[R_EDX] = 0x7f;
	CODE(0x0f, 0xb0, 0x13);                   /* cmpxchg [ebx], dl */
	step_ok(3);
	cr_assert_eq(mem32(0x2000), 0x7f);
	cr_assert_eq(C.gpr[R_EAX], 0xabcd0099);
}

/* ---- bit tests ---- */

Test(data, bt_register_offset_addresses_beyond_the_operand)
{
	C.gpr[R_EBX] = 0x2000;
	set32(0x2008, 0x00000004);                /* bit 66 of [0x2000] */
	C.gpr[R_ECX] = 66;
	CODE(0x0f, 0xa3, 0x0b);                   /* bt [ebx], ecx */
	step_ok(3);
	cr_assert(C.eflags & F_CF);
	check_nacc(1);
	check_acc(0, false, 0x2008, 4, 4);
	C.gpr[R_ECX] = (uint32_t)-1;              /* bit 31 of [0x1ffc] */
	set32(0x1ffc, 0x40000000);
	CODE(0x0f, 0xab, 0x0b);                   /* bts [ebx], ecx */
	step_ok(3);
	cr_assert_eq(C.eflags & F_CF, 0);
	cr_assert_eq(mem32(0x1ffc), 0xc0000000);
	check_nacc(2);
	check_acc(0, false, 0x1ffc, 4, 0x40000000);
	check_acc(1, true, 0x1ffc, 4, 0xc0000000);
	/* 16-bit operand: the offset is a signed 16-bit value, in words. */
	C.gpr[R_ECX] = 0x1234ffef;                /* -17: bit 15 of [-4] */
	set32(0x1ffc, 0x00008000);
	CODE(0x66, 0x0f, 0xb3, 0x0b);             /* btr [ebx], cx */
	step_ok(4);
	cr_assert(C.eflags & F_CF);
	cr_assert_eq(mem32(0x1ffc), 0);
	check_acc(0, false, 0x1ffc, 2, 0x8000);
	check_acc(1, true, 0x1ffc, 2, 0);
}

Test(data, bt_immediate_and_register_operand_wrap)
{
	C.gpr[R_EBX] = 0x2000;
	set32(0x2000, 0x1);
	CODE(0x0f, 0xba, 0x3b, 0x20);             /* btc dword [ebx], 32 */
	step_ok(4);
	cr_assert(C.eflags & F_CF);               /* 32 mod 32 = bit 0 */
	cr_assert_eq(mem32(0x2000), 0);
	check_acc(0, false, 0x2000, 4, 1);
	C.gpr[R_EDX] = 0x10;
	C.gpr[R_ECX] = 36;
	CODE(0x0f, 0xab, 0xca);                   /* bts edx, ecx */
	step_ok(3);
	cr_assert_eq(C.gpr[R_EDX], 0x10);         /* bit 4, already set */
	cr_assert(C.eflags & F_CF);
	check_nacc(0);
}

Test(data, bt_changes_only_cf)
{
	C.gpr[R_EBX] = 0x2000;
	C.eflags = 0x2 | F_ZF | F_SF | F_OF | F_PF | F_AF | F_CF;
	CODE(0x0f, 0xba, 0x23, 0x05);             /* bt dword [ebx], 5 */
	step_ok(4);
	cr_assert_eq(C.eflags, 0x2 | F_ZF | F_SF | F_OF | F_PF | F_AF);
}

/* ---- faults ---- */

Test(data, read_fault_changes_nothing)
{
	F.limit = 0x8000;
	C.gpr[R_EBX] = 0x7ffe;                    /* 4 bytes cross the end */
	C.gpr[R_EAX] = 0x11111111;
	C.eflags = 0x2 | F_ZF;
	CODE(0x8b, 0x03);                         /* mov eax, [ebx] */
	step_fault();
	CODE(0x01, 0x03);                         /* add [ebx], eax */
	step_fault();
	CODE(0x03, 0x03);                         /* add eax, [ebx] */
	step_fault();
	CODE(0x0f, 0xc1, 0x03);                   /* xadd [ebx], eax */
	step_fault();
	CODE(0x0f, 0xb1, 0x0b);                   /* cmpxchg [ebx], ecx */
	step_fault();
	CODE(0x0f, 0xb6, 0x43, 0x02);             /* movzx eax, byte [ebx+2] */
	step_fault();
	check_nacc(0);
}

Test(data, write_fault_after_read_changes_nothing)
{
	F.ro_lo = 0x3000;
	F.ro_hi = 0x3100;
	set32(0x3000, 7);
	C.gpr[R_EBX] = 0x3000;
	C.gpr[R_EAX] = 0x12345678;
	C.gpr[R_ECX] = 0xcafe;
	C.eflags = 0x2 | F_ZF;
	CODE(0x01, 0x03);                         /* add [ebx], eax */
	step_fault();
	check_nacc(1);                            /* the read happened */
	check_acc(0, false, 0x3000, 4, 7);
	CODE(0x87, 0x0b);                         /* xchg [ebx], ecx */
	step_fault();
	CODE(0x0f, 0xc1, 0x0b);                   /* xadd [ebx], ecx */
	step_fault();
	CODE(0x0f, 0xb1, 0x0b);                   /* cmpxchg [ebx], ecx */
	step_fault();                             /* not equal: EAX kept */
	CODE(0xff, 0x03);                         /* inc dword [ebx] */
	step_fault();
	CODE(0x0f, 0xba, 0x2b, 0x01);             /* bts dword [ebx], 1 */
	step_fault();
	CODE(0x89, 0x03);                         /* mov [ebx], eax */
	step_fault();
	check_nacc(0);
	cr_assert_eq(mem32(0x3000), 7);
	/* CMP only reads: no fault. */
	CODE(0x39, 0x03);                         /* cmp [ebx], eax */
	step_ok(2);
}

/* ---- 16-bit code and addressing ---- */

Test(data, code16_addressing)
{
	C.code32 = false;
	C.seg_base[SEG_DS] = 0x3000;
	C.seg_base[SEG_SS] = 0x5000;
	C.gpr[R_EBX] = 0xabcd1000;                /* upper half ignored */
	C.gpr[R_ESI] = 0x20;
	set32(0x4024, 0xbeef1234);
	C.gpr[R_EAX] = 0xffffffff;
	CODE(0x8b, 0x40, 0x04);                   /* mov ax, [bx+si+4] */
	step_ok(3);
	cr_assert_eq(C.gpr[R_EAX], 0xffff1234);
	check_acc(0, false, 0x4024, 2, 0x1234);
	C.gpr[R_EBP] = 0x100;
	C.gpr[R_EDI] = 0x4;
	set32(0x5104, 0x10);
	CODE(0x00, 0x03);                         /* add [bp+di], al */
	step_ok(2);
	check_acc(0, false, 0x5104, 1, 0x10);
	check_acc(1, true, 0x5104, 1, 0x44);
	C.gpr[R_EBX] = 0xfff0;                    /* bx+si wraps to 0x10 */
	CODE(0x66, 0x89, 0x00);                   /* mov [bx+si], eax */
	step_ok(3);
	check_acc(0, true, 0x3010, 4, 0xffff1234);
	C.gpr[R_EBX] = 0xfff0;                    /* a32: no wrap */
	CODE(0x67, 0x8a, 0x43, 0x20);             /* a32 mov al, [ebx+0x20] */
	cr_assert_eq(step(), EMU_FAULT);
	cr_assert_eq(F.fault_lin, 0x3000 + 0x10010);
	CODE(0x8a, 0x47, 0x20);                   /* mov al, [bx+0x20] */
	step_ok(3);
	check_acc(0, false, 0x3010, 1, 0x34);
	C.eip = 0xfffe;                           /* IP wraps after it */
	C.gpr[R_EBX] = 0x10;
	CODE(0xff, 0x07);                         /* inc word [bx] */
	cr_assert_eq(step(), EMU_OK);
	cr_assert_eq(C.eip, 0);
}

Test(data, cpl3_guest_code_allowed)
{
	C.cpl = 3;
	C.gpr[R_EBX] = 0x2000;
	CODE(0xc7, 0x03, 1, 0, 0, 0);             /* mov dword [ebx], 1 */
	step_ok(6);
	cr_assert_eq(mem32(0x2000), 1);
}

/* ---- MOVS / STOS ---- */

Test(data, movs_single_and_override)
{
	C.seg_base[SEG_DS] = 0x1000;
	C.seg_base[SEG_ES] = 0x2000;
	C.seg_base[SEG_FS] = 0x3000;
	C.gpr[R_ESI] = 0x10;
	C.gpr[R_EDI] = 0x20;
	set32(0x1010, 0xa1b2c3d4);
	set32(0x3010, 0x0badf00d);
	CODE(0xa5);                               /* movsd */
	step_ok(1);
	check_nacc(2);
	check_acc(0, false, 0x1010, 4, 0xa1b2c3d4);
	check_acc(1, true, 0x2020, 4, 0xa1b2c3d4);
	cr_assert_eq(C.gpr[R_ESI], 0x14);
	cr_assert_eq(C.gpr[R_EDI], 0x24);
	C.gpr[R_ESI] = 0x10;
	C.eflags |= EFLAGS_DF;
	CODE(0x64, 0x66, 0xa5);                   /* movsw fs:[esi] */
	step_ok(3);
	check_acc(0, false, 0x3010, 2, 0xf00d);
	check_acc(1, true, 0x2024, 2, 0xf00d);
	cr_assert_eq(C.gpr[R_ESI], 0x0e);
	cr_assert_eq(C.gpr[R_EDI], 0x22);
}

Test(data, rep_movs_fault_keeps_progress_and_resumes)
{
	F.limit = 0x8000;
	C.gpr[R_ECX] = 10;
	C.gpr[R_ESI] = 0x1000;
	C.gpr[R_EDI] = 0x7ff0;
	for (unsigned i = 0; i < 10; i++)
		set32(0x1000 + 4 * i, 0x100 + i);
	CODE(0xf3, 0xa5);                         /* rep movsd */
	cr_assert_eq(step(), EMU_FAULT);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(C.gpr[R_ECX], 6);
	cr_assert_eq(C.gpr[R_ESI], 0x1010);
	cr_assert_eq(C.gpr[R_EDI], 0x8000);
	check_nacc(9);                            /* 4 pairs, 1 read */
	check_acc(7, true, 0x7ffc, 4, 0x103);
	check_acc(8, false, 0x1010, 4, 0x104);
	F.limit = MEM_SIZE;                       /* the fault is handled */
	step_ok(2);
	cr_assert_eq(C.gpr[R_ECX], 0);
	cr_assert_eq(C.gpr[R_ESI], 0x1028);
	cr_assert_eq(C.gpr[R_EDI], 0x8018);
	cr_assert_eq(mem32(0x8014), 0x109);
	check_nacc(12);
}

Test(data, rep_with_zero_count_touches_nothing)
{
	C.gpr[R_EDI] = 0x100;
	CODE(0xf3, 0xaa);                         /* rep stosb */
	step_ok(2);
	check_nacc(0);
	cr_assert_eq(C.gpr[R_EDI], 0x100);
}

Test(data, rep_stos_16bit_addressing_backwards)
{
	C.gpr[R_ECX] = 0x55550003;
	C.gpr[R_EDI] = 0xdead0002;
	C.gpr[R_EAX] = 0x1234abcd;
	C.eflags |= EFLAGS_DF;
	CODE(0x67, 0xf3, 0x66, 0xab);             /* a16 rep stosw */
	step_ok(4);
	check_nacc(3);
	check_acc(0, true, 0x0002, 2, 0xabcd);
	check_acc(1, true, 0x0000, 2, 0xabcd);
	check_acc(2, true, 0xfffe, 2, 0xabcd);    /* DI wrapped */
	cr_assert_eq(C.gpr[R_EDI], 0xdeadfffc);
	cr_assert_eq(C.gpr[R_ECX], 0x55550000);
}

Test(data, rep_stos_write_fault_partial)
{
	F.ro_lo = 0x2008;
	F.ro_hi = 0x2009;
	C.seg_base[SEG_ES] = 0x2000;
	C.gpr[R_ECX] = 16;
	C.gpr[R_EDI] = 0;
	C.gpr[R_EAX] = 0x77;
	CODE(0xf3, 0xaa);                         /* rep stosb */
	cr_assert_eq(step(), EMU_FAULT);
	cr_assert_eq(C.gpr[R_ECX], 8);
	cr_assert_eq(C.gpr[R_EDI], 8);
	cr_assert_eq(C.eip, 0x100);
	check_nacc(8);
	cr_assert_eq(mem32(0x2004), 0x77777777);
}

/* ---- the oracle: the host CPU ---- */

/* The host's flags are loaded from and read back into f (only the
 * arithmetic flags go in: DF and TF must stay clear on the host); the
 * lea keeps the pushes off the red zone. */
#define HOST_IN  "lea -128(%%rsp), %%rsp\n\tpushq %[f]\n\tpopfq\n\t"
#define HOST_OUT "\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"

#define HOST_BIN(name, mn)                                                  \
static void name(unsigned size, uint32_t *a, uint32_t b, uint64_t *f)      \
{                                                                          \
	uint32_t x = *a;                                                   \
	uint64_t fl = *f;                                                  \
	if (size == 1)                                                     \
		asm(HOST_IN mn "b %b[b], %b[a]" HOST_OUT                   \
		    : [a] "+r"(x), [f] "+r"(fl) : [b] "r"(b) : "cc");      \
	else if (size == 2)                                                \
		asm(HOST_IN mn "w %w[b], %w[a]" HOST_OUT                   \
		    : [a] "+r"(x), [f] "+r"(fl) : [b] "r"(b) : "cc");      \
	else                                                               \
		asm(HOST_IN mn "l %k[b], %k[a]" HOST_OUT                   \
		    : [a] "+r"(x), [f] "+r"(fl) : [b] "r"(b) : "cc");      \
	*a = x;                                                            \
	*f = fl;                                                           \
}

#define HOST_UN(name, mn)                                                   \
static void name(unsigned size, uint32_t *a, uint32_t b, uint64_t *f)      \
{                                                                          \
	uint32_t x = *a;                                                   \
	uint64_t fl = *f;                                                  \
	(void)b;                                                           \
	if (size == 1)                                                     \
		asm(HOST_IN mn "b %b[a]" HOST_OUT                          \
		    : [a] "+r"(x), [f] "+r"(fl) : : "cc");                 \
	else if (size == 2)                                                \
		asm(HOST_IN mn "w %w[a]" HOST_OUT                          \
		    : [a] "+r"(x), [f] "+r"(fl) : : "cc");                 \
	else                                                               \
		asm(HOST_IN mn "l %k[a]" HOST_OUT                          \
		    : [a] "+r"(x), [f] "+r"(fl) : : "cc");                 \
	*a = x;                                                            \
	*f = fl;                                                           \
}

HOST_BIN(host_add, "add")
HOST_BIN(host_or, "or")
HOST_BIN(host_adc, "adc")
HOST_BIN(host_sbb, "sbb")
HOST_BIN(host_and, "and")
HOST_BIN(host_sub, "sub")
HOST_BIN(host_xor, "xor")
HOST_BIN(host_cmp, "cmp")
HOST_BIN(host_test, "test")
HOST_UN(host_inc, "inc")
HOST_UN(host_dec, "dec")
HOST_UN(host_neg, "neg")
HOST_UN(host_not, "not")

/* XADD writes both operands: b is an output too. */
static void host_xadd(unsigned size, uint32_t *a, uint32_t b, uint64_t *f)
{
	uint32_t x = *a;
	uint64_t fl = *f;

	if (size == 1)
		asm(HOST_IN "xaddb %b[b], %b[a]" HOST_OUT
		    : [a] "+r"(x), [b] "+r"(b), [f] "+r"(fl) : : "cc");
	else if (size == 2)
		asm(HOST_IN "xaddw %w[b], %w[a]" HOST_OUT
		    : [a] "+r"(x), [b] "+r"(b), [f] "+r"(fl) : : "cc");
	else
		asm(HOST_IN "xaddl %k[b], %k[a]" HOST_OUT
		    : [a] "+r"(x), [b] "+r"(b), [f] "+r"(fl) : : "cc");
	*a = x;
	*f = fl;
}

typedef void host_fn(unsigned, uint32_t *, uint32_t, uint64_t *);

/* One op: its host twin, the guest encoding of `op [ebx], ecx` (or of
 * `op [ebx]`) for byte and for word/dword size, whether it writes its
 * destination, and the flags the SDM leaves undefined. */
struct alu_case {
	const char *name;
	host_fn *host;
	uint8_t pre;            /* 0, or 0x0f */
	uint8_t op8, op32, modrm;
	bool writes;
	uint32_t undefined;
};

static const struct alu_case cases[] = {
	{ "add", host_add, 0, 0x00, 0x01, 0x0b, true, 0 },
	{ "or", host_or, 0, 0x08, 0x09, 0x0b, true, F_AF },
	{ "adc", host_adc, 0, 0x10, 0x11, 0x0b, true, 0 },
	{ "sbb", host_sbb, 0, 0x18, 0x19, 0x0b, true, 0 },
	{ "and", host_and, 0, 0x20, 0x21, 0x0b, true, F_AF },
	{ "sub", host_sub, 0, 0x28, 0x29, 0x0b, true, 0 },
	{ "xor", host_xor, 0, 0x30, 0x31, 0x0b, true, F_AF },
	{ "cmp", host_cmp, 0, 0x38, 0x39, 0x0b, false, 0 },
	{ "test", host_test, 0, 0x84, 0x85, 0x0b, false, F_AF },
	{ "xadd", host_xadd, 0x0f, 0xc0, 0xc1, 0x0b, true, 0 },
	{ "inc", host_inc, 0, 0xfe, 0xff, 0x03, true, 0 },
	{ "dec", host_dec, 0, 0xfe, 0xff, 0x0b, true, 0 },
	{ "not", host_not, 0, 0xf6, 0xf7, 0x13, true, 0 },
	{ "neg", host_neg, 0, 0xf6, 0xf7, 0x1b, true, 0 },
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* Mostly random, a quarter edge values around 0 and the sign bits. */
static uint32_t operand(void)
{
	static const uint32_t edge[] = {
		0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000,
		0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe,
	};
	uint32_t r = rnd();

	return (r & 3) ? rnd() : edge[(r >> 2) % (sizeof(edge) / 4)];
}

static void one_case(const struct alu_case *k, unsigned size, uint32_t a,
                     uint32_t b, uint32_t fin)
{
	uint32_t m = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	uint32_t host_r = a & m, keep = 0x2 | EFLAGS_IF | EFLAGS_DF | F_IOPL3;
	uint64_t host_f = 0x2 | fin;
	uint32_t care = F_ARITH & ~k->undefined;
	uint8_t code[5];
	unsigned n = 0;

	k->host(size, &host_r, b & m, &host_f);
	C.eip = 0x100;
	if (size == 2)
		code[n++] = 0x66;
	if (k->pre)
		code[n++] = k->pre;
	code[n++] = size == 1 ? k->op8 : k->op32;
	code[n++] = k->modrm;
	place(code, n);
	memset(F.mem + 0x2000, 0, 4);
	memcpy(F.mem + 0x2000, &a, size);
	C.gpr[R_EBX] = 0x2000;
	C.gpr[R_ECX] = b;
	C.eflags = keep | fin;
	step_ok(n);
	cr_assert_eq(mem32(0x2000) & m, k->writes ? host_r : (a & m),
	             "%s%u 0x%x, 0x%x: result 0x%x, host 0x%x", k->name,
	             8 * size, a & m, b & m, mem32(0x2000) & m, host_r);
	cr_assert_eq(C.eflags & care, (uint32_t)host_f & care,
	             "%s%u 0x%x, 0x%x (CF in %u): flags 0x%03x, host 0x%03x",
	             k->name, 8 * size, a & m, b & m, fin & F_CF,
	             C.eflags & care, (uint32_t)host_f & care);
	cr_assert_eq(C.eflags & ~F_ARITH, keep, "%s: other flags 0x%x",
	             k->name, C.eflags);
	check_nacc(k->writes ? 2 : 1);
	check_acc(0, false, 0x2000, size, a & m);
	if (k->host == host_xadd)                 /* old value to ECX */
		cr_assert_eq(C.gpr[R_ECX] & m, a & m);
}

/* Every op, every size, 300 operand pairs each, arithmetic flags in at
 * random (ADC/SBB read CF; INC/DEC must keep it). */
Test(oracle, alu_flags_match_the_host_cpu)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (unsigned size = 1; size <= 4; size *= 2)
			for (int t = 0; t < 300; t++)
				one_case(&cases[i], size, operand(), operand(),
				         rnd() & F_ARITH);
}

/* ADD..CMP with a register destination and a memory source. */
Test(oracle, alu_register_destination_matches_the_host_cpu)
{
	for (unsigned op = 0; op < 8; op++) {
		const struct alu_case *k = &cases[op];

		for (int t = 0; t < 300; t++) {
			uint32_t a = operand(), b = operand(), r = a;
			uint32_t fin = rnd() & F_ARITH;
			uint64_t host_f = 0x2 | fin;

			k->host(4, &r, b, &host_f);
			set32(0x2000, b);
			C.gpr[R_EBX] = 0x2000;
			C.gpr[R_ECX] = a;
			C.eflags = 0x2 | fin;
			C.eip = 0x100;
			CODE((uint8_t)(op * 8 + 3), 0x0b); /* op ecx, [ebx] */
			step_ok(2);
			cr_assert_eq(C.gpr[R_ECX], r, "%s", k->name);
			cr_assert_eq(C.eflags & F_ARITH & ~k->undefined,
			             (uint32_t)host_f & F_ARITH & ~k->undefined,
			             "%s 0x%x, 0x%x", k->name, a, b);
			check_nacc(1);
		}
	}
}

/* CMPXCHG: the host's own, on dword and byte operands. */
Test(oracle, cmpxchg_matches_the_host_cpu)
{
	for (int t = 0; t < 300; t++) {
		uint32_t acc = operand(), mem = (t & 1) ? acc : operand();
		uint32_t src = operand(), hacc = acc, hmem = mem;
		uint64_t f = 0x2;

		asm(HOST_IN "cmpxchgl %k[s], %k[m]" HOST_OUT
		    : [m] "+r"(hmem), "+a"(hacc), [f] "+r"(f)
		    : [s] "r"(src) : "cc");
		set32(0x2000, mem);
		C.gpr[R_EBX] = 0x2000;
		C.gpr[R_EAX] = acc;
		C.gpr[R_ECX] = src;
		C.eflags = 0x2;
		C.eip = 0x100;
		CODE(0x0f, 0xb1, 0x0b);           /* cmpxchg [ebx], ecx */
		step_ok(3);
		cr_assert_eq(mem32(0x2000), hmem);
		cr_assert_eq(C.gpr[R_EAX], hacc);
		cr_assert_eq(C.eflags & F_ARITH, (uint32_t)f & F_ARITH);
		check_nacc(2);
	}
}

/* BT/BTS/BTR/BTC with a register bit offset into memory: the host's own
 * instruction on a 64-byte bit string, offsets -256..255 from its middle;
 * the emulator must read (and write) the same dword, the one holding
 * the bit. */
Test(oracle, bt_memory_bit_string_matches_the_host_cpu)
{
	static const uint8_t opc[4] = { 0xa3, 0xab, 0xb3, 0xbb };

	for (int t = 0; t < 400; t++) {
		uint8_t host[64];
		int32_t off = (int32_t)(rnd() % 512) - 256;
		unsigned which = rnd() % 4;
		uint32_t disp = (uint32_t)(4 * (off >> 5));
		uint64_t f = 0x2;

		for (unsigned i = 0; i < 64; i++)
			host[i] = (uint8_t)rnd();
		memcpy(F.mem + 0x2000 - 32, host, 64);
		switch (which) {
		case 0: asm(HOST_IN "btl %k[o], (%[p])" HOST_OUT
		            : [f] "+r"(f) : [o] "r"(off), [p] "r"(host + 32)
		            : "cc", "memory"); break;
		case 1: asm(HOST_IN "btsl %k[o], (%[p])" HOST_OUT
		            : [f] "+r"(f) : [o] "r"(off), [p] "r"(host + 32)
		            : "cc", "memory"); break;
		case 2: asm(HOST_IN "btrl %k[o], (%[p])" HOST_OUT
		            : [f] "+r"(f) : [o] "r"(off), [p] "r"(host + 32)
		            : "cc", "memory"); break;
		default: asm(HOST_IN "btcl %k[o], (%[p])" HOST_OUT
		             : [f] "+r"(f) : [o] "r"(off), [p] "r"(host + 32)
		             : "cc", "memory"); break;
		}
		C.gpr[R_EBX] = 0x2000;
		C.gpr[R_ECX] = (uint32_t)off;
		C.eflags = 0x2;
		C.eip = 0x100;
		CODE(0x0f, opc[which], 0x0b);     /* btX [ebx], ecx */
		step_ok(3);
		cr_assert_eq(C.eflags & F_CF, (uint32_t)f & F_CF,
		             "op %u offset %d", which, off);
		cr_assert_arr_eq(F.mem + 0x2000 - 32, host, 64,
		                 "op %u offset %d", which, off);
		check_nacc(which ? 2 : 1);
		cr_assert_eq(F.log[0].lin, 0x2000 + disp, "offset %d", off);
		cr_assert_eq(F.log[0].len, 4);
		if (which)
			check_acc(1, true, 0x2000 + disp, 4,
			          mem32(0x2000 + disp));
	}
}
