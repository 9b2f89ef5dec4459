/*
 * test_shadow.c — unit tests of the shadow MMU (shadowpt/shadow.c),
 * driven for real in the test process.
 *
 * Each test (criterion runs each in its own process) reserves the host's
 * low 4 GiB with window_reserve, creates 16 MiB of guest RAM, writes 2-level
 * guest page tables straight into the host view of it, and calls the
 * shadow MMU.  What it did is read back from the host: /proc/self/maps
 * (is the linear page a mapping of the RAM memfd, at which offset, with
 * which rights), /proc/self/smaps (ProtectionKey), the guest tables (A/D
 * bits), the memory at the linear address itself (each guest frame holds
 * a marker naming it), and probes that touch a page under a SIGSEGV
 * handler.  The `pku` suite needs a host with protection keys and skips
 * elsewhere; run it under scripts/tcg-host on such a machine.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shadowpt/shadow.h"
#include "vmm/vm.h"
#include "vmm/window.h"

#define P   0x001u
#define RW  0x002u
#define US  0x004u
#define A   0x020u
#define D   0x040u
#define PS  0x080u
#define G   0x100u

#define CR0_PE  0x00000001u
#define CR0_WP  0x00010000u
#define CR0_PG  0x80000000u
#define CR4_PSE 0x10u
#define CR4_PGE 0x80u

#define HOST_W     0x02u        /* host #PF error code: write */
#define HOST_FETCH 0x10u        /* host #PF error code: instruction fetch */

#define RAM_MIB   16
#define PD        0x1000u       /* CR3 */
#define PT_FIRST  0x2000u       /* page tables are handed out from here */
#define FRAMES    0x100000u     /* frames from here up hold markers */

static struct guest_ram ram = { .fd = -1 };
static uint64_t low;
static uint64_t ctr[CTR_MAX];
static struct shadow *sh;
static uint32_t next_pt;
static struct shadow_result res;
static char err[512];
static bool trace_tables;       /* the `traced` suite: --shadow=traced */

static const struct shadow_regs k0 = {
	.cr0 = CR0_PE | CR0_WP | CR0_PG, .cr3 = PD,
	.cr4 = CR4_PSE | CR4_PGE, .cpl = 0 };
static const struct shadow_regs u3 = {
	.cr0 = CR0_PE | CR0_WP | CR0_PG, .cr3 = PD,
	.cr4 = CR4_PSE | CR4_PGE, .cpl = 3 };

static uint32_t marker(uint32_t phys)
{
	return 0x5a000000u | (phys >> 12);
}

static void new_shadow(uint64_t lo, uint64_t top, bool pku)
{
	struct shadow_config cfg = { &ram, lo, top, pku, ctr, trace_tables, false };

	shadow_free(sh);
	sh = shadow_new(&cfg, err, sizeof err);
	cr_assert_not_null(sh, "shadow_new: %s", err);
	cr_assert_eq(shadow_reset(sh, true, err, sizeof err), 0,
	             "shadow_reset: %s", err);
	memset(ctr, 0, sizeof ctr);
}

static void setup_common(bool pku)
{
	cr_assert_eq(window_reserve(&low, err, sizeof err), 0, "%s", err);
	cr_assert_eq(ram_create(&ram, RAM_MIB, err, sizeof err), 0, "%s", err);
	for (uint32_t f = FRAMES; f < ram.size; f += 4096)
		memcpy(ram.host + f, &(uint32_t){ marker(f) }, 4);
	next_pt = PT_FIRST;
	new_shadow(low, WINDOW_TOP, pku);
}

static void setup(void) { setup_common(false); }

static void setup_pku(void)
{
	setup_common(true);
	if (!shadow_uses_pku(sh))
		cr_skip_test("the host has no protection keys");
}

static void setup_traced(void)
{
	trace_tables = true;
	setup_common(false);
}

static void teardown(void)
{
	shadow_free(sh);
	sh = NULL;
	ram_destroy(&ram);
	window_unmap(low, WINDOW_TOP - low);
}

TestSuite(shadow, .init = setup, .fini = teardown);
TestSuite(pku, .init = setup_pku, .fini = teardown);
TestSuite(traced, .init = setup_traced, .fini = teardown);

/* --- guest page tables --------------------------------------------------- */

static uint32_t *ent(uint32_t phys)
{
	cr_assert_lt(phys, ram.size);
	return (uint32_t *)(ram.host + phys);
}

static uint32_t *pde(uint32_t lin)
{
	return ent(PD + 4 * (lin >> 22));
}

static uint32_t *pte(uint32_t lin)
{
	return ent((*pde(lin) & ~0xfffu) + 4 * ((lin >> 12) & 1023));
}

/* lin → phys through a page table; P is added to both entries. */
static void map4k(uint32_t lin, uint32_t phys, uint32_t pdf, uint32_t ptf)
{
	uint32_t *d = pde(lin);

	if (!(*d & P) || (*d & PS)) {
		cr_assert_lt(next_pt, FRAMES, "out of page-table pages");
		memset(ent(next_pt), 0, 4096);
		*d = next_pt;
		next_pt += 4096;
	}
	*d = (*d & ~0xfffu) | pdf | P;
	*pte(lin) = phys | ptf | P;
}

static void map4m(uint32_t lin, uint32_t phys, uint32_t flags)
{
	*pde(lin) = phys | flags | P | PS;
}

/* --- the host's view of the window --------------------------------------- */

struct vma {
	bool found, ram;
	uint64_t start, end, off;
	char perms[5];
	int pkey;               /* -1: no ProtectionKey field */
};

/* The mapping holding lin, from /proc/self/smaps. */
static struct vma vma_of(uint32_t lin)
{
	struct vma v = { .pkey = -1 };
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;

	cr_assert_not_null(f);
	while (fgets(line, sizeof line, f)) {
		unsigned long long s, e, o;
		char perms[5];
		int n = 0;
		if (sscanf(line, "%llx-%llx %4s %llx %*s %*s%n", &s, &e, perms,
		           &o, &n) == 4 && n > 0) {
			if (in)
				break;
			if (lin < s || lin >= e)
				continue;
			in = v.found = true;
			v.start = s, v.end = e, v.off = o;
			memcpy(v.perms, perms, 5);
			v.ram = strstr(line, "popek-guest-ram") != NULL;
		} else if (in && !strncmp(line, "ProtectionKey:", 14)) {
			v.pkey = atoi(line + 14);
		}
	}
	fclose(f);
	return v;
}

