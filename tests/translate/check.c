/*
 * check.c — the invariants of one translated block (see check.h).
 *
 * What the checker expects comes from tc.h's model and the rewrites
 * emit.c's and inline.c's headers document, not from their code: the
 * guest block is rescanned (with %gs reserved, as inside the TC), each
 * guest instruction given the form its bytes call for (copy, direct
 * branch, inline sequence, EMULATE callout), and the emitted code
 * decoded and classified at its TC address.  Emitted instructions are,
 * in guest order: each translated guest instruction's copy or inline
 * sequence (matched whole, instruction by instruction, against the
 * sequence's documented shape: bytes, the vpage words it touches, where
 * its short jumps land, the sites of its ljmps, which positions are
 * exact and which "nb"), up to the first one that ends the block (a
 * direct branch, an EMULATE callout, RET/JMP/CALL r/m); then, for a
 * direct branch or a block that just stops, the branch's rewrite and
 * the exits.  In that last part an instruction after the rewrite's
 * first holds a guest state only if it is an unconditional jump or an
 * ljmp to a site: the state of wherever that leads.
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

/* What a guest instruction becomes (emit.c's and inline.c's headers). */
enum form {
	F_COPY,      /* IDENT: copied byte for byte */
	F_RDTSC,     /* copied too (the host TSC, as in trap mode) */
	F_DIRECT,    /* JMP/Jcc/CALL rel, LOOPcc, JCXZ: rewritten; ends */
	F_LJMP,      /* JMP rel to another page (CS base 0, not user): the
	              * inline lookup of its target, a BRANCH exit on a
	              * miss; ends */
	F_LCALL,     /* CALL rel likewise, after its push; ends */
	F_CLI,       /* inline; the block goes on */
	F_STI,
	F_PUSHF,
	F_POPF,
	F_RET,       /* inline through the lookup table; ends */
	F_JMPM,
	F_CALLM,
	F_MOVS,      /* MOV ES/DS/FS, r/m16: through TC_SELTAB; goes on */
	F_POPS,      /* POP ES/DS/FS likewise */
	F_PUSHS,     /* PUSH ES/SS/DS/FS: the host's, then TC_SELREV */
	F_MOVFS,     /* MOV r32, Sreg (register form): TC_SELREV */
	F_VERW,      /* VERW r/m16: TC_VERWTAB, ZF through LAHF/SAHF */
	F_MOVCR,     /* MOV r32, CR0/2/3/4: the vpage's copy */
	F_EMULATE,   /* an EMULATE callout of its class; ends */
	F_FORCED,    /* adaptive: an IDENT one as EMULATE, class IDENT; ends */
};

/* The map state an emitted instruction must have. */
enum want { W_STATE, W_EIP, W_NEXT, W_NB, W_TGT };

struct emitted {
	uint32_t at;
	uint8_t len;
	uint8_t cls;           /* enum scan_class, at its TC address */
	uint16_t mnem;
	bool has_target;
	uint32_t target;
	int guest;             /* index of the guest insn it copies, or -1 */
	int site;              /* an ljmp to a site: its id, or -1 */
	int seq;               /* part of guest insn seq's translation, or -1 */
	uint8_t want;          /* enum want (W_STATE: found by state_at) */
	uint32_t want_eip;     /* W_EIP, W_NEXT, W_TGT: the guest EIP */
};

struct check {
	const struct tc *tc;
	const struct tc_block *b;
	uint32_t bi;
	const struct tc_src *src;
	struct scan_block sb;  /* the guest block, EIPs (not linear) */
	uint8_t form[SCAN_MAX_INSNS];
	unsigned ntrans;       /* guest insns the block translates */
	int term;              /* the insn that ends the block, or -1 */
	struct scan_insn tin;  /* the terminator, classified at its EIP */
	unsigned rw;           /* first emitted insn of the direct branch's
	                        * rewrite, or of the exit jump, or ne */
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

/* %gs is the monitor's inside the TC: the guest's uses of it are
 * emulated, so the guest side is classified with it reserved; the
 * emitted code, which reaches the vpage through it, without. */
static const struct scan_opts *opts(uint16_t max, uint8_t reserved)
{
	static struct scan_opts o;

	o = (struct scan_opts){ .code32 = true, .reserved_seg = reserved,
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
	    b->frame[0] != s->frame[0] ||
	    b->one_shot != (s->one_shot || (s->user && !s->keep)) ||
	    b->user != s->user ||
	    b->end <= b->start)
		return fail(c, "block %u does not describe its source", c->bi);
	return 0;
}

/* Prefixes an inline JMP/CALL r/m may carry: segment overrides but GS,
 * and the address size (inline.c). */
static bool inline_prefix(uint8_t b)
{
	return b == 0x2E || b == 0x36 || b == 0x3E || b == 0x26 ||
	       b == 0x64 || b == 0x67;
}

/* The legacy prefixes of an inline JMP/CALL r/m: their count. */
static unsigned rm_prefixes(const uint8_t *b, unsigned len)
{
	unsigned p = 0;

	while (p < len && inline_prefix(b[p]))
		p++;
	return p;
}

/* STI is inline only when the instruction in its interrupt shadow is
 * in the block and runs in the TC (IDENT, a direct branch, or a plain
 * CLI, STI, PUSHF or POPF, whose sequences go on in the TC): STI
 * before a callout is the monitor's, which honours the shadow.  Nothing
 * in the block after it (a page end, the instruction limit, one-shot):
 * the next instruction is not known, and the exit that follows is a way
 * into the monitor inside the shadow, so STI must be emulated too
 * (inline.c's next_is_callout). */
static bool sti_inline(const struct check *c, unsigned i)
{
	const struct scan_insn *n = &c->sb.insn[i + 1];
	const uint8_t *nb;

	if (i + 1 >= c->sb.ninsn)
		return false;
	nb = c->src->bytes + n->offset;
	return n->cls == SCAN_IDENT || n->cls == SCAN_BRANCH_DIRECT ||
	       (n->len == 1 && (nb[0] == 0xFA || nb[0] == 0xFB ||
	                        nb[0] == 0x9C || nb[0] == 0x9D));
}

/* A direct JMP or CALL rel to another linear page than the block's
 * first instruction, in a CS-base-0 kernel block: through the inline
 * lookup (emit.c).  Its target as an EIP from the guest's bytes. */
static enum form direct_form(const struct check *c, unsigned i)
{
	const struct scan_insn *g = &c->sb.insn[i];
	const struct tc_src *s = c->src;
	struct scan_insn t;
	const char *m;

