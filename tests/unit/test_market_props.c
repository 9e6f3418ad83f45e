/* Property tests over thousands of random slots, every mechanism:
 * - money: the identity holds to the unit and party sums match the totals;
 *   the grid's rounding dust is bounded (mmr/sdr: fee-less income in (-4, 0]);
 * - energy: community + utility = each participant's energy; community sums
 *   to matched_wh on both sides; matched_wh <= min(S, D);
 * - auctions: community energy costs no consumer more than its bid and earns
 *   no producer less than its ask (effective bid = min(bid, lambda_b) <= bid,
 *   effective ask = max(ask, lambda_s) >= ask; to the rounding unit), and the
 *   books are cleared (no leftover bid >= leftover ask);
 * - every mechanism but fixed: nobody worse than baseline;
 * - determinism: a second settlement gives the same integers.
 * Slots mix tiny values (rounding and ties) with values near the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/market/market.h"

#define SLOTS 10000
#define MAXN 24

#define TU_RNG_SEED 0x9e3779b97f4a7c15ull
#include "test_util_rng.h"

__extension__ typedef unsigned __int128 u128;

static int64_t ceil1000(u128 v) { return (int64_t)(v / 1000 + (v % 1000 != 0)); }

static void gen(pg_market_slot *s, pg_market_producer *p, pg_market_consumer *c) {
  int scale = (int)below(4);
  uint64_t pmax = scale == 0 ? 10 : scale == 1 ? 1000 : scale == 2 ? 100000 : PG_MARKET_MAX_PRICE;
  int64_t whmax = scale == 0 ? 5 : scale == 1 ? 5000 : scale == 2 ? 10000000
                                                                  : PG_MARKET_MAX_WH / MAXN;
  uint64_t amax = pmax * 2 > PG_MARKET_MAX_PRICE ? PG_MARKET_MAX_PRICE : pmax * 2;
  size_t np = below(MAXN + 1), nc = below(MAXN + 1);
  uint64_t a = below(pmax + 1), b = below(pmax + 1);
  memset(s, 0, sizeof *s);
  s->import_price = a > b ? a : b;
  s->export_price = a > b ? b : a;
  if (below(8) == 0) s->export_price = s->import_price;
  s->fixed_buy_price = below(pmax + 1);
  s->fixed_sell_price = below(pmax + 1);
  if (below(2)) {
    s->fee_per_kwh = below(pmax / 10 + 1);
    s->fee_bp = below(10001);
  }
  for (size_t j = 0; j < np; j++) {
    p[j].id = NULL;
    p[j].output_wh = below(4) == 0 ? 0 : (int64_t)below((uint64_t)whmax + 1);
    p[j].has_ask = below(3) != 0;
    p[j].ask_per_kwh = below(amax + 1); /* some outside [ls, lb] */
  }
  for (size_t i = 0; i < nc; i++) {
    c[i].id = NULL;
    c[i].usage_wh = below(4) == 0 ? 0 : (int64_t)below((uint64_t)whmax + 1);
    c[i].has_bid = below(3) != 0;
    c[i].bid_per_kwh = below(amax + 1);
  }
  s->producers = p;
  s->n_producers = np;
  s->consumers = c;
  s->n_consumers = nc;
}

