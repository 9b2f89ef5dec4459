/*
 * probe_table.c — the expected table of `popek probe` (probe.h): the rows
 * and probes of tests/pg/expect.txt, each run's results, the verdict and
 * the printed table.
 *
 * A row of the table is an instruction; its probes are split by the CPL
 * they ran at (cpl0-* kernel mode, cpl3-* user mode) and counted per
 * mode: "14/14" when all of them behave as the architecture says, "3 of 14
 * differ" otherwise, marked with '!' where that is not what expect.txt
 * says.
 */
#include "vmm/probe.h"

#include <stdlib.h>
#include <string.h>

#define ROWS_MAX 32
#define PROBES_MAX 256
#define NAME_MAX_LEN 40
#define UNKNOWN_MAX 8
#define CELL_LEN 40

enum outcome { O_NONE, O_PASS, O_FAIL, O_EITHER };

const char *const probe_mode_name[PROBE_MODES] = { "trap", "bt" };

struct row {
	char insn[24];
	char cls[24];
	char why[72];
};

struct probe {
	char name[NAME_MAX_LEN];
	unsigned row;
	bool user;                       /* cpl3-*: ran in guest user mode */
	unsigned char want[PROBE_MODES], got[PROBE_MODES];
};

struct probe_table {
	const char *origin;
	struct row rows[ROWS_MAX];
	unsigned nrows;
	struct probe probes[PROBES_MAX];
	unsigned nprobes;
	/* Results for probes the table does not have (the first few). */
	char unknown[PROBE_MODES][UNKNOWN_MAX][NAME_MAX_LEN];
	unsigned nunknown[PROBE_MODES];
};

static const char *const class_names[] = {
	"privileged", "sensitive-unprivileged", "innocuous",
};

static struct probe *find(struct probe_table *t, const char *name)
{
	for (unsigned i = 0; i < t->nprobes; i++)
		if (!strcmp(t->probes[i].name, name))
			return &t->probes[i];
	return NULL;
}

/* Copy s without its leading and trailing blanks into dst[n]; false if
 * it is empty or does not fit. */
static bool field(char *dst, size_t n, const char *s, size_t len)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!len || len >= n)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

/* "row INSTRUCTION | CLASS | EXPLANATION" (after "row "). */
static const char *parse_row(struct probe_table *t, const char *s)
{
	struct row *r = &t->rows[t->nrows];
	const char *bar1 = strchr(s, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
	bool known = false;

	if (t->nrows == ROWS_MAX)
		return "too many rows";
	if (!bar2 || !field(r->insn, sizeof(r->insn), s, (size_t)(bar1 - s)) ||
	    !field(r->cls, sizeof(r->cls), bar1 + 1, (size_t)(bar2 - bar1 - 1)) ||
	    !field(r->why, sizeof(r->why), bar2 + 1, strlen(bar2 + 1)))
		return "a row is: row INSTRUCTION | CLASS | EXPLANATION (each short)";
	for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
		known |= !strcmp(r->cls, class_names[i]);
	if (!known)
		return "CLASS is privileged, sensitive-unprivileged or innocuous";
	t->nrows++;
	return NULL;
}

static int outcome(const char *s)
{
	return !strcmp(s, "pass") ? O_PASS : !strcmp(s, "fail") ? O_FAIL :
	       !strcmp(s, "either") ? O_EITHER : -1;
}

/* "PROBE TRAP BT" */
static const char *parse_probe(struct probe_table *t, const char *s)
{
	struct probe *p = &t->probes[t->nprobes];
	char name[NAME_MAX_LEN + 1], w[PROBE_MODES][16], extra;
	int o[PROBE_MODES];

	if (sscanf(s, "%40s %15s %15s %c", name, w[0], w[1], &extra) != 3)
		return "a probe line is: PROBE TRAP BT";
	if (strlen(name) >= NAME_MAX_LEN)
		return "probe name too long";
	if (strncmp(name, "cpl0-", 5) && strncmp(name, "cpl3-", 5))
		return "a probe's name starts with cpl0- or cpl3-";
	if (!t->nrows)
		return "a probe before the first row";
	if (find(t, name))
		return "a probe listed twice";
	if (t->nprobes == PROBES_MAX)
		return "too many probes";
	for (int m = 0; m < PROBE_MODES; m++)
		if ((o[m] = outcome(w[m])) < 0)
			return "an outcome is pass, fail or either";
	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	p->row = t->nrows - 1;
	p->user = name[3] == '3';
	for (int m = 0; m < PROBE_MODES; m++)
		p->want[m] = (unsigned char)o[m];
	t->nprobes++;
	return NULL;
}

struct probe_table *probe_table_parse(const char *text, size_t len,
                                      const char *origin,
                                      char *err, size_t errlen)
{
	struct probe_table *t = calloc(1, sizeof(*t));
	unsigned lineno = 0;

	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->origin = origin;
	for (size_t at = 0; at < len; ) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char line[256];
		const char *why = NULL;

		lineno++;
		if (n >= sizeof(line))
			why = "line too long";
		else {
			memcpy(line, text + at, n);
			line[n] = '\0';
			if (!strncmp(line, "row ", 4))
				why = parse_row(t, line + 4);
			else if (line[0] && line[0] != '#')
				why = parse_probe(t, line);
		}
		if (why) {
			snprintf(err, errlen, "%s:%u: %s", origin, lineno, why);
			free(t);
			return NULL;
		}
		at += n + 1;
	}
	if (!t->nprobes) {
		snprintf(err, errlen, "%s: no probes", origin);
		free(t);
		return NULL;
	}
	return t;
}

