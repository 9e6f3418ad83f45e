/* Time zones (p2pgrid/base/tz.h): our TZif reader against glibc's localtime_r
 * (TZ set in this test only) for many instants and zones, day lengths on DST
 * days (92 and 100 quarter hours), half-hour DST, no DST, far future through
 * the footer, before the first transition, local midnights, names, and
 * corrupt or truncated TZif files. Skips (77) without a tz database. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/tz.h"
#include "test_util_tmpdir.h"

#define ZONEINFO "/usr/share/zoneinfo"

static pg_tz zone(const char *name) {
  pg_tz tz;
  pg_diag d = {{0}};
  if (pg_tz_parse(name, &tz, &d) != PG_OK) fail_msg("%s: %s", name, d.msg);
  return tz;
}

static int64_t utc_s(int y, int mo, int d, int h, int mi, int s) {
  return pg_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* ---- against glibc --------------------------------------------------------- */

static void glibc_zone(const char *name) {
  assert_int_equal(setenv("TZ", name, 1), 0);
  tzset();
}

/* Our answer for t equals glibc's (TZ already set to the zone). */
static void same_as_glibc(pg_tz tz, const char *name, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  assert_non_null(localtime_r(&tt, &tm));
  pg_local_time lt;
  pg_local_time_of(t * 1000, tz, &lt);
  int64_t ms = ((int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec) * 1000;
  int32_t off = pg_tz_offset_s(tz, t * 1000);
  const char *ab = pg_tz_abbr(tz, t * 1000);
  if (lt.year != tm.tm_year + 1900 || lt.month != tm.tm_mon + 1 || lt.day != tm.tm_mday ||
      lt.ms_of_day != ms || lt.wday != tm.tm_wday || lt.doy != tm.tm_yday + 1 ||
      off != tm.tm_gmtoff || strcmp(ab, tm.tm_zone) != 0)
    fail_msg("%s at %lld: ours %04d-%02d-%02d %lld ms off %d %s, glibc %04d-%02d-%02d "
             "%02d:%02d:%02d off %ld %s",
             name, (long long)t, lt.year, lt.month, lt.day, (long long)lt.ms_of_day, (int)off, ab,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             tm.tm_gmtoff, tm.tm_zone);
}

static long glibc_off(int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  assert_non_null(localtime_r(&tt, &tm));
  return tm.tm_gmtoff;
}

static const char *ZONES[] = {
    "Europe/Berlin",       "Europe/Vienna",     "Europe/Lisbon",     "Europe/Brussels",
    "Europe/Dublin",       "America/New_York",  "America/Sao_Paulo", "America/Santiago",
    "Australia/Lord_Howe", "Asia/Kolkata",      "Asia/Kathmandu",    "Pacific/Chatham",
    "Africa/Casablanca",   "Antarctica/Troll",  "Asia/Tehran",       "Pacific/Apia",
    "Etc/GMT+5",           "UTC",               "America/Havana",    "Pacific/Kiritimati",
};

/* Steps through 1850..2150 with an irregular stride; every change of the
 * offset found is narrowed to the second, and the seconds around it checked. */
static void test_glibc_many(void **state) {
  (void)state;
  for (size_t z = 0; z < sizeof ZONES / sizeof *ZONES; z++) {
    pg_tz tz = zone(ZONES[z]);
    glibc_zone(ZONES[z]);
    int64_t prev = utc_s(1850, 1, 1, 0, 0, 0);
    long prev_off = glibc_off(prev);
    size_t changes = 0;
    for (int64_t t = prev + 1; t < utc_s(2150, 1, 1, 0, 0, 0); t += 86400 * 3 + 7 * 3600 + 1234) {
      same_as_glibc(tz, ZONES[z], t);
      long off = glibc_off(t);
      if (off != prev_off) { /* narrow (prev, t] to the change */
        int64_t lo = prev, hi = t;
        while (hi - lo > 1) {
          int64_t mid = lo + (hi - lo) / 2;
          if (glibc_off(mid) == prev_off) lo = mid;
          else hi = mid;
        }
        for (int64_t k = hi - 2; k <= hi + 1; k++) same_as_glibc(tz, ZONES[z], k);
        changes++;
      }
      prev = t, prev_off = off;
    }
    if (strcmp(ZONES[z], "Europe/Berlin") == 0) assert_true(changes > 250);
  }
  unsetenv("TZ");
  tzset();
}

/* Far future (footer) and far past (before the first transition). */
static void test_glibc_extremes(void **state) {
  (void)state;
  const char *zs[] = {"Europe/Vienna", "America/New_York", "Australia/Lord_Howe",
                      "Europe/Dublin", "Antarctica/Troll", "Pacific/Chatham"};
  for (size_t z = 0; z < sizeof zs / sizeof *zs; z++) {
    pg_tz tz = zone(zs[z]);
    glibc_zone(zs[z]);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 3000; i++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      int64_t lo = utc_s(2037, 1, 1, 0, 0, 0), hi = utc_s(9999, 1, 1, 0, 0, 0);
      same_as_glibc(tz, zs[z], lo + (int64_t)(x % (uint64_t)(hi - lo)));
      same_as_glibc(tz, zs[z], utc_s(1700, 1, 1, 0, 0, 0) + (int64_t)(x % 4000000000ull));
    }
  }
  unsetenv("TZ");
  tzset();
}

