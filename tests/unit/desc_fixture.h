/*
 * desc_fixture.h — the fake machine of test_desc.c and test_gate.c: 256
 * KiB of guest memory at linear 0 holding a GDT, an LDT, an IDT and a
 * 32-bit TSS built here, a virtual CPU at CPL 0 with flat segments, and
 * a window of addresses whose accesses fail (as a #PF would).
 */
#ifndef POPEK_TESTS_DESC_FIXTURE_H
#define POPEK_TESTS_DESC_FIXTURE_H

#include <criterion/criterion.h>
#include <string.h>

#include "vmm/desc.h"

#define MEM_SIZE  0x40000u
#define GDT_BASE  0x1000u
#define IDT_BASE  0x2000u
#define TSS_BASE  0x3000u
#define LDT_BASE  0x4000u
#define KSTACK    0x20000u
#define USTACK    0x30000u

/* GDT selectors. */
enum {
	K_CS = 0x08, K_DS = 0x10, U_CS = 0x1B, U_DS = 0x23, TSS_SEL = 0x28,
	LDT_SEL = 0x30, NP_DS = 0x38, XO_CS = 0x40, RO_DS = 0x48,
	CONF_CS = 0x50, CS16 = 0x58, ED_DS = 0x60, TSS16 = 0x68, CGATE = 0x70,
	SMALL_SS = 0x78, CS_DPL1 = 0x80, NP_CS = 0x88, GDT_LIMIT = 0x8F,
};

/* Descriptor attributes in seg_cache layout (flags nibble in 12..15). */
#define A_P   0x80u
#define A_S   0x10u
#define A_DPL(d) ((unsigned)(d) << 5)
#define A_DB  0x4000u
#define A_G   0x8000u

static uint8_t mem[MEM_SIZE];
static uint32_t fail_lo, fail_hi;     /* accesses touching these fail */
static unsigned nwrites;
static struct emu_cpu C;
static struct cpu_sys S;
static struct cpu_fault F;

static inline bool ok_range(uint32_t lin, unsigned len)
{
	uint64_t end = (uint64_t)lin + len;

	return end <= MEM_SIZE && (end <= fail_lo || lin >= fail_hi);
}

static inline int fake_read(void *ctx, uint32_t lin, void *dst, unsigned len)
{
	cr_assert_eq(ctx, mem);
	if (!ok_range(lin, len))
		return -1;
	memcpy(dst, mem + lin, len);
	return 0;
}

static inline int fake_write(void *ctx, uint32_t lin, const void *src, unsigned len)
{
	cr_assert_eq(ctx, mem);
	if (!ok_range(lin, len))
		return -1;
	memcpy(mem + lin, src, len);
	nwrites++;
	return 0;
}

static const struct cpu_mem M = { fake_read, fake_write, mem, NULL };

