/* dso_store.c — the grid operator's values in SQLite (p2pgrid/meter/dso.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/datetime.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/meter/dso.h"
#include "dso_internal.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS dso_values(point TEXT NOT NULL, start_ms INTEGER NOT NULL,"
    " consumption_wh INTEGER, generation_wh INTEGER, allocated_wh INTEGER,"
    " source_file TEXT NOT NULL, line INTEGER NOT NULL, PRIMARY KEY(point, start_ms))"
    " WITHOUT ROWID;";

static const char *const qty_cols[PG_DSO_NQTY] = {"consumption_wh", "generation_wh",
                                                  "allocated_wh"};

int pg_dso_db_open(const char *path, bool create, sqlite3 **out, pg_diag *d) {
  *out = NULL;
  if (!path || !*path) return pg_fail(d, PG_ERR_INVALID, "dso: no database path");
  if (create) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (strlen(path) >= sizeof dir) return pg_fail(d, PG_ERR_INVALID, "dso: database path too long");
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else snprintf(dir, sizeof dir, ".");
    return pg_db_open(dir[0] ? dir : "/", slash ? slash + 1 : path, schema, 5000, out, d);
  }
  sqlite3 *db = NULL;
  int rc = PG_OK;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    rc = pg_db_fail(db, d, "cannot open %.200s", path);
  if (!rc) sqlite3_busy_timeout(db, 5000);
  int64_t has = 0;
  if (!rc)
    rc = pg_db_i64(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'dso_values'", 0, 0, &has, d);
  if (!rc && !has)
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "%.200s: no imported grid-operator values (dso_values)", path);
  if (rc) {
    sqlite3_close(db);
    return rc;
  }
  *out = db;
  return PG_OK;
}

void pg_dso_import_result_free(pg_dso_import_result *r) {
  if (!r) return;
  free(r->gaps);
  *r = (pg_dso_import_result){0};
}

static void show_wh(int64_t wh, char *buf, size_t cap) {
  if (wh == PG_DSO_NONE) snprintf(buf, cap, "none");
  else snprintf(buf, cap, "%lld.%03lld kWh", (long long)(wh / 1000), (long long)(wh % 1000));
}

typedef struct importer {
  sqlite3 *db;
  sqlite3_stmt *get, *put, *fill;
  pg_dso_import_result *r;
  pg_diag *d;
} importer;

static void bind_value(sqlite3_stmt *st, int i, int64_t wh) {
  if (wh == PG_DSO_NONE) sqlite3_bind_null(st, i);
  else sqlite3_bind_int64(st, i, wh);
}

/* One row: new, the same, filling a quantity not reported before, or a
 * conflict naming both files and lines. */
static int import_row(importer *im, const char *file, const pg_dso_row *row) {
  sqlite3_stmt *g = im->get;
  sqlite3_reset(g);
  sqlite3_bind_text(g, 1, row->point, -1, SQLITE_STATIC);
  sqlite3_bind_int64(g, 2, row->start_ms);
  int s = sqlite3_step(g);
  if (s == SQLITE_DONE) {
    sqlite3_stmt *p = im->put;
    sqlite3_reset(p);
    sqlite3_bind_text(p, 1, row->point, -1, SQLITE_STATIC);
    sqlite3_bind_int64(p, 2, row->start_ms);
    for (int q = 0; q < PG_DSO_NQTY; q++) bind_value(p, 3 + q, row->wh[q]);
    sqlite3_bind_text(p, 6, file, -1, SQLITE_STATIC);
    sqlite3_bind_int64(p, 7, row->line);
    if (sqlite3_step(p) != SQLITE_DONE) return pg_db_fail(im->db, im->d, "dso_values write");
    im->r->added++;
    return PG_OK;
  }
  if (s != SQLITE_ROW) return pg_db_fail(im->db, im->d, "dso_values read");
  bool fill = false;
  for (int q = 0; q < PG_DSO_NQTY; q++) {
    int64_t old = sqlite3_column_type(g, q) == SQLITE_NULL ? PG_DSO_NONE : sqlite3_column_int64(g, q);
    if (row->wh[q] == PG_DSO_NONE || row->wh[q] == old) continue;
    if (old == PG_DSO_NONE) {
      fill = true;
      continue;
    }
    char a[32], b[32], iso[32];
    show_wh(row->wh[q], a, sizeof a);
    show_wh(old, b, sizeof b);
    pg_iso8601_utc(row->start_ms, iso, sizeof iso);
    return pg_fail(im->d, PG_ERR_EXISTS,
                   "%s:%ld: %s %s of %s at %s conflicts with %s imported from %s:%lld",
                   dso_tail(file, 50), row->line, pg_dso_qty_name((pg_dso_qty)q), a, row->point, iso, b,
                   dso_tail((const char *)sqlite3_column_text(g, 3), 50),
                   (long long)sqlite3_column_int64(g, 4));
  }
  if (!fill) {
    im->r->unchanged++;
    return PG_OK;
  }
  sqlite3_stmt *f = im->fill;
  sqlite3_reset(f);
  for (int q = 0; q < PG_DSO_NQTY; q++) bind_value(f, 1 + q, row->wh[q]);
  sqlite3_bind_text(f, 4, row->point, -1, SQLITE_STATIC);
  sqlite3_bind_int64(f, 5, row->start_ms);
  if (sqlite3_step(f) != SQLITE_DONE) return pg_db_fail(im->db, im->d, "dso_values write");
  im->r->added++;
  return PG_OK;
}

