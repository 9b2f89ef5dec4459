/*
 * test_emulate_sensitive.c — unit tests of the sensitive-but-
 * unprivileged instructions (vmm/emulate_sensitive.c: PUSHF/POPF, SGDT/
 * SIDT/SLDT/STR/SMSW, MOV r/m Sreg, PUSH Sreg, CPUID, RDTSC) and of the
 * near indirect branches (vmm/emulate_branch.c), on the fake machine of
 * sensitive_fixture.h.  Expected values follow the SDM vol. 2 pseudo-
 * code, worked out by hand.
 */
#include "tests/unit/sensitive_fixture.h"

#define IOPL(n) ((uint32_t)(n) << 12)
#define F_IF 0x200u
#define F_RF 0x10000u
#define F_VM 0x20000u
#define F_AC 0x40000u
#define F_VIF 0x80000u
#define F_VIP 0x100000u
#define F_ID 0x200000u

TestSuite(sensitive, .init = setup);

/* ---- PUSHF / POPF ---- */

Test(sensitive, pushfd_clears_vm_and_rf_in_the_image)
{
	C.eflags = 0x2 | EFLAGS_CF | F_IF | IOPL(3) | F_RF | F_VM | F_AC;
	CODE(0x9c);
	step_ok(1);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffc);
	cr_assert_eq(get32(0x7ffc), 0x2 | EFLAGS_CF | F_IF | IOPL(3) | F_AC);
	cr_assert_eq(C.eflags & (F_RF | F_VM), F_RF | F_VM, "EFLAGS changed");
}

Test(sensitive, pushf_16bit_writes_two_bytes)
{
	put32(0x7ffc, 0xaaaaaaaa);
	C.eflags = 0x2 | F_IF | EFLAGS_ZF | F_AC;
	CODE(0x66, 0x9c);
	step_ok(2);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffe);
	cr_assert_eq(get16(0x7ffe), 0x242);
	cr_assert_eq(get16(0x7ffc), 0xaaaa);
}

Test(sensitive, pushf_on_16bit_stack_uses_sp)
{
	C.ss16 = true;
	C.seg_base[SEG_SS] = 0x1000;
	C.gpr[R_ESP] = 0x56780010;
	CODE(0x9c);
	step_ok(1);
	cr_assert_eq(C.gpr[R_ESP], 0x5678000c);
	cr_assert_eq(get32(0x100c), 0x2);
}

Test(sensitive, pushf_faults_leave_state)
{
	F.limit = 0x7ffe;                       /* the write faults */
	CODE(0x9c);
	step_fault(-1);
	F.limit = MEM_SIZE;
	F.seg_limit[SEG_SS] = 0x7ffd;           /* slot 7ffc..7fff */
	step_fault(VEC_SS);
	cr_assert_eq(F.error, 0);
	cr_assert_eq(get32(0x7ffc), 0);
}

/* What POPFD makes of EFLAGS `before` popping `val` at `cpl`. */
static uint32_t popfd(uint32_t before, uint32_t val, int cpl)
{
	C.eflags = before;
	C.cpl = (uint8_t)cpl;
	C.gpr[R_ESP] = 0x8000;
	put32(0x8000, val);
	C.eip = 0x100;
	CODE(0x9d);
	step_ok(1);
	cr_assert_eq(C.gpr[R_ESP], 0x8004);
	return C.eflags;
}

Test(sensitive, popfd_cpl0_changes_if_and_iopl)
{
	/* Everything POPF may set: CF PF AF ZF SF TF IF DF OF IOPL NT AC ID. */
	cr_assert_eq(popfd(0x2, 0xffffffff, 0), 0x00247fd7);
	/* VM VIF VIP kept, RF cleared, reserved bits and bit 1 as they must. */
	cr_assert_eq(popfd(0x2 | F_VIF | F_VIP | F_RF | IOPL(3) | F_IF, 0, 0),
	             0x2 | F_VIF | F_VIP);
}

