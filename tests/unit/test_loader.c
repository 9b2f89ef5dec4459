/*
 * test_loader.c — unit tests of the multiboot loader (vmm/loader_*.c).
 *
 * Each test assembles a minimal valid multiboot ELF32 image in memory
 * (struct test_image: ELF header, two PT_LOAD program headers, the
 * multiboot header, a text and a data payload), corrupts one field, and
 * checks both the return value and a keyword of the one-line error.
 * Guest RAM is pre-filled with 0xAA so that zeroed bss is visible and so
 * that a failed load can be shown to have written nothing.
 */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/loader.h"

#define MiB (1ull << 20)
#define TEXT_PADDR 0x100000u
#define DATA_PADDR 0x200000u
#define TEXT_MEMSZ 0x1000u
#define ENTRY      (TEXT_PADDR + 0x10)
#define FILL       0xAA

struct test_image {
	Elf32_Ehdr eh;
	Elf32_Phdr ph[2];
	uint32_t mbh[3];
	uint8_t text[256];
	uint8_t data[16];
};

static struct test_image img;
static uint8_t *ram;
static uint64_t ram_size;
static struct boot_state bs;
static char err[512];

static void set_mb_flags(uint32_t flags)
{
	img.mbh[0] = MULTIBOOT_HEADER_MAGIC;
	img.mbh[1] = flags;
	img.mbh[2] = -(MULTIBOOT_HEADER_MAGIC + flags);
}

static void set_load(int i, uint32_t off, uint32_t paddr, uint32_t filesz,
                     uint32_t memsz)
{
	img.ph[i] = (Elf32_Phdr){
		.p_type = PT_LOAD, .p_offset = off, .p_vaddr = paddr,
		.p_paddr = paddr, .p_filesz = filesz, .p_memsz = memsz,
		.p_flags = PF_R | PF_W | PF_X, .p_align = 16,
	};
}

static void build_image(void)
{
	memset(&img, 0, sizeof(img));
	memcpy(img.eh.e_ident, ELFMAG, SELFMAG);
	img.eh.e_ident[EI_CLASS] = ELFCLASS32;
	img.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	img.eh.e_ident[EI_VERSION] = EV_CURRENT;
	img.eh.e_type = ET_EXEC;
	img.eh.e_machine = EM_386;
	img.eh.e_version = EV_CURRENT;
	img.eh.e_entry = ENTRY;
	img.eh.e_phoff = offsetof(struct test_image, ph);
	img.eh.e_ehsize = sizeof(Elf32_Ehdr);
	img.eh.e_phentsize = sizeof(Elf32_Phdr);
	img.eh.e_phnum = 2;
	set_load(0, offsetof(struct test_image, text), TEXT_PADDR,
	         sizeof(img.text), TEXT_MEMSZ);
	set_load(1, offsetof(struct test_image, data), DATA_PADDR,
	         sizeof(img.data), sizeof(img.data));
	set_mb_flags(0x3);
	for (size_t i = 0; i < sizeof(img.text); i++)
		img.text[i] = (uint8_t)(i ^ 0x5A);
	memcpy(img.data, "popek-data-seg!", 16);
}

/* Anonymous and unreserved: even 3 GiB only costs the pages touched. */
static void use_ram(uint64_t size)
{
	if (ram)
		munmap(ram, ram_size);
	ram_size = size;
	ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(ram, MAP_FAILED);
	memset(ram, FILL, 4 * MiB < size ? 4 * MiB : size);
}

static void setup(void)
{
	build_image();
	use_ram(4 * MiB);
	memset(&bs, 0, sizeof(bs));
	err[0] = '\0';
}

static void teardown(void)
{
	munmap(ram, ram_size);
	ram = NULL;
}

TestSuite(loader, .init = setup, .fini = teardown);

static int load_buf(const void *buf, size_t size, const char *cmdline)
{
	return loader_multiboot(buf, size, ram, ram_size, cmdline, &bs,
	                        err, sizeof(err));
}

static int load(void)
{
	return load_buf(&img, sizeof(img), "status=5 x=y");
}

