/*
 * decode_helpers.h — shared by the decoder's unit tests: decode a byte
 * list that must be exactly one valid instruction.
 */
#ifndef POPEK_TESTS_DECODE_HELPERS_H
#define POPEK_TESTS_DECODE_HELPERS_H

#include <criterion/criterion.h>
#include "scan/decode.h"

#define DECODE(mode32, ...) \
	decode_ok((const uint8_t[]){ __VA_ARGS__ }, \
	          sizeof((const uint8_t[]){ __VA_ARGS__ }), (mode32))

static inline struct insn decode_ok(const uint8_t *b, size_t n, bool code32)
{
	struct insn in;

	cr_assert_eq(scan_decode(b, n, code32, &in), 0);
	cr_assert_eq(in.len, n, "length %u, expected %zu", in.len, n);
	cr_assert_arr_eq(in.bytes, b, n);
	return in;
}

#endif
