# translate/ — the translation cache: blocks, callout sites, chaining,
# invalidation (tc.c) and one block's code (emit.c).
libpopek_la_SOURCES += translate/tc.c translate/tc.h translate/tc_impl.h \
	translate/emit.c translate/inline.c
