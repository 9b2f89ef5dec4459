# adaptive.sh — adaptive translation (--mode=bt): the paging guest with
# its page tables write-traced (--shadow=traced) stores to them from the
# same few instructions over and over; after a few faults each, those
# stores are retranslated as callouts that emulate them without a host
# fault, so fewer page-fault exits remain than traced writes; those that
# then stop meeting traced pages (64 callouts in a row, doubling each
# time one comes back) run natively again.  In trap mode every traced
# write is a page-fault exit.
. "$srcdir/tests/guests/lib.sh"

for mode in bt trap; do
	run_popek 120 run --mode=$mode --shadow=traced --stats "$GUESTS/paging.elf"
	expect_status 0
	expect_no_fail
	pf=$(stats_count 'page fault')
	tw=$(stats_count 'shadow MMU: writes into write-traced pages (emulated, or the monitor'"'"'s own)')
	ad=$(stats_count 'bt: stores retranslated as callouts (adaptive)')
	un=$(stats_count 'bt: adaptive stores native again (no traced page met)')
	expectations=$((expectations + 1))
	if [ "$mode" = bt ] && [ "${ad:-0}" -ge 1 ] && [ "${pf:-0}" -lt "${tw:-0}" ] &&
		[ "${un:-0}" -ge 1 ] && [ "${un:-0}" -lt "$ad" ]; then
		met "bt: $ad stores retranslated, $un native again; $pf page-fault exits for $tw traced writes"
	elif [ "$mode" = trap ] && [ "${ad:-0}" -eq 0 ] && [ "${pf:-0}" -ge "${tw:-1}" ]; then
		met "trap: $pf page-fault exits for $tw traced writes"
	else
		unmet "$mode: adaptive ${ad:-none}, native again ${un:-none}, page-fault exits ${pf:-none}, traced writes ${tw:-none}"
	fi
done
finish
