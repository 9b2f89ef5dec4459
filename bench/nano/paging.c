/*
 * paging.c — bench guest: guest paging operations (issue 4), which popek
 * runs on shadow page tables, each timed from inside the guest with
 * `lfence; rdtsc` around one operation, N times; prints, like nano.c,
 *
 *     nano <op> <median TSC ticks>
 *
 *   pgfault    a CPL 0 load from a page whose PTE is not present: #PF to
 *              the guest's handler, which drops the error code, steps over
 *              the 2-byte load and IRETs (nothing gets mapped: the bare
 *              round trip, the #PF twin of nano's divzero)
 *   pgfix      the same load with a demand-paging handler: it reads CR2,
 *              sets P in that page's PTE, INVLPGs the page and IRETs; the
 *              load is retried and reads the page.  Between samples
 *              (untimed) P is cleared again and the page INVLPGed.
 *     .enter     from before the load to the handler's first instruction
 *     .fixup     the handler's CR2 read, PTE write and INVLPG
 *     .resume    from before the IRET to the end of the retried load
 *   ptemod     a PTE write pointing a present page at another frame,
 *              INVLPG, and a load from that page
 *     .inv       the PTE write and the INVLPG
 *     .touch     the load (through the new translation)
 *   ptewrite   ptemod without the INVLPG: only with coherent=1, for popek
 *              --shadow=traced (elsewhere the load may read the old frame,
 *              which the architecture allows, and the check stops the VM)
 *     .write     the PTE write
 *     .touch     the load
 *   cr3switch  per switch: MOV to CR3 of the other of two address spaces,
 *              then one load from each of its 64 pages (4 KiB, not global;
 *              the kernel's identity map is global, as Linux's is)
 *     .load      the MOV to CR3
 *     .touch     the 64 loads
 *   touch64    the same 64 loads with no switch (translations all cached)
 *
 * Every load checks what it read (a page's first word is its marker); a
 * wrong value ends the VM with status 3 after one line.  pgfix and ptemod
 * alternate between two pages: popek's progress check (vmm/exits.c,
 * no_progress) stops a guest whose one instruction takes a shadow miss at
 * the same address nine times in a row, INVLPGs in between or not.
 *
 * Command line: n=N samples (default 5000); op=NAME runs one operation
 * (pgfault, pgfix, ptemod, ptewrite, cr3switch, touch64) or none (set-up
 * only: the baseline of bench/nano/run's counting pass); coherent=1 adds
 * ptewrite to the run of all of them.  Memory: 0-8 MiB identity
 * mapped with global 4 KiB pages; the test pages at 1 GiB.
 */
#include "kit.h"
#include "pm.h"

#define MAX_N     20000
#define IDENT_END (8u << 20)
#define REGION    0x40000000u             /* PDE 256 */
#define WS        64                      /* cr3switch working set, pages */
#define PG_FAULT  (REGION + 64 * PAGE_SIZE)
#define PG_FIX(k) (REGION + (66 + (k)) * PAGE_SIZE)
#define PG_MOD(k) (REGION + (68 + (k)) * PAGE_SIZE)
#define PTE_RW    (PG_RW | PG_A | PG_D)   /* + PG_P: present */
#define PD_INDEX(a) ((a) >> 22)
#define PT_INDEX(a) (((a) >> 12) & 1023)

#define MARK_A(p)   (0xA000u + (p))
#define MARK_B(p)   (0xB000u + (p))
#define MARK_FIX(k) (0xF100u + (k))
#define MARK_MOD(f) (0x3D00u + (f))

typedef uint32_t frame_t[1024] __attribute__((aligned(4096)));

static frame_t pd_a, pd_b, pt_ident[2], pt_b;
frame_t bench_pt_a;                       /* pf_fix writes it */
static frame_t ws_a[WS], ws_b[WS], fix_frame[2], mod_frame[2];

static uint32_t samples[4][MAX_N];
static int n;
volatile uint32_t pf_t_enter, pf_t_fixed;

void pf_skip(void), pf_fix(void);
__asm__(
	".globl pf_skip, pf_fix\n"
	"pf_skip:\n\t"
	"addl $4, %esp\n\t"          /* the error code */
	"addl $2, (%esp)\n\t"        /* past the 2-byte load */
	"iret\n"
	"pf_fix:\n\t"
	"pushl %eax\n\t" "pushl %ecx\n\t" "pushl %edx\n\t"
	"lfence\n\t" "rdtsc\n\t" "movl %eax, pf_t_enter\n\t"
	"movl %cr2, %ecx\n\t"
	"movl %ecx, %eax\n\t"
	"shrl $12, %eax\n\t"
	"andl $1023, %eax\n\t"
	"orl $1, bench_pt_a(,%eax,4)\n\t"    /* P */
	"invlpg (%ecx)\n\t"
	"lfence\n\t" "rdtsc\n\t" "movl %eax, pf_t_fixed\n\t"
	"popl %edx\n\t" "popl %ecx\n\t" "popl %eax\n\t"
	"addl $4, %esp\n\t"
	"iret\n");

