/* test_dso: the grid operator's 15-minute CSV, its SQLite store and the
 * "dso" meter (p2pgrid/meter/dso.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/datetime.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/meter/dso.h"
#include "test_util_tmpdir.h"

static char *root;

static void path_of(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", root, name);
}

static void write_file(const char *name, const char *text) {
  char p[512];
  path_of(name, p, sizeof p);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

static sqlite3 *fresh_db(const char *name) {
  char p[512];
  path_of(name, p, sizeof p);
  unlink(p);
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_dso_db_open(p, true, &db, &d), PG_OK);
  return db;
}

static int64_t count_rows(sqlite3 *db) {
  int64_t n = -1;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_i64(db, "SELECT COUNT(*) FROM dso_values", 0, 0, &n, &d), PG_OK);
  return n;
}

/* imports files named relative to root */
static int import(sqlite3 *db, bool allow_gaps, pg_dso_import_result *r, pg_diag *d, size_t n,
                  ...) {
  char paths[4][512];
  const char *pp[4];
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    path_of(va_arg(ap, const char *), paths[i], sizeof paths[i]);
    pp[i] = paths[i];
  }
  va_end(ap);
  return pg_dso_import(db, pp, n, allow_gaps, r, d);
}

static int parse_text(const char *text, pg_dso_file *f, pg_diag *d) {
  return pg_dso_parse(text, strlen(text), "t.csv", f, d);
}

#define T0 1748728800000LL /* 2025-06-01T00:00:00+02:00 */

static const char good[] =
    "metering_point,start,consumption_kwh,generation_kwh,allocated_kwh\n"
    "AT0010000000000000001000000000002,2025-06-01T00:15:00+02:00,0.250,0,0.1\n"
    "AT0010000000000000001000000000001,2025-06-01T00:00:00+02:00,0.001,1.5,0\n"
    "\n"
    "AT0010000000000000001000000000001,2025-05-31T22:15:00Z,1234.567,0.000,\n"
    "AT0010000000000000001000000000002,2025-06-01T00:00:00+02:00,2,0,0.125\n";

static void test_good_file(void **state) {
  (void)state;
  pg_dso_file f;
  pg_diag d = {{0}};
  assert_int_equal(parse_text(good, &f, &d), PG_OK);
  assert_int_equal(f.n, 4);
  /* sorted by point, then start */
  assert_string_equal(f.rows[0].point, "AT0010000000000000001000000000001");
  assert_int_equal(f.rows[0].start_ms, T0); /* 2025-06-01T00:00+02:00 */
  assert_int_equal(f.rows[0].wh[PG_DSO_CONSUMPTION], 1);
  assert_int_equal(f.rows[0].wh[PG_DSO_GENERATION], 1500);
  assert_int_equal(f.rows[0].line, 3);
  assert_int_equal(f.rows[1].start_ms, T0 + 900000);
  assert_int_equal(f.rows[1].wh[PG_DSO_CONSUMPTION], 1234567);
  assert_int_equal(f.rows[1].wh[PG_DSO_ALLOCATED], PG_DSO_NONE); /* empty: not reported */
  assert_int_equal(f.rows[1].line, 5);
  assert_int_equal(f.rows[2].wh[PG_DSO_CONSUMPTION], 2000);
  assert_int_equal(f.rows[2].wh[PG_DSO_ALLOCATED], 125);
  pg_dso_file_free(&f);

  /* Wh columns, another column order */
  assert_int_equal(parse_text("start,consumption_wh,metering_point\n"
                              "2025-06-01T00:00:00Z,17,P1\n",
                              &f, &d),
                   PG_OK);
  assert_int_equal(f.rows[0].wh[PG_DSO_CONSUMPTION], 17);
  assert_int_equal(f.rows[0].wh[PG_DSO_GENERATION], PG_DSO_NONE);
  pg_dso_file_free(&f);

  /* EDA codes as columns: G.01T before G.01, G.03 allocated, G.02 checked only */
  assert_int_equal(parse_text("metering_point;start;1-1:1.9.0 G.01;1-1:1.9.0 G.01T;"
                              "1-1:2.9.0 G.02;1-1:2.9.0 G.03\r\n"
                              "P1;2025-06-01T00:00:00+02:00;1,000;0,500;0,4;0,3\r\n",
                              &f, &d),
                   PG_OK);
  assert_int_equal(f.rows[0].wh[PG_DSO_CONSUMPTION], 500);
  assert_int_equal(f.rows[0].wh[PG_DSO_ALLOCATED], 300);
  pg_dso_file_free(&f);
  assert_int_equal(parse_text("metering_point;start;1-1:2.9.0 G.02;1-1:2.9.0 G.03\n"
                              "P1;2025-06-01T00:00:00+02:00;-1;0,3\n",
                              &f, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "t.csv:2: 1-1:2.9.0 G.02 '-1' is negative"));
}

