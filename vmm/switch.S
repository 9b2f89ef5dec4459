/*
 * switch.S — world switch into and out of 32-bit guest code.  See switch.h
 * for the protocol; this file holds the three pieces that must not be C:
 * the entry (segment loads and iretq), the signal entry (FS base repair
 * before any C code may use TLS or the stack protector) and the resume
 * point the signal entry jumps back to.
 */
#include "vmm/switch.h"
#include "translate/tc.h"

	.text

/* popek_enter: load segment register \sreg from SA_SEL+\off(%rdi), a null
 * one over the flat selector in EAX, or (FSGSBASE) keep a null one the
 * register holds already and zero its base with \wrbase (see there). */
/* The monitor's x87 and SSE modes (FCW 0x37F, empty tags; MXCSR 0x1F80)
 * over whatever the guest left in the registers; needs a stack. */
.macro monitor_fpu
	fninit
	push	$0x1F80
	ldmxcsr	(%rsp)
	add	$8, %rsp
.endm

.macro seg_enter sreg, off, wrbase
	testw	$0xFFFC, SA_SEL+\off(%rdi)
	jnz	1f
	cmpl	$0, SA_WRFSBASE(%rdi)
	je	0f
	mov	%\sreg, %ecx
	cmpw	SA_SEL+\off(%rdi), %cx
	jne	0f
	xor	%ecx, %ecx
	\wrbase	%rcx
	jmp	2f
0:	mov	%eax, %\sreg
1:	mov	SA_SEL+\off(%rdi), %\sreg
2:
.endm

/* void popek_enter(struct switch_area *area)  — returns after a guest exit,
 * via popek_resume. */
	.globl popek_enter
	.globl popek_enter_begin
	.globl popek_enter_end
	.type popek_enter, @function
popek_enter:
popek_enter_begin:
	push	%rbx
	push	%rbp
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* the area, for popek_resume */
	sub	$8, %rsp		/* keep 16-byte alignment */
	mov	%rsp, SA_HOST_RSP(%rdi)
	/* No monitor value in the AVX/AVX-512 state (switch.h), before the
	 * guest's x87/SSE image.  AVX and AVX-512 alone (XCR0 bits 2, 5-7):
	 * zero the registers (~5 TSC cycles in a loop on the development
	 * host); anything else: XRSTOR its initial state from a zero image
	 * (~290; it may load MXCSR from the image, which is why FXRSTOR comes
	 * after). */
	mov	SA_XMASK(%rdi), %rax
	test	%rax, %rax
	jz	1f
	test	$~0xE4, %rax
	jnz	2f
	vzeroupper			/* bits 128 and up of (Z|Y)MM0-15 */
	test	$0xE0, %al
	jz	1f
	.irp n, 16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	vpxord	%zmm\n, %zmm\n, %zmm\n
	.endr
	.irp n, 0,1,2,3,4,5,6,7
	kxorw	%k\n, %k\n, %k\n
	.endr
	jmp	1f
2:	mov	%rax, %rdx
	shr	$32, %rdx
	xrstor64 popek_xinit(%rip)
1:	fxrstor64 SA_FPU(%rdi)

	/* iretq frame: SS, RSP, RFLAGS, CS, RIP */
	movzwl	SA_SEL+4(%rdi), %eax	/* SS */
	push	%rax
	mov	SA_GPR+16(%rdi), %eax	/* ESP */
	push	%rax
	mov	SA_EFLAGS(%rdi), %eax
	push	%rax
	movzwl	SA_SEL+2(%rdi), %eax	/* CS */
	push	%rax
	mov	SA_EIP(%rdi), %eax
	push	%rax

	movq	$1, SA_IN_GUEST(%rdi)
	/* A kick that arrived in the monitor before in_guest was set only
	 * left a note: honour it now instead of entering.  One that arrives
	 * from here on interrupts popek_enter or the guest and exits. */
	cmpl	$0, SA_KICKED(%rdi)
	jne	5f
	/* From here FS is the guest's: no TLS, no C.  A null FS or GS goes
	 * in over a flat selector's zero base: AMD keeps the old base on a
	 * null load (FS's is the monitor's TLS).  Translated code gets the
	 * key in GS base bits 32..46 (SA_GSBASE; switch.h). */
	mov	SA_SEL+6(%rdi), %ds
	mov	SA_SEL+0(%rdi), %es
	/* With FSGSBASE, a null FS or GS that is still in the register (the
	 * exit left the guest's) stays, and WRFSBASE/WRGSBASE zero its base
	 * (FS's is the monitor's TLS): ~30 TSC cycles, where the flat load
	 * and the null one cost ~140 on AMD.  Linux's user FS is null: every
	 * entry into guest user code. */
	mov	$HOST_DS64, %eax
	seg_enter fs, 8, wrfsbase
	seg_enter gs, 10, wrgsbase
	mov	SA_GSBASE(%rdi), %rax
	test	%rax, %rax
	jz	3f
	wrgsbase %rax