/* One load of the word at a, as the 2 bytes 8b 00 (movl (%eax), %eax)
 * that pf_skip steps over: returns a itself when it was skipped. */
static inline uint32_t load2(uint32_t a)
{
	__asm__ volatile(".byte 0x8b, 0x00" : "+a"(a) : : "memory");
	return a;
}

static void expect(const char *op, uint32_t got, uint32_t want)
{
	if (got == want)
		return;
	printf("bench/nano/paging: %s read 0x%x, expected 0x%x\n", op, got, want);
	exit_guest(3);
}

static uint32_t frame(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

/* The identity map must hold the whole image: its largest objects. */
static bool image_mapped(void)
{
	const void *end[] = { ws_a + WS, ws_b + WS, samples + 4, pd_b + 1,
	                      fix_frame + 2, mod_frame + 2 };

	for (unsigned i = 0; i < sizeof(end) / sizeof(end[0]); i++)
		if (frame(end[i]) > IDENT_END)
			return false;
	return true;
}

static bool setup_paging(void)
{
	if ((cpuid_edx(1) & CPUID_PGE) == 0 || !image_mapped()) {
		printf("bench/nano/paging: needs CPUID.PGE and an image below "
		       "8 MiB\n");
		return false;
	}
	for (uint32_t i = 0; i < 2048; i++)
		pt_ident[i / 1024][i % 1024] = i * PAGE_SIZE | PG_P | PTE_RW | PG_G;
	for (int t = 0; t < 2; t++)
		pd_a[t] = pd_b[t] = frame(pt_ident[t]) | PG_P | PG_RW | PG_A;
	pd_a[PD_INDEX(REGION)] = frame(bench_pt_a) | PG_P | PG_RW | PG_A;
	pd_b[PD_INDEX(REGION)] = frame(pt_b) | PG_P | PG_RW | PG_A;
	for (uint32_t p = 0; p < WS; p++) {
		ws_a[p][0] = MARK_A(p);
		ws_b[p][0] = MARK_B(p);
		bench_pt_a[p] = frame(ws_a[p]) | PG_P | PTE_RW;
		pt_b[p] = frame(ws_b[p]) | PG_P | PTE_RW;
	}
	bench_pt_a[PT_INDEX(PG_FAULT)] = 0;
	for (uint32_t k = 0; k < 2; k++) {
		fix_frame[k][0] = MARK_FIX(k);
		mod_frame[k][0] = MARK_MOD(k);
		bench_pt_a[PT_INDEX(PG_FIX(k))] = frame(fix_frame[k]) | PTE_RW;
		bench_pt_a[PT_INDEX(PG_MOD(k))] = frame(mod_frame[k]) | PG_P | PTE_RW;
	}
	write_cr4(read_cr4() | CR4_PGE);
	write_cr3(frame(pd_a));
	write_cr0(read_cr0() | CR0_PG);
	return true;
}

static void report(const char *op, int slot)
{
	printf("nano %s %u\n", op, median_u32(samples[slot], n));
}

static void report_part(const char *op, const char *part, int slot)
{
	printf("nano %s.%s %u\n", op, part, median_u32(samples[slot], n));
}

static void bench_pgfault(void)
{
	kit_gate(VEC_PF, pf_skip, GATE_INT);
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		uint32_t v = load2(PG_FAULT);
		samples[0][i] = kit_tsc() - t0;
		expect("pgfault", v, PG_FAULT);
	}
	report("pgfault", 0);
}

static void bench_pgfix(void)
{
	kit_gate(VEC_PF, pf_fix, GATE_INT);
	for (int i = 0; i < n; i++) {
		uint32_t a = PG_FIX(i & 1);
		uint32_t t0 = kit_tsc();
		uint32_t v = load2(a);
		uint32_t t1 = kit_tsc();
		samples[0][i] = t1 - t0;
		samples[1][i] = pf_t_enter - t0;
		samples[2][i] = pf_t_fixed - pf_t_enter;
		samples[3][i] = t1 - pf_t_fixed;
		expect("pgfix", v, MARK_FIX(i & 1));
		bench_pt_a[PT_INDEX(a)] &= ~PG_P;
		invlpg(a);
	}
	report("pgfix", 0);
	report("pgfix.enter", 1);
	report("pgfix.fixup", 2);
	report("pgfix.resume", 3);
}

