/* MAM trit helpers: pascal coding (10.4), masking (10.5), checksumSecurity,
 * and the single-hash shorthands used by the key and tree code. */
#include <string.h>

#include "mam_internal.h"

/* ---- pascal ---------------------------------------------------------------- */

static const pg_trit PASCAL_ZERO[4] = {1, 0, 0, -1};

/* Smallest k with v <= (3^k - 1) / 2. v < 2^62 here. */
static size_t min_trits(uint64_t v) {
  size_t k = 1;
  uint64_t lim = 1;
  while (v > lim) {
    lim = 3 * lim + 1;
    k++;
  }
  return k;
}

static size_t round_third(size_t k) { return (k + 2) / 3 * 3; }

/* v (may be negative) as n balanced trits, least significant first. */
static void int_to_trits(int64_t v, pg_trit *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int64_t r = v % 3; /* -2..2 */
    v /= 3;
    if (r > 1) {
      r -= 3;
      v += 1;
    } else if (r < -1) {
      r += 3;
      v -= 1;
    }
    out[i] = (pg_trit)r;
  }
}

static int tryte_val(const pg_trit *t) { return t[0] + 3 * t[1] + 9 * t[2]; }

size_t mam_pascal_len(uint64_t v) {
  if (v == 0) return 4;
  size_t n = round_third(min_trits(v));
  return n + n / 3;
}

size_t mam_pascal_encode(uint64_t v, pg_trit *out) {
  if (v == 0) {
    memcpy(out, PASCAL_ZERO, sizeof PASCAL_ZERO);
    return 4;
  }
  size_t n = round_third(min_trits(v));
  size_t ntry = n / 3;
  int_to_trits((int64_t)v, out, n);
  int64_t enc = 0;
  for (size_t g = 0; g < ntry; g++) {
    pg_trit *t = out + 3 * g;
    int tv = tryte_val(t);
    bool flip = g + 1 < ntry ? tv >= 0 : tv < 0;
    if (flip) {
      enc |= (int64_t)1 << g;
      for (int j = 0; j < 3; j++) t[j] = (pg_trit)-t[j];
    }
  }
  int_to_trits(enc, out + n, ntry);
  return n + ntry;
}

int mam_pascal_decode(const pg_trit *in, size_t n, uint64_t *v, size_t *used) {
  if (n >= 4 && memcmp(in, PASCAL_ZERO, sizeof PASCAL_ZERO) == 0) {
    *v = 0;
    *used = 4;
    return PG_OK;
  }
  size_t m = 0; /* trytes in the value part */
  for (;;) {
    if (3 * (m + 1) > n) return PG_ERR_TRUNCATED;
    if (m >= MAM_PASCAL_MAX / 4) return PG_ERR_INVALID;
    int tv = tryte_val(in + 3 * m);
    m++;
    if (tv > 0) break;
  }
  if (4 * m > n) return PG_ERR_TRUNCATED;
  int64_t enc = 0;
  for (size_t i = m; i-- > 0;) enc = enc * 3 + in[3 * m + i];
  if (enc < 0 || enc >= ((int64_t)1 << m)) return PG_ERR_INVALID;
  int64_t val = 0, p = 1;
  for (size_t g = 0; g < m; g++, p *= 27) {
    int tv = tryte_val(in + 3 * g);
    val += p * (((enc >> g) & 1) ? -tv : tv);
  }
  if (val <= 0 || val >= ((int64_t)1 << 62)) return PG_ERR_INVALID;
  /* canonical: exactly what mam.js would have written */
  pg_trit re[MAM_PASCAL_MAX + 4];
  if (mam_pascal_len((uint64_t)val) != 4 * m) return PG_ERR_INVALID;
  (void)mam_pascal_encode((uint64_t)val, re);
  if (memcmp(re, in, 4 * m) != 0) return PG_ERR_INVALID;
  *v = (uint64_t)val;
  *used = 4 * m;
  return PG_OK;
}

/* ---- masking --------------------------------------------------------------- */

/* tritSum: a + b with 2 -> -1 and -2 -> 1; indexed by a + b + 2. */
const pg_trit MAM_TSUM[5] = {1, -1, 0, 1, -1};
#define TSUM MAM_TSUM

