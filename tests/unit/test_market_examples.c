/* Hand-worked settlements for every mechanism (include/p2pgrid/market/market.h):
 * S > D, S < D, S = D, S = 0, D = 0, one participant, price ties, rounding
 * ties, fees, errors. Numbers in the comments are worked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/market/market.h"

#define NOPRICE UINT64_MAX
#define P(wh, ask) {NULL, (wh), (ask) == NOPRICE ? 0 : (ask), (ask) != NOPRICE}
#define C(wh, bid) {NULL, (wh), (bid) == NOPRICE ? 0 : (bid), (bid) != NOPRICE, 0, 0}

static pg_market_slot mkslot(const pg_market_producer *p, size_t np, const pg_market_consumer *c,
                             size_t nc, uint64_t lb, uint64_t ls) {
  pg_market_slot s = {p, np, c, nc, lb, ls, 0, 0, lb, ls, 0, NULL, 0};
  return s;
}

/* settles and checks consumer totals, producer totals and grid income */
static void expect(const pg_market_slot *s, pg_market_mech m, const int64_t *ctot,
                   const int64_t *ptot, int64_t grid) {
  pg_market_result r;
  pg_diag d = {{0}};
  int rc = pg_market_settle(s, m, &r, &d);
  if (rc) fail_msg("%s: %s", pg_market_mech_name(m), d.msg);
  for (size_t i = 0; i < r.n_consumers; i++)
    if (r.consumers[i].total != ctot[i])
      fail_msg("%s: consumer %zu pays %lld, expected %lld", pg_market_mech_name(m), i,
               (long long)r.consumers[i].total, (long long)ctot[i]);
  for (size_t j = 0; j < r.n_producers; j++)
    if (r.producers[j].total != ptot[j])
      fail_msg("%s: producer %zu earns %lld, expected %lld", pg_market_mech_name(m), j,
               (long long)r.producers[j].total, (long long)ptot[j]);
  if (r.grid_income != grid)
    fail_msg("%s: grid income %lld, expected %lld", pg_market_mech_name(m),
             (long long)r.grid_income, (long long)grid);
  assert_int_equal(r.consumer_payments, r.producer_revenues + r.grid_income +
                                            r.utility_import_cost - r.utility_export_income);
  pg_market_result_free(&r);
}

/* lambda_b 300, lambda_s 100. p0 2000 Wh ask 150, p1 1000 Wh ask 120;
 * c0 1000 Wh bid 250, c1 500 Wh bid 200. S 3000 > D 1500, E 1500 (export
 * income 150). */
static void test_surplus(void **state) {
  (void)state;
  pg_market_producer p[] = {P(2000, 150), P(1000, 120)};
  pg_market_consumer c[] = {C(1000, 250), C(500, 200)};
  pg_market_slot s = mkslot(p, 2, c, 2, 300, 100);
  s.fixed_buy_price = 250;
  s.fixed_sell_price = 150;
  /* fixed: 250, 125 | 300, 150; grid 375 - 450 + 150 */
  expect(&s, PG_MARKET_FIXED, (int64_t[]){250, 125}, (int64_t[]){300, 150}, 75);
  /* pay-as-clear: c0-p1 1000 Wh, c1-p0 500 Wh; last bid 200, ask 150: p* 175.
   * c0 175, c1 87.5 -> total 262.5 rounded down to 262 (c1 87).
   * p1 175, p0 87.5 + 1500*0.1 = 237.5 -> total 412.5 up to 413 (p0 238).
   * grid 262 - 413 + 150 = -1 (rounding borne by the grid) */
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){175, 87}, (int64_t[]){238, 175}, -1);
  /* pay-as-bid: c0 250, c1 100; p1 250 (c0's bid), p0 100 + 150 */
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){250, 100}, (int64_t[]){250, 250}, 0);
  /* mmr: P_mid 200; buyers 200, 100; sellers share 300 + 150 = 450 2:1 */
  expect(&s, PG_MARKET_MMR, (int64_t[]){200, 100}, (int64_t[]){300, 150}, 0);
  /* sdr: SDR 2 > 1, both prices lambda_s */
  expect(&s, PG_MARKET_SDR, (int64_t[]){100, 50}, (int64_t[]){200, 100}, 0);

  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_PAY_AS_CLEAR, &r, NULL), PG_OK);
  assert_true(r.has_price);
  assert_true(r.buy_price == 175.0);
  assert_int_equal(r.matched_wh, 1500);
  assert_int_equal(r.export_wh, 1500);
  assert_int_equal(r.producers[0].community_wh, 500);
  assert_int_equal(r.producers[0].utility_wh, 1500);
  assert_int_equal(r.producers[0].baseline, 200);
  assert_int_equal(r.producers[0].savings, 38);
  assert_int_equal(r.consumers[0].baseline, 300);
  assert_int_equal(r.consumers[0].savings, 125);
  pg_market_result_free(&r);
}

