/* Curl-P on 512 bit-sliced lanes (pg_curlx): one transform, three builds of
 * the same code (portable, AVX2, AVX-512F) chosen at run time, and the bulk
 * moves of trits between lanes and rows (64x64 bit transposes; AVX-512BW
 * byte masks when the CPU has them).
 *
 * Three or four rounds per pass (curl_bitslice.h _three, _four): a pass
 * reads and writes the state once (the two-round form once for two, the
 * single-round form 1.5 reads and one write per round); a 512-lane state is
 * 93 KiB, beyond L1. Curl-P-27 and -81 take three four-round passes so that
 * the count of passes is even and the result ends in lo (9 three-round
 * passes ended in tlo and cost a copy back, as much as a pass); per round a
 * four-round pass costs what a three-round one does (measured), so no more
 * of them. Other round counts start with one _one or _two pass. */
#include <string.h>

#include "p2pgrid/crypto/curlp.h"

#include "curl_bitslice.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "curl_wide.c reads 8 trits as one little-endian word"
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define CURLX_X86 1
#else
#define CURLX_X86 0
#endif

/* Four-round passes for `rounds`: three when the rest then splits into
 * three-round passes and the count of passes is even (27 = 3 x 4 + 5 x 3,
 * 81 = 3 x 4 + 23 x 3: the result lands in lo, no copy back), else none. */
static int curlx_fours(int rounds) {
  const int rest = rounds - 12;
  return rest >= 0 && rest % 3 == 0 && (3 + rest / 3) % 2 == 0 ? 3 : 0;
}

/* One template per instruction set: NAME##_v is a vector of GCC's vector
 * extension of VB bytes (16 = SSE2, 32 = AVX2, 64 = AVX-512; AVX-512 also
 * folds three-input logic into vpternlog), and a row of the 512-lane state
 * (64 bytes) is 64 / VB of them, done one part after the other so that the
 * live values of a pass fit the registers. Row r of part p is element
 * r * PARTS + p. The rounds are curl_bitslice.h's. */
