/* Household water use in L/h: indoor day shapes by day type, a garden in
 * summer evenings, normalised per calendar year. */
#include <math.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

/* Relative flow at the half hours 0:30 .. 23:30 (mean taken at use). */
static const double indoor[3][24] = {
  /* workday: up at 6-7, out during the day, evening 18-22 */
  {0.25, 0.15, 0.10, 0.10, 0.15, 0.50, 1.80, 2.40, 1.60, 1.00, 0.80, 0.80,
   1.00, 0.90, 0.70, 0.70, 0.80, 1.00, 1.40, 1.60, 1.60, 1.50, 1.10, 0.60},
  /* Saturday: later, larger morning */
  {0.35, 0.20, 0.12, 0.10, 0.10, 0.15, 0.30, 0.80, 2.00, 2.90, 2.30, 1.50,
   1.30, 1.10, 0.90, 0.80, 0.90, 1.00, 1.30, 1.50, 1.40, 1.30, 1.00, 0.60},
  /* Sunday and holidays: later still */
  {0.40, 0.25, 0.15, 0.10, 0.10, 0.12, 0.20, 0.50, 1.50, 2.80, 2.80, 1.80,
   1.40, 1.10, 0.90, 0.80, 0.85, 0.95, 1.20, 1.40, 1.35, 1.20, 0.90, 0.55},
};
/* Garden watering: evenings, a little in the early morning. */
static const double garden[24] = {
  0, 0, 0, 0, 0, 0.10, 0.60, 0.50, 0.10, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0.50, 2.00, 2.60, 1.60, 0.30, 0};

const double pg_water_day_factor[3] = {1.0, 1.06, 1.08};

#define GARDEN_FROM 105 /* 15 April */
#define GARDEN_TO 273   /* 30 September */

double pg_water_indoor_shape(int k, double hour) {
  return pg_shape24(indoor[k], hour) / pg_shape24_mean(indoor[k]);
}

static double indoor_season(int doy, int ndays) {
  return 1 + 0.06 * cos(2 * M_PI * (doy - 196) / ndays);
}

static double garden_season(int doy) {
  if (doy <= GARDEN_FROM || doy >= GARDEN_TO) return 0;
  double s = sin(M_PI * (doy - GARDEN_FROM) / (GARDEN_TO - GARDEN_FROM));
  return s * s;
}

void pg_water_use_params_default(pg_water_use_params *p) {
  *p = (pg_water_use_params){.annual_l = 45000,
                             .garden_share = 0.1,
                             .tz = PG_TZ_BERLIN,
                             .holidays = true,
                             .noise = 0.4,
                             .shift_max_min = 30};
}

/* Noise-free litres of a day per unit of A_in (indoor) and of A_g (garden):
 * the shapes have mean 1, so a day is 24 x its factors. */
static double indoor_day(const void *ctx, int year, int month, int day, int doy) {
  const pg_water_use_params *p = ctx;
  pg_daytype k = pg_daytype_of(year, month, day, p->holidays);
  return 24 * pg_water_day_factor[k] * indoor_season(doy, pg_days_in_year(year));
}

static double garden_day(const void *ctx, int year, int month, int day, int doy) {
  (void)ctx, (void)year, (void)month, (void)day;
  return 24 * garden_season(doy);
}

static void norms_of(const pg_water_use_params *p, int year, double *a_in, double *a_g) {
  *a_in = (1 - p->garden_share) * p->annual_l / pg_year_sum(year, indoor_day, p);
  *a_g = p->garden_share > 0 ? p->garden_share * p->annual_l / pg_year_sum(year, garden_day, p) : 0;
}

int pg_water_use_init(pg_water_use *w, const pg_water_use_params *p, pg_diag *d) {
  if (!pg_in_range(p->annual_l, 1, 1e12))
    return pg_fail(d, PG_ERR_INVALID, "water: annual use must be 1..1e12 L");
  if (!pg_in_range(p->garden_share, 0, 1))
    return pg_fail(d, PG_ERR_INVALID, "water: garden share must be 0..1");
  if (p->tz.utc_offset_min < -720 || p->tz.utc_offset_min > 840)
    return pg_fail(d, PG_ERR_INVALID, "water: UTC offset must be -720..840 minutes");
  if (!pg_in_range(p->noise, 0, 1)) return pg_fail(d, PG_ERR_INVALID, "water: noise must be 0..1");
  if (!pg_in_range(p->shift_max_min, 0, 120))
    return pg_fail(d, PG_ERR_INVALID, "water: shift must be 0..120 minutes");
  w->p = *p;
  for (int i = 0; i < PG_HOUSEHOLD_YEARS; i++)
    norms_of(p, PG_HOUSEHOLD_YEAR0 + i, &w->norm_in[i], &w->norm_g[i]);
  return PG_OK;
}

static void norms_at(const pg_water_use *w, int year, double *a_in, double *a_g) {
  int i = year - PG_HOUSEHOLD_YEAR0;
  if (i >= 0 && i < PG_HOUSEHOLD_YEARS) {
    *a_in = w->norm_in[i];
    *a_g = w->norm_g[i];
  } else {
    norms_of(&w->p, year, a_in, a_g);
  }
}

double pg_water_use_day_l(const pg_water_use *w, int year, int month, int day) {
  double a_in, a_g;
  norms_at(w, year, &a_in, &a_g);
  int doy = pg_doy_of(year, month, day);
  return a_in * indoor_day(&w->p, year, month, day, doy) + a_g * garden_day(NULL, year, month, day, doy);
}

double pg_water_use_lph(const pg_water_use *w, uint64_t seed, int64_t t_ms) {
  pg_local_time lt;
  pg_local_time_of(t_ms, w->p.tz, &lt);
  pg_daytype k = pg_daytype_of(lt.year, lt.month, lt.day, w->p.holidays);
  double hour = (double)lt.ms_of_day / 3600000.0;
  hour -= pg_profile_shift_h(seed, PG_STREAM_WATER_SHIFT, w->p.shift_max_min);
  double a_in, a_g;
  norms_at(w, lt.year, &a_in, &a_g);
  double q = a_in * pg_water_day_factor[k] * indoor_season(lt.doy, pg_days_in_year(lt.year)) *
             pg_water_indoor_shape(k, hour);
  if (a_g > 0) q += a_g * garden_season(lt.doy) * pg_shape24(garden, hour) / pg_shape24_mean(garden);
  return q * pg_profile_lognormal(seed, PG_STREAM_WATER_NOISE, t_ms, w->p.noise);
}
