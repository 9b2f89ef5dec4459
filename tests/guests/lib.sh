# tests/guests/lib.sh — sourced by each tests/guests/*.sh test case.
#
# The tests run from the build directory under automake's parallel test
# driver ($srcdir set by it).  Each one runs popek on a guest, then states
# what it expects of the run; every unmet expectation is reported with what
# was expected and what came, and `finish` ends the test:
#
#     run_popek SECONDS ARGS...   run "$POPEK ARGS..." under timeout(1);
#                                 stdout/stderr/status kept for the checks;
#                                 stdin is $STDIN (default /dev/null)
#     expect_status N [M...]     exit status is N (or one of M...)
#     expect_out REGEX            some stdout line matches (grep -E)
#     expect_err REGEX            some stderr line matches (grep -Ei)
#     expect_no_out REGEX         no stdout line matches
#     expect_no_fail [NAME...]    no stdout line starts with "FAIL:" (the
#                                 checks NAME... excepted)
#     expect_fails [NAME...]      exactly the checks NAME... fail: each has
#                                 a "FAIL: NAME" line, and no other check
#                                 has one (no NAME: none fails)
#     emulated_host               true when the host CPU is QEMU's software
#                                 emulation (scripts/tcg-host sets
#                                 POPEK_EMULATED_HOST): rates and timings
#                                 measured there mean nothing, and
#                                 run_popek's time limits are 4 times longer
#     expect_out_empty            nothing on stdout
#     expect_err_lines N          exactly N lines on stderr
#     expect_err_nonempty         something on stderr
#     finish                      exit 0 if all held, 1 otherwise
#
# POPEK_MODE=bt|trap puts --mode=POPEK_MODE into every `popek run` (the
# tests/guests/trap/ variants set it); $popek_mode is the mode the runs
# use (popek's default, bt, when it is unset).  POPEK_SHADOW=tlb|traced
# likewise puts --shadow=POPEK_SHADOW (the tests/guests/traced/ variants).
# POPEK (default ./popek) and GUESTS (default tests/guests) may be set in
# the environment, e.g. to run the same cases against a reference runner.
# Exit 99 (hard error) when popek is missing: a test that never ran must
# not pass.

POPEK=${POPEK:-./popek}
GUESTS=${GUESTS:-tests/guests}
popek_mode=${POPEK_MODE:-bt}
srcdir=${srcdir:-.}