Test(sensitive, popfd_cpl_le_iopl_changes_if_not_iopl)
{
	cr_assert_eq(popfd(0x2 | IOPL(3) | F_IF, 0, 3), 0x2 | IOPL(3));
	cr_assert_eq(popfd(0x2 | IOPL(1), F_IF | IOPL(3), 1),
	             0x2 | IOPL(1) | F_IF);
}

Test(sensitive, popfd_cpl_gt_iopl_changes_neither_silently)
{
	cr_assert_eq(popfd(0x2 | F_IF, IOPL(3) | EFLAGS_CF, 3),
	             0x2 | F_IF | EFLAGS_CF);
	cr_assert_eq(popfd(0x2 | IOPL(1), F_IF | F_AC | F_ID, 2),
	             0x2 | IOPL(1) | F_AC | F_ID);
	cr_assert_eq(popfd(0x2, F_IF, 3), 0x2);
}

Test(sensitive, popf_setting_if_makes_no_shadow)
{
	cr_assert_eq(popfd(0x2, F_IF, 0), 0x2 | F_IF);
	cr_assert_eq(C.sti_shadow, false);
}

Test(sensitive, popf_16bit_keeps_the_upper_half)
{
	C.eflags = 0x2 | F_RF | F_AC | F_ID;
	put32(0x8000, 0xffffffff);
	CODE(0x66, 0x9d);
	step_ok(2);
	cr_assert_eq(C.gpr[R_ESP], 0x8002);
	cr_assert_eq(C.eflags, 0x7fd7 | F_RF | F_AC | F_ID);
}

Test(sensitive, popf_16bit_at_cpl3_keeps_if_and_iopl)
{
	C.cpl = 3;
	C.eflags = 0x2 | F_IF | IOPL(2);
	put16(0x8000, 0x0001);
	CODE(0x66, 0x9d);
	step_ok(2);
	cr_assert_eq(C.eflags, 0x2 | F_IF | IOPL(2) | EFLAGS_CF);
}

Test(sensitive, popf_16bit_stack_wraps_sp)
{
	C.ss16 = true;
	C.gpr[R_ESP] = 0x1234fffe;
	put16(0xfffe, 0x0041);                  /* ZF, CF */
	CODE(0x66, 0x9d);
	step_ok(2);
	cr_assert_eq(C.gpr[R_ESP], 0x12340000);
	cr_assert_eq(C.eflags, 0x43);
}

Test(sensitive, popf_faults_leave_state)
{
	C.eflags = 0x2 | F_IF;
	put32(0x8000, 0);
	F.limit = 0x8002;
	CODE(0x9d);
	step_fault(-1);
	F.limit = MEM_SIZE;
	F.seg_limit[SEG_SS] = 0x8002;
	step_fault(VEC_SS);
}

/* ---- stores of the system registers ---- */

Test(sensitive, sgdt_sidt_store_limit_and_base)
{
	F.gdtr_base = 0xc0123456;
	F.gdtr_limit = 0x27;
	F.idtr_base = 0xc0abcdef;
	F.idtr_limit = 0x7ff;
	C.cpl = 3;                              /* no UMIP: any CPL */
	C.gpr[R_EBX] = 0x2000;
	CODE(0x0f, 0x01, 0x03);                 /* sgdt [ebx] */
	step_ok(3);
	cr_assert_eq(get16(0x2000), 0x27);
	cr_assert_eq(get32(0x2002), 0xc0123456);
	C.seg_base[SEG_SS] = 0x100;
	C.gpr[R_EBP] = 0x3000;
	CODE(0x0f, 0x01, 0x4d, 0x10);           /* sidt [ebp+16] */
	step_ok(4);
	cr_assert_eq(get16(0x3110), 0x7ff);
	cr_assert_eq(get32(0x3112), 0xc0abcdef);
}

