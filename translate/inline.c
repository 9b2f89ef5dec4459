/*
 * inline.c — instructions translated into inline sequences instead of
 * callouts: CLI, STI, PUSHF, POPF (against the virtual IF and flags in
 * the vpage), the near indirect branches RET, RET imm16, JMP r/m and
 * CALL r/m and direct JMP/CALL to another page (through the inline
 * lookup table, TC_LOOKUP), and RDTSC
 * (copied: the guest reads the host TSC, as it does in trap mode), MOV
 * from CR0/CR2/CR3/CR4 (from copies in the vpage), and the segment
 * register instructions below.
 *
 * Translated code reaches the vpage through %gs, which the monitor loads
 * with a segment based at TC_VPAGE while translated code runs (the guest's
 * own %gs is virtual there: instructions that use it are emulated).  The
 * sequences use vpage scratch words, never the guest's memory beyond what
 * the guest instruction itself touches (POPF rewrites the stack slot it
 * pops and puts the guest's value back).
 *
 * Precise state: the first instruction of each sequence that can fault
 * runs while every register still holds the guest's value, and is mapped
 * to the guest instruction's EIP; positions where registers hold scratch
 * values are mapped "nb" (tc_map_nb): a kick that lands there makes the
 * monitor single-step to the next exact position.  The hit paths of the
 * indirect branches end in `jmp *%gs:TCV_JT` into the target block.
 *
 * Encodings are 32-bit; `gs:d` is the 65 prefix with a disp32 ModRM
 * (mod 00, r/m 101).
 */
#include "translate/tc_impl.h"

#include <string.h>

#define EAX 0
#define ECX 1
/* EFLAGS bits POPF gives the host: CF PF AF ZF SF DF OF (TF is the
 * monitor's). */
#define HOST_FLAGS 0x00000CD5u
/* The virtual bits besides IF that POPF compares (IOPL NT AC ID). */
#define VFL_BITS   0x00247000u

static void b3(struct out *o, uint8_t a, uint8_t b, uint8_t c)
{
	uint8_t x[3] = { a, b, c };
	tc_put(o, x, 3);
}

/* mov %r, %gs:d */
static void st_gs(struct out *o, unsigned r, uint32_t d)
{
	b3(o, 0x65, 0x89, (uint8_t)(r << 3 | 5));
	tc_put32(o, d);
}

/* mov %gs:d, %r */
static void ld_gs(struct out *o, unsigned r, uint32_t d)
{
	b3(o, 0x65, 0x8B, (uint8_t)(r << 3 | 5));
	tc_put32(o, d);
}

/* movl $imm, %gs:d */
static void st_gs_imm(struct out *o, uint32_t d, uint32_t imm)
{
	b3(o, 0x65, 0xC7, 0x05);
	tc_put32(o, d);
	tc_put32(o, imm);
}

/* <op> %gs:d, %eax for op 0B (or) / 3B (cmp) */
static void op_gs_eax(struct out *o, uint8_t op, uint32_t d)
{
	b3(o, 0x65, op, 0x05);
	tc_put32(o, d);
}

/* and $imm, %eax */
static void and_eax(struct out *o, uint32_t imm)
{
	tc_put8(o, 0x25);
	tc_put32(o, imm);
}

static void cli(struct out *o, const struct scan_insn *si)
{
	tc_map(o, si->eip);
	st_gs_imm(o, TCV_VIF, 0);                 /* movl $0, %gs:VIF */
}

/* STI: IF on, unless an interrupt may be waiting — then the monitor
 * carries the STI out (and honours its shadow). */
static void sti(struct out *o, const struct scan_insn *si)
{
	tc_map(o, si->eip);
	st_gs(o, ECX, TCV_S1);
	tc_map_nb(o);
	ld_gs(o, ECX, TCV_PEND);
	tc_put8(o, 0xE3);                         /* jecxz 1f */
	tc_put8(o, 14);
	ld_gs(o, ECX, TCV_S1);
	tc_map(o, si->eip);
	tc_far_to_site(o, TC_SITE_EMULATE, si->cls, si->eip, 0);
	tc_map_nb(o);                             /* 1: */
	ld_gs(o, ECX, TCV_S1);
	tc_map(o, si->eip);
	st_gs_imm(o, TCV_VIF, 0x200);
}

