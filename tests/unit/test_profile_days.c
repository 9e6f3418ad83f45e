/* Whole days at once (pg_*_days_w): bit-identical to the per-sample models
 * at every minute midpoint, over DST days, holidays, a leap year's end, a
 * zone with second offsets (the sample-by-sample fallback) and the south. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/profile/profile_internal.h"
#include "p2pgrid/profile/profile.h"

#define DAY 86400000LL

static int64_t t_of(int64_t day0, size_t i) {
  return (day0 + (int64_t)(i / PG_DAY_MINUTES)) * DAY + (int64_t)(i % PG_DAY_MINUTES) * 60000 + 30000;
}

static void same_bits(double a, double b, size_t i, const char *what) {
  if (memcmp(&a, &b, sizeof a) != 0) fail_msg("%s: sample %zu: %.17g != %.17g", what, i, a, b);
}

static void check_house(pg_tz tz, bool holidays, double noise, double shift, int64_t day0,
                        size_t ndays, uint64_t seed) {
  pg_household_params p;
  pg_household_params_default(&p);
  p.tz = tz, p.holidays = holidays, p.noise = noise, p.shift_max_min = shift;
  pg_household h;
  assert_int_equal(pg_household_init(&h, &p, NULL), PG_OK);
  pg_local_days c;
  assert_int_equal(pg_local_days_init(&c, tz, day0, ndays, NULL), PG_OK);
  pg_household_work *w = NULL;
  assert_int_equal(pg_household_work_new(&w, NULL), PG_OK);
  size_t n = ndays * PG_DAY_MINUTES;
  double *out = malloc(n * sizeof *out);
  assert_non_null(out);
  assert_int_equal(pg_household_days_w(&h, seed, &c, w, out, NULL), PG_OK);
  for (size_t i = 0; i < n; i++)
    same_bits(out[i], pg_household_power_w(&h, seed, t_of(day0, i)), i, "household");
  /* the work area again for another house (tables rebuilt) */
  assert_int_equal(pg_household_days_w(&h, seed + 1, &c, w, out, NULL), PG_OK);
  for (size_t i = 0; i < n; i += 7)
    same_bits(out[i], pg_household_power_w(&h, seed + 1, t_of(day0, i)), i, "household 2");
  free(out);
  pg_household_work_free(w);
  pg_local_days_free(&c);
}

static void test_household_days(void **st) {
  (void)st;
  int64_t mar = pg_days_from_civil(2025, 3, 27), oct = pg_days_from_civil(2025, 10, 24);
  int64_t dec = pg_days_from_civil(2024, 12, 20), easter = pg_days_from_civil(2025, 4, 16);
  check_house(PG_TZ_BERLIN, true, 0.3, 30, mar, 5, 1);  /* spring forward */
  check_house(PG_TZ_BERLIN, true, 0.3, 30, oct, 5, 2);  /* fall back */
  check_house(PG_TZ_BERLIN, true, 0.3, 30, dec, 16, 3); /* Christmas, leap year's end */
  check_house(PG_TZ_BERLIN, false, 0.3, 120, easter, 7, 4);
  check_house(PG_TZ_UTC, true, 0, 0, easter, 3, 5);
  /* the 15-minute buckets' positions change binade (d x 96 crosses 2^21):
   * the per-day pass is made again there */
  check_house(PG_TZ_BERLIN, true, 0.3, 30, 21843, 5, 9);
  pg_tz ist;
  assert_int_equal(pg_tz_parse("+05:30", &ist, NULL), PG_OK);
  check_house(ist, true, 1, 60, mar, 3, 6);
  pg_tz ny;
  if (pg_tz_parse("America/New_York", &ny, NULL) == PG_OK) check_house(ny, true, 0.3, 30, oct, 10, 7);
  /* 1880s Berlin local mean time (+00:53:28): sample by sample */
  pg_tz ber;
  if (pg_tz_parse("Europe/Berlin", &ber, NULL) == PG_OK && ber.zone)
    check_house(ber, true, 0.3, 30, pg_days_from_civil(1880, 6, 1), 2, 8);
}