static bool ram_untouched(void)
{
	for (uint64_t a = 0; a < 4 * MiB && a < ram_size; a++)
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

static void expect_fail(const char *keyword)
{
	expect_error(load(), keyword);
}

static uint32_t ram32(uint32_t addr)
{
	uint32_t v;

	memcpy(&v, ram + addr, sizeof(v));
	return v;
}

static uint64_t ram64(uint32_t addr)
{
	uint64_t v;

	memcpy(&v, ram + addr, sizeof(v));
	return v;
}

/* Memory map entry i: size field 20, then base, length, type. */
static void expect_mmap(uint32_t i, uint64_t base, uint64_t len, uint32_t type)
{
	uint32_t e = ram32(bs.ebx + 48) + i * 24;

	cr_assert_eq(ram32(e), 20, "mmap[%u].size", i);
	cr_assert_eq(ram64(e + 4), base, "mmap[%u].base_addr", i);
	cr_assert_eq(ram64(e + 12), len, "mmap[%u].length", i);
	cr_assert_eq(ram32(e + 20), type, "mmap[%u].type", i);
}

/* --- valid images ------------------------------------------------------- */

Test(loader, valid_image_loads_segments)
{
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(bs.entry, ENTRY);
	cr_assert_eq(bs.eax, 0x2BADB002u);
	cr_assert_eq(memcmp(ram + TEXT_PADDR, img.text, sizeof(img.text)), 0);
	for (uint32_t a = TEXT_PADDR + sizeof(img.text);
	     a < TEXT_PADDR + TEXT_MEMSZ; a++)
		cr_assert_eq(ram[a], 0, "bss byte at %#x not zeroed", a);
	cr_assert_eq(ram[TEXT_PADDR + TEXT_MEMSZ], FILL, "zeroed past memsz");
	cr_assert_str_eq((char *)ram + DATA_PADDR, "popek-data-seg!");
}

Test(loader, valid_image_info_structure)
{
	uint32_t mbi;

	cr_assert_eq(load(), 0, "%s", err);
	mbi = bs.ebx;
	cr_assert_eq(mbi, 0x1000, "info in low memory from 0x1000");
	cr_assert_eq(ram32(mbi), (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9));
	cr_assert_eq(ram32(mbi + 4), 639, "mem_lower");
	cr_assert_eq(ram32(mbi + 8), 3 * 1024, "mem_upper");
	cr_assert_str_eq((char *)ram + ram32(mbi + 16), "status=5 x=y");
	cr_assert_str_eq((char *)ram + ram32(mbi + 64), "popek");
	cr_assert_eq(ram32(mbi + 44), 4 * 24, "mmap_length");
	expect_mmap(0, 0, 0x9FC00, 1);
	expect_mmap(1, 0x9FC00, 0x400, 2);
	expect_mmap(2, 0xF0000, 0x10000, 2);
	expect_mmap(3, 0x100000, 3 * MiB, 1);
	cr_assert_eq(ram32(mbi + 20), 0, "mods_count");
}

Test(loader, null_cmdline_is_empty_string)
{
	cr_assert_eq(load_buf(&img, sizeof(img), NULL), 0, "%s", err);
	cr_assert(ram32(bs.ebx) & (1u << 2), "CMDLINE flag");
	cr_assert_str_eq((char *)ram + ram32(bs.ebx + 16), "");
}

Test(loader, one_mib_ram_has_no_upper_memory)
{
	use_ram(1 * MiB);
	set_load(0, offsetof(struct test_image, text), 0x10000,
	         sizeof(img.text), 0x100);
	set_load(1, offsetof(struct test_image, data), 0x20000, 16, 16);
	img.eh.e_entry = 0x10000;
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(ram32(bs.ebx + 8), 0, "mem_upper");
	cr_assert_eq(ram32(bs.ebx + 44), 3 * 24, "mmap_length");
	expect_mmap(2, 0xF0000, 0x10000, 2);
}

Test(loader, three_gib_ram)
{
	use_ram(3072 * MiB);
	img.ph[1].p_paddr = (uint32_t)(3072 * MiB - 16);
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(ram32(bs.ebx + 8), 3071 * 1024, "mem_upper");
	expect_mmap(3, 0x100000, 3071 * MiB, 1);
	cr_assert_str_eq((char *)ram + 3072 * MiB - 16, "popek-data-seg!");
}

Test(loader, info_avoids_a_segment_in_low_memory)
{
	img.ph[1].p_paddr = 0x1000;
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_geq(bs.ebx, 0x1010, "info placed over the segment");
	cr_assert_str_eq((char *)ram + 0x1000, "popek-data-seg!");
	cr_assert_str_eq((char *)ram + ram32(bs.ebx + 64), "popek");
}

Test(loader, elf_with_aout_flag_uses_program_headers)
{
	set_mb_flags(0x10007); /* address fields absent: garbage follows */
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(bs.entry, ENTRY);
	cr_assert_eq(memcmp(ram + TEXT_PADDR, img.text, sizeof(img.text)), 0);
}

Test(loader, virtual_entry_is_translated)
{
	img.ph[0].p_vaddr = 0xC0000000u + TEXT_PADDR;
	img.eh.e_entry = 0xC0000000u + ENTRY;
	cr_assert_eq(load(), 0, "%s", err);
	cr_assert_eq(bs.entry, ENTRY);
}

Test(loader, header_at_end_of_search_window)
{
	size_t size = 8192 + 64;
	uint8_t *buf = calloc(1, size);

	img.mbh[0] = 0;
	memcpy(buf, &img, sizeof(img));
	set_mb_flags(0x3);
	memcpy(buf + 8192 - 12, img.mbh, 12);
	cr_assert_eq(load_buf(buf, size, "x"), 0, "%s", err);
	free(buf);
}

/* --- ELF errors --------------------------------------------------------- */

Test(loader, not_elf)
{
	static const char text[] = "#!/bin/sh\necho this is no kernel\n";

	expect_error(load_buf(text, sizeof(text), NULL), "no multiboot header");
}

Test(loader, truncated_elf)
{
	expect_error(load_buf(&img, 20, NULL), "truncated");
}

Test(loader, elf64)
{
	img.eh.e_ident[EI_CLASS] = ELFCLASS64;
	expect_fail("ELF64");
}

Test(loader, big_endian)
{
	img.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	expect_fail("ELFDATA2LSB");
}

Test(loader, wrong_machine)
{
	img.eh.e_machine = EM_X86_64;
	expect_fail("EM_386");
}

Test(loader, et_dyn)
{
	img.eh.e_type = ET_DYN;
	expect_fail("ET_EXEC");
}

Test(loader, phdrs_outside_file)
{
	img.eh.e_phoff = sizeof(img) - 40;
	expect_fail("program headers");
}

Test(loader, phnum_zero)
{
	img.eh.e_phnum = 0;
	expect_fail("no program headers");
}

Test(loader, no_pt_load)
{
	img.ph[0].p_type = PT_NOTE;
	img.ph[1].p_type = PT_NOTE;
	expect_fail("PT_LOAD");
}

Test(loader, segment_outside_ram)
{
	img.ph[1].p_paddr = 4 * MiB;
	expect_fail("outside guest RAM");
}

Test(loader, segment_straddles_end_of_ram)
{
	img.ph[1].p_paddr = 4 * MiB - 8;
	expect_fail("outside guest RAM");
}

Test(loader, segment_in_reserved_area)
{
	img.ph[1].p_paddr = 0x9FC00 - 8;
	expect_fail("reserved area");
}

Test(loader, segment_in_bios_area)
{
	img.ph[1].p_paddr = 0xFFFF8;
	expect_fail("reserved area");
}

Test(loader, segment_just_below_ebda)
{
	img.ph[1].p_paddr = 0x9FC00 - 16;
	cr_assert_eq(load(), 0, "%s", err);
}

Test(loader, segment_wraps_4gib)
{
	img.ph[1].p_paddr = 0xFFFFF000u;
	img.ph[1].p_memsz = 0x2000;
	expect_fail("wraps past 4 GiB");
}

Test(loader, filesz_greater_than_memsz)
{
	img.ph[1].p_memsz = 8;
	expect_fail("filesz");
}

Test(loader, filesz_past_eof)
{
	img.ph[1].p_offset = sizeof(img) - 8;
	expect_fail("past the end of the file");
}

Test(loader, entry_outside_segments)
{
	img.eh.e_entry = 0x300000;
	expect_fail("entry point");
}

Test(loader, entry_in_gap_between_segments)
{
	img.eh.e_entry = TEXT_PADDR + TEXT_MEMSZ;
	expect_fail("entry point");
}

Test(loader, no_room_for_info)
{
	img.ph[1].p_paddr = 0;
	img.ph[1].p_memsz = 0x9FC00;
	expect_fail("no room");
}

Test(loader, ram_below_one_mib)
{
	use_ram(512 * 1024);
	expect_fail("1 MiB");
}

/* --- multiboot header errors ------------------------------------------- */

Test(loader, no_multiboot_header)
{
	img.mbh[0] = 0;
	expect_fail("no multiboot header");
}

Test(loader, multiboot_header_past_8192)
{
	size_t size = 8192 + 64;
	uint8_t *buf = calloc(1, size);

	img.mbh[0] = 0;
	memcpy(buf, &img, sizeof(img));
	set_mb_flags(0x3);
	memcpy(buf + 8192, img.mbh, 12);
	expect_error(load_buf(buf, size, NULL), "first 8192 bytes");
	free(buf);
}

Test(loader, bad_checksum)
{
	img.mbh[2]++;
	expect_fail("checksum");
}

Test(loader, unsupported_required_flag)
{
	set_mb_flags(0x3 | (1u << 3));
	expect_fail("bit 3");
}

Test(loader, unsupported_required_flag_15)
{
	set_mb_flags(1u << 15);
	expect_fail("bit 15");
}

/* --- a.out kludge (non-ELF images) ------------------------------------ */

struct flat_image {
	uint32_t mbh[8];
	uint8_t code[64];
};

static void build_flat(struct flat_image *f, uint32_t bss_end, uint32_t entry)
{
	memset(f, 0, sizeof(*f));
	f->mbh[0] = MULTIBOOT_HEADER_MAGIC;
	f->mbh[1] = 0x10003;
	f->mbh[2] = -(MULTIBOOT_HEADER_MAGIC + 0x10003);
	f->mbh[3] = 0x100000;         /* header_addr */
	f->mbh[4] = 0x100000;         /* load_addr */
	f->mbh[5] = 0;                /* load_end_addr: whole file */
	f->mbh[6] = bss_end;
	f->mbh[7] = entry;
	memset(f->code, 0x90, sizeof(f->code));
}

Test(loader, aout_kludge_flat_image)
{
	struct flat_image f;

	build_flat(&f, 0x100000 + sizeof(f) + 0x100, 0x100020);
	cr_assert_eq(load_buf(&f, sizeof(f), "flat"), 0, "%s", err);
	cr_assert_eq(bs.entry, 0x100020);
	cr_assert_eq(memcmp(ram + 0x100000, &f, sizeof(f)), 0);
	cr_assert_eq(ram[0x100000 + sizeof(f)], 0, "bss zeroed");
	cr_assert_eq(ram[0x100000 + sizeof(f) + 0xFF], 0, "bss zeroed");
	cr_assert_eq(ram[0x100000 + sizeof(f) + 0x100], FILL, "past bss");
}

Test(loader, aout_entry_outside_image)
{
	struct flat_image f;

	build_flat(&f, 0, 0x200000);
	expect_error(load_buf(&f, sizeof(f), NULL), "entry_addr");
}

Test(loader, aout_load_end_past_eof)
{
	struct flat_image f;

	build_flat(&f, 0, 0x100020);
	f.mbh[5] = 0x100000 + sizeof(f) + 1;
	expect_error(load_buf(&f, sizeof(f), NULL), "load_end_addr");
}

Test(loader, non_elf_without_address_fields)
{
	struct flat_image f;

	build_flat(&f, 0, 0x100020);
	f.mbh[1] = 0x3;
	f.mbh[2] = -(MULTIBOOT_HEADER_MAGIC + 0x3);
	expect_error(load_buf(&f, sizeof(f), NULL), "flag bit 16");
}

/* --- loader_load_file -------------------------------------------------- */

static char tmpdir[] = "/tmp/test_loader.XXXXXX";
static char path[64];

static const char *temp_file(const void *data, size_t size)
{
	int fd;

	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/kernel", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, data, size), (ssize_t)size);
	close(fd);
	return path;
}

static void remove_temp(void)
{
	unlink(path);
	rmdir(tmpdir);
}

static int load_file(const char *p)
{
	return loader_load_file(p, NULL, ram, ram_size, "file", &bs, err,
	                        sizeof(err));
}

Test(loader_file, valid_file, .init = setup, .fini = teardown)
{
	int rc = load_file(temp_file(&img, sizeof(img)));

	remove_temp();
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(bs.entry, ENTRY);
	cr_assert_str_eq((char *)ram + ram32(bs.ebx + 16), "file");
}

Test(loader_file, parse_error_names_path, .init = setup, .fini = teardown)
{
	int rc;

	img.eh.e_machine = EM_ARM;
	rc = load_file(temp_file(&img, sizeof(img)));
	remove_temp();
	expect_error(rc, "EM_386");
	cr_assert_eq(strncmp(err, path, strlen(path)), 0, "%s", err);
}

Test(loader_file, empty_file, .init = setup, .fini = teardown)
{
	int rc = load_file(temp_file("", 0));

	remove_temp();
	expect_error(rc, "empty");
	cr_assert_not_null(strstr(err, path));
}

Test(loader_file, nonexistent_path, .init = setup, .fini = teardown)
{
	expect_error(load_file("/nonexistent/popek-kernel"),
	             "No such file or directory");
	cr_assert_not_null(strstr(err, "/nonexistent/popek-kernel"));
}

Test(loader_file, directory, .init = setup, .fini = teardown)
{
	expect_error(load_file("/tmp"), "directory");
	cr_assert_not_null(strstr(err, "/tmp"));
}

Test(loader_file, device_is_not_regular, .init = setup, .fini = teardown)
{
	expect_error(load_file("/dev/null"), "not a regular file");
}

Test(loader_file, file_larger_than_ram, .init = setup, .fini = teardown)
{
	int rc;

	use_ram(1 * MiB);
	temp_file(&img, sizeof(img));
	cr_assert_eq(truncate(path, 66 * MiB), 0); /* sparse */
	rc = load_file(path);
	remove_temp();
	expect_error(rc, "too large");
}
