/*
 * loader_linux.c — the Linux/x86 32-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "32-bit Boot Protocol"; the zero page
 * is Documentation/arch/x86/zero-page.rst) for bzImages of protocol 2.06
 * or later.
 *
 * No real-mode code runs: popek plays the part of the kernel's 16-bit
 * setup and of the boot loader at once.  The protected-mode kernel (the
 * file from (setup_sects + 1) * 512 on) is copied to 1 MiB; the zero page
 * gets a copy of the setup header, the fields a loader writes
 * (type_of_loader, cmd_line_ptr, ramdisk_image/size) and an e820 map that
 * is the whole truth about guest-physical memory:
 *
 *   [0, 0x9FC00)         RAM
 *   [0x9FC00, 0xA0000)   reserved (where a BIOS keeps its EBDA)
 *   [0xA0000, 0xF0000)   not listed: the legacy VGA/option-ROM hole
 *   [0xF0000, 1 MiB)     reserved (the BIOS area)
 *   [1 MiB, RAM end)     RAM; nothing above
 *
 * Low memory holds popek's boot GDT (0x1000), the zero page (0x10000)
 * and the command line (0x20000); the initrd goes page-aligned as high
 * as it can below min(initrd_addr_max + 1, RAM end), above everything the
 * kernel needs before it reads the e820 map (its image, and init_size
 * bytes from where it will decompress itself).  heap_end_ptr stays 0 and
 * CAN_USE_HEAP clear: the heap is for the real-mode setup code, which the
 * 32-bit protocol skips.
 *
 * Power-off: an APM 1.2 BIOS with a 32-bit protected-mode interface (the
 * zero page's apm_bios_info, which the kernel's real-mode setup would
 * have filled from INT 15h AX=5303h) whose code is the few bytes of
 * apm_bios below, at 0xF0000 in the reserved BIOS area.  With acpi=off,
 * Linux's apm module (power_off=1) makes it pm_power_off, and `poweroff`
 * ends in APM Set Power State (5307h) "all devices off", which writes 0 to
 * the debug-exit port: popek ends with status 0 (docs/linux-boot.md).
 *
 * As in loader_multiboot.c, everything is checked before guest RAM is
 * written, and every failure is one line in err.  No global state.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/loader.h"
#include "vmm/loader_impl.h"

/* Setup header fields: offsets in the file and in the zero page alike
 * (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_START           0x1F1
#define HDR_SETUP_SECTS     0x1F1  /* 1: 0 means 4 */
#define HDR_SYSSIZE         0x1F4  /* 4: protected-mode size / 16 */
#define HDR_BOOT_FLAG       0x1FE  /* 2: 0xAA55 */
#define HDR_JUMP            0x200  /* 2: EB xx, header ends at 0x202 + xx */
#define HDR_HEADER          0x202  /* 4: "HdrS" */
#define HDR_VERSION         0x206  /* 2 */
#define HDR_TYPE_OF_LOADER  0x210  /* 1 */
#define HDR_LOADFLAGS       0x211  /* 1 */
#define HDR_CODE32_START    0x214  /* 4 */
#define HDR_RAMDISK_IMAGE   0x218  /* 4 */
#define HDR_RAMDISK_SIZE    0x21C  /* 4 */
#define HDR_CMD_LINE_PTR    0x228  /* 4, 2.02+ */
#define HDR_INITRD_ADDR_MAX 0x22C  /* 4, 2.03+: highest byte */
#define HDR_KERNEL_ALIGN    0x230  /* 4, 2.05+ */
#define HDR_RELOCATABLE     0x234  /* 1, 2.05+ */
#define HDR_XLOADFLAGS      0x236  /* 2, 2.12+ */
#define HDR_CMDLINE_SIZE    0x238  /* 4, 2.06+: without the NUL */
#define HDR_PREF_ADDRESS    0x258  /* 8, 2.10+ */
#define HDR_INIT_SIZE       0x260  /* 4, 2.10+ */

