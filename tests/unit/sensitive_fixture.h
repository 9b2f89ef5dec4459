/*
 * sensitive_fixture.h — the fake machine of the unit tests of the
 * sensitive instructions and near branches (test_emulate_sensitive.c,
 * test_emulate_verify.c).
 *
 * 64 KiB of memory at linear 0 (faulting at or past `limit`); the
 * guest's selectors, descriptor-table registers, CR0/CR4 and TSC held in
 * the fake; a GDT and an LDT as arrays of raw descriptors that
 * read_desc answers from (past `gdt_n`/`ldt_n` entries, or with no LDT:
 * not found; `desc_fault`: a #PF); segment limits for SS and CS that
 * check_limit enforces with #SS(0)/#GP(0) as system_query.c does; and a
 * raise that records the one fault a step may give.
 */
#ifndef POPEK_TESTS_SENSITIVE_FIXTURE_H
#define POPEK_TESTS_SENSITIVE_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "vmm/emulate.h"

#define MEM_SIZE 0x10000u
#define VEC_SS 12
#define VEC_PF 14

struct fake {
	uint8_t mem[MEM_SIZE];
	uint32_t limit;
	uint16_t sel[SEG_COUNT], ldtr, tr;
	uint32_t gdtr_base, idtr_base;
	uint16_t gdtr_limit, idtr_limit;
	uint32_t cr0, cr4;
	uint64_t tsc;
	uint64_t gdt[16], ldt[4];
	unsigned gdt_n, ldt_n;         /* entries within each limit */
	bool desc_fault;
	uint32_t seg_limit[SEG_COUNT]; /* check_limit: last byte allowed */
	uint32_t cpuid_leaf, cpuid_subleaf;
	int vector;                    /* last raise, -1 if none */
	uint32_t error;
};

static struct fake F;
static struct emu_cpu C;

static int fake_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if ((uint64_t)lin + len > F.limit)
		return -1;
	memcpy(dst, F.mem + lin, len);
	return 0;
}

static int fake_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	cr_assert_eq(ctx, &F);
	if ((uint64_t)lin + len > F.limit)
		return -1;
	memcpy(F.mem + lin, src, len);
	return 0;
}

static void fake_raise(void *ctx, int vector, uint32_t error)
{
	cr_assert_eq(ctx, &F);
	cr_assert_eq(F.vector, -1, "raised twice");
	F.vector = vector;
	F.error = error;
}

static int f_read_gdtr(void *x, uint32_t *base, uint16_t *limit)
{ (void)x; *base = F.gdtr_base; *limit = F.gdtr_limit; return 0; }
static int f_read_idtr(void *x, uint32_t *base, uint16_t *limit)
{ (void)x; *base = F.idtr_base; *limit = F.idtr_limit; return 0; }
static int f_read_ldtr(void *x, uint16_t *sel)
{ (void)x; *sel = F.ldtr; return 0; }
static int f_read_tr(void *x, uint16_t *sel)
{ (void)x; *sel = F.tr; return 0; }
static int f_read_seg(void *x, enum seg s, uint16_t *sel)
{ (void)x; *sel = F.sel[s]; return 0; }

static int f_read_cr(void *x, int cr, uint32_t *v)
{
	(void)x;
	cr_assert(cr == 0 || cr == 4, "read_cr(%d)", cr);
	*v = cr ? F.cr4 : F.cr0;
	return 0;
}

static int f_read_desc(void *x, uint16_t sel, uint64_t *raw, bool *found)
{
	unsigned i = sel >> 3;
	bool ldt = sel & 4;

	(void)x;
	cr_assert_neq(sel & ~3u, 0, "read_desc of a null selector");
	if (F.desc_fault) {
		fake_raise(&F, VEC_PF, 0);
		return -1;
	}
	*found = i < (ldt ? F.ldt_n : F.gdt_n);
	if (*found)
		*raw = ldt ? F.ldt[i] : F.gdt[i];
	return 0;
}

static int f_check_limit(void *x, enum seg s, uint32_t off, unsigned len)
{
	(void)x;
	if ((uint64_t)off + len - 1 <= F.seg_limit[s])
		return 0;
	fake_raise(&F, s == SEG_SS ? VEC_SS : EMU_VEC_GP, 0);
	return -1;
}

static int f_cpuid(void *x, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	(void)x;
	F.cpuid_leaf = leaf;
	F.cpuid_subleaf = subleaf;
	for (unsigned i = 0; i < 4; i++)
		out[i] = leaf * 16 + i;
	return 0;
}

static int f_rdtsc(void *x, uint64_t *tsc)
{
	(void)x;
	*tsc = F.tsc;
	return 0;
}

static const struct emu_sys sys = {
	.read_cr = f_read_cr, .read_gdtr = f_read_gdtr,
	.read_idtr = f_read_idtr, .read_ldtr = f_read_ldtr,
	.read_tr = f_read_tr, .read_seg = f_read_seg,
	.read_desc = f_read_desc, .check_limit = f_check_limit,
	.cpuid = f_cpuid, .rdtsc = f_rdtsc,
};

static const struct emu_ops ops = {
	.read = fake_read, .write = fake_write, .raise = fake_raise,
	.sys = &sys,
};

static void setup(void)
{
	memset(&F, 0, sizeof(F));
	F.limit = MEM_SIZE;
	F.vector = -1;
	for (unsigned s = 0; s < SEG_COUNT; s++)
		F.seg_limit[s] = 0xffffffffu;
	memset(&C, 0, sizeof(C));
	C.code32 = true;
	C.eip = 0x100;
	C.eflags = 0x2;
	C.gpr[R_ESP] = 0x8000;
}

#define CODE(...) place((const uint8_t[]){ __VA_ARGS__ }, \
                        sizeof((const uint8_t[]){ __VA_ARGS__ }))

static void place(const uint8_t *b, size_t n)
{
	memcpy(F.mem + C.seg_base[SEG_CS] + C.eip, b, n);
}

static inline void put16(uint32_t lin, uint16_t v) { memcpy(F.mem + lin, &v, 2); }
static inline void put32(uint32_t lin, uint32_t v) { memcpy(F.mem + lin, &v, 4); }
static inline uint16_t get16(uint32_t lin)
{
	uint16_t v;

	memcpy(&v, F.mem + lin, 2);
	return v;
}
static inline uint32_t get32(uint32_t lin)
{
	uint32_t v;

	memcpy(&v, F.mem + lin, 4);
	return v;
}

static enum emu_status step(void)
{
	struct insn in;

	return emu_step(&C, &ops, &F, &in);
}

/* EMU_OK with EIP advanced by len (or, for a transfer, at `eip`). */
static void step_ok_at(uint32_t eip)
{
	enum emu_status st = step();

	cr_assert_eq(st, EMU_OK, "status %d", st);
	cr_assert_eq(F.vector, -1, "raised vector %d", F.vector);
	cr_assert_eq(C.eip, eip, "EIP 0x%x, expected 0x%x", C.eip, eip);
}

static void step_ok(unsigned len)
{
	step_ok_at(C.eip + len);
}

/* EMU_FAULT (vector, or -1 for one a memory callback met) with the
 * whole emu_cpu as the instruction found it. */
static void step_fault(int vector)
{
	struct emu_cpu before = C;

	cr_assert_eq(step(), EMU_FAULT);
	cr_assert_eq(F.vector, vector, "vector %d, expected %d", F.vector,
	             vector);
	cr_assert_arr_eq(C.gpr, before.gpr, sizeof(C.gpr));
	cr_assert_eq(C.eip, before.eip);
	cr_assert_eq(C.eflags, before.eflags);
	cr_assert_eq(C.sti_shadow, before.sti_shadow);
}

#endif
