/*
 * segshadow.c — the host-LDT shadows of the guest's segment registers.
 *
 * Guest GDT entry i lives in host LDT entry i as a DPL-3 copy (modify_ldt),
 * so a segment register holds host selector (i << 3) | TI | RPL 3; pushing
 * and popping it round-trips natively, and system_native_loads() maps such
 * native loads back to the guest cache.  A register whose descriptor cannot
 * share entry i with another register gets a private slot.
 *
 * A guest LDT: guest code loads TI=1 selectors natively from the host LDT,
 * so while one is loaded its entry j is shadowed at host entry j, eagerly,
 * on every LLDT and on every guest write to it, and GDT-backed registers
 * whose index falls inside it move to private slots.  Up to LDT_SHADOW_MAX
 * entries: the private slots lie above them.
 *
 * Guest writes to the GDT and LDT: their pages are write-traced through
 * the shadow MMU (segshadow_trace_tables, after LGDT, LLDT, CR3 and
 * paging changes).  A write to GDT entry i that a host entry shadows puts
 * the new descriptor there at once, so that a native reload of host
 * selector i (a pushed and popped segment register) loads what hardware
 * would; registers that still cache the old descriptor move to private
 * slots (a residue: pushing and popping one of those reloads the old
 * descriptor, where hardware would load the new one).
 *
 * vCPU thread only.
 */
#include "vmm/system.h"
#include "vmm/fatal.h"
#include "vmm/vm.h"

#include "translate/tc.h"

#include <asm/ldt.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Last guest-usable byte of a shadowed segment: below the monitor region
 * when there is one (--mode=bt), so that guest accesses there fault; at
 * CPL 3 with --user-isolation=segments also below v->user_top, above
 * every user page seen so far (system_user_top), so that guest user code
 * reaches no supervisor page above it through its segments and the
 * shadow MMU may leave those mapped. */
static uint32_t kernel_cap(const struct vcpu *v)
{
	return v->vm->cfg.mode == MODE_BT ? TC_BASE - 1u : 0xFFFFFFFFu;
}

static uint32_t user_cap(const struct vcpu *v)
{
	uint32_t cap = kernel_cap(v);

	return v->user_top && v->user_top - 1u < cap ? v->user_top - 1u : cap;
}

static uint32_t limit_cap(const struct vcpu *v)
{
	return v->sys.cpl == 3 ? user_cap(v) : kernel_cap(v);
}

/* Host LDT entry `entry` := d, and what popek knows it holds. */
static void ldt_store(struct vcpu *v, unsigned entry, const struct user_desc *d)
{
	struct user_desc copy = *d;

	copy.entry_number = entry;
	if (syscall(SYS_modify_ldt, 0x11, &copy, sizeof(copy)) < 0)
		fatal_bug("modify_ldt(entry %u): %s", entry, strerror(errno));
	v->ldt_cache[entry] = copy;
	v->vm->counters[CTR_ldt_writes]++;
}

/* Host LDT entry `entry` now shadows guest cache c (usable: c's
 * descriptor is there, else an empty entry).  Translated code's tables
 * (translate/tc.h) follow: PUSH Sreg of the entry's host selector pushes
 * c's selector, and no inline load reaches the entry until
 * system_sync_segments vouches for one again. */
static void set_owner(struct vcpu *v, unsigned entry, const struct seg_cache *c,
                      bool usable)
{
	v->ldt_owner[entry] = *c;
	if (!v->bt.tc || entry >= 8192)
		return;
	for (unsigned rpl = 0; rpl < 4; rpl++)
		tc_seg_load(v->bt.tc, (uint16_t)(entry << 3 | rpl), -1, false);
	tc_seg_push(v->bt.tc, (uint16_t)(entry << 3 | 7), c->sel,
	            usable && (c->sel & ~3u));
}

/* The segment registers held in host LDT entry `entry` must be
 * shadowed again (its descriptor changed; they may have to move out). */
static void dirty_users(struct vcpu *v, unsigned entry)
{
	for (int s = 0; s < SEG_COUNT; s++)
		if ((v->host_sel[s] >> 3) == entry && (v->host_sel[s] & 4))
			v->seg_force |= 1u << s;
	v->seg_memo_ok[0] = v->seg_memo_ok[1] = 0;   /* (any register's) */
}

/* Host LDT entries 256..261: one private slot per segment register, for
 * the rare cache that cannot share entry `index` (see host_entry()). */
#define PRIVATE_SLOT_BASE 256u
/* --user-isolation=segments: guest GDT entry `index` cut for CPL 3 lives
 * in host entry USER_SLOT_BASE + index, so that a CPL change only
 * switches selectors (a modify_ldt costs tens of microseconds in a
 * multi-threaded process: it interrupts every CPU the process runs on).
 * 262 and 263 are translated code's. */
