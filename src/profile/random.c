/* Counter-based random fields: splitmix64 of (seed, stream, bucket). */
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "profile_internal.h"

uint64_t pg_profile_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t pg_profile_key(uint64_t seed, uint64_t stream) {
  return pg_profile_mix(pg_profile_mix(seed ^ 0x6A09E667F3BCC908ull) ^
                        (stream * 0x9E3779B97F4A7C15ull));
}

/* Unit-variance, zero-mean innovation: sum of four 16-bit uniforms. */
static double innovation(uint64_t key, int64_t n) {
  uint64_t h = pg_profile_at(key, n);
  double s = 0;
  for (int i = 0; i < 4; i++) s += ((double)((h >> (16 * i)) & 0xFFFF) + 0.5) / 65536.0;
  return (s - 2.0) * 1.7320508075688772; /* var of the sum is 4/12 */
}

double pg_latent(uint64_t seed, uint64_t stream, int64_t t_ms, const pg_latent_spec *s) {
  uint64_t key = pg_profile_key(seed, stream);
  double pos = (double)t_ms / (double)s->bucket_ms - 0.5;
  double fl = floor(pos);
  int64_t n0 = (int64_t)fl;
  double f = pos - fl;
  int taps = s->taps > 64 ? 64 : s->taps;
  double norm = sqrt((1 - s->phi * s->phi) / (1 - pow(s->phi, 2.0 * taps)));
  /* e[i] = innovation(n0 + 1 - i), i = 0..taps */
  double z0 = 0, z1 = 0, rho = 0, w = norm;
  double prev_e = innovation(key, n0 + 1);
  for (int j = 0; j < taps; j++) {
    double e = innovation(key, n0 - j);
    z1 += w * prev_e;
    z0 += w * e;
    if (j + 1 < taps) rho += w * w * s->phi;
    prev_e = e;
    w *= s->phi;
  }
  double a = 1 - f, b = f;
  double sd = sqrt(a * a + b * b + 2 * a * b * rho);
  return (a * z0 + b * z1) / sd;
}

double pg_phi_cdf(double z) { return 0.5 * erfc(-z / 1.4142135623730951); }

