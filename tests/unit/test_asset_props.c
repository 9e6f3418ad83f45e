/* Property tests of the assets (asset.h) over random profiles: for every
 * asset and every strategy, episodes of random parameters over 6000 slots
 * (20000 slots; half of uniform length, half of random length 5 min..1 h) with random
 * site net, community surplus, prices, temperatures and heat demand:
 * - conservation to the Wh every slot (asset.h CONSERVATION);
 * - limits: power x slot length, SoC band / store / comfort band when
 *   possible, never charge and discharge in one slot, rounding never
 *   creating energy;
 * - strategies: what each may use (own or community surplus, prices);
 * - the cases are reached (not vacuous): counted per run;
 * - EV: every session's need is delivered or reported unmet, and with
 *   uniform slots exactly what max power could not deliver is unmet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/asset/asset.h"

#define EPISODES 40
#define EPISODE_SLOTS 500 /* 40 x 500 = 20000 slots per asset and strategy */
#define HOUR 3600000
#define MAX_SESSIONS 1024

#define TU_RNG_SEED 0x5eed0a55e7c0ffeeull
#include "test_util_rng.h"

__extension__ typedef unsigned __int128 u128;

static int64_t range(int64_t lo, int64_t hi) { return lo + (int64_t)below((uint64_t)(hi - lo + 1)); }
static int64_t energy(int64_t w, int64_t ms) { return (int64_t)((u128)w * (u128)ms / HOUR); }
static int64_t pfloor(int64_t wh, uint64_t ppm) { return (int64_t)((u128)wh * ppm / 1000000); }
static int64_t pceil(int64_t wh, uint64_t ppm) {
  return (int64_t)(((u128)wh * ppm + 999999) / 1000000);
}
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* the episode's slots: uniform or random lengths, 5 min .. 1 h */
typedef struct {
  int64_t start[EPISODE_SLOTS], len[EPISODE_SLOTS], end;
  bool uniform;
} timeline;

static void gen_timeline(timeline *t, bool uniform) {
  int64_t fixed = range(300000, HOUR), at = range(-HOUR, HOUR) * 1000;
  t->uniform = uniform;
  for (int i = 0; i < EPISODE_SLOTS; i++) {
    t->start[i] = at;
    t->len[i] = uniform ? fixed : range(300000, HOUR);
    at += t->len[i];
  }
  t->end = at;
}

static void gen_in(pg_asset_in *in, const timeline *t, int i) {
  memset(in, 0, sizeof *in);
  in->start_ms = t->start[i], in->slot_ms = t->len[i];
  int64_t scale = below(10) == 0 ? 10 : below(20) == 0 ? PG_ASSET_MAX_WH : 20000;
  in->site_net_wh = below(8) == 0 ? 0 : range(-scale, scale);
  in->community_surplus_wh = below(3) == 0 ? 0 : range(0, scale);
  in->price_per_kwh = (uint64_t)range(0, 500);
  in->t_out_c = (double)range(-2500, 3500) / 100.0;
  in->heat_demand_wh = below(6) == 0 ? 0 : range(0, energy(9000, in->slot_ms));
}

/* how often the interesting cases happened in a run */
static struct { long charge, discharge, full, empty, unmet, must; } seen;

static void step_ok(pg_asset *a, const pg_asset_in *in, pg_asset_out *o) {
  pg_diag d = {{0}};
  if (pg_asset_step(a, in, o, &d)) fail_msg("step: %s", d.msg);
}

/* one kind under test: its init for an episode (a random asset), the checks
 * of one slot and, optionally, of the finished episode */
typedef struct {
  int (*init)(pg_asset *a, pg_asset_strategy s, const timeline *t, pg_diag *d);
  void (*slot)(pg_asset *a, const pg_asset_in *in);
  void (*done)(const pg_asset *a, const timeline *t);
} kind_tests;

