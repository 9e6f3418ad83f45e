/* Unit tests for timelabel.c: local-time labels of slots, summer-time days,
 * the repeated hour. Zone names and offsets: test_base_tz.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/timelabel.h"

#define H 3600000LL
#define Q 900000ULL

static int64_t utc(int y, int m, int d, int hh, int mm) {
  return pg_days_from_civil(y, m, d) * 86400000LL + hh * H + mm * 60000LL;
}

static void expect_label(int64_t t, pg_tz tz, const char *want) {
  char b[PG_TIME_LABEL_MAX];
  size_t n = pg_time_label(t, tz, b, sizeof b);
  if (strcmp(b, want) != 0) fail_msg("label of %lld: '%s', want '%s'", (long long)t, b, want);
  assert_int_equal(n, strlen(want));
}

static void test_slots(void **st) {
  (void)st;
  char b[PG_TIME_LABEL_MAX];
  assert_int_equal(pg_slot_label(0, Q, PG_TZ_UTC, b, sizeof b), 16);
  assert_string_equal(b, "1970-01-01 00:00");
  int64_t slot = utc(2025, 6, 21, 12, 15) / (int64_t)Q;
  (void)pg_slot_label(slot, Q, PG_TZ_BERLIN, b, sizeof b);
  assert_string_equal(b, "2025-06-21 14:15");
  (void)pg_slot_label(slot, Q, PG_TZ_UTC, b, sizeof b);
  assert_string_equal(b, "2025-06-21 12:15");
  /* winter: +01:00 */
  expect_label(utc(2025, 1, 15, 23, 30), PG_TZ_BERLIN, "2025-01-16 00:30");
  /* fixed offsets either side */
  expect_label(utc(2025, 6, 21, 0, 0), (pg_tz){-330, false, NULL}, "2025-06-20 18:30");
  expect_label(utc(2025, 6, 21, 0, 0), (pg_tz){840, false, NULL}, "2025-06-21 14:00");
  /* seconds only off the minute */
  expect_label(utc(2025, 6, 21, 12, 15) + 7000, PG_TZ_BERLIN, "2025-06-21 14:15:07");
  expect_label(utc(2025, 6, 21, 12, 15) + 500, PG_TZ_BERLIN, "2025-06-21 14:15:00");
  /* before 1970 */
  expect_label(-Q, PG_TZ_UTC, "1969-12-31 23:45");
}

static void test_summer_time_days(void **st) {
  (void)st;
  /* 30 March 2025: 02:00 CET -> 03:00 CEST at 01:00 UTC; no label repeats */
  expect_label(utc(2025, 3, 30, 0, 45), PG_TZ_BERLIN, "2025-03-30 01:45");
  expect_label(utc(2025, 3, 30, 1, 0), PG_TZ_BERLIN, "2025-03-30 03:00");
  /* 26 October 2025: 03:00 CEST -> 02:00 CET at 01:00 UTC: 02:00-02:59 twice */
  expect_label(utc(2025, 10, 25, 23, 45), PG_TZ_BERLIN, "2025-10-26 01:45");
  expect_label(utc(2025, 10, 26, 0, 0), PG_TZ_BERLIN, "2025-10-26 02:00 +02:00");
  expect_label(utc(2025, 10, 26, 0, 45), PG_TZ_BERLIN, "2025-10-26 02:45 +02:00");
  expect_label(utc(2025, 10, 26, 1, 0), PG_TZ_BERLIN, "2025-10-26 02:00 +01:00");
  expect_label(utc(2025, 10, 26, 1, 45), PG_TZ_BERLIN, "2025-10-26 02:45 +01:00");
  expect_label(utc(2025, 10, 26, 2, 0), PG_TZ_BERLIN, "2025-10-26 03:00");
  /* a day of 100 quarter hours has 100 distinct labels; 92 on the spring day */
  static const struct { int m, d, n; } days[] = {{10, 26, 100}, {3, 30, 92}};
  for (size_t k = 0; k < 2; k++) {
    int64_t a = utc(2025, days[k].m, days[k].d, 0, 0) - 2 * H; /* local midnight (CEST/CET) */
    if (k == 1) a = utc(2025, 3, 29, 23, 0);
    char lab[100][PG_TIME_LABEL_MAX];
    int n = 0;
    for (int64_t t = a;; t += (int64_t)Q) {
      char b[PG_TIME_LABEL_MAX];
      (void)pg_time_label(t, PG_TZ_BERLIN, b, sizeof b);
      if (strncmp(b + 8, days[k].d == 26 ? "26" : "30", 2) != 0) break;
      assert_true(n < 100);
      for (int i = 0; i < n; i++) assert_string_not_equal(lab[i], b);
      memcpy(lab[n++], b, sizeof b);
    }
    assert_int_equal(n, days[k].n);
  }
  /* an IANA zone from the tz database: New York's autumn hour, 2 Nov 2025
   * 02:00 EDT -> 01:00 EST at 06:00 UTC */
  pg_tz ny;
  pg_diag d = {{0}};
  assert_int_equal(pg_tz_parse("America/New_York", &ny, &d), PG_OK);
  expect_label(utc(2025, 11, 2, 5, 30), ny, "2025-11-02 01:30 -04:00");
  expect_label(utc(2025, 11, 2, 6, 30), ny, "2025-11-02 01:30 -05:00");
  expect_label(utc(2025, 11, 2, 7, 30), ny, "2025-11-02 02:30");
}

static void test_truncation(void **st) {
  (void)st;
  char b[5];
  assert_int_equal(pg_slot_label(0, Q, PG_TZ_UTC, b, sizeof b), 16);
  assert_string_equal(b, "1970");
  assert_int_equal(pg_slot_label(0, Q, PG_TZ_UTC, b, 0), 16);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slots),
      cmocka_unit_test(test_summer_time_days),
      cmocka_unit_test(test_truncation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