/* Whether lin is a mapping of guest RAM (not the reserved window). */
static bool mapped(uint32_t lin)
{
	return vma_of(lin).ram;
}

static uint32_t phys_of(uint32_t lin)
{
	struct vma v = vma_of(lin);

	cr_assert(v.ram, "%#x is not mapped", lin);
	return (uint32_t)(v.off + (lin & ~0xfffu) - v.start);
}

static void expect_map(uint32_t lin, uint32_t phys, const char *perms)
{
	struct vma v = vma_of(lin);

	cr_assert(v.ram, "%#x should map guest RAM", lin);
	cr_assert_eq(v.off + (lin & ~0xfffu) - v.start, phys & ~0xfffu,
	             "%#x maps frame %#llx, not %#x", lin,
	             (unsigned long long)(v.off + (lin & ~0xfffu) - v.start),
	             phys & ~0xfffu);
	cr_assert_str_eq(v.perms, perms, "%#x: rights %s, not %s", lin,
	                 v.perms, perms);
}

/* Touch lin under a SIGSEGV handler: 0, or the fault's si_code. */
static sigjmp_buf probe_jmp;
static volatile int probe_code;

static void probe_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	probe_code = si->si_code;
	siglongjmp(probe_jmp, 1);
}

static int probe(uint32_t lin, bool write)
{
	struct sigaction sa = { .sa_sigaction = probe_segv,
	                        .sa_flags = SA_SIGINFO }, old;
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)lin;

	sigaction(SIGSEGV, &sa, &old);
	probe_code = 0;
	if (!sigsetjmp(probe_jmp, 1)) {
		uint32_t v = *p;
		if (write)
			*p = v;
	} else if (!probe_code) {
		probe_code = -1;
	}
	sigaction(SIGSEGV, &old, NULL);
	return probe_code;
}

static uint32_t read_lin(uint32_t lin)
{
	cr_assert_eq(probe(lin, false), 0, "%#x is not readable", lin);
	return *(volatile uint32_t *)(uintptr_t)lin;
}

static enum shadow_outcome fault(const struct shadow_regs *r, uint32_t lin,
                                 uint32_t herr)
{
	res = (struct shadow_result){ .error = 0xdeadbeef, .phys = 0xdeadbeef };
	return shadow_fault(sh, r, lin, herr, &res);
}

static void expect_pf(enum shadow_outcome o, uint32_t error)
{
	cr_assert_eq(o, SHADOW_GUEST_PF, "outcome %d, not GUEST_PF", o);
	cr_assert_eq(res.error, error, "#PF error %#x, not %#x", res.error,
	             error);
}

/* --- mapping on a host fault --------------------------------------------- */

Test(shadow, maps_user_page_with_its_frame_and_rights)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);

	cr_assert_not(shadow_uses_pku(sh));
	cr_assert_eq(fault(&u3, 0x40001234, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rwxs");
	cr_assert_eq(read_lin(0x40001000), marker(0x123000));
	cr_assert_eq(probe(0x40001ffc, true), 0);
	cr_assert_not(mapped(0x40000000));
	cr_assert_not(mapped(0x40002000));
	cr_assert_eq(ctr[CTR_shadow_maps], 1);
	cr_assert_eq(ctr[CTR_guest_pf], 0);
}

/* The vDSO's frame (vmm/bt.c): never executable, mapped alone; its
 * mappings made before go at once. */
Test(shadow, the_noexec_frame_maps_alone_and_never_executable)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D);
	map4k(0x40003000, 0x125000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	expect_map(0x40002000, 0x124000, "rwxs");
	shadow_noexec(sh, 0x124);
	cr_assert(shadow_is_noexec(sh, 0x124000));
	cr_assert_not(shadow_is_noexec(sh, 0x123000));
	cr_assert_not(mapped(0x40002000));
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rwxs");
	cr_assert_not(mapped(0x40002000));         /* (not prefaulted with it) */
	cr_assert_eq(fault(&u3, 0x40002000, HOST_FETCH), SHADOW_MAPPED);
	expect_map(0x40002000, 0x124000, "rw-s");
	cr_assert_eq(read_lin(0x40002000), marker(0x124000));
}

Test(shadow, maps_pieces_of_a_4m_page)
{
	map4m(0x00c00000, 0x00400000, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x00c05010, 0), SHADOW_MAPPED);
	expect_map(0x00c05000, 0x00405000, "rwxs");
	cr_assert_eq(read_lin(0x00c05000), marker(0x00405000));
	cr_assert_not(mapped(0x00c04000));
	/* Prefault: the next 15 pieces of the same 4 MiB page, no more. */
	expect_map(0x00c06000, 0x00406000, "rwxs");
	cr_assert_eq(read_lin(0x00c14000), marker(0x00414000));
	cr_assert_not(mapped(0x00c15000));
	cr_assert_eq(ctr[CTR_prefaulted], 15);
}

Test(shadow, prefault_stops_at_the_end_of_a_4m_page)
{
	map4m(0x00c00000, 0x00400000, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x00ffd000, 0), SHADOW_MAPPED);
	cr_assert(mapped(0x00ffe000) && mapped(0x00fff000));
	cr_assert_not(mapped(0x01000000));
	cr_assert_eq(ctr[CTR_prefaulted], 2);
}

/* Following PTEs join the mapping only while present, accessed, on the
 * next frame, with the same rights, and dirty for a writable mapping. */
