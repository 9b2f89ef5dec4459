/*
 * paging.c — the access-rights test of 32-bit paging, in the spirit of
 * kvm-unit-tests x86/access.c: for every combination of page-directory and
 * page-table entry bits, access kind, CPL and CR0.WP the guest works out
 * the architectural outcome itself (SDM vol. 3A §4.3 translation, §4.6
 * access rights, §4.7 #PF error code, §4.8 accessed and dirty flags),
 * makes the access, and compares: fault or not, error code, CR2, faulting
 * EIP, the data seen or written, and the PDE and PTE afterwards.
 *
 * Groups (one PASS line each, "PASS: access-4k-cpl3-wp1 (6144
 * combinations)"; each failing combination also gets a FAIL line with its
 * details, at most MAX_REPORTS per group):
 *   access-4k-*         PDE {P, R/W, U/S, A} x PTE {P, R/W, U/S, A, D, G}
 *   access-4m-*         4 MiB PDE (CR4.PSE=1, PS=1) {P, R/W, U/S, A, D, G}
 *   access-ps-ignored-* CR4.PSE=0: PS=1 in a PDE is ignored, the PDE
 *                       still points to a page table (§4.3, table 4-5)
 * each x {read, write, fetch} x {once, after a supervisor read of the
 * same address ("twice": a translation may already be cached)}, for CPL 0
 * and 3 and CR0.WP 0 and 1.  CR4.PGE is on, so G marks global entries.
 *
 * Rules encoded (no NX, SMEP, SMAP, PKE: popek's CPU has none of them):
 *   - not present anywhere on the walk: #PF, error P=0;
 *   - CPL 3 needs U/S=1 in the PDE and the PTE; a CPL 3 write needs R/W=1
 *     in both; a CPL 0 write needs R/W=1 in both only when CR0.WP=1;
 *     fetches need what reads need.  Error code P=1, W for writes, U at
 *     CPL 3, never I/D (bit 4 needs NX or SMEP);
 *   - CR2 = the linear address accessed (the fetched instruction's for a
 *     fetch); the saved EIP is that of the faulting instruction;
 *   - a successful access sets A in every entry used and D in the final
 *     one (the PTE, or the 4 MiB PDE) for a write; nothing else changes,
 *     D in a PDE that points to a page table included (bit 6 is ignored
 *     there);
 *   - a faulting access sets neither A nor D in the final entry (QEMU and
 *     hardware, as kvm-unit-tests checks: a fault makes no translation);
 *   - a present PDE that points to a page table gets A as soon as the walk
 *     reads the PTE through it, even when the PTE is not present or the
 *     rights then deny the access.  §4.8 sets A in every entry the
 *     processor "uses as part of linear-address translation" and does not
 *     single out faults; QEMU does this (and so does popek's walker,
 *     shadowpt/walk.c).  kvm-unit-tests, written against several CPUs,
 *     accepts either here; this test follows the SDM's words and QEMU.
 * Not covered: reserved bits (PSE-36 makes bits 13-21 of a 4 MiB PDE
 * address bits on QEMU's CPU but reserved on popek's), PAT, PCD/PWT.
 *
 * Memory (all below 8 MiB, so `-m 16` suffices): the kernel and its page
 * tables are identity-mapped (0-8 MiB, 4 KiB pages, user-accessible so
 * that CPL 3 code can run anywhere); test pages have int $0x80 at offset 0
 * (what a fetch runs) and a data word at DATA_OFF.  Every combination gets
 * a linear address of its own within its group, its entries rewritten,
 * and an INVLPG before the access, so no translation cached by an earlier
 * combination can interfere.
 */
#include "lib.h"
#include "pm.h"

enum access { ACC_READ, ACC_WRITE, ACC_FETCH, ACC_N };
enum kind { K_4K, K_4M, K_PS_IGNORED };

