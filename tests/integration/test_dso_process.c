/* test_dso_process.c — the grid operator's values end to end with the real
 * binary, on the autumn clock change (2025-10-26 in Vienna: 100 quarter
 * hours, 02:00-03:00 local twice):
 *   - `p2pgrid dso import` of a malformed file together with a good one
 *     names the file and line and stores nothing; the good file imports,
 *     again changes nothing, and an altered copy is refused as a conflict
 *     naming both files;
 *   - a market-only simulation settles two households and a producer from
 *     `kind = dso` meters to the Wh of the file;
 *   - `p2pgrid dso reconcile` of the file against that run agrees (exit 0);
 *     against a run settled from the altered file (one value changed in
 *     each 02:15 of the repeated hour) it reports exactly those two slots
 *     (exit 1); and against the grid database of a full-mode run from the
 *     altered file, the same two slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

#define N_PERIODS 100
#define ALT_H1 9  /* 02:15+02:00 = 00:15Z: h1 consumption + 7 Wh */
#define ALT_PV 13 /* 02:15+01:00 = 01:15Z: pv generation - 25 Wh */
/* 2025-10-26T00:00+02:00 = 2025-10-25T22:00Z */
#define DAY0_MS 1761429600000LL

static char g_day[300], g_alt[300], g_db1[300], g_db2[300], g_map[300];

static int64_t h1_wh(int k) { return 100 + 3 * k + (k % 7) * 11; }
static int64_t h2_wh(int k) { return 80 + (k * 37) % 150; }
static int64_t pv_wh(int k) { return 60 + (k * 53) % 400; }

/* ';' and decimal comma, each period with its own offset, as EDA exports. */
static void write_day(const char *path, bool altered) {
  size_t cap = 32768, len = 0;
  char *t = malloc(cap);
  assert_non_null(t);
  len += (size_t)snprintf(t, cap, "metering_point;start;consumption_kwh;generation_kwh;allocated_kwh\n");
  for (int k = 0; k < N_PERIODS; k++) {
    int64_t u = DAY0_MS + k * 900000LL;
    int off = u < DAY0_MS + 3 * 3600000LL ? 2 : 1; /* back to +01:00 at 01:00Z */
    int64_t local_min = (u / 60000 + off * 60) % 1440;
    int64_t h1 = h1_wh(k) + (altered && k == ALT_H1 ? 7 : 0);
    int64_t pv = pv_wh(k) - (altered && k == ALT_PV ? 25 : 0);
    char when[40];
    snprintf(when, sizeof when, "2025-10-26T%02lld:%02lld:00+0%d:00", (long long)(local_min / 60),
             (long long)(local_min % 60), off);
    len += (size_t)snprintf(t + len, cap - len,
                            "AT0010000000000000001000000000001;%s;0,%03lld;0;\n"
                            "AT0010000000000000001000000000002;%s;0,%03lld;0;\n"
                            "AT0010000000000000001000000000003;%s;0;0,%03lld;\n",
                            when, (long long)h1, when, (long long)h2_wh(k), when, (long long)pv);
    assert_true(len < cap);
  }
  write_file(path, t);
  free(t);
}

static int64_t db_count(const char *path) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM dso_values", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void expect_in(const char *path, const char *needle) {
  char *s = slurp(path, NULL);
  if (!s || !strstr(s, needle)) fail_msg("%s does not say '%s': %s", path, needle, s ? s : "");
  free(s);
}

static int dso(const char *tag, const char *const *args) {
  const char *argv[24] = {P2PGRID_BIN, "dso"};
  size_t n = 2;
  while (*args && n < 23) argv[n++] = *args++;
  argv[n] = NULL;
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_root, tag);
  return run_status(argv, log);
}

static void log_of(const char *tag, char *out, size_t cap) { snprintf(out, cap, "%s/%s.log", g_root, tag); }

/* A scenario on the database db: h1, h2 (consumption), pv with one source. */
static void run_sim(const char *db, const char *mode, const char *start, const char *duration,
                    const char *out) {
  char ini[400], text[2048], log[400];
  snprintf(ini, sizeof ini, "%s.ini", out);
  snprintf(text, sizeof text,
           "[scenario]\nname = dso\nstart = %s\nduration = %s\nslot = 15m\nseed = 5\n"
           "[site]\nlat = 48.21\nlon = 16.37\ntz = Europe/Berlin\n"
           "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
           "fee_per_kwh = 5Mi\npayout_min = 1Mi\n"
           "[producer pv]\nask = 100Mi\n"
           "[source pv-roof]\nproducer = pv\nkind = dso\nfile = %s\n"
           "point = AT0010000000000000001000000000003\nquantity = generation\n"
           "[household h1]\nkind = dso\nfile = %s\npoint = AT0010000000000000001000000000001\n"
           "quantity = consumption\nbid = 250Mi\n"
           "[household h2]\nkind = dso\nfile = %s\npoint = AT0010000000000000001000000000002\n"
           "quantity = consumption\n",
           start, duration, db, db, db);
  write_file(ini, text);
  snprintf(log, sizeof log, "%s.log", out);
  const char *argv[] = {P2PGRID_BIN, "sim", ini, mode, "-q", "-o", out, NULL};
  run_ok(argv, log);
}

