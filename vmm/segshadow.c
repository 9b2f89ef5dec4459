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
 * on every LLDT (until shadowpt traces descriptor-table pages, a guest
 * write to its LDT takes effect at the next LLDT), and GDT-backed
 * registers whose index falls inside it move to private slots.  Up to
 * LDT_SHADOW_MAX entries: the private slots lie above them.
 *
 * vCPU thread only.
 */
#include "vmm/system.h"
#include "vmm/fatal.h"
#include "vmm/vm.h"

#include <asm/ldt.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Last guest-usable byte of a shadowed segment: the whole window for now
 * (the monitor region, once it exists, is carved out here). */
#define SHADOW_LIMIT_CAP 0xFFFFFFFFu

static int ldt_write(unsigned entry, const struct user_desc *d)
{
	struct user_desc copy = *d;

	copy.entry_number = entry;
	return (int)syscall(SYS_modify_ldt, 0x11, &copy, sizeof(copy));
}

/* Host LDT entries 256..261: one private slot per segment register, for
 * the rare cache that cannot share entry `index` (see host_entry()). */
#define PRIVATE_SLOT_BASE 256u
/* Guest LDT entries popek shadows (entries 0..255: limit 0x7FF). */
#define LDT_SHADOW_MAX PRIVATE_SLOT_BASE

/* The host LDT entry that will shadow segment register s, whose host
 * descriptor is d: the guest's own index, so that pushing and popping the
 * resulting host selector round-trips natively — unless another segment
 * register already uses that entry with a different descriptor (the guest
 * rewrote a GDT entry that is still loaded elsewhere, e.g. its boot CS),
 * or the index lies in or above the private slots. */
static unsigned host_entry(const struct vcpu *v, int s, unsigned idx,
                           const struct user_desc *d)
{
	if (idx >= PRIVATE_SLOT_BASE)
		return PRIVATE_SLOT_BASE + (unsigned)s;
	if (v->sys.seg[s].sel & 4)
		return idx;              /* the guest LDT's own shadow */
	if (idx < v->ldt_shadowed)
		return PRIVATE_SLOT_BASE + (unsigned)s;  /* taken by the LDT */
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
void system_sync_segments(struct vcpu *v)
{
	for (int s = 0; s < SEG_COUNT && v->seg_dirty; s++) {
		if (!(v->seg_dirty & (1u << s)))
			continue;
		v->seg_dirty &= ~(1u << s);
		const struct seg_cache *c = &v->sys.seg[s];
		struct user_desc d;
		unsigned idx = c->sel >> 3;

		if ((c->sel & ~3u) == 0 ||
		    !desc_to_host(c, idx, SHADOW_LIMIT_CAP, &d)) {
			v->host_sel[s] = 0;   /* null: any use faults, as it should */
			continue;
		}
		idx = host_entry(v, s, idx, &d);
		d.entry_number = idx;
		/* modify_ldt copies the whole LDT: skip writes that change
		 * nothing (DS, ES and SS usually share one entry). */
		if (memcmp(&v->ldt_cache[idx], &d, sizeof(d)) != 0) {
			if (ldt_write(idx, &d) < 0)
				fatal_bug("modify_ldt(entry %u): %s", idx,
				          strerror(errno));
			v->ldt_cache[idx] = d;
			v->vm->counters[CTR_ldt_writes]++;
		}
		v->ldt_owner[idx] = *c;
		v->host_sel[s] = (uint16_t)((idx << 3) | 7);
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
		else {
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
		if (j == 0 || !desc_to_host(&c, j, SHADOW_LIMIT_CAP, &d))
			c = (struct seg_cache){ .sel = (uint16_t)(j << 3 | 4) };
		if (memcmp(&v->ldt_cache[j], &d, sizeof(d)) != 0) {
			if (ldt_write(j, &d) < 0)
				fatal_bug("modify_ldt(entry %u): %s", j, strerror(errno));
			v->ldt_cache[j] = d;
			v->vm->counters[CTR_ldt_writes]++;
		}
		v->ldt_owner[j] = c;
	}
	v->ldt_shadowed = n;
	v->seg_dirty = (1u << SEG_COUNT) - 1;   /* GDT users may have to move */
	return 0;
}
