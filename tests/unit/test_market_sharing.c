/* Sharing mechanisms (market.h SHARING MECHANISMS):
 * - the worked examples of the spec digest ENERGY-SHARING.md §7 to the Wh,
 *   each cited by its example tag and the sources it rests on (§0 tags:
 *   A1/A2/A6 energiegemeinschaften.gv.at and EDA portal, A17/A18 eegfaktura
 *   EDA identities, P3 E-REDES, L1/L2 weshareenergy.lu / Creos, A4/A8/A15
 *   multi-participation), with the engine's rounding of §7.12;
 * - money of a sharing slot to the unit;
 * - properties over thousands of random slots (deterministic seed): energy
 *   caps per slot and per meter, producer deliveries, exact money identity,
 *   charge cap, participation factors never allocate a meter twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/market/market.h"

#define PCT(x) ((uint32_t)((x) * 10000u)) /* key in ppm from whole percent */

static pg_market_producer prod(int64_t wh) {
  pg_market_producer p;
  memset(&p, 0, sizeof p);
  p.output_wh = wh;
  return p;
}

static pg_market_consumer cons(int64_t wh, uint32_t key_ppm, uint32_t group) {
  pg_market_consumer c;
  memset(&c, 0, sizeof c);
  c.usage_wh = wh;
  c.key_ppm = key_ppm;
  c.group = group;
  return c;
}

static pg_market_slot mkslot(const pg_market_producer *p, size_t np, const pg_market_consumer *c,
                             size_t nc) {
  pg_market_slot s;
  memset(&s, 0, sizeof s);
  s.producers = p;
  s.n_producers = np;
  s.consumers = c;
  s.n_consumers = nc;
  s.import_price = 300;
  s.export_price = 80;
  s.community_price = 120;
  return s;
}

/* settles and compares allocations a[], producer deliveries del[] and surplus shares sur[] */
static void expect(const pg_market_slot *s, pg_market_mech m, const int64_t *a, const int64_t *del,
                   const int64_t *sur) {
  pg_market_result r;
  pg_diag d = {{0}};
  int rc = pg_market_settle(s, m, &r, &d);
  if (rc) fail_msg("%s: %s", pg_market_mech_name(m), d.msg);
  int64_t A = 0;
  for (size_t i = 0; i < s->n_consumers; i++) {
    if (r.consumers[i].community_wh != a[i])
      fail_msg("%s: consumer %zu allocated %lld, expected %lld", pg_market_mech_name(m), i,
               (long long)r.consumers[i].community_wh, (long long)a[i]);
    assert_int_equal(r.consumers[i].utility_wh, s->consumers[i].usage_wh - a[i]);
    A += a[i];
  }
  for (size_t j = 0; j < s->n_producers; j++) {
    if (r.producers[j].community_wh != del[j] || r.producers[j].utility_wh != sur[j])
      fail_msg("%s: producer %zu delivered %lld surplus %lld, expected %lld / %lld",
               pg_market_mech_name(m), j, (long long)r.producers[j].community_wh,
               (long long)r.producers[j].utility_wh, (long long)del[j], (long long)sur[j]);
  }
  assert_int_equal(r.matched_wh, A);
  assert_int_equal(r.export_wh, r.supply_wh - A);
  assert_int_equal(r.import_wh, r.demand_wh - A);
  assert_int_equal(r.utility_import_cost, 0);
  assert_int_equal(r.utility_export_income, 0);
  pg_market_result_free(&r);
}

/* common inputs of §7.1: P1 600, P2 200 (G 800); C1..C4 100/200/300/400 */
#define BASE_P {prod(600), prod(200)}
#define BASE_C(k) {cons(100, (k), 0), cons(200, (k), 0), cons(300, (k), 0), cons(400, (k), 0)}

/* E1 (§7.2) — Austria static, keys 25 %, unused share exported (F1, F6;
 * A1, A6): allocated [100, 200, 200, 200], surplus 100 = P1 75 + P2 25. */
