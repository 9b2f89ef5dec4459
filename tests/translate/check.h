/*
 * check.h — the invariants of one translated block, checked from the
 * outside against tc.h's model and emit.c's documented rewrites: shared
 * by the translator's unit tests (tests/unit/test_translate.c) and its
 * fuzz target (tests/fuzz/fuzz_translate.c).
 *
 * The checker decodes the emitted code with scan/ as 32-bit code at its
 * TC address and asks of every instruction what it is: a copy of a
 * guest IDENT instruction (in guest order), part of the inline sequence
 * of a guest CLI, STI, PUSHF, POPF, RET [imm16], JMP/CALL r/m or of a
 * direct JMP/CALL rel to another page in a CS-base-0 kernel block (the
 * lookup of its constant target, its miss a jump to the block's exit;
 * matched whole against inline.c's documented shape: its bytes, the
 * vpage words and lookup entries it reaches through %gs, where its short
 * jumps land, the sites of its ljmps), an EMULATE callout of the
 * instruction that ends the block (its class; IDENT for the monitor's
 * adaptive force_callout), a CALL's push of its return address, a direct branch
 * that stays in the block or enters another block, or `ljmp $0x33` to
 * the stub of one of the block's own callout sites.  Anything else (a
 * privileged or sensitive instruction but the sequences' pushf/popf, an
 * indirect branch but `jmp *%gs:JT`, a CALL, a branch into nowhere) is a
 * violation, and so is a map entry that gives any byte of the block a
 * guest EIP other than the one its guest state corresponds to, or an
 * exact EIP inside a sequence where registers hold scratch values
 * (those are "nb").  A tc_src.user block (guest CPL 3) is expected to
 * be one-shot for the cache, with only PUSHF and RDTSC inline and no
 * lookups.  Reads the cache's tables (tc_impl.h) and asks
 * ops.force_callout, but changes nothing.
 */
#ifndef POPEK_TESTS_TRANSLATE_CHECK_H
#define POPEK_TESTS_TRANSLATE_CHECK_H

#include <stddef.h>

#include "translate/tc.h"

/* Under AddressSanitizer the monitor region [TC_BASE, 4 GiB) lies in
 * the sanitizer's shadow gap: map the shadow of that range (zeroes:
 * "addressable") so that instrumented code may touch the TC.  Nothing
 * without ASan.  Call before tc_new. */
void tccheck_asan_prepare(void);

/* Check the block that tc_translate(tc, src) placed at TC address
 * start.  0, or -1 with the first violation described in why. */
int tccheck_block(const struct tc *tc, const struct tc_src *src,
                  uint32_t start, char *why, size_t whylen);

#endif
