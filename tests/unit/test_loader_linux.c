/*
 * test_loader_linux.c — unit tests of the Linux 32-bit boot protocol
 * loader (vmm/loader_linux.c) and of the format detection in
 * loader_load_file().
 *
 * Each test builds a synthetic bzImage in memory: a boot sector and four
 * setup sectors whose setup header says what a Debian i386 kernel's does
 * (protocol 2.15, LOADED_HIGH, relocatable, pref_address 16 MiB), then a
 * protected-mode part of recognisable bytes.  One field is changed per
 * failure test, which checks the return value, a keyword of the one-line
 * error and that guest RAM (pre-filled with 0xAA) was not written.
 * Offsets come from Documentation/arch/x86/boot.rst and zero-page.rst,
 * written out here independently of the loader's own constants.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/loader.h"

#define MiB (1ull << 20)
#define FILL 0xAA
#define SETUP_SECTS 4
#define SETUP_BYTES ((SETUP_SECTS + 1) * 512)
#define PM_BYTES 8192
#define RAM_MIB 64

static uint8_t img[SETUP_BYTES + PM_BYTES];
static uint8_t *ram;
static uint64_t ram_size;
static struct boot_state bs;
static char err[512];
static uint8_t initrd[3 * 4096 + 100];

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint32_t ram32(uint32_t a)
{
	uint32_t v;

	memcpy(&v, ram + a, 4);
	return v;
}

static uint64_t ram64(uint32_t a)
{
	uint64_t v;

	memcpy(&v, ram + a, 8);
	return v;
}

static void build_image(void)
{
	memset(img, 0, sizeof(img));
	img[0x1F1] = SETUP_SECTS;
	put32(img + 0x1F4, PM_BYTES / 16);         /* syssize */
	put16(img + 0x1FE, 0xAA55);                /* boot_flag */
	img[0x200] = 0xEB;                         /* jump to 0x202 + 0x66 */
	img[0x201] = 0x66;
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, 0x020F);                /* version 2.15 */
	img[0x211] = 0x01;                         /* loadflags: LOADED_HIGH */
	put32(img + 0x214, 0x100000);              /* code32_start */
	put32(img + 0x22C, 0x7FFFFFFF);            /* initrd_addr_max */
	put32(img + 0x230, 0x200000);              /* kernel_alignment */
	img[0x234] = 1;                            /* relocatable_kernel */
	put32(img + 0x238, 2047);                  /* cmdline_size */
	put64(img + 0x258, 0x1000000);             /* pref_address */
	put32(img + 0x260, 0x800000);              /* init_size */
	img[0x267] = 0x5C;                         /* last header byte */
	for (size_t i = 0; i < PM_BYTES; i++)
		img[SETUP_BYTES + i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x3C);
}

static void use_ram(uint64_t mib)
{
	if (ram)
		munmap(ram, ram_size);
	ram_size = mib * MiB;
	ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(ram, MAP_FAILED);
	memset(ram, FILL, ram_size);
}

static void setup(void)
{
	build_image();
	use_ram(RAM_MIB);
	memset(&bs, 0x55, sizeof(bs));
	err[0] = '\0';
}

static void teardown(void)
{
	munmap(ram, ram_size);
	ram = NULL;
}

TestSuite(bzimage, .init = setup, .fini = teardown);

static int load_with(const uint8_t *rd, size_t rdsize, const char *cmdline)
{
	return loader_linux(img, sizeof(img), rd, rdsize, ram, ram_size,
	                    cmdline, &bs, err, sizeof(err));
}

static int load(void)
{
	return load_with(NULL, 0, "console=ttyS0 reservetop=16M");
}

static bool ram_untouched(void)
{
	for (uint64_t a = 0; a < ram_size; a++)
		if (ram[a] != FILL)
			return false;
	return true;
}

