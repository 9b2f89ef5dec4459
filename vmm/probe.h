/*
 * probe.h — `popek probe`: the Popek–Goldberg probe suite (tests/pg/probe.c,
 * compiled into popek with its expected results, tests/pg/expect.txt) run
 * under popek itself, in one or both modes, and shown as one table of
 * instructions.
 *
 * probe.c runs the guest and owns the command line; probe_table.c holds
 * the expected table: it parses expect.txt, takes each run's PASS/FAIL
 * lines, judges them and prints the table.  Single-threaded.
 */
#ifndef POPEK_VMM_PROBE_H
#define POPEK_VMM_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The modes a probe run can use: the columns of expect.txt. */
enum probe_mode { PROBE_TRAP, PROBE_BT, PROBE_MODES };
extern const char *const probe_mode_name[PROBE_MODES];   /* "trap", "bt" */

struct probe_table;

/* Parse expect.txt's text (len bytes, need not end in NUL); `origin`
 * names it in messages.  NULL with one line in err on a malformed line. */
struct probe_table *probe_table_parse(const char *text, size_t len,
                                      const char *origin,
                                      char *err, size_t errlen);
void probe_table_free(struct probe_table *t);
unsigned probe_table_count(const struct probe_table *t);

/* The console output of one run under `mode`: its PASS:/FAIL: lines are
 * the results.  Probes the table does not know are kept for the verdict. */
void probe_table_results(struct probe_table *t, enum probe_mode mode,
                         const char *out, size_t len);

/* The table and a summary line per mode for the modes in `ran` (a bit
 * per enum probe_mode) on `out`; one line on `err` per probe whose result
 * is not the expected one.  Returns the number of such probes (unknown
 * and unreported ones included). */
unsigned probe_table_print(const struct probe_table *t, unsigned ran,
                           FILE *out, FILE *err);

/* `popek probe [--mode=trap|bt|all]` (argv[0] is "probe"). */
int probe_command(int argc, char **argv);

#endif
