/*
 * unemulated.c — `what=` on the command line picks the case:
 *   xsetbv  a privileged instruction popek does not emulate (XSETBV,
 *           0F 01 D1): popek must stop the guest with status 3 and report
 *           the instruction's bytes, its EIP and the CPU mode;
 *   cr0     MOV EAX, CR0, which popek emulates: the guest prints the value
 *           (PE and ET set at boot) and exits 0;
 *   pat     RDMSR of the PAT: prints its reset value, exits 0;
 *   badmsr  RDMSR of an MSR popek does not know: #GP, and with no IDT a
 *           triple fault (status 3); --trace-msr logs the MSR.
 * Prints the EIP it expects to be reported.
 */
#include "lib.h"

int guest_main(void)
{
	const char *what = cmdline_get("what");
	uint32_t eip, cr0 = 0;

	if (what && !strcmp(what, "cr0")) {
		__asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
		printf("unemulated: cr0=0x%08x\n", cr0);
		return cr0 == 0x11 ? 0 : 1;
	}
	if (what && (!strcmp(what, "pat") || !strcmp(what, "badmsr"))) {
		uint32_t lo, hi, idx = !strcmp(what, "pat") ? 0x277 : 0x12345678;
		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(idx));
		printf("unemulated: msr 0x%x = 0x%08x%08x\n", idx, hi, lo);
		return 0;
	}
	__asm__ volatile("movl $1f, %0\n\t" : "=r"(eip));
	printf("unemulated: xsetbv at EIP 0x%08x\n", eip);
	__asm__ volatile("1: xsetbv" : : "a"(1), "d"(0), "c"(0));
	printf("unemulated: continued past the instruction\n");
	return 0;
}