/* PUSHF: the host image H differs from the guest's only in IF (always
 * 1 on the host) and the virtual bits (0 on the host; popek's TF is never
 * set when a PUSHF starts: stepping stops at exact positions): the image
 * is H + VIF + (VFL - IF), the last term kept in the vpage (TCV_PDELTA)
 * — two LEAs, no flag touched. */
static void pushf(struct out *o, const struct scan_insn *si)
{
	tc_map(o, si->eip);
	tc_put8(o, 0x9C);                         /* pushf (may fault) */
	tc_map_nb(o);
	st_gs(o, EAX, TCV_S0);
	st_gs(o, ECX, TCV_S1);
	b3(o, 0x8B, 0x0C, 0x24);                  /* mov (%esp), %ecx */
	ld_gs(o, EAX, TCV_PDELTA);
	b3(o, 0x8D, 0x0C, 0x01);                  /* lea (%ecx,%eax), %ecx */
	ld_gs(o, EAX, TCV_VIF);
	b3(o, 0x8D, 0x0C, 0x01);
	b3(o, 0x89, 0x0C, 0x24);                  /* mov %ecx, (%esp) */
	ld_gs(o, EAX, TCV_S0);
	ld_gs(o, ECX, TCV_S1);
}

/* POPF at CPL 0: IF from the image; a change to IOPL, NT, AC or ID goes
 * to the monitor.  The host POPF takes the arithmetic flags from a
 * stripped copy of the image in the guest's slot, which then gets the
 * guest's value back.  IF set with an interrupt waiting: exit. */
static void popf(struct out *o, const struct scan_insn *si)
{
	uint32_t next = si->eip + si->len;

	tc_map(o, si->eip);
	/* orl $0, (%esp): the slot written back with its own value, so that
	 * the store below cannot fault at an nb position (a clean or
	 * read-only page faults here, on exact state). */
	uint8_t touch[4] = { 0x83, 0x0C, 0x24, 0x00 };
	tc_put(o, touch, 4);
	tc_map_nb(o);                             /* (flags now scratch) */
	st_gs(o, EAX, TCV_S0);
	b3(o, 0x8B, 0x04, 0x24);                  /* mov (%esp), %eax */
	st_gs(o, EAX, TCV_G);
	and_eax(o, VFL_BITS);
	op_gs_eax(o, 0x3B, TCV_VFL);              /* cmp %gs:VFL, %eax */
	tc_put8(o, 0x74);                         /* je fast */
	tc_put8(o, 14);
	ld_gs(o, EAX, TCV_S0);
	tc_map(o, si->eip);      /* (flags clobbered: the callout's POPF sets
	                          * them all) */
	tc_far_to_site(o, TC_SITE_EMULATE, si->cls, si->eip, 0);
	tc_map_nb(o);                             /* fast: */
	ld_gs(o, EAX, TCV_G);
	and_eax(o, 0x200);
	st_gs(o, EAX, TCV_VIF);
	ld_gs(o, EAX, TCV_G);
	and_eax(o, HOST_FLAGS);
	b3(o, 0x83, 0xC8, 0x02);                  /* or $2, %eax */
	op_gs_eax(o, 0x0B, TCV_TF);
	b3(o, 0x89, 0x04, 0x24);                  /* mov %eax, (%esp) */
	ld_gs(o, EAX, TCV_S0);
	tc_put8(o, 0x9D);                         /* popf */
	st_gs(o, EAX, TCV_S0);
	ld_gs(o, EAX, TCV_G);
	uint8_t back[4] = { 0x89, 0x44, 0x24, 0xFC };  /* mov %eax, -4(%esp) */
	tc_put(o, back, 4);
	ld_gs(o, EAX, TCV_S0);
	st_gs(o, ECX, TCV_S1);
	ld_gs(o, ECX, TCV_VIF);
	tc_put8(o, 0xE3);                         /* jecxz done */
	tc_put8(o, 7 + 2 + 7 + 7);
	ld_gs(o, ECX, TCV_PEND);
	tc_put8(o, 0xE3);                         /* jecxz done */
	tc_put8(o, 7 + 7);
	ld_gs(o, ECX, TCV_S1);
	tc_map(o, next);
	tc_far_to_site(o, TC_SITE_BRANCH, 0, next, 0);
	tc_map_nb(o);                             /* done: */
	ld_gs(o, ECX, TCV_S1);
}

