/*
 * test_translate.c — unit tests of the translation cache (translate/):
 * lookup against the guest's current mapping, invalidation by frame,
 * chaining and its refusals, the TC → guest EIP map, callout stubs,
 * counters, and flushing when a table or the code area fills.  The
 * emitted code itself is checked by the golden file
 * (test_translate_golden.c) and, for every block translated here too, by
 * the invariant checker (tests/translate/check.h).  The tests never run
 * translated code.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/translate/check.h"
#include "tests/unit/tc_fixture.h"
#include "translate/tc_impl.h"

TestSuite(translate, .init = tcfx_setup, .fini = tcfx_teardown);

static uint32_t xlate(uint32_t eip, const uint8_t *b, size_t n)
{
	struct tc_src s = tcfx_src(eip, b, n);
	uint32_t start = tcfx_translate(&s, NULL);

	cr_assert_neq(start, 0, "no block at 0x%x", eip);
	return start;
}

static uint32_t xlate_src(struct tc_src s)
{
	uint32_t start = tcfx_translate(&s, NULL);

	cr_assert_neq(start, 0, "no block at 0x%x", s.eip);
	return start;
}

static uint32_t rd32(uint32_t a)
{
	uint32_t v;

	memcpy(&v, (const void *)(uintptr_t)a, 4);
	return v;
}

/* The target of the jmp/jcc rel32 whose rel32 field is at `rel`. */
static uint32_t rel_target(uint32_t rel)
{
	return rel + 4 + rd32(rel);
}

/* The site of the ljmp at TC address a, through its stub address. */
static uint32_t site_of_ljmp(uint32_t a)
{
	uint32_t id;

	cr_assert_eq(*(const uint8_t *)(uintptr_t)a, 0xEA, "no ljmp at 0x%x", a);
	cr_assert_eq(tc_stub_site(tcfx, rd32(a + 1), &id), 0);
	return id;
}

/* The site of the exit reached by the rel32 at `rel` (not chained). */
static uint32_t exit_site(uint32_t rel)
{
	uint32_t id = site_of_ljmp(rel_target(rel));
	const struct tc_site *s = tc_site(tcfx, id);

	cr_assert_not_null(s);
	cr_assert_eq(s->kind, TC_SITE_BRANCH);
	cr_assert_eq(s->patch, rel);
	return id;
}

/* The BRANCH site to guest EIP eip of the block at TC address a. */
static uint32_t branch_site_to(uint32_t a, uint32_t eip)
{
	const struct tc_site *s;

	for (uint32_t id = 0; (s = tc_site(tcfx, id)); id++)
		if (s->kind == TC_SITE_BRANCH && s->guest_eip == eip &&
		    tcfx->blocks[s->block].start == a)
			return id;
	cr_assert_fail("no BRANCH site to 0x%x in the block at 0x%x", eip, a);
	return 0;
}

/* at 0x1000: jmp 0x1100 */
static const uint8_t jmp_1100[] = { 0xe9, 0xfb, 0x00, 0x00, 0x00 };
static const uint8_t nop_loop[] = { 0x90, 0xeb, 0xfd };             /* jmp $-1 */

/* ---- Lookup. ---- */

Test(translate, find_checks_the_frames)
{
	uint32_t a = xlate(0x1000, nop_loop, sizeof(nop_loop));

	cr_assert_eq(tc_find(tcfx, 0x1000, 0), a);
	cr_assert_eq(tc_find(tcfx, 0x1001, 0), 0);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0x10), 0, "another CS base");
	tcfx_map_page(1, 7);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0, "page remapped");
	tcfx_map_page(1, -1);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0, "page unmapped");
	tcfx_map_page(1, 1);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), a, "mapped back");
	cr_assert_eq(tcfx_ctr[CTR_bt_lookups], 6);
	cr_assert_eq(tcfx_ctr[CTR_bt_misses], 4);
}

Test(translate, find_checks_both_frames_of_a_straddling_block)
{
	static const uint8_t mov[] = { 0xb8, 1, 2, 3, 4, 0xeb, 0xfe };
	bool two;
	struct tc_src s = tcfx_src(0x1ffe, mov, sizeof(mov));
	uint32_t a = tcfx_translate(&s, &two);

	cr_assert(two);
	cr_assert_eq(tc_find(tcfx, 0x1ffe, 0), a);
	tcfx_map_page(2, 9);
	cr_assert_eq(tc_find(tcfx, 0x1ffe, 0), 0);
	tcfx_map_page(2, -1);
	cr_assert_eq(tc_find(tcfx, 0x1ffe, 0), 0);
	tcfx_map_page(2, 2);
	cr_assert_eq(tc_find(tcfx, 0x1ffe, 0), a);
}