/* Every local midnight of 2018..2026 (and one gap) agrees with glibc: the
 * instant's local time is at or after 00:00 of the day, a second before is
 * on the day before. */
static void test_midnights(void **state) {
  (void)state;
  const char *zs[] = {"Europe/Vienna", "America/Sao_Paulo", "America/Havana",
                      "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Apia"};
  for (size_t z = 0; z < sizeof zs / sizeof *zs; z++) {
    pg_tz tz = zone(zs[z]);
    glibc_zone(zs[z]);
    for (int64_t day = pg_days_from_civil(2018, 1, 1); day < pg_days_from_civil(2027, 1, 1);
         day++) {
      int y, m, d;
      pg_civil_from_days(day, &y, &m, &d);
      int64_t t = pg_tz_midnight_ms(tz, y, m, d) / 1000;
      time_t a = (time_t)t, b = (time_t)(t - 1);
      struct tm ta, tb;
      localtime_r(&a, &ta);
      localtime_r(&b, &tb);
      if (ta.tm_mday != d || ta.tm_hour > 1 || tb.tm_mday == d)
        fail_msg("%s %d-%d-%d: midnight %lld wrong", zs[z], y, m, d, (long long)t);
      assert_int_equal(pg_tz_day_ms(tz, y, m, d),
                       (pg_tz_midnight_ms(tz, y, m, d + 1) - pg_tz_midnight_ms(tz, y, m, d)));
    }
  }
  unsetenv("TZ");
  tzset();
  /* Sao Paulo 2018-11-04: clocks jumped from 00:00 to 01:00 (-02) */
  assert_int_equal(pg_tz_midnight_ms(zone("America/Sao_Paulo"), 2018, 11, 4),
                   utc_s(2018, 11, 4, 3, 0, 0) * 1000);
}

/* ---- DST days: 92 and 100 quarter hours ------------------------------------ */

static int64_t quarters(pg_tz tz, int y, int m, int d) { return pg_tz_day_ms(tz, y, m, d) / 900000; }