static void expect_error(int rc, const char *keyword)
{
	cr_assert_eq(rc, -1, "load should fail with '%s'", keyword);
	cr_assert_not_null(strstr(err, keyword),
	                   "error \"%s\" lacks \"%s\"", err, keyword);
	cr_assert_null(strchr(err, '\n'), "error is more than one line");
	cr_assert(ram_untouched(), "a failed load wrote guest RAM");
}

/* --- a good image ------------------------------------------------------ */

Test(bzimage, entry_state)
{
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(bs.entry, 0x100000, "EIP = code32_start");
	cr_assert_eq(bs.esi, 0x10000, "ESI = the zero page");
	cr_assert_eq(bs.eax, 0);
	cr_assert_eq(bs.ebx, 0, "EBX = 0 (boot.rst)");
	cr_assert_eq(bs.cs, 0x10, "__BOOT_CS");
	cr_assert_eq(bs.ds, 0x18, "__BOOT_DS");
	cr_assert_geq(bs.gdt_limit, 0x1F, "the GDT holds entries 2 and 3");
}

/* The GDT in guest RAM: entries 2 and 3 flat 4 GiB, 32-bit, DPL 0,
 * present; code execute/read, data read/write. */
Test(bzimage, boot_gdt)
{
	uint64_t cs, ds;

	cr_assert_eq(load(), 0, "%s", err);
	cs = ram64(bs.gdt_base + 0x10);
	ds = ram64(bs.gdt_base + 0x18);
	cr_assert_lt(bs.gdt_base + bs.gdt_limit, 0x9FC00u, "GDT in low RAM");
	cr_assert_eq(cs & 0xFFFF, 0xFFFF, "limit 15:0");
	cr_assert_eq((cs >> 16) & 0xFFFFFF, 0, "base 23:0");
	cr_assert_eq((cs >> 40) & 0x9F, 0x9B & 0x9F, "P, DPL 0, S, exec/read");
	cr_assert_eq((cs >> 48) & 0xCF, 0xCF, "G, D, limit 19:16");
	cr_assert_eq(cs >> 56, 0, "base 31:24");
	cr_assert_eq((ds >> 40) & 0x9E, 0x92, "P, DPL 0, S, data read/write");
	cr_assert_eq((ds >> 48) & 0xCF, 0xCF);
	cr_assert_eq(ds & 0xFF0000FFFFFFFFFFull, 0xFFFF, "base 0, limit 15:0");
}

Test(bzimage, kernel_at_one_mib)
{
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(memcmp(ram + 0x100000, img + SETUP_BYTES, PM_BYTES), 0);
	cr_assert_eq(ram[0x100000 + PM_BYTES], FILL, "copied past the image");
}

Test(bzimage, zero_page_header)
{
	uint32_t bp;

	cr_assert_eq(load(), 0, "%s", err);
	bp = bs.esi;
	cr_assert_eq(ram[bp + 0x1F1], SETUP_SECTS, "setup header copied");
	cr_assert_eq(memcmp(ram + bp + 0x202, "HdrS", 4), 0);
	cr_assert_eq(ram[bp + 0x267], 0x5C, "to the header's last byte");
	cr_assert_eq(ram[bp + 0x268], 0, "and no further");
	cr_assert_eq(ram[bp + 0x1EF], 0, "sentinel 0: not a broken loader");
	cr_assert_eq(ram[bp + 0x000], 0, "screen_info zero: no VGA");
	cr_assert_eq(ram[bp + 0x210], 0xFF, "type_of_loader undefined");
	cr_assert_eq(ram[bp + 0x211] & 0x01, 0x01, "LOADED_HIGH kept");
	cr_assert_eq(ram32(bp + 0x214), 0x100000, "code32_start");
	cr_assert_eq(ram32(bp + 0x218), 0, "no ramdisk_image");
	cr_assert_eq(ram32(bp + 0x21C), 0, "no ramdisk_size");
	cr_assert_str_eq((char *)ram + ram32(bp + 0x228),
	                 "console=ttyS0 reservetop=16M");
	cr_assert_lt(ram32(bp + 0x228), 0xA0000u, "cmdline below 0xA0000");
	cr_assert_geq(ram32(bp + 0x228), bp + 0x1000, "cmdline past the page");
}

