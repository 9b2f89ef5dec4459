/*
 * test_desc.c — unit tests of descriptors and segment loads (vmm/desc.c),
 * LLDT/LTR, far JMP/CALL/RET (vmm/far.c) and the host LDT shadow
 * (vmm/desc_host.c), on the fake machine of desc_fixture.h.
 */
#include "tests/unit/desc_fixture.h"

TestSuite(desc, .init = setup);

/* --- decoding ------------------------------------------------------------ */

Test(desc, decode_flat_page_granular)
{
	struct seg_cache c;

	desc_decode(mkdesc(0, 0xFFFFF, 0x9A | A_DB | A_G), 0x08, &c);
	cr_assert_eq(c.sel, 0x08);
	cr_assert_eq(c.base, 0);
	cr_assert_eq(c.limit, 0xFFFFFFFFu);
	cr_assert_eq(c.attr, 0xC09A);
}

Test(desc, decode_scattered_base_byte_limit)
{
	struct seg_cache c;

	/* base 31:24 | D/B, limit 19:16 = B | P DPL0 S type 2 | base 23:0 |
	 * limit 15:0 */
	desc_decode(0x124B92345678ABCDull, 0x13, &c);
	cr_assert_eq(c.sel, 0x13);
	cr_assert_eq(c.base, 0x12345678u);
	cr_assert_eq(c.limit, 0xBABCDu);
	cr_assert_eq(c.attr, 0x4092, "attr %#x", c.attr);
}

Test(desc, decode_small_page_limit)
{
	struct seg_cache c;

	desc_decode(mkdesc(0xFF000000u, 1, 0xF2 | A_G), 0x23, &c);
	cr_assert_eq(c.base, 0xFF000000u);
	cr_assert_eq(c.limit, 0x1FFF);
	cr_assert_eq(SEG_ATTR_DPL(c.attr), 3);
	cr_assert_eq(SEG_ATTR_G(c.attr), 1);
	cr_assert_eq(SEG_ATTR_DB(c.attr), 0);
}

/* --- segment loads --------------------------------------------------------- */

Test(desc, load_ds_sets_cache_base_and_accessed)
{
	cr_assert_eq(mem[GDT_BASE + K_DS + 5] & 1, 0);
	cr_assert_eq(seg_load(&C, &S, &M, SEG_DS, RO_DS, &F), CPU_OK);
	cr_assert_eq(S.seg[SEG_DS].sel, RO_DS);
	cr_assert_eq(S.seg[SEG_DS].limit, 0xFFFFFFFFu);
	cr_assert_eq(S.seg[SEG_DS].attr, 0xC091);   /* accessed in the cache */
	cr_assert_eq(mem[GDT_BASE + RO_DS + 5], 0x91);
	cr_assert_not(S.mov_ss_shadow);
}

Test(desc, load_ldt_selector_and_base)
{
	cr_assert_eq(seg_load(&C, &S, &M, SEG_FS, 0x0C, &F), CPU_OK);
	cr_assert_eq(S.seg[SEG_FS].base, 0x6000);
	cr_assert_eq(C.seg_base[SEG_FS], 0x6000);
	cr_assert_eq(mem[LDT_BASE + 8 + 5] & 1, 1);
}

Test(desc, accessed_already_set_is_not_written)
{
	mem[GDT_BASE + K_DS + 5] |= 1;
	cr_assert_eq(seg_load(&C, &S, &M, SEG_GS, K_DS, &F), CPU_OK);
	cr_assert_eq(nwrites, 0);
}

Test(desc, null_into_ds_is_unusable)
{
	cr_assert_eq(seg_load(&C, &S, &M, SEG_DS, 0x3, &F), CPU_OK);
	cr_assert_eq(S.seg[SEG_DS].sel, 0x3);
	cr_assert_not(desc_usable(&S.seg[SEG_DS]));
	cr_assert_eq(C.seg_base[SEG_DS], 0);
}

Test(desc, null_into_ss_faults)
{
	expect_fault(seg_load(&C, &S, &M, SEG_SS, 0, &F), VEC_GP, 0);
}

Test(desc, past_gdt_limit)
{
	struct seg_cache before = S.seg[SEG_DS];

	expect_fault(seg_load(&C, &S, &M, SEG_DS, 0x93, &F), VEC_GP, 0x90);
	cr_assert_eq(memcmp(&before, &S.seg[SEG_DS], sizeof(before)), 0);
}

