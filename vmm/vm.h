/*
 * vm.h — one virtual machine: its configuration, RAM, buses, devices and
 * vCPU, and the monitor-wide counters.  vm.c owns the init order.
 */
#ifndef POPEK_VMM_VM_H
#define POPEK_VMM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/window.h"

enum run_mode { MODE_TRAP, MODE_BT };

/* Exit status conventions (README.md). */
#define STATUS_POWEROFF    0
#define STATUS_POPEK_ERROR 2
#define STATUS_GUEST_CRASH 3
#define STATUS_GUEST_RESET 4

struct vm_config {
	uint64_t ram_mib;
	const char *kernel;
	const char *append;
	const char *initrd;     /* --initrd: a Linux initrd, or NULL */
	enum run_mode mode;
	bool stats;
	bool trace_exits;
	bool strict_io;
	bool trace_msr;
	const char *serial;     /* --serial: NULL (stdio) or its spec */
	bool no_pku;            /* shadow MMU: unmap instead of pkeys */
	bool no_user_isolation; /* shadow MMU: supervisor pages stay mapped */
	bool seg_user_isolation; /* user segments cut below the kernel's PDEs */
	bool shadow_traced;     /* --shadow=traced: page tables write-traced */
	const char *disk;       /* --disk: the virtio-blk image, or NULL */
	bool disk_ro;           /* --disk PATH,ro */
	bool sep;               /* --sysenter: CPUID shows SEP, SYSENTER and
	                         * SYSEXIT are emulated (else #UD) */
	enum vdso_mode { VDSO_FAST, VDSO_TRANSLATED, VDSO_GATE } vdso;
	bool no_pin_threads;    /* --pin-threads=off (vcpu.c, follow_vcpu) */
};

enum counter {
#define COUNTER(name, desc) CTR_##name,
#include "vmm/counters.def"
#undef COUNTER
	CTR_MAX
};

struct bus;
struct platform;
struct serial_host;
struct shadow;
struct vcpu;

struct vm {
	struct vm_config cfg;
	uint64_t window_low;       /* first linear address popek may map */
	struct guest_ram ram;
	struct shadow *shadow;     /* the window's host mappings */
	struct bus *io;
	struct bus *mmio;
	struct platform *platform;
	struct serial_host *serial;  /* COM1's host end */
	struct vcpu *vcpu;
	uint64_t counters[CTR_MAX];
	int irq_sources;           /* devices that can raise interrupts */
	/* Set by the debug-exit port (vCPU thread), or by the console's
	 * Ctrl-A x (its input thread, which then kicks the vCPU). */
	bool exit_requested;
	int exit_status;
	uint64_t start_ns;
	uint64_t start_tsc;        /* the same moment on the TSC */
	/* Test hook (POPEK_FAULT_INJECT=monitor-segv): the first exit handler
	 * faults, to exercise popek's own crash report. */
	bool fault_inject;
};

/* Build the VM (one line on stderr and STATUS_POPEK_ERROR on failure),
 * run it to the end and tear it down.  Returns the process exit status. */
int vm_run(const struct vm_config *cfg);

uint64_t now_ns(void);

#endif
