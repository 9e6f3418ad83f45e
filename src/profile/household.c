/* Household load model fitted to the BDEW H25 standard load profile.
 * The coefficients below were made by src/profile/fit/fit_h25.c from
 * ../shared/data/bdew/h25.csv (2-D Fourier fit, 2 annual x 8 daily
 * harmonics); the data themselves are not part of this repository. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

#define NS 5  /* 1, cos/sin x, cos/sin 2x */
#define NF 17 /* 1, cos/sin n h, n = 1..8 */

/* W per 1000 kWh/a before dynamisation; [day type WT, SA, FT][S_i][F_j] */
static const double coef[3][NS][NF] = {
  { /* WT */
    {108.9871, -1.9058, -33.7564, -10.3809, -22.4670, -5.7958, -3.2117, 2.4560, 5.0287, -2.2038, -2.1020, -0.3575, -2.1583, -0.2893, -0.0261, -0.1453, 0.8275},
    {-7.2065, -1.0616, -2.0370, -4.9599, 0.5600, 0.2402, 2.9228, 1.6216, 1.1540, 0.3357, -0.6769, -0.0277, -0.5727, 0.4523, 0.1575, -0.1391, -0.2528},
    {-4.0459, 1.4129, 2.7263, 0.8378, 0.3353, 0.3114, -0.5946, -0.2932, -0.1972, 0.2852, -0.1750, -0.0857, -0.2425, -0.3616, 0.0453, -0.0877, 0.1679},
    {2.8869, -0.7455, -1.3846, 0.9077, 1.8507, 1.8244, 1.2649, 0.8643, -1.4350, -0.3465, -1.5478, -0.3511, 0.1900, -0.0794, 0.3477, -0.0777, -0.2699},
    {0.5044, 0.6359, 1.1622, 1.4174, 0.6195, -0.8028, 0.2097, -0.3027, 0.0831, 0.5501, 0.4886, 0.1074, 0.0256, -0.2894, -0.0462, 0.1669, 0.1006},
  },
  { /* SA */
    {124.3763, -23.4964, -38.8508, 3.8596, -19.9254, -4.8816, 3.3784, 0.3300, 0.2802, 0.1162, -3.5138, 0.8116, -1.0178, -1.7606, 0.3723, 0.4288, -0.3706},
    {-7.6032, -0.6103, -4.0546, -4.8623, 1.1333, -0.5496, 2.9726, 1.7630, 0.6124, 0.3567, -0.7464, -0.4023, -0.1721, 0.1401, 0.1661, -0.0809, -0.2359},
    {-3.2317, 0.9930, 2.2783, 0.5358, 0.1083, 0.3718, -0.3992, -0.3302, -0.1211, 0.0418, -0.2576, -0.0769, -0.1240, -0.3439, 0.2647, -0.0494, 0.1476},
    {1.9969, -0.7378, -1.8660, 0.3458, 3.3247, 1.9046, 0.7541, 1.4462, -1.3948, -0.5718, -1.0148, -0.6235, 0.1158, 0.1887, 0.2316, 0.0632, -0.0821},
    {0.5352, 0.8285, 1.0792, 0.6668, 0.8428, -0.7641, -0.1444, -0.1392, 0.4509, 0.3541, 0.5860, 0.1063, -0.1229, -0.1965, -0.0309, 0.0284, 0.1740},
  },
  { /* FT */
    {128.3951, -29.9512, -39.8269, 8.4236, -20.4869, -11.3750, 6.9646, 1.6273, 0.5706, -0.3264, -1.4519, 0.4735, -0.0781, -2.2620, 1.2357, 1.0651, 0.1540},
    {-7.2083, -1.3303, -3.6691, -4.7152, 2.3510, 0.2145, 2.7786, 2.0926, 0.5001, 0.4762, -0.6278, -0.1902, -0.4443, 0.3196, 0.0395, -0.0608, -0.3727},
    {-4.3832, 2.1925, 3.8748, 0.8912, -0.0370, 0.4625, -0.8826, -0.3881, -0.2220, 0.1731, -0.2167, -0.0058, -0.2599, -0.2957, 0.0368, -0.0845, 0.0777},
    {1.1702, 1.1623, -2.3749, 0.3277, 3.4916, 1.7582, -0.1382, 1.1804, -1.2625, -0.6460, -0.8654, -0.5181, 0.0031, 0.1507, 0.0681, -0.1290, -0.0049},
    {0.4733, 1.4978, 0.7661, 0.4366, 0.5152, -0.6472, -0.2777, -0.1935, 0.4285, 0.4332, 0.5041, 0.0442, -0.2164, -0.2257, -0.0108, 0.0510, 0.1421},
  },
};