Test(sensitive, sgdt_16bit_stores_the_full_base)
{
	F.gdtr_base = 0xc0123456;
	F.gdtr_limit = 0xffff;
	put32(0x2004, 0xaaaaaaaa);
	C.gpr[R_EAX] = 0x2000;
	CODE(0x66, 0x0f, 0x01, 0x00);           /* o16 sgdt [eax] */
	step_ok(4);
	cr_assert_eq(get16(0x2000), 0xffff);
	cr_assert_eq(get32(0x2002), 0xc0123456);
	cr_assert_eq(get16(0x2006), 0xaaaa, "wrote past 6 bytes");
}

Test(sensitive, sgdt_fault_leaves_state)
{
	F.limit = 0x2005;
	C.gpr[R_EAX] = 0x2000;
	CODE(0x0f, 0x01, 0x00);
	step_fault(-1);
}

Test(sensitive, sldt_str_registers_and_memory)
{
	F.ldtr = 0x28;
	F.tr = 0x30;
	C.gpr[R_ECX] = 0xffffffff;
	CODE(0x0f, 0x00, 0xc1);                 /* sldt ecx */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0x28, "zero-extended");
	C.gpr[R_ECX] = 0xffffffff;
	CODE(0x66, 0x0f, 0x00, 0xc9);           /* str cx */
	step_ok(4);
	cr_assert_eq(C.gpr[R_ECX], 0xffff0030);
	put32(0x2000, 0xaaaaaaaa);
	C.gpr[R_ESI] = 0x2000;
	CODE(0x0f, 0x00, 0x0e);                 /* str [esi] */
	step_ok(3);
	cr_assert_eq(get32(0x2000), 0xaaaa0030, "m16 at any operand size");
	C.cpl = 3;
	CODE(0x0f, 0x00, 0x06);                 /* sldt [esi] */
	step_ok(3);
	cr_assert_eq(get32(0x2000), 0xaaaa0028);
}

Test(sensitive, smsw_r32_gets_cr0_r16_m16_the_low_word)
{
	F.cr0 = 0x80050033;
	C.cpl = 3;
	CODE(0x0f, 0x01, 0xe2);                 /* smsw edx */
	step_ok(3);
	cr_assert_eq(C.gpr[R_EDX], 0x80050033);
	C.gpr[R_EAX] = 0x12345678;
	CODE(0x66, 0x0f, 0x01, 0xe0);           /* smsw ax */
	step_ok(4);
	cr_assert_eq(C.gpr[R_EAX], 0x12340033);
	put32(0x2000, 0xaaaaaaaa);
	C.gpr[R_EDI] = 0x2000;
	CODE(0x0f, 0x01, 0x27);                 /* smsw [edi] */
	step_ok(3);
	cr_assert_eq(get32(0x2000), 0xaaaa0033);
}

Test(sensitive, sldt_memory_fault_leaves_state)
{
	F.limit = 0x2001;
	C.gpr[R_ESI] = 0x2000;
	CODE(0x0f, 0x00, 0x06);
	step_fault(-1);
}

/* ---- segment registers: the guest's selectors ---- */

Test(sensitive, mov_from_sreg)
{
	F.sel[SEG_DS] = 0x2b;
	F.sel[SEG_FS] = 0x53;
	F.sel[SEG_SS] = 0x10;
	C.gpr[R_EAX] = 0xffffffff;
	CODE(0x8c, 0xd8);                       /* mov eax, ds */
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0x2b, "zero-extended");
	C.gpr[R_ECX] = 0xffffffff;
	CODE(0x66, 0x8c, 0xe1);                 /* mov cx, fs */
	step_ok(3);
	cr_assert_eq(C.gpr[R_ECX], 0xffff0053);
	put32(0x2004, 0xaaaaaaaa);
	C.gpr[R_EAX] = 0x2000;
	CODE(0x8c, 0x50, 0x04);                 /* mov [eax+4], ss */
	step_ok(3);
	cr_assert_eq(get32(0x2004), 0xaaaa0010);
}

