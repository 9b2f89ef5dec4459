/*
 * classify.c — classify guest instructions for the binary translator and
 * scan basic blocks (interface and the meaning of each class and flag:
 * scan/classify.h; the table: scan/classify_table.c).
 *
 * An instruction's class is its mnemonic's table entry, refined by the
 * operand rules below; each rule cites the encodings it catches.  The
 * decode is a full one (hidden operands too: the stack of PUSH, the
 * ES:[EDI] of STOS), since the reserved-segment rule must see every
 * memory operand's effective segment.  Like decode.c, this file sees
 * Zydis; nothing it returns does.
 *
 * Two decoders (32- and 16-bit code), set up once under pthread_once and
 * read-only afterwards: any thread may scan.
 */
#include "scan/classify.h"
#include "scan/classify_table.h"
#include "scan/zydis.h"

#include <pthread.h>
#include <string.h>

static const char *const class_names[SCAN_CLASS_COUNT] = {
	[SCAN_UNCLASSIFIED]    = "UNCLASSIFIED",
	[SCAN_IDENT]           = "IDENT",
	[SCAN_PRIVILEGED]      = "PRIVILEGED",
	[SCAN_SENSITIVE]       = "SENSITIVE",
	[SCAN_BRANCH_DIRECT]   = "BRANCH_DIRECT",
	[SCAN_BRANCH_INDIRECT] = "BRANCH_INDIRECT",
	[SCAN_BRANCH_FAR]      = "BRANCH_FAR",
	[SCAN_SOFTINT]         = "SOFTINT",
	[SCAN_IRET]            = "IRET",
	[SCAN_POLICY]          = "POLICY",
	[SCAN_SEGREG_RESERVED] = "SEGREG_RESERVED",
	[SCAN_UNDEFINED]       = "UNDEFINED",
};

const char *scan_class_name(enum scan_class c)
{
	return (unsigned)c < SCAN_CLASS_COUNT ? class_names[c] : NULL;
}

unsigned scan_mnemonic_count(void)
{
	return ZYDIS_MNEMONIC_MAX_VALUE;
}

enum scan_class scan_mnemonic_class(unsigned mnem)
{
	if (mnem == 0 || mnem >= SCAN_TABLE_LEN)
		return SCAN_UNCLASSIFIED;
	return (enum scan_class)(scan_class_table[mnem] & T_CLASS);
}

const char *scan_mnemonic_name(unsigned mnem)
{
	if (mnem == 0 || mnem >= SCAN_TABLE_LEN)
		return NULL;
	return ZydisMnemonicGetString((ZydisMnemonic)mnem);
}

/* A segment register, as enum seg (Zydis numbers them ES..GS as the
 * Sreg field does), or -1. */
static int sreg_of(ZydisRegister r)
{
	if (ZydisRegisterGetClass(r) != ZYDIS_REGCLASS_SEGMENT)
		return -1;
	return ZydisRegisterGetId(r);
}

/* Does any operand, visible or hidden, name the reserved segment
 * register or access memory through it?  An explicit 65 prefix counts
 * where it reaches a memory operand; on an instruction without one
 * (65 90) it has no effect and does not.  LEA and the other address-only
 * forms do not access memory; neither does NOP r/m (0F 1F /0), though
 * Zydis reports its operand as read. */
static bool uses_seg(const ZydisDecodedInstruction *zi,
                     const ZydisDecodedOperand *ops, unsigned seg)
{
	if (seg >= SEG_COUNT || zi->mnemonic == ZYDIS_MNEMONIC_NOP)
		return false;
	for (unsigned i = 0; i < zi->operand_count; i++) {
		const ZydisDecodedOperand *o = &ops[i];

		if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		    sreg_of(o->reg.value) == (int)seg)
			return true;
		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    o->mem.type != ZYDIS_MEMOP_TYPE_AGEN &&
		    sreg_of(o->mem.segment) == (int)seg)
			return true;
	}
	return false;
}

/* MOV Sreg, r/m (8E) and MOV r/m, Sreg (8C); PUSH/POP ES, CS, SS, DS
 * (06 0E 16 1E, 07 17 1F) and FS, GS (0F A0/A1, 0F A8/A9) are
 * sensitive; MOV to/from CRn and DRn (0F 20-23) privileged.  Only MOV,
 * PUSH and POP have such operands among the IDENT mnemonics. */
static enum scan_class register_rule(const ZydisDecodedInstruction *zi,
                                     const ZydisDecodedOperand *ops,
                                     enum scan_class c, uint8_t *flags)
{
	for (unsigned i = 0; c == SCAN_IDENT &&
	                     i < zi->operand_count_visible; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER)
			continue;
		switch (ZydisRegisterGetClass(ops[i].reg.value)) {
		case ZYDIS_REGCLASS_SEGMENT:
			c = SCAN_SENSITIVE;
			break;
		case ZYDIS_REGCLASS_CONTROL:
			/* 0F 22: CR0 (PE, PG, WP), CR3 and CR4 (PSE, PGE)
			 * change what the next instruction's address means. */
			if (i == 0)
				*flags |= SCAN_F_END;
			c = SCAN_PRIVILEGED;
			break;
		case ZYDIS_REGCLASS_DEBUG:
			c = SCAN_PRIVILEGED;
			break;
		default:
			break;
		}
	}
	return c;
}

/* JMP/CALL: E8, E9, EB are relative (direct); FF /2, FF /4 indirect;
 * EA, 9A, FF /3, FF /5 far.  RET: C3, C2 near; CB, CA far. */