3:	mov	SA_GSKEY(%rdi), %rax	/* the gate's key over GS's own base */
	test	%rax, %rax
	jz	3f
	rdgsbase %r8
	mov	%r8d, %r8d
	or	%r8, %rax
	wrgsbase %rax
3:	xor	%r8d, %r8d		/* no monitor values for 64-bit guest code */
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	xor	%r12d, %r12d
	xor	%r13d, %r13d
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	mov	SA_GPR+0(%rdi), %eax
	mov	SA_GPR+4(%rdi), %ecx
	mov	SA_GPR+8(%rdi), %edx
	mov	SA_GPR+12(%rdi), %ebx
	mov	SA_GPR+20(%rdi), %ebp
	mov	SA_GPR+24(%rdi), %esi
	mov	SA_GPR+28(%rdi), %edi
	iretq
5:	movq	$0, SA_IN_GUEST(%rdi)
	add	$40, %rsp		/* drop the iretq frame */
	monitor_fpu			/* FXRSTOR loaded the guest's image (its
					 * copy in the area stays the guest's) */
	jmp	popek_resume
popek_enter_end:
	.size popek_enter, .-popek_enter

/* Signal handler entry: rdi = signo, rsi = siginfo, rdx = ucontext.
 * If the signal interrupted guest code (CS is not the host's 64-bit code
 * selector) or popek_enter itself, FS may hold a guest selector and base:
 * record the data selectors and restore the monitor FS base before any C
 * runs.  switch_signal() (C) then copies the guest state out of the frame,
 * and we go straight back to the monitor stack that popek_enter left —
 * no sigreturn: the handler runs with the guest's own signal mask
 * (SA_NODEFER, empty sa_mask) and the kernel has already given it a clean
 * FPU state, so the abandoned frame holds nothing the monitor needs.
 * A signal that interrupted the monitor itself goes to switch_signal with
 * a NULL area: a kick (noted for popek_enter) returns through the normal
 * sigreturn; anything else is a popek bug, reported there. */
	.globl popek_sig_entry
	.type popek_sig_entry, @function
popek_sig_entry:
	movzwl	UC_CSGSFS(%rdx), %eax
	cmp	$HOST_CS64, %eax
	jne	1f
	mov	UC_RIP(%rdx), %rax
	lea	popek_enter_begin(%rip), %r8
	cmp	%r8, %rax
	jb	3f
	lea	popek_enter_end(%rip), %r8
	cmp	%r8, %rax
	jae	3f
1:	mov	%rsp, %rcx
	and	$-SWITCH_ALT_SIZE, %rcx
	mov	%ds, SA_EXIT_SEL+0(%rcx)
	mov	%es, SA_EXIT_SEL+2(%rcx)
	mov	%fs, SA_EXIT_SEL+4(%rcx)
	mov	%gs, SA_EXIT_SEL+6(%rcx)
	/* DS, ES and GS may keep guest selectors: 64-bit code ignores them,
	 * and a null load costs ~150 cycles each.  With FSGSBASE the kernel
	 * saves and restores the FS selector and base independently, so
	 * wrfsbase alone repairs TLS. */
	cmpl	$0, SA_WRFSBASE(%rcx)
	je	2f
	mov	SA_FSBASE(%rcx), %rax
	wrfsbase %rax
	jmp	4f