void pg_household_params_default(pg_household_params *p) {
  *p = (pg_household_params){.annual_kwh = 3500,
                             .tz = PG_TZ_BERLIN,
                             .holidays = true,
                             .noise = 0.3,
                             .shift_max_min = 30};
}

static void seasonal(int doy, int year, double s[NS]) {
  double x = 2 * M_PI * (doy - 0.5) / pg_days_in_year(year);
  s[0] = 1;
  s[1] = cos(x);
  s[2] = sin(x);
  s[3] = cos(2 * x);
  s[4] = sin(2 * x);
}

/* Noise-free daily energy in Wh at 1000 kWh/a, before normalisation. */
static double raw_day_wh(const pg_household_params *p, int year, int month, int day) {
  int doy = pg_doy_of(year, month, day);
  pg_daytype k = pg_daytype_of(year, month, day, p->holidays);
  double s[NS];
  seasonal(doy, year, s);
  double base = 0;
  for (int i = 0; i < NS; i++) base += coef[k][i][0] * s[i];
  return 24 * base * pg_bdew_dynamisation(doy);
}

static double raw_day_fn(const void *ctx, int year, int month, int day, int doy) {
  (void)doy;
  return raw_day_wh(ctx, year, month, day);
}

static double year_norm(const pg_household_params *p, int year) {
  return 1e6 / pg_year_sum(year, raw_day_fn, p);
}

/* norm(year) depends only on the holidays switch (raw_day_wh reads nothing
 * else of the params): computed once per process for both settings instead
 * of 230 years x 365 days per household. */
static double norm_tab[2][PG_HOUSEHOLD_YEARS];
static pthread_once_t norm_once = PTHREAD_ONCE_INIT;

static void norm_fill(void) {
  for (int hol = 0; hol < 2; hol++) {
    pg_household_params q;
    pg_household_params_default(&q);
    q.holidays = hol != 0;
    for (int i = 0; i < PG_HOUSEHOLD_YEARS; i++) norm_tab[hol][i] = year_norm(&q, PG_HOUSEHOLD_YEAR0 + i);
  }
}

static const double *norm_table(bool holidays) {
  pthread_once(&norm_once, norm_fill);
  return norm_tab[holidays ? 1 : 0];
}

int pg_household_init(pg_household *h, const pg_household_params *p, pg_diag *d) {
  if (!pg_in_range(p->annual_kwh, 1e-3, 1e9))
    return pg_fail(d, PG_ERR_INVALID, "household: annual consumption must be > 0 and at most 1e9 kWh");
  if (p->tz.utc_offset_min < -720 || p->tz.utc_offset_min > 840)
    return pg_fail(d, PG_ERR_INVALID, "household: UTC offset must be -720..840 minutes");
  if (!pg_in_range(p->noise, 0, 1)) return pg_fail(d, PG_ERR_INVALID, "household: noise must be 0..1");
  if (!pg_in_range(p->shift_max_min, 0, 120))
    return pg_fail(d, PG_ERR_INVALID, "household: shift must be 0..120 minutes");
  h->p = *p;
  const double *tab = norm_table(p->holidays);
  for (int i = 0; i < PG_HOUSEHOLD_YEARS; i++) h->norm[i] = tab[i];
  return PG_OK;
}

static double norm_of(const pg_household *h, int year) {
  int i = year - PG_HOUSEHOLD_YEAR0;
  return (i >= 0 && i < PG_HOUSEHOLD_YEARS) ? h->norm[i] : year_norm(&h->p, year);
}

double pg_household_day_wh(const pg_household *h, int year, int month, int day) {
  return raw_day_wh(&h->p, year, month, day) * norm_of(h, year) * h->p.annual_kwh / 1000;
}