static void run_episodes(const kind_tests *k, pg_asset_strategy s) {
  timeline t;
  memset(&seen, 0, sizeof seen);
  for (int e = 0; e < EPISODES; e++) {
    gen_timeline(&t, e % 2 == 0);
    pg_asset a;
    pg_diag d = {{0}};
    if (k->init(&a, s, &t, &d)) { /* a band with no whole Wh: draw again */
      assert_non_null(strstr(d.msg, "no whole Wh"));
      e--;
      continue;
    }
    pg_asset_thresholds((uint64_t)range(0, 500), (uint64_t)range(0, 500), &a.charge_below,
                        &a.discharge_above);
    for (int i = 0; i < EPISODE_SLOTS; i++) {
      pg_asset_in in;
      gen_in(&in, &t, i);
      k->slot(&a, &in);
    }
    if (k->done) k->done(&a, &t);
    pg_asset_free(&a);
  }
}

/* ---- battery ---- */

static void battery_params(pg_battery_params *p) {
  pg_battery_params_default(p);
  p->capacity_wh = below(10) == 0 ? range(1, 50) : range(1, 100000);
  p->max_charge_w = range(1, 20000);
  p->max_discharge_w = range(1, 20000);
  p->eta_charge_ppm = (uint32_t)range(500000, 1000000);
  p->eta_discharge_ppm = (uint32_t)range(500000, 1000000);
  p->soc_min_ppm = (uint32_t)range(0, 500000);
  p->soc_max_ppm = (uint32_t)range(p->soc_min_ppm + 1, 1000000);
  p->soc_initial_ppm = (uint32_t)range(p->soc_min_ppm, p->soc_max_ppm);
  p->min_spread = (uint64_t)range(0, 200);
}

static void battery_strategy(const pg_asset *a, const pg_asset_in *in, const pg_asset_out *o,
                             int64_t hi) {
  const pg_battery_params *p = &a->p.battery;
  int64_t maxc = energy(p->max_charge_w, in->slot_ms), c = o->charge_wh, x = o->discharge_wh;
  int64_t own = max64(-in->site_net_wh, 0), imp = max64(in->site_net_wh, 0), want = 0;
  if (a->strategy == PG_ASSET_SELF_CONSUMPTION) {
    assert_true(c <= own && x <= imp);
    want = own;
  } else if (a->strategy == PG_ASSET_SURPLUS_FOLLOWING) {
    assert_true(c <= in->community_surplus_wh && x <= imp);
    if (x) assert_int_equal(in->community_surplus_wh, 0);
    want = in->community_surplus_wh;
  } else {
    bool spread = a->discharge_above - a->charge_below >= p->min_spread;
    if (c) assert_true(spread && in->price_per_kwh <= a->charge_below);
    if (x) assert_true(spread && in->price_per_kwh >= a->discharge_above);
    want = spread && in->price_per_kwh <= a->charge_below ? maxc : 0;
  }
  if (c < want && c < maxc) assert_int_equal(o->stored_wh, hi); /* took all it could */
}

static void battery_slot(pg_asset *a, const pg_asset_in *in) {
  const pg_battery_params *p = &a->p.battery;
  int64_t lo = pceil(p->capacity_wh, p->soc_min_ppm), hi = pfloor(p->capacity_wh, p->soc_max_ppm);
  int64_t before = a->stored_wh;
  pg_asset_out o;
  step_ok(a, in, &o);
  assert_int_equal(o.stored_wh, a->stored_wh);
  assert_int_equal(o.charge_wh, (o.stored_wh - before) + o.loss_wh + o.discharge_wh);
  assert_true(o.charge_wh >= 0 && o.discharge_wh >= 0 && o.loss_wh >= 0);
  assert_false(o.charge_wh > 0 && o.discharge_wh > 0);
  assert_true(o.charge_wh <= energy(p->max_charge_w, in->slot_ms));
  assert_true(o.discharge_wh <= energy(p->max_discharge_w, in->slot_ms));
  assert_true(o.stored_wh >= lo && o.stored_wh <= hi && hi <= p->capacity_wh);
  if (o.charge_wh) assert_int_equal(o.stored_wh - before, pfloor(o.charge_wh, p->eta_charge_ppm));
  if (o.discharge_wh) /* drawn = ceil(x / eta) */
    assert_int_equal(before - o.stored_wh,
                     (int64_t)(((u128)o.discharge_wh * 1000000 + p->eta_discharge_ppm - 1) /
                               p->eta_discharge_ppm));
  assert_int_equal(o.soc_ppm, (uint32_t)((u128)o.stored_wh * 1000000 / p->capacity_wh));
  assert_true(o.delivered_wh == 0 && o.heat_wh == 0 && o.unmet_wh == 0);
  battery_strategy(a, in, &o, hi);
  seen.charge += o.charge_wh > 0, seen.discharge += o.discharge_wh > 0;
  seen.full += o.charge_wh > 0 && o.stored_wh == hi;
  seen.empty += o.discharge_wh > 0 && o.stored_wh == lo;
}

