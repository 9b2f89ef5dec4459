/*
 * loader_file.c — read a kernel image (and an initrd) from disk, tell
 * its format and hand it to its loader: an ELF file, or anything else
 * that is not a Linux kernel, goes to the multiboot loader
 * (loader_multiboot.c: ELF32 or the a.out kludge); a file with the Linux
 * boot flag or "HdrS" signature goes to loader_linux.c.
 *
 * Only regular, non-empty files no larger than guest RAM plus a little
 * slack (ELF headers and symbols need not fit in RAM) are read; anything
 * else is refused before allocating.  Every error line starts with the
 * path of the file at fault, so that "popek run KERNEL" failures name it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <elf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/loader.h"

/* Headers, symbol and debug sections make a file larger than what it
 * loads; a file exceeding RAM by more than this cannot be a kernel that
 * fits. */
#define FILE_SLACK (64ull << 20)

static int read_all(int fd, uint8_t *buf, size_t size)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO; /* the file shrank under us */
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Check what fstat says; the size to read on success. */
static int check_stat(const char *path, const struct stat *st,
                      uint64_t ram_size, char *err, size_t errlen)
{
	if (S_ISDIR(st->st_mode))
		snprintf(err, errlen, "%s: is a directory, not a file", path);
	else if (!S_ISREG(st->st_mode))
		snprintf(err, errlen, "%s: not a regular file", path);
	else if (st->st_size == 0)
		snprintf(err, errlen, "%s: empty file", path);
	else if ((uint64_t)st->st_size > ram_size + FILE_SLACK)
		snprintf(err, errlen, "%s: file of %lld bytes is too large for "
		         "%llu MiB of guest RAM", path, (long long)st->st_size,
		         (unsigned long long)(ram_size >> 20));
	else
		return 0;
	return -1;
}

/* Read the whole file into a fresh buffer, or NULL with err filled. */
static uint8_t *slurp(const char *path, uint64_t ram_size, size_t *size,
                      char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		         strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0)
		snprintf(err, errlen, "%s: cannot stat: %s", path,
		         strerror(errno));
	else if (check_stat(path, &st, ram_size, err, errlen) == 0) {
		*size = (size_t)st.st_size;
		buf = malloc(*size);
		if (buf == NULL)
			snprintf(err, errlen, "%s: cannot allocate %zu bytes",
			         path, *size);
		else if (read_all(fd, buf, *size) < 0) {
			snprintf(err, errlen, "%s: read error: %s", path,
			         strerror(errno));
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	return buf;
}

static int load_linux(const char *path, const uint8_t *buf, size_t size,
                      const char *initrd_path, uint8_t *ram,
                      uint64_t ram_size, const char *cmdline,
                      struct boot_state *out, char *err, size_t errlen)
{
	char why[512];
	size_t isize = 0;
	uint8_t *initrd = NULL;
	int rc;

	if (initrd_path) {
		initrd = slurp(initrd_path, ram_size, &isize, err, errlen);
		if (initrd == NULL)
			return -1;
	}
	rc = loader_linux(buf, size, initrd, isize, ram, ram_size, cmdline,
	                  out, why, sizeof(why));
	if (rc < 0)        /* only an initrd that does not fit is its fault */
		snprintf(err, errlen, "%s: %s", strstr(why, "initrd") == why ?
		         initrd_path : path, why);
	free(initrd);
	return rc;
}

static int load_multiboot(const char *path, const uint8_t *buf, size_t size,
                          bool elf, uint8_t *ram, uint64_t ram_size,
                          const char *cmdline, struct boot_state *out,
                          char *err, size_t errlen)
{
	char why[512];

	if (loader_multiboot(buf, size, ram, ram_size, cmdline, out,
	                     why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s%s", path, why, elf ? "" :
		         "; nor is it a Linux bzImage (no \"HdrS\" at 0x202)");
		return -1;
	}
	return 0;
}

int loader_load_file(const char *path, const char *initrd_path,
                     uint8_t *ram, uint64_t ram_size, const char *cmdline,
                     struct boot_state *out, char *err, size_t errlen)
{
	size_t size = 0;
	uint8_t *buf = slurp(path, ram_size, &size, err, errlen);
	bool elf;
	int rc;

	if (buf == NULL)
		return -1;
	elf = size >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
	if (!elf && loader_is_linux(buf, size))
		rc = load_linux(path, buf, size, initrd_path, ram, ram_size,
		                cmdline, out, err, errlen);
	else if (initrd_path) {      /* before anything is loaded */
		snprintf(err, errlen, "%s: --initrd needs a Linux bzImage; this "
		         "is %s", path, elf ? "an ELF (multiboot) kernel, and "
		         "popek passes no multiboot modules" : "not a Linux "
		         "kernel (no boot flag 0xAA55, no \"HdrS\")");
		rc = -1;
	} else
		rc = load_multiboot(path, buf, size, elf, ram, ram_size, cmdline,
		                    out, err, errlen);
	free(buf);
	return rc;
}
