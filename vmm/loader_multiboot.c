/*
 * loader_multiboot.c — multiboot v1 (spec 0.6.96) boot of an in-memory
 * kernel image into guest RAM.
 *
 * The work is split into plan and commit so that bad input never
 * half-loads: first the image is parsed into a short list of segments
 * (from the ELF32 program headers, or, for a non-ELF image, from the
 * a.out-kludge address fields of the multiboot header), every segment and
 * the entry point are checked against the file and against RAM, and a
 * spot for the information structure is chosen; only then is guest RAM
 * written.
 *
 * As in GRUB legacy, an ELF image is loaded from its program headers even
 * when header flag bit 16 is set; the address fields are used only for
 * images that are not ELF.
 *
 * The information structure always carries MEM, CMDLINE, MMAP and
 * BOOT_LOADER_NAME.  A NULL command line is passed as an empty string
 * rather than by clearing the CMDLINE flag: kernels commonly read
 * mbi->cmdline without testing the flag, and "" is what they would parse
 * anyway.
 *
 * Every failure writes one line into err and returns -1; nothing is
 * printed here.  All address arithmetic is 64-bit so that a segment
 * cannot wrap past 4 GiB into low memory.
 *
 * Guest RAM must be at least 1 MiB (all of conventional memory present)
 * and at most 4 GiB.  No global state.
 */
#include <elf.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/loader.h"
#include "vmm/loader_impl.h"

#define MB_SEARCH_LIMIT  8192u   /* header must lie in the first 8 KiB */
#define MB_HDR_SIZE      12u     /* magic, flags, checksum */
#define MB_HDR_AOUT_SIZE 32u     /* ... plus the five address fields */

/* Header flag bits (spec 3.1.2).  Bits 0-15 are required: a loader that
 * cannot honour one must refuse the image. */
#define MB_FLAG_PAGE_ALIGN 0x00000001u /* ELF segments land at p_paddr */
#define MB_FLAG_MEMORY     0x00000002u /* always provided */
#define MB_FLAG_VIDEO      0x00000004u /* best effort: ignored */
#define MB_FLAG_AOUT       0x00010000u
#define MB_FLAGS_HONOURED  (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY | MB_FLAG_VIDEO)

/* Information structure flags (spec 3.3). */
#define MBI_MEM         (1u << 0)
#define MBI_CMDLINE     (1u << 2)
#define MBI_MMAP        (1u << 6)
#define MBI_LOADER_NAME (1u << 9)

#define MB_MMAP_AVAILABLE 1u
#define MB_MMAP_RESERVED  2u

/* The low-memory window the information structure may occupy: above the
 * real-mode IVT/BDA page, below the EBDA. */
#define INFO_LOW   0x1000u
#define LOWMEM_END 0x9FC00u
#define BIOS_START 0xF0000u
#define HIGHMEM    0x100000u

#define MAX_SEGMENTS 32

/* The selectors of the flat boot segments (any will do: spec 3.2). */
#define MB_BOOT_CS 0x08
#define MB_BOOT_DS 0x10

struct mb_info {                      /* spec 3.3, 0.6.96 layout */
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr;
	uint32_t config_table, boot_loader_name, apm_table;
	uint32_t vbe_control_info, vbe_mode_info;
	uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off;
	uint16_t vbe_interface_len;
};
_Static_assert(sizeof(struct mb_info) == 88, "multiboot info layout");

struct mb_mmap_entry {                /* size excludes itself: 20 */
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb_mmap_entry) == 24, "mmap entry layout");

#define MMAP_ENTRIES 4
static const char loader_name[] = "popek";

/* One piece of guest RAM to fill: filesz bytes from src, then zeroes up
 * to memsz. */
struct segment {
	uint64_t addr, filesz, memsz;
	const uint8_t *src;
};

struct plan {
	struct segment seg[MAX_SEGMENTS];
	int nseg;
	uint64_t entry;
	uint64_t info_addr, info_size;
};

