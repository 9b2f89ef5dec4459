# tests/escape/lib.sh — sourced by tests/escape/*.sh (docs/escape.md).
# Builds on tests/guests/lib.sh (run_popek, expect_*, finish) with:
#
#     probe CPL WORDS...   run tests/escape/escape.elf with
#                          "probe=... cpl=CPL direct=D bt=B WORDS"; D and B
#                          follow from the mode ($popek_mode) and CPL: the
#                          probe runs directly on the host CPU at CPL 3
#                          (IF on) in both modes and at CPL 0 under trap;
#                          bt=1 when popek maps its monitor region.  The
#                          run is under strace when strace is installed,
#                          and every probe then checks that no host
#                          syscall ran for the guest (expect_no_host_syscall)
#     expect_no_host_syscall   the guest's raw syscalls write "HOSTWRITE"
#                          and exit with 42 or 77: none of them may have
#                          run (popek's stdout, its exit status, and the
#                          strace log: a trapped syscall shows there with
#                          its own number as result, an executed write
#                          with = 10, an executed exit_group with = ?)
#     expect_host_exit N   the residue: exit_group(N) did run for the guest
. "$srcdir/tests/guests/lib.sh"

ESCAPE=${ESCAPE:-tests/escape/escape.elf}
strace_log=$work/strace
have_strace=
command -v strace >/dev/null 2>&1 && have_strace=1
real_popek=$POPEK

probe() {
	local cpl=$1 direct=1 bt=0
	shift
	[ "$popek_mode" = bt ] && bt=1
	[ "$popek_mode" = bt ] && [ "$cpl" = 0 ] && direct=0
	rm -f "$strace_log"
	if [ -n "$have_strace" ]; then
		cat >"$work/popek" <<EOS
#!/bin/sh
exec strace -f -qq -e trace=write,exit_group -o "$strace_log" "$real_popek" "\$@"
EOS
		chmod +x "$work/popek"
		POPEK=$work/popek
	fi
	# shellcheck disable=SC2086  # PROBE_OPTS: popek options, words
	run_popek 20 run ${PROBE_OPTS:-} --append "probe=$* cpl=$cpl direct=$direct bt=$bt" "$ESCAPE"
	POPEK=$real_popek
	run_desc="[$popek_mode] $run_desc"
}

expect_no_host_syscall() {
	expectations=$((expectations + 1))
	local bad=
	grep -q HOSTWRITE "$out" && bad="$bad HOSTWRITE-on-stdout"
	case $run_status in 42|77) bad="$bad exit-status-$run_status" ;; esac
	if [ -n "$have_strace" ] && [ -f "$strace_log" ]; then
		grep -q 'HOSTWRITE.*= 10$' "$strace_log" && bad="$bad write-ran"
		grep -Eq 'exit_group\((42|77)\) += \?' "$strace_log" &&
			bad="$bad exit_group-ran"
	fi
	if [ -n "$bad" ]; then
		unmet "a host syscall ran for the guest:$bad"
	else
		met "no host syscall for the guest${have_strace:+ (strace checked)}"
	fi
}

expect_host_exit() {
	expectations=$((expectations + 1))
	if [ "$run_status" -eq "$1" ] && { [ -z "$have_strace" ] ||
		grep -Eq "exit_group\($1\) += \?" "$strace_log"; }; then
		met "residue: the guest's exit_group($1) ran on the host"
	else
		unmet "expected the guest's host exit_group($1) (status $run_status)"
	fi
}

# One probe that ends with PASS lines and status 0.
expect_pass() {
	expect_status 0
	for n in "$@"; do
		expect_out "^PASS: $n\$"
	done
	expect_no_fail
	expect_no_host_syscall
}
