/*
 * loader.h — boot a kernel image into guest RAM without a boot loader.
 *
 * Two formats, told apart by loader_load_file():
 *
 * Multiboot v1 ELF32 kernels (spec 0.6.96): PT_LOAD segments are copied to
 * their physical addresses, a multiboot information structure (mem_lower/
 * upper, command line, memory map, boot loader name) is built in low
 * memory, and the vCPU starts at e_entry with EAX = 0x2BADB002, EBX = the
 * info structure, flat 32-bit segments (CS 0x08, DS 0x10; no GDT loaded),
 * paging off, IF = 0.
 *
 * Linux bzImages (Documentation/arch/x86/boot.rst, the 32-bit boot
 * protocol, version 2.06 or later; loader_linux.c): the protected-mode
 * kernel is copied to 1 MiB, a zero page (struct boot_params) with the
 * setup header, an e820 map, the command line and the initrd's place is
 * built in low memory, and the vCPU starts at code32_start with ESI = the
 * zero page, EBX = EBP = EDI = 0, a GDT in guest RAM whose __BOOT_CS
 * (0x10) and __BOOT_DS (0x18) are flat 4 GiB, CS = 0x10, the data
 * segments 0x18, paging off, IF = 0.
 *
 * Bad input never half-loads silently: on failure the loader writes one
 * line naming the problem into err and returns -1; the caller exits 2.
 */
#ifndef POPEK_VMM_LOADER_H
#define POPEK_VMM_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

/* The vCPU's state at the kernel's first instruction. */
struct boot_state {
	uint32_t entry;         /* EIP */
	uint32_t eax, ebx, esi; /* multiboot: magic, info; Linux: ESI */
	uint16_t cs, ds;        /* CS, and DS = ES = SS = FS = GS */
	uint32_t gdt_base;      /* GDTR; gdt_limit 0: none (multiboot) */
	uint16_t gdt_limit;
};

/* Load the image in buf[0..size) into guest RAM (host view ram, ram_size
 * bytes, guest-physical 0 at ram[0]).  cmdline may be NULL. */
int loader_multiboot(const uint8_t *buf, size_t size, uint8_t *ram,
                     uint64_t ram_size, const char *cmdline,
                     struct boot_state *out, char *err, size_t errlen);

/* Does buf look like a Linux x86 kernel (boot flag 0xAA55 at 0x1FE or
 * "HdrS" at 0x202)?  Then loader_linux() is the one to say what is wrong
 * with it. */
bool loader_is_linux(const uint8_t *buf, size_t size);

/* Load the bzImage in buf[0..size) as above; initrd[0..initrd_size) is
 * the initial ramdisk (initrd NULL: none).  cmdline may be NULL. */
int loader_linux(const uint8_t *buf, size_t size, const uint8_t *initrd,
                 size_t initrd_size, uint8_t *ram, uint64_t ram_size,
                 const char *cmdline, struct boot_state *out,
                 char *err, size_t errlen);

/* Read the kernel file at path, tell its format and load it as above;
 * initrd_path (NULL: none) is read for a Linux kernel and refused for a
 * multiboot one.  err names the file at fault. */
int loader_load_file(const char *path, const char *initrd_path,
                     uint8_t *ram, uint64_t ram_size, const char *cmdline,
                     struct boot_state *out, char *err, size_t errlen);

#endif