static const char gaps_sql[] =
    "SELECT point, prev, start_ms, source_file, line, prev_file, prev_line FROM (SELECT point,"
    " start_ms, source_file, line, LAG(start_ms) OVER w AS prev, LAG(source_file) OVER w AS"
    " prev_file, LAG(line) OVER w AS prev_line FROM dso_values WHERE ?1 IS NULL OR point = ?1"
    " WINDOW w AS (PARTITION BY point ORDER BY start_ms)) WHERE start_ms - prev > 900000"
    " ORDER BY point, start_ms";

#define WHERE_CAP 128

/* Appends the gaps of one point (or all); at and before (NULL or WHERE_CAP
 * bytes) get the file:line of the first gap's next and previous period. */
static int collect_gaps(sqlite3 *db, const char *point, pg_dso_gap **gaps, size_t *n, char *at,
                        char *before, pg_diag *d) {
  sqlite3_stmt *st;
  int rc = pg_db_prepare(db, gaps_sql, &st, d);
  if (rc) return rc;
  if (point) sqlite3_bind_text(st, 1, point, -1, SQLITE_STATIC);
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    pg_dso_gap *g = realloc(*gaps, (*n + 1) * sizeof *g);
    if (!g) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    *gaps = g;
    g += *n;
    memset(g, 0, sizeof *g);
    snprintf(g->point, sizeof g->point, "%s", (const char *)sqlite3_column_text(st, 0));
    g->from_ms = sqlite3_column_int64(st, 1) + PG_DSO_PERIOD_MS;
    g->to_ms = sqlite3_column_int64(st, 2);
    if (at && *n == 0) {
      snprintf(at, WHERE_CAP, "%s:%lld", dso_tail((const char *)sqlite3_column_text(st, 3), 50),
               (long long)sqlite3_column_int64(st, 4));
      snprintf(before, WHERE_CAP, "%s:%lld", dso_tail((const char *)sqlite3_column_text(st, 5), 50),
               (long long)sqlite3_column_int64(st, 6));
    }
    (*n)++;
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "dso_values gaps");
  sqlite3_finalize(st);
  return rc;
}