Test(shadow, prefault_takes_only_accessed_contiguous_alike_entries)
{
	map4k(0x40001000, 0x200000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x201000, RW | US, RW | US | A | D);
	map4k(0x40003000, 0x202000, RW | US, RW | US | A | D);
	map4k(0x40004000, 0x203000, RW | US, RW | US);           /* A = 0 */
	map4k(0x40005000, 0x204000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, HOST_W), SHADOW_MAPPED);
	expect_map(0x40003000, 0x202000, "rwxs");
	cr_assert_not(mapped(0x40004000), "A = 0: the CPU would have to set it");
	cr_assert_not(mapped(0x40005000));
	cr_assert_eq(*pte(0x40004000) & A, 0, "prefault must not set A");
	cr_assert_eq(ctr[CTR_prefaulted], 2);
	cr_assert_eq(ctr[CTR_shadow_maps], 1);

	/* A clean neighbour stops a writable run; another frame does too. */
	map4k(0x40011000, 0x210000, RW | US, RW | US | A | D);
	map4k(0x40012000, 0x211000, RW | US, RW | US | A);       /* D = 0 */
	map4k(0x40021000, 0x220000, RW | US, RW | US | A | D);
	map4k(0x40022000, 0x300000, RW | US, RW | US | A | D);   /* not next */
	cr_assert_eq(fault(&u3, 0x40011000, HOST_W), SHADOW_MAPPED);
	cr_assert_not(mapped(0x40012000));
	cr_assert_eq(fault(&u3, 0x40021000, 0), SHADOW_MAPPED);
	cr_assert_not(mapped(0x40022000));
}

Test(shadow, contiguous_frames_share_one_host_mapping)
{
	map4k(0x40001000, 0x200000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x201000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	struct vma v = vma_of(0x40001000);
	cr_assert(v.start <= 0x40001000 && v.end >= 0x40003000,
	          "one mapping expected, got %#llx-%#llx",
	          (unsigned long long)v.start, (unsigned long long)v.end);
}

Test(shadow, a_read_sets_accessed_and_maps_read_only_until_dirty)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(*pde(0x40001000) & (A | D), A);
	cr_assert_eq(*pte(0x40001000) & (A | D), A, "read must not set D");
	expect_map(0x40001000, 0x123000, "r-xs");
	cr_assert_eq(probe(0x40001000, true), SEGV_ACCERR,
	             "a clean page must not be writable");

	/* The write that sets D faults, then the page is writable. */
	cr_assert_eq(fault(&u3, 0x40001000, HOST_W), SHADOW_MAPPED);
	cr_assert_eq(*pte(0x40001000) & (A | D), A | D);
	expect_map(0x40001000, 0x123000, "rwxs");
	cr_assert_eq(probe(0x40001000, true), 0);
	cr_assert_eq(ctr[CTR_shadow_maps], 2);
}

Test(shadow, dirty_bit_of_a_4m_page_is_in_the_pde)
{
	map4m(0x00c00000, 0x00400000, RW | US);

	cr_assert_eq(fault(&k0, 0x00c01000, 0), SHADOW_MAPPED);
	cr_assert_eq(*pde(0x00c00000) & (A | D), A);
	expect_map(0x00c01000, 0x00401000, "r-xs");
	cr_assert_eq(fault(&k0, 0x00c01000, HOST_W), SHADOW_MAPPED);
	cr_assert_eq(*pde(0x00c00000) & (A | D), A | D);
	expect_map(0x00c01000, 0x00401000, "rwxs");
}

Test(shadow, rights_raised_by_the_guest_are_seen_at_the_next_fault)
{
	map4k(0x40001000, 0x123000, RW | US, US | A | D);
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "r-xs");

	*pte(0x40001000) |= RW;            /* no INVLPG needed to raise */
	cr_assert_eq(fault(&u3, 0x40001000, HOST_W), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rwxs");
}

/* --- outcomes other than a mapping --------------------------------------- */

Test(shadow, page_faults_carry_the_architectural_error_code)
{
	map4k(0x40001000, 0x123000, RW | US, US | A | D);       /* read-only */
	map4k(0x40002000, 0x124000, RW | US, RW | A | D);       /* supervisor */
	*pte(0x40003000) = 0x125000 | RW | US;                  /* not present */

	expect_pf(fault(&u3, 0x40003000, 0), 0x4u);
	expect_pf(fault(&k0, 0x40003000, 0), 0x0u);
	expect_pf(fault(&u3, 0x40003000, HOST_W), 0x6u);
	expect_pf(fault(&k0, 0x40003000, HOST_FETCH), 0x0u);
	expect_pf(fault(&k0, 0x80000000, 0), 0x0u);            /* PDE absent */
	expect_pf(fault(&u3, 0x40001000, HOST_W), 0x7u);
	expect_pf(fault(&k0, 0x40001000, HOST_W), 0x3u);       /* CR0.WP=1 */
	expect_pf(fault(&u3, 0x40002000, 0), 0x5u);
	expect_pf(fault(&u3, 0x40002000, HOST_FETCH), 0x5u);
	cr_assert_eq(ctr[CTR_guest_pf], 9);
	cr_assert_eq(ctr[CTR_shadow_maps], 0);
	cr_assert_not(mapped(0x40001000));
	cr_assert_not(mapped(0x40002000));
	cr_assert_not(mapped(0x40003000));
	cr_assert_eq(*pte(0x40003000) & A, 0);
}

Test(shadow, supervisor_pde_makes_the_whole_table_supervisor)
{
	map4k(0x40001000, 0x123000, RW, RW | US | A | D);

	expect_pf(fault(&u3, 0x40001000, 0), 0x5u);
	cr_assert_eq(fault(&k0, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rw-s");
}

Test(shadow, physical_address_beyond_ram_is_emulated)
{
	map4k(0x40001000, 0xfeb00000, RW | US, RW | US | A | D);
	map4k(0x40002000, RAM_MIB << 20, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&k0, 0x40001010, HOST_W), SHADOW_EMULATE);
	cr_assert_eq(res.phys, 0xfeb00010);
	cr_assert_eq(fault(&u3, 0x40002ffc, 0), SHADOW_EMULATE);
	cr_assert_eq(res.phys, (RAM_MIB << 20) + 0xffc);
	cr_assert_not(mapped(0x40001000));
	cr_assert_not(mapped(0x40002000));
	cr_assert_eq(ctr[CTR_shadow_maps], 0);
}

Test(shadow, tables_outside_ram_are_bad_tables)
{
	*pde(0x40000000) = 0x08000000 | P | RW | US;     /* PT at 128 MiB */
	cr_assert_eq(fault(&k0, 0x40000000, 0), SHADOW_BAD_TABLE);
	cr_assert_not(mapped(0x40000000));

	struct shadow_regs far = k0;
	far.cr3 = 0x20000000;                            /* PD at 512 MiB */
	cr_assert_eq(fault(&far, 0x00001000, 0), SHADOW_BAD_TABLE);
	cr_assert_eq(shadow_peek(sh, &far, 0x1000, &res), SHADOW_BAD_TABLE);
}

Test(shadow, addresses_outside_the_window_are_outside)
{
	new_shadow(0x10000, 0xc0000000, false);
	map4k(0xc0001000, 0x123000, RW | US, RW | US);
	map4k(0x00001000, 0x124000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0xc0001234, 0), SHADOW_OUTSIDE);
	cr_assert_eq(res.phys, 0xc0001234);
	cr_assert_eq(fault(&u3, 0x00001000, 0), SHADOW_OUTSIDE);
	cr_assert_eq(*pte(0xc0001000) & A, 0, "the tables were walked");
	cr_assert_not(mapped(0xc0001000));
	cr_assert_not(mapped(0x00001000));
}

