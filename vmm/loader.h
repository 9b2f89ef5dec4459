/*
 * loader.h — boot a kernel image into guest RAM without a boot loader.
 *
 * Multiboot v1 ELF32 kernels (spec 0.6.96): PT_LOAD segments are copied to
 * their physical addresses, a multiboot information structure (mem_lower/
 * upper, command line, memory map, boot loader name) is built in low
 * memory, and the vCPU starts at e_entry with EAX = 0x2BADB002, EBX = the
 * info structure, flat 32-bit segments, paging off, IF = 0.
 *
 * Bad input never half-loads silently: on failure the loader writes one
 * line naming the problem into err and returns -1; the caller exits 2.
 */
#ifndef POPEK_VMM_LOADER_H
#define POPEK_VMM_LOADER_H

#include <stdint.h>
#include <stddef.h>

#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

struct boot_state {
	uint32_t entry;    /* EIP */
	uint32_t eax, ebx; /* magic and info address */
};

/* Load the image in buf[0..size) into guest RAM (host view ram, ram_size
 * bytes, guest-physical 0 at ram[0]).  cmdline may be NULL. */
int loader_multiboot(const uint8_t *buf, size_t size, uint8_t *ram,
                     uint64_t ram_size, const char *cmdline,
                     struct boot_state *out, char *err, size_t errlen);

/* Read the whole file at path and load it as above (err names the path). */
int loader_load_file(const char *path, uint8_t *ram, uint64_t ram_size,
                     const char *cmdline, struct boot_state *out,
                     char *err, size_t errlen);

#endif
