/* The household model against BDEW H25, and the CSV loaders (BDEW layout and
 * time,power_W) on good and broken inputs. Needs ../shared/data/bdew/; when it
 * is missing the test says so loudly and exits 77 (skipped). */
#include <dirent.h>
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

#define BDEW_DIR PG_SHARED_DIR "/data/bdew"
#define H 3600000LL
#define DAY 86400000LL
#define QH 900000LL

static pg_bdew_table h25;

static int64_t utc(int y, int m, int d) { return pg_days_from_civil(y, m, d) * DAY; }

/* ---- comparison of a load model with the H25 reference ---- */

typedef double (*load_fn)(const void *ctx, int64_t t);

typedef struct fit {
  double corr[3], nrmse[3]; /* mean daily shape per day type */
  double month_err_max;     /* max |model/ref - 1| of monthly sums */
} fit;

/* Both series binned by (local day type, local quarter hour) and by local
 * month over calendar year `year` (Europe/Berlin); the model's quarter hour
 * by 3 midpoint samples, the reference's is constant per quarter hour. Both
 * are scaled to the same annual energy first. */
static void compare(load_fn model, const void *ctx, int year, fit *out) {
  pg_bdew_eval ev = {1000, true, true, PG_TZ_BERLIN};
  static double m_shape[3][96], r_shape[3][96], m_month[12], r_month[12];
  static long cnt[3][96];
  memset(m_shape, 0, sizeof m_shape);
  memset(r_shape, 0, sizeof r_shape);
  memset(m_month, 0, sizeof m_month);
  memset(r_month, 0, sizeof r_month);
  memset(cnt, 0, sizeof cnt);
  double m_tot = 0, r_tot = 0;
  for (int64_t t = utc(year, 1, 1) - H; t < utc(year + 1, 1, 1) - H; t += QH) {
    pg_local_time lt;
    pg_local_time_of(t, PG_TZ_BERLIN, &lt);
    int k = pg_daytype_of(lt.year, lt.month, lt.day, true);
    int q = (int)(lt.ms_of_day / QH);
    double m = (model(ctx, t + QH / 6) + model(ctx, t + QH / 2) + model(ctx, t + 5 * QH / 6)) / 3;
    double r = pg_bdew_power_w(&h25, &ev, t);
    m_shape[k][q] += m;
    r_shape[k][q] += r;
    cnt[k][q]++;
    m_month[lt.month - 1] += m;
    r_month[lt.month - 1] += r;
    m_tot += m;
    r_tot += r;
  }
  double scale = r_tot / m_tot;
  for (int k = 0; k < 3; k++) {
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, se = 0;
    for (int q = 0; q < 96; q++) {
      double x = r_shape[k][q] / cnt[k][q], y = m_shape[k][q] / cnt[k][q] * scale;
      sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, se += (x - y) * (x - y);
    }
    double vx = sxx - sx * sx / 96, vy = syy - sy * sy / 96;
    out->corr[k] = (vx > 1e-9 && vy > 1e-9) ? (sxy - sx * sy / 96) / sqrt(vx * vy) : 0;
    out->nrmse[k] = sqrt(se / 96) / (sx / 96);
  }
  out->month_err_max = 0;
  for (int m = 0; m < 12; m++)
    out->month_err_max = fmax(out->month_err_max, fabs(m_month[m] * scale / r_month[m] - 1));
}

/* Thresholds. The model is a 2 x 8 harmonic fit whose residual on the
 * 12 x 96 monthly table is about 2% (src/profile/fit/fit_h25.c); on the
 * yearly mean shapes it reaches corr >= 0.999, NRMSE <= 1.1% and monthly
 * sums within 2.1% (printed below). Wrong models measured with the same
 * comparison: the model shifted by 1 h has corr 0.91-0.94 and NRMSE 10-12%;
 * flat or shifted by 3 h, corr <= 0.58 and NRMSE >= 26%; the right daily
 * shape without seasons misses months by 16%. So corr > 0.98, NRMSE < 5%
 * and months within 5% leave the fit a margin of about 4x while rejecting
 * a peak one hour off. */