static int setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-dso-XXXXXX")) return -1;
  snprintf(g_day, sizeof g_day, "%s/day.csv", g_root);
  snprintf(g_alt, sizeof g_alt, "%s/altered.csv", g_root);
  snprintf(g_db1, sizeof g_db1, "%s/dso.db", g_root);
  snprintf(g_db2, sizeof g_db2, "%s/altered.db", g_root);
  snprintf(g_map, sizeof g_map, "%s/map.csv", g_root);
  write_day(g_day, false);
  write_day(g_alt, true);
  write_file(g_map, "member,metering_point,quantity\n"
                    "h1,AT0010000000000000001000000000001,consumption\n"
                    "h2,AT0010000000000000001000000000002,consumption\n"
                    "pv,AT0010000000000000001000000000003,generation\n");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

static void test_import(void **state) {
  (void)state;
  char bad[300], log[400];
  snprintf(bad, sizeof bad, "%s/bad.csv", g_root);
  write_file(bad, "metering_point,start,consumption_kwh\n"
                  "AT0010000000000000001000000000001,2025-10-27T00:00:00+01:00,0.5\n"
                  "AT0010000000000000001000000000001,2025-10-27T00:10:00+01:00,0.5\n");
  const char *a1[] = {"import", "--db", g_db1, g_day, bad, NULL};
  assert_int_equal(dso("import-bad", a1), 1);
  log_of("import-bad", log, sizeof log);
  expect_in(log, "bad.csv:3: start '2025-10-27T00:10:00+01:00' is not on the 15-minute grid");
  expect_in(log, "nothing imported");
  assert_int_equal(db_count(g_db1), 0);

  const char *a2[] = {"import", "--db", g_db1, g_day, NULL};
  assert_int_equal(dso("import", a2), 0);
  log_of("import", log, sizeof log);
  expect_in(log, "imported 1 file: 300 lines, 300 new quarter hours, 0 already there");
  assert_int_equal(dso("import-again", a2), 0);
  log_of("import-again", log, sizeof log);
  expect_in(log, "0 new quarter hours, 300 already there");

  const char *a3[] = {"import", "--db", g_db1, g_alt, NULL};
  assert_int_equal(dso("import-conflict", a3), 1);
  log_of("import-conflict", log, sizeof log);
  expect_in(log, "altered.csv:29: consumption 0.");
  expect_in(log, "at 2025-10-26T00:15:00Z conflicts with");
  expect_in(log, "day.csv:29");
  assert_int_equal(db_count(g_db1), 300);

  const char *a4[] = {"import", "--db", g_db2, g_alt, NULL};
  assert_int_equal(dso("import-altered", a4), 0);

  const char *a5[] = {"show", "--db", g_db1, NULL};
  assert_int_equal(dso("show", a5), 0);
  log_of("show", log, sizeof log);
  expect_in(log, " 100 2025-10-25T22:00:00Z 2025-10-26T22:45:00Z");
}

/* The per-slot lines of a reconcile report (the header left out). */
static char *report_lines(const char *path) {
  char *s = slurp(path, NULL);
  assert_non_null(s);
  char *nl = strchr(s, '\n');
  assert_non_null(nl);
  memmove(s, nl + 1, strlen(nl + 1) + 1);
  return s;
}

/* The report's lines for the two altered slots (15-minute slots). */
static void altered_report(char *want, size_t cap) {
  const int64_t s0 = DAY0_MS / 900000;
  snprintf(want, cap,
           "h1,AT0010000000000000001000000000001,consumption,%lld,2025-10-26T00:15:00Z,%lld,%lld,7,1\n"
           "pv,AT0010000000000000001000000000003,generation,%lld,2025-10-26T01:15:00Z,%lld,%lld,-25,1\n",
           (long long)(s0 + ALT_H1), (long long)h1_wh(ALT_H1), (long long)h1_wh(ALT_H1) + 7,
           (long long)(s0 + ALT_PV), (long long)pv_wh(ALT_PV), (long long)pv_wh(ALT_PV) - 25);
}