static void test_decimal_comma(void **state) {
  (void)state;
  pg_dso_file f;
  pg_diag d = {{0}};
  /* Excel/EDA style: ';' separator, decimal comma (a point is read too), BOM */
  assert_int_equal(parse_text("\xEF\xBB\xBFmetering_point;start;consumption_kwh;generation_kwh\r\n"
                              "P1;2025-01-01T00:00:00+01:00;0,250;1.5\r\n"
                              "P1;2025-01-01T00:15:00+01:00;12,3;0\r\n",
                              &f, &d),
                   PG_OK);
  assert_int_equal(f.n, 2);
  assert_int_equal(f.rows[0].wh[PG_DSO_CONSUMPTION], 250);
  assert_int_equal(f.rows[0].wh[PG_DSO_GENERATION], 1500);
  assert_int_equal(f.rows[1].wh[PG_DSO_CONSUMPTION], 12300);
  pg_dso_file_free(&f);
  /* with ',' as the separator a decimal comma splits the field */
  assert_int_equal(parse_text("metering_point,start,consumption_kwh\n"
                              "P1,2025-01-01T00:00:00+01:00,0,250\n",
                              &f, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "t.csv:2: 4 fields, the header has 3 (separator ',')"));
  /* quoted fields, as spreadsheets write them: a decimal comma inside quotes
   * with ',' as the separator, and quoted names */
  assert_int_equal(parse_text("\"metering_point\",\"start\",\"consumption_kwh\"\n"
                              "\"P1\",2025-01-01T00:00:00+01:00,\"0,250\"\n",
                              &f, &d),
                   PG_ERR_INVALID); /* ',' separator: the point is '.' */
  assert_non_null(strstr(d.msg, "t.csv:2: consumption_kwh '0,250' is not a number"));
  assert_int_equal(parse_text("\"metering_point\";\"start\";\"consumption_kwh\"\r\n"
                              "\"P1\";\"2025-01-01T00:00:00+01:00\";\"0,250\"\r\n",
                              &f, &d),
                   PG_OK);
  assert_int_equal(f.n, 1);
  assert_string_equal(f.rows[0].point, "P1");
  assert_int_equal(f.rows[0].wh[PG_DSO_CONSUMPTION], 250);
  pg_dso_file_free(&f);
  /* a quote left open is named, not read past */
  assert_int_equal(parse_text("metering_point;start;consumption_kwh\n"
                              "\"P1;2025-01-01T00:00:00+01:00;1\n",
                              &f, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "t.csv:2: quoted field not closed"));
}

/* Each kind of malformed line: the message names file:line and the value, and
 * an import of a good file together with the bad one stores nothing. */
