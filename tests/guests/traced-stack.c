/*
 * traced-stack.c — the sensitive instructions the emulator carries out
 * for binary translation, reached here under --mode=trap: the stack lies
 * in the page of the GDT, which popek write-traces, so each push to it
 * faults on the host and is emulated (vmm/emulate_sensitive.c,
 * emulate_branch.c) against the virtual CPU.  Checks:
 *   - PUSHF after CLI pushes IF = 0 (the virtual IF, not the host's);
 *   - PUSH CS pushes the guest's selector 0x08 (not popek's host one);
 *   - CALL r/m32 pushes the address of the next instruction.
 * Every push in the block is one the emulator knows: one it did not
 * would make popek give the page up and run the rest natively.
 * Runs the same under QEMU: scripts/qemu-guest tests/guests/traced-stack.elf
 */
#include "lib.h"

#define EFLAGS_IF 0x200u

/* The GDT at the bottom of the page, the stack at its top. */
static uint64_t page[512] __attribute__((aligned(4096)));

static uint64_t seg(unsigned access)
{
	return 0xFFFFull | (uint64_t)access << 40 | 0xFull << 48 |
	       0xCull << 52;
}

int guest_main(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;
	uint32_t flags, cs, ret, next;

	page[1] = seg(0x9A);
	page[2] = seg(0x92);
	r.limit = 3 * 8 - 1;
	r.base = (uint32_t)(uintptr_t)page;
	__asm__ volatile("lgdt %0\n\tljmp $0x08, $1f\n1:\t"
	                 "movl %1, %%ds\n\tmovl %1, %%es\n\tmovl %1, %%ss"
	                 : : "m"(r), "r"(0x10) : "memory");
	__asm__ volatile("movl %%esp, %%edi\n\t"
	                 "movl %4, %%esp\n\t"
	                 "cli\n\t"
	                 "pushfl\n\t"
	                 "pushl %%cs\n\t"
	                 "leal 2f, %%ecx\n\t"
	                 "call *%%ecx\n"
	                 "2:\tpopl %2\n\t"
	                 "popl %1\n\t"
	                 "popl %0\n\t"
	                 "movl %%edi, %%esp\n\t"
	                 "leal 2b, %3"
	                 : "=r"(flags), "=r"(cs), "=r"(ret), "=r"(next)
	                 : "r"(&page[512])
	                 : "ecx", "edi", "memory");
	check(!(flags & EFLAGS_IF), "pushf-after-cli-pushes-if-0");
	check((cs & 0xFFFF) == 0x08, "push-cs-pushes-the-guest-selector");
	check(ret == next, "call-pushes-the-next-eip");
	if ((flags & EFLAGS_IF) || (cs & 0xFFFF) != 0x08 || ret != next)
		printf("  eflags 0x%x cs 0x%x return 0x%x next 0x%x\n", flags,
		       cs, ret, next);
	return finish();
}
