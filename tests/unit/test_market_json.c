/* Slot JSON parser: examples/slot.json, defaults, and errors that name the
 * field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/market/market.h"

static void expect_err(const char *js, int err, const char *needle) {
  pg_market_slot_json s;
  pg_diag d = {{0}};
  int rc = pg_market_slot_from_json(js, strlen(js), &s, &d);
  if (rc != err) fail_msg("%s: rc %d (%s), expected %d", js, rc, d.msg, err);
  if (!strstr(d.msg, needle)) fail_msg("%s: diag '%s' lacks '%s'", js, d.msg, needle);
}

/* A file of the source tree into buf (at most cap bytes). */
static size_t read_source(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

static void test_example_file(void **state) {
  (void)state;
  char buf[8192];
  size_t n = read_source(PG_SOURCE_DIR "/examples/slot.json", buf, sizeof buf);
  pg_market_slot_json s;
  pg_diag d = {{0}};
  int rc = pg_market_slot_from_json(buf, n, &s, &d);
  if (rc) fail_msg("%s", d.msg);
  assert_int_equal(s.slot.n_producers, 3);
  assert_int_equal(s.slot.n_consumers, 3);
  assert_string_equal(s.slot.producers[2].id, "wind-1");
  assert_false(s.slot.producers[2].has_ask);
  assert_true(s.slot.producers[0].has_ask);
  assert_int_equal(s.slot.producers[0].ask_per_kwh, 150);
  assert_int_equal(s.slot.consumers[1].usage_wh, 1500);
  assert_int_equal(s.slot.import_price, 300);
  assert_int_equal(s.slot.export_price, 100);
  assert_int_equal(s.slot.fee_per_kwh, 5);
  assert_int_equal(s.slot.fee_bp, 200);
  assert_int_equal(s.slot.fixed_buy_price, 250);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s.slot, PG_MARKET_SDR, &r, &d), PG_OK);
  assert_int_equal(r.demand_wh, 5000);
  pg_market_result_free(&r);
  pg_market_slot_json_free(&s);
}

static void test_defaults(void **state) {
  (void)state;
  const char *js = "{\"producers\":[],\"consumers\":[{\"id\":\"c\",\"usageWh\":5,"
                   "\"bidPerKwh\":null}],\"importPrice\":30,\"exportPrice\":10}";
  pg_market_slot_json s;
  assert_int_equal(pg_market_slot_from_json(js, strlen(js), &s, NULL), PG_OK);
  assert_false(s.slot.consumers[0].has_bid);
  assert_int_equal(s.slot.fee_bp, 0);
  assert_int_equal(s.slot.fee_per_kwh, 0);
  assert_int_equal(s.slot.fixed_buy_price, 30);
  assert_int_equal(s.slot.fixed_sell_price, 10);
  pg_market_slot_json_free(&s);
}

/* Issue 16: the unit-free names (per unit, base units) read like the old
 * electricity names; a slot may not give both for one field. */
static void test_unit_free_names(void **state) {
  (void)state;
  const char *js = "{\"producers\":[{\"id\":\"well\",\"output\":1200,\"askPerUnit\":90}],"
                   "\"consumers\":[{\"id\":\"c\",\"usage\":800,\"bidPerUnit\":250}],"
                   "\"importPrice\":300,\"exportPrice\":80,\"fees\":{\"perUnit\":5},"
                   "\"fixed\":{\"buyPerUnit\":200,\"sellPerUnit\":100}}";
  pg_market_slot_json s;
  pg_diag d = {{0}};
  if (pg_market_slot_from_json(js, strlen(js), &s, &d) != PG_OK) fail_msg("%s", d.msg);
  assert_int_equal(s.slot.producers[0].output_wh, 1200);
  assert_int_equal(s.slot.producers[0].ask_per_kwh, 90);
  assert_true(s.slot.producers[0].has_ask);
  assert_int_equal(s.slot.consumers[0].usage_wh, 800);
  assert_int_equal(s.slot.consumers[0].bid_per_kwh, 250);
  assert_int_equal(s.slot.fee_per_kwh, 5);
  assert_int_equal(s.slot.fixed_buy_price, 200);
  assert_int_equal(s.slot.fixed_sell_price, 100);
  pg_market_slot_json_free(&s);
  expect_err("{\"producers\":[{\"id\":\"p\",\"output\":1,\"outputWh\":1}],\"consumers\":[],"
             "\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "producers[0]: 'output' and 'outputWh' (its old name) are the same field");
  expect_err("{\"producers\":[],\"consumers\":[{\"id\":\"c\",\"usage\":1,\"bidPerUnit\":1,"
             "\"bidPerKwh\":1}],\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "'bidPerUnit' and 'bidPerKwh'");
  expect_err("{\"producers\":[],\"consumers\":[{\"id\":\"c\"}],\"importPrice\":1,"
             "\"exportPrice\":1}",
             PG_ERR_INVALID, "'usage'");
}

static void test_errors(void **state) {
  (void)state;
  expect_err("{", PG_ERR_INVALID, "JSON line");
  expect_err("{\"consumers\":[],\"importPrice\":1,\"exportPrice\":1}", PG_ERR_INVALID,
             "'producers'");
  expect_err("{\"producers\":[],\"consumers\":[{\"id\":\"a\",\"usageWh\":1},{\"id\":\"b\","
             "\"usageWh\":-4}],\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "consumers[1]: ");
  expect_err("{\"producers\":[],\"consumers\":[{\"id\":\"a\",\"usageWh\":1},{\"id\":\"b\","
             "\"usageWh\":-4}],\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "usageWh");
  expect_err("{\"producers\":[{\"outputWh\":1}],\"consumers\":[],\"importPrice\":1,"
             "\"exportPrice\":1}",
             PG_ERR_INVALID, "producers[0]: missing field 'id'");
  expect_err("{\"producers\":[{\"id\":\"\",\"outputWh\":1}],\"consumers\":[],\"importPrice\":1,"
             "\"exportPrice\":1}",
             PG_ERR_INVALID, "producers[0]: field 'id'");
  expect_err("{\"producers\":[{\"id\":\"p\",\"outputWh\":1,\"askPerKwh\":\"9\"}],\"consumers\":[],"
             "\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "askPerKwh");
  expect_err("{\"producers\":[3],\"consumers\":[],\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "producers[0]: expected an object");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":1}", PG_ERR_INVALID,
             "exportPrice");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":1,\"exportPrice\":2}",
             PG_ERR_INVALID, "field 'importPrice'");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":1,\"exportPrice\":1,"
             "\"fees\":{\"percent\":101}}",
             PG_ERR_INVALID, "fees: ");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":1,\"exportPrice\":1,"
             "\"fees\":{\"perKwh\":2.5}}",
             PG_ERR_INVALID, "perKwh");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":1,\"exportPrice\":1,"
             "\"fees\":7}",
             PG_ERR_INVALID, "field 'fees'");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":1,\"exportPrice\":1,"
             "\"fixed\":{\"sellPerKwh\":-1}}",
             PG_ERR_INVALID, "fixed: ");
  expect_err("{\"producers\":[],\"consumers\":[],\"importPrice\":2000000000,\"exportPrice\":1}",
             PG_ERR_INVALID, "importPrice");
  expect_err("{\"producers\":[],\"consumers\":[{\"id\":\"a\",\"usageWh\":2000000000000}],"
             "\"importPrice\":1,\"exportPrice\":1}",
             PG_ERR_INVALID, "consumers[0]: ");
}

