/* Chrysalis message proof of work (TIP-12). See p2pgrid/crypto/pow.h.
 *
 * Search: the 243-trit Curl input is b1t6(digest) (192 trits, fixed) ||
 * b1t6(nonce LE) (48 trits) || 0,0,0, and the rest of the 729-trit state is
 * zero. Each thread keeps that input in a bit-sliced state of L lanes (L =
 * 128, 256 or 512 by engine, see below), writes L consecutive nonces
 * (base + lane) into trits 192..239 per batch (each nonce byte as the 6 b1t6
 * trits of a signed int8, per lane), runs one Curl-P-81 transform into scratch
 * states and tests all lanes at once for the wanted trailing zero trits.
 * Threads take batches base = start + L * (t + k * threads). A found nonce is
 * re-checked with the scalar Curl-P before it is returned. */
#include "p2pgrid/crypto/pow.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pgrid/crypto/curlp.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/crypto/ternary.h"

#define NONCE_TRIT 192 /* first nonce trit */
#define LN3 1.0986122886681098

__extension__ typedef unsigned __int128 u128;

static uint64_t read_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void write_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static unsigned hash_trailing_zeros(const pg_trit *hash) {
  unsigned z = 0;
  for (int i = PG_CURL_HASH - 1; i >= 0 && hash[i] == 0; i--) z++;
  return z;
}

unsigned pg_pow_trailing_zeros_digest(const uint8_t digest[32], uint64_t nonce) {
  pg_trit in[PG_CURL_HASH];
  uint8_t nb[8];
  write_le64(nb, nonce);
  pg_b1t6_encode(digest, 32, in);
  pg_b1t6_encode(nb, 8, in + NONCE_TRIT);
  in[240] = in[241] = in[242] = 0;
  pg_curl c;
  pg_curl_init(&c, 81);
  pg_curl_absorb(&c, in, PG_CURL_HASH);
  pg_trit hash[PG_CURL_HASH];
  pg_curl_rate(&c, hash, PG_CURL_HASH);
  return hash_trailing_zeros(hash);
}

unsigned pg_pow_trailing_zeros(const uint8_t *msg, size_t len) {
  if (len < 8) return 0;
  uint8_t digest[PG_HASH_LEN];
  pg_blake2b256(msg, len - 8, digest);
  return pg_pow_trailing_zeros_digest(digest, read_le64(msg + len - 8));
}

double pg_pow_score(const uint8_t *msg, size_t len) {
  if (len == 0) return 0.0;
  return pow(3.0, (double)pg_pow_trailing_zeros(msg, len)) / (double)len;
}

/* 3^z >= min_score * len, exactly (the right side is < 2^96 < 3^61). */
static bool zeros_enough(unsigned z, size_t len, uint32_t min_score) {
  u128 need = (u128)min_score * (u128)len;
  u128 p = 1;
  for (unsigned k = 0; k < z && p < need; k++) p *= 3;
  return p >= need;
}

/* Smallest z with 3^z >= min_score * len. */
static unsigned exact_target(size_t len, uint32_t min_score) {
  u128 need = (u128)min_score * (u128)len;
  u128 p = 1;
  unsigned z = 0;
  while (p < need) {
    p *= 3;
    z++;
  }
  return z;
}

bool pg_pow_valid(const uint8_t *msg, size_t len, uint32_t min_score) {
  if (min_score == 0) return true;
  if (len < 8) return false;
  return zeros_enough(pg_pow_trailing_zeros(msg, len), len, min_score);
}

unsigned pg_pow_target_zeros(size_t len, uint32_t min_score) {
  if (min_score == 0 || len == 0) return 0;
  double t = ceil(log((double)len * (double)min_score) / LN3);
  if (!(t > 0)) return 0;
  if (t > PG_CURL_HASH) return PG_CURL_HASH + 1;
  return (unsigned)t;
}

/* ---- search --------------------------------------------------------------- */

/* The search engine (pow_engine.inc): W words of 64 lanes per trit (GCC/clang
 * vector extension), 64 * W nonces per Curl-P-81 transform; W = 2 on any
 * x86-64 (SSE2) or other CPU, W = 4 (AVX2) and W = 8 (AVX-512) when the CPU
 * has them (chosen at run time).
 *
 * The round walk is the one of curl.c (state[2m] = S(c[-m], c[364-m]),
 * state[2m+1] = S(c[364-m], c[728-m])). To save instructions, intermediate
 * rounds keep lo and/or hi complemented, which turns most NOTs into and-not:
 * with the plain s-box  d = (al | ~bh) & (bl ^ ah), lo' = ~d, hi' = (al ^ bh) | d,
 * the representations N = (lo, hi), A = (~lo, hi), B = (lo, ~hi), C = (~lo, ~hi)
 * give 5 operations per trit and chain N -> A -> B -> C -> A -> ...
 * (names below hold the stored words of the input representation). */