/* --- translation for the monitor ----------------------------------------- */

Test(shadow, translate_sets_accessed_and_dirty_but_maps_nothing)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US);

	cr_assert_eq(shadow_translate(sh, &k0, 0x40001abc, WALK_READ, &res),
	             SHADOW_MAPPED);
	cr_assert_eq(res.phys, 0x123abc);
	cr_assert_eq(*pte(0x40001000) & (A | D), A);
	cr_assert_eq(shadow_translate(sh, &u3, 0x40001abc, WALK_WRITE, &res),
	             SHADOW_MAPPED);
	cr_assert_eq(*pte(0x40001000) & (A | D), A | D);
	cr_assert_not(mapped(0x40001000));
	cr_assert_eq(ctr[CTR_shadow_maps], 0);

	*pte(0x40001000) &= ~RW;
	cr_assert_eq(shadow_translate(sh, &u3, 0x40001000, WALK_WRITE, &res),
	             SHADOW_GUEST_PF);
	cr_assert_eq(res.error, 0x7u);
	map4k(0x40002000, 0xfee00000, RW | US, RW | US);
	cr_assert_eq(shadow_translate(sh, &k0, 0x40002300, WALK_FETCH, &res),
	             SHADOW_EMULATE);
	cr_assert_eq(res.phys, 0xfee00300);
}

Test(shadow, peek_changes_nothing_in_guest_memory)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US);
	map4k(0x40002000, 0x124000, RW | US, RW);
	uint32_t d = *pde(0x40001000), t = *pte(0x40001000);

	cr_assert_eq(shadow_peek(sh, &u3, 0x40001abc, &res), SHADOW_MAPPED);
	cr_assert_eq(res.phys, 0x123abc);
	cr_assert_eq(*pde(0x40001000), d, "peek wrote the PDE");
	cr_assert_eq(*pte(0x40001000), t, "peek wrote the PTE");
	cr_assert_eq(shadow_peek(sh, &u3, 0x40002000, &res), SHADOW_GUEST_PF);
	cr_assert_eq(res.error, 0x5u);
	cr_assert_eq(*pte(0x40002000) & A, 0);
	map4k(0x40003000, 0xfeb00000, RW | US, RW | US);
	cr_assert_eq(shadow_peek(sh, &k0, 0x40003004, &res), SHADOW_EMULATE);
	cr_assert_eq(res.phys, 0xfeb00004);
	cr_assert_eq(*pte(0x40003000) & A, 0);
	cr_assert_eq(*pde(0x40001000), d, "peek wrote the PDE");
	cr_assert_not(mapped(0x40001000));
}

/* --- CPL changes without protection keys --------------------------------- */

Test(shadow, supervisor_pages_are_unmapped_on_entering_cpl3)
{
	map4k(0x40001000, 0x123000, RW | US, RW | A | D);      /* supervisor */
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D); /* user */

	shadow_enter(sh, 0);
	cr_assert_eq(fault(&k0, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rw-s");
	cr_assert_eq(fault(&k0, 0x40002000, 0), SHADOW_MAPPED);
	shadow_enter(sh, 3);
	cr_assert_not(mapped(0x40001000));
	expect_map(0x40002000, 0x124000, "rwxs");
	cr_assert_eq(ctr[CTR_cpl3_fixups], 1);

	/* Back at CPL 0 the page refaults and is mapped again. */
	shadow_enter(sh, 0);
	cr_assert_not(mapped(0x40001000));
	cr_assert_eq(fault(&k0, 0x40001000, HOST_FETCH), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rwxs");
	shadow_enter(sh, 3);
	cr_assert_not(mapped(0x40001000));
}

Test(shadow, supervisor_code_is_executable_only_when_fetched)
{
	map4k(0x40001000, 0x123000, RW | US, A);                /* sup, r/o */

	cr_assert_eq(fault(&k0, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "r--s");
	cr_assert_eq(fault(&k0, 0x40001000, HOST_FETCH), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "r-xs");
}

Test(shadow, writes_only_wp0_allows_are_withdrawn_on_entering_cpl3)
{
	struct shadow_regs nowp = k0;
	nowp.cr0 &= ~CR0_WP;
	map4k(0x40001000, 0x123000, RW | US, US | A);           /* user, r/o */
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D);

	expect_pf(fault(&k0, 0x40001000, HOST_W), 0x3u);
	cr_assert_eq(fault(&nowp, 0x40001000, HOST_W), SHADOW_MAPPED);
	cr_assert_eq(*pte(0x40001000) & D, D);
	expect_map(0x40001000, 0x123000, "rwxs");
	cr_assert_eq(fault(&nowp, 0x40002000, 0), SHADOW_MAPPED);
	shadow_enter(sh, 3);
	cr_assert_not(mapped(0x40001000));
	expect_map(0x40002000, 0x124000, "rwxs");

	/* At CPL 3 the same page maps read-only (CR0.WP does not matter
	 * there), and stays across entries. */
	struct shadow_regs u3nowp = u3;
	u3nowp.cr0 &= ~CR0_WP;
	cr_assert_eq(fault(&u3nowp, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "r-xs");
	shadow_enter(sh, 0);
	shadow_enter(sh, 3);
	expect_map(0x40001000, 0x123000, "r-xs");
}

/* --- invalidation -------------------------------------------------------- */

Test(shadow, new_cr3_keeps_global_pages_only)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D | G);
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D);
	map4m(0x00c00000, 0x00400000, RW | US | A | D | G);
	struct shadow_regs nopge = u3;
	nopge.cr4 &= ~CR4_PGE;
	map4k(0x40003000, 0x125000, RW | US, RW | US | A | D | G);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00c03000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&nopge, 0x40003000, 0), SHADOW_MAPPED);
	shadow_new_cr3(sh);
	expect_map(0x40001000, 0x123000, "rwxs");
	expect_map(0x00c03000, 0x00403000, "rwxs");
	cr_assert_not(mapped(0x40002000));
	cr_assert_not(mapped(0x40003000), "G without CR4.PGE is not global");
	cr_assert_eq(ctr[CTR_shadow_flushes], 0);
	cr_assert_geq(ctr[CTR_shadow_unmaps], 1);
}