static int battery_init(pg_asset *a, pg_asset_strategy s, const timeline *t, pg_diag *d) {
  pg_battery_params p;
  battery_params(&p);
  return pg_asset_battery_init(a, &p, s, d);
}

static void battery_props(pg_asset_strategy s) {
  static const kind_tests k = {battery_init, battery_slot, NULL};
  run_episodes(&k, s);
  assert_true(seen.charge > 100 && seen.discharge > 100 && seen.full > 10 && seen.empty > 10);
}

static void battery_self(void **st) { (void)st; battery_props(PG_ASSET_SELF_CONSUMPTION); }
static void battery_surplus(void **st) { (void)st; battery_props(PG_ASSET_SURPLUS_FOLLOWING); }
static void battery_price(void **st) { (void)st; battery_props(PG_ASSET_PRICE_RESPONSIVE); }

/* ---- EV ---- */

static pg_ev_session sessions[MAX_SESSIONS];

static size_t gen_sessions(const timeline *t) {
  size_t n = 0;
  int64_t at = t->start[0] + range(0, 10 * HOUR);
  while (n < MAX_SESSIONS) {
    int64_t dep = at + (below(4) == 0 ? range(60000, 1200000) : range(60000, 40 * (int64_t)HOUR));
    if (dep > t->end) break;
    sessions[n].arrive_ms = at, sessions[n].depart_ms = dep;
    sessions[n].need_wh = below(10) == 0 ? 0 : range(0, 80000);
    n++;
    at = dep + (below(4) == 0 ? 0 : range(1, 20 * (int64_t)HOUR));
  }
  return n;
}

static int64_t overlap(const pg_ev_session *s, int64_t from, int64_t to) {
  return max64(0, min64(s->depart_ms, to) - max64(s->arrive_ms, from));
}

/* what max power can deliver to session s over the episode's slots */
static int64_t ev_capacity(const pg_ev_params *p, const pg_ev_session *s, const timeline *t) {
  int64_t cap = 0;
  for (int i = 0; i < EPISODE_SLOTS; i++)
    cap += pfloor(energy(p->max_w, overlap(s, t->start[i], t->start[i] + t->len[i])), p->eta_ppm);
  return cap;
}

/* the episode's sums */
static int64_t ev_delivered, ev_unmet;

