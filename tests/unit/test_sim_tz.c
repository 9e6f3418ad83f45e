/* The simulator in any time zone: [site] tz takes IANA names; Europe/Berlin
 * settles exactly as the built-in EU rule did (a whole year, hour by hour),
 * Vienna and Lisbon as their EU-rule offsets, New York differently from a
 * fixed -05:00; the local DST days are 92 and 100 quarter hours; explicit
 * households follow [site] tz unless they name their own; bad zones are
 * errors naming file:line and the zone. Skips (77) without a tz database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/meter/meter.h"
#include "p2pgrid/sim/sim.h"
#include "p2pgrid/base/tz.h"

static char g_out[] = "/tmp/pg_sim_tz_XXXXXX";

/* %s: [site] lines, start, duration, slot, extra sections */
static const char *FMT =
    "[scenario]\nname = tz\nstart = %s\nduration = %s\nslot = %s\nseed = 11\nmode = market-only\n"
    "[site]\n%s\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "[producers]\ncount = 1\nsources_per_producer = 1\nsolar_share = 1\nkwp_min = 3\nkwp_max = 3\n"
    "[households]\ncount = 3\nannual_kwh_min = 3000\nannual_kwh_max = 4000\nnoise = 0.2\n"
    "%s";

static int parse(const char *site, const char *start, const char *dur, const char *slot,
                 const char *extra, pg_scenario *s, pg_diag *d) {
  char text[4096];
  snprintf(text, sizeof text, FMT, start, dur, slot, site, extra);
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  if (pg_config_load_string(c, "tz.ini", text, strlen(text), d) != PG_OK) fail_msg("%s", d->msg);
  int rc = pg_scenario_from_config(c, s, d);
  if (rc == PG_OK) pg_scenario_free(s);
  pg_config_free(c);
  return rc;
}

static void run(const char *site, const char *start, const char *dur, const char *slot,
                const char *extra, pg_sim_result *r) {
  char text[4096];
  snprintf(text, sizeof text, FMT, start, dur, slot, site, extra);
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  if (pg_config_load_string(c, "tz.ini", text, strlen(text), &d) != PG_OK) fail_msg("%s", d.msg);
  pg_scenario s;
  if (pg_scenario_from_config(c, &s, &d) != PG_OK) fail_msg("%s", d.msg);
  assert_int_equal(pg_config_unused(c, NULL, NULL), 0);
  pg_sim_opts o = {.mode = PG_SIM_MARKET_ONLY, .out_dir = g_out}; /* nothing written */
  if (pg_sim_run(&s, &o, r, &d) != PG_OK) fail_msg("run: %s", d.msg);
  pg_scenario_free(&s);
  pg_config_free(c);
}

static bool same(const pg_sim_result *a, const pg_sim_result *b) {
  return a->n_slots == b->n_slots && a->n_parties == b->n_parties &&
         memcmp(a->slots, b->slots, a->n_slots * sizeof *a->slots) == 0 &&
         memcmp(a->parties, b->parties, a->n_parties * sizeof *a->parties) == 0;
}

static void expect(bool want_same, const char *site_a, const char *site_b, const char *start,
                   const char *dur, const char *slot, const char *extra_a, const char *extra_b) {
  pg_sim_result a, b;
  run(site_a, start, dur, slot, extra_a, &a);
  run(site_b, start, dur, slot, extra_b, &b);
  if (same(&a, &b) != want_same)
    fail_msg("'%s' vs '%s' (%s / %s) from %s: expected %s", site_a, site_b, extra_a, extra_b, start,
             want_same ? "the same results" : "different results");
  pg_sim_result_free(&a);
  pg_sim_result_free(&b);
}

/* tz = Europe/Berlin (tz database) = the built-in rule of before, for a year */
static void test_berlin_year(void **state) {
  (void)state;
  pg_sim_result a, b;
  run("tz = Europe/Berlin", "2025-01-01", "365d", "1h", "", &a);
  run("tz = +01:00\neu_dst = true", "2025-01-01", "365d", "1h", "", &b);
  assert_int_equal(a.n_slots, 8760);
  assert_true(a.total.demand_wh > 0);
  assert_true(same(&a, &b));
  pg_sim_result_free(&a);
  pg_sim_result_free(&b);
}

/* the local DST days of Vienna: 92 and 100 quarter hours, settled as the
 * EU rule on +01:00; UTC gives other loads (day types and hours move) */
