/*
 * probe.c — the Popek–Goldberg probe suite (docs/popek-goldberg.md §2):
 * every sensitive but unprivileged instruction of Robin and Irvine's list,
 * run at guest CPL 0 and at CPL 3, and a few privileged ones that must
 * trap.  Each observation is compared with what the architecture gives
 * applied to the guest's OWN state — the GDTR/IDTR it loaded (pm_tables),
 * the LDTR and TR it loaded, the CR0 it wrote, the selectors it put in its
 * segment registers, the descriptors it wrote into its tables, the EFLAGS
 * it set — never with what some monitor happens to return.
 *
 * One line per probe, `PASS: <probe>` or `FAIL: <probe> (got X, want Y)`;
 * the run ends through the debug-exit port with 0 when all passed, 1
 * otherwise.  CPUID's vendor and hypervisor bit differ from host to host
 * and are printed as `info:` lines, never judged.
 *
 * Names: cpl0-... and cpl3-... say the CPL the instruction ran at.
 *   sgdt sidt sldt str smsw           the register images
 *   mov-SR push-SR                    MOV r32, Sreg and PUSH Sreg (SR = es
 *                                     cs ss ds fs gs), after loading es,
 *                                     fs and gs with selectors of its own
 *   lar-D lsl-D verr-D verw-D         on the descriptors of probe_sels[]
 *   CTX-pushf                         IF and IOPL as CTX set them
 *   CTX-popf-pushf, CTX-popf-int      after a POPF that flips IF and IOPL,
 *                                     read back by PUSHF, and from the
 *                                     EFLAGS an INT 80h frame holds
 *                                     (what took effect, not what PUSHF
 *                                     says)
 *   CTX: cpl0-if0 (after CLI), cpl0-if1 (after STI), cpl3-if1, cpl3-if0,
 *   cpl3-iopl3 (the EFLAGS the kernel's IRET to CPL 3 loaded)
 *   cpl0-mov-from-cr0, cpl0-cli-sti, cpl0-in-unclaimed  privileged:
 *                                     trapped and emulated
 *   cpl3-cli-gp, cpl3-mov-from-cr0-gp, cpl3-in-gp, cpl3-mov-ds-dpl0-gp
 *                                     privileged or protected at CPL 3:
 *                                     #GP with the architectural error code
 *
 * User code cannot print: it stores what it saw in memory (paging is off,
 * so CPL 3 can write anywhere) and ends with INT 80h, eax = 1; the kernel
 * judges afterwards.  INT 80h with eax = 0 (from either CPL) records the
 * frame's EFLAGS and returns.  Single CPU, no interrupts (pm masks the
 * 8259s; IF = 1 stretches therefore deliver nothing).
 */
#include "lib.h"
#include "pm.h"

#define EFLAGS_IF   0x200u
#define EFLAGS_IOPL 0x3000u
#define EFLAGS_RESERVED 0x2u
#define VEC_GP 13

/* The CR0 the guest writes: PE, MP, ET and WP (NE, TS, EM, PG clear).
 * Its low word (0x0013) is not the 0x0033 a Linux host with UMIP makes
 * up for SMSW, and WP sits above the 16 bits that SMSW shows. */
#define GUEST_CR0 0x00010013u
#define SMSW_MASK 0xFFFFu

#define UNCLAIMED_PORT 0x3E0    /* nothing there in popek or QEMU */

/* GDT entries of this guest (pm owns 0-8). */
#define IDX_LDT   9     /* the LDT, one entry */
#define IDX_SMALL 10    /* data r/w, DPL 0, byte-granular limit 0x1234 */
#define IDX_RO3   11    /* data read-only, DPL 3, 4 GiB */
#define IDX_XO    12    /* code execute-only, DPL 0 */
#define IDX_CONF  13    /* code readable conforming, DPL 0 */
#define IDX_CGATE 14    /* 32-bit call gate, DPL 0 (never called) */
#define IDX_TSS2  15    /* pm's TSS again, for an LTR of its own */
#define SEL(idx, rpl) ((uint16_t)((idx) << 3 | (rpl)))
#define SEL_LDT_DATA 0x07       /* LDT entry 0 (data r/w, DPL 3), RPL 3 */

