/*
 * test_emulate_verify.c — unit tests of LAR, LSL, VERR and VERW
 * (vmm/emulate_verify.c) against the fake GDT and LDT of
 * sensitive_fixture.h: every way the SDM's pseudo-code clears ZF (null
 * selector, past the table limit, no LDT, a type the instruction does not
 * take, DPL below CPL or RPL), the successes (conforming code at any
 * level, every system type each accepts), the results at both operand
 * sizes, and faults on the operand and on the table read.
 */
#include "tests/unit/sensitive_fixture.h"

/* Descriptors, built from the SDM 3.4.5 layout. */
static uint64_t desc(uint32_t base, uint32_t limit, unsigned access,
                     unsigned flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)flags << 52 | (uint64_t)(base >> 24) << 56;
}

enum {
	G_CODE0 = 1,     /* flat 32-bit code, DPL 0, readable */
	G_DATA0,         /* flat data, DPL 0, writable */
	G_CODE3,         /* flat code, DPL 3, readable */
	G_DATA3,         /* flat data, DPL 3, writable */
	G_CONF0,         /* conforming readable code, DPL 0 */
	G_XONLY3,        /* execute-only code, DPL 3, byte limit 0x12345 */
	G_TSS,           /* available 32-bit TSS, DPL 0 */
	G_LDT,           /* LDT, DPL 0 */
	G_CALLGATE,      /* 32-bit call gate, DPL 3 */
	G_INTGATE,       /* 32-bit interrupt gate, DPL 3 */
	G_ABSENT3,       /* data DPL 3, not present */
	G_RESERVED,      /* system type 0, DPL 3 */
	G_RODATA3,       /* read-only data, DPL 3 */
	G_TSS16BUSY,     /* busy 16-bit TSS, DPL 3 */
	G_TASKGATE,      /* task gate, DPL 3 */
	G_COUNT
};

#define SEL(i, rpl) ((uint16_t)((i) << 3 | (rpl)))
#define LDT_SEL(i, rpl) ((uint16_t)((i) << 3 | 4 | (rpl)))

static void tables(void)
{
	setup();
	F.gdt[G_CODE0] = desc(0, 0xfffff, 0x9a, 0xc);
	F.gdt[G_DATA0] = desc(0, 0xfffff, 0x92, 0xc);
	F.gdt[G_CODE3] = desc(0, 0xfffff, 0xfa, 0xc);
	F.gdt[G_DATA3] = desc(0, 0xfffff, 0xf2, 0xc);
	F.gdt[G_CONF0] = desc(0, 0xfffff, 0x9e, 0xc);
	F.gdt[G_XONLY3] = desc(0x10000, 0x12345, 0xf8, 0x4);
	F.gdt[G_TSS] = desc(0x3000, 0x67, 0x89, 0);
	F.gdt[G_LDT] = desc(0x4000, 0x1f, 0x82, 0);
	F.gdt[G_CALLGATE] = 0x0000ec0000080000ull | 0x1234;
	F.gdt[G_INTGATE] = 0x0000ee0000080000ull | 0x1234;
	F.gdt[G_ABSENT3] = desc(0, 0xffff, 0x72, 0x4);
	F.gdt[G_RESERVED] = desc(0, 0xffff, 0xe0, 0);
	F.gdt[G_RODATA3] = desc(0, 0xffff, 0xf0, 0x4);
	F.gdt[G_TSS16BUSY] = desc(0x5000, 0x2b, 0xe3, 0);
	F.gdt[G_TASKGATE] = 0x0000e50000380000ull;
	F.gdt_n = G_COUNT;
	F.ldt[1] = desc(0x20000, 0xfff, 0xf2, 0x4);   /* data DPL 3 */
	F.ldt_n = 2;
	C.eflags = 0x2 | EFLAGS_CF;
}

TestSuite(verify, .init = tables);

/* LAR EAX, ECX (or LSL) with ECX = sel; whether ZF came out set. */
static bool lar_lsl(bool lsl, uint16_t sel, int cpl)
{
	C.cpl = (uint8_t)cpl;
	C.gpr[R_ECX] = 0xdead0000u | sel;
	C.gpr[R_EAX] = 0x5a5a5a5a;
	C.eip = 0x100;
	CODE(0x0f, lsl ? 0x03 : 0x02, 0xc1);
	step_ok(3);
	cr_assert(C.eflags & EFLAGS_CF, "other flags changed");
	if (!(C.eflags & EFLAGS_ZF))
		cr_assert_eq(C.gpr[R_EAX], 0x5a5a5a5a, "destination written");
	return C.eflags & EFLAGS_ZF;
}

static bool lar(uint16_t sel, int cpl) { return lar_lsl(false, sel, cpl); }
static bool lsl(uint16_t sel, int cpl) { return lar_lsl(true, sel, cpl); }

Test(verify, lar_returns_masked_access_rights)
{
	cr_assert(lar(SEL(G_CODE0, 0), 0));
	cr_assert_eq(C.gpr[R_EAX], 0x00c09a00);
	cr_assert(lar(SEL(G_XONLY3, 3), 3));
	cr_assert_eq(C.gpr[R_EAX], 0x0040f800);
	cr_assert(lar(SEL(G_ABSENT3, 3), 3), "P is not checked");
	cr_assert_eq(C.gpr[R_EAX], 0x00407200);
}

Test(verify, lar_16bit_gets_the_low_word)
{
	C.gpr[R_EAX] = 0x12345678;
	C.gpr[R_EDX] = SEL(G_DATA3, 3);
	CODE(0x66, 0x0f, 0x02, 0xc2);           /* lar ax, dx */
	step_ok(4);
	cr_assert(C.eflags & EFLAGS_ZF);
	cr_assert_eq(C.gpr[R_EAX], 0x1234f200);
}

Test(verify, lar_memory_source)
{
	put16(0x2000, SEL(G_DATA0, 0));
	C.gpr[R_ESI] = 0x2000;
	CODE(0x0f, 0x02, 0x06);                 /* lar eax, [esi] */
	step_ok(3);
	cr_assert(C.eflags & EFLAGS_ZF);
	cr_assert_eq(C.gpr[R_EAX], 0x00c09200);
}

Test(verify, lar_lsl_fail_on_null_limit_and_no_ldt)
{
	for (int l = 0; l < 2; l++) {
		cr_assert_not(lar_lsl(l, 0x0000, 0), "null");
		cr_assert_not(lar_lsl(l, 0x0003, 3), "null, RPL 3");
		cr_assert_not(lar_lsl(l, SEL(G_COUNT, 0), 0), "past GDT limit");
		cr_assert_not(lar_lsl(l, LDT_SEL(2, 3), 3), "past LDT limit");
		cr_assert(lar_lsl(l, LDT_SEL(1, 3), 3), "LDT entry");
		F.ldt_n = 0;                    /* no LDT */
		cr_assert_not(lar_lsl(l, LDT_SEL(1, 3), 3), "no LDT");
		F.ldt_n = 2;
	}
}

Test(verify, lar_lsl_privilege)
{
	for (int l = 0; l < 2; l++) {
		cr_assert_not(lar_lsl(l, SEL(G_CODE0, 3), 3), "DPL < CPL");
		cr_assert_not(lar_lsl(l, SEL(G_DATA0, 3), 0), "DPL < RPL");
		cr_assert_not(lar_lsl(l, SEL(G_TSS, 0), 3), "system, DPL < CPL");
		cr_assert(lar_lsl(l, SEL(G_CONF0, 3), 3), "conforming: any");
		cr_assert(lar_lsl(l, SEL(G_DATA3, 0), 0), "DPL 3 at CPL 0");
		cr_assert(lar_lsl(l, SEL(G_CODE0, 0), 0));
	}
}

Test(verify, lar_system_types)
{
	cr_assert(lar(SEL(G_TSS, 0), 0));
	cr_assert_eq(C.gpr[R_EAX], 0x00008900);
	cr_assert(lar(SEL(G_LDT, 0), 0));
	cr_assert(lar(SEL(G_TSS16BUSY, 3), 3));
	cr_assert(lar(SEL(G_CALLGATE, 3), 3));
	cr_assert_eq(C.gpr[R_EAX], 0x0000ec00);
	cr_assert(lar(SEL(G_TASKGATE, 3), 3));
	cr_assert_not(lar(SEL(G_INTGATE, 3), 3), "interrupt gate");
	cr_assert_not(lar(SEL(G_RESERVED, 3), 3), "reserved type 0");
}

Test(verify, lsl_system_types)
{
	cr_assert(lsl(SEL(G_TSS, 0), 0));
	cr_assert_eq(C.gpr[R_EAX], 0x67);
	cr_assert(lsl(SEL(G_LDT, 0), 0));
	cr_assert_eq(C.gpr[R_EAX], 0x1f);
	cr_assert(lsl(SEL(G_TSS16BUSY, 3), 3));
	cr_assert_eq(C.gpr[R_EAX], 0x2b);
	cr_assert_not(lsl(SEL(G_CALLGATE, 3), 3), "call gate");
	cr_assert_not(lsl(SEL(G_TASKGATE, 3), 3), "task gate");
	cr_assert_not(lsl(SEL(G_INTGATE, 3), 3), "interrupt gate");
	cr_assert_not(lsl(SEL(G_RESERVED, 3), 3), "reserved type 0");
}

Test(verify, lsl_scales_page_granular_limits)
{
	cr_assert(lsl(SEL(G_CODE0, 0), 0));
	cr_assert_eq(C.gpr[R_EAX], 0xffffffff);
	cr_assert(lsl(SEL(G_XONLY3, 3), 3));
	cr_assert_eq(C.gpr[R_EAX], 0x12345, "byte granular");
	cr_assert(lsl(LDT_SEL(1, 3), 3));
	cr_assert_eq(C.gpr[R_EAX], 0xfff);
}

