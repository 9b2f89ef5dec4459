# bench/ — benchmarks, run by hand (not by make check).  README.md quotes
# them with their commands.

# bench/exits: the host floor (a plain host program) and the bench guest.
noinst_PROGRAMS = bench/exits/floor
bench_exits_floor_SOURCES = bench/exits/floor.c
noinst_DATA += bench/exits/exits.elf
EXTRA_DIST += bench/exits/exits.c bench/exits/run
CLEANFILES += bench/exits/exits.elf bench/exits/exits.o32
.SECONDARY: bench/exits/exits.o32
# built by the generic guest rules in tests/guests/local.mk
