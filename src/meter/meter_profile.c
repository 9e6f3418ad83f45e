/* meter_profile.c — meters on the profile models (solar, wind, household,
 * water, heat, well, boiler), the rain-water tank meter, and
 * pg_meter_profile_from_config for them and the CSV meter. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meter_internal.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/meter/dso.h"
#include "p2pgrid/meter/meter_profile.h"

typedef enum { K_SOLAR, K_WIND, K_HOUSE, K_WATER, K_HEAT, K_WELL, K_BOILER } model_kind;

typedef struct model_meter {
  pg_meter base;
  model_kind kind;
  uint64_t seed;
  union {
    pg_solar_params solar;
    pg_wind_params wind;
    pg_household house;
    pg_water_use water;
    pg_heat_use heat;
    pg_well_params well;
    pg_boiler_params boiler;
  } u;
  pg_energy_integ integ;
} model_meter;

static double model_power(const void *ctx, int64_t t) {
  const model_meter *m = ctx;
  switch (m->kind) {
  case K_SOLAR: return pg_solar_power_w(&m->u.solar, m->seed, t);
  case K_WIND: return pg_wind_power_w(&m->u.wind, m->seed, t);
  case K_HOUSE: return pg_household_power_w(&m->u.house, m->seed, t);
  case K_WATER: return pg_water_use_lph(&m->u.water, m->seed, t);
  case K_HEAT: return pg_heat_use_w(&m->u.heat, m->seed, t);
  case K_WELL: return pg_well_lph(&m->u.well, t);
  case K_BOILER: return pg_boiler_w(&m->u.boiler, t);
  }
  return 0;
}

static int window_check(uint64_t from, uint64_t to, pg_diag *d) {
  if (from >= to) return pg_fail(d, PG_ERR_INVALID, "empty window");
  if (to > (uint64_t)INT64_MAX) return pg_fail(d, PG_ERR_INVALID, "window end beyond int64 ms");
  return PG_OK;
}

static int model_energy(pg_meter *base, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  model_meter *m = (model_meter *)base;
  int rc = window_check(from, to, d);
  if (rc) return rc;
  *wh = pg_energy_integ_wh(&m->integ, (int64_t)from, (int64_t)to);
  return PG_OK;
}

static void model_destroy(pg_meter *m) { free(m); }

static const pg_meter_ops model_ops[] = {
    [K_SOLAR] = {"solar", model_energy, model_destroy},
    [K_WIND] = {"wind", model_energy, model_destroy},
    [K_HOUSE] = {"household", model_energy, model_destroy},
    [K_WATER] = {"water", model_energy, model_destroy},
    [K_HEAT] = {"heat", model_energy, model_destroy},
    [K_WELL] = {"well", model_energy, model_destroy},
    [K_BOILER] = {"boiler", model_energy, model_destroy},
};

static model_meter *model_alloc(model_kind k, uint64_t seed, pg_diag *d) {
  model_meter *m = calloc(1, sizeof *m);
  if (!m) {
    (void)pg_fail(d, PG_ERR_NOMEM, "out of memory");
    return NULL;
  }
  m->kind = k;
  m->seed = seed;
  m->base.ops = &model_ops[k];
  pg_energy_integ_init(&m->integ, model_power, m);
  return m;
}

/* Finishes a meter made by model_alloc: keeps it when rc is PG_OK. */
static int model_done(model_meter *m, int rc, pg_meter **out) {
  if (rc) {
    free(m);
    return rc;
  }
  *out = &m->base;
  return PG_OK;
}

int pg_meter_solar_new(const pg_solar_params *p, uint64_t seed, pg_meter **out, pg_diag *d) {
  model_meter *m = model_alloc(K_SOLAR, seed, d);
  if (!m) return PG_ERR_NOMEM;
  m->u.solar = *p;
  return model_done(m, pg_solar_check(p, d), out);
}

