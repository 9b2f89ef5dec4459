/*
 * pm.c — the protected-mode kit of pm.h: descriptor tables, the common
 * trap entry, and the trip to CPL 3 and back.
 *
 * Every vector's stub pushes a zero error code where the CPU pushes none,
 * then its vector number, and joins pm_isr_common, which completes a
 * struct pm_frame, calls the handler and returns into whatever the frame
 * holds afterwards.  pm_user_run() keeps the kernel's callee-saved
 * registers and ESP, then "returns" through the same exit path into a
 * CPL 3 frame built at the top of the kernel stack (TSS.ESP0), so that a
 * trap from CPL 3 lands on the same stack; pm_user_leave() restores the
 * kernel's ESP from any handler and returns from pm_user_run().
 */
#include "lib.h"
#include "pm.h"

struct gate_desc {
	uint16_t offset_lo, selector;
	uint8_t zero, attr;
	uint16_t offset_hi;
} __attribute__((packed));

struct tss {
	uint32_t prev, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint32_t es, cs, ss, ds, fs, gs, ldt;
	uint16_t trap, iomap_base;
};

#define GATE_INT      0x8E /* 32-bit interrupt gate, DPL 0 */
#define GATE_INT_USER 0xEE /* the same, DPL 3 */
#define EFLAGS_RESERVED 0x2

static uint64_t gdt[PM_GDT_ENTRIES] __attribute__((aligned(8)));
static struct gate_desc idt[256] __attribute__((aligned(8)));
static struct tss tss __attribute__((aligned(16)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
#define KSTACK_TOP ((uint32_t)(kstack + sizeof(kstack)))

static pm_handler pm_trap_handler;
void pm_trap(struct pm_frame *f);
void pm_user_enter(struct pm_frame *f);
extern const uint32_t pm_isr_table[32];
extern char pm_isr128[];

#define ERR_VECTORS 8,10,11,12,13,14,17,21,29,30
#define NOERR_VECTORS 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,\
	28,31,128
#define STR_(...) #__VA_ARGS__
#define STR(...) STR_(__VA_ARGS__)

__asm__(
	".macro PM_ISR_NOERR n\n"
	"pm_isr\\n: pushl $0\n"
	"	pushl $\\n\n"
	"	jmp pm_isr_common\n"
	".endm\n"
	".macro PM_ISR_ERR n\n"
	"pm_isr\\n: pushl $\\n\n"
	"	jmp pm_isr_common\n"
	".endm\n"
	".pushsection .text\n"
	".irp n," STR(NOERR_VECTORS) "\n"
	"	PM_ISR_NOERR \\n\n"
	".endr\n"
	".irp n," STR(ERR_VECTORS) "\n"
	"	PM_ISR_ERR \\n\n"
	".endr\n"
	".globl pm_isr128\n"
	"pm_isr_common:\n"
	"	pushal\n"
	"	pushl %ds\n"
	"	pushl %es\n"
	"	pushl %fs\n"
	"	pushl %gs\n"
	"	movl $0x10, %eax\n"
	"	movl %eax, %ds\n"
	"	movl %eax, %es\n"
	"	cld\n"
	"	pushl %esp\n"
	"	call pm_trap\n"
	"	addl $4, %esp\n"
	"pm_isr_return:\n"
	"	popl %gs\n"
	"	popl %fs\n"
	"	popl %es\n"
	"	popl %ds\n"
	"	popal\n"
	"	addl $8, %esp\n"
	"	iret\n"
	/* void pm_user_enter(struct pm_frame *f) */
	".globl pm_user_enter, pm_user_leave\n"
	"pm_user_enter:\n"
	"	movl 4(%esp), %eax\n"
	"	pushl %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl %esp, pm_kernel_esp\n"
	"	movl %eax, %esp\n"
	"	jmp pm_isr_return\n"
	"pm_user_leave:\n"
	"	movl pm_kernel_esp, %esp\n"
	"	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n"
	".popsection\n"
	".pushsection .rodata\n"
	".align 4\n"
	".globl pm_isr_table\n"
	"pm_isr_table:\n"
	".irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,"
	"23,24,25,26,27,28,29,30,31\n"
	"	.long pm_isr\\n\n"
	".endr\n"
	".popsection\n"
	".pushsection .bss\n"
	".align 4\n"
	"pm_kernel_esp: .skip 4\n"
	".popsection\n");

uint32_t pm_user_eflags = EFLAGS_RESERVED;

uint64_t pm_seg(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xFFFF) | (uint64_t)(base & 0xFFFFFF) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xF) << 48 |
	       (uint64_t)(flags & 0xF) << 52 | (uint64_t)(base >> 24) << 56;
}

