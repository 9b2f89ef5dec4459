/*
 * reset.c — the guest resets the machine, by the way "via=" on the
 * command line names:
 *   via=64   command 0xFE to the i8042 (pulse the reset line)
 *   via=92   bit 0 of system control port A (fast reset)
 *   via=d1   i8042 output port (command 0xD1) with bit 0 clear
 * popek ends with "popek: guest reset" and status 4; QEMU (-no-reboot)
 * exits.  Coming back from any of them is a failure.
 */
#include "lib.h"

int guest_main(void)
{
	const char *via = cmdline_get("via");

	if (via == NULL) {
		check(false, "via-given");
		return finish();
	}
	printf("reset: via %s\n", via);
	if (!strcmp(via, "64")) {
		while (inb(0x64) & 0x02)
			;                       /* input buffer empty */
		outb(0xFE, 0x64);
	} else if (!strcmp(via, "92")) {
		outb(inb(0x92) | 0x01, 0x92);
	} else if (!strcmp(via, "d1")) {
		outb(0xD1, 0x64);
		outb(0xDE, 0x60);               /* A20 on, reset line low */
	} else {
		check(false, "via-known");
		return finish();
	}
	for (volatile int i = 0; i < 1000000; i++)
		;
	check(false, "reset-took-effect");
	return finish();
}