static void test_day_lengths(void **state) {
  (void)state;
  pg_tz vie = zone("Europe/Vienna"), lis = zone("Europe/Lisbon"), ny = zone("America/New_York");
  pg_tz lh = zone("Australia/Lord_Howe"), kol = zone("Asia/Kolkata");
  assert_int_equal(quarters(vie, 2025, 3, 30), 92);
  assert_int_equal(quarters(vie, 2025, 10, 26), 100);
  assert_int_equal(quarters(vie, 2025, 6, 21), 96);
  assert_int_equal(pg_tz_midnight_ms(vie, 2025, 3, 30), utc_s(2025, 3, 29, 23, 0, 0) * 1000);
  assert_int_equal(quarters(lis, 2025, 3, 30), 92);
  assert_int_equal(quarters(lis, 2025, 10, 26), 100);
  assert_int_equal(pg_tz_midnight_ms(lis, 2025, 3, 30), utc_s(2025, 3, 30, 0, 0, 0) * 1000);
  assert_int_equal(quarters(ny, 2025, 3, 9), 92);
  assert_int_equal(quarters(ny, 2025, 11, 2), 100);
  assert_int_equal(quarters(lh, 2025, 4, 6), 98); /* half-hour DST ends */
  assert_int_equal(quarters(lh, 2025, 10, 5), 94);
  assert_int_equal(pg_tz_offset_s(lh, utc_s(2025, 1, 1, 0, 0, 0) * 1000), 11 * 3600);
  assert_int_equal(pg_tz_offset_s(lh, utc_s(2025, 7, 1, 0, 0, 0) * 1000), 10 * 3600 + 1800);
  int n92 = 0, n100 = 0;
  for (int64_t day = pg_days_from_civil(2025, 1, 1); day < pg_days_from_civil(2026, 1, 1); day++) {
    int y, m, d;
    pg_civil_from_days(day, &y, &m, &d);
    assert_int_equal(quarters(kol, y, m, d), 96); /* no DST */
    int64_t q = quarters(vie, y, m, d);
    n92 += q == 92, n100 += q == 100;
    if (q != 92 && q != 100) assert_int_equal(q, 96);
  }
  assert_int_equal(n92, 1);
  assert_int_equal(n100, 1);
  /* far beyond the last transition (2037): the footer's rule */
  assert_int_equal(quarters(vie, 2400, 3, 26), 92); /* last Sunday of March 2400 */
  assert_int_equal(quarters(vie, 2400, 10, 29), 100);
  assert_int_equal(quarters(ny, 3000, 3, 9), 92); /* second Sunday of March 3000 */
  /* before the first transition: local mean time */
  assert_int_equal(pg_tz_offset_s(vie, utc_s(1850, 6, 1, 0, 0, 0) * 1000), 3921);
  assert_string_equal(pg_tz_abbr(vie, utc_s(1850, 6, 1, 0, 0, 0) * 1000), "LMT");
  assert_string_equal(pg_tz_abbr(vie, utc_s(2025, 6, 1, 0, 0, 0) * 1000), "CEST");
}

/* The IANA Berlin zone and the built-in EU rule agree on every quarter hour
 * from 1996 on (so scenarios with tz = Europe/Berlin settle as before). */
static void test_berlin_equals_builtin(void **state) {
  (void)state;
  pg_tz iana = zone("Europe/Berlin");
  assert_non_null(iana.zone);
  for (int64_t t = utc_s(1996, 1, 1, 0, 0, 0) * 1000; t < utc_s(2101, 1, 1, 0, 0, 0) * 1000;
       t += 900000) {
    if (pg_tz_offset_s(iana, t) != pg_tz_offset_s(PG_TZ_BERLIN, t))
      fail_msg("differ at %lld", (long long)t);
  }
  pg_local_time a, b;
  pg_local_time_of(utc_s(2025, 10, 26, 0, 59, 0) * 1000, iana, &a);
  pg_local_time_of(utc_s(2025, 10, 26, 0, 59, 0) * 1000, PG_TZ_BERLIN, &b);
  assert_memory_equal(&a, &b, sizeof a);
}

/* ---- names, parsing, config ------------------------------------------------ */