static int import_files(importer *im, const char *const *paths, pg_dso_file *files, size_t n) {
  int rc = pg_db_prepare(im->db,
                         "SELECT consumption_wh, generation_wh, allocated_wh, source_file, line"
                         " FROM dso_values WHERE point = ?1 AND start_ms = ?2",
                         &im->get, im->d);
  if (!rc)
    rc = pg_db_prepare(im->db,
                       "INSERT INTO dso_values(point, start_ms, consumption_wh, generation_wh,"
                       " allocated_wh, source_file, line) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                       &im->put, im->d);
  if (!rc)
    rc = pg_db_prepare(im->db,
                       "UPDATE dso_values SET consumption_wh = COALESCE(consumption_wh, ?1),"
                       " generation_wh = COALESCE(generation_wh, ?2),"
                       " allocated_wh = COALESCE(allocated_wh, ?3) WHERE point = ?4 AND start_ms = ?5",
                       &im->fill, im->d);
  for (size_t i = 0; i < n && !rc; i++)
    for (size_t k = 0; k < files[i].n && !rc; k++) rc = import_row(im, paths[i], &files[i].rows[k]);
  /* the gaps of every point touched (rows are sorted by point) */
  for (size_t i = 0; i < n && !rc; i++)
    for (size_t k = 0; k < files[i].n && !rc; k++) {
      const char *pt = files[i].rows[k].point;
      if (k && strcmp(pt, files[i].rows[k - 1].point) == 0) continue;
      bool seen = false;
      for (size_t j = 0; j < i && !seen; j++)
        for (size_t m = 0; m < files[j].n && !seen; m++) seen = strcmp(files[j].rows[m].point, pt) == 0;
      if (!seen) rc = collect_gaps(im->db, pt, &im->r->gaps, &im->r->n_gaps, NULL, NULL, im->d);
    }
  return rc;
}

int pg_dso_import(sqlite3 *db, const char *const *paths, size_t n, bool allow_gaps,
                  pg_dso_import_result *r, pg_diag *d) {
  *r = (pg_dso_import_result){0};
  pg_dso_file *files = calloc(n + 1, sizeof *files);
  if (!files) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = PG_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    rc = pg_dso_load_csv(paths[i], &files[i], d);
    if (!rc) r->files++, r->rows += files[i].n;
  }
  importer im = {.db = db, .r = r, .d = d};
  bool began = false;
  if (!rc) rc = pg_db_begin(db, d), began = rc == PG_OK;
  if (!rc) rc = import_files(&im, paths, files, n);
  sqlite3_finalize(im.get);
  sqlite3_finalize(im.put);
  sqlite3_finalize(im.fill);
  if (!rc && r->n_gaps && !allow_gaps) {
    const pg_dso_gap *g = &r->gaps[0];
    char a[32], b[32], at[WHERE_CAP] = "?", before[WHERE_CAP] = "?";
    pg_dso_gap *tmp = NULL;
    size_t nt = 0;
    if (collect_gaps(db, g->point, &tmp, &nt, at, before, NULL) != PG_OK) at[0] = before[0] = '?';
    free(tmp);
    pg_iso8601_utc(g->from_ms, a, sizeof a);
    pg_iso8601_utc(g->to_ms, b, sizeof b);
    rc = pg_fail(d, PG_ERR_INVALID,
                 "%s: metering point %s misses %lld quarter hours from %s to %s (the quarter hour"
                 " before is %s); %zu gap%s in all (--allow-gaps imports anyway)",
                 at, g->point, (long long)((g->to_ms - g->from_ms) / PG_DSO_PERIOD_MS), a, b,
                 before, r->n_gaps, r->n_gaps == 1 ? "" : "s");
  }
  if (!rc) rc = pg_db_commit(db, d);
  else if (began) pg_db_rollback(db);
  for (size_t i = 0; i < n; i++) pg_dso_file_free(&files[i]);
  free(files);
  if (rc) pg_dso_import_result_free(r);
  return rc;
}

