/* Civil calendar, EU summer time, German holidays, BDEW day types. */
#include "p2pgrid/datetime.h"
#include "p2pgrid/profile.h"

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int pg_days_in_year(int year) {
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return leap ? 366 : 365;
}

/* Unix ms of the last Sunday of `month` at 01:00 UTC. */
static int64_t last_sunday_0100(int year, int month) {
  int64_t last = pg_days_from_civil(year, month + 1, 1) - 1; /* month < 12 */
  int64_t wd = ((last + 4) % 7 + 7) % 7;                    /* 1970-01-01 Thursday */
  return (last - wd) * 86400000 + 3600000;
}

void pg_local_time_of(int64_t t_ms, pg_tz tz, pg_local_time *out) {
  int64_t local = t_ms + (int64_t)tz.utc_offset_min * 60000;
  if (tz.eu_dst) {
    int y, m, d;
    pg_civil_from_days(floor_div(t_ms, 86400000), &y, &m, &d);
    if (t_ms >= last_sunday_0100(y, 3) && t_ms < last_sunday_0100(y, 10)) local += 3600000;
  }
  int64_t day = floor_div(local, 86400000);
  out->ms_of_day = local - day * 86400000;
  pg_civil_from_days(day, &out->year, &out->month, &out->day);
  out->doy = (int)(day - pg_days_from_civil(out->year, 1, 1)) + 1;
  out->wday = (int)(((day + 4) % 7 + 7) % 7);
}

/* Easter Sunday (anonymous Gregorian algorithm) as a day of year. */
static int easter_doy(int y) {
  int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
  int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  int m = (a + 11 * h + 22 * l) / 451;
  int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return (int)(pg_days_from_civil(y, month, day) - pg_days_from_civil(y, 1, 1)) + 1;
}

bool pg_holiday_de(int year, int month, int day) {
  if ((month == 1 && day == 1) || (month == 5 && day == 1) || (month == 10 && day == 3) ||
      (month == 12 && (day == 25 || day == 26)))
    return true;
  int doy = (int)(pg_days_from_civil(year, month, day) - pg_days_from_civil(year, 1, 1)) + 1;
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