Test(translate, one_shot_blocks_are_never_found)
{
	struct tc_src s = tcfx_src(0x1000, nop_loop, sizeof(nop_loop));

	s.one_shot = true;
	xlate_src(s);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0);
}

/* CPL 3's translations: found again only with keep, and only by
 * tc_find_user; CPL 0's only by tc_find. */
Test(translate, user_blocks_are_found_by_tc_find_user_only_when_kept)
{
	struct tc_src s = tcfx_src(0x1000, nop_loop, sizeof(nop_loop));
	struct tc_src k = tcfx_src(0x2000, nop_loop, sizeof(nop_loop));

	s.user = true;
	xlate_src(s);
	cr_assert_eq(tc_find_user(tcfx, 0x1000, 0), 0);
	s.keep = true;
	uint32_t a = xlate_src(s);
	cr_assert_eq(tc_find_user(tcfx, 0x1000, 0), a);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0);
	uint32_t b = xlate_src(k);
	cr_assert_eq(tc_find(tcfx, 0x2000, 0), b);
	cr_assert_eq(tc_find_user(tcfx, 0x2000, 0), 0);
}

Test(translate, newest_translation_wins_after_a_remap)
{
	uint32_t a = xlate(0x1000, nop_loop, sizeof(nop_loop)), b;

	tcfx_map_page(1, 5);
	b = xlate(0x1000, jmp_1100, sizeof(jmp_1100));
	cr_assert_neq(a, b);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), b);
	tcfx_map_page(1, 1);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), a);
}

/* ---- Invalidation. ---- */

Test(translate, invalidate_frame_drops_its_blocks)
{
	static const uint8_t mov[] = { 0xb8, 1, 2, 3, 4, 0xeb, 0xfe };
	uint32_t a = xlate(0x1000, nop_loop, sizeof(nop_loop));
	uint32_t b = xlate(0x3000, nop_loop, sizeof(nop_loop));
	uint32_t c = xlate(0x4ffe, mov, sizeof(mov));
	uint64_t g = tc_generation(tcfx);

	tc_invalidate_frame(tcfx, 9);
	cr_assert_eq(tc_generation(tcfx), g, "nothing there: no new generation");
	tc_invalidate_frame(tcfx, 5);
	cr_assert_eq(tc_generation(tcfx), g + 1);
	cr_assert_eq(tc_find(tcfx, 0x4ffe, 0), 0, "second frame written");
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), a);
	cr_assert_eq(tc_find(tcfx, 0x3000, 0), b);
	tc_invalidate_frame(tcfx, 1);
	cr_assert_eq(tc_generation(tcfx), g + 2);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0);
	cr_assert_eq(tc_find(tcfx, 0x3000, 0), b);
	cr_assert_eq(tcfx_ctr[CTR_bt_invalidated], 2);
	/* the frame is translated anew */
	uint32_t a2 = xlate(0x1000, nop_loop, sizeof(nop_loop));
	cr_assert_gt(a2, c);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), a2);
	cr_assert_eq(tcfx_flushes, 0);
}

/* ---- Chaining. ---- */

Test(translate, chain_patches_the_branch)
{
	uint32_t a = xlate(0x1000, jmp_1100, sizeof(jmp_1100));
	uint32_t b = xlate(0x1100, nop_loop, sizeof(nop_loop));
	uint32_t id = exit_site(a + 1);

	cr_assert_eq(tc_site(tcfx, id)->guest_eip, 0x1100);
	cr_assert(tc_chain(tcfx, id, b));
	cr_assert_eq(rel_target(a + 1), b);
	cr_assert_eq(tcfx_ctr[CTR_bt_chains], 1);
	/* the block's own loop, chained to its start */
	uint32_t self = exit_site(b + 2);
	cr_assert(tc_chain(tcfx, self, b));
	cr_assert_eq(rel_target(b + 2), b);
	/* the chained blocks still pass the invariants */
	struct tc_src s = tcfx_src(0x1000, jmp_1100, sizeof(jmp_1100));
	char why[256];
	cr_assert_eq(tccheck_block(tcfx, &s, a, why, sizeof(why)), 0, "%s", why);
}

Test(translate, chain_both_exits_of_a_jcc)
{
	static const uint8_t jz[] = { 0x0f, 0x84, 0xfa, 0x00, 0x00, 0x00 };
	uint32_t a = xlate(0x1000, jz, sizeof(jz));
	uint32_t t = xlate(0x1100, nop_loop, sizeof(nop_loop));
	uint32_t n = xlate(0x1006, nop_loop, sizeof(nop_loop));
	uint32_t taken = exit_site(a + 2), fall = exit_site(a + 7);

	cr_assert_eq(tc_site(tcfx, taken)->guest_eip, 0x1100);
	cr_assert_eq(tc_site(tcfx, fall)->guest_eip, 0x1006);
	cr_assert(tc_chain(tcfx, fall, n));
	cr_assert(tc_chain(tcfx, taken, t));
	cr_assert_eq(rel_target(a + 2), t);
	cr_assert_eq(rel_target(a + 7), n);
}

