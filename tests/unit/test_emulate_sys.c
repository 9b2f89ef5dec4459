/*
 * test_emulate_sys.c — unit tests of the emulator's system and segment
 * instructions and of its privilege checks (vmm/emulate_system.c,
 * emulate_segment.c, the rule table in emulate.c).
 *
 * The fake machine: 64 KiB of memory at linear 0 (faulting at `limit`),
 * sys callbacks that log each call with its arguments and fail when the
 * test names them in F.fail, control and debug registers and one MSR
 * held in the fake, and a raise callback that logs the fault.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/emulate.h"

#define MEM_SIZE 0x10000u
#define MAX_LOG 16

struct call {
	const char *what;
	uint64_t a, b, c;
};

struct fake {
	uint8_t mem[MEM_SIZE];
	uint32_t limit;
	struct call log[MAX_LOG];
	unsigned nlog;
	const char *fail;             /* this callback returns -1 */
	uint32_t cr[8], dr[8];
	uint64_t msr;
	uint32_t eip_at_call;         /* cpu->eip as far_call found it */
	int vector;                   /* last raise, -1 if none */
	uint32_t error;
};

static struct fake F;
static struct emu_cpu C;

static int logc(const char *what, uint64_t a, uint64_t b, uint64_t c)
{
	cr_assert_lt(F.nlog, MAX_LOG);
	F.log[F.nlog++] = (struct call){ what, a, b, c };
	return F.fail && strcmp(F.fail, what) == 0 ? -1 : 0;
}

static int fake_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if ((uint64_t)lin + len > F.limit)
		return -1;
	memcpy(dst, F.mem + lin, len);
	return 0;
}

/* Only INS writes here; no system instruction writes memory itself. */
static int fake_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if ((uint64_t)lin + len > F.limit)
		return -1;
	memcpy(F.mem + lin, src, len);
	return 0;
}

static uint32_t fake_in(void *ctx, uint16_t port, unsigned size)
{
	(void)ctx;
	logc("in", port, size, 0);
	return 0x12345678;
}

static void fake_out(void *ctx, uint16_t port, unsigned size, uint32_t v)
{
	(void)ctx;
	logc("out", port, size, v);
}

static void fake_raise(void *ctx, int vector, uint32_t error)
{
	cr_assert_eq(ctx, &F);
	cr_assert_eq(F.vector, -1, "raised twice");
	F.vector = vector;
	F.error = error;
}

static int f_load_seg(void *x, enum seg s, uint16_t sel)
{ (void)x; return logc("load_seg", s, sel, 0); }
static int f_far_jmp(void *x, uint16_t sel, uint32_t off)
{ (void)x; return logc("far_jmp", sel, off, 0); }
static int f_far_call(void *x, uint16_t sel, uint32_t off, unsigned size)
{ (void)x; F.eip_at_call = C.eip; return logc("far_call", sel, off, size); }
static int f_far_ret(void *x, unsigned pop, unsigned size)
{ (void)x; return logc("far_ret", pop, size, 0); }
static int f_iret(void *x, unsigned size)
{ (void)x; return logc("iret", size, 0, 0); }
static int f_sysenter(void *x)
{ (void)x; return logc("sysenter", 0, 0, 0); }
static int f_sysexit(void *x)
{ (void)x; return logc("sysexit", 0, 0, 0); }
static int f_lgdt(void *x, uint32_t base, uint16_t limit)
{ (void)x; return logc("lgdt", base, limit, 0); }
static int f_lidt(void *x, uint32_t base, uint16_t limit)
{ (void)x; return logc("lidt", base, limit, 0); }
static int f_lldt(void *x, uint16_t sel)
{ (void)x; return logc("lldt", sel, 0, 0); }
static int f_ltr(void *x, uint16_t sel)
{ (void)x; return logc("ltr", sel, 0, 0); }
static int f_invlpg(void *x, uint32_t lin)
{ (void)x; return logc("invlpg", lin, 0, 0); }
static int f_clts(void *x)
{ (void)x; return logc("clts", 0, 0, 0); }
static int f_wbinvd(void *x)
{ (void)x; return logc("wbinvd", 0, 0, 0); }

