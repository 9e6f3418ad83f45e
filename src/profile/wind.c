/* Wind generation: correlated Weibull speeds through a power curve. */
#include <math.h>
#include <stdlib.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

void pg_wind_params_default(pg_wind_params *p) {
  *p = (pg_wind_params){.weibull_k = 2,
                        .weibull_c = 6,
                        .cut_in = 3,
                        .rated_speed = 12,
                        .cut_out = 25,
                        .rated_kw = 10};
}

static bool in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

int pg_wind_check(const pg_wind_params *p, pg_diag *d) {
  if (!in(p->weibull_k, 1, 5)) return pg_fail(d, PG_ERR_INVALID, "wind: Weibull shape k must be 1..5");
  if (!in(p->weibull_c, 0.1, 50)) return pg_fail(d, PG_ERR_INVALID, "wind: Weibull scale c must be 0.1..50 m/s");
  if (!in(p->cut_in, 0, 50)) return pg_fail(d, PG_ERR_INVALID, "wind: cut-in speed must be 0..50 m/s");
  if (!in(p->rated_speed, 0, 80) || p->rated_speed <= p->cut_in)
    return pg_fail(d, PG_ERR_INVALID, "wind: rated speed must be above the cut-in speed (and at most 80 m/s)");
  if (!in(p->cut_out, 0, 100) || p->cut_out <= p->rated_speed)
    return pg_fail(d, PG_ERR_INVALID, "wind: cut-out speed must be above the rated speed (and at most 100 m/s)");
  if (!in(p->rated_kw, 1e-6, 1e7)) return pg_fail(d, PG_ERR_INVALID, "wind: rated power must be > 0 and at most 1e7 kW");
  return PG_OK;
}

static const pg_latent_spec wind_slow = {6 * 3600000, 0.75, 24};
static const pg_latent_spec wind_fast = {900000, 0.9, 40};

double pg_wind_speed(const pg_wind_params *p, uint64_t seed, int64_t t_ms) {
  double z = 0.85 * pg_latent(seed, PG_STREAM_WIND_SLOW, t_ms, &wind_slow) +
             0.52678268764263692 * pg_latent(seed, PG_STREAM_WIND_FAST, t_ms, &wind_fast);
  double q = 0.5 * erfc(z / 1.4142135623730951); /* 1 - Phi(z), accurate in the tail */
  if (q < 1e-300) q = 1e-300;
  return p->weibull_c * pow(-log(q), 1 / p->weibull_k);
}

double pg_wind_curve_w(const pg_wind_params *p, double v) {
  if (!(v >= p->cut_in) || v >= p->cut_out) return 0;
  if (v >= p->rated_speed) return p->rated_kw * 1000;
  double ci3 = p->cut_in * p->cut_in * p->cut_in;
  double vr3 = p->rated_speed * p->rated_speed * p->rated_speed;
  return p->rated_kw * 1000 * (v * v * v - ci3) / (vr3 - ci3);
}

double pg_wind_power_w(const pg_wind_params *p, uint64_t seed, int64_t t_ms) {
  return pg_wind_curve_w(p, pg_wind_speed(p, seed, t_ms));
}

#define WIND_BLOCK 8 /* days a pass: the scratch stays small */

int pg_wind_days_w(const pg_wind_params *p, uint64_t seed, int64_t day0, size_t ndays,
                   double *out, pg_diag *d) {
  double *zs = malloc(WIND_BLOCK * PG_DAY_MINUTES * sizeof *zs);
  if (!zs) return pg_fail(d, PG_ERR_NOMEM, "wind days: out of memory");
  for (size_t b = 0; b < ndays; b += WIND_BLOCK) {
    size_t nb = ndays - b < WIND_BLOCK ? ndays - b : WIND_BLOCK;
    double *o = out + b * PG_DAY_MINUTES;
    if (pg_latent_days(seed, PG_STREAM_WIND_SLOW, &wind_slow, day0 + (int64_t)b, nb, zs) ||
        pg_latent_days(seed, PG_STREAM_WIND_FAST, &wind_fast, day0 + (int64_t)b, nb, o)) {
      free(zs);
      return pg_fail(d, PG_ERR_NOMEM, "wind days: out of memory");
    }
    for (size_t i = 0; i < nb * PG_DAY_MINUTES; i++) {
      double z = 0.85 * zs[i] + 0.52678268764263692 * o[i];
      double q = 0.5 * erfc(z / 1.4142135623730951);
      if (q < 1e-300) q = 1e-300;
      o[i] = pg_wind_curve_w(p, p->weibull_c * pow(-log(q), 1 / p->weibull_k));
    }
  }
  free(zs);
  return PG_OK;
}
