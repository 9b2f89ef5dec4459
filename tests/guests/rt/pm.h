/*
 * pm.h — a protected-mode kit for test guests that need more than lib.h:
 * their own GDT, TSS and IDT, a C trap handler, a trip to CPL 3 and back,
 * and the control-register and paging helpers (32-bit paging, SDM vol. 3A
 * §4.3).  Linked only into the guests that ask for it (tests/guests/
 * local.mk); tests/guests/minikernel.c predates it and keeps its own.
 *
 *   GDT   0x08 kernel code, 0x10 kernel data, 0x1b user code, 0x3b user
 *         data (indexes 4-6 stay unused: under popek they alias the host's
 *         own segments, docs/host-gdt-aliases.md), 0x40 the TSS; indexes
 *         9 to PM_GDT_ENTRIES - 1 are the guest's (pm_gdt_set()).
 *   IDT   vectors 0-31 (interrupt gates, DPL 0) and 0x80 (interrupt gate,
 *         DPL 3); every one calls the handler given to pm_init().
 *
 * pm_init() also masks both 8259s: nothing asynchronous ever arrives, and
 * the guest runs with IF = 0 at every CPL unless it sets IF itself.
 * Single CPU, no locking.
 */
#ifndef POPEK_GUEST_PM_H
#define POPEK_GUEST_PM_H

#include <stdint.h>

#define PM_KERNEL_CS 0x08
#define PM_KERNEL_DS 0x10
#define PM_USER_CS   (0x18 | 3)
#define PM_USER_DS   (0x38 | 3)
#define PM_TSS_SEL   0x40
#define PM_GDT_ENTRIES 16

/* A GDTR or IDTR image, as LGDT/LIDT read it and SGDT/SIDT store it. */
struct pm_table_reg {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

#define VEC_PF      14
#define VEC_SYSCALL 0x80

/* What isr_common saves, lowest address first; a handler may change any
 * field (EIP to resume elsewhere, registers) before the IRET. */
struct pm_frame {
	uint32_t gs, fs, es, ds;
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* PUSHAL */
	uint32_t vector, err;           /* err: the CPU's, or 0 */
	uint32_t eip, cs, eflags;       /* pushed by the CPU */
	uint32_t user_esp, user_ss;     /* only from CPL 3 */
};

typedef void (*pm_handler)(struct pm_frame *f);

/* Load the GDT, TSS and IDT, mask the PICs; every exception and INT 80h
 * from now on calls handler on the kernel stack. */
void pm_init(pm_handler handler);

/* The GDTR and IDTR that pm_init() loaded. */
void pm_tables(struct pm_table_reg *gdtr, struct pm_table_reg *idtr);

/* A code or data segment descriptor (access byte: P, DPL, S, type; flags:
 * G, D/B, L, AVL), and storing a descriptor into GDT entry index (one
 * that pm itself does not use; LGDT is not repeated). */
uint64_t pm_seg(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
void pm_gdt_set(unsigned index, uint64_t desc); /* index < PM_GDT_ENTRIES */

/* Enter CPL 3 at eip with esp and these eax/esi (user data segments,
 * EFLAGS pm_user_eflags).  Returns when a handler called with a frame from CPL 3 calls
 * pm_user_leave(); the user context is then abandoned. */
void pm_user_run(uint32_t eip, uint32_t esp, uint32_t eax, uint32_t esi);
/* The EFLAGS pm_user_run() enters CPL 3 with (default 0x2: IF clear,
 * IOPL 0). */
extern uint32_t pm_user_eflags;
void pm_user_leave(void) __attribute__((noreturn));

/* Report a trap nobody expected (vector, error code, CS:EIP, CR2) and end
 * the VM with status 3. */
void pm_unexpected(const struct pm_frame *f) __attribute__((noreturn));

/* --- control registers and paging ---------------------------------------- */

#define CR0_WP  (1u << 16)
#define CR0_PG  (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PGE (1u << 7)

/* Page-directory and page-table entry bits (SDM tables 4-4 to 4-6). */
#define PG_P    0x001u
#define PG_RW   0x002u
#define PG_US   0x004u
#define PG_PWT  0x008u
#define PG_PCD  0x010u
#define PG_A    0x020u
#define PG_D    0x040u
#define PG_PS   0x080u          /* PDE: a 4 MiB page (with CR4.PSE) */
#define PG_G    0x100u          /* the final entry: global (with CR4.PGE) */
#define PG_FRAME 0xFFFFF000u

/* #PF error code (SDM §4.7). */
#define PF_P 0x1u
#define PF_W 0x2u
#define PF_U 0x4u

#define PAGE_SIZE 4096u
#define BIG_PAGE_SIZE (4u << 20)

/* CPUID.1:EDX */
#define CPUID_PSE (1u << 3)
#define CPUID_PGE (1u << 13)

#define PM_CR(n)                                                        \
	static inline uint32_t read_cr##n(void)                         \
	{                                                               \
		uint32_t v;                                             \
		__asm__ volatile("movl %%cr" #n ", %0" : "=r"(v));      \
		return v;                                               \
	}
PM_CR(0)
PM_CR(2)
PM_CR(3)
PM_CR(4)
#undef PM_CR

static inline void write_cr0(uint32_t v)
{
	__asm__ volatile("movl %0, %%cr0" : : "r"(v) : "memory");
}

static inline void write_cr3(uint32_t v)
{
	__asm__ volatile("movl %0, %%cr3" : : "r"(v) : "memory");
}

static inline void write_cr4(uint32_t v)
{
	__asm__ volatile("movl %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uint32_t linear)
{
	__asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory");
}

static inline uint32_t cpuid_edx(uint32_t leaf)
{
	uint32_t a = leaf, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return d;
}

/* Top of RAM as the boot loader reports it (1 MiB + mem_upper), or 0. */
uint32_t pm_ram_end(void);

#endif