static void test_e1_static(void **state) {
  (void)state;
  pg_market_producer p[] = BASE_P;
  pg_market_consumer c[] = BASE_C(PCT(25));
  pg_market_slot s = mkslot(p, 2, c, 4);
  expect(&s, PG_MARKET_STATIC_KEY, (int64_t[]){100, 200, 200, 200}, (int64_t[]){525, 175},
         (int64_t[]){75, 25});
}

/* E4 (§7.5) — dynamic / pro rata with G < C (F3; A1, A2, A18, L2, P1):
 * factor 4/5, allocated [80, 160, 240, 320], producers deliver everything. */
static void test_e4_dynamic(void **state) {
  (void)state;
  pg_market_producer p[] = BASE_P;
  pg_market_consumer c[] = BASE_C(0);
  pg_market_slot s = mkslot(p, 2, c, 4);
  expect(&s, PG_MARKET_DYNAMIC_KEY, (int64_t[]){80, 160, 240, 320}, (int64_t[]){600, 200},
         (int64_t[]){0, 0});
}

/* E5 (§7.6) — generation above consumption, P1 900, P2 300 (G 1200).
 * E5a dynamic: everybody covered, surplus 200 = P1 150 + P2 50.
 * E5b Austria static 25 %: C4 capped at 300, surplus 300 = P1 225 + P2 75. */
static void test_e5_surplus(void **state) {
  (void)state;
  pg_market_producer p[] = {prod(900), prod(300)};
  pg_market_consumer c[] = BASE_C(PCT(25));
  pg_market_slot s = mkslot(p, 2, c, 4);
  expect(&s, PG_MARKET_DYNAMIC_KEY, (int64_t[]){100, 200, 300, 400}, (int64_t[]){750, 250},
         (int64_t[]){150, 50});
  expect(&s, PG_MARKET_STATIC_KEY, (int64_t[]){100, 200, 300, 300}, (int64_t[]){675, 225},
         (int64_t[]){225, 75});
}

/* E6 (§7.7) — E6a G = 0: nothing allocated by any rule; E6b C = 0, G = 800:
 * all surplus (P1 600, P2 200), no division by C = 0. */
static void test_e6_zero(void **state) {
  (void)state;
  pg_market_producer p0[] = {prod(0), prod(0)};
  pg_market_consumer c[] = BASE_C(PCT(25));
  pg_market_slot s = mkslot(p0, 2, c, 4);
  for (int m = PG_MARKET_STATIC_KEY; m <= PG_MARKET_HIERARCHICAL; m++)
    expect(&s, (pg_market_mech)m, (int64_t[]){0, 0, 0, 0}, (int64_t[]){0, 0}, (int64_t[]){0, 0});
  pg_market_producer p[] = BASE_P;
  pg_market_consumer c0[] = {cons(0, PCT(25), 0), cons(0, PCT(25), 0), cons(0, PCT(25), 1),
                             cons(0, PCT(25), 1)};
  s = mkslot(p, 2, c0, 4);
  for (int m = PG_MARKET_STATIC_KEY; m <= PG_MARKET_HIERARCHICAL; m++)
    expect(&s, (pg_market_mech)m, (int64_t[]){0, 0, 0, 0}, (int64_t[]){0, 0},
           (int64_t[]){600, 200});
}

/* E7 (§7.8) — hierarchical, two groups (F5; P3, L1/L2 priority): group 0 =
 * {C1, C2} pro rata, group 1 = {C3, C4} fixed 50/50, single round (E7a).
 * P1 750, P2 250: allocated [100, 200, 300, 350], surplus 50 = P1 37.5 +
 * P2 12.5 -> whole Wh by largest remainder, tie to the lower index: 38, 12.
 * E7c, scarce (P1 180, P2 60): group 0 alone gets C1 80, C2 160. */
