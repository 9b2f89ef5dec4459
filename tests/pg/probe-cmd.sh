# probe-cmd.sh — `popek probe`: the probe suite under both modes as one
# table, exit 0 when every probe gives what tests/pg/expect.txt says; a
# wrong expectation (POPEK_PROBE_EXPECT) gives exit 1 and names the probe.
. "$srcdir/tests/guests/lib.sh"

expect=$(cd "$srcdir" && pwd)/tests/pg/expect.txt
rows=$(grep -c '^row ' "$expect")
probes=$(grep -Evc '^(#|row |$)' "$expect")

# The table's rows: a line with at least five columns (two or more spaces
# apart) whose second is a class.
table_rows() {
	awk -F '  +' 'NF >= 5 && $2 ~ /^(privileged|sensitive-unprivileged|innocuous)$/' "$out"
}

# From another directory: the guest and its expectations are compiled in.
POPEK=$(pwd)/$POPEK
(cd "$work" && run_popek 60 probe --mode=all; echo "$run_status" >status)
run_status=$(cat "$work/status")
run_desc="popek probe --mode=all (from $work)"
expect_status 0
expect_out "^popek probe: the $probes probes of tests/pg/probe.c, --mode=trap and --mode=bt\$"
expect_out '^instruction +class +kernel, trap +kernel, bt +user mode +explanation$'
expect_out "^--mode=trap: $probes probes, [0-9]+ differ from the architecture, as expected\$"
expect_out "^--mode=bt: $probes probes, [0-9]+ differ from the architecture, as expected\$"
expect_out '^SGDT +sensitive-unprivileged +'
expect_out '^LAR +sensitive-unprivileged +[0-9]+ of 14 differ +14/14 +[0-9]+ of 14 differ +direct: '
expect_out '^CLI, STI +privileged +1/1 +1/1 +1/1 +#GP'
expect_no_out '!'
expectations=$((expectations + 1))
n=$(table_rows | wc -l)
if [ "$n" -eq "$rows" ]; then
	met "$rows table rows, one per row of expect.txt"
else
	unmet "expected $rows table rows, got $n"
fi
# Under bt every kernel-mode probe passes; under trap the privileged ones.
expectations=$((expectations + 1))
bad=$(table_rows | awk -F '  +' '$4 ~ /differ/ || ($2 == "privileged" && $3 ~ /differ/) { print $1 }')
if [ -z "$bad" ]; then
	met "no kernel-mode row differs under bt, no privileged one under trap"
else
	unmet "rows that should not differ: $bad"
fi

# One mode: its columns only.
run_popek 60 probe --mode=trap
expect_status 0
expect_out '^instruction +class +kernel, trap +user, trap +explanation$'
expect_no_out '^--mode=bt'

# A wrong expectation: a probe that fails under trap expected to pass.
sed 's/^cpl0-lar-kcode .*/cpl0-lar-kcode pass pass/' "$expect" >"$work/wrong.txt"
POPEK_PROBE_EXPECT=$work/wrong.txt run_popek 60 probe --mode=all
expect_status 1
expect_err '^popek probe: --mode=trap: cpl0-lar-kcode fails, .*wrong.txt says pass$'
expect_err_lines 2
expect_out '^LAR +sensitive-unprivileged +[0-9]+ of 14 differ ! '
expect_out '^--mode=trap: .* NOT as expected$'
expect_out '^--mode=bt: .*, as expected$'

# A probe the expectations do not have.
grep -v '^cpl3-in-gp ' "$expect" >"$work/short.txt"
POPEK_PROBE_EXPECT=$work/short.txt run_popek 60 probe --mode=bt
expect_status 1
expect_err '^popek probe: --mode=bt: cpl3-in-gp is not in .*short.txt$'

# A malformed expectation file and a bad option: status 2, one line.
printf 'row X | odd | why\n' >"$work/bad.txt"
POPEK_PROBE_EXPECT=$work/bad.txt run_popek 10 probe
expect_status 2
expect_err 'bad.txt:1: CLASS is'
run_popek 10 probe --mode=kernel
expect_status 2
expect_err_lines 1

finish
