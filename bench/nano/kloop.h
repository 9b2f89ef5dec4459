/*
 * kloop.h — bench/nano's kernel-heavy loop and its 100 call/rets in a
 * row, the same instructions in the bench guest (nano.c, at CPL 0) and
 * in the native process (native.c):
 *
 *   KLOOP(name, before, after)
 *               `void name(int iters, uint32_t *cell)`: iters times,
 *               `before`, CALL to a small leaf function (a load,
 *               arithmetic, a conditional branch taken every other call,
 *               a store, RET), `after`, DEC, JNZ.  nano.c makes kloop_cli
 *               (before = CLI, after = STI) and kloop_plain (neither);
 *               native.c only kloop_plain (CLI/STI fault at CPL 3).
 *   CALLRET_X100
 *               an asm body: 100 CALLs in a row to a bare RET.
 *
 * Each keeps its code inside one 64-byte (loop and leaf) or 1 KiB (the
 * calls and their RET) aligned stretch, so in one guest page: under
 * --mode=bt a branch to another page goes through the monitor's lookup
 * (a callout of its own), which would make these rows depend on where
 * the linker put them.  Plain assembly (no absolute addresses: native.c
 * may be a PIE).
 */
#ifndef POPEK_BENCH_NANO_KLOOP_H
#define POPEK_BENCH_NANO_KLOOP_H

#include <stdint.h>

#define KLOOP_ITERS 1000

#define KLOOP(name, before, after)                        \
	void name(int iters, uint32_t *cell);             \
	__asm__(".text\n"                                 \
		".p2align 6\n"                            \
		".globl " #name "\n"                      \
		#name ":\n\t"                             \
		"pushl %ebx\n\t"                          \
		"movl 8(%esp), %ebx\n\t"                  \
		"movl 12(%esp), %edx\n"                   \
		"1:\t"                                    \
		before "\n\t"                             \
		"movl %ebx, %eax\n\t"                     \
		"call 2f\n\t"                             \
		after "\n\t"                              \
		"decl %ebx\n\t"                           \
		"jnz 1b\n\t"                              \
		"popl %ebx\n\t"                           \
		"ret\n"                                   \
		/* the leaf: %eax the iteration, %edx the cell */ \
		"2:\t"                                    \
		"movl (%edx), %ecx\n\t"                   \
		"leal 1(%ecx,%eax,2), %ecx\n\t"           \
		"xorl %eax, %ecx\n\t"                     \
		"testb $1, %al\n\t"                       \
		"jz 3f\n\t"                               \
		"addl $3, %ecx\n"                         \
		"3:\t"                                    \
		"movl %ecx, (%edx)\n\t"                   \
		"ret\n")

/* For __asm__ volatile(CALLRET_X100 ::: "memory"); the padding before the
 * RET is jumped over. */
#define CALLRET_X100                                      \
	"jmp 2f\n\t"                                      \
	".p2align 10\n"                                   \
	"1:\tret\n"                                       \
	"2:\t.rept 100\n\t"                               \
	"call 1b\n\t"                                     \
	".endr"

#endif