/* Non-global runs that only holes separate go in one host call; a global
 * page between two runs ends a span. */
Test(shadow, new_cr3_unmaps_local_runs_across_holes_in_one_call)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40005000, 0x127000, RW | US, RW | US | A | D);  /* hole between */
	map4k(0x40006000, 0x130000, RW | US, RW | US | A | D | G);
	map4k(0x40008000, 0x129000, RW | US, RW | US | A | D);
	map4k(0x40009000, 0x12a000, RW | US, RW | US | A | D);

	for (uint32_t lin = 0x40001000; lin < 0x4000a000; lin += 0x1000)
		if (lin == 0x40001000 || lin == 0x40005000 || lin >= 0x40006000)
			if (lin != 0x40007000)
				cr_assert_eq(fault(&u3, lin, 0), SHADOW_MAPPED);
	uint64_t before = ctr[CTR_shadow_unmaps];
	shadow_new_cr3(sh);
	cr_assert_eq(ctr[CTR_shadow_unmaps] - before, 2, "%llu host unmaps",
	             (unsigned long long)(ctr[CTR_shadow_unmaps] - before));
	cr_assert_not(mapped(0x40001000));
	cr_assert_not(mapped(0x40005000));
	cr_assert_not(mapped(0x40008000));
	cr_assert_not(mapped(0x40009000));
	expect_map(0x40006000, 0x130000, "rwxs");
	cr_assert_eq(read_lin(0x40006000), marker(0x130000));
	/* The dropped pages refault from the tables as before. */
	cr_assert_eq(fault(&u3, 0x40005000, 0), SHADOW_MAPPED);
	expect_map(0x40005000, 0x127000, "rwxs");
}

Test(shadow, new_cr3_without_global_pages_flushes_everything)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	shadow_new_cr3(sh);
	cr_assert_not(mapped(0x40001000));
	cr_assert_not(mapped(0x40002000));
	cr_assert_eq(ctr[CTR_shadow_flushes], 1);
	/* Nothing is left there: unmapped window pages are holes (window.c). */
	cr_assert_not(vma_of(0x40001000).found);
	cr_assert_not(vma_of(0x40002000).found);
}

/* A mapping in the window that is not the shadow MMU's (nothing of popek
 * maps there, window.c) is never overwritten: the fault fails, EEXIST. */
Test(shadow, a_foreign_mapping_in_the_window_is_not_overwritten)
{
	uint8_t *p = mmap((void *)0x40003000, 4096, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
	                  -1, 0);
	cr_assert_eq(p, (uint8_t *)0x40003000, "%s", strerror(errno));
	p[0] = 0x5a;
	map4k(0x40003000, 0x123000, RW | US, RW | US | A | D);

	errno = 0;
	cr_assert_eq(fault(&u3, 0x40003000, 0), SHADOW_HOST_FAIL);
	cr_assert_eq(errno, EEXIST);
	cr_assert_eq(res.phys, 0x123000);
	cr_assert_eq(p[0], 0x5a);
	cr_assert_not(mapped(0x40003000));
	munmap(p, 4096);
}

Test(shadow, invlpg_drops_one_4k_page)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D | G);
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	shadow_invlpg(sh, 0x40001fff);                  /* global or not */
	cr_assert_not(mapped(0x40001000));
	expect_map(0x40002000, 0x124000, "rwxs");
	cr_assert_eq(ctr[CTR_shadow_unmaps], 1);

	/* The guest changed the PTE: the next fault sees the new frame. */
	*pte(0x40002000) = 0x155000 | P | RW | US | A | D;
	expect_map(0x40002000, 0x124000, "rwxs");       /* a TLB: stale */
	shadow_invlpg(sh, 0x40002000);
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	expect_map(0x40002000, 0x155000, "rwxs");
	cr_assert_eq(read_lin(0x40002000), marker(0x155000));
}

Test(shadow, invlpg_in_a_4m_page_drops_all_its_pieces)
{
	map4m(0x00800000, 0x00400000, RW | US | A | D);
	map4k(0x00c00000, 0x123000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x00800000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00805000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00bff000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00c00000, 0), SHADOW_MAPPED);
	cr_assert_eq(phys_of(0x00bff000), 0x007ff000);
	shadow_invlpg(sh, 0x00805123);
	cr_assert_not(mapped(0x00800000));
	cr_assert_not(mapped(0x00805000));
	cr_assert_not(mapped(0x00bff000));
	expect_map(0x00c00000, 0x123000, "rwxs");
}

/*
 * INVLPG of any address inside a 4 MiB page invalidates the whole page
 * (SDM vol. 3A §4.10.4.1), also when that particular 4 KiB piece was
 * never touched.
 */
Test(shadow, invlpg_of_an_unmapped_piece_still_drops_the_4m_page)
{
	map4m(0x00800000, 0x00400000, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x00800000, 0), SHADOW_MAPPED);
	map4m(0x00800000, 0x00000000, RW | US | A | D);          /* remapped */
	shadow_invlpg(sh, 0x00807000);
	cr_assert_not(mapped(0x00800000),
	              "a piece of the old 4 MiB page survived INVLPG");
}