/* N -> A */
#define SB_NA(T, al, ah, bl, bh, ol, oh)        \
  do {                                          \
    T d_ = ~(~(al) & (bh)) & ((bl) ^ (ah));     \
    (ol) = d_;                                  \
    (oh) = ((al) ^ (bh)) | d_;                  \
  } while (0)
/* A -> B */
#define SB_AB(T, al, ah, bl, bh, ol, oh)        \
  do {                                          \
    T e_ = ((al) & (bh)) | ((bl) ^ (ah));       \
    (ol) = e_;                                  \
    (oh) = ((al) ^ (bh)) & e_;                  \
  } while (0)
/* B -> C */
#define SB_BC(T, al, ah, bl, bh, ol, oh)        \
  do {                                          \
    T d_ = ~((bl) ^ (ah)) & ((al) | (bh));      \
    (ol) = d_;                                  \
    (oh) = ~d_ & ((al) ^ (bh));                 \
  } while (0)
/* C -> A */
#define SB_CA(T, al, ah, bl, bh, ol, oh)        \
  do {                                          \
    T d_ = ~(~(bh) & (al)) & ((bl) ^ (ah));     \
    (ol) = d_;                                  \
    (oh) = ((al) ^ (bh)) | d_;                  \
  } while (0)

#define ENG_WORDS 2
#define ENG_T v128
#define ENG_R(x) eng128_##x
#define ENG_ATTR
#include "pow_engine.inc"
#undef ENG_WORDS
#undef ENG_T
#undef ENG_R
#undef ENG_ATTR

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define PG_POW_X86 1
#define ENG_WORDS 4
#define ENG_T v256
#define ENG_R(x) eng256_##x
#define ENG_ATTR __attribute__((target("avx2")))
#include "pow_engine.inc"
#undef ENG_WORDS
#undef ENG_T
#undef ENG_R
#undef ENG_ATTR

#define ENG_WORDS 8
#define ENG_T v512
#define ENG_R(x) eng512_##x
#define ENG_ATTR __attribute__((target("avx512f")))
#include "pow_engine.inc"
#undef ENG_WORDS
#undef ENG_T
#undef ENG_R
#undef ENG_ATTR
#endif

#define MAX_WORDS 8

typedef void (*engine_fn)(const uint64_t *in, uint64_t *a, uint64_t *b, unsigned target,
                          uint64_t *hit);

typedef struct engine {
  const char *name;
  unsigned words;
  engine_fn fn;
} engine;

static const engine ENGINES[] = {
    {"sse2", 2, eng128_search},
#ifdef PG_POW_X86
    {"avx2", 4, eng256_search},
    {"avx512", 8, eng512_search},
#endif
};
#define NENGINES (sizeof ENGINES / sizeof *ENGINES)

static bool engine_supported(const engine *e) {
#ifdef PG_POW_X86
  __builtin_cpu_init();
  if (e->words == 4) return __builtin_cpu_supports("avx2");
  if (e->words == 8) return __builtin_cpu_supports("avx512f");
#endif
  return e->words == 2;
}

static _Atomic int forced_engine = -1; /* index into ENGINES, or -1 = auto */

static const engine *pick_engine(void) {
  int f = atomic_load(&forced_engine);
  if (f >= 0) return &ENGINES[f];
  /* AVX2 when present: on the AMD EPYC (Zen 4) we measured, the AVX-512
   * engine is no faster (memory bound) and uses twice the cache. */
  for (size_t i = 0; i < NENGINES; i++)
    if (ENGINES[i].words == 4 && engine_supported(&ENGINES[i])) return &ENGINES[i];
  return &ENGINES[0];
}

int pg_pow_set_engine(const char *name) {
  if (!name || strcmp(name, "auto") == 0) {
    atomic_store(&forced_engine, -1);
    return PG_OK;
  }
  for (size_t i = 0; i < NENGINES; i++) {
    if (strcmp(ENGINES[i].name, name) == 0) {
      if (!engine_supported(&ENGINES[i])) return PG_ERR_UNSUPPORTED;
      atomic_store(&forced_engine, (int)i);
      return PG_OK;
    }
  }
  return PG_ERR_INVALID;
}