static void expect_e820(uint32_t bp, int i, uint64_t addr, uint64_t size,
                        uint32_t type)
{
	uint32_t e = bp + 0x2D0 + (uint32_t)i * 20;

	cr_assert_eq(ram64(e), addr, "e820[%d].addr", i);
	cr_assert_eq(ram64(e + 8), size, "e820[%d].size", i);
	cr_assert_eq(ram32(e + 16), type, "e820[%d].type", i);
}

Test(bzimage, e820_map)
{
	uint32_t bp;

	cr_assert_eq(load(), 0, "%s", err);
	bp = bs.esi;
	cr_assert_eq(ram[bp + 0x1E8], 4, "e820_entries");
	expect_e820(bp, 0, 0, 0x9FC00, 1);
	expect_e820(bp, 1, 0x9FC00, 0x400, 2);
	expect_e820(bp, 2, 0xF0000, 0x10000, 2);
	expect_e820(bp, 3, 0x100000, (RAM_MIB - 1) * MiB, 1);
	cr_assert_eq(ram[bp + 0x2D0 + 4 * 20], 0, "nothing after");
	cr_assert_eq(ram32(bp + 0x1E0), (RAM_MIB - 1) * 1024, "alt_mem_k");
}

/* The APM BIOS (power-off): apm_bios_info at 0x040 says version 1.2 with
 * a 32-bit interface at 0xF000:0000, and the code is there: the first
 * instruction compares AX with 5307h (Set Power State), and the bytes
 * for "off" write 0 to the debug-exit port. */
Test(bzimage, apm_bios)
{
	static const uint8_t off[] = { 0xb0, 0x00, 0xe6, 0xf4 };
	uint32_t bp;

	cr_assert_eq(load(), 0, "%s", err);
	bp = bs.esi;
	cr_assert_eq(ram[bp + 0x40] | ram[bp + 0x41] << 8, 0x0102, "version");
	cr_assert_eq(ram[bp + 0x42] | ram[bp + 0x43] << 8, 0xF000, "cseg");
	cr_assert_eq(ram32(bp + 0x44), 0, "offset");
	cr_assert_eq(ram[bp + 0x4A] | ram[bp + 0x4B] << 8, 0xF000, "dseg");
	cr_assert_eq(ram[bp + 0x4C] | ram[bp + 0x4D] << 8, 0x0002,
	             "flags: 32-bit interface only, enabled, engaged");
	cr_assert_eq(memcmp(ram + 0xF0000, "\x66\x3d\x07\x53", 4), 0,
	             "cmp $0x5307,%%ax at the entry");
	cr_assert_not_null(memmem(ram + 0xF0000, 0x100, off, sizeof(off)),
	                   "mov $0,%%al; out %%al,$0xf4");
}

Test(bzimage, null_cmdline_is_empty)
{
	cr_assert_eq(load_with(NULL, 0, NULL), 0, "%s", err);
	cr_assert_str_eq((char *)ram + ram32(bs.esi + 0x228), "");
}

Test(bzimage, setup_sects_zero_means_four)
{
	img[0x1F1] = 0;
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(memcmp(ram + 0x100000, img + SETUP_BYTES, PM_BYTES), 0);
}

Test(bzimage, protocol_2_06_without_newer_fields)
{
	put16(img + 0x206, 0x0206);
	img[0x201] = 0x3A;              /* ends at 0x23C, after cmdline_size */
	put32(img + 0x260, 0x7FFFFFFF);  /* not read: 2.10+ */
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(ram[bs.esi + 0x23C], 0, "copied past the header");
}

