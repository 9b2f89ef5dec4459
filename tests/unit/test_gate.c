/*
 * test_gate.c — unit tests of interrupt delivery (vmm/gate.c), IRET
 * (vmm/iret.c) and SYSENTER/SYSEXIT (vmm/sysenter.c) on the fake machine
 * of desc_fixture.h: frames word by word, the TSS stack switch, gate
 * checks, #DF and triple faults, the fixed SYSENTER segments.
 */
#include "tests/unit/desc_fixture.h"

TestSuite(gate, .init = setup);

static enum cpu_result deliver(int vec, enum int_kind kind, bool has_error,
                               uint32_t error)
{
	return cpu_interrupt(&C, &S, &M, vec, kind, has_error, error);
}

/* --- same level ------------------------------------------------------------- */

Test(gate, cpl0_frame_without_error)
{
	uint32_t esp = C.gpr[R_ESP];

	cr_assert_eq(deliver(0x20, INT_EXTERNAL, false, 0), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], esp - 12);
	cr_assert_eq(get32(esp - 12), 0x1234);        /* EIP */
	cr_assert_eq(get32(esp - 8), K_CS);           /* CS */
	cr_assert_eq(get32(esp - 4), 0x202);          /* EFLAGS */
	cr_assert_eq(C.eip, 0x2000);
	cr_assert_eq(C.eflags & EFLAGS_IF, 0);        /* interrupt gate */
	cr_assert_eq(S.cpl, 0);
	cr_assert_eq(mem[GDT_BASE + K_CS + 5] & 1, 1);   /* CS accessed */
}

Test(gate, cpl0_frame_with_error_code)
{
	uint32_t esp = C.gpr[R_ESP];

	C.eflags = 0x302;                              /* TF set */
	cr_assert_eq(deliver(VEC_GP, INT_EXCEPTION, true, 0x1234), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], esp - 16);
	cr_assert_eq(get32(esp - 16), 0x1234);        /* error */
	cr_assert_eq(get32(esp - 12), 0x1234);        /* EIP */
	cr_assert_eq(get32(esp - 4), 0x302);
	cr_assert_eq(C.eip, 0x0D00);
	cr_assert_eq(C.eflags, 0x002);                /* TF and IF cleared */
}

Test(gate, trap_gate_keeps_if)
{
	cr_assert_eq(deliver(0x21, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x2100);
	cr_assert_eq(C.eflags & EFLAGS_IF, EFLAGS_IF);
}

Test(gate, sixteen_bit_gate)
{
	uint32_t esp = C.gpr[R_ESP];

	cr_assert_eq(deliver(0x84, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], esp - 6);
	cr_assert_eq(get16(esp - 6), 0x1234);
	cr_assert_eq(get16(esp - 4), K_CS);
	cr_assert_eq(get16(esp - 2), 0x202);
	cr_assert_eq(C.eip, 0x1234);
	cr_assert_eq(S.seg[SEG_CS].sel, CS16);
	cr_assert_not(C.code32);
}

/* --- privilege change ------------------------------------------------------- */

Test(gate, int80_from_cpl3_switches_to_tss_stack)
{
	uint32_t uesp;

	to_user();
	uesp = C.gpr[R_ESP];
	C.eip = 0x8048000;
	cr_assert_eq(deliver(0x80, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], KSTACK - 20);
	cr_assert_eq(get32(KSTACK - 20), 0x8048000);  /* EIP */
	cr_assert_eq(get32(KSTACK - 16), U_CS);
	cr_assert_eq(get32(KSTACK - 12), 0x202);
	cr_assert_eq(get32(KSTACK - 8), uesp);
	cr_assert_eq(get32(KSTACK - 4), U_DS);
	cr_assert_eq(S.cpl, 0);
	cr_assert_eq(S.seg[SEG_CS].sel, K_CS);
	cr_assert_eq(S.seg[SEG_SS].sel, K_DS);
	cr_assert_eq(S.seg[SEG_DS].sel, U_DS);        /* data segs untouched */
	cr_assert_eq(C.eip, 0x8000);
}

Test(gate, exception_from_cpl3_pushes_error)
{
	to_user();
	cr_assert_eq(deliver(VEC_PF, INT_EXCEPTION, true, 6), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], KSTACK - 24);
	cr_assert_eq(get32(KSTACK - 24), 6);
	cr_assert_eq(get32(KSTACK - 4), U_DS);
}

