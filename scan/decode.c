/*
 * decode.c — the Zydis adapter behind decode.h.  Zydis types stay inside
 * scan/ (this file, and classify.c/classify_table.c for the translator's
 * instruction classes); everything it learns from Zydis leaves as a
 * `struct insn` in popek's own terms.
 *
 * Two decoders (32-bit and 16-bit protected-mode code, stack width to
 * match) and one Intel-syntax formatter are set up once, under
 * pthread_once, and are read-only afterwards, so any thread may decode.
 * scan_decode sits on the hot path of every trapped I/O instruction: it
 * decodes without operands (the few facts the monitor needs are in the
 * instruction's raw fields and attributes) and copies out only those.
 * Even so a Zydis decode costs ~150 ns (most of it clearing its 328-byte
 * result), while a guest's trapping instructions are few and repeat (a
 * port-polling loop), so scan_decode first looks in a small per-thread
 * memo of recent results, keyed by the bytes themselves.  scan_format is
 * for reports and decodes in full, bypassing the memo.  Only the
 * system, segment, sensitive, near-branch, data-moving and ALU
 * instructions, which the emulator needs operands for, get their visible operands decoded
 * (ZydisDecoderDecodeOperands) and translated.  Of the data-moving and
 * ALU instructions only the forms with a ModRM byte (and MOV's moffs
 * forms) are ours: the rest (MOV r,imm, INC r, XCHG eAX,r, the AL/eAX
 * immediate forms) never touch memory and stay INSN_OTHER.
 *
 * Fields of `struct insn` that do not apply to an instruction are zero:
 * opsize is set for I/O, MOVS/STOS and the ops from INSN_LGDT on (Zydis's
 * operand width), port_in_dx/imm8 for IN/OUT only, rep for INS/OUTS/
 * MOVS/STOS only, nopnd/opnd for the other ops from INSN_LGDT on.
 * seg_override is whatever segment prefix Zydis found effective (Zydis
 * already drops one on INS, whose ES cannot be overridden), or -1.  The
 * memo holds whole `struct insn`s, operands included: they too are a
 * function of the bytes and the mode alone.
 *
 * Zydis rejects encodings the SDM makes #UD (MOV to CS, 8E /6 and /7,
 * MOV with CR1, CR5-CR7): those fail to decode rather than decode as an
 * op the emulator would have to refuse.
 */
#include "scan/decode.h"
#include "scan/zydis.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <Zydis/Zydis.h>

static ZydisDecoder dec32, dec16;
static ZydisFormatter fmt;
static bool ready;                  /* all three initialised */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Recent decodes of the instructions the monitor acts upon, per thread.
 * A decode is a pure function of the mode and the instruction's own
 * bytes, so an entry never goes stale: modified code just misses. */
#define MEMO_SLOTS 16
struct memo {
	bool code32;
	struct insn insn;           /* insn.len == 0: empty */
};
static __thread struct memo memo[MEMO_SLOTS];

static void scan_init(void)
{
	ready = ZYAN_SUCCESS(ZydisDecoderInit(&dec32,
	                         ZYDIS_MACHINE_MODE_LEGACY_32,
	                         ZYDIS_STACK_WIDTH_32)) &&
	        ZYAN_SUCCESS(ZydisDecoderInit(&dec16,
	                         ZYDIS_MACHINE_MODE_LEGACY_16,
	                         ZYDIS_STACK_WIDTH_16)) &&
	        ZYAN_SUCCESS(ZydisFormatterInit(&fmt,
	                         ZYDIS_FORMATTER_STYLE_INTEL));
}

const ZydisDecoder *scan_zydis_decoder(bool code32)
{
	pthread_once(&once, scan_init);
	if (!ready)
		return NULL;
	return code32 ? &dec32 : &dec16;
}

/* MOV shares one mnemonic across all its forms: the system ones, and
 * the data moves that can touch memory. */
