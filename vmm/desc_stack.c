/*
 * desc_stack.c — pushes and pops on the guest stack for interrupt
 * delivery, IRET and far CALL/RET: linear = SS.base + (E)SP, limit checks
 * against SS including expand-down stacks (SDM vol. 3A 5.3, 6.2.3), SP
 * wrap-around when SS.B = 0.  ESP moves in a `struct stk` copy only.
 */
#include "vmm/desc_impl.h"

static bool big(const struct seg_cache *ss)
{
	return SEG_ATTR_DB(ss->attr);
}

uint32_t stk_add(const struct seg_cache *ss, uint32_t esp, uint32_t n)
{
	if (big(ss))
		return esp + n;
	return (esp & 0xFFFF0000u) | ((esp + n) & 0xFFFFu);
}

static uint32_t offset(const struct seg_cache *ss, uint32_t esp)
{
	return big(ss) ? esp : esp & 0xFFFFu;
}

/* n bytes from offset off; on a 16-bit stack the frame may wrap from
 * 0xFFFF to 0 between its elements, so check the two pieces. */
static bool room(const struct seg_cache *ss, uint32_t off, unsigned n)
{
	uint32_t head = 0x10000u - off;

	if (big(ss) || off + n <= 0x10000u)
		return desc_in_limit(ss, off, n);
	return desc_in_limit(ss, off, head) && desc_in_limit(ss, 0, n - head);
}

enum cpu_result stk_room_push(const struct stk *k, unsigned n,
                              struct cpu_fault *f)
{
	if (!room(k->ss, offset(k->ss, stk_add(k->ss, k->esp, -n)), n))
		return desc_fault(f, VEC_SS, k->ss_error, "stack limit (push)");
	return CPU_OK;
}

enum cpu_result stk_room_pop(const struct stk *k, unsigned n,
                             struct cpu_fault *f)
{
	if (!room(k->ss, offset(k->ss, k->esp), n))
		return desc_fault(f, VEC_SS, k->ss_error, "stack limit (pop)");
	return CPU_OK;
}

enum cpu_result stk_push(const struct cpu_mem *m, struct stk *k,
                         uint32_t val, unsigned size, struct cpu_fault *f)
{
	uint32_t esp = stk_add(k->ss, k->esp, -size);

	if (!desc_in_limit(k->ss, offset(k->ss, esp), size))
		return desc_fault(f, VEC_SS, k->ss_error, "stack limit (push)");
	if (m->write(m->ctx, k->ss->base + offset(k->ss, esp), &val, size) < 0)
		return desc_memfault(m, f);
	k->esp = esp;
	return CPU_OK;
}

enum cpu_result stk_pop(const struct cpu_mem *m, struct stk *k,
                        uint32_t *val, unsigned size, struct cpu_fault *f)
{
	*val = 0;
	if (!desc_in_limit(k->ss, offset(k->ss, k->esp), size))
		return desc_fault(f, VEC_SS, k->ss_error, "stack limit (pop)");
	if (m->read(m->ctx, k->ss->base + offset(k->ss, k->esp), val, size) < 0)
		return desc_memfault(m, f);
	k->esp = stk_add(k->ss, k->esp, size);
	return CPU_OK;
}
