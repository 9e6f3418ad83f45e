/* Supplies without state: a well pump on a daily schedule and a
 * weather-controlled boiler. */
#include <math.h>

#include "p2pgrid/profile/profile.h"
#include "profile_internal.h"

void pg_well_params_default(pg_well_params *p) {
  *p = (pg_well_params){.pump_l_per_min = 20,
                        .from_min = 6 * 60,
                        .to_min = 22 * 60,
                        .duty = 0.5,
                        .summer_boost = 0,
                        .tz = PG_TZ_BERLIN};
}

int pg_well_check(const pg_well_params *p, pg_diag *d) {
  if (!pg_in_range(p->pump_l_per_min, 1e-6, 1e6))
    return pg_fail(d, PG_ERR_INVALID, "well: pump capacity must be > 0 and at most 1e6 L/min");
  if (p->from_min < 0 || p->from_min > 1440 || p->to_min < 0 || p->to_min > 1440)
    return pg_fail(d, PG_ERR_INVALID, "well: pumping hours must be 00:00..24:00");
  if (!pg_in_range(p->duty, 0, 1)) return pg_fail(d, PG_ERR_INVALID, "well: duty must be 0..1");
  if (!pg_in_range(p->summer_boost, 0, 10))
    return pg_fail(d, PG_ERR_INVALID, "well: summer boost must be 0..10");
  if (p->tz.utc_offset_min < -720 || p->tz.utc_offset_min > 840)
    return pg_fail(d, PG_ERR_INVALID, "well: UTC offset must be -720..840 minutes");
  return PG_OK;
}

double pg_well_lph(const pg_well_params *p, int64_t t_ms) {
  pg_local_time lt;
  pg_local_time_of(t_ms, p->tz, &lt);
  int64_t from = (int64_t)(p->from_min % 1440) * 60000, to = (int64_t)(p->to_min % 1440) * 60000;
  int64_t m = lt.ms_of_day;
  bool on = from == to || (from < to ? m >= from && m < to : m >= from || m < to);
  if (!on) return 0;
  double duty = p->duty;
  if (p->summer_boost > 0) {
    double s = (1 - cos(2 * M_PI * (lt.doy - 15) / pg_days_in_year(lt.year))) / 2;
    duty *= 1 + p->summer_boost * s;
    if (duty > 1) duty = 1;
  }
  return p->pump_l_per_min * 60 * duty;
}

void pg_boiler_params_default(pg_boiler_params *p) {
  *p = (pg_boiler_params){.capacity_kw = 50,
                          .heat_loss_w_per_k = 2000,
                          .base_temp_c = 15,
                          .hot_water_kw = 2,
                          .weather_seed = 0,
                          .tz = PG_TZ_BERLIN};
  pg_temperature_params_default(&p->temp);
}

int pg_boiler_check(const pg_boiler_params *p, pg_diag *d) {
  if (!pg_in_range(p->capacity_kw, 1e-6, 1e6))
    return pg_fail(d, PG_ERR_INVALID, "boiler: capacity must be > 0 and at most 1e6 kW");
  if (!pg_in_range(p->heat_loss_w_per_k, 0, 1e9))
    return pg_fail(d, PG_ERR_INVALID, "boiler: heat loss must be 0..1e9 W/K");
  if (!pg_in_range(p->base_temp_c, -20, 30))
    return pg_fail(d, PG_ERR_INVALID, "boiler: base temperature must be -20..30 C");
  if (!pg_in_range(p->hot_water_kw, 0, 1e6))
    return pg_fail(d, PG_ERR_INVALID, "boiler: hot water base must be 0..1e6 kW");
  if (p->tz.utc_offset_min < -720 || p->tz.utc_offset_min > 840)
    return pg_fail(d, PG_ERR_INVALID, "boiler: UTC offset must be -720..840 minutes");
  return pg_temperature_check(&p->temp, d);
}

double pg_boiler_w(const pg_boiler_params *p, int64_t t_ms) {
  double t = pg_temperature_c(&p->temp, p->tz, p->weather_seed, t_ms);
  double w = p->base_temp_c > t ? p->heat_loss_w_per_k * (p->base_temp_c - t) : 0;
  if (w > p->capacity_kw * 1000) w = p->capacity_kw * 1000;
  return w + p->hot_water_kw * 1000;
}
