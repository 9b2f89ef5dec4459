/*
 * vcpu.c — the vCPU thread: its alternate signal stack (which holds the
 * switch area), the host LDT descriptors that mirror the guest's boot
 * segments, the entry probe and the run loop.
 *
 * The run loop is the whole of the monitor's control flow: enter the guest,
 * come back on an exit, hand the exit to exits_dispatch(), repeat until
 * something stops the VM.
 */
#include "vmm/vcpu.h"
#include "vmm/fatal.h"
#include "vmm/system.h"
#include "vmm/intr.h"
#include "vmm/vm.h"
#include "translate/tc.h"

#include <asm/ldt.h>
#include <dirent.h>
#include <sched.h>
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

_Static_assert(offsetof(struct switch_area, fsbase) == SA_FSBASE, "SA_FSBASE");
_Static_assert(offsetof(struct switch_area, host_rsp) == SA_HOST_RSP, "SA_HOST_RSP");
_Static_assert(offsetof(struct switch_area, in_guest) == SA_IN_GUEST, "SA_IN_GUEST");
_Static_assert(offsetof(struct switch_area, vcpu) == SA_VCPU, "SA_VCPU");
_Static_assert(offsetof(struct switch_area, use_wrfsbase) == SA_WRFSBASE, "SA_WRFSBASE");
_Static_assert(offsetof(struct switch_area, exit_sel) == SA_EXIT_SEL, "SA_EXIT_SEL");
_Static_assert(offsetof(struct switch_area, gpr) == SA_GPR, "SA_GPR");
_Static_assert(offsetof(struct switch_area, eip) == SA_EIP, "SA_EIP");
_Static_assert(offsetof(struct switch_area, eflags) == SA_EFLAGS, "SA_EFLAGS");
_Static_assert(offsetof(struct switch_area, sel) == SA_SEL, "SA_SEL");
_Static_assert(offsetof(struct switch_area, fpu) == SA_FPU, "SA_FPU");
_Static_assert(offsetof(struct switch_area, gsbase) == SA_GSBASE, "SA_GSBASE");
_Static_assert(offsetof(struct switch_area, xmask) == SA_XMASK, "SA_XMASK");
_Static_assert(offsetof(struct switch_area, gskey) == SA_GSKEY, "SA_GSKEY");
_Static_assert(sizeof(struct switch_area) == SA_SIZE, "SA_SIZE");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) == UC_RIP, "UC_RIP");
_Static_assert(offsetof(ucontext_t, uc_mcontext.gregs[REG_CSGSFS]) == UC_CSGSFS, "UC_CSGSFS");

/* The host check's flat mirrors (any two entries will do). */
#define GUEST_BOOT_CS 0x08
#define GUEST_BOOT_DS 0x10
/* A page where the entry probe runs: above any guest RAM, below the
 * monitor region (which segments are truncated under in bt mode). */
#define PROBE_PAGE ((uint32_t)(TC_BASE - 0x2000))

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

const char *const exit_reason_name[EXIT_MAX] = {
#define EXIT(name, desc) [EXIT_##name] = desc,
#include "vmm/exits.def"
#undef EXIT
};

/* Flat host segments: the host check's boot mirrors and the translation
 * cache's code segment (guest segments are shadowed by segshadow.c). */
int vcpu_ldt_flat(unsigned index, bool code)
{
	struct user_desc d = {
		.entry_number = index,
		.base_addr = 0,
		.limit = 0xFFFFF,
		.seg_32bit = 1,
		.contents = code ? MODIFY_LDT_CONTENTS_CODE : MODIFY_LDT_CONTENTS_DATA,
		.read_exec_only = 0,
		.limit_in_pages = 1,
		.seg_not_present = 0,
		.useable = 1,
	};
	return (int)syscall(SYS_modify_ldt, 0x11, &d, sizeof(d));
}

/* Flat 4 GiB caches of the boot segments (multiboot spec 3.2, Linux
 * boot.rst "32-bit Boot Protocol"): 32-bit read/execute code, read/write
 * data, both accessed; the selectors are the loader's. */