#define SMALL_BASE  0x00123450u
#define SMALL_LIMIT 0x1234u
#define CGATE_OFFSET 0x00ABCDEFu

/* Descriptor high dword fields (SDM vol. 3A §3.4.5). */
#define D_S  (1u << 12)
#define D_G  (1u << 23)
#define D_TYPE(hi) (((hi) >> 8) & 0xFu)
#define D_DPL(hi)  (((hi) >> 13) & 3u)
#define T_CODE 0x8u
#define T_CONFORMING 0x4u       /* code */
#define T_RW 0x2u               /* readable code, writable data */
#define T_TSS_BUSY 0x2u
#define LAR_MASK 0x00F0FF00u    /* 00FxFF00H: bits 19:16 undefined */
/* System types LAR and LSL accept (SDM vol. 2A, LAR/LSL). */
#define LAR_SYSTYPES 0x1A3Eu    /* 1 2 3 4 5 9 B C */
#define LSL_SYSTYPES 0x0A0Eu    /* 1 2 3 9 B */

/* --- what the guest loaded ------------------------------------------------ */

static uint64_t ldt[1] __attribute__((aligned(8)));
static struct pm_table_reg gdtr, idtr;
static uint8_t ustack[4096] __attribute__((aligned(16)));

static const struct probe_sel {
	const char *name;
	uint16_t sel;
} probe_sels[] = {
	{ "null", 0x00 },
	{ "kcode", PM_KERNEL_CS },
	{ "kdata", PM_KERNEL_DS },
	{ "kdata-rpl3", PM_KERNEL_DS | 3 },
	{ "udata", PM_USER_DS },
	{ "tss", SEL(IDX_TSS2, 0) },
	{ "ldt", SEL(IDX_LDT, 0) },
	{ "small", SEL(IDX_SMALL, 0) },
	{ "ro3", SEL(IDX_RO3, 3) },
	{ "xo", SEL(IDX_XO, 0) },
	{ "conf", SEL(IDX_CONF, 0) },
	{ "cgate", SEL(IDX_CGATE, 0) },
	{ "past-limit", SEL(PM_GDT_ENTRIES, 0) },
	{ "ldt-data", SEL_LDT_DATA },
};
#define NSELS (sizeof(probe_sels) / sizeof(probe_sels[0]))

static void setup(void)
{
	uint32_t cr0 = GUEST_CR0, flags = EFLAGS_RESERVED;
	uint32_t gate_hi = (CGATE_OFFSET & 0xFFFF0000u) | 0x8C00u;
	uint32_t gate_lo = (uint32_t)PM_KERNEL_CS << 16 | (CGATE_OFFSET & 0xFFFF);
	const uint64_t busy = (uint64_t)T_TSS_BUSY << 40;
	uint64_t tss;

	pm_tables(&gdtr, &idtr);
	tss = *(const uint64_t *)(gdtr.base + PM_TSS_SEL);
	ldt[0] = pm_seg(0, 0xFFFFF, 0xF3, 0xC);
	pm_gdt_set(IDX_LDT, pm_seg((uint32_t)ldt, sizeof(ldt) - 1, 0x82, 0));
	pm_gdt_set(IDX_SMALL, pm_seg(SMALL_BASE, SMALL_LIMIT, 0x93, 0x4));
	pm_gdt_set(IDX_RO3, pm_seg(0, 0xFFFFF, 0xF1, 0xC));
	pm_gdt_set(IDX_XO, pm_seg(0, 0xFFFFF, 0x99, 0xC));
	pm_gdt_set(IDX_CONF, pm_seg(0, 0xFFFFF, 0x9F, 0xC));
	pm_gdt_set(IDX_CGATE, (uint64_t)gate_hi << 32 | gate_lo);
	pm_gdt_set(IDX_TSS2, tss & ~busy);
	/* IOPL 0 and IF 0 by the guest's own POPF (multiboot leaves IOPL
	 * undefined), then CR0, LDTR and TR of its choosing. */
	__asm__ volatile("pushl %0\n\tpopfl\n\t"
	                 "movl %1, %%cr0\n\t"
	                 "lldt %w2\n\t"
	                 "ltr %w3"
	                 : : "r"(flags), "r"(cr0), "r"(SEL(IDX_LDT, 0)),
	                   "r"(SEL(IDX_TSS2, 0))
	                 : "cc", "memory");
}