/* EAX := the branch target; the copy of a JMP/CALL r/m as MOV r/m, %eax
 * (same prefixes, ModRM with reg = 0), or RET's (%esp). */
static void target_to_eax(struct out *o, const uint8_t *b, unsigned len,
                          unsigned pfx, bool ret)
{
	if (ret) {
		b3(o, 0x8B, 0x04, 0x24);
		return;
	}
	tc_put(o, b, pfx);
	tc_put8(o, 0x8B);
	tc_put8(o, (uint8_t)(b[pfx + 1] & 0xC7));
	tc_put(o, b + pfx + 2, len - pfx - 2);
}

/* mov %gs:TC_LOOKUP+off(,%ecx,8), %ecx (ECX = the index) */
static void lookup_ecx(struct out *o, uint32_t off)
{
	uint8_t x[4] = { 0x65, 0x8B, 0x0C, 0xCD };
	tc_put(o, x, 4);
	tc_put32(o, TC_LOOKUP - TC_VPAGE + off);
}

enum ind { IND_RET, IND_JMP, IND_CALL };

static void save_scratch(struct out *o)
{
	st_gs(o, ECX, TCV_S1);
	st_gs(o, EAX, TCV_S0);
}

static void restore_scratch(struct out *o)
{
	ld_gs(o, EAX, TCV_S0);
	ld_gs(o, ECX, TCV_S1);
}

/* With the target in EAX: the lookup table's entry for it matches?  On a
 * miss the registers come back and the next exit_len bytes (the caller's
 * way to the monitor) run; a hit jumps over them. */
static void probe(struct out *o, unsigned exit_len)
{
	b3(o, 0x0F, 0xB7, 0xC8);                  /* movzwl %ax, %ecx */
	lookup_ecx(o, 0);                         /* the entry's guest EIP */
	tc_put8(o, 0xF7);                         /* not %eax */
	tc_put8(o, 0xD0);
	uint8_t diff[4] = { 0x8D, 0x4C, 0x01, 0x01 };  /* lea 1(%ecx,%eax), %ecx */
	tc_put(o, diff, 4);
	tc_put8(o, 0xE3);                         /* jecxz hit */
	tc_put8(o, (uint8_t)(7 + 7 + exit_len));
	restore_scratch(o);
}

/* jmp *%gs:JT: into the target block the hit path put there. */
static void jump_jt(struct out *o)
{
	b3(o, 0x65, 0xFF, 0x25);
	tc_put32(o, TCV_JT);
}

static void indirect(struct out *o, const struct scan_insn *si,
                     const uint8_t *b, unsigned pfx, enum ind k,
                     uint32_t pop)
{
	tc_map(o, si->eip);
	save_scratch(o);
	target_to_eax(o, b, si->len, pfx, k == IND_RET);   /* may fault */
	tc_map_nb(o);
	st_gs(o, EAX, TCV_T);
	probe(o, 7);
	tc_map(o, si->eip);                       /* miss: the monitor */
	tc_far_to_site(o, TC_SITE_EMULATE, si->cls, si->eip, 0);
	tc_map_nb(o);                             /* hit: */
	ld_gs(o, EAX, TCV_T);
	b3(o, 0x0F, 0xB7, 0xC8);
	lookup_ecx(o, 4);                         /* the entry's TC address */
	st_gs(o, ECX, TCV_JT);
	restore_scratch(o);
	if (k == IND_RET) {
		uint8_t lea[3] = { 0x8D, 0xA4, 0x24 };  /* lea pop(%esp), %esp */
		tc_put(o, lea, 3);
		tc_put32(o, pop);
	} else {
		tc_map(o, si->eip);
		if (k == IND_CALL) {
			tc_put8(o, 0x68);                 /* push $next (may fault) */
			tc_put32(o, si->eip + si->len);
			tc_map_nb(o);
		}
	}
	jump_jt(o);
}