#define USER_SLOT_BASE    264u
/* Guest LDT entries popek shadows (entries 0..255: limit 0x7FF). */
#define LDT_SHADOW_MAX PRIVATE_SLOT_BASE

/* The host LDT entry that will shadow segment register s, whose host
 * descriptor is d: the guest's own index, so that pushing and popping the
 * resulting host selector round-trips natively — unless another segment
 * register already uses that entry with a different descriptor (the guest
 * rewrote a GDT entry that is still loaded elsewhere, e.g. its boot CS),
 * or the index lies in or above the private slots. */
static bool gdt_current(const struct vcpu *v, unsigned idx)
{
	return idx < PRIVATE_SLOT_BASE && (v->gdt_current[idx / 64] >> (idx % 64)) & 1;
}

static void set_gdt_current(struct vcpu *v, unsigned idx, bool on)
{
	if (idx >= PRIVATE_SLOT_BASE)
		return;
	if (on)
		v->gdt_current[idx / 64] |= 1ull << (idx % 64);
	else
		v->gdt_current[idx / 64] &= ~(1ull << (idx % 64));
}

static unsigned host_entry(const struct vcpu *v, int s, unsigned idx,
                           const struct user_desc *d)
{
	if (idx >= PRIVATE_SLOT_BASE)
		return PRIVATE_SLOT_BASE + (unsigned)s;
	if (v->sys.seg[s].sel & 4) {
		/* The guest LDT's own shadow, kept current from guest memory:
		 * a register caching an older descriptor moves out. */
		if (idx < v->ldt_shadowed &&
		    memcmp(&v->ldt_cache[idx], d, sizeof(*d)))
			return PRIVATE_SLOT_BASE + (unsigned)s;
		return idx;
	}
	if (idx < v->ldt_shadowed)
		return PRIVATE_SLOT_BASE + (unsigned)s;  /* taken by the LDT */
	if (gdt_current(v, idx) && memcmp(&v->ldt_cache[idx], d, sizeof(*d)))
		return PRIVATE_SLOT_BASE + (unsigned)s;  /* cache is stale */
	for (int t = 0; t < SEG_COUNT; t++) {
		if (t == s || (v->host_sel[t] >> 3) != idx || !v->host_sel[t])
			continue;
		if (memcmp(&v->ldt_cache[idx], d, sizeof(*d)) != 0)
			return PRIVATE_SLOT_BASE + (unsigned)s;
	}
	return idx;
}

/* Make the host hold the shadow of every segment register whose cache
 * changed, and the matching host selectors. */
/* The register's last sync at this CPL class still stands: the same
 * cache and cap, and its host entry holds the descriptor put there then
 * and still shadows this cache (nothing took the entry since). */
static bool same_cache(const struct seg_cache *a, const struct seg_cache *b)
{
	return a->sel == b->sel && a->base == b->base && a->limit == b->limit &&
	       a->attr == b->attr;
}

static bool memo_holds(const struct vcpu *v, int cls, int s)
{
	const struct seg_memo *m = &v->seg_memo[cls][s];
	const struct seg_cache *c = &v->sys.seg[s];
	unsigned idx = m->host >> 3;

	return (v->seg_memo_ok[cls] >> s & 1) && m->host && m->cap == limit_cap(v) &&
	       same_cache(&m->c, c) && same_cache(&v->ldt_owner[idx], c) &&
	       !memcmp(&v->ldt_cache[idx], &m->d, sizeof(m->d));
}

