/* stats.h — the --stats table printed when a VM ends. */
#ifndef POPEK_VMM_STATS_H
#define POPEK_VMM_STATS_H
struct vm;
void stats_print(const struct vm *vm);
#endif