static void check(const pg_market_slot *s, pg_market_mech m, long slot) {
  pg_market_result r, r2;
  pg_diag d = {{0}};
  int rc = pg_market_settle(s, m, &r, &d);
  if (rc) fail_msg("slot %ld %s: %s", slot, pg_market_mech_name(m), d.msg);
  assert_int_equal(pg_market_settle(s, m, &r2, &d), PG_OK);
  uint64_t lb = s->import_price, ls = s->export_price;
  bool fees = s->fee_per_kwh || s->fee_bp;
  bool auction = m == PG_MARKET_PAY_AS_CLEAR || m == PG_MARKET_PAY_AS_BID;
  int64_t S = 0, D = 0, cc = 0, pc = 0, pay = 0, rev = 0, fee = 0;
  for (size_t i = 0; i < r.n_consumers; i++) {
    const pg_market_party *c = &r.consumers[i];
    assert_memory_equal(c, &r2.consumers[i], sizeof *c);
    int64_t u = s->consumers[i].usage_wh;
    D += u;
    assert_true(c->community_wh >= 0 && c->utility_wh >= 0);
    assert_int_equal(c->community_wh + c->utility_wh, u);
    assert_true(c->amount >= 0 && c->fee >= 0);
    assert_int_equal(c->total, c->amount + c->fee);
    assert_int_equal(c->baseline, ceil1000((u128)lb * (uint64_t)u));
    assert_int_equal(c->savings, c->baseline - c->total);
    cc += c->community_wh;
    pay += c->total;
    fee += c->fee;
    if (m != PG_MARKET_FIXED) {
      if (c->amount > c->baseline)
        fail_msg("slot %ld %s: consumer %zu charged %lld above baseline %lld", slot,
                 pg_market_mech_name(m), i, (long long)c->amount, (long long)c->baseline);
      if (!fees) assert_true(c->savings >= 0);
    }
    if (auction) {
      const pg_market_consumer *in = &s->consumers[i];
      uint64_t b = in->has_bid && in->bid_per_kwh < lb ? in->bid_per_kwh : lb;
      int64_t cap =
          ceil1000((u128)b * (uint64_t)c->community_wh + (u128)lb * (uint64_t)c->utility_wh);
      if (c->amount > cap)
        fail_msg("slot %ld %s: consumer %zu pays %lld above its bid (%lld)", slot,
                 pg_market_mech_name(m), i, (long long)c->amount, (long long)cap);
    }
  }
  for (size_t j = 0; j < r.n_producers; j++) {
    const pg_market_party *p = &r.producers[j];
    assert_memory_equal(p, &r2.producers[j], sizeof *p);
    int64_t o = s->producers[j].output_wh;
    S += o;
    assert_true(p->community_wh >= 0 && p->utility_wh >= 0);
    assert_int_equal(p->community_wh + p->utility_wh, o);
    assert_true(p->total >= 0 && p->fee == 0 && p->amount == p->total);
    assert_int_equal(p->baseline, (int64_t)((u128)ls * (uint64_t)o / 1000));
    assert_int_equal(p->savings, p->total - p->baseline);
    pc += p->community_wh;
    rev += p->total;
    if (m != PG_MARKET_FIXED && p->total < p->baseline)
      fail_msg("slot %ld %s: producer %zu earns %lld below baseline %lld", slot,
               pg_market_mech_name(m), j, (long long)p->total, (long long)p->baseline);
    if (auction) {
      const pg_market_producer *in = &s->producers[j];
      uint64_t a = in->has_ask && in->ask_per_kwh > ls ? in->ask_per_kwh : ls;
      u128 floor_num = (u128)a * (uint64_t)p->community_wh + (u128)ls * (uint64_t)p->utility_wh;
      if (p->total < (int64_t)(floor_num / 1000))
        fail_msg("slot %ld %s: producer %zu earns %lld below its ask", slot,
                 pg_market_mech_name(m), j, (long long)p->total);
    }
  }
  /* books cleared: no leftover consumer would pay a leftover producer's ask */
  if (auction) {
    uint64_t best_bid = 0, best_ask = UINT64_MAX;
    bool any_b = false, any_a = false;
    for (size_t i = 0; i < r.n_consumers; i++)
      if (r.consumers[i].utility_wh > 0) {
        const pg_market_consumer *in = &s->consumers[i];
        uint64_t b = in->has_bid && in->bid_per_kwh < lb ? in->bid_per_kwh : lb;
        if (!any_b || b > best_bid) best_bid = b;
        any_b = true;
      }
    for (size_t j = 0; j < r.n_producers; j++)
      if (r.producers[j].utility_wh > 0) {
        const pg_market_producer *in = &s->producers[j];
        uint64_t a = in->has_ask && in->ask_per_kwh > ls ? in->ask_per_kwh : ls;
        if (a < best_ask) best_ask = a;
        any_a = true;
      }
    if (any_a && any_b) assert_true(best_bid < best_ask);
  }
  int64_t M = S < D ? S : D;
  assert_int_equal(r.supply_wh, S);
  assert_int_equal(r.demand_wh, D);
  assert_int_equal(cc, r.matched_wh);
  assert_int_equal(pc, r.matched_wh);
  assert_true(r.matched_wh <= M);
  if (!auction) assert_int_equal(r.matched_wh, M);
  assert_int_equal(r.import_wh, D > S ? D - S : 0);
  assert_int_equal(r.export_wh, S > D ? S - D : 0);
  assert_int_equal(r.consumer_payments, pay);
  assert_int_equal(r.producer_revenues, rev);
  assert_int_equal(r.fees, fee);
  assert_int_equal(r.utility_import_cost, ceil1000((u128)lb * (uint64_t)r.import_wh));
  assert_int_equal(r.utility_export_income, (int64_t)((u128)ls * (uint64_t)r.export_wh / 1000));
  /* the identity, to the unit */
  assert_int_equal(pay, rev + r.grid_income + r.utility_import_cost - r.utility_export_income);
  /* group totals against an independent formula (fits 128 bits for these sizes) */
  int64_t camount = 0;
  for (size_t i = 0; i < r.n_consumers; i++) camount += r.consumers[i].amount;
  if (S < ((int64_t)1 << 32) && D < ((int64_t)1 << 32)) {
    u128 cnum = 0, pnum = 0, den = 1;
    u128 uS = (uint64_t)S, uD = (uint64_t)D;
    bool have = true;
    if (m == PG_MARKET_FIXED) {
      cnum = s->fixed_buy_price * uD;
      pnum = s->fixed_sell_price * uS;
      den = 1000;
    } else if (m == PG_MARKET_MMR) {
      den = 2000;
      if (S >= D) {
        cnum = (lb + ls) * uD;
        pnum = (lb + ls) * uD + 2 * ls * (uS - uD);
      } else {
        pnum = (lb + ls) * uS;
        cnum = (lb + ls) * uS + 2 * lb * (uD - uS);
      }
    } else if (m == PG_MARKET_SDR) {
      u128 Q = (lb - ls) * uS + ls * uD;
      if (D == 0 || S >= D) {
        cnum = ls * uD;
        pnum = ls * uS;
        den = 1000;
      } else if (S == 0 || Q == 0) {
        cnum = S == 0 ? lb * uD : 0;
        pnum = 0;
        den = 1000;
      } else {
        pnum = (u128)lb * ls * uD * uS;
        cnum = pnum + (u128)lb * (uD - uS) * Q;
        den = 1000 * Q;
      }
    } else {
      have = false;
    }
    if (have) {
      assert_int_equal(camount, (int64_t)(cnum / den));
      assert_int_equal(rev, (int64_t)(pnum / den + (pnum % den != 0)));
    }
  }
  int64_t dust = r.grid_income - r.fees;
  if (m == PG_MARKET_MMR || m == PG_MARKET_SDR) {
    if (dust > 0 || dust <= -4)
      fail_msg("slot %ld %s: grid income without fees %lld", slot, pg_market_mech_name(m),
               (long long)dust);
  } else if (auction) {
    assert_true(dust > -4); /* spread >= 0 minus dust */
  }
  pg_market_result_free(&r);
  pg_market_result_free(&r2);
}

