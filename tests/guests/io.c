/*
 * io.c — every IN/OUT/INS/OUTS form against popek's test device, one
 * check() per form, each read back through a different form than the one
 * under test.
 *
 * The test device (ports 0xE0..0xEF, devices/testdev.c):
 *   0xE0..0xE3  4-byte latch: an access of size s at 0xE0+o writes or
 *               reads latch bytes o..o+s-1 (beyond byte 3: dropped / 0)
 *   0xE4        4096-byte FIFO: writes append s bytes little-endian,
 *               reads pop s bytes (0xFF each when empty); every access
 *               counts one in the access counter
 *   0xE8        read: bytes in the FIFO; any write clears FIFO and counter
 *   0xEC        read: the access counter
 * Port 0x80 reads back the last byte written; port 0x3E0 is claimed by
 * nothing and must read as all ones.
 *
 * String forms check the data, the final ECX/ESI/EDI, and the access
 * counter (one access per element: REP must not be batched into fewer
 * device accesses).  The 16-bit address-size forms use a scratch area at
 * 0x8000 (below 64 KiB) and check that only SI/DI/CX move.
 */
#include "lib.h"

#define TD_LATCH   0xE0
#define TD_FIFO    0xE4
#define TD_LEVEL   0xE8
#define TD_COUNTER 0xEC
#define UNCLAIMED  0x3E0

#define STR(x)  #x
#define XSTR(x) STR(x)
#define LATCH   "$" XSTR(TD_LATCH)

static const uint8_t pattern[16] = {
	0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xF0, 0x0F,
};

static void fifo_reset(void)
{
	outb(0, TD_LEVEL);
}

static uint32_t fifo_level(void)
{
	return inl(TD_LEVEL);
}

static uint32_t fifo_accesses(void)
{
	return inl(TD_COUNTER);
}

/* Fill the FIFO with the pattern, one dword at a time (4 accesses), then
 * clear nothing: the counter is reset by the caller if it matters. */
static void fifo_fill_pattern(void)
{
	fifo_reset();
	for (int i = 0; i < 16; i += 4)
		outl(pattern[i] | pattern[i + 1] << 8 | pattern[i + 2] << 16 |
		     (uint32_t)pattern[i + 3] << 24, TD_FIFO);
}

/* Pop n bytes from the FIFO one byte at a time and compare with want. */
static bool fifo_holds(const uint8_t *want, int n)
{
	bool ok = fifo_level() == (uint32_t)n;

	for (int i = 0; i < n; i++)
		ok &= inb(TD_FIFO) == want[i];
	return ok;
}

/* --- IN/OUT, immediate port and DX -------------------------------------- */

static void test_out_imm(void)
{
	outl(0, TD_LATCH);
	__asm__ volatile("outb %%al, " LATCH : : "a"(0xA5));
	check(inl(TD_LATCH) == 0xA5, "outb-imm8");
	__asm__ volatile("outw %%ax, " LATCH : : "a"(0xBEEF));
	check(inl(TD_LATCH) == 0xBEEF, "outw-imm8");
	__asm__ volatile("outl %%eax, " LATCH : : "a"(0xDEADBEEF));
	check(inl(TD_LATCH) == 0xDEADBEEF, "outl-imm8");
}

static void test_out_dx(void)
{
	uint32_t v;

	outl(0, TD_LATCH);
	__asm__ volatile("outb %%al, %%dx" : : "a"(0x5A), "d"(TD_LATCH));
	__asm__ volatile("inl " LATCH ", %%eax" : "=a"(v));
	check(v == 0x5A, "outb-dx");
	__asm__ volatile("outw %%ax, %%dx" : : "a"(0xCAFE), "d"(TD_LATCH));
	__asm__ volatile("inl " LATCH ", %%eax" : "=a"(v));
	check(v == 0xCAFE, "outw-dx");
	__asm__ volatile("outl %%eax, %%dx" : : "a"(0x01234567), "d"(TD_LATCH));
	__asm__ volatile("inl " LATCH ", %%eax" : "=a"(v));
	check(v == 0x01234567, "outl-dx");
}