double pg_household_power_w(const pg_household *h, uint64_t seed, int64_t t_ms) {
  pg_local_time lt;
  pg_local_time_of(t_ms, h->p.tz, &lt);
  pg_daytype k = pg_daytype_of(lt.year, lt.month, lt.day, h->p.holidays);
  double hour = (double)lt.ms_of_day / 3600000.0;
  hour -= pg_profile_shift_h(seed, PG_STREAM_HOUSE_SHIFT, h->p.shift_max_min);
  double s[NS];
  seasonal(lt.doy, lt.year, s);
  double a = 2 * M_PI * hour / 24, c1 = cos(a), s1 = sin(a);
  double cn = 1, sn = 0, p = 0;
  for (int n = 0; n <= 8; n++) {
    for (int i = 0; i < NS; i++) {
      if (n == 0) {
        p += coef[k][i][0] * s[i];
      } else {
        p += (coef[k][i][2 * n - 1] * cn + coef[k][i][2 * n] * sn) * s[i];
      }
    }
    double cn2 = cn * c1 - sn * s1;
    sn = sn * c1 + cn * s1;
    cn = cn2;
  }
  if (p < 0) p = 0;
  p *= pg_bdew_dynamisation(lt.doy) * norm_of(h, lt.year) * h->p.annual_kwh / 1000;
  return p * pg_profile_lognormal(seed, PG_STREAM_HOUSE_NOISE, t_ms, h->p.noise);
}

/* ---- whole days at once (profile.h) ---- */

#define NT ((NF - 1) / 2 * NS) /* the terms of n = 1..8 */
#define NMIN PG_DAY_MINUTES
#define BLK 16                 /* minutes a block: four vectors of four */

typedef double v2d __attribute__((vector_size(16)));
typedef long long v2i __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

struct pg_household_work {
  double *rot; /* [16][NMIN]: cos n a, then sin n a (n = 1..8) at each local minute */
  double *p;   /* [local day][NMIN]: the noise-free power */
  size_t pcap; /* local days p holds */
};

int pg_household_work_new(pg_household_work **out, pg_diag *d) {
  pg_household_work *w = calloc(1, sizeof *w);
  if (w) w->rot = aligned_alloc(64, 16 * NMIN * sizeof *w->rot);
  if (!w || !w->rot) {
    free(w);
    return pg_fail(d, PG_ERR_NOMEM, "household days: out of memory");
  }
  *out = w;
  return PG_OK;
}

void pg_household_work_free(pg_household_work *w) {
  if (!w) return;
  free(w->rot);
  free(w->p);
  free(w);
}

/* cos/sin n a at each local minute j (its midpoint), with the rotation of
 * pg_household_power_w step by step. */
static void build_rotations(pg_household_work *w, double shift) {
  double *cs = w->rot, *ss = w->rot + 8 * NMIN;
  for (int j = 0; j < NMIN; j++) {
    double hour = (double)(int64_t)(j * 60000 + 30000) / 3600000.0;
    hour -= shift;
    double a = 2 * M_PI * hour / 24, c1 = cos(a), s1 = sin(a);
    double cn = 1, sn = 0;
    for (int n = 0; n < 8; n++) {
      double cn2 = cn * c1 - sn * s1;
      sn = sn * c1 + cn * s1;
      cn = cn2;
      cs[n * NMIN + j] = cn, ss[n * NMIN + j] = sn;
    }
  }
}

/* The 40 terms' u = A cos n a + B sin n a of day type k for minutes
 * j..j+15 (a block that stays in L1), [term][BLK]; lane by lane, so the
 * same bits as pg_household_power_w's own products and sum. */
static void build_block(const pg_household_work *w, int k, int j, double *ub) {
  const double *cs = w->rot + j, *ss = w->rot + 8 * NMIN + j;
  for (int n = 1; n <= 8; n++)
    for (int i = 0; i < NS; i++) {
      double A = coef[k][i][2 * n - 1], B = coef[k][i][2 * n];
      double *u = ub + ((n - 1) * NS + i) * BLK;
      const double *c = cs + (n - 1) * NMIN, *sv = ss + (n - 1) * NMIN;
      for (int q = 0; q < BLK; q++) u[q] = A * c[q] + B * sv[q];
    }
}