void tc_lookup_jump(struct out *o, uint32_t t)
{
	tc_map(o, t);                 /* the jump has no effect but EIP */
	save_scratch(o);
	tc_map_nb(o);
	tc_put8(o, 0xB8);                         /* mov $t, %eax */
	tc_put32(o, t);
	probe(o, 5);
	tc_map(o, t);
	tc_jmp_exit(o, t);                        /* miss: the monitor */
	tc_map_nb(o);                             /* hit: */
	tc_put8(o, 0xB9);                         /* mov $(t & 0xffff), %ecx */
	tc_put32(o, t & 0xFFFFu);
	lookup_ecx(o, 4);
	st_gs(o, ECX, TCV_JT);
	restore_scratch(o);
	tc_map(o, t);
	jump_jt(o);
}

/* --- segment registers ------------------------------------------------
 *
 * In translated code DS, ES, FS and SS hold the host selectors of the
 * guest's shadows (vmm/segshadow.c).  MOV Sreg and POP Sreg of DS, ES or
 * FS look the guest selector up in TC_SELTAB, where the monitor has put
 * the host selector of every selector it has itself loaded at CPL 0 and
 * whose shadow is still current; the load is then native, and the
 * monitor maps the host selector back to the guest's cache at the next
 * exit (system_native_loads).  PUSH Sreg pushes the host selector and
 * rewrites the slot with the guest's from TC_SELREV.  A miss in either
 * table is the callout the instruction used to be.  SS and GS loads stay
 * callouts (MOV SS's interrupt shadow; GS is the monitor's here).  VERW
 * (Linux's CLEAR_CPU_BUFFERS on every return to user mode) answers from
 * TC_VERWTAB, which the monitor fills for the same selectors. */

/* The end of a sequence that keeps guest ECX in S1: the hit path gets
 * it back (unless ECX is its result) and jumps over the miss path, which
 * gets it back and calls out (at exact state: the hit path's effects
 * were all skipped). */
static void ecx_back_or_callout(struct out *o, const struct scan_insn *si,
                                bool hit_restores)
{
	if (hit_restores)
		ld_gs(o, ECX, TCV_S1);
	tc_put8(o, 0xEB);                         /* jmp done */
	tc_put8(o, 7 + 7);
	ld_gs(o, ECX, TCV_S1);                    /* miss: */
	tc_map(o, si->eip);
	tc_far_to_site(o, TC_SITE_EMULATE, si->cls, si->eip, 0);
	tc_map_nb(o);                             /* done: */
}

/* At the guest instruction's EIP: S1 := ECX, then ECX := its r/m16
 * operand (ModRM at b[at], prefixes b[0..pfx) kept), zero-extended —
 * the one instruction that may fault, on exact state. */
static void rm16_to_ecx(struct out *o, const struct scan_insn *si,
                        const uint8_t *b, unsigned pfx, unsigned at)
{
	tc_map(o, si->eip);
	st_gs(o, ECX, TCV_S1);
	tc_put(o, b, pfx);                        /* movzwl r/m16, %ecx */
	tc_put8(o, 0x0F);
	tc_put8(o, 0xB7);
	tc_put8(o, (uint8_t)((b[at] & 0xC7) | ECX << 3));
	tc_put(o, b + at + 1, si->len - at - 1);
	tc_map_nb(o);
}

