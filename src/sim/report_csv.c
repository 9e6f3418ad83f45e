/* RFC 4180 CSV reader and strict value parsers for the simulation report. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/decimal.h"
#include "p2pgrid/base/datetime.h"
#include "report_internal.h"

void rpt_csv_init(rpt_csv *c, const char *file, const uint8_t *data, size_t len) {
  memset(c, 0, sizeof *c);
  c->file = file;
  c->data = data;
  c->len = data ? len : 0;
  c->next_line = 1;
  /* UTF-8 byte order mark */
  if (c->len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) c->pos = 3;
}

void rpt_csv_free(rpt_csv *c) {
  free(c->scratch);
  c->scratch = NULL;
  c->scratch_cap = 0;
}

static int scratch_put(rpt_csv *c, size_t *used, char ch, pg_diag *d) {
  if (*used == c->scratch_cap) {
    size_t ncap = c->scratch_cap ? c->scratch_cap * 2 : 256;
    char *p = realloc(c->scratch, ncap);
    if (!p) return pg_fail(d, PG_ERR_NOMEM, "%s: out of memory", c->file);
    c->scratch = p;
    c->scratch_cap = ncap;
  }
  c->scratch[(*used)++] = ch;
  return PG_OK;
}

/* Reads one raw record into the scratch area. 1 = record, 0 = end. */
static int read_record(rpt_csv *c, pg_diag *d) {
  for (;;) {
    if (c->pos >= c->len) return 0;
    /* skip blank lines */
    if (c->data[c->pos] == '\n') {
      c->pos++;
      c->next_line++;
      continue;
    }
    if (c->data[c->pos] == '\r' && c->pos + 1 < c->len && c->data[c->pos + 1] == '\n') {
      c->pos += 2;
      c->next_line++;
      continue;
    }
    break;
  }
  c->line = c->next_line;
  size_t used = 0;
  c->nf = 0;
  int rc;
  for (;;) {
    /* one field */
    if (c->nf == RPT_CSV_MAX_COLS)
      return pg_fail(d, PG_ERR_INVALID, "%s:%lu: more than %d fields", c->file, c->line,
                     RPT_CSV_MAX_COLS);
    c->off[c->nf++] = used;
    bool quoted = c->pos < c->len && c->data[c->pos] == '"';
    if (quoted) {
      c->pos++;
      for (;;) {
        if (c->pos >= c->len)
          return pg_fail(d, PG_ERR_INVALID, "%s:%lu: quoted field not closed", c->file,
                         c->line);
        uint8_t ch = c->data[c->pos++];
        if (ch == '"') {
          if (c->pos < c->len && c->data[c->pos] == '"') {
            c->pos++;
          } else {
            break;
          }
        } else if (ch == 0) {
          return pg_fail(d, PG_ERR_INVALID, "%s:%lu: NUL byte in field", c->file,
                         c->next_line);
        } else if (ch == '\n') {
          c->next_line++;
        }
        if ((rc = scratch_put(c, &used, (char)ch, d)) != PG_OK) return rc;
      }
    } else {
      while (c->pos < c->len) {
        uint8_t ch = c->data[c->pos];
        if (ch == ',' || ch == '\n' || (ch == '\r' && c->pos + 1 < c->len &&
                                        c->data[c->pos + 1] == '\n'))
          break;
        if (ch == '"')
          return pg_fail(d, PG_ERR_INVALID, "%s:%lu: quote inside an unquoted field",
                         c->file, c->line);
        if (ch == 0 || ch == '\r')
          return pg_fail(d, PG_ERR_INVALID, "%s:%lu: %s in field", c->file, c->line,
                         ch ? "stray carriage return" : "NUL byte");
        if ((rc = scratch_put(c, &used, (char)ch, d)) != PG_OK) return rc;
        c->pos++;
      }
    }
    if ((rc = scratch_put(c, &used, '\0', d)) != PG_OK) return rc;
    /* after a field: ',' or end of record */
    if (c->pos >= c->len) break;
    uint8_t ch = c->data[c->pos];
    if (ch == ',') {
      c->pos++;
      continue;
    }
    if (ch == '\n') {
      c->pos++;
      c->next_line++;
      break;
    }
    if (ch == '\r' && c->pos + 1 < c->len && c->data[c->pos + 1] == '\n') {
      c->pos += 2;
      c->next_line++;
      break;
    }
    return pg_fail(d, PG_ERR_INVALID, "%s:%lu: text after a closing quote", c->file,
                   c->line);
  }
  for (size_t i = 0; i < c->nf; i++) c->f[i] = c->scratch + c->off[i];
  return 1;
}