static struct seg_cache boot_seg(uint16_t sel, bool code)
{
	return (struct seg_cache){
		.sel = sel, .base = 0, .limit = 0xFFFFFFFFu,
		.attr = (uint16_t)((code ? 0xB : 0x3) | 0x10 | 0x80 | 0x4000 | 0x8000),
	};
}

static void vcpu_reset(struct vcpu *v, const struct boot_state *boot)
{
	memset(&v->cpu, 0, sizeof(v->cpu));
	memset(&v->sys, 0, sizeof(v->sys));
	v->cpu.gpr[R_EAX] = boot->eax;
	v->cpu.gpr[R_EBX] = boot->ebx;
	v->cpu.gpr[R_ESI] = boot->esi;
	v->cpu.eip = boot->entry;
	v->cpu.eflags = 0x2;     /* IF = 0 */
	v->cpu.code32 = true;
	v->sys.cr0 = CR0_PE | CR0_ET;
	v->sys.gdtr = (struct dtr){ boot->gdt_base, boot->gdt_limit };
	for (int s = 0; s < SEG_COUNT; s++)
		v->sys.seg[s] = boot_seg(s == SEG_CS ? boot->cs : boot->ds,
		                         s == SEG_CS);
	v->sys.cpl = 0;
	v->seg_dirty = v->seg_force = (1u << SEG_COUNT) - 1;
	msr_init(&v->msr);
}

struct vcpu *vcpu_new(struct vm *vm, const struct boot_state *boot)
{
	struct vcpu *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->vm = vm;
	v->ldt_cache = calloc(LDT_ENTRIES, sizeof(*v->ldt_cache));
	v->ldt_owner = calloc(LDT_ENTRIES, sizeof(*v->ldt_owner));
	if (!v->ldt_cache || !v->ldt_owner || intr_init(v) < 0) {
		free(v->ldt_owner);
		free(v->ldt_cache);
		free(v);
		return NULL;
	}
	vcpu_reset(v, boot);
	segshadow_init(v);
	return v;
}

void vcpu_free(struct vcpu *v)
{
	if (!v)
		return;
	bt_free(v);
	if (v->alt_map)
		munmap(v->alt_map, 2 * SWITCH_ALT_SIZE);
	intr_destroy(v);
	free(v->ldt_owner);
	free(v->ldt_cache);
	free(v);
}

/* The alternate signal stack, SWITCH_ALT_SIZE-aligned, with the switch
 * area at its base (below the stack, which grows down towards it). */
/* The XSAVE components the host has enabled beyond x87 and SSE, less
 * PKRU (the shadow MMU's): popek_enter resets them to their initial
 * state, so that no monitor value (glibc leaves them in YMM/ZMM and the
 * opmask registers) is there for guest code to read (switch.h). */
static uint64_t extended_state_mask(void)
{
	unsigned a, b, c, d;

	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 27)))            /* OSXSAVE */
		return 0;
	__asm__("xgetbv" : "=a"(a), "=d"(d) : "c"(0));
	return ((uint64_t)d << 32 | a) & ~(uint64_t)(0x3 | 0x200);
}

static int alt_stack_setup(struct vcpu *v, char *err, size_t errlen)
{
	uint8_t *m = mmap(NULL, 2 * SWITCH_ALT_SIZE, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(err, errlen, "cannot allocate the signal stack: %s",
		         strerror(errno));
		return -1;
	}
	v->alt_map = m;
	uint8_t *base = (uint8_t *)(((uintptr_t)m + SWITCH_ALT_SIZE - 1) &
	                            ~(uintptr_t)(SWITCH_ALT_SIZE - 1));
	struct switch_area *a = (struct switch_area *)base;
	memset(a, 0, sizeof(*a));
	a->magic = SWITCH_MAGIC;
	a->vcpu = v;
	a->use_wrfsbase = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &a->fsbase);
	a->xmask = extended_state_mask();
	/* A guard page between the area and the stack that grows onto it. */
	mprotect(base + 4096, 4096, PROT_NONE);
	stack_t ss = { .ss_sp = base + 8192, .ss_size = SWITCH_ALT_SIZE - 8192 };
	if (sigaltstack(&ss, NULL) < 0) {
		snprintf(err, errlen, "sigaltstack: %s", strerror(errno));
		return -1;
	}
	v->area = a;
	return 0;
}