/* mov %ecx, %sreg */
static void load_sreg_ecx(struct out *o, unsigned sreg)
{
	tc_put8(o, 0x8E);
	tc_put8(o, (uint8_t)(0xC0 | sreg << 3 | ECX));
}

/* With the guest selector in ECX (guest ECX in S1): load it (the table
 * holds host selector + 1), or on a miss restore ECX and call out; `pop`
 * adds 4 to ESP after a hit. */
static void seg_load_tail(struct out *o, const struct scan_insn *si,
                          unsigned sreg, bool pop)
{
	uint8_t x[5] = { 0x65, 0x0F, 0xB7, 0x0C, 0x4D };
	tc_put(o, x, 5);          /* movzwl %gs:SELTAB(,%ecx,2), %ecx */
	tc_put32(o, TC_SELTAB - TC_VPAGE);
	tc_put8(o, 0xE3);                         /* jecxz miss */
	tc_put8(o, (uint8_t)(3 + 2 + (pop ? 4 : 0) + 7 + 2));
	b3(o, 0x8D, 0x49, 0xFF);                  /* lea -1(%ecx), %ecx */
	load_sreg_ecx(o, sreg);
	if (pop) {
		uint8_t lea[4] = { 0x8D, 0x64, 0x24, 0x04 };  /* lea 4(%esp), %esp */
		tc_put(o, lea, 4);
	}
	ecx_back_or_callout(o, si, true);
}

/* 8E /r (reg: ES 0, DS 3, FS 4): MOV Sreg, r/m16. */
static void mov_sreg(struct out *o, const struct scan_insn *si,
                     const uint8_t *b, unsigned pfx)
{
	rm16_to_ecx(o, si, b, pfx, pfx + 1);
	seg_load_tail(o, si, (b[pfx + 1] >> 3) & 7, false);
}

/* 07 / 1F / 0F A1: POP ES / DS / FS (32-bit operand size). */
static void pop_sreg(struct out *o, const struct scan_insn *si, unsigned sreg)
{
	tc_map(o, si->eip);
	st_gs(o, ECX, TCV_S1);
	uint8_t ld[4] = { 0x0F, 0xB7, 0x0C, 0x24 };   /* movzwl (%esp), %ecx */
	tc_put(o, ld, 4);                         /* (may fault) */
	tc_map_nb(o);
	seg_load_tail(o, si, sreg, true);
}

/* 06 / 16 / 1E / 0F A0: PUSH ES / SS / DS / FS (32-bit operand size):
 * the host's PUSH (which may fault), then the slot's low half becomes
 * the guest's selector; on a miss the push is undone first. */
static void push_sreg(struct out *o, const struct scan_insn *si,
                      const uint8_t *b)
{
	tc_map(o, si->eip);
	tc_put(o, b, si->len);
	tc_map_nb(o);
	st_gs(o, ECX, TCV_S1);
	uint8_t ld[4] = { 0x0F, 0xB7, 0x0C, 0x24 };   /* movzwl (%esp), %ecx */
	tc_put(o, ld, 4);
	uint8_t rev[4] = { 0x65, 0x8B, 0x0C, 0x8D };  /* mov %gs:REV(,%ecx,4), %ecx */
	tc_put(o, rev, 4);
	tc_put32(o, TC_SELREV - TC_VPAGE);
	tc_put8(o, 0xE3);                         /* jecxz miss */
	tc_put8(o, 4 + 7 + 2);
	uint8_t st[4] = { 0x66, 0x89, 0x0C, 0x24 };   /* mov %cx, (%esp) */
	tc_put(o, st, 4);
	ld_gs(o, ECX, TCV_S1);
	tc_put8(o, 0xEB);                         /* jmp done */
	tc_put8(o, 7 + 4 + 7);
	ld_gs(o, ECX, TCV_S1);                    /* miss: */
	uint8_t lea[4] = { 0x8D, 0x64, 0x24, 0x04 };  /* lea 4(%esp), %esp */
	tc_put(o, lea, 4);
	tc_map(o, si->eip);
	tc_far_to_site(o, TC_SITE_EMULATE, si->cls, si->eip, 0);
	tc_map_nb(o);                             /* done: */
}