int pg_meter_wind_new(const pg_wind_params *p, uint64_t seed, pg_meter **out, pg_diag *d) {
  model_meter *m = model_alloc(K_WIND, seed, d);
  if (!m) return PG_ERR_NOMEM;
  m->u.wind = *p;
  return model_done(m, pg_wind_check(p, d), out);
}

int pg_meter_well_new(const pg_well_params *p, pg_meter **out, pg_diag *d) {
  model_meter *m = model_alloc(K_WELL, 0, d);
  if (!m) return PG_ERR_NOMEM;
  m->u.well = *p;
  return model_done(m, pg_well_check(p, d), out);
}

int pg_meter_boiler_new(const pg_boiler_params *p, pg_meter **out, pg_diag *d) {
  model_meter *m = model_alloc(K_BOILER, 0, d);
  if (!m) return PG_ERR_NOMEM;
  m->u.boiler = *p;
  return model_done(m, pg_boiler_check(p, d), out);
}

int pg_meter_household_new(const pg_household_params *p, uint64_t seed, pg_meter **out,
                           pg_diag *d) {
  model_meter *m = model_alloc(K_HOUSE, seed, d);
  if (!m) return PG_ERR_NOMEM;
  return model_done(m, pg_household_init(&m->u.house, p, d), out);
}

int pg_meter_water_use_new(const pg_water_use_params *p, uint64_t seed, pg_meter **out,
                           pg_diag *d) {
  model_meter *m = model_alloc(K_WATER, seed, d);
  if (!m) return PG_ERR_NOMEM;
  return model_done(m, pg_water_use_init(&m->u.water, p, d), out);
}

int pg_meter_heat_use_new(const pg_heat_use_params *p, uint64_t seed, pg_meter **out, pg_diag *d) {
  model_meter *m = model_alloc(K_HEAT, seed, d);
  if (!m) return PG_ERR_NOMEM;
  return model_done(m, pg_heat_use_init(&m->u.heat, p, d), out);
}

/* ---- rain-water tank ---- */

typedef struct tank_meter {
  pg_meter base;
  pg_rain_tank *tank;
} tank_meter;

static int tank_energy(pg_meter *base, uint64_t from, uint64_t to, int64_t *l, pg_diag *d) {
  tank_meter *m = (tank_meter *)base;
  int rc = window_check(from, to, d);
  if (rc) return rc;
  *l = pg_rain_tank_cum_l(m->tank, (int64_t)to) - pg_rain_tank_cum_l(m->tank, (int64_t)from);
  return PG_OK;
}

static void tank_destroy(pg_meter *base) {
  tank_meter *m = (tank_meter *)base;
  pg_rain_tank_free(m->tank);
  free(m);
}

static const pg_meter_ops tank_ops = {"rain-tank", tank_energy, tank_destroy};

int pg_meter_rain_tank_new(const char *path, const pg_rain_tank_params *p, pg_meter **out,
                           pg_diag *d) {
  if (!path) return pg_fail(d, PG_ERR_INVALID, "rain-tank meter: no path");
  pg_series_opts so = {PG_SERIES_STEP, p->wrap};
  pg_series *rain = NULL;
  int rc = pg_series_load_values(path, &so, "rain_mm", &rain, d);
  if (rc) return rc;
  tank_meter *m = calloc(1, sizeof *m);
  if (!m) {
    pg_series_free(rain);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  m->base.ops = &tank_ops;
  rc = pg_rain_tank_new(p, rain, &m->tank, d);
  pg_series_free(rain);
  if (rc) {
    free(m);
    return rc;
  }
  *out = &m->base;
  return PG_OK;
}

const pg_rain_tank *pg_meter_rain_tank_of(const pg_meter *m) {
  return m && m->ops == &tank_ops ? ((const tank_meter *)m)->tank : NULL;
}

/* ---- from a config section ---- */

static int get_num(pg_config *c, const char *sec, const char *key, double lo, double hi,
                   double *v, pg_diag *d) {
  const char *s = NULL;
  int rc = pg_config_get_str(c, sec, key, NULL, &s, d);
  if (rc) return rc;
  if (!s) return PG_OK;
  double x;
  static const pg_dec_rules rules = {.int_max = 9, .frac_max = 9, .neg = true};
  if (pg_dec_to_double(s, strlen(s), &rules, &x) != PG_OK || x < lo || x > hi)
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] %s: '%.40s' is not a number between %g and %g", sec,
                   key, s, lo, hi);
  *v = x;
  return PG_OK;
}

