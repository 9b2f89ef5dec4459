# linux-entry.sh — popek boots a synthetic Linux bzImage
# (tests/guests/linux-entry.S) by the 32-bit boot protocol: the image
# checks its entry state and exits with the number of the first check
# that failed: 1 ESI = zero page, 2 EBX = EBP = EDI = 0, 3 CS = 0x10,
# 4 DS = ES = SS = 0x18, 5 IF = 0 and paging off, 6 a GDTR, 7 a far jump
# and loads through the boot GDT, 8 the e820 map, 9 the command line,
# 10 the initrd.  Bad --initrd uses are one line and status 2.
. "$srcdir/tests/guests/lib.sh"

img=$GUESTS/linux-entry.bin
printf 'popek-initrd\n' >"$work/initrd"

run_popek 20 run --append "test=1" --initrd "$work/initrd" "$img"
expect_status 0

# Without an initrd, everything but check 10 holds.
run_popek 20 run --append "test=1" "$img"
expect_status 10

# With another command line, check 9 fails.
run_popek 20 run --append "other" --initrd "$work/initrd" "$img"
expect_status 9

run_popek 20 run --initrd "$work/missing" "$img"
expect_status 2
expect_err_lines 1
expect_err 'missing: cannot open'

run_popek 20 run --initrd "$work/initrd" "$GUESTS/hello.elf"
expect_status 2
expect_err_lines 1
expect_err 'initrd needs a Linux bzImage'

# A protocol-2.05 copy of the image is refused.
cp "$img" "$work/old.bin"
printf '\005' | dd of="$work/old.bin" bs=1 seek=$((0x206)) conv=notrunc 2>/dev/null
run_popek 20 run "$work/old.bin"
expect_status 2
expect_err_lines 1
expect_err 'protocol 2.05 is too old'

finish
