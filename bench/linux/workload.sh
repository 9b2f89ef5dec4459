# bench/linux/workload.sh — the workload of bench/linux/run, one busybox
# sh script for both sides: in the guest (the initramfs's /popek/bench.sh,
# run by /etc/rc.bench under popek.bench) and natively on the host (the
# same i386 busybox-static, every command one of its applets).
#
#   busybox sh workload.sh DATA MIB WORK [SCALE]
#
# DATA: the input, a text file of exactly MIB MiB (natively the file, in
# the guest /dev/vda: the same bytes as a raw disk); WORK: an empty folder
# on a tmpfs.  BB names busybox itself (default /bin/busybox), the static
# binary the forkexec row runs.  SCALE (percent, default 100) scales the
# rows that do not read DATA (their counts, each at least 1).
#
# Every timed row is between a line "@@ begin NAME" and a line "@@ end
# NAME"; the times are taken on the host as those lines arrive (bench/
# linux/run), never with a guest clock.  Setup (the copy of DATA into
# WORK) is outside the markers.  A row whose command fails prints
# "@@ fail NAME" instead of its end line.  The counts are chosen so that
# each row takes about 1-5 s natively on the development host.
data=$1
mib=$2
work=$3
scale=${4:-100}
BB=${BB:-/bin/busybox}
set -u

n() { # COUNT: COUNT at SCALE percent, at least 1
	local c=$(($1 * scale / 100))
	echo $((c > 0 ? c : 1))
}
# The counts, worked out once (not in the loops' conditions).
n_dd=$(n 2000000) n_fork=$(n 2000) n_sh=$(n 1000000) n_pf=$(n 40)
n_tw=$(n 32) n_tr=$(n 128)

row() { # NAME COMMAND...: one timed row
	local name=$1
	shift
	echo "@@ begin $name"
	if "$@"; then
		echo "@@ end $name"
	else
		echo "@@ fail $name"
	fi
}

# Each row's work: a function, so that the loop runs inside the markers.
ddbs1() { dd if=/dev/zero of=/dev/null bs=1 count=$n_dd 2>/dev/null; }
forkexec() {
	local i=0
	while [ $i -lt $n_fork ]; do
		"$BB" true || return 1
		i=$((i + 1))
	done
}
shloop() {
	local i=0 s=0
	while [ $i -lt $n_sh ]; do
		s=$((s + i % 7))
		i=$((i + 1))
	done
	[ $s -gt 0 ]
}
sum() { # TOOL TIMES: TOOL over the data file TIMES times
	local i=0
	while [ $i -lt "$2" ]; do
		"$1" "$work/data" >/dev/null || return 1
		i=$((i + 1))
	done
}
compress() { "$1" -c "$work/data" >/dev/null; }
awkrow() { awk '{ n += NF; s += $1 } END { print "awk:", NR, n, s }' "$work/data"; }
sortrow() { sort "$work/data" >/dev/null; }
# Anonymous memory: each dd is a fresh process that mallocs a 64 MiB
# buffer (an anonymous mapping) and has /dev/zero fill it, faulting in its
# 16 Ki pages; then it exits and they are freed.
pagefault() {
	local i=0
	while [ $i -lt $n_pf ]; do
		dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null || return 1
		i=$((i + 1))
	done
}
# tmpfs: write the data file into a new tmpfs file 1 MiB at a time (the
# file removed each time, so pages are allocated anew), then read it back.
tmpfswrite() {
	local i=0
	while [ $i -lt $n_tw ]; do
		rm -f "$work/copy"
		dd if="$work/data" of="$work/copy" bs=1M 2>/dev/null || return 1
		i=$((i + 1))
	done
}
tmpfsread() {
	local i=0
	while [ $i -lt $n_tr ]; do
		dd if="$work/copy" of=/dev/null bs=1M 2>/dev/null || return 1
		i=$((i + 1))
	done
}

echo "@@ setup: $mib MiB from $data into $work, scale $scale %"
dd if="$data" of="$work/data" bs=1M count="$mib" 2>/dev/null ||
	{ echo "@@ setup failed"; exit 1; }
echo "@@ setup: $(wc -l <"$work/data") lines, md5 $(md5sum <"$work/data" | cut -d' ' -f1)"

row ddbs1 ddbs1
row forkexec forkexec
row shloop shloop
row md5sum sum md5sum 8
row sha256sum sum sha256sum 4
row gzip compress gzip
row bzip2 compress bzip2
row awk awkrow
row sort sortrow
row pagefault pagefault
row tmpfswrite tmpfswrite
row tmpfsread tmpfsread
rm -f "$work/data" "$work/copy"
echo "@@ done"