static enum insn_op mov_op(const ZydisDecodedInstruction *zi)
{
	uint8_t o = zi->opcode;

	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
		if (o == 0x8e)
			return INSN_MOV_TO_SREG;     /* 8E /r */
		if (o == 0x8c)
			return INSN_MOV_FROM_SREG;   /* 8C /r */
		if ((o >= 0x88 && o <= 0x8b) ||  /* 88-8B /r */
		    o == 0xc6 || o == 0xc7 ||    /* C6 /0, C7 /0 */
		    (o >= 0xa0 && o <= 0xa3))    /* A0-A3 moffs */
			return INSN_MOV;
		return INSN_OTHER;           /* B0-BF */
	}
	if (zi->opcode_map != ZYDIS_OPCODE_MAP_0F)
		return INSN_OTHER;
	switch (zi->opcode) {
	case 0x20: return INSN_MOV_FROM_CR;          /* 0F 20 /r */
	case 0x21: return INSN_MOV_FROM_DR;          /* 0F 21 /r */
	case 0x22: return INSN_MOV_TO_CR;            /* 0F 22 /r */
	case 0x23: return INSN_MOV_TO_DR;            /* 0F 23 /r */
	default:   return INSN_OTHER;
	}
}

/* POP of a segment register: 07, 17, 1F; 0F A1, 0F A9. */
static enum insn_op pop_op(const ZydisDecodedInstruction *zi)
{
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
	    (zi->opcode == 0x07 || zi->opcode == 0x17 || zi->opcode == 0x1f))
		return INSN_POP_SREG;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_0F &&
	    (zi->opcode == 0xa1 || zi->opcode == 0xa9))
		return INSN_POP_SREG;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && zi->opcode == 0x8f)
		return INSN_POP_RM;
	return INSN_OTHER;
}

/* PUSH of a segment register: 0E, 16, 1E, 06; 0F A0, 0F A8. */
static enum insn_op push_op(const ZydisDecodedInstruction *zi)
{
	uint8_t o = zi->opcode;

	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
	    (o == 0x0e || o == 0x16 || o == 0x1e || o == 0x06))
		return INSN_PUSH_SREG;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_0F && (o == 0xa0 || o == 0xa8))
		return INSN_PUSH_SREG;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT && o == 0xff)
		return INSN_PUSH_RM;
	return INSN_OTHER;
}

/* Data-moving and ALU ops are ours only in their ModRM forms. */
static enum insn_op modrm_op(const ZydisDecodedInstruction *zi,
                             enum insn_op op)
{
	return (zi->attributes & ZYDIS_ATTRIB_HAS_MODRM) ? op : INSN_OTHER;
}

/* MOVSD is also SSE2's scalar move (F2 0F 10/11): only A5 is ours. */
static enum insn_op movs_op(const ZydisDecodedInstruction *zi)
{
	return zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
	       (zi->opcode == 0xa4 || zi->opcode == 0xa5) ? INSN_MOVS
	                                                  : INSN_OTHER;
}

/* JMP, CALL and RET: the far forms, and the near ones whose target is
 * not in the instruction (FF /2, FF /4, C3, C2); JMP/CALL rel and Jcc
 * are not ours. */
static enum insn_op branch_op(const ZydisDecodedInstruction *zi,
                              enum insn_op far, enum insn_op near)
{
	if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return far;
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT &&
	    (zi->opcode == 0xff || zi->opcode == 0xc3 || zi->opcode == 0xc2))
		return near;
	return INSN_OTHER;
}

/* The sensitive-but-unprivileged instructions, CPUID and RDTSC, keyed by
 * Zydis mnemonic. */
