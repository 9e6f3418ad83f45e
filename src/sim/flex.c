/* Flexible assets in the simulator (issue 17; sim.h ASSETS): rooftop PV,
 * home batteries, EV chargers and heat pumps behind the households' meters
 * and community batteries as their own members, stepped slot by slot with
 * the controllers of asset.h. One engine for both modes: market-only steps
 * it inline; full mode runs it as a pre-pass (pg_sim_flex_readings) and its
 * consumers' meters read the per-slot results (pg_sim_series_meter_new). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/meter/meter_profile.h"
#include "flex_dev.h"
#include "sim_internal.h"

typedef struct flex_site {
  size_t hh; /* household index */
  pg_meter *pv, *heat;
  pg_sim_dev *dev[3]; /* heat pump, EV, battery (NULL: none): stepped in this order,
                      * so the battery sees the flexible loads */
} flex_site;

struct pg_sim_flex {
  const pg_scenario *s;
  flex_site *sites;
  size_t n_sites;
  pg_sim_dev **cb; /* community batteries, id order */
  size_t *cb_prod, *cb_hh;
  pg_sim_flex_tot *tot; /* per household index (a community battery: its consumer side) */
  pg_sim_flex_slot *slots;
  pg_temperature_params temp;
};

static uint64_t next(uint64_t *st) { return pg_sim_splitmix64(st); }
static int64_t span(uint64_t *st, int64_t lo, int64_t hi) {
  return lo + (int64_t)(next(st) % (uint64_t)(hi - lo + 1));
}

/* EV sessions: every weekday (local) evening arrival 17:00-19:00, departure
 * next morning 07:00-08:00, need 5-25 kWh; from the household's seed. The
 * evening before the run is drawn too (a car plugged in at the start); a
 * session gone before the start is left out. */
static int ev_sessions(const pg_scenario *s, const pg_sim_household *h,
                       pg_sim_ev_session **out, size_t *n, pg_diag *d) {
  int64_t first = (int64_t)(s->start_ms / 86400000ULL) - 1;
  int64_t last = (int64_t)((s->start_ms + s->duration_ms) / 86400000ULL);
  size_t cap = (size_t)(last - first + 1);
  if (cap > PG_SIM_EV_MAX_SESSIONS) cap = PG_SIM_EV_MAX_SESSIONS;
  pg_sim_ev_session *v = calloc(cap + 1, sizeof *v);
  if (!v) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  uint64_t st = h->seed ^ 0xe5e55e55e5ULL;
  size_t k = 0;
  for (int64_t day = first; day <= last && k < cap; day++) {
    int y, m, dd;
    pg_civil_from_days(day, &y, &m, &dd);
    int64_t mid = pg_tz_midnight_ms(s->tz, y, m, dd);
    int64_t arrive = mid + span(&st, 17 * 60, 19 * 60) * 60000;
    int64_t depart = mid + 86400000 + span(&st, 7 * 60, 8 * 60) * 60000;
    int64_t need = span(&st, 5000, 25000);
    int wd = (int)(((day + 4) % 7 + 7) % 7); /* 0 Sunday .. 6 Saturday */
    if (wd == 0 || wd == 6 || depart <= (int64_t)s->start_ms) continue; /* gone before the run */
    v[k++] = (pg_sim_ev_session){.arrive_ms = arrive, .depart_ms = depart, .need_wh = need};
  }
  *out = v;
  *n = k;
  return PG_OK;
}

static int site_meters(const pg_scenario *s, const pg_sim_household *h, flex_site *x,
                       pg_diag *d) {
  const pg_sim_assets *a = &h->assets;
  int rc = PG_OK;
  if (a->pv_kwp > 0) {
    pg_solar_params p;
    pg_solar_params_default(&p);
    p.lat_deg = s->lat, p.lon_deg = s->lon, p.kwp = a->pv_kwp;
    rc = pg_meter_solar_new(&p, h->seed ^ 0x50a250a2ULL, &x->pv, d);
  }
  if (!rc && a->heat_pump) {
    pg_heat_use_params p;
    pg_heat_use_params_default(&p);
    p.annual_kwh = a->heat_kwh, p.tz = s->tz, p.weather_seed = s->seed;
    rc = pg_meter_heat_use_new(&p, h->seed ^ 0x4ea74ea7ULL, &x->heat, d);
  }
  return rc;
}