void probe_table_free(struct probe_table *t)
{
	free(t);
}

unsigned probe_table_count(const struct probe_table *t)
{
	return t->nprobes;
}

void probe_table_results(struct probe_table *t, enum probe_mode mode,
                         const char *out, size_t len)
{
	for (size_t at = 0; at < len; ) {
		const char *nl = memchr(out + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (out + at)) : len - at;
		const char *s = out + at;
		bool pass = n > 6 && !memcmp(s, "PASS: ", 6);
		bool fail = n > 6 && !memcmp(s, "FAIL: ", 6);
		char name[NAME_MAX_LEN];
		size_t k = 0;

		at += n + 1;
		if (!pass && !fail)
			continue;
		for (s += 6; k < n - 6 && s[k] != ' ' && k + 1 < sizeof(name); k++)
			name[k] = s[k];
		name[k] = '\0';
		struct probe *p = find(t, name);
		if (p) {
			p->got[mode] = pass ? O_PASS : O_FAIL;
		} else if (t->nunknown[mode]++ < UNKNOWN_MAX) {
			strcpy(t->unknown[mode][t->nunknown[mode] - 1], name);
		}
	}
}

static const char *outcome_word(unsigned char o)
{
	return o == O_PASS ? "pass" : o == O_FAIL ? "fail" : "either";
}

static bool as_expected(const struct probe *p, int m)
{
	return p->got[m] != O_NONE &&
	       (p->want[m] == O_EITHER || p->want[m] == p->got[m]);
}

/* One cell: the probes of row r at one CPL under mode m. */
static void cell(const struct probe_table *t, unsigned r, bool user, int m,
                 char *buf, size_t n)
{
	unsigned total = 0, differ = 0, unreported = 0, unexpected = 0;

	for (unsigned i = 0; i < t->nprobes; i++) {
		const struct probe *p = &t->probes[i];

		if (p->row != r || p->user != user)
			continue;
		total++;
		differ += p->got[m] == O_FAIL;
		unreported += p->got[m] == O_NONE;
		unexpected += !as_expected(p, m);
	}
	if (!total)
		snprintf(buf, n, "-");
	else if (unreported == total)
		snprintf(buf, n, "not reported");
	else if (!differ && !unreported)
		snprintf(buf, n, "%u/%u", total, total);
	else
		snprintf(buf, n, "%u of %u differ%s%s", differ, total,
		         differ == 1 ? "s" : "", unreported ? ", some unreported" : "");
	if (unexpected && strlen(buf) + 2 < n)
		strcat(buf, " !");
}

enum { COL_INSN, COL_CLASS, COL_KTRAP, COL_KBT, COL_USER, COL_WHY, COLS };

/* The user-mode cell: one mode's, or both when they differ. */
static void user_cell(const struct probe_table *t, unsigned r, unsigned ran,
                      char *buf, size_t n)
{
	char c[PROBE_MODES][CELL_LEN];

	for (int m = 0; m < PROBE_MODES; m++)
		if (ran & 1u << m)
			cell(t, r, true, m, c[m], sizeof(c[m]));
	if (ran != (1u << PROBE_MODES) - 1)
		snprintf(buf, n, "%s", c[ran & 1u << PROBE_TRAP ? PROBE_TRAP : PROBE_BT]);
	else if (!strcmp(c[PROBE_TRAP], c[PROBE_BT]))
		snprintf(buf, n, "%s", c[PROBE_TRAP]);
	else
		snprintf(buf, n, "trap %s; bt %s", c[PROBE_TRAP], c[PROBE_BT]);
}