	if (s->cs_base || s->user ||
	    scan_classify(s->bytes + g->offset, s->avail - g->offset, g->eip,
	                  opts(1, SEG_GS), &t) < 0 || !(t.flags & SCAN_F_TARGET))
		return F_DIRECT;
	m = scan_mnemonic_name(t.mnem);
	if (!((t.target ^ s->eip) & ~(PAGE - 1)))
		return F_DIRECT;
	return !strcmp(m, "jmp") ? F_LJMP : !strcmp(m, "call") ? F_LCALL
	                                                       : F_DIRECT;
}

/* The segment-register forms and MOV from CRn (inline.c), at CPL 0;
 * p: the count of the prefixes an inline sequence may carry. */
static enum form segment_form(const uint8_t *b, unsigned len, unsigned p)
{
	unsigned reg = p + 1 < len ? (b[p + 1] >> 3) & 7 : 8;

	if (len == 1 && (b[0] == 0x06 || b[0] == 0x16 || b[0] == 0x1E))
		return F_PUSHS;
	if (len == 2 && b[0] == 0x0F && b[1] == 0xA0)
		return F_PUSHS;
	if (len == 1 && (b[0] == 0x07 || b[0] == 0x1F))
		return F_POPS;
	if (len == 2 && b[0] == 0x0F && b[1] == 0xA1)
		return F_POPS;
	if (p + 2 < len && b[p] == 0x0F && b[p + 1] == 0x00 &&
	    ((b[p + 2] >> 3) & 7) == 5)
		return F_VERW;
	if (len == 2 && b[0] == 0x8C && (b[1] >> 6) == 3 && reg < 6)
		return F_MOVFS;
	if (p + 1 < len && b[p] == 0x8E && (reg == 0 || reg == 3 || reg == 4))
		return F_MOVS;
	if (len == 3 && b[0] == 0x0F && b[1] == 0x20 && ((b[2] >> 3) & 7) != 1 &&
	    ((b[2] >> 3) & 7) <= 4)
		return F_MOVCR;
	return F_EMULATE;
}

static enum form form_of(const struct check *c, unsigned i)
{
	const struct scan_insn *g = &c->sb.insn[i];
	const uint8_t *b = c->src->bytes + g->offset;
	const struct tc_ops *ops = &c->tc->ops;
	unsigned p;

