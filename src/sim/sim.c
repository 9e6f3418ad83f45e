/* The simulator run: market-only and full (sim.h). */
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p2pgrid/base/db.h"
#include "p2pgrid/base/par.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/meter/meter_profile.h"
#include "p2pgrid/profile/profile.h"
#include "p2pgrid/sim/sim.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/tangle/tangle.h"
#include "sim_internal.h"

#define MI 1000000ULL

void pg_sim_result_free(pg_sim_result *r) {
  if (!r) return;
  free(r->slots);
  free(r->parties);
  memset(r, 0, sizeof *r);
}

/* ---- meters ---- */

int pg_sim_source_meter(const pg_scenario *s, size_t i, pg_meter **out, pg_diag *d) {
  const pg_sim_source *q = &s->sources[i];
  switch (q->kind) {
  case PG_SIM_SOLAR: return pg_meter_solar_new(&q->solar, q->seed, out, d);
  case PG_SIM_WIND: return pg_meter_wind_new(&q->wind, q->seed, out, d);
  default: return pg_meter_profile_from_config(s->cfg, q->section, q->kind_name, q->seed, out, d);
  }
}

int pg_sim_household_meter(const pg_scenario *s, size_t i, pg_meter **out, pg_diag *d) {
  const pg_sim_household *h = &s->households[i];
  switch (h->kind) {
  case PG_SIM_HOUSEHOLD: return pg_meter_household_new(&h->params, h->seed, out, d);
  case PG_SIM_WATER: return pg_meter_water_use_new(&h->water, h->seed, out, d);
  case PG_SIM_HEAT: return pg_meter_heat_use_new(&h->heat, h->seed, out, d);
  case PG_SIM_BATTERY: return pg_sim_series_meter_new(NULL, 0, 0, 1, out, d); /* stepped */
  default: break;
  }
  return pg_meter_profile_from_config(s->cfg, h->section, h->kind_name, h->seed, out, d);
}

const char *pg_sim_producer_kind(const pg_scenario *s, size_t j) {
  const char *k = NULL;
  if (s->producers[j].battery) return "battery";
  for (size_t i = 0; i < s->n_sources; i++) {
    if (s->sources[i].producer != j) continue;
    if (!k) k = s->sources[i].kind_name;
    else if (strcmp(k, s->sources[i].kind_name) != 0) return "mixed";
  }
  return k ? k : "mixed";
}

/* ---- shared bookkeeping: settle a slot's readings, accumulate ---- */