static int f_read_cr(void *x, int cr, uint32_t *v)
{
	(void)x;
	*v = F.cr[cr];
	return logc("read_cr", (uint64_t)cr, 0, 0);
}

static int f_write_cr(void *x, int cr, uint32_t v)
{
	(void)x;
	if (logc("write_cr", (uint64_t)cr, v, 0))
		return -1;
	F.cr[cr] = v;
	return 0;
}

static int f_read_dr(void *x, int dr, uint32_t *v)
{
	(void)x;
	*v = F.dr[dr];
	return logc("read_dr", (uint64_t)dr, 0, 0);
}

static int f_write_dr(void *x, int dr, uint32_t v)
{
	(void)x;
	return logc("write_dr", (uint64_t)dr, v, 0);
}

static int f_rdmsr(void *x, uint32_t index, uint64_t *v)
{
	(void)x;
	*v = F.msr;
	return logc("rdmsr", index, 0, 0);
}

static int f_wrmsr(void *x, uint32_t index, uint64_t v)
{
	(void)x;
	return logc("wrmsr", index, v, 0);
}

static const struct emu_sys sys = {
	.load_seg = f_load_seg, .far_jmp = f_far_jmp, .far_call = f_far_call,
	.far_ret = f_far_ret, .iret = f_iret, .lgdt = f_lgdt, .lidt = f_lidt,
	.lldt = f_lldt, .ltr = f_ltr, .read_cr = f_read_cr,
	.write_cr = f_write_cr, .read_dr = f_read_dr, .write_dr = f_write_dr,
	.rdmsr = f_rdmsr, .wrmsr = f_wrmsr, .invlpg = f_invlpg,
	.clts = f_clts, .wbinvd = f_wbinvd, .sysenter = f_sysenter,
	.sysexit = f_sysexit,
};

static const struct emu_ops ops = {
	.read = fake_read, .write = fake_write, .in = fake_in, .out = fake_out,
	.raise = fake_raise, .sys = &sys,
};

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	F.limit = MEM_SIZE;
	F.vector = -1;
	memset(&C, 0, sizeof(C));
	C.code32 = true;
	C.eip = 0x100;
	C.eflags = 0x2;
}

TestSuite(sys, .init = setup);

#define CODE(...) place((const uint8_t[]){ __VA_ARGS__ }, \
                        sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void place(const uint8_t *b, size_t n)
{
	memcpy(F.mem + C.seg_base[SEG_CS] + C.eip, b, n);
}

static void put16(uint32_t lin, uint16_t v) { memcpy(F.mem + lin, &v, 2); }
static void put32(uint32_t lin, uint32_t v) { memcpy(F.mem + lin, &v, 4); }

static enum emu_status step_with(const struct emu_ops *o)
{
	struct insn in;

	return emu_step(&C, o, &F, &in);
}

static enum emu_status step(void)
{
	return step_with(&ops);
}

/* EMU_OK with EIP advanced by len. */
static void step_ok(unsigned len)
{
	uint32_t eip = C.eip;
	enum emu_status st = step();

	cr_assert_eq(st, EMU_OK, "status %d", st);
	cr_assert_eq(C.eip, eip + len, "EIP 0x%x, expected 0x%x", C.eip,
	             eip + len);
	cr_assert_eq(F.vector, -1, "raised vector %d", F.vector);
}

/* EMU_FAULT with EIP and the GPRs left alone. */
static void step_fault(void)
{
	struct emu_cpu before = C;

	cr_assert_eq(step(), EMU_FAULT);
	cr_assert_eq(C.eip, before.eip);
	cr_assert_arr_eq(C.gpr, before.gpr, sizeof(C.gpr));
}

/* A sys or port call in the log, by position. */
static void check_call(unsigned i, const char *what, uint64_t a, uint64_t b,
                       uint64_t c)
{
	cr_assert_gt(F.nlog, i, "only %u calls", F.nlog);
	cr_assert_str_eq(F.log[i].what, what);
	cr_assert_eq(F.log[i].a, a, "%s arg a 0x%llx, expected 0x%llx", what,
	             (unsigned long long)F.log[i].a, (unsigned long long)a);
	cr_assert_eq(F.log[i].b, b, "%s arg b 0x%llx, expected 0x%llx", what,
	             (unsigned long long)F.log[i].b, (unsigned long long)b);
	cr_assert_eq(F.log[i].c, c, "%s arg c 0x%llx", what,
	             (unsigned long long)F.log[i].c);
}

