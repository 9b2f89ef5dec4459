/*
 * shadow.h — the shadow MMU: the host mappings of the guest window that
 * make guest linear address L host address L (DESIGN.md §2, §6).
 *
 * The "shadow page table" is the set of host mappings of [low, top): each
 * mapped 4 KiB page is one page of the guest-RAM memfd, with host rights
 * no larger than what the guest's own page tables give at the current
 * CPL.  Pages are mapped lazily from the host page fault (shadow_fault),
 * which walks the guest tables (walk.h) and either maps the page, or
 * tells the caller to give the guest a #PF, or to emulate the access
 * (guest-physical address outside RAM: MMIO, or nothing).
 *
 * By default the mappings behave like a TLB: a guest write to its page
 * tables is not seen until the guest invalidates (INVLPG, CR3 load,
 * CR4.PGE toggle), which the architecture requires of it anyway; any host
 * fault re-walks the tables, so rights the guest raised are seen at once.
 * With `trace_tables` (--shadow=traced) the page directory and page
 * tables behind the mappings are write-traced (pttrace.h) and a guest
 * write to an entry drops the mappings it produced at once.  Accessed and
 * dirty bits are exact: a page is mapped writable only once the guest's
 * D bit is set (the write that sets it faults first).
 *
 * User/supervisor: a guest supervisor page (U/S = 0 anywhere on the walk)
 * carries protection key `pkey`, access-disabled while the guest runs at
 * CPL 3 (shadow_enter writes PKRU before every entry).  Instruction
 * fetches ignore protection keys, so a supervisor page mapped executable
 * (trap mode runs guest kernel code in place) loses PROT_EXEC on every
 * switch to CPL 3 and gets it back on the way to CPL 0.  Without PKU
 * (`--no-pku`, or a host without it) supervisor pages are unmapped on
 * every switch to CPL 3 and refault at CPL 0.  CPL 0 writes that only
 * CR0.WP=0 allows are treated the same way.  With `share_super`
 * (--no-user-isolation) supervisor pages are left as they are: guest user
 * code can then read and write them, which costs no host work at a CPL
 * change (on a host without PKU the unmapping above is most of the cost
 * of a guest system call: bench/linux).
 *
 * Host mapping count: contiguous guest frames at contiguous linear pages
 * merge into one host mapping (the kernel merges adjacent memfd mappings
 * with the same rights); if the host refuses a mapping (vm.max_map_count),
 * everything is unmapped and the fault retried — the guest never fails.
 *
 * Single vCPU: no locking.  Runs on the vCPU thread only.
 */
#ifndef POPEK_SHADOWPT_SHADOW_H
#define POPEK_SHADOWPT_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "shadowpt/walk.h"

struct shadow;
struct guest_ram;

struct shadow_config {
	const struct guest_ram *ram;   /* vmm/window.h */
	uint64_t low, top;       /* window popek may map: [low, top) */
	bool use_pku;            /* false: --no-pku */
	uint64_t *counters;      /* the VM's counters (vmm/counters.def) */
	bool trace_tables;       /* --shadow=traced: see below */
	bool share_super;        /* --no-user-isolation: supervisor pages stay
	                          * mapped, executable, while CPL 3 runs */
};

/* --user-isolation=segments: supervisor pages at or above `top` stay
 * mapped while CPL 3 runs, because the caller cuts guest user segments
 * below `top` (vmm/segshadow.c); those below it are unmapped as ever.
 * Raising `top` unmaps what is mapped in between.  Any value above the
 * window (the default, 0xFFFFFFFF) means none are left mapped. */
void shadow_set_user_top(struct shadow *s, uint32_t top);
/* One past the highest user page (U/S = 1 all the way) ever mapped. */
uint64_t shadow_user_high(const struct shadow *s);

/* The guest's paging state, for one walk. */
struct shadow_regs {
	uint32_t cr0, cr3, cr4;
	int cpl;
};

enum shadow_outcome {
	SHADOW_MAPPED,     /* retry the access */
	SHADOW_GUEST_PF,   /* give the guest #PF(error), CR2 = the address */
	SHADOW_EMULATE,    /* guest-physical `phys` is not RAM: emulate */
	SHADOW_BAD_TABLE,  /* a PDE/PTE lies outside guest RAM */
	SHADOW_OUTSIDE,    /* linear address outside [low, top) */
	SHADOW_HOST_FAIL,  /* the host refused the mapping (errno kept) */
	SHADOW_TRACED,     /* a write to a write-traced frame: emulate it */
};