static void test_e7_hierarchical(void **state) {
  (void)state;
  static const uint8_t rules[] = {PG_SHARE_RULE_DYNAMIC, PG_SHARE_RULE_STATIC};
  pg_market_producer p[] = {prod(750), prod(250)};
  pg_market_consumer c[] = {cons(100, 0, 0), cons(200, 0, 0), cons(300, PCT(50), 1),
                            cons(400, PCT(50), 1)};
  pg_market_slot s = mkslot(p, 2, c, 4);
  s.group_rules = rules;
  s.n_group_rules = 2;
  expect(&s, PG_MARKET_HIERARCHICAL, (int64_t[]){100, 200, 300, 350}, (int64_t[]){712, 238},
         (int64_t[]){38, 12});
  pg_market_producer pc[] = {prod(180), prod(60)};
  s.producers = pc;
  expect(&s, PG_MARKET_HIERARCHICAL, (int64_t[]){80, 160, 0, 0}, (int64_t[]){180, 60},
         (int64_t[]){0, 0});
}

/* E8 (§7.9) — Austria multi-participation (F7; A4, A8, A15-A17): C4 and P2
 * take part 50 % / 50 % in EC-A and EC-B, both dynamic. EC-A: P1 600, P2 100
 * | C1 100, C2 200, C4 200 -> all covered, surplus 200 = P1 1200/7 + P2 200/7
 * -> [171, 29] (§7.12). EC-B: P2 100 | C3 300, C4 200 -> [60, 40]. C4 gets
 * 240 of its 400 in all: the factor is a hard split. */
static void test_e8_participation(void **state) {
  (void)state;
  const uint8_t tf[] = {50, 50};
  int64_t p2[2], c4[2];
  assert_int_equal(pg_market_participation_split(200, tf, 2, p2, NULL), PG_OK);
  assert_int_equal(pg_market_participation_split(400, tf, 2, c4, NULL), PG_OK);
  pg_market_producer pa[] = {prod(600), prod(p2[0])};
  pg_market_consumer ca[] = {cons(100, 0, 0), cons(200, 0, 0), cons(c4[0], 0, 0)};
  pg_market_slot s = mkslot(pa, 2, ca, 3);
  expect(&s, PG_MARKET_DYNAMIC_KEY, (int64_t[]){100, 200, 200}, (int64_t[]){429, 71},
         (int64_t[]){171, 29});
  pg_market_producer pb[] = {prod(p2[1])};
  pg_market_consumer cb[] = {cons(300, 0, 0), cons(c4[1], 0, 0)};
  s = mkslot(pb, 1, cb, 2);
  expect(&s, PG_MARKET_DYNAMIC_KEY, (int64_t[]){60, 40}, (int64_t[]){100}, (int64_t[]){0});
}

/* Money of E1 at a community price of 100 per kWh, P2 selling at its own
 * ask 200: V = 525*100 + 175*200 = 87500 (87.5 units). Consumers pay
 * floor = 87 pro rata to [100, 200, 200, 200] -> [12, 25, 25, 25];
 * producers get ceil = 88: P1 52.5 -> 53, P2 35; grid -1 (its dust). */
static void test_money(void **state) {
  (void)state;
  pg_market_producer p[] = BASE_P;
  p[1].has_ask = true;
  p[1].ask_per_kwh = 200;
  pg_market_consumer c[] = BASE_C(PCT(25));
  pg_market_slot s = mkslot(p, 2, c, 4);
  s.community_price = 100;
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_STATIC_KEY, &r, NULL), PG_OK);
  const int64_t amt[] = {12, 25, 25, 25}, base[] = {30, 60, 60, 60};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(r.consumers[i].amount, amt[i]);
    assert_int_equal(r.consumers[i].total, amt[i]);
    /* baseline: the allocated energy at the import price 300, rounded up */
    assert_int_equal(r.consumers[i].baseline, base[i]);
  }
  assert_int_equal(r.producers[0].total, 53);
  assert_int_equal(r.producers[1].total, 35);
  assert_int_equal(r.consumer_payments, 87);
  assert_int_equal(r.producer_revenues, 88);
  assert_int_equal(r.grid_income, -1);
  pg_market_result_free(&r);
  /* fees: 8 per kWh of allocated energy (700 Wh -> 5.6 -> 5) and 10 % of 87 -> 8 */
  s.fee_per_kwh = 8;
  s.fee_bp = 1000;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_STATIC_KEY, &r, NULL), PG_OK);
  assert_int_equal(r.fees, 13);
  assert_int_equal(r.consumer_payments, 100);
  assert_int_equal(r.grid_income, 12);
  pg_market_result_free(&r);
}