#define HDRS_MAGIC      0x53726448u  /* "HdrS" */
#define BOOT_FLAG_MAGIC 0xAA55u
#define PROTOCOL_MIN    0x0206u
#define LOADED_HIGH     0x01u
#define XLF_KERNEL_64   0x0001u
#define LOADER_UNDEFINED 0xFFu       /* type_of_loader: no assigned id */

/* Zero page fields outside the setup header (zero-page.rst). */
#define BP_APM_BIOS     0x040  /* struct apm_bios_info */
#define BP_ALT_MEM_K    0x1E0
#define BP_E820_ENTRIES 0x1E8
#define BP_HDR_LIMIT    0x290  /* edd_mbr_sig_buffer: the header ends before */
#define BP_E820_TABLE   0x2D0  /* 128 x struct boot_e820_entry */
#define BP_SIZE         0x1000

#define E820_RAM      1u
#define E820_RESERVED 2u

/* Where popek puts things (guest-physical). */
#define BOOT_GDT      0x1000u
#define ZERO_PAGE     0x10000u
#define CMDLINE_AT    0x20000u
#define LOWMEM_END    0x9FC00u
#define BIOS_START    0xF0000u
#define HIGHMEM       0x100000u  /* bzImages load here */
#define PAGE          0x1000u

#define BOOT_CS 0x10  /* __BOOT_CS */
#define BOOT_DS 0x18  /* __BOOT_DS */
#define GDT_ENTRIES 4

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct e820_entry) == 20, "boot_e820_entry layout");

#define E820_COUNT 4

/* What the header says and where everything goes. */
struct plan {
	uint16_t version;
	uint32_t hdr_end;       /* one past the setup header's last byte */
	uint32_t setup_size;    /* boot sector + setup: (setup_sects + 1) * 512 */
	uint32_t pm_size;       /* the protected-mode kernel */
	uint64_t kernel_end;    /* what the kernel needs before reading e820 */
	uint64_t initrd_addr;
};

struct image {
	const uint8_t *buf;
	size_t size;
	const uint8_t *initrd;
	size_t initrd_size;
	uint64_t ram_size;
	const char *cmdline;
	char *err;
	size_t errlen;
};

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return a ? (v + a - 1) / a * a : v;
}

bool loader_is_linux(const uint8_t *buf, size_t size)
{
	return (size >= HDR_BOOT_FLAG + 2 &&
	        get16(buf + HDR_BOOT_FLAG) == BOOT_FLAG_MAGIC) ||
	       (size >= HDR_HEADER + 4 && get32(buf + HDR_HEADER) == HDRS_MAGIC);
}

/* --- the setup header -------------------------------------------------- */

