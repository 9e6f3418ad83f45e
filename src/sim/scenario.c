/* Scenario INI -> pg_scenario (sim.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/strhash.h"
#include "p2pgrid/base/money.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/meter/meter_profile.h"
#include "p2pgrid/market/market_config.h"
#include "p2pgrid/sim/sim.h"

uint64_t pg_sim_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double unif(uint64_t *st, double lo, double hi) {
  double u = (double)(pg_sim_splitmix64(st) >> 11) * (1.0 / 9007199254740992.0);
  return lo + (hi - lo) * u;
}

void pg_sim_iso(uint64_t ms, char *buf, size_t cap) { pg_iso8601_utc((int64_t)ms, buf, cap); }

/* A failing getter on the same key gives the "file:line: [s] k: ..." text. */
static int bad_value(pg_config *c, const char *sec, const char *key, const char *what,
                     pg_diag *d) {
  char w[200]; /* "origin:line: [sec] key", or the --set that gave it */
  pg_config_where(c, sec, key, w, sizeof w);
  return pg_fail(d, PG_ERR_CONFIG, "%s: %s", w, what);
}

/* [site] tz: UTC, +HH:MM or an IANA zone; eu_dst (legacy) adds the EU rule to
 * a fixed offset only. */
static int site_tz(pg_config *c, pg_tz *tz, pg_diag *d) {
  int rc = pg_tz_from_config(c, "site", "tz", "Europe/Berlin", tz, d);
  if (rc || !pg_config_has(c, "site", "eu_dst")) return rc;
  if (tz->zone || tz->eu_dst)
    return bad_value(c, "site", "eu_dst",
                     "only with a fixed offset (UTC or +HH:MM); a named zone has its own rules",
                     d);
  return pg_config_get_bool(c, "site", "eu_dst", false, &tz->eu_dst, d);
}

/* Explicit household and csv meters follow [site] tz unless they name their
 * own zone (tz, or the legacy utc_offset_min/eu_dst). */
static int inherit_tz(pg_config *c, const char *sec, pg_tz tz) {
  if (pg_config_has(c, sec, "tz") || pg_config_has(c, sec, "utc_offset_min") ||
      pg_config_has(c, sec, "eu_dst"))
    return PG_OK;
  if (tz.zone || !tz.eu_dst)
    return pg_config_set(c, sec, "tz", pg_tz_name(tz));
  char buf[16];
  snprintf(buf, sizeof buf, "%d", (int)tz.utc_offset_min);
  int rc = pg_config_set(c, sec, "utc_offset_min", buf);
  return rc ? rc : pg_config_set(c, sec, "eu_dst", "true");
}

static int get_double(pg_config *c, const char *sec, const char *key, double def, double lo,
                      double hi, double *out, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, sec, key, NULL, &v, d);
  if (rc) return rc;
  if (!v) {
    *out = def;
    return PG_OK;
  }
  char *end = NULL;
  double x = strtod(v, &end);
  if (!*v || *end || !isfinite(x) || x < lo || x > hi) {
    char what[160];
    snprintf(what, sizeof what, "'%s' is not a number between %g and %g", v, lo, hi);
    return bad_value(c, sec, key, what, d);
  }
  *out = x;
  return PG_OK;
}

/* An amount in base units: "300000000", "300Mi", "0.25Mi", "5Ki", "1Gi", "7i"
 * (exact: pg_money_parse_amount), parsed as the market's prices are
 * (market_config.h); def when missing. */
static int get_amount(pg_config *c, const char *sec, const char *key, uint64_t def, uint64_t max,
                      uint64_t *out, pg_diag *d) {
  bool has = false;
  *out = def;
  return pg_market_config_price(c, sec, key, NULL, max, false, &has, out, d);
}

static int get_double_alias(pg_config *c, const char *sec, const char *key, const char *alias,
                            double def, double lo, double hi, double *out, const char **used,
                            pg_diag *d) {
  const char *k = key;
  int rc = pg_config_alias(c, sec, key, alias, &k, d);
  if (used) *used = k;
  return rc ? rc : get_double(c, sec, k, def, lo, hi, out, d);
}

static bool id_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > PG_SIM_ID_MAX) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-') return false;
  return true;
}

static int cmp_prod(const void *a, const void *b) {
  return strcmp(((const pg_sim_producer *)a)->id, ((const pg_sim_producer *)b)->id);
}
static int cmp_hh(const void *a, const void *b) {
  return strcmp(((const pg_sim_household *)a)->id, ((const pg_sim_household *)b)->id);
}
static int cmp_bat(const void *a, const void *b) {
  return strcmp(((const pg_sim_battery *)a)->id, ((const pg_sim_battery *)b)->id);
}
static int cmp_src(const void *a, const void *b) {
  return strcmp(((const pg_sim_source *)a)->id, ((const pg_sim_source *)b)->id);
}

void pg_scenario_free(pg_scenario *s) {
  if (!s) return;
  free(s->producers);
  free(s->sources);
  free(s->households);
  free(s->batteries);
  memset(s, 0, sizeof *s);
}

pg_sim_mode pg_scenario_mode(const pg_scenario *s) {
  if (s->mode != PG_SIM_AUTO) return s->mode;
  return (s->n_batteries == 0 &&
          s->n_households + s->n_producers + s->n_sources <= 50 && s->slots <= 2000)
             ? PG_SIM_FULL
             : PG_SIM_MARKET_ONLY;
}

/* Section names of a kind "[prefix NAME]": collected via pg_config_unused is
 * not possible before reading, so the loader walks a list the caller built. */
typedef struct secnames {
  char (*v)[80];
  size_t n, cap;
} secnames;

typedef struct unused_ctx {
  secnames *prod, *src, *hh, *bat;
} unused_ctx;

static void add_sec(secnames *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], name) == 0) return;
  if (s->n == s->cap) {
    size_t nc = s->cap ? 2 * s->cap : 16;
    char(*nv)[80] = realloc(s->v, nc * sizeof *nv);
    if (!nv) return;
    s->v = nv;
    s->cap = nc;
  }
  snprintf(s->v[s->n++], 80, "%s", name);
}

static void collect(void *ctx, const char *origin, int line, const char *section,
                    const char *key) {
  (void)origin, (void)line, (void)key;
  unused_ctx *u = ctx;
  if (strncmp(section, "producer ", 9) == 0) add_sec(u->prod, section);
  else if (strncmp(section, "source ", 7) == 0) add_sec(u->src, section);
  else if (strncmp(section, "household ", 10) == 0) add_sec(u->hh, section);
  else if (strncmp(section, "battery ", 8) == 0) add_sec(u->bat, section);
}

