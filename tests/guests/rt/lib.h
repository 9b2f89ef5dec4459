/*
 * lib.h — the runtime of popek's test guests: freestanding 32-bit code
 * with nothing below it but the PC platform popek emulates.
 *
 * It gives a guest port I/O helpers, console output on COM1 (polled, no
 * interrupts), a printf that knows %s %d %u %x %c (with width and zero
 * padding), the multiboot command line, ending the VM through the
 * debug-exit port, and the PASS/FAIL protocol the shell tests grep for:
 *
 *     PASS: <name>            one line per check()
 *     FAIL: <name>
 *     FAIL: <name> (<why>)    check_why(): why is a printf format
 *     guest: <N> checks, <M> failed     printed by finish()
 *
 * A guest defines `int guest_main(void)`; its return value becomes the
 * VM's exit status.  Single-threaded, no interrupts: no locking anywhere.
 */
#ifndef POPEK_GUEST_LIB_H
#define POPEK_GUEST_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COM1            0x3F8
#define PORT_POST       0x80
#define PORT_DEBUG_EXIT 0xF4

/* Multiboot information structure (spec 0.6.96), the fields guests use. */
#define MBI_FLAG_MEM         (1u << 0)
#define MBI_FLAG_CMDLINE     (1u << 2)
#define MBI_FLAG_MMAP        (1u << 6)
#define MBI_FLAG_LOADER_NAME (1u << 9)

struct multiboot_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4];
	uint32_t mmap_length, mmap_addr, drives_length, drives_addr;
	uint32_t config_table, boot_loader_name;
};

/* The guest program. */
int guest_main(void);

/* Port I/O: value first, port second, as in Linux. */
static inline void outb(uint8_t v, uint16_t port)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t v, uint16_t port)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint32_t v, uint16_t port)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Console (COM1). */
void putc(char c);
void puts(const char *s);          /* no newline added */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char *fmt, va_list ap);

/* Boot information: the multiboot structure (NULL if the magic was
 * wrong), the command line ("" when absent), and the value of the word
 * "key=value" on it (NULL when absent; a static buffer, overwritten by the
 * next call). */
const struct multiboot_info *boot_info(void);
const char *cmdline(void);
const char *cmdline_get(const char *key);
/* Decimal value of key=N, or def when absent or not a number. */
int cmdline_int(const char *key, int def);

/* End the VM with this status through the debug-exit port; if nothing
 * listens there, stop the CPU for good. */
void exit_guest(int status) __attribute__((noreturn));

/* Descriptor tables and the 8259A pair, for guests that take interrupts:
 * a 32-bit interrupt gate to fn through code selector 0x08; LGDT of a flat
 * GDT (0x08 code, 0x10 data: the multiboot boot selectors) and LIDT of
 * the given IDT; ICW1-4 putting IRQ 0-7 at 0x20 and 8-15 at 0x28, then
 * the two interrupt masks (OCW1). */
uint64_t int_gate32(void (*fn)(void));
void flat_tables(const void *idt, unsigned idt_bytes);
void pic_init(uint8_t master_mask, uint8_t slave_mask);

/* Sort n samples in place (heap sort: no libc); the median of n samples
 * (sorting them). */
void sort_u32(uint32_t *a, int n);
uint32_t median_u32(uint32_t *a, int n);

/* PASS/FAIL protocol. */
bool check(bool ok, const char *name);
bool check_why(bool ok, const char *name, const char *why, ...)
	__attribute__((format(printf, 3, 4)));
int finish(void);

/* Byte helpers (no libc). */
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int memcmp(const void *a, const void *b, size_t n);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif
