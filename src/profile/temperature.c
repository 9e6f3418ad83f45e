/* Outdoor temperature: yearly and daily cosines plus correlated weather noise. */
#include <math.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

#define WARMEST_HOUR 15.0

void pg_temperature_params_default(pg_temperature_params *p) {
  *p = (pg_temperature_params){
      .mean_c = 10, .year_amp_c = 9.5, .day_amp_c = 4, .noise_c = 2.5, .coldest_doy = 15};
}

int pg_temperature_check(const pg_temperature_params *p, pg_diag *d) {
  if (!pg_in_range(p->mean_c, -40, 40))
    return pg_fail(d, PG_ERR_INVALID, "temperature: mean must be -40..40 C");
  if (!pg_in_range(p->year_amp_c, 0, 40))
    return pg_fail(d, PG_ERR_INVALID, "temperature: year amplitude must be 0..40 K");
  if (!pg_in_range(p->day_amp_c, 0, 20))
    return pg_fail(d, PG_ERR_INVALID, "temperature: day amplitude must be 0..20 K");
  if (!pg_in_range(p->noise_c, 0, 15))
    return pg_fail(d, PG_ERR_INVALID, "temperature: noise must be 0..15 K");
  if (p->coldest_doy < 1 || p->coldest_doy > 366)
    return pg_fail(d, PG_ERR_INVALID, "temperature: coldest day of year must be 1..366");
  return PG_OK;
}

double pg_temperature_at(const pg_temperature_params *p, int doy, double hour, int ndays) {
  double y = doy - 1 + hour / 24 - (p->coldest_doy - 1);
  return p->mean_c - p->year_amp_c * cos(2 * M_PI * y / ndays) +
         p->day_amp_c * cos(2 * M_PI * (hour - WARMEST_HOUR) / 24);
}

double pg_temperature_mean_c(const pg_temperature_params *p, pg_tz tz, int64_t t_ms) {
  pg_local_time lt;
  pg_local_time_of(t_ms, tz, &lt);
  return pg_temperature_at(p, lt.doy, (double)lt.ms_of_day / 3600000.0, pg_days_in_year(lt.year));
}

/* Weather spells: a daily component (a few days' memory) and an hourly one. */
static const pg_latent_spec temp_day = {86400000, 0.7, 16};
static const pg_latent_spec temp_hour = {3600000, 0.85, 24};

double pg_temperature_c(const pg_temperature_params *p, pg_tz tz, uint64_t seed, int64_t t_ms) {
  double t = pg_temperature_mean_c(p, tz, t_ms);
  if (!(p->noise_c > 0)) return t;
  double z = sqrt(0.75) * pg_latent(seed, PG_STREAM_TEMP_DAY, t_ms, &temp_day) +
             sqrt(0.25) * pg_latent(seed, PG_STREAM_TEMP_HOUR, t_ms, &temp_hour);
  return t + p->noise_c * z;
}
