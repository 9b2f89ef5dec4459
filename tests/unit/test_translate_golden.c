/*
 * test_translate_golden.c — the translator's golden file,
 * tests/translate/golden.txt: one guest block a line with the code the
 * translator emits for it, its callout sites and its TC → guest EIP map.
 * With POPEK_GOLDEN_REBASE=1 in the environment the test rewrites the
 * file from the current translator instead of comparing (review the
 * diff before committing).  Every block is also put through the
 * invariant checker (tests/translate/check.h), rebase or not.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/classify.h"
#include "tests/unit/golden.h"
#include "tests/unit/tc_fixture.h"
#include "translate/tc_impl.h"

#define GOLDEN "tests/translate/golden.txt"
#define LINE 8192

TestSuite(translate_golden, .init = tcfx_setup, .fini = tcfx_teardown);

struct input {
	uint32_t eip, cs_base;
	bool one_shot, user;
	uint8_t bytes[512];
	size_t n;
};

/* "[@EIP] [cs=BASE] [once] [user] hex..." where a byte may be "XX*N" (N times);
 * false on anything else. */
static bool parse_input(const char *s, struct input *in)
{
	char tok[32];
	int used;

	*in = (struct input){ .eip = 0x1000 };
	while (sscanf(s, " %31s%n", tok, &used) == 1) {
		unsigned v, rep = 1;
		char tail;

		s += used;
		if (tok[0] == '@' && sscanf(tok + 1, "%x%c", &in->eip, &tail) == 1)
			continue;
		if (sscanf(tok, "cs=%x%c", &in->cs_base, &tail) == 1)
			continue;
		if (!strcmp(tok, "once")) {
			in->one_shot = true;
			continue;
		}
		if (!strcmp(tok, "user")) {
			in->user = true;
			continue;
		}
		if (strlen(tok) < 2 || !isxdigit((unsigned char)tok[0]) ||
		    !isxdigit((unsigned char)tok[1]) ||
		    sscanf(tok, "%2x", &v) != 1 ||
		    (tok[2] && sscanf(tok + 2, "*%u%c", &rep, &tail) != 1))
			return false;
		if (in->n + rep > sizeof(in->bytes))
			return false;
		memset(in->bytes + in->n, (int)v, rep);
		in->n += rep;
	}
	return in->n > 0;
}

struct outcome {
	char code[LINE], sites[LINE], map[LINE];
};

static void add(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add(char *buf, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf + n, LINE - n, fmt, ap);
	va_end(ap);
}

/* "+off text; ...", a run of one text shown once with "xN". */
static void describe_code(const struct tc_block *b, char *out)
{
	char prev[128] = "", text[128];
	unsigned run = 0;
	bool first = true;

	for (uint32_t at = b->start; at < b->end;) {
		struct scan_insn si;

		cr_assert_eq(scan_classify(tc_ptr(at), b->end - at, at,
		                           &SCAN_OPTS_DEFAULT, &si), 0);
		scan_format(tc_ptr(at), si.len, true, at, text, sizeof(text));
		if (run && !strcmp(text, prev)) {
			run++;
		} else {
			if (run > 1)
				add(out, " x%u", run);
			add(out, "%s+%02x %s", first ? "" : "; ", at - b->start,
			    text);
			first = false;
			snprintf(prev, sizeof(prev), "%s", text);
			run = 1;
		}
		at += si.len;
	}
	if (run > 1)
		add(out, " x%u", run);
}

static void describe_sites(uint32_t bi, const struct tc_block *b, char *out)
{
	const struct tc_site *s;

	for (uint32_t id = 0; (s = tc_site(tcfx, id)); id++) {
		if (s->block != bi)
			continue;
		add(out, "%s#%u ", *out ? ", " : "", id);
		if (s->kind == TC_SITE_BRANCH && !s->patch)
			add(out, "BRANCH 0x%x unpatched", s->guest_eip);
		else if (s->kind == TC_SITE_BRANCH)
			add(out, "BRANCH 0x%x patch +%02x", s->guest_eip,
			    s->patch - b->start);
		else
			add(out, "EMULATE %s 0x%x", scan_class_name(s->cls),
			    s->guest_eip);
	}
}

