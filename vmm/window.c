/*
 * window.c — claim the host's low 4 GiB for the guest and create guest RAM.
 *
 * Must run first in main(): once threads and libraries start mapping
 * memory, nothing guarantees the low 4 GiB stay free.  PIE build and the
 * kernel's top-down mmap keep everything of the monitor above 4 GiB.
 */
#include "vmm/window.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Describe the first mapping below 4 GiB, from /proc/self/maps. */
static void first_low_mapping(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	snprintf(out, len, "an unknown mapping");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start = strtoull(line, NULL, 16);
		if (start < WINDOW_TOP) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "%.200s", line);
			break;
		}
	}
	fclose(f);
}

static uint64_t mmap_min_addr(void)
{
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");
	unsigned long long v = 65536;

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 65536;
		fclose(f);
	}
	return (v + 4095) & ~4095ull;
}

static int reserve_from(uint64_t low)
{
	void *p = mmap((void *)low, WINDOW_TOP - low, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	               MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if ((uint64_t)p != low) { /* old kernel ignoring NOREPLACE */
		munmap(p, WINDOW_TOP - low);
		return -EEXIST;
	}
	return 0;
}

int window_reserve(uint64_t *low, char *err, size_t errlen)
{
	char what[400];
	int r = reserve_from(0);

	*low = 0;
	if (r == -EPERM || r == -EACCES) {
		*low = mmap_min_addr();
		r = reserve_from(*low);
	}
	if (r == 0)
		return 0;
	if (r == -EEXIST) {
		first_low_mapping(what, sizeof(what));
		snprintf(err, errlen, "cannot reserve the guest window [0, 0x%llx): "
		         "already mapped there: %s", WINDOW_TOP, what);
	} else {
		snprintf(err, errlen, "cannot reserve the guest window [0, 0x%llx): %s",
		         WINDOW_TOP, strerror(-r));
	}
	return -1;
}

/* The reservation only keeps the window free while the monitor starts
 * (libraries, threads); once the shadow MMU owns a range, its unmapped
 * pages are holes, not PROT_NONE placeholders.  A host mapping made in
 * the middle of a placeholder splits it in three and its unmap merges a
 * new one back: 8.3 against 6.5 us a page in a host loop on the
 * development host, and a guest's anonymous faults ran a fifth faster
 * without (docs/shadow-paging.md).  Nothing else of
 * popek's maps below 4 GiB (the kernel places mmap top-down, far above),
 * and the shadow MMU maps into a hole with MAP_FIXED_NOREPLACE, so a
 * foreign mapping there is an error, never overwritten. */
int window_unmap(uint64_t addr, uint64_t len)
{
	return munmap((void *)addr, len);
}

int ram_create(struct guest_ram *ram, uint64_t mib, char *err, size_t errlen)
{
	ram->size = mib << 20;
	ram->fd = -1;
	if (ram->size > WINDOW_TOP) {
		snprintf(err, errlen, "-m %llu: guest RAM does not fit in this "
		         "build's guest window (%llu MiB; AddressSanitizer builds "
		         "keep its shadow there)", (unsigned long long)mib,
		         (unsigned long long)(WINDOW_TOP >> 20));
		return -1;
	}
	ram->fd = memfd_create("popek-guest-ram", MFD_CLOEXEC);
	if (ram->fd < 0) {
		snprintf(err, errlen, "memfd_create for guest RAM: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(ram->fd, (off_t)ram->size) < 0) {
		snprintf(err, errlen, "cannot size guest RAM to %llu MiB: %s",
		         (unsigned long long)mib, strerror(errno));
		close(ram->fd);
		return -1;
	}
	ram->host = mmap(NULL, ram->size, PROT_READ | PROT_WRITE,
	                 MAP_SHARED | MAP_NORESERVE, ram->fd, 0);
	if (ram->host == MAP_FAILED) {
		snprintf(err, errlen, "cannot map guest RAM (%llu MiB): %s",
		         (unsigned long long)mib, strerror(errno));
		close(ram->fd);
		return -1;
	}
	return 0;
}

int ram_map_identity(const struct guest_ram *ram, uint64_t low, char *err,
                     size_t errlen)
{
	if (low >= ram->size)
		return 0;
	void *p = mmap((void *)low, ram->size - low,
	               PROT_READ | PROT_WRITE | PROT_EXEC,
	               MAP_SHARED | MAP_FIXED | MAP_NORESERVE, ram->fd, (off_t)low);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map guest RAM into the window: %s",
		         strerror(errno));
		return -1;
	}
	return 0;
}

void ram_destroy(struct guest_ram *ram)
{
	if (ram->host && ram->host != MAP_FAILED)
		munmap(ram->host, ram->size);
	if (ram->fd >= 0)
		close(ram->fd);
	ram->host = NULL;
	ram->fd = -1;
}
