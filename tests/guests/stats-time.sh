# stats-time.sh — --stats says where the guest's run time went: direct
# execution, translated code, the monitor (and how much of it HLT waited),
# shares of the whole run that add up to 100 %, and exits per second.
. "$srcdir/tests/guests/lib.sh"

# ROW's "MS SHARE" in the time table (the share without its %).
time_row() {
	awk -v row="$1" '
		/^popek: guest run time by where it went/ { on = 1; next }
		on && /^popek:/ { on = 0 }
		on && index($0, "  " row) == 1 { sub(/%$/, "", $NF); print $(NF - 1), $NF; exit }
	' "$err"
}
time_share() { time_row "$1" | cut -d' ' -f2; }
# The milliseconds have 3 decimals: a row that got time shows it even
# when a descheduled monitor makes its share round to 0.0 %, as under a
# loaded make check -j2.
time_ms() { time_row "$1" | cut -d' ' -f1; }

# expect_share|expect_ms ROW OP VALUE
expect_of() {
	local what=$1 unit=$2 v
	shift 2
	expectations=$((expectations + 1))
	v=$("$what" "$1")
	if [ -n "$v" ] && awk -v s="$v" -v v="$3" "BEGIN { exit !(s $2 v) }"; then
		met "'$1' $v$unit $2 $3"
	else
		unmet "expected the '$1' ${v:-(missing)}$unit $2 $3"
	fi
}
expect_share() { expect_of time_share % "$@"; }
expect_ms() { expect_of time_ms " ms" "$@"; }

expect_whole() {
	local d t m sum
	expectations=$((expectations + 1))
	d=$(time_share "direct (")
	t=$(time_share "translated code")
	m=$(time_share "monitor (")
	sum=$(awk -v d="${d:-0}" -v t="${t:-0}" -v m="${m:-0}" 'BEGIN { print d + t + m }')
	if [ -n "$d" ] && [ -n "$t" ] && [ -n "$m" ] &&
	   awk -v s="$sum" 'BEGIN { exit !(s >= 99.7 && s <= 100.3) }'; then
		met "shares add up: $d + $t + $m = $sum%"
	else
		unmet "expected direct + translated + monitor = 100%, got $d + $t + $m = $sum%"
	fi
	expect_share total '>=' 99.7
	expect_share total '<=' 100.3
}

# bt: minikernel's kernel runs translated, its user tasks directly.
run_popek 30 run --mode=bt --stats "$GUESTS/minikernel.elf"
expect_status 0
expect_err '^popek: guest run time by where it went \(host TSC\)$'
expect_err '^  where +ms +share$'
expect_err '^  direct \(guest CPL 3, --mode=trap\) incl\. switch +[0-9]+\.[0-9]{3} +[0-9.]+%$'
expect_err '^  translated code \(the TC\) incl\. switch +[0-9]+\.[0-9]{3} +[0-9.]+%$'
expect_err '^  monitor \(exits, translation, devices\) +[0-9]+\.[0-9]{3} +[0-9.]+%$'
expect_err '^    of which halted \(HLT, waiting for an interrupt\) +[0-9]+\.[0-9]{3} +[0-9.]+%$'
expect_err '^  reason +count +share +per s$'
expect_err '^  total +[1-9][0-9]* +[1-9][0-9]*$'
expect_whole
expect_ms "direct (" '>' 0
expect_ms "translated code" '>' 0
expect_ms "monitor (" '>' 0

# trap: nothing runs translated.
run_popek 30 run --mode=trap --stats "$GUESTS/minikernel.elf"
expect_status 0
expect_whole
expect_ms "translated code" '==' 0
expect_ms "direct (" '>' 0

# irq halts waiting for its interrupts: a part of the monitor's share.
run_popek 30 run --stats "$GUESTS/irq.elf"
expect_status 0
expect_whole
expect_share "  of which halted" '>' 0
expectations=$((expectations + 1))
if awk -v h="$(time_share "  of which halted")" -v m="$(time_share "monitor (")" \
	'BEGIN { exit !(h <= m) }'; then
	met "halted within the monitor's share"
else
	unmet "halted share above the monitor's"
fi

# Without --stats, no time table.
run_popek 30 run "$GUESTS/minikernel.elf"
expect_no_out 'guest run time by where it went'
expect_no_err 'guest run time'

finish
