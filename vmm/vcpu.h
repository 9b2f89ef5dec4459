/*
 * vcpu.h — a virtual CPU: the guest's architectural state as the guest
 * sees it, the last exit, and the host thread that runs it.
 *
 * Locking: everything here belongs to the vCPU thread, except `kick` (set
 * by other threads to interrupt the guest, later) — the main thread only
 * reads the state after the thread has been joined.
 */
#ifndef POPEK_VMM_VCPU_H
#define POPEK_VMM_VCPU_H

#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <asm/ldt.h>
#include "vmm/cpu.h"
#include "vmm/emulate.h"
#include "vmm/msr.h"
#include "vmm/switch.h"
#include "vmm/intr.h"
#include "vmm/loader.h"
#include "vmm/bt.h"

enum exit_reason {
#define EXIT(name, desc) EXIT_##name,
#include "vmm/exits.def"
#undef EXIT
	EXIT_MAX
};


/* EFLAGS bits the guest's own instructions change for real on the host
 * CPU (CF PF AF ZF SF TF DF OF); everything else (IF, IOPL, NT, AC, ID...)
 * is virtual and lives only in cpu.eflags. */
#define EFLAGS_LIVE 0x00000DD5u

struct exit_info {
	enum exit_reason reason;
	int signo;
	int si_code;
	int vector;        /* exception or INT n vector */
	uint32_t error;    /* hardware error code */
	uint64_t cr2;      /* faulting linear address (#PF) */
	int syscall_nr;    /* SIGSYS: the syscall number the guest asked for */
};

struct vm;

/* A page of a guest descriptor table: its frame and linear address. */
struct dt_page {
	uint32_t frame, lin;
};

/* Where the vCPU thread's time goes (--stats), in TSC ticks: guest code
 * run directly (CPL 3, or --mode=trap) or from the translation cache, each
 * from the clock read just before popek_enter to the one just after it
 * (the world switch both ways included); the monitor, everything else
 * from VM start; and, within the monitor's share, HLT waiting for an
 * interrupt. */
enum vcpu_ticks { TICKS_DIRECT, TICKS_TRANSLATED, TICKS_MONITOR,
                  TICKS_HALTED, TICKS_MAX };

