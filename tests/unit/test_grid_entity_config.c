/* Unit tests for src/grid/entity_config.c: the settings of the entity
 * daemons read from their INI files — defaults per role, required keys,
 * members' prices (old names, "none", the market's amounts and limits), the
 * grid's market keys (market_config.h), payouts, tariff and [sharing], and
 * refusals naming file, line, section and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/grid/entity_config.h"

static pg_config *load(const char *text) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_string(c, "e.ini", text, strlen(text), &d), PG_OK);
  return c;
}

/* Reads text as the config of role; the status, *ec and d. */
static int read(const char *text, pg_role role, pg_entity_config *ec, pg_diag *d) {
  pg_config *c = load(text);
  int rc = pg_entity_config_read(c, role, ec, d);
  /* strings point into c: keep what the tests look at */
  static char id[80], dir[700], url[200];
  if (!rc) {
    snprintf(id, sizeof id, "%s", ec->eo.id);
    snprintf(dir, sizeof dir, "%s", ec->eo.data_dir);
    snprintf(url, sizeof url, "%s", ec->node_url);
    ec->eo.id = id;
    ec->eo.data_dir = dir;
    ec->node_url = url;
    ec->eo.name = ec->bind = ec->upstream_url = ec->seed_file = ec->mnemonic_file = NULL;
    ec->log_level = ec->node_ca = ec->token_file = ec->co.grid_address = NULL;
  }
  pg_config_free(c);
  return rc;
}

static void test_source_defaults(void **state) {
  (void)state;
  pg_entity_config ec;
  pg_diag d = {{0}};
  assert_int_equal(read("[source]\nid = pv-1\n[upstream]\nurl = https://p:8081\n", PG_ROLE_SOURCE,
                        &ec, &d),
                   PG_OK);
  assert_string_equal(ec.section, "source");
  assert_string_equal(ec.eo.id, "pv-1");
  assert_string_equal(ec.eo.data_dir, "./data/pv-1");
  assert_int_equal(ec.eo.slot_ms, 15 * 60 * 1000);
  assert_int_equal(ec.tick_ms, 500);
  assert_int_equal(ec.eo.retry_ms, 2000);
  assert_int_equal(ec.eo.security, 2);
  assert_string_equal(ec.node_url, "http://127.0.0.1:14265");
  assert_int_equal(ec.node_timeout_ms, 60000);
  assert_false(ec.api);
  assert_int_equal(ec.port, 0);
  pg_entity_config_clear(&ec);
  /* an [api] port serves the status */
  assert_int_equal(read("[source]\nid = pv-1\nslot = 5s\n[upstream]\nurl = x\n[api]\nport = 0\n",
                        PG_ROLE_SOURCE, &ec, &d),
                   PG_OK);
  assert_true(ec.api);
  assert_int_equal(ec.eo.slot_ms, 5000);
  pg_entity_config_clear(&ec);
}

