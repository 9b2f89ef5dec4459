/*
 * vm.c — the life of one VM, in order.  Each subsystem is brought up by one
 * commented line below and torn down in reverse; every failure prints one
 * line naming the problem and ends with STATUS_POPEK_ERROR.
 */
#include "vmm/vm.h"
#include "translate/tc.h"
#include "vmm/fatal.h"
#include "vmm/loader.h"
#include "vmm/stats.h"
#include "vmm/vcpu.h"
#include "vmm/intr.h"
#include "devices/bus.h"
#include "devices/devices.h"
#include "shadowpt/shadow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Device hook: the debug-exit port (vCPU thread). */
static void request_exit(void *ctx, int status)
{
	struct vm *vm = ctx;
	vm->exit_status = status;
	vm->exit_requested = true;
}

/* Device hooks: interrupts. */
static void raise_irq(void *ctx, int vector)
{
	struct vm *vm = ctx;
	vcpu_raise_irq(vm->vcpu, vector);
}

/* Device hook: end the VM from another thread (the console's Ctrl-A x).
 * The INTR hook wakes a halted vCPU or kicks a running one; the run loop
 * then finds exit_requested after that exit. */
static void request_quit(void *ctx, int status)
{
	struct vm *vm = ctx;
	vm->exit_status = status;
	__atomic_store_n(&vm->exit_requested, true, __ATOMIC_SEQ_CST);
	vcpu_intr_line(vm->vcpu);
}

/* Device hook: the guest pulsed the reset line (vCPU thread).  popek does
 * not reboot a guest: it ends the VM, saying so once. */
static void request_reset(void *ctx)
{
	struct vm *vm = ctx;

	if (vm->exit_requested)
		return;
	fprintf(stderr, "popek: guest reset\n");
	request_exit(vm, STATUS_GUEST_RESET);
}

static void add_irq_source(void *ctx)
{
	struct vm *vm = ctx;
	vm->irq_sources++;
}

static void set_intr_controller(void *ctx, bool (*line)(void *dev),
                                int (*ack)(void *dev), void *dev)
{
	struct vm *vm = ctx;
	struct intr_controller c = { .line = line, .ack = ack, .dev = dev };
	vcpu_set_controller(vm->vcpu, &c);
}

static void intr_line(void *ctx)
{
	struct vm *vm = ctx;
	vcpu_intr_line(vm->vcpu);
}

static int fail(const char *err)
{
	fprintf(stderr, "popek: %s\n", err);
	return STATUS_POPEK_ERROR;
}

static int vm_build(struct vm *vm, char *err, size_t errlen)
{
	struct boot_state boot;
	struct platform_hooks hooks = {
		.request_exit = request_exit, .raise_irq = raise_irq,
		.request_reset = request_reset,
		.add_irq_source = add_irq_source,
		.set_intr_controller = set_intr_controller, .intr_line = intr_line,
		.request_quit = request_quit,
		.ctx = vm,
		.console_out_fd = STDOUT_FILENO, .console_in_fd = STDIN_FILENO,
	};

	if (signals_install(err, errlen) < 0)                       /* exit path */
		return -1;
	if (hostcheck() > 0) {                         /* host LDT, seccomp */
		err[0] = 0; /* hostcheck named each missing piece */
		return -1;
	}
	if (ram_create(&vm->ram, vm->cfg.ram_mib, err, errlen) < 0) /* RAM */
		return -1;
	hooks.ram_bytes = vm->ram.size;            /* CMOS memory size */
	hooks.ram = vm->ram.host;                  /* virtio DMA */
	hooks.disk_path = vm->cfg.disk;            /* --disk */
	hooks.disk_ro = vm->cfg.disk_ro;
	if (loader_load_file(vm->cfg.kernel, vm->cfg.initrd, vm->ram.host,
	                     vm->ram.size, vm->cfg.append, &boot,
	                     err, errlen) < 0)           /* kernel, initrd */
		return -1;
	struct shadow_config sc = {                          /* shadow MMU */
		.ram = &vm->ram, .low = vm->window_low,
		.top = vm->cfg.mode == MODE_BT ? TC_BASE : WINDOW_TOP, /* monitor */
		.use_pku = !vm->cfg.no_pku, .counters = vm->counters,
		.share_super = vm->cfg.no_user_isolation,
		.trace_tables = vm->cfg.shadow_traced,         /* --shadow */
	};
	vm->shadow = shadow_new(&sc, err, errlen);
	if (!vm->shadow || shadow_reset(vm->shadow, false, err, errlen) < 0)
		return -1;                                           /* paging off */
	/* The default without PKU: user segments cut (--user-isolation). */
	if (!vm->cfg.no_pku && !vm->cfg.no_user_isolation &&
	    !shadow_uses_pku(vm->shadow))
		vm->cfg.seg_user_isolation = true;
	vm->io = bus_new("port");                                    /* buses */
	vm->mmio = bus_new("mmio");
	if (!vm->io || !vm->mmio) {
		snprintf(err, errlen, "out of memory creating the I/O buses");
		return -1;
	}
	vm->vcpu = vcpu_new(vm, &boot);                              /* vCPU */
	if (!vm->vcpu) {
		snprintf(err, errlen, "out of memory creating the vCPU");
		return -1;
	}
	vm->serial = serial_host_open(vm->cfg.serial, err, errlen); /* COM1 host */
	if (!vm->serial)                           /* end; raw terminal */
		return -1;
	serial_host_hooks(vm->serial, &hooks);
	vm->platform = platform_new(vm->io, vm->mmio, &hooks);      /* devices */
	if (!vm->platform) {
		err[0] = 0; /* platform_new said why */
		return -1;
	}
	return 0;
}

static void vm_teardown(struct vm *vm)
{
	vcpu_free(vm->vcpu);
	if (vm->platform)
		platform_free(vm->platform);
	serial_host_close(vm->serial);      /* the terminal back as it was */
	if (vm->mmio)
		bus_free(vm->mmio);
	if (vm->io)
		bus_free(vm->io);
	shadow_free(vm->shadow);
	ram_destroy(&vm->ram);
}

int vm_run(const struct vm_config *cfg)
{
	static struct vm vm;
	char err[512] = "";
	int status;

	vm.cfg = *cfg;
	vm.ram.fd = -1;
	vm.fault_inject = getenv("POPEK_FAULT_INJECT") &&
	                  !strcmp(getenv("POPEK_FAULT_INJECT"), "monitor-segv");
	if (window_reserve(&vm.window_low, err, sizeof(err)) < 0)  /* [0, 4G) */
		return fail(err);
	if (vm.window_low)
		fprintf(stderr, "popek: cannot map linear page 0 (vm.mmap_min_addr="
		        "%llu and not root): guest accesses below it will fault\n",
		        (unsigned long long)vm.window_low);
	if (vm_build(&vm, err, sizeof(err)) < 0) {
		if (err[0])
			fprintf(stderr, "popek: %s\n", err);
		vm_teardown(&vm);
		return STATUS_POPEK_ERROR;
	}
	vm.start_ns = now_ns();
	vm.start_tsc = __rdtsc();
	status = vcpu_run(vm.vcpu);
	if (vm.cfg.stats)
		stats_print(&vm);
	vm_teardown(&vm);
	return status;
}
