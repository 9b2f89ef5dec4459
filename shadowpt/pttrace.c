/*
 * pttrace.c — the page-table tracer behind pttrace.h: which guest frames
 * serve as page directories and page tables of the shadow's mappings,
 * and which mappings a write to one of their entries invalidates.
 *
 * Per linear page (NPAGES entries each): pde_of and pte_of, the address
 * | 1 of the PDE and PTE the page was last mapped through (0: none, or a
 * 4 MiB page for pte_of).  Stale values of unmapped pages do no harm:
 * every drop asks the shadow's own bitmap first (shadow_drop_if), and a
 * page mapped again gets new values.  Per frame: a state byte and, for a
 * page table, a 1024-bit set of the PDE indices it was reached through
 * (allocated when the frame is first traced as one).
 */
#include "shadowpt/pttrace.h"
#include "shadowpt/shadow.h"
#include "vmm/vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPAGES (1u << 20)
#define PAGE   4096u

enum { LISTED = 1, DIR = 2, KEEP = 4 };   /* state bits per frame */

struct pttrace {
	struct shadow *s;
	int tracer;
	uint64_t *counters;
	uint32_t nframes;
	uint32_t *pde_of, *pte_of;     /* per linear page: entry address | 1 */
	uint8_t *state;                /* per frame */
	uint64_t **parents;            /* per frame: PDE indices, 16 words */
	uint32_t *list, nlisted, cap;  /* the frames with LISTED */
};

/* --- a write to a traced table ------------------------------------------- */

struct match {
	const struct pttrace *p;
	uint32_t base;                 /* the written frame's address */
};

/* Page pg came through PDE pg >> 10 of the written frame. */
static bool came_through_pde(void *ctx, uint32_t pg)
{
	const struct match *m = ctx;

	return m->p->pde_of[pg] == ((m->base + 4 * (pg >> 10)) | 1);
}

/* Page pg came through PTE pg & 1023 of the written frame. */
static bool came_through_pte(void *ctx, uint32_t pg)
{
	const struct match *m = ctx;

	return m->p->pte_of[pg] == ((m->base + 4 * (pg & 1023)) | 1);
}

/* The shadow's tracer: entries first..last of frame phys / PAGE may have
 * changed (the write already happened, the old values are gone). */
static void table_written(void *ctx, uint32_t phys, unsigned len)
{
	struct pttrace *p = ctx;
	uint32_t f = phys / PAGE, first = (phys % PAGE) / 4;
	uint32_t n = ((phys % PAGE) + len - 1) / 4 - first + 1;
	struct match m = { p, f * PAGE };
	uint32_t dropped = 0;

	if (f >= p->nframes || !len)
		return;
	p->counters[CTR_pt_writes]++;
	if (p->state[f] & DIR)
		dropped += shadow_drop_if(p->s, first << 10, n << 10,
		                          came_through_pde, &m);
	for (uint32_t w = 0; p->parents[f] && w < 16; w++)
		for (uint64_t b = p->parents[f][w]; b; b &= b - 1) {
			uint32_t j = w * 64 + (uint32_t)__builtin_ctzll(b);
			dropped += shadow_drop_if(p->s, j << 10 | first, n,
			                          came_through_pte, &m);
		}
	p->counters[CTR_pt_dropped] += dropped;
}

/* --- tracing frames ------------------------------------------------------- */

static bool list_frame(struct pttrace *p, uint32_t f)
{
	if (p->state[f] & LISTED)
		return true;
	if (p->nlisted == p->cap) {
		uint32_t cap = p->cap ? 2 * p->cap : 256;
		uint32_t *l = realloc(p->list, cap * sizeof(*l));
		if (!l)
			return false;
		p->list = l;
		p->cap = cap;
	}
	p->list[p->nlisted++] = f;
	p->state[f] |= LISTED;
	return true;
}

/* Trace frame f as a directory, or as a table reached through PDE pdi.
 * A frame the shadow will not trace (untraceable) keeps TLB semantics. */