static void test_errors(void **state) {
  (void)state;
  pg_market_producer p[] = BASE_P;
  pg_market_consumer c[] = BASE_C(PCT(30)); /* 120 % in all */
  pg_market_slot s = mkslot(p, 2, c, 4);
  pg_market_result r;
  pg_diag d = {{0}};
  assert_int_equal(pg_market_settle(&s, PG_MARKET_STATIC_KEY, &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "sum above 100%"));
  /* dynamic ignores keys; hierarchical checks them per static group only */
  assert_int_equal(pg_market_settle(&s, PG_MARKET_DYNAMIC_KEY, &r, NULL), PG_OK);
  pg_market_result_free(&r);
  assert_int_equal(pg_market_settle(&s, PG_MARKET_HIERARCHICAL, &r, NULL), PG_OK);
  pg_market_result_free(&r);
  static const uint8_t st[] = {PG_SHARE_RULE_STATIC}, bad[] = {7};
  s.group_rules = st;
  s.n_group_rules = 1;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_HIERARCHICAL, &r, NULL), PG_ERR_INVALID);
  s.group_rules = bad;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_HIERARCHICAL, &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "unknown rule"));
  s.n_group_rules = 0;
  c[0].group = PG_SHARE_MAX_GROUP + 1;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_HIERARCHICAL, &r, NULL), PG_ERR_INVALID);
  c[0].group = 0;
  c[0].key_ppm = PG_SHARE_KEY_ONE + 1;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_DYNAMIC_KEY, &r, NULL), PG_ERR_INVALID);
  c[0].key_ppm = 0;
  s.community_price = PG_MARKET_MAX_PRICE + 1;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_DYNAMIC_KEY, &r, NULL), PG_ERR_TOO_LARGE);
  /* participation factors */
  int64_t out[3];
  assert_int_equal(pg_market_participation_split(10, (uint8_t[]){60, 50}, 2, out, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "110%"));
  assert_int_equal(pg_market_participation_split(10, (uint8_t[]){0}, 1, out, NULL),
                   PG_ERR_INVALID);
  assert_int_equal(pg_market_participation_split(10, (uint8_t[]){101}, 1, out, NULL),
                   PG_ERR_INVALID);
  assert_int_equal(pg_market_participation_split(-1, (uint8_t[]){50}, 1, out, NULL),
                   PG_ERR_INVALID);
  assert_int_equal(pg_market_participation_split(7, (uint8_t[]){33, 33, 34}, 3, out, NULL), PG_OK);
  assert_true(out[0] == 2 && out[1] == 2 && out[2] == 2);
  pg_market_mech m;
  assert_int_equal(pg_market_mech_parse("hierarchical", &m, NULL), PG_OK);
  assert_int_equal(m, PG_MARKET_HIERARCHICAL);
  assert_string_equal(pg_market_mech_name(PG_MARKET_STATIC_KEY), "static-key");
  assert_true(pg_market_mech_is_sharing(PG_MARKET_DYNAMIC_KEY));
  assert_false(pg_market_mech_is_sharing(PG_MARKET_SDR));
}

/* ---- properties ---- */

#define SLOTS 5000
#define MAXN 16

#define TU_RNG_SEED 0x243f6a8885a308d3ull
#include "test_util_rng.h"

__extension__ typedef unsigned __int128 u128;

