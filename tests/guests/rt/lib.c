/*
 * lib.c — the test guests' runtime (see lib.h for the interface).
 *
 * The console writes straight to the COM1 transmit register after polling
 * the line status register, without programming the UART: popek's and
 * QEMU's UARTs need no baud rate, and every extra port access is one more
 * trap to take before the test even starts.  Newlines go out as "\n"
 * alone so that the host side can grep lines without stripping "\r".
 */
#include "lib.h"

#define UART_THR 0
#define UART_LSR 5
#define LSR_THRE 0x20

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u

static const struct multiboot_info *mbi;
static unsigned checks, failures;

/* --- console ------------------------------------------------------------ */

void putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb((uint8_t)c, COM1 + UART_THR);
}

void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

/* Digits of v in base, right-aligned in width with pad. */
static void put_uint(uint32_t v, unsigned base, int width, char pad)
{
	char buf[12];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > n)
		putc(pad);
	while (n)
		putc(buf[--n]);
}

static void put_int(int32_t v, int width, char pad)
{
	uint32_t mag = v < 0 ? -(uint32_t)v : (uint32_t)v;

	if (v < 0) {
		putc('-');
		width--;
	}
	put_uint(mag, 10, width, pad);
}

/* One conversion after '%' (flags and width already parsed). */
static void convert(char conv, va_list *ap, int width, char pad)
{
	const char *s;

	switch (conv) {
	case 'd':
		put_int(va_arg(*ap, int), width, pad);
		break;
	case 'u':
		put_uint(va_arg(*ap, unsigned), 10, width, pad);
		break;
	case 'x':
		put_uint(va_arg(*ap, unsigned), 16, width, pad);
		break;
	case 'c':
		putc((char)va_arg(*ap, int));
		break;
	case 's':
		s = va_arg(*ap, const char *);
		puts(s ? s : "(null)");
		break;
	default:
		putc('%');
		putc(conv);
	}
}

void vprintf(const char *fmt, va_list ap)
{
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		int width = 0;
		char pad = ' ';

		if (*fmt != '%' || fmt[1] == '\0') {
			putc(*fmt);
			continue;
		}
		if (*++fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '\0')
			break;
		if (*fmt == '%')
			putc('%');
		else
			convert(*fmt, &aq, width, pad);
	}
	va_end(aq);
}

void printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* --- boot information --------------------------------------------------- */

const struct multiboot_info *boot_info(void)
{
	return mbi;
}

const char *cmdline(void)
{
	if (mbi == NULL || !(mbi->flags & MBI_FLAG_CMDLINE) || !mbi->cmdline)
		return "";
	return (const char *)(uintptr_t)mbi->cmdline;
}

/* Does the word at w start with "key="? */
static bool word_has_key(const char *w, const char *key)
{
	while (*key && *w == *key) {
		w++;
		key++;
	}
	return *key == '\0' && *w == '=';
}

const char *cmdline_get(const char *key)
{
	static char value[128];
	const char *w = cmdline();
	size_t n = 0;

	while (*w) {
		while (*w == ' ')
			w++;
		if (word_has_key(w, key)) {
			w += strlen(key) + 1;
			while (*w && *w != ' ' && n < sizeof(value) - 1)
				value[n++] = *w++;
			value[n] = '\0';
			return value;
		}
		while (*w && *w != ' ')
			w++;
	}
	return NULL;
}

int cmdline_int(const char *key, int def)
{
	const char *v = cmdline_get(key);
	int n = 0;

	if (v == NULL || *v == '\0')
		return def;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return def;
		n = n * 10 + (*v - '0');
	}
	return n;
}

/* --- ending the VM ------------------------------------------------------ */

void exit_guest(int status)
{
	outb((uint8_t)status, PORT_DEBUG_EXIT);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Called by start.S: record the boot information and run the guest. */
void rt_start(uint32_t magic, const struct multiboot_info *info);

void rt_start(uint32_t magic, const struct multiboot_info *info)
{
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
		printf("guest: bad multiboot magic %08x, no boot information\n",
		       magic);
		info = NULL;
	}
	mbi = info;
	exit_guest(guest_main());
}

/* --- PASS/FAIL protocol ------------------------------------------------- */

/* Count one check and print its line, without the newline. */
static bool tally(bool ok, const char *name)
{
	checks++;
	if (!ok)
		failures++;
	printf("%s: %s", ok ? "PASS" : "FAIL", name);
	return ok;
}

bool check(bool ok, const char *name)
{
	tally(ok, name);
	putc('\n');
	return ok;
}

bool check_why(bool ok, const char *name, const char *why, ...)
{
	va_list ap;

	if (!tally(ok, name)) {
		puts(" (");
		va_start(ap, why);
		vprintf(why, ap);
		va_end(ap);
		putc(')');
	}
	putc('\n');
	return ok;
}

int finish(void)
{
	printf("guest: %u checks, %u failed\n", checks, failures);
	exit_guest(failures ? 1 : 0);
}

/* --- bytes --------------------------------------------------------------- */

/* GCC turns these very loops into calls to memset/memcpy, even when
 * freestanding; inside memset itself that would be endless recursion. */
#define NO_LIBCALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

NO_LIBCALLS void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

NO_LIBCALLS void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

uint64_t int_gate32(void (*fn)(void))
{
	uint32_t off = (uint32_t)(uintptr_t)fn;

	return (off & 0xFFFF) | (0x08ull << 16) | (0x8Eull << 40) |
	       ((uint64_t)(off >> 16) << 48);
}

void flat_tables(const void *idt, unsigned idt_bytes)
{
	static const uint64_t gdt[3] __attribute__((aligned(8))) = {
		0, 0x00CF9B000000FFFFull, 0x00CF93000000FFFFull,
	};
	struct { uint16_t limit; uint32_t base; } __attribute__((packed)) r;

	r.limit = sizeof(gdt) - 1;
	r.base = (uint32_t)(uintptr_t)gdt;
	__asm__ volatile("lgdt %0" : : "m"(r));
	r.limit = (uint16_t)(idt_bytes - 1);
	r.base = (uint32_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(r));
}

void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
	outb(0x11, 0x20); outb(0x11, 0xA0);     /* ICW1: edge, cascade, ICW4 */
	outb(0x20, 0x21); outb(0x28, 0xA1);     /* ICW2: vector bases */
	outb(0x04, 0x21); outb(0x02, 0xA1);     /* ICW3: slave on IRQ2 */
	outb(0x01, 0x21); outb(0x01, 0xA1);     /* ICW4: 8086 mode */
	outb(master_mask, 0x21); outb(slave_mask, 0xA1);
}

static void sift(uint32_t *a, int start, int end)
{
	int root = start;

	while (2 * root + 1 <= end) {
		int child = 2 * root + 1;
		uint32_t t;

		if (child + 1 <= end && a[child] < a[child + 1])
			child++;
		if (a[root] >= a[child])
			return;
		t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

void sort_u32(uint32_t *a, int n)
{
	for (int s = (n - 2) / 2; s >= 0; s--)
		sift(a, s, n - 1);
	for (int end = n - 1; end > 0; end--) {
		uint32_t t = a[0];

		a[0] = a[end];
		a[end] = t;
		sift(a, 0, end - 1);
	}
}

uint32_t median_u32(uint32_t *a, int n)
{
	sort_u32(a, n);
	return a[n / 2];
}