/* --- observing ------------------------------------------------------------- */

enum { SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS, NSREGS };
static const char *const sreg_names[NSREGS] = {
	"es", "cs", "ss", "ds", "fs", "gs",
};

struct dt_obs {
	uint32_t lar, lsl;
	bool lar_ok, lsl_ok, verr, verw;
};

struct obs {
	struct pm_table_reg gdtr, idtr;
	uint32_t ldtr, tr, msw;
	uint16_t sel_loaded[NSREGS];    /* what the guest loaded (es fs gs) */
	uint16_t mov[NSREGS], push[NSREGS];
	struct dt_obs dt[NSELS];
};

/* Flags before and after a POPF that flips IF and IOPL. */
struct flags_obs {
	uint32_t before, after, frame;
};

static volatile uint32_t frame_eflags;  /* from the last INT 80h, eax = 0 */

static void int80(uint32_t what)
{
	__asm__ volatile("int $0x80" : : "a"(what) : "memory");
}

#define SREG_READ(reg, i)                                               \
	"mov %%" #reg ", %%eax\n\t"                                     \
	"movw %%ax, " #i "*2(%[mov])\n\t"                               \
	"pushl %%" #reg "\n\t"                                          \
	"popl %%eax\n\t"                                                \
	"movw %%ax, " #i "*2(%[push])\n\t"

/* Load es, fs and gs, read all six segment registers both ways, and put
 * es, fs and gs back: C code between would use es. */
static void observe_sregs(struct obs *o, uint16_t es, uint16_t fs,
                          uint16_t gs)
{
	o->sel_loaded[SR_ES] = es;
	o->sel_loaded[SR_FS] = fs;
	o->sel_loaded[SR_GS] = gs;
	__asm__ volatile("pushl %%es\n\tpushl %%fs\n\tpushl %%gs\n\t"
	                 "movl %[es], %%es\n\t"
	                 "movl %[fs], %%fs\n\t"
	                 "movl %[gs], %%gs\n\t"
	                 SREG_READ(es, 0) SREG_READ(cs, 1) SREG_READ(ss, 2)
	                 SREG_READ(ds, 3) SREG_READ(fs, 4) SREG_READ(gs, 5)
	                 "popl %%gs\n\tpopl %%fs\n\tpopl %%es"
	                 : : [mov] "r"(o->mov), [push] "r"(o->push),
	                   [es] "r"((uint32_t)es), [fs] "r"((uint32_t)fs),
	                   [gs] "r"((uint32_t)gs)
	                 : "eax", "memory");
}

static void observe_dt(struct dt_obs *d, uint32_t sel)
{
	uint8_t z;

	d->lar = d->lsl = 0;
	__asm__ volatile("larl %2, %0\n\tsetz %1"
	                 : "+r"(d->lar), "=q"(z) : "r"(sel) : "cc");
	d->lar_ok = z;
	__asm__ volatile("lsll %2, %0\n\tsetz %1"
	                 : "+r"(d->lsl), "=q"(z) : "r"(sel) : "cc");
	d->lsl_ok = z;
	__asm__ volatile("verr %w1\n\tsetz %0" : "=q"(z) : "r"(sel) : "cc");
	d->verr = z;
	__asm__ volatile("verw %w1\n\tsetz %0" : "=q"(z) : "r"(sel) : "cc");
	d->verw = z;
}

/* Everything but the flags; runs at either CPL. */
static void observe(struct obs *o, uint16_t es, uint16_t fs, uint16_t gs)
{
	__asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(o->gdtr), "=m"(o->idtr));
	o->ldtr = o->tr = o->msw = 0;
	__asm__ volatile("sldt %0" : "+r"(o->ldtr));
	__asm__ volatile("str %0" : "+r"(o->tr));
	__asm__ volatile("smsw %0" : "+r"(o->msw));
	/* Segment loads first: they may set descriptors' accessed bits,
	 * which LAR shows. */
	observe_sregs(o, es, fs, gs);
	for (unsigned i = 0; i < NSELS; i++)
		observe_dt(&o->dt[i], probe_sels[i].sel);
}

