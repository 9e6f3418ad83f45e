/* dso.c — the grid operator's 15-minute CSV (p2pgrid/meter/dso.h): pure parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/csv.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/meter/dso.h"
#include "p2pgrid/base/file.h"
#include "dso_internal.h"

#define MAX_COLS 16

static const char *const qty_names[PG_DSO_NQTY] = {"consumption", "generation", "allocated"};

const char *pg_dso_qty_name(pg_dso_qty q) {
  return (unsigned)q < PG_DSO_NQTY ? qty_names[q] : "unknown";
}

int pg_dso_qty_parse(const char *s, pg_dso_qty *out) {
  for (int q = 0; q < PG_DSO_NQTY; q++)
    if (s && strcmp(s, qty_names[q]) == 0) {
      *out = (pg_dso_qty)q;
      return PG_OK;
    }
  return PG_ERR_INVALID;
}

/* What a header name means. qty -1: metering point, -2: start, -3: checked
 * and not stored. rank 1 columns are used only without a rank 0 one. */
typedef struct col_def {
  const char *name;
  int qty;
  unsigned frac; /* 3: kWh, 0: Wh */
  int rank;
} col_def;

enum { COL_POINT = -1, COL_START = -2, COL_IGNORED = -3 };

static const col_def col_defs[] = {
    {"metering_point", COL_POINT, 0, 0},
    {"start", COL_START, 0, 0},
    {"consumption_kwh", PG_DSO_CONSUMPTION, 3, 0},
    {"consumption_wh", PG_DSO_CONSUMPTION, 0, 0},
    {"generation_kwh", PG_DSO_GENERATION, 3, 0},
    {"generation_wh", PG_DSO_GENERATION, 0, 0},
    {"allocated_kwh", PG_DSO_ALLOCATED, 3, 0},
    {"allocated_wh", PG_DSO_ALLOCATED, 0, 0},
    {"1-1:1.9.0 G.01T", PG_DSO_CONSUMPTION, 3, 0},
    {"1-1:1.9.0 G.01", PG_DSO_CONSUMPTION, 3, 1},
    {"1-1:2.9.0 G.01T", PG_DSO_GENERATION, 3, 0},
    {"1-1:2.9.0 G.01", PG_DSO_GENERATION, 3, 1},
    {"1-1:2.9.0 G.03", PG_DSO_ALLOCATED, 3, 0},
    {"1-1:2.9.0 G.02", COL_IGNORED, 3, 0},
    {"1-1:2.9.0 G.03R", COL_IGNORED, 3, 0},
    {"1-1:2.9.0 P.01", COL_IGNORED, 3, 0},
    {"1-1:2.9.0 P.01T", COL_IGNORED, 3, 0},
};
#define N_DEFS (sizeof col_defs / sizeof col_defs[0])

typedef struct layout {
  char sep, point;
  size_t ncol;
  const col_def *col[MAX_COLS];
  int point_col, start_col;
  int use[PG_DSO_NQTY]; /* column stored for each quantity, -1 none */
} layout;

typedef struct parser {
  const char *name;
  pg_csv c;
  layout l;
  pg_dso_file f;
  size_t cap;
  pg_diag *d;
} parser;

static int fail_field(parser *p, const char *what, pg_csv_field f, const char *why) {
  char show[64];
  pg_csv_show(f, show, sizeof show);
  return pg_fail(p->d, PG_ERR_INVALID, "%s:%ld: %s '%s' %s", p->name, p->c.line, what, show, why);
}

