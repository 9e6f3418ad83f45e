/* Integer energy of a power function, exact over consecutive windows. */
#include <math.h>

#include "p2pgrid/profile/profile.h"

#define DAY_MS 86400000
#define MIN_MS 60000

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void pg_energy_integ_init(pg_energy_integ *g, pg_power_fn fn, const void *ctx) {
  g->fn = fn;
  g->ctx = ctx;
  g->valid = false;
  g->day = 0;
}

/* A minute's Wh from its mid-minute power sample: W for one minute = W/60
 * Wh; a negative, zero or non-finite sample counts nothing. */
static inline double minute_wh(double p) { return p > 0 && isfinite(p) ? p / 60.0 : 0.0; }

static void load_day(pg_energy_integ *g, int64_t day) {
  if (g->valid && g->day == day) return;
  int64_t t0 = day * DAY_MS;
  double acc = 0;
  g->cum[0] = 0;
  for (int i = 0; i < 1440; i++) {
    acc += minute_wh(g->fn(g->ctx, t0 + (int64_t)i * MIN_MS + MIN_MS / 2));
    g->cum[i + 1] = acc;
  }
  g->day = day;
  g->valid = true;
}

/* Energy in Wh from the start of t's day to t (t's day is loaded). */
static double in_day_of(const double *cum, int64_t ms_of_day) {
  int64_t i = ms_of_day / MIN_MS, r = ms_of_day % MIN_MS;
  double e = cum[i];
  if (r) e += (cum[i + 1] - cum[i]) * (double)r / MIN_MS;
  return e;
}

static int64_t rnd(double x) { return (int64_t)llround(x); }

/* The Wh of [from, to) from the days' cumulative curves (cum_of(ctx, day):
 * 1441 values), the one rule of pg_energy_integ_wh and pg_energy_windows_wh. */
typedef const double *(*cum_fn)(void *ctx, int64_t day);

static int64_t window_wh(cum_fn cum_of, void *ctx, int64_t from, int64_t to) {
  if (to <= from) return 0;
  int64_t da = floor_div(from, DAY_MS), db = floor_div(to, DAY_MS);
  if (da == db) {
    const double *c = cum_of(ctx, da);
    return rnd(in_day_of(c, to - db * DAY_MS)) - rnd(in_day_of(c, from - da * DAY_MS));
  }
  int64_t wh = 0;
  const double *c = cum_of(ctx, da);
  wh += rnd(c[1440]) - rnd(in_day_of(c, from - da * DAY_MS));
  for (int64_t day = da + 1; day < db; day++) wh += rnd(cum_of(ctx, day)[1440]);
  wh += rnd(in_day_of(cum_of(ctx, db), to - db * DAY_MS));
  return wh;
}

static const double *integ_cum(void *ctx, int64_t day) {
  pg_energy_integ *g = ctx;
  load_day(g, day);
  return g->cum;
}

int64_t pg_energy_integ_wh(pg_energy_integ *g, int64_t from, int64_t to) {
  return window_wh(integ_cum, g, from, to);
}

/* ---- windows over days of samples ---- */

typedef struct days_cum {
  const double *cum; /* [ndays][1441] */
  int64_t day0;
  size_t ndays;
} days_cum;

static const double zero_day[1441];

static const double *days_cum_of(void *ctx, int64_t day) {
  const days_cum *x = ctx;
  if (day < x->day0 || day >= x->day0 + (int64_t)x->ndays) return zero_day;
  return x->cum + (size_t)(day - x->day0) * 1441;
}

/* load_day's sum for four days at once (four independent chains of adds;
 * each day's the same operations in the same order) */
static void cum_days(const double *w, size_t ndays, double *cum) {
  size_t d = 0;
  for (; d + 4 <= ndays; d += 4) {
    const double *w0 = w + d * 1440;
    double *c0 = cum + d * 1441;
    double a[4] = {0, 0, 0, 0};
    for (int q = 0; q < 4; q++) c0[q * 1441] = 0;
    for (int i = 0; i < 1440; i++)
      for (int q = 0; q < 4; q++) {
        a[q] += minute_wh(w0[q * 1440 + i]);
        c0[q * 1441 + i + 1] = a[q];
      }
  }
  for (; d < ndays; d++) {
    double acc = 0;
    cum[d * 1441] = 0;
    for (int i = 0; i < 1440; i++) {
      acc += minute_wh(w[d * 1440 + i]);
      cum[d * 1441 + i + 1] = acc;
    }
  }
}

int pg_energy_windows_wh(const double *w, int64_t day0, size_t ndays, int64_t from, int64_t len,
                         size_t n, double *cum, int64_t *out, pg_diag *d) {
  if (len <= 0) return pg_fail(d, PG_ERR_INVALID, "energy windows: the length must be > 0");
  cum_days(w, ndays, cum);
  days_cum x = {cum, day0, ndays};
  for (size_t k = 0; k < n; k++) {
    int64_t a = from + (int64_t)k * len;
    out[k] = window_wh(days_cum_of, &x, a, a + len);
  }
  return PG_OK;
}