void system_sync_segments(struct vcpu *v)
{
	int cls = v->sys.cpl == 3;
	unsigned cpl_change = 0;

	if (limit_cap(v) != v->seg_cap) {   /* a CPL change, user_top moved */
		v->seg_cap = limit_cap(v);
		cpl_change = (1u << SEG_COUNT) - 1;
	}
	/* Forced for another reason: this class's memos go too. */
	v->seg_memo_ok[cls] &= (uint8_t)~v->seg_force;
	v->seg_memo_ok[!cls] &= (uint8_t)~v->seg_force;
	v->seg_force |= cpl_change;
	v->seg_dirty |= v->seg_force;
	for (int s = 0; s < SEG_COUNT && v->seg_dirty; s++) {
		if (!(v->seg_dirty & (1u << s)))
			continue;
		v->seg_dirty &= ~(1u << s);
		const struct seg_cache *c = &v->sys.seg[s];
		struct seg_cache *was = &v->seg_synced[s];
		/* As last synced, at this CPL, in the same host selector,
		 * nothing changed under it: the host holds its shadow still
		 * (most callouts change no segment, but mark them all). */
		if (!(v->seg_force & (1u << s)) && v->seg_synced_cpl[s] == v->sys.cpl &&
		    v->seg_synced_host[s] == v->host_sel[s] &&
		    was->sel == c->sel && was->base == c->base &&
		    was->limit == c->limit && was->attr == c->attr)
			continue;
		v->seg_force &= ~(1u << s);
		*was = *c;
		v->seg_synced_cpl[s] = (int8_t)v->sys.cpl;
		struct user_desc d;
		unsigned idx = c->sel >> 3;

		/* Back at a CPL class with nothing moved: its host selector
		 * as it was (Linux's system calls: six registers each way). */
		if ((cpl_change >> s & 1) && memo_holds(v, cls, s)) {
			uint16_t h = v->seg_memo[cls][s].host;
			v->host_sel[s] = v->seg_synced_host[s] = h;
			if (v->bt.tc && v->sys.cpl == 0 && s != SEG_CS &&
			    !(c->sel & 4) && (h >> 3) == (unsigned)(c->sel >> 3))
				tc_seg_load(v->bt.tc, c->sel, h,
				            SEG_ATTR_S(c->attr) &&
				            (SEG_ATTR_TYPE(c->attr) & 0xA) == 0x2);
			v->vm->counters[CTR_seg_memo_hits]++;
			continue;
		}
		v->seg_memo_ok[cls] &= (uint8_t)~(1u << s);

		if ((c->sel & ~3u) == 0 ||
		    !desc_to_host(c, idx, limit_cap(v), &d)) {
			/* null: any use faults, as it should.  (Host selector 0
			 * whatever the guest's RPL: AMD's IRETQ to CPL 3, after
			 * any host interrupt, turns a null 1-3 into 0.) */
			v->host_sel[s] = v->seg_synced_host[s] = 0;
			continue;
		}
		idx = host_entry(v, s, idx, &d);
		if (v->sys.cpl == 3 && v->user_top && idx < PRIVATE_SLOT_BASE &&
		    !(c->sel & 4)) {
			struct user_desc k;   /* what CPL 0 would get */
			if (!desc_to_host(c, idx, kernel_cap(v), &k) ||
			    memcmp(&k, &d, sizeof(d)) != 0)
				idx += USER_SLOT_BASE;
		}
		d.entry_number = idx;
		/* modify_ldt copies the whole LDT: skip writes that change
		 * nothing (DS, ES and SS usually share one entry). */
		if (memcmp(&v->ldt_cache[idx], &d, sizeof(d)) != 0) {
			ldt_store(v, idx, &d);
			set_gdt_current(v, idx, false);
		}
		set_owner(v, idx, c, true);
		v->host_sel[s] = v->seg_synced_host[s] = (uint16_t)((idx << 3) | 7);
		v->seg_memo[cls][s] = (struct seg_memo){ .c = *c, .cap = limit_cap(v),
		                                         .host = v->host_sel[s],
		                                         .d = v->ldt_cache[idx] };
		v->seg_memo_ok[cls] |= (uint8_t)(1u << s);
		/* A CPL-0 load of this selector into DS, ES or FS passes the
		 * same checks as this one into DS, ES, FS or GS (SS's are
		 * stricter) and loads this entry; VERW (DPL >= RPL, as the
		 * load checked) asks whether it is writable data.  (Only
		 * here, where the cache was just shadowed: a skipped one may
		 * predate an LGDT, which cleared the table.) */
		if (v->bt.tc && v->sys.cpl == 0 && s != SEG_CS &&
		    !(c->sel & 4) && idx == (unsigned)(c->sel >> 3))
			tc_seg_load(v->bt.tc, c->sel, v->host_sel[s],
			            SEG_ATTR_S(c->attr) &&
			            (SEG_ATTR_TYPE(c->attr) & 0xA) == 0x2);
	}
	v->cpu.cpl = (uint8_t)v->sys.cpl;
	v->cpu.ss16 = !SEG_ATTR_DB(v->sys.seg[SEG_SS].attr);
}

/* After an exit: segment loads the guest made without trapping.  Guest
 * code that pushes a segment register and pops it later (an interrupt
 * handler saving DS) reloads popek's host selector natively; the host then
 * holds the right descriptor but the virtual cache does not know.  Map the
 * host selector back to the guest cache it shadows.  A host GDT selector
 * is one of the silent aliases (docs/host-gdt-aliases.md): the guest sees
 * its selector value, the descriptor is the host's. */
