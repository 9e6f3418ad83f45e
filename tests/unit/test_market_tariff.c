/* tariff.h: a member's month, hand-computed cases and properties:
 * - VAT never rounds against the member: vat * 10000 <= net * vat_bp <
 *   (vat + 1) * 10000; the capacity charge and the peak likewise;
 * - totals are the sums of the lines; monthly = membership + capacity + VAT;
 * - config and exact amount/VAT parsing, errors naming file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/market/tariff.h"

__extension__ typedef unsigned __int128 u128;

/* 15-minute slots, 5 Mi membership, 2 Mi per kW peak, 20 % VAT, 30 Ki/kWh
 * grid-fee reduction:
 *   energy 100000 + 250001 = 350001, fees 1000 + 2500 = 3500,
 *   peak 1250 Wh in 15 min = 5000 W, capacity 5000 * 2000000 / 1000 = 10000000,
 *   net 350001 + 3500 + 5000000 + 10000000 = 15353501,
 *   VAT 15353501 * 0.2 = 3070700.2 -> 3070700, total 18424201,
 *   monthly 5000000 + 10000000 + 3070700 = 18070700,
 *   savings (200 + 1000) Wh * 30000 / 1000 = 36000. */
static void test_consumer_hand(void **st) {
  (void)st;
  pg_tariff t = {.membership_fee = 5000000, .capacity_price = 2000000, .vat_bp = 2000,
                 .grid_fee_reduction_per_kwh = 30000};
  pg_tariff_slot s[3] = {{500, 200, 100000, 1000}, {1250, 1000, 250001, 2500}, {0, 0, 0, 0}};
  pg_tariff_month m;
  pg_diag d = {{0}};
  assert_int_equal(pg_tariff_consumer_month(&t, s, 3, 900000, &m, &d), PG_OK);
  assert_int_equal(m.slots, 3);
  assert_int_equal(m.energy_wh, 1750);
  assert_int_equal(m.community_wh, 1200);
  assert_int_equal(m.utility_wh, 550);
  assert_int_equal(m.energy, 350001);
  assert_int_equal(m.fees, 3500);
  assert_int_equal(m.membership, 5000000);
  assert_int_equal(m.peak_w, 5000);
  assert_int_equal(m.peak_slot, 1);
  assert_int_equal(m.capacity, 10000000);
  assert_int_equal(m.net, 15353501);
  assert_int_equal(m.vat, 3070700);
  assert_int_equal(m.total, 18424201);
  assert_int_equal(m.monthly, 18070700);
  assert_int_equal(m.savings, 36000);
}

/* Rounding down everywhere:
 *   slot 1234567 ms, 1000 Wh: 3.6e9 / 1234567 = 2916.0003 -> 2916 W;
 *   capacity 2916 * 1001 / 1000 = 2918.916 -> 2918;
 *   net 2918 + 9427 = 12345; VAT 7.7 %: 12345 * 770 / 10000 = 950.565 -> 950;
 *   savings 999 Wh * 1 / 1000 = 0.999 -> 0. */
static void test_rounding_down(void **st) {
  (void)st;
  pg_tariff t = {.capacity_price = 1001, .vat_bp = 770, .grid_fee_reduction_per_kwh = 1};
  pg_tariff_slot s[2] = {{1000, 999, 9000, 427}, {10, 0, 0, 0}};
  pg_tariff_month m;
  assert_int_equal(pg_tariff_consumer_month(&t, s, 2, 1234567, &m, NULL), PG_OK);
  assert_int_equal(m.peak_w, 2916);
  assert_int_equal(m.capacity, 2918);
  assert_int_equal(m.net, 12345);
  assert_int_equal(m.vat, 950);
  assert_int_equal(m.total, 13295);
  assert_int_equal(m.savings, 0);
}

/* No slots in the month: membership and its VAT only. */
static void test_membership_only(void **st) {
  (void)st;
  pg_tariff t = {.membership_fee = 1001, .capacity_price = 5, .vat_bp = 1000};
  pg_tariff_month m;
  assert_int_equal(pg_tariff_consumer_month(&t, NULL, 0, 900000, &m, NULL), PG_OK);
  assert_int_equal(m.net, 1001);
  assert_int_equal(m.vat, 100);
  assert_int_equal(m.total, 1101);
  assert_int_equal(m.monthly, 1101);
}

