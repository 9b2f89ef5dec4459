# scan/local.mk — the Zydis adapter and the instruction classifier (the
# only code that sees Zyan types), with the classifier's tests.

libpopek_la_SOURCES += scan/decode.c scan/decode.h scan/zydis.h
libpopek_la_SOURCES += scan/classify.c scan/classify.h \
	scan/classify_table.c scan/classify_table.h

UNIT_TESTS += tests/unit/test_classify
tests_unit_test_classify_SOURCES = tests/unit/test_classify.c \
	tests/unit/golden.c tests/unit/golden.h
EXTRA_DIST += tests/scan/golden.txt