/* ---- sharing keys (market.h SHARING MECHANISMS) ---- */

/* key, group and participation of one explicit household section. */
static int read_member(pg_config *c, pg_sim_household *h, pg_diag *d) {
  const char *v;
  int rc = pg_config_get_str(c, h->section, "key", "0", &v, d);
  if (rc) return rc;
  if (pg_market_key_parse(v, &h->key_ppm, NULL))
    return bad_value(c, h->section, "key", "expected a percentage 0..100% (e.g. 12.5%)", d);
  uint64_t g = 0;
  if ((rc = pg_config_get_u64(c, h->section, "group", 0, 0, PG_SHARE_MAX_GROUP, &g, d))) return rc;
  h->group = (uint32_t)g;
  if ((rc = pg_config_get_str(c, h->section, "participation", "100", &v, d))) return rc;
  char *end;
  errno = 0;
  unsigned long pct = strtoul(v, &end, 10);
  if (end == v || errno || pct < 1 || pct > 100 || (*end && strcmp(end, "%") != 0))
    return bad_value(c, h->section, "participation", "expected a whole percentage 1..100%", d);
  h->participation = (uint8_t)pct;
  return PG_OK;
}

/* Keys of every member; a static group without any key gets equal keys. */
static int read_member_sharing(pg_config *c, pg_scenario *s, pg_diag *d) {
  for (size_t i = 0; i < s->n_households; i++) {
    pg_sim_household *h = &s->households[i];
    if (h->kind != PG_SIM_CONFIG) continue;
    int rc = read_member(c, h, d);
    if (rc) return rc;
  }
  bool hier = s->mech == PG_MARKET_HIERARCHICAL;
  for (uint32_t g = 0; g <= PG_SHARE_MAX_GROUP; g++) {
    bool stat = hier ? g < s->n_group_rules && s->group_rules[g] == PG_SHARE_RULE_STATIC
                     : s->mech == PG_MARKET_STATIC_KEY;
    uint64_t sum = 0, n = 0;
    for (size_t i = 0; i < s->n_households; i++)
      if (!hier || s->households[i].group == g) sum += s->households[i].key_ppm, n++;
    if (!stat || n == 0) continue;
    if (sum > PG_SHARE_KEY_ONE)
      return pg_fail(d, PG_ERR_CONFIG, "%s: the static keys of group %u sum above 100%%",
                     s->origin[0] ? s->origin : "scenario", g);
    for (size_t i = 0; sum == 0 && i < s->n_households; i++)
      if (!hier || s->households[i].group == g)
        s->households[i].key_ppm = (uint32_t)(PG_SHARE_KEY_ONE / n);
    if (!hier) break;
  }
  return PG_OK;
}

/* The loader's state: the scenario being filled, the explicit sections
 * found and the capacities of the growing arrays. */
typedef struct loader {
  pg_config *c;
  pg_scenario *s;
  secnames sp, ss, sh, sb; /* [producer X], [source X], [household X], [battery X] */
  size_t cap_p, cap_s, cap_h, cap_b;
  uint64_t rng;
} loader;

/* The id of section `sec` (what follows its kind): PG_OK when id_ok and at
 * most max characters, else the one error naming the file and the rule. */
static int check_id(const loader *L, const char *sec, const char *id, size_t max, pg_diag *d) {
  if (id_ok(id) && strlen(id) <= max) return PG_OK;
  char w[200];
  pg_config_where(L->c, sec, NULL, w, sizeof w);
  return pg_fail(d, PG_ERR_CONFIG, "%s: '%s' is not a valid id (1..%zu of A-Z a-z 0-9 . _ -)", w,
                 id, max);
}

#define MP ((uint64_t)PG_MARKET_MAX_PRICE)
#define OOM(d) pg_fail(d, PG_ERR_NOMEM, "out of memory")

/* [scenario]: name, start, slot, duration, seed, ticks, mode. */
static int read_scenario(pg_config *c, pg_scenario *s, pg_diag *d) {
  const char *v = NULL;
  int rc;
  if ((rc = pg_config_require(c, "scenario", "name", d))) return rc;
  if ((rc = pg_config_get_str(c, "scenario", "name", NULL, &v, d))) return rc;
  if (!id_ok(v)) return bad_value(c, "scenario", "name", "must be 1..64 of A-Z a-z 0-9 . _ -", d);
  snprintf(s->name, sizeof s->name, "%s", v);
  if ((rc = pg_config_get_str(c, "scenario", "start", "2025-06-21", &v, d))) return rc;
  if (pg_date_time_parse_utc(v, &s->start_ms) != PG_OK)
    return bad_value(c, "scenario", "start",
                     "expected an ISO date or time in UTC, e.g. 2025-06-21 or 2025-06-21T00:00:00Z",
                     d);
  if ((rc = pg_config_get_duration_ms(c, "scenario", "slot", 900000, 1000, 86400000, &s->slot_ms,
                                      d)))
    return rc;
  if ((rc = pg_config_get_duration_ms(c, "scenario", "duration", 86400000, 1000,
                                      400ULL * 86400000ULL, &s->duration_ms, d)))
    return rc;
  if (s->start_ms % s->slot_ms != 0)
    return bad_value(c, "scenario", "start", "must be a multiple of the slot length since 1970", d);
  if (s->duration_ms % s->slot_ms != 0) {
    const char *dur = NULL, *slot = NULL;
    char what[200];
    if ((rc = pg_config_get_str(c, "scenario", "duration", "1d", &dur, d)) ||
        (rc = pg_config_get_str(c, "scenario", "slot", "15m", &slot, d)))
      return rc;
    snprintf(what, sizeof what, "%.40s is not a whole number of slots of %.40s (%llu.%03llu slots)",
             dur, slot, (unsigned long long)(s->duration_ms / s->slot_ms),
             (unsigned long long)(s->duration_ms % s->slot_ms * 1000 / s->slot_ms));
    return bad_value(c, "scenario", "duration", what, d);
  }
  s->slots = (size_t)(s->duration_ms / s->slot_ms);
  if (s->slots > PG_SIM_MAX_SLOTS)
    return bad_value(c, "scenario", "duration", "too many slots (at most 1000000)", d);
  if ((rc = pg_config_get_u64(c, "scenario", "seed", 1, 0, UINT64_MAX, &s->seed, d))) return rc;
  uint64_t ticks = 2;
  if ((rc = pg_config_get_u64(c, "scenario", "ticks", 2, 1, 60, &ticks, d))) return rc;
  s->ticks = (size_t)ticks;
  if ((rc = pg_config_get_str(c, "scenario", "mode", "auto", &v, d))) return rc;
  if (strcmp(v, "full") == 0) s->mode = PG_SIM_FULL;
  else if (strcmp(v, "market-only") == 0) s->mode = PG_SIM_MARKET_ONLY;
  else if (strcmp(v, "auto") == 0) s->mode = PG_SIM_AUTO;
  else return bad_value(c, "scenario", "mode", "expected full, market-only or auto", d);
  return PG_OK;
}