int pg_dso_points(sqlite3 *db, const char *point, pg_dso_point_info **out, size_t *n, pg_diag *d) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  int rc = pg_db_prepare(db,
                         "SELECT point, COUNT(*), MIN(start_ms), MAX(start_ms),"
                         " SUM(COALESCE(consumption_wh, 0)), SUM(COALESCE(generation_wh, 0)),"
                         " SUM(COALESCE(allocated_wh, 0)) FROM dso_values"
                         " WHERE ?1 IS NULL OR point = ?1 GROUP BY point ORDER BY point",
                         &st, d);
  if (rc) return rc;
  if (point) sqlite3_bind_text(st, 1, point, -1, SQLITE_STATIC);
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    pg_dso_point_info *p = realloc(*out, (*n + 1) * sizeof *p);
    if (!p) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    *out = p;
    p += (*n)++;
    memset(p, 0, sizeof *p);
    snprintf(p->point, sizeof p->point, "%s", (const char *)sqlite3_column_text(st, 0));
    p->periods = sqlite3_column_int64(st, 1);
    p->first_ms = sqlite3_column_int64(st, 2);
    p->last_ms = sqlite3_column_int64(st, 3);
    for (int q = 0; q < PG_DSO_NQTY; q++) p->sum_wh[q] = sqlite3_column_int64(st, 4 + q);
    p->missing = (p->last_ms - p->first_ms) / PG_DSO_PERIOD_MS + 1 - p->periods;
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "dso_values read");
  sqlite3_finalize(st);
  if (!rc && point && *n == 0)
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "metering point %.64s has no imported values", point);
  if (rc) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int pg_dso_gaps(sqlite3 *db, const char *point, pg_dso_gap **out, size_t *n, pg_diag *d) {
  *out = NULL;
  *n = 0;
  int rc = collect_gaps(db, point, out, n, NULL, NULL, d);
  if (rc) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

void pg_dso_series_free(pg_dso_series *s) {
  if (!s) return;
  free(s->start_ms);
  free(s->wh);
  *s = (pg_dso_series){0};
}

static int series_push(pg_dso_series *s, size_t *cap, int64_t t, int64_t wh) {
  /* two arrays, one capacity: each grows from the same *cap to the same size */
  size_t cap_wh = *cap;
  if (pg_grow(&s->wh, &cap_wh, s->n + 1, sizeof *s->wh, 0) ||
      pg_grow(&s->start_ms, cap, s->n + 1, sizeof *s->start_ms, 0))
    return PG_ERR_NOMEM;
  s->start_ms[s->n] = t;
  s->wh[s->n++] = wh;
  return PG_OK;
}

int pg_dso_series_load(sqlite3 *db, const char *point, pg_dso_qty q, pg_dso_series *out,
                       pg_diag *d) {
  *out = (pg_dso_series){0};
  if ((unsigned)q >= PG_DSO_NQTY) return pg_fail(d, PG_ERR_INVALID, "dso: unknown quantity");
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT start_ms, %s FROM dso_values WHERE point = ?1 ORDER BY start_ms",
           qty_cols[q]);
  sqlite3_stmt *st;
  int rc = pg_db_prepare(db, sql, &st, d), s;
  if (rc) return rc;
  sqlite3_bind_text(st, 1, point, -1, SQLITE_STATIC);
  size_t cap = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t wh = sqlite3_column_type(st, 1) == SQLITE_NULL ? PG_DSO_NONE : sqlite3_column_int64(st, 1);
    if (series_push(out, &cap, sqlite3_column_int64(st, 0), wh)) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "dso_values read");
  sqlite3_finalize(st);
  if (rc) pg_dso_series_free(out);
  return rc;
}

int pg_dso_series_from_file(const pg_dso_file *f, const char *point, pg_dso_qty q,
                            pg_dso_series *out, pg_diag *d) {
  *out = (pg_dso_series){0};
  if ((unsigned)q >= PG_DSO_NQTY) return pg_fail(d, PG_ERR_INVALID, "dso: unknown quantity");
  size_t cap = 0;
  for (size_t i = 0; i < f->n; i++) {
    if (strcmp(f->rows[i].point, point) != 0) continue;
    if (series_push(out, &cap, f->rows[i].start_ms, f->rows[i].wh[q])) {
      pg_dso_series_free(out);
      return pg_fail(d, PG_ERR_NOMEM, "out of memory");
    }
  }
  return PG_OK;
}

int pg_dso_series_sum(const pg_dso_series *s, int64_t from_ms, int64_t to_ms, int64_t *wh,
                      int64_t *missing_ms) {
  if (from_ms >= to_ms || from_ms % PG_DSO_PERIOD_MS || to_ms % PG_DSO_PERIOD_MS)
    return PG_ERR_INVALID;
  size_t lo = 0, hi = s->n; /* first index with start >= from */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->start_ms[mid] < from_ms) lo = mid + 1;
    else hi = mid;
  }
  int64_t sum = 0;
  for (int64_t t = from_ms; t < to_ms; t += PG_DSO_PERIOD_MS, lo++) {
    if (lo >= s->n || s->start_ms[lo] != t || s->wh[lo] == PG_DSO_NONE) {
      if (missing_ms) *missing_ms = t;
      return PG_ERR_NOT_FOUND;
    }
    sum += s->wh[lo];
  }
  *wh = sum;
  return PG_OK;
}
