/* Solar, wind and household models: physics sanity, statistics, determinism. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/profile/profile.h"

#define H 3600000LL
#define DAY 86400000LL

static int64_t utc(int y, int m, int d, int hh, int mm) {
  return pg_days_from_civil(y, m, d) * DAY + hh * H + mm * 60000LL;
}

static void test_calendar(void **st) {
  (void)st;
  pg_local_time lt;
  pg_local_time_of(utc(2025, 3, 30, 0, 59), PG_TZ_BERLIN, &lt);
  assert_int_equal(lt.ms_of_day, 1 * H + 59 * 60000); /* CET */
  pg_local_time_of(utc(2025, 3, 30, 1, 0), PG_TZ_BERLIN, &lt);
  assert_int_equal(lt.ms_of_day, 3 * H); /* CEST from 01:00 UTC */
  pg_local_time_of(utc(2025, 10, 26, 0, 59), PG_TZ_BERLIN, &lt);
  assert_int_equal(lt.ms_of_day, 2 * H + 59 * 60000);
  pg_local_time_of(utc(2025, 10, 26, 1, 0), PG_TZ_BERLIN, &lt);
  assert_int_equal(lt.ms_of_day, 2 * H);
  pg_local_time_of(utc(2024, 12, 31, 23, 30), PG_TZ_BERLIN, &lt);
  assert_int_equal(lt.year, 2025);
  assert_int_equal(lt.doy, 1);
  assert_int_equal(lt.wday, 3); /* 2025-01-01 is a Wednesday */
  pg_local_time_of(-1, PG_TZ_UTC, &lt);
  assert_int_equal(lt.year, 1969);
  assert_int_equal(lt.month, 12);
  assert_int_equal(lt.day, 31);
  /* holidays 2025: Easter Sunday 20 April */
  assert_true(pg_holiday_de(2025, 4, 18));
  assert_true(pg_holiday_de(2025, 4, 21));
  assert_true(pg_holiday_de(2025, 5, 29));
  assert_true(pg_holiday_de(2025, 6, 9));
  assert_false(pg_holiday_de(2025, 4, 22));
  assert_int_equal(pg_daytype_of(2025, 10, 3, true), PG_DAY_SUNDAY);
  assert_int_equal(pg_daytype_of(2025, 10, 3, false), PG_DAY_WORKDAY);
  assert_int_equal(pg_daytype_of(2025, 12, 24, true), PG_DAY_SATURDAY);
  assert_int_equal(pg_daytype_of(2025, 12, 27, true), PG_DAY_SATURDAY);
  assert_int_equal(pg_daytype_of(2025, 12, 28, true), PG_DAY_SUNDAY);
  assert_true(fabs(pg_bdew_dynamisation(1) - 1.2421) < 1e-3);
}

static void test_sun(void **st) {
  (void)st;
  pg_sun s;
  /* Berlin, summer solstice, solar noon about 11:07 UTC: elevation ~ 61 deg */
  pg_sun_position(52.52, 13.40, utc(2025, 6, 21, 11, 7), &s);
  assert_true(fabs(s.elevation_deg - (90 - 52.52 + 23.44)) < 0.5);
  assert_true(fabs(s.hour_angle_deg) < 1.0);
  /* winter solstice noon: ~ 14 deg */
  pg_sun_position(52.52, 13.40, utc(2025, 12, 21, 11, 6), &s);
  assert_true(fabs(s.elevation_deg - (90 - 52.52 - 23.44)) < 0.5);
  /* equation of time early November about +16 min */
  pg_sun_position(0, 0, utc(2025, 11, 3, 12, 0), &s);
  assert_true(fabs(s.eot_min - 16.4) < 0.5);
  pg_irradiance ir;
  pg_clear_sky(90, &ir);
  assert_true(ir.ghi > 1000 && ir.ghi < 1100);
  assert_true(ir.dni > 900 && ir.dhi > 0);
  pg_clear_sky(-1, &ir);
  assert_true(ir.ghi == 0);
}

static void test_solar_shape(void **st) {
  (void)st;
  pg_solar_params p;
  pg_solar_params_default(&p);
  assert_int_equal(pg_solar_check(&p, NULL), PG_OK);
  p.clouds = false;
  /* night is 0, peak near solar noon */
  for (int day = 0; day < 365; day += 7) {
    int64_t t0 = utc(2025, 1, 1, 0, 0) + day * DAY;
    assert_true(pg_solar_power_w(&p, 1, t0 + 0 * H) == 0);   /* 01:00 CET */
    assert_true(pg_solar_power_w(&p, 1, t0 + 22 * H) == 0);  /* 23:00 CET */
    double best = -1;
    int64_t best_t = 0;
    for (int64_t t = t0; t < t0 + DAY; t += 60000) {
      double w = pg_solar_power_w(&p, 1, t);
      assert_true(w >= 0 && w <= 1000);
      if (w > best) best = w, best_t = t;
    }
    pg_sun s;
    pg_sun_position(p.lat_deg, p.lon_deg, best_t, &s);
    assert_true(fabs(s.hour_angle_deg) < 5); /* within 20 minutes of solar noon */
  }
  /* summer > winter */
  double e6 = 0, e12 = 0;
  for (int64_t t = utc(2025, 6, 1, 0, 0); t < utc(2025, 7, 1, 0, 0); t += 600000) e6 += pg_solar_power_w(&p, 1, t);
  for (int64_t t = utc(2025, 12, 1, 0, 0); t < utc(2026, 1, 1, 0, 0); t += 600000) e12 += pg_solar_power_w(&p, 1, t);
  assert_true(e6 > 3 * e12);
  /* a bad parameter is named */
  pg_diag d;
  p.tilt_deg = 91;
  assert_int_equal(pg_solar_check(&p, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "tilt"));
}