int pg_sim_acc_init(pg_sim_acc *a, const pg_scenario *s, pg_sim_result *r, pg_diag *d) {
  memset(a, 0, sizeof *a);
  a->s = s;
  a->r = r;
  size_t np = s->n_producers, nc = s->n_households;
  r->n_parties = np + nc;
  r->parties = calloc(np + nc + 1, sizeof *r->parties);
  r->slots = calloc(s->slots + 1, sizeof *r->slots);
  a->mp = calloc(np + 1, sizeof *a->mp);
  a->mc = calloc(nc + 1, sizeof *a->mc);
  if (!r->parties || !r->slots || !a->mp || !a->mc || pg_market_ws_new(&a->ws, d) != PG_OK ||
      pg_market_ws_reserve(a->ws, nc, np, d) != PG_OK ||
      pg_market_kpis_init(&a->k, nc, np) != PG_OK) {
    pg_sim_acc_free(a);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  a->kpis_ok = true;
  for (size_t j = 0; j < np; j++) {
    pg_sim_party *p = &r->parties[j];
    snprintf(p->id, sizeof p->id, "%s", s->producers[j].id);
    snprintf(p->name, sizeof p->name, "%s", s->producers[j].name);
    p->producer = true;
    snprintf(p->kind, sizeof p->kind, "%s", pg_sim_producer_kind(s, j));
    a->mp[j] = (pg_market_producer){.id = s->producers[j].id, .has_ask = s->producers[j].has_ask,
                                    .ask_per_kwh = s->producers[j].ask};
  }
  for (size_t i = 0; i < nc; i++) {
    pg_sim_party *p = &r->parties[np + i];
    snprintf(p->id, sizeof p->id, "%s", s->households[i].id);
    snprintf(p->name, sizeof p->name, "%s", s->households[i].name);
    snprintf(p->kind, sizeof p->kind, "%s", s->households[i].kind_name);
    a->mc[i] = (pg_market_consumer){.id = s->households[i].id, .has_bid = s->households[i].has_bid,
                                    .bid_per_kwh = s->households[i].bid,
                                    .key_ppm = s->households[i].key_ppm,
                                    .group = s->households[i].group};
  }
  return PG_OK;
}

void pg_sim_acc_free(pg_sim_acc *a) {
  if (a->kpis_ok) pg_market_kpis_free(&a->k);
  pg_market_ws_free(a->ws);
  free(a->mp);
  free(a->mc);
  a->mp = NULL, a->mc = NULL, a->ws = NULL, a->kpis_ok = false;
}

/* Settles slot index idx with the energies/prices now in a->mp/a->mc. */
int pg_sim_acc_settle(pg_sim_acc *a, size_t idx, pg_market_result *res, pg_diag *d) {
  const pg_scenario *s = a->s;
  pg_market_slot slot = {.producers = a->mp, .n_producers = s->n_producers,
                         .consumers = a->mc, .n_consumers = s->n_households,
                         .import_price = s->import_price, .export_price = s->export_price,
                         .fee_per_kwh = s->fee_per_kwh, .fee_bp = s->fee_bp,
                         .fixed_buy_price = s->fixed_buy_price,
                         .fixed_sell_price = s->fixed_sell_price,
                         .community_price = s->community_price,
                         .group_rules = s->group_rules, .n_group_rules = s->n_group_rules};
  int rc = pg_market_ws_settle(a->ws, &slot, s->mech, res, d);
  if (rc) return rc;
  rc = pg_market_kpis_add(&a->k, res);
  if (rc) return pg_fail(d, rc, "KPIs: a run sum overflows");
  pg_sim_slot *o = &a->r->slots[idx];
  o->slot = s->start_ms / s->slot_ms + idx;
  o->supply_wh = res->supply_wh, o->demand_wh = res->demand_wh;
  o->community_wh = res->matched_wh, o->import_wh = res->import_wh, o->export_wh = res->export_wh;
  o->billed = res->consumer_payments, o->producer_revenues = res->producer_revenues;
  o->fees = res->fees, o->grid_income = res->grid_income;
  o->import_cost = res->utility_import_cost, o->export_income = res->utility_export_income;
  o->has_price = res->has_price, o->buy_price = res->buy_price, o->sell_price = res->sell_price;
  size_t np = s->n_producers;
  for (size_t j = 0; j < np; j++) {
    pg_sim_party *p = &a->r->parties[j];
    if (!(a->missing && a->missing[j]))
      pg_sim_out_party_slot(a->out, o->slot, p->id, true, a->mp[j].output_wh, &res->producers[j]);
    p->energy_wh += a->mp[j].output_wh;
    p->community_wh += res->producers[j].community_wh;
    p->amount += res->producers[j].total;
    p->baseline += res->producers[j].baseline;
    p->savings += res->producers[j].savings;
  }
  for (size_t i = 0; i < s->n_households; i++) {
    pg_sim_party *p = &a->r->parties[np + i];
    if (!(a->missing && a->missing[np + i]))
      pg_sim_out_party_slot(a->out, o->slot, p->id, false, a->mc[i].usage_wh,
                            &res->consumers[i]);
    p->energy_wh += a->mc[i].usage_wh;
    p->community_wh += res->consumers[i].community_wh;
    p->amount += res->consumers[i].total;
    p->baseline += res->consumers[i].baseline;
    p->savings += res->consumers[i].savings;
  }
  a->r->n_slots = idx + 1;
  return PG_OK;
}

void pg_sim_acc_finish(pg_sim_acc *a) {
  pg_sim_result *r = a->r;
  memset(&r->total, 0, sizeof r->total);
  for (size_t i = 0; i < r->n_slots; i++) {
    const pg_sim_slot *o = &r->slots[i];
    r->total.supply_wh += o->supply_wh, r->total.demand_wh += o->demand_wh;
    r->total.community_wh += o->community_wh, r->total.import_wh += o->import_wh;
    r->total.export_wh += o->export_wh, r->total.billed += o->billed;
    r->total.producer_revenues += o->producer_revenues, r->total.fees += o->fees;
    r->total.grid_income += o->grid_income, r->total.import_cost += o->import_cost;
    r->total.export_income += o->export_income;
  }
  r->total.slot = r->n_slots;
  r->consumer_savings = r->producer_savings = 0;
  for (size_t i = 0; i < r->n_parties; i++) {
    if (r->parties[i].producer) r->producer_savings += r->parties[i].savings;
    else r->consumer_savings += r->parties[i].savings;
  }
  uint32_t g = 0;
  if (pg_market_kpis_gini_ppm(&a->k, &g) == PG_OK) r->gini_ppm = g;
}

/* ---- market-only ---- */

/* A chunk of slots' meter energies, e[meter][slot of the chunk]. Household,
 * solar and wind models are evaluated a run of UTC days at a time
 * (profile.h "whole UTC days"), through the same integral as their meters
 * (pg_energy_integ: the same Wh, bit for bit); any other meter slot by slot.
 * Meters are handed out one at a time to the threads; each meter's
 * energies depend on nothing else, so any thread count gives the same. */
typedef struct echunk {
  const pg_scenario *s;
  pg_meter **meters;
  size_t nm, nslots;
  uint64_t from_ms, slot_ms;
  int64_t day0;
  size_t ndays;
  const pg_local_days *cal; /* [ncal] calendars of the households' zones */
  size_t ncal;
  const pg_sun_days *sun;   /* [nsun] sun tables of the solar sites */
  size_t nsun;
  int64_t *e;               /* [meter][nslots] */
} echunk;

/* One thread's scratch (pg_par_for's worker number picks it). */
typedef struct eworker {
  echunk *c;
  double *w;                /* [ndays x 1440] samples of the meter at hand */
  double *cum;              /* [ndays x 1441] their cumulative curves */
  pg_household_work *hw;
  pg_diag d;
} eworker;

static bool tz_eq(pg_tz a, pg_tz b) {
  return a.utc_offset_min == b.utc_offset_min && a.eu_dst == b.eu_dst && a.zone == b.zone;
}

static int done(int rc) { return rc ? rc : 1; }

/* Meter m's samples over the chunk's days into x->w: 1 done, 0 not a
 * model with a days function (meter slot by slot), else an error. */
static int model_days(eworker *x, size_t m) {
  const echunk *c = x->c;
  const pg_scenario *s = c->s;
  size_t nsrc = s->n_sources;
  if (m < nsrc) {
    const pg_sim_source *q = &s->sources[m];
    if (q->kind == PG_SIM_WIND)
      return done(pg_wind_days_w(&q->wind, q->seed, c->day0, c->ndays, x->w, &x->d));
    if (q->kind != PG_SIM_SOLAR) return 0;
    for (size_t k = 0; k < c->nsun; k++)
      if (c->sun[k].lat_deg == q->solar.lat_deg && c->sun[k].lon_deg == q->solar.lon_deg)
        return done(pg_solar_days_w(&q->solar, q->seed, &c->sun[k], x->w, &x->d));
    return 0;
  }
  const pg_sim_household *h = &s->households[m - nsrc];
  if (h->kind != PG_SIM_HOUSEHOLD) return 0;
  for (size_t k = 0; k < c->ncal; k++) {
    if (!tz_eq(c->cal[k].tz, h->params.tz)) continue;
    pg_household model;
    int rc = pg_household_init(&model, &h->params, &x->d);
    if (!rc && !x->hw) rc = pg_household_work_new(&x->hw, &x->d);
    if (!rc) rc = pg_household_days_w(&model, h->seed, &c->cal[k], x->hw, x->w, &x->d);
    return done(rc);
  }
  return 0;
}

static int meter_chunk(eworker *x, size_t m) {
  echunk *c = x->c;
  int64_t *e = c->e + m * c->nslots;
  int rc = model_days(x, m);
  if (rc != 0 && rc != 1) return rc;
  if (rc == 1) {
    rc = pg_energy_windows_wh(x->w, c->day0, c->ndays, (int64_t)c->from_ms, (int64_t)c->slot_ms,
                              c->nslots, x->cum, e, &x->d);
    for (size_t k = 0; !rc && k < c->nslots; k++)
      if (e[k] < 0) rc = pg_fail(&x->d, PG_ERR_INVALID, "a model gave a negative energy");
    return rc;
  }
  for (size_t k = 0; k < c->nslots; k++) {
    uint64_t a = c->from_ms + k * c->slot_ms;
    rc = pg_meter_energy(c->meters[m], a, a + c->slot_ms, &e[k], &x->d);
    if (rc == PG_ERR_UNAVAILABLE) { /* no reading for this slot: settled as 0, counted */
      e[k] = -1;
      continue;
    }
    if (rc) return rc;
  }
  return PG_OK;
}

/* pg_par_for's function: meter m with worker's scratch. */
static int energy_one(void *ctx, unsigned worker, size_t m, pg_diag *d) {
  eworker *x = &((eworker *)ctx)[worker];
  int rc = meter_chunk(x, m);
  if (rc) *d = x->d;
  return rc;
}

/* The shared tables of a chunk: one calendar per zone of the households,
 * one sun table per site of the solar sources. */
typedef struct etables {
  pg_local_days *cal;
  pg_sun_days *sun;
  size_t ncal, nsun;
} etables;

static void etables_free(etables *t) {
  for (size_t k = 0; k < t->ncal; k++) pg_local_days_free(&t->cal[k]);
  for (size_t k = 0; k < t->nsun; k++) pg_sun_days_free(&t->sun[k]);
  free(t->cal);
  free(t->sun);
  memset(t, 0, sizeof *t);
}

static int etables_make(const pg_scenario *s, int64_t day0, size_t ndays, etables *t,
                        pg_diag *d) {
  memset(t, 0, sizeof *t);
  t->cal = calloc(s->n_households + 1, sizeof *t->cal);
  t->sun = calloc(s->n_sources + 1, sizeof *t->sun);
  if (!t->cal || !t->sun) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < s->n_households; i++) {
    const pg_sim_household *h = &s->households[i];
    size_t k = 0;
    while (k < t->ncal && !tz_eq(t->cal[k].tz, h->params.tz)) k++;
    if (h->kind != PG_SIM_HOUSEHOLD || k < t->ncal || t->ncal >= 8) continue;
    int rc = pg_local_days_init(&t->cal[k], h->params.tz, day0, ndays, d);
    if (rc) return rc;
    t->ncal++;
  }
  for (size_t i = 0; i < s->n_sources; i++) {
    const pg_solar_params *q = &s->sources[i].solar;
    size_t k = 0;
    while (k < t->nsun && !(t->sun[k].lat_deg == q->lat_deg && t->sun[k].lon_deg == q->lon_deg)) k++;
    if (s->sources[i].kind != PG_SIM_SOLAR || k < t->nsun || t->nsun >= 8) continue;
    int rc = pg_sun_days_init(&t->sun[k], q->lat_deg, q->lon_deg, day0, ndays, d);
    if (rc) return rc;
    t->nsun++;
  }
  return PG_OK;
}

