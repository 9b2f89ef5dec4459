/*
 * intr.c — interrupt injection (see intr.h).
 *
 * Locking: irq_lock guards the pending bitmap and `halted`; everything
 * else here runs on the vCPU thread.  Ordering against the kick: the run
 * loop clears area->kicked before it looks at the bitmap, and a raiser
 * sets the bit before it sends the kick, so a vector raised after the look
 * always finds either the guest (which exits) or popek_enter (which sees
 * `kicked` and does not enter).
 */
#include "vmm/intr.h"
#include "vmm/system.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

int intr_init(struct vcpu *v)
{
	if (pthread_mutex_init(&v->irq_lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&v->irq_cond, NULL) != 0) {
		pthread_mutex_destroy(&v->irq_lock);
		return -1;
	}
	return 0;
}

void intr_destroy(struct vcpu *v)
{
	pthread_cond_destroy(&v->irq_cond);
	pthread_mutex_destroy(&v->irq_lock);
}

void vcpu_raise_irq(struct vcpu *v, int vector)
{
	bool halted;

	pthread_mutex_lock(&v->irq_lock);
	v->irq_pending[(vector >> 6) & 3] |= 1ull << (vector & 63);
	halted = v->halted;
	pthread_cond_signal(&v->irq_cond);
	pthread_mutex_unlock(&v->irq_lock);
	if (v->bt.tc)
		bt_note_pending();
	if (!halted && v->tid > 0)
		syscall(SYS_tgkill, getpid(), v->tid, SIGKICK);
}

void vcpu_set_controller(struct vcpu *v, const struct intr_controller *c)
{
	v->intc = *c;
}

void vcpu_intr_line(struct vcpu *v)
{
	bool halted;

	pthread_mutex_lock(&v->irq_lock);
	v->line_raised = true;
	halted = v->halted;
	pthread_cond_signal(&v->irq_cond);
	pthread_mutex_unlock(&v->irq_lock);
	if (v->bt.tc)
		bt_note_pending();
	if (!halted && v->tid > 0)
		syscall(SYS_tgkill, getpid(), v->tid, SIGKICK);
}

void vcpu_lower_irq(struct vcpu *v, int vector)
{
	pthread_mutex_lock(&v->irq_lock);
	v->irq_pending[(vector >> 6) & 3] &= ~(1ull << (vector & 63));
	pthread_mutex_unlock(&v->irq_lock);
}

/* Highest pending vector, or -1.  Caller holds irq_lock. */
static int highest_pending(const struct vcpu *v)
{
	for (int w = 3; w >= 0; w--)
		if (v->irq_pending[w])
			return w * 64 + 63 - __builtin_clzll(v->irq_pending[w]);
	return -1;
}

/* The controller's INTR line, outside irq_lock; with the guest in an
 * interrupt shadow, step past it first; else run the INTA cycle. */
static int controller_vector(struct vcpu *v)
{
	if (!v->intc.line)
		return -1;
	v->line_raised = false;
	if (!v->intc.line(v->intc.dev))
		return -1;
	if (v->cpu.sti_shadow || v->sys.mov_ss_shadow) {
		v->shadow_step = true;
		return -1;
	}
	return v->intc.ack(v->intc.dev);
}

void intr_inject(struct vcpu *v)
{
	int vec;

	v->area->kicked = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(v->cpu.eflags & EFLAGS_IF) || v->bt.stepping)
		return;   /* stepping: registers are not the guest's (bt.c) */
	pthread_mutex_lock(&v->irq_lock);
	vec = highest_pending(v);
	if (vec >= 0 && (v->cpu.sti_shadow || v->sys.mov_ss_shadow)) {
		/* Run the one instruction the shadow covers, then deliver. */
		v->shadow_step = true;
		vec = -1;
	} else if (vec >= 0) {
		v->irq_pending[vec >> 6] &= ~(1ull << (vec & 63));
	}
	pthread_mutex_unlock(&v->irq_lock);
	if (vec < 0 && !v->shadow_step)
		vec = controller_vector(v);
	if (vec >= 0) {
		v->vm->counters[CTR_irqs]++;
		system_deliver(v, vec, INT_EXTERNAL, false, 0);
	}
}

bool intr_maybe_pending(struct vcpu *v)
{
	for (int w = 0; w < 4; w++)
		if (__atomic_load_n(&v->irq_pending[w], __ATOMIC_RELAXED))
			return true;
	return v->line_raised || (v->intc.line && v->intc.line(v->intc.dev));
}

bool intr_wait(struct vcpu *v)
{
	if (v->vm->irq_sources == 0)
		return false;
	if (v->intc.line && v->intc.line(v->intc.dev))
		return true;
	uint64_t t0 = __rdtsc();           /* --stats: the halted share */
	pthread_mutex_lock(&v->irq_lock);
	v->halted = true;
	while (highest_pending(v) < 0 && !v->line_raised &&
	       !v->vm->exit_requested)
		pthread_cond_wait(&v->irq_cond, &v->irq_lock);
	v->halted = false;
	pthread_mutex_unlock(&v->irq_lock);
	v->ticks[TICKS_HALTED] += __rdtsc() - t0;
	return true;
}

void intr_after_exit(struct vcpu *v, bool shadow_before)
{
	/* A kick may come before the shadowed instruction ran: keep it. */
	if (!shadow_before || v->exit.reason == EXIT_KICK)
		return;
	v->cpu.sti_shadow = false;
	v->sys.mov_ss_shadow = false;
	v->shadow_step = false;
}