static void observe_flags(struct flags_obs *o)
{
	const uint32_t flip = EFLAGS_IF | EFLAGS_IOPL;

	__asm__ volatile("pushfl\n\tpopl %0" : "=r"(o->before));
	__asm__ volatile("pushl %1\n\tpopfl\n\t"
	                 "pushfl\n\tpopl %0"
	                 : "=r"(o->after) : "r"(o->before ^ flip)
	                 : "cc", "memory");
	int80(0);
	o->frame = frame_eflags;
	__asm__ volatile("pushl %0\n\tpopfl" : : "r"(o->before)
	                 : "cc", "memory");
}

/* --- the architecture applied to the guest's tables ------------------------- */

/* The descriptor sel names, as the guest wrote it; false for the null
 * selector and past the table's limit. */
static bool guest_desc(uint16_t sel, uint32_t *lo, uint32_t *hi)
{
	uint32_t base = gdtr.base, limit = gdtr.limit;
	const uint32_t *d;

	if (sel & 4) {
		base = (uint32_t)ldt;
		limit = sizeof(ldt) - 1;
	} else if ((sel & ~3u) == 0) {
		return false;
	}
	if ((sel | 7u) > limit)
		return false;
	d = (const uint32_t *)(base + (sel & ~7u));
	*lo = d[0];
	*hi = d[1];
	return true;
}

static bool privilege_ok(uint32_t hi, uint16_t sel, unsigned cpl)
{
	unsigned dpl = D_DPL(hi), rpl = sel & 3;

	if ((hi & D_S) && (D_TYPE(hi) & (T_CODE | T_CONFORMING)) ==
	                  (T_CODE | T_CONFORMING))
		return true;
	return dpl >= cpl && dpl >= rpl;
}

static void model_dt(struct dt_obs *w, uint16_t sel, unsigned cpl)
{
	uint32_t lo, hi, type;
	bool seg;

	memset(w, 0, sizeof(*w));
	if (!guest_desc(sel, &lo, &hi) || !privilege_ok(hi, sel, cpl))
		return;
	type = D_TYPE(hi);
	seg = hi & D_S;
	w->lar_ok = seg || (LAR_SYSTYPES >> type & 1);
	w->lar = w->lar_ok ? hi & LAR_MASK : 0;
	w->lsl_ok = seg || (LSL_SYSTYPES >> type & 1);
	w->lsl = (lo & 0xFFFF) | (hi & 0xF0000);
	if (hi & D_G)
		w->lsl = w->lsl << 12 | 0xFFF;
	if (!w->lsl_ok)
		w->lsl = 0;
	w->verr = seg && (!(type & T_CODE) || (type & T_RW));
	w->verw = seg && !(type & T_CODE) && (type & T_RW);
}

/* --- judging ------------------------------------------------------------------ */

static char name_buf[64];

/* "cplN-what[-sub]" in a static buffer. */
static const char *name(unsigned cpl, const char *what, const char *sub)
{
	const char *parts[] = { cpl ? "cpl3-" : "cpl0-", what,
	                        sub ? "-" : "", sub ? sub : "" };
	size_t n = 0;

	for (unsigned i = 0; i < 4; i++) {
		size_t len = strlen(parts[i]);

		if (n + len >= sizeof(name_buf))
			len = sizeof(name_buf) - 1 - n;
		memcpy(name_buf + n, parts[i], len);
		n += len;
	}
	name_buf[n] = '\0';
	return name_buf;
}

static void judge_u32(const char *probe, uint32_t got, uint32_t want)
{
	check_why(got == want, probe, "got 0x%x, want 0x%x", got, want);
}

static void judge_table_reg(const char *probe, const struct pm_table_reg *got,
                            const struct pm_table_reg *want)
{
	check_why(got->base == want->base && got->limit == want->limit, probe,
	          "got base 0x%x limit 0x%x, want base 0x%x limit 0x%x",
	          got->base, got->limit, want->base, want->limit);
}

