/*
 * tc_fixture.h — the translation cache under test (test_translate.c,
 * test_translate_golden.c): a cache of its own in the test process (the
 * monitor region at 0xFF000000 is free there), a stub guest mapping
 * (frame = linear page, unless a test remaps a page), counters and a
 * count of flushes, and the monitor's adaptive choice (ops.force_callout:
 * no EIP, unless a test names one).  The area and entry pointers are
 * dummies: the tests never run translated code.  Every block translated through
 * tcfx_translate is also put through the invariant checker
 * (tests/translate/check.h).
 */
#ifndef POPEK_TESTS_TC_FIXTURE_H
#define POPEK_TESTS_TC_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "translate/tc.h"
#include "vmm/vm.h"

extern struct tc *tcfx;
extern uint64_t tcfx_ctr[CTR_MAX];
extern unsigned tcfx_flushes;

void tcfx_setup(void);
void tcfx_teardown(void);

/* Linear page `page` (address >> 12) maps to `frame` from now on; -1:
 * unmapped. */
void tcfx_map_page(uint32_t page, int64_t frame);
/* Adaptive translation: the IDENT instruction at eip is to be an
 * EMULATE callout from now on (ops.force_callout says so). */
void tcfx_force_callout(uint32_t eip);
/* A source of n bytes at EIP eip, CS base 0, its frames from the stub
 * mapping now. */
struct tc_src tcfx_src(uint32_t eip, const uint8_t *b, size_t n);
/* tc_translate, and check the block it made; 0 if it made none. */
uint32_t tcfx_translate(const struct tc_src *s, bool *two);

#define TCFX_BYTES(...) (const uint8_t[]){ __VA_ARGS__ }, \
	sizeof((const uint8_t[]){ __VA_ARGS__ })

#endif