/* [market], [tariff], [money], [resource]. */
static int read_market(pg_config *c, pg_scenario *s, pg_diag *d) {
  /* the keys and rules the grid daemon's [grid] has (market_config.h) */
  static const pg_market_config_defaults def = {.import_price = 300000000,
                                                .export_price = 80000000};
  pg_market_config m;
  int rc = pg_market_config_read(c, "market", &def, &m, d);
  if (rc) return rc;
  s->market = m;
  if ((rc = pg_tariff_from_config(c, "tariff", &s->tariff, d))) return rc;
  /* [money]: how people read amounts (display only) */
  if ((rc = pg_money_from_config(c, "money", &s->money, d))) return rc;
  /* [resource]: what the community meters and trades (default electricity) */
  return pg_resource_from_config(c, "resource", &s->resource, d);
}

/* The generated producers' settings ([producers]). */
typedef struct gen_prod {
  uint64_t count, spp, ask_min, ask_max;
  double solar_share, kwp_min, kwp_max, wkw_min, wkw_max, wspeed, ask_share;
} gen_prod;

static int read_gen_prod(pg_config *c, gen_prod *g, pg_diag *d) {
  int rc;
  if ((rc = pg_config_get_u64(c, "producers", "count", 0, 0, 10000, &g->count, d)) ||
      (rc = pg_config_get_u64(c, "producers", "sources_per_producer", 2, 1, 16, &g->spp, d)) ||
      (rc = get_double(c, "producers", "solar_share", 0.7, 0, 1, &g->solar_share, d)) ||
      (rc = get_double(c, "producers", "kwp_min", 5, 0.1, 100000, &g->kwp_min, d)) ||
      (rc = get_double(c, "producers", "kwp_max", 30, 0.1, 100000, &g->kwp_max, d)) ||
      (rc = get_double(c, "producers", "wind_kw_min", 5, 0.1, 100000, &g->wkw_min, d)) ||
      (rc = get_double(c, "producers", "wind_kw_max", 20, 0.1, 100000, &g->wkw_max, d)) ||
      (rc = get_double(c, "producers", "wind_speed", 6, 0.5, 30, &g->wspeed, d)) ||
      (rc = get_double(c, "producers", "ask_share", 0.5, 0, 1, &g->ask_share, d)) ||
      (rc = get_amount(c, "producers", "ask_min", 90000000, MP, &g->ask_min, d)) ||
      (rc = get_amount(c, "producers", "ask_max", 200000000, MP, &g->ask_max, d)))
    return rc;
  if (g->kwp_max < g->kwp_min)
    return bad_value(c, "producers", "kwp_max", "must not be below kwp_min", d);
  if (g->wkw_max < g->wkw_min)
    return bad_value(c, "producers", "wind_kw_max", "must not be below wind_kw_min", d);
  if (g->ask_max < g->ask_min)
    return bad_value(c, "producers", "ask_max", "must not be below ask_min", d);
  return PG_OK;
}

/* Source j of generated producer i (global index gidx): solar when
 * floor((g+1)*share) > floor(g*share), spreading the solar share evenly. */
static void gen_source(loader *L, const gen_prod *g, uint64_t i, uint64_t j) {
  pg_scenario *s = L->s;
  const pg_sim_producer *p = &s->producers[s->n_producers];
  pg_sim_source *q = &s->sources[s->n_sources];
  uint64_t gidx = i * g->spp + j;
  snprintf(q->id, sizeof q->id, "%.40s-s%llu", p->id, (unsigned long long)(j + 1));
  q->producer = s->n_producers;
  bool solar =
      floor((double)(gidx + 1) * g->solar_share) > floor((double)gidx * g->solar_share);
  q->seed = s->seed ^ pg_hash_str(q->id);
  if (solar) {
    q->kind = PG_SIM_SOLAR;
    snprintf(q->kind_name, sizeof q->kind_name, "solar");
    pg_solar_params_default(&q->solar);
    q->solar.lat_deg = s->lat, q->solar.lon_deg = s->lon;
    q->solar.kwp = unif(&L->rng, g->kwp_min, g->kwp_max);
    q->solar.azimuth_deg = unif(&L->rng, -45, 45);
  } else {
    q->kind = PG_SIM_WIND;
    snprintf(q->kind_name, sizeof q->kind_name, "wind");
    pg_wind_params_default(&q->wind);
    q->wind.rated_kw = unif(&L->rng, g->wkw_min, g->wkw_max);
    q->wind.weibull_c = g->wspeed;
  }
  s->n_sources++;
}

/* [producers] generated: p001.. with sources p001-s1.. */
static int gen_producers(loader *L, pg_diag *d) {
  pg_scenario *s = L->s;
  gen_prod g;
  int rc = read_gen_prod(L->c, &g, d);
  if (rc) return rc;
  if (g.count && !pg_resource_is_electricity(&s->resource))
    return bad_value(L->c, "producers", "count",
                     "generated producers have solar and wind sources (electricity); declare "
                     "[producer ID] and [source ID] sections for other resources",
                     d);
  for (uint64_t i = 0; i < g.count; i++) {
    if (pg_grow(&s->producers, &L->cap_p, s->n_producers + 1, sizeof *s->producers, 0))
      return OOM(d);
    pg_sim_producer *p = &s->producers[s->n_producers];
    snprintf(p->id, sizeof p->id, "p%03llu", (unsigned long long)(i + 1));
    snprintf(p->name, sizeof p->name, "Producer %llu", (unsigned long long)(i + 1));
    p->has_ask = unif(&L->rng, 0, 1) < g.ask_share;
    p->ask = g.ask_min + (uint64_t)unif(&L->rng, 0, (double)(g.ask_max - g.ask_min + 1));
    if (p->ask > g.ask_max) p->ask = g.ask_max;
    if (!p->has_ask) p->ask = 0;
    for (uint64_t j = 0; j < g.spp; j++) {
      if (pg_grow(&s->sources, &L->cap_s, s->n_sources + 1, sizeof *s->sources, 0))
        return OOM(d);
      gen_source(L, &g, i, j);
    }
    s->n_producers++;
  }
  return PG_OK;
}