static enum insn_op sensitive_op_of(const ZydisDecodedInstruction *zi)
{
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_PUSHF:                     /* 66 9C (code32) */
	case ZYDIS_MNEMONIC_PUSHFD: return INSN_PUSHF; /* 9C */
	case ZYDIS_MNEMONIC_POPF:                      /* 66 9D (code32) */
	case ZYDIS_MNEMONIC_POPFD:  return INSN_POPF;  /* 9D */
	case ZYDIS_MNEMONIC_SGDT:   return INSN_SGDT;  /* 0F 01 /0 */
	case ZYDIS_MNEMONIC_SIDT:   return INSN_SIDT;  /* 0F 01 /1 */
	case ZYDIS_MNEMONIC_SMSW:   return INSN_SMSW;  /* 0F 01 /4 */
	case ZYDIS_MNEMONIC_SLDT:   return INSN_SLDT;  /* 0F 00 /0 */
	case ZYDIS_MNEMONIC_STR:    return INSN_STR;   /* 0F 00 /1 */
	case ZYDIS_MNEMONIC_VERR:   return INSN_VERR;  /* 0F 00 /4 */
	case ZYDIS_MNEMONIC_VERW:   return INSN_VERW;  /* 0F 00 /5 */
	case ZYDIS_MNEMONIC_LAR:    return INSN_LAR;   /* 0F 02 /r */
	case ZYDIS_MNEMONIC_LSL:    return INSN_LSL;   /* 0F 03 /r */
	case ZYDIS_MNEMONIC_CPUID:  return INSN_CPUID; /* 0F A2 */
	case ZYDIS_MNEMONIC_RDTSC:  return INSN_RDTSC; /* 0F 31 */
	case ZYDIS_MNEMONIC_PUSH:   return push_op(zi);
	default:                    return INSN_OTHER;
	}
}

/* The data-moving and ALU instructions, keyed by Zydis mnemonic. */
static enum insn_op data_op_of(const ZydisDecodedInstruction *zi)
{
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_MOVZX:   return modrm_op(zi, INSN_MOVZX);
	case ZYDIS_MNEMONIC_MOVSX:   return modrm_op(zi, INSN_MOVSX);
	case ZYDIS_MNEMONIC_XCHG:    return modrm_op(zi, INSN_XCHG);
	case ZYDIS_MNEMONIC_CMPXCHG: return modrm_op(zi, INSN_CMPXCHG);
	case ZYDIS_MNEMONIC_XADD:    return modrm_op(zi, INSN_XADD);
	case ZYDIS_MNEMONIC_ADD:     return modrm_op(zi, INSN_ADD);
	case ZYDIS_MNEMONIC_OR:      return modrm_op(zi, INSN_OR);
	case ZYDIS_MNEMONIC_ADC:     return modrm_op(zi, INSN_ADC);
	case ZYDIS_MNEMONIC_SBB:     return modrm_op(zi, INSN_SBB);
	case ZYDIS_MNEMONIC_AND:     return modrm_op(zi, INSN_AND);
	case ZYDIS_MNEMONIC_SUB:     return modrm_op(zi, INSN_SUB);
	case ZYDIS_MNEMONIC_XOR:     return modrm_op(zi, INSN_XOR);
	case ZYDIS_MNEMONIC_CMP:     return modrm_op(zi, INSN_CMP);
	case ZYDIS_MNEMONIC_TEST:    return modrm_op(zi, INSN_TEST);
	case ZYDIS_MNEMONIC_INC:     return modrm_op(zi, INSN_INC);
	case ZYDIS_MNEMONIC_DEC:     return modrm_op(zi, INSN_DEC);
	case ZYDIS_MNEMONIC_NOT:     return modrm_op(zi, INSN_NOT);
	case ZYDIS_MNEMONIC_NEG:     return modrm_op(zi, INSN_NEG);
	case ZYDIS_MNEMONIC_BT:      return modrm_op(zi, INSN_BT);
	case ZYDIS_MNEMONIC_BTS:     return modrm_op(zi, INSN_BTS);
	case ZYDIS_MNEMONIC_BTR:     return modrm_op(zi, INSN_BTR);
	case ZYDIS_MNEMONIC_BTC:     return modrm_op(zi, INSN_BTC);
	case ZYDIS_MNEMONIC_MOVSB:                     /* A4 */
	case ZYDIS_MNEMONIC_MOVSW:                     /* 66 A5 (code32) */
	case ZYDIS_MNEMONIC_MOVSD:   return movs_op(zi); /* A5 */
	case ZYDIS_MNEMONIC_STOSB:                     /* AA */
	case ZYDIS_MNEMONIC_STOSW:                     /* 66 AB (code32) */
	case ZYDIS_MNEMONIC_STOSD:   return INSN_STOS; /* AB */
	default:                     return sensitive_op_of(zi);
	}
}