/* ptemod, and ptewrite when !inv. */
static void pte_change(const char *op, bool inv)
{
	for (int i = 0; i < n; i++) {
		uint32_t a = PG_MOD(i & 1), f = (uint32_t)(i >> 1) & 1;
		volatile uint32_t *pte = &bench_pt_a[PT_INDEX(a)];
		uint32_t t0 = kit_tsc();
		*pte = frame(mod_frame[f]) | PG_P | PTE_RW;
		if (inv)
			invlpg(a);
		uint32_t t1 = kit_tsc();
		uint32_t v = *(volatile uint32_t *)a;
		uint32_t t2 = kit_tsc();
		samples[0][i] = t2 - t0;
		samples[1][i] = t1 - t0;
		samples[2][i] = t2 - t1;
		expect(op, v, MARK_MOD(f));
	}
	report(op, 0);
	report_part(op, inv ? "inv" : "write", 1);
	report_part(op, "touch", 2);
}

static void bench_ptemod(void)
{
	pte_change("ptemod", true);
}

static void bench_ptewrite(void)
{
	pte_change("ptewrite", false);
}

/* One load from each working-set page; the sum of their markers. */
static uint32_t touch(void)
{
	uint32_t sum = 0;

	for (uint32_t p = 0; p < WS; p++)
		sum += *(volatile uint32_t *)(REGION + p * PAGE_SIZE);
	return sum;
}

#define SUM(mark) (WS * (mark(0)) + WS * (WS - 1) / 2)

static void bench_cr3switch(void)
{
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		write_cr3(frame(pd_b));
		uint32_t t1 = kit_tsc();
		uint32_t sb = touch();
		uint32_t t2 = kit_tsc();
		write_cr3(frame(pd_a));
		uint32_t t3 = kit_tsc();
		uint32_t sa = touch();
		uint32_t t4 = kit_tsc();
		samples[0][i] = (t4 - t0) / 2;
		samples[1][i] = (t1 - t0 + t3 - t2) / 2;
		samples[2][i] = (t2 - t1 + t4 - t3) / 2;
		expect("cr3switch", sb, SUM(MARK_B));
		expect("cr3switch", sa, SUM(MARK_A));
	}
	report("cr3switch", 0);
	report("cr3switch.load", 1);
	report("cr3switch.touch", 2);
}

static void bench_touch64(void)
{
	expect("touch64", touch(), SUM(MARK_A));
	for (int i = 0; i < n; i++) {
		uint32_t t0 = kit_tsc();
		uint32_t s = touch();
		samples[0][i] = kit_tsc() - t0;
		expect("touch64", s, SUM(MARK_A));
	}
	report("touch64", 0);
}

static const struct {
	const char *name;
	void (*run)(void);
	bool coherent;            /* in the run of all only with coherent=1 */
} ops[] = {
	{ "pgfault", bench_pgfault, false },
	{ "pgfix", bench_pgfix, false },
	{ "ptemod", bench_ptemod, false },
	{ "ptewrite", bench_ptewrite, true },
	{ "cr3switch", bench_cr3switch, false },
	{ "touch64", bench_touch64, false },
};
#define NOPS (int)(sizeof(ops) / sizeof(ops[0]))

int guest_main(void)
{
	static char opbuf[128];   /* cmdline_get's buffer: cmdline_int reuses it */
	const char *op = cmdline_get("op");
	bool known;

	if (op != NULL)
		op = memcpy(opbuf, op, strlen(op) + 1);
	known = op == NULL || strcmp(op, "none") == 0;

	for (int i = 0; i < NOPS && !known; i++)
		known = strcmp(op, ops[i].name) == 0;
	if (!known) {
		printf("bench/nano/paging: unknown op=%s (pgfault pgfix ptemod "
		       "ptewrite cr3switch touch64 none)\n", op);
		return 2;
	}
	n = cmdline_int("n", 5000);
	if (n < 1 || n > MAX_N)
		n = 5000;
	bool coherent = cmdline_int("coherent", 0) == 1;
	kit_tables();
	if (!setup_paging())
		return 2;
	for (int i = 0; i < NOPS; i++)
		if (op == NULL ? !ops[i].coherent || coherent :
		    strcmp(op, ops[i].name) == 0)
			ops[i].run();
	return 0;
}
