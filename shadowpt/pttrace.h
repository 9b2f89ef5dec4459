/*
 * pttrace.h — the shadow MMU's page-table tracer (--shadow=traced),
 * private to shadowpt/: shadow.c calls it, it calls back the two
 * primitives at the end of this file, which shadow.c defines.
 *
 * Every guest frame the shadow used as a page directory or page table
 * while mapping a page is write-traced by this tracer (the third client
 * of shadow_add_tracer, after the descriptor tables and translated code).
 * A guest write to one is emulated by the shadow's SHADOW_TRACED path,
 * and shadow_wrote() passes the changed bytes here: the host mappings
 * that the changed PDEs/PTEs produced are dropped, exactly those, so the
 * next access re-walks the tables and the guest sees its write without
 * INVLPG.
 *
 * Reverse map: for each mapped linear page, the guest-physical address of
 * the PDE and of the PTE it was mapped through (recorded at map time);
 * for each traced page table, the PDE indices it was reached through.  A
 * PTE at index i of table T reached through PDE j can only have mapped
 * linear page j << 10 | i, so a PTE write checks one page per parent; a
 * PDE write at index k checks the 1024 pages of 4 MiB range k.  The
 * recorded addresses make the drop exact even for global pages mapped
 * through an earlier CR3's tables.
 *
 * Retirement: at a CR3 load every traced table frame stops being traced
 * unless a page still mapped (a global one) came through it; the new
 * address space's tables are traced again as its pages fault in.
 *
 * Single vCPU, vCPU thread only, like shadow.c.
 */
#ifndef POPEK_SHADOWPT_PTTRACE_H
#define POPEK_SHADOWPT_PTTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "shadowpt/walk.h"

struct shadow;
struct pttrace;

/* NULL with one line in err when out of memory or out of tracers. */
struct pttrace *pttrace_new(struct shadow *s, uint32_t nframes,
                            uint64_t *counters, char *err, size_t errlen);
void pttrace_free(struct pttrace *p);

/* A walk for a mapping succeeded: trace the tables it went through
 * (before the page is mapped, so that a table frame is mapped
 * read-only). */
void pttrace_walked(struct pttrace *p, const struct walk_result *w);
/* Linear pages pg..pg+n-1 are now mapped through the entries of w (a run
 * of consecutive PTEs, or pieces of one 4 MiB PDE). */
void pttrace_mapped(struct pttrace *p, uint32_t pg, uint32_t n,
                    const struct walk_result *w);

/* CR3 load, after the non-global mappings went: pttrace_retire_begin,
 * pttrace_keep for every run of pages still mapped, pttrace_retire_end
 * stops tracing the frames nothing kept. */
void pttrace_retire_begin(struct pttrace *p);
void pttrace_keep(struct pttrace *p, uint32_t pg, uint32_t n);
void pttrace_retire_end(struct pttrace *p);

/* --- provided by shadow.c for the tracer ---------------------------------- */

/* Unmap every mapped page of [pg, pg+n) for which drop(ctx, page) says
 * so, a run of consecutive ones per host call; the number dropped. */
uint32_t shadow_drop_if(struct shadow *s, uint32_t pg, uint32_t n,
                        bool (*drop)(void *ctx, uint32_t pg), void *ctx);

#endif