test_name=$(basename "$0" .sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/popek-$test_name.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
out=$work/stdout
err=$work/stderr
run_desc=
run_status=
expectations=0
unmet=0

if ! [ -x "$POPEK" ]; then
	echo "$test_name: $POPEK is not built" >&2
	exit 99
fi

# Print the run's captured output once, after its first unmet expectation.
show_run() {
	[ -n "$shown" ] && return
	shown=1
	echo "    --- stdout of: $run_desc (last 20 lines)"
	tail -n 20 "$out" | sed 's/^/    | /'
	echo "    --- stderr (last 20 lines)"
	tail -n 20 "$err" | sed 's/^/    | /'
}

unmet() {
	unmet=$((unmet + 1))
	echo "NOT OK: $run_desc: $*"
	show_run
}

met() {
	echo "ok: $run_desc: $*"
}

run_popek() {
	limit=$1
	shift
	# POPEK_MODE (tests/guests/trap/*.sh): every `run` in that mode, unless
	# the case names a mode itself (a later --mode wins).
	if [ -n "${POPEK_MODE:-}" ] && [ "$1" = run ]; then
		shift
		set -- run --mode="$POPEK_MODE" "$@"
	fi
	if [ -n "${POPEK_SHADOW:-}" ] && [ "$1" = run ]; then
		shift
		set -- run --shadow="$POPEK_SHADOW" "$@"
	fi
	if [ -n "${POPEK_VDSO:-}" ] && [ "$1" = run ]; then
		shift
		set -- run --vdso="$POPEK_VDSO" "$@"
	fi
	# A limit catches hangs; under software emulation everything is
	# slower and a loaded machine makes it slower still.
	if emulated_host; then
		limit=$((limit * 4))
	fi
	run_desc="$(basename "$POPEK") $*"
	shown=
	timeout -k 5 "$limit" "$POPEK" "$@" >"$out" 2>"$err" <"${STDIN:-/dev/null}"
	run_status=$?
	if [ "$run_status" -eq 124 ] || [ "$run_status" -eq 137 ]; then
		expectations=$((expectations + 1))
		unmet "did not finish within $limit s (timeout status $run_status)"
	fi
}

expect_status() {
	local want
	expectations=$((expectations + 1))
	for want in "$@"; do
		if [ "$run_status" -eq "$want" ]; then
			met "exit status $want"
			return
		fi
	done
	unmet "expected exit status $*, got $run_status"
}

expect_out() {
	expectations=$((expectations + 1))
	if grep -Eq -- "$1" "$out"; then
		met "stdout matches /$1/"
	else
		unmet "expected a stdout line matching /$1/, found none"
	fi
}

expect_err() {
	expectations=$((expectations + 1))
	if grep -Eqi -- "$1" "$err"; then
		met "stderr matches /$1/"
	else
		unmet "expected a stderr line matching /$1/ (any case), found none"
	fi
}

expect_no_out() {
	expectations=$((expectations + 1))
	if grep -Eq -- "$1" "$out"; then
		unmet "expected no stdout line matching /$1/, got: $(grep -E -m1 -- "$1" "$out")"
	else
		met "no stdout line matches /$1/"
	fi
}

expect_no_err() {
	expectations=$((expectations + 1))
	if grep -Eqi -- "$1" "$err"; then
		unmet "expected no stderr line matching /$1/ (any case), got: $(grep -Ei -m1 -- "$1" "$err")"
	else
		met "no stderr line matches /$1/"
	fi
}

# The first number on the --stats line (a counter, or an exit reason's
# count) whose description matches $1 (a sed BRE) in the last run's stderr.
stats_count() {
	sed -n "s/^  $1  *\([0-9][0-9]*\).*/\1/p" "$err" | head -n 1
}

expect_no_fail() {
	local fails n
	expectations=$((expectations + 1))
	fails=$(grep '^FAIL:' "$out")
	for n in "$@"; do
		fails=$(printf '%s\n' "$fails" | grep -v "^FAIL: $n\( \|\$\)")
	done
	if [ -n "$fails" ]; then
		unmet "expected no FAIL: lines, got: $(printf '%s\n' "$fails" | tr '\n' ' ')"
	else
		met "no FAIL: lines${1:+ (not counting $*)}"
	fi
}

expect_fails() {
	local n missing=
	if [ $# -gt 0 ]; then
		expectations=$((expectations + 1))
		for n in "$@"; do
			grep -q "^FAIL: $n\( \|\$\)" "$out" || missing="$missing $n"
		done
		if [ -n "$missing" ]; then
			unmet "expected these checks to FAIL, they did not:$missing"
		else
			met "the $# expected FAIL: lines"
		fi
	fi
	expect_no_fail "$@"
}

# The host CPU makes SYSENTER in compatibility mode #UD (AMD, Hygon):
# popek can virtualise it (--sysenter=on).  From /proc/cpuinfo, not from
# popek's own check.
host_sysenter_faults() {
	grep -Eq '^vendor_id[[:space:]]*: (AuthenticAMD|HygonGenuine)$' /proc/cpuinfo
}

# ... and --sysenter=auto (the default) shows SEP: on bare metal only.
host_sep_default() {
	host_sysenter_faults && ! grep -Eq '^flags[[:space:]]*:.* hypervisor( |$)' /proc/cpuinfo
}

emulated_host() {
	[ -n "${POPEK_EMULATED_HOST:-}" ] ||
		grep -q 'QEMU TCG' /proc/cpuinfo 2>/dev/null
}

expect_out_empty() {
	expectations=$((expectations + 1))
	if [ -s "$out" ]; then
		unmet "expected nothing on stdout, got $(wc -c <"$out") bytes"
	else
		met "stdout empty"
	fi
}

# grep -c '' also counts a last line without its newline.
expect_err_lines() {
	expectations=$((expectations + 1))
	n=$(grep -c '' "$err")
	if [ "$n" -eq "$1" ]; then
		met "$1 stderr line(s)"
	else
		unmet "expected exactly $1 stderr line(s), got $n"
	fi
}

expect_err_nonempty() {
	expectations=$((expectations + 1))
	if [ -s "$err" ]; then
		met "stderr not empty"
	else
		unmet "expected a message on stderr, got none"
	fi
}

finish() {
	if [ "$unmet" -eq 0 ]; then
		echo "$test_name: all $expectations expectations met"
		exit 0
	fi
	echo "$test_name: $unmet of $expectations expectations unmet"
	exit 1
}
