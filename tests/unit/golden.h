/*
 * golden.h — the golden-file harness of the classifier's and the
 * translator's unit tests (test_classify.c, test_translate_golden.c).
 *
 * A golden file, found under $srcdir, holds one entry a line; lines
 * starting with # and blank lines are kept as they are.  golden_run
 * hands each entry to the test's check (compare mode), or, with
 * POPEK_GOLDEN_REBASE=1 in the environment, to its rebase, which writes
 * the entry's new form: the file is rewritten from the code under test,
 * to be reviewed with git diff.
 */
#ifndef POPEK_TESTS_GOLDEN_H
#define POPEK_TESTS_GOLDEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct golden {
	const char *file;       /* relative to $srcdir */
	const char *rebase_cmd; /* how to rebase it, for the failure message */
	/* An entry (trimmed; the test may cut it up): true if it matches. */
	bool (*check)(char *entry, const char *path, size_t lineno, void *ctx);
	/* Write the entry as the code under test has it now, one line. */
	void (*rebase)(FILE *out, char *entry, const char *path, size_t lineno,
	               void *ctx);
	void *ctx;
};

/* Check (or rebase) every entry; asserts that none differs.  Returns
 * the number of entries. */
size_t golden_run(const struct golden *g);
/* POPEK_GOLDEN_REBASE is set: golden_run rewrites instead of checking. */
bool golden_rebasing(void);

/* s without its leading and trailing white space (cut in place). */
char *golden_trim(char *s);

#endif
