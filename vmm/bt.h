/*
 * bt.h — binary translation in the run loop (`--mode=bt`): guest CPL-0
 * code runs out of the translation cache (translate/tc.h) instead of in
 * place.  bt.c is the glue between the vCPU and the cache: which code
 * runs translated, fetching guest code, entering the TC, turning an exit
 * that came from translated code back into the guest's EIP, callouts,
 * and the write tracing that keeps translations true to guest memory.
 *
 * Guest CPL 3 code runs directly while its virtual IF is on; with IF off
 * (IOPL 3 code after CLI) it is translated too, block by block, for one
 * entry at a time.  16-bit code runs directly.
 */
#ifndef POPEK_VMM_BT_H
#define POPEK_VMM_BT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The host LDT entry of the flat code segment translated code runs in
 * (after the private slots of vmm/segshadow.c). */
#define BT_TC_CS_INDEX 262u
#define BT_TC_CS_SEL   ((uint16_t)(BT_TC_CS_INDEX << 3 | 7))
/* ...and of the data segment translated code finds the vpage through
 * (%gs, based at TC_VPAGE). */
#define BT_TC_GS_INDEX 263u
#define BT_TC_GS_SEL   ((uint16_t)(BT_TC_GS_INDEX << 3 | 7))

struct tc;
struct tc_site;
struct vcpu;

struct bt_state {
	struct tc *tc;             /* NULL: not in bt mode */
	int tracer;                /* shadow MMU tracer of code frames */
	uint32_t entry;            /* TC address of the next entry, 0: direct */
	uint16_t guest_cs;         /* host selectors the guest's CS and GS */
	uint16_t guest_gs;         /* shadows have (TC code runs with others) */
	/* Inside an inline sequence when the guest was stopped: step (TF)
	 * from step_tc to the next exact position, delivering nothing. */
	bool stepping;
	uint32_t step_tc;
	bool from_tc;              /* the last exit came from translated code */
	/* Adaptive translation: guest EIPs whose stores keep faulting on
	 * write-traced pages (open addressing; forced ones are callouts). */
	struct bt_hot {
		uint32_t eip;
		uint16_t faults;       /* traced-page faults (0: a free slot) */
		uint16_t clean;        /* forced: runs since it last hit one */
		uint8_t unforced;      /* times it went native again */
		bool forced;
	} hot[1024];
	/* A TC address that continues the guest at resume_eip. */
	uint32_t resume_eip, resume_tc, resume_cs_base;
	uint64_t resume_gen;
	bool resume_ok;
	uint32_t site;             /* the last callout's site */
	/* The guest vDSO's code frame + 1 (0: not seen yet): the page whose
	 * int $0x80 Linux's user code calls.  Run translated at CPL 3 (its
	 * int $0x80 a callout, not a host system call) and never directly:
	 * the shadow MMU maps it without PROT_EXEC (shadow_noexec). */
	uint32_t vdso_frame;
	/* in_vdso's last answers for mapped pages, linear page + 1 (0:
	 * none), kept as a TLB keeps translations: until a CR3 load, INVLPG
	 * or paging change (a page that was not mapped is not kept). */
	uint32_t vdso_yes, vdso_no;
	bool no_vdso_fast;         /* --vdso=translated: no vdso_fast */
	/* --vdso=gate: the key page's address once the vDSO is patched (FS
	 * base bits 32..63 at direct entries), the vDSO frame + 1 and where
	 * in it __kernel_vsyscall is, the patched copy (its memfd and the
	 * monitor's view of it), the tracer that sees the frame written. */
	uint64_t gate_key;
	uint32_t gate_frame, gate_off;
	int gate_fd, gate_tracer;
	uint8_t *gate_page;
	uint8_t resume_cpl;
	uint32_t *frames;          /* frames traced for translations */
	unsigned nframes, maxframes;
};

/* At vCPU start in bt mode: the monitor region, the TC code segment,
 * the tracer.  0, or -1 with one line in err. */
int bt_init(struct vcpu *v, char *err, size_t errlen);
void bt_free(struct vcpu *v);

/* Before an entry: choose where the guest runs (v->bt.entry), fetching
 * and translating its code if needed.  false: the fetch faulted and the
 * fault went to the guest — go round the run loop again. */
bool bt_prepare(struct vcpu *v);

/* Just before popek_enter into translated code: CS, GS, EIP, TF in the
 * area, the virtual flags in the vpage. */
void bt_load_area(struct vcpu *v);

/* The guest's mappings changed (system.c: paging reset, CR3 load,
 * INVLPG of lin): drop what of the TC skips the lookup's frame check. */
enum tc_map_change;
void bt_mappings_changed(struct vcpu *v, enum tc_map_change what, uint32_t lin);

/* Another thread raised an interrupt: inline STI/POPF must exit. */
void bt_note_pending(void);

/* After popek_enter returned: if the guest was in translated code, turn
 * the exit into the guest's view (EIP, CS) — a callout becomes
 * EXIT_CALLOUT. */
void bt_after_exit(struct vcpu *v);

/* The instruction at guest `eip` (translated code) faulted on a
 * write-traced page and was emulated: after a few times, retranslate it
 * as a callout that emulates the store without the fault. */
void bt_traced_write(struct vcpu *v, uint32_t eip);

/* EXIT_CALLOUT: the site it came from, with EIP set to its guest EIP;
 * a BRANCH site is dealt with here (chained where it can be) and NULL
 * returned; for an EMULATE site the caller carries the instruction out. */
const struct tc_site *bt_callout(struct vcpu *v);
/* An adaptive callout's store at eip was carried out; `traced`: it wrote
 * a write-traced page.  A store that stops meeting traced pages runs
 * natively again. */
void bt_forced_store(struct vcpu *v, uint32_t eip, bool traced);
/* Guest user code made a system call with int $0x80 (EIP past it): if
 * it sits in the guest's vDSO (a page that starts with an ELF header),
 * that page runs translated from now on. */
void bt_user_syscall(struct vcpu *v);
/* A host fetch fault at CPL 3 on `lin`: true when it is the vDSO's page,
 * which the next entry runs translated (nothing for the guest to see). */
bool bt_vdso_fetch(struct vcpu *v, uint32_t lin);
/* EXIT_VDSO_GATE: guest user code called the patched __kernel_vsyscall
 * (--vdso=gate): its INT 0x80, as the vDSO would have made it. */
void bt_gate_call(struct vcpu *v);

#endif
