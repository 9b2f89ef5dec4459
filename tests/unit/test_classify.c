/*
 * test_classify.c — unit tests of the instruction classifier and the
 * basic-block scanner (scan/classify.c, scan/classify_table.c).
 *
 * The golden file tests/scan/golden.txt holds one instruction a line
 * with its expected class, flags and text; with POPEK_GOLDEN_REBASE=1 in
 * the environment the golden test rewrites that file from the current
 * classifier instead of comparing (review the diff before committing).
 * The other tests check that the table leaves no mnemonic unclassified,
 * the operand rules against a non-default reserved register, branch
 * targets (16-bit wrap), and scan_block's stops on hand-made blocks.
 * Expected values come from the SDM, not from Zydis.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/classify.h"
#include "tests/unit/golden.h"

#define GOLDEN "tests/scan/golden.txt"
#define GOLDEN_EIP 0x1000u

static const struct scan_opts *dflt(void)
{
	static struct scan_opts o;

	o = SCAN_OPTS_DEFAULT;
	return &o;
}

#define CLASSIFY(opts, eip, ...) \
	classify_ok((const uint8_t[]){ __VA_ARGS__ }, \
	            sizeof((const uint8_t[]){ __VA_ARGS__ }), (eip), (opts))

/* Bytes that must be exactly one instruction. */
static struct scan_insn classify_ok(const uint8_t *b, size_t n, uint32_t eip,
                                    const struct scan_opts *o)
{
	struct scan_insn in;

	cr_assert_eq(scan_classify(b, n, eip, o, &in), 0);
	cr_assert_eq(in.len, n, "length %u, expected %zu", in.len, n);
	cr_assert_eq(in.eip, eip);
	return in;
}

static void check(struct scan_insn in, enum scan_class c, uint8_t flags)
{
	cr_assert_eq(in.cls, c, "class %s, expected %s",
	             scan_class_name(in.cls), scan_class_name(c));
	cr_assert_eq(in.flags, flags, "flags 0x%x, expected 0x%x", in.flags,
	             flags);
}

/* ---- The table. ---- */

Test(classify, every_mnemonic_has_a_class)
{
	unsigned n = scan_mnemonic_count(), holes = 0;

	cr_assert_gt(n, 1000, "only %u mnemonics", n);
	for (unsigned m = 1; m <= n; m++) {
		enum scan_class c = scan_mnemonic_class(m);

		cr_expect(c > SCAN_UNCLASSIFIED && c < SCAN_CLASS_COUNT,
		          "mnemonic %s has no class in scan/classify_table.c",
		          scan_mnemonic_name(m));
		holes += !(c > SCAN_UNCLASSIFIED && c < SCAN_CLASS_COUNT);
	}
	cr_assert_eq(holes, 0, "%u mnemonics unclassified", holes);
	cr_assert_eq(scan_mnemonic_class(0), SCAN_UNCLASSIFIED);
	cr_assert_eq(scan_mnemonic_class(n + 1), SCAN_UNCLASSIFIED);
}

/* The table must not be all one class: spot checks by name. */
static enum scan_class class_named(const char *name)
{
	for (unsigned m = 1; m <= scan_mnemonic_count(); m++)
		if (!strcmp(scan_mnemonic_name(m), name))
			return scan_mnemonic_class(m);
	cr_assert_fail("no mnemonic %s", name);
	return SCAN_UNCLASSIFIED;
}

Test(classify, table_spot_checks)
{
	cr_assert_eq(class_named("add"), SCAN_IDENT);
	cr_assert_eq(class_named("lgdt"), SCAN_PRIVILEGED);
	cr_assert_eq(class_named("sgdt"), SCAN_SENSITIVE);
	cr_assert_eq(class_named("popfd"), SCAN_SENSITIVE);
	cr_assert_eq(class_named("jnz"), SCAN_BRANCH_DIRECT);
	cr_assert_eq(class_named("ret"), SCAN_BRANCH_INDIRECT);
	cr_assert_eq(class_named("int3"), SCAN_SOFTINT);
	cr_assert_eq(class_named("iretd"), SCAN_IRET);
	cr_assert_eq(class_named("rdtsc"), SCAN_POLICY);
	cr_assert_eq(class_named("ud2"), SCAN_UNDEFINED);
	cr_assert_eq(class_named("swapgs"), SCAN_UNDEFINED); /* 64-bit only */
}

/* Every 1- and 2-byte opcode with every ModRM byte (and enough zero
 * bytes after it) lands in a real class, and a class that is control
 * flow always ends the block. */