Test(shadow, reset_drops_everything_and_paging_off_maps_ram_identically)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);

	cr_assert_eq(shadow_reset(sh, false, err, sizeof err), 0, "%s", err);
	cr_assert_not(mapped(0x40001000));
	cr_assert_eq(ctr[CTR_shadow_flushes], 1);
	struct vma v = vma_of(0x00200000);
	cr_assert(v.ram);
	cr_assert_str_eq(v.perms, "rwxs");
	cr_assert_eq(v.off + 0x00200000 - v.start, 0x00200000);
	cr_assert_eq(v.start, low);
	cr_assert_eq(v.end, ram.size);
	cr_assert_eq(read_lin(0x00345000), marker(0x00345000));
	cr_assert_not(mapped((uint32_t)ram.size));

	/* Paging off: nothing to map, and beyond RAM is MMIO. */
	cr_assert_eq(fault(&k0, 0x00345000, HOST_W), SHADOW_EMULATE);
	cr_assert_eq(res.phys, 0x00345000);
	cr_assert_eq(fault(&k0, 0xfec00004, 0), SHADOW_EMULATE);
	cr_assert_eq(res.phys, 0xfec00004);
	/* ... and the guest tables are not read, whatever CR0.PG says. */
	map4k(0x00345000, 0x123000, RW | US, RW | US);
	cr_assert_eq(shadow_translate(sh, &u3, 0x00345678, WALK_WRITE, &res),
	             SHADOW_MAPPED);
	cr_assert_eq(res.phys, 0x00345678);
	cr_assert_eq(*pte(0x00345000) & (A | D), 0);
	cr_assert_eq(ctr[CTR_shadow_maps], 1);

	/* Paging back on: the identity mapping goes. */
	cr_assert_eq(shadow_reset(sh, true, err, sizeof err), 0, "%s", err);
	cr_assert_not(mapped(0x00200000));
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rwxs");
}

/* --- the host's mapping limit -------------------------------------------- */

static long count_vmas(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	long n = 0;
	int c;

	cr_assert_not_null(f);
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* Use up all but `spare` of the process's mappings as counted by
 * count_vmas() (one more than the kernel counts: [vsyscall]), above
 * 4 GiB: n pages of alternating rights are n mappings. */
static uint8_t *use_up_mappings(long spare, size_t *len)
{
	FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
	long max = 0;

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld", &max), 1);
	fclose(f);
	cr_assert_gt(max, 1000);
	if (max > 1 << 20)
		cr_skip_test("vm.max_map_count is %ld: too many to use up", max);

	long fill = max - count_vmas() - spare;
	*len = (size_t)fill * 4096;
	uint8_t *blk = mmap(NULL, *len, PROT_READ,
	                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(blk, MAP_FAILED);
	for (long i = 1; i < fill; i += 2)
		cr_assert_eq(mprotect(blk + i * 4096, 4096, PROT_NONE), 0,
		             "mprotect #%ld: %s", i, strerror(errno));
	return blk;
}

#define NSCATTER 30

/*
 * Map scattered pages of scattered frames, one host mapping each (into
 * holes of the window), with `spare` mappings left: about `spare` fit
 * before the limit, the rest after one eviction.  Both parities, as when
 * a mapping split a reservation in three and could take the count from
 * limit-1 to limit+1.
 */
static void mapping_limit(long spare)
{
	size_t len;
	uint8_t *blk = use_up_mappings(spare, &len);
	uint32_t lin = 0x40000000;

	for (int i = 0; i < NSCATTER; i++, lin += 0x2000) {
		map4k(lin, FRAMES + (uint32_t)i * 0x3000, RW | US, US | A);
		enum shadow_outcome o = fault(&u3, lin, 0);
		int e = errno;
		cr_assert_eq(o, SHADOW_MAPPED, "page %d: outcome %d (%s) after "
		             "%llu evictions, %ld lines in /proc/self/maps", i, o,
		             strerror(e),
		             (unsigned long long)ctr[CTR_map_evictions],
		             count_vmas());
	}
	cr_assert_eq(ctr[CTR_map_evictions], 1, "%llu evictions",
	             (unsigned long long)ctr[CTR_map_evictions]);
	cr_assert_eq(ctr[CTR_shadow_flushes], 1);
	cr_assert_eq(ctr[CTR_shadow_maps], NSCATTER);
	munmap(blk, len);
	cr_assert_not(mapped(0x40000000), "the first page survived eviction");
	lin -= 0x2000;
	expect_map(lin, FRAMES + (NSCATTER - 1) * 0x3000, "r-xs");
	cr_assert_eq(read_lin(lin), marker(FRAMES + (NSCATTER - 1) * 0x3000));
}

Test(shadow, the_mapping_limit_evicts_and_the_fault_succeeds_even)
{
	mapping_limit(16);
}

Test(shadow, the_mapping_limit_evicts_and_the_fault_succeeds_odd)
{
	mapping_limit(17);
}

/*
 * A supervisor page mapped when the process is a few mappings short of
 * the limit (for one of these `spare` values, the mapping leaves the
 * count where the kernel refuses further mmap() calls) must still be gone
 * when CPL 3 runs.  A few user pages are mapped first, so that an
 * eviction has something to free.
 */
Test(shadow, supervisor_pages_go_at_cpl3_even_at_the_mapping_limit)
{
	map4k(0x40001000, 0x123000, RW | US, RW | A | D);      /* supervisor */
	for (uint32_t i = 0; i < 4; i++)
		map4k(0x50000000 + i * 0x2000, FRAMES + i * 0x3000, RW | US,
		      RW | US | A | D);
	for (long spare = 3; spare >= 0; spare--) {
		size_t len;
		shadow_enter(sh, 0);
		for (uint32_t i = 0; i < 4; i++)
			cr_assert_eq(fault(&k0, 0x50000000 + i * 0x2000, 0),
			             SHADOW_MAPPED);
		uint8_t *blk = use_up_mappings(spare, &len);
		enum shadow_outcome o = fault(&k0, 0x40001000, 0);
		shadow_enter(sh, 3);
		long lines = count_vmas();
		munmap(blk, len);
		cr_assert_eq(o, SHADOW_MAPPED, "spare %ld: outcome %d", spare, o);
		cr_assert_not(mapped(0x40001000), "spare %ld: a supervisor page "
		              "is mapped while CPL 3 runs (%ld lines in "
		              "/proc/self/maps)", spare, lines);
		cr_assert_eq(shadow_reset(sh, true, err, sizeof err), 0);
	}
}

/*
 * INVLPG of the middle page of a prefaulted run splits its host mapping,
 * which
 * the host refuses at its mapping limit (munmap fails, ENOMEM): the page
 * must still be gone from the host, the shadow MMU then flushes the
 * window.  At spare -1 the host holds exactly vm.max_map_count mappings
 * (use_up_mappings counts [vsyscall] too): that one is the refusal.
 */
Test(shadow, invlpg_at_the_mapping_limit_still_drops_the_page)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D);   /* one run */
	map4k(0x40003000, 0x125000, RW | US, RW | US | A | D);
	for (long spare = 1; spare >= -1; spare--) {
		size_t len;
		cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
		expect_map(0x40003000, 0x125000, "rwxs");       /* prefaulted */
		uint8_t *blk = use_up_mappings(spare, &len);
		shadow_invlpg(sh, 0x40002000);
		bool still = mapped(0x40002000);
		munmap(blk, len);
		cr_assert_not(still, "spare %ld: the page survived INVLPG", spare);
		cr_assert_eq(shadow_reset(sh, true, err, sizeof err), 0);
	}
}

