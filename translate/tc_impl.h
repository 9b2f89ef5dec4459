/*
 * tc_impl.h — what tc.c (the cache: blocks, sites, lookup, invalidation)
 * and emit.c (one block's code) share.  Not an interface: see tc.h.
 */
#ifndef POPEK_TRANSLATE_TC_IMPL_H
#define POPEK_TRANSLATE_TC_IMPL_H

#include "translate/tc.h"
#include "scan/classify.h"

#define TC_MAX_BLOCKS  (1u << 17)
#define TC_MAX_MAP     (1u << 21)
#define TC_HASH_SIZE   (1u << 16)
/* The most code one block can emit: every instruction at its longest
 * rewrite, plus one exit per instruction. */
#define TC_BLOCK_MAX   (SCAN_MAX_INSNS * (15 + 12 + 7) + 64)

struct tc_block {
	uint32_t eip, cs_base;
	uint32_t frame[2];
	bool two;               /* its bytes run into frame[1] */
	bool valid;
	bool one_shot;          /* never reused or chained (one_shot, user
	                         * without keep) */
	bool user;              /* CPL 3's: tc_find_user only, never chained */
	bool global;            /* tc_src.global */
	uint32_t start, end;    /* its code: TC addresses [start, end) */
	uint32_t map0, nmap;    /* its entries in tc->map, by TC address */
	uint32_t ninsn;         /* guest instructions it translates */
	int32_t hnext;          /* hash chain (block index), -1 ends */
};

/* From this TC address on, the guest state is the one at guest `eip`. */
struct tc_map_ent {
	uint32_t tc;
	uint32_t eip;
	bool nb;                /* inside an inline sequence: no exact EIP */
};

/* An entry of the inline lookup table (TC_LOOKUP), index eip & 0xFFFF. */
struct tc_lookup_ent {
	uint32_t eip;           /* TC_LOOKUP_FREE(index): empty */
	uint32_t tc;
};
/* An empty slot's tag: its low 16 bits differ from its index, so no
 * target (which goes to the slot of its own low 16 bits) matches it. */
#define TC_LOOKUP_FREE(i) ((uint32_t)(i) ^ 1u)
#define TC_LOOKUP_DIRTY_MAX 4096

struct tc {
	struct tc_ops ops;
	uint32_t code_next;     /* next free TC code address */
	uint32_t nsites;
	struct tc_site *sites;  /* TC_NSTUBS */
	struct tc_block *blocks;
	uint32_t nblocks;
	struct tc_map_ent *map;
	uint32_t nmap;
	int32_t *hash;          /* TC_HASH_SIZE heads */
	uint64_t gen;
	/* Lookup-table indexes in use (all of them past the max). */
	uint32_t dirty[TC_LOOKUP_DIRTY_MAX];
	unsigned ndirty;
	/* Sites chained across pages or frames (all of them past the max:
	 * then every chained site is undone). */
	uint32_t xchain[TC_LOOKUP_DIRTY_MAX];
	uint32_t xchain_to[TC_LOOKUP_DIRTY_MAX];   /* their target blocks */
	/* The 4 MiB regions the blocks of those lookup entries and chains
	 * touch (a superset): an INVLPG elsewhere has nothing to drop. */
	uint64_t regions[1024 / 64];
	unsigned nxchain;
	/* How many of the listed lookup entries and chains may involve a
	 * non-global block (an upper bound): while both are 0 a CR3 load
	 * has nothing in them to drop (Linux's kernel text is global). */
	unsigned dirty_local, xchain_local;
	/* The block each lookup entry points at (index), for dropping the
	 * entries a mapping change concerns. */
	uint32_t lt_block[TC_LOOKUP_N];
	uint8_t *key;           /* the key page (tc.h) */
	uint64_t gs_base;       /* tc_gs_base */
};

/* How many legacy prefixes (66 67, segment overrides, F2 F3) the
 * instruction at b[0..len) starts with. */
static inline unsigned tc_prefixes(const uint8_t *b, unsigned len)
{
	unsigned i = 0;

	while (i < len && (b[i] == 0x66 || b[i] == 0x67 || b[i] == 0x2E ||
	                   b[i] == 0x3E || b[i] == 0x26 || b[i] == 0x36 ||
	                   b[i] == 0x64 || b[i] == 0x65 || b[i] == 0xF2 ||
	                   b[i] == 0xF3))
		i++;
	return i;
}

/* The monitor's view of the region (tc.h): where it writes code, stubs
 * and tables.  Set by tc_new. */
extern uint8_t *tc_view;

static inline uint8_t *tc_ptr(uint32_t tc_addr)
{
	return tc_view + (tc_addr - TC_BASE);
}

/* A new site (its stub written); -1 when the stubs are used up. */
int tc_new_site(struct tc *tc, uint8_t kind, uint8_t cls, uint32_t eip,
                uint32_t patch, uint32_t block);
/* A map entry for the block being emitted; -1 when the map is full.
 * nb: an inline sequence's scratch state starts here. */
int tc_add_map(struct tc *tc, uint32_t tc_addr, uint32_t eip, bool nb);

/* The code being emitted for one block (emit.c, inline.c). */
struct out {
	struct tc *tc;
	uint32_t bi;             /* block index */
	uint32_t at;             /* next TC address */
	/* Pending exits: the rel32 field to point at each exit's ljmp. */
	struct { uint32_t rel, eip; } exit[4 * SCAN_MAX_INSNS + 2];
	unsigned nexit;
	int err;
	uint32_t cs_base;        /* of the block */
	bool user;               /* translated for guest CPL 3 */
	uint32_t page;           /* linear page of its first instruction */
};

void tc_put(struct out *o, const void *b, size_t n);
void tc_put8(struct out *o, uint8_t b);
void tc_put32(struct out *o, uint32_t v);
/* Map entries at the current address: exact state of guest `eip`, or
 * (nb) an inline sequence's scratch state. */
void tc_map(struct out *o, uint32_t eip);
void tc_map_nb(struct out *o);
/* A rel32 field here, pointed later at the exit that continues at eip. */
void tc_rel_to_exit(struct out *o, uint32_t eip);
/* ljmp $0x33, $stub of a new site. */
void tc_far_to_site(struct out *o, uint8_t kind, uint8_t cls, uint32_t eip,
                    uint32_t patch);
/* jmp rel32 to the exit that continues at eip. */
void tc_jmp_exit(struct out *o, uint32_t eip);

/* inline.c: the inline translation of the instruction at si (bytes b),
 * if it has one.  Returns false (nothing emitted) if not; *ends: the
 * translation ends the block. */
bool tc_inline(struct out *o, const struct scan_insn *si, const uint8_t *b,
               const struct scan_insn *next, bool *ends);

/* A direct JMP/CALL (after its push) to guest EIP t in another page:
 * the inline lookup, and on a miss a BRANCH exit to t. */
void tc_lookup_jump(struct out *o, uint32_t t);

/* Emit the block blk (already allocated, start set) from the scanned
 * instructions; sets blk->end.  0, or -1 when a table filled (the
 * caller flushes and retries). */
int tc_emit_block(struct tc *tc, struct tc_block *blk, uint32_t bi,
                  const struct scan_block *sb, const uint8_t *bytes,
                  bool user);

#endif