static void test_producer_credit(void **st) {
  (void)st;
  pg_tariff_slot s[2] = {{3000, 2000, 700, 0}, {100, 100, 31, 0}};
  pg_tariff_month m;
  assert_int_equal(pg_tariff_producer_month(s, 2, &m, NULL), PG_OK);
  assert_int_equal(m.energy, 731);
  assert_int_equal(m.total, 731);
  assert_int_equal(m.vat, 0);
  assert_int_equal(m.utility_wh, 1000);
  s[1].fee = 1;
  assert_int_equal(pg_tariff_producer_month(s, 2, &m, NULL), PG_ERR_INVALID);
}

static void test_invalid(void **st) {
  (void)st;
  pg_tariff t = {.vat_bp = 10001};
  pg_tariff_slot s[1] = {{10, 0, 1, 0}};
  pg_tariff_month m;
  pg_diag d = {{0}};
  assert_int_equal(pg_tariff_consumer_month(&t, s, 1, 900000, &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "VAT"));
  t.vat_bp = 0;
  s[0].community_wh = 11;
  assert_int_equal(pg_tariff_consumer_month(&t, s, 1, 900000, &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "slot 0"));
  s[0].community_wh = 0, s[0].amount = -1;
  assert_int_equal(pg_tariff_consumer_month(&t, s, 1, 900000, &m, &d), PG_ERR_INVALID);
  s[0].amount = 1;
  assert_int_equal(pg_tariff_consumer_month(&t, s, 1, 999, &m, &d), PG_ERR_INVALID);
  t.membership_fee = PG_TARIFF_MAX_AMOUNT + 1;
  assert_int_equal(pg_tariff_consumer_month(&t, s, 1, 900000, &m, &d), PG_ERR_TOO_LARGE);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static uint64_t below(uint64_t n) { return n ? rnd() % n : 0; }

static void test_properties(void **st) {
  (void)st;
  enum { N = 3000 };
  pg_tariff_slot *s = calloc(N, sizeof *s);
  assert_non_null(s);
  for (int run = 0; run < 2000; run++) {
    bool big = run % 3 == 0;
    pg_tariff t = {.membership_fee = below(big ? 1ull << 40 : 1000),
                   .capacity_price = below(big ? 1ull << 20 : 3000),
                   .vat_bp = (uint32_t)below(10001),
                   .grid_fee_reduction_per_kwh = below(big ? 1ull << 14 : 1ull << 30)};
    size_t n = (size_t)below(run % 10 == 0 ? N : 100);
    uint64_t slot_ms = 1000 + below(big ? 86400000 : 3600000);
    int64_t max = 0, energy = 0, fees = 0, comm = 0;
    for (size_t i = 0; i < n; i++) {
      s[i].energy_wh = (int64_t)below(big ? 1ull << 34 : 2000);
      s[i].community_wh = (int64_t)below((uint64_t)s[i].energy_wh + 1);
      s[i].amount = (int64_t)below(big ? 1ull << 45 : 1000);
      s[i].fee = (int64_t)below(big ? 1ull << 40 : 50);
      if (s[i].energy_wh > max) max = s[i].energy_wh;
      energy += s[i].amount, fees += s[i].fee, comm += s[i].community_wh;
    }
    pg_tariff_month m;
    assert_int_equal(pg_tariff_consumer_month(&t, s, n, slot_ms, &m, NULL), PG_OK);
    /* totals are the sums of the lines */
    assert_int_equal(m.energy, energy);
    assert_int_equal(m.fees, fees);
    assert_int_equal(m.community_wh, comm);
    assert_int_equal(m.membership, (int64_t)t.membership_fee);
    assert_int_equal(m.net, m.energy + m.fees + m.membership + m.capacity);
    assert_int_equal(m.total, m.net + m.vat);
    assert_int_equal(m.monthly, m.membership + m.capacity + m.vat);
    assert_int_equal(m.total, energy + fees + m.monthly);
    /* rounded down, by less than one unit: never against the member */
    u128 vx = (u128)m.net * t.vat_bp;
    assert_true((u128)m.vat * 10000 <= vx && vx < (u128)(m.vat + 1) * 10000);
    u128 px = (u128)max * 3600000;
    assert_true((u128)m.peak_w * slot_ms <= px && px < (u128)(m.peak_w + 1) * slot_ms);
    u128 cx = (u128)m.peak_w * t.capacity_price;
    assert_true((u128)m.capacity * 1000 <= cx && cx < (u128)(m.capacity + 1) * 1000);
    u128 sx = (u128)comm * t.grid_fee_reduction_per_kwh;
    assert_true((u128)m.savings * 1000 <= sx && sx < (u128)(m.savings + 1) * 1000);
    assert_true(m.peak_slot < (n ? n : 1));
    if (n) assert_int_equal(s[m.peak_slot].energy_wh, max);
    /* the monthly items alone give the same */
    pg_tariff_month m2;
    assert_int_equal(pg_tariff_monthly(&t, energy, fees, max, slot_ms, &m2, NULL), PG_OK);
    assert_int_equal(m2.monthly, m.monthly);
    assert_int_equal(m2.total, m.total);
  }
  free(s);
}

static void test_parse(void **st) {
  (void)st;
  uint32_t bp = 99;
  assert_int_equal(pg_tariff_parse_vat("20%", &bp), PG_OK);
  assert_int_equal(bp, 2000);
  assert_int_equal(pg_tariff_parse_vat("7.7%", &bp), PG_OK);
  assert_int_equal(bp, 770);
  assert_int_equal(pg_tariff_parse_vat("20.55 %", &bp), PG_OK);
  assert_int_equal(bp, 2055);
  assert_int_equal(pg_tariff_parse_vat("100%", &bp), PG_OK);
  assert_int_equal(bp, 10000);
  assert_int_equal(pg_tariff_parse_vat("0", &bp), PG_OK);
  assert_int_equal(bp, 0);
  const char *bad[] = {"20", "101%", "100.01%", "1.234%", "-1%", "", "%", "2 0%", "20%%", "1.%"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pg_tariff_parse_vat(bad[i], &bp), PG_ERR_INVALID);
}

static void test_config(void **st) {
  (void)st;
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  const char *ini = "[tariff]\nmembership_fee = 5Mi\ncapacity_price = 0.5Mi\nvat = 20%\n"
                    "grid_fee_reduction = 30Ki\n";
  assert_int_equal(pg_config_load_string(c, "t.ini", ini, strlen(ini), &d), PG_OK);
  pg_tariff t;
  assert_int_equal(pg_tariff_from_config(c, "tariff", &t, &d), PG_OK);
  assert_int_equal(t.membership_fee, 5000000);
  assert_int_equal(t.capacity_price, 500000);
  assert_int_equal(t.vat_bp, 2000);
  assert_int_equal(t.grid_fee_reduction_per_kwh, 30000);
  pg_config_free(c);

  assert_int_equal(pg_config_new(&c), PG_OK);
  const char *bad = "[tariff]\nmembership_fee = 5Mi\nvat = 20\n";
  assert_int_equal(pg_config_load_string(c, "t.ini", bad, strlen(bad), &d), PG_OK);
  assert_int_equal(pg_tariff_from_config(c, "tariff", &t, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "t.ini:3"));
  assert_non_null(strstr(d.msg, "vat"));
  assert_non_null(strstr(d.msg, "'20'"));
  pg_config_free(c);

  /* amounts as pg_money_parse_amount, bounded: a fraction of a base unit,
   * an unknown unit and an amount above the limit name the key */
  const char *bad_amounts[] = {"[tariff]\nmembership_fee = 1.5i\n",
                               "[tariff]\ncapacity_price = 2Ti\n",
                               "[tariff]\ngrid_fee_reduction = 99999999999Gi\n"};
  const char *keys[] = {"membership_fee", "capacity_price", "grid_fee_reduction"};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(pg_config_new(&c), PG_OK);
    assert_int_equal(pg_config_load_string(c, "t.ini", bad_amounts[i], strlen(bad_amounts[i]), &d),
                     PG_OK);
    assert_int_equal(pg_tariff_from_config(c, "tariff", &t, &d), PG_ERR_CONFIG);
    assert_non_null(strstr(d.msg, "t.ini:2"));
    assert_non_null(strstr(d.msg, keys[i]));
    pg_config_free(c);
  }

  assert_int_equal(pg_config_new(&c), PG_OK); /* all missing: zero */
  assert_int_equal(pg_tariff_from_config(c, "tariff", &t, &d), PG_OK);
  assert_int_equal(t.membership_fee + t.capacity_price + t.vat_bp, 0);
  pg_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_consumer_hand),  cmocka_unit_test(test_rounding_down),
      cmocka_unit_test(test_membership_only), cmocka_unit_test(test_producer_credit),
      cmocka_unit_test(test_invalid),        cmocka_unit_test(test_properties),
      cmocka_unit_test(test_parse),          cmocka_unit_test(test_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
