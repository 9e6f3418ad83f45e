/* Fuzz target: the TZif reader (pg_tzif_parse) and the POSIX TZ string of its
 * footer. A zone that parses is queried at ordinary and extreme instants,
 * and its local midnights checked: the first instant of the local day, never
 * before the previous day's. Seeds: real zones from /usr/share/zoneinfo and
 * small files with footer-only rules. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/tz.h"

static void check_instant(pg_tz tz, int64_t t) {
  int32_t off = pg_tz_offset_s(tz, t);
  if (off < -93599 || off > 93599) abort();
  const char *a = pg_tz_abbr(tz, t);
  if (!a || strlen(a) > 64) abort();
  pg_local_time lt;
  pg_local_time_of(t, tz, &lt);
  if (lt.month < 1 || lt.month > 12 || lt.day < 1 || lt.day > 31 || lt.ms_of_day < 0 ||
      lt.ms_of_day >= 86400000 || lt.wday < 0 || lt.wday > 6 || lt.doy < 1 || lt.doy > 366)
    abort();
}

static void check_midnight(pg_tz tz, int y, int m, int d) {
  int64_t t = pg_tz_midnight_ms(tz, y, m, d);
  int64_t want = pg_days_from_civil(y, m, d);
  pg_local_time a, b;
  pg_local_time_of(t, tz, &a);
  pg_local_time_of(t - 1, tz, &b);
  if (pg_days_from_civil(a.year, a.month, a.day) < want) abort();
  if (pg_days_from_civil(b.year, b.month, b.day) >= want &&
      pg_tz_offset_s(tz, t - 1) == pg_tz_offset_s(tz, t))
    abort(); /* within one offset piece local time grows: t - 1 is the day before */
  if (pg_tz_day_ms(tz, y, m, d) < 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pg_tz_zone *z = NULL;
  pg_diag d;
  if (pg_tzif_parse(data, size, "Fuzz/Zone", &z, &d) != PG_OK) {
    if (z) abort();
    return 0;
  }
  pg_tz tz = pg_tz_of_zone(z);
  static const int64_t ts[] = {INT64_MIN, INT64_MIN + 1, -62135596800000, -2208988800000, -1,
                               0, 1, 1743296400000, 2147483647000, 2147483648000, 4102444800000,
                               253402300799000, INT64_MAX - 1, INT64_MAX};
  for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) check_instant(tz, ts[i]);
  for (int64_t t = 1735689600000; t < 1767225600000; t += 86400000LL * 9 + 3600000)
    check_instant(tz, t);
  int years[] = {1800, 1970, 2025, 2037, 2038, 2400, 100000};
  for (size_t i = 0; i < sizeof years / sizeof *years; i++)
    for (int m = 1; m <= 12; m += 3) check_midnight(tz, years[i], m, 1);
  check_midnight(tz, 2025, 3, 30);
  check_midnight(tz, 2025, 10, 26);
  pg_tz_zone_free(z);
  return 0;
}