/* Magic, version and the flags that say what kind of kernel this is. */
static int check_identity(const struct image *im, struct plan *p)
{
	const uint8_t *b = im->buf;

	if (im->size < HDR_VERSION + 2)
		return fail(im, "truncated Linux kernel image (%zu bytes): the "
		            "setup header lies at 0x1F1-0x290", im->size);
	if (get16(b + HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC)
		return fail(im, "no boot flag 0xAA55 at offset 0x1FE: not a "
		            "Linux kernel image");
	if (get32(b + HDR_HEADER) != HDRS_MAGIC)
		return fail(im, "no \"HdrS\" signature at offset 0x202: a Linux "
		            "kernel older than boot protocol 2.00; popek needs a "
		            "bzImage of protocol 2.06 or later");
	p->version = get16(b + HDR_VERSION);
	if (p->version < PROTOCOL_MIN)
		return fail(im, "Linux boot protocol %u.%02u is too old: popek "
		            "needs 2.06 or later", p->version >> 8,
		            p->version & 0xFF);
	p->hdr_end = HDR_JUMP + 2 + b[HDR_JUMP + 1];
	if (p->hdr_end > BP_HDR_LIMIT)
		p->hdr_end = BP_HDR_LIMIT;
	if (p->hdr_end < HDR_CMDLINE_SIZE + 4 || im->size < p->hdr_end)
		return fail(im, "truncated or malformed setup header (ends at "
		            "%#x, file of %zu bytes)", p->hdr_end, im->size);
	if (!(b[HDR_LOADFLAGS] & LOADED_HIGH))
		return fail(im, "a zImage (loadflags LOADED_HIGH clear: loaded "
		            "at 0x10000); popek boots bzImages only");
	if (p->version >= 0x020C && p->hdr_end >= HDR_XLOADFLAGS + 2 &&
	    (get16(b + HDR_XLOADFLAGS) & XLF_KERNEL_64))
		return fail(im, "a 64-bit (x86-64) Linux kernel (xloadflags "
		            "XLF_KERNEL_64); popek runs 32-bit guests only");
	return 0;
}

/* Where the protected-mode kernel lies in the file and where it goes. */
static int check_layout(const struct image *im, struct plan *p)
{
	const uint8_t *b = im->buf;
	unsigned sects = b[HDR_SETUP_SECTS] ? b[HDR_SETUP_SECTS] : 4;
	uint64_t syssize = (uint64_t)get32(b + HDR_SYSSIZE) * 16;
	uint32_t code32 = get32(b + HDR_CODE32_START);

	p->setup_size = (sects + 1) * 512u;
	if (im->size <= p->setup_size)
		return fail(im, "truncated Linux kernel image: %zu bytes, but "
		            "the setup code alone takes %u", im->size,
		            p->setup_size);
	p->pm_size = (uint32_t)(im->size - p->setup_size);
	if (syssize > p->pm_size)
		return fail(im, "truncated Linux kernel image: the header says "
		            "the protected-mode kernel is %llu bytes, the file "
		            "holds %u", (unsigned long long)syssize, p->pm_size);
	if (code32 != HIGHMEM)
		return fail(im, "code32_start %#x: popek loads bzImages at 1 MiB "
		            "(0x100000) only", code32);
	return 0;
}

/* The kernel decompresses itself to a place of its own choosing: at
 * least pref_address (a relocatable one: 1 MiB aligned up to
 * kernel_alignment, but never below its compiled-in address, which
 * protocol 2.10 exports as pref_address), and needs init_size bytes from
 * there before it reads the e820 map. */
static int check_ram(const struct image *im, struct plan *p)
{
	const uint8_t *b = im->buf;
	uint64_t start = HIGHMEM, need;

	p->kernel_end = HIGHMEM + (uint64_t)p->pm_size;
	if (p->version >= 0x020A && p->hdr_end >= HDR_INIT_SIZE + 4) {
		uint64_t pref = get64(b + HDR_PREF_ADDRESS);

		if (b[HDR_RELOCATABLE])
			start = align_up(HIGHMEM, get32(b + HDR_KERNEL_ALIGN));
		if (pref > start)
			start = pref;
		need = start + get32(b + HDR_INIT_SIZE);
		if (need > p->kernel_end)
			p->kernel_end = need;
	}
	if (p->kernel_end > im->ram_size)
		return fail(im, "the kernel needs guest RAM up to %#llx (%llu MiB) "
		            "to decompress itself; try -m %llu",
		            (unsigned long long)p->kernel_end,
		            (unsigned long long)(p->kernel_end >> 20),
		            (unsigned long long)((p->kernel_end >> 20) + 64));
	return 0;
}

static int check_cmdline(const struct image *im)
{
	size_t len = strlen(im->cmdline);
	uint32_t max = get32(im->buf + HDR_CMDLINE_SIZE);

	if (len > max)
		return fail(im, "command line of %zu bytes is longer than the "
		            "kernel's cmdline_size (%u)", len, max);
	if (len >= LOWMEM_END - CMDLINE_AT)
		return fail(im, "command line of %zu bytes does not fit in low "
		            "memory", len);
	return 0;
}

/* As high as possible, page-aligned, below both initrd_addr_max and the
 * end of RAM, above what the kernel needs. */
static int place_initrd(const struct image *im, struct plan *p)
{
	uint64_t top = (uint64_t)get32(im->buf + HDR_INITRD_ADDR_MAX) + 1;
	uint64_t low = align_up(p->kernel_end, PAGE);

	if (im->initrd == NULL)
		return 0;
	if (im->initrd_size == 0)
		return fail(im, "initrd is empty");
	if (top > im->ram_size)
		top = im->ram_size;
	top &= ~(uint64_t)(PAGE - 1);
	if (im->initrd_size > top || ((top - im->initrd_size) & ~(uint64_t)
	    (PAGE - 1)) < low)
		return fail(im, "initrd of %zu bytes does not fit between the "
		            "kernel's end (%#llx) and %#llx; try a larger -m",
		            im->initrd_size, (unsigned long long)low,
		            (unsigned long long)top);
	p->initrd_addr = (top - im->initrd_size) & ~(uint64_t)(PAGE - 1);
	return 0;
}

/* --- commit ------------------------------------------------------------ */

static void write_e820(uint8_t *bp, uint64_t ram_size)
{
	const struct e820_entry map[E820_COUNT] = {
		{ 0, LOWMEM_END, E820_RAM },
		{ LOWMEM_END, 0xA0000 - LOWMEM_END, E820_RESERVED },
		{ BIOS_START, HIGHMEM - BIOS_START, E820_RESERVED },
		{ HIGHMEM, ram_size - HIGHMEM, E820_RAM },
	};

	memcpy(bp + BP_E820_TABLE, map, sizeof(map));
	bp[BP_E820_ENTRIES] = E820_COUNT;
	put32(bp + BP_ALT_MEM_K, (uint32_t)((ram_size - HIGHMEM) >> 10));
}

/* The APM BIOS at 0xF000:0000 (apm_bios_info: version 1.2, 32-bit
 * support; code, 16-bit code and data segment 0xF000, 64 KiB each).  The
 * kernel far-calls the entry (lcall to its APM_CS, based at __va(0xF0000))
 * at CPL 0 with the function in AX and the data segments null; the result
 * is CF and AH (APM 1.2, "Error codes"), returned by a 32-bit lret. */
#define APM_VERSION     0x0102u
#define APM_32BIT       0x0002u
#define APM_SEG         0xF000u
static const uint8_t apm_bios[] = {
	0x66, 0x3d, 0x07, 0x53,         /* cmp $0x5307,%ax   set power state */
	0x74, 0x42,                     /* je setstate */
	0x66, 0x3d, 0x0e, 0x53,         /* cmp $0x530e,%ax   driver version */
	0x74, 0x22,                     /* je version */
	0x66, 0x3d, 0x0a, 0x53,         /* cmp $0x530a,%ax   power status */
	0x74, 0x22,                     /* je status */
	0x66, 0x3d, 0x0b, 0x53,         /* cmp $0x530b,%ax   get PM event */
	0x74, 0x2c,                     /* je noevent */
	0x66, 0x3d, 0x05, 0x53,         /* cmp $0x5305,%ax   CPU idle */
	0x74, 0x3c,                     /* je unsupported */
	0x66, 0x3d, 0x01, 0x53,         /* cmp $0x5301,%ax */
	0x72, 0x36,                     /* jb unsupported */
	0x66, 0x3d, 0x0f, 0x53,         /* cmp $0x530f,%ax */
	0x77, 0x30,                     /* ja unsupported */
	0x30, 0xe4, 0xf8, 0xcb,         /* xor %ah,%ah; clc; lret  (5301-530f) */
	/* version: */
	0x66, 0xb8, 0x02, 0x01,         /* mov $0x0102,%ax */
	0xf8, 0xcb,                     /* clc; lret */
	/* status: AC on line, no system battery, everything else unknown */
	0x66, 0xbb, 0xff, 0x01,         /* mov $0x01ff,%bx */
	0x66, 0xb9, 0xff, 0x80,         /* mov $0x80ff,%cx */
	0x66, 0xba, 0xff, 0xff,         /* mov $0xffff,%dx */
	0x30, 0xe4, 0xf8, 0xcb,         /* xor %ah,%ah; clc; lret */
	/* noevent: */
	0xb4, 0x80, 0xf9, 0xcb,         /* mov $0x80,%ah; stc; lret */
	/* setstate: */
	0x66, 0x83, 0xf9, 0x03,         /* cmp $3,%cx        off? */
	0x75, 0x08,                     /* jne cannot */
	0xb0, 0x00,                     /* mov $0,%al */
	0xe6, 0xf4,                     /* out %al,$0xf4     debug exit, 0 */
	0xfa, 0xf4, 0xeb, 0xfd,         /* cli; 1: hlt; jmp 1b */
	/* cannot: */
	0xb4, 0x60, 0xf9, 0xcb,         /* mov $0x60,%ah; stc; lret */
	/* unsupported: */
	0xb4, 0x0c, 0xf9, 0xcb,         /* mov $0x0c,%ah; stc; lret */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void write_apm(uint8_t *ram, uint8_t *bp)
{
	uint8_t *a = bp + BP_APM_BIOS;

	memcpy(ram + BIOS_START, apm_bios, sizeof(apm_bios));
	put16(a + 0, APM_VERSION);
	put16(a + 2, APM_SEG);          /* cseg */
	put32(a + 4, 0);                /* offset of the entry */
	put16(a + 8, APM_SEG);          /* cseg_16 */
	put16(a + 10, APM_SEG);         /* dseg */
	put16(a + 12, APM_32BIT);       /* flags */
	put16(a + 14, 0xFFFF);          /* cseg_len */
	put16(a + 16, 0xFFFF);          /* cseg_16_len */
	put16(a + 18, 0xFFFF);          /* dseg_len */
}

/* Null, unused, then __BOOT_CS and __BOOT_DS: flat 4 GiB, 32-bit, DPL 0,
 * accessed (code execute/read 0x9B, data read/write 0x93, G and D). */
static void write_gdt(uint8_t *ram)
{
	const uint64_t gdt[GDT_ENTRIES] = {
		0, 0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull,
	};

	memcpy(ram + BOOT_GDT, gdt, sizeof(gdt));
}

static void write_zero_page(const struct image *im, const struct plan *p,
                            uint8_t *ram)
{
	uint8_t *bp = ram + ZERO_PAGE;

	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_START, im->buf + HDR_START, p->hdr_end - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put32(bp + HDR_CMD_LINE_PTR, CMDLINE_AT);
	put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)p->initrd_addr);
	put32(bp + HDR_RAMDISK_SIZE, im->initrd ? (uint32_t)im->initrd_size : 0);
	write_e820(bp, im->ram_size);
	write_apm(ram, bp);
}

