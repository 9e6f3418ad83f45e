/* Unit tests for src/market/market_config.c: the one parser of the market
 * keys of the grid daemon's [grid] and a scenario's [market] — defaults,
 * required prices, amount syntax (digits and i/Ki/Mi/Gi, exact), the
 * ranges (the stricter of the two former parsers), export <= import, the
 * fee_per_kwh alias, group rules, and members' prices with "none". Every
 * refusal names file, line, section and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/market/market_config.h"

static const pg_market_config_defaults SCENARIO = {.import_price = 300000000,
                                                   .export_price = 80000000};
static const pg_market_config_defaults GRID = {.prices_required = true};

static pg_config *load(const char *text) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_string(c, "m.ini", text, strlen(text), &d), PG_OK);
  return c;
}

/* Reads [market] of text; returns the status and the diag. */
static int read(const char *text, const pg_market_config_defaults *def, pg_market_config *m,
                pg_diag *d) {
  pg_config *c = load(text);
  int rc = pg_market_config_read(c, "market", def, m, d);
  pg_config_free(c);
  return rc;
}

static void test_defaults(void **state) {
  (void)state;
  pg_market_config m;
  pg_diag d = {{0}};
  assert_int_equal(read("[market]\n", &SCENARIO, &m, &d), PG_OK);
  assert_int_equal(m.mech, PG_MARKET_PAY_AS_CLEAR);
  assert_int_equal(m.import_price, 300000000);
  assert_int_equal(m.export_price, 80000000);
  assert_int_equal(m.fixed_buy_price, 300000000);
  assert_int_equal(m.fixed_sell_price, 80000000);
  assert_int_equal(m.community_price, pg_market_default_community_price(300000000, 80000000));
  assert_int_equal(m.fee_per_kwh, 0);
  assert_int_equal(m.fee_bp, 0);
  assert_int_equal(m.payout_min, 0);
  assert_int_equal(m.n_group_rules, 0);
  /* the grid daemon must state its utility prices */
  memset(&m, 0x77, sizeof m);
  pg_market_config before = m;
  assert_int_equal(read("[market]\nimport_price = 5\n", &GRID, &m, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "[market] export_price: required setting missing"));
  assert_memory_equal(&m, &before, sizeof m);
}