/* The generated households' model: the [households] model key, by default
 * the one of the resource (electricity: household, water: water, heat:
 * heat). A year's use in price units (1000 base units) by default. */
typedef struct hh_model {
  const char *name;
  pg_sim_meter_kind kind;
  double def_min, def_max;
} hh_model;

static const hh_model hh_models[] = {
    {"household", PG_SIM_HOUSEHOLD, 2000, 5000}, /* kWh */
    {"water", PG_SIM_WATER, 30, 90},             /* m³ */
    {"heat", PG_SIM_HEAT, 8000, 20000},          /* kWh_th */
};

/* The household model a resource's households have unless they say:
 * water for water, heat for heat and gas, the electric household else. */
static const char *default_model(const pg_resource *r) {
  if (strcmp(r->name, "water") == 0) return "water";
  if (strcmp(r->name, "heat") == 0 || strcmp(r->name, "gas") == 0) return "heat";
  return "household";
}

static int read_hh_model(pg_config *c, const pg_resource *r, const hh_model **out, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, "households", "model", default_model(r), &v, d);
  if (rc) return rc;
  for (size_t i = 0; i < sizeof hh_models / sizeof hh_models[0]; i++)
    if (strcmp(v, hh_models[i].name) == 0) {
      *out = &hh_models[i];
      return PG_OK;
    }
  return bad_value(c, "households", "model", "expected household, water or heat", d);
}

/* One generated household's meter parameters, from its year's use. */
static void gen_household_meter(const pg_scenario *s, const hh_model *m, double noise,
                                pg_sim_household *h) {
  h->kind = m->kind;
  snprintf(h->kind_name, sizeof h->kind_name, "%s", m->name);
  double base = h->annual_units * PG_RESOURCE_PRICE_BASE; /* base units a year */
  switch (m->kind) {
  case PG_SIM_WATER:
    pg_water_use_params_default(&h->water);
    h->water.tz = s->tz;
    h->water.noise = noise;
    h->water.annual_l = base;
    break;
  case PG_SIM_HEAT:
    pg_heat_use_params_default(&h->heat);
    h->heat.tz = s->tz;
    h->heat.noise = noise;
    h->heat.annual_kwh = h->annual_units;
    h->heat.weather_seed = s->seed; /* one weather for the site */
    break;
  default:
    pg_household_params_default(&h->params);
    h->params.tz = s->tz;
    h->params.noise = noise;
    h->params.annual_kwh = h->annual_units;
    break;
  }
}

/* ---- flexible assets (issue 17; asset.h) ---- */

/* A strategy key: self-consumption | surplus-following | price-responsive. */
static int get_strategy(pg_config *c, const char *sec, pg_asset_strategy def,
                        pg_asset_strategy *out, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, sec, "strategy", NULL, &v, d);
  if (rc) return rc;
  if (!v) {
    *out = def;
    return PG_OK;
  }
  if (pg_asset_strategy_parse(v, out) != PG_OK)
    return bad_value(c, sec, "strategy",
                     "expected self-consumption, surplus-following or price-responsive", d);
  return PG_OK;
}

/* [households] asset keys of the generated households. */
typedef struct gen_assets_cfg {
  double bat_share, bat_min, bat_max, bat_kw, ev_share, ev_kw, hp_share, hp_kwh;
  double pv_share, pv_min, pv_max;
  pg_asset_strategy strategy;
} gen_assets_cfg;

static int read_gen_assets(pg_config *c, const pg_scenario *s, gen_assets_cfg *g, pg_diag *d) {
  const char *H = "households";
  int rc;
  if ((rc = get_double(c, H, "battery_share", 0, 0, 1, &g->bat_share, d)) ||
      (rc = get_double(c, H, "battery_kwh_min", 5, 0.1, 1e6, &g->bat_min, d)) ||
      (rc = get_double(c, H, "battery_kwh_max", 10, 0.1, 1e6, &g->bat_max, d)) ||
      (rc = get_double(c, H, "battery_kw", 0, 0, 1e6, &g->bat_kw, d)) ||
      (rc = get_double(c, H, "ev_share", 0, 0, 1, &g->ev_share, d)) ||
      (rc = get_double(c, H, "ev_kw", 11, 0.1, 1e3, &g->ev_kw, d)) ||
      (rc = get_double(c, H, "heat_pump_share", 0, 0, 1, &g->hp_share, d)) ||
      (rc = get_double(c, H, "heat_kwh", 12000, 1, 1e7, &g->hp_kwh, d)) ||
      (rc = get_double(c, H, "pv_share", 0, 0, 1, &g->pv_share, d)) ||
      (rc = get_double(c, H, "pv_kwp_min", 3, 0.1, 1e4, &g->pv_min, d)) ||
      (rc = get_double(c, H, "pv_kwp_max", 8, 0.1, 1e4, &g->pv_max, d)) ||
      (rc = get_strategy(c, H, PG_ASSET_SELF_CONSUMPTION, &g->strategy, d)))
    return rc;
  if (g->bat_max < g->bat_min)
    return bad_value(c, H, "battery_kwh_max", "must not be below battery_kwh_min", d);
  if (g->pv_max < g->pv_min) return bad_value(c, H, "pv_kwp_max", "must not be below pv_kwp_min", d);
  bool any = g->bat_share > 0 || g->ev_share > 0 || g->hp_share > 0 || g->pv_share > 0;
  if (any && !pg_resource_is_electricity(&s->resource))
    return bad_value(c, H, "battery_share",
                     "assets (battery, ev, heat_pump, pv shares) are electricity only", d);
  return PG_OK;
}

/* Which generated households have which kind of asset (mask bit k: PV,
 * battery, EV, heat pump): for each kind the floor(n x share) households
 * with the lowest splitmix64(seed, kind, index): exact counts (30 of 100 at
 * 0.3), drawn independently per kind. */
enum { GEN_PV = 1, GEN_BAT = 2, GEN_EV = 4, GEN_HP = 8 };
typedef struct rank {
  uint64_t h;
  size_t i;
} rank;
static int cmp_rank(const void *a, const void *b) {
  const rank *x = a, *y = b;
  return x->h < y->h ? -1 : x->h > y->h ? 1 : (x->i > y->i) - (x->i < y->i);
}

