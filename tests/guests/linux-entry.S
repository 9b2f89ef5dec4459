/*
 * linux-entry.S — a synthetic Linux bzImage (boot protocol 2.15) whose
 * "kernel" checks the state popek's Linux loader and vCPU give it at the
 * 32-bit entry point (Documentation/arch/x86/boot.rst, "32-bit Boot
 * Protocol") and writes a status to the debug-exit port 0xf4: 0 when all
 * holds, else the number of the first check that failed (see the table
 * in tests/guests/linux-entry.sh).
 *
 * Linked at 0x100000 - 0xA00 and turned into a flat binary, so that the
 * boot sector and four setup sectors (0xA00 bytes, only the setup header
 * filled in) come first in the file and the protected-mode part, at file
 * offset 0xA00, runs at 0x100000.  Expects the command line to start
 * with "test" and, when run with --initrd, an initrd starting "pope".
 */
	.text
	.code32
setup:
	.org 0x1F1
	.byte 4                          /* setup_sects */
	.word 0                          /* root_flags */
	.long (pm_end - pm_start + 15) / 16   /* syssize */
	.word 0, 0xFFFF, 0               /* ram_size, vid_mode, root_dev */
	.word 0xAA55                     /* boot_flag, 0x1FE */
	.byte 0xEB, hdr_end - 0x202 - setup   /* jump: the header's length */
	.ascii "HdrS"                    /* 0x202 */
	.word 0x020F                     /* version 2.15 */
	.long 0                          /* realmode_swtch */
	.word 0x1000, 0                  /* start_sys_seg, kernel_version */
	.byte 0, 0x01                    /* type_of_loader, loadflags: LOADED_HIGH */
	.word 0                          /* setup_move_size */
	.long 0x100000                   /* code32_start, 0x214 */
	.long 0, 0, 0                    /* ramdisk_image, _size, bootsect_kludge */
	.word 0                          /* heap_end_ptr */
	.byte 0, 0                       /* ext_loader_ver, _type */
	.long 0                          /* cmd_line_ptr, 0x228 */
	.long 0x7FFFFFFF                 /* initrd_addr_max */
	.long 0x100000                   /* kernel_alignment */
	.byte 0, 0                       /* relocatable_kernel, min_alignment */
	.word 0                          /* xloadflags: not 64-bit */
	.long 255                        /* cmdline_size, 0x238 */
	.long 0                          /* hardware_subarch */
	.quad 0                          /* hardware_subarch_data */
	.long 0, 0                       /* payload_offset, _length */
	.quad 0                          /* setup_data */
	.quad 0x100000                   /* pref_address, 0x258 */
	.long 0x10000                    /* init_size, 0x260 */
	.long 0, 0                       /* handover_offset, kernel_info_offset */
hdr_end:
	.org 0xA00

pm_start:                                /* 0x100000 */
	mov $1, %al                      /* ESI = the zero page */
	cmp $0x10000, %esi
	jne fail
	mov $2, %al                      /* EBX = EBP = EDI = 0 */
	test %ebx, %ebx
	jnz fail
	test %ebp, %ebp
	jnz fail
	test %edi, %edi
	jnz fail
	mov $3, %al                      /* CS = __BOOT_CS */
	mov %cs, %cx
	cmp $0x10, %cx
	jne fail
	mov $4, %al                      /* DS = ES = SS = __BOOT_DS */
	mov %ds, %cx
	cmp $0x18, %cx
	jne fail
	mov %es, %cx
	cmp $0x18, %cx
	jne fail
	mov %ss, %cx
	cmp $0x18, %cx
	jne fail
	mov $0x90000, %esp               /* the protocol gives no stack */
	mov $5, %al                      /* IF = 0, paging off */
	pushf
	pop %ecx
	test $0x200, %ecx
	jnz fail
	mov %cr0, %ecx
	test %ecx, %ecx
	js fail
	mov $6, %al                      /* GDTR: the boot GDT */
	sgdt gdtr
	cmpw $31, gdtr
	jb fail
	mov $7, %al                      /* it holds what the selectors need */
	ljmp $0x10, $1f                  /* reload CS and DS from it */
1:	mov $0x18, %cx
	mov %cx, %ds
	mov %cx, %ss
	mov $8, %al                      /* e820: 4 entries, RAM from 1 MiB */
	cmpb $4, 0x1E8(%esi)
	jne fail
	cmpl $0x100000, 0x2D0 + 3 * 20(%esi)
	jne fail
	cmpl $1, 0x2D0 + 3 * 20 + 16(%esi)
	jne fail
	mov $9, %al                      /* the command line */
	mov 0x228(%esi), %ebx
	cmpl $0x74736574, (%ebx)         /* "test" */
	jne fail
	mov $10, %al                     /* an initrd, page-aligned, its bytes */
	mov 0x218(%esi), %ebx
	test %ebx, %ebx
	jz fail
	test $0xFFF, %ebx
	jnz fail
	cmpl $0, 0x21C(%esi)
	je fail
	cmpl $0x65706F70, (%ebx)         /* "pope" */
	jne fail
	xor %al, %al
fail:
	out %al, $0xF4
2:	hlt
	jmp 2b

	.balign 4
gdtr:	.word 0
	.long 0
	.balign 16                       /* syssize counts whole paragraphs */
pm_end:
