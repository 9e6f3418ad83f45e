/* German holidays, BDEW day types (the civil calendar is in src/base/tz.c). */
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/profile/profile.h"
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

/* ---- the local calendar of a run of UTC days ---- */

static int64_t cal_floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void pg_local_days_free(pg_local_days *c) {
  free(c->at);
  free(c->dates);
  memset(c, 0, sizeof *c);
}

/* at[] and whole_minutes from each minute's offset (one zone lookup per
 * minute, once per run of days for all the models of the zone). */
static void local_minutes(pg_local_days *c) {
  c->whole_minutes = true;
  for (size_t dd = 0; dd < c->ndays; dd++)
    for (int i = 0; i < PG_DAY_MINUTES; i++) {
      int64_t t = (c->day0 + (int64_t)dd) * 86400000 + (int64_t)i * 60000 + 30000;
      int32_t off = pg_tz_offset_s(c->tz, t);
      if (off % 60 != 0) c->whole_minutes = false;
      int64_t local = t + (int64_t)off * 1000;
      int64_t ld = cal_floor_div(local, 86400000);
      int64_t lm = (local - ld * 86400000) / 60000;
      c->at[dd * PG_DAY_MINUTES + (size_t)i] = (uint32_t)((ld - c->lday0) * PG_DAY_MINUTES + lm);
    }
}

int pg_local_days_init(pg_local_days *c, pg_tz tz, int64_t day0, size_t ndays, pg_diag *d) {
  memset(c, 0, sizeof *c);
  if (ndays == 0 || ndays > 100000) return pg_fail(d, PG_ERR_INVALID, "local days: 1..100000 days");
  c->tz = tz, c->day0 = day0, c->ndays = ndays;
  /* offsets are within -24..+24 h: local days day0 - 1 .. day0 + ndays */
  c->lday0 = day0 - 1;
  c->nlocal = ndays + 2;
  c->at = malloc(ndays * PG_DAY_MINUTES * sizeof *c->at);
  c->dates = calloc(c->nlocal, sizeof *c->dates);
  if (!c->at || !c->dates) {
    pg_local_days_free(c);
    return pg_fail(d, PG_ERR_NOMEM, "local days: out of memory");
  }
  local_minutes(c);
  for (size_t k = 0; k < c->nlocal; k++) {
    pg_local_date *q = &c->dates[k];
    pg_civil_from_days(c->lday0 + (int64_t)k, &q->year, &q->month, &q->day);
    q->doy = pg_doy_of(q->year, q->month, q->day);
    q->ndays = pg_days_in_year(q->year);
    q->type[0] = pg_daytype_of(q->year, q->month, q->day, false);
    q->type[1] = pg_daytype_of(q->year, q->month, q->day, true);
  }
  return PG_OK;
}
