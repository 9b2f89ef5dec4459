/*
 * classify_table.h — private to scan/: the layout of the one
 * classification table (scan/classify_table.c) that scan/classify.c
 * reads.  Zydis names the index, so this header stays inside scan/.
 */
#ifndef POPEK_SCAN_CLASSIFY_TABLE_H
#define POPEK_SCAN_CLASSIFY_TABLE_H

#include <stdint.h>

#include <Zydis/Zydis.h>

#include "scan/classify.h"

/* An entry: an enum scan_class in the low bits, and flags. */
#define T_CLASS 0x0f
#define T_END   0x10   /* ends the block (beyond what the class implies) */
#define T_COND  0x20   /* conditional branch: may fall through */

_Static_assert(SCAN_CLASS_COUNT <= T_CLASS + 1, "class fits T_CLASS");

#define SCAN_TABLE_LEN (ZYDIS_MNEMONIC_MAX_VALUE + 1)

extern const uint8_t scan_class_table[SCAN_TABLE_LEN];

#endif
