/*
 * zydis.h — private to scan/: the decoders decode.c sets up once (32-bit
 * and 16-bit protected mode), shared with the classifier so that scan/
 * has one Zydis set-up.
 */
#ifndef POPEK_SCAN_ZYDIS_H
#define POPEK_SCAN_ZYDIS_H

#include <stdbool.h>
#include <Zydis/Zydis.h>

/* NULL if Zydis could not be initialised. */
const ZydisDecoder *scan_zydis_decoder(bool code32);

#endif