void mam_wipe(void *p, size_t n) {
  if (!p) return;
  memset(p, 0, n);
  __asm__ __volatile__("" : : "r"(p) : "memory"); /* the stores count: p may be read */
}

void mam_mask(pg_curl *s, pg_trit *io, size_t n) {
  pg_trit key[MAM_HASH];
  while (n > 0) {
    size_t k = n < MAM_HASH ? n : MAM_HASH;
    memcpy(key, s->state, k * sizeof *key);
    pg_curl_absorb(s, io, k); /* the plaintext chunk */
    for (size_t i = 0; i < k; i++) io[i] = TSUM[io[i] + key[i] + 2];
    io += k;
    n -= k;
  }
}

void mam_unmask(pg_curl *s, pg_trit *io, size_t n) {
  while (n > 0) {
    size_t k = n < MAM_HASH ? n : MAM_HASH;
    for (size_t i = 0; i < k; i++) io[i] = TSUM[io[i] - s->state[i] + 2];
    pg_curl_absorb(s, io, k);
    io += k;
    n -= k;
  }
}

int mam_checksum_security(const pg_trit *hash) {
  int sum = 0;
  for (int level = 1; level <= 3; level++) {
    for (int i = (level - 1) * 81; i < level * 81; i++) sum += hash[i];
    if (sum == 0) return level;
  }
  return 0;
}

/* ---- hashing shorthands ------------------------------------------------------ */

void mam_hash(const pg_trit *in, pg_trit *out) {
  pg_curl c;
  pg_curl_init(&c, 27);
  pg_curl_absorb(&c, in, MAM_HASH);
  pg_curl_rate(&c, out, MAM_HASH);
}

void mam_hash2(const pg_trit *a, const pg_trit *b, pg_trit *out) {
  pg_curl c;
  pg_curl_init(&c, 27);
  pg_curl_absorb(&c, a, MAM_HASH);
  pg_curl_absorb(&c, b, MAM_HASH);
  pg_curl_rate(&c, out, MAM_HASH);
}

/* The trits of tryte values -13..13, least significant first. */
static const pg_trit TRYTE_TRITS[27][3] = {
    {-1, -1, -1}, {0, -1, -1}, {1, -1, -1}, {-1, 0, -1}, {0, 0, -1}, {1, 0, -1},
    {-1, 1, -1}, {0, 1, -1}, {1, 1, -1}, {-1, -1, 0}, {0, -1, 0}, {1, -1, 0},
    {-1, 0, 0}, {0, 0, 0}, {1, 0, 0}, {-1, 1, 0}, {0, 1, 0}, {1, 1, 0},
    {-1, -1, 1}, {0, -1, 1}, {1, -1, 1}, {-1, 0, 1}, {0, 0, 1}, {1, 0, 1},
    {-1, 1, 1}, {0, 1, 1}, {1, 1, 1}};

/* 1 + (value + 13) of each tryte char ('9' = 0, 'A'..'M' = 1..13, 'N'..'Z' =
 * -13..-1); 0 for a non-tryte. */
static const uint8_t TRYTE_INDEX[256] = {
    ['9'] = 14, ['A'] = 15, ['B'] = 16, ['C'] = 17, ['D'] = 18, ['E'] = 19, ['F'] = 20,
    ['G'] = 21, ['H'] = 22, ['I'] = 23, ['J'] = 24, ['K'] = 25, ['L'] = 26, ['M'] = 27,
    ['N'] = 1, ['O'] = 2, ['P'] = 3, ['Q'] = 4, ['R'] = 5, ['S'] = 6, ['T'] = 7, ['U'] = 8,
    ['V'] = 9, ['W'] = 10, ['X'] = 11, ['Y'] = 12, ['Z'] = 13,};

int mam_trytes_to_trits(const char *s, size_t n, pg_trit *out) {
  if (n > 0 && !s) return PG_ERR_INVALID;
  for (size_t i = 0; i < n; i++) {
    unsigned k = TRYTE_INDEX[(unsigned char)s[i]];
    if (k == 0) return PG_ERR_INVALID;
    memcpy(out + 3 * i, TRYTE_TRITS[k - 1], 3);
  }
  return PG_OK;
}
