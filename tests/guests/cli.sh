# cli.sh — the command line: --version, --help, --stats, --trace-exits,
# --strict-io, and bad options (one line, status 2, nothing run).
. "$srcdir/tests/guests/lib.sh"

run_popek 10 --version
expect_status 0
expect_out '^popek [0-9]+\.[0-9]+\.[0-9]+$'

run_popek 10 --help
expect_status 0
expect_out '^usage: popek run \[options\] KERNEL'
expect_out '--strict-io'

# --stats: the exit table, with the exits the hello guest makes (its
# console output is port I/O: every byte at least two exits).
run_popek 10 run --stats "$GUESTS/hello.elf"
expect_status 0
expect_out '^Hello from a popek guest!$'
expect_err '^popek: exits by reason'
if [ "$popek_mode" = bt ]; then
	reason='bt: callout from translated code \(no host signal\)'
	# (a callout names its site: the guest EIP of what it emulates)
	exitinfo='vector=-1 error=0x0 emulate=00100[0-9a-f]{3}'
else
	reason='privileged instruction \(#GP, error 0\)'
	exitinfo='vector=13 error=0x0'
fi
expect_err "^  $reason +[1-9][0-9]+ +100\.0% +[1-9][0-9]+\$"
expect_err '^  port writes \(after REP expansion\) +[1-9][0-9]+$'
expect_err '^  total +[1-9][0-9]+ +[1-9][0-9]+$'

# --trace-exits: one line per exit, naming the reason and EIP (where the
# guest was entered).
run_popek 10 run --trace-exits --append status=7 "$GUESTS/hello.elf"
expect_status 7
expect_err "^popek: exit $reason +EIP=00100[0-9a-f]{3} $exitinfo\$"

# --strict-io: the io guest reads an unclaimed port; that stops it.
run_popek 10 run --strict-io "$GUESTS/io.elf"
expect_status 3
expect_err 'unclaimed port read of port 0x3e0 \(1 byte\) under --strict-io'

for bad in "-m 0" "-m 3073" "-m 12x" "-m -5" "--mode=fast" "--mode=" \
	"--bogus" "-m" "--vdso=quick" "--vdso=" "--mode=trap --vdso=gate" \
	"--vdso=translated --mode=trap" "--pin-threads=yes"; do
	# shellcheck disable=SC2086
	run_popek 10 run $bad "$GUESTS/hello.elf"
	expect_status 2
	expect_out_empty
	expect_err_lines 1
done

run_popek 10 run
expect_status 2
expect_err_lines 1
expect_err 'no KERNEL'

run_popek 10 frobnicate
expect_status 2
expect_err 'unknown command frobnicate'

finish