static double annual_kwh(const pg_solar_params *p, uint64_t seed, int year) {
  double e = 0;
  for (int64_t t = utc(year, 1, 1, 0, 0); t < utc(year + 1, 1, 1, 0, 0); t += 600000)
    e += pg_solar_power_w(p, seed, t + 300000) / 6;
  return e / 1000;
}

static void test_solar_yield(void **st) {
  (void)st;
  pg_solar_params p;
  pg_solar_params_default(&p); /* Berlin 1 kWp, 30 deg south, clouds */
  for (uint64_t seed = 1; seed <= 3; seed++) {
    double y = annual_kwh(&p, seed, 2025);
    printf("solar Berlin 1 kWp 30S clouds seed %llu: %.0f kWh/a\n", (unsigned long long)seed, y);
    assert_true(y > 800 && y < 1200);
  }
  p.tilt_deg = 0;
  double flat = annual_kwh(&p, 1, 2025);
  printf("solar Berlin 1 kWp flat clouds: %.0f kWh/a\n", flat);
  assert_true(flat > 750 && flat < 1100);
  p.clouds = false;
  double clear = annual_kwh(&p, 1, 2025);
  printf("solar Berlin 1 kWp flat clear sky: %.0f kWh/a\n", clear);
  assert_true(clear > flat * 1.3);
  /* the cloud index stays in range and varies */
  pg_solar_params_default(&p);
  double lo = 9, hi = -9;
  for (int64_t t = utc(2025, 1, 1, 0, 0); t < utc(2026, 1, 1, 0, 0); t += H) {
    double kc = pg_solar_clear_sky_index(&p, 5, t);
    lo = fmin(lo, kc);
    hi = fmax(hi, kc);
  }
  assert_true(lo >= 0.1 && lo < 0.3 && hi <= 1.05 && hi > 0.95);
}

static void test_wind(void **st) {
  (void)st;
  pg_wind_params p;
  pg_wind_params_default(&p);
  assert_int_equal(pg_wind_check(&p, NULL), PG_OK);
  /* power curve edges */
  assert_true(pg_wind_curve_w(&p, 0) == 0);
  assert_true(pg_wind_curve_w(&p, 2.999) == 0);
  assert_true(pg_wind_curve_w(&p, 3) == 0);
  assert_true(pg_wind_curve_w(&p, 3.5) > 0);
  assert_true(fabs(pg_wind_curve_w(&p, 11.999) - 10000) < 10);
  assert_true(pg_wind_curve_w(&p, 12) == 10000);
  assert_true(pg_wind_curve_w(&p, 24.99) == 10000);
  assert_true(pg_wind_curve_w(&p, 25) == 0);
  assert_true(pg_wind_curve_w(&p, 40) == 0);
  double mid = (27.0 + 1728.0) / 2, vmid = cbrt(mid);
  assert_true(fabs(pg_wind_curve_w(&p, vmid) - 5000) < 1e-6);
  /* long-run statistics vs Weibull theory: 4 seeds x 8 years hourly (the
   * 6-hour synoptic component makes about 2000 independent samples a seed;
   * the standard error of the mean speed is about 0.7% over the 4 seeds,
   * of the mean power about 1.5%) */
  double k = p.weibull_k, c = p.weibull_c;
  double sv = 0, sv2 = 0, sp = 0, lag = 0, prev = 0;
  long n = 0;
  for (int64_t i = 0; i < 4 * 8 * 8760; i++) {
    int64_t t = utc(2020, 1, 1, 0, 0) + (i % (8 * 8760)) * H;
    double v = pg_wind_speed(&p, 1 + (uint64_t)(i / (8 * 8760)), t);
    assert_true(v >= 0 && isfinite(v));
    sv += v;
    sv2 += v * v;
    sp += pg_wind_curve_w(&p, v);
    if (n) lag += (v - c * tgamma(1 + 1 / k)) * (prev - c * tgamma(1 + 1 / k));
    prev = v;
    n++;
  }
  double mean = sv / n, var = sv2 / n - mean * mean;
  double tmean = c * tgamma(1 + 1 / k), tvar = c * c * tgamma(1 + 2 / k) - tmean * tmean;
  /* theoretical mean power: integrate the curve against the Weibull pdf */
  double tp = 0, dv = 0.001;
  for (double v = dv / 2; v < 40; v += dv)
    tp += pg_wind_curve_w(&p, v) * (k / c) * pow(v / c, k - 1) * exp(-pow(v / c, k)) * dv;
  double rho1 = lag / (n - 1) / var;
  printf("wind: mean %.3f (Weibull %.3f), var %.3f (%.3f), mean power %.0f W (%.0f), lag-1h corr %.3f\n",
         mean, tmean, var, tvar, sp / n, tp, rho1);
  assert_true(fabs(mean / tmean - 1) < 0.03);
  assert_true(fabs(var / tvar - 1) < 0.10);
  assert_true(fabs(sp / n / tp - 1) < 0.06);
  assert_true(rho1 > 0.8); /* temporally correlated */
}

