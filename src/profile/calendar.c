/* German holidays, BDEW day types (the civil calendar is in src/base/tz.c). */
#include "p2pgrid/profile.h"
#include "profile_internal.h"

/* Easter Sunday (anonymous Gregorian algorithm) as a day of year. */
static int easter_doy(int y) {
  int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  int m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return pg_doy_of(y, month, day);
}

bool pg_holiday_de(int year, int month, int day) {
  if ((month == 1 && day == 1) || (month == 5 && day == 1) || (month == 10 && day == 3) ||
      (month == 12 && (day == 25 || day == 26)))
    return true;
  int doy = pg_doy_of(year, month, day);
  int e = easter_doy(year);
  int off = doy - e;
  return off == -2 || off == 1 || off == 39 || off == 50;
}

pg_daytype pg_daytype_of(int year, int month, int day, bool holidays) {
  int64_t z = pg_days_from_civil(year, month, day);
  int wd = (int)(((z + 4) % 7 + 7) % 7);
  if (wd == 0) return PG_DAY_SUNDAY;
  if (holidays) {
    if (pg_holiday_de(year, month, day)) return PG_DAY_SUNDAY;
    if (month == 12 && (day == 24 || day == 31)) return PG_DAY_SATURDAY;
  }
  return wd == 6 ? PG_DAY_SATURDAY : PG_DAY_WORKDAY;
}

double pg_bdew_dynamisation(int doy) {
  double d = doy;
  return (((-3.92e-10 * d + 3.2e-7) * d - 7.02e-5) * d + 2.1e-3) * d + 1.24;
}

double pg_year_sum(int year, pg_day_fn fn, const void *ctx) {
  int64_t z0 = pg_days_from_civil(year, 1, 1);
  int n = pg_days_in_year(year);
  double sum = 0;
  for (int i = 0; i < n; i++) {
    int y, m, d;
    pg_civil_from_days(z0 + i, &y, &m, &d);
    sum += fn(ctx, y, m, d, i + 1);
  }
  return sum;
}