#define CURLX_IMPL(NAME, VB, TARGET)                                                             \
  typedef uint64_t NAME##_v __attribute__((vector_size(VB), aligned(VB)));                       \
  enum { NAME##_PARTS = 64 / (VB) };                                                             \
  CURL_BS_ROUNDS(NAME, NAME##_v, NAME##_PARTS, TARGET)                                           \
  TARGET static void NAME##_transform(pg_curlx *s, int rounds) {                                 \
    NAME##_v *al = (NAME##_v *)(void *)s->lo, *ah = (NAME##_v *)(void *)s->hi;                  \
    NAME##_v *bl = (NAME##_v *)(void *)s->tlo, *bh = (NAME##_v *)(void *)s->thi, *t;             \
    const int fours = curlx_fours(rounds);                                                       \
    int r = fours ? 4 * fours : rounds % 3;                                                      \
    for (int f = 0; f < fours; f++) {                                                            \
      for (int p = 0; p < NAME##_PARTS; p++) NAME##_four(al + p, ah + p, bl + p, bh + p);        \
      t = al, al = bl, bl = t, t = ah, ah = bh, bh = t;                                          \
    }                                                                                            \
    if (!fours && r == 1)                                                                        \
      for (int p = 0; p < NAME##_PARTS; p++) NAME##_one(al + p, ah + p, bl + p, bh + p);         \
    if (!fours && r == 2)                                                                        \
      for (int p = 0; p < NAME##_PARTS; p++) NAME##_two(al + p, ah + p, bl + p, bh + p);         \
    if (!fours && r) t = al, al = bl, bl = t, t = ah, ah = bh, bh = t;                           \
    for (; r < rounds; r += 3) {                                                                 \
      for (int p = 0; p < NAME##_PARTS; p++) NAME##_three(al + p, ah + p, bl + p, bh + p);       \
      t = al, al = bl, bl = t, t = ah, ah = bh, bh = t;                                          \
    }                                                                                            \
    if ((void *)al != (void *)s->lo) {                                                           \
      memcpy(s->lo, al, sizeof s->lo);                                                           \
      memcpy(s->hi, ah, sizeof s->hi);                                                           \
    }                                                                                            \
  }

CURLX_IMPL(port, 16, )
#if CURLX_X86
CURLX_IMPL(avx2, 32, __attribute__((target("avx2"))))
CURLX_IMPL(avx512, 64, __attribute__((target("avx512f"))))
#endif

static pg_curlx_impl best_impl(void) {
#if CURLX_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return PG_CURLX_AVX512;
  if (__builtin_cpu_supports("avx2")) return PG_CURLX_AVX2;
#endif
  return PG_CURLX_PORTABLE;
}

bool pg_curlx_impl_supported(pg_curlx_impl impl) {
  switch (impl) {
  case PG_CURLX_AUTO:
  case PG_CURLX_PORTABLE: return true;
#if CURLX_X86
  case PG_CURLX_AVX2: return best_impl() >= PG_CURLX_AVX2;
  case PG_CURLX_AVX512: return best_impl() >= PG_CURLX_AVX512;
#endif
  default: return false;
  }
}

const char *pg_curlx_impl_name(pg_curlx_impl impl) {
  if (impl == PG_CURLX_AUTO) impl = best_impl();
  switch (impl) {
  case PG_CURLX_PORTABLE: return "portable";
  case PG_CURLX_AVX2: return "avx2";
  case PG_CURLX_AVX512: return "avx512";
  default: return "?";
  }
}

int pg_curlx_transform_with(pg_curlx *s, int rounds, pg_curlx_impl impl) {
  if (impl == PG_CURLX_AUTO) impl = best_impl();
  if (!pg_curlx_impl_supported(impl)) return PG_ERR_UNSUPPORTED;
  switch (impl) {
#if CURLX_X86
  case PG_CURLX_AVX512: avx512_transform(s, rounds); break;
  case PG_CURLX_AVX2: avx2_transform(s, rounds); break;
#endif
  default: port_transform(s, rounds); break;
  }
  return PG_OK;
}

void pg_curlx_transform(pg_curlx *s, int rounds) {
  if (pg_curlx_transform_with(s, rounds, PG_CURLX_AUTO) != PG_OK) port_transform(s, rounds);
}

/* ---- rows and lanes ----------------------------------------------------------- */

/* Each of lo and hi is one byte repeated over the rows: memset (whose
 * large-size path writes whole lines without reading them first). */
void pg_curlx_fill(pg_curlx *s, size_t row0, size_t nrows, pg_trit t) {
  memset(s->lo[row0], t <= 0 ? 0xff : 0, nrows * sizeof s->lo[0]);
  memset(s->hi[row0], t >= 0 ? 0xff : 0, nrows * sizeof s->hi[0]);
}

void pg_curlx_copy_rows(pg_curlx *dst, const pg_curlx *src, size_t row0, size_t nrows) {
  memcpy(dst->lo[row0], src->lo[row0], nrows * sizeof dst->lo[0]);
  memcpy(dst->hi[row0], src->hi[row0], nrows * sizeof dst->hi[0]);
}

/* In-place transpose of a 64x64 bit matrix (bit j of m[i] <-> bit i of m[j]):
 * six rounds of block swaps, 32 word pairs each. */
static void transpose64(uint64_t m[64]) {
  uint64_t mask = 0x00000000FFFFFFFFull;
  for (unsigned j = 32; j != 0; j >>= 1, mask ^= mask << j) {
    for (unsigned k = 0; k < 64; k = (k + j + 1) & ~j) {
      uint64_t t = ((m[k] >> j) ^ m[k + j]) & mask;
      m[k] ^= t << j;
      m[k + j] ^= t;
    }
  }
}

#define BYTES01 0x0101010101010101ull
#define GATHER 0x0102040810204080ull /* (bytes of 0/1) * GATHER >> 56: byte i -> bit i */

/* Bits of up to 64 trits (n <= 64): bit i of *lo = (t[i] <= 0), of *hi = (t[i] >= 0).
 * Eight trits at a time: a trit byte is 0x01, 0x00 or 0xff, so its bit 0
 * without its bit 7 says > 0 and its bit 7 says < 0. */
static void trit_bits(const pg_trit *t, size_t n, uint64_t *lo, uint64_t *hi) {
  uint64_t pos = 0, neg = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = 0;
    memcpy(&x, t + i, n - i < 8 ? n - i : 8);
    uint64_t sign = (x >> 7) & BYTES01;
    pos |= (((x & BYTES01) & ~sign) * GATHER >> 56) << i;
    neg |= (sign * GATHER >> 56) << i;
  }
  *lo = ~pos;
  *hi = ~neg;
}

/* The 8 bits of b as 8 bytes of 0/1 (byte i = bit i). */
static uint64_t spread8(uint64_t b) {
  uint64_t x = (b * BYTES01) & 0x8040201008040201ull;
  return ((x + 0x7F7F7F7F7F7F7F7Full) >> 7) & BYTES01;
}

/* The loaded lanes' trits of 64 rows, as bits: ml/mh[k] for lane 64w+k. */
typedef void (*bits_in_fn)(const pg_trit *const *lanes, uint64_t keep, size_t r, size_t n,
                           uint64_t ml[64], uint64_t mh[64]);
typedef void (*bits_out_fn)(uint64_t ml[64], uint64_t mh[64], pg_trit *const *lanes, size_t r,
                            size_t n);

static void bits_in_port(const pg_trit *const *lanes, uint64_t keep, size_t r, size_t n,
                         uint64_t ml[64], uint64_t mh[64]) {
  for (size_t k = 0; k < 64; k++) {
    if ((keep >> k) & 1) {
      ml[k] = mh[k] = 0;
    } else {
      trit_bits(lanes[k] + r, n, &ml[k], &mh[k]);
    }
  }
  transpose64(ml);
  transpose64(mh);
}

static void bits_out_port(uint64_t ml[64], uint64_t mh[64], pg_trit *const *lanes, size_t r,
                          size_t n) {
  transpose64(ml);
  transpose64(mh);
  for (size_t k = 0; k < 64; k++) {
    if (!lanes[k]) continue;
    pg_trit *o = lanes[k] + r;
    uint64_t pos = mh[k] & ~ml[k], neg = ml[k] & ~mh[k];
    for (size_t i = 0; i < n; i += 8) {
      uint64_t x = spread8((pos >> i) & 0xff) | spread8((neg >> i) & 0xff) * 0xff;
      memcpy(o + i, &x, n - i < 8 ? n - i : 8);
    }
  }
}

#if CURLX_X86
#include <immintrin.h>
#define AVX512BW __attribute__((target("avx512f,avx512bw")))

/* transpose64 on eight 512-bit registers: the three wide block sizes swap
 * between registers, the three narrow ones between the elements of one
 * (a permute gives each element its partner). */
AVX512BW static void transpose64_avx512(uint64_t m[64]) {
  __m512i v[8];
  for (int i = 0; i < 8; i++) v[i] = _mm512_loadu_si512((const void *)(m + 8 * i));
  static const uint64_t MASKS[6] = {0x00000000FFFFFFFFull, 0x0000FFFF0000FFFFull,
                                    0x00FF00FF00FF00FFull, 0x0F0F0F0F0F0F0F0Full,
                                    0x3333333333333333ull, 0x5555555555555555ull};
  for (int s = 0, d = 4; s < 3; s++, d >>= 1) {
    const unsigned j = 32u >> s;
    const __m512i mk = _mm512_set1_epi64((long long)MASKS[s]);
    for (int i = 0; i < 8; i++) {
      if (i & d) continue;
      __m512i t = _mm512_and_si512(_mm512_xor_si512(_mm512_srli_epi64(v[i], j), v[i + d]), mk);
      v[i] = _mm512_xor_si512(v[i], _mm512_slli_epi64(t, j));
      v[i + d] = _mm512_xor_si512(v[i + d], t);
    }
  }
  static const __mmask8 HIGH[3] = {0xF0, 0xCC, 0xAA};
  for (int s = 3; s < 6; s++) {
    const unsigned j = 32u >> s;
    const __m512i mk = _mm512_set1_epi64((long long)MASKS[s]);
    const __m512i idx = _mm512_xor_si512(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
                                         _mm512_set1_epi64((long long)j));
    for (int i = 0; i < 8; i++) {
      __m512i p = _mm512_permutexvar_epi64(idx, v[i]);
      __m512i lo = _mm512_and_si512(_mm512_xor_si512(_mm512_srli_epi64(v[i], j), p), mk);
      __m512i hi = _mm512_and_si512(_mm512_xor_si512(_mm512_srli_epi64(p, j), v[i]), mk);
      v[i] = _mm512_xor_si512(v[i], _mm512_mask_blend_epi64(HIGH[s - 3], _mm512_slli_epi64(lo, j), hi));
    }
  }
  for (int i = 0; i < 8; i++) _mm512_storeu_si512((void *)(m + 8 * i), v[i]);
}

AVX512BW static void bits_in_avx512(const pg_trit *const *lanes, uint64_t keep, size_t r,
                                    size_t n, uint64_t ml[64], uint64_t mh[64]) {
  const __mmask64 nm = n == 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
  const __m512i z = _mm512_setzero_si512();
  for (size_t k = 0; k < 64; k++) {
    if ((keep >> k) & 1) {
      ml[k] = mh[k] = 0;
      continue;
    }
    __m512i x = _mm512_maskz_loadu_epi8(nm, lanes[k] + r);
    ml[k] = ~(uint64_t)_mm512_cmpgt_epi8_mask(x, z);
    mh[k] = ~(uint64_t)_mm512_cmpgt_epi8_mask(z, x);
  }
  transpose64_avx512(ml);
  transpose64_avx512(mh);
}

AVX512BW static void bits_out_avx512(uint64_t ml[64], uint64_t mh[64], pg_trit *const *lanes,
                                     size_t r, size_t n) {
  const __mmask64 nm = n == 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
  const __m512i one = _mm512_set1_epi8(1), minus = _mm512_set1_epi8(-1);
  transpose64_avx512(ml);
  transpose64_avx512(mh);
  for (size_t k = 0; k < 64; k++) {
    if (!lanes[k]) continue;
    __m512i x = _mm512_maskz_mov_epi8((__mmask64)(mh[k] & ~ml[k]), one);
    x = _mm512_mask_mov_epi8(x, (__mmask64)(ml[k] & ~mh[k]), minus);
    _mm512_mask_storeu_epi8(lanes[k] + r, nm, x);
  }
}
#endif

static bool have_avx512bw(void) {
#if CURLX_X86
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

/* AVX-512 (with BW) moves trits with byte masks; the others use the portable code. */
static bits_in_fn pick_in(pg_curlx_impl impl) {
#if CURLX_X86
  if ((impl == PG_CURLX_AUTO || impl == PG_CURLX_AVX512) && have_avx512bw()) return bits_in_avx512;
#endif
  (void)impl;
  return bits_in_port;
}

static bits_out_fn pick_out(pg_curlx_impl impl) {
#if CURLX_X86
  if ((impl == PG_CURLX_AUTO || impl == PG_CURLX_AVX512) && have_avx512bw()) return bits_out_avx512;
#endif
  (void)impl;
  return bits_out_port;
}

void pg_curlx_load(pg_curlx *s, size_t row0, size_t nrows, const pg_trit *const *lanes,
                   size_t nlanes) {
  pg_curlx_load_with(s, row0, nrows, lanes, nlanes, PG_CURLX_AUTO);
}

void pg_curlx_store(const pg_curlx *s, size_t row0, size_t nrows, pg_trit *const *lanes,
                    size_t nlanes) {
  pg_curlx_store_with(s, row0, nrows, lanes, nlanes, PG_CURLX_AUTO);
}

void pg_curlx_load_with(pg_curlx *s, size_t row0, size_t nrows, const pg_trit *const *lanes,
                        size_t nlanes, pg_curlx_impl impl) {
  uint64_t ml[64], mh[64];
  bits_in_fn bits_in = pick_in(impl);
  for (size_t w = 0; w < PG_CURLX_WORDS && 64 * w < nlanes; w++) {
    uint64_t keep = 0; /* lanes of this word that are not loaded */
    for (size_t k = 0; k < 64; k++) {
      size_t lane = 64 * w + k;
      if (lane >= nlanes || !lanes[lane]) keep |= (uint64_t)1 << k;
    }
    if (keep == UINT64_MAX) continue;
    for (size_t r = 0; r < nrows; r += 64) {
      size_t n = nrows - r < 64 ? nrows - r : 64;
      bits_in(lanes + 64 * w, keep, r, n, ml, mh);
      for (size_t i = 0; i < n; i++) {
        uint64_t *lo = &s->lo[row0 + r + i][w], *hi = &s->hi[row0 + r + i][w];
        *lo = (*lo & keep) | (ml[i] & ~keep);
        *hi = (*hi & keep) | (mh[i] & ~keep);
      }
    }
  }
}

void pg_curlx_store_with(const pg_curlx *s, size_t row0, size_t nrows, pg_trit *const *lanes,
                         size_t nlanes, pg_curlx_impl impl) {
  uint64_t ml[64], mh[64];
  pg_trit *part[64];
  bits_out_fn bits_out = pick_out(impl);
  for (size_t w = 0; w < PG_CURLX_WORDS && 64 * w < nlanes; w++) {
    bool any = false;
    for (size_t k = 0; k < 64; k++) {
      part[k] = 64 * w + k < nlanes ? lanes[64 * w + k] : NULL;
      any |= part[k] != NULL;
    }
    if (!any) continue;
    for (size_t r = 0; r < nrows; r += 64) {
      size_t n = nrows - r < 64 ? nrows - r : 64;
      for (size_t i = 0; i < 64; i++) {
        ml[i] = i < n ? s->lo[row0 + r + i][w] : 0;
        mh[i] = i < n ? s->hi[row0 + r + i][w] : 0;
      }
      bits_out(ml, mh, part, r, n);
    }
  }
}

void pg_curlx_lane_bits(const pg_curlx *s, size_t word, size_t row0, size_t nrows,
                        uint64_t pos[64], uint64_t neg[64]) {
  uint64_t ml[64], mh[64];
  for (size_t i = 0; i < 64; i++) {
    ml[i] = i < nrows ? s->lo[row0 + i][word] : UINT64_MAX;
    mh[i] = i < nrows ? s->hi[row0 + i][word] : UINT64_MAX;
  }
  transpose64(ml);
  transpose64(mh);
  for (size_t k = 0; k < 64; k++) {
    pos[k] = mh[k] & ~ml[k];
    neg[k] = ml[k] & ~mh[k];
  }
}
