/* The simulator with the sharing mechanisms: examples/scenarios/austria.ini
 * (dynamic key, 15-minute slots, a member at 60 % participation) settled in
 * market-only mode for a shortened run, with the allocation invariants
 * checked on its outputs (slots.csv, participants.csv, summary.json); the
 * scenario keys of the sharing mechanisms and their errors (file:line). */
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
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/sim/sim.h"
#include "test_util_scenario.h"
#include "test_util_tmpdir.h"

#define mktmp() tu_mktmp("pg_simshare")
#define rmrf tu_rmrf

/* Reads dir/name whole (NUL-terminated). */
static char *slurp(const char *dir, const char *name) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = '\0';
  fclose(f);
  return b;
}

/* Splits one CSV line (no quoted fields in these files) into at most max fields. */
static size_t fields(char *line, char **f, size_t max) {
  size_t n = 0;
  for (char *p = line; n < max;) {
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return n;
}

/* slots.csv: dynamic key: community = min(supply, demand) exactly;
 * import/export are the residuals; money identity per slot with no utility
 * amounts (billed = producer revenues + grid income). */
static void check_slots(const char *dir, size_t want) {
  char *csv = slurp(dir, "slots.csv"), *save = NULL;
  char *line = strtok_r(csv, "\n", &save);
  assert_non_null(strstr(line, "supply_wh,demand_wh,community_wh,import_wh,export_wh"));
  char *h[32];
  size_t nh = fields(line, h, 32), col[16] = {0};
  const char *want_cols[] = {"supply_wh", "demand_wh", "community_wh", "import_wh", "export_wh",
                             "billed", "producer_revenues", "grid_income"};
  for (size_t k = 0; k < 8; k++) {
    size_t j = 0;
    while (j < nh && strcmp(h[j], want_cols[k]) != 0) j++;
    if (j == nh) fail_msg("slots.csv lacks %s", want_cols[k]);
    col[k] = j;
  }
  size_t n = 0;
  while ((line = strtok_r(NULL, "\n", &save))) {
    char *f[32] = {0};
    assert_int_equal(fields(line, f, 32), nh);
    long long v[8];
    for (size_t k = 0; k < 8; k++) v[k] = atoll(f[col[k]]);
    long long S = v[0], D = v[1], A = v[2];
    assert_true(A >= 0 && A == (S < D ? S : D));
    assert_int_equal(v[3], D - A);
    assert_int_equal(v[4], S - A);
    assert_int_equal(v[5], v[6] + v[7]);
    n++;
  }
  assert_int_equal(n, want);
  free(csv);
}

/* participants.csv: allocated <= energy in the community; the bakery's
 * meter is split 60/40 (floor per slot) and its outside part is reported. */
static void check_participants(const char *dir, const pg_sim_result *r, size_t slots) {
  char *csv = slurp(dir, "participants.csv"), *save = NULL;
  char *line = strtok_r(csv, "\n", &save);
  assert_string_equal(line, "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings,"
                            "outside_wh");
  long long cons = 0, prod = 0;
  bool bakery = false;
  while ((line = strtok_r(NULL, "\n", &save))) {
    char *f[12] = {0};
    assert_int_equal(fields(line, f, 12), 10);
    long long e = atoll(f[4]), a = atoll(f[5]), out = atoll(f[9]);
    assert_true(a >= 0 && a <= e && out >= 0);
    if (strcmp(f[2], "consumer") == 0) cons += a;
    else prod += a, assert_int_equal(out, 0);
    if (strcmp(f[0], "bakery") == 0) {
      bakery = true;
      long long meter = e + out;
      /* floor(0.6 w) per slot: the community part is at most 60 %, and less
       * than 1 Wh per slot below it */
      assert_true(e * 100 <= meter * 60 && e * 100 > meter * 60 - 100 * (long long)slots);
    } else if (strcmp(f[2], "consumer") == 0) {
      assert_int_equal(out, 0);
    }
  }
  assert_true(bakery);
  assert_int_equal(cons, r->total.community_wh);
  assert_int_equal(prod, r->total.community_wh);
  free(csv);
}

static void test_austria(void **state) {
  (void)state;
  const char *sets[] = {"scenario.duration=14d", NULL};
  pg_scenario s;
  pg_config *c = tu_example("austria.ini", sets, &s);
  pg_diag d = {{0}};
  assert_int_equal(s.mech, PG_MARKET_DYNAMIC_KEY);
  assert_int_equal(s.community_price, 120000000);
  assert_int_equal(s.slot_ms, 900000);
  assert_int_equal(pg_scenario_mode(&s), PG_SIM_MARKET_ONLY);
  assert_int_equal(s.n_households, 20);
  char *dir = mktmp();
  pg_sim_opts o = {.mode = PG_SIM_AUTO, .out_dir = dir, .write_files = true};
  pg_sim_result r;
  if (pg_sim_run(&s, &o, &r, &d)) fail_msg("run: %s", d.msg);
  assert_int_equal(r.n_slots, 14 * 96);
  assert_true(r.total.community_wh > 0 && r.total.import_wh > 0);
  check_slots(dir, r.n_slots);
  check_participants(dir, &r, r.n_slots);
  char *sum = slurp(dir, "summary.json");
  assert_non_null(strstr(sum, "\"mechanism\": \"dynamic-key\""));
  assert_non_null(strstr(sum, "\"communityPrice\": 120000000"));
  free(sum);
  pg_sim_result_free(&r);
  pg_scenario_free(&s);
  pg_config_free(c);
  rmrf(dir);
}

/* hierarchical with a static group: default equal keys, explicit keys and groups */
static const char *HIER =
    "[scenario]\nname = h\nstart = 2025-06-21T10:00:00Z\nduration = 2h\nslot = 15m\nseed = 7\n"
    "mode = market-only\n"
    "[market]\nmechanism = hierarchical\ngroup_rules = dynamic, static\ncommunity_price = 100Mi\n"
    "[producer roof]\nname = Roof\n[source roof-pv]\nproducer = roof\nkind = solar\nkwp = 20\n"
    "[household a]\nannual_kwh = 3000\ngroup = 0\n"
    "[household b]\nannual_kwh = 30000\ngroup = 1\nkey = 12.5%\n"
    "[household c]\nannual_kwh = 30000\ngroup = 1\nkey = 87.5%\n";

static void test_hierarchical_keys(void **state) {
  (void)state;
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  assert_int_equal(pg_config_load_string(c, "h.ini", HIER, strlen(HIER), &d), PG_OK);
  pg_scenario s;
  if (pg_scenario_from_config(c, &s, &d)) fail_msg("%s", d.msg);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  assert_int_equal(s.n_group_rules, 2);
  assert_int_equal(s.households[1].key_ppm, 125000);
  assert_int_equal(s.households[2].group, 1);
  assert_int_equal(s.households[0].participation, 100);
  char *dir = mktmp();
  pg_sim_opts o = {.mode = PG_SIM_MARKET_ONLY, .out_dir = dir, .write_files = false};
  pg_sim_result r;
  if (pg_sim_run(&s, &o, &r, &d)) fail_msg("run: %s", d.msg);
  /* parties: roof, then a, b, c; group 0 (a) first: fully covered while the
   * 20 kWp roof produces more than a small flat uses around noon */
  assert_int_equal(r.parties[1].community_wh, r.parties[1].energy_wh);
  assert_true(r.parties[2].community_wh < r.parties[3].community_wh);
  pg_sim_result_free(&r);
  pg_scenario_free(&s);
  pg_config_free(c);
  rmrf(dir);
}

/* full mode (the grid daemon's code with [sharing] members) settles the
 * hierarchical scenario, with a member at 60 % participation, exactly as
 * market-only */
static void test_full_equals_market(void **state) {
  (void)state;
  char text[2048];
  snprintf(text, sizeof text, "%sparticipation = 60%%\n", HIER);
  pg_sim_result r[2];
  char *dir[2];
  for (int k = 0; k < 2; k++) {
    pg_config *c = NULL;
    assert_int_equal(pg_config_new(&c), PG_OK);
    pg_diag d = {{0}};
    assert_int_equal(pg_config_load_string(c, "h.ini", text, strlen(text), &d), PG_OK);
    assert_int_equal(pg_config_set(c, "scenario", "duration", "1h"), PG_OK);
    pg_scenario s;
    if (pg_scenario_from_config(c, &s, &d)) fail_msg("%s", d.msg);
    assert_int_equal(s.households[2].participation, 60);
    dir[k] = mktmp();
    pg_sim_opts o = {.mode = k ? PG_SIM_FULL : PG_SIM_MARKET_ONLY, .out_dir = dir[k]};
    if (pg_sim_run(&s, &o, &r[k], &d)) fail_msg("run %d: %s", k, d.msg);
    pg_scenario_free(&s);
    pg_config_free(c);
  }
  assert_int_equal(r[0].n_parties, r[1].n_parties);
  for (size_t i = 0; i < r[0].n_parties; i++) {
    const pg_sim_party *a = &r[0].parties[i], *b = &r[1].parties[i];
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->energy_wh, b->energy_wh);
    assert_int_equal(a->community_wh, b->community_wh);
    assert_int_equal(a->outside_wh, b->outside_wh);
    assert_int_equal(a->amount, b->amount);
  }
  assert_true(r[0].parties[3].outside_wh > 0); /* c, at 60 % */
  assert_int_equal(r[0].total.billed, r[1].total.billed);
  for (int k = 0; k < 2; k++) {
    pg_sim_result_free(&r[k]);
    rmrf(dir[k]);
  }
}

static void test_errors(void **state) {
  (void)state;
  struct {
    const char *text, *want;
  } cases[] = {
      {"[scenario]\nname = x\n[household a]\nkey = 120%\n", "x.ini:4: [household a] key"},
      {"[scenario]\nname = x\n[household a]\nparticipation = 0\n",
       "x.ini:4: [household a] participation"},
      {"[scenario]\nname = x\n[household a]\nparticipation = 60 %\n",
       "x.ini:4: [household a] participation"},
      {"[scenario]\nname = x\n[household a]\ngroup = 64\n", "x.ini:4: [household a] group"},
      {"[scenario]\nname = x\n[market]\ngroup_rules = dynamic, fixed\n",
       "x.ini:4: [market] group_rules"},
      {"[scenario]\nname = x\n[market]\nmechanism = static-key\n[household a]\nkey = 60%\n"
       "[household b]\nkey = 50%\n",
       "static keys of group 0 sum above 100%"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    tu_scenario_refused(cases[i].text, cases[i].want, i);
}

int main(void) {
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_austria),
      cmocka_unit_test(test_hierarchical_keys),
      cmocka_unit_test(test_full_equals_market),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