static void gen(pg_market_slot *s, pg_market_producer *p, pg_market_consumer *c, uint8_t *rules) {
  int scale = (int)below(3);
  int64_t whmax = scale == 0 ? 7 : scale == 1 ? 5000 : PG_MARKET_MAX_WH / MAXN;
  uint64_t pmax = scale == 2 ? PG_MARKET_MAX_PRICE : 1000;
  size_t np = below(MAXN + 1), nc = below(MAXN + 1);
  memset(s, 0, sizeof *s);
  uint64_t a = below(pmax + 1), b = below(pmax + 1);
  s->import_price = a > b ? a : b;
  s->export_price = a > b ? b : a;
  s->community_price = below(pmax + 1);
  if (below(2)) {
    s->fee_per_kwh = below(pmax / 10 + 1);
    s->fee_bp = below(10001);
  }
  for (size_t j = 0; j < np; j++) {
    memset(&p[j], 0, sizeof p[j]);
    p[j].output_wh = below(4) == 0 ? 0 : (int64_t)below((uint64_t)whmax + 1);
    p[j].has_ask = below(3) == 0;
    p[j].ask_per_kwh = below(pmax + 1);
  }
  uint32_t left[4] = {PG_SHARE_KEY_ONE, PG_SHARE_KEY_ONE, PG_SHARE_KEY_ONE, PG_SHARE_KEY_ONE};
  uint32_t all = PG_SHARE_KEY_ONE;
  for (size_t i = 0; i < nc; i++) {
    memset(&c[i], 0, sizeof c[i]);
    c[i].usage_wh = below(4) == 0 ? 0 : (int64_t)below((uint64_t)whmax + 1);
    c[i].group = (uint32_t)below(4);
    uint32_t cap = left[c[i].group] < all ? left[c[i].group] : all;
    c[i].key_ppm = (uint32_t)below((uint64_t)cap / 2 + 1);
    if (below(5) == 0) c[i].key_ppm = cap; /* exactly 100 % sometimes */
    left[c[i].group] -= c[i].key_ppm;
    all -= c[i].key_ppm;
  }
  for (int g = 0; g < 4; g++) rules[g] = (uint8_t)below(2);
  s->group_rules = rules;
  s->n_group_rules = below(5);
  s->producers = p;
  s->n_producers = np;
  s->consumers = c;
  s->n_consumers = nc;
}

static int64_t ceil_div(u128 n, u128 d) { return (int64_t)(n / d + (n % d != 0)); }

/* energy bounds per consumer: floor/ceil of the exact value where the rule is
 * closed-form (static over G, dynamic over G) */
static void check_exact(const pg_market_slot *s, pg_market_mech m, const pg_market_result *r) {
  int64_t G = r->supply_wh, C = r->demand_wh;
  for (size_t i = 0; i < s->n_consumers; i++) {
    int64_t Ci = s->consumers[i].usage_wh, a = r->consumers[i].community_wh;
    u128 num, den;
    if (m == PG_MARKET_STATIC_KEY) {
      u128 k = (u128)s->consumers[i].key_ppm * (uint64_t)G, cap = (u128)(uint64_t)Ci * 1000000;
      num = k < cap ? k : cap;
      den = 1000000;
    } else if (m == PG_MARKET_DYNAMIC_KEY) {
      num = C <= G ? (u128)(uint64_t)Ci : (u128)(uint64_t)Ci * (uint64_t)G;
      den = C <= G ? 1 : (u128)(uint64_t)C;
    } else {
      return;
    }
    assert_true((u128)a >= num / den && a <= ceil_div(num, den));
  }
}