static int gen_pick(uint64_t seed, uint64_t n, const gen_assets_cfg *g, uint8_t **out) {
  double share[4] = {g->pv_share, g->bat_share, g->ev_share, g->hp_share};
  uint8_t *mask = calloc(n + 1, 1);
  rank *r = calloc(n + 1, sizeof *r);
  if (!mask || !r) {
    free(mask), free(r);
    return -1;
  }
  for (unsigned k = 0; k < 4; k++) {
    uint64_t m = (uint64_t)floor((double)n * share[k] + 1e-9);
    if (!m) continue;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t st = seed ^ (0xa55e7ULL << (8 * k)) ^ (i * 0x9e3779b97f4a7c15ULL);
      r[i] = (rank){pg_sim_splitmix64(&st), (size_t)i};
    }
    qsort(r, n, sizeof *r, cmp_rank);
    for (uint64_t i = 0; i < m && i < n; i++) mask[r[i].i] |= (uint8_t)(1u << k);
  }
  free(r);
  *out = mask;
  return 0;
}

/* A generated household's assets: which from its index, the sizes from its
 * own stream (seed ^ id), so the draws of the meters and bids stay as they
 * were without asset keys. An EV or a heat pump adds its expected use to the
 * household's year (full mode sizes its money by it). */
static void gen_assets(const gen_assets_cfg *g, uint8_t mask, pg_sim_household *h) {
  pg_sim_assets *a = &h->assets;
  uint64_t rng = h->seed ^ 0xa55e7a55e7ULL;
  a->strategy = g->strategy;
  if (mask & GEN_PV) a->pv_kwp = unif(&rng, g->pv_min, g->pv_max);
  if (mask & GEN_BAT) {
    a->battery_kwh = unif(&rng, g->bat_min, g->bat_max);
    a->battery_kw = g->bat_kw > 0 ? g->bat_kw : a->battery_kwh / 2;
  }
  if (mask & GEN_EV) a->ev = true, a->ev_kw = g->ev_kw;
  if (mask & GEN_HP) a->heat_pump = true, a->heat_kwh = g->hp_kwh;
  if (a->ev) h->annual_units += 3000;
  if (a->heat_pump) h->annual_units += a->heat_kwh / 3;
}

/* [household X] asset keys: pv_kwp, battery_kwh, battery_kw, ev, ev_kw,
 * heat_pump, heat_kwh, strategy. */
static int explicit_assets(pg_config *c, const pg_scenario *s, pg_sim_household *h, pg_diag *d) {
  pg_sim_assets *a = &h->assets;
  const char *sec = h->section;
  int rc;
  if ((rc = get_double(c, sec, "pv_kwp", 0, 0, 1e4, &a->pv_kwp, d)) ||
      (rc = get_double(c, sec, "battery_kwh", 0, 0, 1e6, &a->battery_kwh, d)) ||
      (rc = get_double(c, sec, "battery_kw", a->battery_kwh / 2, 0, 1e6, &a->battery_kw, d)) ||
      (rc = pg_config_get_bool(c, sec, "ev", false, &a->ev, d)) ||
      (rc = get_double(c, sec, "ev_kw", 11, 0.1, 1e3, &a->ev_kw, d)) ||
      (rc = pg_config_get_bool(c, sec, "heat_pump", false, &a->heat_pump, d)) ||
      (rc = get_double(c, sec, "heat_kwh", 12000, 1, 1e7, &a->heat_kwh, d)) ||
      (rc = get_strategy(c, sec, PG_ASSET_SELF_CONSUMPTION, &a->strategy, d)))
    return rc;
  if (a->battery_kwh > 0 && a->battery_kw <= 0)
    return bad_value(c, sec, "battery_kw", "must be above 0 with a battery", d);
  bool any = a->pv_kwp > 0 || a->battery_kwh > 0 || a->ev || a->heat_pump;
  if (any && !pg_resource_is_electricity(&s->resource))
    return bad_value(c, sec, a->battery_kwh > 0 ? "battery_kwh" : a->ev ? "ev" : a->heat_pump ? "heat_pump" : "pv_kwp",
                     "assets are electricity only", d);
  if (any && strcmp(h->kind_name, "household") != 0 && strcmp(h->kind_name, "csv") != 0 &&
      strcmp(h->kind_name, "dso") != 0)
    return bad_value(c, sec, "kind", "assets sit behind an electricity meter", d);
  if (a->ev) h->annual_units += 3000;
  if (a->heat_pump) h->annual_units += a->heat_kwh / 3;
  return PG_OK;
}

/* The two parties of a community battery: its consumer side (its charge)
 * with the battery's id, its producer side (its discharge) with id + "-out"
 * (one id per party: balances, invoices and reconciliation key by id). */
static int battery_parties(loader *L, const pg_sim_battery *b, pg_diag *d) {
  pg_scenario *s = L->s;
  if (pg_grow(&s->producers, &L->cap_p, s->n_producers + 1, sizeof *s->producers, 0) ||
      pg_grow(&s->households, &L->cap_h, s->n_households + 1, sizeof *s->households, 0))
    return OOM(d);
  pg_sim_producer *p = &s->producers[s->n_producers++];
  snprintf(p->id, sizeof p->id, "%.60s-out", b->id); /* ID: at most 60 */
  snprintf(p->name, sizeof p->name, "%.52s (discharge)", b->id);
  p->battery = true;
  pg_sim_household *h = &s->households[s->n_households++];
  snprintf(h->id, sizeof h->id, "%s", b->id);
  snprintf(h->name, sizeof h->name, "%s", b->id);
  h->kind = PG_SIM_BATTERY;
  snprintf(h->kind_name, sizeof h->kind_name, "battery");
  h->participation = 100;
  h->annual_units = b->capacity_kwh * 365;
  return PG_OK;
}

/* [battery ID]: capacity_kwh (required), power_kw (default half the
 * capacity), strategy (default surplus-following). Market-only. */
