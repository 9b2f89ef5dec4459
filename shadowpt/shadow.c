/*
 * shadow.c — the shadow MMU behind shadow.h: host mappings of the guest
 * window, filled from host page faults through the guest page-table walk.
 *
 * Book-keeping is a handful of bitmaps over the 2^20 linear pages (128 KiB
 * each): which pages are mapped, which of them are global, came from a
 * 4 MiB guest page, need fixing up before CPL 3 runs (`extra`), or are
 * supervisor pages mapped executable (`sx`; `sx_off` while CPL 3 runs).
 * Flushes walk the bitmaps and unmap runs of pages with one call each.
 */
#include "shadowpt/shadow.h"
#include "shadowpt/pttrace.h"
#include "vmm/cpu.h"
#include "vmm/vm.h"
#include "vmm/window.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define NPAGES  (1u << 20)
#define NWORDS  (NPAGES / 64)
#define PAGE    4096u

#define HOST_PF_W     0x02u
#define HOST_PF_FETCH 0x10u


enum map { M_MAPPED, M_GLOBAL, M_LARGE, M_EXTRA, M_SX, M_SX_OFF, M_COUNT };

struct shadow {
	struct shadow_config cfg;
	bool paging;
	uint32_t user_top;           /* shadow_set_user_top */
	uint64_t user_high;          /* shadow_user_high */
	int pkey;                    /* -1: no protection keys */
	uint32_t pkru_user;          /* PKRU while the guest runs at CPL 3 */
	int entered;                 /* CPL class of the last entry, -1 none */
	uint32_t noexec;             /* shadow_noexec's frame + 1, 0: none */
	uint32_t alias;              /* shadow_alias's frame + 1, 0: none */
	int alias_fd;
	uint64_t *bits[M_COUNT];
	uint32_t count[M_COUNT];     /* pages set (upper bound for M_MAPPED) */
	/* Reverse map, guest frame -> linear pages mapping it: page and
	 * frame numbers + 1, 0 for none. */
	uint32_t *frame_of, *rnext, *rprev;   /* per linear page */
	uint32_t *rhead;                      /* per guest frame */
	uint32_t nframes;
	/* Write tracing: per guest frame, a bit per tracer; frames whose
	 * writes could not be emulated are never traced again. */
	uint8_t *traced, *untraceable;
	struct { shadow_write_fn fn; void *ctx; } tracer[8];
	int ntracers;
	struct pttrace *pt;          /* --shadow=traced, else NULL */
	uint32_t span_from, span_to; /* drop_local's pending host unmap */
};

/* --- bitmaps ------------------------------------------------------------ */

static bool test(const struct shadow *s, enum map m, uint32_t pg)
{
	return (s->bits[m][pg / 64] >> (pg % 64)) & 1;
}

/* Whether any page of [from, to) has its bit in `m` set. */
static bool any_set(const struct shadow *s, enum map m, uint32_t from,
                    uint32_t to)
{
	while (from < to) {
		uint32_t w = from / 64, lo = from % 64;
		uint32_t hi = to - w * 64 < 64 ? to - w * 64 : 64;
		uint64_t mask = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
		if (s->bits[m][w] & mask)
			return true;
		from = (w + 1) * 64;
	}
	return false;
}

static void set(struct shadow *s, enum map m, uint32_t pg)
{
	if (!test(s, m, pg)) {
		s->bits[m][pg / 64] |= 1ull << (pg % 64);
		s->count[m]++;
	}
}

static void rmap_add(struct shadow *s, uint32_t pg, uint32_t frame)
{
	uint32_t head = s->rhead[frame];

	s->frame_of[pg] = frame + 1;
	s->rprev[pg] = 0;
	s->rnext[pg] = head;
	if (head)
		s->rprev[head - 1] = pg + 1;
	s->rhead[frame] = pg + 1;
}