/* lambda_b 300, lambda_s 100. p0 600 Wh ask 150; c0 1000 Wh bid 250, c1
 * 1000 Wh without bid (= 300). S 600 < D 2000, I 1400: import cost 420. */
static void test_shortfall(void **state) {
  (void)state;
  pg_market_producer p[] = {P(600, 150)};
  pg_market_consumer c[] = {C(1000, 250), C(1000, NOPRICE)};
  pg_market_slot s = mkslot(p, 1, c, 2, 300, 100);
  /* fixed at the utility prices: 300 each, p0 60; grid 600 - 60 - 420 */
  expect(&s, PG_MARKET_FIXED, (int64_t[]){300, 300}, (int64_t[]){60}, 120);
  /* pay-as-clear: c1 (300) first: 600 Wh, p* (300+150)/2 = 225.
   * c1 135 + 400 Wh * 0.3 = 255; c0 imports all, 300; p0 135. */
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){300, 255}, (int64_t[]){135}, 0);
  /* pay-as-bid: c1 180 + 120; p0 180 */
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){300, 300}, (int64_t[]){180}, 0);
  /* mmr: sellers P_mid 200: 120; buyers share 120 + 420 = 540 */
  expect(&s, PG_MARKET_MMR, (int64_t[]){270, 270}, (int64_t[]){120}, 0);
  /* sdr: SDR 0.3, P_sell 30000/(200*0.3+100) = 187.5, P_buy 266.25.
   * p0 112.5 up to 113; buyers 532.5 down to 532, 266 each; grid -1 */
  expect(&s, PG_MARKET_SDR, (int64_t[]){266, 266}, (int64_t[]){113}, -1);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_SDR, &r, NULL), PG_OK);
  assert_true(r.sell_price == 187.5);
  assert_true(r.buy_price == 266.25);
  assert_int_equal(r.utility_import_cost, 420);
  assert_int_equal(r.consumers[0].community_wh, 300);
  assert_int_equal(r.consumers[1].community_wh, 300);
  pg_market_result_free(&r);
}

/* one producer, one consumer, S = D = 1000; lambda 300/100 */
static void test_balanced(void **state) {
  (void)state;
  pg_market_producer p[] = {P(1000, 100)};
  pg_market_consumer c[] = {C(1000, 300)};
  pg_market_slot s = mkslot(p, 1, c, 1, 300, 100);
  expect(&s, PG_MARKET_FIXED, (int64_t[]){300}, (int64_t[]){100}, 200);
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){200}, (int64_t[]){200}, 0);
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){300}, (int64_t[]){300}, 0);
  expect(&s, PG_MARKET_MMR, (int64_t[]){200}, (int64_t[]){200}, 0);
  expect(&s, PG_MARKET_SDR, (int64_t[]){100}, (int64_t[]){100}, 0); /* SDR = 1: lambda_s */
}

