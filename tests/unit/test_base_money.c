/* Unit tests for money.c: exact display of amounts and prices, the amount
 * parser and the [money] config section. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/money.h"

static pg_money money(const char *cur, uint64_t upc, unsigned dec) {
  pg_money m;
  pg_money_default(&m);
  snprintf(m.currency, sizeof m.currency, "%s", cur);
  m.units_per_currency = upc;
  m.decimals = dec;
  return m;
}

/* b (of length n as returned) is want; what names the call. */
static void expect_text(const char *what, const char *b, size_t n, const char *want) {
  if (strcmp(b, want) != 0) fail_msg("%s: '%s', want '%s'", what, b, want);
  assert_int_equal(n, strlen(want));
}

static void expect_fmt(const pg_money *m, int64_t v, const char *want) {
  char b[PG_MONEY_FMT_MAX];
  expect_text("format", b, pg_money_format(m, v, b, sizeof b), want);
}

static void expect_price(const pg_money *m, uint64_t v, const char *want) {
  char b[PG_MONEY_FMT_MAX];
  expect_text("price", b, pg_money_format_price(m, v, b, sizeof b), want);
}

static void test_default_is_base_units(void **st) {
  (void)st;
  pg_money m;
  pg_money_default(&m);
  assert_string_equal(m.currency, "i");
  assert_int_equal(m.units_per_currency, 1);
  assert_int_equal(m.decimals, 0);
  expect_fmt(&m, 2343151525, "2,343,151,525 i");
  expect_fmt(&m, 0, "0 i");
  expect_fmt(&m, 999, "999 i");
  expect_fmt(&m, 1000, "1,000 i");
  expect_fmt(&m, -1000, "-1,000 i");
  expect_fmt(&m, 100000, "100,000 i");
  expect_price(&m, 300000000, "300,000,000 i/kWh");
}

static void test_euro(void **st) {
  (void)st;
  pg_money m = money("EUR", 1000000000, 2);
  expect_fmt(&m, 2343151525, "2.34 EUR");
  expect_fmt(&m, 1234567890123, "1,234.57 EUR");
  expect_fmt(&m, -50000000, "-0.05 EUR");
  expect_fmt(&m, 0, "0.00 EUR");
  /* half away from zero, both signs */
  expect_fmt(&m, 5000000, "0.01 EUR");
  expect_fmt(&m, 4999999, "0.00 EUR");
  expect_fmt(&m, -5000000, "-0.01 EUR");
  expect_fmt(&m, -4999999, "0.00 EUR"); /* rounds to zero: no sign */
  expect_fmt(&m, 994999999, "0.99 EUR");
  expect_fmt(&m, 995000000, "1.00 EUR");
  expect_fmt(&m, 999999999995000000, "1,000,000,000.00 EUR");
  expect_price(&m, 300000000, "0.3000 EUR/kWh");
  {
    char b[PG_MONEY_FMT_MAX];
    expect_text("price per m3", b,
                pg_money_format_price_per(&m, 1500000000, "m\xc2\xb3", b, sizeof b),
                "1.5000 EUR/m\xc2\xb3");
  }
  expect_price(&m, 123456789, "0.1235 EUR/kWh");
  expect_price(&m, 0, "0.0000 EUR/kWh");
}

static void test_extremes(void **st) {
  (void)st;
  pg_money b;
  pg_money_default(&b);
  expect_fmt(&b, INT64_MAX, "9,223,372,036,854,775,807 i");
  expect_fmt(&b, INT64_MIN, "-9,223,372,036,854,775,808 i");
  pg_money m9 = money("EUR", 1000000000, 9);
  expect_fmt(&m9, INT64_MAX, "9,223,372,036.854775807 EUR");
  expect_fmt(&m9, INT64_MIN, "-9,223,372,036.854775808 EUR");
  expect_fmt(&m9, 1, "0.000000001 EUR");
  expect_fmt(&m9, -1, "-0.000000001 EUR");
  pg_money m0 = money("EUR", 1000000000, 0);
  expect_fmt(&m0, INT64_MAX, "9,223,372,037 EUR");
  expect_fmt(&m0, INT64_MIN, "-9,223,372,037 EUR");
  expect_fmt(&m0, 499999999, "0 EUR");
  expect_fmt(&m0, 500000000, "1 EUR");
  expect_fmt(&m0, -500000000, "-1 EUR");
  /* decimals 9 on base units: exact zeros, no overflow */
  pg_money bi9 = money("i", 1, 9);
  expect_fmt(&bi9, INT64_MIN, "-9,223,372,036,854,775,808.000000000 i");
  expect_price(&bi9, UINT64_MAX, "18,446,744,073,709,551,615 i/kWh");
  pg_money maxu = money("X", PG_MONEY_MAX_UNITS_PER_CURRENCY, 9);
  expect_fmt(&maxu, INT64_MAX, "1,024.000000000 X");
  expect_price(&maxu, UINT64_MAX, "2,048.00000000000 X/kWh");
}

