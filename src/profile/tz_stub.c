/* Stand-in for the zone names of contract D (issue 15), owned by helper `tz`:
 * the merge keeps tz's IANA implementation and drops this file. It accepts
 * what the scenarios accept today: "UTC", "Europe/Berlin" (EU summer time)
 * and fixed offsets "+HH:MM" / "-HH:MM". */
#include <stdio.h>
#include <string.h>

#include "p2pgrid/profile.h"

int pg_tz_parse(const char *s, pg_tz *out, pg_diag *d) {
  if (!s) return pg_fail(d, PG_ERR_INVALID, "time zone: missing");
  if (strcmp(s, "UTC") == 0) {
    *out = PG_TZ_UTC;
    return PG_OK;
  }
  if (strcmp(s, "Europe/Berlin") == 0) {
    *out = PG_TZ_BERLIN;
    return PG_OK;
  }
  if (strlen(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':') {
    int v[4];
    const int at[4] = {1, 2, 4, 5};
    for (int i = 0; i < 4; i++) {
      char c = s[at[i]];
      if (c < '0' || c > '9') goto bad;
      v[i] = c - '0';
    }
    int hh = v[0] * 10 + v[1], mm = v[2] * 10 + v[3];
    int off = (s[0] == '-' ? -1 : 1) * (hh * 60 + mm);
    if (mm > 59 || off < -720 || off > 840) goto bad;
    *out = (pg_tz){off, false};
    return PG_OK;
  }
bad:
  return pg_fail(d, PG_ERR_INVALID,
                 "time zone '%.40s' is not UTC, Europe/Berlin or +HH:MM / -HH:MM", s);
}

const char *pg_tz_name(pg_tz tz) {
  static _Thread_local char buf[8]; /* valid until the thread's next call */
  if (tz.eu_dst && tz.utc_offset_min == 60) return "Europe/Berlin";
  if (!tz.eu_dst && tz.utc_offset_min == 0) return "UTC";
  int a = tz.utc_offset_min < 0 ? -tz.utc_offset_min : tz.utc_offset_min;
  snprintf(buf, sizeof buf, "%c%02d:%02d", tz.utc_offset_min < 0 ? '-' : '+', a / 60 % 100,
           a % 60);
  return buf;
}

int32_t pg_tz_offset_s(pg_tz tz, int64_t t_ms) {
  pg_local_time lt;
  pg_local_time_of(t_ms, tz, &lt);
  int64_t local = pg_days_from_civil(lt.year, lt.month, lt.day) * 86400000 + lt.ms_of_day;
  return (int32_t)((local - t_ms) / 1000);
}