/* Map entry k is inside a run of evenly spaced exact ones. */
static bool inner(const struct tc_map_ent *m, uint32_t k, uint32_t n)
{
	return k > 0 && k + 1 < n && !m[k - 1].nb && !m[k].nb && !m[k + 1].nb &&
	       m[k].tc - m[k - 1].tc == m[k + 1].tc - m[k].tc &&
	       m[k].eip - m[k - 1].eip == m[k + 1].eip - m[k].eip;
}

/* "+tc>eip ..." ("+tc>nb" inside an inline sequence), a run of three
 * or more evenly spaced exact entries shown as its first, "..", its
 * last. */
static void describe_map(const struct tc_block *b, char *out)
{
	const struct tc_map_ent *m = &tcfx->map[b->map0];

	for (uint32_t k = 0; k < b->nmap; k++) {
		if (m[k].nb)
			add(out, "%s+%02x>nb", k ? " " : "", m[k].tc - b->start);
		else if (!inner(m, k, b->nmap))
			add(out, "%s+%02x>%x", k ? " " : "", m[k].tc - b->start,
			    m[k].eip);
		else if (!inner(m, k - 1, b->nmap))
			add(out, " ..");
	}
}

/* Translate a line's input in an empty cache. */
static bool compute(const char *s, struct outcome *o, char *why, size_t len)
{
	struct input in;
	struct tc_src src;
	bool two;
	uint32_t start;

	*o->code = *o->sites = *o->map = 0;
	if (!parse_input(s, &in)) {
		snprintf(why, len, "bad input");
		return false;
	}
	tc_flush(tcfx);
	src = tcfx_src(in.eip, in.bytes, in.n);
	src.cs_base = in.cs_base;
	src.one_shot = in.one_shot;
	src.user = in.user;
	start = tcfx_translate(&src, &two);
	if (!start) {
		snprintf(o->code, LINE, "(none)");
		return true;
	}
	cr_assert_eq(tcfx->nblocks, 1);
	if (two)
		add(o->code, "[2 pages] ");
	describe_code(&tcfx->blocks[0], o->code);
	describe_sites(0, &tcfx->blocks[0], o->sites);
	describe_map(&tcfx->blocks[0], o->map);
	return true;
}

/* An entry as the translator has it now. */
static void rebase(FILE *f, char *s, const char *path, size_t lineno,
                   void *ctx)
{
	static struct outcome o;
	char *bar = strchr(s, '|'), why[64];

	(void)ctx;
	if (bar)
		*bar = 0;
	cr_assert(compute(s, &o, why, sizeof(why)), "%s:%zu: %s", path, lineno,
	          why);
	fprintf(f, "%s | %s | %s | %s\n", golden_trim(s), o.code, o.sites,
	        o.map);
}

/* One entry: input | code | sites | map. */
static bool check_line(char *s, const char *path, size_t lineno,
                       void *ctx)
{
	char *col[4] = { s }, why[64];
	static struct outcome o;

	for (int i = 1; i < 4; i++) {
		col[i] = col[i - 1] ? strchr(col[i - 1], '|') : NULL;
		if (col[i])
			*col[i]++ = 0;
	}
	if (!col[3] || !compute(col[0], &o, why, sizeof(why))) {
		cr_expect_fail("%s:%zu: not 'input | code | sites | map'", path,
		               lineno);
		return false;
	}
	(void)ctx;
	const char *want[3] = { o.code, o.sites, o.map };
	const char *name[3] = { "code", "sites", "map" };
	bool ok = true;
	for (int i = 0; i < 3; i++) {
		char *got = golden_trim(col[i + 1]);

		cr_expect_str_eq(got, want[i], "%s:%zu: %s: %s '%s', the "
		                 "translator says '%s'", path, lineno,
		                 golden_trim(col[0]), name[i], got, want[i]);
		ok &= !strcmp(got, want[i]);
	}
	return ok;
}

Test(translate_golden, golden)
{
	struct golden g = {
		.file = GOLDEN, .check = check_line, .rebase = rebase,
		.rebase_cmd = "POPEK_GOLDEN_REBASE=1 tests/unit/test_translate "
		              "--filter 'translate_golden/*'",
	};
	size_t entries = golden_run(&g);

	cr_assert_gt(entries, 60, "%s: only %zu entries", GOLDEN, entries);
}