static int read_header(parser *p, const pg_csv_field *f, size_t nf) {
  layout *l = &p->l;
  l->ncol = nf;
  if (l->ncol > MAX_COLS)
    return pg_fail(p->d, PG_ERR_INVALID, "%s:%ld: more than %d columns in the header", p->name,
                   p->c.line, MAX_COLS);
  l->point_col = l->start_col = -1;
  int rank[PG_DSO_NQTY];
  for (int q = 0; q < PG_DSO_NQTY; q++) l->use[q] = -1, rank[q] = 99;
  for (size_t i = 0; i < l->ncol; i++) {
    const col_def *c = NULL;
    for (size_t k = 0; k < N_DEFS && !c; k++)
      if (pg_csv_eq(f[i], col_defs[k].name)) c = &col_defs[k];
    if (!c)
      return fail_field(p, "header: column", f[i],
                        "is unknown (expected metering_point, start and consumption_kwh, "
                        "generation_kwh, allocated_kwh or their _wh forms, or EDA codes)");
    for (size_t j = 0; j < i; j++)
      if (l->col[j] == c || (c->qty >= 0 && l->col[j]->qty == c->qty && l->col[j]->rank == c->rank))
        return fail_field(p, "header: column", f[i], "says what an earlier column says");
    l->col[i] = c;
    if (c->qty == COL_POINT) l->point_col = (int)i;
    if (c->qty == COL_START) l->start_col = (int)i;
    if (c->qty >= 0 && c->rank < rank[c->qty]) rank[c->qty] = c->rank, l->use[c->qty] = (int)i;
  }
  if (l->point_col < 0 || l->start_col < 0)
    return pg_fail(p->d, PG_ERR_INVALID, "%s:%ld: the header has no %s column", p->name,
                   p->c.line, l->point_col < 0 ? "metering_point" : "start");
  if (l->use[0] < 0 && l->use[1] < 0 && l->use[2] < 0)
    return pg_fail(p->d, PG_ERR_INVALID,
                   "%s:%ld: the header has no consumption, generation or allocated column",
                   p->name, p->c.line);
  return PG_OK;
}