/* The instructions the monitor acts upon, keyed by Zydis mnemonic. */
static enum insn_op op_of(const ZydisDecodedInstruction *zi)
{
	switch (zi->mnemonic) {
	case ZYDIS_MNEMONIC_IN:    return INSN_IN;   /* E4 ib, E5 ib, EC, ED */
	case ZYDIS_MNEMONIC_OUT:   return INSN_OUT;  /* E6 ib, E7 ib, EE, EF */
	case ZYDIS_MNEMONIC_INSB:                    /* 6C */
	case ZYDIS_MNEMONIC_INSW:                    /* 66 6D (code32) */
	case ZYDIS_MNEMONIC_INSD:  return INSN_INS;  /* 6D */
	case ZYDIS_MNEMONIC_OUTSB:                   /* 6E */
	case ZYDIS_MNEMONIC_OUTSW:                   /* 66 6F (code32) */
	case ZYDIS_MNEMONIC_OUTSD: return INSN_OUTS; /* 6F */
	case ZYDIS_MNEMONIC_CLI:   return INSN_CLI;  /* FA */
	case ZYDIS_MNEMONIC_STI:   return INSN_STI;  /* FB */
	case ZYDIS_MNEMONIC_HLT:   return INSN_HLT;  /* F4 */
	case ZYDIS_MNEMONIC_LGDT:  return INSN_LGDT;   /* 0F 01 /2 */
	case ZYDIS_MNEMONIC_LIDT:  return INSN_LIDT;   /* 0F 01 /3 */
	case ZYDIS_MNEMONIC_LMSW:  return INSN_LMSW;   /* 0F 01 /6 */
	case ZYDIS_MNEMONIC_INVLPG: return INSN_INVLPG; /* 0F 01 /7 */
	case ZYDIS_MNEMONIC_LLDT:  return INSN_LLDT;   /* 0F 00 /2 */
	case ZYDIS_MNEMONIC_LTR:   return INSN_LTR;    /* 0F 00 /3 */
	case ZYDIS_MNEMONIC_CLTS:  return INSN_CLTS;   /* 0F 06 */
	case ZYDIS_MNEMONIC_INVD:  return INSN_INVD;   /* 0F 08 */
	case ZYDIS_MNEMONIC_WBINVD: return INSN_WBINVD; /* 0F 09 */
	case ZYDIS_MNEMONIC_RDMSR: return INSN_RDMSR;  /* 0F 32 */
	case ZYDIS_MNEMONIC_WRMSR: return INSN_WRMSR;  /* 0F 30 */
	case ZYDIS_MNEMONIC_RDPMC: return INSN_RDPMC;  /* 0F 33 */
	case ZYDIS_MNEMONIC_SYSENTER: return INSN_SYSENTER; /* 0F 34 */
	case ZYDIS_MNEMONIC_SYSEXIT: return INSN_SYSEXIT;   /* 0F 35 */
	case ZYDIS_MNEMONIC_LDS:   return INSN_LDS;    /* C5 /r */
	case ZYDIS_MNEMONIC_LES:   return INSN_LES;    /* C4 /r */
	case ZYDIS_MNEMONIC_LSS:   return INSN_LSS;    /* 0F B2 /r */
	case ZYDIS_MNEMONIC_LFS:   return INSN_LFS;    /* 0F B4 /r */
	case ZYDIS_MNEMONIC_LGS:   return INSN_LGS;    /* 0F B5 /r */
	case ZYDIS_MNEMONIC_IRET:                      /* CF (16-bit) */
	case ZYDIS_MNEMONIC_IRETD: return INSN_IRET;   /* CF */
	case ZYDIS_MNEMONIC_MOV:   return mov_op(zi);
	case ZYDIS_MNEMONIC_POP:   return pop_op(zi);
	case ZYDIS_MNEMONIC_JMP:   /* EA, FF /5; FF /4 */
		return branch_op(zi, INSN_JMP_FAR, INSN_JMP_NEAR);
	case ZYDIS_MNEMONIC_CALL:  /* 9A, FF /3; FF /2 */
		return branch_op(zi, INSN_CALL_FAR, INSN_CALL_NEAR);
	case ZYDIS_MNEMONIC_RET:   /* CB, CA iw; C3, C2 iw */
		return branch_op(zi, INSN_RET_FAR, INSN_RET_NEAR);
	default:                   return data_op_of(zi);
	}
}

