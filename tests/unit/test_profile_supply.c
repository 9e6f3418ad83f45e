/* Meters of other resources (meter_profile.h): water, heat, well, boiler and
 * the rain-water tank — exact windows, the tank's mass balance to the mL,
 * config sections and their errors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/meter/meter_profile.h"

#define H 3600000LL
#define DAY 86400000LL

#include "test_util_meter.h"
#include "test_util_tmpdir.h"

#define RAIN PG_SOURCE_DIR "/examples/data/rain-berlin-2025.csv"

static int64_t y2025(void) { return pg_days_from_civil(2025, 1, 1) * DAY; }

static void test_model_kinds(void **st) {
  (void)st;
  pg_water_use_params wp;
  pg_water_use_params_default(&wp);
  pg_heat_use_params hp;
  pg_heat_use_params_default(&hp);
  pg_well_params lp;
  pg_well_params_default(&lp);
  pg_boiler_params bp;
  pg_boiler_params_default(&bp);
  pg_meter *m[4] = {NULL, NULL, NULL, NULL};
  assert_int_equal(pg_meter_water_use_new(&wp, 5, &m[0], NULL), PG_OK);
  assert_int_equal(pg_meter_heat_use_new(&hp, 5, &m[1], NULL), PG_OK);
  assert_int_equal(pg_meter_well_new(&lp, &m[2], NULL), PG_OK);
  assert_int_equal(pg_meter_boiler_new(&bp, &m[3], NULL), PG_OK);
  static const char *kinds[4] = {"water", "heat", "well", "boiler"};
  int64_t t0 = pg_days_from_civil(2025, 3, 28) * DAY + 4321; /* over the clock change */
  for (int k = 0; k < 4; k++) {
    assert_string_equal(pg_meter_kind(m[k]), kinds[k]);
    check_windows(m[k], t0, t0 + 4 * DAY + 99, 20 + (uint64_t)k);
  }
  /* a well's day: 16 h x 600 L/h, in litres */
  int64_t d0 = pg_days_from_civil(2025, 1, 10) * DAY - H;
  assert_int_equal(energy(m[2], d0, d0 + DAY), 9600);
  /* a water year with the default noise is near 45,000 L */
  int64_t year = energy(m[0], y2025() - H, pg_days_from_civil(2026, 1, 1) * DAY - H);
  printf("water meter: 2025 %lld L\n", (long long)year);
  assert_true(llabs(year - 45000) < 2000);
  for (int k = 0; k < 4; k++) pg_meter_free(m[k]);
  wp.annual_l = 0;
  pg_diag d;
  assert_int_equal(pg_meter_water_use_new(&wp, 5, &m[0], &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "annual use"));
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* Two hours: 10 mm then none, 10 m2, runoff 1: 100 L in the first hour. */
static void test_tank_by_hand(void **st) {
  (void)st;
  char *dir = tu_mktmp("pg_tank");
  char path[600];
  snprintf(path, sizeof path, "%s/r.csv", dir);
  write_file(path, "time,rain_mm\n2025-06-01T00:00:00Z,10\n2025-06-01T01:00:00Z,0\n");
  pg_rain_tank_params p = {.roof_m2 = 10, .runoff = 1, .capacity_l = 30, .draw_l_per_min = 1,
                           .initial_l = 0, .wrap = false};
  pg_meter *m;
  pg_diag d;
  assert_int_equal(pg_meter_rain_tank_new(path, &p, &m, &d), PG_OK);
  const pg_rain_tank *k = pg_meter_rain_tank_of(m);
  assert_non_null(k);
  pg_rain_tank_totals tot;
  pg_rain_tank_period(k, &tot);
  /* hour 1: 100 in, 60 drawn, 40 left of which 10 overflow; hour 2: 30 drawn */
  assert_int_equal(tot.inflow_ml, 100000);
  assert_int_equal(tot.supplied_ml, 90000);
  assert_int_equal(tot.overflow_ml, 10000);
  assert_int_equal(tot.level_end_ml, 0);
  int64_t t0 = pg_days_from_civil(2025, 6, 1) * DAY;
  assert_int_equal(energy(m, t0 - H, t0), 0);
  assert_int_equal(energy(m, t0, t0 + H), 60);
  assert_int_equal(energy(m, t0 + H, t0 + H + 30 * 60000), 30);
  assert_int_equal(energy(m, t0 + 90 * 60000, t0 + 5 * H), 0);
  assert_int_equal(pg_rain_tank_level_ml(k, t0 + H), 30000);
  check_windows(m, t0 - H, t0 + 3 * H, 3);
  pg_meter_free(m);
  /* without overflow the tank keeps the rest and, after the series, draws it dry */
  p.capacity_l = 1000;
  assert_int_equal(pg_meter_rain_tank_new(path, &p, &m, &d), PG_OK);
  assert_int_equal(energy(m, t0, t0 + 10 * H), 100);
  assert_int_equal(energy(m, t0 + 2 * H, t0 + 10 * H), 0);
  assert_int_equal(energy(m, t0 + H, t0 + 2 * H), 40);
  pg_meter_free(m);
  /* bad rain values name the column and the line */
  write_file(path, "time,rain_mm\n2025-06-01T00:00:00Z,1\n2025-06-01T01:00:00Z,-2\n");
  assert_int_equal(pg_meter_rain_tank_new(path, &p, &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "r.csv:3: rain_mm '-2' is negative"));
  write_file(path, "time,power_W\n2025-06-01T00:00:00Z,1\n2025-06-01T01:00:00Z,2\n");
  assert_int_equal(pg_meter_rain_tank_new(path, &p, &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "header must be 'time,rain_mm'"));
  write_file(path, "time,rain_mm\n2025-06-01T00:00:00Z,10001\n2025-06-01T01:00:00Z,2\n");
  assert_int_equal(pg_meter_rain_tank_new(path, &p, &m, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "more than 10000 mm"));
  tu_rmrf(dir);
}