#define DATA_OFF 0x800u
#define BIG_FRAME 0x400000u     /* the 4 MiB test page: phys 4..8 MiB */
#define RAM_NEEDED (8u << 20)
#define PDE_4M_BASE 64          /* 4 MiB combinations: PDEs 64..447 */
#define PDE_4K_BASE 512         /* 4 KiB: PDEs 512..527, one PT each */
#define PDE_4K_N 16
#define VARIANTS (ACC_N * 2)    /* access x twice */
#define MAX_REPORTS 8
#define INT80 0x80CD            /* int $0x80, little-endian */

static volatile uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_ident[2][1024] __attribute__((aligned(4096)));
static volatile uint32_t pt_test[PDE_4K_N][1024] __attribute__((aligned(4096)));
static volatile uint8_t frame4k[4096] __attribute__((aligned(4096)));
static uint8_t ustack[4096] __attribute__((aligned(16)));

static const char *const access_name[ACC_N] = { "read", "write", "fetch" };
static const char *const kind_name[] = { "4k", "4m", "ps-ignored" };

/* --- traps ---------------------------------------------------------------- */

/* What the last access ran into; reset before each one. */
static volatile struct {
	bool pf, gate;
	uint32_t err, cr2, eip, cpl;  /* of the #PF */
	uint32_t gate_eip;            /* of the int $0x80 */
	uint32_t value;               /* a read's result: CPL 3 passes it
	                               * in EAX to int $0x80 */
} seen;
static volatile uint32_t k_resume;    /* where CPL 0 continues after either */

static void trap(struct pm_frame *f)
{
	if (f->vector == VEC_PF) {
		seen.pf = true;
		seen.err = f->err;
		seen.cr2 = read_cr2();
		seen.eip = f->eip;
		seen.cpl = f->cs & 3;
	} else if (f->vector == VEC_SYSCALL) {
		seen.gate = true;
		seen.gate_eip = f->eip;
		seen.value = f->eax;
	} else {
		pm_unexpected(f);
	}
	if ((f->cs & 3) == 3)
		pm_user_leave();
	f->eip = k_resume;
}

/* CPL 3 halves of a read and a write: ESI = address, EAX = value. */
extern char user_read[], user_write[];
__asm__(".pushsection .text\n"
	"user_read:\n"
	"	movl (%esi), %eax\n"
	"	int $0x80\n"
	"user_write:\n"
	"	movl %eax, (%esi)\n"
	"	int $0x80\n"
	".popsection\n");

/* The access itself; returns the EIP a fault must report. */
static uint32_t k_read(uint32_t a)
{
	uint32_t at, v = 0;

	__asm__ volatile("movl $1f, %[res]\n\t"
	                 "movl $2f, %[at]\n"
	                 "2:\tmovl (%[a]), %[v]\n"
	                 "1:"
	                 : [v] "+r"(v), [res] "=m"(k_resume), [at] "=m"(at)
	                 : [a] "r"(a) : "memory");
	seen.value = v;
	return at;
}

static uint32_t k_write(uint32_t a, uint32_t v)
{
	uint32_t at;

	__asm__ volatile("movl $1f, %[res]\n\t"
	                 "movl $2f, %[at]\n"
	                 "2:\tmovl %[v], (%[a])\n"
	                 "1:"
	                 : [res] "=m"(k_resume), [at] "=m"(at)
	                 : [a] "r"(a), [v] "r"(v) : "memory");
	return at;
}

static uint32_t k_fetch(uint32_t a)
{
	__asm__ volatile("movl $1f, %[res]\n\t"
	                 "jmp *%[a]\n"
	                 "1:"
	                 : [res] "=m"(k_resume) : [a] "r"(a) : "memory");
	return a;
}

static uint32_t access(enum access acc, int cpl, uint32_t page, uint32_t v)
{
	uint32_t top = (uint32_t)(ustack + sizeof(ustack));

	memset((void *)&seen, 0, sizeof(seen));
	if (cpl == 0 && acc == ACC_READ)
		return k_read(page + DATA_OFF);
	if (cpl == 0 && acc == ACC_WRITE)
		return k_write(page + DATA_OFF, v);
	if (cpl == 0)
		return k_fetch(page);
	if (acc == ACC_READ) {
		pm_user_run((uint32_t)user_read, top, 0, page + DATA_OFF);
		return (uint32_t)user_read;
	}
	if (acc == ACC_WRITE) {
		pm_user_run((uint32_t)user_write, top, v, page + DATA_OFF);
		return (uint32_t)user_write;
	}
	pm_user_run(page, top, 0, 0);
	return page;
}

