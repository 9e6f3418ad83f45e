/* The simulator with flexible assets (issue 17; sim.h ASSETS): the assets'
 * energy is conserved in the run's totals (readings = loads - rooftop PV +
 * what the assets took - what they gave, the surplus beyond a house
 * counted apart), determinism (pinned totals), a community battery's two
 * parties, the with/without KPIs (result and summary.json), assets.csv and
 * flex_slots.csv, and the scenario errors. (Full mode == market-only with
 * assets: test_sim.c test_assets_full_equals_market.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/sim/sim.h"
#include "test_util_scenario.h"
#include "test_util_tmpdir.h"

/* the pinned totals of FLEX (seed 17) */
#define PIN_FLEX_SUPPLY 58140
#define PIN_FLEX_DEMAND 40879
#define PIN_FLEX_BILLED 11321761772
#define PIN_FLEX_CHARGED 5918

/* The households and producers of every scenario here; the asset keys come
 * after it (none: the loads and generation alone). A day from a Friday
 * noon in June, hourly: the sunny afternoon, the evening the cars arrive, the
 * morning they leave. */
#define BASE                                                                                    \
  "[scenario]\nname = flex\nstart = 2025-06-20T10:00:00Z\nduration = 24h\nslot = 1h\n"          \
  "seed = 17\nmode = market-only\n"                                                             \
  "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"             \
  "fee_per_kwh = 5Mi\n"                                                                         \
  "[producers]\ncount = 1\nsources_per_producer = 1\nsolar_share = 1\nkwp_min = 8\n"            \
  "kwp_max = 10\nask_share = 0\n"                                                               \
  "[households]\ncount = 4\nannual_kwh_min = 3000\nannual_kwh_max = 4000\n"

static const char *FLEX =
    BASE "battery_share = 0.5\nev_share = 0.25\npv_share = 0.5\nheat_pump_share = 0.25\n"
         "[household roof]\nannual_kwh = 2500\npv_kwp = 6\nbattery_kwh = 8\nbattery_kw = 3\n"
         "strategy = surplus-following\n";
static const char *PLAIN = BASE "[household roof]\nannual_kwh = 2500\n";
static const char *COMMUNITY = BASE "[household roof]\nannual_kwh = 2500\n[battery cb]\ncapacity_kwh = 20\npower_kw = 5\n";

static void run_mode(const char *text, pg_sim_mode mode, char **dir, pg_sim_result *r);
static void run(const char *text, char **dir, pg_sim_result *r) {
  run_mode(text, PG_SIM_AUTO, dir, r);
}

static void run_mode(const char *text, pg_sim_mode mode, char **dir, pg_sim_result *r) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  if (pg_config_load_string(c, "flex.ini", text, strlen(text), &d) != PG_OK) fail_msg("%s", d.msg);
  pg_scenario s;
  if (pg_scenario_from_config(c, &s, &d) != PG_OK) fail_msg("%s", d.msg);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  *dir = tu_mktmp("pg_sim_assets");
  pg_sim_opts o = {.mode = mode, .out_dir = *dir, .write_files = true};
  if (pg_sim_run(&s, &o, r, &d) != PG_OK) fail_msg("run: %s", d.msg);
  pg_scenario_free(&s);
  pg_config_free(c);
}

/* readings - surplus beyond the houses = loads - PV + charged - discharged
 * + EV + heat pump, to the Wh; the producers are untouched */