static void commit(const struct image *im, const struct plan *p,
                   uint8_t *ram, struct boot_state *out)
{
	write_gdt(ram);
	write_zero_page(im, p, ram);
	memcpy(ram + CMDLINE_AT, im->cmdline, strlen(im->cmdline) + 1);
	memcpy(ram + HIGHMEM, im->buf + p->setup_size, p->pm_size);
	if (im->initrd)
		memcpy(ram + p->initrd_addr, im->initrd, im->initrd_size);
	*out = (struct boot_state){
		.entry = HIGHMEM, .esi = ZERO_PAGE,  /* EBX = EBP = EDI = 0 */
		.cs = BOOT_CS, .ds = BOOT_DS,
		.gdt_base = BOOT_GDT, .gdt_limit = GDT_ENTRIES * 8 - 1,
	};
}

int loader_linux(const uint8_t *buf, size_t size, const uint8_t *initrd,
                 size_t initrd_size, uint8_t *ram, uint64_t ram_size,
                 const char *cmdline, struct boot_state *out,
                 char *err, size_t errlen)
{
	struct image im = { buf, size, initrd, initrd_size, ram_size,
	                    cmdline ? cmdline : "", err, errlen };
	struct plan p = { .initrd_addr = 0 };

	if (ram_size > (1ull << 32))
		return fail(&im, "guest RAM of %llu MiB exceeds 4 GiB",
		            (unsigned long long)(ram_size >> 20));
	if (ram_size < 2 * HIGHMEM)
		return fail(&im, "guest RAM of %llu KiB is too small for Linux",
		            (unsigned long long)(ram_size >> 10));
	if (check_identity(&im, &p) < 0 || check_layout(&im, &p) < 0 ||
	    check_ram(&im, &p) < 0 || check_cmdline(&im) < 0 ||
	    place_initrd(&im, &p) < 0)
		return -1;
	commit(&im, &p, ram, out);
	return 0;
}