static void test_names(void **state) {
  (void)state;
  pg_tz tz;
  pg_diag d = {{0}};
  assert_string_equal(pg_tz_name(zone("Europe/Vienna")), "Europe/Vienna");
  assert_string_equal(pg_tz_name(zone("UTC")), "UTC");
  assert_string_equal(pg_tz_name(zone("+05:30")), "+05:30");
  assert_string_equal(pg_tz_name(zone("-03:00")), "-03:00");
  assert_string_equal(pg_tz_name(PG_TZ_BERLIN), "Europe/Berlin");
  assert_string_equal(pg_tz_name((pg_tz){120, true, NULL}), "+02:00 EU");
  assert_int_equal(pg_tz_offset_s(zone("-03:00"), 0), -3 * 3600);
  assert_true(zone("Europe/Vienna").zone == zone("Europe/Vienna").zone); /* cached */
  const char *bad[] = {"../etc/passwd", "/etc/localtime", "Europe/../../etc/passwd",
                       "Europe/Vi enna", "Europe\\Vienna", "", "+15:00", "+01:60", "+1:00",
                       "Europe/Viennaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (pg_tz_parse(bad[i], &tz, &d) == PG_OK) fail_msg("'%s' accepted", bad[i]);
  assert_int_equal(pg_tz_parse("Europe/Nowhere", &tz, &d), PG_ERR_NOT_FOUND);
  assert_non_null(strstr(d.msg, "Europe/Nowhere"));
  assert_non_null(strstr(d.msg, ZONEINFO "/Europe/Nowhere"));
  assert_int_equal(pg_tz_parse("Europe", &tz, &d), PG_ERR_NOT_FOUND); /* a directory */
  if (access(ZONEINFO "/right/Europe/Berlin", R_OK) == 0) {
    assert_int_equal(pg_tz_parse("right/Europe/Berlin", &tz, &d), PG_ERR_UNSUPPORTED);
    assert_non_null(strstr(d.msg, "leap"));
  }
}

static void test_config(void **state) {
  (void)state;
  pg_config *c = NULL;
  assert_int_equal(pg_config_new(&c), PG_OK);
  pg_diag d = {{0}};
  const char *ini = "[a]\ntz = Europe/Lisbon\n[b]\ntz = Mars/Olympus\n";
  assert_int_equal(pg_config_load_string(c, "x.ini", ini, strlen(ini), &d), PG_OK);
  pg_tz tz;
  assert_int_equal(pg_tz_from_config(c, "a", "tz", "UTC", &tz, &d), PG_OK);
  assert_string_equal(pg_tz_name(tz), "Europe/Lisbon");
  assert_int_equal(pg_tz_from_config(c, "c", "tz", "UTC", &tz, &d), PG_OK);
  assert_string_equal(pg_tz_name(tz), "UTC");
  assert_int_equal(pg_tz_from_config(c, "b", "tz", "UTC", &tz, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "x.ini:4: [b] tz"));
  assert_non_null(strstr(d.msg, "Mars/Olympus"));
  pg_config_free(c);
}

static void *parse_thread(void *arg) {
  const pg_tz_zone **out = arg;
  pg_tz tz;
  pg_diag d = {{0}};
  for (int i = 0; i < 200; i++) {
    if (pg_tz_parse("America/Santiago", &tz, &d) != PG_OK) return NULL;
    if (*out && *out != tz.zone) return NULL;
    *out = tz.zone;
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  pthread_t th[4];
  const pg_tz_zone *got[4] = {0};
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, parse_thread, &got[i]), 0);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) assert_true(got[i] && got[i] == got[0]);
}

/* ---- corrupt files --------------------------------------------------------- */

static uint8_t *read_zone(const char *name, size_t *len) {
  char p[256];
  snprintf(p, sizeof p, ZONEINFO "/%s", name);
  uint8_t *b = NULL;
  pg_diag d = {{0}};
  if (pg_read_file_capped(p, PG_TZIF_MAX_FILE, &b, len, &d) != PG_OK) fail_msg("%s", d.msg);
  return b;
}