static void check_raised(int vector, uint32_t error)
{
	cr_assert_eq(F.vector, vector, "vector %d, expected %d", F.vector,
	             vector);
	cr_assert_eq(F.error, error);
}

/* ---- descriptor-table registers ---- */

Test(sys, lgdt_32bit)
{
	put16(0x2000, 0x27);
	put32(0x2002, 0xc0123456);
	CODE(0x0f, 0x01, 0x15, 0x00, 0x20, 0x00, 0x00); /* lgdt [0x2000] */
	step_ok(7);
	cr_assert_eq(F.nlog, 1);
	check_call(0, "lgdt", 0xc0123456, 0x27, 0);
}

Test(sys, lidt_16bit_opsize_takes_24_bits)
{
	put16(0x3010, 0x7ff);
	put32(0x3012, 0xc0123456);
	C.gpr[R_ESI] = 0x3000;
	C.seg_base[SEG_DS] = 0x10;
	CODE(0x66, 0x0f, 0x01, 0x1e);           /* o16 lidt [esi] */
	step_ok(4);
	check_call(0, "lidt", 0x123456, 0x7ff, 0);
}

Test(sys, lgdt_sib_and_ss_default)
{
	put16(0x4000 + 0x20 + 3 * 4 + 8, 0xffff);
	put32(0x4000 + 0x20 + 3 * 4 + 10, 0x1000);
	C.seg_base[SEG_SS] = 0x4000;
	C.gpr[R_EBP] = 0x20;
	C.gpr[R_ECX] = 3;
	CODE(0x0f, 0x01, 0x54, 0x8d, 0x08);     /* lgdt [ebp+ecx*4+8] */
	step_ok(5);
	check_call(0, "lgdt", 0x1000, 0xffff, 0);
}

Test(sys, lgdt_16bit_addressing_wraps)
{
	C.code32 = false;
	put16(0x0002, 0x17);                    /* bx+si+4 = 0x10002 -> 2 */
	put32(0x0004, 0x00abcdef);
	C.gpr[R_EBX] = 0x5555fff0;              /* upper half ignored */
	C.gpr[R_ESI] = 0x0e;
	CODE(0x0f, 0x01, 0x50, 0x04);           /* lgdt [bx+si+4] */
	step_ok(4);
	check_call(0, "lgdt", 0x00abcdef, 0x17, 0);
}

Test(sys, lgdt_memory_fault)
{
	F.limit = 0x2003;
	CODE(0x0f, 0x01, 0x15, 0x00, 0x20, 0x00, 0x00);
	step_fault();
	cr_assert_eq(F.nlog, 0);
	cr_assert_eq(F.vector, -1);
}

Test(sys, lldt_ltr_register_and_memory)
{
	C.gpr[R_EAX] = 0xffff0028;
	CODE(0x0f, 0x00, 0xd0);                 /* lldt ax */
	step_ok(3);
	check_call(0, "lldt", 0x28, 0, 0);
	put16(0x2000, 0x30);
	C.gpr[R_EDI] = 0x2000;
	CODE(0x0f, 0x00, 0x1f);                 /* ltr [edi] */
	step_ok(3);
	check_call(1, "ltr", 0x30, 0, 0);
}

Test(sys, ltr_failure_leaves_eip)
{
	F.fail = "ltr";
	C.gpr[R_EDX] = 0x30;
	CODE(0x0f, 0x00, 0xda);                 /* ltr dx */
	step_fault();
	check_call(0, "ltr", 0x30, 0, 0);
}

/* ---- control and debug registers ---- */

Test(sys, lmsw_changes_low_four_bits_only)
{
	F.cr[0] = 0x80000011;                   /* PG, ET, PE */
	C.gpr[R_EBX] = 0xfffe;                  /* PE clear: cannot clear */
	CODE(0x0f, 0x01, 0xf3);                 /* lmsw bx */
	step_ok(3);
	check_call(0, "read_cr", 0, 0, 0);
	check_call(1, "write_cr", 0, 0x8000001f, 0);
}

