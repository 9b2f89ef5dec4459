/*
 * main.c — popek's command line.  Parses options into a vm_config and
 * hands it to vm_run(); every bad option is one line and exit status 2.
 */
#include "config.h"
#include "vmm/vm.h"
#include "vmm/cpuid.h"
#include "vmm/probe.h"
#include "devices/devices.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
"usage: popek run [options] KERNEL\n"
"       popek cpuid [--sysenter=auto|on|off]\n"
"                             print the virtual CPU's CPUID table\n"
"       popek probe [--mode=trap|bt|all]\n"
"                             run the Popek-Goldberg probe suite under\n"
"                             popek and print its table\n"
"       popek --version | --help\n"
"\n"
"Run a 32-bit x86 guest kernel (multiboot v1 ELF, or a Linux bzImage)\n"
"without hardware virtualisation.  The guest's serial console (COM1) is\n"
"stdin/stdout unless --serial says otherwise.\n"
"\n"
"options for run:\n"
"  -m MiB            guest RAM, %d..%d (default %d)\n"
"  --append STRING   kernel command line\n"
"  --initrd PATH     initial ramdisk for a Linux kernel\n"
"  --mode=bt|trap    bt (default): guest kernel code runs translated, its\n"
"                    sensitive instructions replaced by callouts; trap: it\n"
"                    runs directly and privileged instructions trap\n"
"  --stats           print exits by reason and counters at the end (stderr)\n"
"  --trace-exits     print every exit (stderr)\n"
"  --strict-io       an access to an unclaimed port stops the guest\n"
"  --trace-msr       log RDMSR/WRMSR of MSRs popek does not know (stderr)\n"
"  --serial stdio|file:PATH|unix:PATH\n"
"                    COM1's host end: stdin/stdout (default; a terminal is\n"
"                    put in raw mode, Ctrl-A x quits, Ctrl-A Ctrl-A sends\n"
"                    Ctrl-A), a file created for the guest's output, or a\n"
"                    listening unix socket popek connects to\n"
"  --user-isolation=pku|unmap|segments|none\n"
"                    how guest supervisor pages are kept from guest user\n"
"                    code, which runs directly: pku (default) a protection\n"
"                    key where the host has PKU, else segments; segments:\n"
"                    guest user segments end below the supervisor pages,\n"
"                    which stay mapped (code that means to can get round\n"
"                    this, as round a protection key: its TLS segment,\n"
"                    host selectors); unmap: they are unmapped whenever\n"
"                    guest user code runs (strict, dear: refaults after\n"
"                    every system call); none: no separation (guest user\n"
"                    code can read and write guest kernel memory)\n"
"  --no-pku          --user-isolation=unmap\n"
"  --no-user-isolation\n"
"                    --user-isolation=none\n"
"  --shadow=tlb|traced\n"
"                    tlb (default): the shadow MMU caches translations\n"
"                    like a TLB, guest PTE changes count after INVLPG or a\n"
"                    CR3 load; traced: guest page tables are write-traced\n"
"                    and a PDE/PTE write takes effect at once (dearer)\n"
"  --disk PATH[,ro]  a raw disk image as a virtio block device on PCI\n"
"                    (size a multiple of 512; locked while popek runs;\n"
"                    ,ro: read-only, guest writes fail)\n"
"  --sysenter=auto|on|off\n"
"                    on: CPUID shows SEP and SYSENTER/SYSEXIT are emulated\n"
"                    (only where the host CPU makes SYSENTER #UD in\n"
"                    compatibility mode: AMD, Hygon); auto (default): on\n"
"                    there on bare metal, off under a hypervisor (a #UD\n"
"                    costs more there than int $0x80); off: SEP hidden,\n"
"                    both are #UD for the guest\n"
"  --pin-threads=on|off\n"
"                    on (default): popek's other threads (devices, timers,\n"
"                    console) follow the vCPU thread onto its host CPU, so\n"
"                    that a change of the shadow mappings interrupts no\n"
"                    other CPU (a host TLB shootdown); off: they run\n"
"                    anywhere\n"
"  --vdso=fast|translated|gate\n"
"                    how a Linux guest's system calls through its vDSO\n"
"                    (--mode=bt) reach the kernel: fast (default): the\n"
"                    monitor does __kernel_vsyscall's entry and return\n"
"                    itself, one host fault per call; translated: the\n"
"                    vDSO runs translated; gate: guest user code sees a\n"
"                    patched __kernel_vsyscall that far-calls into popek,\n"
"                    no host signal (about twice as fast), but the key\n"
"                    to popek's memory is then in GS base, where guest\n"
"                    user code can read it (docs/escape.md): trusted\n"
"                    guests only; needs FSGSBASE\n"
"\n"
"exit status: the value the guest wrote to the debug-exit port 0xf4;\n"
"0 on guest power-off; 2 on popek's own errors (bad options, bad image,\n"
"host lacks a feature); 3 when the guest crashes (after a state dump).\n",
	        RAM_MIB_MIN, RAM_MIB_MAX, RAM_MIB_DEFAULT);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "popek: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see popek --help)\n");
	return 2;
}

