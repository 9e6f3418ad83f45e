/* csv.c — line and field scanning of CSV bytes from files (p2pgrid/base/csv.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/csv.h"

void pg_csv_init(pg_csv *c, const void *data, size_t len, const char *name, size_t max_line) {
  pg_reader_init(&c->r, data, len);
  c->name = name ? name : "<input>";
  c->max_line = max_line;
  c->line = 0;
  if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) c->r.pos = 3;
}

int pg_csv_next(pg_csv *c, const char **out, size_t *n, pg_diag *d) {
  if (pg_reader_left(&c->r) == 0) return PG_ERR_NOT_FOUND;
  c->line++;
  const uint8_t *start = c->r.p + c->r.pos;
  size_t left = pg_reader_left(&c->r), i = 0;
  while (i < left && start[i] != '\n') {
    if (start[i] == 0) return pg_fail(d, PG_ERR_INVALID, "%s:%ld: NUL byte in a text file", c->name, c->line);
    i++;
    if (i > c->max_line + 1)
      return pg_fail(d, PG_ERR_TOO_LARGE, "%s:%ld: line longer than %zu bytes", c->name, c->line, c->max_line);
  }
  size_t len = i;
  c->r.pos += i < left ? i + 1 : i;
  if (len > 0 && start[len - 1] == '\r') len--;
  if (len > c->max_line)
    return pg_fail(d, PG_ERR_TOO_LARGE, "%s:%ld: line longer than %zu bytes", c->name, c->line, c->max_line);
  *out = (const char *)start;
  *n = len;
  return PG_OK;
}

size_t pg_csv_split(const char *line, size_t n, pg_csv_field *f, size_t max) {
  return pg_csv_split_sep(line, n, ',', f, max);
}

size_t pg_csv_split_sep(const char *line, size_t n, char sep, pg_csv_field *f, size_t max) {
  size_t k = 0, s = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || line[i] == sep) {
      if (k == max) return max + 1;
      f[k].p = line + s;
      f[k].len = i - s;
      k++;
      s = i + 1;
    }
  }
  return k;
}

bool pg_csv_eq(pg_csv_field f, const char *s) {
  size_t n = strlen(s);
  return f.len == n && memcmp(f.p, s, n) == 0;
}

int pg_csv_decimal_milli(pg_csv_field f, int64_t *milli) {
  size_t i = 0, nint = 0, nfrac = 0;
  int64_t ip = 0, fp = 0; /* fp: 9 fraction digits */
  while (i < f.len && f.p[i] >= '0' && f.p[i] <= '9') {
    if (++nint > 12) return PG_ERR_INVALID;
    ip = ip * 10 + (f.p[i] - '0');
    i++;
  }
  if (i < f.len && f.p[i] == '.') {
    i++;
    while (i < f.len && f.p[i] >= '0' && f.p[i] <= '9') {
      if (++nfrac > 9) return PG_ERR_INVALID;
      fp = fp * 10 + (f.p[i] - '0');
      i++;
    }
    if (nfrac == 0) return PG_ERR_INVALID;
  }
  if (i != f.len || nint == 0) return PG_ERR_INVALID;
  for (size_t k = nfrac; k < 9; k++) fp *= 10;
  *milli = ip * 1000 + (fp + 500000) / 1000000;
  return PG_OK;
}

void pg_csv_show(pg_csv_field f, char *out, size_t cap) {
  size_t n = 0;
  for (size_t i = 0; i < f.len && n + 4 < cap; i++) {
    unsigned char ch = (unsigned char)f.p[i];
    out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    if (i == 39 && f.len > 40) {
      out[n++] = '.';
      out[n++] = '.';
      out[n++] = '.';
      break;
    }
  }
  out[n] = 0;
}


pg_csv_dec pg_csv_decimal_fixed(pg_csv_field f, char point, unsigned frac_max, int64_t max,
                                int64_t *out) {
  size_t i = 0, nint = 0;
  unsigned nfrac = 0;
  bool neg = f.len > 0 && f.p[0] == '-';
  if (neg) i++;
  int64_t v = 0;
  while (i < f.len && f.p[i] >= '0' && f.p[i] <= '9') {
    if (++nint > 15) return PG_CSV_DEC_RANGE;
    v = v * 10 + (f.p[i++] - '0');
  }
  if (nint == 0) return PG_CSV_DEC_SYNTAX;
  if (i < f.len && (f.p[i] == point || f.p[i] == '.')) {
    i++;
    while (i < f.len && f.p[i] >= '0' && f.p[i] <= '9') {
      if (++nfrac <= frac_max) {
        if (v > INT64_MAX / 10) return PG_CSV_DEC_RANGE;
        v = v * 10 + (f.p[i] - '0');
      }
      i++;
    }
    if (nfrac == 0) return PG_CSV_DEC_SYNTAX;
  }
  if (i != f.len) return PG_CSV_DEC_SYNTAX;
  if (neg) return PG_CSV_DEC_NEGATIVE;
  if (nfrac > frac_max) return PG_CSV_DEC_DECIMALS;
  for (unsigned k = nfrac; k < frac_max; k++) {
    if (v > INT64_MAX / 10) return PG_CSV_DEC_RANGE;
    v *= 10;
  }
  if (v > max) return PG_CSV_DEC_RANGE;
  *out = v;
  return PG_CSV_DEC_OK;
}
