/* Fuzz target: the base toolkit's parsers of outside text — plain decimals
 * (decimal.h, with the limits of both callers), unsigned integers
 * (pg_parse_u64), UTC timestamps (pg_iso8601_parse_utc) and config start
 * dates (pg_date_time_parse_utc), and the URL check (url.h). Checks: an
 * accepted decimal is finite, obeys its rules and has the sign of its text;
 * an accepted integer prints back to its digits; an accepted UTC timestamp
 * prints (pg_iso8601_utc) and parses back to the same whole second; an
 * accepted start date lies in 1970..2199 on a whole second; an accepted URL
 * starts with http:// or https:// and holds no control byte, space or DEL. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/datetime.h"
#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decimal(const char *s, size_t n) {
  static const pg_dec_rules rules[] = {{.int_max = 9, .frac_max = 9, .neg = true},
                                       {.total_max = 30, .neg = true},
                                       {0}};
  for (size_t k = 0; k < sizeof rules / sizeof rules[0]; k++) {
    double x = 0;
    if (pg_dec_to_double(s, n, &rules[k], &x) != PG_OK) continue;
    if (!pg_dec_valid(s, n, &rules[k]) || !isfinite(x) || n == 0) abort();
    if (s[0] == '-' ? (x > 0 || !rules[k].neg) : x < 0) abort();
    if (rules[k].int_max == 9 && fabs(x) >= 1e9) abort();
  }
}

static void check_u64(const char *s, size_t n) {
  uint64_t v = 0;
  if (!pg_parse_u64(s, n, 0, &v)) return;
  char back[24];
  snprintf(back, sizeof back, "%llu", (unsigned long long)v);
  size_t z = 0; /* leading zeros are allowed in the text, not in the print */
  while (z + 1 < n && s[z] == '0') z++;
  if (strlen(back) != n - z || memcmp(back, s + z, n - z) != 0) abort();
}

static void check_iso(const char *s, size_t n) {
  int64_t ms = 0, back = 0;
  if (pg_iso8601_parse_utc(s, n, &ms) != PG_OK) return;
  char buf[32];
  pg_iso8601_utc(ms, buf, sizeof buf);
  int64_t sec = ms - (((ms % 1000) + 1000) % 1000);
  if (pg_iso8601_parse_utc(buf, strlen(buf), &back) != PG_OK || back != sec) abort();
}

static void check_date(const char *s) {
  uint64_t ms = 0;
  if (pg_date_time_parse_utc(s, &ms) != PG_OK) return;
  if (ms % 1000 != 0 || ms >= 7258118400000ULL /* 2200-01-01 */) abort();
}

static void check_url(const char *s) {
  if (!pg_url_http_ok(s)) return;
  if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) abort();
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *s = malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  check_decimal(s, size);
  check_u64(s, size);
  check_iso(s, size);
  check_date(s); /* up to the first NUL, as a config value */
  check_url(s);
  free(s);
  return 0;
}