Test(classify, opcode_space_sweep)
{
	uint8_t b[16];
	struct scan_insn in;

	for (unsigned map = 0; map < 2; map++)
		for (unsigned op = 0; op < 256; op++)
			for (unsigned modrm = 0; modrm < 256; modrm++) {
				size_t n = 0;

				memset(b, 0, sizeof(b));
				if (map)
					b[n++] = 0x0f;
				b[n++] = (uint8_t)op;
				b[n++] = (uint8_t)modrm;
				cr_assert_eq(scan_classify(b, sizeof(b), 0x1000,
				                           dflt(), &in), 0);
				cr_assert(in.cls > SCAN_UNCLASSIFIED &&
				          in.cls < SCAN_CLASS_COUNT,
				          "%02x %02x %02x: class %u", b[0],
				          b[1], b[2], in.cls);
				if (in.cls >= SCAN_BRANCH_DIRECT &&
				    in.cls <= SCAN_IRET)
					cr_assert(in.flags & SCAN_F_END);
			}
}

/* ---- Operand rules. ---- */

Test(classify, reserved_segment_is_a_parameter)
{
	struct scan_opts fs = SCAN_OPTS_DEFAULT, none = SCAN_OPTS_DEFAULT;

	fs.reserved_seg = SEG_FS;
	none.reserved_seg = SEG_COUNT;
	/* 8C /r: MOV r/m16, Sreg (reg field 5 = GS, 4 = FS) */
	check(CLASSIFY(dflt(), 0, 0x8c, 0xe8), SCAN_SEGREG_RESERVED,
	      SCAN_F_RESV_SEG);
	check(CLASSIFY(&fs, 0, 0x8c, 0xe8), SCAN_SENSITIVE, 0);
	check(CLASSIFY(&fs, 0, 0x8c, 0xe0), SCAN_SEGREG_RESERVED,
	      SCAN_F_RESV_SEG);
	check(CLASSIFY(&none, 0, 0x8c, 0xe8), SCAN_SENSITIVE, 0);
	/* 64/65 8B 03: MOV eax, fs:/gs:[ebx] */
	check(CLASSIFY(&fs, 0, 0x64, 0x8b, 0x03), SCAN_SEGREG_RESERVED,
	      SCAN_F_RESV_SEG);
	check(CLASSIFY(&fs, 0, 0x65, 0x8b, 0x03), SCAN_IDENT, 0);
	check(CLASSIFY(&none, 0, 0x65, 0x8b, 0x03), SCAN_IDENT, 0);
	/* 0F B4 /r: LFS */
	check(CLASSIFY(&fs, 0, 0x0f, 0xb4, 0x00), SCAN_SEGREG_RESERVED,
	      SCAN_F_RESV_SEG);
	check(CLASSIFY(dflt(), 0, 0x0f, 0xb4, 0x00), SCAN_SENSITIVE, 0);
}

Test(classify, reserved_ss_catches_the_stack)
{
	struct scan_opts ss = SCAN_OPTS_DEFAULT;

	/* Only for the rule's sake: PUSH's hidden store is SS:[ESP-4]. */
	ss.reserved_seg = SEG_SS;
	check(CLASSIFY(&ss, 0, 0x50), SCAN_SEGREG_RESERVED, SCAN_F_RESV_SEG);
	check(CLASSIFY(&ss, 0, 0x89, 0xd8), SCAN_IDENT, 0);
	/* 8B 45 00: MOV eax, [ebp]: SS by default */
	check(CLASSIFY(&ss, 0, 0x8b, 0x45, 0x00), SCAN_SEGREG_RESERVED,
	      SCAN_F_RESV_SEG);
}

Test(classify, mov_cr_ends_block_only_when_written)
{
	check(CLASSIFY(dflt(), 0, 0x0f, 0x20, 0xd8), SCAN_PRIVILEGED, 0);
	check(CLASSIFY(dflt(), 0, 0x0f, 0x22, 0xd8), SCAN_PRIVILEGED,
	      SCAN_F_END);
	check(CLASSIFY(dflt(), 0, 0x0f, 0x23, 0xf8), SCAN_PRIVILEGED, 0);
}

/* ---- Branch targets. ---- */