static void rmap_del(struct shadow *s, uint32_t pg)
{
	uint32_t f = s->frame_of[pg], n = s->rnext[pg], p = s->rprev[pg];

	if (!f)
		return;
	if (p)
		s->rnext[p - 1] = n;
	else
		s->rhead[f - 1] = n;
	if (n)
		s->rprev[n - 1] = p;
	s->frame_of[pg] = 0;
}

static void clear_all(struct shadow *s, uint32_t pg)
{
	rmap_del(s, pg);
	for (int m = 0; m < M_COUNT; m++) {
		if (test(s, m, pg)) {
			s->bits[m][pg / 64] &= ~(1ull << (pg % 64));
			s->count[m]--;
		}
	}
}

/* Call fn on each run of consecutive pages whose bit in `m` is set and
 * whose bit in `unless` (M_COUNT: none) is clear, within [from, to). */
static void for_runs(struct shadow *s, enum map m, enum map unless,
                     uint32_t from, uint32_t to,
                     void (*fn)(struct shadow *, uint32_t, uint32_t))
{
	uint32_t pg = from;

	while (pg < to) {
		uint64_t w = s->bits[m][pg / 64];
		if (unless < M_COUNT)
			w &= ~s->bits[unless][pg / 64];
		w >>= pg % 64;
		if (!w) {
			pg = (pg | 63) + 1;
			continue;
		}
		pg += (uint32_t)__builtin_ctzll(w);
		if (pg >= to)
			break;
		uint32_t end = pg + 1;
		while (end < to && test(s, m, end) &&
		       (unless == M_COUNT || !test(s, unless, end)))
			end++;
		fn(s, pg, end - pg);
		pg = end;
	}
}

/* --- host mappings -------------------------------------------------------- */

static void flush_all(struct shadow *s);

/* The host unmap of pages [pg, pg+n); false when the host refused it and
 * everything went instead.  Part of one host mapping (a page of a
 * prefaulted run, or a span that cuts a merged global mapping) splits
 * it, which the host refuses at its mapping limit: then drop them all
 * (the whole window splits nothing). */
static bool host_unmap(struct shadow *s, uint32_t pg, uint32_t n)
{
	if (window_unmap((uint64_t)pg * PAGE, (uint64_t)n * PAGE) < 0) {
		flush_all(s);
		return false;
	}
	s->cfg.counters[CTR_shadow_unmaps]++;
	return true;
}

static void unmap_run(struct shadow *s, uint32_t pg, uint32_t n)
{
	if (!host_unmap(s, pg, n))
		return;
	for (uint32_t i = 0; i < n; i++)
		clear_all(s, pg + i);
}

static void forget_run(struct shadow *s, uint32_t pg, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t f = s->frame_of[pg + i];
		if (f)
			s->rhead[f - 1] = 0;
		s->frame_of[pg + i] = 0;
	}
}

static void flush_all(struct shadow *s)
{
	for_runs(s, M_MAPPED, M_COUNT, 0, NPAGES, forget_run);
	window_unmap(s->cfg.low, s->cfg.top - s->cfg.low);
	for (int m = 0; m < M_COUNT; m++) {
		memset(s->bits[m], 0, NWORDS * sizeof(uint64_t));
		s->count[m] = 0;
	}
	s->cfg.counters[CTR_shadow_flushes]++;
}

/* Map n pages at linear page pg onto guest frames frame.. (one host
 * mapping), with the supervisor key when `super`. */