double pg_profile_shift_h(uint64_t seed, uint64_t stream, double max_min) {
  if (!(max_min > 0)) return 0;
  uint64_t r = pg_profile_at(pg_profile_key(seed, stream), 0);
  double u = ((double)(r >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
  return (2 * u - 1) * max_min / 60;
}

/* The constants of pg_latent: norm and rho, computed as it computes them. */
static void latent_consts(const pg_latent_spec *s, int taps, double *norm, double *rho) {
  *norm = sqrt((1 - s->phi * s->phi) / (1 - pow(s->phi, 2.0 * taps)));
  double w = *norm, r = 0;
  for (int j = 0; j < taps; j++) {
    if (j + 1 < taps) r += w * w * s->phi;
    w *= s->phi;
  }
  *rho = r;
}

/* pos of pg_latent at minute i of day (t exact in double below 2^53). */
__attribute__((always_inline)) static inline double latent_pos(double day_ms, int i, double bucket) {
  return (day_ms + (double)(i * 60000 + 30000)) / bucket - 0.5;
}

/* The per-minute part of pg_latent: where t falls between two bucket
 * centres, the interpolation and its rescaling. The first pass (position,
 * floor, fraction, the rescaling's square root) runs 2 or 4 minutes a
 * vector — IEEE operations lane by lane, so the same bits as the scalar
 * code — with SSE4.1 or, when the CPU has it, AVX; the second gathers the
 * bucket sums. */
#define LATENT_PASS1(V, SET1, ADD, SUB, MUL, DIV, FLOOR, SQRT, LOAD, STORE, L)          \
  do {                                                                           \
    V vb = SET1(bucket), vh = SET1(0.5), v1 = SET1(1), v2 = SET1(2), vr = SET1(rho); \
    V vdm = SET1(dm), vlo = SET1(lod);                                           \
    for (int i = 0; i < PG_DAY_MINUTES; i += L) {                                \
      V c = LOAD(minute_ms + i);                                                 \
      V pos = SUB(DIV(ADD(vdm, c), vb), vh);                                     \
      V fl = FLOOR(pos);                                                         \
      V f = SUB(pos, fl);                                                        \
      V a = SUB(v1, f);                                                          \
      V q = ADD(ADD(MUL(a, a), MUL(f, f)), MUL(MUL(MUL(v2, a), f), vr));         \
      STORE(fr + i, f);                                                          \
      STORE(kk + i, SUB(fl, vlo));                                               \
      STORE(sd + i, SQRT(q));                                                    \
    }                                                                            \
  } while (0)

#define FLOOR_SSE(x) _mm_round_pd((x), _MM_FROUND_FLOOR | _MM_FROUND_NO_EXC)
#define FLOOR_AVX(x) _mm256_round_pd((x), _MM_FROUND_FLOOR | _MM_FROUND_NO_EXC)

/* the minute midpoints' ms within a day, exact in double */
static double minute_ms[PG_DAY_MINUTES] __attribute__((aligned(32)));
static pthread_once_t minute_once = PTHREAD_ONCE_INIT;
static int have_simd; /* 2 AVX, 1 SSE4.1, 0 neither */
int pg_profile_simd_max = 2;

static void minute_init(void) {
  for (int i = 0; i < PG_DAY_MINUTES; i++) minute_ms[i] = (double)(i * 60000 + 30000);
  __builtin_cpu_init();
  have_simd = __builtin_cpu_supports("avx") ? 2 : __builtin_cpu_supports("sse4.1") ? 1 : 0;
}

/* the portable pass: the same operations one minute at a time */
static void pass1_scalar(double dm, double bucket, double rho, double lod, double *fr, double *kk,
                         double *sd) {
  for (int i = 0; i < PG_DAY_MINUTES; i++) {
    double pos = (dm + minute_ms[i]) / bucket - 0.5;
    double fl = floor(pos);
    double f = pos - fl;
    double a = 1 - f;
    fr[i] = f;
    kk[i] = fl - lod;
    sd[i] = sqrt(a * a + f * f + 2 * a * f * rho);
  }
}

__attribute__((target("sse4.1"))) static void pass1_sse(double dm, double bucket, double rho, double lod, double *fr, double *kk,
                      double *sd) {
  LATENT_PASS1(__m128d, _mm_set1_pd, _mm_add_pd, _mm_sub_pd, _mm_mul_pd, _mm_div_pd, FLOOR_SSE,
               _mm_sqrt_pd, _mm_load_pd, _mm_storeu_pd, 2);
}

__attribute__((target("avx"))) static void pass1_avx(double dm, double bucket, double rho,
                                                     double lod, double *fr, double *kk,
                                                     double *sd) {
  LATENT_PASS1(__m256d, _mm256_set1_pd, _mm256_add_pd, _mm256_sub_pd, _mm256_mul_pd,
               _mm256_div_pd, FLOOR_AVX, _mm256_sqrt_pd, _mm256_load_pd, _mm256_storeu_pd, 4);
}

/* A day's first pass is the same for every day whose positions lie in one
 * binade: with K = buckets a day (an integer), the quotient at minute i is
 * d K + (i x 60000 + 30000) / bucket, d K an integer, so it rounds to d K
 * plus the same rounded fraction as long as [d K, d K + K] shares its
 * exponent; the floor and the fraction follow exactly. The pass is then
 * made once for a run of days (and again where the exponent changes). */
static bool same_binade(int64_t day, int64_t K, int *e) {
  if (day <= 0) return false;
  int a = ilogb((double)(day * K)), b = ilogb((double)(day * K + K));
  *e = a;
  return a == b;
}

static void latent_minutes(const double *z, int64_t lo, double rho, double bucket, int64_t day0,
                           size_t ndays, double *out) {
  pthread_once(&minute_once, minute_init);
  int simd = have_simd < pg_profile_simd_max ? have_simd : pg_profile_simd_max;
  double fr[PG_DAY_MINUTES], sd[PG_DAY_MINUTES], kk[PG_DAY_MINUTES], am[PG_DAY_MINUTES];
  int run_at[PG_DAY_MINUTES + 1], nruns = 0, table_e = INT32_MIN;
  int64_t K = 86400000 % (int64_t)bucket == 0 ? 86400000 / (int64_t)bucket : 0;
  for (size_t dd = 0; dd < ndays; dd++) {
    int64_t day = day0 + (int64_t)dd;
    double dm = (double)(day * 86400000);
    int e = 0;
    bool reuse = K > 0 && same_binade(day, K, &e) && e == table_e;
    double base = K > 0 ? (double)(day * K) : (double)lo; /* kk relative to it */
    if (!reuse) {
      if (simd == 2) pass1_avx(dm, bucket, rho, base, fr, kk, sd);
      else if (simd == 1) pass1_sse(dm, bucket, rho, base, fr, kk, sd);
      else pass1_scalar(dm, bucket, rho, base, fr, kk, sd);
      nruns = 0;
      for (int i = 0; i < PG_DAY_MINUTES; i++) {
        am[i] = 1 - fr[i];
        if (i == 0 || kk[i] != kk[i - 1]) run_at[nruns++] = i;
      }
      run_at[nruns] = PG_DAY_MINUTES;
      table_e = K > 0 && same_binade(day, K, &e) ? e : INT32_MIN;
    }
    double *o = out + dd * PG_DAY_MINUTES;
    int64_t off = (K > 0 ? day * K : lo) - lo; /* bucket index of kk = 0 in z */
    for (int r = 0; r < nruns; r++) {
      size_t k = (size_t)((int64_t)kk[run_at[r]] + off);
      double z0 = z[k], z1 = z[k + 1];
      for (int i = run_at[r]; i < run_at[r + 1]; i++) o[i] = (am[i] * z0 + fr[i] * z1) / sd[i];
    }
  }
}

static int latent_block(uint64_t seed, uint64_t stream, const pg_latent_spec *s, int64_t day0,
                        size_t ndays, double *out);

/* In blocks of 16 days: the scratch stays small (heap, not a fresh mmap and
 * its page faults every call); each value depends only on its t. */
int pg_latent_days(uint64_t seed, uint64_t stream, const pg_latent_spec *s, int64_t day0,
                   size_t ndays, double *out) {
  for (size_t b = 0; b < ndays; b += 16) {
    int rc = latent_block(seed, stream, s, day0 + (int64_t)b, ndays - b < 16 ? ndays - b : 16,
                          out + b * PG_DAY_MINUTES);
    if (rc) return rc;
  }
  return PG_OK;
}

static int latent_block(uint64_t seed, uint64_t stream, const pg_latent_spec *s, int64_t day0,
                        size_t ndays, double *out) {
  uint64_t key = pg_profile_key(seed, stream);
  int taps = s->taps > 64 ? 64 : s->taps;
  double norm, rho, bucket = (double)s->bucket_ms;
  latent_consts(s, taps, &norm, &rho);
  double d0 = (double)(day0 * 86400000), dl = (double)((day0 + (int64_t)ndays - 1) * 86400000);
  int64_t lo = (int64_t)floor(latent_pos(d0, 0, bucket));
  int64_t hi = (int64_t)floor(latent_pos(dl, PG_DAY_MINUTES - 1, bucket)) + 1;
  size_t nz = (size_t)(hi - lo + 1), ne = nz + (size_t)taps;
  double *e = malloc((ne + nz) * sizeof *e);
  if (!e) return PG_ERR_NOMEM;
  double *z = e + ne;
  /* e[k] = innovation(lo - taps + 1 + k); Z(n) = sum_j w_j e(n - j) as pg_latent sums it */
  for (size_t k = 0; k < ne; k++) e[k] = innovation(key, lo - taps + 1 + (int64_t)k);
  for (size_t k = 0; k < nz; k++) {
    const double *en = e + k + (size_t)taps - 1; /* e(lo + k) */
    double acc = 0, w = norm;
    for (int j = 0; j < taps; j++) {
      acc += w * en[-j];
      w *= s->phi;
    }
    z[k] = acc;
  }
  latent_minutes(z, lo, rho, bucket, day0, ndays, out);
  free(e);
  return PG_OK;
}

const pg_latent_spec pg_quarter_hour_noise = {900000, 0.8, 32};

double pg_profile_lognormal(uint64_t seed, uint64_t stream, int64_t t_ms, double sigma) {
  if (!(sigma > 0)) return 1;
  double z = pg_latent(seed, stream, t_ms, &pg_quarter_hour_noise);
  return exp(sigma * z - 0.5 * sigma * sigma);
}

double pg_shape24(const double tab[24], double hour) {
  double pos = hour - 0.5, fl = floor(pos), f = pos - fl;
  int i = (int)fl % 24;
  if (i < 0) i += 24;
  return tab[i] * (1 - f) + tab[(i + 1) % 24] * f;
}

double pg_shape24_mean(const double tab[24]) {
  double s = 0;
  for (int i = 0; i < 24; i++) s += tab[i];
  return s / 24;
}
