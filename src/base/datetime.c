/* datetime.c — civil dates and ISO-8601 timestamps (p2pgrid/base/datetime.h). */
#include <stdio.h>
#include <string.h>

#include "p2pgrid/base/datetime.h"
#include "tz_internal.h" /* tz_floor_div */

bool pg_civil_valid(int year, int month, int day) {
  static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return false;
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= mdays[month - 1] + (month == 2 && leap);
}

static bool digits(const char *s, size_t n, int *v) {
  int x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return true;
}

int pg_iso8601_parse(const char *s, size_t n, int64_t *ms, int32_t *offset_min) {
  int y, mo, d, h, mi, se, frac = 0;
  if (!s || n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':')
    return PG_ERR_INVALID;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
      !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se))
    return PG_ERR_INVALID;
  size_t i = 19;
  if (s[i] == '.') {
    size_t k = 0;
    i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (++k > 9) return PG_ERR_INVALID;
      if (k <= 3) frac = frac * 10 + (s[i] - '0');
      i++;
    }
    if (k == 0) return PG_ERR_INVALID;
    for (; k < 3; k++) frac *= 10;
  }
  int32_t off = 0;
  if (n - i == 1 && s[i] == 'Z') {
    off = 0;
  } else if (n - i == 6 && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh, om;
    if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || om > 59 ||
        oh * 60 + om > 18 * 60)
      return PG_ERR_INVALID;
    off = (s[i] == '-' ? -1 : 1) * (oh * 60 + om);
  } else {
    return PG_ERR_INVALID;
  }
  if (!pg_civil_valid(y, mo, d) || h > 23 || mi > 59 || se > 59) return PG_ERR_INVALID;
  int64_t local = ((pg_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 +
                  (int64_t)se * 1000 + frac;
  *ms = local - (int64_t)off * 60000;
  if (offset_min) *offset_min = off;
  return PG_OK;
}

int pg_iso8601_parse_utc(const char *s, size_t n, int64_t *ms) {
  int32_t off = 0;
  int64_t v = 0;
  if (pg_iso8601_parse(s, n, &v, &off) != PG_OK || off != 0) return PG_ERR_INVALID;
  *ms = v;
  return PG_OK;
}

/* "HH:MM[:SS]" after the 'T' or ' ' at *p; advances *p. */
static bool clock_part(const char **p, int *h, int *mi, int *se) {
  int m2 = 0;
  if (sscanf(*p, "%2d:%2d%n", h, mi, &m2) != 2) return false;
  *p += m2;
  if (**p == ':') {
    int m3 = 0;
    if (sscanf(*p + 1, "%2d%n", se, &m3) != 1) return false;
    *p += 1 + m3;
  }
  return true;
}

int pg_date_time_parse_utc(const char *s, uint64_t *ms) {
  int y, mo, da, h = 0, mi = 0, se = 0, n = 0;
  if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &da, &n) != 3) return PG_ERR_INVALID;
  const char *p = s + n;
  if (*p == 'T' || *p == ' ') {
    p++;
    if (!clock_part(&p, &h, &mi, &se)) return PG_ERR_INVALID;
    if (*p == 'Z') p++;
    else if (strcmp(p, "+00:00") == 0) p += 6;
  }
  if (*p || y < 1970 || y > 2199 || !pg_civil_valid(y, mo, da) || h < 0 || h > 23 || mi < 0 ||
      mi > 59 || se < 0 || se > 59)
    return PG_ERR_INVALID;
  int64_t days = pg_days_from_civil(y, mo, da);
  *ms = ((uint64_t)days * 86400ULL + (uint64_t)h * 3600 + (uint64_t)mi * 60 + (uint64_t)se) *
        1000ULL;
  return PG_OK;
}

void pg_iso8601_utc(int64_t ms, char *buf, size_t cap) {
  int64_t day = tz_floor_div(ms, 86400000), sod = (ms - day * 86400000) / 1000;
  int y, m, d;
  pg_civil_from_days(day, &y, &m, &d);
  if (cap)
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60));
}