/* ZF and, when set, the value. */
static void judge_zf(const char *probe, bool got_ok, uint32_t got,
                     bool want_ok, uint32_t want)
{
	if (!got_ok || !want_ok) {
		check_why(got_ok == want_ok, probe, "got ZF=%d, want ZF=%d",
		          got_ok, want_ok);
		return;
	}
	check_why(got == want, probe, "got 0x%08x, want 0x%08x", got, want);
}

static void judge_dt(const struct dt_obs *d, const struct probe_sel *s,
                     unsigned cpl)
{
	struct dt_obs w;

	model_dt(&w, s->sel, cpl);
	judge_zf(name(cpl, "lar", s->name), d->lar_ok, d->lar & LAR_MASK,
	         w.lar_ok, w.lar);
	judge_zf(name(cpl, "lsl", s->name), d->lsl_ok, d->lsl, w.lsl_ok, w.lsl);
	judge_zf(name(cpl, "verr", s->name), d->verr, 0, w.verr, 0);
	judge_zf(name(cpl, "verw", s->name), d->verw, 0, w.verw, 0);
}

static void judge(const struct obs *o, unsigned cpl, uint16_t cs, uint16_t ds)
{
	uint16_t want[NSREGS];

	judge_table_reg(name(cpl, "sgdt", NULL), &o->gdtr, &gdtr);
	judge_table_reg(name(cpl, "sidt", NULL), &o->idtr, &idtr);
	judge_u32(name(cpl, "sldt", NULL), o->ldtr & 0xFFFF, SEL(IDX_LDT, 0));
	judge_u32(name(cpl, "str", NULL), o->tr & 0xFFFF, SEL(IDX_TSS2, 0));
	judge_u32(name(cpl, "smsw", NULL), o->msw & SMSW_MASK,
	          GUEST_CR0 & SMSW_MASK);
	memcpy(want, o->sel_loaded, sizeof(want));
	want[SR_CS] = cs;
	want[SR_SS] = want[SR_DS] = ds;
	for (unsigned r = 0; r < NSREGS; r++) {
		judge_u32(name(cpl, "mov", sreg_names[r]), o->mov[r], want[r]);
		judge_u32(name(cpl, "push", sreg_names[r]), o->push[r], want[r]);
	}
	for (unsigned i = 0; i < NSELS; i++)
		judge_dt(&o->dt[i], &probe_sels[i], cpl);
}

/* ctx set IF and IOPL to set; POPF flips IOPL only at CPL 0 and IF only
 * at CPL <= IOPL, and ignores the rest without a fault. */
static void judge_flags(const struct flags_obs *o, unsigned cpl,
                        const char *ctx, uint32_t set)
{
	const uint32_t m = EFLAGS_IF | EFLAGS_IOPL;
	uint32_t after = set;

	if (cpl == 0)
		after ^= EFLAGS_IOPL;
	if (cpl <= (set & EFLAGS_IOPL) >> 12)
		after ^= EFLAGS_IF;
	judge_u32(name(cpl, ctx, "pushf"), o->before & m, set);
	judge_u32(name(cpl, ctx, "popf-pushf"), o->after & m, after);
	judge_u32(name(cpl, ctx, "popf-int"), o->frame & m, after);
}

/* --- CPL 3 --------------------------------------------------------------------- */

static struct obs user_obs;
static struct flags_obs user_flags;
static volatile bool user_full;         /* observe() too, not just flags */
static volatile int user_vector;        /* -1: ended by INT 80h */
static volatile uint32_t user_err;

static void user_exit(void) __attribute__((noreturn));
static void user_exit(void)
{
	int80(1);
	__builtin_unreachable();
}

static void user_probes(void)
{
	observe_flags(&user_flags);
	if (user_full)
		observe(&user_obs, PM_USER_DS, SEL(IDX_RO3, 3), SEL_LDT_DATA);
	user_exit();
}

static void user_cli(void)
{
	__asm__ volatile("cli");
	user_exit();
}

static void user_cr0(void)
{
	(void)read_cr0();
	user_exit();
}

static void user_in(void)
{
	(void)inb(UNCLAIMED_PORT);
	user_exit();
}