static void test_refused(void **state) {
  (void)state;
  static const struct {
    pg_role role;
    const char *text, *want;
  } cases[] = {
      {PG_ROLE_SOURCE, "[source]\nname = x\n", "[source] id: required setting missing"},
      {PG_ROLE_SOURCE, "[source]\nid = a\n", "[upstream] url: required setting missing"},
      {PG_ROLE_SOURCE, "[source]\nid = a\nslot = 10ms\n[upstream]\nurl = x\n",
       "e.ini:3: [source] slot"},
      {PG_ROLE_SOURCE, "[source]\nid = a\nsecurity = 4\n[upstream]\nurl = x\n",
       "e.ini:3: [source] security"},
      {PG_ROLE_SOURCE, "[source]\nid = a\n[upstream]\nurl = x\n[api]\nport = 70000\n",
       "e.ini:6: [api] port"},
      {PG_ROLE_SOURCE, "[source]\nid = a\n[upstream]\nurl = x\n[site]\ntz = Mars/Base\n",
       "[site] tz"},
      {PG_ROLE_PRODUCER, "[producer]\nid = p\nregistration_rate = 0\n[upstream]\nurl = x\n",
       "e.ini:3: [producer] registration_rate"},
      {PG_ROLE_PRODUCER, "[producer]\nid = p\nask_per_kwh = 1\nask_per_unit = 2\n[upstream]\nurl = x\n",
       "ask_per_unit and ask_per_kwh (its old name) are the same setting"},
      {PG_ROLE_PRODUCER, "[producer]\nid = p\nask_per_unit = 2Gi\n[upstream]\nurl = x\n",
       "e.ini:3: [producer] ask_per_unit: '2Gi' is not an amount of at most 1073741824"},
      {PG_ROLE_CONSUMER, "[consumer]\nid = c\nbid_per_kwh = cheap\n[upstream]\nurl = x\n",
       "e.ini:3: [consumer] bid_per_kwh: 'cheap' is not an amount"},
      {PG_ROLE_CONSUMER, "[consumer]\nid = c\nmax_monthly = 9007199254740992\n[upstream]\nurl = x\n",
       "e.ini:3: [consumer] max_monthly"},
      {PG_ROLE_GRID, "[grid]\nid = g\nimport_price = 3\n", "[grid] export_price: required"},
      {PG_ROLE_GRID, "[grid]\nid = g\nimport_price = 3\nexport_price = 4\n",
       "e.ini:4: [grid] export_price: '4' is not at most import_price (3)"},
      {PG_ROLE_GRID, "[grid]\nid = g\nimport_price = 3\nexport_price = 1\nmechanism = barter\n",
       "e.ini:5: [grid] mechanism"},
      {PG_ROLE_GRID, "[grid]\nid = g\nimport_price = 3\nexport_price = 1\nfloat = lots\n",
       "e.ini:5: [grid] float"},
      {PG_ROLE_GRID, "[grid]\nid = g\nimport_price = 3\nexport_price = 1\n[tariff]\nvat = 20\n",
       "e.ini:6: [tariff] vat"},
      {PG_ROLE_GRID,
       "[grid]\nid = g\nimport_price = 3\nexport_price = 1\nmechanism = static-key\n"
       "[sharing]\na = key 60%\nb = key 50%\n",
       "[sharing]: the static keys of group 0 sum above 100%"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    pg_entity_config ec;
    pg_diag d = {{0}};
    if (read(cases[i].text, cases[i].role, &ec, &d) != PG_ERR_CONFIG)
      fail_msg("case %zu accepted: %s", i, cases[i].text);
    if (!strstr(d.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
    assert_null(ec.share); /* cleared on failure */
  }
}

static void test_members(void **state) {
  (void)state;
  pg_entity_config ec;
  pg_diag d = {{0}};
  assert_int_equal(read("[producer]\nid = p\nask_per_kwh = 90Mi\ngrace = 3s\nmax_channels = 5\n"
                        "[upstream]\nurl = x\n[wallet]\nseed_file = s.hex\n",
                        PG_ROLE_PRODUCER, &ec, &d),
                   PG_OK);
  assert_true(ec.api);
  assert_int_equal(ec.port, 8081);
  assert_true(ec.po.has_ask);
  assert_int_equal(ec.po.ask_per_kwh, 90000000);
  assert_int_equal(ec.po.grace_ms, 3000);
  assert_int_equal(ec.po.limits.max_channels, 5);
  assert_int_equal(ec.po.limits.rate_per_min, 10);
  pg_entity_config_clear(&ec);
  assert_int_equal(read("[producer]\nid = p\nask_per_unit = none\n[upstream]\nurl = x\n",
                        PG_ROLE_PRODUCER, &ec, &d),
                   PG_OK);
  assert_false(ec.po.has_ask);
  pg_entity_config_clear(&ec);
  assert_int_equal(read("[consumer]\nid = c\nbid_per_unit = 250000000\nmax_price_per_kwh = 1\n"
                        "max_monthly = none\n[upstream]\nurl = x\n",
                        PG_ROLE_CONSUMER, &ec, &d),
                   PG_OK);
  assert_false(ec.api);
  assert_true(ec.co.has_bid);
  assert_int_equal(ec.co.bid_per_kwh, 250000000);
  assert_true(ec.co.has_max_price);
  assert_int_equal(ec.co.max_price_per_kwh, 1);
  assert_false(ec.co.has_max_monthly);
  pg_entity_config_clear(&ec);
}

static void test_grid(void **state) {
  (void)state;
  pg_entity_config ec;
  pg_diag d = {{0}};
  assert_int_equal(
      read("[grid]\nid = g\nmechanism = hierarchical\nimport_price = 300Mi\nexport_price = 80000000\n"
           "fee_per_kwh = 1000\nfee_bp = 25\npayout_min = 2Mi\ndust_allowance = 0\nfloat = 5\n"
           "grace = 2s\ndefault_max_kw = 7\nlate_window = 1h\ngroup_rules = static, dynamic\n"
           "[tariff]\nmembership_fee = 5Mi\nvat = 20%\n[sharing]\na = key 60%, group 0\n"
           "b = key 50%, group 1\n",
           PG_ROLE_GRID, &ec, &d),
      PG_OK);
  assert_true(ec.api);
  assert_int_equal(ec.port, 8080);
  assert_null(ec.upstream_url);
  const pg_gridop_opts *go = &ec.go;
  assert_int_equal(go->mech, PG_MARKET_HIERARCHICAL);
  assert_int_equal(go->import_price, 300000000);
  assert_int_equal(go->export_price, 80000000);
  assert_int_equal(go->fee_per_kwh, 1000);
  assert_int_equal(go->fee_bp, 25);
  assert_int_equal(go->fixed_buy_price, 300000000);
  assert_int_equal(go->fixed_sell_price, 80000000);
  assert_int_equal(go->payout_min, 2000000);
  assert_int_equal(go->dust_allowance, 0);
  assert_int_equal(go->float_max, 5);
  assert_true(go->has_float);
  assert_int_equal(go->grace_ms, 2000);
  assert_int_equal(go->default_max_w, 7000);
  assert_int_equal(go->late_window_ms, 3600000);
  assert_int_equal(go->community_price, (300000000 + 80000000) / 2);
  assert_int_equal(go->n_group_rules, 2);
  assert_int_equal(go->tariff.membership_fee, 5000000);
  assert_int_equal(go->tariff.vat_bp, 2000);
  assert_int_equal(ec.n_share, 2);
  assert_ptr_equal(go->share, ec.share);
  assert_int_equal(go->n_share, 2);
  assert_int_equal(go->limits.max_channels, 32);
  pg_entity_config_clear(&ec);
  assert_null(ec.share);
  pg_entity_config_clear(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_source_defaults),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_members),
      cmocka_unit_test(test_grid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