/* the SSE4.1 and the portable paths give the same bits as the AVX one */
static void test_simd_paths(void **st) {
  (void)st;
  for (int lvl = 0; lvl < 2; lvl++) {
    pg_profile_simd_max = lvl;
    check_house(PG_TZ_BERLIN, true, 0.3, 30, pg_days_from_civil(2025, 10, 24), 3, 11);
    check_house(PG_TZ_BERLIN, true, 0.3, 30, 21843, 3, 12);
  }
  pg_profile_simd_max = 2;
}

static void test_household_days_errors(void **st) {
  (void)st;
  pg_household_params p;
  pg_household_params_default(&p);
  pg_household h;
  assert_int_equal(pg_household_init(&h, &p, NULL), PG_OK);
  pg_local_days c;
  assert_int_equal(pg_local_days_init(&c, PG_TZ_UTC, 20000, 1, NULL), PG_OK);
  pg_household_work *w = NULL;
  assert_int_equal(pg_household_work_new(&w, NULL), PG_OK);
  double out[PG_DAY_MINUTES];
  pg_diag d = {{0}};
  assert_int_equal(pg_household_days_w(&h, 1, &c, w, out, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "time zone"));
  pg_local_days_free(&c);
  assert_int_equal(pg_local_days_init(&c, PG_TZ_UTC, 20000, 0, &d), PG_ERR_INVALID);
  pg_household_work_free(w);
  pg_local_days_free(&c);
}

static void check_solar(double lat, double lon, bool clouds, double tilt, double az, int64_t day0,
                        size_t ndays) {
  pg_solar_params p;
  pg_solar_params_default(&p);
  p.lat_deg = lat, p.lon_deg = lon, p.clouds = clouds, p.tilt_deg = tilt, p.azimuth_deg = az;
  p.kwp = 37.5;
  pg_sun_days s;
  assert_int_equal(pg_sun_days_init(&s, lat, lon, day0, ndays, NULL), PG_OK);
  size_t n = ndays * PG_DAY_MINUTES;
  double *out = malloc(n * sizeof *out);
  assert_non_null(out);
  for (uint64_t seed = 1; seed < 4; seed++) {
    assert_int_equal(pg_solar_days_w(&p, seed, &s, out, NULL), PG_OK);
    for (size_t i = 0; i < n; i++) same_bits(out[i], pg_solar_power_w(&p, seed, t_of(day0, i)), i, "solar");
  }
  p.lat_deg += 1;
  pg_diag d = {{0}};
  assert_int_equal(pg_solar_days_w(&p, 1, &s, out, &d), PG_ERR_INVALID);
  free(out);
  pg_sun_days_free(&s);
}

static void test_solar_days(void **st) {
  (void)st;
  check_solar(52.52, 13.40, true, 30, 0, pg_days_from_civil(2025, 6, 19), 4);
  check_solar(52.52, 13.40, true, 35, -40, pg_days_from_civil(2024, 12, 30), 10); /* 8-day blocks */
  check_solar(-33.9, 18.4, true, 20, 170, pg_days_from_civil(2025, 1, 10), 2);
  check_solar(48.1, 11.6, false, 90, 90, pg_days_from_civil(2025, 3, 20), 2);
  check_solar(52.52, 13.40, true, 30, 0, 16382, 4); /* day buckets cross 2^14 */
}

