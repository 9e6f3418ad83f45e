/* Integer energy of a power function, exact over consecutive windows. */
#include <math.h>

#include "p2pgrid/profile.h"

#define DAY_MS 86400000
#define MIN_MS 60000

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void pg_energy_integ_init(pg_energy_integ *g, pg_power_fn fn, const void *ctx) {
  g->fn = fn;
  g->day_fn = NULL;
  g->ctx = ctx;
  g->valid = false;
  g->day = 0;
}

void pg_energy_integ_init_days(pg_energy_integ *g, pg_power_day_fn fn, const void *ctx) {
  pg_energy_integ_init(g, NULL, ctx);
  g->day_fn = fn;
}

static void load_day(pg_energy_integ *g, int64_t day) {
  if (g->valid && g->day == day) return;
  int64_t t0 = day * DAY_MS;
  double acc = 0;
  double w[PG_DAY_MINUTES];
  if (g->day_fn) g->day_fn(g->ctx, day, w);
  g->cum[0] = 0;
  for (int i = 0; i < 1440; i++) {
    double p = g->day_fn ? w[i] : g->fn(g->ctx, t0 + (int64_t)i * MIN_MS + MIN_MS / 2);
    if (!(p > 0) || !isfinite(p)) p = 0;
    acc += p / 60.0; /* W for one minute = W/60 Wh */
    g->cum[i + 1] = acc;
  }
  g->day = day;
  g->valid = true;
}

/* Energy in Wh from the start of t's day to t (t's day is loaded). */
static double in_day(const pg_energy_integ *g, int64_t ms_of_day) {
  int64_t i = ms_of_day / MIN_MS, r = ms_of_day % MIN_MS;
  double e = g->cum[i];
  if (r) e += (g->cum[i + 1] - g->cum[i]) * (double)r / MIN_MS;
  return e;
}

static int64_t rnd(double x) { return (int64_t)llround(x); }

int64_t pg_energy_integ_wh(pg_energy_integ *g, int64_t from, int64_t to) {
  if (to <= from) return 0;
  int64_t da = floor_div(from, DAY_MS), db = floor_div(to, DAY_MS);
  if (da == db) {
    load_day(g, da);
    return rnd(in_day(g, to - db * DAY_MS)) - rnd(in_day(g, from - da * DAY_MS));
  }
  int64_t wh = 0;
  load_day(g, da);
  wh += rnd(g->cum[1440]) - rnd(in_day(g, from - da * DAY_MS));
  for (int64_t day = da + 1; day < db; day++) {
    load_day(g, day);
    wh += rnd(g->cum[1440]);
  }
  load_day(g, db);
  wh += rnd(in_day(g, to - db * DAY_MS));
  return wh;
}
