/*
 * desc_host.c — the host LDT entry (Linux modify_ldt `struct user_desc`,
 * <asm/ldt.h>) that shadows a guest code/data segment cache at host
 * DPL 3 (DESIGN.md §5).  The limit is cut so the segment never reaches
 * above `limit_cap`, which keeps the monitor's region out of the guest's
 * reach — but for segments that wrap round 4 GiB (cap_up).  Linux builds the descriptor as type = contents << 2 |
 * !read_exec_only << 1 | accessed, DPL 3 (arch/x86/include/asm/desc.h
 * fill_ldt), so that is all that can be asked for.
 */
#include <string.h>

#include "vmm/desc_impl.h"

/* Encode effective byte limit `lim` as the 20-bit field and G. */
static void put_limit(struct user_desc *out, uint32_t lim)
{
	if (lim <= 0xFFFFF) {
		out->limit = lim;
		out->limit_in_pages = 0;
		return;
	}
	/* Page granularity covers whole pages: round down (safe side). */
	out->limit = (uint32_t)((((uint64_t)lim + 1) >> 12) - 1);
	out->limit_in_pages = 1;
}

/* Expand-up: offsets 0..limit, i.e. linear base..base+limit.  A segment
 * that wraps round 4 GiB (a non-zero base and a 4 GiB limit: Linux's user
 * TLS and kernel per-CPU segments, addressed with negative offsets like
 * %gs:-0x3c) keeps its limit: cut, every such access would fault and be
 * emulated (tens of millions in a Linux workload).  Its accesses that land
 * in the monitor region meet the region's own protection instead
 * (translate/tc.h: read-only to the guest but for the vpage, no monitor
 * address in it; a write faults and is emulated against the guest's
 * mapping) — inexact only in that such a read, or a vpage write, is not
 * emulated (docs/escape.md).  One based inside the region is not
 * expressible (its low offsets would be monitor memory): emulated. */
static bool cap_up(const struct seg_cache *c, uint32_t cap,
                   struct user_desc *out)
{
	uint64_t last = (uint64_t)c->base + c->limit;

	if (c->base != 0 && c->base <= cap && last > 0xFFFFFFFFull) {
		put_limit(out, c->limit);
		return true;
	}
	if (c->base > cap)
		return false;
	put_limit(out, last > cap ? cap - c->base : c->limit);
	return true;
}

/* Expand-down: offsets limit+1..top; the top cannot be lowered, so a
 * segment reaching above the cap is not expressible.  The guest's own
 * encoding is kept (with G = 1 the effective limit ends in 0xFFF). */
static bool cap_down(const struct seg_cache *c, uint32_t cap,
                     struct user_desc *out)
{
	uint32_t top = SEG_ATTR_DB(c->attr) ? 0xFFFFFFFFu : 0xFFFFu;

	if ((uint64_t)c->base + top > cap)
		return false;
	out->limit_in_pages = SEG_ATTR_G(c->attr);
	out->limit = SEG_ATTR_G(c->attr) ? c->limit >> 12 : c->limit;
	out->contents = MODIFY_LDT_CONTENTS_STACK;
	return true;
}

bool desc_to_host(const struct seg_cache *c, unsigned entry,
                  uint32_t limit_cap, struct user_desc *out)
{
	unsigned type = SEG_ATTR_TYPE(c->attr);
	bool code = type & TYPE_CODE;

	if (!desc_usable(c) || !SEG_ATTR_S(c->attr))
		return false;
	memset(out, 0, sizeof(*out));
	out->entry_number = entry;
	out->base_addr = c->base;
	out->seg_32bit = SEG_ATTR_DB(c->attr);
	out->useable = (c->attr >> 12) & 1;       /* AVL */
	out->read_exec_only = !(type & TYPE_WR);  /* read-only / exec-only */
	out->contents = code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA;
	if (attr_expand_down(c->attr))
		return cap_down(c, limit_cap, out);
	return cap_up(c, limit_cap, out);
}