static int64_t floor_day(uint64_t t_ms) { return (int64_t)(t_ms / 86400000u); }

/* Fills e[meter][k] for slots base .. base + n - 1 on nthreads threads. */
static int energy_chunk(const pg_scenario *s, pg_meter **meters, size_t nm, size_t base,
                        size_t n, int64_t *e, size_t nthreads, pg_diag *d) {
  uint64_t a = s->start_ms + base * s->slot_ms, b = a + n * s->slot_ms;
  echunk c = {.s = s, .meters = meters, .nm = nm, .nslots = n, .from_ms = a,
              .slot_ms = s->slot_ms, .day0 = floor_day(a), .e = e};
  c.ndays = (size_t)(floor_day(b - 1) - c.day0 + 1);
  etables t;
  int rc = etables_make(s, c.day0, c.ndays, &t, d);
  eworker *x = calloc(nthreads, sizeof *x);
  if (!rc && !x) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t k = 0; !rc && k < nthreads; k++) {
    x[k].c = &c;
    x[k].w = malloc(c.ndays * PG_DAY_MINUTES * sizeof *x[k].w);
    x[k].cum = malloc(c.ndays * (PG_DAY_MINUTES + 1) * sizeof *x[k].cum);
    if (!x[k].w || !x[k].cum) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  if (!rc) {
    c.cal = t.cal, c.ncal = t.ncal, c.sun = t.sun, c.nsun = t.nsun;
    rc = pg_par_for(nm, (unsigned)nthreads, energy_one, x, d);
  }
  for (size_t k = 0; x && k < nthreads; k++) {
    free(x[k].w);
    free(x[k].cum);
    pg_household_work_free(x[k].hw);
  }
  free(x);
  etables_free(&t);
  return rc;
}

