/* Curl-P sponge (crypto.js Curl): scalar and 64-lane bit-sliced transforms.
 *
 * One round reads the previous state c along the walk j_i = 364 i mod 729 and
 * writes state[i] = S(c[j_i], c[j_{i+1}]). Since 364 = -1/2 mod 729, the walk
 * interleaves two descending runs: for m = 0..364,
 *   j_{2m} = -m mod 729,  j_{2m+1} = 364 - m,
 * so state[2m] = S(c[-m], c[364-m]) and state[2m+1] = S(c[364-m], c[728-m]).
 * The loops below use that form (or a layout-flipped form of it, for the
 * scalar transform): sequential reads, no index table, and two buffers
 * swapped between rounds (no copies inside the round loop). */
#include "p2pgrid/crypto/curlp.h"

#include <string.h>

#include "curl_bitslice.h"

/* S(a, b) = TABLE[a + 4b + 5]; padded to 16 and indexed & 15 so that a
 * corrupt state (a trit outside -1..1) cannot read out of bounds. */
static const pg_trit SBOX[16] = {1, 0, -1, 2, 1, -1, 0, 2, -1, 1, 0, 0, 0, 0, 0, 0};

#define S(a, b) SBOX[((a) + 4 * (b) + 5) & 15]

/* Rounds alternate between two layouts so that both reading and writing
 * stream forwards. With rev(k) = -k mod 729, round "fwd" reads the state c in
 * natural order and writes Y[k] = new[rev(k)]:
 *   Y[2u] = S(c[u], c[u+364]) (u = 0..364),  Y[2u+1] = S(c[u+365], c[u]) (u = 0..363);
 * round "back" reads X[k] = c[rev(k)] and writes natural order:
 *   s[2m] = S(X[m], X[m+365]),  s[2m+1] = S(X[m+365], X[m+1]) (m = 0..363),
 *   s[728] = S(X[364], X[0]).
 * (Substitute m = 364 - u and m = rev(...) in the walk above.) With SSE2 the
 * s-box works on 16 trits at once: a trit's sign masks give its (lo, hi)
 * bits, the bit-sliced s-box below gives the output's, and out = lo - hi. */
#if defined(__SSE2__)
#include <emmintrin.h>
#define CURL_SIMD 16

typedef struct tmask {
  __m128i pos, neg; /* 0xff where the trit is > 0 / < 0 */
} tmask;

static inline tmask tmask_of(__m128i t) {
  const __m128i z = _mm_setzero_si128();
  tmask m = {_mm_cmpgt_epi8(t, z), _mm_cmpgt_epi8(z, t)};
  return m;
}

/* lo = ~pos, hi = ~neg; d = (al | ~bh) & (bl ^ ah) = ~(apos & ~bneg) & (bpos ^ aneg);
 * out lo = ~d, out hi = (al ^ bh) | d = (apos ^ bneg) | d; out = lo - hi (as masks). */
static inline __m128i sbox16(tmask a, tmask b) {
  __m128i t = _mm_andnot_si128(b.neg, a.pos);
  __m128i d = _mm_andnot_si128(t, _mm_xor_si128(b.pos, a.neg));
  __m128i hi = _mm_or_si128(_mm_xor_si128(a.pos, b.neg), d);
  __m128i lo = _mm_xor_si128(d, _mm_set1_epi8(-1));
  return _mm_sub_epi8(lo, hi);
}

static inline __m128i load16(const pg_trit *p) { return _mm_loadu_si128((const __m128i *)(const void *)p); }
static inline void store16(pg_trit *p, __m128i v) { _mm_storeu_si128((__m128i *)(void *)p, v); }
#else
#define CURL_SIMD 0
#endif

static void round_fwd(const pg_trit *restrict c, pg_trit *restrict y) {
  int u = 0;
#if CURL_SIMD
  for (; u + 16 <= 364; u += 16) {
    tmask a = tmask_of(load16(c + u)), b = tmask_of(load16(c + u + 364)),
          d = tmask_of(load16(c + u + 365));
    __m128i e = sbox16(a, b), o = sbox16(d, a);
    store16(y + 2 * u, _mm_unpacklo_epi8(e, o));
    store16(y + 2 * u + 16, _mm_unpackhi_epi8(e, o));
  }
#endif
  for (; u < 364; u++) {
    y[2 * u] = S(c[u], c[u + 364]);
    y[2 * u + 1] = S(c[u + 365], c[u]);
  }
  y[728] = S(c[364], c[728]);
}

static void round_back(const pg_trit *restrict x, pg_trit *restrict s) {
  int m = 0;
#if CURL_SIMD
  for (; m + 16 <= 364; m += 16) {
    tmask a = tmask_of(load16(x + m)), a1 = tmask_of(load16(x + m + 1)),
          b = tmask_of(load16(x + m + 365));
    __m128i e = sbox16(a, b), o = sbox16(b, a1);
    store16(s + 2 * m, _mm_unpacklo_epi8(e, o));
    store16(s + 2 * m + 16, _mm_unpackhi_epi8(e, o));
  }
#endif
  for (; m < 364; m++) {
    s[2 * m] = S(x[m], x[m + 365]);
    s[2 * m + 1] = S(x[m + 365], x[m + 1]);
  }
  s[728] = S(x[364], x[0]);
}