static bool good(const fit *f) {
  for (int k = 0; k < 3; k++)
    if (!(f->corr[k] > 0.98 && f->nrmse[k] < 0.05)) return false;
  return f->month_err_max < 0.05;
}

static void print_fit(const char *what, const fit *f) {
  printf("%-28s corr WT %.4f SA %.4f FT %.4f | nrmse WT %.3f SA %.3f FT %.3f | months max %.3f\n",
         what, f->corr[0], f->corr[1], f->corr[2], f->nrmse[0], f->nrmse[1], f->nrmse[2],
         f->month_err_max);
}

static double f_model(const void *ctx, int64_t t) { return pg_household_power_w(ctx, 0, t); }
static double f_flat(const void *ctx, int64_t t) { (void)ctx, (void)t; return 100; }
static double f_shift3(const void *ctx, int64_t t) { return pg_household_power_w(ctx, 0, t + 3 * H); }
static double f_shift1(const void *ctx, int64_t t) { return pg_household_power_w(ctx, 0, t + 1 * H); }
/* right daily shape (H25 itself, undynamised, January) but no seasons */
static double f_noseason(const void *ctx, int64_t t) {
  (void)ctx;
  pg_local_time lt;
  pg_local_time_of(t, PG_TZ_BERLIN, &lt);
  int k = pg_daytype_of(lt.year, lt.month, lt.day, true);
  return h25.w[5][k][lt.ms_of_day / QH];
}

static void test_h25_fit(void **st) {
  (void)st;
  static pg_household h;
  pg_household_params p;
  pg_household_params_default(&p);
  p.noise = 0;
  p.shift_max_min = 0;
  p.annual_kwh = 1000;
  assert_int_equal(pg_household_init(&h, &p, NULL), PG_OK);
  fit f;
  for (int year = 2024; year <= 2026; year++) {
    compare(f_model, &h, year, &f);
    char what[40];
    snprintf(what, sizeof what, "model %d", year);
    print_fit(what, &f);
    assert_true(good(&f));
  }
  /* the comparison rejects bad models */
  compare(f_flat, NULL, 2025, &f);
  print_fit("flat (must fail)", &f);
  assert_false(good(&f));
  compare(f_shift3, &h, 2025, &f);
  print_fit("shifted 3 h (must fail)", &f);
  assert_false(good(&f));
  compare(f_shift1, &h, 2025, &f);
  print_fit("shifted 1 h (must fail)", &f);
  assert_false(good(&f));
  compare(f_noseason, NULL, 2025, &f);
  print_fit("no seasons (must fail)", &f);
  assert_false(good(&f));
}

/* ---- loaders ---- */

static void test_load_all_bdew(void **st) {
  (void)st;
  DIR *dir = opendir(BDEW_DIR);
  assert_non_null(dir);
  struct dirent *e;
  int loaded = 0, other = 0;
  static pg_bdew_table t;
  while ((e = readdir(dir))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".csv")) continue;
    char path[512], head[8] = {0};
    snprintf(path, sizeof path, "%s/%s", BDEW_DIR, e->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t got = fread(head, 1, 7, f);
    fclose(f);
    pg_diag d;
    int rc = pg_bdew_load(path, &t, &d);
    if (got == 7 && memcmp(head, ",Januar", 7) == 0) {
      if (rc != PG_OK) printf("%s\n", d.msg);
      assert_int_equal(rc, PG_OK);
      /* a year of it is about 1,000,000 kWh / 1000 = 1000 kWh at 1000 kWh/a */
      pg_bdew_eval ev = {1000, strncmp(e->d_name, "g25", 3) != 0, true, PG_TZ_BERLIN};
      double wh = 0;
      for (int64_t x = utc(2025, 1, 1) - H; x < utc(2026, 1, 1) - H; x += QH)
        wh += pg_bdew_power_w(&t, &ev, x) / 4;
      printf("%s: %.1f kWh a year at 1000 kWh/a\n", e->d_name, wh / 1000);
      assert_true(fabs(wh / 1e6 - 1) < 0.02);
      loaded++;
    } else {
      printf("%s: not in the BDEW layout: %s\n", e->d_name, d.msg);
      assert_int_not_equal(rc, PG_OK);
      other++;
    }
  }
  closedir(dir);
  assert_true(loaded >= 4);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *b = malloc(1 << 20);
  assert_non_null(b);
  *len = fread(b, 1, 1 << 20, f);
  fclose(f);
  return b;
}

