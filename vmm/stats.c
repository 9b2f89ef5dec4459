/*
 * stats.c — `--stats`: where the guest's run time went (vcpu.h's ticks),
 * one table of exits by reason with their rates, and every counter in
 * counters.def, printed to stderr when the VM ends (stdout is the guest's
 * console).
 *
 * The ticks are TSC readings (constant rate on the hosts popek supports),
 * turned into time with the rate the run itself shows: TSC ticks and
 * CLOCK_MONOTONIC nanoseconds from VM start to the end of the run loop.
 */
#include "vmm/stats.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "devices/bus.h"

#include <stdio.h>

static const char *const counter_desc[CTR_MAX] = {
#define COUNTER(name, desc) [CTR_##name] = desc,
#include "vmm/counters.def"
#undef COUNTER
};

static const char *const ticks_desc[TICKS_MAX] = {
	[TICKS_DIRECT] = "direct (guest CPL 3, --mode=trap) incl. switch",
	[TICKS_TRANSLATED] = "translated code (the TC) incl. switch",
	[TICKS_MONITOR] = "monitor (exits, translation, devices)",
	[TICKS_HALTED] = "  of which halted (HLT, waiting for an interrupt)",
};

static double share(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* Run time by where it went, as shares of the run from VM start to the
 * end of the run loop: they add up to 100 % unless a stretch was lost or
 * counted twice. */
static void print_time(const struct vm *vm, double secs)
{
	const struct vcpu *v = vm->vcpu;
	double span = (double)(v->end_tsc - vm->start_tsc);
	double ms_per_tick = span > 0 ? secs * 1e3 / span : 0.0;
	uint64_t sum = 0;

	fprintf(stderr, "\npopek: guest run time by where it went (host TSC)\n");
	fprintf(stderr, "  %-50s %12s %8s\n", "where", "ms", "share");
	for (int k = 0; k < TICKS_MAX; k++) {
		fprintf(stderr, "  %-50s %12.3f %7.1f%%\n", ticks_desc[k],
		        (double)v->ticks[k] * ms_per_tick,
		        share((double)v->ticks[k], span));
		if (k != TICKS_HALTED)
			sum += v->ticks[k];
	}
	fprintf(stderr, "  %-50s %12.3f %7.1f%%\n", "total", (double)sum * ms_per_tick,
	        share((double)sum, span));
}

void stats_print(const struct vm *vm)
{
	const struct vcpu *v = vm->vcpu;
	uint64_t total = vm->counters[CTR_exits];
	uint64_t end = v->end_ns ? v->end_ns : now_ns();  /* 0: never ran */
	double secs = (double)(end - vm->start_ns) / 1e9;

	if (v->end_ns)
		print_time(vm, secs);
	fprintf(stderr, "popek: exits by reason (%.3f s of guest run time)\n", secs);
	fprintf(stderr, "  %-50s %12s %8s %12s\n", "reason", "count", "share",
	        "per s");
	for (int r = 0; r < EXIT_MAX; r++) {
		if (!v->exit_counts[r])
			continue;
		fprintf(stderr, "  %-50s %12llu %7.1f%% %12.0f\n", exit_reason_name[r],
		        (unsigned long long)v->exit_counts[r],
		        share((double)v->exit_counts[r], (double)total),
		        secs > 0 ? (double)v->exit_counts[r] / secs : 0.0);
	}
	fprintf(stderr, "  %-50s %12llu %8s %12.0f\n", "total",
	        (unsigned long long)total, "", secs > 0 ? (double)total / secs : 0.0);
	fprintf(stderr, "popek: counters\n");
	for (int c = 0; c < CTR_MAX; c++)
		fprintf(stderr, "  %-50s %12llu\n", counter_desc[c],
		        (unsigned long long)vm->counters[c]);
	fprintf(stderr, "  %-50s %12llu\n", "unclaimed port reads (all ones)",
	        (unsigned long long)bus_unclaimed_reads(vm->io));
	fprintf(stderr, "  %-50s %12llu\n", "unclaimed port writes (dropped)",
	        (unsigned long long)bus_unclaimed_writes(vm->io));
}