/* --- the initrd -------------------------------------------------------- */

Test(bzimage, initrd_at_top_of_ram)
{
	uint32_t bp, at;

	cr_assert_eq(load_with(initrd, sizeof(initrd), "x"), 0, "%s", err);
	bp = bs.esi;
	at = ram32(bp + 0x218);
	cr_assert_eq(ram32(bp + 0x21C), sizeof(initrd), "ramdisk_size");
	cr_assert_eq(at % 4096, 0, "page-aligned");
	cr_assert_eq(at, (RAM_MIB * MiB - sizeof(initrd)) & ~4095ull,
	             "as high as possible: %#x", at);
	cr_assert_eq(memcmp(ram + at, initrd, sizeof(initrd)), 0);
}

Test(bzimage, initrd_below_initrd_addr_max)
{
	uint32_t at;

	put32(img + 0x22C, 0x2FFFFFF);   /* highest byte: 48 MiB - 1 */
	cr_assert_eq(load_with(initrd, sizeof(initrd), "x"), 0, "%s", err);
	at = ram32(bs.esi + 0x218);
	cr_assert_eq(at, (48 * MiB - sizeof(initrd)) & ~4095ull, "%#x", at);
	cr_assert_leq(at + sizeof(initrd) - 1, 0x2FFFFFFu);
}

Test(bzimage, initrd_too_big)
{
	static uint8_t big[41 << 20];   /* 40 MiB would just fit */

	expect_error(load_with(big, sizeof(big), "x"), "initrd");
	cr_assert_not_null(strstr(err, "-m"), "%s", err);
}

Test(bzimage, initrd_above_kernel_only)
{
	/* Fits in RAM, but only over init_size (16 MiB + 8 MiB = 24 MiB). */
	put32(img + 0x22C, 24 * MiB + 2048);
	expect_error(load_with(initrd, sizeof(initrd), "x"), "does not fit");
}

Test(bzimage, initrd_empty)
{
	expect_error(load_with(initrd, 0, "x"), "empty");
}

/* --- bad images -------------------------------------------------------- */

Test(bzimage, bad_boot_flag)
{
	put16(img + 0x1FE, 0x55AA);
	expect_error(load(), "0xAA55");
}

Test(bzimage, no_hdrs)
{
	memcpy(img + 0x202, "HdrZ", 4);
	expect_error(load(), "HdrS");
}

Test(bzimage, protocol_too_old)
{
	put16(img + 0x206, 0x0205);
	expect_error(load(), "2.05 is too old");
}

Test(bzimage, zimage)
{
	img[0x211] = 0;
	expect_error(load(), "zImage");
}

Test(bzimage, sixty_four_bit)
{
	put16(img + 0x236, 0x0001 | 0x0002);   /* XLF_KERNEL_64 | above 4G */
	expect_error(load(), "64-bit");
}

Test(bzimage, xloadflags_ignored_before_2_12)
{
	put16(img + 0x206, 0x020B);
	put16(img + 0x236, 0x0001);
	cr_assert_eq(load(), 0, "%s", err);
}

Test(bzimage, truncated_header)
{
	expect_error(loader_linux(img, 0x204, NULL, 0, ram, ram_size, "",
	                          &bs, err, sizeof(err)), "truncated");
}

Test(bzimage, truncated_setup)
{
	expect_error(loader_linux(img, SETUP_BYTES, NULL, 0, ram, ram_size,
	                          "", &bs, err, sizeof(err)), "truncated");
}

Test(bzimage, truncated_kernel)
{
	expect_error(loader_linux(img, sizeof(img) - 16, NULL, 0, ram,
	                          ram_size, "", &bs, err, sizeof(err)),
	             "truncated");
}

Test(bzimage, code32_start_elsewhere)
{
	put32(img + 0x214, 0x200000);
	expect_error(load(), "code32_start");
}