static enum scan_class branch_rule(const ZydisDecodedInstruction *zi,
                                   enum scan_class c)
{
	if (c != SCAN_BRANCH_DIRECT && c != SCAN_BRANCH_INDIRECT)
		return c;
	if (zi->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
		return SCAN_BRANCH_FAR;
	if (c == SCAN_BRANCH_DIRECT &&
	    !(zi->attributes & ZYDIS_ATTRIB_IS_RELATIVE))
		return SCAN_BRANCH_INDIRECT;
	return c;
}

/* The target of a relative branch (Jcc, JMP/CALL rel, LOOPcc, JCXZ,
 * XBEGIN): EIP of the next instruction plus the displacement, wrapped
 * to 16 bits under a 16-bit operand size as the CPU does. */
static void target_of(const ZydisDecodedInstruction *zi,
                      const ZydisDecodedOperand *ops, uint32_t eip,
                      struct scan_insn *out)
{
	for (unsigned i = 0; i < zi->operand_count_visible; i++) {
		ZyanU64 abs;

		if (ops[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE ||
		    !ops[i].imm.is_relative)
			continue;
		if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(zi, &ops[i], eip,
		                                           &abs)))
			return;
		out->target = (uint32_t)abs;
		out->flags |= SCAN_F_TARGET;
		return;
	}
}

static bool class_ends_block(enum scan_class c)
{
	switch (c) {
	case SCAN_BRANCH_DIRECT:
	case SCAN_BRANCH_INDIRECT:
	case SCAN_BRANCH_FAR:
	case SCAN_SOFTINT:
	case SCAN_IRET:
	case SCAN_UNDEFINED:
		return true;
	default:
		return false;
	}
}

static void classify_decoded(const ZydisDecodedInstruction *zi,
                             const ZydisDecodedOperand *ops, uint32_t eip,
                             const struct scan_opts *o, struct scan_insn *out)
{
	uint8_t t = scan_class_table[zi->mnemonic];
	enum scan_class c = (enum scan_class)(t & T_CLASS);

	out->mnem = (uint16_t)zi->mnemonic;
	out->len = zi->length;
	out->flags = (uint8_t)(((t & T_END) ? SCAN_F_END : 0) |
	                       ((t & T_COND) ? SCAN_F_COND : 0));
	c = register_rule(zi, ops, c, &out->flags);
	c = branch_rule(zi, c);
	/* The reserved register: an IDENT or SENSITIVE instruction becomes
	 * SEGREG_RESERVED (MOV/PUSH/POP GS, LGS, any gs: memory operand);
	 * the others keep their class, which already sends them to the
	 * monitor, and carry the flag. */
	if (uses_seg(zi, ops, o->reserved_seg)) {
		out->flags |= SCAN_F_RESV_SEG;
		if (c == SCAN_IDENT || c == SCAN_SENSITIVE)
			c = SCAN_SEGREG_RESERVED;
	}
	if (class_ends_block(c))
		out->flags |= SCAN_F_END;
	target_of(zi, ops, eip, out);
	out->cls = (uint8_t)c;
}

int scan_classify(const uint8_t *buf, size_t avail, uint32_t eip,
                  const struct scan_opts *o, struct scan_insn *out)
{
	const ZydisDecoder *d = scan_zydis_decoder(o->code32);
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	ZyanStatus st;

	memset(out, 0, sizeof(*out));
	out->eip = eip;
	if (!d || !avail)
		return -1;
	st = ZydisDecoderDecodeFull(d, buf, avail, &zi, ops);
	if (st == ZYDIS_STATUS_NO_MORE_DATA)
		return -1;
	if (!ZYAN_SUCCESS(st)) {
		/* #UD, or #GP past 15 bytes: the CPU never runs it. */
		out->len = 1;
		out->cls = SCAN_UNDEFINED;
		out->flags = SCAN_F_END;
		return 0;
	}
	classify_decoded(&zi, ops, eip, o, out);
	return 0;
}

/* The block may hold at most one instruction that is not wholly in its
 * first page: the last, which then straddles the page end. */
unsigned scan_block(const uint8_t *buf, size_t avail, uint32_t eip,
                    const struct scan_opts *o, struct scan_block *out)
{
	uint32_t page = eip & ~(SCAN_PAGE_SIZE - 1);
	unsigned max = o->max_insns;
	size_t off = 0;

	if (max == 0 || max > SCAN_MAX_INSNS)
		max = SCAN_MAX_INSNS;
	memset(out, 0, offsetof(struct scan_block, insn));
	out->eip = eip;
	for (;;) {
		struct scan_insn *in = &out->insn[out->ninsn];
		uint32_t at = eip + (uint32_t)off;

		if (off && (at & ~(SCAN_PAGE_SIZE - 1)) != page) {
			out->stop = SCAN_STOP_PAGE;
			out->two_pages = (at & (SCAN_PAGE_SIZE - 1)) != 0;
			break;
		}
		if (out->ninsn == max) {
			out->stop = SCAN_STOP_LIMIT;
			break;
		}
		if (off >= avail || scan_classify(buf + off, avail - off, at,
		                                  o, in)) {
			out->stop = SCAN_STOP_SHORT;
			break;
		}
		in->offset = (uint16_t)off;
		off += in->len;
		out->ninsn++;
		if (in->flags & SCAN_F_END) {
			out->stop = SCAN_STOP_END;
			at = eip + (uint32_t)off - 1;
			out->two_pages = (at & ~(SCAN_PAGE_SIZE - 1)) != page;
			break;
		}
	}
	out->len = (uint16_t)off;
	return out->ninsn;
}