/* S = 0 (a producer with no output; also: one participant) and D = 0 */
static void test_empty_sides(void **state) {
  (void)state;
  pg_market_producer p0[] = {P(0, 150)};
  pg_market_consumer c[] = {C(1000, NOPRICE)};
  pg_market_slot s = mkslot(p0, 1, c, 1, 300, 100);
  for (int m = 0; m < PG_MARKET_NMECH; m++)
    expect(&s, (pg_market_mech)m, (int64_t[]){300}, (int64_t[]){0}, 0);
  pg_market_slot one = mkslot(NULL, 0, c, 1, 300, 100);
  for (int m = 0; m < PG_MARKET_NMECH; m++)
    expect(&one, (pg_market_mech)m, (int64_t[]){300}, NULL, 0);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_PAY_AS_CLEAR, &r, NULL), PG_OK);
  assert_false(r.has_price);
  assert_int_equal(r.import_wh, 1000);
  assert_int_equal(r.consumers[0].utility_wh, 1000);
  pg_market_result_free(&r);

  pg_market_producer p[] = {P(1000, NOPRICE)};
  pg_market_consumer c0[] = {C(0, 250)};
  pg_market_slot t = mkslot(p, 1, c0, 1, 300, 100);
  for (int m = 0; m < PG_MARKET_NMECH; m++)
    expect(&t, (pg_market_mech)m, (int64_t[]){0}, (int64_t[]){100}, 0);
  pg_market_slot onep = mkslot(p, 1, NULL, 0, 300, 100);
  for (int m = 0; m < PG_MARKET_NMECH; m++)
    expect(&onep, (pg_market_mech)m, NULL, (int64_t[]){100}, 0);
  pg_market_slot none = mkslot(NULL, 0, NULL, 0, 300, 100);
  for (int m = 0; m < PG_MARKET_NMECH; m++) expect(&none, (pg_market_mech)m, NULL, NULL, 0);
}

/* Price ties go to the lower index: p0 and p1 both ask 150 for 500 Wh; c0
 * wants 700 Wh at 250. p0 fills 500, p1 200. p* = 200: c0 140; p0 100,
 * p1 40 + 300 Wh * 0.1 = 70; export income 30. */
static void test_price_ties(void **state) {
  (void)state;
  pg_market_producer p[] = {P(500, 150), P(500, 150)};
  pg_market_consumer c[] = {C(700, 250)};
  pg_market_slot s = mkslot(p, 2, c, 1, 300, 100);
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){140}, (int64_t[]){100, 70}, 0);
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){175}, (int64_t[]){125, 80}, 0);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_PAY_AS_BID, &r, NULL), PG_OK);
  assert_int_equal(r.producers[0].community_wh, 500);
  assert_int_equal(r.producers[1].community_wh, 200);
  pg_market_result_free(&r);
  /* equal bids: c0 and c1 bid 250 for 400 Wh each; p0 sells 500 Wh at 100:
   * c0 gets 400, c1 100. p* 175: c0 70, c1 17.5 + 300 Wh * 0.3 = 107.5;
   * total 177.5 down to 177: the tie of remainders goes nowhere (c0 exact). */
  pg_market_producer q[] = {P(500, 100)};
  pg_market_consumer e[] = {C(400, 250), C(400, 250)};
  pg_market_slot t = mkslot(q, 1, e, 2, 300, 100);
  expect(&t, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){70, 107}, (int64_t[]){88}, -1);
}

/* Bids and asks outside the utility prices. S = D = 1000, lambda 300/100.
 * c0 bids 80 (< lambda_s) and p0 asks 50 (effective 100): no community trade,
 * c0 imports at 300, p0 exports at 100, and the grid, which physically
 * passes the energy on, keeps the spread: 300 - 100 = 200. With c0 bidding
 * 500 (effective 300) and p0 asking 400 (> lambda_b) nothing matches either.
 * With c0 bidding 500 and p0 asking 50: effective 300 and 100, p* 200. */