static int map_run(struct shadow *s, uint32_t pg, uint32_t n, uint32_t frame,
                   int prot, bool super, bool alias)
{
	void *at = (void *)((uintptr_t)pg * PAGE);
	size_t len = (size_t)n * PAGE;

	for (int attempt = 0; ; attempt++) {
		/* Only the first page can be mapped already (with other rights):
		 * anything else found in a hole is not the shadow MMU's
		 * (window.c), and the mmap fails with EEXIST over it. */
		int fixed = test(s, M_MAPPED, pg) ? MAP_FIXED : MAP_FIXED_NOREPLACE;
		void *p = mmap(at, len, prot, MAP_SHARED | fixed | MAP_NORESERVE,
		               alias ? s->alias_fd : s->cfg.ram->fd,
		               alias ? 0 : (off_t)frame * PAGE);
		int e = errno;
		if (p != MAP_FAILED && p != at) {  /* a kernel before 4.17 */
			munmap(p, len);
			errno = EEXIST;
			return -1;
		}
		if (p != MAP_FAILED &&
		    (!super || s->pkey < 0 ||
		     pkey_mprotect(at, len, prot, s->pkey) == 0))
			return 0;
		if (p != MAP_FAILED)
			e = errno;
		/* The host's mapping limit: start over with an empty window. */
		if (e != ENOMEM || attempt > 0)
			return -1;
		flush_all(s);
		s->cfg.counters[CTR_map_evictions]++;
	}
}

/* --- the guest page-table walk over guest RAM ------------------------------ */

static int ram_read32(void *ctx, uint32_t phys, uint32_t *val)
{
	struct shadow *s = ctx;

	if ((uint64_t)phys + 4 > s->cfg.ram->size)
		return -1;
	memcpy(val, s->cfg.ram->host + phys, 4);
	return 0;
}

static int ram_write32(void *ctx, uint32_t phys, uint32_t val)
{
	struct shadow *s = ctx;

	if ((uint64_t)phys + 4 > s->cfg.ram->size)
		return -1;
	memcpy(s->cfg.ram->host + phys, &val, 4);
	return 0;
}

static int ram_write_none(void *ctx, uint32_t phys, uint32_t val)
{
	(void)ctx, (void)phys, (void)val;
	return 0;
}

static enum shadow_outcome do_walk(struct shadow *s,
                                   const struct shadow_regs *r, uint32_t lin,
                                   enum walk_access access, bool change,
                                   struct walk_result *w,
                                   struct shadow_result *out)
{
	struct walk_mem m = { ram_read32, change ? ram_write32 : ram_write_none,
	                      s };
	struct walk_req q = { .cr0 = r->cr0, .cr3 = r->cr3, .cr4 = r->cr4,
	                      .linear = lin, .access = access,
	                      .cpl = r->cpl == 3 ? 3 : 0 };

	if (!s->paging)
		q.cr0 &= ~CR0_PG;
	if (walk(&q, &m, w) < 0)
		return SHADOW_BAD_TABLE;
	if (w->fault) {
		out->error = w->error;
		return SHADOW_GUEST_PF;
	}
	out->phys = w->phys;
	out->global = !s->paging || w->global;
	if ((uint64_t)w->phys >= s->cfg.ram->size)
		return SHADOW_EMULATE;
	return SHADOW_MAPPED;
}

enum shadow_outcome shadow_translate(struct shadow *s,
                                     const struct shadow_regs *r, uint32_t lin,
                                     enum walk_access access,
                                     struct shadow_result *out)
{
	struct walk_result w;

	return do_walk(s, r, lin, access, true, &w, out);
}

enum shadow_outcome shadow_peek(struct shadow *s, const struct shadow_regs *r,
                                uint32_t lin, struct shadow_result *out)
{
	struct walk_result w;

	return do_walk(s, r, lin, WALK_READ, false, &w, out);
}

/* --- prefault -------------------------------------------------------------- */

#define PREFAULT_MAX 15u

/* How many pages after `pg` can share its host mapping: the following
 * entries of the same guest page table (or the rest of the same 4 MiB
 * page) that are present, already accessed (so the processor would write
 * nothing to cache them), map the following frames with the same rights
 * and globalness (and are dirty when the mapping is writable), and are
 * neither mapped yet nor traced.  One mmap then maps them all: a
 * sequential walk through memory takes one host fault per run instead of
 * one per page. */
