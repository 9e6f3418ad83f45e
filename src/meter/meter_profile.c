/* meter_profile.c — solar, wind and household meters on the profile models,
 * and pg_meter_profile_from_config for them and the CSV meter. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/dso.h"
#include "p2pgrid/meter_profile.h"

typedef enum { K_SOLAR, K_WIND, K_HOUSE } model_kind;

typedef struct model_meter {
  pg_meter base;
  model_kind kind;
  uint64_t seed;
  union {
    pg_solar_params solar;
    pg_wind_params wind;
    pg_household house;
  } u;
  pg_energy_integ integ;
} model_meter;

static double model_power(const void *ctx, int64_t t) {
  const model_meter *m = ctx;
  switch (m->kind) {
  case K_SOLAR: return pg_solar_power_w(&m->u.solar, m->seed, t);
  case K_WIND: return pg_wind_power_w(&m->u.wind, m->seed, t);
  case K_HOUSE: return pg_household_power_w(&m->u.house, m->seed, t);
  }
  return 0;
}

static int model_energy(pg_meter *base, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  model_meter *m = (model_meter *)base;
  if (from >= to) return pg_fail(d, PG_ERR_INVALID, "empty window");
  if (to > (uint64_t)INT64_MAX) return pg_fail(d, PG_ERR_INVALID, "window end beyond int64 ms");
  *wh = pg_energy_integ_wh(&m->integ, (int64_t)from, (int64_t)to);
  return PG_OK;
}

static void model_destroy(pg_meter *m) { free(m); }

static const pg_meter_ops solar_ops = {"solar", model_energy, model_destroy};
static const pg_meter_ops wind_ops = {"wind", model_energy, model_destroy};
static const pg_meter_ops house_ops = {"household", model_energy, model_destroy};

static model_meter *model_alloc(model_kind k, uint64_t seed, pg_diag *d) {
  model_meter *m = calloc(1, sizeof *m);
  if (!m) {
    (void)pg_fail(d, PG_ERR_NOMEM, "out of memory");
    return NULL;
  }
  m->kind = k;
  m->seed = seed;
  m->base.ops = k == K_SOLAR ? &solar_ops : k == K_WIND ? &wind_ops : &house_ops;
  pg_energy_integ_init(&m->integ, model_power, m);
  return m;
}

int pg_meter_solar_new(const pg_solar_params *p, uint64_t seed, pg_meter **out, pg_diag *d) {
  int rc = pg_solar_check(p, d);
  if (rc) return rc;
  model_meter *m = model_alloc(K_SOLAR, seed, d);
  if (!m) return PG_ERR_NOMEM;
  m->u.solar = *p;
  *out = &m->base;
  return PG_OK;
}

int pg_meter_wind_new(const pg_wind_params *p, uint64_t seed, pg_meter **out, pg_diag *d) {
  int rc = pg_wind_check(p, d);
  if (rc) return rc;
  model_meter *m = model_alloc(K_WIND, seed, d);
  if (!m) return PG_ERR_NOMEM;
  m->u.wind = *p;
  *out = &m->base;
  return PG_OK;
}

int pg_meter_household_new(const pg_household_params *p, uint64_t seed, pg_meter **out,
                           pg_diag *d) {
  model_meter *m = model_alloc(K_HOUSE, seed, d);
  if (!m) return PG_ERR_NOMEM;
  int rc = pg_household_init(&m->u.house, p, d);
  if (rc) {
    free(m);
    return rc;
  }
  *out = &m->base;
  return PG_OK;
}

/* ---- from a config section ---- */

/* Plain decimal: -?[0-9]{1,9}(\.[0-9]{1,9})? */
static bool parse_decimal(const char *s, double *out) {
  const char *p = s;
  bool neg = false;
  if (*p == '-') {
    neg = true;
    p++;
  }
  int ni = 0, nf = 0;
  double v = 0, scale = 1;
  while (*p >= '0' && *p <= '9') {
    if (++ni > 9) return false;
    v = v * 10 + (*p++ - '0');
  }
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      if (++nf > 9) return false;
      scale /= 10;
      v += (*p++ - '0') * scale;
    }
    if (!nf) return false;
  }
  if (*p || !ni) return false;
  *out = neg ? -v : v;
  return true;
}

static int get_num(pg_config *c, const char *sec, const char *key, double lo, double hi,
                   double *v, pg_diag *d) {
  const char *s = NULL;
  int rc = pg_config_get_str(c, sec, key, NULL, &s, d);
  if (rc) return rc;
  if (!s) return PG_OK;
  double x;
  if (!parse_decimal(s, &x) || x < lo || x > hi)
    return pg_fail(d, PG_ERR_CONFIG, "[%.60s] %s: '%.40s' is not a number between %g and %g", sec,
                   key, s, lo, hi);
  *v = x;
  return PG_OK;
}

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