Test(sys, lmsw_sets_pe_from_memory)
{
	F.cr[0] = 0x10;
	put16(0x2000, 0x0009);                  /* PE, TS */
	C.gpr[R_EAX] = 0x2000;
	CODE(0x0f, 0x01, 0x30);                 /* lmsw [eax] */
	step_ok(3);
	check_call(1, "write_cr", 0, 0x19, 0);
}

Test(sys, mov_from_cr_several_gprs)
{
	static const struct { uint8_t modrm; int cr; int reg; } t[] = {
		{ 0xc0, 0, R_EAX }, { 0xd3, 2, R_EBX }, { 0xdf, 3, R_EDI },
		{ 0xe5, 4, R_EBP }, { 0xc4, 0, R_ESP },
	};

	F.cr[0] = 0x80000011; F.cr[2] = 0xdeadbeef;
	F.cr[3] = 0x1000; F.cr[4] = 0x90;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		C.gpr[t[i].reg] = 0x5a5a5a5a;
		CODE(0x0f, 0x20, t[i].modrm);
		step_ok(3);
		cr_assert_eq(C.gpr[t[i].reg], F.cr[t[i].cr], "case %zu", i);
		check_call((unsigned)i, "read_cr", (uint64_t)t[i].cr, 0, 0);
	}
}

Test(sys, mov_to_cr_several_gprs)
{
	C.gpr[R_EAX] = 0x80000011;
	C.gpr[R_ESI] = 0x00123000;
	C.gpr[R_ECX] = 0x10;
	CODE(0x0f, 0x22, 0xc0);                 /* mov cr0, eax */
	step_ok(3);
	CODE(0x0f, 0x22, 0xde);                 /* mov cr3, esi */
	step_ok(3);
	CODE(0x0f, 0x22, 0x21);                 /* mov cr4, ecx (mod 0) */
	step_ok(3);
	check_call(0, "write_cr", 0, 0x80000011, 0);
	check_call(1, "write_cr", 3, 0x00123000, 0);
	check_call(2, "write_cr", 4, 0x10, 0);
}

Test(sys, mov_cr_in_16bit_code_uses_32bit_gpr)
{
	C.code32 = false;
	C.gpr[R_EDX] = 0xabcd1234;
	CODE(0x0f, 0x22, 0xda);                 /* mov cr3, edx */
	step_ok(3);
	check_call(0, "write_cr", 3, 0xabcd1234, 0);
}

Test(sys, mov_from_cr_failure_keeps_gpr)
{
	F.fail = "read_cr";
	F.cr[4] = 7;
	C.gpr[R_EAX] = 0x11;
	CODE(0x0f, 0x20, 0xe0);                 /* mov eax, cr4 */
	step_fault();
	cr_assert_eq(C.gpr[R_EAX], 0x11);
}

Test(sys, mov_dr_both_ways)
{
	F.dr[7] = 0x400;
	CODE(0x0f, 0x21, 0xf9);                 /* mov ecx, dr7 */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0x400);
	check_call(0, "read_dr", 7, 0, 0);
	C.gpr[R_EDI] = 0xc0001000;
	CODE(0x0f, 0x23, 0xc7);                 /* mov dr0, edi */
	step_ok(3);
	check_call(1, "write_dr", 0, 0xc0001000, 0);
}

/* ---- cache, TLB, MSRs ---- */

Test(sys, clts_invd_wbinvd)
{
	CODE(0x0f, 0x06);
	step_ok(2);
	CODE(0x0f, 0x08);
	step_ok(2);
	CODE(0x0f, 0x09);
	step_ok(2);
	cr_assert_eq(F.nlog, 3);
	check_call(0, "clts", 0, 0, 0);
	check_call(1, "wbinvd", 0, 0, 0);
	check_call(2, "wbinvd", 0, 0, 0);
}

Test(sys, invlpg_passes_linear_address)
{
	C.seg_base[SEG_DS] = 0x100000;
	C.gpr[R_EBX] = 0xc0000000;
	CODE(0x0f, 0x01, 0x7b, 0x40);           /* invlpg [ebx+0x40] */
	step_ok(4);
	check_call(0, "invlpg", 0xc0100040, 0, 0);
	C.seg_base[SEG_FS] = 0x2000;
	C.gpr[R_EAX] = 0x10;
	CODE(0x64, 0x0f, 0x01, 0x38);           /* invlpg fs:[eax] */
	step_ok(4);
	check_call(1, "invlpg", 0x2010, 0, 0);
}