/* --pin-threads (default on): every other thread of popek's (devices,
 * timers, the console) on the host CPU this one runs on.  The shadow MMU
 * changes host mappings all the time, and a change that frees page
 * tables makes the host kernel interrupt every other CPU that runs, or
 * lazily still holds, popek's address space (a TLB shootdown: under a
 * hypervisor an IPI is a VM exit, and a wait for that CPU's vCPU). With
 * the others on this CPU there is nobody to interrupt: a Linux fork/exec
 * loop ran 1.3-1.4 s against 2.2-2.3 s unpinned on the development host.
 * This thread itself stays free to move: checked at every kick (a timer
 * tick; sched_getcpu is ~20 ns), the others follow it.  (They all exist
 * before this thread starts: the devices are made first.) */
static void follow_vcpu(struct vcpu *v)
{
	int cpu = sched_getcpu();

	if (v->vm->cfg.no_pin_threads || cpu < 0 || cpu == v->pinned_cpu)
		return;
	v->pinned_cpu = cpu;
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d)); ) {
		pid_t tid = (pid_t)atoi(e->d_name);
		if (tid > 0 && tid != v->tid)
			sched_setaffinity(tid, sizeof(one), &one);
	}
	closedir(d);
}

/* Guest state → switch area, as the host CPU must see it. */
static void area_load(struct vcpu *v)
{
	struct switch_area *a = v->area;

	system_sync_segments(v);
	memcpy(a->gpr, v->cpu.gpr, sizeof(a->gpr));
	a->eip = v->cpu.eip;
	a->eflags = (v->cpu.eflags & EFLAGS_LIVE) | EFLAGS_IF | 0x2 |
	            (v->shadow_step ? EFLAGS_TF : 0);
	memcpy(a->sel, v->host_sel, sizeof(a->sel));
	a->callout = 0;
	a->gsbase = 0;                    /* the guest's own */
	a->gskey = v->bt.gate_key;        /* --vdso=gate: 0 unless on */
	if (v->bt.entry)                  /* translated code */
		bt_load_area(v);
}

static void area_fpu_init(struct switch_area *a)
{
	/* FNINIT state: FCW 0x37F, empty tags; MXCSR default. */
	memset(a->fpu, 0, sizeof(a->fpu));
	a->fpu[0] = 0x7F;
	a->fpu[1] = 0x03;
	uint32_t mxcsr = 0x1F80, mask = 0xFFFF;
	memcpy(a->fpu + 24, &mxcsr, 4);
	memcpy(a->fpu + 28, &mask, 4);
}

/* Run one `hlt` in compatibility mode: proves that 32-bit code runs and
 * that the exit path works, before the guest does. */
static int entry_probe(struct vcpu *v, char *err, size_t errlen)
{
	struct emu_cpu saved = v->cpu;
	uint8_t *page = mmap((void *)(uintptr_t)PROBE_PAGE, 4096,
	                     PROT_READ | PROT_WRITE | PROT_EXEC,
	                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (page == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the entry probe page: %s",
		         strerror(errno));
		return -1;
	}
	page[0] = 0xF4; /* hlt */
	v->cpu.eip = PROBE_PAGE;
	area_load(v);
	popek_enter(v->area);
	bool ok = v->exit.reason == EXIT_PRIV && v->cpu.eip == PROBE_PAGE;
	if (!ok)
		snprintf(err, errlen, "32-bit compatibility-mode code does not run on "
		         "this host (probe exit: %s, vector %d, EIP 0x%x)",
		         exit_reason_name[v->exit.reason], v->exit.vector, v->cpu.eip);
	window_unmap(PROBE_PAGE, 4096);
	v->cpu = saved;
	return ok ? 0 : -1;
}