static void test_vienna_dst_days(void **state) {
  (void)state;
  pg_tz vie;
  pg_diag d = {{0}};
  assert_int_equal(pg_tz_parse("Europe/Vienna", &vie, &d), PG_OK);
  struct {
    int m, d, quarters;
  } days[] = {{3, 30, 92}, {10, 26, 100}};
  for (size_t i = 0; i < 2; i++) {
    int64_t t0 = pg_tz_midnight_ms(vie, 2025, days[i].m, days[i].d);
    int64_t len = pg_tz_day_ms(vie, 2025, days[i].m, days[i].d);
    assert_int_equal(len / 900000, days[i].quarters);
    time_t tt = (time_t)(t0 / 1000);
    struct tm tm;
    gmtime_r(&tt, &tm);
    char start[32], dur[32];
    strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(dur, sizeof dur, "%lldm", (long long)(len / 60000));
    pg_sim_result r;
    run("tz = Europe/Vienna", start, dur, "15m", "", &r);
    assert_int_equal(r.n_slots, (size_t)days[i].quarters);
    /* every slot of the run lies on the local day */
    for (size_t k = 0; k < r.n_slots; k++) {
      pg_local_time lt;
      pg_local_time_of(t0 + (int64_t)k * 900000, vie, &lt);
      assert_int_equal(lt.day, days[i].d);
    }
    pg_sim_result_free(&r);
    expect(true, "tz = Europe/Vienna", "tz = +01:00\neu_dst = true", start, dur, "15m", "", "");
    expect(false, "tz = Europe/Vienna", "tz = UTC", start, dur, "15m", "", "");
  }
}

static void test_other_zones(void **state) {
  (void)state;
  /* Lisbon keeps the EU rule on UTC+0 */
  expect(true, "tz = Europe/Lisbon", "tz = +00:00\neu_dst = true", "2025-03-28", "4d", "15m", "",
         "");
  expect(false, "tz = Europe/Lisbon", "tz = UTC", "2025-03-28", "4d", "15m", "", "");
  /* New York in summer is not -05:00 */
  expect(false, "tz = America/New_York", "tz = -05:00", "2025-07-01", "2d", "15m", "", "");
  expect(true, "tz = America/New_York", "tz = -05:00", "2025-01-06", "2d", "15m", "", "");
  /* a zone with no DST */
  expect(true, "tz = Asia/Kolkata", "tz = +05:30", "2025-03-28", "4d", "1h", "", "");
}

/* explicit households follow [site] tz unless they name their own */
static void test_explicit_inherit(void **state) {
  (void)state;
  const char *flat = "[household flat]\nannual_kwh = 2500\n";
  const char *flat_ny = "[household flat]\nannual_kwh = 2500\ntz = America/New_York\n";
  const char *flat_utc = "[household flat]\nannual_kwh = 2500\ntz = UTC\n";
  /* the legacy keys: eu_dst defaults to true (Berlin's rule), so -05:00
   * with EU summer time is New York's -04:00 in July, without it is not */
  const char *flat_eu = "[household flat]\nannual_kwh = 2500\nutc_offset_min = -300\n";
  const char *flat_old = "[household flat]\nannual_kwh = 2500\nutc_offset_min = -300\n"
                         "eu_dst = false\n";
  expect(true, "tz = America/New_York", "tz = America/New_York", "2025-07-01", "1d", "15m", flat,
         flat_eu);
  expect(true, "tz = America/New_York", "tz = America/New_York", "2025-07-01", "1d", "15m", flat,
         flat_ny);
  expect(false, "tz = America/New_York", "tz = America/New_York", "2025-07-01", "1d", "15m", flat,
         flat_utc);
  expect(false, "tz = America/New_York", "tz = America/New_York", "2025-07-01", "1d", "15m", flat,
         flat_old);
}

/* summary.json names the zone (for local labels in reports) */
static void test_summary_zone(void **state) {
  (void)state;
  char text[4096];
  snprintf(text, sizeof text, FMT, "2025-06-01", "2h", "15m", "tz = Europe/Vienna", "");
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  assert_int_equal(pg_config_load_string(c, "tz.ini", text, strlen(text), &d), PG_OK);
  pg_scenario s;
  if (pg_scenario_from_config(c, &s, &d) != PG_OK) fail_msg("%s", d.msg);
  char dir[64];
  snprintf(dir, sizeof dir, "%s/files", g_out);
  pg_sim_opts o = {.mode = PG_SIM_MARKET_ONLY, .out_dir = dir, .write_files = true};
  pg_sim_result r;
  if (pg_sim_run(&s, &o, &r, &d) != PG_OK) fail_msg("run: %s", d.msg);
  char path[128];
  snprintf(path, sizeof path, "%s/summary.json", dir);
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "timeZone")), "Europe/Vienna");
  json_decref(j);
  const char *files[] = {"summary.json", "slots.csv", "participants.csv", "transfers.csv",
                         "balances.csv"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
  pg_sim_result_free(&r);
  pg_scenario_free(&s);
  pg_config_free(c);
}

