/* Models of other resources (profile.h): outdoor temperature, household water
 * and heat use, well and boiler — annual sums, daily and seasonal shapes,
 * purity, parameter checks. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/profile/profile.h"

#define H 3600000LL
#define DAY 86400000LL

static int64_t utc(int y, int mo, int d, int h) { return pg_days_from_civil(y, mo, d) * DAY + h * H; }

/* Local (CET, UTC+1 in winter / +2 in summer) hour h of a date, in UTC ms. */
static int64_t berlin(int y, int mo, int d, int h) {
  bool summer = mo > 3 && mo < 10;
  return utc(y, mo, d, h) - (summer ? 2 : 1) * H;
}

static void test_temperature(void **st) {
  (void)st;
  pg_temperature_params p;
  pg_temperature_params_default(&p);
  assert_int_equal(pg_temperature_check(&p, NULL), PG_OK);
  double jan = 0, jul = 0, sum = 0, sq = 0;
  int n = 0;
  for (int64_t t = utc(2025, 1, 1, 0); t < utc(2026, 1, 1, 0); t += H) {
    double v = pg_temperature_c(&p, PG_TZ_BERLIN, 7, t), m = pg_temperature_mean_c(&p, PG_TZ_BERLIN, t);
    sum += m;
    sq += (v - m) * (v - m);
    n++;
  }
  for (int d = 1; d <= 31; d++)
    for (int h = 0; h < 24; h++) {
      jan += pg_temperature_mean_c(&p, PG_TZ_BERLIN, utc(2025, 1, d, h)) / (31 * 24);
      jul += pg_temperature_mean_c(&p, PG_TZ_BERLIN, utc(2025, 7, d, h)) / (31 * 24);
    }
  printf("temperature: year mean %.2f C, Jan %.2f, Jul %.2f, noise sd %.2f K\n", sum / n, jan, jul,
         sqrt(sq / n));
  assert_true(fabs(sum / n - 10) < 0.1);
  assert_true(jan < 1.5 && jul > 18.5);
  assert_true(fabs(sqrt(sq / n) - 2.5) < 0.6);
  /* warmest at 15:00 local, coldest at 03:00 local (summer time: 13 and 1 UTC) */
  double best = -99, worst = 99;
  int hb = -1, hw = -1;
  for (int h = 0; h < 24; h++) {
    double v = pg_temperature_mean_c(&p, PG_TZ_BERLIN, berlin(2025, 6, 15, h));
    if (v > best) best = v, hb = h;
    if (v < worst) worst = v, hw = h;
  }
  assert_int_equal(hb, 15);
  assert_int_equal(hw, 3);
  /* pure: the same answer in any order, other seeds differ */
  int64_t t = utc(2025, 3, 3, 5) + 12345;
  double a = pg_temperature_c(&p, PG_TZ_BERLIN, 7, t);
  (void)pg_temperature_c(&p, PG_TZ_BERLIN, 7, t - 40 * DAY);
  assert_true(a == pg_temperature_c(&p, PG_TZ_BERLIN, 7, t));
  assert_true(a != pg_temperature_c(&p, PG_TZ_BERLIN, 8, t));
  p.coldest_doy = 0;
  pg_diag d;
  assert_int_equal(pg_temperature_check(&p, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "coldest day"));
}

/* Noise-free litres of the year's local days, and a fine integral of the flow. */
static void test_water_annual(void **st) {
  (void)st;
  pg_water_use_params p;
  pg_water_use_params_default(&p);
  p.noise = 0;
  p.shift_max_min = 0;
  pg_water_use w;
  assert_int_equal(pg_water_use_init(&w, &p, NULL), PG_OK);
  for (int y = 2024; y <= 2026; y++) {
    double sum = 0;
    for (int64_t z = pg_days_from_civil(y, 1, 1); z < pg_days_from_civil(y + 1, 1, 1); z++) {
      int yy, mm, dd;
      pg_civil_from_days(z, &yy, &mm, &dd);
      sum += pg_water_use_day_l(&w, yy, mm, dd);
    }
    assert_true(fabs(sum - 45000) < 1e-6);
  }
  double flow = 0;
  for (int64_t t = berlin(2025, 1, 1, 0); t < berlin(2026, 1, 1, 0); t += 60000)
    flow += pg_water_use_lph(&w, 1, t + 30000) / 60;
  printf("water: year 2025 %.1f L (45000 asked)\n", flow);
  assert_true(fabs(flow - 45000) < 45);
}

