# scan/local.mk — the Zydis adapter (the only code that sees Zyan types).

libpopek_la_SOURCES += scan/decode.c scan/decode.h