2:	/* no FSGSBASE: arch_prctl(ARCH_SET_FS, base), which also loads a
	 * null FS selector (without FSGSBASE a non-null one would bring its
	 * descriptor's base back on the next context switch). */
	push	%rdi
	push	%rsi
	push	%rdx
	push	%rcx
	mov	SA_FSBASE(%rcx), %rsi
	mov	$0x1002, %edi
	mov	$158, %eax
	syscall
	pop	%rcx
	pop	%rdx
	pop	%rsi
	pop	%rdi
4:	push	%rcx			/* also aligns the stack for the call */
	call	switch_signal		/* 1: back to the monitor; 0: return */
	pop	%rcx
	test	%eax, %eax
	jz	6f
	mov	SA_HOST_RSP(%rcx), %rsp
	jmp	popek_resume
6:	ret				/* a kick before entry: just a note */
3:	/* The monitor's own code, a callout stub, or guest code that
	 * far-jumped to the 64-bit selector: in the last two the FS base
	 * may be the guest's, so repair it (harmless in the first) before
	 * C touches thread-local storage (a report does). */
	mov	%rsp, %rcx
	and	$-SWITCH_ALT_SIZE, %rcx
	movabs	$SWITCH_MAGIC, %rax
	cmp	%rax, SA_MAGIC(%rcx)
	jne	8f
	cmpl	$0, SA_WRFSBASE(%rcx)
	je	9f
	mov	SA_FSBASE(%rcx), %rax
	wrfsbase %rax
	jmp	9f
8:	xor	%ecx, %ecx
9:	sub	$8, %rsp
	call	switch_signal_outside	/* returns only for a kick */
	add	$8, %rsp
	ret
	.size popek_sig_entry, .-popek_sig_entry

/* Callout from translated code (switch.h): a TC stub stored its site
 * number in the vpage and jumped here, in 64-bit mode, with every GPR,
 * the stack pointer, EFLAGS and the x87/SSE state still the guest's.
 * No stack until RSP is the monitor's; RAX goes to the vpage first.
 * A kick that lands in here is only noted (popek_sig_entry's monitor
 * path; nothing here needs the FS base until it is repaired). */
	.globl popek_callout
	.type popek_callout, @function
popek_callout:
	mov	TCK_AREA(%rax), %rax	/* the trampoline left the key page */
	mov	%ds, SA_EXIT_SEL+0(%rax)	/* inline loads may have changed */
	mov	%es, SA_EXIT_SEL+2(%rax)	/* DS, ES and FS (translate/inline.c) */
	mov	%fs, SA_EXIT_SEL+4(%rax)
	mov	%gs, SA_EXIT_SEL+6(%rax)	/* (the vDSO gate's: guest user code */
	mov	%ss, SA_EXIT_SEL+8(%rax)	/* may have loaded them) */
	mov	%ecx, SA_GPR+4(%rax)
	mov	%edx, SA_GPR+8(%rax)
	mov	%ebx, SA_GPR+12(%rax)
	mov	%esp, SA_GPR+16(%rax)
	mov	%ebp, SA_GPR+20(%rax)
	mov	%esi, SA_GPR+24(%rax)
	mov	%edi, SA_GPR+28(%rax)
	mov	%rax, %rdx
	mov	$HOST_DS64, %ecx	/* SS: the guest's LDT entry may change */
	mov	%ecx, %ss
	mov	SA_HOST_RSP(%rdx), %rsp
	pushfq
	pop	%rcx
	mov	%ecx, SA_XFLAGS(%rdx)
	cld
	movabs	TC_VPAGE + TCV_RAX, %rax
	mov	%eax, SA_GPR+0(%rdx)
	movabs	TC_VPAGE + TCV_SITE, %eax
	mov	%eax, SA_SITE(%rdx)
	movl	$1, SA_CALLOUT(%rdx)
	fxsave64 SA_FPU(%rdx)
	/* The monitor's C wants the x87 default (FCW 0x37F, every register
	 * empty) and MXCSR 0x1F80.  The guest has them at most callouts:
	 * FNINIT (~70 TSC cycles) only where it does not. */
	cmpw	$0x037F, SA_FPU+0(%rdx)		/* FCW */
	jne	3f
	cmpb	$0, SA_FPU+4(%rdx)		/* abridged FTW: all empty */
	jne	3f
	cmpl	$0x1F80, SA_FPU+24(%rdx)	/* MXCSR */
	je	4f