/* The sharing fields: communityPrice, keyPercent / keyPpm, group, groupRules
 * (fuzz seed sharing_e7.json is the spec's E7a slot). */
static void test_sharing_fields(void **state) {
  (void)state;
  char buf[4096];
  size_t n = read_source(PG_SOURCE_DIR "/fuzz/corpus/fuzz_market_slot/sharing_e7.json", buf,
                         sizeof buf);
  pg_market_slot_json s;
  pg_diag d = {{0}};
  if (pg_market_slot_from_json(buf, n, &s, &d)) fail_msg("%s", d.msg);
  assert_int_equal(s.slot.community_price, 120);
  assert_int_equal(s.slot.n_group_rules, 2);
  assert_int_equal(s.slot.group_rules[1], PG_SHARE_RULE_STATIC);
  assert_int_equal(s.slot.consumers[2].key_ppm, 500000);
  assert_int_equal(s.slot.consumers[3].key_ppm, 500000);
  assert_int_equal(s.slot.consumers[3].group, 1);
  pg_market_result r;
  assert_int_equal(pg_market_settle(&s.slot, PG_MARKET_HIERARCHICAL, &r, &d), PG_OK);
  assert_int_equal(r.consumers[3].community_wh, 350); /* E7a */
  pg_market_result_free(&r);
  pg_market_slot_json_free(&s);
  uint32_t ppm;
  assert_int_equal(pg_market_key_parse("33.3333%", &ppm, NULL), PG_OK);
  assert_int_equal(ppm, 333333);
  assert_int_equal(pg_market_key_parse("100", &ppm, NULL), PG_OK);
  assert_int_equal(ppm, 1000000);
  const char *bad[] = {"", "%", "100.01", "1.23456", "12.", ".5", "5%%", "-1", "1000", "a"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pg_market_key_parse(bad[i], &ppm, NULL), PG_ERR_INVALID);
#define SL(x) "{\"producers\":[],\"importPrice\":3,\"exportPrice\":1," x "}"
  expect_err(SL("\"consumers\":[{\"id\":\"c\",\"usageWh\":1,\"keyPercent\":\"x\"}]"),
             PG_ERR_INVALID, "consumers[0]: field 'keyPercent'");
  expect_err(SL("\"consumers\":[{\"id\":\"c\",\"usageWh\":1,\"keyPercent\":1,\"keyPpm\":1}]"),
             PG_ERR_INVALID, "exclusive");
  expect_err(SL("\"consumers\":[{\"id\":\"c\",\"usageWh\":1,\"group\":64}]"),
             PG_ERR_INVALID, "consumers[0]: field 'group'");
  expect_err(SL("\"consumers\":[],\"groupRules\":[\"static\",1]"), PG_ERR_INVALID,
             "groupRules[1]");
  expect_err(SL("\"consumers\":[],\"groupRules\":\"static\""), PG_ERR_INVALID,
             "expected an array");
  expect_err(SL("\"consumers\":[],\"communityPrice\":-1"), PG_ERR_INVALID,
             "communityPrice");
#undef SL
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_file),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_unit_free_names),
      cmocka_unit_test(test_sharing_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