static uint32_t prefault_pages(struct shadow *s, const struct shadow_regs *r,
                               uint32_t lin, const struct walk_result *w,
                               int prot)
{
	uint32_t pg = lin / PAGE, frame = w->phys / PAGE, n = 0;
	uint32_t pde, leaf, pt = 0, idx = (lin >> 12) & 1023u;
	bool large = w->page_size != PAGE;

	if (ram_read32(s, (r->cr3 & ~0xFFFu) + 4 * (lin >> 22), &pde) < 0)
		return 0;
	leaf = pde;
	if (!large) {
		pt = pde & ~0xFFFu;
		if (ram_read32(s, pt + 4 * idx, &leaf) < 0)
			return 0;
	}
	while (n < PREFAULT_MAX && idx + n + 1 < 1024) {
		uint32_t p = pg + n + 1, f = frame + n + 1, e = leaf;

		if ((uint64_t)p * PAGE >= s->cfg.top || f >= s->nframes ||
		    test(s, M_MAPPED, p) || s->traced[f])
			break;
		if (!large) {
			if (ram_read32(s, pt + 4 * (idx + n + 1), &e) < 0 ||
			    (e & (PG_P | PG_A)) != (PG_P | PG_A) || e >> 12 != f ||
			    ((e ^ leaf) & (PG_RW | PG_US | PG_G)) ||
			    ((prot & PROT_WRITE) && !(e & PG_D)))
				break;
		}
		n++;
	}
	return n;
}

/* --- the host fault ------------------------------------------------------- */

enum shadow_outcome shadow_fault(struct shadow *s, const struct shadow_regs *r,
                                 uint32_t lin, uint32_t host_err,
                                 struct shadow_result *out)
{
	enum walk_access acc = (host_err & HOST_PF_FETCH) ? WALK_FETCH :
	                       (host_err & HOST_PF_W) ? WALK_WRITE : WALK_READ;
	uint32_t pg = lin / PAGE;
	struct walk_result w;
	enum shadow_outcome o;

	if (lin < s->cfg.low || lin >= s->cfg.top) {
		out->phys = lin;
		return SHADOW_OUTSIDE;
	}
	o = do_walk(s, r, lin, acc, true, &w, out);
	if (o != SHADOW_MAPPED) {
		if (o == SHADOW_GUEST_PF)
			s->cfg.counters[CTR_guest_pf]++;
		return o;
	}
	if (!s->paging)          /* RAM is mapped whole: not a miss */
		return s->traced[w.phys / PAGE] ? SHADOW_TRACED : SHADOW_EMULATE;