size_t pg_sim_chunk_entries = 8000000;

/* Threads of a run: o->threads, else the online cores; 1 for small runs. */
_Static_assert(PG_SIM_THREADS_MAX <= PG_PAR_THREADS_MAX,
               "pg_par_for runs every thread the simulator may be given");

size_t pg_sim_threads(const pg_sim_opts *o, size_t nmeters) {
  size_t n = o->threads;
  if (n == 0) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    n = ncpu > 1 ? (size_t)ncpu : 1;
    if (nmeters < 64) n = 1;
  }
  if (n > PG_SIM_THREADS_MAX) n = PG_SIM_THREADS_MAX;
  return n;
}

/* Meter i: sources, then households (creating a household meter
 * precomputes its yearly normalisation: worth spreading over the cores). */
typedef struct mmake {
  const pg_scenario *s;
  pg_meter **meters;
} mmake;

static int make_meter(void *ctx, unsigned worker, size_t i, pg_diag *d) {
  (void)worker;
  const mmake *m = ctx;
  size_t nsrc = m->s->n_sources;
  return i < nsrc ? pg_sim_source_meter(m->s, i, &m->meters[i], d)
                  : pg_sim_household_meter(m->s, i - nsrc, &m->meters[i], d);
}

static int make_meters(const pg_scenario *s, pg_meter **meters, size_t nthreads, pg_diag *d) {
  mmake m = {s, meters};
  return pg_par_for(s->n_sources + s->n_households, (unsigned)nthreads, make_meter, &m, d);
}