static int community_batteries(loader *L, pg_diag *d) {
  pg_config *c = L->c;
  pg_scenario *s = L->s;
  int rc;
  for (size_t i = 0; i < L->sb.n; i++) {
    const char *sec = L->sb.v[i], *id = sec + 8;
    if ((rc = check_id(L, sec, id, PG_SIM_ID_MAX - 4, d))) return rc;
    if (!pg_resource_is_electricity(&s->resource))
      return pg_fail(d, PG_ERR_CONFIG, "[%s]: a community battery is electricity only", sec);
    if (pg_grow(&s->batteries, &L->cap_b, s->n_batteries + 1, sizeof *s->batteries, 0))
      return OOM(d);
    pg_sim_battery *b = &s->batteries[s->n_batteries++];
    snprintf(b->id, sizeof b->id, "%s", id);
    if ((rc = pg_config_require(c, sec, "capacity_kwh", d)) ||
        (rc = get_double(c, sec, "capacity_kwh", 0, 0.1, 1e7, &b->capacity_kwh, d)) ||
        (rc = get_double(c, sec, "power_kw", b->capacity_kwh / 2, 0.1, 1e7, &b->power_kw, d)) ||
        (rc = get_strategy(c, sec, PG_ASSET_SURPLUS_FOLLOWING, &b->strategy, d)) ||
        (rc = battery_parties(L, b, d)))
      return rc;
  }
  if (!s->n_batteries) return PG_OK;
  qsort(s->batteries, s->n_batteries, sizeof *s->batteries, cmp_bat);
  qsort(s->households, s->n_households, sizeof *s->households, cmp_hh);
  /* the producers re-sorted: the sources follow their producer's id */
  char(*pid)[PG_SIM_ID_MAX + 1] = calloc(s->n_sources + 1, sizeof *pid);
  if (!pid) return OOM(d);
  for (size_t i = 0; i < s->n_sources; i++)
    snprintf(pid[i], sizeof pid[i], "%s", s->producers[s->sources[i].producer].id);
  qsort(s->producers, s->n_producers, sizeof *s->producers, cmp_prod);
  for (size_t i = 0; i < s->n_sources; i++)
    for (size_t j = 0; j < s->n_producers; j++)
      if (!s->producers[j].battery && strcmp(s->producers[j].id, pid[i]) == 0)
        s->sources[i].producer = j;
  free(pid);
  return PG_OK;
}

bool pg_scenario_has_assets(const pg_scenario *s) {
  if (s->n_batteries) return true;
  for (size_t i = 0; i < s->n_households; i++) {
    const pg_sim_assets *a = &s->households[i].assets;
    if (a->pv_kwp > 0 || a->battery_kwh > 0 || a->ev || a->heat_pump) return true;
  }
  return false;
}

/* [households] generated: h0001.. */
static int gen_households(loader *L, pg_diag *d) {
  pg_config *c = L->c;
  pg_scenario *s = L->s;
  uint64_t nh = 0;
  double ak_min = 0, ak_max = 0, noise = 0, bid_share = 0;
  uint64_t bid_min = 0, bid_max = 0;
  const hh_model *m = NULL;
  const char *kmin = NULL, *kmax = NULL;
  int rc;
  if ((rc = pg_config_get_u64(c, "households", "count", 0, 0, PG_SIM_MAX_PARTICIPANTS, &nh, d)) ||
      (rc = read_hh_model(c, &s->resource, &m, d)))
    return rc;
  /* annual_min/max in display units; the price unit is 1000 base units */
  double per_display = (double)s->resource.display_factor / PG_RESOURCE_PRICE_BASE;
  double def_min = m->def_min / per_display, def_max = m->def_max / per_display;
  if ((rc = get_double_alias(c, "households", "annual_min", "annual_kwh_min", def_min, 1e-3, 1e12,
                             &ak_min, &kmin, d)) ||
      (rc = get_double_alias(c, "households", "annual_max", "annual_kwh_max", def_max, 1e-3, 1e12,
                             &ak_max, &kmax, d)) ||
      (rc = get_double(c, "households", "noise", 0.3, 0, 1, &noise, d)) ||
      (rc = get_double(c, "households", "bid_share", 0.5, 0, 1, &bid_share, d)) ||
      (rc = get_amount(c, "households", "bid_min", 150000000, MP, &bid_min, d)) ||
      (rc = get_amount(c, "households", "bid_max", 300000000, MP, &bid_max, d)))
    return rc;
  if (ak_max < ak_min) {
    char what[80];
    snprintf(what, sizeof what, "must not be below %s", kmin);
    return bad_value(c, "households", kmax, what, d);
  }
  if (bid_max < bid_min) return bad_value(c, "households", "bid_max", "must not be below bid_min", d);
  gen_assets_cfg ga;
  uint8_t *mask = NULL;
  if ((rc = read_gen_assets(c, s, &ga, d))) return rc;
  if (gen_pick(s->seed, nh, &ga, &mask)) return OOM(d);
  for (uint64_t i = 0; i < nh; i++) {
    if (pg_grow(&s->households, &L->cap_h, s->n_households + 1, sizeof *s->households, 0)) {
      free(mask);
      return OOM(d);
    }
    pg_sim_household *h = &s->households[s->n_households++];
    snprintf(h->id, sizeof h->id, "h%04llu", (unsigned long long)(i + 1));
    snprintf(h->name, sizeof h->name, "Household %llu", (unsigned long long)(i + 1));
    h->annual_units = unif(&L->rng, ak_min, ak_max) * per_display;
    gen_household_meter(s, m, noise, h);
    h->has_bid = unif(&L->rng, 0, 1) < bid_share;
    h->bid = h->has_bid ? bid_min + (uint64_t)unif(&L->rng, 0, (double)(bid_max - bid_min)) : 0;
    h->seed = s->seed ^ pg_hash_str(h->id);
    h->participation = 100;
    gen_assets(&ga, mask[i], h);
  }
  free(mask);
  return PG_OK;
}

/* [producer ID] sections; then the producers sorted and the generated
 * sources re-pointed at them. */