static void trace(struct pttrace *p, uint32_t f, bool dir, uint32_t pdi)
{
	if (f >= p->nframes)
		return;
	if (!shadow_is_traced_by(p->s, p->tracer, f)) {
		shadow_trace(p->s, p->tracer, f, true);
		if (!shadow_is_traced_by(p->s, p->tracer, f))
			return;
		p->counters[CTR_pt_traced]++;
	}
	if (!dir && !p->parents[f])
		p->parents[f] = calloc(16, sizeof(uint64_t));
	if (!list_frame(p, f) || (!dir && !p->parents[f])) {
		shadow_trace(p->s, p->tracer, f, false);   /* out of memory */
		return;
	}
	if (dir)
		p->state[f] |= DIR;
	else
		p->parents[f][pdi / 64] |= 1ull << (pdi % 64);
}

void pttrace_walked(struct pttrace *p, const struct walk_result *w)
{
	trace(p, w->pde_addr / PAGE, true, 0);
	if (w->page_size == PAGE)
		trace(p, w->pte_addr / PAGE, false, (w->pde_addr % PAGE) / 4);
}

void pttrace_mapped(struct pttrace *p, uint32_t pg, uint32_t n,
                    const struct walk_result *w)
{
	bool small = w->page_size == PAGE;

	for (uint32_t i = 0; i < n; i++) {
		p->pde_of[pg + i] = w->pde_addr | 1;
		p->pte_of[pg + i] = small ? (w->pte_addr + 4 * i) | 1 : 0;
	}
}

/* --- retirement at CR3 loads ----------------------------------------------- */

void pttrace_retire_begin(struct pttrace *p)
{
	for (uint32_t i = 0; i < p->nlisted; i++)
		p->state[p->list[i]] &= (uint8_t)~KEEP;
}

static void keep_frame(struct pttrace *p, uint32_t entry)
{
	uint32_t f = entry / PAGE;

	if (entry && f < p->nframes)
		p->state[f] |= KEEP;
}

void pttrace_keep(struct pttrace *p, uint32_t pg, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		keep_frame(p, p->pde_of[pg + i]);
		keep_frame(p, p->pte_of[pg + i]);
	}
}

void pttrace_retire_end(struct pttrace *p)
{
	for (uint32_t i = 0; i < p->nlisted; ) {
		uint32_t f = p->list[i];

		if (p->state[f] & KEEP) {
			i++;
			continue;
		}
		shadow_trace(p->s, p->tracer, f, false);
		free(p->parents[f]);
		p->parents[f] = NULL;
		p->state[f] = 0;
		p->list[i] = p->list[--p->nlisted];
		p->counters[CTR_pt_retired]++;
	}
}

/* --- life cycle ------------------------------------------------------------ */

struct pttrace *pttrace_new(struct shadow *s, uint32_t nframes,
                            uint64_t *counters, char *err, size_t errlen)
{
	struct pttrace *p = calloc(1, sizeof(*p));

	if (p) {
		p->s = s;
		p->counters = counters;
		p->nframes = nframes;
		p->pde_of = calloc(NPAGES, sizeof(uint32_t));
		p->pte_of = calloc(NPAGES, sizeof(uint32_t));
		p->state = calloc(nframes + 1, 1);
		p->parents = calloc(nframes + 1, sizeof(uint64_t *));
	}
	if (!p || !p->pde_of || !p->pte_of || !p->state || !p->parents) {
		snprintf(err, errlen, "out of memory for the page-table tracer");
		pttrace_free(p);
		return NULL;
	}
	p->tracer = shadow_add_tracer(s, table_written, p);
	if (p->tracer < 0) {
		snprintf(err, errlen, "no write tracer left for page tables");
		pttrace_free(p);
		return NULL;
	}
	return p;
}

void pttrace_free(struct pttrace *p)
{
	if (!p)
		return;
	for (uint32_t f = 0; p->parents && f < p->nframes; f++)
		free(p->parents[f]);
	free(p->parents);
	free(p->state);
	free(p->pde_of);
	free(p->pte_of);
	free(p->list);
	free(p);
}