static void test_random_slots(void **state) {
  (void)state;
  pg_market_producer p[MAXN];
  pg_market_consumer c[MAXN];
  pg_market_slot s;
  for (long k = 0; k < SLOTS; k++) {
    gen(&s, p, c);
    for (int m = 0; m < PG_MARKET_NMECH; m++) check(&s, (pg_market_mech)m, k);
  }
}

/* KPIs stay consistent over a random run with fixed participants. */
static void test_random_run(void **state) {
  (void)state;
  pg_market_producer p[MAXN];
  pg_market_consumer c[MAXN];
  pg_market_slot s;
  for (int m = 0; m < PG_MARKET_NMECH; m++) {
    pg_market_kpis k;
    assert_int_equal(pg_market_kpis_init(&k, 7, 5), PG_OK);
    int64_t sav = 0;
    for (int t = 0; t < 50; t++) {
      gen(&s, p, c);
      s.n_consumers = 7;
      s.n_producers = 5;
      if (s.import_price > 100000) s.import_price = 100000; /* keep run sums small */
      if (s.export_price > s.import_price) s.export_price = s.import_price;
      for (int i = 0; i < 7; i++) c[i].usage_wh %= 1000000;
      for (int j = 0; j < 5; j++) p[j].output_wh %= 1000000;
      pg_market_result r;
      assert_int_equal(pg_market_settle(&s, (pg_market_mech)m, &r, NULL), PG_OK);
      assert_int_equal(pg_market_kpis_add(&k, &r), PG_OK);
      pg_market_result_free(&r);
    }
    for (int i = 0; i < 7; i++) sav += k.consumer_savings[i];
    for (int j = 0; j < 5; j++) sav += k.producer_savings[j];
    assert_int_equal(sav, k.total_savings);
    assert_true(pg_market_kpis_self_sufficiency_ppm(&k) <= 1000000);
    assert_true(pg_market_kpis_self_consumption_ppm(&k) <= 1000000);
    uint32_t g;
    assert_int_equal(pg_market_kpis_gini_ppm(&k, &g), PG_OK);
    assert_true(g < 1000000);
    pg_market_kpis_free(&k);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_random_slots),
      cmocka_unit_test(test_random_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