static void test_malformed(void **state) {
  (void)state;
  static const char hdr[] = "metering_point,start,consumption_kwh,generation_kwh\n"
                            "P1,2025-06-01T00:00:00Z,1,0\n";
  static const struct {
    const char *line, *want;
  } cases[] = {
      {"P1,2025-06-01T00:15:00Z,1\n", "bad.csv:3: 3 fields, the header has 4"},
      {"P1,2025-06-01T00:15:00Z,1,0,7\n", "bad.csv:3: 5 fields, the header has 4"},
      {"P1,2025-06-01T00:15:00Z,1x,0\n", "bad.csv:3: consumption_kwh '1x' is not a number"},
      {"P1,2025-06-01T00:15:00Z,1.,0\n", "bad.csv:3: consumption_kwh '1.' is not a number"},
      {"P1,2025-06-01T00:15:00Z,0,-0.5\n", "bad.csv:3: generation_kwh '-0.5' is negative"},
      {"P1,2025-06-01T00:15:00Z,0.2501,0\n",
       "bad.csv:3: consumption_kwh '0.2501' has more than 3 decimals"},
      {"P1,2025-06-01T00:15:00Z,1000000.001,0\n",
       "bad.csv:3: consumption_kwh '1000000.001' is more than 1000000 kWh"},
      {"P1,2025-06-01 00:15:00,1,0\n", "bad.csv:3: start '2025-06-01 00:15:00' is not an ISO-8601"},
      {"P1,2025-06-31T00:15:00Z,1,0\n", "bad.csv:3: start '2025-06-31T00:15:00Z' is not an ISO"},
      {"P1,2025-06-01T00:15:00,1,0\n", "bad.csv:3: start '2025-06-01T00:15:00' is not an ISO"},
      {"P1,2025-06-01T00:20:00Z,1,0\n",
       "bad.csv:3: start '2025-06-01T00:20:00Z' is not on the 15-minute grid"},
      {"P1,2025-06-01T00:15:30Z,1,0\n", "is not on the 15-minute grid"},
      {"P 1,2025-06-01T00:15:00Z,1,0\n", "bad.csv:3: metering point 'P 1' is not"},
      {",2025-06-01T00:15:00Z,1,0\n", "bad.csv:3: metering point '' is not"},
  };
  char text[512];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(text, sizeof text, "%s%s", hdr, cases[i].line);
    write_file("bad.csv", text);
    write_file("ok.csv", good);
    sqlite3 *db = fresh_db("m.db");
    pg_dso_import_result r;
    pg_diag d = {{0}};
    assert_int_equal(import(db, true, &r, &d, 2, "ok.csv", "bad.csv"), PG_ERR_INVALID);
    if (!strstr(d.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
    assert_non_null(strstr(d.msg, root)); /* the file's path */
    assert_int_equal(count_rows(db), 0);
    sqlite3_close(db);
  }
  /* headers */
  static const struct {
    const char *text, *want;
  } heads[] = {
      {"metering_point,start,consumption_kwh,price\nP1,2025-06-01T00:00:00Z,1,2\n",
       "t.csv:1: header: column 'price' is unknown"},
      {"metering_point,start\nP1,2025-06-01T00:00:00Z\n",
       "t.csv:1: the header has no consumption, generation or allocated column"},
      {"start,consumption_kwh\n2025-06-01T00:00:00Z,1\n", "t.csv:1: the header has no metering_point"},
      {"metering_point,start,consumption_kwh,consumption_wh\nP1,2025-06-01T00:00:00Z,1,1000\n",
       "t.csv:1: header: column 'consumption_wh' says what an earlier column says"},
      {"metering_point,start,consumption_kwh\n", "t.csv: no values after the header"},
      {"\n\n", "t.csv: empty file"},
      {"metering_point,start,consumption_wh\nP1,2025-06-01T00:00:00Z,1.5\n",
       "t.csv:2: consumption_wh '1.5' is not a whole number of Wh"},
  };
  for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
    pg_dso_file f;
    pg_diag d = {{0}};
    assert_int_not_equal(parse_text(heads[i].text, &f, &d), PG_OK);
    if (!strstr(d.msg, heads[i].want)) fail_msg("header %zu: '%s' lacks '%s'", i, d.msg, heads[i].want);
    assert_null(f.rows);
  }
}

static void test_duplicates(void **state) {
  (void)state;
  pg_dso_file f;
  pg_diag d = {{0}};
  /* the same instant written with two offsets is one period */
  assert_int_equal(parse_text("metering_point,start,consumption_kwh\n"
                              "P1,2025-06-01T00:00:00Z,1\n"
                              "P2,2025-06-01T00:00:00Z,1\n"
                              "P1,2025-06-01T00:15:00Z,1\n"
                              "P1,2025-06-01T02:00:00+02:00,1\n",
                              &f, &d),
                   PG_ERR_INVALID);
  assert_string_equal(d.msg, "t.csv:5: metering point P1, period 2025-06-01T00:00:00Z is given "
                             "twice (also line 2)");
}