static void test_values(void **state) {
  (void)state;
  pg_market_config m;
  pg_diag d = {{0}};
  assert_int_equal(read("[market]\nmechanism = hierarchical\nimport_price = 250Mi\n"
                        "export_price = 80000000\nfee_per_kwh = 0.5Mi\nfee_bp = 150\n"
                        "fixed_buy_price = 1Gi\nfixed_sell_price = 7i\npayout_min = 1Mi\n"
                        "community_price = 120Mi\ngroup_rules = dynamic, static\n",
                        &GRID, &m, &d),
                   PG_OK);
  assert_int_equal(m.mech, PG_MARKET_HIERARCHICAL);
  assert_int_equal(m.import_price, 250000000);
  assert_int_equal(m.export_price, 80000000);
  assert_int_equal(m.fee_per_kwh, 500000);
  assert_int_equal(m.fee_bp, 150);
  assert_int_equal(m.fixed_buy_price, 1000000000);
  assert_int_equal(m.fixed_sell_price, 7);
  assert_int_equal(m.payout_min, 1000000);
  assert_int_equal(m.community_price, 120000000);
  assert_int_equal(m.n_group_rules, 2);
  assert_int_equal(m.group_rules[0], PG_SHARE_RULE_DYNAMIC);
  assert_int_equal(m.group_rules[1], PG_SHARE_RULE_STATIC);
  /* the new name of fee_per_kwh; the highest values allowed */
  assert_int_equal(read("[market]\nfee_per_unit = 3\nimport_price = 1073741824\n"
                        "payout_min = 9007199254740991\n",
                        &SCENARIO, &m, &d),
                   PG_OK);
  assert_int_equal(m.fee_per_kwh, 3);
  assert_int_equal(m.import_price, PG_MARKET_MAX_PRICE);
  assert_int_equal(m.payout_min, PG_MARKET_MAX_PAYOUT_MIN);
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    const char *text, *want;
  } cases[] = {
      {"[market]\nmechanism = barter\n", "m.ini:2: [market] mechanism: 'barter' is not a mechanism"},
      {"[market]\nimport_price = lots\n", "m.ini:2: [market] import_price: 'lots' is not an amount"},
      {"[market]\nimport_price = 1e3\n", "m.ini:2: [market] import_price"},
      {"[market]\nimport_price = 1073741825\n", "m.ini:2: [market] import_price"},
      {"[market]\nexport_price = 0.5i\n", "m.ini:2: [market] export_price"},
      {"[market]\nimport_price = 10\nexport_price = 11\n",
       "m.ini:3: [market] export_price: '11' is not at most import_price (10)"},
      {"[market]\nfee_per_kwh = 1Mi\nfee_per_unit = 2Mi\n",
       "[market] fee_per_unit and fee_per_kwh (its old name) are the same setting"},
      {"[market]\nfee_per_kwh = 2Gi\n", "m.ini:2: [market] fee_per_kwh"},
      {"[market]\nfee_bp = 10001\n", "m.ini:2: [market] fee_bp"},
      {"[market]\nfee_bp = 5Mi\n", "m.ini:2: [market] fee_bp"},
      {"[market]\nfixed_buy_price = 2Gi\n", "m.ini:2: [market] fixed_buy_price"},
      {"[market]\nfixed_sell_price = -1\n", "m.ini:2: [market] fixed_sell_price"},
      /* scenarios took up to 2^62 - 1 here, the grid 2^53 - 1: the stricter stays */
      {"[market]\npayout_min = 9007199254740992\n", "m.ini:2: [market] payout_min"},
      {"[market]\ncommunity_price = 2Gi\n", "m.ini:2: [market] community_price"},
      {"[market]\ngroup_rules = dynamic, fixed\n",
       "m.ini:2: [market] group_rules: 'dynamic, fixed' is not a list of static or dynamic"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pg_market_config m;
    pg_diag d = {{0}};
    if (read(cases[i].text, &SCENARIO, &m, &d) != PG_ERR_CONFIG)
      fail_msg("case %zu accepted: %s", i, cases[i].text);
    if (!strstr(d.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
  }
  /* 65 group rules (longer than an INI line: set directly) */
  char rules[1024] = "static";
  for (int g = 1; g <= PG_SHARE_MAX_GROUP + 1; g++) strcat(rules, ", static");
  pg_config *c = load("[market]\n");
  assert_int_equal(pg_config_set(c, "market", "group_rules", rules), PG_OK);
  pg_market_config m;
  pg_diag d = {{0}};
  assert_int_equal(pg_market_config_read(c, "market", &SCENARIO, &m, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "group_rules"));
  /* 64 are fine */
  rules[strlen(rules) - strlen(", static")] = '\0';
  assert_int_equal(pg_config_set(c, "market", "group_rules", rules), PG_OK);
  assert_int_equal(pg_market_config_read(c, "market", &SCENARIO, &m, &d), PG_OK);
  assert_int_equal(m.n_group_rules, PG_SHARE_MAX_GROUP + 1);
  pg_config_free(c);
}

static void test_member_price(void **state) {
  (void)state;
  pg_config *c = load("[p]\nask_per_kwh = 90Mi\nbid = none\nmax = \nbig = 2Gi\nodd = 1.5i\n");
  pg_diag d = {{0}};
  bool has = true;
  uint64_t v = 42;
  /* missing: no price, the value untouched */
  assert_int_equal(pg_market_config_price(c, "p", "cap", NULL, PG_MARKET_MAX_PRICE, true, &has,
                                          &v, &d),
                   PG_OK);
  assert_false(has);
  assert_int_equal(v, 42);
  /* under its old name */
  assert_int_equal(pg_market_config_price(c, "p", "ask_per_unit", "ask_per_kwh",
                                          PG_MARKET_MAX_PRICE, true, &has, &v, &d),
                   PG_OK);
  assert_true(has);
  assert_int_equal(v, 90000000);
  /* "none" and empty: no price where a member may state none */
  assert_int_equal(pg_market_config_price(c, "p", "bid", NULL, PG_MARKET_MAX_PRICE, true, &has,
                                          &v, &d),
                   PG_OK);
  assert_false(has);
  assert_int_equal(pg_market_config_price(c, "p", "max", NULL, PG_MARKET_MAX_PRICE, true, &has,
                                          &v, &d),
                   PG_OK);
  assert_false(has);
  /* ... and refused where none is not a choice */
  assert_int_equal(pg_market_config_price(c, "p", "bid", NULL, PG_MARKET_MAX_PRICE, false, &has,
                                          &v, &d),
                   PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "m.ini:3: [p] bid: 'none' is not an amount"));
  assert_int_equal(pg_market_config_price(c, "p", "big", NULL, PG_MARKET_MAX_PRICE, true, &has,
                                          &v, &d),
                   PG_ERR_CONFIG);
  assert_int_equal(pg_market_config_price(c, "p", "odd", NULL, PG_MARKET_MAX_PRICE, true, &has,
                                          &v, &d),
                   PG_ERR_CONFIG);
  assert_int_equal(v, 90000000);
  pg_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_member_price),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
