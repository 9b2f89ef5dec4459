/*
 * tc.h — the translation cache: guest kernel code, one basic block at a
 * time, copied into the monitor region with every instruction that needs
 * the monitor replaced by a callout (DESIGN.md §3, §7).
 *
 * The monitor region is the top 16 MiB of the guest window, [TC_BASE,
 * 4 GiB): guest segments are truncated below it (vmm/segshadow.c) and
 * the shadow MMU never maps guest pages there.  Its layout:
 *
 *   TC_VPAGE   the per-vCPU page the callout path uses (offsets TCV_*)
 *   TC_LOOKUP  the inline lookup table
 *   TC_SELTAB  guest selector -> host selector, for inline segment loads
 *   TC_SELREV  host selector -> guest selector, for inline PUSH Sreg
 *   TC_VERWTAB guest selector -> VERW's ZF at CPL 0, for inline VERW
 *   TC_ZFTAB   LAHF's image with ZF cleared or set, for inline VERW
 *   TC_TRAMP   the 64-bit trampoline every stub jumps to (below)
 *   TC_STUBS   16-byte 64-bit stubs, one per callout site: a site in
 *              translated (32-bit) code is `ljmp $0x33, $stub`; the stub
 *              stores its number in the vpage and jumps to the trampoline,
 *              which finds the key page and jumps to the monitor's
 *              popek_callout (vmm/switch.S), which saves the guest
 *              registers and returns from popek_enter as a CALLOUT exit
 *   TC_CODE    translated blocks
 *
 * Guest user code runs directly, where it can reach every address below
 * 4 GiB through the host's flat DPL-3 segments and, after a far jump to
 * the host's 64-bit selector, any address it knows (DESIGN.md section 11,
 * docs/escape.md).  So the region holds no monitor pointer and nothing
 * the monitor trusts that a guest could write: it is one memfd mapped
 * twice, at TC_BASE for translated code (the vpage read-write, the rest
 * read-only, code and stubs executable) and at an address the kernel
 * picks for the monitor, which writes code, stubs and tables through that
 * view only (tc_ptr).  The vpage's fields are rewritten before every
 * entry into translated code or used only within one callout.  The
 * monitor's addresses (the switch area, popek_callout) are in the key
 * page, mapped read-only at a random 4 GiB-aligned address (bits 32..46
 * random, low bits zero); translated code runs with the key in GS base
 * bits 32..46, which compatibility mode ignores (tc_gs_base), and the
 * trampoline reads it with RDGSBASE.  Direct guest code runs with its own GS base.
 * Without FSGSBASE the key page is TC_KEYPAGE, below 4 GiB and readable
 * by guest code (read-only): the weaker arrangement docs/escape.md names.
 *
 * A callout site is either a BRANCH to a guest EIP (a block's exit: the
 * monitor looks the target up, translating on a miss, and where the
 * target lies in the same guest page and frame patches the branch to
 * jump there directly — chaining), or an EMULATE of the guest
 * instruction at its EIP (sensitive, privileged, far and indirect
 * control flow, INT n, IRET...): the monitor runs it, then continues
 * wherever the guest's EIP then is.
 *
 * Precise state: translated code changes no guest register that the
 * guest instruction would not, and only the first translated instruction
 * of a guest instruction can fault, so every address in a block maps
 * back to the guest EIP at which the guest state is exactly what the
 * registers hold (tc_map_back) — for a fault, a kick or a resume.
 *
 * Translations are keyed by guest linear EIP and CS base and remember
 * the guest frames their bytes came from; tc_find checks those frames
 * against the guest's current mapping (ctx->frame_of); chains and the
 * inline lookup table, which skip that check, are undone at every change
 * of the guest's mappings (tc_unchain_cross, tc_lookup_clear).  Writes to a frame with translations are
 * seen by write tracing (the caller's job) and drop them
 * (tc_invalidate_frame).  When any part of the cache fills, everything
 * is flushed.
 *
 * Single vCPU, vCPU thread only: no locking.
 */