Test(classify, targets)
{
	/* EB cb: JMP rel8, backwards from the page start */
	struct scan_insn in = CLASSIFY(dflt(), 0x2000, 0xeb, 0xfe);

	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_TARGET);
	cr_assert_eq(in.target, 0x2000);
	/* E8 cd: CALL rel32 across the 4 GiB wrap */
	in = CLASSIFY(dflt(), 0xfffffff0, 0xe8, 0x20, 0x00, 0x00, 0x00);
	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_TARGET);
	cr_assert_eq(in.target, 0x15, "target 0x%x", in.target);
	/* 66 E9 cw: JMP rel16: EIP wraps to 16 bits */
	in = CLASSIFY(dflt(), 0x1fff0, 0x66, 0xe9, 0x20, 0x00);
	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_TARGET);
	cr_assert_eq(in.target, 0x14, "target 0x%x", in.target);
	/* 0F 8x cd: Jcc rel32 is conditional */
	in = CLASSIFY(dflt(), 0x1000, 0x0f, 0x84, 0x00, 0x01, 0x00, 0x00);
	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_COND |
	      SCAN_F_TARGET);
	cr_assert_eq(in.target, 0x1106);
	/* 67 E3 cb: JCXZ (address size picks CX; EIP stays 32-bit) */
	in = CLASSIFY(dflt(), 0x12340, 0x67, 0xe3, 0x10);
	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_COND |
	      SCAN_F_TARGET);
	cr_assert_eq(in.target, 0x12353);
	/* FF /4: JMP r/m32 has no target */
	in = CLASSIFY(dflt(), 0x1000, 0xff, 0xe0);
	check(in, SCAN_BRANCH_INDIRECT, SCAN_F_END);
}

Test(classify, targets_in_16bit_code)
{
	struct scan_opts o16 = SCAN_OPTS_DEFAULT;
	struct scan_insn in;

	o16.code32 = false;
	/* E9 cw: JMP rel16 wraps at 64 KiB */
	in = CLASSIFY(&o16, 0xfff0, 0xe9, 0x00, 0x01);
	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_TARGET);
	cr_assert_eq(in.target, 0xf3, "target 0x%x", in.target);
	/* 66 E9 cd: JMP rel32 does not */
	in = CLASSIFY(&o16, 0xfff0, 0x66, 0xe9, 0x00, 0x01, 0x00, 0x00);
	check(in, SCAN_BRANCH_DIRECT, SCAN_F_END | SCAN_F_TARGET);
	cr_assert_eq(in.target, 0x100f6, "target 0x%x", in.target);
	/* 9C: PUSHF, 8E D8: MOV DS, AX, as in 32-bit code */
	check(CLASSIFY(&o16, 0, 0x9c), SCAN_SENSITIVE, 0);
	check(CLASSIFY(&o16, 0, 0x8e, 0xd8), SCAN_SENSITIVE, 0);
}

Test(classify, short_and_invalid)
{
	struct scan_insn in;
	static const uint8_t jmp_cut[] = { 0xe9, 0x00, 0x01 };
	static const uint8_t lock_nop[] = { 0xf0, 0x90 };

	cr_assert_eq(scan_classify(jmp_cut, sizeof(jmp_cut), 0, dflt(), &in),
	             -1);
	cr_assert_eq(scan_classify(jmp_cut, 0, 0, dflt(), &in), -1);
	cr_assert_eq(scan_classify(lock_nop, sizeof(lock_nop), 0, dflt(),
	                           &in), 0);
	check(in, SCAN_UNDEFINED, SCAN_F_END);
	cr_assert_eq(in.len, 1);
	cr_assert_eq(in.mnem, 0);
}

/* ---- scan_block. ---- */

Test(scan_block, ends_at_jmp)
{
	static const uint8_t code[] = {
		0x89, 0xd8,                   /* mov eax, ebx */
		0xfa,                         /* cli: a callout, no end */
		0x0f, 0x01, 0x00,             /* sgdt [eax]: likewise */
		0x65, 0x8b, 0x03,             /* mov eax, gs:[ebx] */
		0xeb, 0xf5,                   /* jmp back to the start */
		0x90, 0x90,                   /* not scanned */
	};
	struct scan_block b;

	cr_assert_eq(scan_block(code, sizeof(code), 0x1000, dflt(), &b), 5);
	cr_assert_eq(b.stop, SCAN_STOP_END);
	cr_assert_eq(b.len, 11);
	cr_assert_eq(b.eip, 0x1000);
	cr_assert_not(b.two_pages);
	cr_assert_eq(b.insn[1].cls, SCAN_PRIVILEGED);
	cr_assert_eq(b.insn[2].cls, SCAN_SENSITIVE);
	cr_assert_eq(b.insn[3].cls, SCAN_SEGREG_RESERVED);
	cr_assert_eq(b.insn[4].offset, 9);
	cr_assert_eq(b.insn[4].eip, 0x1009);
	cr_assert_eq(b.insn[4].target, 0x1000);
}