Test(gate, software_int_through_dpl0_gate_is_gp)
{
	to_user();
	cr_assert_eq(deliver(0x81, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0D00);
	cr_assert_eq(get32(KSTACK - 24), 0x81 * 8 + 2);
	cr_assert_eq(S.cpl, 0);
	/* external interrupts ignore the gate DPL */
	to_user();
	cr_assert_eq(deliver(0x81, INT_EXTERNAL, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x8100);
}

Test(gate, cpl1_target_unsupported)
{
	to_user();
	cr_assert_eq(deliver(0x87, INT_SOFTWARE, false, 0), CPU_UNSUPPORTED);
	cr_assert_eq(S.cpl, 3);
}

Test(gate, null_tss_stack_is_ts)
{
	to_user();
	put32(TSS_BASE + 8, 0);
	/* #TS(EXT) goes through a conforming gate, on the user stack */
	uint32_t uesp = C.gpr[R_ESP];
	cr_assert_eq(deliver(0x20, INT_EXTERNAL, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0A00);
	cr_assert_eq(S.cpl, 3);
	cr_assert_eq(S.seg[SEG_CS].sel, CONF_CS | 3);
	cr_assert_eq(C.gpr[R_ESP], uesp - 16);
	cr_assert_eq(get32(uesp - 16), 1);            /* EXT */
}

Test(gate, tss_ss_dpl_mismatch_is_ts)
{
	to_user();
	put32(TSS_BASE + 8, U_DS & ~3);               /* RPL 0, DPL 3 */
	cr_assert_eq(deliver(0x80, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0A00);
	cr_assert_eq(get32(C.gpr[R_ESP]), U_DS & ~3);
}

/* --- gate checks ------------------------------------------------------------ */

Test(gate, not_present_gate_is_np)
{
	cr_assert_eq(deliver(0x82, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0B00);
	cr_assert_eq(get32(C.gpr[R_ESP]), 0x82 * 8 + 2);
	setup();
	cr_assert_eq(deliver(0x82, INT_EXTERNAL, false, 0), CPU_OK);
	cr_assert_eq(get32(C.gpr[R_ESP]), 0x82 * 8 + 3);
}

Test(gate, idt_limit_is_gp)
{
	cr_assert_eq(deliver(0x90, INT_EXTERNAL, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0D00);
	cr_assert_eq(get32(C.gpr[R_ESP]), 0x90 * 8 + 3);
}

Test(gate, bad_targets)
{
	cr_assert_eq(deliver(0x85, INT_SOFTWARE, false, 0), CPU_OK);  /* null */
	cr_assert_eq(C.eip, 0x0D00);
	cr_assert_eq(get32(C.gpr[R_ESP]), 0);
	setup();
	cr_assert_eq(deliver(0x86, INT_SOFTWARE, false, 0), CPU_OK);  /* DPL 3 */
	cr_assert_eq(get32(C.gpr[R_ESP]), U_CS & ~3);
	setup();
	idt(0x86, K_DS, 0, 0xE, 3, true);                              /* data */
	cr_assert_eq(deliver(0x86, INT_EXTERNAL, false, 0), CPU_OK);
	cr_assert_eq(get32(C.gpr[R_ESP]), K_DS | 1);
	setup();
	idt(0x86, NP_CS, 0, 0xE, 3, true);
	cr_assert_eq(deliver(0x86, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0B00);
	cr_assert_eq(get32(C.gpr[R_ESP]), NP_CS);
}

Test(gate, task_gate_unsupported)
{
	cr_assert_eq(deliver(0x83, INT_SOFTWARE, false, 0), CPU_UNSUPPORTED);
	cr_assert_str_eq(cpu_unsupported_why(), "task gate for vector 131");
	cr_assert_eq(C.eip, 0x1234);
}

/* --- nested faults ---------------------------------------------------------- */

Test(gate, contributory_during_contributory_is_df)
{
	uint32_t esp = C.gpr[R_ESP];

	idt(VEC_GP, K_CS, 0x0D00, 0xE, 0, false);
	cr_assert_eq(deliver(VEC_GP, INT_EXCEPTION, true, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0800);
	cr_assert_eq(C.gpr[R_ESP], esp - 16);
	cr_assert_eq(get32(esp - 16), 0);              /* #DF error code */
	cr_assert_eq(get32(esp - 12), 0x1234);
}

Test(gate, benign_then_contributory_is_serial)
{
	idt(0x03, K_CS, 0x0300, 0xE, 3, false);
	cr_assert_eq(deliver(0x03, INT_EXCEPTION, false, 0), CPU_OK);
	cr_assert_eq(C.eip, 0x0B00);
	cr_assert_eq(get32(C.gpr[R_ESP]), 0x03 * 8 + 3);
}

Test(gate, contributory_during_pf_is_df)
{
	idt(VEC_PF, NP_CS, 0x0E00, 0xE, 0, true);      /* #NP: contributory */
	cr_assert_eq(deliver(VEC_PF, INT_EXCEPTION, true, 2), CPU_OK);
	cr_assert_eq(C.eip, 0x0800);
}

Test(gate, fault_during_df_is_triple)
{
	struct seg_cache cs = S.seg[SEG_CS];

	idt(VEC_GP, K_CS, 0x0D00, 0xE, 0, false);
	idt(VEC_DF, K_CS, 0x0800, 0xE, 0, false);
	cr_assert_eq(deliver(VEC_GP, INT_EXCEPTION, true, 0), CPU_TRIPLE);
	cr_assert_eq(C.eip, 0x1234);
	cr_assert_eq(memcmp(&cs, &S.seg[SEG_CS], sizeof(cs)), 0);
}

Test(gate, unwritable_stack_is_triple)
{
	uint32_t esp = C.gpr[R_ESP];

	fail_lo = esp - 0x1000;
	fail_hi = esp;
	cr_assert_eq(deliver(VEC_PF, INT_EXCEPTION, true, 2), CPU_TRIPLE);
	cr_assert_eq(C.gpr[R_ESP], esp);
}

Test(gate, stack_limit_during_delivery)
{
	uint32_t esp;

	set_seg(SEG_SS, SMALL_SS);
	C.gpr[R_ESP] = 8;                /* room for 8 bytes only */
	cr_assert_eq(deliver(0x20, INT_EXTERNAL, false, 0), CPU_TRIPLE);
	C.gpr[R_ESP] = 0x100;
	cr_assert_eq(deliver(0x20, INT_EXTERNAL, false, 0), CPU_OK);
	esp = C.gpr[R_ESP];
	cr_assert_eq(esp, 0x100 - 12);
	cr_assert_eq(get32(0x10000 + esp), 0x1234);
}

/* --- IRET ------------------------------------------------------------------- */

static void frame(uint32_t at, const uint32_t *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		put32(at + 4 * i, w[i]);
}

Test(gate, iret_same_level)
{
	uint32_t esp = C.gpr[R_ESP];

	C.eflags = 0x002;
	frame(esp, (uint32_t[]){ 0x5555, K_CS, 0x3246 }, 3);
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_OK);
	cr_assert_eq(C.eip, 0x5555);
	cr_assert_eq(C.eflags, 0x3246);                /* IF, IOPL at CPL 0 */
	cr_assert_eq(C.gpr[R_ESP], esp + 12);
}

Test(gate, iret_to_cpl3_nulls_kernel_data)
{
	uint32_t esp = C.gpr[R_ESP];

	set_seg(SEG_ES, U_DS);
	set_seg(SEG_GS, CONF_CS);
	frame(esp, (uint32_t[]){ 0x8048000, U_CS, 0x202, USTACK - 4, U_DS }, 5);
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_OK);
	cr_assert_eq(S.cpl, 3);
	cr_assert_eq(C.eip, 0x8048000);
	cr_assert_eq(C.gpr[R_ESP], USTACK - 4);
	cr_assert_eq(S.seg[SEG_SS].sel, U_DS);
	cr_assert_eq(S.seg[SEG_CS].sel, U_CS);
	cr_assert(C.code32);
	cr_assert_eq(S.seg[SEG_DS].sel, 0);             /* DPL 0 data */
	cr_assert_not(desc_usable(&S.seg[SEG_DS]));
	cr_assert_eq(S.seg[SEG_ES].sel, U_DS);
	cr_assert_eq(S.seg[SEG_GS].sel, CONF_CS);       /* conforming code kept */
	cr_assert_eq(mem[GDT_BASE + U_DS + 5] & 1, 1);  /* SS accessed */
}

Test(gate, iret_eflags_rules_at_cpl3)
{
	to_user();
	uint32_t esp = C.gpr[R_ESP];

	/* IOPL 0 < CPL: IF and IOPL keep their values */
	frame(esp, (uint32_t[]){ 0x100, U_CS, 0x3003 }, 3);
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_OK);
	cr_assert_eq(C.eflags, 0x203);
	/* IOPL 3: IF follows the image, IOPL still not */
	C.eflags = 0x3202;
	frame(C.gpr[R_ESP], (uint32_t[]){ 0x100, U_CS, 0x0002 }, 3);
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_OK);
	cr_assert_eq(C.eflags, 0x3002);
}

Test(gate, iret_unsupported_paths)
{
	uint32_t esp = C.gpr[R_ESP];

	frame(esp, (uint32_t[]){ 0x100, K_CS, 0x20002 }, 3);
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_UNSUPPORTED);
	cr_assert_str_eq(F.why, "virtual-8086 mode");
	cr_assert_eq(C.gpr[R_ESP], esp);
	C.eflags |= EFLAGS_NT;
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_UNSUPPORTED);
	cr_assert_str_eq(F.why, "task return");
}

Test(gate, iret_faults_change_nothing)
{
	uint32_t esp;

	to_user();
	esp = C.gpr[R_ESP];
	frame(esp, (uint32_t[]){ 0x100, K_CS, 0x202 }, 3);     /* RPL < CPL */
	expect_fault(cpu_iret(&C, &S, &M, 4, &F), VEC_GP, K_CS);
	frame(esp, (uint32_t[]){ 0x100, 0, 0x202 }, 3);
	expect_fault(cpu_iret(&C, &S, &M, 4, &F), VEC_GP, 0);
	frame(esp, (uint32_t[]){ 0x100, CS16 | 3, 0x202 }, 3);   /* DPL != RPL */
	expect_fault(cpu_iret(&C, &S, &M, 4, &F), VEC_GP, CS16);
	S.cpl = 0;
	frame(esp, (uint32_t[]){ 0x10000, CS16, 0x202 }, 3);     /* past limit */
	expect_fault(cpu_iret(&C, &S, &M, 4, &F), VEC_GP, 0);
	frame(esp, (uint32_t[]){ 0x100, U_CS, 0x202, 0x100, K_DS }, 5);
	expect_fault(cpu_iret(&C, &S, &M, 4, &F), VEC_GP, K_DS);
	cr_assert_eq(C.gpr[R_ESP], esp);
	cr_assert_eq(C.eip, 0x1234);
	cr_assert_eq(S.cpl, 0);
}

Test(gate, iret16)
{
	uint32_t esp = C.gpr[R_ESP];
	uint16_t w[] = { 0x0042, CS16, 0x0246 };

	memcpy(mem + esp, w, sizeof(w));
	cr_assert_eq(cpu_iret(&C, &S, &M, 2, &F), CPU_OK);
	cr_assert_eq(C.eip, 0x42);
	cr_assert_eq(C.gpr[R_ESP], esp + 6);
	cr_assert_eq(C.eflags, 0x246);
	cr_assert_not(C.code32);
}

Test(gate, int_then_iret_round_trip)
{
	struct cpu_sys before_s;
	struct emu_cpu before_c;

	to_user();
	C.eip = 0x8048010;
	before_s = S;
	before_c = C;
	cr_assert_eq(deliver(0x80, INT_SOFTWARE, false, 0), CPU_OK);
	cr_assert_eq(cpu_iret(&C, &S, &M, 4, &F), CPU_OK);
	cr_assert_eq(C.eip, before_c.eip);
	cr_assert_eq(C.gpr[R_ESP], before_c.gpr[R_ESP]);
	cr_assert_eq(C.eflags, before_c.eflags);
	cr_assert_eq(S.cpl, 3);
	cr_assert_eq(S.seg[SEG_CS].sel, before_s.seg[SEG_CS].sel);
	cr_assert_eq(S.seg[SEG_SS].sel, before_s.seg[SEG_SS].sel);
	cr_assert_eq(S.seg[SEG_DS].sel, before_s.seg[SEG_DS].sel);
}

/* --- SYSENTER / SYSEXIT (vmm/sysenter.c) ------------------------------------ */

/* The flat caches both load: base 0, 4 GiB, 32-bit, present, S. */
static void check_flat(enum seg seg, uint16_t sel, unsigned dpl, unsigned type)
{
	const struct seg_cache *c = &S.seg[seg];

	cr_assert_eq(c->sel, sel, "selector %#x, want %#x", c->sel, sel);
	cr_assert_eq(c->base, 0);
	cr_assert_eq(c->limit, 0xFFFFFFFFu);
	cr_assert_eq(c->attr, type | A_S | A_DPL(dpl) | A_P | A_DB | A_G,
	             "attr %#x", c->attr);
	cr_assert_eq(C.seg_base[seg], 0);
}

Test(gate, sysenter_from_cpl3)
{
	unsigned char before[MEM_SIZE];

	to_user();
	C.eip = 0x8048000;
	C.eflags = 0x20000 | 0x10000 | 0x4000 | 0x0ED7; /* VM RF NT, IF, flags */
	C.gpr[R_EAX] = 0x1111;
	C.gpr[R_ECX] = 0x2222;
	C.gpr[R_EDX] = 0x3333;
	memcpy(before, mem, sizeof(before));
	/* RPL bits of the MSR are ignored; CS 0x60 has no descriptor at all */
	cr_assert_eq(cpu_sysenter(&C, &S, 0x63, 0xC1000FF0u, 0xC0102030u, &F),
	             CPU_OK);
	cr_assert_eq(S.cpl, 0);
	check_flat(SEG_CS, 0x60, 0, 0xB);
	check_flat(SEG_SS, 0x68, 0, 0x3);
	cr_assert(C.code32);
	cr_assert_eq(C.eip, 0xC0102030u);
	cr_assert_eq(C.gpr[R_ESP], 0xC1000FF0u);
	cr_assert_eq(C.eflags, 0x4000 | 0x0CD7, "EFLAGS %#x", C.eflags);
	cr_assert_eq(C.gpr[R_EAX], 0x1111);
	cr_assert_eq(C.gpr[R_ECX], 0x2222);
	cr_assert_eq(C.gpr[R_EDX], 0x3333);
	cr_assert_eq(S.seg[SEG_DS].sel, U_DS, "data segments stay");
	cr_assert_arr_eq(mem, before, sizeof(before), "no descriptor touched");
}

Test(gate, sysenter_needs_sysenter_cs)
{
	struct emu_cpu c0;
	struct cpu_sys s0;

	to_user();
	c0 = C;
	s0 = S;
	expect_fault(cpu_sysenter(&C, &S, 0, 0x1000, 0x2000, &F), VEC_GP, 0);
	F = (struct cpu_fault){ .vector = -1 };
	expect_fault(cpu_sysenter(&C, &S, 3, 0x1000, 0x2000, &F), VEC_GP, 0);
	cr_assert_arr_eq(&C, &c0, sizeof(C));
	cr_assert_arr_eq(&S, &s0, sizeof(S));
	S.cr0 = 0;                                     /* real mode */
	cr_assert_eq(cpu_sysenter(&C, &S, 0x08, 0x1000, 0x2000, &F), CPU_FAULT);
}

Test(gate, sysexit_to_cpl3)
{
	C.gpr[R_ECX] = 0xBFFFF000u;
	C.gpr[R_EDX] = 0x0804A000u;
	C.eflags = 0x246;
	cr_assert_eq(cpu_sysexit(&C, &S, 0x61, &F), CPU_OK);
	cr_assert_eq(S.cpl, 3);
	/* (0x61 + 16) | 3 and (0x61 + 24) | 3: the MSR's low bits count */
	check_flat(SEG_CS, 0x73, 3, 0xB);
	check_flat(SEG_SS, 0x7B, 3, 0x3);
	cr_assert_eq(C.eip, 0x0804A000u);
	cr_assert_eq(C.gpr[R_ESP], 0xBFFFF000u);
	cr_assert_eq(C.eflags, 0x246);
	cr_assert_eq(S.seg[SEG_DS].sel, K_DS, "data segments are not nulled");
}

Test(gate, sysexit_faults)
{
	struct emu_cpu c0 = C;

	expect_fault(cpu_sysexit(&C, &S, 0x02, &F), VEC_GP, 0);
	to_user();
	c0 = C;
	F = (struct cpu_fault){ .vector = -1 };
	expect_fault(cpu_sysexit(&C, &S, 0x60, &F), VEC_GP, 0);
	cr_assert_arr_eq(&C, &c0, sizeof(C));
	cr_assert_eq(S.cpl, 3);
}

Test(gate, sysenter_sysexit_round_trip)
{
	to_user();
	C.eip = 0x8048010;
	C.gpr[R_ECX] = USTACK - 0x80;
	C.gpr[R_EDX] = 0x8048100;
	cr_assert_eq(cpu_sysenter(&C, &S, 0x60, KSTACK, 0x5000, &F), CPU_OK);
	cr_assert_eq(cpu_sysexit(&C, &S, 0x60, &F), CPU_OK);
	cr_assert_eq(S.cpl, 3);
	cr_assert_eq(S.seg[SEG_CS].sel, 0x73);
	cr_assert_eq(S.seg[SEG_SS].sel, 0x7B);
	cr_assert_eq(C.eip, 0x8048100);
	cr_assert_eq(C.gpr[R_ESP], USTACK - 0x80);
	cr_assert_eq(C.eflags & EFLAGS_IF, 0, "SYSEXIT leaves IF as it is");
}