Test(sys, rdmsr_wrmsr)
{
	F.msr = 0x1122334455667788ull;
	C.gpr[R_ECX] = 0x1b;
	CODE(0x0f, 0x32);                       /* rdmsr */
	step_ok(2);
	check_call(0, "rdmsr", 0x1b, 0, 0);
	cr_assert_eq(C.gpr[R_EAX], 0x55667788);
	cr_assert_eq(C.gpr[R_EDX], 0x11223344);
	C.gpr[R_ECX] = 0x174;
	C.gpr[R_EDX] = 0xaabbccdd;
	C.gpr[R_EAX] = 0x00000008;
	CODE(0x0f, 0x30);                       /* wrmsr */
	step_ok(2);
	check_call(1, "wrmsr", 0x174, 0xaabbccdd00000008ull, 0);
}

Test(sys, rdmsr_failure_keeps_edx_eax)
{
	F.fail = "rdmsr";
	C.gpr[R_ECX] = 0xdead;
	C.gpr[R_EAX] = 1;
	C.gpr[R_EDX] = 2;
	CODE(0x0f, 0x32);
	step_fault();
}

Test(sys, rdpmc_is_gp_at_any_cpl)
{
	CODE(0x0f, 0x33);
	step_fault();
	check_raised(EMU_VEC_GP, 0);
	cr_assert_eq(F.nlog, 0);
}

/* ---- privilege ---- */

Test(sys, cpl0_instructions_gp_at_cpl3)
{
	static const struct { uint8_t b[7]; } t[] = {
		{ { 0xf4 } },                           /* hlt */
		{ { 0x0f, 0x01, 0x15, 0, 0x20, 0, 0 } },/* lgdt */
		{ { 0x0f, 0x01, 0x1d, 0, 0x20, 0, 0 } },/* lidt */
		{ { 0x0f, 0x00, 0xd0 } },               /* lldt ax */
		{ { 0x0f, 0x00, 0xd8 } },               /* ltr ax */
		{ { 0x0f, 0x01, 0xf0 } },               /* lmsw ax */
		{ { 0x0f, 0x20, 0xc0 } },               /* mov eax, cr0 */
		{ { 0x0f, 0x22, 0xd8 } },               /* mov cr3, eax */
		{ { 0x0f, 0x21, 0xf8 } },               /* mov eax, dr7 */
		{ { 0x0f, 0x23, 0xf8 } },               /* mov dr7, eax */
		{ { 0x0f, 0x06 } },                     /* clts */
		{ { 0x0f, 0x08 } },                     /* invd */
		{ { 0x0f, 0x09 } },                     /* wbinvd */
		{ { 0x0f, 0x01, 0x38 } },               /* invlpg [eax] */
		{ { 0x0f, 0x32 } },                     /* rdmsr */
		{ { 0x0f, 0x30 } },                     /* wrmsr */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup();
		C.cpl = 3;
		C.eflags |= 0x3000;             /* IOPL 3 does not help */
		place(t[i].b, sizeof(t[i].b));
		cr_assert_eq(step(), EMU_FAULT, "case %zu", i);
		cr_assert_eq(C.eip, 0x100, "case %zu", i);
		check_raised(EMU_VEC_GP, 0);
		cr_assert_eq(F.nlog, 0, "case %zu called back", i);
	}
}

Test(sys, cpl1_is_not_cpl0)
{
	C.cpl = 1;
	CODE(0x0f, 0x20, 0xc0);                 /* mov eax, cr0 */
	step_fault();
	check_raised(EMU_VEC_GP, 0);
}

