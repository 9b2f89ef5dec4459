# shadowpt/local.mk — shadow paging (DESIGN.md §6): the guest page-table walker
# and the host mappings of the window
libpopek_la_SOURCES += shadowpt/walk.c shadowpt/walk.h \
	shadowpt/shadow.c shadowpt/shadow.h \
	shadowpt/pttrace.c shadowpt/pttrace.h

UNIT_TESTS += tests/unit/test_walk
UNIT_TESTS += tests/unit/test_shadow
