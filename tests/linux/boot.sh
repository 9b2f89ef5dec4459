#!/usr/bin/env bash
# tests/linux/boot.sh — boot Debian's i386 kernel (scripts/fetch-linux)
# with popek's initramfs (scripts/mkinitramfs) and say how far it got.
# By hand, not in `make check` (tests/linux/userspace.sh and shell.sh are
# there); it downloads (the first time) and takes about 30 s, and prints
# the wall-clock time of each stage.  Run it from the top of a built tree:
#
#   tests/linux/boot.sh [-m MiB] [--mode=bt|trap] [TIMEOUT]
#
# The initramfs's /init sees popek.selftest on the command line, prints
# "PASS: linux-shell" from a busybox shell and ends popek with status 0
# through the debug-exit port.  Every stage the transcript shows is
# printed as "reached: ..." or "not reached: ..."; the status is 0 only
# when the whole way was made, 1 otherwise, 2 when nothing could be
# fetched or built.  The transcript is kept in .cache/linux/last-boot.log.
set -uo pipefail
cd "$(dirname "$0")/../.."
popek_args=()
timeout=120
while [ $# -gt 0 ]; do
	case $1 in
	-m) popek_args+=(-m "$2"); shift 2 ;;
	--mode=*) popek_args+=("$1"); shift ;;
	*) timeout=$1; shift ;;
	esac
done
[ -x ./popek ] || { echo "boot.sh: build popek first (make)" >&2; exit 2; }
kernel=$(scripts/fetch-linux) || exit 2
initrd=$(scripts/mkinitramfs) || exit 2
log=.cache/linux/last-boot.log

# The command line, and why (docs/linux-boot.md): the console on COM1
# from the first message on; the fixmap below popek's monitor region
# [0xFF000000, 4 GiB); no local APIC, I/O APIC or ACPI, which popek does
# not emulate; a panic resets the machine, which ends popek (status 4).
append="console=ttyS0 earlyprintk=serial,ttyS0,115200 reservetop=16M"
append+=" nolapic noapic acpi=off panic=-1 popek.selftest"

# Each line of the transcript gets its wall-clock time from popek's start
# in $log.times ("SECONDS LINE"), for the stages' times below.
set -o pipefail
timeout "$timeout" ./popek run "${popek_args[@]}" --append "$append" \
	--initrd "$initrd" "$kernel" </dev/null 2>&1 | python3 -c '
import sys, time
t0 = time.time()
with open(sys.argv[1], "wb") as log, open(sys.argv[1] + ".times", "w") as times:
    for line in sys.stdin.buffer:
        log.write(line)
        log.flush()
        times.write("%.2f %s\n" % (time.time() - t0, line.decode("utf-8", "replace").rstrip()))
' "$log"
status=$?

stages=(
	"Linux version|the kernel's banner (the decompressor ran)"
	"Kernel command line:|the command line from the zero page"
	"Memory: |the e820 map taken as memory"
	"Unpacking initramfs|Trying to unpack rootfs image as initramfs|the initrd found"
	"Run /init as init process|/init started"
	"popek initramfs: Linux|/init ran busybox (user space runs)"
	"PASS: linux-shell|a shell ran the self-test"
)
ok=1
for s in "${stages[@]}"; do
	what=${s##*|}
	pattern=${s%|*}
	if grep -qE "$pattern" "$log"; then
		echo "reached: $what (at $(grep -m1 -E "$pattern" "$log.times" | cut -d' ' -f1) s)"
	else
		echo "not reached: $what"
		ok=0
	fi
done
echo "popek's exit status: $status$([ "$status" = 124 ] && echo ' (timed out)')"
grep -m3 -E "segfault|Kernel panic|^popek: " "$log" | sed 's/^/  /'
echo "transcript: $log"
[ "$ok" = 1 ] && [ "$status" = 0 ]