/* A chain to another page or frame is made, but lasts only until
 * tc_unchain_cross (the guest's mappings changed); one within a page and
 * frame survives it.  Another CS base is refused. */
Test(translate, chains_across_pages_and_frames_are_undone)
{
	static const uint8_t jmp_2000[] = { 0xe9, 0xeb, 0x0f, 0x00, 0x00 };
	uint32_t a = xlate(0x1010, jmp_2000, sizeof(jmp_2000)), id, t, ljmp;
	uint32_t b, tb, idb, ljmpb, c, tc_, idc, ljmpc;
	struct tc_src s;

	/* page 2 maps to frame 1 as well: the page still differs (the jump
	 * goes through the inline lookup, its miss to the exit) */
	tcfx_map_page(2, 1);
	t = xlate(0x2000, nop_loop, sizeof(nop_loop));
	id = branch_site_to(a, 0x2000);
	cr_assert_eq(exit_site(tc_site(tcfx, id)->patch), id);
	ljmp = rel_target(tc_site(tcfx, id)->patch);
	cr_assert(tc_chain(tcfx, id, t));
	cr_assert_eq(rel_target(tc_site(tcfx, id)->patch), t);
	/* same page, another frame (the page was remapped in between) */
	b = xlate(0x1000, jmp_1100, sizeof(jmp_1100));
	s = tcfx_src(0x1100, nop_loop, sizeof(nop_loop));
	s.frame[0] = 9;
	tb = xlate_src(s);
	idb = exit_site(b + 1);
	ljmpb = rel_target(b + 1);
	cr_assert(tc_chain(tcfx, idb, tb));
	/* same page and frame: lasting */
	c = xlate(0x1200, jmp_1100, sizeof(jmp_1100));
	tc_ = xlate(0x1100, nop_loop, sizeof(nop_loop));
	idc = exit_site(c + 1);
	ljmpc = rel_target(c + 1);
	cr_assert(tc_chain(tcfx, idc, tc_));
	cr_assert_eq(tcfx_ctr[CTR_bt_chains], 3);
	tc_unchain_cross(tcfx);
	cr_assert_eq(rel_target(tc_site(tcfx, id)->patch), ljmp, "undone");
	cr_assert_eq(rel_target(b + 1), ljmpb, "undone");
	cr_assert_eq(rel_target(c + 1), tc_, "kept");
	cr_assert_neq(ljmpc, tc_);
	/* same linear page, another CS base: never */
	s = tcfx_src(0x0100, nop_loop, sizeof(nop_loop));
	s.cs_base = 0x1000;
	s.frame[0] = 1;
	t = xlate_src(s);
	cr_assert_not(tc_chain(tcfx, idb, t));
	cr_assert_eq(rel_target(b + 1), ljmpb);
}

/* An INVLPG (TC_MAP_PAGE) drops the cross-page chains and lookup entries
 * whose blocks lie in its 4 MiB region, and nothing elsewhere (the
 * monitor skips regions it knows hold none). */
Test(translate, invlpg_drops_only_its_region)
{
	static const uint8_t jmp_2000[] = { 0xe9, 0xeb, 0x0f, 0x00, 0x00 };
	uint32_t a = xlate(0x1010, jmp_2000, sizeof(jmp_2000)), id, t, ljmp;
	const struct tc_lookup_ent *lt = (const void *)tc_ptr(TC_LOOKUP);

	t = xlate(0x2000, nop_loop, sizeof(nop_loop));
	id = branch_site_to(a, 0x2000);
	ljmp = rel_target(tc_site(tcfx, id)->patch);
	cr_assert(tc_chain(tcfx, id, t));
	tc_lookup_insert(tcfx, 0x2000, t);
	tc_mappings_changed(tcfx, TC_MAP_PAGE, 0x00800000);   /* region 2 */
	tc_mappings_changed(tcfx, TC_MAP_PAGE, 0xC0001000);   /* region 768 */
	cr_assert_eq(rel_target(tc_site(tcfx, id)->patch), t, "kept");
	cr_assert_eq(lt[0x2000].eip, 0x2000, "kept");
	cr_assert_eq(lt[0x2000].tc, t);
	tc_mappings_changed(tcfx, TC_MAP_PAGE, 0x003FF000);   /* region 0 */
	cr_assert_eq(rel_target(tc_site(tcfx, id)->patch), ljmp, "undone");
	cr_assert_neq(lt[0x2000].eip, 0x2000, "dropped");
	/* and again, after the lists were rebuilt */
	cr_assert(tc_chain(tcfx, id, t));
	tc_lookup_insert(tcfx, 0x2000, t);
	tc_mappings_changed(tcfx, TC_MAP_PAGE, 0x00400000);   /* region 1 */
	cr_assert_eq(rel_target(tc_site(tcfx, id)->patch), t, "kept");
	tc_mappings_changed(tcfx, TC_MAP_PAGE, 0x00000000);
	cr_assert_eq(rel_target(tc_site(tcfx, id)->patch), ljmp, "undone");
	cr_assert_neq(lt[0x2000].eip, 0x2000, "dropped");
}