Test(sys, iopl_checks_cli_sti_in_out)
{
	static const struct { uint8_t b[2]; unsigned len; } t[] = {
		{ { 0xfa }, 1 }, { { 0xfb }, 1 },       /* cli, sti */
		{ { 0xe4, 0x60 }, 2 }, { { 0xec }, 1 }, /* in */
		{ { 0xe6, 0x80 }, 2 }, { { 0xee }, 1 }, /* out */
		{ { 0x6e }, 1 }, { { 0x6c }, 1 },       /* outsb, insb */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup();
		C.cpl = 3;                      /* IOPL 0 */
		C.eflags |= EFLAGS_IF;
		place(t[i].b, t[i].len);
		cr_assert_eq(step(), EMU_FAULT, "case %zu", i);
		check_raised(EMU_VEC_GP, 0);
		cr_assert_eq(C.eip, 0x100);
		cr_assert_eq(F.nlog, 0);
		cr_assert(C.eflags & EFLAGS_IF);
		F.vector = -1;
		C.eflags |= 0x3000;             /* IOPL 3 */
		step_ok(t[i].len);
	}
}

Test(sys, iopl_1_lets_cpl_1_in_but_not_cpl_2)
{
	C.eflags |= 0x1000;
	C.cpl = 1;
	CODE(0xfa);
	step_ok(1);
	C.cpl = 2;
	CODE(0xfa);
	step_fault();
	check_raised(EMU_VEC_GP, 0);
}

Test(sys, without_raise_a_fault_is_unsupported)
{
	struct emu_ops o = ops;

	o.raise = NULL;
	C.cpl = 3;
	CODE(0xfa);
	cr_assert_eq(step_with(&o), EMU_UNSUPPORTED);
	cr_assert_eq(C.eip, 0x100);
}

Test(sys, without_sys_everything_new_is_unsupported)
{
	static const struct { uint8_t b[7]; } t[] = {
		{ { 0x0f, 0x20, 0xc0 } }, { { 0x0f, 0x32 } }, { { 0x0f, 0x33 } },
		{ { 0x8e, 0xd8 } }, { { 0x1f } }, { { 0xc5, 0x06 } },
		{ { 0xea, 0, 0, 0, 0, 8, 0 } }, { { 0xcb } }, { { 0xcf } },
	};
	struct emu_ops o = ops;

	o.sys = NULL;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup();
		C.cpl = 3;                      /* not even a #GP */
		place(t[i].b, sizeof(t[i].b));
		cr_assert_eq(step_with(&o), EMU_UNSUPPORTED, "case %zu", i);
		cr_assert_eq(C.eip, 0x100);
		cr_assert_eq(F.vector, -1);
		cr_assert_eq(F.nlog, 0);
	}
}

/* ---- segment registers ---- */

Test(sys, mov_sreg_from_register)
{
	C.gpr[R_EAX] = 0xabcd0010;
	CODE(0x8e, 0xd8);                       /* mov ds, eax */
	step_ok(2);
	check_call(0, "load_seg", SEG_DS, 0x10, 0);
	C.gpr[R_ESI] = 0x2b;
	CODE(0x8e, 0xe6);                       /* mov fs, si */
	step_ok(2);
	check_call(1, "load_seg", SEG_FS, 0x2b, 0);
	cr_assert_eq(C.sti_shadow, false);
}

Test(sys, mov_ss_sets_interrupt_shadow)
{
	C.gpr[R_EBX] = 0x18;
	CODE(0x8e, 0xd3);                       /* mov ss, bx */
	step_ok(2);
	check_call(0, "load_seg", SEG_SS, 0x18, 0);
	cr_assert_eq(C.sti_shadow, true);
}

Test(sys, mov_sreg_from_memory)
{
	C.seg_base[SEG_SS] = 0x1000;
	C.gpr[R_ESP] = 0x100;
	put16(0x1108, 0x23);
	CODE(0x8e, 0x6c, 0x24, 0x08);           /* mov gs, [esp+8] */
	step_ok(4);
	check_call(0, "load_seg", SEG_GS, 0x23, 0);
}

Test(sys, mov_sreg_failures)
{
	F.limit = 0x2001;
	C.gpr[R_EAX] = 0x2000;
	CODE(0x8e, 0x00);                       /* mov es, [eax]: faults */
	step_fault();
	cr_assert_eq(F.nlog, 0);
	F.limit = MEM_SIZE;
	F.fail = "load_seg";
	step_fault();
	cr_assert_eq(F.nlog, 1);
}

Test(sys, mov_cs_does_not_decode)
{
	CODE(0x8e, 0xc8);                       /* mov cs, eax: #UD */
	cr_assert_eq(step(), EMU_BAD);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(F.nlog, 0);
}

