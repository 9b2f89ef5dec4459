/*
 * stats.c — `--stats`: one table of exits by reason and every counter in
 * counters.def, printed to stderr when the VM ends (stdout is the guest's
 * console).
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

void stats_print(const struct vm *vm)
{
	const struct vcpu *v = vm->vcpu;
	uint64_t total = vm->counters[CTR_exits];
	double secs = (double)(now_ns() - vm->start_ns) / 1e9;

	fprintf(stderr, "\npopek: exits by reason (%.3f s of guest run time)\n", secs);
	fprintf(stderr, "  %-50s %12s %8s\n", "reason", "count", "share");
	for (int r = 0; r < EXIT_MAX; r++) {
		if (!v->exit_counts[r])
			continue;
		fprintf(stderr, "  %-50s %12llu %7.1f%%\n", exit_reason_name[r],
		        (unsigned long long)v->exit_counts[r],
		        total ? 100.0 * (double)v->exit_counts[r] / (double)total : 0.0);
	}
	fprintf(stderr, "  %-50s %12llu\n", "total", (unsigned long long)total);
	fprintf(stderr, "popek: counters\n");
	for (int c = 0; c < CTR_MAX; c++)
		fprintf(stderr, "  %-50s %12llu\n", counter_desc[c],
		        (unsigned long long)vm->counters[c]);
	fprintf(stderr, "  %-50s %12llu\n", "unclaimed port reads (all ones)",
	        (unsigned long long)bus_unclaimed_reads(vm->io));
	fprintf(stderr, "  %-50s %12llu\n", "unclaimed port writes (dropped)",
	        (unsigned long long)bus_unclaimed_writes(vm->io));
}