static int peak_hour(const pg_water_use *w, int y, int mo, int d, int from, int to, double *val) {
  int best = -1;
  *val = -1;
  for (int h = from; h < to; h++) {
    double v = pg_water_use_lph(w, 0, berlin(y, mo, d, h) + 30 * 60000);
    if (v > *val) *val = v, best = h;
  }
  return best;
}

static void test_water_shape(void **st) {
  (void)st;
  pg_water_use_params p;
  pg_water_use_params_default(&p);
  p.noise = 0;
  p.shift_max_min = 0;
  p.garden_share = 0;
  pg_water_use w;
  assert_int_equal(pg_water_use_init(&w, &p, NULL), PG_OK);
  double morning, evening, night, noon, sat;
  int hm = peak_hour(&w, 2025, 3, 11, 4, 12, &morning); /* a Tuesday */
  int he = peak_hour(&w, 2025, 3, 11, 15, 24, &evening);
  int hs = peak_hour(&w, 2025, 3, 15, 4, 14, &sat);     /* a Saturday */
  peak_hour(&w, 2025, 3, 11, 2, 4, &night);
  peak_hour(&w, 2025, 3, 11, 14, 15, &noon);
  printf("water: workday peaks %d h %.1f L/h, %d h %.1f L/h; Saturday %d h %.1f L/h; night %.1f\n", hm,
         morning, he, evening, hs, sat, night);
  assert_true(hm >= 6 && hm < 9);
  assert_true(he >= 18 && he < 22);
  assert_true(hs > hm && sat > morning);
  assert_true(night < 0.15 * morning && noon < evening);
  /* garden only: nothing in winter, watering on summer evenings */
  p.garden_share = 1;
  assert_int_equal(pg_water_use_init(&w, &p, NULL), PG_OK);
  for (int64_t t = berlin(2025, 1, 15, 0); t < berlin(2025, 3, 1, 0); t += 15 * 60000)
    assert_true(pg_water_use_lph(&w, 3, t) == 0);
  assert_true(pg_water_use_lph(&w, 3, berlin(2025, 7, 10, 20)) > 10);
  assert_true(pg_water_use_lph(&w, 3, berlin(2025, 7, 10, 14)) == 0);
  /* noise: mean 1, shift per home; pure */
  pg_water_use_params_default(&p);
  assert_int_equal(pg_water_use_init(&w, &p, NULL), PG_OK);
  int64_t t = berlin(2025, 5, 5, 7) + 777;
  double a = pg_water_use_lph(&w, 42, t);
  (void)pg_water_use_lph(&w, 42, t + 5 * DAY);
  assert_true(a == pg_water_use_lph(&w, 42, t) && a != pg_water_use_lph(&w, 43, t));
  pg_diag d;
  p.garden_share = 1.5;
  assert_int_equal(pg_water_use_init(&w, &p, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "garden share"));
}

static double heat_year_kwh(const pg_heat_use *h, uint64_t seed, int y) {
  double wh = 0;
  for (int64_t t = berlin(y, 1, 1, 0); t < berlin(y + 1, 1, 1, 0); t += 10 * 60000)
    wh += pg_heat_use_w(h, seed, t + 5 * 60000) / 6;
  return wh / 1000;
}