/* One household's assets (x->hh set). */
static int site_init(pg_sim_flex *f, flex_site *x, pg_diag *d) {
  const pg_scenario *s = f->s;
  const pg_sim_household *h = &s->households[x->hh];
  const pg_sim_assets *a = &h->assets;
  uint64_t im = s->import_price, ex = s->export_price;
  int rc = site_meters(s, h, x, d);
  if (!rc && a->heat_pump) rc = pg_sim_dev_heat_pump_new(a->strategy, im, ex, &x->dev[0], d);
  if (!rc && a->ev) {
    pg_sim_ev_session *v = NULL;
    size_t n = 0;
    if ((rc = ev_sessions(s, h, &v, &n, d))) return rc;
    rc = pg_sim_dev_ev_new((int64_t)(a->ev_kw * 1000), v, n, a->strategy, im, ex, &x->dev[1], d);
    free(v);
  }
  if (!rc && a->battery_kwh > 0)
    rc = pg_sim_dev_battery_new((int64_t)(a->battery_kwh * 1000),
                                (int64_t)(a->battery_kw * 1000), a->strategy, im, ex,
                                &x->dev[2], d);
  if (rc) return pg_fail(d, rc, "household %s: %s", h->id, d->msg);
  return PG_OK;
}

static int community_init(pg_sim_flex *f, pg_diag *d) {
  const pg_scenario *s = f->s;
  for (size_t b = 0; b < s->n_batteries; b++) {
    const pg_sim_battery *cb = &s->batteries[b];
    int rc = pg_sim_dev_battery_new((int64_t)(cb->capacity_kwh * 1000),
                                    (int64_t)(cb->power_kw * 1000), cb->strategy, s->import_price,
                                    s->export_price, &f->cb[b], d);
    if (rc) return pg_fail(d, rc, "[battery %s]: %s", cb->id, d->msg);
    char out[PG_SIM_ID_MAX + 1];
    snprintf(out, sizeof out, "%.60s-out", cb->id); /* the scenario keeps ID at most 60 chars */
    for (size_t j = 0; j < s->n_producers; j++)
      if (s->producers[j].battery && strcmp(s->producers[j].id, out) == 0) f->cb_prod[b] = j;
    for (size_t i = 0; i < s->n_households; i++)
      if (s->households[i].kind == PG_SIM_BATTERY && strcmp(s->households[i].id, cb->id) == 0)
        f->cb_hh[b] = i;
  }
  return PG_OK;
}

static bool has_any(const pg_sim_assets *a) {
  return a->pv_kwp > 0 || a->battery_kwh > 0 || a->ev || a->heat_pump;
}

int pg_sim_flex_new(const pg_scenario *s, pg_sim_flex **out, pg_diag *d) {
  *out = NULL;
  if (!pg_scenario_has_assets(s)) return PG_OK;
  pg_sim_flex *f = calloc(1, sizeof *f);
  if (!f) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  f->s = s;
  pg_temperature_params_default(&f->temp);
  f->sites = calloc(s->n_households + 1, sizeof *f->sites);
  f->cb = calloc(s->n_batteries + 1, sizeof *f->cb);
  f->cb_prod = calloc(s->n_batteries + 1, sizeof *f->cb_prod);
  f->cb_hh = calloc(s->n_batteries + 1, sizeof *f->cb_hh);
  f->tot = calloc(s->n_households + 1, sizeof *f->tot);
  f->slots = calloc(s->slots + 1, sizeof *f->slots);
  int rc = PG_OK;
  if (!f->sites || !f->cb || !f->cb_prod || !f->cb_hh || !f->tot || !f->slots)
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; !rc && i < s->n_households; i++) {
    if (!has_any(&s->households[i].assets)) continue;
    flex_site *x = &f->sites[f->n_sites++];
    x->hh = i;
    rc = site_init(f, x, d);
  }
  if (!rc) rc = community_init(f, d);
  if (rc) {
    pg_sim_flex_free(f);
    return rc;
  }
  *out = f;
  return PG_OK;
}

