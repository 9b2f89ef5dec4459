/*
 * paging-misc.c — 32-bit paging beyond access rights: what an operating
 * system relies on (SDM vol. 3A §4.10 for the TLB rules).
 *
 *   alias-*        one frame at two linear addresses: a write through one
 *                  is read through the other; each PTE gets its own A/D.
 *   cr3-switch-*   four address spaces with different frames at the same
 *                  linear address, switched round-robin by MOV to CR3.
 *   invlpg-*       after a PTE changes, INVLPG makes the new frame, a
 *                  not-present entry or a read-only entry take effect.
 *                  Before the INVLPG either translation may be used
 *                  (§4.10.4.3): the guest prints which, asserts nothing.
 *   global-*       with CR4.PGE: a MOV to CR3 refetches a changed
 *                  non-global PTE; a changed global one may or may not
 *                  survive it (printed, not asserted); toggling CR4.PGE,
 *                  or INVLPG, drops it (§4.10.4.1).
 *   demand-paging-* a #PF handler maps the missing page and returns, at
 *                  CPL 0 and CPL 3.  Without INVLPG: no TLB entry is
 *                  made from a not-present entry (§4.10.4.3), so exactly
 *                  one fault per page is allowed.
 *   cow-*          a write to a read-only page (CR0.WP=1) faults; the
 *                  handler copies the frame and maps the copy writable.
 *                  No INVLPG either: R/W 0->1 may cost at most one more,
 *                  "spurious" fault (§4.10.4.3).
 *   paging-off-*   CR0.PG=0 gives back identity translation; PG=1 again
 *                  brings the page tables back.
 *   coherent-*     only with `coherent=1` (popek --shadow=traced): a PTE
 *                  or PDE change WITHOUT INVLPG is seen at the next access
 *                  (a new frame, not present, read-only, another table).
 *                  The architecture allows either translation there, so
 *                  the guest asserts it only when told the MMU is coherent.
 *   mmio-*, unclaimed-phys-*   only with `mmio=1` on the command line
 *                  (popek; QEMU has nothing there): popek's test device at
 *                  guest-physical MMIO_TESTDEV (devices/testdev.c) mapped
 *                  through a PTE, MOV of 1, 2 and 4 bytes to its scratch
 *                  registers, its access counter, a read-modify-write; and
 *                  a physical page beyond RAM, which reads all ones and
 *                  drops writes.
 *
 * Memory: 0-8 MiB identity-mapped with 4 KiB user pages (as in paging.c);
 * test mappings live at 0x40000000 and up; every frame is in the image,
 * which stays below 2 MiB, so `-m 16` is enough.  CR0.WP is on throughout.
 */
#include "lib.h"
#include "pm.h"

#define RAM_NEEDED (8u << 20)
#define MMIO_TESTDEV 0xFEB00000u   /* devices/devices.h */
#define TESTDEV_COUNTER 0x10

#define L_BASE   0x40000000u        /* PDE 256 -> pt_misc */
#define L_ALIAS_A (L_BASE + 0x0000)
#define L_ALIAS_B (L_BASE + 0x1000)
#define L_INV    (L_BASE + 0x2000)
#define L_NG     (L_BASE + 0x3000)
#define L_G      (L_BASE + 0x4000)
#define L_COW    (L_BASE + 0x5000)
#define L_MMIO   (L_BASE + 0x6000)
#define L_BEYOND (L_BASE + 0x7000)
#define L_AS     0x40400000u        /* PDE 257 -> pt_as[space] */
#define L_DEMAND 0x40800000u        /* PDE 258 -> pt_demand */
#define NSPACES 4
#define NDEMAND 8
#define PAGED_OFF 0x600000u         /* an identity page remapped for a while */

#define PTE_KERNEL (PG_P | PG_RW)
#define PTE_USER   (PG_P | PG_RW | PG_US)
#define PDE_ALL    (PG_P | PG_RW | PG_US)

typedef uint32_t page_t[1024] __attribute__((aligned(4096)));

static volatile page_t pd, pt_ident[2], pt_misc, pt_demand;
static volatile page_t pd_as[NSPACES], pt_as[NSPACES], frame_as[NSPACES];
static volatile page_t frame_a, frame1, frame2, frame3, frame_x;
static volatile page_t cow_orig, cow_copy, demand_frames[NDEMAND];
static uint8_t ustack[4096] __attribute__((aligned(16)));

