/*
 * emit.c — one basic block's translated code (see tc.h for the model).
 *
 * Per guest instruction, by scan class:
 *  - IDENT: copied byte for byte.
 *  - direct branches (the forms below are read off the opcode of an
 *    instruction Zydis already decoded and scan/ classified):
 *      JMP rel       → jmp rel32 → exit(T); to another page, the
 *                      inline lookup of T (inline.c), exit(T) on a miss
 *      Jcc rel       → jcc rel32 → exit(T); jmp rel32 → exit(next)
 *      CALL rel      → push $next; jmp rel32 → exit(T) (or the lookup)
 *      LOOPcc/JCXZ   → the original with rel8 = 2 (prefixes kept: 67
 *                      picks CX), jmp short over, jmp rel32 → exit(T),
 *                      jmp rel32 → exit(next)
 *  - CLI, STI, PUSHF, POPF, RET, JMP/CALL r/m: inline sequences
 *    (inline.c); the branches end the block.
 *  - an IDENT instruction the monitor marked (ops->force_callout: its
 *    stores keep faulting on a write-traced page): an EMULATE callout,
 *    so that the store is emulated without a fault (adaptive).
 *  - everything else (scan_needs_monitor, and the forms inline.c does
 *    not take): an EMULATE callout at its EIP, which ends the block.
 * A block that stops for another reason (page end, instruction limit)
 * ends with jmp rel32 → exit(next).
 *
 * An exit is `ljmp $0x33, $stub` after the block's code, reached by a
 * jmp/jcc rel32 that chaining later points straight at the target
 * block.  Map entries: each translated instruction starts at the guest
 * EIP of its instruction; the jmp after a CALL's push, and every exit,
 * at the guest EIP they continue to (the push already done).
 */
#include "translate/tc_impl.h"

#include <string.h>


void tc_put(struct out *o, const void *b, size_t n)
{
	memcpy(tc_ptr(o->at), b, n);
	o->at += (uint32_t)n;
}

void tc_put8(struct out *o, uint8_t b)
{
	tc_put(o, &b, 1);
}

void tc_put32(struct out *o, uint32_t v)
{
	tc_put(o, &v, 4);
}

void tc_map(struct out *o, uint32_t eip)
{
	if (tc_add_map(o->tc, o->at, eip, false) < 0)
		o->err = -1;
}

/* From here the registers hold an inline sequence's scratch values. */
void tc_map_nb(struct out *o)
{
	if (tc_add_map(o->tc, o->at, 0, true) < 0)
		o->err = -1;
}

/* A rel32 field here, to be pointed at the exit that continues at eip. */
void tc_rel_to_exit(struct out *o, uint32_t eip)
{
	o->exit[o->nexit].rel = o->at;
	o->exit[o->nexit].eip = eip;
	o->nexit++;
	tc_put32(o, 0);
}

/* ljmp $0x33, $stub of a new site. */
void tc_far_to_site(struct out *o, uint8_t kind, uint8_t cls,
                        uint32_t eip, uint32_t patch)
{
	int id = tc_new_site(o->tc, kind, cls, eip, patch, o->bi);

	if (id < 0) {
		o->err = -1;
		return;
	}
	tc_put8(o, 0xEA);
	tc_put32(o, TC_STUBS + (uint32_t)id * TC_STUB_SIZE);
	tc_put8(o, TC_HOST_CS64);
	tc_put8(o, 0);
}

void tc_jmp_exit(struct out *o, uint32_t eip)
{
	tc_put8(o, 0xE9);
	tc_rel_to_exit(o, eip);
}

/* The opcode after the legacy prefixes; *pfx gets their count. */
static unsigned opcode_at(const uint8_t *b, unsigned len, unsigned *pfx)
{
	unsigned i = tc_prefixes(b, len);

	*pfx = i;
	return i < len ? b[i] : 0;
}

static bool has_prefix(const uint8_t *b, unsigned pfx, uint8_t p)
{
	return memchr(b, p, pfx) != NULL;
}

