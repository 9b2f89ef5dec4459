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
	fxrstor64 SA_FPU(%rdi)

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
	/* From here FS is the guest's: no TLS, no C. */
	mov	SA_SEL+6(%rdi), %ds
	mov	SA_SEL+0(%rdi), %es
	mov	SA_SEL+8(%rdi), %fs
	mov	SA_SEL+10(%rdi), %gs
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
	je	8f
	mov	SA_FSBASE(%rcx), %rax
	wrfsbase %rax
8:	xor	%ecx, %ecx
	sub	$8, %rsp
	call	switch_signal		/* returns only for a kick */
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
	movabs	%rax, TC_VPAGE + TCV_RAX
	movabs	TC_VPAGE + TCV_AREA, %rax
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
	fninit
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
2:	push	$0x1F80			/* the monitor's MXCSR */
	ldmxcsr	(%rsp)
	add	$8, %rsp
	movq	$0, SA_IN_GUEST(%rdx)
	jmp	popek_resume
	.size popek_callout, .-popek_callout

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

	.section .note.GNU-stack,"",@progbits