/* A decimal key of a params struct: its name, range and the field's offset. */
typedef struct num_key {
  const char *key;
  double lo, hi;
  size_t off;
} num_key;

static int get_nums(pg_config *c, const char *sec, const num_key *k, size_t n, void *params,
                    pg_diag *d) {
  for (size_t i = 0; i < n; i++) {
    int rc = get_num(c, sec, k[i].key, k[i].lo, k[i].hi, (double *)((char *)params + k[i].off), d);
    if (rc) return rc;
  }
  return PG_OK;
}
#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* tz (UTC, +HH:MM or an IANA zone), or the legacy utc_offset_min + eu_dst. */
static int get_tz(pg_config *c, const char *sec, pg_tz *tz, pg_diag *d) {
  if (pg_config_has(c, sec, "tz")) {
    if (pg_config_has(c, sec, "utc_offset_min") || pg_config_has(c, sec, "eu_dst")) {
      char w[200];
      pg_config_where(c, sec, "tz", w, sizeof w);
      return pg_fail(d, PG_ERR_CONFIG, "%s: give either tz or utc_offset_min/eu_dst", w);
    }
    return pg_tz_from_config(c, sec, "tz", NULL, tz, d);
  }
  int off = tz->utc_offset_min;
  int rc = pg_config_get_int(c, sec, "utc_offset_min", off, -720, 840, &off, d);
  if (rc) return rc;
  if (pg_config_has(c, sec, "utc_offset_min") || pg_config_has(c, sec, "eu_dst"))
    tz->zone = NULL; /* the legacy keys describe a fixed offset */
  tz->utc_offset_min = off;
  return pg_config_get_bool(c, sec, "eu_dst", tz->eu_dst, &tz->eu_dst, d);
}

static int wrap_check(int rc, const char *sec, pg_diag *d) {
  if (rc == PG_ERR_INVALID && d) {
    char msg[sizeof d->msg];
    snprintf(msg, sizeof msg, "%s", d->msg);
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] %s", sec, msg);
  }
  return rc;
}

int pg_meter_config_path(pg_config *c, const char *sec, const char *key, const char **out,
                         pg_diag *d) {
  int rc = pg_config_require(c, sec, key, d);
  if (!rc && pg_config_path_from_file(c, sec, key))
    rc = pg_fail(d, PG_ERR_NOMEM, "[%.60s] %s: out of memory", sec, key);
  return rc ? rc : pg_config_get_str(c, sec, key, NULL, out, d);
}

/* A file named by `path` could not be used: PG_ERR_CONFIG naming the key. */
static int wrap_path(int rc, const char *sec, pg_diag *d) {
  if (rc == PG_ERR_INVALID || rc == PG_ERR_TOO_LARGE || rc == PG_ERR_TRUNCATED || rc == PG_ERR_IO) {
    char msg[sizeof d->msg] = "";
    if (d) snprintf(msg, sizeof msg, "%s", d->msg);
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] path: %s", sec, msg);
  }
  return rc;
}

/* A local clock time: "HH:MM" (00:00..24:00) or a whole hour 0..24. */
static int get_clock(pg_config *c, const char *sec, const char *key, int *min, pg_diag *d) {
  const char *s = NULL;
  int rc = pg_config_get_str(c, sec, key, NULL, &s, d);
  if (rc || !s) return rc;
  int h = -1, m = 0;
  size_t n = strlen(s);
  bool digits = n > 0 && n <= 5;
  for (size_t i = 0; i < n && digits; i++) digits = (s[i] >= '0' && s[i] <= '9') || (i == 2 && s[i] == ':');
  if (digits && n <= 2 && strchr(s, ':') == NULL) {
    h = atoi(s);
  } else if (digits && n == 5 && s[2] == ':') {
    h = (s[0] - '0') * 10 + (s[1] - '0');
    m = (s[3] - '0') * 10 + (s[4] - '0');
  }
  if (h < 0 || h > 24 || m > 59 || (h == 24 && m != 0))
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] %s: '%.40s' is not a time HH:MM (00:00..24:00) or an hour 0..24",
                   sec, key, s);
  *min = h * 60 + m;
  return PG_OK;
}