Test(bzimage, ram_too_small_for_init_size)
{
	use_ram(16);     /* pref_address alone is 16 MiB */
	expect_error(load(), "try -m");
}

Test(bzimage, ram_below_minimum)
{
	use_ram(1);
	expect_error(load(), "too small");
}

Test(bzimage, cmdline_longer_than_cmdline_size)
{
	char line[100];

	put32(img + 0x238, 50);
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	expect_error(load_with(NULL, 0, line), "cmdline_size");
	line[50] = '\0';
	cr_assert_eq(load_with(NULL, 0, line), 0, "%s", err);
}

Test(bzimage, detection)
{
	uint8_t elf[600] = { 0x7F, 'E', 'L', 'F' };

	cr_assert(loader_is_linux(img, sizeof(img)));
	put16(img + 0x1FE, 0);
	cr_assert(loader_is_linux(img, sizeof(img)), "HdrS alone");
	cr_assert(!loader_is_linux(elf, sizeof(elf)));
	cr_assert(!loader_is_linux(img, 0x1FF), "too short for either");
}

/* --- through loader_load_file ----------------------------------------- */

static char tmpdir[] = "/tmp/test_loader_linux.XXXXXX";
static char kpath[80], rdpath[80];

static void write_file(const char *p, const void *data, size_t size)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, size), (ssize_t)size);
	close(fd);
}

static void files_setup(void)
{
	setup();
	strcpy(tmpdir, "/tmp/test_loader_linux.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(kpath, sizeof(kpath), "%s/vmlinuz", tmpdir);
	snprintf(rdpath, sizeof(rdpath), "%s/initrd", tmpdir);
	write_file(kpath, img, sizeof(img));
	write_file(rdpath, initrd, sizeof(initrd));
}

static void files_teardown(void)
{
	unlink(kpath);
	unlink(rdpath);
	rmdir(tmpdir);
	teardown();
}

TestSuite(bzimage_file, .init = files_setup, .fini = files_teardown);

static int load_file(const char *k, const char *rd)
{
	return loader_load_file(k, rd, ram, ram_size, "file", &bs, err,
	                        sizeof(err));
}

Test(bzimage_file, bzimage_with_initrd)
{
	cr_assert_eq(load_file(kpath, rdpath), 0, "%s", err);
	cr_assert_eq(bs.entry, 0x100000);
	cr_assert_eq(ram32(bs.esi + 0x21C), sizeof(initrd));
	cr_assert_eq(memcmp(ram + ram32(bs.esi + 0x218), initrd,
	                    sizeof(initrd)), 0);
}

Test(bzimage_file, missing_initrd_names_it)
{
	expect_error(load_file(kpath, "/nonexistent/initrd.gz"),
	             "/nonexistent/initrd.gz: cannot open");
}

Test(bzimage_file, initrd_too_big_names_it)
{
	cr_assert_eq(truncate(rdpath, 60 * MiB), 0);   /* sparse */
	expect_error(load_file(kpath, rdpath), "does not fit");
	cr_assert_eq(strncmp(err, rdpath, strlen(rdpath)), 0, "%s", err);
}

Test(bzimage_file, bad_kernel_names_it)
{
	put16(img + 0x206, 0x0203);
	write_file(kpath, img, sizeof(img));
	expect_error(load_file(kpath, NULL), "too old");
	cr_assert_eq(strncmp(err, kpath, strlen(kpath)), 0, "%s", err);
}

Test(bzimage_file, initrd_with_non_linux_kernel)
{
	write_file(kpath, "just text, no kernel here\n", 26);
	expect_error(load_file(kpath, rdpath), "--initrd needs a Linux");
}

Test(bzimage_file, neither_format)
{
	write_file(kpath, "just text, no kernel here\n", 26);
	expect_error(load_file(kpath, NULL), "bzImage");
	cr_assert_not_null(strstr(err, "multiboot"), "%s", err);
}
