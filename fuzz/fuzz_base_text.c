/* Fuzz target: the base toolkit's parsers of outside text — plain decimals
 * (decimal.h, with the limits of both callers), unsigned integers
 * (pg_parse_u64), UTC timestamps (pg_iso8601_parse_utc) and config start
 * dates (pg_date_time_parse_utc), and the URL check (url.h). Checks: an
 * accepted decimal is finite, obeys its rules and has the sign of its text;
 * an accepted integer prints back to its digits; an accepted UTC timestamp
 * prints (pg_iso8601_utc) and parses back to the same whole second; an
 * accepted start date lies in 1970..2199 on a whole second; an accepted URL
 * starts with http:// or https:// and holds no control byte, space or DEL;
 * the CSV reader (csv.h): every field NUL-terminated, at most max + 1
 * fields, lines only forward, and a record written back with quotes reads
 * back to the same fields; pg_parse_i64 prints back to its text. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/csv.h"
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

/* Writes fields f[0..n) as one quoted record into b. */
static void quote_record(pg_buf *b, const pg_csv_field *f, size_t n, char sep) {
  for (size_t i = 0; i < n; i++) {
    if (i) pg_buf_put_u8(b, (uint8_t)sep);
    pg_buf_put_u8(b, '"');
    for (size_t k = 0; k < f[i].len; k++) {
      if (f[i].p[k] == '"') pg_buf_put_u8(b, '"');
      pg_buf_put_u8(b, (uint8_t)f[i].p[k]);
    }
    pg_buf_put_u8(b, '"');
  }
  pg_buf_puts(b, "\r\n");
}

static void check_record_back(const pg_csv_field *f, size_t n, char sep) {
  pg_buf b;
  pg_buf_init(&b, 1 << 16);
  quote_record(&b, f, n, sep);
  if (pg_buf_status(&b) != PG_OK) abort();
  pg_csv c;
  pg_csv_field g[8];
  size_t m;
  pg_csv_init(&c, b.data, b.len, "back", 1 << 16);
  c.sep = sep;
  /* a record of one empty field writes back as "" and reads back as such */
  if (pg_csv_record(&c, g, 8, &m, NULL) != PG_OK || m != n) abort();
  for (size_t i = 0; i < n; i++)
    if (g[i].len != f[i].len || memcmp(g[i].p, f[i].p, f[i].len) != 0) abort();
  pg_csv_free(&c);
  pg_buf_free(&b);
}

static void check_csv(const uint8_t *data, size_t size, char sep) {
  pg_csv c;
  pg_csv_field f[8];
  size_t n;
  long line = 0;
  pg_csv_init(&c, data, size, "fuzz", 512);
  c.sep = sep;
  while (pg_csv_record(&c, f, 8, &n, NULL) == PG_OK) {
    if (n == 0 || n > 9 || c.line <= line) abort();
    line = c.line;
    for (size_t i = 0; i < n && i < 8; i++)
      if (f[i].p[f[i].len] != 0 || memchr(f[i].p, 0, f[i].len)) abort();
    if (n <= 8) check_record_back(f, n, sep);
  }
  pg_csv_free(&c);
}

static void check_i64(const char *s, size_t n) {
  int64_t v;
  if (!pg_parse_i64(s, n, &v)) return;
  if (strtoll(s, NULL, 10) != v) abort(); /* s: an optional '-' and digits, NUL at n */
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
  check_i64(s, size);
  check_csv(data, size, ',');
  check_csv(data, size, ';');
  free(s);
  return 0;
}