static int get_temperature(pg_config *c, const char *sec, pg_temperature_params *t,
                           uint64_t *weather_seed, pg_diag *d) {
  static const num_key keys[] = {
      {"temp_mean_c", -40, 40, offsetof(pg_temperature_params, mean_c)},
      {"temp_year_amp_c", 0, 40, offsetof(pg_temperature_params, year_amp_c)},
      {"temp_day_amp_c", 0, 20, offsetof(pg_temperature_params, day_amp_c)},
      {"temp_noise_c", 0, 15, offsetof(pg_temperature_params, noise_c)},
  };
  int rc;
  if ((rc = get_nums(c, sec, keys, NKEYS(keys), t, d)) ||
      (rc = pg_config_get_int(c, sec, "coldest_doy", t->coldest_doy, 1, 366, &t->coldest_doy, d)))
    return rc;
  return pg_config_get_u64(c, sec, "weather_seed", *weather_seed, 0, UINT64_MAX, weather_seed, d);
}

static const num_key solar_keys[] = {
    {"lat", -90, 90, offsetof(pg_solar_params, lat_deg)},
    {"lon", -180, 180, offsetof(pg_solar_params, lon_deg)},
    {"kwp", 0.000001, 1e6, offsetof(pg_solar_params, kwp)},
    {"tilt", 0, 90, offsetof(pg_solar_params, tilt_deg)},
    {"azimuth", -180, 180, offsetof(pg_solar_params, azimuth_deg)},
    {"performance_ratio", 0.000001, 1, offsetof(pg_solar_params, performance_ratio)},
    {"albedo", 0, 1, offsetof(pg_solar_params, albedo)},
    {"clearness", 0.2, 1, offsetof(pg_solar_params, clearness)},
};

static int from_solar(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  pg_solar_params p;
  pg_solar_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, solar_keys, NKEYS(solar_keys), &p, d)) ||
      (rc = pg_config_get_bool(c, sec, "clouds", p.clouds, &p.clouds, d)))
    return rc;
  return wrap_check(pg_meter_solar_new(&p, seed, out, d), sec, d);
}

static const num_key wind_keys[] = {
    {"weibull_k", 1, 5, offsetof(pg_wind_params, weibull_k)},
    {"weibull_c", 0.1, 50, offsetof(pg_wind_params, weibull_c)},
    {"cut_in", 0, 50, offsetof(pg_wind_params, cut_in)},
    {"rated_speed", 0, 80, offsetof(pg_wind_params, rated_speed)},
    {"cut_out", 0, 100, offsetof(pg_wind_params, cut_out)},
    {"rated_kw", 0.000001, 1e7, offsetof(pg_wind_params, rated_kw)},
};

static int from_wind(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  pg_wind_params p;
  pg_wind_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, wind_keys, NKEYS(wind_keys), &p, d)))
    return rc;
  return wrap_check(pg_meter_wind_new(&p, seed, out, d), sec, d);
}

static const num_key household_keys[] = {
    {"annual_kwh", 0.001, 1e9, offsetof(pg_household_params, annual_kwh)},
    {"noise", 0, 1, offsetof(pg_household_params, noise)},
    {"shift_min", 0, 120, offsetof(pg_household_params, shift_max_min)},
};

