/*
 * halt.c — stops the CPU for good: HLT with interrupts disabled.  Nothing
 * can wake it, so popek must notice and end the VM with a guest-crash
 * status (3) and a message, rather than sleep forever.
 */
#include "lib.h"

int guest_main(void)
{
	puts("halt: executing cli; hlt\n");
	__asm__ volatile("cli; hlt");
	puts("halt: resumed after cli; hlt, which should be impossible\n");
	return 1;
}