struct shadow_result {
	uint32_t error;    /* SHADOW_GUEST_PF: the #PF error code */
	uint32_t phys;     /* SHADOW_EMULATE: the guest-physical address */
	bool global;       /* SHADOW_MAPPED: a global page (CR4.PGE), or paging
	                    * off: a CR3 load leaves the translation alone */
};

/* NULL and one line in err on failure. */
struct shadow *shadow_new(const struct shadow_config *cfg, char *err,
                          size_t errlen);
void shadow_free(struct shadow *s);
/* Whether user/supervisor separation uses protection keys. */
bool shadow_uses_pku(const struct shadow *s);

/* Paging turned on or off (CR0.PG), or CR0.WP / CR4.PSE / CR4.PGE
 * changed: drop every mapping; with paging off map RAM identically.
 * 0, or -1 with one line in err. */
int shadow_reset(struct shadow *s, bool paging, char *err, size_t errlen);
/* CR3 load: drop every non-global mapping. */
void shadow_new_cr3(struct shadow *s);
/* INVLPG: drop the translation of the page holding `lin` (the whole
 * 4 MiB page when it came from a 4 MiB guest page). */
void shadow_invlpg(struct shadow *s, uint32_t lin);

/* One guest frame whose host mappings are never executable (the guest
 * vDSO's code, which popek runs translated: vmm/bt.c): a fetch from it
 * faults, every other access is as usual.  Its mappings refault now. */
void shadow_noexec(struct shadow *s, uint32_t frame);
bool shadow_is_noexec(const struct shadow *s, uint32_t phys);
/* One guest frame whose user mappings show another page, page 0 of fd,
 * read-only (the vDSO patched for --vdso=gate: vmm/bt.c); its supervisor
 * mappings stay the frame.  fd < 0: none.  Its mappings refault now. */
void shadow_alias(struct shadow *s, uint32_t frame, int fd);

/* A host page fault at `lin` with host error code `host_err` (bit 1
 * write, bit 4 instruction fetch) while the guest ran with `r`. */
enum shadow_outcome shadow_fault(struct shadow *s, const struct shadow_regs *r,
                                 uint32_t lin, uint32_t host_err,
                                 struct shadow_result *out);

/* Translate for the monitor (the emulator, interrupt delivery): walk the
 * guest tables for one access, setting A/D as the processor would, but
 * map nothing.  SHADOW_MAPPED means out->phys holds the translation. */
enum shadow_outcome shadow_translate(struct shadow *s,
                                     const struct shadow_regs *r, uint32_t lin,
                                     enum walk_access access,
                                     struct shadow_result *out);
/* As shadow_translate, changing nothing in guest memory (for reports). */
enum shadow_outcome shadow_peek(struct shadow *s, const struct shadow_regs *r,
                                uint32_t lin, struct shadow_result *out);

/*
 * Write tracing: one mechanism with clients ("tracers": descriptor
 * tables, later translated code).  A traced guest frame is never mapped
 * writable; a guest write to it faults (SHADOW_TRACED) and the monitor
 * emulates it, writing through the host view and then calling
 * shadow_wrote(), which tells every tracer of the frame what changed.
 * Writes by devices (DMA) are not seen.
 */
typedef void (*shadow_write_fn)(void *ctx, uint32_t phys, unsigned len);
/* A tracer number (0..7), or -1 when all are taken. */
int shadow_add_tracer(struct shadow *s, shadow_write_fn fn, void *ctx);
/* Start or stop tracing guest frame `frame` for `tracer`. */
void shadow_trace(struct shadow *s, int tracer, uint32_t frame, bool on);
bool shadow_is_traced(const struct shadow *s, uint32_t phys);
/* Whether `tracer` traces guest frame `frame` (false once the frame is
 * untraceable). */
bool shadow_is_traced_by(const struct shadow *s, int tracer, uint32_t frame);
/* A write to the frame of `phys` could not be emulated (an instruction
 * the emulator lacks): stop tracing it for good, so the guest writes it
 * natively from now on; its tracers are told once that the whole frame
 * is written, and see no more writes there. */
void shadow_untraceable(struct shadow *s, uint32_t phys);
/* The monitor wrote [phys, phys+len) of RAM: call the frames' tracers. */
void shadow_wrote(struct shadow *s, uint32_t phys, unsigned len);

/* Just before entering the guest at `cpl`: protection keys and the
 * CPL 3 fix-ups described above. */
void shadow_enter(struct shadow *s, int cpl);

#endif