/* IN must leave the bits of EAX above the operand size alone. */
static void test_in_imm(void)
{
	uint32_t v;

	outl(0x89ABCDEF, TD_LATCH);
	v = 0x12345600;
	__asm__ volatile("inb " LATCH ", %%al" : "+a"(v));
	check(v == 0x123456EF, "inb-imm8");
	v = 0x12340000;
	__asm__ volatile("inw " LATCH ", %%ax" : "+a"(v));
	check(v == 0x1234CDEF, "inw-imm8");
	v = 0;
	__asm__ volatile("inl " LATCH ", %%eax" : "+a"(v));
	check(v == 0x89ABCDEF, "inl-imm8");
}

static void test_in_dx(void)
{
	uint32_t v;

	outl(0x76543210, TD_LATCH);
	v = 0xFFFFFF00;
	__asm__ volatile("inb %%dx, %%al" : "+a"(v) : "d"(TD_LATCH));
	check(v == 0xFFFFFF10, "inb-dx");
	v = 0xAAAA0000;
	__asm__ volatile("inw %%dx, %%ax" : "+a"(v) : "d"(TD_LATCH));
	check(v == 0xAAAA3210, "inw-dx");
	v = 0;
	__asm__ volatile("inl %%dx, %%eax" : "+a"(v) : "d"(TD_LATCH));
	check(v == 0x76543210, "inl-dx");
}

/* Accesses at an offset into the latch, and past its end. */
static void test_latch_offsets(void)
{
	bool ok;

	outl(0, TD_LATCH);
	outw(0x1122, TD_LATCH + 2);
	ok = inl(TD_LATCH) == 0x11220000;
	outl(0x44332299, TD_LATCH + 3);          /* only 0x99 lands */
	ok &= inl(TD_LATCH) == 0x99220000;
	ok &= inw(TD_LATCH + 3) == 0x0099;       /* byte 4 reads 0 */
	ok &= inb(TD_LATCH + 1) == 0x00;
	check(ok, "latch-offsets");
}

/* --- the test device itself --------------------------------------------- */

static void test_fifo_basics(void)
{
	bool ok;

	fifo_reset();
	ok = fifo_level() == 0 && fifo_accesses() == 0;
	outl(0x44332211, TD_FIFO);
	outw(0x6655, TD_FIFO);
	ok &= fifo_level() == 6 && fifo_accesses() == 2;
	ok &= inw(TD_FIFO) == 0x2211 && inb(TD_FIFO) == 0x33;
	ok &= fifo_level() == 3 && fifo_accesses() == 4;
	ok &= inl(TD_FIFO) == 0xFF665544;        /* 3 bytes, then empty */
	ok &= inb(TD_FIFO) == 0xFF && fifo_accesses() == 6;
	check(ok, "fifo-basics");
}

static void test_port80(void)
{
	bool ok;

	outb(0x5A, PORT_POST);
	ok = inb(PORT_POST) == 0x5A;
	outb(0xC3, PORT_POST);
	ok &= inb(PORT_POST) == 0xC3;
	check(ok, "port80-readback");
}

static void test_unclaimed(void)
{
	check(inb(UNCLAIMED) == 0xFF, "unclaimed-inb");
	check(inw(UNCLAIMED) == 0xFFFF, "unclaimed-inw");
	check(inl(UNCLAIMED) == 0xFFFFFFFF, "unclaimed-inl");
}

/* --- single INS/OUTS ---------------------------------------------------- */

/* Single OUTS of one element of size sz: ESI moves by sz, one byte group
 * reaches the FIFO. */
#define OUTS_ONE(insn, sz, name)                                              \
	do {                                                                   \
		uint32_t esi = (uint32_t)pattern;                              \
		fifo_reset();                                                  \
		__asm__ volatile(insn : "+S"(esi) : "d"(TD_FIFO) : "memory");  \
		check(esi == (uint32_t)pattern + (sz) &&                       \
		      fifo_accesses() == 1 && fifo_holds(pattern, sz), name);  \
	} while (0)

/* Single INS of one element of size sz into a zeroed buffer. */
#define INS_ONE(insn, sz, name)                                               \
	do {                                                                   \
		uint8_t buf[8] = { 0 };                                        \
		uint32_t edi = (uint32_t)buf;                                  \
		fifo_fill_pattern();                                           \
		__asm__ volatile(insn : "+D"(edi) : "d"(TD_FIFO) : "memory");  \
		check(edi == (uint32_t)buf + (sz) &&                           \
		      memcmp(buf, pattern, sz) == 0 && buf[sz] == 0 &&         \
		      fifo_level() == 16 - (sz), name);                        \
	} while (0)