/* glibc registers every thread for restartable sequences, and the host
 * kernel then updates the thread's rseq area on every return to user
 * space after a signal: ~2.5 % of a guest system call under --vdso=fast
 * (one signal each) in a perf profile of `dd bs=1`.  This thread needs no
 * rseq (glibc's only use is sched_getcpu, which falls back to the vDSO's
 * getcpu once the area says unregistered), so it unregisters.  Newer
 * glibcs (Debian 12's too) export the feature size, 20, in __rseq_size
 * rather than the 32 bytes registered, so both are tried; where neither
 * is accepted the thread simply stays registered. */
static void rseq_off(void)
{
#if __has_include(<sys/rseq.h>) && defined(RSEQ_SIG)
	if (!__rseq_size)
		return;
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (syscall(SYS_rseq, area, __rseq_size, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) < 0 &&
	    __rseq_size != 32)
		syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
#endif
}

/* After every exit the monitor's C must have the default x87 control
 * word and MXCSR: the kernel gives a signal handler those, and a callout
 * (switch.S) keeps the guest's where they are the defaults and resets
 * them otherwise.  Checked at each exit (two stores): a guest that leaves
 * other modes (tests/guests/state.c) would otherwise compute the
 * monitor's arithmetic in its rounding and exception modes. */
static void check_monitor_fpu(void)
{
	uint16_t fcw;
	uint32_t mxcsr;

	__asm__ volatile("fnstcw %0\n\tstmxcsr %1" : "=m"(fcw), "=m"(mxcsr));
	if (fcw != 0x037F || (mxcsr & ~0x3Fu) != 0x1F80)
		fatal_bug("the monitor runs with FCW 0x%04x and MXCSR 0x%08x after "
		          "an exit, not the defaults 0x037f and 0x1f80", fcw, mxcsr);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char err[256];

	rseq_off();
	if (alt_stack_setup(v, err, sizeof(err)) < 0 ||
	    entry_probe(v, err, sizeof(err)) < 0 ||
	    seccomp_install(err, sizeof(err)) < 0) {
		fprintf(stderr, "popek: host check: %s\n", err);
		v->stop_status = STATUS_POPEK_ERROR;
		return NULL;
	}
	area_fpu_init(v->area);
	if (v->vm->cfg.mode == MODE_BT && bt_init(v, err, sizeof(err)) < 0) {
		fprintf(stderr, "popek: %s\n", err);
		v->stop_status = STATUS_POPEK_ERROR;
		return NULL;
	}
	/* Kicks are for this thread only (every other thread blocks them). */
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, SIGKICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	v->tid = (pid_t)syscall(SYS_gettid);
	v->pinned_cpu = -1;
	follow_vcpu(v);
	/* --stats: one TSC read at each crossing (v->ticks); the one after
	 * an exit is where the monitor's next stretch starts.  Without it,
	 * none (a callout round trip is ~300 ns and two reads ~15 ns). */
	const bool timed = v->vm->cfg.stats;
	uint64_t mark = v->vm->start_tsc;
	while (!v->stop) {
		intr_inject(v);
		if (v->stop)
			break;
		if (!system_user_fetch(v))    /* beyond a cut user CS: #PF */
			continue;
		if (!bt_prepare(v))           /* the fetch faulted: delivered */
			continue;
		v->exit.reason = EXIT_KICK;  /* if popek_enter declines to enter */
		area_load(v);
		shadow_enter(v->vm->shadow, v->sys.cpl);
		uint64_t entered = timed ? __rdtsc() : 0;
		enum vcpu_ticks where = v->bt.entry ? TICKS_TRANSLATED : TICKS_DIRECT;
		popek_enter(v->area);
		check_monitor_fpu();
		if (timed) {
			v->ticks[TICKS_MONITOR] += entered - mark;
			mark = __rdtsc();
			v->ticks[where] += mark - entered;
		}
		bt_after_exit(v);
		if (v->shadow_step)           /* popek's TF, not the guest's */
			v->cpu.eflags &= ~EFLAGS_TF;
		system_native_loads(v);
		bool shadowed = v->cpu.sti_shadow || v->sys.mov_ss_shadow;
		if (v->exit.reason == EXIT_KICK)
			follow_vcpu(v);
		v->exit_counts[v->exit.reason]++;
		v->vm->counters[CTR_exits]++;
		exits_dispatch(v);
		intr_after_exit(v, shadowed);
	}
	v->end_tsc = __rdtsc();           /* the guest's run ends here */
	v->end_ns = now_ns();
	if (timed)
		v->ticks[TICKS_MONITOR] += v->end_tsc - mark;
	v->tid = 0;
	return NULL;
}