/* The settling side of market-only: per slot, the meters' energies into
 * the market, the assets stepped, the outputs written. */
typedef struct msettle {
  const pg_scenario *s;
  const pg_sim_opts *o;
  pg_sim_result *r;
  pg_sim_out *out;
  pg_sim_acc a;
  pg_sim_flex *flex;
  int64_t *net, *hw, *pw;
  bool *missing;
  size_t bal_every;
  uint64_t t0;
} msettle;

static int settle_slot(msettle *m, const int64_t *e, size_t n, size_t base, size_t k, pg_diag *d) {
  const pg_scenario *s = m->s;
  pg_sim_result *r = m->r;
  size_t nsrc = s->n_sources, nh = s->n_households, np = s->n_producers;
  int rc;
  if (pg_sim_stopped(m->o)) return pg_fail(d, PG_ERR_CANCELLED, "interrupted");
  memset(m->missing, 0, (np + nh + 1) * sizeof *m->missing);
  memset(m->pw, 0, (np + 1) * sizeof *m->pw);
  for (size_t i = 0; i < nsrc; i++) {
    int64_t v = e[i * n + k];
    if (v < 0) m->missing[s->sources[i].producer] = true, r->missing_readings++;
    else m->pw[s->sources[i].producer] += v;
  }
  for (size_t i = 0; i < nh; i++) {
    m->hw[i] = e[(nsrc + i) * n + k];
    if (m->hw[i] < 0) m->missing[np + i] = true, r->missing_readings++, m->hw[i] = 0;
  }
  /* the assets behind the meters, in id order (sim.h ASSETS) */
  if (m->flex && (rc = pg_sim_flex_step(m->flex, base + k, m->hw, m->pw, d))) return rc;
  for (size_t j = 0; j < np; j++) m->a.mp[j].output_wh = m->pw[j];
  for (size_t i = 0; i < nh; i++) {
    int64_t wh = m->hw[i];
    int64_t part = wh;
    uint8_t pct = s->households[i].participation;
    if (pct < 100 && (rc = pg_market_participation_split(wh, &pct, 1, &part, d))) return rc;
    m->a.mc[i].usage_wh = part; /* the slice of its meter in this community */
    r->parties[np + i].outside_wh += wh - part;
  }
  pg_market_result res;
  size_t idx = base + k;
  if ((rc = pg_sim_acc_settle(&m->a, idx, &res, d))) return rc;
  for (size_t j = 0; j < np; j++) m->net[j] += res.producers[j].total;
  for (size_t i = 0; i < nh; i++) m->net[np + i] -= res.consumers[i].total;
  if (m->out && ((idx + 1) % m->bal_every == 0 || idx + 1 == s->slots))
    for (size_t p = 0; p < r->n_parties; p++)
      pg_sim_out_balance(m->out, r->slots[idx].slot, r->parties[p].id, m->net[p]);
  if (m->o->progress && ((idx + 1) % 96 == 0 || idx + 1 == s->slots)) {
    pg_sim_progress pr = {.done = idx + 1, .total = s->slots,
                          .sim_ms = s->start_ms + (idx + 1) * s->slot_ms,
                          .wall_ms = pg_monotonic_ms() - m->t0};
    m->o->progress(m->o->progress_ctx, &pr);
  }
  return PG_OK;
}