	bool cpl0 = r->cpl != 3;
	bool super = !w.user;
	bool may_write = w.writable || (cpl0 && !(r->cr0 & CR0_WP));
	int prot = PROT_READ;
	if (!super || acc == WALK_FETCH)
		prot |= PROT_EXEC;
	if (s->pt)      /* its tables first: a table frame maps read-only */
		pttrace_walked(s->pt, &w);
	bool traced = s->traced[w.phys / PAGE] != 0;
	/* A write to a traced frame that is mapped (read-only) already: the
	 * monitor emulates it, mapping it again would change nothing. */
	if (traced && acc == WALK_WRITE && test(s, M_MAPPED, pg) &&
	    s->frame_of[pg] == w.phys / PAGE + 1)
		return SHADOW_TRACED;
	if (may_write && w.dirty && !traced)
		prot |= PROT_WRITE;
	uint32_t n = 1 + prefault_pages(s, r, lin, &w, prot);
	/* The no-exec frame: mapped alone, never executable. */
	if (s->noexec && s->noexec - 1 == w.phys / PAGE) {
		prot &= ~PROT_EXEC;
		n = 1;
	} else if (s->noexec && s->noexec - 1 > w.phys / PAGE &&
	           s->noexec - 1 < w.phys / PAGE + n) {
		n = s->noexec - 1 - w.phys / PAGE;
	}
	/* The aliased frame: its user mappings alone, onto the alias. */
	bool alias = s->alias && s->alias - 1 == w.phys / PAGE && !super;
	if (alias) {
		prot &= ~PROT_WRITE;
		n = 1;
	} else if (s->alias && s->alias - 1 >= w.phys / PAGE &&
	           s->alias - 1 < w.phys / PAGE + n) {
		n = s->alias - 1 == w.phys / PAGE ? 1 : s->alias - 1 - w.phys / PAGE;
	}
	if (map_run(s, pg, n, w.phys / PAGE, prot, super, alias) < 0) {
		out->phys = w.phys;
		return SHADOW_HOST_FAIL;
	}
	for (uint32_t i = 0; i < n; i++) {
		/* A page may have been mapped before with other attributes. */
		clear_all(s, pg + i);
		set(s, M_MAPPED, pg + i);
		rmap_add(s, pg + i, w.phys / PAGE + i);
		if (w.global)
			set(s, M_GLOBAL, pg + i);
		if (w.page_size != PAGE)
			set(s, M_LARGE, pg + i);
		if (!super && (uint64_t)(pg + i + 1) * PAGE > s->user_high)
			s->user_high = (uint64_t)(pg + i + 1) * PAGE;
		/* Supervisor pages from user segments' reach need nothing. */
		bool cut = (uint64_t)(pg + i) * PAGE >= s->user_top;
		if (cpl0 && ((super && s->pkey < 0 && !s->cfg.share_super && !cut) ||
		             ((prot & PROT_WRITE) && !w.writable)))
			set(s, M_EXTRA, pg + i);
		else if (super && (prot & PROT_EXEC) && !s->cfg.share_super && !cut)
			set(s, M_SX, pg + i);
	}
	if (s->pt)
		pttrace_mapped(s->pt, pg, n, &w);
	s->cfg.counters[CTR_shadow_maps]++;
	s->cfg.counters[CTR_prefaulted] += n - 1;
	if (traced && acc == WALK_WRITE)
		return SHADOW_TRACED;
	return SHADOW_MAPPED;
}

/* --- write tracing ---------------------------------------------------------- */

/* Paging off: RAM is one mapping at linear = physical. */
static void protect_identity(struct shadow *s, uint32_t frame, bool ro)
{
	uint64_t at = (uint64_t)frame * PAGE;

	if (at < s->cfg.low)
		return;
	mprotect((void *)(uintptr_t)at, PAGE,
	         PROT_READ | PROT_EXEC | (ro ? 0 : PROT_WRITE));
}

int shadow_add_tracer(struct shadow *s, shadow_write_fn fn, void *ctx)
{
	if (s->ntracers == 8)
		return -1;
	s->tracer[s->ntracers].fn = fn;
	s->tracer[s->ntracers].ctx = ctx;
	return s->ntracers++;
}

void shadow_trace(struct shadow *s, int tracer, uint32_t frame, bool on)
{
	uint8_t bit = (uint8_t)(1u << tracer), was;

	if (frame >= s->nframes || (on && s->untraceable[frame]))
		return;
	was = s->traced[frame];
	s->traced[frame] = on ? (uint8_t)(was | bit) : (uint8_t)(was & ~bit);
	if (!was == !s->traced[frame])
		return;
	if (!s->paging) {
		protect_identity(s, frame, on);
		return;
	}
	if (!on)
		return;       /* writable again on the next write fault */
	/* Every mapping of the frame refaults, read-only from now on. */
	for (uint32_t p = s->rhead[frame]; p; ) {
		uint32_t next = s->rnext[p - 1];
		unmap_run(s, p - 1, 1);
		p = next;
	}
}

void shadow_noexec(struct shadow *s, uint32_t frame)
{
	if (frame >= s->nframes || s->noexec == frame + 1)
		return;
	s->noexec = frame + 1;
	/* Every mapping of it refaults, without PROT_EXEC from now on. */
	for (uint32_t p = s->rhead[frame]; p; ) {
		uint32_t next = s->rnext[p - 1];
		unmap_run(s, p - 1, 1);
		p = next;
	}
}

