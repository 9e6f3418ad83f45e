/* p2pgrid/curl.h — the Curl-P ternary sponge (crypto.js Curl), 729-trit state,
 * rate 243, with 27 or 81 rounds; and a 64-lane bit-sliced transform for
 * searching nonces.
 *
 * absorb overwrites state[0..len) chunk by chunk (at most 243 trits each) and
 * transforms after each chunk; squeeze copies state[0..243) out and transforms. */
#ifndef P2PGRID_CURL_H
#define P2PGRID_CURL_H

#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/ternary.h"

#define PG_CURL_STATE 729
#define PG_CURL_HASH 243

typedef struct pg_curl {
  pg_trit state[PG_CURL_STATE];
  int rounds; /* 27 or 81 */
} pg_curl;

void pg_curl_init(pg_curl *c, int rounds); /* state = 0 */
void pg_curl_transform(pg_curl *c);
void pg_curl_absorb(pg_curl *c, const pg_trit *trits, size_t n);
/* Writes n trits: 243 at a time from the state, transforming after each. */
void pg_curl_squeeze(pg_curl *c, pg_trit *out, size_t n);
/* Copies state[0..n) (n <= 729) without transforming. */
void pg_curl_rate(const pg_curl *c, pg_trit *out, size_t n);

/* Bit-sliced state: trit i of lane k is encoded by bit k of (lo[i], hi[i]):
 * (1,0) = -1, (0,1) = +1, (1,1) = 0. (0,0) is never produced. */
typedef struct pg_curl64 {
  uint64_t lo[PG_CURL_STATE];
  uint64_t hi[PG_CURL_STATE];
} pg_curl64;

void pg_curl64_transform(pg_curl64 *s, int rounds);
/* out = transform(in) with `rounds` rounds; in is left unchanged (in != out).
 * Saves the state copy when the same input is reused with small changes. */
void pg_curl64_transform_copy(const pg_curl64 *in, pg_curl64 *out, int rounds);
/* Sets trit i of every lane to t. */
void pg_curl64_set_all(pg_curl64 *s, size_t i, pg_trit t);
/* Sets trit i of one lane (0..63) to t. */
void pg_curl64_set(pg_curl64 *s, size_t lane, size_t i, pg_trit t);
pg_trit pg_curl64_get(const pg_curl64 *s, size_t lane, size_t i);

#endif
