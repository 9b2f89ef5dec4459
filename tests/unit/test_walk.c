/*
 * test_walk.c — unit tests of the 32-bit paging walker (shadowpt/walk.c).
 *
 * Guest-physical memory is a fake 64 KiB array that counts and logs
 * writes.  The two big tests enumerate, in the manner of kvm-unit-tests
 * x86/access.c, every combination of entry bits, access type, CPL,
 * CR0.WP and CR4.PGE, and compare the walker with ref(), a deliberately
 * plain restatement of SDM vol. 3A §4.3/§4.6/§4.7/§4.8.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "shadowpt/walk.h"

#define P   0x001u
#define RW  0x002u
#define US  0x004u
#define A   0x020u
#define D   0x040u
#define PS  0x080u
#define G   0x100u

#define CR0_PG  0x80000000u
#define CR0_WP  0x00010000u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

#define RAM_SIZE 0x10000u
#define PD       0x1000u        /* CR3 */
#define PT       0x2000u
#define FRAME    0x5000u
#define BIGFRAME 0x00400000u
#define LINEAR   0x00C01234u    /* PDE index 3, PTE index 1, offset 0x234 */
#define PDE_AT   (PD + 4 * 3)
#define PTE_AT   (PT + 4 * 1)

struct fake {
	uint32_t ram[RAM_SIZE / 4];
	int reads, writes;
	uint32_t wlog[8];
};

static int fake_read(void *ctx, uint32_t phys, uint32_t *val)
{
	struct fake *f = ctx;

	if (phys >= RAM_SIZE || RAM_SIZE - phys < 4)
		return -1;
	cr_assert_eq(phys % 4, 0, "unaligned entry read at %#x", phys);
	f->reads++;
	*val = f->ram[phys / 4];
	return 0;
}

static int fake_write(void *ctx, uint32_t phys, uint32_t val)
{
	struct fake *f = ctx;

	if (phys >= RAM_SIZE || RAM_SIZE - phys < 4)
		return -1;
	if (f->writes < 8)
		f->wlog[f->writes] = phys;
	f->writes++;
	f->ram[phys / 4] = val;
	return 0;
}

static struct fake mem;
static const struct walk_mem wm = { fake_read, fake_write, &mem };

static void reset(uint32_t pde, uint32_t pte)
{
	memset(&mem, 0, sizeof mem);
	mem.ram[PDE_AT / 4] = pde;
	mem.ram[PTE_AT / 4] = pte;
}

static const char *const acc_name[] = { "read", "write", "fetch" };

struct expect {
	bool fault;
	uint32_t error, phys, pde, pte;
	bool writable, user, global;
};

/* The architecture, stated independently of walk.c. */
static struct expect ref(uint32_t pde, uint32_t pte, bool big,
                         enum walk_access acc, int cpl, bool wp, bool pge)
{
	struct expect e = { .pde = pde, .pte = pte };
	bool wr = acc == WALK_WRITE, usr = cpl == 3;
	uint32_t leaf_rw, leaf_us, leaf_g;

	e.error = (wr ? 2 : 0) | (usr ? 4 : 0);
	if (!(pde & P)) {
		e.fault = true;
		return e;
	}
	if (!big) {
		e.pde |= A;     /* the walk went on to fetch the PTE */
		if (!(pte & P)) {
			e.fault = true;
			return e;
		}
	}
	leaf_rw = big ? RW : pte & RW;
	leaf_us = big ? US : pte & US;
	leaf_g = big ? pde & G : pte & G;
	e.writable = (pde & RW) && leaf_rw;
	e.user = (pde & US) && leaf_us;
	if ((usr && !e.user) || (wr && !e.writable && (usr || wp))) {
		e.fault = true;
		e.error |= 1;
		e.writable = e.user = false;
		return e;
	}
	if (big) {
		e.pde |= A | (wr ? D : 0);
		e.phys = BIGFRAME | (LINEAR & 0x3FFFFF);
	} else {
		e.pte |= A | (wr ? D : 0);
		e.phys = FRAME | (LINEAR & 0xFFF);
	}
	e.global = leaf_g && pge;
	return e;
}

static void check(const struct expect *e, const struct walk_result *res,
                  const char *what)
{
	cr_assert_eq(res->fault, e->fault, "%s: fault %d, expected %d", what,
	             res->fault, e->fault);
	if (e->fault)
		cr_assert_eq(res->error, e->error, "%s: error %#x, expected %#x",
		             what, res->error, e->error);
	else
		cr_assert(res->phys == e->phys && res->writable == e->writable &&
		          res->user == e->user && res->global == e->global,
		          "%s: phys %#x w%d u%d g%d, expected %#x w%d u%d g%d",
		          what, res->phys, res->writable, res->user, res->global,
		          e->phys, e->writable, e->user, e->global);
	cr_assert_eq(mem.ram[PDE_AT / 4], e->pde, "%s: PDE %#x, expected %#x",
	             what, mem.ram[PDE_AT / 4], e->pde);
	cr_assert_eq(mem.ram[PTE_AT / 4], e->pte, "%s: PTE %#x, expected %#x",
	             what, mem.ram[PTE_AT / 4], e->pte);
}

