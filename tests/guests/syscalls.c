/*
 * syscalls.c — containment test.  Guest code runs natively on the host
 * CPU, so a Linux i386 system call instruction in the guest would reach
 * the host kernel unless popek stops it.  The command line word
 * how=int80|sysenter|syscall picks the instruction; the guest then tries
 * write(1, "ESCAPED\n", 8) and exit(42) with it, using the argument
 * registers that instruction's 32-bit ABI expects.  popek must end the VM
 * as a guest crash (status 3) before the host executes either call; if
 * the instruction returns, the guest says so and exits 42.
 */
#include "lib.h"

#define NR_EXIT  1
#define NR_WRITE 4

static const char msg[] = "ESCAPED\n";

/* INT 80h: EAX = number, EBX, ECX, EDX = arguments. */
static void try_int80(void)
{
	uint32_t eax = NR_WRITE;

	__asm__ volatile("int $0x80"
	                 : "+a"(eax) : "b"(1), "c"(msg), "d"(8) : "memory");
	eax = NR_EXIT;
	__asm__ volatile("int $0x80" : "+a"(eax) : "b"(42) : "memory");
}

/* SYSENTER: arguments as for INT 80h; EBP = user stack (the kernel reads
 * a sixth argument there and returns through the vDSO, not to us). */
static void try_sysenter(void)
{
	uint32_t eax = NR_WRITE;

	__asm__ volatile("push %%ebp; mov %%esp, %%ebp; sysenter; pop %%ebp"
	                 : "+a"(eax) : "b"(1), "c"(msg), "d"(8) : "memory");
	eax = NR_EXIT;
	__asm__ volatile("push %%ebp; mov %%esp, %%ebp; sysenter; pop %%ebp"
	                 : "+a"(eax) : "b"(42) : "memory");
}

/* SYSCALL (32-bit ABI): ECX receives the return address, so the second
 * argument travels in EBP. */
static void try_syscall(void)
{
	uint32_t eax = NR_WRITE, ecx = 0;

	__asm__ volatile("push %%ebp; mov %3, %%ebp; syscall; pop %%ebp"
	                 : "+a"(eax), "+c"(ecx)
	                 : "b"(1), "S"(msg), "d"(8) : "memory");
	eax = NR_EXIT;
	__asm__ volatile("syscall" : "+a"(eax), "+c"(ecx) : "b"(42) : "memory");
}

int guest_main(void)
{
	const char *how = cmdline_get("how");

	if (how == NULL) {
		puts("syscalls: no how=int80|sysenter|syscall on the command line\n");
		return 1;
	}
	printf("syscalls: trying %s\n", how);
	if (strcmp(how, "int80") == 0)
		try_int80();
	else if (strcmp(how, "sysenter") == 0)
		try_sysenter();
	else if (strcmp(how, "syscall") == 0)
		try_syscall();
	else {
		printf("syscalls: unknown how=%s\n", how);
		return 1;
	}
	puts("syscalls: CONTINUED after the system call instruction\n");
	return 42;
}