static int parse_bytes(const uint8_t *b, size_t n, pg_diag *d) {
  pg_tz_zone *z = NULL;
  int rc = pg_tzif_parse(b, n, "Test/Zone", &z, d);
  if (rc == PG_OK) assert_non_null(z);
  else assert_null(z);
  pg_tz_zone_free(z);
  return rc;
}

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_corrupt(void **state) {
  (void)state;
  size_t len;
  uint8_t *b = read_zone("Europe/Berlin", &len);
  pg_diag d = {{0}};
  assert_int_equal(parse_bytes(b, len, &d), PG_OK);
  /* every truncation fails cleanly and names the zone */
  for (size_t n = 0; n < len - 1; n++) {
    int rc = parse_bytes(b, n, &d);
    if (rc != PG_ERR_TRUNCATED) fail_msg("cut at %zu: rc %d (%s)", n, rc, d.msg);
    assert_non_null(strstr(d.msg, "Test/Zone"));
  }
  uint8_t *c = malloc(len);
  memcpy(c, b, len);
  c[0] = 'X';
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "magic"));
  memcpy(c, b, len);
  c[4] = '9';
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "version"));
  /* v2+ header and data after the v1 block */
  /* the v2+ header follows the v1 block (counts at bytes 20..43) */
  size_t h2 = 44 + get32(b + 32) * 5 + get32(b + 36) * 6 + get32(b + 40) + get32(b + 28) * 8 +
              get32(b + 24) + get32(b + 20);
  assert_memory_equal(b + h2, "TZif", 4);
  uint32_t tc = get32(b + h2 + 32);
  size_t data = h2 + 44;
  memcpy(c, b, len); /* transitions out of order */
  memcpy(c + data + 8 * 5, b + data + 8 * 4, 8);
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "ascending"));
  memcpy(c, b, len); /* transition to a type that does not exist */
  c[data + 8 * tc + 3] = 200;
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "type"));
  memcpy(c, b, len); /* no time types */
  put32(c + h2 + 36, 0);
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  memcpy(c, b, len); /* offset of the first type absurd */
  put32(c + data + 9 * tc, 0x7fffffff);
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  memcpy(c, b, len); /* leap seconds announced */
  put32(c + h2 + 28, 1);
  assert_true(parse_bytes(c, len, &d) != PG_OK);
  memcpy(c, b, len); /* a footer that is not a TZ string */
  assert_int_equal(c[len - 2], '3'); /* "...,M10.5.0/3\n" */
  c[len - 2] = 'X';
  assert_int_equal(parse_bytes(c, len, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "footer"));
  /* through pg_tz_parse and $TZDIR: the error names the file */
  char *dir = tu_mktmp("pg_tz");
  char p[128], sub[128];
  snprintf(sub, sizeof sub, "%s/Test", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  snprintf(p, sizeof p, "%s/Test/Short", dir);
  assert_int_equal(pg_write_file_atomic(p, b, 100, false, true, &d), PG_OK);
  setenv("TZDIR", dir, 1);
  pg_tz tz;
  assert_int_equal(pg_tz_parse("Test/Short", &tz, &d), PG_ERR_TRUNCATED);
  assert_non_null(strstr(d.msg, p));
  unsetenv("TZDIR");
  tu_rmrf(dir);
  free(c);
  free(b);
}

/* ---- POSIX TZ strings through a file with no transitions -------------------- */

/* A v2 TZif with one type (offset off, abbr "ZZZ") and no transitions. */
static size_t footer_only(uint8_t *out, int32_t off, const char *footer) {
  size_t n = 0;
  for (int v = 0; v < 2; v++) {
    memset(out + n, 0, 44);
    memcpy(out + n, "TZif2", 5);
    put32(out + n + 36, 1); /* typecnt */
    put32(out + n + 40, 4); /* charcnt */
    n += 44;
    put32(out + n, (uint32_t)off);
    out[n + 4] = 0, out[n + 5] = 0;
    memcpy(out + n + 6, "ZZZ", 4);
    n += 10;
  }
  out[n++] = '\n';
  memcpy(out + n, footer, strlen(footer));
  n += strlen(footer);
  out[n++] = '\n';
  return n;
}

static pg_tz_zone *posix_zone(const char *footer) {
  uint8_t buf[256];
  size_t n = footer_only(buf, 0, footer);
  pg_tz_zone *z = NULL;
  pg_diag d = {{0}};
  if (pg_tzif_parse(buf, n, "Posix/Test", &z, &d) != PG_OK) fail_msg("%s: %s", footer, d.msg);
  return z;
}

