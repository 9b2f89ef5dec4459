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
#include <stdbool.h>
#include <stdint.h>
#include "vmm/emulate.h"
#include "vmm/switch.h"

enum exit_reason {
#define EXIT(name, desc) EXIT_##name,
#include "vmm/exits.def"
#undef EXIT
	EXIT_MAX
};

/* Exception vectors (SDM vol. 3A, 6.3.1). */
enum { VEC_DE = 0, VEC_DB = 1, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
       VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12,
       VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_XM = 19 };

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

struct vcpu {
	struct vm *vm;
	struct emu_cpu cpu;            /* GPRs, EIP, EFLAGS (virtual IF) */
	uint16_t sel[SEG_COUNT];       /* guest-visible selectors */
	uint16_t host_sel[SEG_COUNT];  /* what the host CPU holds */
	int cpl;
	struct exit_info exit;
	uint64_t exit_counts[EXIT_MAX];
	struct switch_area *area;      /* base of the alternate signal stack */
	void *alt_map;                 /* the mapping holding it */
	pthread_t thread;
	bool stop;                     /* run loop ends */
	int stop_status;
};

extern const char *const exit_reason_name[EXIT_MAX];

struct vcpu *vcpu_new(struct vm *vm, uint32_t eip, uint32_t eax, uint32_t ebx);
/* Start the vCPU thread and wait for it to stop; returns its status. */
int vcpu_run(struct vcpu *v);
void vcpu_free(struct vcpu *v);

/* Stop the VM because the guest did something popek cannot continue
 * from: print the reason and the guest state, status 3. */
void vcpu_crash(struct vcpu *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print the guest state (registers, selectors, bytes at EIP) to stderr. */
void vcpu_dump(const struct vcpu *v);

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