static int enumerate(bool big)
{
	static const uint32_t pde_bits_4k[] = { P, RW, US };
	static const uint32_t pte_bits[] = { P, RW, US, A, D, G };
	static const uint32_t pde_bits_4m[] = { P, RW, US, A, D, G };
	const uint32_t *pdb = big ? pde_bits_4m : pde_bits_4k;
	unsigned npd = big ? 6 : 3, npt = big ? 0 : 6, n = 0;

	for (unsigned pdm = 0; pdm < 1u << npd; pdm++)
	for (unsigned ptm = 0; ptm < 1u << npt; ptm++)
	for (int acc = WALK_READ; acc <= WALK_FETCH; acc++)
	for (int cpl = 0; cpl <= 3; cpl += 3)
	for (int wp = 0; wp <= 1; wp++)
	for (int pge = 0; pge <= 1; pge++) {
		uint32_t pde = big ? BIGFRAME | PS : PT, pte = FRAME;
		struct walk_req r = {
			.cr0 = CR0_PG | (wp ? CR0_WP : 0), .cr3 = PD,
			.cr4 = (big ? CR4_PSE : 0) | (pge ? CR4_PGE : 0),
			.linear = LINEAR, .access = acc, .cpl = cpl,
		};
		struct walk_result res;
		struct expect e;
		char what[160];
		int writes;

		for (unsigned i = 0; i < npd; i++)
			pde |= pdm >> i & 1 ? pdb[i] : 0;
		for (unsigned i = 0; i < npt; i++)
			pte |= ptm >> i & 1 ? pte_bits[i] : 0;
		snprintf(what, sizeof what,
		         "%s pde %#x pte %#x %s cpl%d wp%d pge%d",
		         big ? "4M" : "4K", pde, pte, acc_name[acc], cpl, wp, pge);
		reset(pde, pte);
		e = ref(pde, pte, big, acc, cpl, wp, pge);
		cr_assert_eq(walk(&r, &wm, &res), 0, "%s: walk failed", what);
		check(&e, &res, what);
		writes = (e.pde != pde) + (e.pte != pte);
		cr_assert_eq(mem.writes, writes, "%s: %d writes, expected %d",
		             what, mem.writes, writes);
		if (writes == 2)
			cr_assert(mem.wlog[0] == PDE_AT && mem.wlog[1] == PTE_AT,
			          "%s: PTE written before PDE", what);
		if (!e.fault)
			cr_assert_eq(res.page_size, big ? 0x400000u : 4096u,
			             "%s: page size %#x", what, res.page_size);
		n++;
	}
	return n;
}

Test(walk, all_4k_combinations)
{
	/* PDE {P,RW,US} x PTE {P,RW,US,A,D,G} x 3 accesses x CPL x WP x PGE */
	cr_assert_eq(enumerate(false), 8 * 64 * 3 * 2 * 2 * 2);
}

Test(walk, all_4m_combinations)
{
	/* PDE {P,RW,US,A,D,G} x 3 accesses x CPL x WP x PGE, CR4.PSE=1 */
	cr_assert_eq(enumerate(true), 64 * 3 * 2 * 2 * 2);
}

Test(walk, paging_off_is_identity)
{
	struct walk_req r = { .cr0 = CR0_WP, .cr3 = PD, .cr4 = CR4_PSE,
	                      .linear = 0xFEDCBA98, .access = WALK_WRITE,
	                      .cpl = 3 };
	struct walk_result res;

	reset(P | RW | US | PS, FRAME | P);
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert(!res.fault);
	cr_assert_eq(res.phys, 0xFEDCBA98);
	cr_assert_eq(res.page_size, 4096);
	cr_assert_eq(mem.reads + mem.writes, 0, "paging off touched memory");
}

Test(walk, ps_ignored_without_cr4_pse)
{
	/* PS=1 but CR4.PSE=0: the PDE points to a page table (§4.3). */
	struct walk_req r = { .cr0 = CR0_PG, .cr3 = PD, .linear = LINEAR,
	                      .access = WALK_READ, .cpl = 0 };
	struct walk_result res;

	reset(PT | P | RW | US | PS, FRAME | P | RW | US);
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert(!res.fault);
	cr_assert_eq(res.page_size, 4096);
	cr_assert_eq(res.phys, FRAME | 0x234);
	cr_assert_eq(mem.ram[PDE_AT / 4], PT | P | RW | US | PS | A);
	cr_assert_eq(mem.ram[PTE_AT / 4], FRAME | P | RW | US | A);
}

