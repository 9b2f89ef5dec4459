# shadowpt/local.mk — shadow paging (DESIGN.md §6): the guest page-table walker
libpopek_la_SOURCES += shadowpt/walk.c shadowpt/walk.h

check_PROGRAMS += tests/unit/test_walk
tests_unit_test_walk_SOURCES = tests/unit/test_walk.c
tests_unit_test_walk_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_walk_LDADD = $(UNIT_LIBS)
TESTS += tests/unit/test_walk