/* The image being loaded and where to report. */
struct image {
	const uint8_t *buf;
	size_t size;
	uint64_t ram_size;
	char *err;
	size_t errlen;
};

/* --- multiboot header --------------------------------------------------- */

/* Offset of the multiboot header, or -1.  A magic with a bad checksum is
 * remembered so that the error can say so rather than "no header". */
static long find_header(const struct image *im)
{
	size_t limit = im->size < MB_SEARCH_LIMIT ? im->size : MB_SEARCH_LIMIT;
	long bad = -1;

	for (size_t off = 0; off + MB_HDR_SIZE <= limit; off += 4) {
		const uint8_t *h = im->buf + off;

		if (get32(h) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if ((uint32_t)(get32(h) + get32(h + 4) + get32(h + 8)) == 0)
			return (long)off;
		if (bad < 0)
			bad = (long)off;
	}
	if (bad >= 0)
		return fail(im, "multiboot header at offset %#lx has a bad "
		            "checksum (magic + flags + checksum != 0)",
		            (unsigned long)bad);
	return fail(im, "no multiboot header (magic 0x1BADB002) in the "
	            "first %u bytes", MB_SEARCH_LIMIT);
}

static int check_required_flags(const struct image *im, uint32_t flags)
{
	uint32_t missing = flags & 0xFFFFu & ~MB_FLAGS_HONOURED;

	if (missing == 0)
		return 0;
	return fail(im, "multiboot header requires feature bit %d "
	            "(flags %#x), which popek does not support",
	            __builtin_ctz(missing), flags);
}

/* --- ELF32 -------------------------------------------------------------- */

static bool is_elf(const struct image *im)
{
	return im->size >= SELFMAG && memcmp(im->buf, ELFMAG, SELFMAG) == 0;
}

/* Copy out and check the ELF header of an image that has the ELF magic. */
static int read_elf_header(const struct image *im, Elf32_Ehdr *eh)
{
	if (im->size < sizeof(*eh))
		return fail(im, "truncated ELF header (%zu bytes)", im->size);
	memcpy(eh, im->buf, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] == ELFCLASS64)
		return fail(im, "64-bit ELF (ELF64) image; popek boots 32-bit "
		            "(ELFCLASS32) multiboot kernels");
	if (eh->e_ident[EI_CLASS] != ELFCLASS32)
		return fail(im, "ELF class %u is not ELFCLASS32",
		            eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(im, "ELF image is not little-endian (ELFDATA2LSB)");
	if (eh->e_machine != EM_386)
		return fail(im, "ELF machine %u is not i386 (EM_386)",
		            eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return fail(im, "ELF type %u is not an executable (ET_EXEC)%s",
		            eh->e_type, eh->e_type == ET_DYN ?
		            "; ET_DYN (PIE/shared) is not bootable" : "");
	return 0;
}

/* The program header table must lie inside the file. */
static int check_phdr_table(const struct image *im, const Elf32_Ehdr *eh)
{
	if (eh->e_phnum == 0)
		return fail(im, "ELF image has no program headers");
	if (eh->e_phentsize < sizeof(Elf32_Phdr))
		return fail(im, "ELF program header size %u is too small",
		            eh->e_phentsize);
	if ((uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * eh->e_phentsize >
	    im->size)
		return fail(im, "ELF program headers (offset %#x, %u x %u "
		            "bytes) lie outside the file (%zu bytes)",
		            eh->e_phoff, eh->e_phnum, eh->e_phentsize, im->size);
	return 0;
}

/* Turn one PT_LOAD header into a segment, checking it against the file. */
static int elf_segment(const struct image *im, int i, const Elf32_Phdr *ph,
                       struct plan *p)
{
	if (ph->p_filesz > ph->p_memsz)
		return fail(im, "ELF segment %d: filesz %#x > memsz %#x",
		            i, ph->p_filesz, ph->p_memsz);
	if ((uint64_t)ph->p_offset + ph->p_filesz > im->size)
		return fail(im, "ELF segment %d: file bytes [%#x, +%#x) lie "
		            "past the end of the file (%zu bytes)",
		            i, ph->p_offset, ph->p_filesz, im->size);
	if (p->nseg == MAX_SEGMENTS)
		return fail(im, "ELF image has more than %d loadable segments",
		            MAX_SEGMENTS);
	p->seg[p->nseg++] = (struct segment){
		.addr = ph->p_paddr, .filesz = ph->p_filesz,
		.memsz = ph->p_memsz, .src = im->buf + ph->p_offset,
	};
	return 0;
}

/* e_entry is normally a physical address inside a segment; a kernel
 * linked higher-half may give a virtual one, translated as GRUB 2 does. */
static int elf_entry(const struct image *im, const Elf32_Ehdr *eh,
                     const Elf32_Phdr *phs, int nph, struct plan *p)
{
	for (int i = 0; i < p->nseg; i++)
		if (eh->e_entry >= p->seg[i].addr &&
		    eh->e_entry < p->seg[i].addr + p->seg[i].memsz) {
			p->entry = eh->e_entry;
			return 0;
		}
	for (int i = 0; i < nph; i++) {
		const Elf32_Phdr *ph = &phs[i];

		if (ph->p_type == PT_LOAD && eh->e_entry >= ph->p_vaddr &&
		    (uint64_t)eh->e_entry < (uint64_t)ph->p_vaddr + ph->p_memsz) {
			p->entry = eh->e_entry - ph->p_vaddr + ph->p_paddr;
			return 0;
		}
	}
	return fail(im, "ELF entry point %#x is not inside a loaded segment",
	            eh->e_entry);
}

static int plan_elf(const struct image *im, const Elf32_Ehdr *eh,
                    struct plan *p)
{
	Elf32_Phdr phs[MAX_SEGMENTS];
	int nph = 0;

	if (check_phdr_table(im, eh) < 0)
		return -1;
	for (int i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, im->buf + eh->e_phoff + (size_t)i * eh->e_phentsize,
		       sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (elf_segment(im, i, &ph, p) < 0)
			return -1;
		phs[nph++] = ph;
	}
	if (p->nseg == 0)
		return fail(im, "ELF image has no loadable (PT_LOAD) segment");
	return elf_entry(im, eh, phs, nph, p);
}

/* --- a.out kludge (header flag bit 16, non-ELF images) ----------------- */

static int plan_aout(const struct image *im, long hoff, struct plan *p)
{
	const uint8_t *h = im->buf + hoff;
	uint32_t header_addr = get32(h + 12), load_addr = get32(h + 16);
	uint32_t load_end = get32(h + 20), bss_end = get32(h + 24);
	uint32_t entry = get32(h + 28);
	uint64_t foff, filesz, end;

	if ((uint64_t)hoff + MB_HDR_AOUT_SIZE > MB_SEARCH_LIMIT ||
	    (uint64_t)hoff + MB_HDR_AOUT_SIZE > im->size)
		return fail(im, "multiboot address fields (flag bit 16) lie "
		            "past the first %u bytes or the file",
		            MB_SEARCH_LIMIT);
	if (load_addr > header_addr || header_addr - load_addr > (uint64_t)hoff)
		return fail(im, "multiboot load_addr %#x / header_addr %#x "
		            "place the image before the start of the file",
		            load_addr, header_addr);
	foff = (uint64_t)hoff - (header_addr - load_addr);
	if (load_end == 0)
		filesz = im->size - foff;
	else if (load_end < load_addr || foff + (load_end - load_addr) > im->size)
		return fail(im, "multiboot load_end_addr %#x lies past the end "
		            "of the file or before load_addr", load_end);
	else
		filesz = load_end - load_addr;
	end = load_addr + filesz;
	if (bss_end != 0 && bss_end < end)
		return fail(im, "multiboot bss_end_addr %#x lies before the "
		            "end of the loaded image (%#llx)", bss_end,
		            (unsigned long long)end);
	p->seg[p->nseg++] = (struct segment){
		.addr = load_addr, .filesz = filesz,
		.memsz = bss_end ? bss_end - load_addr : filesz,
		.src = im->buf + foff,
	};
	if (entry < load_addr || entry >= load_addr + p->seg[0].memsz)
		return fail(im, "multiboot entry_addr %#x is not inside the "
		            "loaded image", entry);
	p->entry = entry;
	return 0;
}

/* --- planning against RAM --------------------------------------------- */

/* Segments must lie in RAM that the memory map reports as available: not
 * past its end, not in the hole below 1 MiB. */
static int check_segments_in_ram(const struct image *im, const struct plan *p)
{
	for (int i = 0; i < p->nseg; i++) {
		const struct segment *s = &p->seg[i];
		uint64_t end = s->addr + s->memsz;

		if (end > (1ull << 32))
			return fail(im, "segment [%#llx, +%#llx) wraps past 4 GiB",
			            (unsigned long long)s->addr,
			            (unsigned long long)s->memsz);
		if (end > im->ram_size)
			return fail(im, "segment [%#llx, %#llx) lies outside "
			            "guest RAM (%llu KiB); try a larger -m",
			            (unsigned long long)s->addr,
			            (unsigned long long)end,
			            (unsigned long long)(im->ram_size >> 10));
		if (s->addr < HIGHMEM && end > LOWMEM_END)
			return fail(im, "segment [%#llx, %#llx) overlaps the "
			            "reserved area [%#x, %#x) (EBDA, video, BIOS)",
			            (unsigned long long)s->addr,
			            (unsigned long long)end, LOWMEM_END, HIGHMEM);
	}
	return 0;
}

static uint64_t info_size(const char *cmdline)
{
	return sizeof(struct mb_info) + MMAP_ENTRIES *
	       sizeof(struct mb_mmap_entry) + sizeof(loader_name) +
	       strlen(cmdline) + 1;
}

/* First 16-byte aligned spot at or above INFO_LOW, below the EBDA and
 * inside RAM, that no segment overlaps.  Each overlap moves the candidate
 * strictly upwards, so the loop ends. */
static int place_info(const struct image *im, struct plan *p)
{
	uint64_t at = INFO_LOW;
	bool moved = true;

	while (moved) {
		moved = false;
		if (at + p->info_size > LOWMEM_END)
			return fail(im, "no room for the multiboot information "
			            "(%llu bytes) in low memory below %#x: the "
			            "kernel or command line fills it",
			            (unsigned long long)p->info_size, LOWMEM_END);
		for (int i = 0; i < p->nseg; i++) {
			const struct segment *s = &p->seg[i];

			if (at < s->addr + s->memsz && s->addr < at + p->info_size) {
				at = (s->addr + s->memsz + 15) & ~15ull;
				moved = true;
			}
		}
	}
	p->info_addr = at;
	return 0;
}

/* --- commit ------------------------------------------------------------ */

static void copy_segments(const struct plan *p, uint8_t *ram)
{
	for (int i = 0; i < p->nseg; i++) {
		const struct segment *s = &p->seg[i];

		memcpy(ram + s->addr, s->src, s->filesz);
		memset(ram + s->addr + s->filesz, 0, s->memsz - s->filesz);
	}
}

static void build_mmap(struct mb_mmap_entry *e, uint64_t ram_size)
{
	e[0] = (struct mb_mmap_entry){ 20, 0, LOWMEM_END, MB_MMAP_AVAILABLE };
	e[1] = (struct mb_mmap_entry){ 20, LOWMEM_END, 0xA0000 - LOWMEM_END,
	                               MB_MMAP_RESERVED };
	e[2] = (struct mb_mmap_entry){ 20, BIOS_START, HIGHMEM - BIOS_START,
	                               MB_MMAP_RESERVED };
	e[3] = (struct mb_mmap_entry){ 20, HIGHMEM, ram_size - HIGHMEM,
	                               MB_MMAP_AVAILABLE };
}

/* Layout at info_addr: struct mb_info, memory map, loader name, cmdline.
 * RAM is at least 1 MiB, so all of low memory exists; the last map entry
 * is left out when there is nothing above 1 MiB. */
static void write_info(const struct plan *p, uint8_t *ram, uint64_t ram_size,
                       const char *cmdline)
{
	struct mb_mmap_entry mmap[MMAP_ENTRIES];
	uint32_t base = (uint32_t)p->info_addr;
	uint32_t mmap_at = base + sizeof(struct mb_info);
	uint32_t name_at = mmap_at + sizeof(mmap);
	uint32_t cmd_at = name_at + sizeof(loader_name);
	int nmmap = ram_size > HIGHMEM ? MMAP_ENTRIES : MMAP_ENTRIES - 1;
	struct mb_info mbi = {
		.flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME,
		.mem_lower = LOWMEM_END >> 10,
		.mem_upper = ram_size > HIGHMEM ?
		             (uint32_t)((ram_size - HIGHMEM) >> 10) : 0,
		.cmdline = cmd_at,
		.mmap_length = nmmap * (uint32_t)sizeof(mmap[0]),
		.mmap_addr = mmap_at,
		.boot_loader_name = name_at,
	};

	build_mmap(mmap, ram_size);
	memset(ram + base, 0, p->info_size);
	memcpy(ram + base, &mbi, sizeof(mbi));
	memcpy(ram + mmap_at, mmap, nmmap * sizeof(mmap[0]));
	memcpy(ram + name_at, loader_name, sizeof(loader_name));
	memcpy(ram + cmd_at, cmdline, strlen(cmdline) + 1);
}

/* ELF identity first ("64-bit ELF" says more than "no multiboot
 * header"), then the multiboot header (a plain i386 executable is told it
 * lacks one), then the program headers. */
static int plan_image(const struct image *im, struct plan *p)
{
	Elf32_Ehdr eh;
	bool elf = is_elf(im);
	long hoff;
	uint32_t flags;

	if (elf && read_elf_header(im, &eh) < 0)
		return -1;
	if ((hoff = find_header(im)) < 0)
		return -1;
	flags = get32(im->buf + hoff + 4);
	if (check_required_flags(im, flags) < 0)
		return -1;
	if (elf)
		return plan_elf(im, &eh, p);
	if (flags & MB_FLAG_AOUT)
		return plan_aout(im, hoff, p);
	return fail(im, "not an ELF image, and its multiboot header gives no "
	            "load addresses (flag bit 16)");
}

int loader_multiboot(const uint8_t *buf, size_t size, uint8_t *ram,
                     uint64_t ram_size, const char *cmdline,
                     struct boot_state *out, char *err, size_t errlen)
{
	struct image im = { buf, size, ram_size, err, errlen };
	struct plan p = { .nseg = 0 };

	if (cmdline == NULL)
		cmdline = "";
	if (ram_size > (1ull << 32))
		return fail(&im, "guest RAM of %llu MiB exceeds 4 GiB",
		            (unsigned long long)(ram_size >> 20));
	if (ram_size < HIGHMEM)
		return fail(&im, "guest RAM of %llu KiB is below the 1 MiB "
		            "minimum", (unsigned long long)(ram_size >> 10));
	if (plan_image(&im, &p) < 0 || check_segments_in_ram(&im, &p) < 0)
		return -1;
	p.info_size = info_size(cmdline);
	if (place_info(&im, &p) < 0)
		return -1;
	copy_segments(&p, ram);
	write_info(&p, ram, ram_size, cmdline);
	*out = (struct boot_state){
		.entry = (uint32_t)p.entry,
		.eax = MULTIBOOT_BOOTLOADER_MAGIC,
		.ebx = (uint32_t)p.info_addr,
		.cs = MB_BOOT_CS, .ds = MB_BOOT_DS,  /* spec 3.2: GDTR undefined */
	};
	return 0;
}