Test(desc, past_ldt_limit_and_no_ldt)
{
	expect_fault(seg_load(&C, &S, &M, SEG_DS, 0x17, &F), VEC_GP, 0x14);
	S.ldtr = (struct seg_cache){ 0 };
	expect_fault(seg_load(&C, &S, &M, SEG_DS, 0x04, &F), VEC_GP, 0x04);
}

Test(desc, type_checks)
{
	expect_fault(seg_load(&C, &S, &M, SEG_DS, XO_CS, &F), VEC_GP, XO_CS);
	expect_fault(seg_load(&C, &S, &M, SEG_DS, TSS_SEL, &F), VEC_GP, TSS_SEL);
	cr_assert_eq(seg_load(&C, &S, &M, SEG_ES, K_CS, &F), CPU_OK);
	expect_fault(seg_load(&C, &S, &M, SEG_SS, RO_DS, &F), VEC_GP, RO_DS);
	expect_fault(seg_load(&C, &S, &M, SEG_SS, K_CS, &F), VEC_GP, K_CS);
	expect_fault(seg_load(&C, &S, &M, SEG_CS, K_CS, &F), VEC_GP, 0);
}

Test(desc, dpl_rpl_rules)
{
	expect_fault(seg_load(&C, &S, &M, SEG_DS, K_DS | 3, &F), VEC_GP, K_DS);
	to_user();
	expect_fault(seg_load(&C, &S, &M, SEG_DS, K_DS | 3, &F), VEC_GP, K_DS);
	expect_fault(seg_load(&C, &S, &M, SEG_DS, K_CS | 3, &F), VEC_GP, K_CS);
	/* conforming readable code: no DPL check */
	cr_assert_eq(seg_load(&C, &S, &M, SEG_DS, CONF_CS | 3, &F), CPU_OK);
	cr_assert_eq(seg_load(&C, &S, &M, SEG_DS, 0x07, &F), CPU_OK);
	cr_assert_eq(S.seg[SEG_DS].base, 0x5000);
}

Test(desc, ss_privilege_rules)
{
	expect_fault(seg_load(&C, &S, &M, SEG_SS, U_DS, &F), VEC_GP, U_DS & ~3);
	expect_fault(seg_load(&C, &S, &M, SEG_SS, K_DS | 3, &F), VEC_GP, K_DS);
	cr_assert_not(S.mov_ss_shadow);
	cr_assert_eq(seg_load(&C, &S, &M, SEG_SS, K_DS, &F), CPU_OK);
	cr_assert(S.mov_ss_shadow);
	to_user();
	cr_assert_eq(seg_load(&C, &S, &M, SEG_SS, U_DS, &F), CPU_OK);
}

Test(desc, not_present)
{
	expect_fault(seg_load(&C, &S, &M, SEG_DS, NP_DS, &F), VEC_NP, NP_DS);
	expect_fault(seg_load(&C, &S, &M, SEG_SS, NP_DS, &F), VEC_SS, NP_DS);
}

Test(desc, table_read_fault_is_page_fault)
{
	fail_lo = GDT_BASE;
	fail_hi = GDT_BASE + 0x1000;
	expect_fault(seg_load(&C, &S, &M, SEG_DS, K_DS, &F), VEC_PF, 0);
	cr_assert_eq(S.seg[SEG_DS].sel, K_DS);
}

/* --- LLDT / LTR ------------------------------------------------------------ */

Test(desc, lldt)
{
	S.ldtr = (struct seg_cache){ 0 };
	cr_assert_eq(cpu_lldt(&C, &S, &M, LDT_SEL, &F), CPU_OK);
	cr_assert_eq(S.ldtr.base, LDT_BASE);
	cr_assert_eq(S.ldtr.limit, 0x0F);
	expect_fault(cpu_lldt(&C, &S, &M, K_DS, &F), VEC_GP, K_DS);
	expect_fault(cpu_lldt(&C, &S, &M, 0x0C, &F), VEC_GP, 0x0C);
	cr_assert_eq(cpu_lldt(&C, &S, &M, 0, &F), CPU_OK);
	cr_assert_not(desc_usable(&S.ldtr));
	S.cpl = 3;
	expect_fault(cpu_lldt(&C, &S, &M, LDT_SEL, &F), VEC_GP, 0);
}

Test(desc, ltr_sets_busy)
{
	S.tr = (struct seg_cache){ 0 };
	cr_assert_eq(cpu_ltr(&C, &S, &M, TSS_SEL, &F), CPU_OK);
	cr_assert_eq(mem[GDT_BASE + TSS_SEL + 5], 0x8B);
	cr_assert_eq(SEG_ATTR_TYPE(S.tr.attr), 11);
	cr_assert_eq(S.tr.base, TSS_BASE);
	cr_assert_eq(S.tr.limit, 0x67);
	/* now busy: a second LTR faults */
	expect_fault(cpu_ltr(&C, &S, &M, TSS_SEL, &F), VEC_GP, TSS_SEL);
}

