/* p2pgrid/crypto/pow.h — Chrysalis message proof of work (TIP-12).
 *
 * For a message m (nonce = its last 8 bytes): d = BLAKE2b-256(m without nonce);
 * hash = Curl-P-81(b1t6(d) || b1t6(nonce LE) || 0,0,0); z = trailing zero trits
 * of hash counted from trit 242 down; score = 3^z / len(m).
 *
 * Ownership: msg, digest and outputs are caller buffers; a search allocates its
 * worker state and threads and frees them before it returns.
 * Errors: the searches return 0, PG_ERR_INVALID (len < 8, a target over 243
 * trits), PG_ERR_CANCELLED, PG_ERR_NOMEM (no memory or no thread could start)
 * or PG_ERR_POW (the scalar re-check disagrees); pg_pow_set_engine
 * PG_ERR_UNSUPPORTED or PG_ERR_INVALID. No diag: the caller names the message.
 * The scoring functions cannot fail.
 * Threads: searches and scoring may run on several threads at once (a search
 * starts opts->threads workers of its own and joins them); pg_pow_set_engine
 * changes a process-wide atomic and must not run during a search. */
#ifndef P2PGRID_CRYPTO_POW_H
#define P2PGRID_CRYPTO_POW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

/* Trailing zero trits for message bytes (len >= 8: the last 8 are the nonce). */
unsigned pg_pow_trailing_zeros(const uint8_t *msg, size_t len);
/* The same from a precomputed digest and a nonce. */
unsigned pg_pow_trailing_zeros_digest(const uint8_t digest[32], uint64_t nonce);
double pg_pow_score(const uint8_t *msg, size_t len);
/* Exact integer check 3^z >= min_score * len. min_score 0 always passes. */
bool pg_pow_valid(const uint8_t *msg, size_t len, uint32_t min_score);
/* iota.js calculateTargetZeros: ceil(ln(len * score) / ln 3); 0 for score 0. */
unsigned pg_pow_target_zeros(size_t len, uint32_t min_score);

typedef struct pg_pow_opts {
  unsigned threads;       /* 0 = all cores */
  atomic_bool *cancel;    /* optional: set true to stop the search */
  uint64_t start_nonce;   /* first nonce tried (threads interleave from here) */
} pg_pow_opts;

/* Finds a nonce giving msg (len bytes, nonce bytes ignored) a score of at least
 * min_score, writes it into the last 8 bytes of msg and into *nonce. *trials
 * (optional) gets the number of nonces tested. PG_ERR_CANCELLED when cancelled.
 * Uses a bit-sliced Curl-P-81 (64 lanes per 64-bit word; 128, 256 or 512
 * nonces per transform depending on the engine) on every thread. The
 * nonce found is checked with the scalar Curl-P before it is returned. */
PG_NODISCARD int pg_pow_search(uint8_t *msg, size_t len, uint32_t min_score, const pg_pow_opts *opts,
                               uint64_t *nonce, uint64_t *trials);

/* Searches for target_zeros trailing zeros for a given digest (benchmarks and
 * callers that want a fixed difficulty). Same threading and cancel rules. */
PG_NODISCARD int pg_pow_search_digest(const uint8_t digest[32], unsigned target_zeros,
                                      const pg_pow_opts *opts, uint64_t *nonce, uint64_t *trials);

/* Search engine selection, for tests and benchmarks (process-wide):
 * "auto" (or NULL; the default: "avx2" if the CPU has it, else "sse2"), "sse2"
 * (128 lanes), "avx2" (256), "avx512" (512; x86 only). PG_ERR_UNSUPPORTED if
 * the CPU lacks it, PG_ERR_INVALID for an unknown name. Not for use while a
 * search is running. */
PG_NODISCARD int pg_pow_set_engine(const char *name);
/* Name of the engine a search started now would use. */
const char *pg_pow_engine(void);
/* Nonces tested per transform by that engine. */
unsigned pg_pow_lanes(void);

#endif
