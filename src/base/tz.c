/* Civil calendar, time-zone values, lookups and the process-wide zone cache. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/file.h"
#include "tz_internal.h"

/* ---- civil calendar (H. Hinnant's days_from_civil / civil_from_days) ------ */

int64_t pg_days_from_civil(int year, int month, int day) {
  int64_t y = (int64_t)year - (month <= 2);
  int64_t era = tz_floor_div(y, 400);
  int64_t yoe = y - era * 400;
  int64_t mp = (month + 9) % 12;
  int64_t doy = (153 * mp + 2) / 5 + day - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void pg_civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = tz_floor_div(z, 146097);
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yy + (*m <= 2));
}

int pg_days_in_year(int year) {
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return leap ? 366 : 365;
}

/* ---- lookups -------------------------------------------------------------- */

/* Unix s of the last Sunday of `month` (< 12) at 01:00 UTC: the EU rule. */
static int64_t last_sunday_0100(int year, int month) {
  int64_t last = pg_days_from_civil(year, month + 1, 1) - 1;
  int64_t wd = ((last + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
  return (last - wd) * 86400 + 3600;
}

static void eu_lookup(int32_t base, int64_t t_s, int32_t *off, bool *dst, int64_t *next) {
  int y, m, d;
  pg_civil_from_days(tz_floor_div(t_s, 86400), &y, &m, &d);
  int64_t a = last_sunday_0100(y, 3), b = last_sunday_0100(y, 10);
  *dst = t_s >= a && t_s < b;
  *off = base + (*dst ? 3600 : 0);
  *next = t_s < a ? a : t_s < b ? b : last_sunday_0100(y + 1, 3);
}

/* Type index in force at t_s, or -1 when the footer rule applies. */
static int zone_type(const pg_tz_zone *z, int64_t t_s, int64_t *next) {
  size_t n = z->n_trans;
  if (n == 0) {
    *next = INT64_MAX;
    return z->has_rule ? -1 : 0;
  }
  if (t_s < z->trans[0]) {
    *next = z->trans[0];
    return 0;
  }
  size_t lo = 0, hi = n; /* trans[lo] <= t < trans[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (z->trans[mid] <= t_s) lo = mid;
    else hi = mid;
  }
  if (hi < n) {
    *next = z->trans[hi];
    return z->tidx[lo];
  }
  *next = INT64_MAX;
  return z->has_rule ? -1 : z->tidx[lo];
}

/* Offset (s east), abbreviation and next change (s; INT64_MAX if none) at t_s. */
static int32_t lookup(pg_tz tz, int64_t t_s, const char **abbr, int64_t *next) {
  int32_t off;
  bool dst;
  if (tz.zone) {
    const pg_tz_zone *z = tz.zone;
    int ty = zone_type(z, t_s, next);
    if (ty >= 0) {
      if (abbr) *abbr = z->abbrs + z->types[ty].abbr;
      return z->types[ty].off;
    }
    int64_t rn;
    tz_rule_lookup(&z->rule, t_s, &off, &dst, &rn);
    if (rn < *next) *next = rn;
    if (abbr) *abbr = dst ? z->rule.dst_abbr : z->rule.std_abbr;
    return off;
  }
  if (!tz.eu_dst) {
    *next = INT64_MAX;
    if (abbr) *abbr = pg_tz_name(tz);
    return tz.utc_offset_min * 60;
  }
  eu_lookup(tz.utc_offset_min * 60, t_s, &off, &dst, next);
  if (abbr) *abbr = tz.utc_offset_min != 60 ? pg_tz_name(tz) : dst ? "CEST" : "CET";
  return off;
}

int32_t pg_tz_offset_s(pg_tz tz, int64_t t_ms) {
  int64_t next;
  return lookup(tz, tz_floor_div(t_ms, 1000), NULL, &next);
}

const char *pg_tz_abbr(pg_tz tz, int64_t t_ms) {
  int64_t next;
  const char *a = "";
  (void)lookup(tz, tz_floor_div(t_ms, 1000), &a, &next);
  return a;
}

void pg_local_time_of(int64_t t_ms, pg_tz tz, pg_local_time *out) {
  int64_t local;
  if (__builtin_add_overflow(t_ms, (int64_t)pg_tz_offset_s(tz, t_ms) * 1000, &local))
    local = t_ms < 0 ? INT64_MIN : INT64_MAX;
  int64_t day = tz_floor_div(local, 86400000), ms = local % 86400000;
  out->ms_of_day = ms < 0 ? ms + 86400000 : ms;
  pg_civil_from_days(day, &out->year, &out->month, &out->day);
  out->doy = (int)(day - pg_days_from_civil(out->year, 1, 1)) + 1;
  out->wday = (int)(((day + 4) % 7 + 7) % 7);
}

/* First UTC second whose local time is at or after local second L: the
 * offset is constant on each piece [t, next), where local time grows, so
 * the first piece that reaches L holds the answer. */
static int64_t first_at_or_after(pg_tz tz, int64_t L) {
  int64_t t = L - TZ_OFF_MAX - 1; /* local time here is before L */
  for (;;) { /* ends: t grows, and from L + TZ_OFF_MAX on c = t < next */
    int64_t next;
    int32_t off = lookup(tz, t, NULL, &next);
    int64_t c = L - off > t ? L - off : t;
    if (c < next) return c;
    t = next;
  }
}

#define YEAR_LIMIT 100000000 /* keeps day * 86400000 in range */

static int64_t midnight_s(pg_tz tz, int64_t days) { return first_at_or_after(tz, days * 86400); }

int64_t pg_tz_midnight_ms(pg_tz tz, int y, int m, int d) {
  if (y > YEAR_LIMIT) y = YEAR_LIMIT;
  if (y < -YEAR_LIMIT) y = -YEAR_LIMIT;
  return midnight_s(tz, pg_days_from_civil(y, m, d)) * 1000;
}

int64_t pg_tz_day_ms(pg_tz tz, int y, int m, int d) {
  if (y > YEAR_LIMIT) y = YEAR_LIMIT;
  if (y < -YEAR_LIMIT) y = -YEAR_LIMIT;
  int64_t day = pg_days_from_civil(y, m, d);
  return (midnight_s(tz, day + 1) - midnight_s(tz, day)) * 1000;
}

/* ---- names ---------------------------------------------------------------- */

#define OFF_MIN (-720)
#define OFF_N 1561 /* -720..840 minutes */
static char g_names[2][OFF_N][16];
static pthread_once_t g_names_once = PTHREAD_ONCE_INIT;

static void names_init(void) {
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < OFF_N; i++) {
      int o = OFF_MIN + i, a = o < 0 ? -o : o;
      snprintf(g_names[k][i], sizeof g_names[k][i], "%c%02d:%02d%s", o < 0 ? '-' : '+', a / 60,
               a % 60, k ? " EU" : "");
    }
}

const char *pg_tz_name(pg_tz tz) {
  if (tz.zone) return tz.zone->name;
  if (tz.utc_offset_min == 0 && !tz.eu_dst) return "UTC";
  if (tz.utc_offset_min == 60 && tz.eu_dst) return "Europe/Berlin";
  if (tz.utc_offset_min < OFF_MIN || tz.utc_offset_min >= OFF_MIN + OFF_N) return "invalid";
  pthread_once(&g_names_once, names_init);
  return g_names[tz.eu_dst][tz.utc_offset_min - OFF_MIN];
}

pg_tz pg_tz_of_zone(const pg_tz_zone *z) { return (pg_tz){0, false, z}; }

/* ---- parsing and the cache ------------------------------------------------ */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pg_tz_zone *g_zones; /* never freed: pg_tz values point into it */

static bool name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > PG_TZ_NAME_MAX || s[0] == '/' || strstr(s, "..")) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '+' || c == '-' || c == '/';
    if (!ok) return false;
  }
  return true;
}