static inline volatile uint32_t *pte_of(uint32_t linear)
{
	volatile uint32_t *dir = (volatile uint32_t *)read_cr3();
	volatile uint32_t *table = (volatile uint32_t *)(dir[linear >> 22] &
	                                                 PG_FRAME);

	return &table[(linear >> 12) & 1023];
}

static inline uint32_t rd(uint32_t a)
{
	return *(volatile uint32_t *)a;
}

static inline void wr(uint32_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

/* --- page faults ---------------------------------------------------------- */

enum pf_mode { PF_NONE, PF_CATCH, PF_DEMAND, PF_COW };

static volatile enum pf_mode pf_mode;
static volatile uint32_t pf_count, pf_err, pf_cr2;
static volatile uint32_t k_resume;      /* PF_CATCH resumes CPL 0 here */
static volatile uint32_t user_eax;      /* EAX at the user's int $0x80 */

static uint32_t demand_pattern(unsigned page, unsigned word)
{
	return 0xD0000000u | page << 16 | word;
}

/* Map the demand page holding cr2, filled with its pattern. */
static bool demand_map(uint32_t cr2, uint32_t err)
{
	unsigned i = (cr2 - L_DEMAND) / PAGE_SIZE;

	if (cr2 < L_DEMAND || i >= NDEMAND || (err & PF_P))
		return false;
	for (unsigned w = 0; w < 1024; w++)
		demand_frames[i][w] = demand_pattern(i, w);
	pt_demand[i] = (uint32_t)demand_frames[i] | PTE_USER;
	return true;
}

/* Copy-on-write of the page at L_COW. */
static bool cow_break(uint32_t cr2, uint32_t err)
{
	if ((cr2 & PG_FRAME) != L_COW || err != (PF_P | PF_W))
		return false;
	for (unsigned w = 0; w < 1024; w++)
		cow_copy[w] = cow_orig[w];
	*pte_of(L_COW) = (uint32_t)cow_copy | PTE_KERNEL;
	return true;
}

static void page_fault(struct pm_frame *f)
{
	uint32_t cr2 = read_cr2();
	bool handled = false;

	pf_count++;
	pf_err = f->err;
	pf_cr2 = cr2;
	if (pf_count > 3 * NDEMAND)     /* a fault that comes back forever */
		pm_unexpected(f);
	switch (pf_mode) {
	case PF_CATCH:
		if ((f->cs & 3) == 0) {
			f->eip = k_resume;
			handled = true;
		}
		break;
	case PF_DEMAND:
		handled = demand_map(cr2, f->err);
		break;
	case PF_COW:
		handled = cow_break(cr2, f->err);
		break;
	default:
		break;
	}
	if (!handled)
		pm_unexpected(f);
}

static void trap(struct pm_frame *f)
{
	if (f->vector == VEC_PF) {
		page_fault(f);
	} else if (f->vector == VEC_SYSCALL && (f->cs & 3) == 3) {
		user_eax = f->eax;
		pm_user_leave();
	} else {
		pm_unexpected(f);
	}
}

/* Read a at CPL 0; true if it faulted (pf_err, pf_cr2 then tell). */
static bool faulting_read(uint32_t a, uint32_t *v)
{
	bool faulted;

	pf_mode = PF_CATCH;
	pf_count = 0;
	__asm__ volatile("movl $1f, %[res]\n\t"
	                 "movl (%[a]), %[v]\n"
	                 "1:"
	                 : [v] "=r"(*v), [res] "=m"(k_resume)
	                 : [a] "r"(a), "0"(0) : "memory");
	faulted = pf_count != 0;
	pf_mode = PF_NONE;
	return faulted;
}

static bool faulting_write(uint32_t a, uint32_t v)
{
	bool faulted;

	pf_mode = PF_CATCH;
	pf_count = 0;
	__asm__ volatile("movl $1f, %[res]\n\t"
	                 "movl %[v], (%[a])\n"
	                 "1:"
	                 : [res] "=m"(k_resume)
	                 : [a] "r"(a), [v] "r"(v) : "memory");
	faulted = pf_count != 0;
	pf_mode = PF_NONE;
	return faulted;
}

/* CPL 3: EAX = [ESI], then int $0x80. */
extern char user_read[];
__asm__(".pushsection .text\n"
	"user_read:\n"
	"	movl (%esi), %eax\n"
	"	int $0x80\n"
	".popsection\n");

static uint32_t user_read_word(uint32_t a)
{
	user_eax = 0;
	pm_user_run((uint32_t)user_read, (uint32_t)(ustack + sizeof(ustack)),
	            0, a);
	return user_eax;
}

/* --- setup ---------------------------------------------------------------- */

static volatile uint32_t sentinel = 0x5EA7C0DE;

static void fill(volatile page_t *f, uint32_t v)
{
	for (unsigned w = 0; w < 1024; w++)
		(*f)[w] = v;
}

/* pd and the four address spaces share the identity map (0-8 MiB) and
 * pt_misc; each space has its own page table at L_AS. */
static void build_tables(void)
{
	for (unsigned t = 0; t < 2; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_ident[t][i] = (t * 1024 + i) * PAGE_SIZE | PTE_USER;
		pd[t] = (uint32_t)pt_ident[t] | PDE_ALL;
	}
	pd[L_BASE >> 22] = (uint32_t)pt_misc | PDE_ALL;
	pd[L_DEMAND >> 22] = (uint32_t)pt_demand | PDE_ALL;
	for (unsigned s = 0; s < NSPACES; s++) {
		pd_as[s][0] = pd[0];
		pd_as[s][1] = pd[1];
		pd_as[s][L_BASE >> 22] = pd[L_BASE >> 22];
		pd_as[s][L_AS >> 22] = (uint32_t)pt_as[s] | PDE_ALL;
		pt_as[s][0] = (uint32_t)frame_as[s] | PTE_KERNEL;
		fill(&frame_as[s], 0xA5000000u | s);
	}
	fill(&frame1, 0x11111111);
	fill(&frame2, 0x22222222);
	fill(&frame3, 0x33333333);
}

static bool enable_paging(void)
{
	build_tables();
	write_cr4(read_cr4() | CR4_PGE);
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	return (read_cr0() & CR0_PG) && sentinel == 0x5EA7C0DE;
}

/* --- aliasing and address spaces ------------------------------------------ */

static void test_alias(void)
{
	volatile uint32_t *pa = pte_of(L_ALIAS_A), *pb = pte_of(L_ALIAS_B);
	bool ok;

	*pa = (uint32_t)frame_a | PTE_KERNEL;
	*pb = (uint32_t)frame_a | PTE_KERNEL;
	invlpg(L_ALIAS_A);
	invlpg(L_ALIAS_B);
	wr(L_ALIAS_A + 8, 0xA1A1A1A1);
	ok = rd(L_ALIAS_B + 8) == 0xA1A1A1A1;
	wr(L_ALIAS_B + 12, 0xB2B2B2B2);
	ok &= rd(L_ALIAS_A + 12) == 0xB2B2B2B2 && frame_a[3] == 0xB2B2B2B2;
	check(ok, "alias-write-one-read-other");
	/* Fresh entries: write through A only, read through B. */
	*pa = (uint32_t)frame_a | PTE_KERNEL;
	*pb = (uint32_t)frame_a | PTE_KERNEL;
	invlpg(L_ALIAS_A);
	invlpg(L_ALIAS_B);
	wr(L_ALIAS_A + 16, 1);
	(void)rd(L_ALIAS_B + 16);
	if (!check((*pa & (PG_A | PG_D)) == (PG_A | PG_D) &&
	           (*pb & (PG_A | PG_D)) == PG_A, "alias-dirty-per-entry"))
		printf("  pte A 0x%x (want A|D), pte B 0x%x (want A only)\n",
		       *pa, *pb);
}

static void test_cr3_switch(void)
{
	uint32_t bad = 0, cr3 = read_cr3();

	for (unsigned round = 0; round < 3; round++) {
		for (unsigned s = 0; s < NSPACES; s++) {
			write_cr3((uint32_t)pd_as[s]);
			if (rd(L_AS + 4 * round) != (0xA5000000u | s))
				bad++;
			wr(L_AS + 4 * round, 0xC0000000u | round << 8 | s);
			bad += sentinel != 0x5EA7C0DE;
		}
	}
	write_cr3(cr3);
	for (unsigned s = 0; s < NSPACES; s++)
		for (unsigned round = 0; round < 3; round++)
			bad += frame_as[s][round] !=
			       (0xC0000000u | round << 8 | s);
	if (!check(bad == 0, "cr3-switch-4-spaces"))
		printf("  %u wrong words\n", bad);
}

/* --- the TLB: INVLPG, CR3 loads, global pages ----------------------------- */

static void test_invlpg(void)
{
	volatile uint32_t *pte = pte_of(L_INV);
	uint32_t v = 0, before;
	bool faulted;

	*pte = (uint32_t)frame1 | PTE_KERNEL;
	invlpg(L_INV);
	before = rd(L_INV);
	*pte = (uint32_t)frame2 | PTE_KERNEL;
	printf("paging: a changed PTE before INVLPG gave the %s frame "
	       "(either is allowed)\n",
	       rd(L_INV) == 0x11111111 ? "old" : "new");
	invlpg(L_INV);
	check(before == 0x11111111 && rd(L_INV) == 0x22222222,
	      "invlpg-new-frame");

	*pte = 0;
	invlpg(L_INV);
	faulted = faulting_read(L_INV + 0x40, &v);
	check(faulted && pf_err == 0 && pf_cr2 == L_INV + 0x40,
	      "invlpg-unmapped-faults");

	*pte = (uint32_t)frame2 | PTE_KERNEL;
	invlpg(L_INV);
	wr(L_INV + 0x44, 0x22222222);          /* cached writable */
	*pte = (uint32_t)frame2 | PG_P;
	invlpg(L_INV);
	faulted = faulting_write(L_INV + 0x44, 0x12345678);
	check(faulted && pf_err == (PF_P | PF_W) && pf_cr2 == L_INV + 0x44 &&
	      frame2[0x11] == 0x22222222, "invlpg-readonly-write-faults");
}

static void test_global(void)
{
	volatile uint32_t *ng = pte_of(L_NG), *g = pte_of(L_G);
	uint32_t cr4 = read_cr4();

	*ng = (uint32_t)frame1 | PTE_KERNEL;
	*g = (uint32_t)frame1 | PTE_KERNEL | PG_G;
	invlpg(L_NG);
	invlpg(L_G);
	(void)rd(L_NG);
	(void)rd(L_G);
	*ng = (uint32_t)frame2 | PTE_KERNEL;
	*g = (uint32_t)frame2 | PTE_KERNEL | PG_G;
	write_cr3(read_cr3());
	check(rd(L_NG) == 0x22222222, "global-cr3-load-refetches-nonglobal");
	printf("paging: after the CR3 load the changed global PTE gave the %s "
	       "frame (either is allowed)\n",
	       rd(L_G) == 0x11111111 ? "old" : "new");
	write_cr4(cr4 & ~CR4_PGE);
	write_cr4(cr4);
	check(rd(L_G) == 0x22222222, "global-pge-toggle-flushes");
	*g = (uint32_t)frame3 | PTE_KERNEL | PG_G;
	invlpg(L_G);
	check(rd(L_G) == 0x33333333, "global-invlpg-flushes");
}

/* --- fault handlers that fix things up ------------------------------------ */

static void test_demand(void)
{
	unsigned bad = 0, faults;

	for (unsigned i = 0; i < NDEMAND; i++)
		pt_demand[i] = 0;
	write_cr3(read_cr3());
	pf_count = 0;
	pf_mode = PF_DEMAND;
	for (unsigned i = 0; i + 1 < NDEMAND; i++)
		bad += rd(L_DEMAND + i * PAGE_SIZE + 4 * i) !=
		       demand_pattern(i, i);
	for (unsigned i = 0; i + 1 < NDEMAND; i++)
		wr(L_DEMAND + i * PAGE_SIZE + 8, i);
	for (unsigned i = 0; i + 1 < NDEMAND; i++)
		bad += demand_frames[i][2] != i ||
		       (pt_demand[i] & (PG_A | PG_D)) != (PG_A | PG_D);
	faults = pf_count;
	if (!check(bad == 0 && faults == NDEMAND - 1,
	           "demand-paging-maps-on-fault"))
		printf("  %u wrong, %u faults for %u pages\n", bad, faults,
		       NDEMAND - 1);
	/* The last page: first touched by CPL 3. */
	pf_count = 0;
	bad = user_read_word(L_DEMAND + (NDEMAND - 1) * PAGE_SIZE + 12) !=
	      demand_pattern(NDEMAND - 1, 3);
	if (!check(!bad && pf_count == 1 && pf_err == PF_U,
	           "demand-paging-from-cpl3"))
		printf("  read 0x%x, %u faults, error code 0x%x\n", user_eax,
		       pf_count, pf_err);
	pf_mode = PF_NONE;
}

static void test_cow(void)
{
	volatile uint32_t *pte = pte_of(L_COW);
	uint32_t before;

	fill(&cow_orig, 0x0C0C0C0C);
	*pte = (uint32_t)cow_orig | PG_P;       /* read-only, CR0.WP = 1 */
	invlpg(L_COW);
	before = rd(L_COW + 0x20);
	pf_count = 0;
	pf_mode = PF_COW;
	wr(L_COW + 0x20, 0xC0C0C0C0);
	pf_mode = PF_NONE;
	if (!check(before == 0x0C0C0C0C && cow_orig[8] == 0x0C0C0C0C &&
	           cow_copy[8] == 0xC0C0C0C0 && cow_copy[9] == 0x0C0C0C0C &&
	           (pf_count == 1 || pf_count == 2) &&
	           (*pte & PG_D) && rd(L_COW + 0x20) == 0xC0C0C0C0,
	           "cow-write-fault-remaps"))
		printf("  %u faults (1, or 2 with a spurious one), pte 0x%x\n",
		       pf_count, *pte);
}

/* --- paging off and on again ---------------------------------------------- */

static void test_paging_off(void)
{
	volatile uint32_t *pte = pte_of(PAGED_OFF);
	uint32_t cr0 = read_cr0(), paged, flat, again;

	wr(PAGED_OFF, 0x9A9A9A9A);              /* still identity-mapped */
	fill(&frame_x, 0x7E7E7E7E);
	*pte = (uint32_t)frame_x | PTE_USER;
	invlpg(PAGED_OFF);
	paged = rd(PAGED_OFF);
	write_cr0(cr0 & ~CR0_PG);
	flat = rd(PAGED_OFF);
	wr(PAGED_OFF + 4, 0x9B9B9B9B);
	write_cr0(cr0);
	again = rd(PAGED_OFF);
	check(paged == 0x7E7E7E7E && flat == 0x9A9A9A9A &&
	      frame_x[1] == 0x7E7E7E7E, "paging-off-gives-identity");
	check(again == 0x7E7E7E7E && (read_cr0() & CR0_PG), "paging-on-again");
	*pte = PAGED_OFF | PTE_USER;
	invlpg(PAGED_OFF);
	check(rd(PAGED_OFF + 4) == 0x9B9B9B9B, "paging-off-write-went-to-phys");
}

/* --- no INVLPG (coherent=1: popek --shadow=traced) ------------------------- */

static void test_coherent(void)
{
	volatile uint32_t *pte = pte_of(L_INV), *pde = &pd[L_AS >> 22];
	uint32_t v = 0, before;
	bool faulted;

	*pte = (uint32_t)frame1 | PTE_KERNEL;
	invlpg(L_INV);
	before = rd(L_INV);                     /* cached */
	*pte = (uint32_t)frame2 | PTE_KERNEL;
	check(before == 0x11111111 && rd(L_INV) == 0x22222222,
	      "coherent-pte-new-frame");
	*pte = 0;
	faulted = faulting_read(L_INV + 0x40, &v);
	check(faulted && pf_err == 0 && pf_cr2 == L_INV + 0x40,
	      "coherent-pte-unmapped-faults");
	*pte = (uint32_t)frame2 | PTE_KERNEL;
	wr(L_INV + 0x44, 0x22222222);           /* cached writable */
	*pte = (uint32_t)frame2 | PG_P;
	faulted = faulting_write(L_INV + 0x44, 0x12345678);
	check(faulted && pf_err == (PF_P | PF_W) && frame2[0x11] == 0x22222222,
	      "coherent-pte-readonly-write-faults");
	/* The PDE of L_AS in pd: one space's table, then another's. */
	*pde = (uint32_t)pt_as[0] | PDE_ALL;
	invlpg(L_AS);
	before = rd(L_AS);
	*pde = (uint32_t)pt_as[1] | PDE_ALL;
	v = rd(L_AS);
	if (!check(before == frame_as[0][0] && v == frame_as[1][0] &&
	           before != v, "coherent-pde-new-table"))
		printf("  read 0x%x then 0x%x (want 0x%x then 0x%x)\n", before,
		       v, frame_as[0][0], frame_as[1][0]);
	*pde = 0;
	invlpg(L_AS);
}

/* --- MMIO (mmio=1: popek only) -------------------------------------------- */

#define MMIO_RW(bits, type, suffix, reg)                                  \
	static inline type mmio_read##bits(uint32_t a)                    \
	{                                                                 \
		type v;                                                   \
		__asm__ volatile("mov" suffix " (%1), %0"                 \
		                 : "=" reg(v) : "r"(a) : "memory");       \
		return v;                                                 \
	}                                                                 \
	static inline void mmio_write##bits(uint32_t a, type v)           \
	{                                                                 \
		__asm__ volatile("mov" suffix " %0, (%1)"                 \
		                 : : reg(v), "r"(a) : "memory");          \
	}
MMIO_RW(8, uint8_t, "b", "q")
MMIO_RW(16, uint16_t, "w", "r")
MMIO_RW(32, uint32_t, "l", "r")

static void test_mmio(void)
{
	uint32_t m = L_MMIO, c0, c1, beyond, r[7];
	bool ok;

	*pte_of(L_MMIO) = MMIO_TESTDEV | PTE_KERNEL | PG_PCD | PG_PWT;
	invlpg(L_MMIO);
	/* Twelve accesses to the scratch registers, each one counted. */
	c0 = mmio_read32(m + TESTDEV_COUNTER);
	mmio_write32(m + 0x0, 0x44332211);
	r[0] = mmio_read32(m + 0x0);
	r[1] = mmio_read8(m + 0x2);
	mmio_write8(m + 0x5, 0xAB);
	mmio_write8(m + 0x4, 0xCD);
	r[2] = mmio_read16(m + 0x4);
	mmio_write16(m + 0x8, 0xBEEF);
	r[3] = mmio_read8(m + 0x9);
	r[4] = mmio_read16(m + 0x8);
	mmio_write32(m + 0xC, 0xCAFEF00D);
	r[5] = mmio_read32(m + 0xC);
	r[6] = mmio_read32(m + 0x4);        /* bytes 6 and 7 never written */
	c1 = mmio_read32(m + TESTDEV_COUNTER);
	if (!check(r[0] == 0x44332211 && r[1] == 0x33 && r[2] == 0xABCD &&
	           r[3] == 0xBE && r[4] == 0xBEEF && r[5] == 0xCAFEF00D &&
	           r[6] == 0xABCD, "mmio-scratch-mov-1-2-4-bytes"))
		printf("  read 0x%x 0x%x 0x%x 0x%x 0x%x 0x%x 0x%x\n", r[0],
		       r[1], r[2], r[3], r[4], r[5], r[6]);
	if (!check(c1 - c0 == 12, "mmio-access-counter"))
		printf("  counter went from %u to %u, want +12\n", c0, c1);
	mmio_write32(m + TESTDEV_COUNTER, 0);
	check(mmio_read32(m + TESTDEV_COUNTER) == c1, "mmio-counter-read-only");
	/* ADD to memory: one read and one write on the bus. */
	__asm__ volatile("addl $0x01010101, (%0)" : : "r"(m) : "memory", "cc");
	r[0] = mmio_read32(m);
	r[1] = mmio_read32(m + TESTDEV_COUNTER);
	if (!check(r[0] == 0x45342312 && r[1] == c1 + 3,
	           "mmio-read-modify-write"))
		printf("  read 0x%x, counter %u (want 0x45342312, %u)\n", r[0],
		       r[1], c1 + 3);

	/* 16 MiB past the end of RAM: no device claims it. */
	beyond = (pm_ram_end() + (16u << 20)) & PG_FRAME;
	*pte_of(L_BEYOND) = beyond | PTE_KERNEL | PG_PCD | PG_PWT;
	invlpg(L_BEYOND);
	ok = mmio_read32(L_BEYOND + 0x10) == 0xFFFFFFFF;
	mmio_write32(L_BEYOND + 0x10, 0x12345678);
	ok &= mmio_read32(L_BEYOND + 0x10) == 0xFFFFFFFF;
	ok &= mmio_read8(L_BEYOND + 0x13) == 0xFF;
	if (!check(ok, "unclaimed-phys-reads-ones-drops-writes"))
		printf("  at physical 0x%x\n", beyond + 0x10);
}

int guest_main(void)
{
	uint32_t edx = cpuid_edx(1);

	pm_init(trap);
	if (!check(edx & CPUID_PGE, "cpu-has-pge") ||
	    !check(pm_ram_end() >= RAM_NEEDED, "ram-covers-8mib") ||
	    !check(enable_paging(), "paging-enabled-identity"))
		return finish();
	test_alias();
	test_cr3_switch();
	test_invlpg();
	test_global();
	test_demand();
	test_cow();
	test_paging_off();
	if (cmdline_int("mmio", 0) == 1)
		test_mmio();
	else
		puts("paging: mmio checks skipped "
		     "(mmio=1 runs them; popek only)\n");
	if (cmdline_int("coherent", 0) == 1)
		test_coherent();
	return finish();
}
