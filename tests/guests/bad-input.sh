# bad-input.sh — popek refuses what it cannot boot with its own status 2,
# exactly one line on stderr and nothing on stdout: missing, empty, text,
# 64-bit ELF, directory, ELF32 without multiboot header, bad -m.
. "$srcdir/tests/guests/lib.sh"

expect_refused() {
	run_popek 10 run "$@"
	expect_status 2
	expect_err_lines 1
	expect_out_empty
}

: >"$work/empty"
printf 'this is a text file, not a kernel\n' >"$work/text"

# A minimal ELF32 i386 ET_EXEC header, no program headers, no multiboot
# header: 52 bytes, padded to 256.
{
	printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000'
	printf '\002\000\003\000\001\000\000\000\000\000\020\000\000\000\000\000'
	printf '\000\000\000\000\000\000\000\000\064\000\040\000\000\000\050\000'
	printf '\000\000\000\000'
	head -c 204 /dev/zero
} >"$work/elf32-nomb"

elf64=$(command -v true)
case $elf64 in /*) ;; *) elf64=/bin/true ;; esac

expect_refused "$work/does-not-exist.elf"
expect_err 'does-not-exist'
expect_refused "$work/empty"
expect_refused "$work/text"
expect_refused "$elf64"
expect_refused "$work"
expect_refused "$work/elf32-nomb"
expect_err 'multiboot'
expect_refused -m 0 "$GUESTS/hello.elf"
expect_refused -m 4000 "$GUESTS/hello.elf"
expect_refused -m 3073 "$GUESTS/hello.elf"

finish