static int from_household(pg_config *c, const char *sec, uint64_t seed, pg_meter **out,
                          pg_diag *d) {
  pg_household_params p;
  pg_household_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, household_keys, NKEYS(household_keys), &p, d)) ||
      (rc = get_tz(c, sec, &p.tz, d)) ||
      (rc = pg_config_get_bool(c, sec, "holidays", p.holidays, &p.holidays, d)))
    return rc;
  return wrap_check(pg_meter_household_new(&p, seed, out, d), sec, d);
}

static const num_key csv_keys[] = {
    {"annual_kwh", 0.001, 1e9, offsetof(pg_meter_csv_opts, annual_kwh)},
};

static int from_csv(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  (void)seed;
  pg_meter_csv_opts o;
  pg_meter_csv_opts_default(&o);
  const char *path = NULL, *interp = NULL;
  int rc;
  if ((rc = get_nums(c, sec, csv_keys, NKEYS(csv_keys), &o, d)) ||
      (rc = pg_meter_config_path(c, sec, "path", &path, d)) ||
      (rc = pg_config_get_str(c, sec, "interp", "step", &interp, d)) ||
      (rc = pg_config_get_bool(c, sec, "wrap", o.wrap, &o.wrap, d)) ||
      (rc = pg_config_get_bool(c, sec, "dynamise", o.dynamise, &o.dynamise, d)) ||
      (rc = pg_config_get_bool(c, sec, "holidays", o.holidays, &o.holidays, d)) ||
      (rc = get_tz(c, sec, &o.tz, d)))
    return rc;
  if (strcmp(interp, "step") == 0) o.interp = PG_SERIES_STEP;
  else if (strcmp(interp, "linear") == 0) o.interp = PG_SERIES_LINEAR;
  else
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] interp: '%.40s' is not step or linear", sec, interp);
  return wrap_path(pg_meter_csv_new(path, &o, out, d), sec, d);
}

static const num_key water_keys[] = {
    {"annual_l", 1, 1e12, offsetof(pg_water_use_params, annual_l)},
    {"garden_share", 0, 1, offsetof(pg_water_use_params, garden_share)},
    {"noise", 0, 1, offsetof(pg_water_use_params, noise)},
    {"shift_min", 0, 120, offsetof(pg_water_use_params, shift_max_min)},
};

static int from_water(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  pg_water_use_params p;
  pg_water_use_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, water_keys, NKEYS(water_keys), &p, d)) ||
      (rc = get_tz(c, sec, &p.tz, d)) ||
      (rc = pg_config_get_bool(c, sec, "holidays", p.holidays, &p.holidays, d)))
    return rc;
  return wrap_check(pg_meter_water_use_new(&p, seed, out, d), sec, d);
}

static const num_key heat_keys[] = {
    {"annual_kwh", 0.001, 1e9, offsetof(pg_heat_use_params, annual_kwh)},
    {"hot_water_share", 0, 1, offsetof(pg_heat_use_params, hot_water_share)},
    {"base_temp_c", -20, 30, offsetof(pg_heat_use_params, base_temp_c)},
    {"setback", 0, 1, offsetof(pg_heat_use_params, setback)},
    {"noise", 0, 1, offsetof(pg_heat_use_params, noise)},
};

static int from_heat(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  pg_heat_use_params p;
  pg_heat_use_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, heat_keys, NKEYS(heat_keys), &p, d)) ||
      (rc = get_tz(c, sec, &p.tz, d)) ||
      (rc = get_temperature(c, sec, &p.temp, &p.weather_seed, d)))
    return rc;
  return wrap_check(pg_meter_heat_use_new(&p, seed, out, d), sec, d);
}

static const num_key well_keys[] = {
    {"pump_l_per_min", 0.000001, 1e6, offsetof(pg_well_params, pump_l_per_min)},
    {"duty", 0, 1, offsetof(pg_well_params, duty)},
    {"summer_boost", 0, 10, offsetof(pg_well_params, summer_boost)},
};

