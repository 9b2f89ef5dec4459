/*
 * start.S — entry point of the test guests.
 *
 * Carries the multiboot v1 header (flags 0x3: page-aligned modules, memory
 * information) in its own section, which link.ld places first so that it
 * falls in the first 8 KiB of the file.  The loader enters _start with
 * EAX = 0x2BADB002, EBX = the information structure, paging off, flat
 * segments and an unknown ESP; _start gives the guest its own stack and
 * calls rt_start(magic, info) in lib.c, which never returns.
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003
#define STACK_SIZE 16384

	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
	.type _start, @function
_start:
	movl $stack_top, %esp
	xorl %ebp, %ebp            /* ends frame-pointer walks */
	cld                        /* the C ABI wants DF = 0 */
	pushl %ebx                 /* info */
	pushl %eax                 /* magic */
	call rt_start
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.bss
	.align 16
stack:
	.skip STACK_SIZE
stack_top:

	.section .note.GNU-stack, "", @progbits
