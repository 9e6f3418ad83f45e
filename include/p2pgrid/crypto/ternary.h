/* p2pgrid/crypto/ternary.h — balanced trits, trytes and b1t6 (TIP-5).
 *
 * A trit is int8_t in {-1, 0, 1}. A tryte is 3 trits, least significant first,
 * written with the alphabet "9ABCDEFGHIJKLMNOPQRSTUVWXYZ" ('9' = 0, 'A' = 1,
 * 'M' = 13, 'N' = -13, 'Z' = -1).
 *
 * Ownership: all input and output are caller buffers; nothing is allocated.
 * Errors: the decoders return PG_ERR_INVALID for a non-tryte character or a
 * group that is no int8 (no diag: the caller names the field); pg_tryte_value
 * returns PG_TRYTE_INVALID; the encoders cannot fail.
 * Threads: pure functions; any thread. */
#ifndef P2PGRID_CRYPTO_TERNARY_H
#define P2PGRID_CRYPTO_TERNARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

typedef int8_t pg_trit;

extern const char PG_TRYTE_ALPHABET[28];

/* Returned by pg_tryte_value for a non-tryte char (any value < -13 means that).
 * Note: not PG_ERR_INVALID, which is -2, the value of 'Y'. */
#define PG_TRYTE_INVALID (-128)

/* Value -13..13 of a tryte char, or PG_TRYTE_INVALID (< -13) for a non-tryte. */
int pg_tryte_value(char c);
bool pg_trytes_valid(const char *s, size_t n);

/* trytes -> trits: writes 3n trits. PG_ERR_INVALID on a bad char. */
PG_NODISCARD int pg_trytes_to_trits(const char *trytes, size_t n, pg_trit *trits);
/* trits -> trytes: ntrits must be a multiple of 3; writes ntrits/3 chars (no NUL). */
void pg_trits_to_trytes(const pg_trit *trits, size_t ntrits, char *trytes);

/* b1t6: each byte (as int8) -> 6 trits. Writes 6n trits. */
void pg_b1t6_encode(const uint8_t *bytes, size_t n, pg_trit *trits);
/* b1t6 trytes form: writes 2n tryte chars (no NUL). */
void pg_b1t6_encode_trytes(const uint8_t *bytes, size_t n, char *trytes);
/* Inverse of the trits form: ntrits must be a multiple of 6; writes ntrits/6
 * bytes. PG_ERR_INVALID if a group is not the encoding of an int8. */
PG_NODISCARD int pg_b1t6_decode(const pg_trit *trits, size_t ntrits, uint8_t *bytes);
/* Inverse of the trytes form: n must be even; writes n/2 bytes. PG_ERR_INVALID
 * on a non-tryte char or a pair that is not the encoding of an int8. */
PG_NODISCARD int pg_b1t6_decode_trytes(const char *trytes, size_t n, uint8_t *bytes);

#endif