static void check(const pg_market_slot *s, pg_market_mech m, long k) {
  pg_market_result r;
  pg_diag d = {{0}};
  if (pg_market_settle(s, m, &r, &d)) fail_msg("slot %ld %s: %s", k, pg_market_mech_name(m), d.msg);
  int64_t G = 0, A = 0, del = 0, pay = 0, rev = 0, fees = 0;
  uint64_t pmax = s->community_price;
  for (size_t j = 0; j < s->n_producers; j++) {
    const pg_market_party *p = &r.producers[j];
    int64_t o = s->producers[j].output_wh;
    G += o;
    assert_true(p->community_wh >= 0 && p->utility_wh >= 0 && p->community_wh <= o);
    assert_int_equal(p->community_wh + p->utility_wh, o);
    del += p->community_wh;
    rev += p->total;
    if (s->producers[j].has_ask && s->producers[j].ask_per_kwh > pmax)
      pmax = s->producers[j].ask_per_kwh;
  }
  for (size_t i = 0; i < s->n_consumers; i++) {
    const pg_market_party *c = &r.consumers[i];
    int64_t u = s->consumers[i].usage_wh;
    assert_true(c->community_wh >= 0 && c->community_wh <= u);
    assert_int_equal(c->community_wh + c->utility_wh, u);
    if (c->amount > ceil_div((u128)pmax * (uint64_t)c->community_wh, 1000))
      fail_msg("slot %ld %s: consumer %zu charged %lld for %lld Wh", k, pg_market_mech_name(m), i,
               (long long)c->amount, (long long)c->community_wh);
    assert_int_equal(c->total, c->amount + c->fee);
    A += c->community_wh;
    pay += c->total;
    fees += c->fee;
  }
  assert_true(A <= G);
  assert_int_equal(del, A);
  assert_int_equal(r.matched_wh, A);
  assert_int_equal(r.consumer_payments, pay);
  assert_int_equal(r.producer_revenues, rev);
  assert_int_equal(r.fees, fees);
  /* MONEY IDENTITY, with no utility amounts in a sharing slot */
  assert_int_equal(r.utility_import_cost + r.utility_export_income, 0);
  assert_int_equal(pay, rev + r.grid_income);
  assert_true(r.grid_income - fees <= 0 && r.grid_income - fees > -2); /* one unit of dust */
  check_exact(s, m, &r);
  pg_market_result_free(&r);
}

static void test_random_slots(void **state) {
  (void)state;
  pg_market_producer p[MAXN];
  pg_market_consumer c[MAXN];
  uint8_t rules[4];
  pg_market_slot s;
  for (long k = 0; k < SLOTS; k++) {
    gen(&s, p, c, rules);
    for (int m = PG_MARKET_STATIC_KEY; m <= PG_MARKET_HIERARCHICAL; m++)
      check(&s, (pg_market_mech)m, k);
  }
}

/* A meter split over up to five communities by random factors, each
 * community settled with random others: the meter's allocations sum to at
 * most its energy, each community's slice to at most its factor's share. */
static void test_random_participation(void **state) {
  (void)state;
  for (long k = 0; k < 2000; k++) {
    size_t n = 1 + below(5);
    uint8_t tf[5];
    unsigned left = 100;
    for (size_t j = 0; j < n; j++) {
      unsigned hi = left - (unsigned)(n - 1 - j); /* leave >= 1 % for the others */
      tf[j] = (uint8_t)(1 + below(hi));
      left -= tf[j];
    }
    int64_t wh = (int64_t)below(100000), slice[5], got = 0, sum = 0;
    assert_int_equal(pg_market_participation_split(wh, tf, n, slice, NULL), PG_OK);
    for (size_t j = 0; j < n; j++) {
      assert_int_equal(slice[j], wh * tf[j] / 100);
      sum += slice[j];
      pg_market_producer p = prod((int64_t)below(200000));
      pg_market_consumer c[3] = {cons(slice[j], 0, 0), cons((int64_t)below(50000), 0, 0),
                                 cons((int64_t)below(50000), 0, 0)};
      pg_market_slot s = mkslot(&p, 1, c, 3);
      pg_market_result r;
      assert_int_equal(pg_market_settle(&s, PG_MARKET_DYNAMIC_KEY, &r, NULL), PG_OK);
      assert_true(r.consumers[0].community_wh <= slice[j]);
      got += r.consumers[0].community_wh;
      pg_market_result_free(&r);
    }
    assert_true(sum <= wh && got <= wh);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_e1_static),
      cmocka_unit_test(test_e4_dynamic),
      cmocka_unit_test(test_e5_surplus),
      cmocka_unit_test(test_e6_zero),
      cmocka_unit_test(test_e7_hierarchical),
      cmocka_unit_test(test_e8_participation),
      cmocka_unit_test(test_money),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_random_slots),
      cmocka_unit_test(test_random_participation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
