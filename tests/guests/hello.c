/*
 * hello.c — the demo guest: greets, shows what the boot loader told it
 * (command line, RAM), and ends the VM with the status asked for by
 * "status=N" on the command line (default 0).
 */
#include "lib.h"

static void show_memory(const struct multiboot_info *mbi)
{
	if (mbi == NULL || !(mbi->flags & MBI_FLAG_MEM)) {
		puts("RAM size: not reported by the boot loader\n");
		return;
	}
	printf("RAM: %u KiB low, %u KiB above 1 MiB (%u MiB in all)\n",
	       mbi->mem_lower, mbi->mem_upper, mbi->mem_upper / 1024 + 1);
}

int guest_main(void)
{
	const struct multiboot_info *mbi = boot_info();
	int status = cmdline_int("status", 0);

	puts("Hello from a popek guest!\n");
	if (mbi && (mbi->flags & MBI_FLAG_LOADER_NAME))
		printf("Booted by: %s\n",
		       (const char *)(uintptr_t)mbi->boot_loader_name);
	printf("Command line: '%s'\n", cmdline());
	show_memory(mbi);
	printf("Exiting with status %d\n", status);
	return status;
}
