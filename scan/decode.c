/*
 * decode.c — the Zydis adapter behind decode.h.  This is the only file in
 * popek that names a Zyan or Zydis type; everything it learns from Zydis
 * leaves as a `struct insn` in popek's own terms.
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
 * for reports and decodes in full, bypassing the memo.
 *
 * Fields of `struct insn` that do not apply to an instruction are zero:
 * opsize is set for IN/OUT/INS/OUTS only, port_in_dx/imm8 for IN/OUT only,
 * rep for INS/OUTS only.  seg_override is whatever segment prefix Zydis
 * found effective (Zydis already drops one on INS, whose ES cannot be
 * overridden), or -1.
 */
#include "scan/decode.h"

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

static const ZydisDecoder *decoder(bool code32)
{
	pthread_once(&once, scan_init);
	if (!ready)
		return NULL;
	return code32 ? &dec32 : &dec16;
}

/* The instructions the monitor acts upon, keyed by Zydis mnemonic. */
static enum insn_op op_of(ZydisMnemonic m)
{
	switch (m) {
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
	default:                   return INSN_OTHER;
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

static bool is_io(enum insn_op op)
{
	return op == INSN_IN || op == INSN_OUT || op == INSN_INS ||
	       op == INSN_OUTS;
}

/* The I/O-specific fields; zi is a Zydis-decoded IN/OUT/INS/OUTS. */
static void fill_io(const ZydisDecodedInstruction *zi, struct insn *out)
{
	out->opsize = (uint8_t)(zi->operand_width / 8);
	if (out->op == INSN_IN || out->op == INSN_OUT) {
		out->port_in_dx = zi->raw.imm[0].size == 0;
		out->imm8 = out->port_in_dx ? 0 : (uint8_t)zi->raw.imm[0].value.u;
	} else {
		/* F2 acts as REP on INS/OUTS; Zydis reports it as REPNE. */
		out->rep = (zi->attributes & (ZYDIS_ATTRIB_HAS_REP |
		                              ZYDIS_ATTRIB_HAS_REPE |
		                              ZYDIS_ATTRIB_HAS_REPNE)) != 0;
	}
}

static int zydis_decode(const uint8_t *buf, size_t avail, bool code32,
                        struct insn *out)
{
	const ZydisDecoder *d = decoder(code32);
	ZydisDecodedInstruction zi;

	memset(out, 0, sizeof(*out));
	out->seg_override = -1;
	if (!d || !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(d, NULL, buf,
	                                                      avail, &zi)))
		return -1;
	out->op = op_of(zi.mnemonic);
	out->len = zi.length;
	out->addrsize = zi.address_width;
	out->seg_override = seg_of(zi.attributes);
	if (is_io(out->op))
		fill_io(&zi, out);
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
	const ZydisDecoder *d = decoder(code32);
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