/* The next chunk's energies, computed while this one settles. */
typedef struct ejob {
  const pg_scenario *s;
  pg_meter **meters;
  size_t nm, base, n, nthreads;
  int64_t *e;
  int rc;
  pg_diag d;
} ejob;

static void *ejob_run(void *arg) {
  ejob *j = arg;
  j->rc = energy_chunk(j->s, j->meters, j->nm, j->base, j->n, j->e, j->nthreads, &j->d);
  return NULL;
}

/* Every chunk: its energies (made while the chunk before settles, when
 * there are threads to spare), then its slots settled in order. */
static int chunks_run(msettle *m, pg_meter **meters, size_t nm, size_t nthreads, pg_diag *d) {
  const pg_scenario *s = m->s;
  bool pipe = nthreads > 1;
  size_t chunk = pg_sim_chunk_entries / (pipe ? 2 : 1) / (nm + 1);
  if (chunk < 1) chunk = 1;
  if (chunk > s->slots) chunk = s->slots ? s->slots : 1;
  int64_t *eb[2] = {calloc((nm + 1) * chunk, sizeof(int64_t)),
                    pipe ? calloc((nm + 1) * chunk, sizeof(int64_t)) : NULL};
  int rc = PG_OK;
  if (!eb[0] || (pipe && !eb[1])) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t n0 = s->slots < chunk ? s->slots : chunk;
  if (!rc && s->slots) rc = energy_chunk(s, meters, nm, 0, n0, eb[0], nthreads, d);
  for (size_t base = 0, cur = 0; !rc && base < s->slots; base += chunk) {
    size_t n = s->slots - base < chunk ? s->slots - base : chunk, nb = base + n;
    size_t nn = s->slots - nb < chunk ? s->slots - nb : chunk;
    ejob j = {.s = s, .meters = meters, .nm = nm, .base = nb, .n = nn, .nthreads = nthreads,
              .e = eb[pipe ? 1 - cur : 0]};
    pthread_t th;
    bool bg = pipe && nb < s->slots && pthread_create(&th, NULL, ejob_run, &j) == 0;
    for (size_t k = 0; !rc && k < n; k++) rc = settle_slot(m, eb[cur], n, base, k, d);
    if (bg) pthread_join(th, NULL);
    else if (!rc && nb < s->slots) ejob_run(&j);
    if (!rc && nb < s->slots && j.rc) rc = pg_fail(d, j.rc, "%s", j.d.msg);
    if (pipe) cur = 1 - cur;
  }
  free(eb[0]);
  free(eb[1]);
  return rc;
}

static int run_market_only(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *r,
                           pg_sim_out *out, pg_diag *d) {
  size_t nh = s->n_households, nm = s->n_sources + nh;
  pg_meter **meters = calloc(nm + 1, sizeof *meters);
  msettle m = {.s = s, .o = o, .r = r, .out = out};
  m.net = calloc(nh + s->n_producers + 1, sizeof *m.net);
  m.missing = calloc(nh + s->n_producers + 1, sizeof *m.missing);
  m.hw = calloc(nh + 1, sizeof *m.hw), m.pw = calloc(s->n_producers + 1, sizeof *m.pw);
  int rc = PG_OK;
  bool acc = false;
  if (!meters || !m.net || !m.missing || !m.hw || !m.pw) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    goto out;
  }
  size_t nthreads = pg_sim_threads(o, nm);
  if ((rc = make_meters(s, meters, nthreads, d))) goto out;
  if ((rc = pg_sim_flex_new(s, &m.flex, d))) goto out;
  if ((rc = pg_sim_acc_init(&m.a, s, r, d))) goto out;
  acc = true;
  m.a.out = out;
  m.a.missing = m.missing;
  m.bal_every = pg_sim_balance_every(s);
  m.t0 = pg_monotonic_ms();
  if ((rc = chunks_run(&m, meters, nm, nthreads, d))) goto out;
  pg_sim_acc_finish(&m.a);
  r->paid = r->total.billed;
  for (size_t p = 0; p < r->n_parties; p++) r->parties[p].paid = r->parties[p].amount;
  if (m.flex) {
    pg_sim_flex_tot sum;
    pg_sim_flex_sum(m.flex, &sum);
    r->has_flex = true;
    pg_sim_flex_kpis_of(r, &sum, &r->flex);
    if (out) rc = pg_sim_flex_write(m.flex, o->out_dir, d);
  }