/* 0F 00 /5: VERW r/m16 at CPL 0: ZF from TC_VERWTAB, set through LAHF,
 * TC_ZFTAB and SAHF (which leaves OF alone, as VERW does). */
static void verw(struct out *o, const struct scan_insn *si, const uint8_t *b,
                 unsigned pfx)
{
	rm16_to_ecx(o, si, b, pfx, pfx + 2);
	uint8_t t[4] = { 0x65, 0x0F, 0xB6, 0x89 };    /* movzbl %gs:VERW(%ecx), %ecx */
	tc_put(o, t, 4);
	tc_put32(o, TC_VERWTAB - TC_VPAGE);
	tc_put8(o, 0xE3);                         /* jecxz miss */
	tc_put8(o, 7 + 1 + 3 + 9 + 2 + 1 + 7 + 7 + 2);
	st_gs(o, EAX, TCV_S0);
	tc_put8(o, 0x9F);                         /* lahf */
	b3(o, 0x0F, 0xB6, 0xC4);                  /* movzbl %ah, %eax */
	uint8_t z[5] = { 0x65, 0x0F, 0xB6, 0x84, 0xC1 };  /* movzbl %gs:ZF(%ecx,%eax,8), %eax */
	tc_put(o, z, 5);
	tc_put32(o, TC_ZFTAB - TC_VPAGE);
	tc_put8(o, 0x88);                         /* mov %al, %ah */
	tc_put8(o, 0xC4);
	tc_put8(o, 0x9E);                         /* sahf */
	ld_gs(o, EAX, TCV_S0);
	ecx_back_or_callout(o, si, true);
}

/* 8C /r, register form: MOV r32, Sreg — the host's selector, then the
 * guest's from TC_SELREV (zero-extended, as P6 and later write a 32-bit
 * destination).  CS and GS are translated code's own here: never in the
 * table, so always callouts. */
static void mov_from_sreg(struct out *o, const struct scan_insn *si,
                          unsigned sreg, unsigned dst)
{
	tc_map(o, si->eip);
	st_gs(o, ECX, TCV_S1);
	tc_map_nb(o);
	tc_put8(o, 0x8C);                         /* mov %sreg, %ecx */
	tc_put8(o, (uint8_t)(0xC0 | sreg << 3 | ECX));
	uint8_t rev[4] = { 0x65, 0x8B, 0x0C, 0x8D };  /* mov %gs:REV(,%ecx,4), %ecx */
	tc_put(o, rev, 4);
	tc_put32(o, TC_SELREV - TC_VPAGE);
	tc_put8(o, 0xE3);                         /* jecxz miss */
	tc_put8(o, (uint8_t)(3 + (dst != ECX ? 7 : 0) + 2));
	b3(o, 0x0F, 0xB7, (uint8_t)(0xC0 | dst << 3 | ECX));  /* movzwl %cx, dst */
	ecx_back_or_callout(o, si, dst != ECX);
}

/* The segment register instructions above, or false. */
static bool segment(struct out *o, const struct scan_insn *si,
                    const uint8_t *b, unsigned pfx, bool plain)
{
	unsigned op = b[pfx];

	if (plain && si->len == 1 && (op == 0x06 || op == 0x16 || op == 0x1E)) {
		push_sreg(o, si, b);
	} else if (plain && si->len == 2 && op == 0x0F && b[1] == 0xA0) {
		push_sreg(o, si, b);
	} else if (plain && si->len == 1 && (op == 0x07 || op == 0x1F)) {
		pop_sreg(o, si, op == 0x07 ? 0 : 3);
	} else if (plain && si->len == 2 && op == 0x0F && b[1] == 0xA1) {
		pop_sreg(o, si, 4);
	} else if (op == 0x0F && pfx + 2 < si->len && b[pfx + 1] == 0x00 &&
	           ((b[pfx + 2] >> 3) & 7) == 5) {
		verw(o, si, b, pfx);
	} else if (plain && op == 0x8C && si->len == 2 && (b[1] >> 6) == 3 &&
	           ((b[1] >> 3) & 7) < 6) {
		mov_from_sreg(o, si, (b[1] >> 3) & 7, b[1] & 7);
	} else if (op == 0x8E && pfx + 1 < si->len) {
		unsigned sreg = (b[pfx + 1] >> 3) & 7;
		if (sreg != 0 && sreg != 3 && sreg != 4)
			return false;
		mov_sreg(o, si, b, pfx);
	} else {
		return false;
	}
	return true;
}