int vcpu_setup_segments(char *err, size_t errlen)
{
	if (vcpu_ldt_flat(GUEST_BOOT_CS >> 3, true) < 0 ||
	    vcpu_ldt_flat(GUEST_BOOT_DS >> 3, false) < 0) {
		snprintf(err, errlen, "modify_ldt does not work (%s): popek keeps "
		         "guest segments in the host LDT", strerror(errno));
		return -1;
	}
	return 0;
}

int vcpu_run(struct vcpu *v)
{
	int r;

	/* Before the thread starts: its first exit may already crash (under
	 * bt a callout comes within microseconds) and report the guest. */
	fatal_set_vcpu(v);
	r = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (r != 0) {
		fatal_set_vcpu(NULL);
		fprintf(stderr, "popek: cannot start the vCPU thread: %s\n", strerror(r));
		return STATUS_POPEK_ERROR;
	}
	pthread_join(v->thread, NULL);
	return v->stop_status;
}

unsigned vcpu_code_bytes(const struct vcpu *v, uint8_t *buf, unsigned max)
{
	uint32_t lin = v->cpu.seg_base[SEG_CS] + v->cpu.eip;
	unsigned n = 0;

	while (n < max) {                 /* a page at a time */
		uint32_t phys, left = 4096 - ((lin + n) & 4095);

		if (system_peek_ram(v, lin + n, &phys) < 0)
			break;
		for (; left && n < max && phys < v->vm->ram.size; left--)
			buf[n++] = v->vm->ram.host[phys++];
		if (left)
			break;                /* the end of RAM */
	}
	return n;
}

void vcpu_dump(const struct vcpu *v)
{
	const struct emu_cpu *c = &v->cpu;
	uint8_t bytes[16];
	char text[128] = "(not readable)";
	unsigned n = vcpu_code_bytes(v, bytes, sizeof(bytes));
	if (n)
		scan_format(bytes, n, c->code32, c->eip, text, sizeof(text));
	fprintf(stderr,
	        "  EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n"
	        "  ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n"
	        "  EIP=%08x EFLAGS=%08x (IF=%d) CPL=%d mode=%s\n"
	        "  CS=%04x SS=%04x DS=%04x ES=%04x FS=%04x GS=%04x\n"
	        "  last exit: %s, signal %d, vector %d, error 0x%x, cr2 0x%llx\n",
	        c->gpr[R_EAX], c->gpr[R_EBX], c->gpr[R_ECX], c->gpr[R_EDX],
	        c->gpr[R_ESI], c->gpr[R_EDI], c->gpr[R_EBP], c->gpr[R_ESP],
	        c->eip, c->eflags, !!(c->eflags & EFLAGS_IF), v->sys.cpl,
	        c->code32 ? "32-bit protected" : "16-bit protected",
	        v->sys.seg[SEG_CS].sel, v->sys.seg[SEG_SS].sel,
	        v->sys.seg[SEG_DS].sel, v->sys.seg[SEG_ES].sel,
	        v->sys.seg[SEG_FS].sel, v->sys.seg[SEG_GS].sel,
	        exit_reason_name[v->exit.reason], v->exit.signo, v->exit.vector,
	        v->exit.error, (unsigned long long)v->exit.cr2);
	fprintf(stderr, "  bytes at EIP:");
	for (unsigned i = 0; i < n && i < 15; i++)
		fprintf(stderr, " %02x", bytes[i]);
	fprintf(stderr, "%s  %s\n", n ? "" : " (outside RAM)", text);
}

void vcpu_crash(struct vcpu *v, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "popek: guest crash: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	vcpu_dump(v);
	v->stop = true;
	v->stop_status = STATUS_GUEST_CRASH;
}