static void test_import_idempotent_and_conflict(void **state) {
  (void)state;
  write_file("a.csv", good);
  sqlite3 *db = fresh_db("i.db");
  pg_dso_import_result r;
  pg_diag d = {{0}};
  assert_int_equal(import(db, false, &r, &d, 1, "a.csv"), PG_OK);
  assert_int_equal(r.rows, 4);
  assert_int_equal(r.added, 4);
  assert_int_equal(r.n_gaps, 0);
  pg_dso_import_result_free(&r);
  assert_int_equal(import(db, false, &r, &d, 1, "a.csv"), PG_OK);
  assert_int_equal(r.added, 0);
  assert_int_equal(r.unchanged, 4);
  pg_dso_import_result_free(&r);
  /* a value for a period not reported before fills in */
  write_file("fill.csv", "metering_point,start,allocated_kwh\n"
                         "AT0010000000000000001000000000001,2025-05-31T22:15:00Z,0.5\n");
  assert_int_equal(import(db, false, &r, &d, 1, "fill.csv"), PG_OK);
  assert_int_equal(r.added, 1);
  pg_dso_import_result_free(&r);
  int64_t v = 0;
  assert_int_equal(pg_db_i64(db, "SELECT allocated_wh FROM dso_values WHERE start_ms = ?1",
                             T0 + 900000, -1, &v, &d),
                   PG_OK);
  assert_int_equal(v, 500);
  /* a conflicting value: an error naming both files and lines; nothing changes */
  write_file("b.csv", "metering_point,start,consumption_kwh\n"
                      "P9,2025-05-31T22:15:00Z,3\n"
                      "AT0010000000000000001000000000001,2025-05-31T22:15:00Z,1234.568\n");
  assert_int_equal(import(db, false, &r, &d, 1, "b.csv"), PG_ERR_EXISTS);
  assert_non_null(strstr(d.msg, "b.csv:3: consumption 1234.568 kWh of "
                                "AT0010000000000000001000000000001 at 2025-05-31T22:15:00Z "
                                "conflicts with 1234.567 kWh imported from "));
  assert_non_null(strstr(d.msg, "a.csv:5"));
  assert_int_equal(count_rows(db), 4);
  sqlite3_close(db);
}