static void test_outside_prices(void **state) {
  (void)state;
  pg_market_producer p[] = {P(1000, 50)};
  pg_market_consumer c[] = {C(1000, 80)};
  pg_market_slot s = mkslot(p, 1, c, 1, 300, 100);
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){300}, (int64_t[]){100}, 200);
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){300}, (int64_t[]){100}, 200);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_PAY_AS_CLEAR, &r, NULL), PG_OK);
  assert_int_equal(r.matched_wh, 0);
  assert_int_equal(r.import_wh, 0);
  assert_int_equal(r.consumers[0].utility_wh, 1000);
  pg_market_result_free(&r);
  c[0].bid_per_kwh = 500;
  p[0].ask_per_kwh = 400;
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){300}, (int64_t[]){100}, 200);
  p[0].ask_per_kwh = 50;
  expect(&s, PG_MARKET_PAY_AS_CLEAR, (int64_t[]){200}, (int64_t[]){200}, 0);
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){300}, (int64_t[]){300}, 0);
}

/* Largest remainder with tied remainders: three consumers of 1 Wh at 500 per
 * kWh (fixed): exact 0.5 each, total 1.5 down to 1, the unit goes to c0.
 * Import cost ceil(1.5) = 2, so the grid bears -1. */
static void test_rounding_ties(void **state) {
  (void)state;
  pg_market_consumer c[] = {C(1, NOPRICE), C(1, NOPRICE), C(1, NOPRICE)};
  pg_market_slot s = mkslot(NULL, 0, c, 3, 500, 0);
  expect(&s, PG_MARKET_FIXED, (int64_t[]){1, 0, 0}, NULL, -1);
  expect(&s, PG_MARKET_MMR, (int64_t[]){1, 0, 0}, NULL, -1);
}

/* Fees on the surplus slot, pay-as-bid: perKwh 10 on 1500 matched Wh = 15
 * split 10/5 by community Wh; 10% of charges 350 = 35 split 25/10. */
static void test_fees(void **state) {
  (void)state;
  pg_market_producer p[] = {P(2000, 150), P(1000, 120)};
  pg_market_consumer c[] = {C(1000, 250), C(500, 200)};
  pg_market_slot s = mkslot(p, 2, c, 2, 300, 100);
  s.fee_per_kwh = 10;
  s.fee_bp = 1000;
  expect(&s, PG_MARKET_PAY_AS_BID, (int64_t[]){285, 115}, (int64_t[]){250, 250}, 50);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_PAY_AS_BID, &r, NULL), PG_OK);
  assert_int_equal(r.fees, 50);
  assert_int_equal(r.consumers[0].amount, 250);
  assert_int_equal(r.consumers[0].fee, 35);
  pg_market_result_free(&r);
}

static void test_errors(void **state) {
  (void)state;
  pg_market_producer p[] = {P(-1, 150)};
  pg_market_consumer c[] = {C(10, NOPRICE)};
  pg_market_result r;
  pg_diag d = {{0}};
  pg_market_slot s = mkslot(NULL, 0, c, 1, 100, 200);
  assert_int_equal(pg_market_settle(&s, PG_MARKET_MMR, &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "import price 100 below export price 200"));
  s = mkslot(p, 1, c, 1, 300, 100);
  assert_int_equal(pg_market_settle(&s, PG_MARKET_MMR, &r, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "producer 0"));
  s = mkslot(NULL, 0, c, 1, PG_MARKET_MAX_PRICE + 1, 100);
  assert_int_equal(pg_market_settle(&s, PG_MARKET_MMR, &r, &d), PG_ERR_TOO_LARGE);
  s = mkslot(NULL, 0, c, 1, 300, 100);
  s.fee_bp = 10001;
  assert_int_equal(pg_market_settle(&s, PG_MARKET_MMR, &r, &d), PG_ERR_INVALID);
  assert_int_equal(pg_market_settle(&s, (pg_market_mech)7, &r, &d), PG_ERR_INVALID);
  pg_market_mech m;
  assert_int_equal(pg_market_mech_parse("sdr", &m, &d), PG_OK);
  assert_int_equal(m, PG_MARKET_SDR);
  assert_int_equal(pg_market_mech_parse("pay-as-clear", &m, &d), PG_OK);
  assert_int_equal(m, PG_MARKET_PAY_AS_CLEAR);
  assert_int_equal(pg_market_mech_parse("auction", &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "auction"));
}