Test(walk, reserved_bits_in_4m_pde)
{
	struct walk_result res;

	/* Every bit of 21:13 is reserved without PSE-36; bit 12 (PAT) is not. */
	for (int bit = 12; bit <= 22; bit++) {
		uint32_t pde = BIGFRAME | P | RW | US | PS | 1u << bit;
		bool rsvd = bit >= 13 && bit <= 21;

		for (int cpl = 0; cpl <= 3; cpl += 3) {
			struct walk_req r = {
				.cr0 = CR0_PG, .cr3 = PD, .cr4 = CR4_PSE,
				.linear = LINEAR, .access = WALK_WRITE, .cpl = cpl,
			};
			reset(pde, 0);
			cr_assert_eq(walk(&r, &wm, &res), 0);
			cr_assert_eq(res.fault, rsvd, "bit %d", bit);
			if (!rsvd)
				continue;
			cr_assert_eq(res.error, (cpl ? 4u : 0u) | 0xB,
			             "bit %d cpl%d: error %#x", bit, cpl, res.error);
			cr_assert_eq(mem.writes, 0, "bit %d: A/D set on RSVD", bit);
		}
	}
}

Test(walk, reserved_bits_matter_only_when_present_and_big)
{
	struct walk_req r = { .cr0 = CR0_PG, .cr3 = PD, .cr4 = CR4_PSE,
	                      .linear = LINEAR, .access = WALK_READ, .cpl = 3 };
	struct walk_result res;

	reset(BIGFRAME | PS | 0x3FE000, 0);     /* not present: no RSVD */
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert(res.fault);
	cr_assert_eq(res.error, 4);

	r.cr4 = 0;      /* PS ignored: bits 21:13 are page-table address bits */
	reset(0xE000 | P | US | PS, 0);       /* bits 15:13 set */
	mem.ram[(0xE000 + 4 * 1) / 4] = FRAME | P | US;
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert(!res.fault);
	cr_assert_eq(res.phys, FRAME | 0x234);
}

Test(walk, entry_outside_ram)
{
	struct walk_req r = { .cr0 = CR0_PG, .cr3 = 0x100000, .linear = LINEAR,
	                      .access = WALK_WRITE, .cpl = 0 };
	struct walk_result res;

	reset(0, 0);
	cr_assert_eq(walk(&r, &wm, &res), -1, "page directory outside RAM");

	r.cr3 = PD;
	reset(0x200000 | P | RW, 0);
	cr_assert_eq(walk(&r, &wm, &res), -1, "page table outside RAM");
	cr_assert_eq(mem.writes, 0, "memory written before a failed walk");
	cr_assert_eq(mem.ram[PDE_AT / 4], 0x200000 | P | RW);

	/* The last entry of RAM is still in it. */
	r.cr3 = RAM_SIZE - 0x1000;
	r.linear = 0xFFC00000;
	memset(&mem, 0, sizeof mem);
	mem.ram[RAM_SIZE / 4 - 1] = BIGFRAME | P | RW | PS;
	r.cr4 = CR4_PSE;
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert(!res.fault);
	cr_assert_eq(res.phys, BIGFRAME);
}

Test(walk, accessed_dirty_not_rewritten)
{
	struct walk_req r = { .cr0 = CR0_PG, .cr3 = PD, .linear = LINEAR,
	                      .access = WALK_WRITE, .cpl = 3 };
	struct walk_result res;

	reset(PT | P | RW | US, FRAME | P | RW | US);
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert_eq(mem.writes, 2);
	cr_assert_eq(mem.wlog[0], PDE_AT);
	cr_assert_eq(mem.wlog[1], PTE_AT);
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert_eq(mem.writes, 2, "A/D rewritten when already set");
	r.access = WALK_READ;
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert_eq(mem.writes, 2);

	/* A read of a clean page sets A only; a later write adds D. */
	reset(PT | P | RW | US | A, FRAME | P | RW | US);
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert_eq(mem.writes, 1);
	cr_assert_eq(mem.ram[PTE_AT / 4], FRAME | P | RW | US | A);
	r.access = WALK_WRITE;
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert_eq(mem.writes, 2);
	cr_assert_eq(mem.ram[PTE_AT / 4], FRAME | P | RW | US | A | D);
}

Test(walk, pde_d_and_g_ignored_for_4k)
{
	/* D and G of a PDE that points to a page table are ignored. */
	struct walk_req r = { .cr0 = CR0_PG, .cr3 = PD, .cr4 = CR4_PGE,
	                      .linear = LINEAR, .access = WALK_WRITE, .cpl = 0 };
	struct walk_result res;

	reset(PT | P | RW | G, FRAME | P | RW);
	cr_assert_eq(walk(&r, &wm, &res), 0);
	cr_assert(!res.fault);
	cr_assert(!res.global);
	cr_assert_eq(mem.ram[PDE_AT / 4], PT | P | RW | G | A);
	cr_assert_eq(mem.ram[PTE_AT / 4], FRAME | P | RW | A | D);
}
