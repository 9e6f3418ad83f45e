/* A rain-water tank simulated once, exactly in mL, on a rainfall series'
 * own steps; afterwards a pure function of time. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

typedef __int128 i128;

#define MAX_STEPS 1000000u    /* samples a tank simulates */
#define MAX_PERIODS 64        /* search for the periodic steady state */
#define MAX_WORK 20000000ull  /* steps simulated in that search */

struct pg_rain_tank {
  pg_rain_tank_params p;
  size_t n;        /* steps */
  int64_t *t;      /* n + 1: step starts and the period's end */
  int64_t *in;     /* n: inflow of the step, mL */
  int64_t *lev;    /* n + 1: level at the step's start, mL */
  int64_t *cum;    /* n + 1: supplied before the step, mL */
  int64_t rate;    /* draw, mL per minute */
  int64_t cap;     /* mL */
  pg_rain_tank_totals tot;
};

void pg_rain_tank_params_default(pg_rain_tank_params *p) {
  *p = (pg_rain_tank_params){.roof_m2 = 100,
                             .runoff = 0.8,
                             .capacity_l = 5000,
                             .draw_l_per_min = 10,
                             .initial_l = 0,
                             .wrap = true};
}

static i128 floor_div(i128 a, i128 b) {
  i128 q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static int64_t sat64(i128 v) {
  return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

void pg_rain_tank_free(pg_rain_tank *t) {
  if (!t) return;
  free(t->t);
  free(t->in);
  free(t->lev);
  free(t->cum);
  free(t);
}

static int check(const pg_rain_tank_params *p, pg_diag *d) {
  if (!pg_in_range(p->roof_m2, 1e-6, 1e6))
    return pg_fail(d, PG_ERR_INVALID, "rain-tank: roof area must be > 0 and at most 1e6 m2");
  if (!pg_in_range(p->runoff, 0, 1))
    return pg_fail(d, PG_ERR_INVALID, "rain-tank: runoff coefficient must be 0..1");
  if (!pg_in_range(p->capacity_l, 1e-3, 1e9))
    return pg_fail(d, PG_ERR_INVALID, "rain-tank: capacity must be > 0 and at most 1e9 L");
  if (!pg_in_range(p->draw_l_per_min, 0, 1e6))
    return pg_fail(d, PG_ERR_INVALID, "rain-tank: draw rate must be 0..1e6 L/min");
  if (!pg_in_range(p->initial_l, 0, p->capacity_l))
    return pg_fail(d, PG_ERR_INVALID, "rain-tank: initial level must be 0..capacity");
  return PG_OK;
}

/* Supplied during the first tau ms of step i from its start level. */
static int64_t step_supply(const pg_rain_tank *k, size_t i, int64_t tau) {
  int64_t dur = k->t[i + 1] - k->t[i];
  i128 draw = (i128)k->rate * tau / 60000;
  i128 avail = (i128)k->lev[i] + (i128)k->in[i] * tau / dur;
  return (int64_t)(draw < avail ? draw : avail);
}

/* Runs one period from level l0; fills lev[] and cum[], returns the totals. */
static void simulate(pg_rain_tank *k, int64_t l0, pg_rain_tank_totals *tot) {
  *tot = (pg_rain_tank_totals){.level_start_ml = l0};
  k->lev[0] = l0;
  k->cum[0] = 0;
  for (size_t i = 0; i < k->n; i++) {
    int64_t s = step_supply(k, i, k->t[i + 1] - k->t[i]);
    int64_t l = k->lev[i] + k->in[i] - s, o = l > k->cap ? l - k->cap : 0;
    k->lev[i + 1] = l - o;
    k->cum[i + 1] = k->cum[i] + s;
    tot->inflow_ml += k->in[i];
    tot->supplied_ml += s;
    tot->overflow_ml += o;
  }
  tot->level_end_ml = k->lev[k->n];
}

/* Step times and inflows from the rain samples (um) through roof x runoff. */
static int load_steps(pg_rain_tank *k, const pg_series *rain, pg_diag *d) {
  i128 area_ppm = (i128)llround(k->p.roof_m2 * k->p.runoff * 1e6); /* 1 um on 1 m2 = 1 mL */
  i128 rain_um = 0, f_prev = 0;
  for (size_t i = 0; i < k->n; i++) {
    int64_t t, um;
    if (!pg_series_sample(rain, i, &t, &um)) return pg_fail(d, PG_ERR_INVALID, "rain-tank: no sample %zu", i);
    if (um > (int64_t)PG_RAIN_MAX_MM * 1000)
      return pg_fail(d, PG_ERR_INVALID, "rain-tank: sample %zu (%" PRId64 " ms) has more than %d mm of rain",
                     i + 1, t, PG_RAIN_MAX_MM);
    k->t[i] = t;
    rain_um += um;
    i128 f = rain_um * area_ppm / 1000000;
    k->in[i] = (int64_t)(f - f_prev);
    f_prev = f;
  }
  k->t[k->n] = k->t[k->n - 1] + (k->t[k->n - 1] - k->t[k->n - 2]);
  return PG_OK;
}

int pg_rain_tank_new(const pg_rain_tank_params *p, const pg_series *rain, pg_rain_tank **out,
                     pg_diag *d) {
  int rc = check(p, d);
  if (rc) return rc;
  size_t n = pg_series_count(rain);
  if (n < 2) return pg_fail(d, PG_ERR_INVALID, "rain-tank: the rain series needs at least 2 samples");
  if (n > MAX_STEPS)
    return pg_fail(d, PG_ERR_TOO_LARGE, "rain-tank: the rain series has more than %u samples", MAX_STEPS);
  pg_rain_tank *k = calloc(1, sizeof *k);
  if (!k) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  k->p = *p;
  k->n = n;
  k->t = malloc((n + 1) * sizeof *k->t);
  k->in = malloc(n * sizeof *k->in);
  k->lev = malloc((n + 1) * sizeof *k->lev);
  k->cum = malloc((n + 1) * sizeof *k->cum);
  if (!k->t || !k->in || !k->lev || !k->cum) {
    pg_rain_tank_free(k);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if ((rc = load_steps(k, rain, d)) != PG_OK) {
    pg_rain_tank_free(k);
    return rc;
  }
  k->rate = llround(p->draw_l_per_min * 1000);
  k->cap = llround(p->capacity_l * 1000);
  int64_t l0 = llround(p->initial_l * 1000);
  if (l0 > k->cap) l0 = k->cap;
  int periods = 0;
  do {
    simulate(k, l0, &k->tot);
    periods++;
    if (k->tot.level_end_ml == l0) break;
    l0 = k->tot.level_end_ml;
  } while (p->wrap && periods < MAX_PERIODS && (uint64_t)periods * n < MAX_WORK);
  k->tot.periods = periods;
  *out = k;
  return PG_OK;
}

void pg_rain_tank_period(const pg_rain_tank *t, pg_rain_tank_totals *out) { *out = t->tot; }

/* Step i with t[i] <= tm < t[i + 1]. */
static size_t segment(const pg_rain_tank *k, int64_t tm) {
  size_t lo = 0, hi = k->n;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (k->t[mid] <= tm) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Where t falls: -1 before the series (no wrap), 1 after it (no wrap), 0
 * inside with *tm in [t0, end) and *per whole periods before it. */
static int locate(const pg_rain_tank *k, int64_t t, int64_t *tm, i128 *per) {
  int64_t t0 = k->t[0], end = k->t[k->n];
  *per = 0;
  *tm = t;
  if (!k->p.wrap) return t < t0 ? -1 : t >= end ? 1 : 0;
  i128 off = (i128)t - t0;
  *per = floor_div(off, end - t0);
  *tm = (int64_t)(t0 + (off - *per * (end - t0)));
  return 0;
}

int64_t pg_rain_tank_cum_ml(const pg_rain_tank *k, int64_t t) {
  int64_t tm;
  i128 per;
  int where = locate(k, t, &tm, &per);
  if (where < 0) return 0;
  if (where > 0) {
    i128 dry = (i128)k->rate * ((i128)t - k->t[k->n]) / 60000;
    return sat64(k->tot.supplied_ml + (dry < k->tot.level_end_ml ? dry : k->tot.level_end_ml));
  }
  size_t i = segment(k, tm);
  return sat64(per * k->tot.supplied_ml + k->cum[i] + step_supply(k, i, tm - k->t[i]));
}

int64_t pg_rain_tank_cum_l(const pg_rain_tank *k, int64_t t) {
  return (int64_t)floor_div((i128)pg_rain_tank_cum_ml(k, t) + 500, 1000);
}

int64_t pg_rain_tank_level_ml(const pg_rain_tank *k, int64_t t) {
  int64_t tm;
  i128 per;
  int where = locate(k, t, &tm, &per);
  if (where < 0) return k->tot.level_start_ml;
  if (where > 0) return k->tot.level_end_ml - (pg_rain_tank_cum_ml(k, t) - k->tot.supplied_ml);
  size_t i = segment(k, tm);
  int64_t tau = tm - k->t[i], dur = k->t[i + 1] - k->t[i];
  i128 l = (i128)k->lev[i] + (i128)k->in[i] * tau / dur - step_supply(k, i, tau);
  return (int64_t)(l > k->cap ? k->cap : l);
}
