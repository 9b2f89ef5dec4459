# shadowpt/local.mk — shadow paging (DESIGN.md §6): the guest page-table walker
libpopek_la_SOURCES += shadowpt/walk.c shadowpt/walk.h

UNIT_TESTS += tests/unit/test_walk