static void print_line(FILE *f, char cells[COLS][96], const int *width,
                       unsigned ran)
{
	for (int c = 0; c < COLS; c++) {
		if ((c == COL_KTRAP && !(ran & 1u << PROBE_TRAP)) ||
		    (c == COL_KBT && !(ran & 1u << PROBE_BT)))
			continue;
		if (c == COLS - 1)
			fprintf(f, "%s\n", cells[c]);
		else
			fprintf(f, "%-*s  ", width[c], cells[c]);
	}
}

static void print_grid(const struct probe_table *t, unsigned ran, FILE *f)
{
	static char grid[ROWS_MAX + 1][COLS][96];
	int width[COLS] = { 0 };
	const char *head[COLS] = {
		"instruction", "class", "kernel, trap", "kernel, bt",
		ran == 1u << PROBE_TRAP ? "user, trap" :
		ran == 1u << PROBE_BT ? "user, bt" : "user mode", "explanation",
	};

	for (int c = 0; c < COLS; c++)
		snprintf(grid[0][c], sizeof(grid[0][c]), "%s", head[c]);
	for (unsigned r = 0; r < t->nrows; r++) {
		char (*g)[96] = grid[r + 1];

		snprintf(g[COL_INSN], 96, "%s", t->rows[r].insn);
		snprintf(g[COL_CLASS], 96, "%s", t->rows[r].cls);
		for (int m = 0; m < PROBE_MODES; m++)
			if (ran & 1u << m)
				cell(t, r, false, m, g[COL_KTRAP + m], 96);
		user_cell(t, r, ran, g[COL_USER], 96);
		snprintf(g[COL_WHY], 96, "%s", t->rows[r].why);
	}
	for (unsigned r = 0; r <= t->nrows; r++)
		for (int c = 0; c < COLS; c++) {
			int w = (int)strlen(grid[r][c]);
			width[c] = w > width[c] ? w : width[c];
		}
	for (unsigned r = 0; r <= t->nrows; r++)
		print_line(f, grid[r], width, ran);
}

/* The verdict for mode m: a line on err per unexpected probe, a summary
 * on out; returns the number of unexpected ones. */
static unsigned verdict(const struct probe_table *t, int m, FILE *out,
                        FILE *err)
{
	unsigned differ = 0, bad = 0, unreported = 0;

	for (unsigned i = 0; i < t->nprobes; i++) {
		const struct probe *p = &t->probes[i];

		differ += p->got[m] == O_FAIL;
		if (as_expected(p, m))
			continue;
		bad++;
		if (p->got[m] == O_NONE && ++unreported > UNKNOWN_MAX)
			continue;
		fprintf(err, "popek probe: --mode=%s: %s %s, %s says %s\n",
		        probe_mode_name[m], p->name,
		        p->got[m] == O_PASS ? "passes" :
		        p->got[m] == O_FAIL ? "fails" : "was not reported",
		        t->origin, outcome_word(p->want[m]));
	}
	if (unreported > UNKNOWN_MAX)
		fprintf(err, "popek probe: --mode=%s: ... and %u more not "
		        "reported\n", probe_mode_name[m], unreported - UNKNOWN_MAX);
	for (unsigned i = 0; i < t->nunknown[m]; i++) {
		if (i < UNKNOWN_MAX)
			fprintf(err, "popek probe: --mode=%s: %s is not in %s\n",
			        probe_mode_name[m], t->unknown[m][i], t->origin);
		bad++;
	}
	fprintf(out, "--mode=%s: %u probes, %u differ from the architecture, "
	        "%s\n", probe_mode_name[m], t->nprobes, differ,
	        bad ? "NOT as expected" : "as expected");
	return bad;
}

unsigned probe_table_print(const struct probe_table *t, unsigned ran,
                           FILE *out, FILE *err)
{
	unsigned bad = 0;

	print_grid(t, ran, out);
	fprintf(out, "\nN/N: all N probes of the row give what the architecture "
	        "says; k of N differ:\nk of them give what the host or popek "
	        "says instead.\n");
	for (int m = 0; m < PROBE_MODES; m++)
		if (ran & 1u << m)
			bad += verdict(t, m, out, err);
	if (bad)
		fprintf(out, "'!': not what %s expects\n", t->origin);
	return bad;
}