Test(translate, chain_refuses_one_shot_blocks)
{
	struct tc_src s = tcfx_src(0x1000, jmp_1100, sizeof(jmp_1100));
	uint32_t a, t, once;

	s.one_shot = true;
	once = xlate_src(s);
	t = xlate(0x1100, nop_loop, sizeof(nop_loop));
	cr_assert_not(tc_chain(tcfx, exit_site(once + 1), t), "from one-shot");
	a = xlate(0x1000, jmp_1100, sizeof(jmp_1100));
	s = tcfx_src(0x1100, nop_loop, sizeof(nop_loop));
	s.one_shot = true;
	once = xlate_src(s);
	cr_assert_not(tc_chain(tcfx, exit_site(a + 1), once), "to one-shot");
	cr_assert(tc_chain(tcfx, exit_site(a + 1), t));
}

/* tc_src.user (guest CPL 3, IF off): never found again, never chained
 * from or to; its direct JMP to another page is a plain exit. */
Test(translate, user_blocks_are_never_found_or_chained)
{
	struct tc_src s = tcfx_src(0x1000, jmp_1100, sizeof(jmp_1100));
	uint32_t u, t;

	s.user = true;
	u = xlate_src(s);
	cr_assert(tcfx->blocks[tcfx->nblocks - 1].one_shot);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0);
	t = xlate(0x1100, nop_loop, sizeof(nop_loop));
	cr_assert_not(tc_chain(tcfx, exit_site(u + 1), t), "from user");
	s = tcfx_src(0x1100, nop_loop, sizeof(nop_loop));
	s.user = true;
	u = xlate_src(s);
	cr_assert_not(tc_chain(tcfx, exit_site(xlate(0x1000, jmp_1100,
	                                             sizeof(jmp_1100)) + 1), u),
	              "to user");
	s = tcfx_src(0x1000, TCFX_BYTES(0xe9, 0xfb, 0x0f, 0x00, 0x00));
	s.user = true;
	u = xlate_src(s);
	cr_assert_eq(tc_site(tcfx, exit_site(u + 1))->guest_eip, 0x2000);
}

Test(translate, chain_refuses_what_is_no_chain)
{
	static const uint8_t hlt[] = { 0xf4 };
	static const uint8_t jmp_straddle[] = { 0xe9, 0x00, 0xf1, 0xff, 0xff };
	uint32_t a = xlate(0x1000, jmp_1100, sizeof(jmp_1100));
	uint32_t t = xlate(0x1100, nop_loop, sizeof(nop_loop));
	uint32_t e = xlate(0x1200, hlt, sizeof(hlt));
	uint32_t id = exit_site(a + 1), emul = site_of_ljmp(e);
	uint32_t x, ljmp = rel_target(a + 1);

	cr_assert_eq(tc_site(tcfx, emul)->kind, TC_SITE_EMULATE);
	cr_assert_not(tc_chain(tcfx, emul, t), "an EMULATE site");
	cr_assert_not(tc_chain(tcfx, 0x7fff, t), "no such site");
	cr_assert_not(tc_chain(tcfx, id, t + 1), "not a block's start");
	cr_assert_not(tc_chain(tcfx, id, 0xff0fffff), "no block");
	/* a block whose bytes straddle into the next page: chained until the
	 * mappings change */
	x = xlate(0x1ffe, jmp_straddle, sizeof(jmp_straddle));
	cr_assert_eq(tc_site(tcfx, exit_site(x + 1))->guest_eip, 0x1103);
	uint32_t xl = rel_target(x + 1);
	cr_assert(tc_chain(tcfx, exit_site(x + 1), t), "two pages");
	tc_unchain_cross(tcfx);
	cr_assert_eq(rel_target(x + 1), xl, "two pages: undone");
	/* an invalidated target */
	tc_invalidate_frame(tcfx, 1);
	cr_assert_not(tc_chain(tcfx, id, t), "invalidated");
	cr_assert_eq(rel_target(a + 1), ljmp, "patched all the same");
}

/* ---- The map back to guest EIPs. ---- */

