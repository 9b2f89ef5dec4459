/*
 * lowmap.c — LD_PRELOAD'ed into popek by tests/host/window.sh: maps one
 * page at 1 GiB before popek's main() runs, so that the guest window
 * [0, 4 GiB) is not free and popek must refuse to start, naming what is
 * mapped there.
 */
#include <sys/mman.h>

__attribute__((constructor)) static void lowmap(void)
{
	mmap((void *)0x40000000, 4096, PROT_READ,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
}