static void test_not_power_of_ten(void **st) {
  (void)st;
  pg_money m = money("T", 3, 2);
  expect_fmt(&m, 1, "0.33 T");
  expect_fmt(&m, 2, "0.67 T");
  expect_fmt(&m, -2, "-0.67 T");
  expect_fmt(&m, 3, "1.00 T");
  expect_fmt(&m, 3000, "1,000.00 T");
  pg_money h = money("H", 3, 1); /* 1/3 = 0.333 -> 0.3 */
  expect_fmt(&h, 1, "0.3 H");
  pg_money q = money("Q", 8, 2); /* 1/8 = 0.125 -> 0.13 (half away from zero) */
  expect_fmt(&q, 1, "0.13 Q");
  expect_fmt(&q, -1, "-0.13 Q");
  expect_fmt(&q, 3, "0.38 Q");
  /* a price never shows more digits than a base unit resolves: 1/3 -> 1 digit */
  expect_price(&m, 1, "0.3 T/kWh");
  pg_money k = money("K", 1000, 2);
  expect_price(&k, 1, "0.001 K/kWh");
}

static void test_truncation(void **st) {
  (void)st;
  pg_money m = money("EUR", 1000000000, 2);
  char b[6];
  memset(b, 'x', sizeof b);
  assert_int_equal(pg_money_format(&m, 1234567890123, b, sizeof b), strlen("1,234.57 EUR"));
  assert_string_equal(b, "1,234");
  assert_int_equal(pg_money_format(&m, 1, b, 0), strlen("0.00 EUR"));
  assert_int_equal(b[0], '1'); /* cap 0: nothing written */
  char one[1];
  assert_int_equal(pg_money_format(&m, 1, one, 1), 8);
  assert_int_equal(one[0], '\0');
  /* an invalid pg_money formats as base units */
  pg_money bad = money("EUR", 0, 2);
  char b2[PG_MONEY_FMT_MAX];
  (void)pg_money_format(&bad, 1500, b2, sizeof b2);
  assert_string_equal(b2, "1,500 i");
  bad = money("EUR", 1000, 10);
  (void)pg_money_format(&bad, 1500, b2, sizeof b2);
  assert_string_equal(b2, "1,500 i");
}

static void test_parse_amount(void **st) {
  (void)st;
  static const struct { const char *s; uint64_t v; } ok[] = {
      {"0", 0},          {"7", 7},           {"7i", 7},          {"5Ki", 5000},
      {"300Mi", 300000000}, {"0.25Mi", 250000}, {"1Gi", 1000000000}, {"1.5Gi", 1500000000},
      {"0.000001Mi", 1}, {"2.0i", 2},         {"1.000000000Gi", 1000000000},
      {"18446744073709551615", UINT64_MAX},  {"18446744073.709551615Gi", UINT64_MAX}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    uint64_t v = 1;
    if (pg_money_parse_amount(ok[i].s, &v) != PG_OK) fail_msg("'%s' rejected", ok[i].s);
    if (v != ok[i].v) fail_msg("'%s' -> %llu", ok[i].s, (unsigned long long)v);
  }
  static const char *const bad[] = {"",     "-1",    "+1",     ".5",   "1.",    "0.5i",
                                     "1e3",  "0x10",  "1 Mi",   "1mi",  "1MI",   "1Ti",
                                     "1Mi ", "0.0000001Mi", "18446744073709551616",
                                     "18446744073.709551616Gi", "20000000000Gi", "1..2",
                                     "1.0000000000000000001Gi", NULL};
  for (size_t i = 0; bad[i]; i++) {
    uint64_t v = 42;
    if (pg_money_parse_amount(bad[i], &v) == PG_OK) fail_msg("'%s' accepted", bad[i]);
    assert_int_equal(v, 42);
  }
  uint64_t v;
  assert_int_equal(pg_money_parse_amount(NULL, &v), PG_ERR_INVALID);
}

static pg_config *load(const char *text) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  if (pg_config_load_string(c, "grid.ini", text, strlen(text), &d)) fail_msg("%s", d.msg);
  return c;
}

