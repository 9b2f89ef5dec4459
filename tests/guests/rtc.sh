# rtc.sh — the MC146818 RTC (tests/guests/rtc.c): the guest's date and
# time is the host's UTC clock within 2 s, UIP, the CMOS memory-size bytes
# match -m, and IRQ8 (periodic 1024 Hz, update, alarm) arrives through
# the 8259A pair.
. "$srcdir/tests/guests/lib.sh"

before=$(date -u +%s)
run_popek 30 run -m 48 "$GUESTS/rtc.elf"
after=$(date -u +%s)
# A guest with a failed check ends with status 1: on a software-emulated
# host the rate check may fail (excused below), nothing else may.
if emulated_host; then
	expect_status 0 1
else
	expect_status 0
fi
checks="date-plausible register-d-vrt uip-seen uip-precedes-update
	update-interrupts alarm-dont-care-every-update"
# The periodic rate against the RTC's own seconds: not under software
# emulation, where the vCPU cannot keep up with 1024 Hz.
if emulated_host; then
	echo "rtc: periodic rate not checked on a software-emulated host"
	expect_no_fail periodic-1024hz
else
	checks="$checks periodic-1024hz"
	expect_no_fail
fi
for c in $checks; do
	expect_out "^PASS: $c\$"
done
# 48 MiB: 47 MiB above 1 MiB in KiB, 32 MiB above 16 MiB in 64 KiB.
expect_out '^rtc: cmos base 640 ext 48128 48128 high 512$'

guest=$(sed -n 's/^rtc: epoch \([0-9][0-9]*\) .*/\1/p' "$out")
expectations=$((expectations + 1))
if [ -n "$guest" ] && [ "$guest" -ge $((before - 2)) ] &&
   [ "$guest" -le $((after + 2)) ]; then
	met "guest clock $guest within 2 s of the host's [$before, $after]"
else
	unmet "guest clock '$guest' not within 2 s of the host's [$before, $after]"
fi

finish