/* The instruction after an STI becomes a callout, or lies in the next
 * block (the monitor must then run the STI itself, for its interrupt
 * shadow: STI; HLT). */
static bool next_is_callout(const struct scan_insn *next, const uint8_t *nb)
{
	if (!next)
		return true;
	if (next->cls == SCAN_IDENT || next->cls == SCAN_BRANCH_DIRECT)
		return false;
	return !(next->len == 1 && (nb[0] == 0xFA || nb[0] == 0xFB ||
	                            nb[0] == 0x9C || nb[0] == 0x9D));
}

bool tc_inline(struct out *o, const struct scan_insn *si, const uint8_t *b,
               const struct scan_insn *next, bool *ends)
{
	unsigned pfx = 0, op;

	*ends = false;
	while (pfx < si->len && (b[pfx] == 0x2E || b[pfx] == 0x36 ||
	                         b[pfx] == 0x3E || b[pfx] == 0x26 ||
	                         b[pfx] == 0x64 || b[pfx] == 0x67))
		pfx++;
	if (pfx >= si->len || (si->flags & SCAN_F_RESV_SEG))
		return false;
	op = b[pfx];
	bool plain = pfx == 0;
	/* CPL 3: only what needs no privilege check and no lookup table
	 * (whose blocks are CPL 0's). */
	if (o->user && !(plain && (op == 0x9C || (op == 0x0F && si->len == 2 &&
	                                          b[1] == 0x31))))
		return false;
	if (plain && op == 0xFA) {
		cli(o, si);
	} else if (plain && op == 0xFB && !next_is_callout(next, b + si->len)) {
		sti(o, si);               /* (STI then a callout: the monitor's,
		                           * for its interrupt shadow) */
	} else if (plain && op == 0x0F && si->len == 2 && b[1] == 0x31) {
		/* RDTSC: the host TSC, as trap mode gives it (README, Limits) */
		tc_map(o, si->eip);
		tc_put(o, b, 2);
	} else if (plain && op == 0x9C) {
		pushf(o, si);
	} else if (plain && op == 0x9D) {
		popf(o, si);
	} else if (segment(o, si, b, pfx, plain)) {
		;
	} else if (plain && op == 0x0F && si->len == 3 && b[1] == 0x20 &&
	           ((b[2] >> 3) & 7) != 1 && ((b[2] >> 3) & 7) <= 4) {
		/* MOV r32, CR0/2/3/4: the values bt_load_area put in the
		 * vpage (CR writes are callouts; CR2 changes only when the
		 * monitor delivers a #PF) */
		tc_map(o, si->eip);
		ld_gs(o, b[2] & 7, TCV_CR0 + 4u * ((b[2] >> 3) & 7));
	} else if (plain && (op == 0xC3 || op == 0xC2)) {
		uint32_t imm = op == 0xC2 ? (uint32_t)(b[1] | b[2] << 8) : 0;
		indirect(o, si, b, pfx, IND_RET, 4 + imm);
		*ends = true;
	} else if (op == 0xFF && pfx + 1 < si->len &&
	           (((b[pfx + 1] >> 3) & 7) == 4 || ((b[pfx + 1] >> 3) & 7) == 2)) {
		bool call = ((b[pfx + 1] >> 3) & 7) == 2;
		indirect(o, si, b, pfx, call ? IND_CALL : IND_JMP, 0);
		*ends = true;
	} else {
		return false;
	}
	return true;
}