static void test_settle_and_reconcile(void **state) {
  (void)state;
  char out1[300], out2[300], rep[300], log[400], want[600];
  snprintf(out1, sizeof out1, "%s/sim-day", g_root);
  snprintf(out2, sizeof out2, "%s/sim-altered", g_root);
  run_sim(g_db1, "--market-only", "2025-10-25T22:00:00Z", "25h", out1);
  run_sim(g_db2, "--market-only", "2025-10-25T22:00:00Z", "25h", out2);

  /* settled from the file to the Wh */
  int64_t h1 = 0, pv = 0;
  for (int k = 0; k < N_PERIODS; k++) h1 += h1_wh(k), pv += pv_wh(k);
  char path[400], line[200];
  snprintf(path, sizeof path, "%s/participants.csv", out1);
  snprintf(line, sizeof line, "h1,h1,consumer,dso,%lld,", (long long)h1);
  expect_in(path, line);
  snprintf(line, sizeof line, "pv,pv,producer,dso,%lld,", (long long)pv);
  expect_in(path, line);

  snprintf(rep, sizeof rep, "%s/same.csv", g_root);
  const char *a1[] = {"reconcile", "--db", g_db1, "--sim-out", out1, "--map", g_map, "--out", rep, NULL};
  assert_int_equal(dso("reconcile-same", a1), 0);
  log_of("reconcile-same", log, sizeof log);
  expect_in(log, "members: 3\nslots compared: 300\ndiffering slots: 0");
  char *s = report_lines(rep);
  assert_string_equal(s, "");
  free(s);

  altered_report(want, sizeof want);
  snprintf(rep, sizeof rep, "%s/altered.csv.report", g_root);
  const char *a2[] = {"reconcile", "--db", g_db1, "--sim-out", out2, "--map", g_map, "--out", rep, NULL};
  assert_int_equal(dso("reconcile-altered", a2), 1);
  log_of("reconcile-altered", log, sizeof log);
  expect_in(log, "slots compared: 300\ndiffering slots: 2 (beyond 0 Wh; 0 with a value missing");
  expect_in(log, "largest difference: 25 Wh (pv,");
  s = report_lines(rep);
  assert_string_equal(s, want);
  free(s);

  /* within a tolerance of 25 Wh nothing is beyond it; the report still lists both */
  const char *a3[] = {"reconcile", "--db", g_db1, "--sim-out", out2, "--member",
                      "h1=AT0010000000000000001000000000001",
                      "--member", "pv=AT0010000000000000001000000000003:generation",
                      "--tolerance-wh", "25", "--out", rep, NULL};
  assert_int_equal(dso("reconcile-tolerance", a3), 0);
  s = report_lines(rep);
  assert_non_null(strstr(s, ",7,0\n"));
  assert_non_null(strstr(s, ",-25,0\n"));
  free(s);
}

/* Full mode: the grid daemon's readings come from the dso meters of the
 * altered file; reconciled against the original, the same two slots. */
static void test_grid_db(void **state) {
  (void)state;
  char out[300], grid_db[400], rep[300], log[400];
  snprintf(out, sizeof out, "%s/full-altered", g_root);
  run_sim(g_db2, "--full", "2025-10-25T23:30:00Z", "2h", out);
  snprintf(grid_db, sizeof grid_db, "%s/state/grid/grid.db", out);
  snprintf(rep, sizeof rep, "%s/grid.csv", g_root);
  const char *a[] = {"reconcile", "--db", g_db1, "--grid-db", grid_db, "--map", g_map, "--out", rep, NULL};
  assert_int_equal(dso("reconcile-grid", a), 1);
  log_of("reconcile-grid", log, sizeof log);
  expect_in(log, "members: 3\nslots compared: 24\ndiffering slots: 2");
  char *s = report_lines(rep);
  char want[600];
  altered_report(want, sizeof want);
  assert_string_equal(s, want);
  free(s);
}

static void test_usage(void **state) {
  (void)state;
  const char *a1[] = {"reconcile", "--db", g_db1, "--map", g_map, "--out", "x.csv", NULL};
  assert_int_equal(dso("usage-1", a1), 2);
  const char *a2[] = {"frobnicate", NULL};
  assert_int_equal(dso("usage-2", a2), 2);
  const char *a3[] = {"import", "--help", NULL};
  assert_int_equal(dso("usage-3", a3), 0);
  char log[400];
  log_of("usage-3", log, sizeof log);
  expect_in(log, "usage: p2pgrid dso import --db FILE [--allow-gaps] CSV...");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_import),
      cmocka_unit_test(test_settle_and_reconcile),
      cmocka_unit_test(test_grid_db),
      cmocka_unit_test(test_usage),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