out:
  pg_sim_flex_free(m.flex);
  free(m.hw);
  free(m.pw);
  if (acc) pg_sim_acc_free(&m.a);
  for (size_t i = 0; meters && i < nm; i++) pg_meter_free(meters[i]);
  free(meters);
  free(m.net);
  free(m.missing);
  return rc;
}

size_t pg_sim_balance_every(const pg_scenario *s) {
  size_t parts = s->n_producers + s->n_households + 1;
  size_t rows = s->slots * parts;
  size_t k = rows / 200000 + 1;
  return k;
}

/* The same scenario without batteries, EVs and heat pumps (market-only, no
 * files): the "without" side of the flexibility KPIs. */
static int run_without(const pg_scenario *s, size_t threads, pg_sim_result *r, pg_diag *d) {
  pg_scenario w;
  int rc = pg_sim_scenario_without_assets(s, &w, d);
  if (rc) return rc;
  pg_sim_opts o = {.mode = PG_SIM_MARKET_ONLY, .threads = threads};
  pg_sim_result b;
  memset(&b, 0, sizeof b);
  rc = run_market_only(&w, &o, &b, NULL, d);
  if (!rc) {
    if (b.has_flex) r->without = b.flex;
    else pg_sim_flex_kpis_of(&b, NULL, &r->without);
    r->has_without = true;
  }
  pg_sim_result_free(&b);
  pg_scenario_free(&w);
  return rc;
}

/* ---- entry ---- */

bool pg_sim_stopped(const pg_sim_opts *o) { return o->stop && *o->stop; }

/* The run with its files in o->out_dir (the temporary directory). */
static int run_into(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *r, pg_diag *d) {
  memset(r, 0, sizeof *r);
  uint64_t t0 = pg_monotonic_ms();
  pg_sim_mode mode = o->mode != PG_SIM_AUTO ? o->mode : pg_scenario_mode(s);
  r->mode = mode;
  int rc = PG_OK;
  pg_sim_out out, *outp = NULL;
  if (o->write_files) {
    bool party_slots = (uint64_t)s->slots * (s->n_producers + s->n_households) <=
                       PG_SIM_PARTY_SLOT_ROWS_MAX;
    if ((rc = pg_sim_out_open(&out, o->out_dir, s->slot_ms, party_slots, d))) return rc;
    outp = &out;
  }
  if (mode == PG_SIM_FULL) rc = pg_sim_run_full(s, o, r, outp, d);
  else rc = run_market_only(s, o, r, outp, d);
  if (!rc && mode == PG_SIM_MARKET_ONLY && pg_scenario_has_assets(s)) rc = run_without(s, o->threads, r, d);
  r->wall_ms = pg_monotonic_ms() - t0;
  if (outp) {
    int rc2 = pg_sim_out_close(outp, rc == PG_OK, rc ? NULL : d);
    if (!rc) rc = rc2;
  }
  if (!rc && o->write_files) rc = pg_sim_write_summary(s, r, o->out_dir, d);
  if (!rc && o->write_files && o->write_report && pg_sim_report_available())
    rc = pg_sim_report(o->out_dir, d);
  if (rc) pg_sim_result_free(r);
  return rc;
}

int pg_sim_run(const pg_scenario *s, const pg_sim_opts *o, pg_sim_result *r, pg_diag *d) {
  memset(r, 0, sizeof *r);
  if (!o->out_dir) return pg_fail(d, PG_ERR_INVALID, "no output directory");
  char work[1100];
  int rc = pg_sim_work_dir(o->out_dir, work, sizeof work, d);
  if (rc) return rc;
  pg_sim_opts wo = *o;
  wo.out_dir = work;
  rc = run_into(s, &wo, r, d);
  if (!rc && pg_sim_stopped(o)) { /* a signal after the last slot: still not finished */
    pg_sim_result_free(r);
    rc = pg_fail(d, PG_ERR_CANCELLED, "interrupted");
  }
  if (!rc) rc = pg_sim_publish(work, o->out_dir, d);
  else pg_remove_tree(work);
  if (rc) pg_sim_result_free(r);
  return rc;
}