/* Every byte of [from, to) maps back to eip. */
static void maps(uint32_t from, uint32_t to, uint32_t eip)
{
	for (uint32_t a = from; a < to; a++) {
		uint32_t got = 0;

		cr_assert_eq(tc_map_back(tcfx, a, &got), 0, "0x%x unmapped", a);
		cr_assert_eq(got, eip, "0x%x maps to 0x%x, not 0x%x", a, got,
		             eip);
	}
}

static void unmapped(uint32_t a)
{
	uint32_t got;

	cr_assert_eq(tc_map_back(tcfx, a, &got), -1, "0x%x maps to 0x%x", a,
	             got);
}

Test(translate, map_back_of_a_call)
{
	/* mov eax, ebx; call 0x1100 */
	static const uint8_t call[] = { 0x89, 0xd8, 0xe8, 0xf9, 0x00, 0x00, 0x00 };
	uint32_t a = xlate(0x1000, call, sizeof(call));
	uint32_t b = xlate(0x1100, nop_loop, sizeof(nop_loop));

	cr_assert_eq(a, TC_CODE);
	maps(a, a + 2, 0x1000);            /* the copy */
	maps(a + 2, a + 7, 0x1002);        /* push $0x1007 */
	cr_assert_eq(rd32(a + 3), 0x1007);
	maps(a + 7, a + 12, 0x1100);       /* jmp: the push is done */
	maps(a + 12, a + 19, 0x1100);      /* the exit */
	unmapped(a - 1);
	unmapped(a + 19);
	unmapped(b - 1);
	maps(b, b + 1, 0x1100);
	maps(b + 1, b + 6, 0x1101);
	unmapped(0);
	unmapped(TC_STUBS);
	unmapped(0xffffffff);
}

Test(translate, map_back_of_a_loop)
{
	static const uint8_t loop[] = { 0xe2, 0x10 };     /* loop 0x1012 */
	uint32_t a = xlate(0x1000, loop, sizeof(loop));

	/* loop +2; jmp short +5; jmp exit(T); jmp exit(next); 2 exits */
	maps(a, a + 2, 0x1000);
	maps(a + 2, a + 4, 0x1002);
	maps(a + 4, a + 9, 0x1012);
	maps(a + 9, a + 14, 0x1002);
	cr_assert_eq(rel_target(a + 5), a + 14);
	cr_assert_eq(rel_target(a + 10), a + 21);
	maps(a + 14, a + 21, 0x1012);
	maps(a + 21, a + 28, 0x1002);
	unmapped(a + 28);
}

/* Inside an inline sequence tc_map_back says "nb" (1): no guest EIP is
 * exact there.  PUSHF: the host pushf is exact (it may fault), the rest
 * scratch, the next instruction exact again. */
Test(translate, map_back_inside_an_inline_sequence)
{
	static const uint8_t pushf_nop[] = { 0x9c, 0x90 };
	uint32_t a = xlate(0x1000, pushf_nop, sizeof(pushf_nop)), got = 0;
	uint32_t at = a + 1;

	maps(a, a + 1, 0x1000);
	while (tc_map_back(tcfx, at, &got) == 1)
		at++;
	cr_assert_gt(at, a + 2, "no run of nb positions after the pushf");
	cr_assert_eq(*(const uint8_t *)(uintptr_t)at, 0x90);
	maps(at, at + 1, 0x1001);
}

/* ---- Adaptive translation (ops.force_callout). ---- */

/* mov eax, ebx; mov [ebx], eax; nop: the store keeps faulting, the
 * monitor has it emulated. */
Test(translate, forced_ident_is_an_emulate_site_of_class_ident)
{
	static const uint8_t store[] = { 0x89, 0xd8, 0x89, 0x03, 0x90 };
	uint32_t a, id;
	const struct tc_site *s;

	tcfx_force_callout(0x1002);
	a = xlate(0x1000, store, sizeof(store));
	maps(a, a + 2, 0x1000);
	maps(a + 2, a + 9, 0x1002);
	id = site_of_ljmp(a + 2);
	s = tc_site(tcfx, id);
	cr_assert_eq(s->kind, TC_SITE_EMULATE);
	cr_assert_eq(s->cls, SCAN_IDENT);
	cr_assert_eq(s->guest_eip, 0x1002);
	cr_assert_null(tc_site(tcfx, id + 1), "the block ends at the callout");
	unmapped(a + 9);
	cr_assert_eq(tcfx_ctr[CTR_bt_guest_insns], 2);
}

/* Only IDENT instructions are forced: a forced EIP that is a branch or
 * a sequence is translated as ever. */
Test(translate, force_callout_leaves_what_is_no_ident_alone)
{
	tcfx_force_callout(0x1000);
	xlate(0x1000, TCFX_BYTES(0xfa, 0x90));           /* cli: inline */
	tcfx_force_callout(0x2000);
	xlate(0x2000, jmp_1100, sizeof(jmp_1100));
	cr_assert_eq(tc_site(tcfx, 0)->kind, TC_SITE_BRANCH);
}