const char *pg_pow_engine(void) { return pick_engine()->name; }

unsigned pg_pow_lanes(void) { return 64 * pick_engine()->words; }

typedef struct search {
  uint64_t fixed_lo[NONCE_TRIT], fixed_hi[NONCE_TRIT]; /* b1t6(digest), all lanes */
  const engine *engine;
  unsigned target;
  unsigned nthreads;
  uint64_t start;
  atomic_bool *cancel;
  atomic_bool stop;
  atomic_int winner;
  _Atomic uint64_t trials;
  uint64_t nonce[];  /* per thread: the nonce it found */
} search;

typedef struct worker_arg {
  search *s;
  unsigned index;
} worker_arg;

/* lo/hi 6-bit masks of b1t6(byte), bit t = trit t. */
typedef struct b1t6_bits {
  uint8_t lo, hi;
} b1t6_bits;

static void b1t6_bits_table(b1t6_bits tab[256]) {
  for (int v = 0; v < 256; v++) {
    pg_trit t[6];
    uint8_t b = (uint8_t)v;
    pg_b1t6_encode(&b, 1, t);
    tab[v].lo = tab[v].hi = 0;
    for (int k = 0; k < 6; k++) {
      if (t[k] <= 0) tab[v].lo |= (uint8_t)(1u << k);
      if (t[k] >= 0) tab[v].hi |= (uint8_t)(1u << k);
    }
  }
}

/* Writes nonce base + lane into every lane (0..64*words-1) of the plain
 * state `in` (lo block, then hi block; trit i, word w at [i * words + w]):
 * 8 bytes, each as the 6 b1t6 trits of a signed int8, at trits 192..239. */
static void set_nonces(uint64_t *in, unsigned words, const b1t6_bits *tab, uint64_t base) {
  uint64_t *lo = in + NONCE_TRIT * words, *hi = in + (PG_CURL_STATE + NONCE_TRIT) * words;
  memset(lo, 0, 48 * words * sizeof *lo);
  memset(hi, 0, 48 * words * sizeof *hi);
  for (unsigned lane = 0; lane < 64 * words; lane++) {
    uint64_t n = base + lane, bit = (uint64_t)1 << (lane % 64);
    unsigned w = lane / 64;
    for (unsigned b = 0; b < 8; b++) {
      b1t6_bits e = tab[(n >> (8 * b)) & 0xff];
      for (unsigned t = 0; t < 6; t++) {
        lo[(6 * b + t) * words + w] |= (uint64_t)((e.lo >> t) & 1) * bit;
        hi[(6 * b + t) * words + w] |= (uint64_t)((e.hi >> t) & 1) * bit;
      }
    }
  }
}

#define STATE_WORDS (2 * PG_CURL_STATE * MAX_WORDS)

static void *worker(void *argp) {
  worker_arg *arg = argp;
  search *s = arg->s;
  const engine *eng = s->engine;
  unsigned words = eng->words, lanes = 64 * words;
  uint64_t count = 0;
  /* in, a, b */
  uint64_t *buf = aligned_alloc(64, 3 * STATE_WORDS * sizeof(uint64_t));
  if (!buf) return NULL; /* the other threads carry on */
  b1t6_bits tab[256];
  b1t6_bits_table(tab);
  uint64_t *in = buf, *a = buf + STATE_WORDS, *b = buf + 2 * STATE_WORDS;
  for (unsigned i = 0; i < PG_CURL_STATE; i++) {
    for (unsigned w = 0; w < words; w++) {
      /* beyond the digest: trit 0 = (1, 1) */
      in[i * words + w] = i < NONCE_TRIT ? s->fixed_lo[i] : UINT64_MAX;
      in[(PG_CURL_STATE + i) * words + w] = i < NONCE_TRIT ? s->fixed_hi[i] : UINT64_MAX;
    }
  }
  for (uint64_t k = arg->index;; k += s->nthreads) {
    if (atomic_load_explicit(&s->stop, memory_order_relaxed)) break;
    if (s->cancel && atomic_load_explicit(s->cancel, memory_order_relaxed)) break;
    uint64_t base = s->start + k * lanes;
    uint64_t hit[MAX_WORDS];
    set_nonces(in, words, tab, base);
    eng->fn(in, a, b, s->target, hit);
    count += lanes;
    for (unsigned w = 0; w < words; w++) {
      if (hit[w]) {
        unsigned lane = 64 * w + (unsigned)__builtin_ctzll(hit[w]);
        s->nonce[arg->index] = base + lane;
        int none = -1;
        atomic_compare_exchange_strong(&s->winner, &none, (int)arg->index);
        atomic_store(&s->stop, true);
        break;
      }
    }
  }
  atomic_fetch_add(&s->trials, count);
  free(buf);
  return NULL;
}