static int from_well(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  (void)seed;
  pg_well_params p;
  pg_well_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, well_keys, NKEYS(well_keys), &p, d)) ||
      (rc = get_clock(c, sec, "from", &p.from_min, d)) ||
      (rc = get_clock(c, sec, "to", &p.to_min, d)) || (rc = get_tz(c, sec, &p.tz, d)))
    return rc;
  return wrap_check(pg_meter_well_new(&p, out, d), sec, d);
}

static const num_key rain_tank_keys[] = {
    {"roof_m2", 0.000001, 1e6, offsetof(pg_rain_tank_params, roof_m2)},
    {"runoff", 0, 1, offsetof(pg_rain_tank_params, runoff)},
    {"capacity_l", 0.001, 1e9, offsetof(pg_rain_tank_params, capacity_l)},
    {"draw_l_per_min", 0, 1e6, offsetof(pg_rain_tank_params, draw_l_per_min)},
    {"initial_l", 0, 1e9, offsetof(pg_rain_tank_params, initial_l)},
};

static int from_rain_tank(pg_config *c, const char *sec, uint64_t seed, pg_meter **out,
                          pg_diag *d) {
  (void)seed;
  pg_rain_tank_params p;
  pg_rain_tank_params_default(&p);
  const char *path = NULL;
  int rc;
  if ((rc = get_nums(c, sec, rain_tank_keys, NKEYS(rain_tank_keys), &p, d)) ||
      (rc = pg_meter_config_path(c, sec, "path", &path, d)) ||
      (rc = pg_config_get_bool(c, sec, "wrap", p.wrap, &p.wrap, d)))
    return rc;
  if (p.initial_l > p.capacity_l)
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] initial_l: %g L is more than capacity_l (%g L)", sec,
                   p.initial_l, p.capacity_l);
  return wrap_path(pg_meter_rain_tank_new(path, &p, out, d), sec, d);
}

static const num_key boiler_keys[] = {
    {"capacity_kw", 0.000001, 1e6, offsetof(pg_boiler_params, capacity_kw)},
    {"heat_loss_w_per_k", 0, 1e9, offsetof(pg_boiler_params, heat_loss_w_per_k)},
    {"base_temp_c", -20, 30, offsetof(pg_boiler_params, base_temp_c)},
    {"hot_water_kw", 0, 1e6, offsetof(pg_boiler_params, hot_water_kw)},
};

static int from_boiler(pg_config *c, const char *sec, uint64_t seed, pg_meter **out, pg_diag *d) {
  (void)seed;
  pg_boiler_params p;
  pg_boiler_params_default(&p);
  int rc;
  if ((rc = get_nums(c, sec, boiler_keys, NKEYS(boiler_keys), &p, d)) ||
      (rc = get_tz(c, sec, &p.tz, d)) ||
      (rc = get_temperature(c, sec, &p.temp, &p.weather_seed, d)))
    return rc;
  return wrap_check(pg_meter_boiler_new(&p, out, d), sec, d);
}

typedef int (*from_fn)(pg_config *, const char *, uint64_t, pg_meter **, pg_diag *);
static const struct {
  const char *kind;
  from_fn fn;
} kinds[] = {
    {"solar", from_solar}, {"wind", from_wind}, {"household", from_household},
    {"csv", from_csv},     {"water", from_water}, {"heat", from_heat},
    {"well", from_well},   {"rain-tank", from_rain_tank}, {"boiler", from_boiler},
};

bool pg_meter_profile_kind(const char *kind) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kind, kinds[i].kind) == 0) return true;
  return false;
}

int pg_meter_profile_from_config(pg_config *c, const char *sec, const char *kind, uint64_t seed,
                                 pg_meter **out, pg_diag *d) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kind, kinds[i].kind) == 0) return kinds[i].fn(c, sec, seed, out, d);
  if (strcmp(kind, "dso") == 0) return pg_meter_dso_from_config(c, sec, out, d);
  return pg_fail(d, PG_ERR_INVALID,
                 "[%.60s] kind: '%.40s' is not solar, wind, household, csv, water, heat, well, "
                 "rain-tank, boiler or dso",
                 sec, kind);
}
