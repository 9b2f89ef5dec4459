/*
 * gdt-aliases.c — checks each row of docs/host-gdt-aliases.md.  The guest
 * builds a GDT whose entries 1..20 are all flat-limit data segments of DPL
 * 3 with base MARKER_BASE + i * 0x2000, puts the marker value i at offset
 * 0x1000 of each, then loads each selector (i << 3 | 3) into FS itself and
 * reads %fs:0x1000 (offset 0x1000, not 0: the host's index-15 segment is
 * expand-down with a limit of the host CPU number, so offset 0 faults).
 *
 * On hardware every load reads the guest's marker i.  Under popek the
 * loads that fault on the host are emulated from the guest GDT and read
 * i too; the documented residues (indices 4, 5, 6, 15: DPL-3 host entries)
 * load silently and read linear 0x1000 (the host segments' base is 0).
 * The check names say which row they test.
 */
#include "lib.h"

#define ENTRIES 21
#define MARKER_BASE 0x10000u   /* entry i: base MARKER_BASE + i * 0x2000 */

static uint64_t gdt[ENTRIES] __attribute__((aligned(8)));

static uint64_t data_desc(uint32_t base)
{
	uint64_t limit = 0xFFFFF;   /* 4 GiB with G */
	uint64_t d = (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16);
	d |= (uint64_t)0xF3 << 40;  /* P, DPL 3, data read/write, accessed */
	d |= ((limit >> 16) & 0xF) << 48;
	d |= (uint64_t)0xC << 52;   /* G, D/B */
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

static uint32_t read_fs(uint16_t sel)
{
	uint32_t v;
	__asm__ volatile("mov %1, %%fs\n\tmovl %%fs:0x1000, %0" : "=r"(v) : "r"(sel)
	                 : "memory");
	return v;
}

int guest_main(void)
{
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) gdtr;
	char name[48];

	gdt[0] = 0;
	for (int i = 1; i < ENTRIES; i++) {
		uint32_t base = MARKER_BASE + (uint32_t)i * 0x2000;
		gdt[i] = data_desc(base);
		*(volatile uint32_t *)(uintptr_t)(base + 0x1000) = (uint32_t)i;
	}
	gdtr.limit = sizeof(gdt) - 1;
	gdtr.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	/* translated=1 (--mode=bt): kernel code's loads are emulated, so
	 * there is no residue. */
	bool translated = cmdline_int("translated", 0);

	for (int i = 1; i < ENTRIES; i++) {
		uint32_t got = read_fs((uint16_t)(i << 3 | 3));
		bool residue = !translated && (i == 4 || i == 5 || i == 6 || i == 15);
		bool ok = residue ? got != (uint32_t)i : got == (uint32_t)i;
		const char *n = residue ? "residue-host-alias" : "emulated-from-guest-gdt";
		int k = 0;
		for (const char *p = "index-"; *p; p++)
			name[k++] = *p;
		name[k++] = (char)('0' + i / 10);
		name[k++] = (char)('0' + i % 10);
		name[k++] = '-';
		for (const char *p = n; *p; p++)
			name[k++] = *p;
		name[k] = 0;
		check(ok, name);
	}
	__asm__ volatile("mov %0, %%fs" : : "r"((uint16_t)0));
	return finish();
}