/* the meter keys of entity configs: tz, or the legacy offset keys */
static int64_t day_wh(const char *ini, const char *sec, int64_t from_ms, pg_diag *d, int *rc) {
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  assert_int_equal(pg_config_load_string(c, "meter.ini", ini, strlen(ini), d), PG_OK);
  pg_meter *m = NULL;
  int64_t wh = -1;
  *rc = pg_meter_from_config(c, sec, 5, &m, d);
  if (*rc == PG_OK) {
    assert_int_equal(pg_meter_energy(m, (uint64_t)from_ms, (uint64_t)from_ms + 3 * 3600000, &wh, d),
                     PG_OK);
    pg_meter_free(m);
  }
  pg_config_free(c);
  return wh;
}

static void test_meter_keys(void **state) {
  (void)state;
  const char *ini = "[a]\nkind = household\ntz = Europe/Vienna\nnoise = 0\n"
                    "[b]\nkind = household\nutc_offset_min = 60\neu_dst = true\nnoise = 0\n"
                    "[c]\nkind = household\ntz = Asia/Tokyo\nnoise = 0\n"
                    "[d]\nkind = household\ntz = Europe/Vienna\neu_dst = false\n"
                    "[e]\nkind = household\ntz = Atlantis/Capital\n";
  pg_diag d = {{0}};
  int rc;
  int64_t t = pg_days_from_civil(2025, 3, 30) * 86400000 + 4 * 3600000; /* DST morning */
  int64_t a = day_wh(ini, "a", t, &d, &rc);
  assert_int_equal(rc, PG_OK);
  assert_int_equal(a, day_wh(ini, "b", t, &d, &rc));
  assert_true(a != day_wh(ini, "c", t, &d, &rc));
  (void)day_wh(ini, "d", t, &d, &rc);
  assert_int_equal(rc, PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "give either tz or"));
  (void)day_wh(ini, "e", t, &d, &rc);
  assert_int_equal(rc, PG_ERR_CONFIG);
  if (!strstr(d.msg, "meter.ini:20: [e] tz: unknown time zone 'Atlantis/Capital'")) fail_msg("%s", d.msg);
}

static void test_errors(void **state) {
  (void)state;
  struct {
    const char *site, *extra, *want;
  } cases[] = {
      {"tz = Mars/Olympus", "", "tz.ini:9: [site] tz: unknown time zone 'Mars/Olympus'"},
      {"tz = Mars/Olympus", "", "/usr/share/zoneinfo/Mars/Olympus: cannot open"},
      {"tz = ../../etc/passwd", "", "[site] tz: '../../etc/passwd' is not a time zone"},
      {"tz = +15:00", "", "[site] tz"},
      {"tz = Europe/Vienna\neu_dst = true", "", "[site] eu_dst: only with a fixed offset"},
      {"tz = UTC", "[household x]\ntz = Nowhere/Land\n", "[household x] tz: unknown time zone"},
      {"tz = UTC", "[household x]\ntz = UTC\neu_dst = true\n", "give either tz or"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    pg_scenario s;
    pg_diag d = {{0}};
    int rc = parse(cases[i].site, "2025-06-01", "1d", "15m", cases[i].extra, &s, &d);
    if (rc == PG_OK) {
      pg_scenario_free(&s);
      fail_msg("case %zu accepted", i);
    }
    if (!strstr(d.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
  }
}

int main(void) {
  if (access("/usr/share/zoneinfo/Europe/Vienna", R_OK) != 0) {
    fprintf(stderr, "no tz database (install tzdata): skipped\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_berlin_year),    cmocka_unit_test(test_vienna_dst_days),
      cmocka_unit_test(test_other_zones),    cmocka_unit_test(test_explicit_inherit),
      cmocka_unit_test(test_summary_zone),   cmocka_unit_test(test_meter_keys),
      cmocka_unit_test(test_errors),
  };
  if (!mkdtemp(g_out)) return 1;
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  rmdir(g_out);
  return rc;
}