#ifndef POPEK_TRANSLATE_TC_H
#define POPEK_TRANSLATE_TC_H

#define TC_BASE       0xFF000000
#define TC_SIZE       0x01000000
#define TC_VPAGE      TC_BASE
#define TC_LOOKUP     (TC_BASE + 0x1000)     /* 64 Ki x {guest EIP, TC} */
#define TC_LOOKUP_N   0x10000
#define TC_SELTAB     (TC_BASE + 0x81000)    /* u16 x 64 Ki: tc_seg_load */
#define TC_SELREV     (TC_BASE + 0xA1000)    /* u32 x 64 Ki: tc_seg_push */
#define TC_VERWTAB    (TC_BASE + 0xE1000)    /* u8 x 64 Ki: tc_seg_load */
#define TC_ZFTAB      (TC_BASE + 0xF1000)    /* u8 x 2 Ki: AH with ZF set */
#define TC_VPAGE_SIZE 0x100000               /* what TC code sees via %gs */
#define TC_KEYPAGE    (TC_BASE + 0xFE000)    /* the key page without FSGSBASE */
#define TC_TRAMP      (TC_BASE + 0xFF000)
#define TC_GATE       (TC_TRAMP + 0x800)     /* the vDSO gate (vmm/switch.h) */
#define TC_GATE_CS    0x837                  /* BT_TC_CS_SEL (vmm/bt.h) */
#define TC_SITE_GATE  0xFFFFFFFFu            /* its callouts' site number */
#define TC_STUBS      (TC_BASE + 0x100000)
#define TC_STUB_SIZE  16
#define TC_CODE       (TC_BASE + 0x200000)
#define TC_END        (0x100000000)
#define TC_NSTUBS     ((TC_CODE - TC_STUBS) / TC_STUB_SIZE)

/* vpage offsets (also used by vmm/switch.S, and by translated code
 * through %gs, whose base is TC_VPAGE while it runs) */
#define TCV_RAX       0     /* guest RAX while popek_callout saves it */
                            /* 8, 16: unused (no monitor pointers here) */
#define TCV_SITE      24    /* u32: the callout site number */
#define TCV_VIF       28    /* u32: the virtual IF (0 or 0x200) */
#define TCV_PEND      32    /* u32: non-zero when an interrupt may wait */
#define TCV_S0        36    /* u32 scratch: EAX inside an inline sequence */
#define TCV_S1        40    /* u32 scratch: ECX */
#define TCV_JT        44    /* u32: an indirect branch's TC target */
#define TCV_VFL       48    /* u32: virtual EFLAGS bits but IF and the
                             * live ones (IOPL, NT, AC, ID) */
#define TCV_H         52    /* u32: (unused) */
#define TCV_T         56    /* u32 scratch: an indirect branch's target */
#define TCV_G         60    /* u32 scratch: POPF's image */
#define TCV_TF        64    /* u32: 0x100 while the monitor single-steps */
#define TCV_PDELTA    68    /* u32: VFL - IF: PUSHF's image minus the
                             * host's, less the virtual IF */
#define TCV_CR0       72    /* u32 x 5: CR0-CR4 as MOV from CRn reads
                             * them (CR1: unused) */

/* key page offsets (vmm/switch.S) */
#define TCK_AREA      0     /* the vCPU's struct switch_area */
#define TCK_ENTRY     8     /* address of popek_callout */

/* The host 64-bit code selector a callout far-jumps to. */
#define TC_HOST_CS64  0x33

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tc_site_kind {
	TC_SITE_BRANCH = 1,   /* continue at guest_eip (a block exit) */
	TC_SITE_EMULATE,      /* the monitor carries out the insn at guest_eip */
};