void shadow_alias(struct shadow *s, uint32_t frame, int fd)
{
	if (frame >= s->nframes)
		return;
	s->alias = fd >= 0 ? frame + 1 : 0;
	s->alias_fd = fd;
	/* Every mapping of it refaults, its user ones onto the alias. */
	for (uint32_t p = s->rhead[frame]; p; ) {
		uint32_t next = s->rnext[p - 1];
		unmap_run(s, p - 1, 1);
		p = next;
	}
}

bool shadow_is_noexec(const struct shadow *s, uint32_t phys)
{
	return s->noexec && s->noexec - 1 == phys / PAGE;
}

void shadow_untraceable(struct shadow *s, uint32_t phys)
{
	uint32_t f = phys / PAGE;

	if (f >= s->nframes)
		return;
	/* From now on any byte of it may change unseen: say so once. */
	for (int t = 0; t < s->ntracers; t++)
		if (s->traced[f] & (1u << t))
			s->tracer[t].fn(s->tracer[t].ctx, f * PAGE, PAGE);
	for (int t = 0; t < s->ntracers; t++)
		shadow_trace(s, t, f, false);
	s->untraceable[f] = 1;
	s->cfg.counters[CTR_untraceable]++;
}

bool shadow_is_traced(const struct shadow *s, uint32_t phys)
{
	return phys / PAGE < s->nframes && s->traced[phys / PAGE];
}

bool shadow_is_traced_by(const struct shadow *s, int tracer, uint32_t frame)
{
	return frame < s->nframes && (s->traced[frame] >> tracer) & 1;
}

void shadow_wrote(struct shadow *s, uint32_t phys, unsigned len)
{
	while (len) {
		uint32_t f = phys / PAGE;
		unsigned n = PAGE - (phys % PAGE);

		if (n > len)
			n = len;
		for (int t = 0; f < s->nframes && t < s->ntracers; t++)
			if (s->traced[f] & (1u << t))
				s->tracer[t].fn(s->tracer[t].ctx, phys, n);
		phys += n;
		len -= n;
	}
	s->cfg.counters[CTR_traced_writes]++;
}

/* --- invalidation ---------------------------------------------------------- */

uint32_t shadow_drop_if(struct shadow *s, uint32_t pg, uint32_t n,
                        bool (*drop)(void *ctx, uint32_t pg), void *ctx)
{
	uint32_t end = pg + n, run = 0, dropped = 0;

	while (pg < end) {
		if (!run && !(s->bits[M_MAPPED][pg / 64] >> (pg % 64))) {
			pg = (pg | 63) + 1;         /* nothing mapped in this word */
			continue;
		}
		if (test(s, M_MAPPED, pg) && drop(ctx, pg)) {
			run++;
		} else if (run) {
			unmap_run(s, pg - run, run);
			dropped += run;
			run = 0;
		}
		pg++;
	}
	if (run) {
		unmap_run(s, end - run, run);
		dropped += run;
	}
	return dropped;
}

/* A CR3 load with page tables traced, one pass over the mapped runs:
 * the non-global pages go, the global ones keep their tables traced
 * (pttrace.h: the tables nothing keeps stop being traced). */
static void cr3_run(struct shadow *s, uint32_t pg, uint32_t n)
{
	for (uint32_t end = pg + n, e; pg < end; pg = e) {
		bool global = test(s, M_GLOBAL, pg);
		for (e = pg + 1; e < end && test(s, M_GLOBAL, e) == global; e++)
			;
		if (global)
			pttrace_keep(s->pt, pg, e - pg);
		else
			unmap_run(s, pg, e - pg);
	}
}

/* Nothing is mapped: no table stays traced. */
static void retire_tables(struct shadow *s)
{
	if (!s->pt)
		return;
	pttrace_retire_begin(s->pt);
	pttrace_retire_end(s->pt);
}