static int explicit_producers(loader *L, pg_diag *d) {
  pg_config *c = L->c;
  pg_scenario *s = L->s;
  const char *v = NULL;
  int rc;
  for (size_t i = 0; i < L->sp.n; i++) {
    const char *sec = L->sp.v[i], *id = sec + 9;
    if ((rc = check_id(L, sec, id, PG_SIM_ID_MAX, d))) return rc;
    if (pg_grow(&s->producers, &L->cap_p, s->n_producers + 1, sizeof *s->producers, 0))
      return OOM(d);
    pg_sim_producer *p = &s->producers[s->n_producers++];
    snprintf(p->id, sizeof p->id, "%s", id);
    if ((rc = pg_config_get_str(c, sec, "name", id, &v, d))) return rc;
    snprintf(p->name, sizeof p->name, "%s", v);
    if ((rc = pg_market_config_price(c, sec, "ask", NULL, MP, false, &p->has_ask, &p->ask, d)))
      return rc;
  }
  if (s->n_producers) qsort(s->producers, s->n_producers, sizeof *s->producers, cmp_prod);
  for (size_t i = 1; i < s->n_producers; i++)
    if (strcmp(s->producers[i].id, s->producers[i - 1].id) == 0)
      return pg_fail(d, PG_ERR_CONFIG, "[producer %s]: the id is used twice", s->producers[i].id);
  for (size_t i = 0; i < s->n_sources; i++) {
    char pid[PG_SIM_ID_MAX + 1];
    snprintf(pid, sizeof pid, "%s", s->sources[i].id);
    char *dash = strrchr(pid, '-');
    if (dash) *dash = '\0';
    for (size_t j = 0; j < s->n_producers; j++)
      if (strcmp(s->producers[j].id, pid) == 0) s->sources[i].producer = j;
  }
  return PG_OK;
}

/* The meter kinds of a resource's explicit sources and households, as the
 * error names them; a resource that is not a preset may use any. */
typedef struct kinds_of {
  const char *resource, *sources, *households;
} kinds_of;

static const kinds_of meter_kinds[] = {
    {"electricity", "solar, wind, csv or dso", "household, csv or dso"},
    {"water", "well, rain-tank, csv or dso", "water, csv or dso"},
    {"heat", "solar (thermal), boiler, csv or dso", "heat, csv or dso"},
    {"gas", "csv or dso", "heat, csv or dso"},
    {NULL, "solar, wind, well, rain-tank, boiler, csv or dso",
     "household, water, heat, csv or dso"},
};

static const kinds_of *kinds_for(const pg_resource *r) {
  size_t i = 0;
  while (meter_kinds[i].resource && strcmp(meter_kinds[i].resource, r->name) != 0) i++;
  return &meter_kinds[i];
}

/* v is one of the words of list ("a, b or c"; "(...)" asides skipped). */
static bool kind_in(const char *list, const char *v) {
  size_t n = strlen(v);
  if (!n) return false;
  for (const char *p = strstr(list, v); p; p = strstr(p + 1, v))
    if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == ' ' || p[n] == '\0')) return true;
  return false;
}

/* The kind of an explicit meter section, checked against the resource. */
static int get_kind(pg_config *c, const char *sec, const char *def, const char *list,
                    const pg_resource *r, const char **out, pg_diag *d) {
  int rc = pg_config_get_str(c, sec, "kind", def, out, d);
  if (rc || kind_in(list, *out)) return rc;
  char what[160];
  snprintf(what, sizeof what, "expected %s (for %s)", list, r->name);
  return bad_value(c, sec, "kind", what, d);
}

/* A solar source without lat/lon is at the [site]. */
static int solar_at_site(pg_config *c, const char *sec, const pg_scenario *s) {
  char buf[32];
  if (!pg_config_has(c, sec, "lat")) {
    snprintf(buf, sizeof buf, "%.6f", s->lat);
    if (pg_config_set(c, sec, "lat", buf)) return PG_ERR_NOMEM;
  }
  if (!pg_config_has(c, sec, "lon")) {
    snprintf(buf, sizeof buf, "%.6f", s->lon);
    if (pg_config_set(c, sec, "lon", buf)) return PG_ERR_NOMEM;
  }
  return PG_OK;
}

/* What an explicit meter section inherits from the scenario unless it says:
 * the [site] zone (every kind read in a local calendar) and the site's
 * weather (the scenario seed: houses and boilers see the same winter). */
static int inherit_site(pg_config *c, const char *sec, const char *kind, const pg_scenario *s) {
  static const char *local[] = {"csv", "household", "water", "heat", "well", "boiler"};
  int rc = PG_OK;
  for (size_t i = 0; i < sizeof local / sizeof local[0] && !rc; i++)
    if (strcmp(kind, local[i]) == 0) rc = inherit_tz(c, sec, s->tz);
  if (!rc && (strcmp(kind, "heat") == 0 || strcmp(kind, "boiler") == 0) &&
      !pg_config_has(c, sec, "weather_seed")) {
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)s->seed);
    rc = pg_config_set(c, sec, "weather_seed", buf);
  }
  if (!rc && strcmp(kind, "solar") == 0) rc = solar_at_site(c, sec, s);
  return rc;
}

/* [source ID] sections (sorted by id afterwards). */
static int explicit_sources(loader *L, pg_diag *d) {
  pg_config *c = L->c;
  pg_scenario *s = L->s;
  const char *v = NULL;
  int rc;
  for (size_t i = 0; i < L->ss.n; i++) {
    const char *sec = L->ss.v[i], *id = sec + 7;
    if ((rc = check_id(L, sec, id, PG_SIM_ID_MAX, d))) return rc;
    if (pg_grow(&s->sources, &L->cap_s, s->n_sources + 1, sizeof *s->sources, 0))
      return OOM(d);
    pg_sim_source *q = &s->sources[s->n_sources];
    snprintf(q->id, sizeof q->id, "%s", id);
    snprintf(q->section, sizeof q->section, "%s", sec);
    if ((rc = pg_config_require(c, sec, "producer", d))) return rc;
    if ((rc = pg_config_get_str(c, sec, "producer", NULL, &v, d))) return rc;
    size_t j = 0;
    while (j < s->n_producers && strcmp(s->producers[j].id, v) != 0) j++;
    if (j == s->n_producers) return bad_value(c, sec, "producer", "no such producer", d);
    q->producer = j;
    if ((rc = get_kind(c, sec, "solar", kinds_for(&s->resource)->sources, &s->resource, &v, d)))
      return rc;
    snprintf(q->kind_name, sizeof q->kind_name, "%s", v);
    q->kind = PG_SIM_CONFIG;
    if (inherit_site(c, sec, v, s)) return OOM(d);
    q->seed = s->seed ^ pg_hash_str(q->id);
    s->n_sources++;
  }
  if (s->n_sources) qsort(s->sources, s->n_sources, sizeof *s->sources, cmp_src);
  return PG_OK;
}

/* A year's use of an explicit household in price units, which sizes its
 * money in full mode: its meter's annual key (the meter reads it too; the
 * getter marks it read): water annual_l, else annual_kwh. */
