/* Profile and CSV meters: consecutive windows sum exactly to the union, any
 * order gives the same answers, readings match the integral. The meter
 * sources live in src/meter (library pg_meter); they are compiled into this
 * test directly so it needs only pg_profile. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../src/meter/meter_csv.c"
#include "../../src/meter/meter_profile.c"

#define H 3600000LL
#define DAY 86400000LL

#include "test_util_meter.h"

static void test_model_meters(void **st) {
  (void)st;
  pg_solar_params sp;
  pg_solar_params_default(&sp);
  pg_wind_params wp;
  pg_wind_params_default(&wp);
  pg_household_params hp;
  pg_household_params_default(&hp);
  pg_meter *m[3] = {NULL, NULL, NULL};
  assert_int_equal(pg_meter_solar_new(&sp, 11, &m[0], NULL), PG_OK);
  assert_int_equal(pg_meter_wind_new(&wp, 11, &m[1], NULL), PG_OK);
  assert_int_equal(pg_meter_household_new(&hp, 11, &m[2], NULL), PG_OK);
  assert_string_equal(m[0]->ops->kind, "solar");
  int64_t t0 = pg_days_from_civil(2025, 6, 10) * DAY + 12345;
  for (int k = 0; k < 3; k++) {
    check_windows(m[k], t0, t0 + 5 * DAY + 777, 1 + (uint64_t)k);
    /* a day's reading matches a fine integral of the model */
    double e = 0;
    int64_t d0 = pg_days_from_civil(2025, 6, 12) * DAY;
    for (int64_t t = d0; t < d0 + DAY; t += 10000) {
      double w = k == 0 ? pg_solar_power_w(&sp, 11, t + 5000)
               : k == 1 ? pg_wind_power_w(&wp, 11, t + 5000)
                        : pg_household_power_w(&((model_meter *)m[2])->u.house, 11, t + 5000);
      e += w / 360;
    }
    int64_t wh = energy(m[k], d0, d0 + DAY);
    printf("%s: day %lld Wh, fine integral %.1f Wh\n", m[k]->ops->kind, (long long)wh, e);
    assert_true(fabs((double)wh - e) < 2 + 0.01 * e);
    /* a fresh meter gives the same answers (no hidden state) */
    pg_meter *again = NULL;
    if (k == 0) assert_int_equal(pg_meter_solar_new(&sp, 11, &again, NULL), PG_OK);
    if (k == 1) assert_int_equal(pg_meter_wind_new(&wp, 11, &again, NULL), PG_OK);
    if (k == 2) assert_int_equal(pg_meter_household_new(&hp, 11, &again, NULL), PG_OK);
    assert_int_equal(energy(again, t0 + 3 * H + 5, t0 + 4 * H), energy(m[k], t0 + 3 * H + 5, t0 + 4 * H));
    again->ops->destroy(again);
  }
  /* household meter: a year is the annual consumption (noise-free) */
  hp.noise = 0;
  hp.shift_max_min = 0;
  pg_meter *hm = NULL;
  assert_int_equal(pg_meter_household_new(&hp, 1, &hm, NULL), PG_OK);
  int64_t y0 = pg_days_from_civil(2025, 1, 1) * DAY - H, y1 = pg_days_from_civil(2026, 1, 1) * DAY - H;
  int64_t year = energy(hm, y0, y1);
  printf("household meter year: %lld Wh\n", (long long)year);
  assert_true(llabs(year - 3500000) < 35000);
  hm->ops->destroy(hm);
  for (int k = 0; k < 3; k++) m[k]->ops->destroy(m[k]);
  /* bad params are refused */
  pg_diag d;
  wp.cut_out = 5;
  pg_meter *bad = NULL;
  assert_int_equal(pg_meter_wind_new(&wp, 1, &bad, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "cut-out"));
}

static void test_csv_meters(void **st) {
  (void)st;
  char path[] = "/tmp/pg_profile_meter_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "time,power_W\n2025-01-01T00:00:00Z,1000\n2025-01-01T00:15:00Z,333.333\n"
                     "2025-01-01T00:40:00Z,0\n2025-01-01T01:00:00Z,7\n";
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  pg_meter_csv_opts o;
  pg_meter_csv_opts_default(&o);
  int64_t t0 = pg_days_from_civil(2025, 1, 1) * DAY;
  for (int interp = 0; interp < 2; interp++) {
    o.interp = (pg_series_interp)interp;
    pg_meter *m;
    pg_diag d;
    assert_int_equal(pg_meter_csv_new(path, &o, &m, &d), PG_OK);
    assert_string_equal(m->ops->kind, "csv");
    check_windows(m, t0 - 7 * H - 3, t0 + 2 * DAY, 5);
    if (interp == 0) assert_int_equal(energy(m, t0, t0 + 15 * 60000), 250);
    m->ops->destroy(m);
  }
  unlink(path);
  pg_meter *m = NULL;
  pg_diag d;
  assert_int_equal(pg_meter_csv_new("/nonexistent/x.csv", &o, &m, &d), PG_ERR_IO);
  /* BDEW layout through the same meter, if the data are here */
  pg_meter *b;
  if (pg_meter_csv_new(PG_SHARED_DIR "/data/bdew/h25.csv", &o, &b, &d) == PG_OK) {
    check_windows(b, t0 + 17, t0 + 3 * DAY, 9);
    int64_t y = energy(b, t0 - H, pg_days_from_civil(2026, 1, 1) * DAY - H);
    printf("csv meter on h25.csv: %lld Wh for 3500 kWh/a\n", (long long)y);
    assert_true(llabs(y - 3500000) < 35000);
    b->ops->destroy(b);
  } else {
    printf("NOTE: BDEW data missing, csv meter on h25.csv not tested: %s\n", d.msg);
  }
}

static void test_from_config(void **st) {
  (void)st;
  pg_config *c;
  assert_int_equal(pg_config_new(&c), PG_OK);
  const char *ini = "[m]\nkind = solar\nlat = 48.1\nlon = 11.6\nkwp = 9.5\ntilt = 35\nazimuth = -20\n"
                    "[w]\nkind = wind\nrated_kw = 50\nweibull_c = 7.5\n"
                    "[h]\nkind = household\nannual_kwh = 2500\nnoise = 0\n"
                    "[bad]\nkind = solar\nlat = 95\n";
  pg_diag d;
  assert_int_equal(pg_config_load_string(c, "t.ini", ini, strlen(ini), &d), PG_OK);
  pg_meter *m;
  assert_int_equal(pg_meter_profile_from_config(c, "m", "solar", 1, &m, &d), PG_OK);
  assert_true(((model_meter *)m)->u.solar.kwp == 9.5);
  m->ops->destroy(m);
  assert_int_equal(pg_meter_profile_from_config(c, "w", "wind", 1, &m, &d), PG_OK);
  m->ops->destroy(m);
  assert_int_equal(pg_meter_profile_from_config(c, "h", "household", 1, &m, &d), PG_OK);
  m->ops->destroy(m);
  assert_int_equal(pg_meter_profile_from_config(c, "bad", "solar", 1, &m, &d), PG_ERR_CONFIG);
  printf("bad config: %s\n", d.msg);
  assert_non_null(strstr(d.msg, "[bad] lat: '95'"));
  assert_int_equal(pg_meter_profile_from_config(c, "m", "csv", 1, &m, &d), PG_ERR_CONFIG);
  printf("bad config: %s\n", d.msg);
  pg_config_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_meters),
      cmocka_unit_test(test_csv_meters),
      cmocka_unit_test(test_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