static void direct(struct out *o, const struct scan_insn *si,
                   const uint8_t *b)
{
	unsigned pfx, op = opcode_at(b, si->len, &pfx);
	uint32_t next = si->eip + si->len, t = si->target;

	/* To another page: no chaining, but the inline lookup (inline.c). */
	bool far_page = o->cs_base == 0 && !o->user && ((t ^ o->page) & ~0xFFFu);

	tc_map(o, si->eip);
	if (op == 0xEB || op == 0xE9) {                 /* JMP rel */
		if (far_page)
			tc_lookup_jump(o, t);
		else
			tc_jmp_exit(o, t);
	} else if (op == 0xE8) {                        /* CALL rel */
		if (has_prefix(b, pfx, 0x66)) {
			uint8_t p16[2] = { 0x66, 0x68 };
			tc_put(o, p16, 2);
			tc_put8(o, (uint8_t)next);
			tc_put8(o, (uint8_t)(next >> 8));
		} else {
			tc_put8(o, 0x68);
			tc_put32(o, next);
		}
		tc_map(o, t);
		if (far_page)
			tc_lookup_jump(o, t);
		else
			tc_jmp_exit(o, t);
	} else if ((op & 0xF0) == 0x70 || op == 0x0F) { /* Jcc rel */
		uint8_t cc = op == 0x0F ? b[pfx + 1] & 0x0F : op & 0x0F;
		tc_put8(o, 0x0F);
		tc_put8(o, (uint8_t)(0x80 | cc));
		tc_rel_to_exit(o, t);
		tc_map(o, next);
		tc_jmp_exit(o, next);
	} else {                                        /* LOOPcc, JCXZ */
		/* Without 66: it would cut the new EIP (a TC address) to 16
		 * bits; the target already has the 16-bit wrap.  67 stays. */
		for (unsigned i = 0; i < pfx; i++)
			if (b[i] != 0x66)
				tc_put8(o, b[i]);
		tc_put(o, b + pfx, si->len - 1u - pfx);
		tc_put8(o, 2);
		tc_map(o, next);
		tc_put8(o, 0xEB);
		tc_put8(o, 5);
		tc_map(o, t);
		tc_jmp_exit(o, t);
		tc_map(o, next);
		tc_jmp_exit(o, next);
	}
}

/* The exits: one ljmp each, the rel32 fields pointed at them. */
static void exits(struct out *o)
{
	for (unsigned i = 0; i < o->nexit && !o->err; i++) {
		uint32_t rel = o->exit[i].rel;
		int32_t d = (int32_t)(o->at - (rel + 4));

		memcpy(tc_ptr(rel), &d, 4);
		tc_map(o, o->exit[i].eip);
		tc_far_to_site(o, TC_SITE_BRANCH, 0, o->exit[i].eip, rel);
	}
}

int tc_emit_block(struct tc *tc, struct tc_block *blk, uint32_t bi,
                  const struct scan_block *sb, const uint8_t *bytes,
                  bool user)
{
	struct out o = { .tc = tc, .bi = bi, .at = blk->start,
	                 .cs_base = blk->cs_base, .user = user,
	                 .page = (blk->cs_base + blk->eip) & ~0xFFFu };
	bool ended = false;

	blk->ninsn = 0;
	for (unsigned i = 0; i < sb->ninsn && !o.err; i++) {
		const struct scan_insn *si = &sb->insn[i];
		const uint8_t *b = bytes + si->offset;

		blk->ninsn++;

		if (si->cls == SCAN_IDENT && tc->ops.force_callout &&
		    tc->ops.force_callout(tc->ops.ctx, si->eip)) {
			tc_map(&o, si->eip);      /* adaptive: emulate the store */
			tc_far_to_site(&o, TC_SITE_EMULATE, SCAN_IDENT, si->eip, 0);
			ended = true;
			break;
		} else if (si->cls == SCAN_IDENT && !(si->flags & SCAN_F_RESV_SEG)) {
			tc_map(&o, si->eip);
			tc_put(&o, b, si->len);
		} else if (si->cls == SCAN_BRANCH_DIRECT) {
			direct(&o, si, b);
			ended = true;
			break;
		} else if (tc_inline(&o, si, b, i + 1 < sb->ninsn ? si + 1 : NULL,
		                     &ended)) {
			if (ended)
				break;
		} else {
			tc_map(&o, si->eip);
			tc_far_to_site(&o, TC_SITE_EMULATE, si->cls, si->eip, 0);
			ended = true;
			break;
		}
	}
	if (!ended && sb->ninsn) {
		const struct scan_insn *last = &sb->insn[sb->ninsn - 1];

		tc_map(&o, last->eip + last->len);
		tc_jmp_exit(&o, last->eip + last->len);
	}
	exits(&o);
	blk->end = o.at;
	return o.err;
}