/* Explicit segment prefix in effect, as enum seg, or -1. */
static int8_t seg_of(ZyanU64 attr)
{
	static const struct { ZyanU64 attr; enum seg seg; } map[] = {
		{ ZYDIS_ATTRIB_HAS_SEGMENT_ES, SEG_ES },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_CS, SEG_CS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_SS, SEG_SS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_DS, SEG_DS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_FS, SEG_FS },
		{ ZYDIS_ATTRIB_HAS_SEGMENT_GS, SEG_GS },
	};

	if (!(attr & ZYDIS_ATTRIB_HAS_SEGMENT))
		return -1;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (attr & map[i].attr)
			return (int8_t)map[i].seg;
	return -1;
}

/* The ops described by dedicated fields rather than opnd[]. */
static bool is_io_or_string(enum insn_op op)
{
	return op == INSN_IN || op == INSN_OUT || op == INSN_INS ||
	       op == INSN_OUTS || op == INSN_MOVS || op == INSN_STOS;
}

/* The I/O and string fields; zi is a Zydis-decoded IN/OUT/INS/OUTS/
 * MOVS/STOS. */
static void fill_io(const ZydisDecodedInstruction *zi, struct insn *out)
{
	out->opsize = (uint8_t)(zi->operand_width / 8);
	if (out->op == INSN_IN || out->op == INSN_OUT) {
		out->port_in_dx = zi->raw.imm[0].size == 0;
		out->imm8 = out->port_in_dx ? 0 : (uint8_t)zi->raw.imm[0].value.u;
	} else {
		/* F2 acts as REP on INS/OUTS/MOVS/STOS; Zydis reports it
		 * as REPNE. */
		out->rep = (zi->attributes & (ZYDIS_ATTRIB_HAS_REP |
		                              ZYDIS_ATTRIB_HAS_REPE |
		                              ZYDIS_ATTRIB_HAS_REPNE)) != 0;
	}
}

/* A Zydis register as a popek operand; kind stays OPND_NONE for a
 * register class popek does not describe. */
static void opnd_reg(ZydisRegister r, struct insn_opnd *o)
{
	ZyanI8 id = ZydisRegisterGetId(r);

	o->reg.num = (uint8_t)id;
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
		o->kind = OPND_REG;
		o->reg.high = id >= 4;       /* AH, CH, DH, BH (no REX here) */
		break;
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:   o->kind = OPND_REG;  break;
	case ZYDIS_REGCLASS_SEGMENT: o->kind = OPND_SREG; break;
	case ZYDIS_REGCLASS_CONTROL: o->kind = OPND_CR;   break;
	case ZYDIS_REGCLASS_DEBUG:   o->kind = OPND_DR;   break;
	default:                     o->kind = OPND_NONE; break;
	}
}

static int8_t gpr_or_none(ZydisRegister r)
{
	return r == ZYDIS_REGISTER_NONE ? INSN_NO_REG
	                                : (int8_t)ZydisRegisterGetId(r);
}

/* Zydis already resolved the segment: the override, else DS or SS by
 * the base register. */
static void opnd_mem(const ZydisDecodedInstruction *zi,
                     const ZydisDecodedOperand *zo, struct insn_opnd *o)
{
	o->kind = OPND_MEM;
	o->mem.seg = (uint8_t)ZydisRegisterGetId(zo->mem.segment);
	o->mem.base = gpr_or_none(zo->mem.base);
	o->mem.index = gpr_or_none(zo->mem.index);
	o->mem.scale = zo->mem.index == ZYDIS_REGISTER_NONE ? 1 : zo->mem.scale;
	o->mem.addrsize = zi->address_width;
	o->mem.disp = (uint32_t)zo->mem.disp.value;
}