void pg_sim_flex_free(pg_sim_flex *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_sites; i++) {
    flex_site *x = &f->sites[i];
    pg_meter_free(x->pv);
    pg_meter_free(x->heat);
    for (size_t k = 0; k < 3; k++) pg_sim_dev_free(x->dev[k]);
  }
  for (size_t b = 0; f->cb && b < f->s->n_batteries; b++) pg_sim_dev_free(f->cb[b]);
  free(f->sites), free(f->cb), free(f->cb_prod), free(f->cb_hh), free(f->tot), free(f->slots);
  free(f);
}

/* One asset's step; its totals into t and sl. */
static int step_one(pg_sim_dev *a, pg_sim_dev_io *io, pg_sim_flex_tot *t, pg_sim_flex_slot *sl,
                    int64_t *net, pg_diag *d) {
  int rc = pg_sim_dev_step(a, io, d);
  if (rc) return rc;
  const pg_sim_dev_io o = *io;
  *net = o.charge_wh - o.discharge_wh;
  t->loss_wh += o.loss_wh;
  int kind = pg_sim_dev_kind(a);
  if (kind == PG_SIM_DEV_BATTERY) {
    t->charged_wh += o.charge_wh, t->discharged_wh += o.discharge_wh;
    sl->charged_wh += o.charge_wh, sl->discharged_wh += o.discharge_wh;
    sl->soc_sum_ppm += o.soc_ppm, sl->batteries++;
  } else if (kind == PG_SIM_DEV_EV) {
    t->ev_wh += o.charge_wh, sl->ev_wh += o.charge_wh, t->unmet_ev_wh += o.unmet_wh;
  } else {
    t->heat_pump_wh += o.charge_wh, sl->heat_pump_wh += o.charge_wh;
    t->unmet_heat_wh += o.unmet_wh;
  }
  return PG_OK;
}

/* The slot's price the price-responsive controllers see: the export price
 * while the community has a surplus, else the import price. */
static uint64_t slot_price(const pg_sim_flex *f, int64_t surplus) {
  return surplus > 0 ? f->s->export_price : f->s->import_price;
}

/* A household's assets in one slot; *surplus (community: supply - readings)
 * follows its reading. */
static int site_step(pg_sim_flex *f, flex_site *x, size_t idx, double t_out, int64_t *hh_wh,
                     int64_t *surplus, pg_diag *d) {
  const pg_scenario *s = f->s;
  uint64_t t0 = s->start_ms + idx * s->slot_ms;
  pg_sim_flex_tot *t = &f->tot[x->hh];
  pg_sim_flex_slot *sl = &f->slots[idx];
  int64_t pv = 0, heat = 0;
  int rc = PG_OK;
  if (x->pv && (rc = pg_meter_energy(x->pv, t0, t0 + s->slot_ms, &pv, d))) return rc;
  if (x->heat && (rc = pg_meter_energy(x->heat, t0, t0 + s->slot_ms, &heat, d))) return rc;
  int64_t load = hh_wh[x->hh];
  int64_t before = load > 0 ? load : 0;
  int64_t net = load - pv;
  t->load_wh += load, t->pv_wh += pv, sl->pv_wh += pv;
  for (size_t k = 0; k < 3; k++) {
    if (!x->dev[k]) continue;
    int64_t cur = net > 0 ? net : 0;
    int64_t left = *surplus - (cur - before);
    pg_sim_dev_io in = {.start_ms = (int64_t)t0, .slot_ms = (int64_t)s->slot_ms, .site_net_wh = net,
                      .community_surplus_wh = left > 0 ? left : 0,
                      .price_per_kwh = slot_price(f, left),
                      .t_out_c = t_out, .heat_demand_wh = heat};
    int64_t a_net = 0;
    if ((rc = step_one(x->dev[k], &in, t, sl, &a_net, d)))
      return pg_fail(d, rc, "household %s: %s", s->households[x->hh].id, d->msg);
    net += a_net;
  }
  /* never below 0: a surplus beyond the house leaves the community (sim.h) */
  int64_t reading = net > 0 ? net : 0;
  t->exported_wh += reading - net, sl->exported_wh += reading - net;
  *surplus -= reading - before;
  hh_wh[x->hh] = reading;
  return PG_OK;
}