/* The example year: inflow = roof x runoff x rain to the litre, and
 * inflow = supplied + overflow + level change to the mL; windows across the
 * wrap sum to their union. */
static void test_tank_year(void **st) {
  (void)st;
  pg_rain_tank_params p;
  pg_rain_tank_params_default(&p);
  pg_meter *m;
  pg_diag d;
  assert_int_equal(pg_meter_rain_tank_new(RAIN, &p, &m, &d), PG_OK);
  const pg_rain_tank *k = pg_meter_rain_tank_of(m);
  pg_rain_tank_totals tot;
  pg_rain_tank_period(k, &tot);
  printf("tank: in %lld mL, supplied %lld, overflow %lld, level %lld -> %lld, %d periods\n",
         (long long)tot.inflow_ml, (long long)tot.supplied_ml, (long long)tot.overflow_ml,
         (long long)tot.level_start_ml, (long long)tot.level_end_ml, tot.periods);
  assert_true(llabs(tot.inflow_ml - 570 * 100 * 800) <= 1000); /* 570 mm x 100 m2 x 0.8 */
  assert_int_equal(tot.inflow_ml,
                   tot.supplied_ml + tot.overflow_ml + tot.level_end_ml - tot.level_start_ml);
  assert_int_equal(tot.level_end_ml, tot.level_start_ml); /* periodic steady state */
  int64_t y0 = y2025(), y1 = pg_days_from_civil(2026, 1, 1) * DAY;
  int64_t year = energy(m, y0, y1);
  assert_true(llabs(year * 1000 - tot.supplied_ml) <= 1000);
  assert_int_equal(energy(m, y1, y1 + (y1 - y0)), year);
  check_windows(m, y1 - 2 * DAY - 7, y1 + 3 * DAY, 11);
  for (int64_t t = y0; t < y1; t += 7 * H + 13) {
    int64_t l = pg_rain_tank_level_ml(k, t);
    assert_true(l >= 0 && l <= 5000000);
  }
  pg_meter_free(m);
  /* a slow draw (72 L a day): the tank fills and overflows; the steady state
   * is found in the second period */
  p.draw_l_per_min = 0.05;
  assert_int_equal(pg_meter_rain_tank_new(RAIN, &p, &m, &d), PG_OK);
  pg_rain_tank_period(pg_meter_rain_tank_of(m), &tot);
  printf("slow tank: in %lld mL, supplied %lld, overflow %lld, level %lld -> %lld, %d periods\n",
         (long long)tot.inflow_ml, (long long)tot.supplied_ml, (long long)tot.overflow_ml,
         (long long)tot.level_start_ml, (long long)tot.level_end_ml, tot.periods);
  assert_true(tot.periods >= 2 && tot.overflow_ml > 0 && tot.level_start_ml > 0);
  assert_int_equal(tot.level_end_ml, tot.level_start_ml);
  assert_int_equal(tot.inflow_ml, tot.supplied_ml + tot.overflow_ml);
  check_windows(m, y1 - 2 * DAY - 7, y1 + 3 * DAY, 12);
  pg_meter_free(m);
  /* a huge tank with no draw never reaches a steady state in 64 periods:
   * the balance of the period still holds */
  p.capacity_l = 1e9;
  p.draw_l_per_min = 0;
  assert_int_equal(pg_meter_rain_tank_new(RAIN, &p, &m, &d), PG_OK);
  pg_rain_tank_period(pg_meter_rain_tank_of(m), &tot);
  assert_int_equal(tot.periods, 64);
  assert_int_equal(tot.supplied_ml, 0);
  assert_int_equal(tot.inflow_ml, tot.level_end_ml - tot.level_start_ml);
  pg_meter_free(m);
}