static void test_config(void **st) {
  (void)st;
  pg_config *c = load("[money]\ncurrency = EUR\nunits_per_currency = 1Gi\ndecimals = 2\n");
  pg_money m;
  pg_diag d = {{0}};
  assert_int_equal(pg_money_from_config(c, "money", &m, &d), PG_OK);
  assert_string_equal(m.currency, "EUR");
  assert_int_equal(m.units_per_currency, 1000000000);
  assert_int_equal(m.decimals, 2);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  pg_config_free(c);

  c = load("[other]\nx = 1\n");
  m = money("ZZZ", 5, 5);
  assert_int_equal(pg_money_from_config(c, "money", &m, &d), PG_OK);
  assert_string_equal(m.currency, "i");
  assert_int_equal(m.units_per_currency, 1);
  assert_int_equal(m.decimals, 0);
  pg_config_free(c);

  c = load("[money]\ncurrency = ABCDEFGHIJKLMNO\nunits_per_currency = 3\ndecimals = 9\n");
  assert_int_equal(pg_money_from_config(c, "money", &m, &d), PG_OK);
  assert_string_equal(m.currency, "ABCDEFGHIJKLMNO");
  assert_int_equal(m.units_per_currency, 3);
  assert_int_equal(m.decimals, 9);
  pg_config_free(c);

  c = load("[money]\nunits_per_currency = 9007199254740991\n");
  assert_int_equal(pg_money_from_config(c, "money", &m, &d), PG_OK);
  assert_int_equal(m.units_per_currency, PG_MONEY_MAX_UNITS_PER_CURRENCY);
  pg_config_free(c);
}

static void expect_config_error(const char *text, const char *needle) {
  pg_config *c = load(text);
  pg_money m = money("KEEP", 7, 1);
  pg_diag d = {{0}};
  assert_int_equal(pg_money_from_config(c, "money", &m, &d), PG_ERR_CONFIG);
  if (!strstr(d.msg, needle)) fail_msg("diag '%s' lacks '%s'", d.msg, needle);
  assert_string_equal(m.currency, "KEEP"); /* unchanged on failure */
  assert_int_equal(m.units_per_currency, 7);
  pg_config_free(c);
}

static void test_config_errors(void **st) {
  (void)st;
  expect_config_error("[money]\ncurrency = E-U\n",
                      "grid.ini:2: [money] currency: 'E-U' is not 1 to 15 letters");
  expect_config_error("[money]\ncurrency = ABCDEFGHIJKLMNOP\n", "[money] currency");
  expect_config_error("[money]\ncurrency = EUR1\n", "[money] currency");
  expect_config_error("[money]\ncurrency = \xe2\x82\xac\n", "[money] currency");
  expect_config_error("[money]\nunits_per_currency = 0\n",
                      "grid.ini:2: [money] units_per_currency: '0' is not an amount");
  expect_config_error("[money]\nunits_per_currency = 9007199254740992\n", "units_per_currency");
  expect_config_error("[money]\nunits_per_currency = 1.5i\n", "units_per_currency");
  expect_config_error("[money]\nunits_per_currency = -1\n", "units_per_currency");
  expect_config_error("[money]\ndecimals = 10\n", "grid.ini:2: [money] decimals");
  expect_config_error("[money]\ndecimals = -1\n", "[money] decimals");
  expect_config_error("[money]\ncurrency = EUR\ndecimals = two\n", "[money] decimals");
}

static void test_check_and_json(void **st) {
  (void)st;
  pg_money m = money("EUR", 1000000000, 2);
  assert_int_equal(pg_money_check(&m, NULL), PG_OK);
  json_t *j = pg_money_json(&m);
  assert_non_null(j);
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(s, "{\"currency\":\"EUR\",\"decimals\":2,\"unitsPerCurrency\":1000000000}");
  free(s);
  json_decref(j);
  pg_diag d = {{0}};
  m.decimals = 10;
  assert_int_equal(pg_money_check(&m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "decimals"));
  m = money("", 1, 0);
  assert_int_equal(pg_money_check(&m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "currency"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_is_base_units), cmocka_unit_test(test_euro),
      cmocka_unit_test(test_extremes),              cmocka_unit_test(test_not_power_of_ten),
      cmocka_unit_test(test_truncation),            cmocka_unit_test(test_parse_amount),
      cmocka_unit_test(test_config),                cmocka_unit_test(test_config_errors),
      cmocka_unit_test(test_check_and_json),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