Test(sensitive, push_sreg_32bit_moves_esp_by_4_writes_2)
{
	static const struct { uint8_t b[2]; unsigned n; enum seg seg; } t[] = {
		{ { 0x06 }, 1, SEG_ES }, { { 0x0e }, 1, SEG_CS },
		{ { 0x16 }, 1, SEG_SS }, { { 0x1e }, 1, SEG_DS },
		{ { 0x0f, 0xa0 }, 2, SEG_FS }, { { 0x0f, 0xa8 }, 2, SEG_GS },
	};

	for (unsigned s = 0; s < SEG_COUNT; s++)
		F.sel[s] = (uint16_t)(0x100 + s * 8 + 3);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t esp = C.gpr[R_ESP];

		put32(esp - 4, 0xaaaaaaaa);
		place(t[i].b, t[i].n);
		step_ok(t[i].n);
		cr_assert_eq(C.gpr[R_ESP], esp - 4, "case %zu", i);
		cr_assert_eq(get32(esp - 4), 0xaaaa0000u | F.sel[t[i].seg],
		             "case %zu: 0x%x", i, get32(esp - 4));
	}
}

Test(sensitive, push_sreg_16bit)
{
	F.sel[SEG_CS] = 0x1b;
	CODE(0x66, 0x0e);                       /* o16 push cs */
	step_ok(2);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffe);
	cr_assert_eq(get16(0x7ffe), 0x1b);
	C.code32 = false;
	C.ss16 = true;
	C.gpr[R_ESP] = 0xffff0002;
	F.sel[SEG_GS] = 0x33;
	C.eip = 0x200;
	CODE(0x0f, 0xa8);                       /* push gs, 16-bit code */
	step_ok(2);
	cr_assert_eq(C.gpr[R_ESP], 0xffff0000);
	cr_assert_eq(get16(0), 0x33);
}

Test(sensitive, push_sreg_faults_leave_state)
{
	F.limit = 0x7ffd;
	CODE(0x1e);
	step_fault(-1);
	F.limit = MEM_SIZE;
	F.seg_limit[SEG_SS] = 0x7ffe;
	step_fault(VEC_SS);
}

/* ---- CPUID, RDTSC ---- */

Test(sensitive, cpuid_passes_eax_ecx_fills_four)
{
	C.gpr[R_EAX] = 1;
	C.gpr[R_ECX] = 7;
	C.cpl = 3;
	CODE(0x0f, 0xa2);
	step_ok(2);
	cr_assert_eq(F.cpuid_leaf, 1);
	cr_assert_eq(F.cpuid_subleaf, 7);
	cr_assert_eq(C.gpr[R_EAX], 16);
	cr_assert_eq(C.gpr[R_EBX], 17);
	cr_assert_eq(C.gpr[R_ECX], 18);
	cr_assert_eq(C.gpr[R_EDX], 19);
}

Test(sensitive, rdtsc_gives_edx_eax)
{
	F.tsc = 0x123456789abcdef0ull;
	F.cr4 = 0x4;                            /* TSD: CPL 0 may still */
	CODE(0x0f, 0x31);
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 0x9abcdef0);
	cr_assert_eq(C.gpr[R_EDX], 0x12345678);
	F.cr4 = 0;
	C.cpl = 3;
	F.tsc = 5;
	CODE(0x0f, 0x31);
	step_ok(2);
	cr_assert_eq(C.gpr[R_EAX], 5);
	cr_assert_eq(C.gpr[R_EDX], 0);
}

Test(sensitive, rdtsc_tsd_at_cpl3_is_gp0)
{
	F.cr4 = 0x4;
	C.cpl = 3;
	C.gpr[R_EAX] = 0x11;
	C.gpr[R_EDX] = 0x22;
	CODE(0x0f, 0x31);
	step_fault(EMU_VEC_GP);
	cr_assert_eq(F.error, 0);
}

