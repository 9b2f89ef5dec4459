/*
 * unemulated.c — executes a privileged instruction popek does not emulate
 * yet (`what=` on the command line: cr0 = MOV EAX,CR0, lgdt = LGDT).  popek
 * must stop the guest with status 3 and report the instruction's bytes,
 * its EIP and the CPU mode.  Prints the EIP it expects to be reported.
 */
#include "lib.h"

static uint8_t gdtr[6];

int guest_main(void)
{
	const char *what = cmdline_get("what");
	uint32_t eip;

	if (what && !strcmp(what, "lgdt")) {
		__asm__ volatile("movl $1f, %0\n\t" : "=r"(eip));
		printf("unemulated: lgdt at EIP 0x%08x\n", eip);
		__asm__ volatile("1: lgdt %0" : : "m"(gdtr));
	} else {
		__asm__ volatile("movl $2f, %0\n\t" : "=r"(eip));
		printf("unemulated: mov eax, cr0 at EIP 0x%08x\n", eip);
		__asm__ volatile("2: movl %%cr0, %%eax" : : : "eax");
	}
	printf("unemulated: continued past the instruction\n");
	return 0;
}