/* ---- Stubs. ---- */

Test(translate, stub_site_finds_the_site_of_any_stub_byte)
{
	static const uint8_t jz[] = { 0x74, 0x10 };
	uint32_t a = xlate(0x1000, jz, sizeof(jz)), id, got;

	cr_assert_eq(tc_site(tcfx, 2), NULL);
	for (id = 0; id < 2; id++) {
		uint32_t stub = TC_STUBS + id * TC_STUB_SIZE;

		for (uint32_t k = 0; k < TC_STUB_SIZE; k++) {
			cr_assert_eq(tc_stub_site(tcfx, stub + k, &got), 0);
			cr_assert_eq(got, id);
		}
	}
	cr_assert_eq(tc_stub_site(tcfx, TC_STUBS + 2 * TC_STUB_SIZE, &got), -1);
	cr_assert_eq(tc_stub_site(tcfx, TC_STUBS - 1, &got), -1);
	cr_assert_eq(tc_stub_site(tcfx, a, &got), -1);
	cr_assert_eq(tc_stub_site(tcfx, 0x1ff001000ull, &got), -1);
	cr_assert_eq(tc_site(tcfx, exit_site(a + 2))->guest_eip, 0x1012);
	cr_assert_eq(tc_site(tcfx, exit_site(a + 7))->guest_eip, 0x1002);
}

/* ---- Counters and flushes. ---- */

/* mov eax, ebx; nop; hlt (the block ends there: a callout); nop */
static const uint8_t before_hlt[] = { 0x89, 0xd8, 0x90, 0xf4, 0x90 };

Test(translate, counters)
{
	xlate(0x1000, before_hlt, sizeof(before_hlt));
	xlate(0x2000, nop_loop, sizeof(nop_loop));
	cr_assert_eq(tcfx_ctr[CTR_bt_blocks], 2);
	cr_assert_eq(tcfx_ctr[CTR_bt_tc_bytes], 3 + 7 + 1 + 5 + 7);
}

/* tc_translate counts the instructions translated (3: the block ends
 * at the HLT's callout), not those scan_block saw (4; fixed in 162f15b).
 * The checker checks the block's count too. */
Test(translate, counters_count_translated_insns_only)
{
	xlate(0x1000, before_hlt, sizeof(before_hlt));
	cr_assert_eq(tcfx_ctr[CTR_bt_guest_insns], 3);
}

Test(translate, flush_drops_everything)
{
	uint32_t a = xlate(0x1000, nop_loop, sizeof(nop_loop));
	uint64_t g = tc_generation(tcfx);

	tc_flush(tcfx);
	cr_assert_eq(tcfx_flushes, 1);
	cr_assert_eq(tc_generation(tcfx), g + 1);
	cr_assert_eq(tc_find(tcfx, 0x1000, 0), 0);
	cr_assert_eq(tc_site(tcfx, 0), NULL);
	unmapped(a);
	cr_assert_eq(xlate(0x2000, nop_loop, sizeof(nop_loop)), TC_CODE);
	cr_assert_eq(tcfx_ctr[CTR_bt_flushes], 1);
}

/* tc_translate alone (the checker's searches are linear in the cache). */
static uint32_t xlate_fast(uint32_t eip, const uint8_t *b, size_t n)
{
	struct tc_src s = tcfx_src(eip, b, n);
	bool two;
	uint32_t start = tc_translate(tcfx, &s, &two);

	cr_assert_neq(start, 0);
	return start;
}

/* Translate blocks of `code` at EIPs `step` apart until the cache
 * flushes; the number translated before. */
static unsigned fill(const uint8_t *code, size_t n, uint32_t step,
                     unsigned max)
{
	uint64_t g = tc_generation(tcfx);
	uint32_t a = xlate(0x10000, code, n);
	unsigned i;

	for (i = 1; i < max && !tcfx_flushes; i++) {
		uint32_t prev = a;

		a = xlate_fast(0x10000 + i * step, code, n);
		if (!tcfx_flushes)
			cr_assert_gt(a, prev);
	}
	cr_assert_eq(tcfx_flushes, 1, "no flush after %u blocks", i);
	cr_assert_eq(a, TC_CODE, "the block after the flush starts the code");
	cr_assert_eq(tc_generation(tcfx), g + 1);
	cr_assert_eq(tc_find(tcfx, 0x10000, 0), 0);
	cr_assert_eq(tc_find(tcfx, 0x10000 + (i - 1) * step, 0), a);
	cr_assert_eq(tcfx_ctr[CTR_bt_flushes], 1);
	return i - 1;
}

