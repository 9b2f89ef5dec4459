/*
 * decode.h — popek's one adapter over Zydis.  Nothing outside scan/ sees a
 * Zyan type: callers get a `struct insn` in popek's own terms.
 *
 * Only the instructions the monitor acts upon get their own `enum insn_op`
 * value; everything else decodes as INSN_OTHER with its length, so callers
 * can still report it (bytes and text) or step over it.
 */
#ifndef POPEK_SCAN_DECODE_H
#define POPEK_SCAN_DECODE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

enum insn_op {
	INSN_OTHER = 0,
	INSN_IN,    /* E4/E5 ib, EC/ED */
	INSN_OUT,   /* E6/E7 ib, EE/EF */
	INSN_INS,   /* 6C/6D */
	INSN_OUTS,  /* 6E/6F */
	INSN_CLI,   /* FA */
	INSN_STI,   /* FB */
	INSN_HLT,   /* F4 */
};

/* Segment registers, in x86 encoding order (Sreg field of ModRM). */
enum seg { SEG_ES = 0, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

struct insn {
	enum insn_op op;
	uint8_t len;          /* total length in bytes */
	uint8_t opsize;       /* data size of the access in bytes: 1, 2 or 4 */
	uint8_t addrsize;     /* effective address size in bits: 16 or 32 */
	bool rep;             /* F3 (or F2) prefix on a string instruction */
	int8_t seg_override;  /* enum seg, or -1 for none */
	bool port_in_dx;      /* IN/OUT: port comes from DX (else imm8) */
	uint8_t imm8;         /* IN/OUT: the imm8 port */
	uint8_t bytes[15];
};

/* Decode one instruction of 32-bit (code32) or 16-bit protected-mode code
 * from buf[0..avail).  Returns 0, or -1 if the bytes are not a valid
 * instruction or are cut short by avail. */
int scan_decode(const uint8_t *buf, size_t avail, bool code32, struct insn *out);

/* Intel-syntax text of the instruction at buf (for reports); always
 * NUL-terminates out, writing "(bad)" for invalid bytes. */
void scan_format(const uint8_t *buf, size_t avail, bool code32, uint32_t eip,
                 char *out, size_t outlen);

#endif
