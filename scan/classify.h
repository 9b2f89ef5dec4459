/*
 * classify.h — what the binary translator must do with each guest
 * instruction, and the basic-block scanner built on it (DESIGN.md §7).
 *
 * Every mnemonic the decoder knows has a class in ONE table
 * (scan/classify_table.c), refined by a few operand rules in
 * scan/classify.c: MOV/PUSH/POP with a segment register are sensitive,
 * MOV with a control or debug register is privileged, JMP/CALL are
 * direct only with a relative target and RET/JMP/CALL are far when the
 * decoder says so, and any use of the segment register the monitor
 * reserves inside the translation cache (default GS) is marked.
 *
 * Two separate questions, two answers (see scan_block):
 *  - does the instruction end the basic block (SCAN_F_END)?  Control
 *    flow does — near and far branches, INT n/INT3/INTO/INT1, IRET,
 *    SYSENTER/SYSEXIT/SYSCALL/SYSRET, XBEGIN, #UD — and so do the few
 *    privileged instructions after which the next instruction's bytes or
 *    address may change: MOV to CR0-CR4, LMSW, INVLPG, INVPCID, HLT.
 *  - can it be copied into the translation cache?  Only IDENT is copied
 *    as is; near branches are rewritten to stay in the cache; everything
 *    else (scan_needs_monitor) becomes an inline sequence or a callout,
 *    and a callout that does not end the block returns to the next
 *    instruction of the same block.
 *
 * No Zydis type crosses this header; the mnemonic is an opaque number
 * (scan_mnemonic_name gives its text).  Pure functions: any thread.
 */
#ifndef POPEK_SCAN_CLASSIFY_H
#define POPEK_SCAN_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan/decode.h"

enum scan_class {
	SCAN_UNCLASSIFIED = 0, /* a hole in the table: a bug (tests check) */
	SCAN_IDENT,            /* copied into the TC as is */
	SCAN_PRIVILEGED,       /* CPL 0 only or IOPL-sensitive: emulated */
	SCAN_SENSITIVE,        /* runs at CPL 3 but sees or changes state
	                        * the monitor virtualises (SGDT, PUSHF,
	                        * MOV Sreg, LAR, LDS...): emulated/inlined */
	SCAN_BRANCH_DIRECT,    /* JMP/Jcc/CALL rel, LOOPcc, JCXZ: a target */
	SCAN_BRANCH_INDIRECT,  /* JMP/CALL r/m, RET, RET imm16 */
	SCAN_BRANCH_FAR,       /* JMP/CALL ptr16:32 or m16:32, RET far */
	SCAN_SOFTINT,          /* INT n, INT3, INTO, INT1 */
	SCAN_IRET,             /* IRET, IRETD */
	SCAN_POLICY,           /* unprivileged, but shows the host (CPUID,
	                        * RDTSC, RDPKRU, SYSENTER...): the monitor's
	                        * policy decides what the guest sees */
	SCAN_SEGREG_RESERVED,  /* an otherwise IDENT or SENSITIVE instruction
	                        * that uses the reserved segment register */
	SCAN_UNDEFINED,        /* does not decode, or always #UD (UD2) */
	SCAN_CLASS_COUNT
};

/* scan_insn.flags */
#define SCAN_F_END      0x01 /* ends the basic block */
#define SCAN_F_COND     0x02 /* conditional: may also fall through */
#define SCAN_F_TARGET   0x04 /* target holds a relative branch's target */
#define SCAN_F_RESV_SEG 0x08 /* uses the reserved segment register (set
                              * whatever the class, e.g. on a
                              * JMP [gs:eax]) */

struct scan_insn {
	uint32_t eip;      /* guest EIP of the instruction */
	uint16_t offset;   /* from the start of its block */
	uint8_t len;       /* bytes; 1 for an UNDEFINED that did not decode */
	uint8_t cls;       /* enum scan_class */
	uint8_t flags;     /* SCAN_F_* */
	uint16_t mnem;     /* opaque mnemonic number; 0 if it did not decode */
	uint32_t target;   /* SCAN_F_TARGET: EIP of the branch target, wrapped
	                    * to 16 bits under a 16-bit operand size */
};

struct scan_opts {
	bool code32;          /* 32-bit code segment (else 16-bit) */
	uint8_t reserved_seg; /* enum seg the monitor owns in the TC, or
	                       * SEG_COUNT for none */
	uint16_t max_insns;   /* block limit, 1..SCAN_MAX_INSNS (0 or more
	                       * than that: SCAN_MAX_INSNS) */
};

#define SCAN_MAX_INSNS 64
#define SCAN_PAGE_SIZE 4096u

#define SCAN_OPTS_DEFAULT \
	((struct scan_opts){ .code32 = true, .reserved_seg = SEG_GS, \
	                     .max_insns = SCAN_MAX_INSNS })

/* Why scan_block stopped. */
enum scan_stop {
	SCAN_STOP_END = 1,   /* the last instruction has SCAN_F_END */
	SCAN_STOP_PAGE,      /* the next instruction would start on the next
	                      * page (the last one may straddle: two_pages) */
	SCAN_STOP_LIMIT,     /* opts.max_insns instructions */
	SCAN_STOP_SHORT,     /* the next instruction runs past the bytes the
	                      * caller gave (avail): fetch more, or the guest
	                      * faults there */
};

struct scan_block {
	uint32_t eip;          /* of the first instruction */
	uint16_t len;          /* bytes, first instruction to end of last */
	uint16_t ninsn;
	uint8_t stop;          /* enum scan_stop */
	bool two_pages;        /* the last instruction crosses a page end */
	struct scan_insn insn[SCAN_MAX_INSNS];
};

/* Classify the instruction at buf[0..avail), guest address eip.
 * Returns 0 (bytes that are not a valid instruction classify as
 * SCAN_UNDEFINED with len 1), or -1 if avail is too short to tell. */
int scan_classify(const uint8_t *buf, size_t avail, uint32_t eip,
                  const struct scan_opts *o, struct scan_insn *out);

/* Scan one basic block starting at eip, whose bytes are buf[0..avail)
 * (they may run past the page: a straddling instruction needs up to 14
 * bytes of the next one).  Stops at the first of: an instruction that
 * ends the block, the page end, o->max_insns, or avail; see enum
 * scan_stop.  Returns the number of instructions (0 only with
 * SCAN_STOP_SHORT at the first one). */
unsigned scan_block(const uint8_t *buf, size_t avail, uint32_t eip,
                    const struct scan_opts *o, struct scan_block *out);

/* The class table itself, by opaque mnemonic number 1..count: for the
 * tests and reports.  scan_mnemonic_class gives the table's entry,
 * before any operand rule. */
unsigned scan_mnemonic_count(void);
enum scan_class scan_mnemonic_class(unsigned mnem);
const char *scan_mnemonic_name(unsigned mnem);

/* "IDENT", "PRIVILEGED", ...; NULL past the end. */
const char *scan_class_name(enum scan_class c);

/* Everything but IDENT and near branches needs the monitor: an inline
 * sequence or a callout. */
static inline bool scan_needs_monitor(enum scan_class c)
{
	return c != SCAN_IDENT && c != SCAN_BRANCH_DIRECT &&
	       c != SCAN_BRANCH_INDIRECT;
}

#endif