Test(sys, pop_sreg_all)
{
	static const struct { uint8_t b[2]; unsigned len; enum seg seg; } t[] = {
		{ { 0x07 }, 1, SEG_ES }, { { 0x17 }, 1, SEG_SS },
		{ { 0x1f }, 1, SEG_DS }, { { 0x0f, 0xa1 }, 2, SEG_FS },
		{ { 0x0f, 0xa9 }, 2, SEG_GS },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup();
		C.seg_base[SEG_SS] = 0x8000;
		C.gpr[R_ESP] = 0x200;
		put32(0x8200, 0xffff0033);
		place(t[i].b, t[i].len);
		step_ok(t[i].len);
		check_call(0, "load_seg", t[i].seg, 0x33, 0);
		cr_assert_eq(C.gpr[R_ESP], 0x204, "case %zu", i);
		cr_assert_eq(C.sti_shadow, t[i].seg == SEG_SS);
	}
}

Test(sys, pop_sreg_16bit_opsize_and_stack)
{
	C.gpr[R_ESP] = 0x300;
	put16(0x300, 0x10);
	CODE(0x66, 0x1f);                       /* o16 pop ds */
	step_ok(2);
	cr_assert_eq(C.gpr[R_ESP], 0x302);
	/* SS.B clear: SP wraps, the upper half of ESP stays. */
	C.ss16 = true;
	C.gpr[R_ESP] = 0x1234fffe;
	put16(0xfffe, 0x18);
	CODE(0x66, 0x07);                       /* o16 pop es */
	step_ok(2);
	check_call(1, "load_seg", SEG_ES, 0x18, 0);
	cr_assert_eq(C.gpr[R_ESP], 0x12340000);
}

Test(sys, pop_sreg_failure_leaves_esp)
{
	C.gpr[R_ESP] = 0x200;
	put32(0x200, 0x1234);
	F.fail = "load_seg";
	CODE(0x1f);                             /* pop ds */
	step_fault();
	check_call(0, "load_seg", SEG_DS, 0x1234, 0);
	cr_assert_eq(C.gpr[R_ESP], 0x200);
	F.fail = NULL;
	F.nlog = 0;
	F.limit = 0x202;                        /* stack read faults */
	step_fault();
	cr_assert_eq(F.nlog, 0);
}

Test(sys, lds_les_lss_lfs_lgs)
{
	static const struct { uint8_t b[3]; unsigned len; enum seg seg; } t[] = {
		{ { 0xc5, 0x06 }, 2, SEG_DS },          /* lds eax, [esi] */
		{ { 0xc4, 0x06 }, 2, SEG_ES },          /* les eax, [esi] */
		{ { 0x0f, 0xb2, 0x06 }, 3, SEG_SS },    /* lss eax, [esi] */
		{ { 0x0f, 0xb4, 0x06 }, 3, SEG_FS },    /* lfs eax, [esi] */
		{ { 0x0f, 0xb5, 0x06 }, 3, SEG_GS },    /* lgs eax, [esi] */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		setup();
		C.gpr[R_ESI] = 0x2000;
		put32(0x2000, 0xc0ffee00);
		put16(0x2004, 0x0028);
		place(t[i].b, t[i].len);
		step_ok(t[i].len);
		check_call(0, "load_seg", t[i].seg, 0x28, 0);
		cr_assert_eq(C.gpr[R_EAX], 0xc0ffee00, "case %zu", i);
	}
}

Test(sys, lfs_16bit_keeps_upper_half)
{
	C.gpr[R_EBX] = 0xaaaa5555;
	C.gpr[R_EAX] = 0x2000;
	put16(0x2000, 0x1234);
	put16(0x2002, 0x0030);
	CODE(0x66, 0x0f, 0xb4, 0x18);           /* lfs bx, [eax] */
	step_ok(4);
	check_call(0, "load_seg", SEG_FS, 0x30, 0);
	cr_assert_eq(C.gpr[R_EBX], 0xaaaa1234);
}

Test(sys, lss_failure_keeps_esp)
{
	C.gpr[R_EAX] = 0x2000;
	C.gpr[R_ESP] = 0x777;
	put32(0x2000, 0x9000);
	put16(0x2004, 0x10);
	F.fail = "load_seg";
	CODE(0x0f, 0xb2, 0x20);                 /* lss esp, [eax] */
	step_fault();
	cr_assert_eq(C.gpr[R_ESP], 0x777);
}