int rpt_csv_header(rpt_csv *c, const char *const *names, size_t n, pg_diag *d) {
  if (n > RPT_CSV_MAX_COLS) return pg_fail(d, PG_ERR_INVALID, "%s: too many columns", c->file);
  int rc = read_record(c, d);
  if (rc < 0) return rc;
  if (rc == 0) return pg_fail(d, PG_ERR_INVALID, "%s: empty file (no header)", c->file);
  c->names = names;
  c->nnames = n;
  c->ncols = c->nf;
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < c->nf && strcmp(c->f[j], names[i]) != 0) j++;
    if (j == c->nf)
      return pg_fail(d, PG_ERR_INVALID, "%s:%lu: header has no column '%s'", c->file,
                     c->line, names[i]);
    c->col[i] = j;
  }
  return PG_OK;
}

int rpt_csv_next(rpt_csv *c, pg_diag *d) {
  int rc = read_record(c, d);
  if (rc <= 0) return rc;
  if (c->nf != c->ncols)
    return pg_fail(d, PG_ERR_INVALID, "%s:%lu: %zu fields, the header has %zu", c->file,
                   c->line, c->nf, c->ncols);
  return 1;
}

int rpt_csv_fail(const rpt_csv *c, size_t i, int err, const char *what, pg_diag *d) {
  /* quote at most 40 bytes of the value, non-printables as '?' */
  char v[48];
  const char *s = rpt_csv_get(c, i);
  size_t n = 0;
  for (; s[n] && n < 40; n++) v[n] = (s[n] >= 0x20 && s[n] < 0x7f) ? s[n] : '?';
  v[n] = 0;
  return pg_fail(d, err, "%s:%lu: column '%s': '%s'%s %s", c->file, c->line, c->names[i], v,
                 s[n] ? "..." : "", what);
}

bool rpt_parse_i64(const char *s, int64_t *out) {
  bool neg = false;
  if (*s == '-') {
    neg = true;
    s++;
  }
  if (!*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    unsigned dg = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - dg) / 10) return false;
    v = v * 10 + dg;
  }
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return false;
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)v;
  }
  return true;
}

bool rpt_parse_dec(const char *s, double *out) {
  static const pg_dec_rules rules = {.total_max = 30, .neg = true};
  return pg_dec_to_double(s, strlen(s), &rules, out) == PG_OK;
}

bool rpt_parse_time(const char *s, int64_t *out_ms) {
  return pg_iso8601_parse_utc(s, strlen(s), out_ms) == PG_OK;
}

int rpt_csv_i64(const rpt_csv *c, size_t i, int64_t *out, pg_diag *d) {
  if (!rpt_parse_i64(rpt_csv_get(c, i), out))
    return rpt_csv_fail(c, i, PG_ERR_INVALID, "is not an integer", d);
  return PG_OK;
}

int rpt_csv_dec(const rpt_csv *c, size_t i, bool allow_empty, double *out, pg_diag *d) {
  const char *s = rpt_csv_get(c, i);
  if (!*s && allow_empty) {
    *out = __builtin_nan("");
    return PG_OK;
  }
  if (!rpt_parse_dec(s, out)) return rpt_csv_fail(c, i, PG_ERR_INVALID, "is not a number", d);
  return PG_OK;
}

int rpt_csv_time(const rpt_csv *c, size_t i, int64_t *out, pg_diag *d) {
  if (!rpt_parse_time(rpt_csv_get(c, i), out))
    return rpt_csv_fail(c, i, PG_ERR_INVALID,
                        "is not a UTC time like 2025-06-01T00:15:00Z", d);
  return PG_OK;
}