struct vcpu {
	struct vm *vm;
	struct emu_cpu cpu;            /* GPRs, EIP, EFLAGS (virtual IF) */
	struct cpu_sys sys;            /* CRs, DRs, GDTR/IDTR, caches, CPL */
	struct msr_state msr;
	uint16_t host_sel[SEG_COUNT];  /* what the host CPU holds */
	uint8_t seg_dirty;             /* caches whose host shadow may be stale */
	uint8_t seg_force;             /* ... and those that are (their host
	                                * entry changed): synced even when
	                                * the cache is as last synced */
	struct seg_cache seg_synced[SEG_COUNT];  /* what the last sync saw */
	int8_t seg_synced_cpl[SEG_COUNT];        /* and at which CPL */
	int pinned_cpu;                /* follow_vcpu: where the others run, -1 */
	uint16_t seg_synced_host[SEG_COUNT];     /* and the host selector */
	/* Per CPL class (0: CPL 0-2, 1: CPL 3), each register's last sync
	 * there: the cache, the limit cap, the host selector and the
	 * descriptor put in its entry; valid while seg_memo_ok's bit is set
	 * (segshadow.c: a CPL change finds it again if nothing moved). */
	struct seg_memo {
		struct seg_cache c;
		uint32_t cap;
		uint16_t host;
		struct user_desc d;
	} seg_memo[2][SEG_COUNT];
	uint8_t seg_memo_ok[2];
	uint32_t seg_cap;              /* the limit cap the shadows were made
	                                * with (it depends on the CPL with
	                                * --user-isolation=segments) */
	uint32_t user_top;             /* segments mode: guest user segments
	                                * end below it (system.c) */
	/* The emulator's own TLB (system.c, translate): linear page + 1,
	 * its frame's address and which accesses a walk allowed (GTLB_*),
	 * dropped at CR3 loads, INVLPG and paging changes as a TLB is. */
	struct { uint32_t tag, frame; uint8_t ok; } gtlb[64];
	uint64_t user_seen;            /* one past the highest user page an
	                                * emulated CPL 3 access reached */
	bool user_cut_off;             /* user pages up to the monitor: no cut */
	bool user_access;              /* the emulator's accesses are CPL 3's
	                                * own (emulate_cut_segment), not
	                                * implicit supervisor ones */
	struct user_desc *ldt_cache;   /* what each host LDT entry holds */
	struct seg_cache *ldt_owner;   /* the guest cache each one shadows */
	unsigned ldt_shadowed;         /* guest LDT entries at host 0..n-1 */
	/* Descriptor tables write-traced through the shadow MMU
	 * (segshadow.c): the frames and the linear pages they back. */
	int dt_tracer;
	unsigned dt_n;
	struct dt_page dt[20];
	struct dtr dt_gdtr;           /* the GDTR those pages were traced for */
	/* Host LDT entries that hold the guest's current GDT entry (a
	 * traced write put it there): registers still caching the old
	 * descriptor must not share them. */
	uint64_t gdt_current[4];
	struct cpu_fault fault;        /* recorded for delivery after an exit */
	uint32_t pf_error;             /* of the last #PF a memory access met */
	uint32_t pf_last_lin, pf_last_eip;  /* shadow misses: progress check */
	unsigned pf_repeats;
	/* A guest #PF from a host fault was delivered: when the handler's
	 * IRET goes back to the instruction, map what it will retry
	 * (system.c) instead of taking a second host fault for it. */
	bool pf_replay;
	uint32_t pf_replay_lin, pf_replay_err, pf_replay_eip;
	int pf_replay_cpl;
	/* Interrupts (intr.c): irq_lock guards irq_pending and halted. */
	pthread_mutex_t irq_lock;
	pthread_cond_t irq_cond;
	uint64_t irq_pending[4];
	bool halted;
	bool shadow_step;              /* single-stepping past an STI/MOV SS shadow */
	bool line_raised;              /* the controller's INTR went up */
	struct intr_controller intc;   /* the 8259A pair, if any */
	struct bt_state bt;            /* --mode=bt: the translation cache */
	bool alias_fixed;              /* system_native_loads redid a load that
	                                * got a host GDT alias: retry a fault */
	pid_t tid;
	struct exit_info exit;
	uint64_t exit_counts[EXIT_MAX];
	uint64_t ticks[TICKS_MAX];
	uint64_t end_tsc, end_ns;      /* when the run loop ended */
	struct switch_area *area;      /* base of the alternate signal stack */
	void *alt_map;                 /* the mapping holding it */
	pthread_t thread;
	bool stop;                     /* run loop ends */
	int stop_status;
};

extern const char *const exit_reason_name[EXIT_MAX];

struct vcpu *vcpu_new(struct vm *vm, const struct boot_state *boot);
/* Start the vCPU thread and wait for it to stop; returns its status. */
int vcpu_run(struct vcpu *v);
void vcpu_free(struct vcpu *v);

/* Stop the VM because the guest did something popek cannot continue
 * from: print the reason and the guest state, status 3. */
void vcpu_crash(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Copy up to max guest bytes at CS:EIP that lie in RAM (paging off);
 * returns how many. */
unsigned vcpu_code_bytes(const struct vcpu *v, uint8_t *buf, unsigned max);
/* Print the guest state (registers, selectors, bytes at EIP) to stderr. */
void vcpu_dump(const struct vcpu *v);

/* Host LDT entry `index` := a flat 4 GiB 32-bit code or data segment. */
int vcpu_ldt_flat(unsigned index, bool code);

/* Write the host LDT entries that mirror the guest's boot segments;
 * doubles as the host check that modify_ldt works. */
int vcpu_setup_segments(char *err, size_t errlen);

/* hostcheck.c: check the host; one line per missing piece; returns how
 * many are missing. */
int hostcheck(void);

/* exits.c: handle v->exit. */
void exits_dispatch(struct vcpu *v);
/* signal.c: install the exit signal handlers (process-wide, once). */
int signals_install(char *err, size_t errlen);
/* seccomp.c: make every syscall of guest code a SIGSYS, this thread only. */
int seccomp_install(char *err, size_t errlen);

#endif