static void test_conservation(void **state) {
  (void)state;
  char *d1, *d2;
  pg_sim_result a, b;
  run(FLEX, &d1, &a);
  run(PLAIN, &d2, &b);
  assert_true(a.has_flex && !b.has_flex);
  const pg_sim_flex_kpis *k = &a.flex;
  assert_true(k->pv_wh > 0 && k->charged_wh > 0 && k->ev_wh > 0 && k->heat_pump_wh > 0);
  assert_int_equal(a.total.supply_wh, b.total.supply_wh);
  assert_int_equal(a.total.demand_wh - k->exported_wh,
                   b.total.demand_wh - k->pv_wh + k->charged_wh - k->discharged_wh + k->ev_wh +
                       k->heat_pump_wh);
  /* the batteries lose, never make, energy: out and lost <= in + what they
   * held at the start (50 % of roof's 8 kWh and of two of 5..10 kWh) */
  assert_true(k->loss_wh > 0);
  assert_true(k->discharged_wh + k->loss_wh <= k->charged_wh + 4000 + 2 * 5000);
  /* the settlement's own identities still hold */
  assert_int_equal(a.total.community_wh + a.total.import_wh, a.total.demand_wh);
  assert_int_equal(a.total.community_wh + a.total.export_wh, a.total.supply_wh);
  int64_t used = 0;
  for (size_t i = 0; i < a.n_parties; i++)
    if (!a.parties[i].producer) used += a.parties[i].energy_wh;
  assert_int_equal(used, a.total.demand_wh);
  pg_sim_result_free(&a);
  pg_sim_result_free(&b);
  tu_rmrf(d1);
  tu_rmrf(d2);
}

static void test_deterministic(void **state) {
  (void)state;
  char *d1, *d2;
  pg_sim_result a, b;
  run(FLEX, &d1, &a);
  run(FLEX, &d2, &b);
  assert_memory_equal(a.slots, b.slots, a.n_slots * sizeof *a.slots);
  assert_memory_equal(a.parties, b.parties, a.n_parties * sizeof *a.parties);
  assert_memory_equal(&a.flex, &b.flex, sizeof a.flex);
  assert_int_equal(a.total.supply_wh, PIN_FLEX_SUPPLY);
  assert_int_equal(a.total.demand_wh, PIN_FLEX_DEMAND);
  assert_int_equal(a.total.billed, PIN_FLEX_BILLED);
  assert_int_equal(a.flex.charged_wh, PIN_FLEX_CHARGED);
  pg_sim_result_free(&a);
  pg_sim_result_free(&b);
  tu_rmrf(d1);
  tu_rmrf(d2);
}

static json_t *load_json(const char *dir, const char *name) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  if (!j) fail_msg("%s: %s", p, je.text);
  return j;
}

static size_t count_lines(const char *dir, const char *name) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "r");
  assert_non_null(f);
  size_t n = 0;
  for (int ch; (ch = fgetc(f)) != EOF;) n += ch == '\n';
  fclose(f);
  return n;
}

/* the KPIs with and without the assets: in the result, in summary.json;
 * the per-participant and per-slot files */
