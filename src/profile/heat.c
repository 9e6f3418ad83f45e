/* Household heat use in W: space heating from heating degree hours with a
 * night setback, hot water on the water model's day shape. */
#include <math.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

#define STEPS_PER_DAY 144 /* 10-minute midpoints for the space-heating norm */

void pg_heat_use_params_default(pg_heat_use_params *p) {
  *p = (pg_heat_use_params){.annual_kwh = 12000,
                            .hot_water_share = 0.2,
                            .base_temp_c = 15,
                            .setback = 0.2,
                            .weather_seed = 0,
                            .tz = PG_TZ_BERLIN,
                            .noise = 0.1};
  pg_temperature_params_default(&p->temp);
}

static double setback_of(const pg_heat_use_params *p, double hour) {
  return hour >= 22 || hour < 6 ? 1 - p->setback : 1;
}

/* E[max(0, base - T)] for T normal around mu with sigma noise_c. */
static double expected_deficit(double base, double mu, double sigma) {
  double dlt = base - mu;
  if (!(sigma > 0)) return dlt > 0 ? dlt : 0;
  double z = dlt / sigma;
  return dlt * pg_phi_cdf(z) + sigma * exp(-0.5 * z * z) / sqrt(2 * M_PI);
}

/* Expected, setback-weighted degree hours of a year of ndays days. */
static double degree_hours(const pg_heat_use_params *p, int ndays) {
  double sum = 0;
  for (int doy = 1; doy <= ndays; doy++) {
    for (int i = 0; i < STEPS_PER_DAY; i++) {
      double hour = (i + 0.5) * 24.0 / STEPS_PER_DAY;
      double mu = pg_temperature_at(&p->temp, doy, hour, ndays);
      sum += expected_deficit(p->base_temp_c, mu, p->temp.noise_c) * setback_of(p, hour);
    }
  }
  return sum * 24.0 / STEPS_PER_DAY;
}

static double hw_season(const pg_heat_use_params *p, int doy, int ndays) {
  return 1 + 0.15 * cos(2 * M_PI * (doy - p->temp.coldest_doy) / ndays);
}

static double hw_day(const void *ctx, int year, int month, int day, int doy) {
  const pg_heat_use_params *p = ctx;
  pg_daytype k = pg_daytype_of(year, month, day, true);
  return 24 * pg_water_day_factor[k] * hw_season(p, doy, pg_days_in_year(year));
}

static double hw_norm(const pg_heat_use_params *p, int year) {
  return p->hot_water_share * p->annual_kwh * 1000 / pg_year_sum(year, hw_day, p);
}

int pg_heat_use_init(pg_heat_use *h, const pg_heat_use_params *p, pg_diag *d) {
  if (!pg_in_range(p->annual_kwh, 1e-3, 1e9))
    return pg_fail(d, PG_ERR_INVALID, "heat: annual use must be > 0 and at most 1e9 kWh");
  if (!pg_in_range(p->hot_water_share, 0, 1))
    return pg_fail(d, PG_ERR_INVALID, "heat: hot water share must be 0..1");
  if (!pg_in_range(p->base_temp_c, -20, 30))
    return pg_fail(d, PG_ERR_INVALID, "heat: base temperature must be -20..30 C");
  if (!pg_in_range(p->setback, 0, 1)) return pg_fail(d, PG_ERR_INVALID, "heat: setback must be 0..1");
  if (!pg_in_range(p->noise, 0, 1)) return pg_fail(d, PG_ERR_INVALID, "heat: noise must be 0..1");
  if (p->tz.utc_offset_min < -720 || p->tz.utc_offset_min > 840)
    return pg_fail(d, PG_ERR_INVALID, "heat: UTC offset must be -720..840 minutes");
  int rc = pg_temperature_check(&p->temp, d);
  if (rc) return rc;
  h->p = *p;
  for (int n = 0; n < 2; n++) {
    double dh = p->hot_water_share < 1 ? degree_hours(p, 365 + n) : 0;
    if (p->hot_water_share < 1 && !(dh * (1 - p->setback) > 1e-6))
      return pg_fail(d, PG_ERR_INVALID,
                     "heat: base temperature %g C is never above the outdoor temperature "
                     "(no heating degree hours); raise it or set the hot water share to 1",
                     p->base_temp_c);
    h->norm_sh[n] = dh > 0 ? (1 - p->hot_water_share) * p->annual_kwh * 1000 / dh : 0;
  }
  for (int i = 0; i < PG_HOUSEHOLD_YEARS; i++) h->norm_hw[i] = hw_norm(p, PG_HOUSEHOLD_YEAR0 + i);
  return PG_OK;
}

double pg_heat_use_w(const pg_heat_use *h, uint64_t seed, int64_t t_ms) {
  const pg_heat_use_params *p = &h->p;
  pg_local_time lt;
  pg_local_time_of(t_ms, p->tz, &lt);
  int ndays = pg_days_in_year(lt.year);
  double hour = (double)lt.ms_of_day / 3600000.0;
  double w = 0;
  if (h->norm_sh[ndays == 366] > 0) {
    double t = pg_temperature_c(&p->temp, p->tz, p->weather_seed, t_ms);
    double dlt = p->base_temp_c - t;
    if (dlt > 0) w += h->norm_sh[ndays == 366] * dlt * setback_of(p, hour);
  }
  if (p->hot_water_share > 0) {
    int i = lt.year - PG_HOUSEHOLD_YEAR0;
    double a = i >= 0 && i < PG_HOUSEHOLD_YEARS ? h->norm_hw[i] : hw_norm(p, lt.year);
    pg_daytype k = pg_daytype_of(lt.year, lt.month, lt.day, true);
    w += a * pg_water_day_factor[k] * hw_season(p, lt.doy, ndays) * pg_water_indoor_shape(k, hour);
  }
  return w * pg_profile_lognormal(seed, PG_STREAM_HEAT_NOISE, t_ms, p->noise);
}
