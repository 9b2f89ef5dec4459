/*
 * loader_impl.h — what the image loaders (loader_multiboot.c,
 * loader_linux.c) share: the one-line error and little-endian reads of
 * an image that may be unaligned.  Not an interface: see loader.h.
 */
#ifndef POPEK_VMM_LOADER_IMPL_H
#define POPEK_VMM_LOADER_IMPL_H

#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>

/* Write one line into err (if errlen) and return -1. */
static inline int loader_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int loader_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* An image's `struct image` has err and errlen: fail(im, fmt, ...). */
#define fail(im, ...) loader_fail((im)->err, (im)->errlen, __VA_ARGS__)

static inline uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