/* KPIs over two slots and the Gini coefficient. */
static void test_kpis(void **state) {
  (void)state;
  uint32_t g;
  assert_int_equal(pg_market_gini_ppm((int64_t[]){5, 5, 5}, 3, &g), PG_OK);
  assert_int_equal(g, 0);
  /* shifted {0, 0, 0, 1}: sum |xi-xj| = 6, / (2*4*1) = 0.75 */
  assert_int_equal(pg_market_gini_ppm((int64_t[]){-3, -3, -3, -2}, 4, &g), PG_OK);
  assert_int_equal(g, 750000);
  /* {0, 10}: 20 / (2*2*10) = 0.5 */
  assert_int_equal(pg_market_gini_ppm((int64_t[]){0, 10}, 2, &g), PG_OK);
  assert_int_equal(g, 500000);

  pg_market_producer p[] = {P(600, 150)};
  pg_market_consumer c[] = {C(1000, 250), C(1000, NOPRICE)};
  pg_market_slot s = mkslot(p, 1, c, 2, 300, 100);
  pg_market_kpis k;
  assert_int_equal(pg_market_kpis_init(&k, 2, 1), PG_OK);
  pg_market_result r;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pg_market_settle(&s, PG_MARKET_MMR, &r, NULL), PG_OK);
    assert_int_equal(pg_market_kpis_add(&k, &r), PG_OK);
    pg_market_result_free(&r);
  }
  /* demand 4000, supply 1200, community 1200 */
  assert_int_equal(pg_market_kpis_self_sufficiency_ppm(&k), 300000);
  assert_int_equal(pg_market_kpis_self_consumption_ppm(&k), 1000000);
  /* bills 270+270 per slot; savings: consumers 30 each, producer 60 per slot */
  assert_int_equal(k.consumer_bill[0], 540);
  assert_int_equal(k.consumer_savings[1], 60);
  assert_int_equal(k.producer_savings[0], 120);
  assert_int_equal(k.total_savings, 240);
  /* savings {60, 60, 120}: shifted {0, 0, 60}: 240 / (2*3*60) = 2/3 */
  assert_int_equal(pg_market_kpis_gini_ppm(&k, &g), PG_OK);
  assert_int_equal(g, 666666);
  pg_market_kpis k2;
  assert_int_equal(pg_market_kpis_init(&k2, 1, 1), PG_OK);
  assert_int_equal(pg_market_settle(&s, PG_MARKET_MMR, &r, NULL), PG_OK);
  assert_int_equal(pg_market_kpis_add(&k2, &r), PG_ERR_INVALID);
  pg_market_result_free(&r);
  pg_market_kpis_free(&k2);
  pg_market_kpis_free(&k);

  /* a run sum that would overflow is refused and leaves the KPIs unchanged */
  pg_market_party big = {0, 0, INT64_MAX / 2 + 1, 0, INT64_MAX / 2 + 1, 0, 0};
  pg_market_result rb;
  memset(&rb, 0, sizeof rb);
  rb.consumers = &big;
  rb.n_consumers = 1;
  assert_int_equal(pg_market_kpis_init(&k, 1, 0), PG_OK);
  assert_int_equal(pg_market_kpis_add(&k, &rb), PG_OK);
  assert_int_equal(pg_market_kpis_add(&k, &rb), PG_ERR_TOO_LARGE);
  assert_int_equal(k.slots, 1);
  assert_int_equal(k.consumer_bill[0], INT64_MAX / 2 + 1);
  pg_market_kpis_free(&k);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_surplus),     cmocka_unit_test(test_shortfall),
      cmocka_unit_test(test_balanced),    cmocka_unit_test(test_empty_sides),
      cmocka_unit_test(test_price_ties),  cmocka_unit_test(test_outside_prices),
      cmocka_unit_test(test_rounding_ties),
      cmocka_unit_test(test_fees),        cmocka_unit_test(test_errors),
      cmocka_unit_test(test_kpis),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