static void ev_slot(pg_asset *a, const pg_asset_in *in) {
  const pg_ev_params *p = &a->p.ev;
  size_t n = p->n_sessions;
  int64_t end = in->start_ms + in->slot_ms, plugged = 0, left = 0;
  size_t inside = 0;
  for (size_t j = a->next_session; j < n && sessions[j].arrive_ms < end; j++)
    if (overlap(&sessions[j], in->start_ms, end) > 0) {
      inside++;
      plugged = overlap(&sessions[j], in->start_ms, end);
      left = j == a->next_session ? a->session_left_wh : sessions[j].need_wh;
    }
  pg_asset_out o;
  step_ok(a, in, &o);
  assert_int_equal(o.charge_wh, o.delivered_wh + o.loss_wh);
  /* rounded down per session: a slot with k sessions loses less than k more */
  int64_t all = pfloor(o.charge_wh, p->eta_ppm);
  assert_true(o.delivered_wh <= all && o.delivered_wh + (int64_t)inside >= all);
  if (inside <= 1) assert_int_equal(o.delivered_wh, all);
  assert_true(o.charge_wh >= 0 && o.unmet_wh >= 0 && o.discharge_wh == 0 && o.heat_wh == 0);
  assert_true(o.charge_wh <= energy(p->max_w, in->slot_ms));
  if (!inside) assert_int_equal(o.charge_wh, 0);
  if (inside == 1 && o.charge_wh) /* min_w, or finishing the need */
    assert_true(o.charge_wh >= energy(p->min_w, plugged) || o.delivered_wh == left);
  seen.charge += o.charge_wh > 0, seen.unmet += o.unmet_wh > 0;
  seen.must += o.charge_wh > 0 && o.charge_wh == energy(p->max_w, in->slot_ms);
  ev_delivered += o.delivered_wh;
  ev_unmet += o.unmet_wh;
}

static int ev_init(pg_asset *a, pg_asset_strategy s, const timeline *t, pg_diag *d) {
  pg_ev_params p;
  pg_ev_params_default(&p);
  p.max_w = range(1000, 22000), p.min_w = range(0, p.max_w);
  p.eta_ppm = (uint32_t)range(800000, 1000000);
  p.n_sessions = gen_sessions(t), p.sessions = sessions;
  ev_delivered = ev_unmet = 0;
  int rc = pg_asset_ev_init(a, &p, s, d);
  if (rc) fail_msg("init: %s", d->msg);
  return rc;
}

static void ev_done(const pg_asset *a, const timeline *t) {
  int64_t need = 0, short_of = 0;
  for (size_t j = 0; j < a->p.ev.n_sessions; j++) {
    need += sessions[j].need_wh;
    short_of += max64(0, sessions[j].need_wh - ev_capacity(&a->p.ev, &sessions[j], t));
  }
  assert_int_equal(a->next_session, a->p.ev.n_sessions); /* all departed, all reported */
  assert_int_equal(ev_delivered + ev_unmet, need);
  if (t->uniform) assert_int_equal(ev_unmet, short_of); /* must-run is exact */
  else assert_true(ev_unmet >= short_of);
}

static void ev_props(pg_asset_strategy s) {
  static const kind_tests k = {ev_init, ev_slot, ev_done};
  run_episodes(&k, s);
  assert_true(seen.charge > 100 && seen.unmet > 10 && seen.must > 100);
}

static void ev_self(void **st) { (void)st; ev_props(PG_ASSET_SELF_CONSUMPTION); }
static void ev_surplus(void **st) { (void)st; ev_props(PG_ASSET_SURPLUS_FOLLOWING); }
static void ev_price(void **st) { (void)st; ev_props(PG_ASSET_PRICE_RESPONSIVE); }

/* ---- heat pump ---- */

static void hp_params(pg_heat_pump_params *p) {
  pg_heat_pump_params_default(p);
  p->max_w = range(200, 10000);
  p->store_wh = below(10) == 0 ? range(1, 200) : range(1000, 50000);
  p->band_min_ppm = (uint32_t)range(0, 800000);
  p->band_max_ppm = (uint32_t)range(p->band_min_ppm + 1, 1000000);
  p->store_initial_ppm = (uint32_t)range(0, 1000000);
  p->loss_ppm_per_hour = (uint32_t)range(0, 50000);
  p->cop_a = (double)range(100, 500) / 100.0;
  p->cop_b = (double)range(0, 15) / 100.0;
}

/* the electricity the strategy may use (surplus, or all in a cheap slot) */
static int64_t hp_allowance(const pg_asset *a, const pg_asset_in *in, int64_t maxe) {
  if (a->strategy == PG_ASSET_SELF_CONSUMPTION) return max64(-in->site_net_wh, 0);
  if (a->strategy == PG_ASSET_SURPLUS_FOLLOWING) return in->community_surplus_wh;
  return in->price_per_kwh <= a->charge_below ? maxe : 0;
}