int pg_sim_flex_step(pg_sim_flex *f, size_t idx, int64_t *hh_wh, int64_t *prod_wh, pg_diag *d) {
  const pg_scenario *s = f->s;
  int64_t supply = 0, demand = 0;
  for (size_t j = 0; j < s->n_producers; j++) supply += s->producers[j].battery ? 0 : prod_wh[j];
  for (size_t i = 0; i < s->n_households; i++) demand += hh_wh[i] > 0 ? hh_wh[i] : 0;
  int64_t surplus = supply - demand;
  uint64_t t0 = s->start_ms + idx * s->slot_ms;
  /* the site's weather (the heat model's: the scenario seed) mid-slot */
  double t_out = pg_temperature_c(&f->temp, s->tz, s->seed, (int64_t)(t0 + s->slot_ms / 2));
  for (size_t k = 0; k < f->n_sites; k++) {
    int rc = site_step(f, &f->sites[k], idx, t_out, hh_wh, &surplus, d);
    if (rc) return rc;
  }
  for (size_t b = 0; b < s->n_batteries; b++) {
    pg_sim_dev_io in = {.start_ms = (int64_t)t0, .slot_ms = (int64_t)s->slot_ms,
                      .site_net_wh = -surplus, .community_surplus_wh = surplus > 0 ? surplus : 0,
                      .price_per_kwh = slot_price(f, surplus)};
    int64_t net = 0;
    size_t h = f->cb_hh[b];
    int rc = step_one(f->cb[b], &in, &f->tot[h], &f->slots[idx], &net, d);
    if (rc) return pg_fail(d, rc, "[battery %s]: %s", s->batteries[b].id, d->msg);
    hh_wh[h] = net > 0 ? net : 0;
    prod_wh[f->cb_prod[b]] = net < 0 ? -net : 0;
    surplus -= net;
  }
  return PG_OK;
}

const pg_sim_flex_tot *pg_sim_flex_totals(const pg_sim_flex *f) { return f->tot; }

void pg_sim_flex_sum(const pg_sim_flex *f, pg_sim_flex_tot *sum) {
  memset(sum, 0, sizeof *sum);
  for (size_t i = 0; i < f->s->n_households; i++) {
    const pg_sim_flex_tot *t = &f->tot[i];
    sum->load_wh += t->load_wh, sum->pv_wh += t->pv_wh, sum->charged_wh += t->charged_wh;
    sum->discharged_wh += t->discharged_wh, sum->loss_wh += t->loss_wh, sum->ev_wh += t->ev_wh;
    sum->heat_pump_wh += t->heat_pump_wh, sum->exported_wh += t->exported_wh;
    sum->unmet_heat_wh += t->unmet_heat_wh, sum->unmet_ev_wh += t->unmet_ev_wh;
    if (f->s->households[i].kind == PG_SIM_BATTERY)
      sum->cb_charged_wh += t->charged_wh, sum->cb_discharged_wh += t->discharged_wh;
  }
}

