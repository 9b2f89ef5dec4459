/*
 * system.h — the monitor's side of system instructions and exception
 * delivery (system.c): the emulator's emu_sys callbacks over the virtual
 * CPU, guest memory for the emulator, and the host-LDT shadows.
 */
#ifndef POPEK_VMM_SYSTEM_H
#define POPEK_VMM_SYSTEM_H

#include "vmm/desc.h"
#include "vmm/vcpu.h"
#include "shadowpt/shadow.h"

/* Guest linear memory, for emu_ops and cpu_mem: supervisor accesses
 * through the guest's page tables when paging is on; outside RAM the MMIO
 * bus. */
int guest_read(void *ctx, uint32_t lin, void *dst, unsigned len);
int guest_write(void *ctx, uint32_t lin, const void *src, unsigned len);
/* Drop the emulator's TLB of linear → guest-physical translations
 * (CR3 loads, INVLPG, paging changes do it themselves). */
void system_tlb_flush(struct vcpu *v);
/* The guest's paging registers, for a walk at `cpl`. */
struct shadow_regs system_paging_regs(const struct vcpu *v, int cpl);
/* Guest-physical RAM address of linear `lin` as a supervisor read finds
 * it, changing nothing in guest memory (reports, trace set-up): 0, or -1
 * when it is not mapped or not RAM. */
int system_peek_ram(const struct vcpu *v, uint32_t lin, uint32_t *phys);
/* emu_ops.raise: record a fault the emulator found. */
void system_raise(void *ctx, int vector, uint32_t error);
extern const struct emu_sys guest_sys;
/* system_query.c: the callbacks of guest_sys that the sensitive
 * instructions use (see struct emu_sys). */
int system_read_gdtr(void *ctx, uint32_t *base, uint16_t *limit);
int system_read_idtr(void *ctx, uint32_t *base, uint16_t *limit);
int system_read_ldtr(void *ctx, uint16_t *sel);
int system_read_tr(void *ctx, uint16_t *sel);
int system_read_seg(void *ctx, enum seg seg, uint16_t *sel);
int system_read_desc(void *ctx, uint16_t sel, uint64_t *raw, bool *found);
int system_check_limit(void *ctx, enum seg seg, uint32_t off, unsigned len);
int system_cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
int system_rdtsc(void *ctx, uint64_t *tsc);
/* Deliver an interrupt or exception through the guest IDT (triple fault
 * and unsupported paths stop the VM). */
void system_deliver(struct vcpu *v, int vector, enum int_kind kind,
                    bool has_error, uint32_t error);
/* Register the descriptor tables' write tracer (once, at vCPU start). */
void segshadow_init(struct vcpu *v);
/* After LGDT, LLDT, CR3 loads and paging changes: write-trace the pages
 * of the guest GDT and LDT. */
void segshadow_trace_tables(struct vcpu *v);
/* After LLDT: shadow the guest LDT's entries at their own host index. */
int segshadow_ldt(struct vcpu *v);
/* After an exit: take in segment loads the guest made natively. */
void system_native_loads(struct vcpu *v);
/* Deliver INT n / INT3 / INTO (EIP already past it, insn_len long). */
void system_soft_int(struct vcpu *v, int vector, unsigned insn_len);
/* Write the host shadows of changed segment caches; set host selectors. */
void system_sync_segments(struct vcpu *v);
/* --user-isolation=segments: where guest user segments must end, for
 * the segment shadows and the shadow MMU: above every user page seen so
 * far (mapped by the shadow MMU, or reached by an emulated CPL 3 access
 * beyond the cut), in whole 4 MiB; it only rises, and a user page in the
 * last 4 MiB below the monitor region turns the cut off for good. */
void system_user_top(struct vcpu *v);
/* Before guest code runs: the cut brought up to date; and at CPL 3 an
 * EIP at or beyond it is either a user page not seen yet (learnt) or a
 * fetch that faults on hardware too (#PF delivered: false). */
bool system_user_fetch(struct vcpu *v);

#endif
