/*
 * walk.c — the 32-bit paging walk behind walk.h (SDM vol. 3A §4.3, §4.6,
 * §4.7, §4.8).
 *
 * The walk reads the PDE, then (for a 4 KiB page) the PTE, combines
 * their R/W and U/S bits, and checks the access against them.
 *
 * Accessed flags on faults.  SDM §4.8 lets the processor set the accessed
 * flag of every entry it used to reach further into the walk, fault or
 * not.  Intel parts do exactly that: a present PDE that points to a page
 * table gets A as soon as the PTE is fetched, even when the PTE is not
 * present or the combined rights then deny the access (this is also the
 * model of kvm-unit-tests x86/access.c).  The final entry (a 4 MiB PDE or
 * a PTE) gets A, and D on a write, only when the access succeeds.  An
 * entry is written back only when its value changes, PDE before PTE;
 * hardware does a locked read-modify-write, a single vCPU needs no more.
 * The PTE is read before the PDE's A is written so that a -1 return
 * leaves guest memory untouched.
 */
#include "shadowpt/walk.h"

#define CR0_WP  (1u << 16)
#define CR0_PG  (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PGE (1u << 7)

#define PAGE_4K   4096u
#define PAGE_4M   (4u << 20)
/* 4 MiB PDE bits 21:13: bits 20:13 hold PA 39:32 with PSE-36 (bit 21 is
 * always reserved); we expose no PSE-36, so all are reserved (§4.3). */
#define PDE4M_RSVD 0x003FE000u

static int fault(struct walk_result *out, uint32_t error)
{
	out->fault = true;
	out->error = error;
	return 0;
}

/* Set bits in an entry, writing it back only when they change. */
static int set_bits(const struct walk_mem *m, uint32_t addr, uint32_t *e,
                    uint32_t bits)
{
	if ((*e & bits) == bits)
		return 0;
	*e |= bits;
	return m->write32(m->ctx, addr, *e);
}

/* SDM §4.6: user accesses need U/S=1; writes need R/W=1, except that
 * supervisor writes ignore R/W when CR0.WP=0. */
static bool allowed(const struct walk_req *r, bool writable, bool user)
{
	bool cpl3 = r->cpl == 3;

	if (cpl3 && !user)
		return false;
	if (r->access == WALK_WRITE && !writable && (cpl3 || (r->cr0 & CR0_WP)))
		return false;
	return true;
}

/* The access succeeded: set A (and D on a write) in the final entry and
 * report the translation. */
static int finish(const struct walk_req *r, const struct walk_mem *m,
                  uint32_t addr, uint32_t leaf, bool big,
                  struct walk_result *out)
{
	uint32_t dirty = r->access == WALK_WRITE ? PG_D : 0;
	uint32_t size = big ? PAGE_4M : PAGE_4K;

	if (set_bits(m, addr, &leaf, PG_A | dirty) < 0)
		return -1;
	out->phys = (leaf & ~(size - 1)) | (r->linear & (size - 1));
	out->page_size = size;
	out->global = (leaf & PG_G) && (r->cr4 & CR4_PGE);
	out->dirty = leaf & PG_D;
	return 0;
}

int walk(const struct walk_req *r, const struct walk_mem *m,
         struct walk_result *out)
{
	uint32_t err = (r->access == WALK_WRITE ? WALK_PF_W : 0) |
	               (r->cpl == 3 ? WALK_PF_U : 0);
	uint32_t pde_addr, pte_addr, pde, pte;

	*out = (struct walk_result){ .page_size = PAGE_4K };
	if (!(r->cr0 & CR0_PG)) {
		out->phys = r->linear;
		out->writable = out->user = out->dirty = true;
		return 0;
	}
	pde_addr = (r->cr3 & ~0xFFFu) + 4 * (r->linear >> 22);
	if (m->read32(m->ctx, pde_addr, &pde) < 0)
		return -1;
	if (!(pde & PG_P))
		return fault(out, err);
	if ((pde & PG_PS) && (r->cr4 & CR4_PSE)) {
		if (pde & PDE4M_RSVD)
			return fault(out, err | WALK_PF_P | WALK_PF_RSVD);
		if (!allowed(r, pde & PG_RW, pde & PG_US))
			return fault(out, err | WALK_PF_P);
		out->writable = pde & PG_RW;
		out->user = pde & PG_US;
		out->pde_addr = pde_addr;
		return finish(r, m, pde_addr, pde, true, out);
	}
	pte_addr = (pde & ~0xFFFu) + 4 * ((r->linear >> 12) & 0x3FF);
	if (m->read32(m->ctx, pte_addr, &pte) < 0)
		return -1;
	if (set_bits(m, pde_addr, &pde, PG_A) < 0)
		return -1;
	if (!(pte & PG_P))
		return fault(out, err);
	if (!allowed(r, pde & pte & PG_RW, pde & pte & PG_US))
		return fault(out, err | WALK_PF_P);
	out->writable = pde & pte & PG_RW;
	out->user = pde & pte & PG_US;
	out->pde_addr = pde_addr;
	out->pte_addr = pte_addr;
	return finish(r, m, pte_addr, pte, false, out);
}