int pg_meter_profile_from_config(pg_config *c, const char *sec, const char *kind, uint64_t seed,
                                 pg_meter **out, pg_diag *d) {
  int rc = PG_OK;
  if (strcmp(kind, "solar") == 0) {
    pg_solar_params p;
    pg_solar_params_default(&p);
    if ((rc = get_num(c, sec, "lat", -90, 90, &p.lat_deg, d)) ||
        (rc = get_num(c, sec, "lon", -180, 180, &p.lon_deg, d)) ||
        (rc = get_num(c, sec, "kwp", 0.000001, 1e6, &p.kwp, d)) ||
        (rc = get_num(c, sec, "tilt", 0, 90, &p.tilt_deg, d)) ||
        (rc = get_num(c, sec, "azimuth", -180, 180, &p.azimuth_deg, d)) ||
        (rc = get_num(c, sec, "performance_ratio", 0.000001, 1, &p.performance_ratio, d)) ||
        (rc = get_num(c, sec, "albedo", 0, 1, &p.albedo, d)) ||
        (rc = pg_config_get_bool(c, sec, "clouds", p.clouds, &p.clouds, d)) ||
        (rc = get_num(c, sec, "clearness", 0.2, 1, &p.clearness, d)))
      return rc;
    return wrap_check(pg_meter_solar_new(&p, seed, out, d), sec, d);
  }
  if (strcmp(kind, "wind") == 0) {
    pg_wind_params p;
    pg_wind_params_default(&p);
    if ((rc = get_num(c, sec, "weibull_k", 1, 5, &p.weibull_k, d)) ||
        (rc = get_num(c, sec, "weibull_c", 0.1, 50, &p.weibull_c, d)) ||
        (rc = get_num(c, sec, "cut_in", 0, 50, &p.cut_in, d)) ||
        (rc = get_num(c, sec, "rated_speed", 0, 80, &p.rated_speed, d)) ||
        (rc = get_num(c, sec, "cut_out", 0, 100, &p.cut_out, d)) ||
        (rc = get_num(c, sec, "rated_kw", 0.000001, 1e7, &p.rated_kw, d)))
      return rc;
    return wrap_check(pg_meter_wind_new(&p, seed, out, d), sec, d);
  }
  if (strcmp(kind, "household") == 0) {
    pg_household_params p;
    pg_household_params_default(&p);
    if ((rc = get_num(c, sec, "annual_kwh", 0.001, 1e9, &p.annual_kwh, d)) ||
        (rc = get_tz(c, sec, &p.tz, d)) ||
        (rc = pg_config_get_bool(c, sec, "holidays", p.holidays, &p.holidays, d)) ||
        (rc = get_num(c, sec, "noise", 0, 1, &p.noise, d)) ||
        (rc = get_num(c, sec, "shift_min", 0, 120, &p.shift_max_min, d)))
      return rc;
    return wrap_check(pg_meter_household_new(&p, seed, out, d), sec, d);
  }
  if (strcmp(kind, "csv") == 0) {
    pg_meter_csv_opts o;
    pg_meter_csv_opts_default(&o);
    const char *path = NULL, *interp = NULL;
    if ((rc = pg_config_require(c, sec, "path", d)) ||
        (rc = pg_config_get_str(c, sec, "path", NULL, &path, d)) ||
        (rc = pg_config_get_str(c, sec, "interp", "step", &interp, d)) ||
        (rc = pg_config_get_bool(c, sec, "wrap", o.wrap, &o.wrap, d)) ||
        (rc = get_num(c, sec, "annual_kwh", 0.001, 1e9, &o.annual_kwh, d)) ||
        (rc = pg_config_get_bool(c, sec, "dynamise", o.dynamise, &o.dynamise, d)) ||
        (rc = pg_config_get_bool(c, sec, "holidays", o.holidays, &o.holidays, d)) ||
        (rc = get_tz(c, sec, &o.tz, d)))
      return rc;
    if (strcmp(interp, "step") == 0) o.interp = PG_SERIES_STEP;
    else if (strcmp(interp, "linear") == 0) o.interp = PG_SERIES_LINEAR;
    else
      return pg_fail(d, PG_ERR_CONFIG, "[%.60s] interp: '%.40s' is not step or linear", sec, interp);
    rc = pg_meter_csv_new(path, &o, out, d);
    if (rc == PG_ERR_INVALID || rc == PG_ERR_TOO_LARGE || rc == PG_ERR_TRUNCATED || rc == PG_ERR_IO) {
      char msg[sizeof d->msg] = "";
      if (d) snprintf(msg, sizeof msg, "%s", d->msg);
      return pg_fail(d, PG_ERR_CONFIG, "[%.60s] path: %s", sec, msg);
    }
    return rc;
  }
  if (strcmp(kind, "dso") == 0) return pg_meter_dso_from_config(c, sec, out, d);
  return pg_fail(d, PG_ERR_INVALID, "[%.60s] kind: '%.40s' is not solar, wind, household, csv or dso",
                 sec, kind);
}