3:	monitor_fpu
4:
	cmpl	$0, SA_WRFSBASE(%rdx)
	je	1f
	mov	SA_FSBASE(%rdx), %rax
	wrfsbase %rax
	jmp	2f
1:	mov	%rdx, %rbx		/* arch_prctl(ARCH_SET_FS, base) */
	mov	SA_FSBASE(%rdx), %rsi
	mov	$0x1002, %edi
	mov	$158, %eax
	syscall
	mov	%rbx, %rdx
2:	movq	$0, SA_IN_GUEST(%rdx)
	jmp	popek_resume
	.globl popek_callout_end
popek_callout_end:
	.size popek_callout, .-popek_callout

/* The trampoline templates (switch.h), copied to TC_TRAMP and run
 * there: save RAX, find the key page, jump to popek_callout with RAX
 * pointing at it.  Position-independent (absolute addresses only). */
	.globl popek_tramp_key
	.globl popek_tramp_key_end
popek_tramp_key:
	movabs	%rax, TC_VPAGE + TCV_RAX
	rdgsbase %rax			/* key page - TC_SIZE: see tc_gs_base */
	lea	TC_SIZE(%rax), %rax	/* (no flags change: they are the guest's) */
	jmp	*TCK_ENTRY(%rax)
popek_tramp_key_end:
	.globl popek_tramp_fixed
	.globl popek_tramp_fixed_end
popek_tramp_fixed:
	movabs	%rax, TC_VPAGE + TCV_RAX
	mov	$TC_KEYPAGE, %eax
	jmp	*TCK_ENTRY(%rax)
popek_tramp_fixed_end:

/* The vDSO gate (switch.h), copied to TC_GATE: absolute addresses and
 * RIP-relative ones within the template only.  Entered from guest user
 * code by `lcall $BT_TC_CS_SEL, $TC_GATE` with every register the
 * guest's; no flag may change (the guest's EFLAGS are saved by
 * popek_callout), so the key is tested with LEA, NOT and JRCXZ (and no
 * XOR clears a scratch register).  R8-R11 are free: compatibility mode
 * has none of the guest's there, and popek_enter zeroes them. */
	.globl popek_gate
	.globl popek_gate_nokey
	.globl popek_gate_end
popek_gate:
	.code32
	ljmp	$HOST_CS64, $(TC_GATE + (1f - popek_gate))
	.code64
1:	movabs	%rax, TC_VPAGE + TCV_RAX
	mov	$TC_SITE_GATE, %eax
	movabs	%eax, TC_VPAGE + TCV_SITE
	mov	%rcx, %r10
	rdgsbase %rcx
	mov	%ecx, %r11d		/* GS base minus its low half: the key */
	not	%r11
	lea	1(%rcx,%r11), %rcx
	jrcxz	2f
	mov	%rcx, %rax
	mov	%r10, %rcx
	jmp	*TCK_ENTRY(%rax)
2:	mov	%r10, %rcx		/* no key: back to 32-bit code, and HLT */
	movabs	TC_VPAGE + TCV_RAX, %rax
	ljmpl	*3f(%rip)
3:	.long	TC_GATE + (popek_gate_nokey - popek_gate)
	.word	TC_GATE_CS
	.code32
popek_gate_nokey:
	hlt
	.code64
popek_gate_end:

/* The signal entry jumps here on the monitor stack that popek_enter left. */
	.globl popek_resume
	.type popek_resume, @function
popek_resume:
	add	$16, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbp
	pop	%rbx
	ret
	.size popek_resume, .-popek_resume

/* XRSTOR's source for the initial AVX/AVX-512 state: a zero XSAVE
 * header (XSTATE_BV = 0) in the standard form; nothing else is read. */
	.bss
	.balign	64
popek_xinit:
	.zero	4096

	.section .note.GNU-stack,"",@progbits