/* P(j) for minutes j0..j0+15 of one local day: the n = 0 sum c0, then the
 * 40 terms in pg_household_power_w's order (each lane one minute: the same
 * operations as the scalar code, so the same bits), clamped at 0 (p < 0
 * gives 0; -0 stays), times f. One body for SSE2 (8 x 2 lanes) and AVX
 * (4 x 4 lanes, chosen at run time); no FMA, which would round differently. */
#define BLOCK_SUM(V, VI, L)                                                          \
  do {                                                                               \
    enum { NV = BLK / L };                                                           \
    V acc[NV], z;                                                                    \
    for (int q = 0; q < NV; q++)                                                     \
      for (int l = 0; l < L; l++) acc[q][l] = c0;                                    \
    for (int t = 0; t < NT; t++) {                                                   \
      const double *r = u + (size_t)t * BLK;                                         \
      int i = t % NS;                                                                \
      double st = s[i];                                                              \
      for (int q = 0; q < NV; q++) {                                                 \
        V x;                                                                         \
        memcpy(&x, r + q * L, sizeof x);                                             \
        acc[q] += i == 0 ? x : x * st; /* s[0] = 1: x * 1 = x */                     \
      }                                                                              \
    }                                                                                \
    memset(&z, 0, sizeof z);                                                         \
    for (int q = 0; q < NV; q++) {                                                   \
      acc[q] = (V)((VI)acc[q] & ~(acc[q] < z)) * f;                                  \
      memcpy(out + q * L, &acc[q], sizeof acc[q]);                                   \
    }                                                                                \
  } while (0)

static void block_sum_sse(const double *u, const double s[NS], double c0, double f, double *out) {
  BLOCK_SUM(v2d, v2i, 2);
}

__attribute__((target("avx"))) static void block_sum_avx(const double *u, const double s[NS],
                                                         double c0, double f, double *out) {
  BLOCK_SUM(v4d, v4i, 4);
}

/* Two local days of one day type at once: each loaded term feeds both (the
 * loads, not the arithmetic, bound the single-day kernel); each day's lanes
 * see the same operations as block_sum's. */
typedef struct day_in {
  const double *s;
  double c0, f;
  double *out;
} day_in;

__attribute__((target("avx"))) static void block_sum2_avx(const double *u, const day_in *x,
                                                          const day_in *y) {
  v4d a[4], b[4], z;
  for (int q = 0; q < 4; q++)
    for (int l = 0; l < 4; l++) a[q][l] = x->c0, b[q][l] = y->c0;
  for (int t = 0; t < NT; t++) {
    const double *r = u + (size_t)t * BLK;
    int i = t % NS;
    double sx = x->s[i], sy = y->s[i];
    for (int q = 0; q < 4; q++) {
      v4d v;
      memcpy(&v, r + q * 4, sizeof v);
      if (i == 0) { /* s[0] = 1: x * 1 = x */
        a[q] += v;
        b[q] += v;
      } else {
        a[q] += v * sx;
        b[q] += v * sy;
      }
    }
  }
  memset(&z, 0, sizeof z);
  for (int q = 0; q < 4; q++) {
    a[q] = (v4d)((v4i)a[q] & ~(a[q] < z)) * x->f;
    b[q] = (v4d)((v4i)b[q] & ~(b[q] < z)) * y->f;
    memcpy(x->out + q * 4, &a[q], sizeof a[q]);
    memcpy(y->out + q * 4, &b[q], sizeof b[q]);
  }
}

typedef void (*block_fn)(const double *, const double *, double, double, double *);

static bool use_avx(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx") && pg_profile_simd_max >= 2;
}

/* block_sum of the days in[0..n) (one day type) */
static void block_days(bool avx, const double *u, const day_in *in, size_t n) {
  size_t m = 0;
  if (avx)
    for (; m + 2 <= n; m += 2) block_sum2_avx(u, &in[m], &in[m + 1]);
  for (; m < n; m++)
    (avx ? block_sum_avx : block_sum_sse)(u, in[m].s, in[m].c0, in[m].f, in[m].out);
}

static bool tz_same(pg_tz a, pg_tz b) {
  return a.utc_offset_min == b.utc_offset_min && a.eu_dst == b.eu_dst && a.zone == b.zone;
}

