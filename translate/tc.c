/*
 * tc.c — the translation cache's tables (see tc.h): the monitor region's
 * mapping, blocks and their hash by guest EIP, callout sites and their
 * stubs, the TC → guest EIP map, chaining, invalidation and flushing.
 * emit.c writes one block's code.
 *
 * Blocks, map entries and code are allocated in one direction and freed
 * only all together (tc_flush), so blocks are sorted by TC address and
 * each block's map entries by TC address too: tc_map_back is two binary
 * searches.  An invalidated block stays where it is, unreachable: its
 * hash entry is skipped and nothing chains into it (chains never leave a
 * frame, and a frame's blocks are invalidated together).
 */
#include "translate/tc_impl.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define PAGE 4096u

static unsigned hash_of(uint32_t eip, uint32_t cs_base)
{
	uint32_t x = (eip + cs_base) * 0x9E3779B1u;

	return x >> 16;
}

static void count(struct tc *tc, enum counter c, uint64_t n)
{
	if (tc->ops.counters)
		tc->ops.counters[c] += n;
}

static const struct tc_block *block_at(const struct tc *tc, uint32_t a);

static void reset_tables(struct tc *tc)
{
	tc->ndirty = TC_LOOKUP_DIRTY_MAX + 1;   /* clear it all */
	tc_lookup_clear(tc);
	tc->nxchain = 0;                        /* the code goes too */
	tc->xchain_local = 0;
	tc->code_next = TC_CODE;
	tc->nsites = 0;
	tc->nblocks = 0;
	tc->nmap = 0;
	memset(tc->hash, 0xFF, TC_HASH_SIZE * sizeof(*tc->hash));
	memset(tc->regions, 0, sizeof(tc->regions));
	tc->gen++;
}

uint8_t *tc_view;

/* The region's protections in the guest's view (tc.h): vpage read-write,
 * lookup table, key page (without FSGSBASE) read-only, trampoline, stubs
 * and code read-execute. */