static void hp_slot(pg_asset *a, const pg_asset_in *in) {
  const pg_heat_pump_params *p = &a->p.hp;
  int64_t lo = pceil(p->store_wh, p->band_min_ppm), hi = pfloor(p->store_wh, p->band_max_ppm);
  int64_t before = a->stored_wh, maxe = energy(p->max_w, in->slot_ms);
  uint32_t cop = (uint32_t)(pg_heat_pump_cop(p, in->t_out_c) * 1000000 + 0.5);
  u128 num = (u128)before * p->loss_ppm_per_hour * (u128)in->slot_ms;
  int64_t loss = min64(before, (int64_t)((num + 3600000000000ull - 1) / 3600000000000ull));
  int64_t base = before - loss - in->heat_demand_wh;
  int64_t must = base < lo ? (int64_t)(((u128)(lo - base) * 1000000 + cop - 1) / cop) : 0;
  int64_t allow = hp_allowance(a, in, maxe);
  pg_asset_out o;
  step_ok(a, in, &o);
  int64_t e = o.charge_wh, after = o.stored_wh;
  assert_true(e >= 0 && e <= maxe);
  assert_int_equal(o.heat_wh, pfloor(e, cop));
  assert_int_equal(o.heat_loss_wh, loss);
  assert_int_equal(o.heat_wh, (after - before) + o.heat_loss_wh + o.demand_met_wh);
  assert_int_equal(o.demand_met_wh + o.unmet_wh, in->heat_demand_wh);
  assert_true(o.demand_met_wh >= 0 && o.unmet_wh >= 0 && after >= 0 && after <= p->store_wh);
  assert_true(o.discharge_wh == 0 && o.loss_wh == 0 && o.delivered_wh == 0);
  if (o.unmet_wh) assert_true(after == 0 && (e == maxe || p->store_wh < 8));
  bool room = lo + 8 <= p->store_wh; /* the never-overfull cap cannot bind */
  if (room && base + pfloor(maxe, cop) >= lo) assert_true(after >= lo); /* band when possible */
  if (room) assert_true(e >= min64(must, maxe));
  assert_true(e <= max64(allow, must));        /* only what the strategy allows */
  /* heat comes in steps of COP <= 8 Wh_th: targets are met within 8 */
  if (!allow && e) assert_true(after <= lo + 8); /* must-run: the least whole Wh */
  if (e) assert_true(after <= max64(hi, lo + 8));
  if (e < min64(allow, maxe)) assert_true(after >= hi - 8 || after >= p->store_wh - 8);
  seen.charge += e > 0, seen.unmet += o.unmet_wh > 0, seen.must += e > 0 && e == must;
  seen.full += e > 0 && after >= hi - 8 && e > must;
}

static int hp_init(pg_asset *a, pg_asset_strategy s, const timeline *t, pg_diag *d) {
  pg_heat_pump_params p;
  hp_params(&p);
  return pg_asset_heat_pump_init(a, &p, s, d);
}

static void hp_props(pg_asset_strategy s) {
  static const kind_tests k = {hp_init, hp_slot, NULL};
  run_episodes(&k, s);
  assert_true(seen.charge > 100 && seen.unmet > 10 && seen.must > 100 && seen.full > 10);
}

static void hp_self(void **st) { (void)st; hp_props(PG_ASSET_SELF_CONSUMPTION); }
static void hp_surplus(void **st) { (void)st; hp_props(PG_ASSET_SURPLUS_FOLLOWING); }
static void hp_price(void **st) { (void)st; hp_props(PG_ASSET_PRICE_RESPONSIVE); }

/* ---- the edges of every range (UBSan watches the arithmetic) ---- */