Test(scan_block, mov_to_cr3_ends_block)
{
	static const uint8_t code[] = {
		0x0f, 0x22, 0xd8,             /* mov cr3, eax */
		0x90,
	};
	struct scan_block b;

	cr_assert_eq(scan_block(code, sizeof(code), 0x1000, dflt(), &b), 1);
	cr_assert_eq(b.stop, SCAN_STOP_END);
}

Test(scan_block, stops_at_page_end)
{
	uint8_t code[32];
	struct scan_block b;

	/* NOPs up to 0x1fff, then a 5-byte instruction: the page's last
	 * NOP ends the block exactly at the boundary. */
	memset(code, 0x90, sizeof(code));
	cr_assert_eq(scan_block(code, sizeof(code), 0x1ff8, dflt(), &b), 8);
	cr_assert_eq(b.stop, SCAN_STOP_PAGE);
	cr_assert_not(b.two_pages);
	cr_assert_eq(b.len, 8);

	/* mov eax, imm32 at 0x1ffe straddles into the next page. */
	code[6] = 0xb8;
	cr_assert_eq(scan_block(code, sizeof(code), 0x1ff8, dflt(), &b), 7);
	cr_assert_eq(b.stop, SCAN_STOP_PAGE);
	cr_assert(b.two_pages);
	cr_assert_eq(b.len, 11);
	cr_assert_eq(b.insn[6].len, 5);

	/* A jmp that straddles ends the block on both counts. */
	code[6] = 0xe9;
	cr_assert_eq(scan_block(code, sizeof(code), 0x1ff8, dflt(), &b), 7);
	cr_assert_eq(b.stop, SCAN_STOP_END);
	cr_assert(b.two_pages);
}

Test(scan_block, stops_at_limit)
{
	uint8_t code[200];
	struct scan_opts o = SCAN_OPTS_DEFAULT;
	struct scan_block b;

	memset(code, 0x40, sizeof(code));          /* inc eax */
	cr_assert_eq(scan_block(code, sizeof(code), 0x1000, dflt(), &b),
	             SCAN_MAX_INSNS);
	cr_assert_eq(b.stop, SCAN_STOP_LIMIT);
	cr_assert_eq(b.len, SCAN_MAX_INSNS);
	o.max_insns = 3;
	cr_assert_eq(scan_block(code, sizeof(code), 0x1000, &o, &b), 3);
	cr_assert_eq(b.stop, SCAN_STOP_LIMIT);
}

Test(scan_block, stops_short_and_at_undefined)
{
	static const uint8_t cut[] = { 0x90, 0xb8, 0x01 };
	static const uint8_t ud[] = { 0x90, 0x0f, 0x0b, 0x90 };
	struct scan_block b;

	cr_assert_eq(scan_block(cut, sizeof(cut), 0x1000, dflt(), &b), 1);
	cr_assert_eq(b.stop, SCAN_STOP_SHORT);
	cr_assert_eq(b.len, 1);
	cr_assert_eq(scan_block(cut + 1, 2, 0x1001, dflt(), &b), 0);
	cr_assert_eq(b.stop, SCAN_STOP_SHORT);
	cr_assert_eq(scan_block(ud, sizeof(ud), 0x1000, dflt(), &b), 2);
	cr_assert_eq(b.stop, SCAN_STOP_END);
	cr_assert_eq(b.insn[1].cls, SCAN_UNDEFINED);
	cr_assert_eq(b.len, 3);
}

/* ---- The golden file. ---- */

/* "0f 01 00" -> bytes (up to 16: one past the longest instruction);
 * returns the count, or 0 on bad hex. */
static size_t parse_hex(const char *s, uint8_t *b, size_t max)
{
	size_t n = 0;
	unsigned v;
	int used;

	while (sscanf(s, " %2x%n", &v, &used) == 1) {
		if (n == max)
			return 0;
		b[n++] = (uint8_t)v;
		s += used;
	}
	return *golden_trim((char *)s) ? 0 : n;
}

/* The class column: class name, then the flags that apply. */
static void describe(const struct scan_insn *in, char *out, size_t len)
{
	int n = snprintf(out, len, "%s", scan_class_name(in->cls));

	if (in->flags & SCAN_F_END)
		n += snprintf(out + n, len - n, " end");
	if (in->flags & SCAN_F_COND)
		n += snprintf(out + n, len - n, " cond");
	if (in->flags & SCAN_F_TARGET)
		n += snprintf(out + n, len - n, " ->0x%x", in->target);
	if (in->flags & SCAN_F_RESV_SEG)
		snprintf(out + n, len - n, " resv");
}

