/*
 * intr.h — interrupt injection into a vCPU (intr.c).
 *
 * Any thread may raise or lower a vector; a raised vector is delivered
 * through the guest IDT at the next instruction boundary where the guest's
 * virtual IF is 1 and no STI or MOV SS shadow holds it off, highest vector
 * first, and delivery consumes it.  A vCPU running guest code is made to
 * exit with a directed signal (SIGKICK); a halted one is woken.
 */
#ifndef POPEK_VMM_INTR_H
#define POPEK_VMM_INTR_H

#include <stdbool.h>

struct vcpu;

/* An interrupt controller (the 8259A pair) in front of the vCPU: its INTR
 * line and its INTA cycle.  Both take the controller's own lock; popek
 * never calls them with irq_lock held (lock order: device, then irq). */
struct intr_controller {
	bool (*line)(void *dev);
	int (*ack)(void *dev);      /* the vector to deliver */
	void *dev;
};

int intr_init(struct vcpu *v);
void vcpu_set_controller(struct vcpu *v, const struct intr_controller *c);
/* The controller's INTR line went up: wake or kick the vCPU.  Any thread,
 * with the controller's lock held. */
void vcpu_intr_line(struct vcpu *v);
void intr_destroy(struct vcpu *v);
void vcpu_raise_irq(struct vcpu *v, int vector);
void vcpu_lower_irq(struct vcpu *v, int vector);
/* vCPU thread, before each entry: deliver what the guest accepts now, or
 * arrange to single-step past a shadow first. */
void intr_inject(struct vcpu *v);
/* Whether an interrupt may be waiting (a hint: no lock taken). */
bool intr_maybe_pending(struct vcpu *v);
/* HLT with IF = 1: wait until a vector is pending.  False when nothing
 * could ever raise one (no interrupt source exists). */
bool intr_wait(struct vcpu *v);
/* After an exit: a shadow lasts one instruction. */
void intr_after_exit(struct vcpu *v, bool shadow_before);

#endif
