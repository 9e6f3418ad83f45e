/* The simulator: scenario parsing (errors name file:line), determinism
 * (pinned totals), full mode (real entities on an in-process Tangle) and
 * market-only give the same settlement slot by slot and per participant,
 * and a full run's books balance exactly (MONEY IDENTITY of market.h,
 * ledger supply unchanged, every bill paid). */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/log.h"
#include <jansson.h>

#include "p2pgrid/sim/sim.h"
#include "test_util_tmpdir.h"

#define PIN_SUPPLY 27045
#define PIN_DEMAND 2949
#define PIN_BILLED 441023506
#define PIN_REVENUES 2349737939

#define mktmp() tu_mktmp("pg_sim")
#define rmrf tu_rmrf

/* 2 producers (3 sources: solar + wind), 3 households, 2 h around noon */
static const char *SMALL =
    "[scenario]\nname = small\nstart = 2025-06-21T10:00:00Z\nduration = 2h\nslot = 15m\nseed = 7\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "fee_per_kwh = 5Mi\nfee_bp = 100\n"
    "[producers]\ncount = 1\nsources_per_producer = 2\nsolar_share = 0.5\nkwp_min = 2\nkwp_max = 4\n"
    "ask_share = 1\n"
    "[producer roof]\nname = Roof\nask = 120Mi\n"
    "[source roof-pv]\nproducer = roof\nkind = solar\nkwp = 1.5\n"
    "[households]\ncount = 2\nannual_kwh_min = 3000\nannual_kwh_max = 4000\nbid_share = 0.5\n"
    "[household flat]\nbid = 250Mi\nannual_kwh = 2000\n";

static pg_config *load(const char *text, const char *name) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  if (pg_config_load_string(c, name, text, strlen(text), &d) != PG_OK) fail_msg("%s", d.msg);
  return c;
}

static void run(const char *text, pg_sim_mode mode, char **dir, pg_sim_result *r) {
  pg_config *c = load(text, "small.ini");
  pg_scenario s;
  pg_diag d = {{0}};
  if (pg_scenario_from_config(c, &s, &d) != PG_OK) fail_msg("%s", d.msg);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  *dir = mktmp();
  pg_sim_opts o = {.mode = mode, .out_dir = *dir, .write_files = true};
  if (pg_sim_run(&s, &o, r, &d) != PG_OK) fail_msg("run: %s", d.msg);
  pg_scenario_free(&s);
  pg_config_free(c);
}