static void test_posix_strings(void **state) {
  (void)state;
  /* the footer alone reproduces the full zone in the far future */
  pg_tz_zone *lh = posix_zone("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  pg_tz a = pg_tz_of_zone(lh), b = zone("Australia/Lord_Howe");
  for (int64_t t = utc_s(2040, 1, 1, 0, 0, 0); t < utc_s(2043, 1, 1, 0, 0, 0); t += 1800)
    assert_int_equal(pg_tz_offset_s(a, t * 1000), pg_tz_offset_s(b, t * 1000));
  assert_string_equal(pg_tz_abbr(a, utc_s(2040, 1, 1, 0, 0, 0) * 1000), "+11");
  pg_tz_zone_free(lh);
  /* EST5EDT without rules: glibc's default (second Sunday of March...) */
  pg_tz_zone *us = posix_zone("EST5EDT");
  assert_int_equal(pg_tz_offset_s(pg_tz_of_zone(us), utc_s(2030, 7, 1, 0, 0, 0) * 1000), -4 * 3600);
  assert_int_equal(pg_tz_offset_s(pg_tz_of_zone(us), utc_s(2030, 1, 1, 0, 0, 0) * 1000), -5 * 3600);
  pg_tz_zone_free(us);
  /* all-year DST (RFC 8536 example) */
  pg_tz_zone *ay = posix_zone("EST5EDT,0/0,J365/25");
  for (int64_t t = utc_s(2030, 1, 1, 0, 0, 0); t < utc_s(2032, 1, 1, 0, 0, 0); t += 3600 * 7)
    assert_int_equal(pg_tz_offset_s(pg_tz_of_zone(ay), t * 1000), -4 * 3600);
  pg_tz_zone_free(ay);
  /* rule times beyond 24 h (v3) and Julian days */
  pg_tz_zone *ext = posix_zone("<-03>3<-02>,M3.2.0/-2,J300/167");
  assert_int_equal(pg_tz_offset_s(pg_tz_of_zone(ext), utc_s(2030, 6, 1, 0, 0, 0) * 1000), -7200);
  pg_tz_zone_free(ext);
  /* a v2 file whose v1 block is empty (no types): only v2+ data is read */
  uint8_t buf[256];
  size_t n = footer_only(buf, 3600, "CET-1");
  memmove(buf + 44, buf + 54, n - 54);
  put32(buf + 36, 0), put32(buf + 40, 0);
  pg_tz_zone *z = NULL;
  pg_diag d = {{0}};
  if (pg_tzif_parse(buf, n - 10, "Slim/Test", &z, &d) != PG_OK) fail_msg("%s", d.msg);
  assert_int_equal(pg_tz_offset_s(pg_tz_of_zone(z), 0), 3600);
  pg_tz_zone_free(z);
  buf[4] = 0; /* as a v1 file it has no types: refused */
  assert_int_equal(pg_tzif_parse(buf, n - 10, "Slim/Test", &z, &d), PG_ERR_INVALID);
  const char *bad[] = {"CE", "CET", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
                       "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-25",
                       "CET-1CEST,J0,J365", "CET-1CEST,M3.5.0/168,M10.5.0", "<+1030-10:30",
                       "CET-1 ", "CET-1CEST,366,0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    n = footer_only(buf, 0, bad[i]);
    if (pg_tzif_parse(buf, n, "Posix/Bad", &z, &d) == PG_OK) fail_msg("'%s' accepted", bad[i]);
  }
}

static int setup(void **state) {
  (void)state;
  return access(ZONEINFO "/Europe/Vienna", R_OK) == 0 ? 0 : -1;
}

int main(void) {
  if (setup(NULL)) {
    fprintf(stderr, "no tz database in " ZONEINFO " (install tzdata): skipped\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_glibc_many),     cmocka_unit_test(test_glibc_extremes),
      cmocka_unit_test(test_midnights),      cmocka_unit_test(test_day_lengths),
      cmocka_unit_test(test_berlin_equals_builtin), cmocka_unit_test(test_names),
      cmocka_unit_test(test_config),         cmocka_unit_test(test_threads),
      cmocka_unit_test(test_corrupt),        cmocka_unit_test(test_posix_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