Test(verify, lsl_16bit_truncates)
{
	C.gpr[R_EBX] = 0xaaaaaaaa;
	C.gpr[R_ECX] = SEL(G_XONLY3, 3);
	C.cpl = 3;
	CODE(0x66, 0x0f, 0x03, 0xd9);           /* lsl bx, cx */
	step_ok(4);
	cr_assert(C.eflags & EFLAGS_ZF);
	cr_assert_eq(C.gpr[R_EBX], 0xaaaa2345);
}

/* VERR (or VERW) CX with CX = sel; whether ZF came out set. */
static bool verify(bool write, uint16_t sel, int cpl)
{
	C.cpl = (uint8_t)cpl;
	C.gpr[R_ECX] = 0xdead0000u | sel;
	C.eflags = 0x2 | EFLAGS_CF | (write ? 0 : EFLAGS_ZF);
	C.eip = 0x100;
	CODE(0x0f, 0x00, write ? 0xe9 : 0xe1);
	step_ok(3);
	cr_assert(C.eflags & EFLAGS_CF, "other flags changed");
	return C.eflags & EFLAGS_ZF;
}

static bool verr(uint16_t sel, int cpl) { return verify(false, sel, cpl); }
static bool verw(uint16_t sel, int cpl) { return verify(true, sel, cpl); }

Test(verify, verr_readable_segments)
{
	cr_assert(verr(SEL(G_DATA3, 3), 3));
	cr_assert(verr(SEL(G_RODATA3, 3), 3));
	cr_assert(verr(SEL(G_CODE3, 3), 3), "readable code");
	cr_assert(verr(SEL(G_CONF0, 3), 3), "conforming readable code");
	cr_assert(verr(SEL(G_ABSENT3, 3), 3), "P is not checked");
	cr_assert(verr(LDT_SEL(1, 3), 3));
	cr_assert_not(verr(SEL(G_XONLY3, 3), 3), "execute-only code");
	cr_assert_not(verr(SEL(G_TSS, 0), 0), "system segment");
	cr_assert_not(verr(SEL(G_CALLGATE, 3), 3), "gate");
}

Test(verify, verw_writable_data_only)
{
	cr_assert(verw(SEL(G_DATA3, 3), 3));
	cr_assert(verw(SEL(G_DATA0, 0), 0));
	cr_assert(verw(LDT_SEL(1, 3), 3));
	cr_assert_not(verw(SEL(G_RODATA3, 3), 3), "read-only data");
	cr_assert_not(verw(SEL(G_CODE3, 3), 3), "code");
	cr_assert_not(verw(SEL(G_CONF0, 3), 3), "conforming code");
	cr_assert_not(verw(SEL(G_LDT, 0), 0), "system segment");
}

Test(verify, verr_verw_fail_on_null_limit_privilege)
{
	for (int w = 0; w < 2; w++) {
		cr_assert_not(verify(w, 0x0000, 0), "null");
		cr_assert_not(verify(w, 0x0002, 0), "null, RPL 2");
		cr_assert_not(verify(w, SEL(G_COUNT, 0), 0), "past GDT limit");
		cr_assert_not(verify(w, LDT_SEL(3, 3), 3), "past LDT limit");
		cr_assert_not(verify(w, SEL(G_DATA0, 0), 3), "DPL < CPL");
		cr_assert_not(verify(w, SEL(G_DATA0, 3), 0), "DPL < RPL");
		F.ldt_n = 0;
		cr_assert_not(verify(w, LDT_SEL(1, 3), 3), "no LDT");
		F.ldt_n = 2;
	}
}

Test(verify, verr_memory_source)
{
	put16(0x2000, SEL(G_DATA3, 3));
	C.gpr[R_EBX] = 0x2000;
	C.cpl = 3;
	CODE(0x0f, 0x00, 0x2b);                 /* verw [ebx] */
	step_ok(3);
	cr_assert(C.eflags & EFLAGS_ZF);
}

Test(verify, faults_leave_state)
{
	C.gpr[R_ECX] = SEL(G_DATA0, 0);
	C.gpr[R_EAX] = 0x5a5a5a5a;
	F.desc_fault = true;                    /* #PF reading the GDT */
	CODE(0x0f, 0x02, 0xc1);                 /* lar eax, ecx */
	step_fault(VEC_PF);
	F.vector = -1;
	CODE(0x0f, 0x00, 0xe1);                 /* verr cx */
	step_fault(VEC_PF);
	F.vector = -1;
	F.desc_fault = false;
	F.limit = 0x2001;
	C.gpr[R_ESI] = 0x2000;
	CODE(0x0f, 0x03, 0x06);                 /* lsl eax, [esi] */
	step_fault(-1);
	CODE(0x0f, 0x00, 0x2e);                 /* verw [esi] */
	step_fault(-1);
}
