/* p2pgrid/base/hex.h — lowercase hex encoding; decoding accepts either case.
 *
 * Ownership: pg_hex_dup returns a malloc'd string the caller frees; the others
 * write caller buffers.
 * Errors: the decoders return PG_ERR_INVALID (odd length, a non-hex character,
 * wrong length) or PG_ERR_TOO_LARGE without a diag (the caller names the
 * value); pg_hex_dup returns NULL when out of memory.
 * Threads: pure functions; any thread. */
#ifndef P2PGRID_BASE_HEX_H
#define P2PGRID_BASE_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

/* Writes 2n lowercase hex chars and a NUL to out (capacity >= 2n + 1). */
void pg_hex_encode(const uint8_t *in, size_t n, char *out);

/* Returns a malloc'd NUL-terminated hex string (caller frees), or NULL. */
char *pg_hex_dup(const uint8_t *in, size_t n);

/* Decodes slen hex chars (slen even) into out (capacity outcap bytes).
 * *out_len gets slen / 2. PG_ERR_INVALID for odd length or a non-hex char,
 * PG_ERR_TOO_LARGE when out is too small. */
PG_NODISCARD int pg_hex_decode(const char *s, size_t slen, uint8_t *out, size_t outcap,
                               size_t *out_len);

/* Decodes exactly n bytes from a NUL-terminated string of exactly 2n chars. */
PG_NODISCARD int pg_hex_decode_exact(const char *s, uint8_t *out, size_t n);

#endif