Test(desc, ltr_errors)
{
	expect_fault(cpu_ltr(&C, &S, &M, 0, &F), VEC_GP, 0);
	expect_fault(cpu_ltr(&C, &S, &M, K_DS, &F), VEC_GP, K_DS);
	cr_assert_eq(cpu_ltr(&C, &S, &M, TSS16, &F), CPU_UNSUPPORTED);
	cr_assert_str_eq(cpu_unsupported_why(), "16-bit TSS");
	mem[GDT_BASE + TSS_SEL + 5] &= 0x7F;
	expect_fault(cpu_ltr(&C, &S, &M, TSS_SEL, &F), VEC_NP, TSS_SEL);
	S.cpl = 3;
	expect_fault(cpu_ltr(&C, &S, &M, TSS_SEL, &F), VEC_GP, 0);
}

/* --- far JMP / CALL / RET --------------------------------------------------- */

Test(desc, far_jmp_same_level)
{
	cr_assert_eq(cpu_far_jmp(&C, &S, &M, CS16, 0xFFF0, &F), CPU_OK);
	cr_assert_eq(S.seg[SEG_CS].sel, CS16);
	cr_assert_eq(C.seg_base[SEG_CS], 0x10000);
	cr_assert_eq(C.eip, 0xFFF0);
	cr_assert_not(C.code32);
	expect_fault(cpu_far_jmp(&C, &S, &M, K_CS | 3, 0x100, &F), VEC_GP, K_CS);
	cr_assert_eq(cpu_far_jmp(&C, &S, &M, K_CS, 0x100, &F), CPU_OK);
	cr_assert(C.code32);
	cr_assert_eq(S.seg[SEG_CS].attr & 1, 1);
}

Test(desc, far_jmp_conforming_keeps_cpl)
{
	to_user();
	cr_assert_eq(cpu_far_jmp(&C, &S, &M, CONF_CS, 0x100, &F), CPU_OK);
	cr_assert_eq(S.seg[SEG_CS].sel, CONF_CS | 3);
	cr_assert_eq(S.cpl, 3);
}

Test(desc, far_jmp_errors)
{
	struct seg_cache cs = S.seg[SEG_CS];

	expect_fault(cpu_far_jmp(&C, &S, &M, CS16, 0x10000, &F), VEC_GP, 0);
	expect_fault(cpu_far_jmp(&C, &S, &M, U_CS, 0, &F), VEC_GP, U_CS & ~3);
	expect_fault(cpu_far_jmp(&C, &S, &M, K_DS, 0, &F), VEC_GP, K_DS);
	expect_fault(cpu_far_jmp(&C, &S, &M, NP_CS, 0, &F), VEC_NP, NP_CS);
	expect_fault(cpu_far_jmp(&C, &S, &M, 0, 0, &F), VEC_GP, 0);
	cr_assert_eq(cpu_far_jmp(&C, &S, &M, CGATE, 0, &F), CPU_UNSUPPORTED);
	cr_assert_str_eq(F.why, "call gate");
	cr_assert_eq(cpu_far_jmp(&C, &S, &M, TSS16, 0, &F), CPU_UNSUPPORTED);
	cr_assert_eq(memcmp(&cs, &S.seg[SEG_CS], sizeof(cs)), 0);
	cr_assert_eq(C.eip, 0x1234);
}

Test(desc, far_call_pushes_cs_eip)
{
	uint32_t esp = C.gpr[R_ESP];

	C.eip = 0x1239;
	cr_assert_eq(cpu_far_call(&C, &S, &M, CS16, 0x40, 4, &F), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], esp - 8);
	cr_assert_eq(get32(esp - 8), 0x1239);
	cr_assert_eq(get32(esp - 4), K_CS);
	cr_assert_eq(C.eip, 0x40);
	cr_assert_eq(S.seg[SEG_CS].sel, CS16);
	/* 16-bit call back into K_CS */
	C.eip = 0x44;
	cr_assert_eq(cpu_far_call(&C, &S, &M, K_CS, 0x2000, 2, &F), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], esp - 12);
	cr_assert_eq(get16(esp - 12), 0x44);
	cr_assert_eq(get16(esp - 10), CS16);
}