Test(translate, full_site_table_flushes)
{
	static const uint8_t jz[] = { 0x74, 0x10 };       /* two sites */
	unsigned n = fill(jz, sizeof(jz), 4, 2 * TC_NSTUBS);

	cr_assert_leq(2 * n, TC_NSTUBS);
	cr_assert_geq(2 * n, TC_NSTUBS - 2 * 64 - 2, "flushed at %u", n);
}

Test(translate, full_code_area_flushes)
{
	/* 64 nops of 15 bytes (14 DS prefixes): 960 bytes of code a block */
	static uint8_t code[64 * 15];
	unsigned n, per = 64 * 15 + 5 + 7;

	for (unsigned i = 0; i < 64; i++) {
		memset(code + 15 * i, 0x3e, 14);
		code[15 * i + 14] = 0x90;
	}
	n = fill(code, sizeof(code), 0x1000, 1u << 20);
	per = (per + 15) & ~15u;
	cr_assert_leq(n * per, TC_END - TC_CODE);
	cr_assert_geq(n * per, TC_END - TC_CODE - TC_BLOCK_MAX - per,
	              "flushed at %u", n);
}

/* ---- Bugs fixed in 162f15b (tests/fuzz/crashes/), kept as
 * regression tests. ---- */

/* 66 E2 cb: LOOP with a 16-bit operand size wraps EIP to 16 bits.
 * emit.c copied it into the TC prefix and all, so there its short
 * branch to the exits landed at (TC address & 0xffff). */
Test(translate, loop_with_operand_size_prefix)
{
	struct tc_src s = tcfx_src(0x1000, TCFX_BYTES(0x66, 0xe2, 0x10));

	tcfx_translate(&s, NULL);
	s = tcfx_src(0x1000, TCFX_BYTES(0x66, 0xe3, 0x10));
	tcfx_translate(&s, NULL);
}

/* 66 E9 cw under a CS base: the target is EIP + disp wrapped to 16
 * bits, but tc_translate had scan_block wrap the linear address and
 * then subtracted the base (exit to 0xffff0104 instead of 0x0104). */
Test(translate, rel16_branch_under_a_cs_base)
{
	struct tc_src s = tcfx_src(0x0100, TCFX_BYTES(0x66, 0xe9, 0x00, 0x00));

	s.cs_base = 0x10000;
	s.frame[0] = 0x10;
	tcfx_translate(&s, NULL);
}

/* ---- Bugs fixed since (tests/fuzz/crashes/), kept as regression
 * tests. ---- */

/* FB last in its block (a page end, the 64-instruction limit, a
 * one-shot translation): inline.c inlined STI when the block had no
 * next instruction, so the exit that follows the VIF store was a way
 * into the monitor inside the STI's interrupt shadow: STI at 0x1fff,
 * HLT at 0x2000, and an interrupt that arrives after the inline PEND
 * check is delivered before the HLT, which then waits for the next one
 * (the race sti; hlt exists to avoid).  Fixed in be2419f: an EMULATE
 * of the STI there (the checker wants it):
 * tests/fuzz/crashes/sti-at-block-end. */
Test(translate, sti_at_a_block_end_is_the_monitors)
{
	static uint8_t limit[64];
	struct tc_src s = tcfx_src(0x1fff, TCFX_BYTES(0xfb, 0xf4));
	uint32_t a;

	a = tcfx_translate(&s, NULL);
	cr_assert_eq(tc_site(tcfx, site_of_ljmp(a))->kind, TC_SITE_EMULATE);
	memset(limit, 0x90, sizeof(limit));
	limit[63] = 0xfb;
	s = tcfx_src(0x3000, limit, sizeof(limit));
	tcfx_translate(&s, NULL);
	s = tcfx_src(0x4000, TCFX_BYTES(0xfb, 0x90));
	s.one_shot = true;
	a = tcfx_translate(&s, NULL);
	cr_assert_eq(tc_site(tcfx, site_of_ljmp(a))->kind, TC_SITE_EMULATE);
}

/* The slot a store (mov, ALU, INC/DEC, NOT/NEG to r/m) or a push
 * writes, as an offset from ESP at the start of the walk (*slot):
 * false when the instruction writes no guest memory
 * (or through %gs: the vpage).  *known: addressed off ESP alone. */