static void test_parse_errors(void **state) {
  (void)state;
  char *dir = mktmp();
  char path[600];
  snprintf(path, sizeof path, "%s/bad.ini", dir);
  struct {
    const char *text, *want;
  } cases[] = {
      {"[scenario]\nname = x\n\nstart = 2025-13-01\n", "bad.ini:4: [scenario] start"},
      {"[scenario]\nname = x\n[market]\nimport_price = lots\n", "bad.ini:4: [market] import_price"},
      {"[scenario]\nname = x\n[site]\nlat = 91\n", "bad.ini:4: [site] lat"},
      {"[scenario]\nname = x\nduration = 2y\n", "bad.ini:3: [scenario] duration"},
      {"[scenario]\nname = x\n[households]\ncount = 1\n[source s]\nproducer = nope\n",
       "bad.ini:6: [source s] producer"},
      {"[scenario]\nname = x\n[market]\nmechanism = barter\n", "bad.ini:4: [market] mechanism"},
      {"[scenario]\nname = x\n[money]\ncurrency = \xe2\x82\xac\n", "bad.ini:4: [money] currency"},
      {"[scenario]\nname = x\n[money]\nunits_per_currency = 1Ti\n",
       "bad.ini:4: [money] units_per_currency"},
      {"[scenario]\nname = x\n[money]\ndecimals = 12\n", "bad.ini:4: [money] decimals"},
      {"[scenario]\nname = x\n[market]\nimport_price = 1e3\n", "bad.ini:4: [market] import_price"},
      /* issue 16: the resource decides the meter kinds; old and new names not both */
      {"[scenario]\nname = x\n[resource]\nname = Water\n", "bad.ini:4: [resource] name"},
      {"[scenario]\nname = x\n[resource]\nname = water\n[producers]\ncount = 2\n",
       "bad.ini:6: [producers] count: generated producers have solar and wind"},
      {"[scenario]\nname = x\n[resource]\nname = water\n[producer p]\nname = P\n"
       "[source s]\nproducer = p\nkind = wind\n",
       "bad.ini:9: [source s] kind: expected well, rain-tank, csv or dso (for water)"},
      {"[scenario]\nname = x\n[resource]\nname = water\n[household h]\nkind = household\n",
       "bad.ini:6: [household h] kind: expected water, csv or dso (for water)"},
      {"[scenario]\nname = x\n[market]\nfee_per_kwh = 1Mi\nfee_per_unit = 2Mi\n",
       "bad.ini:5: [market] fee_per_unit and fee_per_kwh (its old name) are the same setting"},
      {"[scenario]\nname = x\n[households]\ncount = 1\nannual_min = 9\nannual_max = 8\n",
       "bad.ini:6: [households] annual_max: must not be below annual_min"},
      {"[scenario]\nname = x\n[households]\ncount = 1\nmodel = sauna\n",
       "bad.ini:5: [households] model"},
      /* issue 20: one error for a bad section id, naming the file and the rule */
      {"[scenario]\nname = x\n[producer p!]\nname = P\n",
       "bad.ini: [producer p!]: 'p!' is not a valid id (1..64 of A-Z a-z 0-9 . _ -)"},
      {"[scenario]\nname = x\n[source s!]\nkind = solar\n",
       "bad.ini: [source s!]: 's!' is not a valid id (1..64 of"},
      {"[scenario]\nname = x\n[household h!]\nannual_kwh = 2000\n",
       "bad.ini: [household h!]: 'h!' is not a valid id (1..64 of"},
      {"[scenario]\nname = x\n[battery b!]\ncapacity_kwh = 10\n",
       "bad.ini: [battery b!]: 'b!' is not a valid id (1..60 of"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(cases[i].text, f);
    fclose(f);
    pg_config *c = NULL;
    assert_int_equal(pg_config_new(&c), PG_OK);
    pg_diag d = {{0}};
    assert_int_equal(pg_config_load_file(c, path, &d), PG_OK);
    pg_scenario s;
    assert_int_equal(pg_scenario_from_config(c, &s, &d), PG_ERR_CONFIG);
    if (!strstr(d.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
    pg_config_free(c);
  }
  rmrf(dir);
}

/* the same seed gives the same numbers (pinned) */
static void test_deterministic(void **state) {
  (void)state;
  char *d1, *d2;
  pg_sim_result a, b;
  run(SMALL, PG_SIM_MARKET_ONLY, &d1, &a);
  run(SMALL, PG_SIM_MARKET_ONLY, &d2, &b);
  assert_int_equal(a.n_slots, 8);
  assert_int_equal(a.n_parties, 5);
  assert_memory_equal(a.slots, b.slots, a.n_slots * sizeof *a.slots);
  assert_memory_equal(a.parties, b.parties, a.n_parties * sizeof *a.parties);
  assert_int_equal(a.total.supply_wh, PIN_SUPPLY);
  assert_int_equal(a.total.demand_wh, PIN_DEMAND);
  assert_int_equal(a.total.billed, PIN_BILLED);
  assert_int_equal(a.total.producer_revenues, PIN_REVENUES);
  /* summary.json says how people read it: base units and the default zone */
  char sp[600];
  snprintf(sp, sizeof sp, "%s/summary.json", d1);
  json_error_t je;
  json_t *sum = json_load_file(sp, 0, &je);
  assert_non_null(sum);
  assert_string_equal(json_string_value(json_object_get(sum, "timeZone")), "Europe/Berlin");
  json_t *mf = json_object_get(sum, "moneyFormat");
  assert_string_equal(json_string_value(json_object_get(mf, "currency")), "i");
  assert_int_equal(json_integer_value(json_object_get(mf, "unitsPerCurrency")), 1);
  json_decref(sum);
  /* another seed, other numbers */
  char *d3;
  pg_sim_result c;
  char *text = malloc(strlen(SMALL) + 1);
  strcpy(text, SMALL);
  *strstr(text, "seed = 7") = '\0';
  char buf[2048];
  snprintf(buf, sizeof buf, "%sseed = 8%s", text, strstr(SMALL, "seed = 7") + 8);
  run(buf, PG_SIM_MARKET_ONLY, &d3, &c);
  assert_true(c.total.demand_wh != a.total.demand_wh);
  free(text);
  pg_sim_result_free(&a);
  pg_sim_result_free(&b);
  pg_sim_result_free(&c);
  rmrf(d1);
  rmrf(d2);
  rmrf(d3);
}

/* full mode on the Tangle settles text exactly as market-only; books balance */
static void full_equals_market(const char *text) {
  char *d1, *d2;
  pg_sim_result m, f;
  run(text, PG_SIM_MARKET_ONLY, &d1, &m);
  run(text, PG_SIM_FULL, &d2, &f);
  assert_int_equal(f.mode, PG_SIM_FULL);
  assert_int_equal(m.n_slots, f.n_slots);
  for (size_t i = 0; i < m.n_slots; i++) {
    const pg_sim_slot *x = &m.slots[i], *y = &f.slots[i];
    assert_int_equal(x->slot, y->slot);
    assert_int_equal(x->supply_wh, y->supply_wh);
    assert_int_equal(x->demand_wh, y->demand_wh);
    assert_int_equal(x->community_wh, y->community_wh);
    assert_int_equal(x->billed, y->billed);
    assert_int_equal(x->producer_revenues, y->producer_revenues);
    assert_int_equal(x->fees, y->fees);
    assert_int_equal(x->grid_income, y->grid_income);
  }
  assert_int_equal(m.n_parties, f.n_parties);
  for (size_t i = 0; i < m.n_parties; i++) {
    assert_string_equal(m.parties[i].id, f.parties[i].id);
    assert_int_equal(m.parties[i].energy_wh, f.parties[i].energy_wh);
    assert_int_equal(m.parties[i].community_wh, f.parties[i].community_wh);
    assert_int_equal(m.parties[i].amount, f.parties[i].amount);
    assert_int_equal(m.parties[i].savings, f.parties[i].savings);
  }
  assert_true(f.total.supply_wh > 0 && f.total.demand_wh > 0);
  /* the books: MONEY IDENTITY, supply, every bill paid */
  assert_int_equal(f.total.billed, f.total.producer_revenues + f.total.grid_income +
                                       f.total.import_cost - f.total.export_income);
  assert_int_equal(f.paid, f.total.billed);
  assert_int_equal(f.outstanding, 0);
  assert_int_equal(f.supply_before, f.supply_after);
  for (size_t i = 0; i < f.n_parties; i++)
    if (!f.parties[i].producer) assert_int_equal(f.parties[i].paid, f.parties[i].amount);
  int64_t received = 0;
  for (size_t i = 0; i < f.n_parties; i++)
    if (f.parties[i].producer) received += f.parties[i].paid;
  assert_int_equal(received + f.payouts_due, f.total.producer_revenues);
  assert_true(f.milestones > 0 && f.messages > 0 && f.transfers > 0);
  /* the files are there */
  const char *files[] = {"slots.csv", "participants.csv", "transfers.csv", "balances.csv", "summary.json"};
  for (size_t i = 0; i < 5; i++) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", d2, files[i]);
    assert_int_equal(access(p, R_OK), 0);
  }
  pg_sim_result_free(&m);
  pg_sim_result_free(&f);
  rmrf(d1);
  rmrf(d2);
}

static void test_full_equals_market(void **state) {
  (void)state;
  full_equals_market(SMALL);
}

/* Issue 18: full mode at a community's size — 50 generated households and 6
 * producers (18 sources), an hour of 15-minute slots: the path that grows
 * with members (every channel read in one phase, every class's messages
 * created together, the grid's outputs scanned whole) settles exactly as
 * market-only with every bill paid. The larger sizes are bench_sim's. */
static const char *COMMUNITY =
    "[scenario]\nname = community\nstart = 2025-06-21T09:00:00Z\nduration = 1h\nslot = 15m\n"
    "seed = 18\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "fee_per_kwh = 5Mi\nfee_bp = 100\npayout_min = 1Mi\n"
    "[producers]\ncount = 6\nsources_per_producer = 3\nsolar_share = 0.75\nkwp_min = 5\n"
    "kwp_max = 30\nwind_kw_min = 5\nwind_kw_max = 20\nask_share = 0.5\nask_min = 90Mi\n"
    "ask_max = 160Mi\n"
    "[households]\ncount = 50\nbid_share = 0.5\nbid_min = 200Mi\nbid_max = 290Mi\n";

static void test_community_full_equals_market(void **state) {
  (void)state;
  full_equals_market(COMMUNITY);
}

/* Issue 17: assets behind the meters (rooftop PV, batteries, an EV, a heat
 * pump): full mode's consumers read the pre-pass's per-slot readings and
 * settle exactly as market-only steps the same controllers inline. An
 * evening to a morning so the car arrives and must leave charged. */
static const char *ASSETS =
    "[scenario]\nname = assets\nstart = 2025-06-20T14:00:00Z\nduration = 18h\nslot = 1h\n"
    "seed = 17\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "fee_per_kwh = 5Mi\nfee_bp = 100\n"
    "[producers]\ncount = 1\nsources_per_producer = 1\nsolar_share = 1\nkwp_min = 6\n"
    "kwp_max = 8\nask_share = 1\n"
    "[households]\ncount = 2\nannual_kwh_min = 3000\nannual_kwh_max = 4000\nbattery_share = 0.5\n"
    "pv_share = 0.5\nev_share = 0.5\nstrategy = surplus-following\n"
    "[household flat]\nbid = 250Mi\nannual_kwh = 2000\nheat_pump = true\nbattery_kwh = 6\n"
    "strategy = price-responsive\n";

static void test_assets_full_equals_market(void **state) {
  (void)state;
  full_equals_market(ASSETS);
  char *dir;
  pg_sim_result r;
  run(ASSETS, PG_SIM_MARKET_ONLY, &dir, &r);
  assert_true(r.has_flex && r.has_without);
  assert_true(r.flex.pv_wh > 0 && r.flex.charged_wh > 0 && r.flex.discharged_wh > 0);
  assert_true(r.flex.ev_wh > 0 && r.flex.heat_pump_wh > 0);
  pg_sim_result_free(&r);
  rmrf(dir);
}

/* Issue 16: a water cooperative (a well, a rain-water tank, households in
 * litres) on the Tangle: its channels speak water/L (version 2 messages; the
 * grid refuses any other resource) and settle exactly as market-only, to the
 * litre and the base unit of money, with every bill paid. */
static const char *WATER =
    "[scenario]\nname = water\nstart = 2025-07-01T04:00:00Z\nduration = 10h\nslot = 1h\n"
    "seed = 16\n"
    "[resource]\nname = water\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 200Mi\nexport_price = 30Mi\n"
    "fee_per_unit = 10Mi\nfee_bp = 100\n"
    "[producer well]\nask = 120Mi\n"
    "[source well-pump]\nproducer = well\nkind = well\npump_l_per_min = 1\nduty = 0.5\n"
    "[producer tanks]\nask = 80Mi\n"
    "[source tank]\nproducer = tanks\nkind = rain-tank\n"
    "path = " PG_SOURCE_DIR "/examples/data/rain-berlin-2025.csv\nroof_m2 = 300\n"
    "initial_l = 3000\ndraw_l_per_min = 0.5\n"
    "[households]\ncount = 3\nannual_min = 40\nannual_max = 80\nbid_share = 0.5\n"
    "bid_min = 150Mi\nbid_max = 190Mi\n"
    "[household garden]\nkind = water\nannual_l = 120000\ngarden_share = 0.4\nbid = 180Mi\n";

static void test_water_full_equals_market(void **state) {
  (void)state;
  full_equals_market(WATER);
  char *dir;
  pg_sim_result r;
  run(WATER, PG_SIM_MARKET_ONLY, &dir, &r);
  /* litres, both sides: the households' use and the sources' supply */
  assert_true(r.total.demand_wh > 100 && r.total.supply_wh > 100);
  assert_true(r.total.import_wh > 0 && r.total.export_wh > 0); /* the mains both ways */
  int64_t used = 0, supplied = 0;
  for (size_t i = 0; i < r.n_parties; i++)
    *(r.parties[i].producer ? &supplied : &used) += r.parties[i].energy_wh;
  assert_int_equal(used, r.total.demand_wh);
  assert_int_equal(supplied, r.total.supply_wh);
  assert_int_equal(r.total.community_wh + r.total.import_wh, r.total.demand_wh);
  assert_int_equal(r.total.community_wh + r.total.export_wh, r.total.supply_wh);
  char sp[600];
  snprintf(sp, sizeof sp, "%s/summary.json", dir);
  json_error_t je;
  json_t *sum = json_load_file(sp, 0, &je);
  assert_non_null(sum);
  json_t *res = json_object_get(sum, "resource");
  assert_string_equal(json_string_value(json_object_get(res, "name")), "water");
  assert_string_equal(json_string_value(json_object_get(res, "unit")), "L");
  json_decref(sum);
  pg_sim_result_free(&r);
  rmrf(dir);
}

int main(void) {
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_full_equals_market),
      cmocka_unit_test(test_water_full_equals_market),
      cmocka_unit_test(test_assets_full_equals_market),
      cmocka_unit_test(test_community_full_equals_market),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