static void test_with_without(void **state) {
  (void)state;
  char *dir;
  pg_sim_result r;
  run(FLEX, &dir, &r);
  assert_true(r.has_flex && r.has_without);
  assert_true(r.flex.self_sufficiency_ppm <= 1000000 && r.without.self_sufficiency_ppm > 0);
  assert_int_equal(r.without.charged_wh, 0);
  assert_int_equal(r.without.pv_wh, r.flex.pv_wh); /* rooftop PV is kept */
  json_t *sum = load_json(dir, "summary.json");
  json_t *fx = json_object_get(sum, "flexibility");
  assert_non_null(fx);
  const char *keys[] = {"selfSufficiencyPpm", "selfConsumptionPpm", "communitySharePpm", "savings",
                        "peakImportWh"};
  for (size_t i = 0; i < 5; i++) {
    assert_true(json_is_integer(json_object_get(json_object_get(fx, "with"), keys[i])));
    assert_true(json_is_integer(json_object_get(json_object_get(fx, "without"), keys[i])));
  }
  assert_int_equal(json_integer_value(json_object_get(json_object_get(fx, "with"), "chargedWh")),
                   r.flex.charged_wh);
  json_decref(sum);
  /* assets.csv: a header and the members with assets; flex_slots.csv: a row a slot */
  assert_true(count_lines(dir, "assets.csv") >= 2);
  assert_int_equal(count_lines(dir, "flex_slots.csv"), 1 + r.n_slots);
  /* the report: the KPIs side by side and the two charts */
  if (pg_sim_report_available()) {
    pg_diag d = {{0}};
    if (pg_sim_report(dir, &d) != PG_OK) fail_msg("report: %s", d.msg);
    char p[700];
    snprintf(p, sizeof p, "%s/report.html", dir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    static char html[1 << 21];
    size_t n = fread(html, 1, sizeof html - 1, f);
    html[n] = '\0';
    fclose(f);
    const char *want[] = {"Flexibility: with and without the assets", "Self-sufficiency",
                          "data-chart=\"state-of-charge\"", "data-chart=\"shifted-energy\""};
    for (size_t i = 0; i < 4; i++)
      if (!strstr(html, want[i])) fail_msg("report.html lacks %s", want[i]);
  }
  pg_sim_result_free(&r);
  tu_rmrf(dir);
}

/* a community battery: a consumer party "cb" (its charge) and a producer
 * party "cb-out" (its discharge), in market-only and in full mode */
static void test_community_battery(void **state) {
  (void)state;
  char *d1, *d2;
  pg_sim_result a, b;
  run(COMMUNITY, &d1, &a);
  run(PLAIN, &d2, &b);
  assert_int_equal(a.n_parties, b.n_parties + 2);
  const pg_sim_party *prod = NULL, *cons = NULL;
  for (size_t i = 0; i < a.n_parties; i++) {
    if (strcmp(a.parties[i].id, "cb-out") == 0 && a.parties[i].producer) prod = &a.parties[i];
    if (strcmp(a.parties[i].id, "cb") == 0 && !a.parties[i].producer) cons = &a.parties[i];
  }
  assert_non_null(prod);
  assert_non_null(cons);
  assert_string_equal(prod->kind, "battery");
  assert_string_equal(cons->kind, "battery");
  assert_int_equal(cons->energy_wh, a.flex.charged_wh);
  assert_int_equal(prod->energy_wh, a.flex.discharged_wh);
  assert_true(cons->energy_wh > 0);
  assert_int_equal(a.total.demand_wh, b.total.demand_wh + cons->energy_wh);
  assert_int_equal(a.total.supply_wh, b.total.supply_wh + prod->energy_wh);
  assert_true(a.flex.peak_import_wh <= a.without.peak_import_wh);
  /* no rooftop PV, no battery: what the members use is what they meter, so
   * self-sufficiency is the community share; the battery stores, it neither
   * uses nor generates, and what it shifts raises both */
  assert_int_equal(a.without.self_sufficiency_ppm, a.without.community_share_ppm);
  assert_true(a.flex.self_sufficiency_ppm > a.without.self_sufficiency_ppm);
  assert_true(a.flex.self_consumption_ppm > a.without.self_consumption_ppm);
  pg_sim_result_free(&a);
  pg_sim_result_free(&b);
  tu_rmrf(d1);
  tu_rmrf(d2);
  /* full mode: the battery is its own members on the Tangle (consumer cb
   * paying for its charge, producer cb-out paid for its discharge through its
   * source cb-out-src) and settles exactly as market-only */
  pg_sim_result m, f;
  char *d3, *d4;
  run_mode(COMMUNITY, PG_SIM_MARKET_ONLY, &d3, &m);
  run_mode(COMMUNITY, PG_SIM_FULL, &d4, &f);
  assert_int_equal(f.mode, PG_SIM_FULL);
  assert_int_equal(m.n_slots, f.n_slots);
  for (size_t i = 0; i < m.n_slots; i++) {
    assert_int_equal(m.slots[i].supply_wh, f.slots[i].supply_wh);
    assert_int_equal(m.slots[i].demand_wh, f.slots[i].demand_wh);
    assert_int_equal(m.slots[i].billed, f.slots[i].billed);
    assert_int_equal(m.slots[i].producer_revenues, f.slots[i].producer_revenues);
  }
  assert_int_equal(m.n_parties, f.n_parties);
  int64_t battery_paid = -1;
  for (size_t i = 0; i < m.n_parties; i++) {
    assert_string_equal(m.parties[i].id, f.parties[i].id);
    assert_int_equal(m.parties[i].energy_wh, f.parties[i].energy_wh);
    assert_int_equal(m.parties[i].amount, f.parties[i].amount);
    if (!f.parties[i].producer && strcmp(f.parties[i].id, "cb") == 0)
      battery_paid = f.parties[i].paid, assert_int_equal(f.parties[i].paid, f.parties[i].amount);
  }
  assert_true(battery_paid > 0); /* the battery paid for its charge on the Tangle */
  assert_int_equal(f.paid, f.total.billed);
  assert_int_equal(f.outstanding, 0);
  assert_int_equal(f.supply_before, f.supply_after);
  pg_sim_result_free(&m);
  pg_sim_result_free(&f);
  tu_rmrf(d3);
  tu_rmrf(d4);
}

static void test_errors(void **state) {
  (void)state;
  struct {
    const char *text, *want;
  } cases[] = {
      {"[scenario]\nname = x\n[households]\ncount = 2\nbattery_share = 1.5\n",
       "x.ini:5: [households] battery_share"},
      {"[scenario]\nname = x\n[households]\ncount = 2\nbattery_kwh_min = 9\nbattery_kwh_max = 4\n",
       "x.ini:6: [households] battery_kwh_max: must not be below battery_kwh_min"},
      {"[scenario]\nname = x\n[households]\ncount = 2\nstrategy = greedy\n",
       "x.ini:5: [households] strategy: expected self-consumption, surplus-following or "
       "price-responsive"},
      {"[scenario]\nname = x\n[household a]\nbattery_kwh = 5\nbattery_kw = 0\n",
       "x.ini:5: [household a] battery_kw: must be above 0"},
      {"[scenario]\nname = x\n[household a]\n[battery b]\npower_kw = 3\n",
       "[battery b] capacity_kwh"},
      {"[scenario]\nname = x\n[resource]\nname = water\n[household a]\nkind = water\npv_kwp = 3\n",
       "x.ini:7: [household a] pv_kwp: assets are electricity only"},
      {"[scenario]\nname = x\n[producer p-out]\nname = P\n[source p-out-s]\nproducer = p-out\n"
       "[battery p]\ncapacity_kwh = 5\n",
       "[producer p-out]: the id is used twice"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    tu_scenario_refused(cases[i].text, cases[i].want, i);
}

/* examples/scenarios/flex-100.ini: 30 batteries, 10 EVs, 40 PV roofs (some
 * EV homes among them), a community battery; two days of it run */
static void test_example(void **state) {
  (void)state;
  const char *sets[] = {"scenario.duration=2d", "scenario.start=2025-06-19", NULL};
  pg_scenario s;
  pg_config *c = tu_example("flex-100.ini", sets, &s);
  pg_diag d = {{0}};
  size_t bat = 0, ev = 0, pv = 0, ev_pv = 0, homes = 0, rows = 0;
  for (size_t i = 0; i < s.n_households; i++) {
    const pg_sim_assets *a = &s.households[i].assets;
    homes += s.households[i].kind != PG_SIM_BATTERY;
    bat += a->battery_kwh > 0, ev += a->ev, pv += a->pv_kwp > 0, ev_pv += a->ev && a->pv_kwp > 0;
    rows += s.households[i].kind == PG_SIM_BATTERY || a->battery_kwh > 0 || a->ev ||
            a->pv_kwp > 0 || a->heat_pump;
  }
  assert_int_equal(homes, 100);
  assert_int_equal(bat, 30);
  assert_int_equal(ev, 10);
  assert_int_equal(pv, 40);
  assert_true(ev_pv > 0 && ev_pv < 10);
  assert_int_equal(s.n_batteries, 1);
  char *dir = tu_mktmp("pg_sim_assets");
  pg_sim_opts o = {.out_dir = dir, .write_files = true};
  pg_sim_result r;
  if (pg_sim_run(&s, &o, &r, &d) != PG_OK) fail_msg("run: %s", d.msg);
  assert_int_equal(r.mode, PG_SIM_MARKET_ONLY);
  assert_true(r.has_flex && r.has_without && r.flex.ev_wh > 0 && r.flex.discharged_wh > 0);
  assert_true(r.flex.self_sufficiency_ppm > r.without.self_sufficiency_ppm);
  assert_int_equal(count_lines(dir, "assets.csv"), 1 + rows);
  pg_sim_result_free(&r);
  pg_scenario_free(&s);
  pg_config_free(c);
  tu_rmrf(dir);
}

int main(void) {
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conservation),      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_with_without),      cmocka_unit_test(test_community_battery),
      cmocka_unit_test(test_errors),            cmocka_unit_test(test_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