/* Replaces the first occurrence of `from` after offset `at` by `to`. */
static size_t edit(char *dst, const char *src, size_t len, const char *from, const char *to, size_t at) {
  const char *p = strstr(src + at, from);
  assert_non_null(p);
  size_t pre = (size_t)(p - src), fl = strlen(from), tl = strlen(to);
  memcpy(dst, src, pre);
  memcpy(dst + pre, to, tl);
  memcpy(dst + pre + tl, p + fl, len - pre - fl);
  return len - fl + tl;
}

static void expect_bdew_error(const char *data, size_t len, int code, const char *msg) {
  static pg_bdew_table t;
  pg_diag d = {{0}};
  int rc = pg_bdew_parse(data, len, "h25.csv", &t, &d);
  printf("  broken: %s\n", d.msg);
  assert_int_equal(rc, code);
  if (!strstr(d.msg, msg)) fail_msg("'%s' does not contain '%s'", d.msg, msg);
}

static void test_bdew_broken(void **st) {
  (void)st;
  size_t len;
  char *src = slurp(BDEW_DIR "/h25.csv", &len);
  char *b = malloc(len + 64);
  assert_non_null(b);
  size_t n;
  /* as is: fine; with CRLF: fine */
  static pg_bdew_table t;
  assert_int_equal(pg_bdew_parse(src, len, "h25.csv", &t, NULL), PG_OK);
  assert_true(fabs(t.w[0][PG_DAY_SATURDAY][0] - 4 * 22.152) < 1e-9);
  assert_true(fabs(t.w[11][PG_DAY_WORKDAY][95] - 4 * 21.911) < 1e-9);
  /* a bad number on line 5 */
  n = edit(b, src, len, "21.857", "2x.857", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:3: column 8: '2x.857'");
  n = edit(b, src, len, "20.126", "-20.126", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:3: column 4");
  /* truncated */
  const char *cut = strstr(src, "12:00-12:15");
  expect_bdew_error(src, (size_t)(cut - src), PG_ERR_TRUNCATED, "ends after 48 of 96");
  expect_bdew_error(src, 0, PG_ERR_TRUNCATED, "empty");
  expect_bdew_error(src, 30, PG_ERR_INVALID, "h25.csv:1: expected 37 columns");
  /* headers */
  n = edit(b, src, len, "Juli", "Julei", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:1: column 20: expected month 'Juli'");
  n = edit(b, src, len, "SA,FT,WT,SA", "SA,SA,WT,SA", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:2: column 3: day type repeated");
  n = edit(b, src, len, "[kWh],SA", "[kWh],XX", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:2: column 2: day type 'XX'");
  n = edit(b, src, len, "00:15-00:30", "00:15-00:31", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:4: expected quarter hour '00:15-00:30'");
  n = edit(b, src, len, "\n00:30-00:45,", "\n00:30-00:45,1,", 0);
  expect_bdew_error(b, n, PG_ERR_INVALID, "h25.csv:5: expected 37 columns");
  memcpy(b, src, len);
  memcpy(b + len, "garbage\n", 8);
  expect_bdew_error(b, len + 8, PG_ERR_INVALID, "h25.csv:99: unexpected data");
  memcpy(b, src, len);
  b[100] = 0;
  expect_bdew_error(b, len, PG_ERR_INVALID, "NUL byte");
  free(b);
  free(src);
  pg_diag d;
  assert_int_equal(pg_bdew_load(BDEW_DIR "/nonexistent.csv", &t, &d), PG_ERR_IO);
  assert_non_null(strstr(d.msg, "nonexistent.csv: cannot open"));
}

static pg_series *series_ok(const char *text, pg_series_interp interp, bool wrap) {
  pg_series *s = NULL;
  pg_series_opts o = {interp, wrap};
  pg_diag d = {{0}};
  int rc = pg_series_parse(text, strlen(text), "s.csv", &o, &s, &d);
  if (rc != PG_OK) fail_msg("%s", d.msg);
  return s;
}

static void expect_series_error(const char *text, int code, const char *msg) {
  pg_series *s = NULL;
  pg_diag d = {{0}};
  int rc = pg_series_parse(text, strlen(text), "s.csv", NULL, &s, &d);
  printf("  broken: %s\n", d.msg);
  assert_int_equal(rc, code);
  assert_null(s);
  if (!strstr(d.msg, msg)) fail_msg("'%s' does not contain '%s'", d.msg, msg);
}

static void test_series(void **st) {
  (void)st;
  const char *text = "time,power_W\r\n2025-01-01T00:00:00Z,1000\r\n2025-01-01T01:00:00Z,2000.5\r\n"
                     "\r\n2025-01-01T01:30:00.000+00:00,0\n";
  int64_t t0 = utc(2025, 1, 1);
  pg_series *s = series_ok(text, PG_SERIES_STEP, false);
  assert_int_equal(pg_series_count(s), 3);
  assert_int_equal(pg_series_start_ms(s), t0);
  assert_int_equal(pg_series_end_ms(s), t0 + 2 * H); /* last holds 30 min */
  assert_true(pg_series_power_w(s, t0 + H - 1) == 1000);
  assert_true(pg_series_power_w(s, t0 + H) == 2000.5);
  assert_true(pg_series_power_w(s, t0 - 1) == 0);
  assert_true(pg_series_energy_wh(s, t0, t0 + H) == 1000);
  assert_true(fabs(pg_series_energy_wh(s, t0 - H, t0 + 3 * H) - 2000.25) < 1e-9);
  assert_int_equal(pg_series_cum_wh(s, t0 + 10 * H), 2000);
  pg_series_free(s);
  s = series_ok(text, PG_SERIES_LINEAR, false);
  assert_int_equal(pg_series_end_ms(s), t0 + H + H / 2);
  assert_true(fabs(pg_series_power_w(s, t0 + H / 2) - 1500.25) < 1e-9);
  assert_true(fabs(pg_series_energy_wh(s, t0, t0 + H) - 1500.25) < 1e-6);
  assert_true(fabs(pg_series_energy_wh(s, t0, t0 + H / 2) - (500 + 0.5 * 500.25 * 0.5)) < 1e-6);
  pg_series_free(s);
  /* wrapping: the series repeats */
  s = series_ok(text, PG_SERIES_STEP, true);
  assert_true(pg_series_power_w(s, t0 + 2 * H + 10) == 1000);
  assert_true(pg_series_power_w(s, t0 - 2 * H + H) == 2000.5);
  assert_true(fabs(pg_series_energy_wh(s, t0, t0 + 10 * H) - 5 * 2000.25) < 1e-6);
  /* consecutive windows sum exactly to the union */
  uint64_t r = 1;
  int64_t a = t0 - 5 * H, total = 0, edge = a;
  while (edge < t0 + 30 * H) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    int64_t next = edge + (int64_t)(r >> 40) % (40 * 60000) + 1;
    total += pg_series_cum_wh(s, next) - pg_series_cum_wh(s, edge);
    edge = next;
  }
  assert_int_equal(total, pg_series_cum_wh(s, edge) - pg_series_cum_wh(s, a));
  assert_true(llabs(total - (int64_t)llround(pg_series_energy_wh(s, a, edge))) <= 1);
  pg_series_free(s);
  /* Unix seconds and ms */
  s = series_ok("time,power_W\n1735689600,10\n1735693200000,20\n", PG_SERIES_STEP, false);
  assert_int_equal(pg_series_start_ms(s), t0);
  assert_true(pg_series_energy_wh(s, t0, t0 + H) == 10);
  pg_series_free(s);
  s = series_ok("time_ms,power_W\n5,1\n10,2\n", PG_SERIES_STEP, false);
  assert_int_equal(pg_series_start_ms(s), 5);
  pg_series_free(s);
  /* broken inputs */
  expect_series_error("", PG_ERR_TRUNCATED, "s.csv: empty file");
  expect_series_error("t,power_W\n1,2\n3,4\n", PG_ERR_INVALID, "s.csv:1: header");
  expect_series_error("time,power_kW\n1,2\n3,4\n", PG_ERR_INVALID, "s.csv:1: header");
  expect_series_error("time,power_W\n1,2\n", PG_ERR_TRUNCATED, "at least 2 samples");
  expect_series_error("time,power_W\n1,2\n1,3\n", PG_ERR_INVALID, "s.csv:3: time is not after");
  expect_series_error("time,power_W\n1,2\n2,-3\n", PG_ERR_INVALID, "s.csv:3: power '-3' is negative");
  expect_series_error("time,power_W\n1,2\n2,3,4\n", PG_ERR_INVALID, "s.csv:3: expected 2 columns");
  expect_series_error("time,power_W\n1,2\n2\n", PG_ERR_INVALID, "s.csv:3: expected 2 columns");
  expect_series_error("time,power_W\n1,1e3\n2,3\n", PG_ERR_INVALID, "s.csv:2: power '1e3'");
  expect_series_error("time,power_W\n1,2000000000\n2,3\n", PG_ERR_INVALID, "s.csv:2: power");
  expect_series_error("time,power_W\n2025-02-30T00:00:00Z,1\n2025-03-01T00:00:00Z,2\n",
                      PG_ERR_INVALID, "s.csv:2: time '2025-02-30T00:00:00Z' is not ISO-8601");
  expect_series_error("time,power_W\n2025-01-01T00:00:00,1\n2025-03-01T00:00:00Z,2\n",
                      PG_ERR_INVALID, "s.csv:2: time");
  expect_series_error("time,power_W\n2025-01-01T00:00:00+01:00,1\n2025-03-01T00:00:00Z,2\n",
                      PG_ERR_INVALID, "s.csv:2: time");
  char longline[400];
  snprintf(longline, sizeof longline, "time,power_W\n1,%0300d\n", 1);
  expect_series_error(longline, PG_ERR_TOO_LARGE, "s.csv:2: line longer than 256");
  pg_series *s2 = NULL;
  pg_diag d;
  assert_int_equal(pg_series_parse("time,power_W\n1,2\n2,\x00\n", 20, "s.csv", NULL, &s2, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "s.csv:3: NUL byte"));
}

int main(void) {
  pg_diag d;
  if (pg_bdew_load(BDEW_DIR "/h25.csv", &h25, &d) != PG_OK) {
    fprintf(stderr,
            "\n*** SKIPPED: test_profile_bdew needs the BDEW reference data: %s\n"
            "*** (expected in %s; see ../shared/data/bdew/README.md)\n\n",
            d.msg, BDEW_DIR);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_h25_fit),
      cmocka_unit_test(test_load_all_bdew),
      cmocka_unit_test(test_bdew_broken),
      cmocka_unit_test(test_series),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