/* --- protection keys ----------------------------------------------------- */

static uint32_t rdpkru(void)
{
	uint32_t eax, edx;

	__asm__ volatile(".byte 0x0f, 0x01, 0xee" /* rdpkru */
	                 : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

Test(pku, supervisor_pages_carry_a_key_closed_at_cpl3)
{
	map4k(0x40001000, 0x123000, RW | US, RW | A | D);      /* supervisor */
	map4k(0x40002000, 0x124000, RW | US, RW | US | A | D); /* user */

	shadow_enter(sh, 0);
	cr_assert_eq(fault(&k0, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&k0, 0x40002000, 0), SHADOW_MAPPED);
	int key = vma_of(0x40001000).pkey;
	cr_assert_gt(key, 0, "supervisor page has ProtectionKey %d", key);
	cr_assert_eq(vma_of(0x40002000).pkey, 0);
	expect_map(0x40001000, 0x123000, "rw-s");
	cr_assert_eq(probe(0x40001000, true), 0);
	cr_assert_eq(rdpkru(), 0);

	shadow_enter(sh, 3);
	cr_assert_eq(rdpkru(), 3u << (2 * key));
	expect_map(0x40001000, 0x123000, "rw-s");      /* still mapped */
	cr_assert_eq(probe(0x40001000, false), SEGV_PKUERR);
	shadow_enter(sh, 3);                   /* PKRU is rewritten anyway */
	cr_assert_eq(probe(0x40002000, true), 0);
	shadow_enter(sh, 0);
	cr_assert_eq(rdpkru(), 0);
	cr_assert_eq(probe(0x40001000, true), 0);
	cr_assert_eq(ctr[CTR_shadow_unmaps], 0);
}

Test(pku, supervisor_code_loses_exec_while_cpl3_runs)
{
	map4k(0x40001000, 0x123000, RW | US, RW | A | D);      /* supervisor */

	shadow_enter(sh, 0);
	cr_assert_eq(fault(&k0, 0x40001000, HOST_FETCH), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rwxs");
	int key = vma_of(0x40001000).pkey;
	cr_assert_gt(key, 0);

	shadow_enter(sh, 3);
	expect_map(0x40001000, 0x123000, "r--s");
	cr_assert_eq(vma_of(0x40001000).pkey, key);
	cr_assert_eq(ctr[CTR_cpl3_fixups], 1);
	shadow_enter(sh, 0);
	expect_map(0x40001000, 0x123000, "r-xs");
	cr_assert_eq(vma_of(0x40001000).pkey, key);
	cr_assert_eq(ctr[CTR_cpl3_fixups], 2);
}

Test(pku, writes_only_wp0_allows_are_still_withdrawn)
{
	struct shadow_regs nowp = k0;
	nowp.cr0 &= ~CR0_WP;
	map4k(0x40001000, 0x123000, RW | US, A | D);            /* sup, r/o */

	shadow_enter(sh, 0);
	cr_assert_eq(fault(&nowp, 0x40001000, HOST_W), SHADOW_MAPPED);
	expect_map(0x40001000, 0x123000, "rw-s");
	shadow_enter(sh, 3);
	cr_assert_not(mapped(0x40001000));
}

Test(pku, a_page_that_became_user_loses_its_key)
{
	map4k(0x40001000, 0x123000, RW | US, RW | A | D);

	cr_assert_eq(fault(&k0, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_gt(vma_of(0x40001000).pkey, 0);
	*pte(0x40001000) |= US;
	shadow_invlpg(sh, 0x40001000);
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(vma_of(0x40001000).pkey, 0);
	shadow_enter(sh, 3);
	cr_assert_eq(probe(0x40001000, true), 0);
	shadow_enter(sh, 0);
}

/* --- --shadow=traced: the page-table tracer (shadowpt/pttrace.c) ---------- */

/* The guest wrote entry *e (already changed in RAM), as the emulator's
 * write and shadow_wrote() would report it. */
static void wrote(uint32_t *e)
{
	shadow_wrote(sh, (uint32_t)((uint8_t *)e - ram.host), 4);
}

static uint32_t table_of(uint32_t lin)
{
	return *pde(lin) & ~0xfffu;
}

Test(traced, tables_behind_a_mapping_are_traced_and_map_read_only)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40005000, table_of(0x40001000), RW | US, RW | US | A | D);
	map4k(0x40006000, PD, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert(shadow_is_traced(sh, PD));
	cr_assert(shadow_is_traced(sh, table_of(0x40001000)));
	cr_assert_not(shadow_is_traced(sh, 0x123000));
	/* The guest reaches its own tables through the window: read-only,
	 * a write is the SHADOW_TRACED path (emulated, then shadow_wrote). */
	cr_assert_eq(fault(&u3, 0x40005000, HOST_W), SHADOW_TRACED);
	expect_map(0x40005000, table_of(0x40001000), "r-xs");
	cr_assert_eq(fault(&u3, 0x40006000, HOST_W), SHADOW_TRACED);
	expect_map(0x40006000, PD, "r-xs");
}

Test(traced, a_pte_write_drops_the_page_it_mapped_and_no_other)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x150000, RW | US, RW | US | A | D);
	map4k(0x40401000, 0x160000, RW | US, RW | US | A | D);
	map4k(0x00c00000 + 0x2000, 0x170000, RW | US, RW | US | A | D | G);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40401000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00c02000, 0), SHADOW_MAPPED);
	*pte(0x40002000) = 0x155000 | P | RW | US | A | D;
	wrote(pte(0x40002000));
	cr_assert_not(mapped(0x40002000), "the changed PTE's page stayed");
	expect_map(0x40001000, 0x123000, "rwxs");
	expect_map(0x40401000, 0x160000, "rwxs");
	expect_map(0x00c02000, 0x170000, "rwxs");
	cr_assert_eq(ctr[CTR_pt_dropped], 1);
	/* No INVLPG: the next access sees the new frame. */
	cr_assert_eq(fault(&u3, 0x40002000, 0), SHADOW_MAPPED);
	cr_assert_eq(read_lin(0x40002000), marker(0x155000));

	/* A byte of the entry (the guest clears R/W with an AND): the same. */
	*(uint8_t *)pte(0x40401000) &= (uint8_t)~RW;
	shadow_wrote(sh, (uint32_t)((uint8_t *)pte(0x40401000) - ram.host), 1);
	cr_assert_not(mapped(0x40401000));
	cr_assert_eq(fault(&u3, 0x40401000, HOST_W), SHADOW_GUEST_PF);
	expect_map(0x40001000, 0x123000, "rwxs");
}

