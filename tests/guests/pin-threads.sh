# pin-threads.sh — --pin-threads (vmm/vcpu.c, follow_vcpu): while a guest
# runs (tests/guests/pit-rate: 1-2 s, a timer ticking), every thread
# of popek's but the vCPU thread is allowed one host CPU, the same for
# all; with --pin-threads=off none is restricted.  Needs two CPUs to
# choose from (nproc: the ones this process may use).
. "$srcdir/tests/guests/lib.sh"

ncpu=$(nproc 2>/dev/null || echo 1)
if [ "$ncpu" -lt 2 ]; then
	echo "$test_name: skipped: one CPU, nothing to pin"
	exit 77
fi

# MODE: popek in the background, the threads' CPU lists read once it
# has three threads and 0.2 s more (the guest runs 1-2 s: it waits for
# an RTC second, then measures one), one line per thread, "TID CPULIST",
# into $work/MODE.threads.
sample() {
	"$POPEK" run --pin-threads="$1" "$GUESTS/pit-rate.elf" >"$work/$1.out" 2>&1 &
	local p=$! t i=0
	while [ $i -lt 50 ] && [ "$(ls /proc/$p/task 2>/dev/null | wc -l)" -lt 3 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.2
	for t in /proc/$p/task/*; do
		echo "${t##*/} $(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status")"
	done >"$work/$1.threads"
	wait $p
	echo "$1: $(wc -l <"$work/$1.threads") threads: $(cut -d' ' -f2 "$work/$1.threads" | tr '\n' ' ')"
}

sample on
expectations=$((expectations + 1))
one=$(awk '$2 ~ /^[0-9]+$/' "$work/on.threads" | wc -l)
cpus=$(awk '$2 ~ /^[0-9]+$/ { print $2 }' "$work/on.threads" | sort -u | wc -l)
total=$(wc -l <"$work/on.threads")
if [ "$total" -ge 3 ] && [ "$one" = $((total - 1)) ] && [ "$cpus" = 1 ]; then
	met "--pin-threads=on: $one of $total threads on one CPU, the vCPU thread free"
else
	unmet "--pin-threads=on: $one of $total threads on a single CPU ($cpus CPUs among them): $(cat "$work/on.threads" | tr '\n' ';')"
fi

sample off
expectations=$((expectations + 1))
one=$(awk '$2 ~ /^[0-9]+$/' "$work/off.threads" | wc -l)
if [ "$one" = 0 ]; then
	met "--pin-threads=off: no thread restricted"
else
	unmet "--pin-threads=off: $one threads on a single CPU: $(cat "$work/off.threads" | tr '\n' ';')"
fi
finish
