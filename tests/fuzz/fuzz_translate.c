/*
 * fuzz_translate.c — libFuzzer target for the binary translator
 * (translate/): random bytes as 32-bit guest kernel code, built and run
 * by tests/fuzz/run.
 *
 * Input: two header bytes, then the guest code.
 *   [0]  where the block starts: 0 at a page start, k > 0 k bytes
 *        before the page end (so that blocks meet it)
 *   [1]  bit 0: a one-shot translation; bit 1: CS base 0x10000 (else 0);
 *        bit 2: the next page is unmapped (the fetch stops at the page
 *        end); bit 3: also translate the block at each exit whose bytes
 *        are in the input and chain the exit to it; bit 4: the
 *        monitor's adaptive callouts (ops.force_callout) for the IDENT
 *        instructions at EIPs that are multiples of 4; bit 5: guest
 *        CPL 3 with IF off (tc_src.user)
 *
 * Each input runs in an empty cache (tc_flush first, so a crash
 * reproduces from its input alone).  On any violation the target prints
 * it with the input and aborts; the invariants are those of
 * tests/translate/check.h plus: tc_translate returns 0 exactly when the
 * first instruction does not fit in the bytes given, tc_find finds the
 * block (never a one-shot or user one) until its frame is invalidated,
 * and tc_chain chains exactly the exits it should (same page and frame,
 * no one-shot, user or two-page block, a patch to make) and the chained
 * block still checks.
 *
 * FUZZ_SKIP_KNOWN=1 in the environment skips the inputs that reach a
 * bug already reported and not fixed yet (tests/fuzz/crashes/, README
 * there), so that a long run can look past them; without it they abort
 * like any other.  (None at present.)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/classify.h"
#include "tests/translate/check.h"
#include "translate/tc_impl.h"

#define PAGE      4096u
#define CODE_LIN  0x00400000u   /* linear page the guest code is in */
#define CS_BASE   0x00010000u

enum { F_ONCE = 1, F_CSBASE = 2, F_NO_NEXT = 4, F_CHAIN = 8, F_FORCE = 16,
       F_USER = 32 };

static struct tc *tc;
static bool skip_known;
static const uint8_t *cur;      /* the input, for reports */
static size_t cur_size;

static bool forcing;            /* F_FORCE in this input's flags */

static int frame_of(void *ctx, uint32_t lin, uint32_t *frame)
{
	(void)ctx;
	*frame = lin / PAGE;
	return 0;
}

/* Adaptive translation under F_FORCE: the IDENT instructions at EIPs
 * that are multiples of 4 are to be EMULATE callouts. */
static bool force(void *ctx, uint32_t eip)
{
	(void)ctx;
	return forcing && (eip & 3) == 0;
}

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_translate: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ninput (%zu bytes):", cur_size);
	for (size_t i = 0; i < cur_size; i++)
		fprintf(stderr, " %02x", cur[i]);
	fprintf(stderr, "\n");
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct tc_ops ops = { .frame_of = frame_of,
	                                   .force_callout = force };
	static char area[64];
	char err[160];

	(void)argc;
	(void)argv;
	skip_known = getenv("FUZZ_SKIP_KNOWN") != NULL;
	tccheck_asan_prepare();
	static const uint8_t tramp[] = { 0xCC };   /* never run */
	tc = tc_new(&ops, area, (void (*)(void))abort, tramp, sizeof(tramp),
	            true, err, sizeof(err));
	if (!tc) {
		fprintf(stderr, "fuzz_translate: tc_new: %s\n", err);
		exit(1);
	}
	return 0;
}

/* The source of the block at linear address lin, its bytes from b. */
static struct tc_src src_at(uint32_t lin, uint32_t cs_base, const uint8_t *b,
                            size_t n, uint8_t flags)
{
	struct tc_src s = { .eip = lin - cs_base, .cs_base = cs_base,
	                    .frame = { lin / PAGE, lin / PAGE + 1 },
	                    .bytes = b, .avail = n,
	                    .one_shot = flags & F_ONCE,
	                    .user = flags & F_USER };
	size_t to_end = PAGE - (lin & (PAGE - 1));

	if (flags & F_NO_NEXT) {
		if (s.avail > to_end)
			s.avail = to_end;
	} else {
		s.next_ok = s.avail > to_end;
	}
	return s;
}

