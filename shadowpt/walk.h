/*
 * walk.h — the guest page-table walker: the architectural outcome of one
 * guest access under 32-bit paging (Intel SDM vol. 3A §4.3, access rights
 * §4.6, #PF error code §4.7, accessed and dirty flags §4.8).
 *
 * Pure: page-table entries are read and written through struct walk_mem,
 * so the shadow pager and unit tests can both drive it.  No PAE, no NX,
 * no PSE-36, no SMEP/SMAP (popek exposes none of them to the guest).
 */
#ifndef POPEK_SHADOWPT_WALK_H
#define POPEK_SHADOWPT_WALK_H

#include <stdbool.h>
#include <stdint.h>

/* Bits of a 32-bit page-directory or page-table entry (SDM §4.3). */
#define PG_P    0x001u
#define PG_RW   0x002u
#define PG_US   0x004u
#define PG_A    0x020u
#define PG_D    0x040u
#define PG_PS   0x080u
#define PG_G    0x100u

/* Guest-physical 32-bit accesses to page-table entries; each returns 0,
 * or -1 if phys is outside guest RAM. */
struct walk_mem {
	int (*read32)(void *ctx, uint32_t phys, uint32_t *val);
	int (*write32)(void *ctx, uint32_t phys, uint32_t val);
	void *ctx;
};

enum walk_access { WALK_READ, WALK_WRITE, WALK_FETCH };

struct walk_req {
	uint32_t cr0, cr3, cr4;
	uint32_t linear;
	enum walk_access access;
	int cpl;                /* 0 or 3; supervisor-mode accesses = cpl 0 */
};

/* #PF error code bits (SDM §4.7); I/D stays 0 without NX. */
#define WALK_PF_P    0x1u       /* protection violation, not "not present" */
#define WALK_PF_W    0x2u       /* the access was a write */
#define WALK_PF_U    0x4u       /* the access was made at CPL 3 */
#define WALK_PF_RSVD 0x8u       /* reserved bit set in a present entry */

struct walk_result {
	bool fault;
	uint32_t error;         /* #PF error code, valid when fault */
	uint32_t phys;          /* valid when !fault */
	uint32_t page_size;     /* 4096 or 4 MiB, valid when !fault */
	/*
	 * Rights of the translation when !fault: writable and user are the
	 * R/W and U/S bits ANDed over both levels, before CR0.WP and the CPL
	 * are applied; global is G of the final entry when CR4.PGE is set.
	 * With paging off all three are true, false for global.
	 */
	bool writable, user, global;
	/* D of the final entry after the walk (set by a write), valid when
	 * !fault; true with paging off. */
	bool dirty;
	/* Guest-physical addresses of the entries used, valid when !fault
	 * with paging on: the PDE, and the PTE of a 4 KiB page (0 for a
	 * 4 MiB page).  The shadow's page-table tracer keys on them. */
	uint32_t pde_addr, pte_addr;
};

/*
 * Translate r->linear for one access, setting accessed and dirty flags in
 * guest memory as the processor would.  Returns 0 when the outcome is in
 * *out (a fault or a translation); -1 when a page-directory or page-table
 * entry lies outside guest RAM, in which case nothing was written and the
 * caller decides (real hardware would read whatever the bus returns;
 * popek treats it as a guest bug).
 */
int walk(const struct walk_req *r, const struct walk_mem *m,
         struct walk_result *out);

#endif