static int protect_guest_view(char *err, size_t errlen)
{
	static const struct { uint64_t from, to; int prot; } r[] = {
		{ TC_VPAGE, TC_VPAGE + PAGE, PROT_READ | PROT_WRITE },
		{ TC_VPAGE + PAGE, TC_TRAMP, PROT_READ },
		{ TC_TRAMP, TC_END, PROT_READ | PROT_EXEC },
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		size_t len = (size_t)(r[i].to - r[i].from);
		if (mprotect((void *)(uintptr_t)r[i].from, len, r[i].prot) < 0) {
			snprintf(err, errlen, "cannot protect the monitor region: %s",
			         strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The key page at a random 4 GiB-aligned address with bits 32..46
 * random (a few tries: the address may be taken). */
static uint8_t *map_key_page(char *err, size_t errlen)
{
	for (int tries = 0; tries < 64; tries++) {
		uint16_t r = 0;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return NULL;
		}
		uint64_t hi = r & 0x7FFFu;
		if (hi < 2)
			continue;
		void *want = (void *)(uintptr_t)(hi << 32);
		void *m = mmap(want, PAGE, PROT_READ | PROT_WRITE,
		               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		               -1, 0);
		if (m == want)
			return m;
		if (m != MAP_FAILED)
			munmap(m, PAGE);
	}
	snprintf(err, errlen, "cannot place the monitor's key page");
	return NULL;
}

struct tc *tc_new(const struct tc_ops *ops, void *area, void (*entry)(void),
                  const void *tramp, size_t tramp_len, bool key_in_gs,
                  char *err, size_t errlen)
{
	struct tc *tc = calloc(1, sizeof(*tc));
	void *m;
	int fd;

	if (!tc) {
		snprintf(err, errlen, "out of memory for the translation cache");
		return NULL;
	}
	tc->ops = *ops;
	tc->sites = calloc(TC_NSTUBS, sizeof(*tc->sites));
	tc->blocks = calloc(TC_MAX_BLOCKS, sizeof(*tc->blocks));
	tc->map = calloc(TC_MAX_MAP, sizeof(*tc->map));
	tc->hash = calloc(TC_HASH_SIZE, sizeof(*tc->hash));
	if (!tc->sites || !tc->blocks || !tc->map || !tc->hash) {
		snprintf(err, errlen, "out of memory for the translation cache");
		tc_free(tc);
		return NULL;
	}
	if (tramp_len > TC_GATE - TC_TRAMP) {
		snprintf(err, errlen, "the callout trampoline is too long");
		tc_free(tc);
		return NULL;
	}
	/* One memfd, two views; the window reserved [0, 4 GiB) PROT_NONE:
	 * the guest's view replaces its top. */
	fd = memfd_create("popek-tc", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, TC_SIZE) < 0) {
		snprintf(err, errlen, "cannot create the monitor region: %s",
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		tc_free(tc);
		return NULL;
	}
	tc_view = mmap(NULL, TC_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m = mmap((void *)(uintptr_t)TC_BASE, TC_SIZE, PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_FIXED, fd, 0);
	close(fd);
	if (tc_view == MAP_FAILED || m == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the monitor region at 0x%08x: %s",
		         TC_BASE, strerror(errno));
		if (tc_view == MAP_FAILED)
			tc_view = NULL;
		tc_free(tc);
		return NULL;
	}
	if (key_in_gs) {
		tc->key = map_key_page(err, errlen);
		if (!tc->key) {
			tc_free(tc);
			return NULL;
		}
		/* bits 0..31 TC_VPAGE, and plus TC_SIZE the key page */
		tc->gs_base = (uint64_t)(uintptr_t)tc->key - TC_SIZE;
	} else {
		tc->key = tc_ptr(TC_KEYPAGE);
	}
	uint64_t a = (uintptr_t)area, e = (uintptr_t)entry;
	memcpy(tc->key + TCK_AREA, &a, 8);
	memcpy(tc->key + TCK_ENTRY, &e, 8);
	if (key_in_gs && mprotect(tc->key, PAGE, PROT_READ) < 0) {
		snprintf(err, errlen, "cannot protect the key page: %s",
		         strerror(errno));
		tc_free(tc);
		return NULL;
	}
	memcpy(tc_ptr(TC_TRAMP), tramp, tramp_len);
	if (protect_guest_view(err, errlen) < 0) {
		tc_free(tc);
		return NULL;
	}
	reset_tables(tc);
	tc_seg_clear(tc);
	return tc;
}

void tc_free(struct tc *tc)
{
	if (!tc)
		return;
	/* The guest's view stays mapped: a device thread may still note a
	 * pending interrupt in the vpage (bt_note_pending) as the VM ends. */
	if (tc_view) {
		munmap(tc_view, TC_SIZE);
		tc_view = NULL;
	}
	if (tc->key && tc->gs_base)
		munmap(tc->key, PAGE);
	free(tc->hash);
	free(tc->map);
	free(tc->blocks);
	free(tc->sites);
	free(tc);
}

uint64_t tc_gs_base(const struct tc *tc)
{
	return tc->gs_base;
}

uint64_t tc_key_addr(const struct tc *tc)
{
	return tc->gs_base ? (uint64_t)(uintptr_t)tc->key : 0;
}

int tc_install_gate(struct tc *tc, const void *code, size_t len)
{
	(void)tc;
	if (len > TC_TRAMP + PAGE - TC_GATE)
		return -1;
	memcpy(tc_ptr(TC_GATE), code, len);
	return 0;
}

uint64_t tc_generation(const struct tc *tc)
{
	return tc->gen;
}

/* The block's frames are still what its pages map to. */
static bool frames_match(const struct tc *tc, const struct tc_block *b)
{
	uint32_t lin = b->cs_base + b->eip, f;

	if (tc->ops.frame_of(tc->ops.ctx, lin & ~(PAGE - 1), &f) < 0 ||
	    f != b->frame[0])
		return false;
	if (!b->two)
		return true;
	return tc->ops.frame_of(tc->ops.ctx, (lin & ~(PAGE - 1)) + PAGE, &f) == 0 &&
	       f == b->frame[1];
}

static uint32_t find(struct tc *tc, uint32_t eip, uint32_t cs_base, bool user)
{
	count(tc, CTR_bt_lookups, 1);
	for (int32_t i = tc->hash[hash_of(eip, cs_base)]; i >= 0;
	     i = tc->blocks[i].hnext) {
		const struct tc_block *b = &tc->blocks[i];

		if (b->valid && b->eip == eip && b->cs_base == cs_base &&
		    b->user == user && frames_match(tc, b))
			return b->start;
	}
	count(tc, CTR_bt_misses, 1);
	return 0;
}

uint32_t tc_find(struct tc *tc, uint32_t eip, uint32_t cs_base)
{
	return find(tc, eip, cs_base, false);
}

uint32_t tc_find_user(struct tc *tc, uint32_t eip, uint32_t cs_base)
{
	return find(tc, eip, cs_base, true);
}

int tc_new_site(struct tc *tc, uint8_t kind, uint8_t cls, uint32_t eip,
                uint32_t patch, uint32_t block)
{
	if (tc->nsites == TC_NSTUBS)
		return -1;
	uint32_t id = tc->nsites++;
	uint32_t stub = TC_STUBS + id * TC_STUB_SIZE;
	uint8_t *p = tc_ptr(stub);
	int32_t site_rel = (int32_t)(TC_VPAGE + TCV_SITE - (stub + 10));
	int32_t tramp_rel = (int32_t)(TC_TRAMP - (stub + 15));

	tc->sites[id] = (struct tc_site){ .kind = kind, .cls = cls,
	                                  .guest_eip = eip, .patch = patch,
	                                  .block = block };
	/* movl $id, TCV_SITE(%rip); jmp TC_TRAMP — 64-bit code */
	p[0] = 0xC7;
	p[1] = 0x05;
	memcpy(p + 2, &site_rel, 4);
	memcpy(p + 6, &id, 4);
	p[10] = 0xE9;
	memcpy(p + 11, &tramp_rel, 4);
	p[15] = 0xCC;
	return (int)id;
}

int tc_add_map(struct tc *tc, uint32_t tc_addr, uint32_t eip, bool nb)
{
	if (tc->nmap == TC_MAX_MAP)
		return -1;
	tc->map[tc->nmap++] = (struct tc_map_ent){ tc_addr, eip, nb };
	return 0;
}

static struct tc_lookup_ent *lookup_table(void)
{
	return (struct tc_lookup_ent *)tc_ptr(TC_LOOKUP);
}

static void mark_regions(struct tc *tc, const struct tc_block *b)
{
	uint32_t lin = b->cs_base + b->eip, next = (lin & ~(PAGE - 1)) + PAGE;

	tc->regions[(lin >> 22) / 64] |= 1ull << ((lin >> 22) % 64);
	if (b->two)
		tc->regions[(next >> 22) / 64] |= 1ull << ((next >> 22) % 64);
}

void tc_lookup_insert(struct tc *tc, uint32_t eip, uint32_t tc_addr)
{
	struct tc_lookup_ent *e = &lookup_table()[eip & (TC_LOOKUP_N - 1)];

	bool was_free = e->eip == TC_LOOKUP_FREE(eip & (TC_LOOKUP_N - 1));

	if (was_free && tc->ndirty < TC_LOOKUP_DIRTY_MAX)
		tc->dirty[tc->ndirty] = eip & (TC_LOOKUP_N - 1);
	if (was_free)
		tc->ndirty++;       /* past the max: the next clear is whole */
	e->eip = eip;
	e->tc = tc_addr;
	const struct tc_block *b = block_at(tc, tc_addr);
	tc->lt_block[eip & (TC_LOOKUP_N - 1)] = b ? (uint32_t)(b - tc->blocks) : 0;
	if (b)
		mark_regions(tc, b);
	if (!b || !b->global)
		tc->dirty_local++;
}

void tc_lookup_clear(struct tc *tc)
{
	struct tc_lookup_ent *t = lookup_table();

	if (tc->ndirty > TC_LOOKUP_DIRTY_MAX) {
		for (uint32_t i = 0; i < TC_LOOKUP_N; i++)
			t[i].eip = TC_LOOKUP_FREE(i);
	} else {
		for (unsigned i = 0; i < tc->ndirty; i++)
			t[tc->dirty[i]].eip = TC_LOOKUP_FREE(tc->dirty[i]);
	}
	tc->ndirty = 0;
	tc->dirty_local = 0;
}

_Static_assert(TC_LOOKUP + 8u * TC_LOOKUP_N <= TC_SELTAB &&
               TC_SELTAB + 2u * 0x10000 <= TC_SELREV &&
               TC_SELREV + 4u * 0x10000 <= TC_VERWTAB &&
               TC_VERWTAB + 0x10000 <= TC_ZFTAB &&
               TC_ZFTAB + 8u * 256 <= TC_KEYPAGE,
               "the monitor region's tables overlap");

/* TC_SELTAB holds host selector + 1 (0: not known): the null selector 0
 * loads as host selector 0, always; nulls with an RPL are callouts (the
 * host keeps no RPL in a null register: segshadow.c).  TC_VERWTAB: 0 not
 * known, 1 VERW clears ZF, 2 sets it (nulls: 1). */
void tc_seg_load(struct tc *tc, uint16_t sel, int host, bool writable)
{
	uint16_t v = host < 0 ? 0 : (uint16_t)(host + 1);

	(void)tc;
	if ((sel & ~3u) == 0)
		return;
	memcpy(tc_ptr(TC_SELTAB + 2u * sel), &v, 2);
	*tc_ptr(TC_VERWTAB + sel) = host < 0 ? 0 : writable ? 2 : 1;
}

void tc_seg_clear(struct tc *tc)
{
	uint16_t *t = (uint16_t *)tc_ptr(TC_SELTAB);
	uint8_t *w = tc_ptr(TC_VERWTAB), *z = tc_ptr(TC_ZFTAB);

	(void)tc;
	memset(t, 0, 2u * 0x10000);
	memset(w, 0, 0x10000);
	t[0] = 1;
	memset(w, 1, 4);
	for (unsigned ah = 0; ah < 256; ah++) {   /* 8 * AH + VERWTAB's */
		z[8 * ah + 1] = (uint8_t)(ah & ~0x40u);
		z[8 * ah + 2] = (uint8_t)(ah | 0x40u);
	}
}

void tc_seg_push_null(struct tc *tc, bool zero)
{
	uint32_t v = zero ? 0x10000u : 0;

	(void)tc;
	memcpy(tc_ptr(TC_SELREV), &v, 4);
}

void tc_seg_push(struct tc *tc, uint16_t host, uint16_t sel, bool known)
{
	uint32_t v = known ? 0x10000u | sel : 0;

	(void)tc;
	if ((host & ~3u) == 0)
		return;                 /* (the nulls: tc_seg_push_null) */
	memcpy(tc_ptr(TC_SELREV + 4u * host), &v, 4);
}

static bool room(const struct tc *tc)
{
	return tc->nblocks < TC_MAX_BLOCKS &&
	       tc->nmap + 4 * SCAN_MAX_INSNS + 4 <= TC_MAX_MAP &&
	       tc->nsites + 2 * SCAN_MAX_INSNS + 2 <= TC_NSTUBS &&
	       (uint64_t)tc->code_next + TC_BLOCK_MAX <= (uint64_t)TC_END;
}

/* scan/ wrapped a 16-bit operand size branch's target to 16 bits as a
 * linear address; with a CS base the wrap is of the EIP: redo it from
 * the displacement (rel8 for EB, 7x, E0-E3; else rel16 under 66). */
static void target16(struct scan_insn *si, const uint8_t *b)
{
	unsigned i = tc_prefixes(b, si->len);
	bool o16 = memchr(b, 0x66, i) != NULL;

	if (!o16 || i >= si->len)
		return;
	uint8_t op = b[i];
	bool rel8 = op == 0xEB || (op & 0xF0) == 0x70 || (op >= 0xE0 && op <= 0xE3);
	int32_t rel = rel8 ? (int8_t)b[si->len - 1]
	                   : (int16_t)(b[si->len - 2] | b[si->len - 1] << 8);
	si->target = (si->eip + si->len + (uint32_t)rel) & 0xFFFFu;
}

uint32_t tc_translate(struct tc *tc, const struct tc_src *src, bool *used_next)
{
	struct scan_opts so = { .code32 = true, .reserved_seg = SEG_GS,
	                        .max_insns = src->one_shot ? 1 : SCAN_MAX_INSNS };
	struct scan_block sb;
	uint32_t lin = src->cs_base + src->eip;

	*used_next = false;
	if (scan_block(src->bytes, src->avail, lin, &so, &sb) == 0)
		return 0;
	/* scan_block worked with linear addresses: back to EIPs. */
	for (unsigned i = 0; i < sb.ninsn; i++) {
		sb.insn[i].eip -= src->cs_base;
		sb.insn[i].target -= src->cs_base;
		if (src->cs_base && (sb.insn[i].flags & SCAN_F_TARGET))
			target16(&sb.insn[i], src->bytes + sb.insn[i].offset);
	}
	if (!room(tc))
		tc_flush(tc);
	uint32_t bi = tc->nblocks++;
	struct tc_block *b = &tc->blocks[bi];
	*b = (struct tc_block){
		.eip = src->eip, .cs_base = src->cs_base,
		.frame = { src->frame[0], src->frame[1] },
		.two = (lin & (PAGE - 1)) + sb.len > PAGE, .valid = true,
		.one_shot = src->one_shot || (src->user && !src->keep),
		.user = src->user, .global = src->global,
		.start = tc->code_next,
		.map0 = tc->nmap, .hnext = -1,
	};
	if (tc_emit_block(tc, b, bi, &sb, src->bytes, src->user) < 0) {
		/* room() made sure this cannot happen */
		fprintf(stderr, "popek: translation cache tables overflowed\n");
		abort();
	}
	b->nmap = tc->nmap - b->map0;
	tc->code_next = (b->end + 15) & ~15u;
	*used_next = b->two;
	if (!b->one_shot) {
		unsigned h = hash_of(b->eip, b->cs_base);
		b->hnext = tc->hash[h];
		tc->hash[h] = (int32_t)bi;
	}
	count(tc, CTR_bt_blocks, 1);
	count(tc, CTR_bt_guest_insns, b->ninsn);
	count(tc, CTR_bt_tc_bytes, b->end - b->start);
	return b->start;
}

const struct tc_site *tc_site(const struct tc *tc, uint32_t id)
{
	return id < tc->nsites ? &tc->sites[id] : NULL;
}

int tc_stub_site(const struct tc *tc, uint64_t rip, uint32_t *id)
{
	if (rip < TC_STUBS || rip >= TC_STUBS + (uint64_t)tc->nsites * TC_STUB_SIZE)
		return -1;
	*id = (uint32_t)((rip - TC_STUBS) / TC_STUB_SIZE);
	return 0;
}

/* The block holding TC address a, or NULL. */
static const struct tc_block *block_at(const struct tc *tc, uint32_t a)
{
	uint32_t lo = 0, hi = tc->nblocks;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (tc->blocks[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct tc_block *b = &tc->blocks[lo - 1];
	return a < b->end ? b : NULL;
}

static void patch_rel(uint32_t at, uint32_t target)
{
	int32_t d = (int32_t)(target - (at + 4));

	memcpy(tc_ptr(at), &d, 4);
}

bool tc_chain(struct tc *tc, uint32_t id, uint32_t target)
{
	struct tc_site *s = id < tc->nsites ? &tc->sites[id] : NULL;
	const struct tc_block *from, *to;
	int32_t old;

	if (!s || s->kind != TC_SITE_BRANCH || !s->patch)
		return false;
	from = &tc->blocks[s->block];
	to = block_at(tc, target);
	if (!to || to->start != target || !from->valid || !to->valid ||
	    from->one_shot || to->one_shot || from->user || to->user ||
	    from->cs_base != to->cs_base)
		return false;
	bool lasting = !from->two && !to->two && from->frame[0] == to->frame[0] &&
	               ((from->cs_base + from->eip) ^ (to->cs_base + to->eip)) < PAGE;
	memcpy(&old, tc_ptr(s->patch), 4);
	if (!s->exit_at)
		s->exit_at = s->patch + 4 + (uint32_t)old;
	if (!lasting) {
		if (tc->nxchain < TC_LOOKUP_DIRTY_MAX) {
			tc->xchain[tc->nxchain] = id;
			tc->xchain_to[tc->nxchain] = (uint32_t)(to - tc->blocks);
		}
		mark_regions(tc, from);
		mark_regions(tc, to);
		tc->nxchain++;
		if (!from->global || !to->global)
			tc->xchain_local++;
	}
	patch_rel(s->patch, target);
	count(tc, CTR_bt_chains, 1);
	return true;
}

void tc_unchain_cross(struct tc *tc)
{
	if (tc->nxchain > TC_LOOKUP_DIRTY_MAX) {
		/* lost count: undo every chain (the lasting ones come back) */
		for (uint32_t i = 0; i < tc->nsites; i++)
			if (tc->sites[i].exit_at)
				patch_rel(tc->sites[i].patch, tc->sites[i].exit_at);
	} else {
		for (unsigned i = 0; i < tc->nxchain; i++) {
			const struct tc_site *s = &tc->sites[tc->xchain[i]];
			patch_rel(s->patch, s->exit_at);
		}
	}
	tc->nxchain = 0;
	tc->xchain_local = 0;
}

int tc_map_back(const struct tc *tc, uint32_t a, uint32_t *eip)
{
	const struct tc_block *b = block_at(tc, a);
	uint32_t lo, hi;

	if (!b || b->nmap == 0)
		return -1;
	lo = b->map0;
	hi = b->map0 + b->nmap;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (tc->map[mid].tc <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == b->map0)
		return -1;
	*eip = tc->map[lo - 1].eip;
	return tc->map[lo - 1].nb ? 1 : 0;
}

void tc_invalidate_frame(struct tc *tc, uint32_t frame)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < tc->nblocks; i++) {
		struct tc_block *b = &tc->blocks[i];

		if (b->valid && (b->frame[0] == frame ||
		                 (b->two && b->frame[1] == frame))) {
			b->valid = false;
			n++;
		}
	}
	if (n) {
		tc_lookup_clear(tc);
		tc_unchain_cross(tc);    /* chains into the dropped blocks */
		tc->gen++;
		count(tc, CTR_bt_invalidated, n);
	}
}

void tc_flush(struct tc *tc)
{
	reset_tables(tc);
	count(tc, CTR_bt_flushes, 1);
	if (tc->ops.flushed)
		tc->ops.flushed(tc->ops.ctx);
}

/* Whether a change of the guest's mappings may concern block b. */
static bool concerned(const struct tc_block *b, enum tc_map_change what,
                      uint32_t region)
{
	uint32_t lin = b->cs_base + b->eip;

	if (what == TC_MAP_ALL)
		return true;
	if (what == TC_MAP_CR3)
		return !b->global;
	return (lin >> 22) == region ||
	       (b->two && (((lin & ~(PAGE - 1)) + PAGE) >> 22) == region);
}

static void drop_lookups(struct tc *tc, enum tc_map_change what,
                         uint32_t region)
{
	struct tc_lookup_ent *t = lookup_table();
	unsigned kept = 0;

	if (tc->ndirty > TC_LOOKUP_DIRTY_MAX || what == TC_MAP_ALL) {
		tc_lookup_clear(tc);
		return;
	}
	tc->dirty_local = 0;
	for (unsigned i = 0; i < tc->ndirty; i++) {
		uint32_t idx = tc->dirty[i];
		const struct tc_block *b = &tc->blocks[tc->lt_block[idx]];

		if (concerned(b, what, region)) {
			t[idx].eip = TC_LOOKUP_FREE(idx);
		} else {
			tc->dirty[kept++] = idx;
			tc->dirty_local += !b->global;
		}
	}
	tc->ndirty = kept;
}

/* The target block of cross-page chain i (as chained, checked against
 * the branch itself), or NULL. */
static const struct tc_block *xchain_target(const struct tc *tc, unsigned i)
{
	const struct tc_site *s = &tc->sites[tc->xchain[i]];
	const struct tc_block *to = &tc->blocks[tc->xchain_to[i]];
	int32_t rel;

	memcpy(&rel, tc_ptr(s->patch), 4);
	uint32_t at = s->patch + 4 + (uint32_t)rel;
	return to->start == at ? to : block_at(tc, at);
}

static void drop_chains(struct tc *tc, enum tc_map_change what,
                        uint32_t region)
{
	unsigned kept = 0;

	if (tc->nxchain > TC_LOOKUP_DIRTY_MAX || what == TC_MAP_ALL) {
		tc_unchain_cross(tc);
		return;
	}
	tc->xchain_local = 0;
	for (unsigned i = 0; i < tc->nxchain; i++) {
		const struct tc_site *s = &tc->sites[tc->xchain[i]];
		/* (no search: CR3 loads and INVLPGs come by the ten
		 * thousand) */
		const struct tc_block *to = xchain_target(tc, i);
		const struct tc_block *from = &tc->blocks[s->block];
		if (!to || concerned(from, what, region) ||
		    concerned(to, what, region)) {
			patch_rel(s->patch, s->exit_at);
		} else {
			tc->xchain_to[kept] = tc->xchain_to[i];
			tc->xchain[kept++] = tc->xchain[i];
			tc->xchain_local += !from->global || !to->global;
		}
	}
	tc->nxchain = kept;
}

static void rebuild_regions(struct tc *tc)
{
	memset(tc->regions, 0, sizeof(tc->regions));
	for (unsigned i = 0; i < tc->ndirty && i < TC_LOOKUP_DIRTY_MAX; i++)
		mark_regions(tc, &tc->blocks[tc->lt_block[tc->dirty[i]]]);
	for (unsigned i = 0; i < tc->nxchain && i < TC_LOOKUP_DIRTY_MAX; i++) {
		const struct tc_block *to = xchain_target(tc, i);
		mark_regions(tc, &tc->blocks[tc->sites[tc->xchain[i]].block]);
		if (to)
			mark_regions(tc, to);
	}
}

void tc_mappings_changed(struct tc *tc, enum tc_map_change what, uint32_t lin)
{
	uint32_t r = lin >> 22;

	/* (past the lists' max, the table and chains are not all listed) */
	bool listed = tc->ndirty <= TC_LOOKUP_DIRTY_MAX &&
	              tc->nxchain <= TC_LOOKUP_DIRTY_MAX;
	if (what == TC_MAP_PAGE && listed &&
	    !((tc->regions[r / 64] >> (r % 64)) & 1))
		return;
	/* A CR3 load concerns non-global blocks only: none listed, nothing
	 * to drop (a Linux process switch: the kernel's text is global). */
	if (what == TC_MAP_CR3 && listed && !tc->dirty_local && !tc->xchain_local)
		return;
	drop_lookups(tc, what, r);
	drop_chains(tc, what, r);
	rebuild_regions(tc);
}
