/*
 * echo.c — the UART's receive side: read one line from COM1 (polling LSR
 * bit 0, data ready) and print it back upper-cased.  The host side of
 * COM1 is popek's stdin.  Also checks that LSR reports no data once the
 * line is consumed and the input has ended.
 */
#include "lib.h"

#define LSR_DR 0x01

static int getc_timeout(void)
{
	for (uint32_t spins = 0; spins < 50000; spins++)
		if (inb(COM1 + 5) & LSR_DR)
			return inb(COM1);
	return -1;
}

int guest_main(void)
{
	char line[80];
	int n = 0, c;

	while (n < (int)sizeof(line) - 1 && (c = getc_timeout()) >= 0 && c != '\n')
		line[n++] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	line[n] = 0;
	printf("echo: %s\n", line);
	check(n > 0, "uart-received-a-line");
	check(getc_timeout() < 0, "uart-no-data-after-input-ends");
	return finish();
}
