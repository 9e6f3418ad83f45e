/* csv.c — the CSV reader: RFC 4180 records, a table view, exact decimals
 * (p2pgrid/base/csv.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/base/decimal.h"

void pg_csv_init(pg_csv *c, const void *data, size_t len, const char *name, size_t max_record) {
  memset(c, 0, sizeof *c);
  c->data = data;
  c->len = data ? len : 0;
  c->name = name ? name : "<input>";
  c->max_record = max_record;
  c->sep = ',';
  c->next_line = 1;
  if (c->len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) c->pos = 3;
}

void pg_csv_free(pg_csv *c) {
  free(c->scratch);
  c->scratch = NULL;
  c->scratch_cap = 0;
}

/* Length of a line end at data[pos] (1 for LF, 2 for CRLF), 0 if none. */
static size_t eol(const pg_csv *c, size_t pos) {
  if (pos >= c->len) return 0;
  if (c->data[pos] == '\n') return 1;
  return c->data[pos] == '\r' && pos + 1 < c->len && c->data[pos + 1] == '\n' ? 2 : 0;
}

static void skip_blank_lines(const pg_csv *c, size_t *pos, long *line) {
  size_t e;
  while ((e = eol(c, *pos)) != 0) *pos += e, ++*line;
}

char pg_csv_sniff_sep(const pg_csv *c) {
  size_t pos = c->pos;
  long line = c->next_line;
  skip_blank_lines(c, &pos, &line);
  const uint8_t *nl = memchr(c->data + pos, '\n', c->len - pos);
  size_t n = nl ? (size_t)(nl - (c->data + pos)) : c->len - pos;
  return memchr(c->data + pos, ';', n) ? ';' : ',';
}

static int put(pg_csv *c, size_t *used, char ch, pg_diag *d) {
  if (*used == c->scratch_cap) {
    size_t ncap = c->scratch_cap ? c->scratch_cap * 2 : 256;
    char *p = realloc(c->scratch, ncap);
    if (!p) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", c->name);
    c->scratch = p;
    c->scratch_cap = ncap;
  }
  c->scratch[(*used)++] = ch;
  return PG_OK;
}

/* A quoted field from just after its opening quote to just after its
 * closing one, unescaped into the scratch area. */
static int quoted_field(pg_csv *c, size_t *used, pg_diag *d) {
  for (;;) {
    if (c->pos >= c->len)
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: quoted field not closed", c->name, c->line);
    uint8_t ch = c->data[c->pos++];
    if (ch == '"') {
      if (c->pos >= c->len || c->data[c->pos] != '"') return PG_OK;
      c->pos++;
    } else if (ch == 0) {
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: NUL byte in a text file", c->name, c->next_line);
    } else if (ch == '\n') {
      c->next_line++;
    }
    int rc = put(c, used, (char)ch, d);
    if (rc) return rc;
  }
}

static int plain_field(pg_csv *c, size_t *used, pg_diag *d) {
  while (c->pos < c->len && c->data[c->pos] != c->sep && !eol(c, c->pos)) {
    uint8_t ch = c->data[c->pos];
    if (ch == '"')
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: quote inside an unquoted field (quote the whole field)",
                     c->name, c->line);
    if (ch == 0 || ch == '\r')
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: %s in a text file", c->name, c->line,
                     ch ? "stray carriage return" : "NUL byte");
    int rc = put(c, used, (char)ch, d);
    if (rc) return rc;
    c->pos++;
  }
  return PG_OK;
}

/* One field, NUL-terminated in the scratch area at offset *used; consumes
 * the separator or line end after it. *last: the record ended. */
static int field(pg_csv *c, size_t *used, bool *last, pg_diag *d) {
  bool quoted = c->pos < c->len && c->data[c->pos] == '"';
  if (quoted) c->pos++;
  int rc = quoted ? quoted_field(c, used, d) : plain_field(c, used, d);
  if (!rc) rc = put(c, used, '\0', d);
  if (rc) return rc;
  size_t e = eol(c, c->pos);
  *last = c->pos >= c->len || e != 0;
  if (e) c->pos += e, c->next_line++;
  else if (c->pos < c->len && c->data[c->pos] == c->sep) c->pos++;
  else if (!*last)
    return pg_fail(d, PG_ERR_INVALID, "%s:%ld: text after a closing quote", c->name, c->line);
  return PG_OK;
}