static int explicit_annual(pg_config *c, const char *sec, const char *kind, double *out,
                           pg_diag *d) {
  if (strcmp(kind, "water") == 0) {
    int rc = get_double(c, sec, "annual_l", 45000, 1, 1e12, out, d);
    *out /= PG_RESOURCE_PRICE_BASE;
    return rc;
  }
  return get_double(c, sec, "annual_kwh", strcmp(kind, "heat") == 0 ? 12000 : 3500, 1, 1e9, out,
                    d);
}

/* [household ID] sections (sorted by id afterwards, with their sharing
 * keys). */
static int explicit_households(loader *L, pg_diag *d) {
  pg_config *c = L->c;
  pg_scenario *s = L->s;
  const char *v = NULL;
  int rc;
  for (size_t i = 0; i < L->sh.n; i++) {
    const char *sec = L->sh.v[i], *id = sec + 10;
    if ((rc = check_id(L, sec, id, PG_SIM_ID_MAX, d))) return rc;
    if (pg_grow(&s->households, &L->cap_h, s->n_households + 1, sizeof *s->households, 0))
      return OOM(d);
    pg_sim_household *h = &s->households[s->n_households++];
    snprintf(h->id, sizeof h->id, "%s", id);
    snprintf(h->section, sizeof h->section, "%s", sec);
    if ((rc = pg_config_get_str(c, sec, "name", id, &v, d))) return rc;
    snprintf(h->name, sizeof h->name, "%s", v);
    if ((rc = pg_market_config_price(c, sec, "bid", NULL, MP, false, &h->has_bid, &h->bid, d)))
      return rc;
    const char *def = default_model(&s->resource);
    if ((rc = get_kind(c, sec, def, kinds_for(&s->resource)->households, &s->resource, &v, d)))
      return rc;
    snprintf(h->kind_name, sizeof h->kind_name, "%s", v);
    h->kind = PG_SIM_CONFIG;
    /* the meters read in a local calendar (a dso meter's periods are instants) */
    if (inherit_site(c, sec, v, s)) return OOM(d);
    h->seed = s->seed ^ pg_hash_str(h->id);
    if ((rc = explicit_annual(c, sec, v, &h->annual_units, d))) return rc;
    if ((rc = explicit_assets(c, s, h, d))) return rc;
  }
  if (s->n_households) qsort(s->households, s->n_households, sizeof *s->households, cmp_hh);
  return read_member_sharing(c, s, d);
}

/* An explicit meter section's meter, made and dropped: its keys checked
 * (file:line) and read. */
static int meter_once(pg_config *c, const char *sec, const char *kind, uint64_t seed, pg_diag *d) {
  pg_meter *m = NULL;
  int rc = pg_meter_profile_from_config(c, sec, kind, seed, &m, d);
  pg_meter_free(m);
  return rc;
}

/* Unique ids; every explicit meter made once (so its keys are checked,
 * file:line, and read); the participant limits. */
static int check_participants(pg_config *c, pg_scenario *s, pg_diag *d) {
  int rc;
  for (size_t i = 1; i < s->n_sources; i++)
    if (strcmp(s->sources[i].id, s->sources[i - 1].id) == 0)
      return pg_fail(d, PG_ERR_CONFIG, "[source %s]: the id is used twice", s->sources[i].id);
  for (size_t i = 1; i < s->n_producers; i++)
    if (strcmp(s->producers[i].id, s->producers[i - 1].id) == 0)
      return pg_fail(d, PG_ERR_CONFIG, "[producer %s]: the id is used twice (a community "
                     "battery's discharge side is named ID-out)",
                     s->producers[i].id);
  for (size_t i = 1; i < s->n_households; i++)
    if (strcmp(s->households[i].id, s->households[i - 1].id) == 0)
      return pg_fail(d, PG_ERR_CONFIG, "[household %s]: the id is used twice",
                     s->households[i].id);
  for (size_t i = 0; i < s->n_sources; i++) {
    const pg_sim_source *q = &s->sources[i];
    if (q->kind == PG_SIM_CONFIG && (rc = meter_once(c, q->section, q->kind_name, q->seed, d)))
      return rc;
  }
  for (size_t i = 0; i < s->n_households; i++) {
    const pg_sim_household *h = &s->households[i];
    if (h->kind == PG_SIM_CONFIG && (rc = meter_once(c, h->section, h->kind_name, h->seed, d)))
      return rc;
  }
  if (s->n_households + s->n_producers + s->n_sources > PG_SIM_MAX_PARTICIPANTS)
    return pg_fail(d, PG_ERR_CONFIG, "too many participants (at most %d)",
                   PG_SIM_MAX_PARTICIPANTS);
  if (s->n_households == 0 && s->n_producers == 0)
    return pg_fail(d, PG_ERR_CONFIG, "the scenario has no producers and no households");
  for (size_t j = 0; j < s->n_producers; j++) {
    if (s->producers[j].battery) continue; /* a community battery: no sources */
    bool any = false;
    for (size_t i = 0; i < s->n_sources && !any; i++) any = s->sources[i].producer == j;
    if (!any)
      return pg_fail(d, PG_ERR_CONFIG, "[producer %s]: has no sources", s->producers[j].id);
  }
  return PG_OK;
}

int pg_scenario_from_config(pg_config *c, pg_scenario *s, pg_diag *d) {
  memset(s, 0, sizeof *s);
  s->cfg = c;
  loader L = {.c = c, .s = s};
  int rc = read_scenario(c, s, d);
  /* [site] */
  if (!rc) rc = get_double(c, "site", "lat", 52.52, -90, 90, &s->lat, d);
  if (!rc) rc = get_double(c, "site", "lon", 13.40, -180, 180, &s->lon, d);
  if (!rc) rc = site_tz(c, &s->tz, d);
  if (!rc) rc = read_market(c, s, d);
  L.rng = s->seed ^ 0x5eed5eed5eedULL;
  if (!rc) rc = gen_producers(&L, d);
  if (!rc) rc = gen_households(&L, d);
  if (!rc) {
    unused_ctx u = {&L.sp, &L.ss, &L.sh, &L.sb};
    pg_config_unused(c, collect, &u);
    rc = explicit_producers(&L, d);
  }
  if (!rc) rc = explicit_sources(&L, d);
  if (!rc) rc = explicit_households(&L, d);
  if (!rc) rc = community_batteries(&L, d);
  if (!rc) rc = check_participants(c, s, d);
  free(L.sb.v);
  free(L.sp.v);
  free(L.ss.v);
  free(L.sh.v);
  if (rc) pg_scenario_free(s);
  return rc;
}