Test(desc, far_call_stack_limit)
{
	set_seg(SEG_SS, SMALL_SS);
	C.gpr[R_ESP] = 4;
	expect_fault(cpu_far_call(&C, &S, &M, K_CS, 0, 4, &F), VEC_SS, 0);
	cr_assert_eq(C.gpr[R_ESP], 4);
	cr_assert_eq(S.seg[SEG_CS].sel, K_CS);
	cr_assert_eq(C.eip, 0x1234);
	C.gpr[R_ESP] = 8;
	cr_assert_eq(cpu_far_call(&C, &S, &M, K_CS, 0, 4, &F), CPU_OK);
	cr_assert_eq(get32(0x10000), 0x1234);
}

Test(desc, far_call_16bit_stack_wraps_sp)
{
	gdt(SMALL_SS, 0x10000, 0xFFFF, 0x2 | A_S | A_P);     /* B = 0 */
	set_seg(SEG_SS, SMALL_SS);
	C.gpr[R_ESP] = 0xABCD0002u;
	C.eip = 0x77;
	cr_assert_eq(cpu_far_call(&C, &S, &M, K_CS, 0, 2, &F), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], 0xABCDFFFEu);
	cr_assert_eq(get16(0x10000), K_CS);
	cr_assert_eq(get16(0x1FFFE), 0x77);
}

Test(desc, far_call_expand_down_stack)
{
	set_seg(SEG_SS, ED_DS);                 /* valid offsets 0x1000.. */
	C.gpr[R_ESP] = 0x1004;
	expect_fault(cpu_far_call(&C, &S, &M, K_CS, 0, 4, &F), VEC_SS, 0);
	C.gpr[R_ESP] = 0x1008;
	cr_assert_eq(cpu_far_call(&C, &S, &M, K_CS, 0, 4, &F), CPU_OK);
	cr_assert_eq(C.gpr[R_ESP], 0x1000);
}

Test(desc, far_ret_same_level)
{
	uint32_t esp = C.gpr[R_ESP];

	put32(esp, 0x5678);
	put32(esp + 4, CS16);
	cr_assert_eq(cpu_far_ret(&C, &S, &M, 8, 4, &F), CPU_OK);
	cr_assert_eq(C.eip, 0x5678);
	cr_assert_eq(S.seg[SEG_CS].sel, CS16);
	cr_assert_eq(C.gpr[R_ESP], esp + 16);
	cr_assert_not(C.code32);
}

Test(desc, far_ret_to_outer_level)
{
	uint32_t esp = C.gpr[R_ESP];

	set_seg(SEG_FS, U_DS);
	put32(esp, 0x4000);
	put32(esp + 4, U_CS);
	put32(esp + 12, USTACK - 0x10);    /* 4 bytes of parameters */
	put32(esp + 16, U_DS);
	cr_assert_eq(cpu_far_ret(&C, &S, &M, 4, 4, &F), CPU_OK);
	cr_assert_eq(S.cpl, 3);
	cr_assert_eq(S.seg[SEG_CS].sel, U_CS);
	cr_assert_eq(S.seg[SEG_SS].sel, U_DS);
	cr_assert_eq(C.gpr[R_ESP], USTACK - 0x10 + 4);
	cr_assert_eq(C.eip, 0x4000);
	cr_assert_not(desc_usable(&S.seg[SEG_DS]));   /* DPL 0 data nulled */
	cr_assert_eq(S.seg[SEG_DS].sel, 0);
	cr_assert_eq(S.seg[SEG_FS].sel, U_DS);       /* DPL 3 kept */
}

Test(desc, far_ret_errors)
{
	uint32_t esp = C.gpr[R_ESP];

	put32(esp, 0x4000);
	put32(esp + 4, U_CS);
	put32(esp + 8, USTACK);
	put32(esp + 12, K_DS);         /* return SS DPL 0 */
	expect_fault(cpu_far_ret(&C, &S, &M, 0, 4, &F), VEC_GP, K_DS);
	cr_assert_eq(S.cpl, 0);
	cr_assert_eq(C.gpr[R_ESP], esp);
	to_user();
	esp = C.gpr[R_ESP];
	put32(esp, 0x4000);
	put32(esp + 4, K_CS);          /* RPL < CPL */
	expect_fault(cpu_far_ret(&C, &S, &M, 0, 4, &F), VEC_GP, K_CS);
}

/* --- host shadows ----------------------------------------------------------- */

#define CAP 0xFEFFFFFFu