struct golden_line {
	char bytes[64];   /* normalised hex */
	char cls[80];
	char text[128];
};

/* Compute what the classifier says of a line's bytes; false if the
 * bytes are not hex or are not exactly one instruction. */
static bool compute(const char *hex, struct golden_line *g, char *why,
                    size_t whylen)
{
	uint8_t b[16];
	size_t n = parse_hex(hex, b, sizeof(b));
	struct scan_insn in;
	int k = 0;

	if (!n) {
		snprintf(why, whylen, "bad hex");
		return false;
	}
	for (size_t i = 0; i < n; i++)
		k += snprintf(g->bytes + k, sizeof(g->bytes) - k, "%s%02x",
		              i ? " " : "", b[i]);
	if (scan_classify(b, n, GOLDEN_EIP, dflt(), &in)) {
		snprintf(why, whylen, "bytes cut short");
		return false;
	}
	if (in.mnem && in.len != n) {
		snprintf(why, whylen, "%u of the %zu bytes are an instruction",
		         in.len, n);
		return false;
	}
	describe(&in, g->cls, sizeof(g->cls));
	scan_format(b, n, true, GOLDEN_EIP, g->text, sizeof(g->text));
	return true;
}

/* An entry as the classifier has it now (an entry without columns is
 * kept as it is). */
static void rebase(FILE *f, char *s, const char *path, size_t lineno,
                   void *ctx)
{
	char *bar = strchr(s, '|'), why[64];
	struct golden_line g;

	(void)ctx;
	if (!bar) {
		fprintf(f, "%s\n", s);
		return;
	}
	*bar = 0;
	cr_assert(compute(s, &g, why, sizeof(why)), "%s:%zu: %s", path, lineno,
	          why);
	fprintf(f, "%-23s | %-28s | %s\n", g.bytes, g.cls, g.text);
}

/* One entry line: bytes | class and flags | text. */
static bool check_line(char *s, const char *path, size_t lineno,
                       void *ctx)
{
	unsigned *seen = ctx;
	char *col[3] = { s, NULL, NULL }, why[64];
	struct golden_line g;

	for (int i = 1; i < 3; i++) {
		col[i] = col[i - 1] ? strchr(col[i - 1], '|') : NULL;
		if (col[i])
			*col[i]++ = 0;
	}
	if (!col[2]) {
		cr_expect_fail("%s:%zu: not 'bytes | class | text'", path,
		               lineno);
		return false;
	}
	if (!compute(col[0], &g, why, sizeof(why))) {
		cr_expect_fail("%s:%zu: %s", path, lineno, why);
		return false;
	}
	for (unsigned c = 0; c < SCAN_CLASS_COUNT; c++) {
		size_t k = strlen(scan_class_name(c));

		if (!strncmp(g.cls, scan_class_name(c), k) &&
		    (g.cls[k] == ' ' || !g.cls[k]))
			seen[c]++;
	}
	col[1] = golden_trim(col[1]);
	col[2] = golden_trim(col[2]);
	cr_expect_str_eq(col[1], g.cls, "%s:%zu: %s: class '%s', the "
	                 "classifier says '%s'", path, lineno, g.bytes,
	                 col[1], g.cls);
	cr_expect_str_eq(col[2], g.text, "%s:%zu: %s: text '%s', the "
	                 "decoder says '%s'", path, lineno, g.bytes,
	                 col[2], g.text);
	return !strcmp(col[1], g.cls) && !strcmp(col[2], g.text);
}

Test(classify, golden)
{
	unsigned seen[SCAN_CLASS_COUNT] = { 0 };
	struct golden g = {
		.file = GOLDEN, .check = check_line, .rebase = rebase,
		.ctx = seen,
		.rebase_cmd = "POPEK_GOLDEN_REBASE=1 tests/unit/test_classify "
		              "--filter 'classify/golden'",
	};
	size_t entries = golden_run(&g);

	if (golden_rebasing())
		return;
	cr_assert_gt(entries, 100, "%s: only %zu entries", GOLDEN, entries);
	for (unsigned c = SCAN_IDENT; c < SCAN_CLASS_COUNT; c++)
		cr_expect_gt(seen[c], 0, "%s: no line of class %s", GOLDEN,
		             scan_class_name(c));
}