static int parse_mib(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < RAM_MIB_MIN ||
	    v > RAM_MIB_MAX)
		return -1;
	*out = v;
	return 0;
}

/* PATH or PATH,ro: the path is the argument up to a last ",ro" (kept in
 * place: argv outlives the VM). */
static int parse_disk(char *arg, struct vm_config *cfg)
{
	size_t n = strlen(arg);

	cfg->disk_ro = n >= 3 && !strcmp(arg + n - 3, ",ro");
	if (cfg->disk_ro)
		arg[n - 3] = '\0';
	if (!arg[0])
		return -1;
	cfg->disk = arg;
	return 0;
}

enum { OPT_APPEND = 256, OPT_INITRD, OPT_MODE, OPT_STATS, OPT_TRACE, OPT_STRICT,
       OPT_TRACE_MSR, OPT_NO_PKU, OPT_NO_USER_ISOLATION, OPT_USER_ISOLATION,
       OPT_SHADOW, OPT_SERIAL, OPT_DISK, OPT_SYSENTER, OPT_VDSO, OPT_PIN,
       OPT_HELP };

static const struct option run_opts[] = {
	{ "append", required_argument, NULL, OPT_APPEND },
	{ "initrd", required_argument, NULL, OPT_INITRD },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "trace-exits", no_argument, NULL, OPT_TRACE },
	{ "strict-io", no_argument, NULL, OPT_STRICT },
	{ "trace-msr", no_argument, NULL, OPT_TRACE_MSR },
	{ "no-pku", no_argument, NULL, OPT_NO_PKU },
	{ "no-user-isolation", no_argument, NULL, OPT_NO_USER_ISOLATION },
	{ "user-isolation", required_argument, NULL, OPT_USER_ISOLATION },
	{ "shadow", required_argument, NULL, OPT_SHADOW },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "sysenter", required_argument, NULL, OPT_SYSENTER },
	{ "vdso", required_argument, NULL, OPT_VDSO },
	{ "pin-threads", required_argument, NULL, OPT_PIN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ 0, 0, 0, 0 },
};