Test(sensitive, unsupported_without_sys)
{
	static const struct emu_ops no_sys = {
		.read = fake_read, .write = fake_write, .raise = fake_raise,
	};
	struct insn in;

	CODE(0x9c);
	cr_assert_eq(emu_step(&C, &no_sys, &F, &in), EMU_UNSUPPORTED);
	CODE(0xc3);
	cr_assert_eq(emu_step(&C, &no_sys, &F, &in), EMU_UNSUPPORTED);
	cr_assert_eq(C.eip, 0x100);
	cr_assert_eq(C.gpr[R_ESP], 0x8000);
}

/* ---- near RET, JMP r/m, CALL r/m ---- */

Test(sensitive, ret_pops_eip)
{
	put32(0x8000, 0x1234);
	CODE(0xc3);
	step_ok_at(0x1234);
	cr_assert_eq(C.gpr[R_ESP], 0x8004);
}

Test(sensitive, ret_imm16_releases_more)
{
	put32(0x8000, 0x2000);
	CODE(0xc2, 0x08, 0x00);                 /* ret 8 */
	step_ok_at(0x2000);
	cr_assert_eq(C.gpr[R_ESP], 0x800c);
}

Test(sensitive, ret_16bit_operand_pops_ip)
{
	put32(0x8000, 0xbeef1234);
	CODE(0x66, 0xc3);
	step_ok_at(0x1234);
	cr_assert_eq(C.gpr[R_ESP], 0x8002);
}

Test(sensitive, ret_16bit_code_and_stack)
{
	C.code32 = false;
	C.ss16 = true;
	C.gpr[R_ESP] = 0xabcdfffc;
	put16(0xfffc, 0x4321);
	CODE(0xc2, 0x02, 0x00);                 /* ret 2 */
	step_ok_at(0x4321);
	cr_assert_eq(C.gpr[R_ESP], 0xabcd0000, "SP wraps, ESP's top kept");
}

Test(sensitive, ret_faults_leave_state)
{
	put32(0x8000, 0x1234);
	CODE(0xc3);
	F.seg_limit[SEG_CS] = 0x1233;           /* target past CS limit */
	step_fault(EMU_VEC_GP);
	cr_assert_eq(F.error, 0);
	F.vector = -1;
	F.seg_limit[SEG_CS] = 0xffffffff;
	F.seg_limit[SEG_SS] = 0x8002;
	step_fault(VEC_SS);
	F.vector = -1;
	F.seg_limit[SEG_SS] = 0xffffffff;
	F.limit = 0x8003;
	step_fault(-1);
}

Test(sensitive, jmp_register_and_memory)
{
	C.gpr[R_EAX] = 0x3000;
	CODE(0xff, 0xe0);                       /* jmp eax */
	step_ok_at(0x3000);
	put32(0x2004, 0x4000);
	C.gpr[R_EBX] = 0x2000;
	CODE(0xff, 0x63, 0x04);                 /* jmp [ebx+4] */
	step_ok_at(0x4000);
	C.gpr[R_EAX] = 0x12345678;
	CODE(0x66, 0xff, 0xe0);                 /* jmp ax */
	step_ok_at(0x5678);
	cr_assert_eq(C.gpr[R_ESP], 0x8000);
}

Test(sensitive, jmp_faults_leave_state)
{
	C.gpr[R_EAX] = 0x3000;
	F.seg_limit[SEG_CS] = 0x2fff;
	CODE(0xff, 0xe0);
	step_fault(EMU_VEC_GP);
	F.vector = -1;
	F.seg_limit[SEG_CS] = 0xffffffff;
	F.limit = 0x2002;
	C.gpr[R_EBX] = 0x2000;
	CODE(0xff, 0x23);                       /* jmp [ebx] */
	step_fault(-1);
}

Test(sensitive, call_pushes_next_eip)
{
	C.gpr[R_EAX] = 0x3000;
	CODE(0xff, 0xd0);                       /* call eax */
	step_ok_at(0x3000);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffc);
	cr_assert_eq(get32(0x7ffc), 0x102);
}