static bool point_ok(pg_csv_field f) {
  if (f.len < 1 || f.len > PG_DSO_POINT_MAX) return false;
  for (size_t i = 0; i < f.len; i++) {
    char ch = f.p[i];
    if (!((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
          ch == '.' || ch == '_' || ch == '-'))
      return false;
  }
  return true;
}

static int read_value(parser *p, size_t i, pg_csv_field f, int64_t *wh) {
  const col_def *c = p->l.col[i];
  *wh = PG_DSO_NONE;
  if (f.len == 0) return PG_OK;
  int64_t v;
  switch (pg_csv_decimal_fixed(f, p->l.point, c->frac, PG_DSO_MAX_WH, &v)) {
  case PG_CSV_DEC_OK: *wh = v; return PG_OK;
  case PG_CSV_DEC_NEGATIVE: return fail_field(p, c->name, f, "is negative");
  case PG_CSV_DEC_DECIMALS:
    return fail_field(p, c->name, f,
                      c->frac ? "has more than 3 decimals (kWh are read to the Wh)"
                              : "is not a whole number of Wh");
  case PG_CSV_DEC_RANGE:
    return fail_field(p, c->name, f,
                      c->frac ? "is more than 1000000 kWh" : "is more than 1000000000 Wh");
  default:
    return fail_field(p, c->name, f,
                      p->l.point == ',' ? "is not a number (digits, decimal point or comma)"
                                        : "is not a number (digits and a decimal point)");
  }
}

static int read_row(parser *p, const pg_csv_field *f, size_t k) {
  if (k != p->l.ncol)
    return pg_fail(p->d, PG_ERR_INVALID, "%s:%ld: %s%zu fields, the header has %zu (separator '%c')",
                   p->name, p->c.line, k > MAX_COLS ? "more than " : "", k > MAX_COLS ? MAX_COLS : k,
                   p->l.ncol, p->l.sep);
  if (p->f.n == PG_DSO_MAX_ROWS)
    return pg_fail(p->d, PG_ERR_TOO_LARGE, "%s:%ld: more than %u lines", p->name, p->c.line,
                   PG_DSO_MAX_ROWS);
  if (pg_grow(&p->f.rows, &p->cap, p->f.n + 1, sizeof *p->f.rows, 0) != PG_OK)
    return pg_fail(p->d, PG_ERR_NOMEM, "%s: out of memory", p->name);
  pg_dso_row *r = &p->f.rows[p->f.n];
  memset(r, 0, sizeof *r);
  r->line = p->c.line;
  pg_csv_field pf = f[p->l.point_col], sf = f[p->l.start_col];
  if (!point_ok(pf))
    return fail_field(p, "metering point", pf, "is not 1..64 letters, digits, '.', '_' or '-'");
  memcpy(r->point, pf.p, pf.len);
  int32_t off;
  if (pg_iso8601_parse(sf.p, sf.len, &r->start_ms, &off) != PG_OK)
    return fail_field(p, "start", sf,
                      "is not an ISO-8601 time with offset (2025-03-30T01:45:00+01:00 or ...Z)");
  if (r->start_ms % PG_DSO_PERIOD_MS != 0)
    return fail_field(p, "start", sf, "is not on the 15-minute grid");
  for (size_t i = 0; i < p->l.ncol; i++) {
    int q = p->l.col[i]->qty;
    if (q == COL_POINT || q == COL_START) continue;
    int64_t v;
    int rc = read_value(p, i, f[i], &v);
    if (rc) return rc;
    if (q >= 0 && p->l.use[q] == (int)i) r->wh[q] = v;
  }
  for (int q = 0; q < PG_DSO_NQTY; q++)
    if (p->l.use[q] < 0) r->wh[q] = PG_DSO_NONE;
  p->f.n++;
  return PG_OK;
}

static int cmp_row(const void *a, const void *b) {
  const pg_dso_row *x = a, *y = b;
  int c = strcmp(x->point, y->point);
  if (c) return c;
  if (x->start_ms != y->start_ms) return x->start_ms < y->start_ms ? -1 : 1;
  return x->line < y->line ? -1 : x->line > y->line;
}

static int check_duplicates(parser *p) {
  qsort(p->f.rows, p->f.n, sizeof *p->f.rows, cmp_row);
  const pg_dso_row *dup = NULL;
  for (size_t i = 1; i < p->f.n; i++) {
    const pg_dso_row *a = &p->f.rows[i - 1], *b = &p->f.rows[i];
    if (strcmp(a->point, b->point) == 0 && a->start_ms == b->start_ms &&
        (!dup || b->line < dup->line))
      dup = b;
  }
  if (!dup) return PG_OK;
  const pg_dso_row *first = dup - 1;
  while (first > p->f.rows && (first - 1)->start_ms == dup->start_ms &&
         strcmp((first - 1)->point, dup->point) == 0)
    first--;
  char iso[32];
  pg_iso8601_utc(dup->start_ms, iso, sizeof iso);
  return pg_fail(p->d, PG_ERR_INVALID, "%s:%ld: metering point %s, period %s is given twice (also line %ld)",
                 p->name, dup->line, dup->point, iso, first->line);
}

int pg_dso_parse(const void *data, size_t len, const char *name, pg_dso_file *out, pg_diag *d) {
  parser p = {.name = name ? dso_tail(name, 80) : "<dso>", .d = d};
  pg_csv_field f[MAX_COLS + 1];
  size_t n;
  int rc;
  if (!out) return pg_fail(d, PG_ERR_INVALID, "dso: no output");
  *out = (pg_dso_file){0};
  if (len > PG_DSO_MAX_FILE)
    return pg_fail(d, PG_ERR_TOO_LARGE, "%s: larger than %u bytes", p.name, PG_DSO_MAX_FILE);
  pg_csv_init(&p.c, data, len, p.name, PG_DSO_MAX_LINE);
  p.l.sep = p.c.sep = pg_csv_sniff_sep(&p.c);
  p.l.point = p.l.sep == ';' ? ',' : '.';
  rc = pg_csv_record(&p.c, f, MAX_COLS, &n, d);
  if (rc == PG_ERR_NOT_FOUND)
    rc = pg_fail(d, PG_ERR_TRUNCATED, "%s: empty file (expected a header metering_point,start,...)",
                 p.name);
  if (!rc) rc = read_header(&p, f, n);
  while (!rc && (rc = pg_csv_record(&p.c, f, MAX_COLS, &n, d)) == PG_OK) rc = read_row(&p, f, n);
  if (rc == PG_ERR_NOT_FOUND)
    rc = p.f.n ? check_duplicates(&p)
               : pg_fail(d, PG_ERR_TRUNCATED, "%s: no values after the header", p.name);
  pg_csv_free(&p.c);
  if (rc) {
    pg_dso_file_free(&p.f);
    return rc;
  }
  *out = p.f;
  return PG_OK;
}

int pg_dso_load_csv(const char *path, pg_dso_file *out, pg_diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (out) *out = (pg_dso_file){0};
  int rc = pg_read_file_capped(path, PG_DSO_MAX_FILE, &buf, &len, d);
  if (rc) return rc;
  rc = pg_dso_parse(buf, len, path, out, d);
  free(buf);
  return rc;
}

void pg_dso_file_free(pg_dso_file *f) {
  if (!f) return;
  free(f->rows);
  *f = (pg_dso_file){0};
}