static void test_string_single(void)
{
	OUTS_ONE("outsb", 1, "outsb");
	OUTS_ONE("outsw", 2, "outsw");
	OUTS_ONE("outsl", 4, "outsl");
	INS_ONE("insb", 1, "insb");
	INS_ONE("insw", 2, "insw");
	INS_ONE("insl", 4, "insl");
}

/* --- REP INS/OUTS ------------------------------------------------------- */

/* REP OUTS of the 16-byte pattern as elements of size sz. */
#define REP_OUTS(insn, sz, name)                                              \
	do {                                                                   \
		uint32_t esi = (uint32_t)pattern, ecx = 16 / (sz);             \
		fifo_reset();                                                  \
		__asm__ volatile("rep " insn : "+S"(esi), "+c"(ecx)            \
		                 : "d"(TD_FIFO) : "memory");                   \
		check(ecx == 0 && esi == (uint32_t)pattern + 16 &&             \
		      fifo_accesses() == 16 / (sz) &&                          \
		      fifo_holds(pattern, 16), name);                          \
	} while (0)

/* REP INS of 16 bytes as elements of size sz; filling the FIFO took 4
 * accesses. */
#define REP_INS(insn, sz, name)                                               \
	do {                                                                   \
		uint8_t buf[20] = { 0 };                                       \
		uint32_t edi = (uint32_t)buf, ecx = 16 / (sz);                 \
		fifo_fill_pattern();                                           \
		__asm__ volatile("rep " insn : "+D"(edi), "+c"(ecx)            \
		                 : "d"(TD_FIFO) : "memory");                   \
		check(ecx == 0 && edi == (uint32_t)buf + 16 &&                 \
		      memcmp(buf, pattern, 16) == 0 && buf[16] == 0 &&         \
		      fifo_level() == 0 && fifo_accesses() == 4 + 16 / (sz),   \
		      name);                                                   \
	} while (0)

static void test_rep(void)
{
	REP_OUTS("outsb", 1, "rep-outsb");
	REP_OUTS("outsw", 2, "rep-outsw");
	REP_OUTS("outsl", 4, "rep-outsl");
	REP_INS("insb", 1, "rep-insb");
	REP_INS("insw", 2, "rep-insw");
	REP_INS("insl", 4, "rep-insl");
}