/* --- the architectural model ---------------------------------------------- */

/* The entries as they should be. */
struct model {
	uint32_t pde, pte;
	bool big;               /* the PDE maps a 4 MiB page itself */
};

/* One access against m (updated as the processor updates the entries);
 * returns the #PF error code, or -1 for no fault. */
static int32_t model_access(struct model *m, enum access acc, int cpl, bool wp)
{
	uint32_t err = (acc == ACC_WRITE ? PF_W : 0) | (cpl == 3 ? PF_U : 0);
	uint32_t rights, dirty = acc == ACC_WRITE ? PG_D : 0;

	if (!(m->pde & PG_P))
		return (int32_t)err;
	if (m->big) {
		rights = m->pde;
	} else {
		m->pde |= PG_A;         /* fault or not: see the header */
		if (!(m->pte & PG_P))
			return (int32_t)err;
		rights = m->pde & m->pte;
	}
	if (cpl == 3 && !(rights & PG_US))
		return (int32_t)(err | PF_P);
	if (acc == ACC_WRITE && !(rights & PG_RW) && (cpl == 3 || wp))
		return (int32_t)(err | PF_P);
	if (m->big)
		m->pde |= PG_A | dirty;
	else
		m->pte |= PG_A | dirty;
	return -1;
}

/* --- one combination ------------------------------------------------------ */

struct combo {
	enum kind kind;
	int cpl;
	bool wp, twice;
	enum access acc;
	uint32_t pde, pte;              /* initial entries */
	uint32_t page;                  /* linear address of the test page */
	volatile uint32_t *pdep, *ptep; /* ptep NULL for a 4 MiB page */
	volatile uint32_t *data;        /* the data word, identity-mapped */
};

struct group {
	char name[64];
	unsigned combos, failed;
};

static uint32_t unique = 0x10000;

/* Print one combination's FAIL line (the first MAX_REPORTS of a group). */
static void report(struct group *g, const struct combo *c, int32_t want_err,
                   const struct model *m, const char *what, uint32_t got,
                   uint32_t want)
{
	if (g->failed++ >= MAX_REPORTS)
		return;
	printf("FAIL: %s: page 0x%x pde 0x%x pte 0x%x %s%s: %s 0x%x, want 0x%x "
	       "(want %s 0x%x; pde now 0x%x want 0x%x; pte now 0x%x "
	       "want 0x%x; #PF %u err 0x%x cr2 0x%x eip 0x%x; "
	       "int80 %u eip 0x%x)\n",
	       g->name, c->page, c->pde, c->pte, access_name[c->acc],
	       c->twice ? " twice" : "", what, got, want,
	       want_err < 0 ? "no fault" : "fault err", (uint32_t)want_err,
	       *c->pdep, m->pde, c->ptep ? *c->ptep : 0,
	       m->pte, seen.pf, seen.err, seen.cr2, seen.eip, seen.gate,
	       seen.gate_eip);
}