/* The index of `arg` in the NULL-terminated `names`, or -1. */
static int keyword(const char *arg, const char *const names[])
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(arg, names[i]))
			return i;
	return -1;
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg = { .ram_mib = RAM_MIB_DEFAULT, .mode = MODE_BT,
	                         .sep = cpuid_sysenter_default() };
	char err[256];
	int c, k;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:", run_opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mib(optarg, &cfg.ram_mib) < 0)
				return bad("-m %s: guest RAM must be a whole number of MiB "
				           "from 1 to 3072", optarg);
			break;
		case OPT_APPEND: cfg.append = optarg; break;
		case OPT_INITRD: cfg.initrd = optarg; break;
		case OPT_MODE:
			if ((k = keyword(optarg, (const char *const[]){ "trap", "bt",
			                                                NULL })) < 0)
				return bad("--mode=%s: unknown mode (trap or bt)", optarg);
			cfg.mode = k == 0 ? MODE_TRAP : MODE_BT;
			break;
		case OPT_STATS: cfg.stats = true; break;
		case OPT_TRACE: cfg.trace_exits = true; break;
		case OPT_STRICT: cfg.strict_io = true; break;
		case OPT_TRACE_MSR: cfg.trace_msr = true; break;
		case OPT_NO_PKU: cfg.no_pku = true; break;
		case OPT_NO_USER_ISOLATION: cfg.no_user_isolation = true; break;
		case OPT_USER_ISOLATION:
			if ((k = keyword(optarg, (const char *const[]){ "pku", "unmap",
			                 "segments", "none", NULL })) < 0)
				return bad("--user-isolation=%s: unknown mode (pku, unmap, "
				           "segments or none)", optarg);
			cfg.no_pku = k == 1 || k == 2;
			cfg.seg_user_isolation = k == 2;
			cfg.no_user_isolation = k == 3;
			break;
		case OPT_SHADOW:
			if ((k = keyword(optarg, (const char *const[]){ "tlb", "traced",
			                                                NULL })) < 0)
				return bad("--shadow=%s: unknown shadow mode (tlb or "
				           "traced)", optarg);
			cfg.shadow_traced = k == 1;
			break;
		case OPT_SERIAL:
			if (serial_spec_check(optarg, err, sizeof(err)) < 0)
				return bad("%s", err);
			cfg.serial = optarg;
			break;
		case OPT_DISK:
			if (cfg.disk)
				return bad("--disk %s: only one disk", optarg);
			if (parse_disk(optarg, &cfg) < 0)
				return bad("--disk '%s': give PATH or PATH,ro", optarg);
			break;
		case OPT_SYSENTER:
			switch (cpuid_sysenter_option(optarg, &cfg.sep)) {
			case -2:
				return bad("--sysenter=%s: this host's SYSENTER enters "
				           "its own kernel (not AMD or Hygon), popek "
				           "cannot catch it", optarg);
			case -1:
				return bad("--sysenter=%s: give auto, on or off", optarg);
			}
			break;
		case OPT_VDSO:
			if ((k = keyword(optarg, (const char *const[]){ "fast",
			                 "translated", "gate", NULL })) < 0)
				return bad("--vdso=%s: give fast, translated or gate", optarg);
			cfg.vdso = k == 0 ? VDSO_FAST : k == 1 ? VDSO_TRANSLATED :
			           VDSO_GATE;
			break;
		case OPT_PIN:
			if ((k = keyword(optarg, (const char *const[]){ "on", "off",
			                                                NULL })) < 0)
				return bad("--pin-threads=%s: give on or off", optarg);
			cfg.no_pin_threads = k == 1;
			break;
		case OPT_HELP: usage(stdout); return 0;
		case ':': return bad("option %s needs a value", argv[optind - 1]);
		default: return bad("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad("%s", "run: no KERNEL given");
	if (optind + 1 < argc)
		return bad("run: unexpected argument %s", argv[optind + 1]);
	if (cfg.vdso != VDSO_FAST && cfg.mode != MODE_BT)
		return bad("--vdso=%s: the vDSO is taken differently only under "
		           "--mode=bt", cfg.vdso == VDSO_GATE ? "gate" : "translated");
	cfg.kernel = argv[optind];
	return vm_run(&cfg);
}

int main(int argc, char **argv)
{
	/* A closed console pipe must not kill popek: writes fail instead. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("popek %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cpuid"))
		return cpuid_command(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return probe_command(argc - 1, argv + 1);
	return bad("unknown command %s", argv[1]);
}
