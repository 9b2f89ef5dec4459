/*
 * golden.c — the golden-file harness (see golden.h).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/golden.h"

#define LINE 8192

char *golden_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

bool golden_rebasing(void)
{
	return getenv("POPEK_GOLDEN_REBASE") != NULL;
}

static FILE *open_golden(const char *file, const char *mode, char *path,
                         size_t len)
{
	const char *srcdir = getenv("srcdir");
	FILE *f;

	snprintf(path, len, "%s/%s", srcdir ? srcdir : ".", file);
	f = fopen(path, mode);
	cr_assert_not_null(f, "cannot open %s", path);
	return f;
}

/* The whole file, one string a line. */
static char **read_lines(const char *file, char *path, size_t len,
                         size_t *count)
{
	FILE *f = open_golden(file, "r", path, len);
	static char buf[LINE];
	char **lines = NULL;
	size_t cap = 0;

	*count = 0;
	while (fgets(buf, sizeof(buf), f)) {
		if (*count == cap) {
			cap = cap ? 2 * cap : 256;
			lines = realloc(lines, cap * sizeof(*lines));
			cr_assert_not_null(lines);
		}
		lines[(*count)++] = strdup(buf);
	}
	fclose(f);
	return lines;
}

size_t golden_run(const struct golden *g)
{
	char path[512], tmp[520];
	size_t count, entries = 0, bad = 0;
	char **lines = read_lines(g->file, path, sizeof(path), &count);
	FILE *out = NULL;

	/* Rebase into a new file, renamed over the old one only once every
	 * entry is written: an entry that fails (an assertion of the test,
	 * the translator's checker) leaves the golden file as it was. */
	if (golden_rebasing()) {
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		out = fopen(tmp, "w");
		cr_assert_not_null(out, "cannot open %s", tmp);
	}

	for (size_t i = 0; i < count; i++) {
		char *s = golden_trim(lines[i]);

		if (*s == '#' || !*s) {
			if (out)
				fprintf(out, "%s\n", s);
		} else if (out) {
			entries++;
			g->rebase(out, s, path, i + 1, g->ctx);
		} else {
			entries++;
			bad += !g->check(s, path, i + 1, g->ctx);
		}
		free(lines[i]);
	}
	free(lines);
	if (out) {
		cr_assert_eq(fclose(out), 0, "writing %s", tmp);
		cr_assert_eq(rename(tmp, path), 0, "renaming %s", tmp);
		cr_log_warn("POPEK_GOLDEN_REBASE: rewrote %s", path);
		return entries;
	}
	cr_assert_eq(bad, 0, "%zu of %zu golden lines of %s differ (after a "
	             "deliberate change: %s, then review the diff)", bad,
	             entries, path, g->rebase_cmd);
	return entries;
}