static void test_gaps(void **state) {
  (void)state;
  write_file("g.csv", "metering_point,start,consumption_kwh\n"
                      "P1,2025-06-01T00:00:00Z,1\n"
                      "P1,2025-06-01T00:15:00Z,1\n"
                      "P1,2025-06-01T01:00:00Z,1\n" /* 00:30 and 00:45 missing */
                      "P1,2025-06-01T01:30:00Z,1\n" /* 01:15 missing */
                      "P2,2025-06-01T00:00:00Z,1\n"
                      "P2,2025-06-01T00:15:00Z,1\n");
  sqlite3 *db = fresh_db("g.db");
  pg_dso_import_result r;
  pg_diag d = {{0}};
  assert_int_equal(import(db, false, &r, &d, 1, "g.csv"), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "g.csv:4: metering point P1 misses 2 quarter hours from "
                                "2025-06-01T00:30:00Z to 2025-06-01T01:00:00Z (the quarter hour "
                                "before is "));
  assert_non_null(strstr(d.msg, "g.csv:3); 2 gaps in all"));
  assert_int_equal(count_rows(db), 0);
  assert_int_equal(import(db, true, &r, &d, 1, "g.csv"), PG_OK);
  assert_int_equal(r.n_gaps, 2);
  assert_string_equal(r.gaps[0].point, "P1");
  assert_int_equal(r.gaps[0].from_ms, T0 + 2 * 3600000 + 30 * 60000);
  assert_int_equal(r.gaps[0].to_ms - r.gaps[0].from_ms, 2 * PG_DSO_PERIOD_MS);
  assert_int_equal(r.gaps[1].to_ms - r.gaps[1].from_ms, PG_DSO_PERIOD_MS);
  pg_dso_import_result_free(&r);
  assert_int_equal(count_rows(db), 6);
  pg_dso_point_info *pi;
  size_t n;
  assert_int_equal(pg_dso_points(db, NULL, &pi, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(pi[0].periods, 4);
  assert_int_equal(pi[0].missing, 3);
  assert_int_equal(pi[1].missing, 0);
  free(pi);
  /* filling the gap later: the next import finds none */
  write_file("g2.csv", "metering_point,start,consumption_kwh\n"
                       "P1,2025-06-01T00:30:00Z,1\nP1,2025-06-01T00:45:00Z,1\n"
                       "P1,2025-06-01T01:15:00Z,1\n");
  assert_int_equal(import(db, false, &r, &d, 1, "g2.csv"), PG_OK);
  assert_int_equal(r.n_gaps, 0);
  pg_dso_import_result_free(&r);
  pg_dso_gap *g;
  assert_int_equal(pg_dso_gaps(db, NULL, &g, &n, &d), PG_OK);
  assert_int_equal(n, 0);
  free(g);
  sqlite3_close(db);
}

/* A local day of Europe/Vienna written with the offset of each period. */
static void dst_day(const char *name, int64_t from_utc, int64_t to_utc, int64_t switch_utc,
                    int off_before, int off_after) {
  size_t cap = 16384, len = 0;
  char *t = malloc(cap);
  assert_non_null(t);
  len += (size_t)snprintf(t, cap, "metering_point;start;consumption_kwh\n");
  int k = 0;
  for (int64_t u = from_utc; u < to_utc; u += PG_DSO_PERIOD_MS, k++) {
    int off = u < switch_utc ? off_before : off_after;
    char iso[32];
    pg_iso8601_utc(u + off * 60000LL, iso, sizeof iso);
    iso[19] = 0;
    len += (size_t)snprintf(t + len, cap - len, "AT1;%s+%02d:00;0,%03d\n", iso, off / 60, k + 1);
    assert_true(len < cap);
  }
  write_file(name, t);
  free(t);
}

static void test_dst_days(void **state) {
  (void)state;
  /* 2025-03-30: 00:00+01:00 (= 03-29T23:00Z) .. 24:00+02:00 (= 03-30T22:00Z), switch at 01:00Z */
  int64_t spring0 = pg_days_from_civil(2025, 3, 30) * 86400000LL - 3600000;
  int64_t spring1 = pg_days_from_civil(2025, 3, 30) * 86400000LL + 22 * 3600000LL;
  dst_day("spring.csv", spring0, spring1, spring0 + 2 * 3600000LL, 60, 120);
  /* 2025-10-26: 00:00+02:00 (= 10-25T22:00Z) .. 24:00+01:00 (= 10-26T23:00Z), switch at 01:00Z */
  int64_t autumn0 = pg_days_from_civil(2025, 10, 26) * 86400000LL - 2 * 3600000LL;
  int64_t autumn1 = pg_days_from_civil(2025, 10, 26) * 86400000LL + 23 * 3600000LL;
  dst_day("autumn.csv", autumn0, autumn1, autumn0 + 3 * 3600000LL, 120, 60);
  pg_dso_file f;
  pg_diag d = {{0}};
  char p[512];
  path_of("spring.csv", p, sizeof p);
  assert_int_equal(pg_dso_load_csv(p, &f, &d), PG_OK);
  assert_int_equal(f.n, 92);
  pg_dso_file_free(&f);
  path_of("autumn.csv", p, sizeof p);
  assert_int_equal(pg_dso_load_csv(p, &f, &d), PG_OK);
  assert_int_equal(f.n, 100);
  /* 02:00+02:00, 02:15+02:00 ... then 02:00+01:00: instants an hour apart */
  assert_int_equal(f.rows[8].start_ms, autumn0 + 2 * 3600000LL);
  assert_int_equal(f.rows[12].start_ms, autumn0 + 3 * 3600000LL);
  pg_dso_file_free(&f);

  /* each day alone: no gap across the clock change */
  sqlite3 *db = fresh_db("spring.db");
  pg_dso_import_result r;
  assert_int_equal(import(db, false, &r, &d, 1, "spring.csv"), PG_OK);
  assert_int_equal(r.added, 92);
  pg_dso_import_result_free(&r);
  sqlite3_close(db);
  db = fresh_db("dst.db");
  assert_int_equal(import(db, false, &r, &d, 1, "autumn.csv"), PG_OK);
  assert_int_equal(r.added, 100);
  pg_dso_import_result_free(&r);
  /* both: the months between them are one gap */
  assert_int_equal(import(db, false, &r, &d, 1, "spring.csv"), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "autumn.csv:2: metering point AT1 misses "));
  assert_non_null(strstr(d.msg, "spring.csv:93); 1 gap in all"));
  assert_int_equal(count_rows(db), 100);
  assert_int_equal(import(db, true, &r, &d, 1, "spring.csv"), PG_OK);
  assert_int_equal(r.n_gaps, 1);
  assert_int_equal(r.gaps[0].from_ms, spring1);
  assert_int_equal(r.gaps[0].to_ms, autumn0);
  pg_dso_import_result_free(&r);
  pg_dso_series s;
  assert_int_equal(pg_dso_series_load(db, "AT1", PG_DSO_CONSUMPTION, &s, &d), PG_OK);
  int64_t wh = 0;
  assert_int_equal(pg_dso_series_sum(&s, spring0, spring1, &wh, NULL), PG_OK);
  assert_int_equal(wh, 92 * 93 / 2);
  assert_int_equal(pg_dso_series_sum(&s, autumn0, autumn1, &wh, NULL), PG_OK);
  assert_int_equal(wh, 100 * 101 / 2);
  int64_t missing = 0;
  assert_int_equal(pg_dso_series_sum(&s, spring0, autumn1, &wh, &missing), PG_ERR_NOT_FOUND);
  assert_int_equal(missing, spring1);
  pg_dso_series_free(&s);
  sqlite3_close(db);
}