static void test_from_config(void **st) {
  (void)st;
  pg_config *c;
  assert_int_equal(pg_config_new(&c), PG_OK);
  const char *ini = "[w]\nkind = water\nannual_l = 60000\ngarden_share = 0.2\n"
                    "[h]\nkind = heat\nannual_kwh = 9000\nbase_temp_c = 16\ntemp_mean_c = 9.5\nweather_seed = 7\n"
                    "[p]\nkind = well\npump_l_per_min = 30\nfrom = 05:30\nto = 21\n"
                    "[r]\nkind = rain-tank\npath = " RAIN "\nroof_m2 = 120\ncapacity_l = 8000\n"
                    "[b]\nkind = boiler\ncapacity_kw = 80\nheat_loss_w_per_k = 3000\n"
                    "[bad_w]\nkind = water\ngarden_share = 2\n"
                    "[bad_h]\nkind = heat\ncoldest_doy = 400\n"
                    "[bad_p]\nkind = well\nfrom = 25:00\n"
                    "[bad_r]\nkind = rain-tank\npath = " RAIN "\ncapacity_l = 10\ninitial_l = 20\n"
                    "[bad_r2]\nkind = rain-tank\npath = /nonexistent/rain.csv\n"
                    "[bad_r3]\nkind = rain-tank\n"
                    "[bad_b]\nkind = boiler\ntemp_noise_c = -1\n";
  pg_diag d;
  assert_int_equal(pg_config_load_string(c, "t.ini", ini, strlen(ini), &d), PG_OK);
  static const char *ok[][2] = {{"w", "water"}, {"h", "heat"}, {"p", "well"}, {"r", "rain-tank"}, {"b", "boiler"}};
  for (size_t i = 0; i < 5; i++) {
    pg_meter *m = NULL;
    assert_true(pg_meter_profile_kind(ok[i][1]));
    assert_int_equal(pg_meter_from_config(c, ok[i][0], 1, &m, &d), PG_OK);
    assert_string_equal(pg_meter_kind(m), ok[i][1]);
    pg_meter_free(m);
  }
  static const char *bad[][2] = {
      {"bad_w", "[bad_w] garden_share: '2'"}, {"bad_h", "coldest_doy"},
      {"bad_p", "[bad_p] from: '25:00' is not a time"}, {"bad_r", "[bad_r] initial_l"},
      {"bad_r2", "[bad_r2] path:"}, {"bad_r3", "[bad_r3] path"}, {"bad_b", "[bad_b] temp_noise_c"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pg_meter *m = NULL;
    assert_int_equal(pg_meter_from_config(c, bad[i][0], 1, &m, &d), PG_ERR_CONFIG);
    printf("bad config: %s\n", d.msg);
    if (!strstr(d.msg, bad[i][1])) fail_msg("'%s' does not name '%s'", d.msg, bad[i][1]);
    assert_null(m);
  }
  pg_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_kinds), cmocka_unit_test(test_tank_by_hand),
      cmocka_unit_test(test_tank_year), cmocka_unit_test(test_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