static bool guest_store(const struct insn *in, int32_t delta,
                        int32_t *slot, bool *known)
{
	static const uint8_t pfx[] = { 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65,
	                               0x66, 0x67, 0xF0, 0xF2, 0xF3 };
	unsigned p = 0;
	uint8_t op, reg;
	const struct insn_opnd *m = &in->opnd[0];

	while (p < in->len && memchr(pfx, in->bytes[p], sizeof(pfx)))
		p++;
	op = in->bytes[p];
	reg = p + 1 < in->len ? (in->bytes[p + 1] >> 3) & 7 : 0;
	*known = true;
	if (op == 0x9C || op == 0x68 || op == 0x6A || (op >= 0x50 && op <= 0x57) ||
	    (op == 0xFF && reg == 6)) {
		*slot = delta - 4;
		return true;
	}
	bool writes = op == 0x88 || op == 0x89 || op == 0xC6 || op == 0xC7 ||
	              ((op == 0x80 || op == 0x81 || op == 0x83) && reg != 7) ||
	              (op < 0x40 && (op & 7) <= 1 && op != 0x38 && op != 0x39) ||
	              (op == 0xFF && reg <= 1) ||
	              ((op == 0xF6 || op == 0xF7) && (reg == 2 || reg == 3));
	if (!writes || in->nopnd == 0 || m->kind != OPND_MEM ||
	    m->mem.seg == SEG_GS)
		return false;
	*known = m->mem.base == 4 && m->mem.index == INSN_NO_REG;
	*slot = delta + (int32_t)m->mem.disp;
	return true;
}

/* In the block at a (its sequences walked in address order): every
 * store to guest memory at an nb position, where registers hold
 * scratch values and a fault cannot be handled, goes to a slot that an
 * exact position before it already wrote (so that it cannot fault
 * where the guest instruction would not have), addressed off ESP. */
static void stores_only_where_they_may_fault(uint32_t a)
{
	int32_t written[16], delta = 0;
	unsigned nw = 0;
	uint32_t got;

	for (uint32_t at = a; at < tcfx->blocks[tcfx->nblocks - 1].end;) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)at;
		struct insn in;
		int32_t slot;
		bool known, seen = false;
		int m = tc_map_back(tcfx, at, &got);

		cr_assert_eq(scan_decode(p, 15, true, &in), 0);
		if (guest_store(&in, delta, &slot, &known)) {
			for (unsigned k = 0; k < nw; k++)
				seen |= written[k] == slot;
			if (m == 0 && known && nw < 16)
				written[nw++] = slot;
			cr_assert(m == 0 || (known && seen),
			          "+0x%x: a store to guest memory at an nb "
			          "position, to a slot no exact position wrote "
			          "before", at - a);
		}
		if (p[0] == 0x9C || p[0] == 0x68 || (p[0] >= 0x50 && p[0] <= 0x57))
			delta -= 4;
		else if (p[0] == 0x9D || (p[0] >= 0x58 && p[0] <= 0x5F))
			delta += 4;
		at += in.len;
	}
}

/* 9D: POPF's fast path stored the stripped image into the guest's slot
 * with `mov %eax, (%esp)` at an nb position, after only reading the
 * slot at the exact one.  A stack page the guest may read but not write
 * (write-traced by the shadow MMU: a page of translated code, of a
 * descriptor table, of a traced page table; or read-only) faulted
 * there, and bt_after_exit crashed the VM ("page fault inside an inline
 * sequence") where the guest's POPF would have run.  Fixed in be2419f:
 * the sequence starts with `orl $0, (%esp)` at the exact position, and
 * both nb stores (the image, then after the host popf the guest's value
 * at -4(%esp)) go to that slot.  PUSHF likewise: its pushf writes the
 * slot its nb `mov %ecx, (%esp)` rewrites. */
Test(translate, popf_writes_the_stack_only_where_it_may_fault)
{
	stores_only_where_they_may_fault(xlate(0x1000, TCFX_BYTES(0x9d, 0x90)));
	stores_only_where_they_may_fault(xlate(0x1100, TCFX_BYTES(0x9c, 0x90)));
	stores_only_where_they_may_fault(xlate(0x1200, TCFX_BYTES(
	        0xfa, 0x9c, 0x9d, 0xfb, 0x9c, 0x9d, 0x90)));
}

/* 26 66 E9 cw under a CS base: tc.c's target16, which redoes a 16-bit
 * target's wrap as an EIP, looked for the 66 only among 66 67 2E 3E F2
 * F3, so an ES (SS, FS, GS) override before it left scan/'s linear
 * wrap: exit to 0xffff0105 instead of 0x0105.  Fixed in 5a5b136:
 * tests/fuzz/crashes/rel16-cs-base-es-prefix. */
Test(translate, rel16_branch_with_es_prefix_under_a_cs_base)
{
	static const uint8_t pfx[] = { 0x26, 0x36, 0x64, 0x65, 0xf0 };

	for (unsigned i = 0; i < sizeof(pfx); i++) {
		uint8_t b[] = { pfx[i], 0x66, 0xe9, 0x00, 0x00 };
		struct tc_src s = tcfx_src(0x0100, b, sizeof(b));

		s.cs_base = 0x10000;
		s.frame[0] = 0x10;
		tc_flush(tcfx);
		tcfx_translate(&s, NULL);
	}
}