static void test_wind_days(void **st) {
  (void)st;
  pg_wind_params p;
  pg_wind_params_default(&p);
  p.weibull_c = 8, p.rated_kw = 33;
  int64_t day0 = pg_days_from_civil(2025, 2, 1);
  size_t ndays = 9, n = ndays * PG_DAY_MINUTES;
  double *out = malloc(n * sizeof *out);
  assert_non_null(out);
  for (uint64_t seed = 1; seed < 4; seed++) {
    assert_int_equal(pg_wind_days_w(&p, seed, day0, ndays, out, NULL), PG_OK);
    for (size_t i = 0; i < n; i++) same_bits(out[i], pg_wind_power_w(&p, seed, t_of(day0, i)), i, "wind");
  }
  /* 6-hour buckets cross 2^16 (day 16384), 15-minute ones 2^21 (day 21845) */
  for (int64_t d0 = 16382; d0 < 30000; d0 += 21843 - 16382) {
    assert_int_equal(pg_wind_days_w(&p, 5, d0, 5, out, NULL), PG_OK);
    for (size_t i = 0; i < 5 * PG_DAY_MINUTES; i++) same_bits(out[i], pg_wind_power_w(&p, 5, t_of(d0, i)), i, "wind binade");
  }
  free(out);
}

/* the windows from the days' samples are the integral through the samples */
static double house_at(const void *ctx, int64_t t) { return pg_household_power_w(ctx, 9, t); }

static void test_energy_windows(void **st) {
  (void)st;
  pg_household_params p;
  pg_household_params_default(&p);
  pg_household h;
  assert_int_equal(pg_household_init(&h, &p, NULL), PG_OK);
  int64_t day0 = pg_days_from_civil(2025, 3, 27);
  size_t ndays = 6; /* four at once and two alone */
  pg_local_days c;
  assert_int_equal(pg_local_days_init(&c, p.tz, day0, ndays, NULL), PG_OK);
  pg_household_work *w = NULL;
  assert_int_equal(pg_household_work_new(&w, NULL), PG_OK);
  double *s = malloc(ndays * PG_DAY_MINUTES * sizeof *s);
  assert_non_null(s);
  assert_int_equal(pg_household_days_w(&h, 9, &c, w, s, NULL), PG_OK);
  pg_energy_integ g;
  pg_energy_integ_init(&g, house_at, &h);
  double *cum = malloc(ndays * 1441 * sizeof *cum);
  assert_non_null(cum);
  /* 15-minute windows from 23:00 UTC; 7-minute ones off the grid; 10 h ones
   * across midnights; the last ends at the midnight after the last day */
  static const int64_t lens[] = {900000, 420000 + 17, 36000000};
  for (size_t q = 0; q < 3; q++) {
    int64_t from = day0 * DAY + 3600000 * 23 - (q == 1 ? 1234 : 0), len = lens[q];
    size_t n = (size_t)(((day0 + (int64_t)ndays) * DAY - from) / len);
    int64_t *e = malloc(n * sizeof *e);
    assert_non_null(e);
    assert_int_equal(pg_energy_windows_wh(s, day0, ndays, from, len, n, cum, e, NULL), PG_OK);
    for (size_t k = 0; k < n; k++)
      assert_int_equal(e[k], pg_energy_integ_wh(&g, from + (int64_t)k * len, from + (int64_t)(k + 1) * len));
    free(e);
  }
  int64_t one;
  assert_int_equal(pg_energy_windows_wh(s, day0, ndays, day0 * DAY, (int64_t)ndays * DAY, 1, cum, &one, NULL), PG_OK);
  assert_int_equal(one, pg_energy_integ_wh(&g, day0 * DAY, (day0 + (int64_t)ndays) * DAY));
  pg_diag d = {{0}};
  assert_int_equal(pg_energy_windows_wh(s, day0, ndays, day0 * DAY, 0, 1, cum, &one, &d), PG_ERR_INVALID);
  free(s);
  free(cum);
  pg_household_work_free(w);
  pg_local_days_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_household_days), cmocka_unit_test(test_simd_paths),
      cmocka_unit_test(test_household_days_errors),
      cmocka_unit_test(test_solar_days),     cmocka_unit_test(test_wind_days),
      cmocka_unit_test(test_energy_windows),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