	if (g->cls == SCAN_IDENT)
		return ops->force_callout && ops->force_callout(ops->ctx, g->eip)
		       ? F_FORCED : F_COPY;
	if (g->cls == SCAN_BRANCH_DIRECT)
		return direct_form(c, i);
	if (g->flags & SCAN_F_RESV_SEG)
		return F_EMULATE;
	/* guest CPL 3 (tc_src.user): only PUSHF and RDTSC inline, the rest
	 * are callouts, whose emulation checks CPL and IOPL */
	if (c->src->user && !(g->len == 1 && b[0] == 0x9C) &&
	    !(g->len == 2 && b[0] == 0x0F && b[1] == 0x31))
		return F_EMULATE;
	if (g->len == 1 && b[0] == 0xFA)
		return F_CLI;
	if (g->len == 1 && b[0] == 0xFB)
		return sti_inline(c, i) ? F_STI : F_EMULATE;
	if (g->len == 1 && b[0] == 0x9C)
		return F_PUSHF;
	if (g->len == 1 && b[0] == 0x9D)
		return F_POPF;
	if (g->len == 2 && b[0] == 0x0F && b[1] == 0x31)
		return F_RDTSC;
	if ((g->len == 1 && b[0] == 0xC3) || (g->len == 3 && b[0] == 0xC2))
		return F_RET;
	p = rm_prefixes(b, g->len);
	if (p + 1 < g->len && b[p] == 0xFF && ((b[p + 1] >> 3) & 7) == 4)
		return F_JMPM;
	if (p + 1 < g->len && b[p] == 0xFF && ((b[p + 1] >> 3) & 7) == 2)
		return F_CALLM;
	return segment_form(b, g->len, p);
}

static bool form_ends(enum form f)
{
	return f == F_DIRECT || f == F_LJMP || f == F_LCALL || f == F_RET ||
	       f == F_JMPM || f == F_CALLM || f == F_EMULATE || f == F_FORCED;
}

/* The guest side: each instruction's form, the one that ends the block,
 * where the exits lead. */
static int scan_guest(struct check *c)
{
	const struct tc_src *s = c->src;
	uint32_t lin = s->cs_base + s->eip;

	if (!scan_block(s->bytes, s->avail, lin,
	                opts(s->one_shot ? 1 : SCAN_MAX_INSNS, SEG_GS), &c->sb))
		return fail(c, "translated, but the first instruction does "
		            "not fit in the bytes given");
	for (unsigned i = 0; i < c->sb.ninsn; i++)
		c->sb.insn[i].eip -= s->cs_base;
	c->term = -1;
	for (unsigned i = 0; i < c->sb.ninsn && c->term < 0; i++) {
		c->form[i] = (uint8_t)form_of(c, i);
		c->ntrans = i + 1;
		if (form_ends((enum form)c->form[i]))
			c->term = (int)i;
	}
	if (c->b->ninsn != c->ntrans)
		return fail(c, "the block counts %u guest instructions, it "
		            "translates %u", c->b->ninsn, c->ntrans);
	if (c->term < 0) {
		const struct scan_insn *l = &c->sb.insn[c->sb.ninsn - 1];

		c->exit_eip[c->nexit++] = l->eip + l->len;
		return 0;
	}
	const struct scan_insn *t = &c->sb.insn[c->term];
	if (scan_classify(s->bytes + t->offset, s->avail - t->offset, t->eip,
	                  opts(1, SEG_GS), &c->tin) < 0)
		return fail(c, "the terminator at 0x%x does not classify",
		            t->eip);
	if (c->form[c->term] == F_LJMP || c->form[c->term] == F_LCALL)
		c->exit_eip[c->nexit++] = c->tin.target;
	if (c->form[c->term] == F_DIRECT) {
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
		    scan_classify(p, left, at, opts(1, SEG_COUNT), &si) < 0 ||
		    si.len != in.len)
			return fail(c, "+0x%x: does not decode as 32-bit code "
			            "inside the block", at - c->b->start);
		c->e[c->ne++] = (struct emitted){
			.at = at, .len = in.len, .cls = si.cls, .mnem = si.mnem,
			.has_target = si.flags & SCAN_F_TARGET,
			.target = si.target, .guest = -1, .site = -1,
			.seq = -1,
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

	if (c->term < 0 || i != c->rw || i + 1 >= c->ne ||
	    c->form[c->term] != F_DIRECT ||
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

/* After the copies and sequences: only a CALL's push is IDENT. */
static int check_ident(struct check *c, unsigned i)
{
	struct emitted *e = &c->e[i];
	char t[96];

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

/* movl $id, TCV_SITE(%rip); jmp TC_TRAMP, as tc.c writes it. */
static int check_stub(struct check *c, uint32_t id)
{
	uint32_t stub = TC_STUBS + id * TC_STUB_SIZE, v;
	const uint8_t *p = tc_ptr(stub);
	int32_t r1, r2;

	memcpy(&r1, p + 2, 4);
	memcpy(&v, p + 6, 4);
	memcpy(&r2, p + 11, 4);
	if (p[0] != 0xC7 || p[1] != 0x05 || p[10] != 0xE9 ||
	    v != id || stub + 10 + (uint32_t)r1 != TC_VPAGE + TCV_SITE ||
	    stub + 15 + (uint32_t)r2 != TC_TRAMP)
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

/* ---- The inline sequences, as inline.c's header and comments give
 * their shapes, one item per instruction. ---- */

/* EFLAGS bits */
#define FL_CF   0x00000001u
#define FL_PF   0x00000004u
#define FL_AF   0x00000010u
#define FL_ZF   0x00000040u
#define FL_SF   0x00000080u
#define FL_IF   0x00000200u
#define FL_DF   0x00000400u
#define FL_OF   0x00000800u
#define FL_IOPL 0x00003000u
#define FL_NT   0x00004000u
#define FL_AC   0x00040000u
#define FL_ID   0x00200000u
/* What a PUSHF image takes from the host, and what POPF hands it. */
#define ARITH   (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_DF | FL_OF)
/* The virtual bits besides IF a POPF may not change inline. */
#define VFL     (FL_IOPL | FL_NT | FL_AC | FL_ID)

/* The lookup table as %gs sees it: entries of {guest EIP, TC address}. */
#define LOOKUP_GS (TC_LOOKUP - TC_VPAGE)
_Static_assert(sizeof(struct tc_lookup_ent) == 8, "the table's scale is 8");
_Static_assert(TC_LOOKUP - TC_VPAGE + (uint64_t)TC_LOOKUP_N * 8 <=
               TC_VPAGE_SIZE, "the table lies in what %gs reaches");

enum item_kind {
	I_FIX,    /* these bytes */
	I_REL8,   /* b[0] with a rel8 that lands on item `to` */
	I_FAR,    /* ljmp $0x33 to a site of kind `site` */
	I_RM,     /* the guest's JMP/CALL r/m as mov r/m, %eax */
	I_RM16,   /* the guest's r/m16 operand (ModRM at b[to]) as
	           * movzwl r/m16, %ecx */
	I_EXIT,   /* jmp rel32 to the block's exit (or, chained, a block)
	           * for its guest EIP */
};

struct item {
	uint8_t kind;
	uint8_t want;          /* W_EIP, W_NEXT, W_NB */
	uint8_t n;
	uint8_t b[12];
	uint8_t to;            /* I_REL8 */
	uint8_t site;          /* I_FAR: enum tc_site_kind */
};

struct seq {
	struct item it[32];
	unsigned n;
	uint8_t want;          /* the map state of the items added next */
};

static struct item *item(struct seq *q, uint8_t kind)
{
	struct item *it = &q->it[q->n++];

	*it = (struct item){ .kind = kind, .want = q->want };
	return it;
}

static void bytes(struct seq *q, unsigned n, const uint8_t *b)
{
	struct item *it = item(q, I_FIX);

	memcpy(it->b, b, n);
	it->n = (uint8_t)n;
}

/* fixed bytes, then (nw) 32-bit words */
static void ins(struct seq *q, unsigned n, const uint8_t *b, unsigned nw,
                uint32_t w0, uint32_t w1)
{
	uint8_t x[16];

	memcpy(x, b, n);
	memcpy(x + n, &w0, 4);
	memcpy(x + n + 4, &w1, 4);
	bytes(q, n + 4 * nw, x);
}

#define B(...) sizeof((const uint8_t[]){ __VA_ARGS__ }), \
	(const uint8_t[]){ __VA_ARGS__ }

/* The vpage and lookup accesses, all through %gs with a disp32. */
static void st_eax(struct seq *q, uint32_t w)      /* mov %eax, %gs:w */
{
	ins(q, B(0x65, 0x89, 0x05), 1, w, 0);
}
static void st_ecx(struct seq *q, uint32_t w)      /* mov %ecx, %gs:w */
{
	ins(q, B(0x65, 0x89, 0x0D), 1, w, 0);
}
static void ld_eax(struct seq *q, uint32_t w)      /* mov %gs:w, %eax */
{
	ins(q, B(0x65, 0x8B, 0x05), 1, w, 0);
}
static void ld_ecx(struct seq *q, uint32_t w)      /* mov %gs:w, %ecx */
{
	ins(q, B(0x65, 0x8B, 0x0D), 1, w, 0);
}
static void st_imm(struct seq *q, uint32_t w, uint32_t v) /* movl $v, %gs:w */
{
	ins(q, B(0x65, 0xC7, 0x05), 2, w, v);
}
static void or_eax(struct seq *q, uint32_t w)      /* or %gs:w, %eax */
{
	ins(q, B(0x65, 0x0B, 0x05), 1, w, 0);
}
static void cmp_eax(struct seq *q, uint32_t w)     /* cmp %gs:w, %eax */
{
	ins(q, B(0x65, 0x3B, 0x05), 1, w, 0);
}
static void and_eax(struct seq *q, uint32_t v)     /* and $v, %eax */
{
	ins(q, B(0x25), 1, v, 0);
}
/* movzwl %ax, %ecx; mov %gs:LOOKUP+off(,%ecx,8), %ecx */
static void lookup(struct seq *q, uint32_t off)
{
	bytes(q, B(0x0F, 0xB7, 0xC8));
	ins(q, B(0x65, 0x8B, 0x0C, 0xCD), 1, LOOKUP_GS + off, 0);
}
static void jmp_jt(struct seq *q)                  /* jmp *%gs:JT */
{
	ins(q, B(0x65, 0xFF, 0x25), 1, TCV_JT, 0);
}
static void rel8(struct seq *q, uint8_t op, unsigned to)
{
	struct item *it = item(q, I_REL8);

	it->b[0] = op;
	it->n = 2;
	it->to = (uint8_t)to;
}
static void far(struct seq *q, uint8_t kind)
{
	item(q, I_FAR)->site = kind;
}

/* CLI: movl $0, %gs:VIF. */
static void seq_cli(struct seq *q)
{
	q->want = W_EIP;
	st_imm(q, TCV_VIF, 0);
}

/* STI: with an interrupt pending the monitor's; else VIF := IF. */
static void seq_sti(struct seq *q)
{
	q->want = W_EIP;
	st_ecx(q, TCV_S1);
	q->want = W_NB;
	ld_ecx(q, TCV_PEND);
	rel8(q, 0xE3, 5);                         /* jecxz 1f */
	ld_ecx(q, TCV_S1);
	q->want = W_EIP;
	far(q, TC_SITE_EMULATE);
	q->want = W_NB;
	ld_ecx(q, TCV_S1);                        /* 1: */
	q->want = W_EIP;
	st_imm(q, TCV_VIF, FL_IF);
}

/* PUSHF: the host pushf (it may fault, on the guest's registers), then
 * the pushed image plus PDELTA (VFL - IF) plus VIF, with two LEAs
 * (no flag touched), in ECX; EAX and ECX back from the scratch words. */
static void seq_pushf(struct seq *q)
{
	q->want = W_EIP;
	bytes(q, B(0x9C));
	q->want = W_NB;
	st_eax(q, TCV_S0);
	st_ecx(q, TCV_S1);
	bytes(q, B(0x8B, 0x0C, 0x24));            /* mov (%esp), %ecx */
	ld_eax(q, TCV_PDELTA);
	bytes(q, B(0x8D, 0x0C, 0x01));            /* lea (%ecx,%eax), %ecx */
	ld_eax(q, TCV_VIF);
	bytes(q, B(0x8D, 0x0C, 0x01));            /* lea (%ecx,%eax), %ecx */
	bytes(q, B(0x89, 0x0C, 0x24));            /* mov %ecx, (%esp) */
	ld_eax(q, TCV_S0);
	ld_ecx(q, TCV_S1);
}

/* POPF: first `orl $0, (%esp)` (the guest's slot written back with its
 * own value: the only position that may fault, on exact state, so that
 * the stores below cannot); a change to IOPL NT AC ID is the monitor's;
 * else VIF := the image's IF, the host pops the image's arithmetic
 * flags (and the monitor's TF) from the guest's slot, which gets the
 * guest's value back; IF set with an interrupt pending: a BRANCH to the
 * next EIP. */
static void seq_popf(struct seq *q)
{
	q->want = W_EIP;
	bytes(q, B(0x83, 0x0C, 0x24, 0x00));      /* orl $0, (%esp) */
	q->want = W_NB;
	st_eax(q, TCV_S0);
	bytes(q, B(0x8B, 0x04, 0x24));            /* mov (%esp), %eax */
	st_eax(q, TCV_G);
	and_eax(q, VFL);
	cmp_eax(q, TCV_VFL);
	rel8(q, 0x74, 9);                         /* je fast */
	ld_eax(q, TCV_S0);
	q->want = W_EIP;
	far(q, TC_SITE_EMULATE);
	q->want = W_NB;
	ld_eax(q, TCV_G);                         /* 9, fast: */
	and_eax(q, FL_IF);
	st_eax(q, TCV_VIF);
	ld_eax(q, TCV_G);
	and_eax(q, ARITH);
	bytes(q, B(0x83, 0xC8, 0x02));            /* or $2, %eax */
	or_eax(q, TCV_TF);
	bytes(q, B(0x89, 0x04, 0x24));            /* mov %eax, (%esp) */
	ld_eax(q, TCV_S0);
	bytes(q, B(0x9D));                        /* popf */
	st_eax(q, TCV_S0);
	ld_eax(q, TCV_G);
	bytes(q, B(0x89, 0x44, 0x24, 0xFC));      /* mov %eax, -4(%esp) */
	ld_eax(q, TCV_S0);
	st_ecx(q, TCV_S1);
	ld_ecx(q, TCV_VIF);
	rel8(q, 0xE3, 30);                        /* jecxz done */
	ld_ecx(q, TCV_PEND);
	rel8(q, 0xE3, 30);                        /* jecxz done */
	ld_ecx(q, TCV_S1);
	q->want = W_NEXT;
	far(q, TC_SITE_BRANCH);
	q->want = W_NB;
	ld_ecx(q, TCV_S1);                        /* 30, done: */
}

/* A direct JMP/CALL rel to another page (the CALL's push before it, at
 * the CALL's EIP): the jump changes nothing but EIP, so the state is
 * the target's from the first scratch save on; the constant target
 * looked up by its low 16 bits; a miss restores EAX, ECX and takes a
 * `jmp rel32` to the block's exit (a BRANCH site to the target), a hit
 * loads the entry's TC address and jumps through %gs:JT. */
static void seq_lookup(struct seq *q, bool call, bool o16, uint32_t next,
                       uint32_t t)
{
	unsigned h = call;             /* the items before the lookup's */

	if (call) {
		q->want = W_EIP;
		if (o16)
			bytes(q, B(0x66, 0x68, (uint8_t)next,
			           (uint8_t)(next >> 8)));  /* pushw $next */
		else
			ins(q, B(0x68), 1, next, 0);      /* push $next */
	}
	q->want = W_TGT;
	st_ecx(q, TCV_S1);
	st_eax(q, TCV_S0);
	q->want = W_NB;
	ins(q, B(0xB8), 1, t, 0);                 /* mov $t, %eax */
	lookup(q, offsetof(struct tc_lookup_ent, eip));
	bytes(q, B(0xF7, 0xD0));                  /* not %eax */
	bytes(q, B(0x8D, 0x4C, 0x01, 0x01));      /* lea 1(%ecx,%eax), %ecx */
	rel8(q, 0xE3, h + 11);                    /* jecxz hit */
	ld_eax(q, TCV_S0);
	ld_ecx(q, TCV_S1);
	q->want = W_TGT;
	item(q, I_EXIT);                          /* miss: jmp rel32 -> exit */
	q->want = W_NB;
	ins(q, B(0xB9), 1, t & 0xFFFFu, 0);       /* h + 11, hit: mov $t16, %ecx */
	ins(q, B(0x65, 0x8B, 0x0C, 0xCD), 1,
	    LOOKUP_GS + offsetof(struct tc_lookup_ent, tc), 0);
	st_ecx(q, TCV_JT);
	ld_eax(q, TCV_S0);
	ld_ecx(q, TCV_S1);
	q->want = W_TGT;
	jmp_jt(q);
}

/* RET [imm16], JMP/CALL r/m: the target in EAX (the only instruction
 * that may fault, on the guest's registers), looked up by its low 16
 * bits; a miss is the monitor's, a hit jumps through %gs:JT. */
static void seq_indirect(struct seq *q, enum form f, uint32_t pop,
                         uint32_t next)
{
	q->want = W_EIP;
	st_ecx(q, TCV_S1);
	st_eax(q, TCV_S0);
	if (f == F_RET)
		bytes(q, B(0x8B, 0x04, 0x24));    /* mov (%esp), %eax */
	else
		item(q, I_RM);
	q->want = W_NB;
	st_eax(q, TCV_T);
	lookup(q, offsetof(struct tc_lookup_ent, eip));
	bytes(q, B(0xF7, 0xD0));                  /* not %eax */
	bytes(q, B(0x8D, 0x4C, 0x01, 0x01));      /* lea 1(%ecx,%eax), %ecx */
	rel8(q, 0xE3, 12);                        /* jecxz hit */
	ld_eax(q, TCV_S0);
	ld_ecx(q, TCV_S1);
	q->want = W_EIP;
	far(q, TC_SITE_EMULATE);                  /* miss */
	q->want = W_NB;
	ld_eax(q, TCV_T);                         /* 12, hit: */
	lookup(q, offsetof(struct tc_lookup_ent, tc));
	st_ecx(q, TCV_JT);
	ld_eax(q, TCV_S0);
	ld_ecx(q, TCV_S1);
	if (f == F_RET) {
		ins(q, B(0x8D, 0xA4, 0x24), 1, pop, 0);  /* lea pop(%esp), %esp */
	} else {
		q->want = W_EIP;
		if (f == F_CALLM) {
			ins(q, B(0x68), 1, next, 0);      /* push $next */
			q->want = W_NB;
		}
	}
	jmp_jt(q);
}

/* The segment-register sequences (inline.c): guest ECX in S1 while
 * ECX indexes a table; a miss gets it back (and undoes a PUSH) and is
 * an EMULATE callout at exact state; a hit gets it back (unless ECX is
 * the result) and jumps over the miss path to what follows (item n, the
 * next translation). */
static void ecx_back_or_callout(struct seq *q, bool hit_restores,
                                bool undo_push)
{
	if (hit_restores)
		ld_ecx(q, TCV_S1);
	rel8(q, 0xEB, q->n + (undo_push ? 4 : 3));   /* jmp done */
	ld_ecx(q, TCV_S1);                            /* miss: */
	if (undo_push)
		bytes(q, B(0x8D, 0x64, 0x24, 0x04));      /* lea 4(%esp), %esp */
	q->want = W_EIP;
	far(q, TC_SITE_EMULATE);
	q->want = W_NB;
}

/* With the guest selector in ECX: host selector + 1 from TC_SELTAB, or a
 * miss; the load (and POP's ESP step) on a hit. */
static void seg_load_tail(struct seq *q, unsigned sreg, bool pop)
{
	ins(q, B(0x65, 0x0F, 0xB7, 0x0C, 0x4D), 1, TC_SELTAB - TC_VPAGE, 0);
	rel8(q, 0xE3, q->n + (pop ? 6 : 5));          /* jecxz miss */
	bytes(q, B(0x8D, 0x49, 0xFF));                /* lea -1(%ecx), %ecx */
	bytes(q, B(0x8E, (uint8_t)(0xC0 | sreg << 3 | 1)));  /* mov %ecx, %sreg */
	if (pop)
		bytes(q, B(0x8D, 0x64, 0x24, 0x04));      /* lea 4(%esp), %esp */
	ecx_back_or_callout(q, true, false);
}

/* MOV Sreg, r/m16: S1 := ECX, the operand into ECX (may fault). */
static void seq_movs(struct seq *q, const uint8_t *b, unsigned len)
{
	unsigned p = rm_prefixes(b, len);

	q->want = W_EIP;
	st_ecx(q, TCV_S1);
	item(q, I_RM16)->to = (uint8_t)(p + 1);
	q->want = W_NB;
	seg_load_tail(q, (b[p + 1] >> 3) & 7, false);
}

/* POP Sreg: S1 := ECX, movzwl (%esp), %ecx (may fault). */
static void seq_pops(struct seq *q, const uint8_t *b)
{
	q->want = W_EIP;
	st_ecx(q, TCV_S1);
	bytes(q, B(0x0F, 0xB7, 0x0C, 0x24));
	q->want = W_NB;
	seg_load_tail(q, b[0] == 0x07 ? 0 : b[0] == 0x1F ? 3 : 4, true);
}

/* PUSH Sreg: the guest's PUSH (may fault), then the slot's low half
 * from TC_SELREV. */
static void seq_pushs(struct seq *q, const uint8_t *b, unsigned len)
{
	uint8_t x[2] = { b[0], len == 2 ? b[1] : 0 };

	q->want = W_EIP;
	bytes(q, len, x);
	q->want = W_NB;
	st_ecx(q, TCV_S1);
	bytes(q, B(0x0F, 0xB7, 0x0C, 0x24));          /* movzwl (%esp), %ecx */
	ins(q, B(0x65, 0x8B, 0x0C, 0x8D), 1, TC_SELREV - TC_VPAGE, 0);
	rel8(q, 0xE3, q->n + 4);                      /* jecxz miss */
	bytes(q, B(0x66, 0x89, 0x0C, 0x24));          /* mov %cx, (%esp) */
	ecx_back_or_callout(q, true, true);
}

/* MOV r32, Sreg: the host's selector, TC_SELREV's guest one. */
static void seq_movfs(struct seq *q, const uint8_t *b)
{
	unsigned sreg = (b[1] >> 3) & 7, dst = b[1] & 7;

	q->want = W_EIP;
	st_ecx(q, TCV_S1);
	q->want = W_NB;
	bytes(q, B(0x8C, (uint8_t)(0xC0 | sreg << 3 | 1)));  /* mov %sreg, %ecx */
	ins(q, B(0x65, 0x8B, 0x0C, 0x8D), 1, TC_SELREV - TC_VPAGE, 0);
	rel8(q, 0xE3, q->n + (dst != 1 ? 4 : 3));     /* jecxz miss */
	bytes(q, B(0x0F, 0xB7, (uint8_t)(0xC0 | dst << 3 | 1)));  /* movzwl %cx */
	ecx_back_or_callout(q, dst != 1, false);
}

/* VERW r/m16: TC_VERWTAB's 1 or 2, the LAHF image through TC_ZFTAB. */
static void seq_verw(struct seq *q, const uint8_t *b, unsigned len)
{
	unsigned p = rm_prefixes(b, len);

	q->want = W_EIP;
	st_ecx(q, TCV_S1);
	item(q, I_RM16)->to = (uint8_t)(p + 2);
	q->want = W_NB;
	ins(q, B(0x65, 0x0F, 0xB6, 0x89), 1, TC_VERWTAB - TC_VPAGE, 0);
	rel8(q, 0xE3, q->n + 10);                     /* jecxz miss */
	st_eax(q, TCV_S0);
	bytes(q, B(0x9F));                            /* lahf */
	bytes(q, B(0x0F, 0xB6, 0xC4));                /* movzbl %ah, %eax */
	ins(q, B(0x65, 0x0F, 0xB6, 0x84, 0xC1), 1, TC_ZFTAB - TC_VPAGE, 0);
	bytes(q, B(0x88, 0xC4));                      /* mov %al, %ah */
	bytes(q, B(0x9E));                            /* sahf */
	ld_eax(q, TCV_S0);
	ecx_back_or_callout(q, true, false);
}

/* MOV r32, CRn: mov %gs:CRn, r32. */
static void seq_movcr(struct seq *q, const uint8_t *b)
{
	q->want = W_EIP;
	ins(q, B(0x65, 0x8B, (uint8_t)((b[2] & 7) << 3 | 5)), 1,
	    TCV_CR0 + 4u * ((b[2] >> 3) & 7), 0);
}

/* The vpage words translated code may touch through %gs. */
static bool gs_word(uint32_t d)
{
	static const uint32_t w[] = { TCV_VIF, TCV_PEND, TCV_S0, TCV_S1,
	                              TCV_JT, TCV_VFL, TCV_T, TCV_G,
	                              TCV_TF, TCV_PDELTA, TCV_CR0,
	                              TCV_CR0 + 8, TCV_CR0 + 12,
	                              TCV_CR0 + 16 };

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (d == w[i])
			return true;
	return false;
}

/* An instruction with a 65 prefix reaches a TCV_* word (disp32 alone)
 * or a lookup table entry (disp32 + %ecx * 8), nothing else. */
static bool gs_ok(const uint8_t *p, unsigned len)
{
	uint32_t d;

	if (len < 7 || p[0] != 0x65)
		return false;
	if ((p[2] & 0xC7) == 0x05 && len >= 7) {
		memcpy(&d, p + 3, 4);
		return gs_word(d);
	}
	/* the segment tables (inline.c), indexed by ECX (and EAX) */
	if (len >= 8 && p[1] == 0x8B && p[2] == 0x0C && p[3] == 0x8D) {
		memcpy(&d, p + 4, 4);
		return d == TC_SELREV - TC_VPAGE;
	}
	if (len >= 9 && p[1] == 0x0F && p[2] == 0xB7 && p[3] == 0x0C &&
	    p[4] == 0x4D) {
		memcpy(&d, p + 5, 4);
		return d == TC_SELTAB - TC_VPAGE;
	}
	if (len >= 8 && p[1] == 0x0F && p[2] == 0xB6 && p[3] == 0x89) {
		memcpy(&d, p + 4, 4);
		return d == TC_VERWTAB - TC_VPAGE;
	}
	if (len >= 9 && p[1] == 0x0F && p[2] == 0xB6 && p[3] == 0x84 &&
	    p[4] == 0xC1) {
		memcpy(&d, p + 5, 4);
		return d == TC_ZFTAB - TC_VPAGE;
	}
	if ((p[2] & 0xC7) == 0x04 && p[3] == 0xCD && len >= 8) {
		memcpy(&d, p + 4, 4);
		return d == LOOKUP_GS + offsetof(struct tc_lookup_ent, eip) ||
		       d == LOOKUP_GS + offsetof(struct tc_lookup_ent, tc);
	}
	return false;
}

/* The operand text of an instruction (after its mnemonic and a
 * "notrack", which is what a 3E prefix is on a JMP/CALL r/m to the
 * formatter), without "ds:" (an explicit DS is shown on some forms
 * only); in out. */
static void operands(const char *text, char *out, size_t len)
{
	const char *sp;
	size_t n = 0;

	if (!strncmp(text, "notrack ", 8))
		text += 8;
	sp = strchr(text, ' ');
	for (text = sp ? sp + 1 : ""; *text && n + 1 < len; text++) {
		if (!strncmp(text, "ds:", 3)) {
			text += 2;
			continue;
		}
		out[n++] = *text;
	}
	out[n] = 0;
}

/* The guest's JMP/CALL r/m as `mov r/m, %eax`: its prefixes, 8B, its
 * ModRM with reg = 0, its SIB and displacement; the same operand. */
static int match_rm(struct check *c, unsigned g, const struct emitted *e)
{
	const struct scan_insn *gi = &c->sb.insn[g];
	const uint8_t *b = c->src->bytes + gi->offset, *p = tc_ptr(e->at);
	unsigned pfx = rm_prefixes(b, gi->len);
	char gt[96], et[96], go[96], eo[96];

	scan_format(b, gi->len, true, gi->eip, gt, sizeof(gt));
	text_of(e, et, sizeof(et));
	operands(gt, go, sizeof(go));
	operands(et, eo, sizeof(eo));
	if (e->len != gi->len || memcmp(p, b, pfx) || p[pfx] != 0x8B ||
	    p[pfx + 1] != (b[pfx + 1] & 0xC7) ||
	    memcmp(p + pfx + 2, b + pfx + 2, gi->len - pfx - 2) ||
	    strncmp(et, "mov eax, ", 9) || strncmp(eo, "eax, ", 5) ||
	    strcmp(eo + 5, go))
		return fail(c, "+0x%x: %s does not load the target of the "
		            "guest's %s", e->at - c->b->start, et, gt);
	return 0;
}

/* movzwl of the guest's r/m16 operand into ECX: the guest's prefixes,
 * 0F B7, its ModRM with reg = ECX, the rest of its bytes. */
static int match_rm16(struct check *c, unsigned g, const struct emitted *e,
                      unsigned modrm)
{
	const struct scan_insn *gi = &c->sb.insn[g];
	const uint8_t *b = c->src->bytes + gi->offset, *p = tc_ptr(e->at);
	unsigned pfx = rm_prefixes(b, gi->len), rest = gi->len - modrm - 1;
	char t[96];

	if (e->len != pfx + 3 + rest || memcmp(p, b, pfx) ||
	    p[pfx] != 0x0F || p[pfx + 1] != 0xB7 ||
	    p[pfx + 2] != ((b[modrm] & 0xC7) | 0x08) ||
	    memcmp(p + pfx + 3, b + modrm + 1, rest))
		return fail(c, "+0x%x: %s does not load the guest's r/m16 "
		            "operand into ECX", e->at - c->b->start,
		            text_of(e, t, sizeof(t)));
	return 0;
}

static int check_far(struct check *c, unsigned i);

/* The ljmp of a sequence (or an EMULATE terminator): a site of this
 * block, kind `kind`, for the guest instruction g, never chainable. */
static int match_far(struct check *c, unsigned g, unsigned i, uint8_t kind)
{
	const struct scan_insn *gi = &c->sb.insn[g];
	const struct tc_site *s;
	uint8_t cls = c->form[g] == F_FORCED ? SCAN_IDENT : gi->cls;
	uint32_t eip = kind == TC_SITE_EMULATE ? gi->eip : gi->eip + gi->len;

	if (check_far(c, i) < 0)
		return -1;
	s = tc_site(c->tc, (uint32_t)c->e[i].site);
	if (s->kind != kind || s->guest_eip != eip || s->patch ||
	    (kind == TC_SITE_EMULATE && s->cls != cls))
		return fail(c, "+0x%x: site #%d is %s %s 0x%x patch 0x%x, not "
		            "%s %s 0x%x", c->e[i].at - c->b->start, c->e[i].site,
		            s->kind == TC_SITE_EMULATE ? "EMULATE" : "BRANCH",
		            scan_class_name(s->cls), s->guest_eip, s->patch,
		            kind == TC_SITE_EMULATE ? "EMULATE" : "BRANCH",
		            scan_class_name(cls), eip);
	return 0;
}

/* Guest insn g's sequence q at emitted insn k; its length in *n. */
static int match_seq(struct check *c, unsigned g, unsigned k,
                     const struct seq *q)
{
	const struct scan_insn *gi = &c->sb.insn[g];
	char t[96];

	for (unsigned j = 0; j < q->n; j++) {
		const struct item *it = &q->it[j];
		struct emitted *e = &c->e[k + j];
		const uint8_t *p;
		uint32_t off;

		if (k + j >= c->ne)
			return fail(c, "the block ends inside the sequence of "
			            "0x%x", gi->eip);
		p = tc_ptr(e->at);
		off = e->at - c->b->start;
		e->seq = (int)g;
		e->want = it->want;
		e->want_eip = it->want == W_NEXT ? gi->eip + gi->len :
		              it->want == W_TGT ? c->tin.target : gi->eip;
		switch (it->kind) {
		case I_FIX:
			if (e->len != it->n || memcmp(p, it->b, it->n))
				return fail(c, "+0x%x: %s: item %u of the sequence "
				            "of 0x%x differs", off,
				            text_of(e, t, sizeof(t)), j, gi->eip);
			break;
		case I_REL8:     /* (item n: what follows the sequence) */
			if (e->len != 2 || p[0] != it->b[0] || !e->has_target ||
			    it->to <= j || it->to > q->n || k + it->to >= c->ne ||
			    e->target != c->e[k + it->to].at)
				return fail(c, "+0x%x: %s is not item %u of the "
				            "sequence of 0x%x, to its item %u", off,
				            text_of(e, t, sizeof(t)), j, gi->eip,
				            it->to);
			break;
		case I_FAR:
			if (match_far(c, g, k + j, it->site) < 0)
				return -1;
			break;
		case I_RM:
			if (match_rm(c, g, e) < 0)
				return -1;
			break;
		case I_RM16:
			if (match_rm16(c, g, e, it->to) < 0)
				return -1;
			break;
		case I_EXIT: {
			/* (check_sites: the exit's site names this rel32) */
			int x = e->has_target ? index_at(c, e->target) : -1;
			const struct tc_block *to = block_starting(c->tc,
			                                           e->target);

			if (e->len != 5 || p[0] != 0xE9 || !e->has_target ||
			    (x >= 0 ? tc_ptr(c->e[x].at)[0] != 0xEA ||
			              (unsigned)x <= k + j :
			     !(to && to->valid && to->eip == c->tin.target &&
			       to->cs_base == c->b->cs_base)))
				return fail(c, "+0x%x: %s is not item %u of the "
				            "sequence of 0x%x, a jump to its exit",
				            off, text_of(e, t, sizeof(t)), j,
				            gi->eip);
			break;
		}
		}
	}
	return 0;
}

/* The block ends in exits: it just stops, or ends in a direct branch
 * (rewritten, or through the lookup). */
static bool goes_on(const struct check *c)
{
	enum form f = c->term < 0 ? F_COPY : (enum form)c->form[c->term];

	return f == F_COPY || f == F_DIRECT || f == F_LJMP || f == F_LCALL;
}

/* The copies and sequences of the guest instructions, in order, up to
 * a direct branch's rewrite or the exit jump of a block that stops. */
static int match_guest(struct check *c)
{
	unsigned k = 0;

	for (unsigned g = 0; g < c->ntrans; g++) {
		const struct scan_insn *gi = &c->sb.insn[g];
		enum form f = (enum form)c->form[g];
		static struct seq q;
		struct emitted *e = &c->e[k];
		char t[96];

		if (f == F_DIRECT)
			break;
		if (k >= c->ne)
			return fail(c, "the block ends before the guest's 0x%x",
			            gi->eip);
		q = (struct seq){ .n = 0 };
		switch (f) {
		case F_COPY:
		case F_RDTSC:
			if (e->len != gi->len ||
			    memcmp(tc_ptr(e->at), c->src->bytes + gi->offset,
			           gi->len))
				return fail(c, "+0x%x: %s is not the guest's 0x%x "
				            "copied", e->at - c->b->start,
				            text_of(e, t, sizeof(t)), gi->eip);
			e->guest = (int)g;
			e->seq = (int)g;
			e->want = W_EIP;
			e->want_eip = gi->eip;
			k++;
			continue;
		case F_EMULATE:
		case F_FORCED:
			q.want = W_EIP;
			far(&q, TC_SITE_EMULATE);
			break;
		case F_CLI:
			seq_cli(&q);
			break;
		case F_STI:
			seq_sti(&q);
			break;
		case F_PUSHF:
			seq_pushf(&q);
			break;
		case F_POPF:
			seq_popf(&q);
			break;
		case F_RET:
			seq_indirect(&q, f, 4u + (gi->len == 3 ?
			             (uint32_t)(c->src->bytes[gi->offset + 1] |
			                        c->src->bytes[gi->offset + 2] << 8)
			             : 0u), 0);
			break;
		case F_JMPM:
		case F_CALLM:
			seq_indirect(&q, f, 0, gi->eip + gi->len);
			break;
		case F_LJMP:
		case F_LCALL:
			seq_lookup(&q, f == F_LCALL,
			           guest_opsize16(c->src->bytes + gi->offset,
			                          gi->len),
			           gi->eip + gi->len, c->tin.target);
			break;
		case F_MOVS:
			seq_movs(&q, c->src->bytes + gi->offset, gi->len);
			break;
		case F_POPS:
			seq_pops(&q, c->src->bytes + gi->offset +
			         (gi->len == 2 ? 1 : 0));
			break;
		case F_PUSHS:
			seq_pushs(&q, c->src->bytes + gi->offset, gi->len);
			break;
		case F_MOVFS:
			seq_movfs(&q, c->src->bytes + gi->offset);
			break;
		case F_VERW:
			seq_verw(&q, c->src->bytes + gi->offset, gi->len);
			break;
		case F_MOVCR:
			seq_movcr(&q, c->src->bytes + gi->offset);
			break;
		case F_DIRECT:
			break;
		}
		if (match_seq(c, g, k, &q) < 0)
			return -1;
		k += q.n;
	}
	c->rw = k;
	if (c->term >= 0 && !goes_on(c) && k != c->ne)
		return fail(c, "+0x%x: code after the block's last translation",
		            c->e[k].at - c->b->start);
	return 0;
}

/* The forms whose sequences end in a hit path's `jmp done`. */
static bool segment_seq(enum form f)
{
	return f == F_MOVS || f == F_POPS || f == F_PUSHS || f == F_MOVFS ||
	       f == F_VERW;
}

/* Of what the copies and sequences emit: %gs only for the vpage and the
 * lookup table, `jmp *%gs:JT` the one indirect branch, nothing
 * privileged or sensitive but the sequences' pushf/popf and segment
 * register moves and pushes (and a copied RDTSC, POLICY). */
static int check_classes(struct check *c)
{
	for (unsigned i = 0; i < c->rw; i++) {
		const struct emitted *e = &c->e[i];
		const uint8_t *p = tc_ptr(e->at);
		enum form f = (enum form)c->form[e->seq];
		uint32_t off = e->at - c->b->start;
		bool ok;
		char t[96];

		/* (a copy may carry a 65 that nothing uses: IDENT with %gs
		 * reserved uses no %gs) */
		if (e->guest >= 0) {
			ok = e->cls == SCAN_IDENT ||
			     (e->cls == SCAN_POLICY && f == F_RDTSC);
			if (!ok)
				return fail(c, "+0x%x: the copy %s is %s", off,
				            text_of(e, t, sizeof(t)),
				            scan_class_name(e->cls));
			continue;
		}
		if (p[0] == 0x65 && !gs_ok(p, e->len))
			return fail(c, "+0x%x: %s reaches into %%gs past the "
			            "vpage's words and the lookup table", off,
			            text_of(e, t, sizeof(t)));
		/* the segment sequences' own loads, stores and pushes of a
		 * segment register (their bytes matched above) */
		if ((f == F_MOVS || f == F_POPS || f == F_PUSHS || f == F_MOVFS) &&
		    ((e->len == 2 && (p[0] == 0x8E || p[0] == 0x8C ||
		                      (p[0] == 0x0F && p[1] == 0xA0))) ||
		     (e->len == 1 && (p[0] == 0x06 || p[0] == 0x16 || p[0] == 0x1E))))
			continue;
		switch (e->cls) {
		case SCAN_IDENT:
		case SCAN_BRANCH_FAR:
			ok = true;
			break;
		case SCAN_BRANCH_DIRECT:
			ok = (e->len == 2 && (p[0] == 0xE3 || p[0] == 0x74)) ||
			     (e->len == 2 && p[0] == 0xEB && segment_seq(f)) ||
			     (e->len == 5 && p[0] == 0xE9 &&
			      (f == F_LJMP || f == F_LCALL));
			break;
		case SCAN_BRANCH_INDIRECT: {
			uint32_t d;

			memcpy(&d, p + 3, 4);
			ok = e->len == 7 && p[0] == 0x65 && p[1] == 0xFF &&
			     p[2] == 0x25 && d == TCV_JT &&
			     (f == F_RET || f == F_JMPM || f == F_CALLM ||
			      f == F_LJMP || f == F_LCALL);
			break;
		}
		case SCAN_SENSITIVE:
			ok = e->len == 1 && ((p[0] == 0x9C && f == F_PUSHF) ||
			                     (p[0] == 0x9D && f == F_POPF));
			break;
		default:
			ok = false;
		}
		if (!ok)
			return fail(c, "+0x%x: %s is %s", off,
			            text_of(e, t, sizeof(t)),
			            scan_class_name(e->cls));
	}
	return 0;
}

/* After the copies and sequences: a direct branch's rewrite or the
 * exit jump, then the exits. */
static int check_insns(struct check *c)
{
	for (unsigned i = c->rw; i < c->ne; i++) {
		const struct emitted *e = &c->e[i];
		char t[96];
		int r;

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
	if (goes_on(c) && c->ne <= c->rw)
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

/* The sequences' and an EMULATE terminator's ljmps were matched with
 * them; the others are exits: BRANCH sites to where the block goes on,
 * each reached by the jump its patch names. */
static int check_sites(struct check *c)
{
	unsigned nea = 0, mine = 0;
	bool seen[2] = { false, false };

	for (unsigned i = 0; i < c->ne; i++) {
		const struct emitted *e = &c->e[i];
		const struct tc_site *s;

		if (e->site < 0)
			continue;
		nea++;
		if (i < c->rw)
			continue;
		s = tc_site(c->tc, (uint32_t)e->site);
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
	return 0;
}

/* The rewrite's first instruction: the terminator's own form (jcc keeps
 * its condition) or a CALL's push. */
static int check_rewrite(struct check *c)
{
	const struct emitted *e = &c->e[c->rw];
	char t[96];

	if (c->term < 0 || c->form[c->term] != F_DIRECT)
		return 0;
	if (c->rw >= c->ne)
		return fail(c, "no rewrite of the guest's %s",
		            scan_mnemonic_name(c->tin.mnem));
	if (!strcmp(scan_mnemonic_name(c->tin.mnem), "call") ?
	    is_call_push(c, c->rw) : e->mnem == c->tin.mnem)
		return 0;
	return fail(c, "+0x%x: %s does not do the guest's %s",
	            e->at - c->b->start, text_of(e, t, sizeof(t)),
	            scan_mnemonic_name(c->tin.mnem));
}

/* The guest EIP whose state the registers hold at emitted insn i past
 * the copies and sequences: the terminator's at its rewrite's start, a
 * site's at its ljmp, and where it leads at an unconditional jump
 * (which a chain may point back at the block's start). */
static int state_at(const struct check *c, unsigned i, uint32_t *eip)
{
	for (unsigned steps = 0; steps <= c->ne; steps++) {
		const struct emitted *e = &c->e[i];
		const struct tc_block *to;
		int j;

		if (i < c->rw) {
			if (e->want == W_NB)
				return -1;
			*eip = e->want_eip;
			return 0;
		}
		if (c->term >= 0 && c->form[c->term] == F_DIRECT &&
		    i == c->rw) {
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

		if (i < c->rw && e->want == W_NB) {
			for (uint32_t a = e->at; a < e->at + e->len; a++)
				if (tc_map_back(c->tc, a, &got) != 1)
					return fail(c, "+0x%x: %s, inside the "
					            "sequence of 0x%x, is not mapped "
					            "nb", a - c->b->start,
					            text_of(e, t, sizeof(t)),
					            c->sb.insn[e->seq].eip);
			continue;
		}
		if (state_at(c, i, &want) < 0)
			return fail(c, "+0x%x: %s holds no guest state",
			            e->at - c->b->start, text_of(e, t, sizeof(t)));
		for (uint32_t a = e->at; a < e->at + e->len; a++) {
			int r = tc_map_back(c->tc, a, &got);

			if (r == 1)
				return fail(c, "+0x%x: %s is mapped nb, not to "
				            "0x%x", a - c->b->start,
				            text_of(e, t, sizeof(t)), want);
			if (r != 0 || got != want)
				return fail(c, "+0x%x: maps back to 0x%x, not 0x%x",
				            a - c->b->start, got, want);
		}
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
	scan_guest, decode_emitted, match_guest, check_classes, check_insns,
	check_rewrite, check_sites, check_map, check_pages,
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