struct tc_site {
	uint8_t kind;         /* enum tc_site_kind */
	uint8_t cls;          /* EMULATE: the scan class of the instruction */
	uint32_t guest_eip;
	uint32_t patch;       /* BRANCH: address of the rel32 that jumps to the
	                       * stub (0: none, not chainable) */
	uint32_t block;       /* the block the site belongs to */
	uint32_t exit_at;     /* BRANCH, once chained: where the rel32 pointed
	                       * before (the exit's ljmp) */
};

/* What the translator needs from the monitor. */
struct tc_ops {
	/* Guest-physical frame (address >> 12) that linear page `lin`
	 * maps to now, for a supervisor fetch; -1 when unmapped. */
	int (*frame_of)(void *ctx, uint32_t lin, uint32_t *frame);
	/* Adaptive translation: an IDENT instruction at this guest EIP is
	 * to be an EMULATE callout (site class SCAN_IDENT).  May be NULL. */
	bool (*force_callout)(void *ctx, uint32_t eip);
	/* The cache was flushed: nothing is translated any more. */
	void (*flushed)(void *ctx);
	void *ctx;
	uint64_t *counters;   /* the VM's counters (vmm/counters.def) */
};

/* The bytes of one block to translate, as fetched by the caller. */
struct tc_src {
	uint32_t eip;         /* guest EIP (offset in CS) */
	uint32_t cs_base;
	uint32_t frame[2];    /* frames of the first page and the next one */
	bool next_ok;         /* frame[1] is valid (bytes run into it) */
	const uint8_t *bytes; /* at linear cs_base + eip */
	size_t avail;
	bool one_shot;        /* one instruction, never reused or chained
	                       * (stepping past an interrupt shadow) */
	bool global;          /* every page of its bytes is mapped global (or
	                       * paging is off): a CR3 load keeps its chains
	                       * and lookup entries */
	bool user;            /* guest CPL 3 (running with IF = 0, or in the
	                       * vDSO page, vmm/bt.c): never chained, reused
	                       * only with `keep`; CLI, STI, POPF and the
	                       * indirect branches are callouts, whose
	                       * emulation checks CPL and IOPL */
	bool keep;            /* user: found again by tc_find_user (the
	                       * caller checks the page is still the guest's
	                       * user code) */
};

struct tc;

/* Map the monitor region and the key page (holding `area` and `entry`),
 * and copy the trampoline (`tramp`, `tramp_len` bytes of 64-bit code:
 * vmm/switch.S's popek_tramp_key when key_in_gs, else popek_tramp_fixed).
 * NULL and one line in err on failure. */
struct tc *tc_new(const struct tc_ops *ops, void *area, void (*entry)(void),
                  const void *tramp, size_t tramp_len, bool key_in_gs,
                  char *err, size_t errlen);
/* The GS base translated code runs with: TC_VPAGE in bits 0..31 (what
 * %gs addresses in compatibility mode), and the key page's address minus
 * TC_SIZE (so that the trampoline finds the page with one LEA, leaving
 * the guest's flags alone).  0 without key_in_gs. */
uint64_t tc_gs_base(const struct tc *tc);
/* The key page's address (4 GiB-aligned) when it is kept in GS base
 * bits, 0 when it is TC_KEYPAGE (no FSGSBASE). */
uint64_t tc_key_addr(const struct tc *tc);
/* Copy the vDSO gate's code (vmm/switch.h) to TC_GATE: 0, or -1 when it
 * does not fit in the trampoline page's second half. */
int tc_install_gate(struct tc *tc, const void *code, size_t len);
void tc_free(struct tc *tc);

/* The translation of the block at (cs_base, eip) whose frames still
 * match the guest's mapping: its TC address, or 0. */
uint32_t tc_find(struct tc *tc, uint32_t eip, uint32_t cs_base);
/* The same among the kept CPL-3 translations (tc_src.keep). */
uint32_t tc_find_user(struct tc *tc, uint32_t eip, uint32_t cs_base);

/* Translate a block.  Returns its TC address; 0 when the first
 * instruction does not fit in src->avail (the caller's fetch stopped:
 * the guest faults there).  *used_next: the block's bytes run into the
 * next page (frame[1]).  A full cache is flushed first (ops->flushed). */
uint32_t tc_translate(struct tc *tc, const struct tc_src *src,
                      bool *used_next);

/* The site a callout came from (number stored by its stub), or NULL. */
const struct tc_site *tc_site(const struct tc *tc, uint32_t id);
/* The site whose stub holds address `rip` (a signal inside a stub). */
int tc_stub_site(const struct tc *tc, uint64_t rip, uint32_t *id);
/* A BRANCH site reached its target, translated at `target`: patch the
 * branch to go there directly.  Within one guest page and frame the
 * chain lasts; to another page or frame it lasts until tc_unchain_cross
 * (the caller's job at every change of the guest's mappings: CR3 loads,
 * INVLPG, paging changes) or an invalidation. */
bool tc_chain(struct tc *tc, uint32_t id, uint32_t target);
/* Undo every chain that crosses pages or frames. */
void tc_unchain_cross(struct tc *tc);

/* The guest's mappings changed; drop the chains across pages and the
 * lookup entries that may now be wrong.  TC_MAP_ALL: any of them (paging
 * turned on/off, CR0.WP, CR4.PSE/PGE).  TC_MAP_CR3: those whose blocks
 * are not all global.  TC_MAP_PAGE: those touching the 4 MiB region of
 * `lin` (INVLPG: 4 KiB or 4 MiB guest pages alike). */
enum tc_map_change { TC_MAP_ALL, TC_MAP_CR3, TC_MAP_PAGE };
void tc_mappings_changed(struct tc *tc, enum tc_map_change what, uint32_t lin);

/* The guest EIP at which the guest state is what the registers hold
 * when translated code stopped at `tc_addr`: 0.  1: tc_addr lies inside
 * an inline sequence, where registers hold scratch values (no guest EIP
 * is exact; the monitor steps on to the next boundary).  -1: outside any
 * block. */
int tc_map_back(const struct tc *tc, uint32_t tc_addr, uint32_t *eip);

/* The inline lookup table for indirect branches (TC_LOOKUP): the block
 * at tc_addr continues guest EIP `eip`.  Cleared by tc_lookup_clear (and
 * by every invalidation and flush). */
void tc_lookup_insert(struct tc *tc, uint32_t eip, uint32_t tc_addr);
void tc_lookup_clear(struct tc *tc);

/* The segment tables inline MOV Sreg, POP Sreg and PUSH Sreg use
 * (translate/inline.c), kept by the monitor (vmm/segshadow.c) and read
 * only by translated code; flushes leave them alone (they describe the
 * host LDT, not translations).  tc_seg_load: at CPL 0, loading guest
 * selector `sel` into DS, ES or FS (every check passed, the accessed bit
 * set) is loading host selector `host`, and VERW at CPL 0 answers
 * `writable`; -1: neither is known (callouts).
 * tc_seg_push: a data segment register holding host selector `host` holds
 * guest selector `sel` for the guest; known false: not known.
 * tc_seg_push_null: host selector 0 (a null) is guest selector 0 in every
 * data segment register that holds it (zero), or not known: set at every
 * entry, and inline loads of null keep it.  tc_seg_clear: no tc_seg_load
 * entry is known any more but null 0's (tc_new starts so). */
void tc_seg_load(struct tc *tc, uint16_t sel, int host, bool writable);
void tc_seg_push(struct tc *tc, uint16_t host, uint16_t sel, bool known);
void tc_seg_push_null(struct tc *tc, bool zero);
void tc_seg_clear(struct tc *tc);

/* Guest frame `frame` was written: drop the translations made from it. */
void tc_invalidate_frame(struct tc *tc, uint32_t frame);
/* Drop everything (the caller stops its write tracing too). */
void tc_flush(struct tc *tc);
/* Bumped on every invalidation and flush: a TC address kept across an
 * exit is still good only while this is unchanged. */
uint64_t tc_generation(const struct tc *tc);

#endif /* __ASSEMBLER__ */
#endif