static void check(const struct tc_src *s, uint32_t start)
{
	char why[256];

	if (tccheck_block(tc, s, start, why, sizeof(why)) < 0)
		die("block at 0x%x: %s", s->eip, why);
}

/* The inputs that reach a bug reported and not fixed yet.  None now:
 * sti-at-block-end (be2419f) and rel16-cs-base-es-prefix (5a5b136)
 * are fixed, their skips gone (and those of loop-opsize16 and
 * rel16-under-cs-base with 162f15b); the inputs stay as seeds. */
static bool known_bug(const struct tc_src *s)
{
	(void)s;
	return false;
}

/* Translate s; 0 exactly when its first instruction does not fit. */
static uint32_t translate(const struct tc_src *s, bool *two)
{
	struct scan_opts so = { .code32 = true, .reserved_seg = SEG_COUNT,
	                        .max_insns = 1 };
	struct scan_insn first;
	bool fits = scan_classify(s->bytes, s->avail, s->cs_base + s->eip,
	                          &so, &first) == 0;
	uint32_t start;

	if (skip_known && known_bug(s))
		return 0;
	start = tc_translate(tc, s, two);
	if (!start != !fits)
		die("tc_translate returned 0x%x, the first instruction %s",
		    start, fits ? "fits" : "does not fit");
	if (start)
		check(s, start);
	return start;
}

/* The BRANCH site `id` of block a: translate its target when the input
 * holds its bytes, chain, and check that tc_chain did what it should. */
static void chain_exit(const struct tc_src *s, uint32_t a, bool a_two,
                       uint32_t id)
{
	const struct tc_site *site = tc_site(tc, id);
	uint32_t lin = s->cs_base + s->eip;
	uint32_t tlin = s->cs_base + site->guest_eip, off = tlin - lin, b;
	bool b_two = false, want;

	if (off >= s->avail)
		return;
	if (tlin == lin) {
		b = a;
		b_two = a_two;
	} else {
		struct tc_src t = src_at(tlin, s->cs_base, s->bytes + off,
		                         s->avail - off, s->user ? F_USER : 0);

		b = translate(&t, &b_two);
		if (!b)
			return;
	}
	/* (a BRANCH site without a patch, POPF's exit, is never chained;
	 * across pages or frames a chain is made too, and lasts until
	 * tc_unchain_cross: tc.h) */
	want = site->patch && !s->one_shot && !s->user;
	(void)a_two;
	(void)b_two;
	if (tc_chain(tc, id, b) != want)
		die("tc_chain(site #%u to 0x%x) did %schain", id,
		    site->guest_eip, want ? "not " : "");
	check(s, a);
}

static void chain_exits(const struct tc_src *s, uint32_t a, bool a_two)
{
	uint32_t bi = tc->nblocks - 1, n = tc->nsites;

	for (uint32_t id = 0; id < n; id++) {
		const struct tc_site *site = tc_site(tc, id);

		if (site->block == bi && site->kind == TC_SITE_BRANCH)
			chain_exit(s, a, a_two, id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	cur = data;
	cur_size = size;

	uint8_t flags = data[1];
	uint32_t lin = CODE_LIN + (data[0] ? PAGE - data[0] : 0);
	uint32_t cs_base = (flags & F_CSBASE) ? CS_BASE : 0;
	struct tc_src s = src_at(lin, cs_base, data + 2, size - 2, flags);
	bool two = false;
	uint32_t a;

	forcing = flags & F_FORCE;
	tc_flush(tc);
	a = translate(&s, &two);
	if (!a)
		return 0;
	if (tc_find(tc, s.eip, cs_base) != (s.one_shot || s.user ? 0 : a))
		die("tc_find does not give the block");
	if (flags & F_CHAIN)
		chain_exits(&s, a, two);
	tc_invalidate_frame(tc, lin / PAGE);
	if (tc_find(tc, s.eip, cs_base))
		die("tc_find gives a block of an invalidated frame");
	return 0;
}