int pg_csv_record(pg_csv *c, pg_csv_field *f, size_t max, size_t *nf, pg_diag *d) {
  skip_blank_lines(c, &c->pos, &c->next_line);
  if (c->pos >= c->len) return PG_ERR_NOT_FOUND;
  c->line = c->next_line;
  size_t start = c->pos, used = 0, k = 0;
  bool last = false;
  while (!last) {
    size_t off = used;
    int rc = field(c, &used, &last, d);
    if (rc) return rc;
    if (c->pos - start > c->max_record)
      return pg_fail(d, PG_ERR_TOO_LARGE, "%s:%ld: line longer than %zu bytes", c->name, c->line,
                     c->max_record);
    if (k < max) f[k] = (pg_csv_field){(const char *)(uintptr_t)off, used - off - 1};
    if (k <= max) k++;
  }
  for (size_t i = 0; i < k && i < max; i++) f[i].p = c->scratch + (uintptr_t)f[i].p;
  *nf = k;
  return PG_OK;
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

/* ---- a table */

void pg_csv_table_init(pg_csv_table *t, const char *name, const void *data, size_t len) {
  memset(t, 0, sizeof *t);
  pg_csv_init(&t->c, data, len, name, (size_t)1 << 20);
}

void pg_csv_table_free(pg_csv_table *t) { pg_csv_free(&t->c); }

static int table_record(pg_csv_table *t, pg_diag *d) {
  int rc = pg_csv_record(&t->c, t->f, PG_CSV_TABLE_MAX_COLS, &t->nf, d);
  if (rc) return rc;
  if (t->nf > PG_CSV_TABLE_MAX_COLS)
    return pg_fail(d, PG_ERR_INVALID, "%s:%ld: more than %d fields", t->c.name, t->c.line,
                   PG_CSV_TABLE_MAX_COLS);
  return PG_OK;
}

int pg_csv_table_header(pg_csv_table *t, const char *const *names, size_t n, pg_diag *d) {
  if (n > PG_CSV_TABLE_MAX_COLS)
    return pg_fail(d, PG_ERR_INVALID, "%s: too many columns", t->c.name);
  int rc = table_record(t, d);
  if (rc == PG_ERR_NOT_FOUND) return pg_fail(d, PG_ERR_INVALID, "%s: empty file (no header)", t->c.name);
  if (rc) return rc;
  t->names = names;
  t->nnames = n;
  t->ncols = t->nf;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < t->nf && strcmp(t->f[j].p, names[i]) != 0) j++;
    if (j == t->nf)
      return pg_fail(d, PG_ERR_INVALID, "%s:%ld: header has no column '%s'", t->c.name, t->c.line,
                     names[i]);
    t->col[i] = j;
  }
  return PG_OK;
}

int pg_csv_table_next(pg_csv_table *t, pg_diag *d) {
  int rc = table_record(t, d);
  if (rc == PG_ERR_NOT_FOUND) return 0;
  if (rc) return rc;
  if (t->nf != t->ncols)
    return pg_fail(d, PG_ERR_INVALID, "%s:%ld: %zu fields, the header has %zu", t->c.name, t->c.line,
                   t->nf, t->ncols);
  return 1;
}

int pg_csv_table_fail(const pg_csv_table *t, size_t i, int err, const char *what, pg_diag *d) {
  char v[64];
  pg_csv_show(t->f[t->col[i]], v, sizeof v);
  return pg_fail(d, err, "%s:%ld: column '%s': '%s' %s", t->c.name, t->c.line, t->names[i], v, what);
}

int pg_csv_table_i64(const pg_csv_table *t, size_t i, int64_t *out, pg_diag *d) {
  pg_csv_field f = t->f[t->col[i]];
  if (!pg_parse_i64(f.p, f.len, out)) return pg_csv_table_fail(t, i, PG_ERR_INVALID, "is not an integer", d);
  return PG_OK;
}

int pg_csv_table_dec(const pg_csv_table *t, size_t i, bool allow_empty, double *out, pg_diag *d) {
  static const pg_dec_rules rules = {.total_max = 30, .neg = true};
  pg_csv_field f = t->f[t->col[i]];
  if (f.len == 0 && allow_empty) {
    *out = NAN;
    return PG_OK;
  }
  if (pg_dec_to_double(f.p, f.len, &rules, out) != PG_OK)
    return pg_csv_table_fail(t, i, PG_ERR_INVALID, "is not a number", d);
  return PG_OK;
}

int pg_csv_table_time(const pg_csv_table *t, size_t i, int64_t *out, pg_diag *d) {
  pg_csv_field f = t->f[t->col[i]];
  if (pg_iso8601_parse_utc(f.p, f.len, out) != PG_OK)
    return pg_csv_table_fail(t, i, PG_ERR_INVALID, "is not a UTC time like 2025-06-01T00:15:00Z", d);
  return PG_OK;
}