static void test_meter(void **state) {
  (void)state;
  write_file("m.csv", "metering_point,start,consumption_kwh,generation_kwh\n"
                      "P1,2025-06-01T00:00:00Z,0.1,1\n"
                      "P1,2025-06-01T00:15:00Z,0.2,\n"
                      "P1,2025-06-01T00:30:00Z,0.3,1\n"
                      "P1,2025-06-01T00:45:00Z,0.4,1\n"
                      "P1,2025-06-01T01:15:00Z,0.5,1\n");
  sqlite3 *db = fresh_db("meter.db");
  pg_dso_import_result r;
  pg_diag d = {{0}};
  assert_int_equal(import(db, true, &r, &d, 1, "m.csv"), PG_OK);
  pg_dso_import_result_free(&r);
  sqlite3_close(db);
  const int64_t t0 = T0 + 2 * 3600000; /* 2025-06-01T00:00:00Z */
  for (int src = 0; src < 2; src++) {
    char p[512];
    path_of(src ? "meter.db" : "m.csv", p, sizeof p);
    pg_meter *m = NULL;
    assert_int_equal(pg_meter_dso_new(p, "P1", PG_DSO_CONSUMPTION, &m, &d), PG_OK);
    assert_string_equal(pg_meter_kind(m), "dso");
    int64_t wh = 0;
    assert_int_equal(pg_meter_energy(m, t0, t0 + 3600000, &wh, &d), PG_OK);
    assert_int_equal(wh, 1000);
    assert_int_equal(pg_meter_energy(m, t0 + 900000, t0 + 1800000, &wh, &d), PG_OK);
    assert_int_equal(wh, 200);
    /* 01:00 is missing: a missing reading */
    assert_int_equal(pg_meter_energy(m, t0 + 3600000, t0 + 7200000, &wh, &d), PG_ERR_UNAVAILABLE);
    assert_non_null(strstr(d.msg, "no consumption value for the quarter hour at 2025-06-01T01:00:00Z"));
    assert_int_equal(pg_meter_energy(m, t0 + 60000, t0 + 960000, &wh, &d), PG_ERR_INVALID);
    pg_meter_free(m);
    assert_int_equal(pg_meter_dso_new(p, "P1", PG_DSO_GENERATION, &m, &d), PG_OK);
    /* generation not reported at 00:15 */
    assert_int_equal(pg_meter_energy(m, t0, t0 + 3600000, &wh, &d), PG_ERR_UNAVAILABLE);
    assert_int_equal(pg_meter_energy(m, t0 + 1800000, t0 + 3600000, &wh, &d), PG_OK);
    assert_int_equal(wh, 2000);
    pg_meter_free(m);
    assert_int_equal(pg_meter_dso_new(p, "P7", PG_DSO_CONSUMPTION, &m, &d), PG_ERR_NOT_FOUND);
  }
}

/* An entity's [meter] kind = dso: made by pg_meter_from_config; bad keys
 * are configuration errors naming the section and key. */