static void user_mov_ds(void)
{
	__asm__ volatile("movl %0, %%ds" : : "r"((uint32_t)PM_KERNEL_DS));
	user_exit();
}

static void user_run(void (*fn)(void), uint32_t eflags)
{
	user_vector = -1;
	pm_user_eflags = eflags;
	pm_user_run((uint32_t)fn, (uint32_t)(ustack + sizeof(ustack)), 0, 0);
}

static void trap(struct pm_frame *f)
{
	bool user = (f->cs & 3) == 3;

	if (f->vector == VEC_SYSCALL && f->eax == 0) {
		frame_eflags = f->eflags;
		return;
	}
	if (user && f->vector == VEC_SYSCALL && f->eax == 1)
		pm_user_leave();
	if (user && f->vector == VEC_GP) {
		user_vector = (int)f->vector;
		user_err = f->err;
		pm_user_leave();
	}
	pm_unexpected(f);
}

static void gp_probe(const char *probe, void (*fn)(void), uint32_t err)
{
	user_run(fn, EFLAGS_RESERVED);
	check_why(user_vector == VEC_GP && user_err == err, probe,
	          "got vector %d error 0x%x, want #GP(0x%x)", user_vector,
	          user_err, err);
}

/* --- the runs ---------------------------------------------------------------- */

static void kernel_probes(void)
{
	static struct obs o;
	struct flags_obs fl;

	observe(&o, SEL(IDX_RO3, 1), SEL(IDX_SMALL, 0), SEL_LDT_DATA);
	judge(&o, 0, PM_KERNEL_CS, PM_KERNEL_DS);
	__asm__ volatile("cli");
	observe_flags(&fl);
	judge_flags(&fl, 0, "if0", 0);
	__asm__ volatile("sti");
	observe_flags(&fl);
	__asm__ volatile("cli");
	judge_flags(&fl, 0, "if1", EFLAGS_IF);
}

static void privileged_probes(void)
{
	uint32_t if_on, if_off;

	judge_u32("cpl0-mov-from-cr0", read_cr0(), GUEST_CR0);
	__asm__ volatile("sti");
	int80(0);
	if_on = frame_eflags & EFLAGS_IF;
	__asm__ volatile("cli");
	int80(0);
	if_off = frame_eflags & EFLAGS_IF;
	check_why(if_on == EFLAGS_IF && if_off == 0, "cpl0-cli-sti",
	          "got IF %u after STI and %u after CLI, want 1 and 0",
	          if_on >> 9, if_off >> 9);
	judge_u32("cpl0-in-unclaimed", inb(UNCLAIMED_PORT), 0xFF);
	gp_probe("cpl3-cli-gp", user_cli, 0);
	gp_probe("cpl3-mov-from-cr0-gp", user_cr0, 0);
	gp_probe("cpl3-in-gp", user_in, 0);
	gp_probe("cpl3-mov-ds-dpl0-gp", user_mov_ds, PM_KERNEL_DS);
}

static void user_mode_probes(void)
{
	static const struct {
		const char *ctx;
		uint32_t set;
	} ctxs[] = {
		{ "if1", EFLAGS_IF },
		{ "if0", 0 },
		{ "iopl3", EFLAGS_IOPL },
	};

	for (unsigned i = 0; i < sizeof(ctxs) / sizeof(ctxs[0]); i++) {
		user_full = i == 0;
		user_run(user_probes, EFLAGS_RESERVED | ctxs[i].set);
		if (!check_why(user_vector == -1, name(3, ctxs[i].ctx, "ran"),
		               "vector %d", user_vector))
			continue;
		if (user_full)
			judge(&user_obs, 3, PM_USER_CS, PM_USER_DS);
		judge_flags(&user_flags, 3, ctxs[i].ctx, ctxs[i].set);
	}
}

static void cpuid_info(void)
{
	uint32_t a = 0, b, c = 0, d;
	char vendor[13];

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = '\0';
	a = 1;
	c = 0;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	printf("info: cpuid vendor %s, hypervisor bit %u\n", vendor,
	       c >> 31);
}

int guest_main(void)
{
	pm_init(trap);
	setup();
	kernel_probes();
	privileged_probes();
	user_mode_probes();
	cpuid_info();
	return finish();
}