int shadow_reset(struct shadow *s, bool paging, char *err, size_t errlen)
{
	flush_all(s);
	retire_tables(s);        /* while s->paging still says how to */
	s->paging = paging;
	s->entered = -1;
	if (paging)
		return 0;
	/* Paging off: guest RAM at linear = physical, in one mapping. */
	if (ram_map_identity(s->cfg.ram, s->cfg.low, err,
	                     errlen) < 0)
		return -1;
	for (uint32_t f = 0; f < s->nframes; f++)
		if (s->traced[f])
			protect_identity(s, f, true);
	return 0;
}

/* A CR3 load's non-global pages, one host call per span: runs that only
 * holes (unmapped pages) separate share one munmap, which spans them
 * and their holes; a global page ends a span.  A Linux guest's user half
 * is then one call, not one per run.  Where the host merged a global
 * page's mapping with a non-global neighbour (same frames in a row, same
 * rights), the munmap splits it (host_unmap). */
static void drop_span(struct shadow *s)
{
	if (s->span_to > s->span_from)
		host_unmap(s, s->span_from, s->span_to - s->span_from);
	s->span_from = s->span_to = 0;
}

static void drop_local_run(struct shadow *s, uint32_t pg, uint32_t n)
{
	if (s->span_to == s->span_from || any_set(s, M_GLOBAL, s->span_to, pg)) {
		drop_span(s);
		s->span_from = pg;
	}
	s->span_to = pg + n;
	for (uint32_t i = 0; i < n; i++)
		clear_all(s, pg + i);
}

static void drop_local(struct shadow *s)
{
	s->span_from = s->span_to = 0;
	for_runs(s, M_MAPPED, M_GLOBAL, 0, NPAGES, drop_local_run);
	drop_span(s);
}

void shadow_new_cr3(struct shadow *s)
{
	if (!s->paging)
		return;
	if (s->count[M_GLOBAL] == 0) {
		flush_all(s);
		retire_tables(s);
	} else if (s->pt) {
		pttrace_retire_begin(s->pt);
		for_runs(s, M_MAPPED, M_COUNT, 0, NPAGES, cr3_run);
		pttrace_retire_end(s->pt);
	} else {
		drop_local(s);
	}
}

void shadow_invlpg(struct shadow *s, uint32_t lin)
{
	uint32_t pg = lin / PAGE;

	if (!s->paging)
		return;
	/* Any address in a 4 MiB guest page drops all of it, whether or not
	 * this 4 KiB piece was ever mapped. */
	uint32_t first = pg & ~1023u;
	for_runs(s, M_LARGE, M_COUNT, first, first + 1024, unmap_run);
	if (test(s, M_MAPPED, pg))
		unmap_run(s, pg, 1);
}

/* --- CPL changes --------------------------------------------------------- */

static void protect_run(struct shadow *s, uint32_t pg, uint32_t n, int prot,
                        enum map from, enum map to)
{
	/* If the host refuses (a split at the mapping limit), unmap: the
	 * pages refault with the right rights. */
	if (mprotect((void *)((uintptr_t)pg * PAGE), (size_t)n * PAGE, prot)) {
		unmap_run(s, pg, n);
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		s->bits[from][(pg + i) / 64] &= ~(1ull << ((pg + i) % 64));
		s->count[from]--;
		set(s, to, pg + i);
	}
	s->cfg.counters[CTR_cpl3_fixups]++;
}

/* Supervisor code pages lose PROT_EXEC (and write: it refaults) while
 * CPL 3 runs, and get PROT_EXEC back for CPL 0. */
static void sx_off(struct shadow *s, uint32_t pg, uint32_t n)
{
	protect_run(s, pg, n, PROT_READ, M_SX, M_SX_OFF);
}

static void sx_on(struct shadow *s, uint32_t pg, uint32_t n)
{
	protect_run(s, pg, n, PROT_READ | PROT_EXEC, M_SX_OFF, M_SX);
}