typedef double (*model_fn)(const void *p, uint64_t seed, int64_t t);
static double f_solar(const void *p, uint64_t s, int64_t t) { return pg_solar_power_w(p, s, t); }
static double f_wind(const void *p, uint64_t s, int64_t t) { return pg_wind_power_w(p, s, t); }
static double f_house(const void *p, uint64_t s, int64_t t) { return pg_household_power_w(p, s, t); }

static void check_random_access(model_fn f, const void *p) {
  enum { N = 2000 };
  static double fwd[N], again[N];
  static int64_t ts[N];
  int64_t t0 = utc(2025, 5, 1, 0, 0);
  for (int i = 0; i < N; i++) ts[i] = t0 + (int64_t)i * 137017; /* odd step */
  for (int i = 0; i < N; i++) fwd[i] = f(p, 1234, ts[i]);
  for (int i = N - 1; i >= 0; i--) again[i] = f(p, 1234, ts[i]);
  assert_memory_equal(fwd, again, sizeof fwd);
  uint64_t r = 88172645463325252ull;
  for (int j = 0; j < N; j++) { /* random order */
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    int i = (int)(r % N);
    double v = f(p, 1234, ts[i]);
    assert_memory_equal(&v, &fwd[i], sizeof v);
  }
  int differ = 0;
  for (int i = 0; i < N; i++) differ += f(p, 1235, ts[i]) != fwd[i];
  assert_true(differ > N / 4); /* another seed, another weather */
}

static void test_determinism(void **st) {
  (void)st;
  pg_solar_params sp;
  pg_solar_params_default(&sp);
  pg_wind_params wp;
  pg_wind_params_default(&wp);
  pg_household_params hp;
  pg_household_params_default(&hp);
  static pg_household h;
  assert_int_equal(pg_household_init(&h, &hp, NULL), PG_OK);
  check_random_access(f_solar, &sp);
  check_random_access(f_wind, &wp);
  check_random_access(f_house, &h);
}

static void test_household_annual(void **st) {
  (void)st;
  static pg_household h;
  pg_household_params hp;
  pg_household_params_default(&hp);
  hp.noise = 0;
  hp.shift_max_min = 0;
  for (int year = 2023; year <= 2028; year++) {
    for (int a = 0; a < 2; a++) {
      hp.annual_kwh = a ? 1000 : 4200;
      assert_int_equal(pg_household_init(&h, &hp, NULL), PG_OK);
      double e = 0;
      for (int64_t t = utc(year, 1, 1, 0, 0) - H; t < utc(year + 1, 1, 1, 0, 0) - H; t += 60000)
        e += pg_household_power_w(&h, 7, t + 30000) / 60; /* local (CET) year */
      assert_true(fabs(e / 1000 / hp.annual_kwh - 1) < 0.01);
      if (a) printf("household %d: %.2f kWh for 1000 kWh/a\n", year, e / 1000);
    }
  }
  /* with noise and shift: still about right, and different per seed */
  pg_household_params_default(&hp);
  assert_int_equal(pg_household_init(&h, &hp, NULL), PG_OK);
  double e1 = 0, e2 = 0;
  for (int64_t t = utc(2025, 1, 1, 0, 0); t < utc(2026, 1, 1, 0, 0); t += 300000) {
    e1 += pg_household_power_w(&h, 1, t + 150000) / 12;
    e2 += pg_household_power_w(&h, 2, t + 150000) / 12;
  }
  printf("household with noise: %.0f, %.0f kWh for %.0f kWh/a\n", e1 / 1000, e2 / 1000, hp.annual_kwh);
  assert_true(fabs(e1 / 1000 / hp.annual_kwh - 1) < 0.05);
  assert_true(fabs(e2 / 1000 / hp.annual_kwh - 1) < 0.05);
  assert_true(e1 != e2);
  pg_diag d;
  hp.annual_kwh = -1;
  assert_int_equal(pg_household_init(&h, &hp, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "annual"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calendar),      cmocka_unit_test(test_sun),
      cmocka_unit_test(test_solar_shape),   cmocka_unit_test(test_solar_yield),
      cmocka_unit_test(test_wind),          cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_household_annual),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