void pg_curl_init(pg_curl *c, int rounds) {
  memset(c->state, 0, sizeof c->state);
  c->rounds = rounds;
}

void pg_curl_transform(pg_curl *c) {
  pg_trit tmp[PG_CURL_STATE];
  int r = 0;
  for (; r + 2 <= c->rounds; r += 2) {
    round_fwd(c->state, tmp);
    round_back(tmp, c->state);
  }
  if (r < c->rounds) { /* odd count: one more, then undo the layout */
    round_fwd(c->state, tmp);
    c->state[0] = tmp[0];
    for (int i = 1; i < PG_CURL_STATE; i++) c->state[i] = tmp[PG_CURL_STATE - i];
  }
}

void pg_curl_absorb(pg_curl *c, const pg_trit *trits, size_t n) {
  while (n > 0) {
    size_t k = n < PG_CURL_HASH ? n : PG_CURL_HASH;
    memcpy(c->state, trits, k * sizeof *trits);
    pg_curl_transform(c);
    trits += k;
    n -= k;
  }
}

void pg_curl_squeeze(pg_curl *c, pg_trit *out, size_t n) {
  while (n > 0) {
    size_t k = n < PG_CURL_HASH ? n : PG_CURL_HASH;
    memcpy(out, c->state, k * sizeof *out);
    pg_curl_transform(c);
    out += k;
    n -= k;
  }
}

void pg_curl_rate(const pg_curl *c, pg_trit *out, size_t n) {
  if (n > PG_CURL_STATE) n = PG_CURL_STATE;
  memcpy(out, c->state, n * sizeof *out);
}

/* ---- bit-sliced ---------------------------------------------------------- */

/* The s-box on encoded trits (lo, hi): (1,0) = -1, (0,1) = +1, (1,1) = 0
 * (checked against SBOX for all nine pairs by the unit tests), and the
 * single and two-round passes: curl_bitslice.h, here on uint64_t rows. */
CURL_BS_ROUNDS(w64, uint64_t, 1, )

/* `rounds` rounds from (il, ih) into (ol, oh) with scratch (tl, th); the
 * passes alternate between the two buffers so that the last lands in o. in
 * may be o (then its first pass reads o and writes t). */
static void run64(const uint64_t *il, const uint64_t *ih, uint64_t *ol, uint64_t *oh,
                  uint64_t *tl, uint64_t *th, int rounds) {
  int passes = rounds / 2 + rounds % 2;
  uint64_t *al, *ah, *bl, *bh; /* a: the next pass's target */
  if (passes % 2) al = ol, ah = oh, bl = tl, bh = th;
  else al = tl, ah = th, bl = ol, bh = oh;
  if (il == ol && passes % 2) { /* odd count from o itself: start by copying to t */
    memcpy(tl, il, PG_CURL_STATE * sizeof *tl);
    memcpy(th, ih, PG_CURL_STATE * sizeof *th);
    il = tl, ih = th, al = ol, ah = oh, bl = tl, bh = th;
  }
  int r = 0;
  const uint64_t *cl = il, *ch = ih;
  while (r < rounds) {
    if (r == 0 && rounds % 2) {
      w64_one(cl, ch, al, ah);
      r += 1;
    } else {
      w64_two(cl, ch, al, ah);
      r += 2;
    }
    cl = al, ch = ah;
    uint64_t *t = al;
    al = bl, bl = t, t = ah, ah = bh, bh = t;
  }
  if (rounds <= 0 && il != ol) {
    memcpy(ol, il, PG_CURL_STATE * sizeof *ol);
    memcpy(oh, ih, PG_CURL_STATE * sizeof *oh);
  }
}

void pg_curl64_transform(pg_curl64 *s, int rounds) {
  uint64_t tl[PG_CURL_STATE], th[PG_CURL_STATE];
  run64(s->lo, s->hi, s->lo, s->hi, tl, th, rounds);
}

void pg_curl64_transform_copy(const pg_curl64 *in, pg_curl64 *out, int rounds) {
  uint64_t tl[PG_CURL_STATE], th[PG_CURL_STATE];
  run64(in->lo, in->hi, out->lo, out->hi, tl, th, rounds);
}

void pg_curl64_set_all(pg_curl64 *s, size_t i, pg_trit t) {
  s->lo[i] = t <= 0 ? UINT64_MAX : 0;
  s->hi[i] = t >= 0 ? UINT64_MAX : 0;
}

pg_trit pg_curl64_get(const pg_curl64 *s, size_t lane, size_t i) {
  int l = (int)((s->lo[i] >> lane) & 1), h = (int)((s->hi[i] >> lane) & 1);
  return (pg_trit)(h - l); /* (1,0) -> -1, (0,1) -> 1, (1,1) -> 0 */
}

void pg_curl64_set(pg_curl64 *s, size_t lane, size_t i, pg_trit t) {
  uint64_t bit = (uint64_t)1 << lane;
  if (t <= 0) s->lo[i] |= bit; else s->lo[i] &= ~bit;
  if (t >= 0) s->hi[i] |= bit; else s->hi[i] &= ~bit;
}