void pm_gdt_set(unsigned index, uint64_t desc)
{
	gdt[index] = desc;
}

void pm_tables(struct pm_table_reg *gdtr, struct pm_table_reg *idtr)
{
	*gdtr = (struct pm_table_reg){ sizeof(gdt) - 1, (uint32_t)gdt };
	*idtr = (struct pm_table_reg){ sizeof(idt) - 1, (uint32_t)idt };
}

static void gate(unsigned vec, uint32_t handler, uint8_t attr)
{
	idt[vec] = (struct gate_desc){
		.offset_lo = handler & 0xFFFF, .selector = PM_KERNEL_CS,
		.attr = attr, .offset_hi = handler >> 16,
	};
}

void pm_trap(struct pm_frame *f)
{
	if (pm_trap_handler == NULL)
		pm_unexpected(f);
	pm_trap_handler(f);
}

void pm_unexpected(const struct pm_frame *f)
{
	printf("FAIL: unexpected-trap vector %u error 0x%x at %x:%x cr2 0x%x\n",
	       f->vector, f->err, f->cs & 0xFFFF, f->eip, read_cr2());
	exit_guest(3);
}

static void load_gdt_tss(void)
{
	struct pm_table_reg gdtr, idtr;

	pm_tables(&gdtr, &idtr);
	gdt[1] = pm_seg(0, 0xFFFFF, 0x9A, 0xC);    /* kernel code, 4 GiB */
	gdt[2] = pm_seg(0, 0xFFFFF, 0x92, 0xC);    /* kernel data */
	gdt[3] = pm_seg(0, 0xFFFFF, 0xFA, 0xC);    /* user code */
	gdt[7] = pm_seg(0, 0xFFFFF, 0xF2, 0xC);    /* user data */
	gdt[8] = pm_seg((uint32_t)&tss, sizeof(tss) - 1, 0x89, 0);
	tss.ss0 = PM_KERNEL_DS;
	tss.esp0 = KSTACK_TOP;
	tss.iomap_base = sizeof(tss);           /* no I/O bitmap */
	__asm__ volatile("lgdt %0\n\t"
	                 "ljmp $0x08, $1f\n"
	                 "1:\tmovl %1, %%ds\n\t"
	                 "movl %1, %%es\n\t"
	                 "movl %1, %%fs\n\t"
	                 "movl %1, %%gs\n\t"
	                 "movl %1, %%ss\n\t"
	                 "ltr %w2"
	                 : : "m"(gdtr), "r"(PM_KERNEL_DS), "r"(PM_TSS_SEL)
	                 : "memory");
}

void pm_init(pm_handler handler)
{
	struct pm_table_reg gdtr, idtr;

	outb(0xFF, 0x21);       /* both 8259s masked */
	outb(0xFF, 0xA1);
	__asm__ volatile("cli");
	pm_trap_handler = handler;
	load_gdt_tss();
	for (unsigned v = 0; v < 32; v++)
		gate(v, pm_isr_table[v], GATE_INT);
	gate(VEC_SYSCALL, (uint32_t)pm_isr128, GATE_INT_USER);
	pm_tables(&gdtr, &idtr);
	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

void pm_user_run(uint32_t eip, uint32_t esp, uint32_t eax, uint32_t esi)
{
	struct pm_frame *top = (struct pm_frame *)KSTACK_TOP - 1;

	memset(top, 0, sizeof(*top));
	top->eip = eip;
	top->cs = PM_USER_CS;
	top->eflags = pm_user_eflags;
	top->user_esp = esp;
	top->user_ss = top->ds = top->es = top->fs = top->gs = PM_USER_DS;
	top->eax = eax;
	top->esi = esi;
	pm_user_enter(top);
}

uint32_t pm_ram_end(void)
{
	const struct multiboot_info *mbi = boot_info();

	if (mbi == NULL || !(mbi->flags & MBI_FLAG_MEM))
		return 0;
	return (1u << 20) + mbi->mem_upper * 1024u;
}
