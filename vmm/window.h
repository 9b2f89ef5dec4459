/*
 * window.h — the guest window and guest RAM.
 *
 * Guest linear address L is host address L: popek reserves host
 * [0, 4 GiB) PROT_NONE before anything else can map there, so 32-bit guest
 * code can reach nothing of the monitor (which lives above 4 GiB); the
 * shadow MMU then turns the reservation into holes (window_unmap).  Guest
 * RAM is one memfd, mapped once above 4 GiB for the monitor and devices
 * (the host view) and into the window where the guest sees it.
 */
#ifndef POPEK_VMM_WINDOW_H
#define POPEK_VMM_WINDOW_H

#include <stdint.h>
#include <stddef.h>

#define WINDOW_SIZE   0x100000000ull
#define RAM_MIB_MIN   1
#define RAM_MIB_MAX   3072
#define RAM_MIB_DEFAULT 128

/* End of the window popek can claim.  4 GiB, except in an AddressSanitizer
 * build, whose shadow memory starts at 0x7fff8000: there the window ends
 * below it (and guest RAM must fit). */
#if defined(__SANITIZE_ADDRESS__)
#define WINDOW_TOP 0x7fff0000ull
#else
#define WINDOW_TOP WINDOW_SIZE
#endif

struct guest_ram {
	int fd;            /* the memfd */
	uint8_t *host;     /* host view, above 4 GiB */
	uint64_t size;     /* bytes */
};

/* Reserve [0, 4 GiB).  Returns 0, or -1 with one line in err naming what is
 * mapped there.  *low receives the first linear address popek could
 * reserve (0, or vm.mmap_min_addr when page 0 cannot be mapped). */
int window_reserve(uint64_t *low, char *err, size_t errlen);
/* Unmap [addr, addr+len), leaving a hole: 0, or -1 when the host refuses
 * (at vm.max_map_count, where the unmap would split a mapping). */
int window_unmap(uint64_t addr, uint64_t len);

int ram_create(struct guest_ram *ram, uint64_t mib, char *err, size_t errlen);
/* Map RAM at guest linear = guest physical (paging off), from low up. */
int ram_map_identity(const struct guest_ram *ram, uint64_t low, char *err,
                     size_t errlen);
void ram_destroy(struct guest_ram *ram);

#endif
