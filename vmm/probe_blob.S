/*
 * probe_blob.S — the Popek–Goldberg probe suite compiled into popek for
 * `popek probe` (vmm/probe.c): the guest, tests/pg/probe.elf (built by the
 * guest rules of tests/guests/local.mk, found in the build directory), and
 * its expected results, tests/pg/expect.txt (found through the assembler's
 * include path, which vmm/local.mk points at the source directory).
 * Compiled in, they work from any directory, installed or not, and always
 * belong to the binary that runs them.
 */
	.section .rodata
	.balign 16
	.globl probe_elf_start, probe_elf_end
probe_elf_start:
	.incbin "tests/pg/probe.elf"
probe_elf_end:
	.globl probe_expect_start, probe_expect_end
probe_expect_start:
	.incbin "tests/pg/expect.txt"
probe_expect_end:
	.byte 0

	.section .note.GNU-stack, "", @progbits