static inline uint64_t mkdesc(uint32_t base, uint32_t limit20, unsigned attr)
{
	return (uint64_t)(limit20 & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 |
	       (uint64_t)(attr & 0xFF) << 40 | (uint64_t)(limit20 >> 16 & 0xF) << 48 |
	       (uint64_t)(attr >> 12 & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

static inline uint64_t mkgate(uint16_t sel, uint32_t off, unsigned type, unsigned dpl,
                       bool present)
{
	unsigned a = type | A_DPL(dpl) | (present ? A_P : 0);

	return (uint64_t)(off & 0xFFFF) | (uint64_t)sel << 16 |
	       (uint64_t)a << 40 | (uint64_t)(off >> 16) << 48;
}

static inline void put64(uint32_t at, uint64_t v) { memcpy(mem + at, &v, 8); }
static inline void put32(uint32_t at, uint32_t v) { memcpy(mem + at, &v, 4); }
static inline uint32_t get32(uint32_t at) { uint32_t v; memcpy(&v, mem + at, 4); return v; }
static inline uint16_t get16(uint32_t at) { uint16_t v; memcpy(&v, mem + at, 2); return v; }

static inline void gdt(uint16_t sel, uint32_t base, uint32_t limit20, unsigned attr)
{
	put64(GDT_BASE + (sel & ~7u), mkdesc(base, limit20, attr));
}

static inline void idt(int vec, uint16_t sel, uint32_t off, unsigned type,
                unsigned dpl, bool present)
{
	put64(IDT_BASE + 8u * (unsigned)vec, mkgate(sel, off, type, dpl, present));
}

/* The cache a selector's current GDT/LDT descriptor decodes to. */
static inline struct seg_cache cache_of(uint16_t sel)
{
	uint32_t base = (sel & 4) ? LDT_BASE : GDT_BASE;
	uint64_t raw;
	struct seg_cache c;

	memcpy(&raw, mem + base + (sel & ~7u), 8);
	desc_decode(raw, sel, &c);
	return c;
}

static inline void set_seg(enum seg seg, uint16_t sel)
{
	S.seg[seg] = cache_of(sel);
	C.seg_base[seg] = S.seg[seg].base;
	if (seg == SEG_CS)
		C.code32 = SEG_ATTR_DB(S.seg[seg].attr);
}

static inline void build_tables(void)
{
	gdt(K_CS, 0, 0xFFFFF, 0xA | A_S | A_P | A_DB | A_G);
	gdt(K_DS, 0, 0xFFFFF, 0x2 | A_S | A_P | A_DB | A_G);
	gdt(U_CS, 0, 0xFFFFF, 0xA | A_S | A_DPL(3) | A_P | A_DB | A_G);
	gdt(U_DS, 0, 0xFFFFF, 0x2 | A_S | A_DPL(3) | A_P | A_DB | A_G);
	gdt(TSS_SEL, TSS_BASE, 0x67, 0x9 | A_P);
	gdt(LDT_SEL, LDT_BASE, 0x0F, 0x2 | A_P);
	gdt(NP_DS, 0, 0xFFFFF, 0x2 | A_S | A_DB | A_G);
	gdt(XO_CS, 0, 0xFFFFF, 0x8 | A_S | A_P | A_DB | A_G);
	gdt(RO_DS, 0, 0xFFFFF, 0x0 | A_S | A_P | A_DB | A_G);
	gdt(CONF_CS, 0, 0xFFFFF, 0xE | A_S | A_P | A_DB | A_G);
	gdt(CS16, 0x10000, 0xFFFF, 0xA | A_S | A_P);
	gdt(ED_DS, 0, 0xFFF, 0x6 | A_S | A_P | A_DB);
	gdt(TSS16, TSS_BASE, 0x2B, 0x1 | A_P);
	put64(GDT_BASE + CGATE, mkgate(K_CS, 0x4444, 0xC, 3, true));
	gdt(SMALL_SS, 0x10000, 0xFFF, 0x2 | A_S | A_P | A_DB);
	gdt(CS_DPL1, 0, 0xFFFFF, 0xA | A_S | A_DPL(1) | A_P | A_DB | A_G);
	gdt(NP_CS, 0, 0xFFFFF, 0xA | A_S | A_DB | A_G);
	/* LDT: entry 0 user data at 0x5000, entry 1 kernel data. */
	put64(LDT_BASE, mkdesc(0x5000, 0xFFF, 0x2 | A_S | A_DPL(3) | A_P | A_DB));
	put64(LDT_BASE + 8, mkdesc(0x6000, 0xFFF, 0x2 | A_S | A_P | A_DB));
	/* TSS: ESP0, SS0. */
	put32(TSS_BASE + 4, KSTACK);
	put32(TSS_BASE + 8, K_DS);
}

static inline void build_idt(void)
{
	idt(0x08, K_CS, 0x0800, 0xE, 0, true);
	idt(0x0A, CONF_CS, 0x0A00, 0xE, 0, true);  /* #TS runs at any CPL */
	idt(0x0B, K_CS, 0x0B00, 0xE, 0, true);
	idt(0x0C, K_CS, 0x0C00, 0xE, 0, true);
	idt(0x0D, K_CS, 0x0D00, 0xE, 0, true);
	idt(0x0E, K_CS, 0x0E00, 0xE, 0, true);
	idt(0x20, K_CS, 0x2000, 0xE, 0, true);
	idt(0x21, K_CS, 0x2100, 0xF, 0, true);
	idt(0x80, K_CS, 0x8000, 0xF, 3, true);
	idt(0x81, K_CS, 0x8100, 0xE, 0, true);
	idt(0x82, K_CS, 0x8200, 0xE, 3, false);
	idt(0x83, TSS_SEL, 0, 0x5, 3, true);
	idt(0x84, CS16, 0x1234, 0x6, 0, true);
	idt(0x85, 0, 0x8500, 0xE, 3, true);
	idt(0x86, U_CS, 0x8600, 0xE, 3, true);
	idt(0x87, CS_DPL1, 0x8700, 0xE, 3, true);
}

/* CPL 0, flat kernel segments, LDT and TR loaded. */
static inline void setup(void)
{
	memset(mem, 0, sizeof(mem));
	memset(&C, 0, sizeof(C));
	memset(&S, 0, sizeof(S));
	F = (struct cpu_fault){ .vector = -1 };
	fail_lo = fail_hi = 0;
	nwrites = 0;
	build_tables();
	build_idt();
	S.cr0 = CR0_PE;
	S.gdtr = (struct dtr){ GDT_BASE, GDT_LIMIT };
	S.idtr = (struct dtr){ IDT_BASE, 0x87 * 8 + 7 };
	S.ldtr = cache_of(LDT_SEL);
	S.tr = cache_of(TSS_SEL);
	S.tr.attr |= 2;      /* busy */
	set_seg(SEG_CS, K_CS);
	set_seg(SEG_SS, K_DS);
	set_seg(SEG_DS, K_DS);
	set_seg(SEG_ES, K_DS);
	C.eflags = 0x202;
	C.eip = 0x1234;
	C.gpr[R_ESP] = KSTACK - 0x100;
}

/* Guest user mode: CPL 3 with flat user segments. */
static inline void to_user(void)
{
	S.cpl = 3;
	set_seg(SEG_CS, U_CS);
	set_seg(SEG_SS, U_DS);
	set_seg(SEG_DS, U_DS);
	set_seg(SEG_ES, U_DS);
	C.gpr[R_ESP] = USTACK - 0x40;
}

static inline void expect_fault(enum cpu_result r, int vec, uint32_t err)
{
	cr_assert_eq(r, CPU_FAULT, "result %d, not a fault", r);
	cr_assert_eq(F.vector, vec, "vector %d, want %d (%s)", F.vector, vec, F.why);
	cr_assert(F.has_error);
	cr_assert_eq(F.error, err, "error %#x, want %#x (%s)", F.error, err, F.why);
}

#endif
