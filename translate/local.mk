# translate/ — the translation cache: blocks, callout sites, chaining,
# invalidation (tc.c) and one block's code (emit.c).
libpopek_la_SOURCES += translate/tc.c translate/tc.h translate/tc_impl.h \
	translate/emit.c translate/inline.c

# Its tests: behaviour, the golden file, and the invariant checker they
# share with the fuzz target (tests/fuzz/run).
UNIT_TESTS += tests/unit/test_translate
tests_unit_test_translate_SOURCES = tests/unit/test_translate.c \
	tests/unit/test_translate_golden.c tests/unit/golden.c \
	tests/unit/golden.h tests/unit/tc_fixture.c \
	tests/unit/tc_fixture.h tests/translate/check.c tests/translate/check.h
EXTRA_DIST += tests/translate/golden.txt tests/fuzz/run \
	tests/fuzz/fuzz_translate.c