Test(desc, host_flat_code_capped)
{
	struct seg_cache c = cache_of(U_CS);
	struct user_desc u;

	cr_assert(desc_to_host(&c, 3, CAP, &u));
	cr_assert_eq(u.entry_number, 3);
	cr_assert_eq(u.base_addr, 0);
	cr_assert_eq(u.limit, 0xFEFFF);
	cr_assert_eq(u.limit_in_pages, 1);
	cr_assert_eq(u.seg_32bit, 1);
	cr_assert_eq(u.contents, MODIFY_LDT_CONTENTS_CODE);
	cr_assert_eq(u.read_exec_only, 0);
	cr_assert_eq(u.seg_not_present, 0);
}

Test(desc, host_limit_cap_with_base)
{
	/* A based segment that ends below 4 GiB is cut at the cap. */
	struct seg_cache c = { 0x23, 0x1000, 0xFEFFEFFFu, 0xC0F2 };
	struct user_desc u;

	c.limit = 0xFEFFFFFFu;            /* 0x1000 + limit = 0xFF000FFF */
	cr_assert(desc_to_host(&c, 4, CAP, &u));
	cr_assert_eq(u.limit, 0xFEFFE);   /* 0x1000 + 0xFEFFEFFF = CAP */
	cr_assert_eq(u.contents, MODIFY_LDT_CONTENTS_DATA);
	/* One based inside the monitor region is not expressible. */
	c.base = 0xFF000000u;
	cr_assert_not(desc_to_host(&c, 4, CAP, &u));
}

Test(desc, host_limit_wrapping_segment_kept)
{
	/* Linux's user TLS: a non-zero base and a 4 GiB limit, addressed
	 * with negative offsets (%gs:-0x3c): the limit stays 4 GiB. */
	struct seg_cache c = { 0x33, 0x0804C000u, 0xFFFFFFFFu, 0xC0F2 };
	struct user_desc u;

	cr_assert(desc_to_host(&c, 6, CAP, &u));
	cr_assert_eq(u.base_addr, 0x0804C000u);
	cr_assert_eq(u.limit, 0xFFFFF);
	cr_assert_eq(u.limit_in_pages, 1);
	/* Base 0 does not wrap: cut as ever. */
	c.base = 0;
	cr_assert(desc_to_host(&c, 6, CAP, &u));
	cr_assert_eq(u.limit, 0xFEFFF);
}

Test(desc, host_small_16bit_data_and_readonly)
{
	struct seg_cache c = cache_of(CS16);
	struct user_desc u;

	cr_assert(desc_to_host(&c, 5, CAP, &u));
	cr_assert_eq(u.base_addr, 0x10000);
	cr_assert_eq(u.limit, 0xFFFF);
	cr_assert_eq(u.limit_in_pages, 0);
	cr_assert_eq(u.seg_32bit, 0);
	c = cache_of(RO_DS);
	cr_assert(desc_to_host(&c, 5, CAP, &u));
	cr_assert_eq(u.read_exec_only, 1);
	c = cache_of(XO_CS);
	cr_assert(desc_to_host(&c, 5, CAP, &u));
	cr_assert_eq(u.read_exec_only, 1);
	cr_assert_eq(u.contents, MODIFY_LDT_CONTENTS_CODE);
	c = cache_of(CONF_CS);
	cr_assert(desc_to_host(&c, 5, CAP, &u));
	cr_assert_eq(u.contents, MODIFY_LDT_CONTENTS_CODE);
}

Test(desc, host_expand_down)
{
	struct seg_cache c = cache_of(ED_DS);
	struct user_desc u;

	/* B = 1, base 0: reaches 0xFFFFFFFF, beyond the cap */
	cr_assert_not(desc_to_host(&c, 6, CAP, &u));
	c.attr &= (uint16_t)~A_DB;         /* 16-bit: top 0xFFFF */
	cr_assert(desc_to_host(&c, 6, CAP, &u));
	cr_assert_eq(u.contents, MODIFY_LDT_CONTENTS_STACK);
	cr_assert_eq(u.limit, 0xFFF);
	cr_assert_eq(u.seg_32bit, 0);
	c = (struct seg_cache){ 0x10, 0, 0x0FFFFFFFu, 0xC096 };
	cr_assert(desc_to_host(&c, 6, 0xFFFFFFFFu, &u));
	cr_assert_eq(u.limit, 0x0FFFF);
	cr_assert_eq(u.limit_in_pages, 1);
}

Test(desc, host_rejects_system_and_unusable)
{
	struct seg_cache c = cache_of(TSS_SEL);
	struct user_desc u;

	cr_assert_not(desc_to_host(&c, 7, CAP, &u));
	c = (struct seg_cache){ 0 };
	cr_assert_not(desc_to_host(&c, 7, CAP, &u));
}
