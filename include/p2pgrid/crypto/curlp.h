/* p2pgrid/crypto/curlp.h — the Curl-P ternary sponge (crypto.js Curl), 729-trit state,
 * rate 243, with 27 or 81 rounds; a 64-lane bit-sliced transform (nonce
 * searches); and a 512-lane bit-sliced state (pg_curlx) for hashing many
 * independent inputs at once (MAM key chains, many channels).
 *
 * absorb overwrites state[0..len) chunk by chunk (at most 243 trits each) and
 * transforms after each chunk; squeeze copies state[0..243) out and transforms.
 *
 * Ownership: states are plain data owned by the caller (pg_curlx is
 * 186 KiB: allocate it on the heap); nothing is allocated here.
 * Errors: no function here fails except pg_curlx_transform_with (an
 * instruction set the CPU lacks: PG_ERR_UNSUPPORTED, no diag).
 * Threads: no global state (the CPU check reads the compiler's cpu model
 * only), so distinct states may be used from distinct threads.
 *
 * Every implementation of
 * a transform gives the same bits as the scalar pg_curl_transform lane by
 * lane (tests/unit/test_crypto_curl.c). Cost: bench/bench_mam.c prints the
 * transforms/s of each. */
#ifndef P2PGRID_CRYPTO_CURLP_H
#define P2PGRID_CRYPTO_CURLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"
#include "p2pgrid/crypto/ternary.h"

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

/* ---- 512 lanes -------------------------------------------------------------
 * Same encoding as pg_curl64, lane k of row i at bit k % 64 of word k / 64 of
 * lo[i] / hi[i]. tlo/thi are the transform's scratch (contents undefined
 * between calls). */
#define PG_CURLX_LANES 512
#define PG_CURLX_WORDS (PG_CURLX_LANES / 64)

typedef struct pg_curlx {
  _Alignas(64) uint64_t lo[PG_CURL_STATE][PG_CURLX_WORDS];
  _Alignas(64) uint64_t hi[PG_CURL_STATE][PG_CURLX_WORDS];
  _Alignas(64) uint64_t tlo[PG_CURL_STATE][PG_CURLX_WORDS];
  _Alignas(64) uint64_t thi[PG_CURL_STATE][PG_CURLX_WORDS];
} pg_curlx;

/* Which build of the transform: AUTO picks the widest the CPU has at run
 * time (AVX-512F, else AVX2, else the portable one; the release build
 * targets x86-64-v2, so the wide ones are compiled with target attributes
 * and only called when __builtin_cpu_supports says so). */
typedef enum pg_curlx_impl {
  PG_CURLX_AUTO = 0,
  PG_CURLX_PORTABLE = 1,
  PG_CURLX_AVX2 = 2,
  PG_CURLX_AVX512 = 3,
} pg_curlx_impl;

bool pg_curlx_impl_supported(pg_curlx_impl impl);
/* "portable" / "avx2" / "avx512" (AUTO: the one it picks); static strings. */
const char *pg_curlx_impl_name(pg_curlx_impl impl);
/* Transforms all 512 lanes with `rounds` rounds (>= 0). */
void pg_curlx_transform(pg_curlx *s, int rounds);
/* The same with a chosen build; PG_ERR_UNSUPPORTED (state untouched) if the
 * CPU lacks it. For tests and benchmarks. */
PG_NODISCARD int pg_curlx_transform_with(pg_curlx *s, int rounds, pg_curlx_impl impl);
/* Rows row0..row0+nrows-1 of every lane = t. */
void pg_curlx_fill(pg_curlx *s, size_t row0, size_t nrows, pg_trit t);
/* dst rows row0..row0+nrows-1 = src's (all lanes). */
void pg_curlx_copy_rows(pg_curlx *dst, const pg_curlx *src, size_t row0, size_t nrows);
/* Lane k < nlanes (<= 512) gets rows row0.. from lanes[k][0..nrows) (trits
 * -1..1); lanes k >= nlanes or with lanes[k] == NULL keep theirs. */
void pg_curlx_load(pg_curlx *s, size_t row0, size_t nrows, const pg_trit *const *lanes,
                   size_t nlanes);
/* lanes[k][0..nrows) = rows row0.. of lane k, for k < nlanes with lanes[k] != NULL. */
void pg_curlx_store(const pg_curlx *s, size_t row0, size_t nrows, pg_trit *const *lanes,
                    size_t nlanes);
/* The same moves with a chosen build (AVX512 uses AVX-512BW byte masks when
 * the CPU has them, the others the portable code; same results). For tests
 * and benchmarks. */
void pg_curlx_load_with(pg_curlx *s, size_t row0, size_t nrows, const pg_trit *const *lanes,
                        size_t nlanes, pg_curlx_impl impl);
void pg_curlx_store_with(const pg_curlx *s, size_t row0, size_t nrows, pg_trit *const *lanes,
                         size_t nlanes, pg_curlx_impl impl);
/* For the 64 lanes of word `word` (lanes 64*word..64*word+63): bit i of
 * pos[k] / neg[k] says row row0+i of lane 64*word+k is +1 / -1 (nrows <= 64;
 * bits from nrows on are 0). */
void pg_curlx_lane_bits(const pg_curlx *s, size_t word, size_t row0, size_t nrows,
                        uint64_t pos[64], uint64_t neg[64]);

#endif