static bool parse_offset(const char *s, int32_t *min) {
  if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') return false;
  for (int i = 1; i < 6; i++)
    if (i != 3 && (s[i] < '0' || s[i] > '9')) return false;
  int h = (s[1] - '0') * 10 + (s[2] - '0'), m = (s[4] - '0') * 10 + (s[5] - '0');
  int v = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
  if (m > 59 || v < -720 || v > 840) return false;
  *min = v;
  return true;
}

/* Loads name from the tz database; called with g_mu held. */
static int load_zone(const char *name, const pg_tz_zone **out, pg_diag *d) {
  const char *dir = getenv("TZDIR");
  if (!dir || !dir[0]) dir = "/usr/share/zoneinfo";
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return pg_fail(d, PG_ERR_INVALID, "time zone '%s': path too long", name);
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag d2 = {{0}};
  int rc = pg_read_file_capped(path, PG_TZIF_MAX_FILE, &buf, &len, &d2);
  if (rc == PG_ERR_IO)
    return pg_fail(d, PG_ERR_NOT_FOUND, "unknown time zone '%s' (%s)", name, d2.msg);
  if (rc) return pg_fail(d, rc, "time zone '%s': %s", name, d2.msg);
  pg_tz_zone *z = NULL;
  rc = pg_tzif_parse(buf, len, name, &z, &d2);
  free(buf);
  if (rc) return pg_fail(d, rc, "time zone '%s' (%s): %s", name, path, d2.msg);
  z->next = g_zones;
  g_zones = z;
  *out = z;
  return PG_OK;
}

int pg_tz_parse(const char *s, pg_tz *out, pg_diag *d) {
  if (!s) return pg_fail(d, PG_ERR_INVALID, "time zone missing");
  if (strcmp(s, "UTC") == 0) {
    *out = PG_TZ_UTC;
    return PG_OK;
  }
  int32_t min;
  if (parse_offset(s, &min)) {
    *out = (pg_tz){min, false, NULL};
    return PG_OK;
  }
  if (!name_ok(s))
    return pg_fail(d, PG_ERR_INVALID,
                   "'%.80s' is not a time zone (expected UTC, +HH:MM/-HH:MM from -12:00 to "
                   "+14:00, or an IANA name such as Europe/Vienna)", s);
  pg_diag d2 = {{0}};
  pthread_mutex_lock(&g_mu);
  const pg_tz_zone *z = g_zones;
  while (z && strcmp(z->name, s) != 0) z = z->next;
  int rc = z ? PG_OK : load_zone(s, &z, &d2);
  pthread_mutex_unlock(&g_mu);
  if (rc == PG_ERR_NOT_FOUND && strcmp(s, "Europe/Berlin") == 0) {
    *out = PG_TZ_BERLIN; /* no tz database: the built-in EU rule */
    return PG_OK;
  }
  if (rc) return pg_fail(d, rc, "%s", d2.msg);
  *out = pg_tz_of_zone(z);
  return PG_OK;
}

int pg_tz_from_config(pg_config *c, const char *section, const char *key, const char *def,
                      pg_tz *out, pg_diag *d) {
  const char *v = NULL;
  int rc = pg_config_get_str(c, section, key, def, &v, d);
  if (rc) return rc;
  pg_diag d2 = {{0}};
  if ((rc = pg_tz_parse(v, out, &d2)) == PG_OK) return PG_OK;
  char w[200];
  pg_config_where(c, section, key, w, sizeof w);
  return pg_fail(d, PG_ERR_CONFIG, "%s: %s", w, d2.msg);
}
