/*
 * check.c — the invariants of one translated block (see check.h).
 *
 * What the checker expects comes from tc.h's model and the rewrites
 * emit.c's header documents, not from emit.c's code: the guest block is
 * rescanned, each guest instruction classified again at its own EIP
 * (targets included), and the emitted code decoded and classified at
 * its TC address.  Emitted instructions are, in order: the copies of
 * the guest IDENT instructions up to the first other one (the
 * terminator), then the terminator's rewrite (its first instruction
 * carries the terminator's EIP), then exits.  An instruction after the
 * rewrite's first holds a guest state only if it is an unconditional
 * jump or an ljmp to a site: the state of wherever that leads.
 */
#include "tests/translate/check.h"
#include "translate/tc_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define TCCHECK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TCCHECK_ASAN 1
#endif
#endif
#ifdef TCCHECK_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define PAGE 4096u

void tccheck_asan_prepare(void)
{
#ifdef TCCHECK_ASAN
	size_t scale, offset;

	__asan_get_shadow_mapping(&scale, &offset);
	uintptr_t lo = ((uintptr_t)TC_BASE >> scale) + offset;
	uintptr_t hi = ((uintptr_t)TC_END >> scale) + offset;

	lo &= ~(uintptr_t)(PAGE - 1);
	hi = (hi + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	if (mmap((void *)lo, hi - lo, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) {
		perror("tccheck: mapping the TC's shadow");
		abort();
	}
#endif
}

struct emitted {
	uint32_t at;
	uint8_t len;
	uint8_t cls;           /* enum scan_class, at its TC address */
	uint16_t mnem;
	bool has_target;
	uint32_t target;
	int guest;             /* index of the guest insn it copies, or -1 */
	int site;              /* an ljmp to a site: its id, or -1 */
};

struct check {
	const struct tc *tc;
	const struct tc_block *b;
	uint32_t bi;
	const struct tc_src *src;
	struct scan_block sb;  /* the guest block, EIPs (not linear) */
	unsigned nident;       /* guest IDENT insns before the terminator */
	int term;              /* the terminator's index in sb, or -1 */
	struct scan_insn tin;  /* the terminator, classified at its EIP */
	uint32_t exit_eip[2];  /* where the block's exits must lead */
	unsigned nexit;
	struct emitted e[TC_BLOCK_MAX];
	unsigned ne;
	char *why;
	size_t whylen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->whylen, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *text_of(const struct emitted *e, char *buf, size_t len)
{
	scan_format(tc_ptr(e->at), e->len, true, e->at, buf, len);
	return buf;
}

static bool named(const struct emitted *e, const char *name)
{
	return e->mnem && !strcmp(scan_mnemonic_name(e->mnem), name);
}

static const struct scan_opts *opts(uint16_t max)
{
	static struct scan_opts o;

	o = (struct scan_opts){ .code32 = true, .reserved_seg = SEG_COUNT,
	                        .max_insns = max };
	return &o;
}

static int find_block(struct check *c, uint32_t start)
{
	for (uint32_t i = c->tc->nblocks; i-- > 0;)
		if (c->tc->blocks[i].start == start) {
			c->b = &c->tc->blocks[i];
			c->bi = i;
			break;
		}
	if (!c->b)
		return fail(c, "0x%x is no block's start", start);
	const struct tc_block *b = c->b;
	const struct tc_src *s = c->src;
	if (!b->valid || b->eip != s->eip || b->cs_base != s->cs_base ||
	    b->frame[0] != s->frame[0] || b->one_shot != s->one_shot ||
	    b->end <= b->start)
		return fail(c, "block %u does not describe its source", c->bi);
	return 0;
}

/* The guest side: the block, the terminator, where the exits lead. */
static int scan_guest(struct check *c)
{
	const struct tc_src *s = c->src;
	uint32_t lin = s->cs_base + s->eip;

	if (!scan_block(s->bytes, s->avail, lin,
	                opts(s->one_shot ? 1 : SCAN_MAX_INSNS), &c->sb))
		return fail(c, "translated, but the first instruction does "
		            "not fit in the bytes given");
	c->term = -1;
	for (unsigned i = 0; i < c->sb.ninsn; i++) {
		c->sb.insn[i].eip -= s->cs_base;
		if (c->term < 0 && c->sb.insn[i].cls != SCAN_IDENT)
			c->term = (int)i;
	}
	c->nident = c->term < 0 ? c->sb.ninsn : (unsigned)c->term;
	if (c->term < 0) {
		const struct scan_insn *l = &c->sb.insn[c->sb.ninsn - 1];

		c->exit_eip[c->nexit++] = l->eip + l->len;
		return 0;
	}
	const struct scan_insn *t = &c->sb.insn[c->term];
	if (scan_classify(s->bytes + t->offset, s->avail - t->offset, t->eip,
	                  opts(1), &c->tin) < 0)
		return fail(c, "the terminator at 0x%x does not classify",
		            t->eip);
	if (c->tin.cls == SCAN_BRANCH_DIRECT) {
		c->exit_eip[c->nexit++] = c->tin.target;
		if (c->tin.flags & SCAN_F_COND)
			c->exit_eip[c->nexit++] = t->eip + t->len;
	}
	return 0;
}

static int decode_emitted(struct check *c)
{
	for (uint32_t at = c->b->start; at < c->b->end;) {
		const uint8_t *p = tc_ptr(at);
		size_t left = c->b->end - at;
		struct scan_insn si;
		struct insn in;

		if (c->ne == TC_BLOCK_MAX)
			return fail(c, "more than %u instructions", c->ne);
		if (scan_decode(p, left, true, &in) < 0 ||
		    scan_classify(p, left, at, opts(1), &si) < 0 ||
		    si.len != in.len)
			return fail(c, "+0x%x: does not decode as 32-bit code "
			            "inside the block", at - c->b->start);
		c->e[c->ne++] = (struct emitted){
			.at = at, .len = in.len, .cls = si.cls, .mnem = si.mnem,
			.has_target = si.flags & SCAN_F_TARGET,
			.target = si.target, .guest = -1, .site = -1,
		};
		at += in.len;
	}
	return 0;
}

static int index_at(const struct check *c, uint32_t at)
{
	unsigned lo = 0, hi = c->ne;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (c->e[mid].at < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->ne && c->e[lo].at == at ? (int)lo : -1;
}

static const struct tc_block *block_starting(const struct tc *tc, uint32_t a)
{
	for (uint32_t i = 0; i < tc->nblocks; i++)
		if (tc->blocks[i].start == a)
			return &tc->blocks[i];
	return NULL;
}

/* jmp rel32 or jcc rel32: the forms a chain patches. */
static bool is_rel32(const struct emitted *e)
{
	const uint8_t *p = tc_ptr(e->at);

	return (e->len == 5 && p[0] == 0xE9) ||
	       (e->len == 6 && p[0] == 0x0F && (p[1] & 0xF0) == 0x80);
}

/* A 66 among the legacy prefixes of the guest instruction at b. */
static bool guest_opsize16(const uint8_t *b, unsigned len)
{
	static const uint8_t legacy[] = { 0x66, 0x67, 0x2E, 0x3E, 0x26, 0x36,
	                                  0x64, 0x65, 0xF2, 0xF3, 0xF0 };
	for (unsigned i = 0; i < len && memchr(legacy, b[i], sizeof(legacy));
	     i++)
		if (b[i] == 0x66)
			return true;
	return false;
}

/* push of a guest CALL's return address, just before its jmp. */
static bool is_call_push(const struct check *c, unsigned i)
{
	const struct emitted *e = &c->e[i];
	const uint8_t *p = tc_ptr(e->at);
	const struct scan_insn *t;
	uint32_t v = 0, next;

	if (c->term < 0 || i != c->nident || i + 1 >= c->ne ||
	    c->tin.cls != SCAN_BRANCH_DIRECT ||
	    strcmp(scan_mnemonic_name(c->tin.mnem), "call") ||
	    !named(&c->e[i + 1], "jmp"))
		return false;
	t = &c->sb.insn[c->term];
	next = t->eip + t->len;
	if (guest_opsize16(c->src->bytes + t->offset, t->len)) {
		memcpy(&v, p + 2, 2);
		return e->len == 4 && p[0] == 0x66 && p[1] == 0x68 &&
		       v == (next & 0xFFFF);
	}
	memcpy(&v, p + 1, 4);
	return e->len == 5 && p[0] == 0x68 && v == next;
}

static int check_ident(struct check *c, unsigned i)
{
	struct emitted *e = &c->e[i];
	char t[96];

	if (i < c->nident) {
		const struct scan_insn *g = &c->sb.insn[i];

		if (e->len != g->len ||
		    memcmp(tc_ptr(e->at), c->src->bytes + g->offset, g->len))
			return fail(c, "+0x%x: %s is not the guest's 0x%x copied",
			            e->at - c->b->start, text_of(e, t, sizeof(t)),
			            g->eip);
		e->guest = (int)i;
		return 0;
	}
	if (is_call_push(c, i))
		return 0;
	return fail(c, "+0x%x: %s is neither a guest instruction copied nor a "
	            "CALL's push", e->at - c->b->start, text_of(e, t, sizeof(t)));
}

static int check_branch(struct check *c, unsigned i)
{
	const struct emitted *e = &c->e[i];
	uint32_t off = e->at - c->b->start;
	char t[96];

	text_of(e, t, sizeof(t));
	if (named(e, "call"))
		return fail(c, "+0x%x: %s would push a TC address", off, t);
	if (!e->has_target)
		return fail(c, "+0x%x: %s has no target", off, t);
	if (e->target >= c->b->start && e->target < c->b->end) {
		int j = index_at(c, e->target);

		if (j < 0)
			return fail(c, "+0x%x: %s lands inside an instruction",
			            off, t);
		/* an exit's ljmp, or (chained to itself) the block start */
		if (is_rel32(e) && tc_ptr(c->e[j].at)[0] != 0xEA &&
		    e->target != c->b->start)
			return fail(c, "+0x%x: %s is a rel32 not to an exit", off,
			            t);
		return 0;
	}
	const struct tc_block *to = block_starting(c->tc, e->target);
	if (!is_rel32(e) || !to)
		return fail(c, "+0x%x: %s leaves the block, not for a block's "
		            "start", off, t);
	if (!to->valid)
		return fail(c, "+0x%x: %s enters an invalidated block", off, t);
	return 0;
}

/* movl $id, TCV_SITE(%rip); jmp *TCV_ENTRY(%rip), as tc.h says. */
static int check_stub(struct check *c, uint32_t id)
{
	uint32_t stub = TC_STUBS + id * TC_STUB_SIZE, v;
	const uint8_t *p = tc_ptr(stub);
	int32_t r1, r2;

	memcpy(&r1, p + 2, 4);
	memcpy(&v, p + 6, 4);
	memcpy(&r2, p + 12, 4);
	if (p[0] != 0xC7 || p[1] != 0x05 || p[10] != 0xFF || p[11] != 0x25 ||
	    v != id || stub + 10 + (uint32_t)r1 != TC_VPAGE + TCV_SITE ||
	    stub + 16 + (uint32_t)r2 != TC_VPAGE + TCV_ENTRY)
		return fail(c, "the stub of site #%u is not its own", id);
	return 0;
}

static int check_far(struct check *c, unsigned i)
{
	struct emitted *e = &c->e[i];
	const uint8_t *p = tc_ptr(e->at);
	uint32_t off = e->at - c->b->start, dest, id;
	uint16_t sel;
	char t[96];

	text_of(e, t, sizeof(t));
	if (e->len != 7 || p[0] != 0xEA)
		return fail(c, "+0x%x: %s is not ljmp ptr16:32", off, t);
	memcpy(&dest, p + 1, 4);
	memcpy(&sel, p + 5, 2);
	if (sel != TC_HOST_CS64 || dest < TC_STUBS || dest >= TC_CODE ||
	    (dest - TC_STUBS) % TC_STUB_SIZE)
		return fail(c, "+0x%x: %s is not to a stub", off, t);
	if (tc_stub_site(c->tc, dest, &id) < 0 || !tc_site(c->tc, id) ||
	    id != (dest - TC_STUBS) / TC_STUB_SIZE)
		return fail(c, "+0x%x: %s: no site has that stub", off, t);
	if (tc_site(c->tc, id)->block != c->bi)
		return fail(c, "+0x%x: site #%u is block %u's", off, id,
		            tc_site(c->tc, id)->block);
	for (unsigned j = 0; j < i; j++)
		if (c->e[j].site == (int)id)
			return fail(c, "+0x%x: site #%u has two ljmps", off, id);
	e->site = (int)id;
	return check_stub(c, id);
}

static int check_insns(struct check *c)
{
	for (unsigned i = 0; i < c->ne; i++) {
		const struct emitted *e = &c->e[i];
		char t[96];
		int r;

		if (i < c->nident && e->cls != SCAN_IDENT)
			return fail(c, "guest instruction %u is not copied", i);
		switch (e->cls) {
		case SCAN_IDENT:
			r = check_ident(c, i);
			break;
		case SCAN_BRANCH_DIRECT:
			r = check_branch(c, i);
			break;
		case SCAN_BRANCH_FAR:
			r = check_far(c, i);
			break;
		default:
			r = fail(c, "+0x%x: %s is %s", e->at - c->b->start,
			         text_of(e, t, sizeof(t)), scan_class_name(e->cls));
		}
		if (r < 0)
			return r;
	}
	if (c->ne <= c->nident)
		return fail(c, "the block ends without an exit or a callout");
	return 0;
}

/* The rel32 field at `patch` belongs to one of the block's jumps, which
 * goes to the site's ljmp, or (chained) to a block at its guest EIP. */
static int check_patch(struct check *c, const struct emitted *ea,
                       const struct tc_site *s)
{
	for (unsigned j = 0; j < c->ne; j++) {
		const struct emitted *e = &c->e[j];
		const struct tc_block *to;

		if (!is_rel32(e) || e->at + e->len - 4 != s->patch)
			continue;
		if (e->target == ea->at)
			return 0;
		to = block_starting(c->tc, e->target);
		if (to && to->eip == s->guest_eip && to->cs_base == c->b->cs_base)
			return 0;
		return fail(c, "site #%d: its jump goes to 0x%x", ea->site,
		            e->target);
	}
	return fail(c, "site #%d: patch 0x%x is no jump's rel32", ea->site,
	            s->patch);
}

static bool exit_expected(const struct check *c, uint32_t eip)
{
	for (unsigned k = 0; k < c->nexit; k++)
		if (c->exit_eip[k] == eip)
			return true;
	return false;
}

static int check_sites(struct check *c)
{
	unsigned nea = 0, nemul = 0, mine = 0;
	bool seen[2] = { false, false };

	for (unsigned i = 0; i < c->ne; i++) {
		const struct emitted *e = &c->e[i];
		const struct tc_site *s;

		if (e->site < 0)
			continue;
		nea++;
		s = tc_site(c->tc, (uint32_t)e->site);
		if (s->kind == TC_SITE_EMULATE) {
			if (c->term < 0 || c->tin.cls == SCAN_BRANCH_DIRECT ||
			    s->guest_eip != c->sb.insn[c->term].eip ||
			    s->cls != c->tin.cls || s->patch)
				return fail(c, "site #%d: EMULATE 0x%x class %u "
				            "is not the terminator", e->site,
				            s->guest_eip, s->cls);
			nemul++;
			continue;
		}
		if (s->kind != TC_SITE_BRANCH || !exit_expected(c, s->guest_eip))
			return fail(c, "site #%d: kind %u to 0x%x is no exit of "
			            "this block", e->site, s->kind, s->guest_eip);
		for (unsigned k = 0; k < c->nexit; k++)
			seen[k] |= c->exit_eip[k] == s->guest_eip;
		if (check_patch(c, e, s) < 0)
			return -1;
	}
	for (uint32_t id = 0; tc_site(c->tc, id); id++)
		mine += tc_site(c->tc, id)->block == c->bi;
	if (mine != nea)
		return fail(c, "%u sites, %u ljmps", mine, nea);
	for (unsigned k = 0; k < c->nexit; k++)
		if (!seen[k])
			return fail(c, "no exit to 0x%x", c->exit_eip[k]);
	bool emulated = c->term >= 0 && c->tin.cls != SCAN_BRANCH_DIRECT;
	if (nemul != (emulated ? 1u : 0u))
		return fail(c, "%u EMULATE sites", nemul);
	return 0;
}

/* The rewrite's first instruction: the terminator's own form (jcc keeps
 * its condition), a CALL's push, or the EMULATE ljmp. */
static int check_rewrite(struct check *c)
{
	const struct emitted *e = &c->e[c->nident];
	char t[96];

	if (c->term < 0 || c->tin.cls != SCAN_BRANCH_DIRECT)
		return 0;
	if (!strcmp(scan_mnemonic_name(c->tin.mnem), "call") ?
	    is_call_push(c, c->nident) : e->mnem == c->tin.mnem)
		return 0;
	return fail(c, "+0x%x: %s does not do the guest's %s",
	            e->at - c->b->start, text_of(e, t, sizeof(t)),
	            scan_mnemonic_name(c->tin.mnem));
}

/* The guest EIP whose state the registers hold at emitted insn i: a
 * copy's, the terminator's at its rewrite's start, a site's at its
 * ljmp, and where it leads at an unconditional jump (which a chain may
 * point back at the block's start). */
static int state_at(const struct check *c, unsigned i, uint32_t *eip)
{
	for (unsigned steps = 0; steps <= c->ne; steps++) {
		const struct emitted *e = &c->e[i];
		const struct tc_block *to;
		int j;

		if (e->guest >= 0) {
			*eip = c->sb.insn[e->guest].eip;
			return 0;
		}
		if (c->term >= 0 && i == c->nident) {
			*eip = c->sb.insn[c->term].eip;
			return 0;
		}
		if (e->site >= 0) {
			*eip = tc_site(c->tc, (uint32_t)e->site)->guest_eip;
			return 0;
		}
		if (!named(e, "jmp") || !e->has_target)
			return -1;
		j = index_at(c, e->target);
		if (j < 0) {
			to = block_starting(c->tc, e->target);
			if (!to)
				return -1;
			*eip = to->eip;
			return 0;
		}
		i = (unsigned)j;
	}
	return -1;
}

static bool in_some_block(const struct tc *tc, uint32_t a)
{
	for (uint32_t i = 0; i < tc->nblocks; i++)
		if (a >= tc->blocks[i].start && a < tc->blocks[i].end)
			return true;
	return false;
}

static int check_map(struct check *c)
{
	for (unsigned i = 0; i < c->ne; i++) {
		const struct emitted *e = &c->e[i];
		uint32_t want, got = 0;
		char t[96];

		if (state_at(c, i, &want) < 0)
			return fail(c, "+0x%x: %s holds no guest state",
			            e->at - c->b->start, text_of(e, t, sizeof(t)));
		for (uint32_t a = e->at; a < e->at + e->len; a++)
			if (tc_map_back(c->tc, a, &got) < 0 || got != want)
				return fail(c, "+0x%x: maps back to 0x%x, not 0x%x",
				            a - c->b->start, got, want);
	}
	uint32_t got = 0, edges[17], n = 0;
	edges[n++] = c->b->start - 1;
	for (uint32_t a = c->b->end; a & 15; a++)
		edges[n++] = a;
	for (uint32_t k = 0; k < n; k++)
		if (!in_some_block(c->tc, edges[k]) &&
		    tc_map_back(c->tc, edges[k], &got) == 0)
			return fail(c, "0x%x, outside any block, maps back to "
			            "0x%x", edges[k], got);
	return 0;
}

/* Bytes translated from the next page make the block a two-page one. */
static int check_pages(struct check *c)
{
	int last = c->term >= 0 ? c->term : (int)c->sb.ninsn - 1;
	const struct scan_insn *l = &c->sb.insn[last];
	uint32_t lin = c->src->cs_base + c->src->eip;

	if ((lin & (PAGE - 1)) + l->offset + l->len > PAGE &&
	    (!c->b->two || c->b->frame[1] != c->src->frame[1]))
		return fail(c, "bytes from the next page, but not a two-page "
		            "block of frame 0x%x", c->src->frame[1]);
	return 0;
}

static int (*const steps[])(struct check *) = {
	scan_guest, decode_emitted, check_insns, check_rewrite, check_sites,
	check_map, check_pages,
};

int tccheck_block(const struct tc *tc, const struct tc_src *src,
                  uint32_t start, char *why, size_t whylen)
{
	struct check *c = calloc(1, sizeof(*c));
	int r;

	if (!c) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	c->tc = tc;
	c->src = src;
	c->why = why;
	c->whylen = whylen;
	r = find_block(c, start);
	for (size_t k = 0; !r && k < sizeof(steps) / sizeof(steps[0]); k++)
		r = steps[k](c);
	free(c);
	return r;
}