Test(traced, a_pde_write_drops_its_4m_range)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40003000, 0x150000, RW | US, RW | US | A | D);
	map4k(0x40401000, 0x160000, RW | US, RW | US | A | D);
	map4m(0x00c00000, 0x00400000, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40003000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40401000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00c00000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x00fff000, 0), SHADOW_MAPPED);
	*pde(0x40001000) &= ~US;                    /* now supervisor */
	wrote(pde(0x40001000));
	cr_assert_not(mapped(0x40001000));
	cr_assert_not(mapped(0x40003000));
	expect_map(0x40401000, 0x160000, "rwxs");
	expect_map(0x00c00000, 0x00400000, "rwxs");
	cr_assert_eq(ctr[CTR_pt_dropped], 2);
	cr_assert_eq(fault(&u3, 0x40003000, 0), SHADOW_GUEST_PF);
	/* A 4 MiB page: every piece of it. */
	map4m(0x00c00000, 0x00800000, RW | US | A | D);
	wrote(pde(0x00c00000));
	cr_assert_not(mapped(0x00c00000));
	cr_assert_not(mapped(0x00fff000));
	expect_map(0x40401000, 0x160000, "rwxs");
	cr_assert_eq(fault(&u3, 0x00c00000, 0), SHADOW_MAPPED);
	cr_assert_eq(read_lin(0x00c00000), marker(0x00800000));
}

Test(traced, writes_to_entries_that_mapped_nothing_change_nothing)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40002000, 0x150000, RW | US, RW | US | A | D);   /* not used */

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	*pte(0x40002000) = 0x155000 | P | RW | US | A | D;
	wrote(pte(0x40002000));                   /* a PTE nothing came through */
	wrote(pde(0x80000000));                   /* a not-present PDE */
	wrote(ent(table_of(0x40001000) + 4 * 1000));
	shadow_wrote(sh, 0x123000, 4);            /* a data frame, not traced */
	expect_map(0x40001000, 0x123000, "rwxs");
	cr_assert_eq(ctr[CTR_pt_dropped], 0);
	cr_assert_eq(ctr[CTR_shadow_unmaps], 0);
	cr_assert_eq(ctr[CTR_pt_writes], 3);
}

Test(traced, a_table_used_under_two_pdes_drops_both_pages)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	*pde(0x40400000) = *pde(0x40001000);      /* the same table again */

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40401000, 0), SHADOW_MAPPED);
	*pte(0x40001000) = 0x155000 | P | RW | US | A | D;
	wrote(pte(0x40001000));
	cr_assert_not(mapped(0x40001000));
	cr_assert_not(mapped(0x40401000));
}

Test(traced, a_cr3_load_untraces_tables_only_globals_still_use)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40401000, 0x160000, RW | US, RW | US | A | D | G);
	uint32_t t_ng = table_of(0x40001000), t_g = table_of(0x40401000);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40401000, 0), SHADOW_MAPPED);
	shadow_new_cr3(sh);
	cr_assert_not(shadow_is_traced(sh, t_ng));
	cr_assert(shadow_is_traced(sh, t_g));
	cr_assert(shadow_is_traced(sh, PD), "the global page came through it");
	cr_assert_eq(ctr[CTR_pt_retired], 1);
	/* The surviving global page still follows its PTE. */
	*pte(0x40401000) = 0x155000 | P | RW | US | A | D | G;
	wrote(pte(0x40401000));
	cr_assert_not(mapped(0x40401000));
	/* Paging off and on: nothing is left traced. */
	cr_assert_eq(shadow_reset(sh, true, err, sizeof err), 0, "%s", err);
	cr_assert_not(shadow_is_traced(sh, t_g));
	cr_assert_not(shadow_is_traced(sh, PD));
}

Test(traced, an_untraceable_table_drops_what_it_mapped_then_acts_as_a_tlb)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);
	map4k(0x40401000, 0x160000, RW | US, RW | US | A | D);
	uint32_t t = table_of(0x40001000);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(fault(&u3, 0x40401000, 0), SHADOW_MAPPED);
	shadow_untraceable(sh, t + 8);
	cr_assert_not(mapped(0x40001000));
	expect_map(0x40401000, 0x160000, "rwxs");
	cr_assert_not(shadow_is_traced(sh, t));
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_not(shadow_is_traced(sh, t), "traced again");
	/* Its writes are no longer seen: INVLPG, as with --shadow=tlb. */
	*pte(0x40001000) = 0x155000 | P | RW | US | A | D;
	expect_map(0x40001000, 0x123000, "rwxs");
	shadow_invlpg(sh, 0x40001000);
	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_eq(read_lin(0x40001000), marker(0x155000));
}

Test(shadow, tlb_mode_traces_no_tables)
{
	map4k(0x40001000, 0x123000, RW | US, RW | US | A | D);

	cr_assert_eq(fault(&u3, 0x40001000, 0), SHADOW_MAPPED);
	cr_assert_not(shadow_is_traced(sh, PD));
	cr_assert_not(shadow_is_traced(sh, table_of(0x40001000)));
	cr_assert_eq(ctr[CTR_pt_traced], 0);
}