/* Did the access do what the model says?  Reports the first difference. */
static bool judge(struct group *g, const struct combo *c, int32_t want_err,
                  const struct model *m, uint32_t fault_eip, uint32_t marker,
                  uint32_t written)
{
	bool fault = want_err >= 0;
	uint32_t cr2 = c->page + (c->acc == ACC_FETCH ? 0 : DATA_OFF);
	uint32_t data_want = !fault && c->acc == ACC_WRITE ? written : marker;
	/* CPL 3 code and a fetched page end in int $0x80; CPL 0 data
	 * accesses just go on. */
	bool gate = !fault && (c->cpl == 3 || c->acc == ACC_FETCH);

	if (seen.pf != fault || seen.gate != gate) {
		report(g, c, want_err, m, "faulted", seen.pf, fault);
		return false;
	}
	if (fault && seen.err != (uint32_t)want_err) {
		report(g, c, want_err, m, "error code", seen.err, want_err);
		return false;
	}
	if (fault && seen.cr2 != cr2) {
		report(g, c, want_err, m, "cr2", seen.cr2, cr2);
		return false;
	}
	if (fault && (seen.eip != fault_eip || seen.cpl != (uint32_t)c->cpl)) {
		report(g, c, want_err, m, "fault eip", seen.eip, fault_eip);
		return false;
	}
	if (!fault && c->acc == ACC_READ && seen.value != marker) {
		report(g, c, want_err, m, "value read", seen.value, marker);
		return false;
	}
	if (!fault && c->acc == ACC_FETCH && seen.gate_eip != c->page + 2) {
		report(g, c, want_err, m, "int80 eip", seen.gate_eip,
		       c->page + 2);
		return false;
	}
	if (*c->data != data_want) {
		report(g, c, want_err, m, "data word", *c->data, data_want);
		return false;
	}
	if (*c->pdep != m->pde) {
		report(g, c, want_err, m, "pde", *c->pdep, m->pde);
		return false;
	}
	if (c->ptep && *c->ptep != m->pte) {
		report(g, c, want_err, m, "pte", *c->ptep, m->pte);
		return false;
	}
	return true;
}

static void run_combo(struct group *g, const struct combo *c)
{
	struct model m = { .pde = c->pde, .pte = c->pte,
	                   .big = c->kind == K_4M };
	uint32_t marker = ++unique, written = ~marker, fault_eip;
	int32_t want_err;

	*c->pdep = c->pde;
	if (c->ptep)
		*c->ptep = c->pte;
	*c->data = marker;
	invlpg(c->page);
	g->combos++;
	if (c->twice) {
		want_err = model_access(&m, ACC_READ, 0, c->wp);
		fault_eip = access(ACC_READ, 0, c->page, 0);
		if (seen.pf != (want_err >= 0) ||
		    (want_err < 0 && seen.value != marker)) {
			report(g, c, want_err, &m, "first read faulted",
			       seen.pf, want_err >= 0);
			return;
		}
	}
	want_err = model_access(&m, c->acc, c->cpl, c->wp);
	fault_eip = access(c->acc, c->cpl, c->page, written);
	judge(g, c, want_err, &m, fault_eip, marker, written);
}

/* --- groups --------------------------------------------------------------- */

/* Entry bits of a combination index: bit i of idx selects entry_bits[i]. */
static const uint32_t entry_bits[] = { PG_P, PG_RW, PG_US, PG_A, PG_D, PG_G };

static uint32_t bits_of(unsigned idx, unsigned nbits)
{
	uint32_t e = 0;

	for (unsigned i = 0; i < nbits; i++)
		if (idx & (1u << i))
			e |= entry_bits[i];
	return e;
}

static char *append(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	*p = '\0';
	return p;
}

static char *append_uint(char *p, unsigned v)
{
	char digits[12];
	int n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = digits[--n];
	*p = '\0';
	return p;
}

static void clear_test_entries(void)
{
	for (unsigned i = PDE_4M_BASE; i < PDE_4K_BASE + PDE_4K_N; i++)
		pd[i] = 0;
	for (unsigned t = 0; t < PDE_4K_N; t++)
		for (unsigned i = 0; i < 1024; i++)
			pt_test[t][i] = 0;
}

/* The 4 MiB combinations of one variant (access, twice): one PDE each. */
static void run_4m(struct group *g, struct combo *c, unsigned variant)
{
	for (unsigned i = 0; i < 64; i++) {
		unsigned pdi = PDE_4M_BASE + variant * 64 + i;

		c->pde = BIG_FRAME | PG_PS | bits_of(i, 6);
		c->pte = 0;
		c->page = pdi << 22;
		c->pdep = &pd[pdi];
		c->ptep = NULL;
		c->data = (volatile uint32_t *)(BIG_FRAME + DATA_OFF);
		run_combo(g, c);
	}
}

