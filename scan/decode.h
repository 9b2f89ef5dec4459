/*
 * decode.h — popek's one adapter over Zydis.  Nothing outside scan/ sees a
 * Zyan type: callers get a `struct insn` in popek's own terms.
 *
 * Only the instructions the monitor acts upon get their own `enum insn_op`
 * value; everything else decodes as INSN_OTHER with its length, so callers
 * can still report it (bytes and text) or step over it.
 *
 * The system, segment, sensitive, near-branch, data-moving and ALU
 * instructions also carry their explicit operands (`opnd[]`, in Intel order: destination first), again
 * in popek's terms; the I/O and string instructions keep their few
 * dedicated fields instead.
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
	/* System instructions (CPL 0), operands in opnd[]. */
	INSN_LGDT,        /* 0F 01 /2: LGDT m16&32 */
	INSN_LIDT,        /* 0F 01 /3: LIDT m16&32 */
	INSN_LMSW,        /* 0F 01 /6: LMSW r/m16 */
	INSN_INVLPG,      /* 0F 01 /7: INVLPG m */
	INSN_LLDT,        /* 0F 00 /2: LLDT r/m16 */
	INSN_LTR,         /* 0F 00 /3: LTR r/m16 */
	INSN_MOV_FROM_CR, /* 0F 20 /r: MOV r32, CR0-CR7 */
	INSN_MOV_TO_CR,   /* 0F 22 /r: MOV CR0-CR7, r32 */
	INSN_MOV_FROM_DR, /* 0F 21 /r: MOV r32, DR0-DR7 */
	INSN_MOV_TO_DR,   /* 0F 23 /r: MOV DR0-DR7, r32 */
	INSN_CLTS,        /* 0F 06 */
	INSN_INVD,        /* 0F 08 */
	INSN_WBINVD,      /* 0F 09 */
	INSN_RDMSR,       /* 0F 32 */
	INSN_WRMSR,       /* 0F 30 */
	INSN_RDPMC,       /* 0F 33 */
	INSN_SYSENTER,    /* 0F 34 */
	INSN_SYSEXIT,     /* 0F 35 (32-bit form; REX.W needs 64-bit mode) */
	/* Segment loads and far control transfers. */
	INSN_MOV_TO_SREG, /* 8E /r: MOV Sreg, r/m16 */
	INSN_POP_SREG,    /* 07, 17, 1F, 0F A1, 0F A9: POP ES/SS/DS/FS/GS */
	INSN_LDS,         /* C5 /r: LDS r16/32, m16:16/32 */
	INSN_LES,         /* C4 /r: LES r16/32, m16:16/32 */
	INSN_LSS,         /* 0F B2 /r: LSS r16/32, m16:16/32 */
	INSN_LFS,         /* 0F B4 /r: LFS r16/32, m16:16/32 */
	INSN_LGS,         /* 0F B5 /r: LGS r16/32, m16:16/32 */
	INSN_JMP_FAR,     /* EA cd/cp: JMP ptr16:16/32; FF /5: JMP m16:16/32 */
	INSN_CALL_FAR,    /* 9A cd/cp: CALL ptr16:16/32; FF /3: CALL m16:16/32 */
	INSN_RET_FAR,     /* CB: RET far; CA iw: RET far imm16 */
	INSN_IRET,        /* CF: IRET (16-bit) / IRETD (32-bit) */
	/* Data-moving and ALU instructions, operands in opnd[]: only their
	 * ModRM forms (and MOV's moffs forms), the ones that can touch
	 * memory.  ADD..CMP follow the /digit order of the 80-83 group. */
	INSN_MOV,         /* 88-8B /r; C6 /0, C7 /0; A0-A3 moffs */
	INSN_MOVZX,       /* 0F B6 /r, 0F B7 /r */
	INSN_MOVSX,       /* 0F BE /r, 0F BF /r */
	INSN_XCHG,        /* 86 /r, 87 /r */
	INSN_CMPXCHG,     /* 0F B0 /r, 0F B1 /r */
	INSN_XADD,        /* 0F C0 /r, 0F C1 /r */
	INSN_ADD,         /* 00-03 /r; 80-83 /0 */
	INSN_OR,          /* 08-0B /r; 80-83 /1 */
	INSN_ADC,         /* 10-13 /r; 80-83 /2 */
	INSN_SBB,         /* 18-1B /r; 80-83 /3 */
	INSN_AND,         /* 20-23 /r; 80-83 /4 */
	INSN_SUB,         /* 28-2B /r; 80-83 /5 */
	INSN_XOR,         /* 30-33 /r; 80-83 /6 */
	INSN_CMP,         /* 38-3B /r; 80-83 /7 */
	INSN_TEST,        /* 84 /r, 85 /r; F6 /0 ib, F7 /0 iw/id */
	INSN_INC,         /* FE /0, FF /0 */
	INSN_DEC,         /* FE /1, FF /1 */
	INSN_NOT,         /* F6 /2, F7 /2 */
	INSN_NEG,         /* F6 /3, F7 /3 */
	INSN_BT,          /* 0F A3 /r; 0F BA /4 ib */
	INSN_BTS,         /* 0F AB /r; 0F BA /5 ib */
	INSN_BTR,         /* 0F B3 /r; 0F BA /6 ib */
	INSN_BTC,         /* 0F BB /r; 0F BA /7 ib */
	/* String moves: like INS/OUTS, no opnd[]; opsize, addrsize, rep and
	 * seg_override (of the source) say it all. */
	INSN_MOVS,        /* A4, A5: MOVSB/MOVSW/MOVSD */
	INSN_STOS,        /* AA, AB: STOSB/STOSW/STOSD */
	INSN_PUSH_RM,     /* FF /6: PUSH r/m16/32 (opnd[0]) */
	INSN_POP_RM,      /* 8F /0: POP r/m16/32 (opnd[0]) */
	/* The sensitive-but-unprivileged instructions (the Popek-Goldberg
	 * hole: they run at CPL 3 without trapping yet read or change
	 * machine state) and CPUID/RDTSC, operands in opnd[] (none for
	 * PUSHF/POPF/CPUID/RDTSC: opsize says it all). */
	INSN_PUSHF,       /* 9C: PUSHF/PUSHFD */
	INSN_POPF,        /* 9D: POPF/POPFD */
	INSN_SGDT,        /* 0F 01 /0: SGDT m */
	INSN_SIDT,        /* 0F 01 /1: SIDT m */
	INSN_SMSW,        /* 0F 01 /4: SMSW r/m16, SMSW r32/m16 */
	INSN_SLDT,        /* 0F 00 /0: SLDT r/m16, SLDT r32/m16 */
	INSN_STR,         /* 0F 00 /1: STR r/m16, STR r32/m16 */
	INSN_VERR,        /* 0F 00 /4: VERR r/m16 */
	INSN_VERW,        /* 0F 00 /5: VERW r/m16 */
	INSN_LAR,         /* 0F 02 /r: LAR r16/32, r16/32/m16 */
	INSN_LSL,         /* 0F 03 /r: LSL r16/32, r16/32/m16 */
	INSN_MOV_FROM_SREG, /* 8C /r: MOV r/m16, Sreg; MOV r32, Sreg */
	INSN_PUSH_SREG,   /* 0E, 16, 1E, 06, 0F A0, 0F A8: PUSH CS..GS */
	INSN_CPUID,       /* 0F A2 */
	INSN_RDTSC,       /* 0F 31 */
	/* Near indirect branches and near returns (JMP/CALL rel stay
	 * INSN_OTHER: their target is in the bytes). */
	INSN_RET_NEAR,    /* C3: RET; C2 iw: RET imm16 */
	INSN_JMP_NEAR,    /* FF /4: JMP r/m16/32 */
	INSN_CALL_NEAR,   /* FF /2: CALL r/m16/32 */
	INSN_OP_COUNT
};