static void test_meter_config(void **state) {
  (void)state;
  write_file("mc.csv", "metering_point,start,generation_wh\nPV1,2025-06-01T00:00:00Z,42\n");
  char p[512], text[1024];
  path_of("mc.csv", p, sizeof p);
  static const struct {
    const char *keys, *want;
  } cases[] = {
      {"point = PV1\nquantity = generation\n", NULL},
      {"point = PV1\nquantity = power\n", "[meter] quantity: 'power' is not consumption"},
      {"point = PV2\nquantity = generation\n", "[meter] file: dso meter: "},
      {"quantity = generation\n", "point"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(text, sizeof text, "[meter]\nkind = dso\nfile = %s\n%s", p, cases[i].keys);
    pg_config *c = NULL;
    pg_diag d = {{0}};
    assert_int_equal(pg_config_new(&c), PG_OK);
    assert_int_equal(pg_config_load_string(c, "e.ini", text, strlen(text), &d), PG_OK);
    pg_meter *m = NULL;
    int rc = pg_meter_from_config(c, "meter", 1, &m, &d);
    if (!cases[i].want) {
      assert_int_equal(rc, PG_OK);
      int64_t wh = 0;
      assert_int_equal(pg_meter_energy(m, 1748736000000ULL, 1748736900000ULL, &wh, &d), PG_OK);
      assert_int_equal(wh, 42);
    } else {
      assert_int_equal(rc, PG_ERR_CONFIG);
      if (!strstr(d.msg, cases[i].want)) fail_msg("case %zu: '%s' lacks '%s'", i, d.msg, cases[i].want);
    }
    pg_meter_free(m);
    pg_config_free(c);
  }
}

static void test_map(void **state) {
  (void)state;
  pg_dso_member *m;
  size_t n;
  pg_diag d = {{0}};
  const char *t = "member;metering_point;quantity\nh1;AT1;\npv;AT2;generation\n";
  assert_int_equal(pg_dso_map_parse(t, strlen(t), "map.csv", &m, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_string_equal(m[0].id, "h1");
  assert_int_equal(m[0].q, PG_DSO_CONSUMPTION);
  assert_string_equal(m[1].point, "AT2");
  assert_int_equal(m[1].q, PG_DSO_GENERATION);
  free(m);
  static const struct {
    const char *text, *want;
  } bad[] = {
      {"member,point\nh1,AT1\n", "map.csv:1: the header must be"},
      {"member,metering_point\nh1,AT1\nh1,AT2\n", "map.csv:3: member h1 is mapped twice"},
      {"member,metering_point,quantity\nh1,AT1,power\n", "map.csv:2: quantity 'power' is not"},
      {"member,metering_point\nh 1,AT1\n", "map.csv:2: member 'h 1' is not"},
      {"member,metering_point\nh1\n", "map.csv:2: 1 fields, the header has 2"},
      {"member,metering_point\n", "map.csv: no members"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_not_equal(pg_dso_map_parse(bad[i].text, strlen(bad[i].text), "map.csv", &m, &n, &d), PG_OK);
    if (!strstr(d.msg, bad[i].want)) fail_msg("map %zu: '%s' lacks '%s'", i, d.msg, bad[i].want);
    assert_null(m);
  }
  pg_dso_member e;
  assert_int_equal(pg_dso_map_entry("h1=AT1:allocated", &e, &d), PG_OK);
  assert_int_equal(e.q, PG_DSO_ALLOCATED);
  assert_int_equal(pg_dso_map_entry("h1=AT1", &e, &d), PG_OK);
  assert_int_equal(e.q, PG_DSO_CONSUMPTION);
  assert_int_equal(pg_dso_map_entry("h1", &e, &d), PG_ERR_INVALID);
  assert_int_equal(pg_dso_map_entry("h1=AT1:", &e, &d), PG_ERR_INVALID);
  assert_int_equal(pg_dso_map_entry("=AT1", &e, &d), PG_ERR_INVALID);
}

/* Hour slots over quarter-hour values: equal, a difference within and one
 * beyond the tolerance, a slot missing on each side. */
static void test_reconcile(void **state) {
  (void)state;
  write_file("r.csv", "metering_point,start,consumption_kwh,generation_kwh\n"
                      "AT1,2025-06-01T00:00:00Z,0.1,0\nAT1,2025-06-01T00:15:00Z,0.1,0\n"
                      "AT1,2025-06-01T00:30:00Z,0.1,0\nAT1,2025-06-01T00:45:00Z,0.1,0\n"
                      "AT1,2025-06-01T01:00:00Z,0.2,0\nAT1,2025-06-01T01:15:00Z,0.2,0\n"
                      "AT1,2025-06-01T01:30:00Z,0.2,0\nAT1,2025-06-01T01:45:00Z,0.2,0\n"
                      "AT1,2025-06-01T02:00:00Z,0.3,0\n" /* 02:15.. missing: hour 2 unknown */
                      "AT1,2025-06-01T03:00:00Z,0.1,0\nAT1,2025-06-01T03:15:00Z,0.1,0\n"
                      "AT1,2025-06-01T03:30:00Z,0.1,0\nAT1,2025-06-01T03:45:00Z,0.1,0\n"
                      "AT2,2025-06-01T00:00:00Z,0,1\nAT2,2025-06-01T00:15:00Z,0,1\n"
                      "AT2,2025-06-01T00:30:00Z,0,1\nAT2,2025-06-01T00:45:00Z,0,1\n");
  sqlite3 *db = fresh_db("r.db");
  pg_dso_import_result ir;
  pg_diag d = {{0}};
  assert_int_equal(import(db, true, &ir, &d, 1, "r.csv"), PG_OK);
  pg_dso_import_result_free(&ir);
  const int64_t h = T0 / 3600000 + 2; /* the hour slot of 2025-06-01T00:00Z */
  pg_dso_ours ours[] = {
      {"h1", h + 3, 400},  /* equal */
      {"h1", h + 2, 1200}, /* grid operator: missing */
      {"h1", h, 400},      /* equal */
      {"h1", h + 1, 803},  /* +3: within 5 */
      {"pv", h, 3990},     /* -10: beyond */
      {"other", h + 4, 1}, /* not mapped; widens the range: h1 and pv miss hour 4 */
  };
  pg_dso_member map[2];
  assert_int_equal(pg_dso_map_entry("h1=AT1", &map[0], &d), PG_OK);
  assert_int_equal(pg_dso_map_entry("pv=AT2:generation", &map[1], &d), PG_OK);
  pg_buf csv;
  pg_buf_init(&csv, 1 << 20);
  pg_dso_reconcile_result r;
  assert_int_equal(pg_dso_reconcile(db, map, 2, 3600000, ours, 6, 5, &csv, &r, &d), PG_OK);
  assert_int_equal(r.members, 2);
  assert_int_equal(r.slots, 4);     /* h1: h, h+1, h+3; pv: h */
  assert_int_equal(r.differing, 2); /* h1 h+2 (missing), pv h (-10) */
  assert_int_equal(r.missing, 1);
  assert_int_equal(r.largest_wh, 10);
  assert_string_equal(r.largest_member, "pv");
  assert_int_equal(r.largest_slot, h);
  pg_buf_put_u8(&csv, 0);
  char want[600];
  snprintf(want, sizeof want,
           "member,metering_point,quantity,slot,start,dso_wh,our_wh,diff_wh,beyond_tolerance\n"
           "h1,AT1,consumption,%lld,2025-06-01T01:00:00Z,800,803,3,0\n"
           "h1,AT1,consumption,%lld,2025-06-01T02:00:00Z,,1200,,1\n"
           "pv,AT2,generation,%lld,2025-06-01T00:00:00Z,4000,3990,-10,1\n",
           (long long)h + 1, (long long)h + 2, (long long)h);
  assert_string_equal((const char *)csv.data, want);
  pg_buf_free(&csv);
  pg_buf_init(&csv, 1 << 20);
  assert_int_equal(pg_dso_reconcile(db, map, 2, 600000, ours, 6, 0, &csv, &r, &d), PG_ERR_INVALID);
  pg_buf_free(&csv);
  sqlite3_close(db);
}

static void test_iso8601(void **state) {
  (void)state;
  int64_t ms;
  int32_t off;
  const char *s = "2025-03-30T03:00:00.250+02:00";
  assert_int_equal(pg_iso8601_parse(s, strlen(s), &ms, &off), PG_OK);
  assert_int_equal(off, 120);
  assert_int_equal(ms, (pg_days_from_civil(2025, 3, 30) * 24 + 1) * 3600000LL + 250);
  s = "2024-02-29T23:45:00-03:30";
  assert_int_equal(pg_iso8601_parse(s, strlen(s), &ms, &off), PG_OK);
  assert_int_equal(off, -210);
  static const char *const bad[] = {"2023-02-29T00:00:00Z", "2025-01-01T24:00:00Z",
                                    "2025-01-01T00:00:00+19:00", "2025-01-01T00:00:00+01",
                                    "2025-01-01T00:00:00.Z", "2025-01-01T00:00:00Zx",
                                    "2025-1-01T00:00:00Z", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pg_iso8601_parse(bad[i], strlen(bad[i]), &ms, &off), PG_ERR_INVALID);
  char buf[32];
  pg_iso8601_utc(-1, buf, sizeof buf);
  assert_string_equal(buf, "1969-12-31T23:59:59Z");
}

static int setup(void **state) {
  (void)state;
  root = tu_mktmp("test_dso");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(root);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_file),
      cmocka_unit_test(test_decimal_comma),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_import_idempotent_and_conflict),
      cmocka_unit_test(test_gaps),
      cmocka_unit_test(test_dst_days),
      cmocka_unit_test(test_meter),
      cmocka_unit_test(test_meter_config),
      cmocka_unit_test(test_map),
      cmocka_unit_test(test_reconcile),
      cmocka_unit_test(test_iso8601),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
