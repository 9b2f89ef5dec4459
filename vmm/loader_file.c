/*
 * loader_file.c — read a kernel image from disk and hand it to the
 * multiboot loader (loader_multiboot.c).
 *
 * Only regular, non-empty files no larger than guest RAM plus a little
 * slack (ELF headers and symbols need not fit in RAM) are read; anything
 * else is refused before allocating.  Every error line starts with the
 * path, so that "popek run KERNEL" failures name the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
		snprintf(err, errlen, "%s: is a directory, not a kernel image",
		         path);
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

int loader_load_file(const char *path, uint8_t *ram, uint64_t ram_size,
                     const char *cmdline, struct boot_state *out,
                     char *err, size_t errlen)
{
	char why[512];
	size_t size = 0;
	uint8_t *buf = slurp(path, ram_size, &size, err, errlen);
	int rc;

	if (buf == NULL)
		return -1;
	rc = loader_multiboot(buf, size, ram, ram_size, cmdline, out,
	                      why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	free(buf);
	return rc;
}