/* Segment registers, in x86 encoding order (Sreg field of ModRM). */
enum seg { SEG_ES = 0, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

enum opnd_kind {
	OPND_NONE = 0,  /* absent, or a kind popek does not describe */
	OPND_REG,       /* general register: reg.num, size 1, 2 or 4 */
	OPND_SREG,      /* segment register: reg.num is an enum seg */
	OPND_CR,        /* control register: reg.num is n of CRn */
	OPND_DR,        /* debug register: reg.num is n of DRn */
	OPND_MEM,       /* memory: mem.* */
	OPND_IMM,       /* immediate: imm (zero-extended from size bytes;
	                 * an imm8 the instruction sign-extends, as in
	                 * 83 /r ib, has the operand's size and value) */
	OPND_PTR,       /* far pointer immediate: ptr.sel:ptr.off */
};

#define INSN_NO_REG (-1)   /* mem.base / mem.index when absent */

struct insn_opnd {
	uint8_t kind;          /* enum opnd_kind */
	uint8_t size;          /* bytes: 1, 2, 4; 6 for m16:32 and m16&32 */
	union {
		/* REG: num is the GPR in encoding order (R_EAX..R_EDI) for
		 * sizes 2 and 4.  For size 1, num is the ModRM number: AL,
		 * CL, DL, BL are 0..3; AH, CH, DH, BH are 4..7 with high set,
		 * meaning bits 15:8 of GPR num - 4. */
		struct { uint8_t num; bool high; } reg;
		struct {
			uint8_t seg;      /* enum seg: the override, else default */
			int8_t base;      /* GPR number, or INSN_NO_REG */
			int8_t index;     /* GPR number, or INSN_NO_REG */
			uint8_t scale;    /* 1, 2, 4, 8 (1 if no index) */
			uint8_t addrsize; /* 16 or 32: wrap of the effective address */
			uint32_t disp;    /* sign-extended to 32 bits */
		} mem;
		struct { uint32_t value; } imm;
		struct { uint16_t sel; uint32_t off; } ptr;
	};
};

#define INSN_MAX_OPND 3

struct insn {
	enum insn_op op;
	uint8_t len;          /* total length in bytes */
	uint8_t opsize;       /* I/O: access size; others: operand size; bytes */
	uint8_t addrsize;     /* effective address size in bits: 16 or 32 */
	bool rep;             /* F3 (or F2) prefix on a string instruction */
	int8_t seg_override;  /* enum seg, or -1 for none */
	bool port_in_dx;      /* IN/OUT: port comes from DX (else imm8) */
	uint8_t imm8;         /* IN/OUT: the imm8 port */
	uint8_t nopnd;        /* explicit operands in opnd[] (0 for I/O ops) */
	struct insn_opnd opnd[INSN_MAX_OPND];
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