/* REP with ECX = 0 performs no access and moves nothing. */
static void test_rep_ecx0(void)
{
	uint32_t esi = (uint32_t)pattern, edi, ecx = 0;
	uint8_t buf[4] = { 0x77, 0x77, 0x77, 0x77 };

	fifo_reset();
	__asm__ volatile("rep outsb" : "+S"(esi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(esi == (uint32_t)pattern && ecx == 0 && fifo_accesses() == 0 &&
	      fifo_level() == 0, "rep-outs-ecx0");
	fifo_fill_pattern();
	edi = (uint32_t)buf;
	__asm__ volatile("rep insl" : "+D"(edi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(edi == (uint32_t)buf && ecx == 0 && fifo_accesses() == 4 &&
	      fifo_level() == 16 && buf[0] == 0x77 && buf[3] == 0x77,
	      "rep-ins-ecx0");
}

/* A 4 KiB round trip through a buffer that straddles a page boundary:
 * fills the FIFO exactly. */
static void test_rep_4k(void)
{
	static uint8_t area[3 * 4096] __attribute__((aligned(4096)));
	uint8_t *src = area + 2048, *dst = area + 4096 + 2048;
	uint32_t esi = (uint32_t)src, edi = (uint32_t)dst, ecx = 4096;

	for (int i = 0; i < 4096; i++)
		src[i] = (uint8_t)(i * 7 + i / 256);
	fifo_reset();
	__asm__ volatile("rep outsb" : "+S"(esi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	bool ok = ecx == 0 && fifo_level() == 4096 && fifo_accesses() == 4096;
	ecx = 4096;
	__asm__ volatile("rep insb" : "+D"(edi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(ok && ecx == 0 && edi == (uint32_t)dst + 4096 &&
	      memcmp(src, dst, 4096) == 0 && fifo_level() == 0,
	      "rep-4k-roundtrip");
}

/* --- direction flag ----------------------------------------------------- */

static void test_df(void)
{
	static const uint8_t reversed[16] = {
		0x0F, 0xF0, 0xEE, 0xDD, 0xCC, 0xBB, 0xAA, 0x99,
		0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
	};
	uint32_t buf[6] = { 0 };
	uint32_t esi = (uint32_t)pattern + 15, edi, ecx = 16;

	fifo_reset();
	__asm__ volatile("std; rep outsb; cld" : "+S"(esi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(ecx == 0 && esi == (uint32_t)pattern - 1 &&
	      fifo_holds(reversed, 16), "rep-outsb-df");

	esi = (uint32_t)pattern + 14;
	fifo_reset();
	__asm__ volatile("std; outsw; cld" : "+S"(esi) : "d"(TD_FIFO) : "memory");
	check(esi == (uint32_t)pattern + 12 && fifo_holds(pattern + 14, 2),
	      "outsw-df");

	fifo_fill_pattern();
	edi = (uint32_t)&buf[4];
	ecx = 4;
	__asm__ volatile("std; rep insl; cld" : "+D"(edi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(ecx == 0 && edi == (uint32_t)&buf[0] && buf[0] == 0 &&
	      buf[5] == 0 && buf[4] == 0x44332211 && buf[1] == 0x0FF0EEDD,
	      "rep-insl-df");
}

/* --- 16-bit address size (0x67) ----------------------------------------- */

/* A fixed scratch area below 64 KiB, hidden from GCC's bounds tracking. */
static uint8_t *low_scratch(void)
{
	uintptr_t a = 0x8000;

	__asm__("" : "+r"(a));
	return (uint8_t *)a;
}

static void test_addr16(void)
{
	uint8_t *s = low_scratch();
	uint32_t esi = 0xABCD8000, edi = 0x12348040, ecx = 0x55550005;

	memcpy(s, pattern, 16);
	fifo_reset();
	__asm__ volatile("addr16 rep outsb" : "+S"(esi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(esi == 0xABCD8005 && ecx == 0x55550000 &&
	      fifo_accesses() == 5 && fifo_holds(pattern, 5),
	      "addr16-rep-outsb");

	memset(s + 0x40, 0, 8);
	fifo_fill_pattern();
	ecx = 0x77770003;
	__asm__ volatile("addr16 rep insw" : "+D"(edi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(edi == 0x12348046 && ecx == 0x77770000 &&
	      memcmp(s + 0x40, pattern, 6) == 0 && s[0x46] == 0,
	      "addr16-rep-insw");
}

/* DI wraps from 0xFFFF to 0 within the 64 KiB segment. */
static void test_addr16_wrap(void)
{
	uint8_t *s = low_scratch();
	uint32_t edi = 0xABCDFFFF;

	s[0x7FFF] = 0;
	fifo_fill_pattern();
	__asm__ volatile("addr16 insb" : "+D"(edi) : "d"(TD_FIFO) : "memory");
	check(edi == 0xABCD0000 && s[0x7FFF] == pattern[0], "addr16-di-wrap");
}

/* --- segment override --------------------------------------------------- */

/* Segments are flat, so FS:ESI addresses what DS:ESI would. */
static void test_seg_override(void)
{
	uint32_t esi = (uint32_t)pattern, ecx = 4;

	fifo_reset();
	__asm__ volatile("outsb %%fs:(%%esi), (%%dx)" : "+S"(esi)
	                 : "d"(TD_FIFO) : "memory");
	check(esi == (uint32_t)pattern + 1 && fifo_holds(pattern, 1),
	      "fs-outsb");
	esi = (uint32_t)pattern;
	fifo_reset();
	__asm__ volatile("rep outsl %%gs:(%%esi), (%%dx)" : "+S"(esi), "+c"(ecx)
	                 : "d"(TD_FIFO) : "memory");
	check(esi == (uint32_t)pattern + 16 && ecx == 0 &&
	      fifo_holds(pattern, 16), "gs-rep-outsl");
}

int guest_main(void)
{
	puts("io: port I/O forms against the test device\n");
	test_out_imm();
	test_out_dx();
	test_in_imm();
	test_in_dx();
	test_latch_offsets();
	test_fifo_basics();
	test_port80();
	test_unclaimed();
	test_string_single();
	test_rep();
	test_rep_ecx0();
	test_rep_4k();
	test_df();
	test_addr16();
	test_addr16_wrap();
	test_seg_override();
	return finish();
}