/* Guest code loaded a guest GDT selector into data segment register s
 * natively and got the host's DPL-3 descriptor (docs/host-gdt-aliases.md).
 * Do the load over from the guest's GDT, as hardware would have; the
 * exit's fault, if it came from using the wrong segment (Linux's user
 * TLS: %gs = GDT entry 6, first used through it), is retried then.  A
 * load the guest's GDT refuses stays the residue it was. */
static bool fix_alias(struct vcpu *v, enum seg s, uint16_t sel)
{
	struct cpu_fault saved = v->fault;

	if (s == SEG_CS || guest_sys.load_seg(v, s, sel) < 0) {
		v->fault = saved;
		return false;
	}
	v->vm->counters[CTR_alias_fixups]++;
	v->alias_fixed = true;
	return true;
}

void system_native_loads(struct vcpu *v)
{
	for (int s = 0; s < SEG_COUNT; s++) {
		uint16_t now = v->host_sel[s];

		if (now == v->area->sel[s])
			continue;
		if (now & 4)
			v->sys.seg[s] = v->ldt_owner[now >> 3];
		else if ((now & ~3u) == 0)
			v->sys.seg[s] = (struct seg_cache){ .sel = now };
		else if (!fix_alias(v, (enum seg)s, now)) {
			v->sys.seg[s].sel = now;
			v->vm->counters[CTR_host_aliases]++;
		}
		if (s == SEG_CS)
			v->cpu.code32 = SEG_ATTR_DB(v->sys.seg[s].attr);
		v->cpu.seg_base[s] = v->sys.seg[s].base;
	}
}

/* Shadow the guest LDT that LLDT just loaded (see the header). */
int segshadow_ldt(struct vcpu *v)
{
	const struct seg_cache *l = &v->sys.ldtr;
	unsigned n = desc_usable(l) ? (l->limit + 1) / 8 : 0;

	if (n > LDT_SHADOW_MAX) {
		vcpu_crash(v, "unsupported: a guest LDT of %u entries (popek "
		           "shadows up to %u)", n, LDT_SHADOW_MAX);
		v->fault.vector = -1;
		return -1;
	}
	for (unsigned j = 0; j < n; j++) {
		uint64_t raw = 0;
		struct seg_cache c;
		struct user_desc d = { .entry_number = j, .read_exec_only = 1,
		                       .seg_not_present = 1 };  /* empty */

		if (guest_read(v, l->base + 8 * j, &raw, 8) < 0)
			return -1;
		desc_decode(raw, (uint16_t)(j << 3 | 4 | (raw >> 45 & 3)), &c);
		bool ok = j != 0 && desc_to_host(&c, j, limit_cap(v), &d);
		if (!ok)
			c = (struct seg_cache){ .sel = (uint16_t)(j << 3 | 4) };
		if (memcmp(&v->ldt_cache[j], &d, sizeof(d)) != 0)
			ldt_store(v, j, &d);
		set_gdt_current(v, j, false);
		set_owner(v, j, &c, ok);
	}
	v->ldt_shadowed = n;
	v->seg_force = (1u << SEG_COUNT) - 1;   /* GDT users may have to move */
	v->seg_memo_ok[0] = v->seg_memo_ok[1] = 0;
	return 0;
}

/* --- write tracing of the descriptor tables ------------------------------ */

/* GDT entry idx changed: if a host entry shadows it, put the new
 * descriptor there (see the header). */
static void gdt_entry_changed(struct vcpu *v, unsigned idx)
{
	static const struct user_desc never;
	struct user_desc d = { .entry_number = idx, .read_exec_only = 1,
	                       .seg_not_present = 1 };
	struct seg_cache c;
	uint64_t raw = 0;

	if (idx == 0 || idx >= PRIVATE_SLOT_BASE || idx < v->ldt_shadowed ||
	    (!memcmp(&v->ldt_cache[idx], &never, sizeof(never)) &&
	     !memcmp(&v->ldt_cache[USER_SLOT_BASE + idx], &never, sizeof(never))))
		return;
	if (guest_read(v, v->sys.gdtr.base + 8 * idx, &raw, 8) < 0) {
		v->fault.vector = -1;    /* a monitor read: not the guest's fault */
		return;
	}
	desc_decode(raw, (uint16_t)(idx << 3 | (raw >> 45 & 3)), &c);
	bool ok = desc_to_host(&c, idx, limit_cap(v), &d);
	if (!ok)
		c = (struct seg_cache){ .sel = (uint16_t)(idx << 3) };
	d.entry_number = idx;
	if (!memcmp(&v->ldt_cache[idx], &d, sizeof(d))) {
		/* (what the host entry holds is still right; an inline load
		 * would skip the accessed bit the guest may have cleared) */
		set_owner(v, idx, &v->ldt_owner[idx], true);
		return;
	}
	dirty_users(v, idx);
	ldt_store(v, idx, &d);
	set_owner(v, idx, &c, ok);
	set_gdt_current(v, idx, true);
	/* Its CPL-3 cut copy, if one was made: the same change. */
	unsigned u = USER_SLOT_BASE + idx;
	if (memcmp(&v->ldt_cache[u], &never, sizeof(never))) {
		struct user_desc du = { .read_exec_only = 1, .seg_not_present = 1 };
		bool uok = (c.sel & ~3u) && desc_to_host(&c, u, user_cap(v), &du);
		dirty_users(v, u);
		ldt_store(v, u, &du);
		set_owner(v, u, &c, uok);
	}
}

static bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return (uint64_t)a < (uint64_t)b + blen && (uint64_t)b < (uint64_t)a + alen;
}

/* The shadow MMU's tracer: the guest (or the monitor) wrote to a page of
 * a descriptor table. */
static void dt_written(void *ctx, uint32_t phys, unsigned len)
{
	struct vcpu *v = ctx;
	bool ldt = false;

	for (unsigned i = 0; i < v->dt_n; i++) {
		if (v->dt[i].frame != phys / 4096)
			continue;
		uint32_t lin = v->dt[i].lin + phys % 4096;
		uint32_t gb = v->sys.gdtr.base, glen = v->sys.gdtr.limit + 1u;
		if (overlaps(lin, len, gb, glen)) {
			uint32_t from = lin > gb ? (lin - gb) / 8 : 0;
			uint32_t to = (lin + len - 1 - gb) / 8;
			for (uint32_t e = from; e <= to && e * 8 < glen; e++)
				gdt_entry_changed(v, e);
		}
		if (desc_usable(&v->sys.ldtr) &&
		    overlaps(lin, len, v->sys.ldtr.base, v->sys.ldtr.limit + 1u))
			ldt = true;
	}
	if (ldt)
		segshadow_ldt(v);
}

static void dt_add(struct vcpu *v, uint32_t base, uint32_t len,
                   struct dt_page *out, unsigned *n)
{
	for (uint64_t lin = base & ~4095u; lin < (uint64_t)base + len;
	     lin += 4096) {
		uint32_t phys;

		if (system_peek_ram(v, (uint32_t)lin, &phys) < 0)
			continue;
		if (*n == sizeof(v->dt) / sizeof(v->dt[0]))
			return;
		out[*n].frame = phys / 4096;
		out[*n].lin = (uint32_t)lin;
		(*n)++;
	}
}

void segshadow_trace_tables(struct vcpu *v)
{
	struct dt_page now[sizeof(v->dt) / sizeof(v->dt[0])];
	unsigned n = 0;

	if (v->dt_tracer < 0)
		return;
	if (v->sys.gdtr.limit)
		dt_add(v, v->sys.gdtr.base, v->sys.gdtr.limit + 1u, now, &n);
	if (desc_usable(&v->sys.ldtr)) {
		uint32_t len = v->sys.ldtr.limit + 1u;
		if (len > 8 * LDT_SHADOW_MAX)
			len = 8 * LDT_SHADOW_MAX;
		dt_add(v, v->sys.ldtr.base, len, now, &n);
	}
	for (unsigned i = 0; i < v->dt_n; i++) {
		bool kept = false;
		for (unsigned j = 0; j < n && !kept; j++)
			kept = now[j].frame == v->dt[i].frame;
		if (!kept)
			shadow_trace(v->vm->shadow, v->dt_tracer, v->dt[i].frame,
			             false);
	}
	for (unsigned j = 0; j < n; j++)
		shadow_trace(v->vm->shadow, v->dt_tracer, now[j].frame, true);
	/* Another GDT (LGDT, or other frames behind its addresses): no
	 * selector loads what translated code's table says any more. */
	if (v->bt.tc && (n != v->dt_n || memcmp(v->dt, now, n * sizeof(now[0])) ||
	                 v->dt_gdtr.base != v->sys.gdtr.base ||
	                 v->dt_gdtr.limit != v->sys.gdtr.limit))
		tc_seg_clear(v->bt.tc);
	v->dt_gdtr = v->sys.gdtr;
	memcpy(v->dt, now, n * sizeof(now[0]));
	v->dt_n = n;
}

void segshadow_init(struct vcpu *v)
{
	v->dt_tracer = shadow_add_tracer(v->vm->shadow, dt_written, v);
}