/* ---- far transfers ---- */

Test(sys, jmp_far_immediate_does_not_advance)
{
	CODE(0xea, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00);
	cr_assert_eq(step(), EMU_OK);
	check_call(0, "far_jmp", 0x08, 0x12345678, 0);
	cr_assert_eq(C.eip, 0x100);             /* the callback's business */
}

Test(sys, jmp_far_memory_16_and_32)
{
	C.gpr[R_EAX] = 0x2000;
	put32(0x2000, 0x00401000);
	put16(0x2004, 0x1b);
	CODE(0xff, 0x28);                       /* jmp far [eax] */
	cr_assert_eq(step(), EMU_OK);
	check_call(0, "far_jmp", 0x1b, 0x00401000, 0);
	put16(0x2002, 0x23);
	CODE(0x66, 0xff, 0x28);                 /* jmp far word [eax] */
	cr_assert_eq(step(), EMU_OK);
	check_call(1, "far_jmp", 0x23, 0x1000, 0);
}

Test(sys, call_far_sets_return_eip_first)
{
	CODE(0x9a, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00);
	cr_assert_eq(step(), EMU_OK);
	check_call(0, "far_call", 0x10, 0x1000, 4);
	cr_assert_eq(F.eip_at_call, 0x107);
	cr_assert_eq(C.eip, 0x107);             /* callback did not move it */
}

Test(sys, call_far_memory_16bit_code)
{
	C.code32 = false;
	C.eip = 0xfffe;
	C.gpr[R_EBX] = 0x3000;
	put16(0x3000, 0x4321);
	put16(0x3002, 0x0008);
	CODE(0xff, 0x1f);                       /* call far [bx] */
	cr_assert_eq(step(), EMU_OK);
	check_call(0, "far_call", 0x08, 0x4321, 2);
	cr_assert_eq(F.eip_at_call, 0x0000);    /* IP wraps */
}

Test(sys, call_far_failure_restores_eip)
{
	F.fail = "far_call";
	CODE(0x9a, 0x00, 0x10, 0x00, 0x00, 0x10, 0x00);
	step_fault();
	cr_assert_eq(F.eip_at_call, 0x107);
}

Test(sys, call_far_pointer_fault)
{
	C.gpr[R_EAX] = 0x2000;
	F.limit = 0x2005;
	CODE(0xff, 0x18);                       /* call far [eax] */
	step_fault();
	cr_assert_eq(F.nlog, 0);
}

Test(sys, ret_far_and_iret)
{
	CODE(0xcb);
	cr_assert_eq(step(), EMU_OK);
	CODE(0xca, 0x08, 0x00);                 /* retf 8 */
	cr_assert_eq(step(), EMU_OK);
	CODE(0x66, 0xcb);                       /* o16 retf */
	cr_assert_eq(step(), EMU_OK);
	CODE(0xcf);
	cr_assert_eq(step(), EMU_OK);
	CODE(0x66, 0xcf);
	cr_assert_eq(step(), EMU_OK);
	check_call(0, "far_ret", 0, 4, 0);
	check_call(1, "far_ret", 8, 4, 0);
	check_call(2, "far_ret", 0, 2, 0);
	check_call(3, "iret", 4, 0, 0);
	check_call(4, "iret", 2, 0, 0);
	cr_assert_eq(C.eip, 0x100);
}

/* SYSENTER and SYSEXIT are the callbacks' (which check CPL for SYSEXIT,
 * SYSENTER_CS and SEP): EIP is theirs too, at any CPL. */
Test(sys, sysenter_sysexit_go_to_callbacks)
{
	C.cpl = 3;
	CODE(0x0f, 0x34);
	cr_assert_eq(step(), EMU_OK);
	CODE(0x0f, 0x35);
	cr_assert_eq(step(), EMU_OK);
	check_call(0, "sysenter", 0, 0, 0);
	check_call(1, "sysexit", 0, 0, 0);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(F.vector, -1);
	F.fail = "sysexit";
	step_fault();
}

Test(sys, iret_failure)
{
	F.fail = "iret";
	CODE(0xcf);
	step_fault();
}