static uint32_t ppm(int64_t num, int64_t den) {
  if (den <= 0 || num <= 0) return 0;
  if (num >= den) return 1000000u;
  return (uint32_t)((__int128)num * 1000000 / den);
}

/* The KPIs of a run (sim.h pg_sim_flex_kpis) from its totals and the
 * assets' sums (NULL: none). */
void pg_sim_flex_kpis_of(const pg_sim_result *r, const pg_sim_flex_tot *sum,
                         pg_sim_flex_kpis *k) {
  pg_sim_flex_tot z;
  memset(&z, 0, sizeof z);
  if (!sum) sum = &z;
  memset(k, 0, sizeof *k);
  /* the members' use and the local generation: rooftop PV used behind the
   * meters counts, a community battery's charge and discharge do not (it
   * stores, it neither uses nor generates) */
  int64_t pv_self = sum->pv_wh - sum->exported_wh;
  int64_t use = r->total.demand_wh - sum->cb_charged_wh + pv_self;
  int64_t gen = r->total.supply_wh - sum->cb_discharged_wh + sum->pv_wh;
  k->self_sufficiency_ppm = ppm(use - r->total.import_wh, use);
  k->self_consumption_ppm = ppm(gen - r->total.export_wh - sum->exported_wh, gen);
  k->community_share_ppm = ppm(r->total.community_wh, r->total.demand_wh);
  k->savings = r->consumer_savings + r->producer_savings;
  for (size_t i = 0; i < r->n_slots; i++)
    if (r->slots[i].import_wh > k->peak_import_wh) k->peak_import_wh = r->slots[i].import_wh;
  k->pv_wh = sum->pv_wh, k->exported_wh = sum->exported_wh, k->charged_wh = sum->charged_wh;
  k->discharged_wh = sum->discharged_wh, k->loss_wh = sum->loss_wh;
  k->ev_wh = sum->ev_wh, k->heat_pump_wh = sum->heat_pump_wh;
}
const pg_sim_flex_slot *pg_sim_flex_slots(const pg_sim_flex *f) { return f->slots; }

/* ---- full mode: the pre-pass and the meters that read it ---- */

int pg_sim_flex_readings(const pg_scenario *s, const char *dir, int64_t **out,
                         int64_t **prod_out, pg_sim_flex_tot *sum, pg_diag *d) {
  size_t nh = s->n_households, np = s->n_producers, ns = s->n_sources, n = s->slots;
  *out = NULL;
  if (prod_out) *prod_out = NULL;
  int64_t *r = calloc(nh * n + 1, sizeof *r), *hh = calloc(nh + 1, sizeof *hh);
  int64_t *rp = calloc(np * n + 1, sizeof *rp);
  int64_t *pw = calloc(np + 1, sizeof *pw);
  pg_meter **sm = calloc(ns + 1, sizeof *sm), **hm = calloc(nh + 1, sizeof *hm);
  pg_sim_flex *f = NULL;
  int rc = !r || !rp || !hh || !pw || !sm || !hm ? pg_fail(d, PG_ERR_NOMEM, "out of memory") : PG_OK;
  for (size_t i = 0; !rc && i < ns; i++) rc = pg_sim_source_meter(s, i, &sm[i], d);
  for (size_t i = 0; !rc && i < nh; i++) rc = pg_sim_household_meter(s, i, &hm[i], d);
  if (!rc) rc = pg_sim_flex_new(s, &f, d);
  for (size_t k = 0; !rc && f && k < n; k++) {
    uint64_t a = s->start_ms + k * s->slot_ms, b = a + s->slot_ms;
    memset(pw, 0, (np + 1) * sizeof *pw);
    for (size_t i = 0; !rc && i < ns; i++) {
      int64_t v = 0;
      rc = pg_meter_energy(sm[i], a, b, &v, d);
      if (rc == PG_ERR_UNAVAILABLE) rc = PG_OK, v = 0;
      pw[s->sources[i].producer] += v;
    }
    for (size_t i = 0; !rc && i < nh; i++) {
      rc = pg_meter_energy(hm[i], a, b, &hh[i], d);
      if (rc == PG_ERR_UNAVAILABLE) rc = PG_OK, hh[i] = 0;
    }
    if (!rc) rc = pg_sim_flex_step(f, k, hh, pw, d);
    for (size_t i = 0; !rc && i < nh; i++) r[i * n + k] = hh[i];
    for (size_t j = 0; !rc && j < np; j++) rp[j * n + k] = s->producers[j].battery ? pw[j] : 0;
  }
  if (!rc && f) pg_sim_flex_sum(f, sum);
  if (!rc && f && dir) rc = pg_sim_flex_write(f, dir, d);
  pg_sim_flex_free(f);
  for (size_t i = 0; sm && i < ns; i++) pg_meter_free(sm[i]);
  for (size_t i = 0; hm && i < nh; i++) pg_meter_free(hm[i]);
  free(sm), free(hm), free(hh), free(pw);
  if (rc || !prod_out) free(rp);
  else *prod_out = rp;
  if (rc) free(r);
  else *out = r;
  return rc;
}