Test(sensitive, call_reads_the_target_before_pushing)
{
	put32(0x8004, 0x5000);
	CODE(0xff, 0x54, 0x24, 0x04);           /* call [esp+4] */
	step_ok_at(0x5000);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffc);
	cr_assert_eq(get32(0x7ffc), 0x104);
}

Test(sensitive, call_16bit_operand_pushes_ip)
{
	put32(0x7ffc, 0xaaaaaaaa);
	C.gpr[R_ECX] = 0xffff6000;
	CODE(0x66, 0xff, 0xd1);                 /* call cx */
	step_ok_at(0x6000);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffe);
	cr_assert_eq(get32(0x7ffc), 0x0103aaaa);
}

Test(sensitive, call_16bit_code)
{
	C.code32 = false;
	C.ss16 = true;
	C.gpr[R_ESP] = 0x0100;
	C.gpr[R_EBX] = 0x2000;
	put16(0x2000, 0x0700);
	CODE(0xff, 0x17);                       /* call [bx] */
	step_ok_at(0x0700);
	cr_assert_eq(C.gpr[R_ESP], 0x00fe);
	cr_assert_eq(get16(0x00fe), 0x102);
}

Test(sensitive, call_faults_leave_state_and_stack)
{
	C.gpr[R_EAX] = 0x3000;
	put32(0x7ffc, 0xaaaaaaaa);
	CODE(0xff, 0xd0);
	F.seg_limit[SEG_CS] = 0x2fff;
	step_fault(EMU_VEC_GP);
	F.vector = -1;
	F.seg_limit[SEG_CS] = 0xffffffff;
	F.seg_limit[SEG_SS] = 0x7ffe;
	step_fault(VEC_SS);
	F.vector = -1;
	F.seg_limit[SEG_SS] = 0xffffffff;
	F.limit = 0x7ffe;
	step_fault(-1);
	cr_assert_eq(get32(0x7ffc), 0xaaaaaaaa);
}

/* ---- PUSH/POP r/m: data ops, for accesses the host could not make ---- */

static const struct emu_ops data_ops = {
	.read = fake_read, .write = fake_write, .raise = fake_raise,
	.sys = &sys, .data = true,
};

Test(sensitive, push_rm_reads_then_pushes)
{
	put32(0x5000, 0xcafef00d);
	C.gpr[R_EAX] = 0x5000;
	CODE(0xff, 0x30);                       /* push [eax] */
	cr_assert_eq(emu_step(&C, &data_ops, &F, NULL), EMU_OK);
	cr_assert_eq(C.eip, 0x102);
	cr_assert_eq(C.gpr[R_ESP], 0x7ffc);
	cr_assert_eq(get32(0x7ffc), 0xcafef00d);
	put32(0x7ffc, 0x11);
	CODE(0xff, 0x34, 0x24);                 /* push [esp]: the old top */
	cr_assert_eq(emu_step(&C, &data_ops, &F, NULL), EMU_OK);
	cr_assert_eq(get32(0x7ff8), 0x11);
	/* without data ops it is not the emulator's */
	CODE(0xff, 0x30);
	cr_assert_eq(emu_step(&C, &ops, &F, NULL), EMU_UNSUPPORTED);
}

Test(sensitive, pop_rm_addresses_after_the_pop)
{
	put32(0x8000, 0xabcd1234);
	CODE(0x8f, 0x44, 0x24, 0x04);           /* pop [esp+4] */
	cr_assert_eq(emu_step(&C, &data_ops, &F, NULL), EMU_OK);
	cr_assert_eq(C.gpr[R_ESP], 0x8004);
	cr_assert_eq(get32(0x8008), 0xabcd1234, "ESP+4 after the pop");
	put32(0x8004, 0x77);
	C.gpr[R_EBX] = 0xfffff000;              /* outside the fake memory */
	CODE(0x8f, 0x03);                       /* pop [ebx]: the store faults */
	cr_assert_eq(emu_step(&C, &data_ops, &F, NULL), EMU_FAULT);
	cr_assert_eq(C.gpr[R_ESP], 0x8004, "ESP as it was");
}
