/*
 * smc.c — self-modifying code: the guest patches its own code and runs
 * the patched code, in every way a translator can get wrong.  On
 * hardware (and in trap mode, which runs it in place) a store to code is
 * seen by the next fetch; under --mode=bt the store must drop the stale
 * translation.  Also checks that popek never writes guest code: a
 * checksum of the guest's text (but the bytes it patches itself) is the
 * same at the end as at the start.
 *
 * Paging is off; text and data are both writable RAM.
 */
#include "lib.h"

extern char __text_start[], __text_end[];
extern char smc_start[], smc_end[], smc_ret_imm[], smc_next_imm[];
int smc_ret(void);
int smc_next(void);

/* smc_ret returns an immediate the test rewrites; smc_next rewrites
 * the immediate of its own next instruction (same block) before it. */
__asm__(".section .text.smc, \"ax\"\n"
        "smc_start:\n"
        "smc_ret:\n"
        "	.byte 0xB8\n"              /* mov $imm32, %eax */
        "smc_ret_imm:\n"
        "	.long 1\n"
        "	ret\n"
        "smc_next:\n"
        "	movl $0x55, smc_next_imm\n"
        "	.byte 0xB8\n"
        "smc_next_imm:\n"
        "	.long 7\n"
        "	ret\n"
        "smc_end:\n"
        ".previous\n");

static uint8_t buf[2][4096] __attribute__((aligned(4096)));

static uint32_t text_sum(void)
{
	uint32_t sum = 0;

	for (const char *p = __text_start; p < __text_end; p++)
		if (p < smc_start || p >= smc_end)
			sum = (sum << 5 | sum >> 27) ^ (uint8_t)*p;
	return sum;
}

/* mov $v, %eax; ret at p */
static void put_ret(volatile uint8_t *p, uint32_t v)
{
	p[0] = 0xB8;
	p[1] = (uint8_t)v;
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)(v >> 16);
	p[4] = (uint8_t)(v >> 24);
	p[5] = 0xC3;
}

static int call(const void *code)
{
	return ((int (*)(void))code)();
}

int guest_main(void)
{
	uint32_t sum0 = text_sum();
	bool ok = true;

	check(smc_ret() == 1, "smc: text function before patching");
	*(volatile uint8_t *)smc_ret_imm = 2;
	check(smc_ret() == 2, "smc: one byte patched in text");
	memcpy(smc_ret_imm, &(uint32_t){ 0x12345678 }, 4);
	check(smc_ret() == 0x12345678, "smc: immediate rewritten by memcpy");

	check(smc_next() == 0x55, "smc: store to the next instruction");
	*(volatile uint32_t *)smc_next_imm = 7;
	check(smc_next() == 0x55, "smc: and again after restoring it");

	for (uint32_t i = 0; i < 200 && ok; i++) {
		put_ret(buf[i & 1] + 64 * (i % 7), 1000 + i);
		ok = call(buf[i & 1] + 64 * (i % 7)) == (int)(1000 + i);
	}
	check(ok, "smc: 200 rewrites of code in data pages");

	/* Code and the data it writes in one page. */
	put_ret(buf[0], 5);
	for (uint32_t i = 0; i < 50 && ok; i++) {
		buf[0][2048 + i] = (uint8_t)i;   /* data next to the code */
		ok = call(buf[0]) == 5;
	}
	check(ok, "smc: data writes beside code leave it running");

	check(text_sum() == sum0, "smc: guest text unchanged but for its own patches");
	return finish();
}