/* The noise-free power of local days l0..l1 at every local minute. */
static void local_days_power(const pg_household *h, const pg_local_days *c, pg_household_work *w,
                             const bool need[3], size_t l0, size_t l1) {
  int hol = h->p.holidays ? 1 : 0;
  double s[3 * 64][NS], c0[3 * 64], f[3 * 64]; /* per local day of a group */
  for (size_t g0 = l0; g0 <= l1; g0 += 3 * 64) {
    size_t g1 = g0 + 3 * 64 - 1 < l1 ? g0 + 3 * 64 - 1 : l1;
    for (size_t l = g0; l <= g1; l++) {
      const pg_local_date *q = &c->dates[l];
      int k = q->type[hol];
      seasonal(q->doy, q->year, s[l - g0]);
      double p = 0;
      for (int i = 0; i < NS; i++) p += coef[k][i][0] * s[l - g0][i];
      c0[l - g0] = p;
      f[l - g0] = pg_bdew_dynamisation(q->doy) * norm_of(h, q->year) * h->p.annual_kwh / 1000;
    }
    bool avx = use_avx();
    double ub[3][NT * BLK] __attribute__((aligned(32)));
    day_in in[3][3 * 64]; /* the group's days by day type */
    size_t nin[3] = {0, 0, 0};
    for (size_t l = g0; l <= g1; l++) {
      int k = c->dates[l].type[hol];
      in[k][nin[k]++] = (day_in){s[l - g0], c0[l - g0], f[l - g0], w->p + l * NMIN};
    }
    for (int j = 0; j < NMIN; j += BLK) {
      for (int k = 0; k < 3; k++) {
        if (!need[k] || nin[k] == 0) continue;
        build_block(w, k, j, ub[k]);
        block_days(avx, ub[k], in[k], nin[k]);
        for (size_t m = 0; m < nin[k]; m++) in[k][m].out += BLK;
      }
    }
  }
}

int pg_household_days_w(const pg_household *h, uint64_t seed, const pg_local_days *c,
                        pg_household_work *w, double *out, pg_diag *d) {
  if (!tz_same(h->p.tz, c->tz))
    return pg_fail(d, PG_ERR_INVALID, "household days: the model's time zone is not the calendar's");
  size_t n = c->ndays * NMIN;
  if (!c->whole_minutes) { /* offsets in seconds: the local minutes are not on the grid */
    for (size_t i = 0; i < n; i++)
      out[i] = pg_household_power_w(h, seed, (c->day0 + (int64_t)(i / NMIN)) * 86400000 +
                                                 (int64_t)(i % NMIN) * 60000 + 30000);
    return PG_OK;
  }
  size_t rows = c->nlocal;
  if (w->pcap < rows) {
    double *p = realloc(w->p, rows * NMIN * sizeof *p);
    if (!p) return pg_fail(d, PG_ERR_NOMEM, "household days: out of memory");
    w->p = p, w->pcap = rows;
  }
  double sigma = h->p.noise; /* the noise's latent z into out; pg_profile_lognormal below */
  if (sigma > 0 &&
      pg_latent_days(seed, PG_STREAM_HOUSE_NOISE, &pg_quarter_hour_noise, c->day0, c->ndays, out))
    return pg_fail(d, PG_ERR_NOMEM, "household days: out of memory");
  size_t l0 = c->at[0] / NMIN, l1 = c->at[n - 1] / NMIN;
  bool need[3] = {false, false, false};
  int hol = h->p.holidays ? 1 : 0;
  for (size_t l = l0; l <= l1; l++) need[c->dates[l].type[hol]] = true;
  build_rotations(w, pg_profile_shift_h(seed, PG_STREAM_HOUSE_SHIFT, h->p.shift_max_min));
  local_days_power(h, c, w, need, l0, l1);
  if (sigma > 0)
    for (size_t i = 0; i < n; i++) out[i] = w->p[c->at[i]] * exp(sigma * out[i] - 0.5 * sigma * sigma);
  else
    for (size_t i = 0; i < n; i++) out[i] = w->p[c->at[i]]; /* p x 1 */
  return PG_OK;
}