/* A meter of fixed per-slot energies: E(t) cumulative, linear within a
 * slot (rounded down), exact on slot boundaries. */
typedef struct series_meter {
  pg_meter base;
  const int64_t *wh; /* borrowed; NULL: zero */
  size_t n;
  uint64_t start_ms, slot_ms;
  int64_t cum[]; /* cum[k]: the sum of the slots before k */
} series_meter;

static int64_t series_cum(const series_meter *m, uint64_t t) {
  if (!m->wh || t <= m->start_ms) return 0;
  uint64_t k = (t - m->start_ms) / m->slot_ms, rem = (t - m->start_ms) % m->slot_ms;
  if (k >= m->n) return m->cum[m->n];
  return m->cum[k] + (int64_t)((__int128)m->wh[k] * (int64_t)rem / (int64_t)m->slot_ms);
}

static int series_energy(pg_meter *base, uint64_t from, uint64_t to, int64_t *wh, pg_diag *d) {
  (void)d;
  const series_meter *m = (const series_meter *)base;
  *wh = series_cum(m, to) - series_cum(m, from);
  return PG_OK;
}

static void series_destroy(pg_meter *m) { free(m); }

static const pg_meter_ops series_ops = {"series", series_energy, series_destroy};

int pg_sim_series_meter_new(const int64_t *wh, size_t n, uint64_t start_ms, uint64_t slot_ms,
                            pg_meter **out, pg_diag *d) {
  series_meter *m = calloc(1, sizeof *m + (n + 1) * sizeof(int64_t));
  if (!m) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  m->base.ops = &series_ops;
  m->wh = wh, m->n = n, m->start_ms = start_ms, m->slot_ms = slot_ms;
  for (size_t i = 0; wh && i < n; i++) m->cum[i + 1] = m->cum[i] + wh[i];
  *out = &m->base;
  return PG_OK;
}

/* ---- outputs ---- */