static unsigned default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

int pg_pow_search_digest(const uint8_t digest[32], unsigned target_zeros, const pg_pow_opts *opts,
                         uint64_t *nonce, uint64_t *trials) {
  int rc = PG_OK;
  search *s = NULL;
  pthread_t *tids = NULL;
  worker_arg *args = NULL;
  unsigned nthreads = opts && opts->threads ? opts->threads : default_threads();
  uint64_t start = opts ? opts->start_nonce : 0;
  if (trials) *trials = 0;

  if (target_zeros > PG_CURL_HASH) {
    rc = PG_ERR_INVALID;
    goto done;
  }
  if (target_zeros == 0) {
    if (nonce) *nonce = start;
    if (trials) *trials = 1;
    goto done;
  }
  if (nthreads > 1024) nthreads = 1024;

  s = calloc(1, sizeof *s + nthreads * sizeof(uint64_t));
  tids = calloc(nthreads, sizeof *tids);
  args = calloc(nthreads, sizeof *args);
  if (!s || !tids || !args) {
    rc = PG_ERR_NOMEM;
    goto done;
  }
  pg_trit fixed[NONCE_TRIT];
  pg_b1t6_encode(digest, 32, fixed);
  for (size_t i = 0; i < NONCE_TRIT; i++) {
    s->fixed_lo[i] = fixed[i] <= 0 ? UINT64_MAX : 0;
    s->fixed_hi[i] = fixed[i] >= 0 ? UINT64_MAX : 0;
  }
  s->target = target_zeros;
  s->engine = pick_engine();
  s->nthreads = nthreads;
  s->start = start;
  s->cancel = opts ? opts->cancel : NULL;
  atomic_init(&s->stop, false);
  atomic_init(&s->winner, -1);
  atomic_init(&s->trials, 0);

  unsigned started = 0;
  for (unsigned t = 0; t < nthreads; t++) {
    args[t].s = s;
    args[t].index = t;
  }
  for (unsigned t = 1; t < nthreads; t++) {
    if (pthread_create(&tids[t], NULL, worker, &args[t]) != 0) break;
    started++;
  }
  /* If fewer threads started than asked, their batches are skipped: harmless,
   * any nonce meeting the target is accepted. The calling thread works too. */
  worker(&args[0]);
  for (unsigned t = 1; t <= started; t++) pthread_join(tids[t], NULL);

  if (trials) *trials = atomic_load(&s->trials);
  int w = atomic_load(&s->winner);
  if (w < 0) {
    rc = (s->cancel && atomic_load(s->cancel)) ? PG_ERR_CANCELLED : PG_ERR_NOMEM;
    goto done;
  }
  uint64_t found = s->nonce[w];
  /* Double-check on the scalar path. */
  if (pg_pow_trailing_zeros_digest(digest, found) < target_zeros) {
    rc = PG_ERR_POW;
    goto done;
  }
  if (nonce) *nonce = found;

done:
  free(args);
  free(tids);
  free(s);
  return rc;
}

int pg_pow_search(uint8_t *msg, size_t len, uint32_t min_score, const pg_pow_opts *opts,
                  uint64_t *nonce, uint64_t *trials) {
  if (!msg || len < 8) return PG_ERR_INVALID;
  unsigned target = pg_pow_target_zeros(len, min_score);
  unsigned exact = min_score ? exact_target(len, min_score) : 0;
  if (exact > target) target = exact; /* guard against float rounding */
  uint8_t digest[PG_HASH_LEN];
  pg_blake2b256(msg, len - 8, digest);
  uint64_t n = 0;
  int rc = pg_pow_search_digest(digest, target, opts, &n, trials);
  if (rc != PG_OK) return rc;
  write_le64(msg + len - 8, n);
  if (!pg_pow_valid(msg, len, min_score)) return PG_ERR_POW;
  if (nonce) *nonce = n;
  return PG_OK;
}