static void edge_in(pg_asset_in *in, int k, int64_t start) {
  static const int64_t lens[] = {1, 1000, HOUR, PG_ASSET_MAX_SLOT_MS};
  memset(in, 0, sizeof *in);
  in->start_ms = start, in->slot_ms = lens[k % 4];
  in->site_net_wh = k % 3 == 0 ? -PG_ASSET_MAX_WH : k % 3 == 1 ? PG_ASSET_MAX_WH : 0;
  in->community_surplus_wh = k % 2 ? PG_ASSET_MAX_WH : 0;
  in->price_per_kwh = k % 5 ? UINT64_MAX - 1 : 0;
  in->t_out_c = k % 2 ? 1e300 : -1e300;
  in->heat_demand_wh = k % 4 == 3 ? PG_ASSET_MAX_WH : (k % 4) * 1000;
}

static void edges(void **st) {
  (void)st;
  for (int s = 0; s < 3; s++)
    for (int v = 0; v < 2; v++) { /* v = 0: the largest values, 1: the smallest */
      pg_asset a;
      pg_diag d = {{0}};
      pg_battery_params b;
      pg_battery_params_default(&b);
      b.capacity_wh = v ? 1 : PG_ASSET_MAX_WH;
      b.max_charge_w = b.max_discharge_w = v ? 1 : PG_ASSET_MAX_W;
      b.eta_charge_ppm = b.eta_discharge_ppm = v ? 1 : 1000000;
      b.soc_min_ppm = 0, b.soc_max_ppm = 1000000, b.soc_initial_ppm = v ? 0 : 1000000;
      b.min_spread = v ? UINT64_MAX : 0;
      assert_int_equal(pg_asset_battery_init(&a, &b, (pg_asset_strategy)s, &d), PG_OK);
      pg_asset_thresholds(UINT64_MAX, 0, &a.charge_below, &a.discharge_above);
      pg_asset_in in;
      for (int k = 0; k < 24; k++) {
        edge_in(&in, k, 0);
        battery_slot(&a, &in);
      }
      pg_asset_free(&a);
      pg_heat_pump_params h;
      pg_heat_pump_params_default(&h);
      h.max_w = v ? 1 : PG_ASSET_MAX_W, h.store_wh = v ? 1 : PG_ASSET_MAX_WH;
      h.band_min_ppm = 0, h.band_max_ppm = 1000000, h.store_initial_ppm = v ? 0 : 1000000;
      h.loss_ppm_per_hour = v ? 0 : 1000000;
      assert_int_equal(pg_asset_heat_pump_init(&a, &h, (pg_asset_strategy)s, &d), PG_OK);
      a.charge_below = UINT64_MAX;
      for (int k = 0; k < 24; k++) {
        edge_in(&in, k, 0);
        hp_slot(&a, &in);
      }
      pg_asset_free(&a);
      pg_ev_params e;
      pg_ev_params_default(&e);
      e.max_w = e.min_w = v ? 1 : PG_ASSET_MAX_W, e.eta_ppm = v ? 1 : 1000000;
      int64_t far = INT64_MAX - PG_ASSET_MAX_SLOT_MS;
      sessions[0] = (pg_ev_session){0, far / 2, PG_ASSET_MAX_WH};
      sessions[1] = (pg_ev_session){far / 2, far, PG_ASSET_MAX_WH};
      e.sessions = sessions, e.n_sessions = 2;
      assert_int_equal(pg_asset_ev_init(&a, &e, (pg_asset_strategy)s, &d), PG_OK);
      a.charge_below = UINT64_MAX;
      ev_delivered = ev_unmet = 0;
      for (int k = 0; k < 24; k++) {
        edge_in(&in, k, k < 12 ? k * PG_ASSET_MAX_SLOT_MS : far - (24 - k) * HOUR);
        ev_slot(&a, &in);
      }
      assert_int_equal(a.next_session, 2);
      assert_int_equal(ev_delivered + ev_unmet, 2 * PG_ASSET_MAX_WH);
      pg_asset_free(&a);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(battery_self), cmocka_unit_test(battery_surplus),
      cmocka_unit_test(battery_price), cmocka_unit_test(ev_self),
      cmocka_unit_test(ev_surplus),    cmocka_unit_test(ev_price),
      cmocka_unit_test(hp_self),       cmocka_unit_test(hp_surplus),
      cmocka_unit_test(hp_price),      cmocka_unit_test(edges),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