static FILE *open_csv(const char *dir, const char *name, const char *header, pg_diag *d) {
  char p[1200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *fp = fopen(p, "w");
  if (!fp) {
    pg_fail(d, PG_ERR_IO, "cannot write %s", p);
    return NULL;
  }
  fputs(header, fp);
  return fp;
}

static int close_csv(FILE *fp, const char *name, pg_diag *d) {
  int bad = ferror(fp);
  if (fclose(fp) != 0 || bad) return pg_fail(d, PG_ERR_IO, "cannot write %s", name);
  return PG_OK;
}

int pg_sim_flex_write(const pg_sim_flex *f, const char *dir, pg_diag *d) {
  const pg_scenario *s = f->s;
  FILE *a = open_csv(dir, "assets.csv",
                     "id,kind,pv_wh,charged_wh,discharged_wh,loss_wh,ev_wh,heat_pump_wh,"
                     "exported_wh,unmet_heat_wh,unmet_ev_wh\n",
                     d);
  if (!a) return PG_ERR_IO;
  for (size_t i = 0; i < s->n_households; i++) {
    const pg_sim_household *h = &s->households[i];
    const pg_sim_assets *x = &h->assets;
    if (h->kind != PG_SIM_BATTERY && !has_any(x)) continue;
    const pg_sim_flex_tot *t = &f->tot[i];
    char kind[64];
    snprintf(kind, sizeof kind, "%s%s%s%s", h->kind == PG_SIM_BATTERY ? "community-battery " : "",
             x->pv_kwp > 0 ? "pv " : "", x->battery_kwh > 0 ? "battery " : "",
             x->ev ? (x->heat_pump ? "ev heat-pump" : "ev") : x->heat_pump ? "heat-pump" : "");
    size_t n = strlen(kind);
    if (n && kind[n - 1] == ' ') kind[n - 1] = '\0';
    fprintf(a, "%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld\n", h->id, kind,
            (long long)t->pv_wh, (long long)t->charged_wh, (long long)t->discharged_wh,
            (long long)t->loss_wh, (long long)t->ev_wh, (long long)t->heat_pump_wh,
            (long long)t->exported_wh, (long long)t->unmet_heat_wh, (long long)t->unmet_ev_wh);
  }
  int rc = close_csv(a, "assets.csv", d);
  if (rc) return rc;
  FILE *q = open_csv(dir, "flex_slots.csv",
                     "slot,start,soc_ppm,charged_wh,discharged_wh,pv_wh,ev_wh,heat_pump_wh,"
                     "exported_wh\n",
                     d);
  if (!q) return PG_ERR_IO;
  for (size_t k = 0; k < s->slots; k++) {
    const pg_sim_flex_slot *x = &f->slots[k];
    char iso[32];
    pg_sim_iso(s->start_ms + k * s->slot_ms, iso, sizeof iso);
    unsigned long long soc = x->batteries ? x->soc_sum_ppm / x->batteries : 0;
    fprintf(q, "%llu,%s,%llu,%lld,%lld,%lld,%lld,%lld,%lld\n",
            (unsigned long long)(s->start_ms / s->slot_ms + k), iso, soc,
            (long long)x->charged_wh, (long long)x->discharged_wh, (long long)x->pv_wh,
            (long long)x->ev_wh, (long long)x->heat_pump_wh, (long long)x->exported_wh);
  }
  return close_csv(q, "flex_slots.csv", d);
}

/* ---- the baseline scenario ---- */

int pg_sim_scenario_without_assets(const pg_scenario *s, pg_scenario *out, pg_diag *d) {
  *out = *s;
  out->batteries = NULL, out->n_batteries = 0;
  out->producers = calloc(s->n_producers + 1, sizeof *out->producers);
  out->households = calloc(s->n_households + 1, sizeof *out->households);
  out->sources = calloc(s->n_sources + 1, sizeof *out->sources);
  if (!out->producers || !out->households || !out->sources) {
    pg_scenario_free(out);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  size_t *map = calloc(s->n_producers + 1, sizeof *map);
  if (!map) {
    pg_scenario_free(out);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  out->n_producers = out->n_households = 0;
  for (size_t j = 0; j < s->n_producers; j++) {
    map[j] = out->n_producers;
    if (!s->producers[j].battery) out->producers[out->n_producers++] = s->producers[j];
  }
  for (size_t i = 0; i < s->n_sources; i++) {
    out->sources[i] = s->sources[i];
    out->sources[i].producer = map[s->sources[i].producer];
  }
  for (size_t i = 0; i < s->n_households; i++) {
    if (s->households[i].kind == PG_SIM_BATTERY) continue;
    pg_sim_household *h = &out->households[out->n_households++];
    *h = s->households[i];
    h->assets.battery_kwh = 0, h->assets.ev = false, h->assets.heat_pump = false;
  }
  free(map);
  return PG_OK;
}