/* The 4 KiB combinations of one variant: a PDE per PDE value, and in its
 * page table a PTE per PTE value and variant. */
static void run_4k(struct group *g, struct combo *c, unsigned variant)
{
	uint32_t ps = c->kind == K_PS_IGNORED ? PG_PS : 0;

	for (unsigned pdi = 0; pdi < PDE_4K_N; pdi++) {
		for (unsigned pti = 0; pti < 64; pti++) {
			unsigned pte_index = variant * 64 + pti;

			c->pde = (uint32_t)pt_test[pdi] | ps | bits_of(pdi, 4);
			c->pte = (uint32_t)frame4k | bits_of(pti, 6);
			c->page = (PDE_4K_BASE + pdi) << 22 | pte_index << 12;
			c->pdep = &pd[PDE_4K_BASE + pdi];
			c->ptep = &pt_test[pdi][pte_index];
			c->data = (volatile uint32_t *)(frame4k + DATA_OFF);
			run_combo(g, c);
		}
	}
}

static void run_group(enum kind kind, int cpl, bool wp)
{
	struct group g = { .combos = 0 };
	struct combo c = { .kind = kind, .cpl = cpl, .wp = wp };
	char *p = g.name;

	p = append(p, "access-");
	p = append(p, kind_name[kind]);
	p = append(p, cpl ? "-cpl3" : "-cpl0");
	p = append(p, wp ? "-wp1" : "-wp0");
	clear_test_entries();
	write_cr0(wp ? read_cr0() | CR0_WP : read_cr0() & ~CR0_WP);
	for (unsigned v = 0; v < VARIANTS; v++) {
		c.acc = v / 2;
		c.twice = v % 2;
		if (kind == K_4M)
			run_4m(&g, &c, v);
		else
			run_4k(&g, &c, v);
	}
	if (g.failed > MAX_REPORTS)
		printf("FAIL: %s: %u more failing combinations not shown\n",
		       g.name, g.failed - MAX_REPORTS);
	p = append(p, " (");
	p = append_uint(p, g.combos);
	append(p, " combinations)");
	check(g.failed == 0, g.name);
}

/* --- setup ---------------------------------------------------------------- */

static volatile uint32_t sentinel = 0x5EA7C0DE;

/* Identity map 0-8 MiB with 4 KiB user pages; CR4.PSE and PGE on. */
static bool enable_paging(void)
{
	for (unsigned t = 0; t < 2; t++) {
		for (unsigned i = 0; i < 1024; i++)
			pt_ident[t][i] = (t * 1024 + i) * PAGE_SIZE | PG_P |
			                 PG_RW | PG_US | PG_A | PG_D;
		pd[t] = (uint32_t)pt_ident[t] | PG_P | PG_RW | PG_US | PG_A;
	}
	write_cr4(read_cr4() | CR4_PSE | CR4_PGE);
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG);
	return (read_cr0() & CR0_PG) && read_cr3() == (uint32_t)pd &&
	       sentinel == 0x5EA7C0DE;
}

int guest_main(void)
{
	uint32_t edx = cpuid_edx(1);
	static const enum kind kinds[] = { K_4K, K_4M, K_PS_IGNORED };

	pm_init(trap);
	if (!check((edx & CPUID_PSE) && (edx & CPUID_PGE), "cpu-has-pse-pge") ||
	    !check(pm_ram_end() >= RAM_NEEDED, "ram-covers-8mib"))
		return finish();
	if (!check(enable_paging(), "paging-enabled-identity"))
		return finish();
	*(volatile uint16_t *)frame4k = INT80;
	*(volatile uint16_t *)BIG_FRAME = INT80;
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (kinds[k] == K_PS_IGNORED)
			write_cr4(read_cr4() & ~CR4_PSE);
		for (int cpl = 0; cpl <= 3; cpl += 3)
			for (int wp = 0; wp <= 1; wp++)
				run_group(kinds[k], cpl, wp);
	}
	return finish();
}
