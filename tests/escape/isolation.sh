# isolation.sh — guest user code against a guest supervisor page above
# the user pages (tests/escape/escape.c, probe=super: paging on, user
# pages 0..16 MiB, a supervisor page at 32 MiB that guest kernel code has
# just written), under each --user-isolation mode (docs/shadow-paging.md):
#   - through its own user DS: #PF, as on hardware, in every mode that
#     separates at all; under none the read lands;
#   - through the host's flat data selector 0x2b: #PF under unmap and pku
#     (the key applies to every segment; the residue there is WRPKRU,
#     docs/popek-goldberg.md); the read lands under segments (the cut is
#     on the guest's own segments only: the residue) and none.
# The default is pku where the host has PKU, else segments.
. "$srcdir/tests/escape/lib.sh"

default=segments
grep -qw pku /proc/cpuinfo && default=pku
for iso in default unmap segments none; do
	PROBE_OPTS=
	[ "$iso" = default ] || PROBE_OPTS=--user-isolation=$iso
	mode=$iso
	[ "$iso" = default ] && mode=$default
	probe 3 super sel=0
	if [ "$mode" = none ]; then
		expect_status 1
		expect_out '^FAIL: super-contained-user-ds-pf \(ran to end 1'
	else
		expect_pass super-contained-user-ds-pf
	fi
	probe 3 super sel=$((0x2b))
	case $mode in
	unmap | pku) expect_pass super-contained-host-selector-pf ;;
	*) expect_pass super-residue-host-selector-reads ;;
	esac
done
PROBE_OPTS=

finish