static void test_heat(void **st) {
  (void)st;
  pg_heat_use_params p;
  pg_heat_use_params_default(&p);
  p.noise = 0;
  p.temp.noise_c = 0;
  pg_heat_use h;
  assert_int_equal(pg_heat_use_init(&h, &p, NULL), PG_OK);
  double y25 = heat_year_kwh(&h, 1, 2025), y24 = heat_year_kwh(&h, 1, 2024);
  printf("heat: noise-free 2025 %.1f kWh, 2024 %.1f kWh (12000 asked)\n", y25, y24);
  assert_true(fabs(y25 - 12000) < 12 && fabs(y24 - 12000) < 12);
  double jan = 0, jul = 0;
  for (int hr = 0; hr < 24; hr++) {
    jan += pg_heat_use_w(&h, 1, berlin(2025, 1, 15, hr));
    jul += pg_heat_use_w(&h, 1, berlin(2025, 7, 15, hr));
  }
  printf("heat: 15 Jan %.1f kWh, 15 Jul %.1f kWh\n", jan / 1000, jul / 1000);
  assert_true(jan > 5 * jul && jul > 0); /* July: hot water only */
  /* night setback: 23:00 below 21:00 on a cold day (hot water aside) */
  p.hot_water_share = 0;
  assert_int_equal(pg_heat_use_init(&h, &p, NULL), PG_OK);
  assert_true(pg_heat_use_w(&h, 1, berlin(2025, 1, 15, 23)) < pg_heat_use_w(&h, 1, berlin(2025, 1, 15, 21)));
  /* with weather noise the sum scatters around annual_kwh: the mean over
   * weather seeds is close */
  pg_heat_use_params_default(&p);
  double mean = 0;
  enum { SEEDS = 8 };
  for (int s = 0; s < SEEDS; s++) {
    p.weather_seed = 100 + (uint64_t)s;
    assert_int_equal(pg_heat_use_init(&h, &p, NULL), PG_OK);
    double y = heat_year_kwh(&h, (uint64_t)s, 2025);
    printf("heat: weather seed %d: %.0f kWh\n", s, y);
    mean += y / SEEDS;
  }
  printf("heat: mean over %d weather seeds %.0f kWh\n", SEEDS, mean);
  assert_true(fabs(mean - 12000) < 0.03 * 12000);
  pg_diag d;
  p.base_temp_c = -20;
  p.temp.noise_c = 0;
  assert_int_equal(pg_heat_use_init(&h, &p, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "no heating degree hours"));
}

static void test_well_boiler(void **st) {
  (void)st;
  pg_well_params w;
  pg_well_params_default(&w);
  assert_int_equal(pg_well_check(&w, NULL), PG_OK);
  assert_true(pg_well_lph(&w, berlin(2025, 1, 10, 5)) == 0);
  assert_true(pg_well_lph(&w, berlin(2025, 1, 10, 6)) == 600); /* 20 L/min x 60 x 0.5 */
  assert_true(pg_well_lph(&w, berlin(2025, 1, 10, 22)) == 0);
  w.from_min = 22 * 60;
  w.to_min = 2 * 60; /* over midnight */
  assert_true(pg_well_lph(&w, berlin(2025, 1, 10, 23)) > 0 && pg_well_lph(&w, berlin(2025, 1, 10, 1)) > 0);
  assert_true(pg_well_lph(&w, berlin(2025, 1, 10, 12)) == 0);
  w.summer_boost = 1;
  assert_true(pg_well_lph(&w, berlin(2025, 7, 15, 23)) > 1.9 * 600 / 2 * 1.0 &&
              pg_well_lph(&w, berlin(2025, 7, 15, 23)) <= 1200);
  w.duty = 2;
  pg_diag d;
  assert_int_equal(pg_well_check(&w, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "duty"));

  pg_boiler_params b;
  pg_boiler_params_default(&b);
  b.temp.noise_c = 0;
  assert_int_equal(pg_boiler_check(&b, NULL), PG_OK);
  double jan = pg_boiler_w(&b, berlin(2025, 1, 15, 3)), jul = pg_boiler_w(&b, berlin(2025, 7, 15, 15));
  assert_true(jan > 30000 && jan <= 52000);
  assert_true(jul == 2000); /* warm afternoon: hot water only */
  b.capacity_kw = 10;
  assert_true(pg_boiler_w(&b, berlin(2025, 1, 15, 3)) == 12000);
  b.heat_loss_w_per_k = -1;
  assert_int_equal(pg_boiler_check(&b, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "heat loss"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_temperature), cmocka_unit_test(test_water_annual),
      cmocka_unit_test(test_water_shape), cmocka_unit_test(test_heat),
      cmocka_unit_test(test_well_boiler),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