static inline void wrpkru(uint32_t v)
{
	__asm__ volatile(".byte 0x0f, 0x01, 0xef" /* wrpkru */
	                 : : "a"(v), "c"(0), "d"(0) : "memory");
}

void shadow_enter(struct shadow *s, int cpl)
{
	int cls = cpl == 3 ? 3 : 0;

	if (cls != s->entered && s->paging) {
		if (cls == 3) {
			if (s->count[M_EXTRA]) {
				for_runs(s, M_EXTRA, M_COUNT, 0, NPAGES, unmap_run);
				s->cfg.counters[CTR_cpl3_fixups]++;
			}
			if (s->count[M_SX])
				for_runs(s, M_SX, M_COUNT, 0, NPAGES, sx_off);
		} else if (s->count[M_SX_OFF]) {
			for_runs(s, M_SX_OFF, M_COUNT, 0, NPAGES, sx_on);
		}
	}
	s->entered = cls;
	/* Every entry: the kernel may hand a signal handler its own PKRU. */
	if (s->pkey >= 0)
		wrpkru(cls == 3 && s->paging ? s->pkru_user : 0);
}

/* --- life cycle ---------------------------------------------------------- */

struct shadow *shadow_new(const struct shadow_config *cfg, char *err,
                          size_t errlen)
{
	struct shadow *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory for the shadow MMU");
		return NULL;
	}
	s->cfg = *cfg;
	s->pkey = -1;
	s->entered = -1;
	s->user_top = 0xFFFFFFFFu;
	for (int m = 0; m < M_COUNT; m++) {
		s->bits[m] = calloc(NWORDS, sizeof(uint64_t));
		if (!s->bits[m]) {
			snprintf(err, errlen, "out of memory for the shadow MMU");
			shadow_free(s);
			return NULL;
		}
	}
	s->nframes = (uint32_t)(cfg->ram->size / PAGE);
	s->frame_of = calloc(NPAGES, sizeof(uint32_t));
	s->rnext = calloc(NPAGES, sizeof(uint32_t));
	s->rprev = calloc(NPAGES, sizeof(uint32_t));
	s->rhead = calloc(s->nframes + 1, sizeof(uint32_t));
	s->traced = calloc(s->nframes + 1, 1);
	s->untraceable = calloc(s->nframes + 1, 1);
	if (!s->frame_of || !s->rnext || !s->rprev || !s->rhead || !s->traced ||
	    !s->untraceable) {
		snprintf(err, errlen, "out of memory for the shadow MMU");
		shadow_free(s);
		return NULL;
	}
	if (cfg->trace_tables) {
		s->pt = pttrace_new(s, s->nframes, cfg->counters, err, errlen);
		if (!s->pt) {
			shadow_free(s);
			return NULL;
		}
	}
	if (cfg->use_pku && !cfg->share_super) {
		s->pkey = pkey_alloc(0, 0);
		if (s->pkey >= 0)
			s->pkru_user = 3u << (2 * s->pkey);   /* AD | WD */
	}
	return s;
}

void shadow_set_user_top(struct shadow *s, uint32_t top)
{
	uint32_t old = s->user_top;

	s->user_top = top;
	if (top > old && old / PAGE < NPAGES)   /* now in user segments' reach */
		for_runs(s, M_MAPPED, M_COUNT, old / PAGE,
		         top / PAGE < NPAGES ? top / PAGE : NPAGES, unmap_run);
}

uint64_t shadow_user_high(const struct shadow *s)
{
	return s->user_high;
}

bool shadow_uses_pku(const struct shadow *s)
{
	return s->pkey >= 0;
}

void shadow_free(struct shadow *s)
{
	if (!s)
		return;
	if (s->pkey >= 0)
		pkey_free(s->pkey);
	pttrace_free(s->pt);
	for (int m = 0; m < M_COUNT; m++)
		free(s->bits[m]);
	free(s->frame_of);
	free(s->rnext);
	free(s->rprev);
	free(s->rhead);
	free(s->traced);
	free(s->untraceable);
	free(s);
}