static void opnd_of(const ZydisDecodedInstruction *zi,
                    const ZydisDecodedOperand *zo, struct insn_opnd *o)
{
	memset(o, 0, sizeof(*o));
	o->size = (uint8_t)(zo->size / 8);
	switch (zo->type) {
	case ZYDIS_OPERAND_TYPE_REGISTER:
		opnd_reg(zo->reg.value, o);
		break;
	case ZYDIS_OPERAND_TYPE_MEMORY:
		opnd_mem(zi, zo, o);
		break;
	case ZYDIS_OPERAND_TYPE_IMMEDIATE:
		o->kind = OPND_IMM;
		/* 83 /r ib and the like: the imm8 stands for its sign
		 * extension to the operand size.  (Zydis has sign-extended
		 * the value to 64 bits already.) */
		if (zo->imm.is_signed && zo->size < zi->operand_width)
			o->size = (uint8_t)(zi->operand_width / 8);
		o->imm.value = (uint32_t)zo->imm.value.u & ((o->size >= 4) ?
		               0xffffffffu : (1u << (8 * o->size)) - 1);
		break;
	case ZYDIS_OPERAND_TYPE_POINTER:
		o->kind = OPND_PTR;
		o->ptr.sel = zo->ptr.segment;
		o->ptr.off = zo->ptr.offset;
		break;
	default:
		break;
	}
}

/* The visible operands of a system or segment instruction. */
static int fill_opnds(const ZydisDecoder *d, const ZydisDecoderContext *zc,
                      const ZydisDecodedInstruction *zi, struct insn *out)
{
	ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
	uint8_t n = zi->operand_count_visible;

	if (n > INSN_MAX_OPND)
		n = INSN_MAX_OPND;
	if (n && !ZYAN_SUCCESS(ZydisDecoderDecodeOperands(d, zc, zi, zo, n)))
		return -1;
	out->opsize = (uint8_t)(zi->operand_width / 8);
	out->nopnd = n;
	for (uint8_t i = 0; i < n; i++)
		opnd_of(zi, &zo[i], &out->opnd[i]);
	return 0;
}

static int zydis_decode(const uint8_t *buf, size_t avail, bool code32,
                        struct insn *out)
{
	const ZydisDecoder *d = scan_zydis_decoder(code32);
	ZydisDecoderContext zc;
	ZydisDecodedInstruction zi;

	memset(out, 0, sizeof(*out));
	out->seg_override = -1;
	if (!d || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(d, &zc, buf,
	                                                      avail, &zi)))
		return -1;
	out->op = op_of(&zi);
	out->len = zi.length;
	out->addrsize = zi.address_width;
	out->seg_override = seg_of(zi.attributes);
	if (is_io_or_string(out->op))
		fill_io(&zi, out);
	else if (out->op >= INSN_LGDT && fill_opnds(d, &zc, &zi, out))
		return -1;
	memcpy(out->bytes, buf, zi.length);
	return 0;
}

static unsigned memo_slot(const uint8_t *buf, size_t avail)
{
	unsigned h = buf[0] * 31u + (avail > 1 ? buf[1] : 0);

	return (h ^ (h >> 4)) % MEMO_SLOTS;
}

static bool memo_hit(const struct memo *m, const uint8_t *buf, size_t avail,
                     bool code32)
{
	return m->insn.len && m->insn.len <= avail && m->code32 == code32 &&
	       memcmp(m->insn.bytes, buf, m->insn.len) == 0;
}

int scan_decode(const uint8_t *buf, size_t avail, bool code32, struct insn *out)
{
	struct memo *m = avail ? &memo[memo_slot(buf, avail)] : NULL;

	if (m && memo_hit(m, buf, avail, code32)) {
		*out = m->insn;
		return 0;
	}
	if (zydis_decode(buf, avail, code32, out))
		return -1;
	if (m && out->op != INSN_OTHER) {
		m->code32 = code32;
		m->insn = *out;
	}
	return 0;
}

void scan_format(const uint8_t *buf, size_t avail, bool code32, uint32_t eip,
                 char *out, size_t outlen)
{
	const ZydisDecoder *d = scan_zydis_decoder(code32);
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	char text[256];

	if (!outlen)
		return;
	/* Format into a roomy buffer, then truncate to the caller's. */
	if (d && ZYAN_SUCCESS(ZydisDecoderDecodeFull(d, buf, avail, &zi, ops)) &&
	    ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&fmt, &zi, ops,
	                     zi.operand_count_visible, text, sizeof(text),
	                     eip, NULL)))
		snprintf(out, outlen, "%s", text);
	else
		snprintf(out, outlen, "(bad)");
}
