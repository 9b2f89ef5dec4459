/*
 * tc_fixture.c — the translation cache under test (see tc_fixture.h).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/translate/check.h"
#include "tests/unit/tc_fixture.h"

#define PAGE 4096u

struct tc *tcfx;
uint64_t tcfx_ctr[CTR_MAX];
unsigned tcfx_flushes;

static struct { uint32_t page; int64_t frame; } remap[8];
static unsigned nremap;
static uint32_t forced[8];
static unsigned nforced;

static int frame_of(void *ctx, uint32_t lin, uint32_t *frame)
{
	(void)ctx;
	for (unsigned i = 0; i < nremap; i++)
		if (remap[i].page == lin / PAGE) {
			if (remap[i].frame < 0)
				return -1;
			*frame = (uint32_t)remap[i].frame;
			return 0;
		}
	*frame = lin / PAGE;
	return 0;
}

static bool force_callout(void *ctx, uint32_t eip)
{
	(void)ctx;
	for (unsigned i = 0; i < nforced; i++)
		if (forced[i] == eip)
			return true;
	return false;
}

static void flushed(void *ctx)
{
	cr_assert_eq(ctx, &tcfx_flushes);
	tcfx_flushes++;
}

static void no_entry(void)
{
}

void tcfx_setup(void)
{
	static const struct tc_ops ops = { .frame_of = frame_of,
	                                   .force_callout = force_callout,
	                                   .flushed = flushed,
	                                   .ctx = &tcfx_flushes,
	                                   .counters = tcfx_ctr };
	static char area[64];
	/* Not run here: the stubs' target, whatever its bytes (int3). */
	static const uint8_t tcfx_tramp[] = { 0xCC };
	char err[160];

	nremap = 0;
	nforced = 0;
	tccheck_asan_prepare();
	tcfx = tc_new(&ops, area, no_entry, tcfx_tramp, sizeof(tcfx_tramp),
	              true, err, sizeof(err));
	cr_assert_not_null(tcfx, "tc_new: %s", err);
}

void tcfx_teardown(void)
{
	tc_free(tcfx);
	tcfx = NULL;
}

void tcfx_map_page(uint32_t page, int64_t frame)
{
	unsigned i = 0;

	while (i < nremap && remap[i].page != page)
		i++;
	cr_assert_lt(i, sizeof(remap) / sizeof(remap[0]));
	remap[i].page = page;
	remap[i].frame = frame;
	nremap += i == nremap;
}

void tcfx_force_callout(uint32_t eip)
{
	cr_assert_lt(nforced, sizeof(forced) / sizeof(forced[0]));
	forced[nforced++] = eip;
}

struct tc_src tcfx_src(uint32_t eip, const uint8_t *b, size_t n)
{
	struct tc_src s = { .eip = eip, .bytes = b, .avail = n };
	uint32_t page = eip & ~(PAGE - 1);

	cr_assert_eq(frame_of(NULL, page, &s.frame[0]), 0);
	s.next_ok = (eip & (PAGE - 1)) + n > PAGE &&
	            frame_of(NULL, page + PAGE, &s.frame[1]) == 0;
	return s;
}

uint32_t tcfx_translate(const struct tc_src *s, bool *two)
{
	bool used = false;
	uint32_t start = tc_translate(tcfx, s, &used);
	char why[256];

	if (two)
		*two = used;
	if (start)
		cr_assert_eq(tccheck_block(tcfx, s, start, why, sizeof(why)), 0,
		             "block at 0x%x: %s", s->eip, why);
	return start;
}
