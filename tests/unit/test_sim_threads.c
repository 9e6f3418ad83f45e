/* Market-only on any number of threads and in any chunking of the slots
 * gives byte-identical outputs: households (DST change inside the run, a
 * start that is not a UTC midnight, 10-minute slots), solar and wind
 * sources, a csv-free mix. Compares every output file but the wall time. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/sim/sim_internal.h"
#include "p2pgrid/base/config.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/sim/sim.h"
#include "test_util_tmpdir.h"

static const char *SCEN =
    "[scenario]\nname = threads\nstart = 2025-10-24 07:00\nduration = 4d\nslot = 10m\nseed = 5\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "fee_per_kwh = 5Mi\nfee_bp = 100\n"
    "[producers]\ncount = 6\nsources_per_producer = 3\nsolar_share = 0.6\n"
    "kwp_min = 10\nkwp_max = 60\nwind_kw_min = 10\nwind_kw_max = 50\n"
    "[households]\ncount = 70\n";

/* Full mode: a small community, two hours. */
static const char *FULL =
    "[scenario]\nname = full-threads\nstart = 2025-06-21T09:00:00Z\nduration = 2h\nslot = 15m\n"
    "seed = 11\nmode = full\n"
    "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
    "fee_per_kwh = 5Mi\nfee_bp = 100\n"
    "[producers]\ncount = 2\nsources_per_producer = 2\nsolar_share = 0.5\nkwp_min = 2\n"
    "kwp_max = 6\nask_share = 0.5\n"
    "[households]\ncount = 9\nannual_kwh_min = 2500\nannual_kwh_max = 5000\nbid_share = 0.5\n";

static char *run_text(const char *text, pg_sim_mode mode, size_t threads, size_t chunk_entries,
                      pg_sim_result *r) {
  pg_config *c = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_config_new(&c), PG_OK);
  if (pg_config_load_string(c, "threads.ini", text, strlen(text), &d)) fail_msg("%s", d.msg);
  pg_scenario s;
  if (pg_scenario_from_config(c, &s, &d)) fail_msg("%s", d.msg);
  char *dir = tu_mktmp("pg_sim_threads");
  pg_sim_opts o = {.mode = mode, .out_dir = dir, .write_files = true, .threads = threads};
  size_t keep = pg_sim_chunk_entries;
  pg_sim_chunk_entries = chunk_entries;
  int rc = pg_sim_run(&s, &o, r, &d);
  pg_sim_chunk_entries = keep;
  if (rc) fail_msg("%s", d.msg);
  pg_scenario_free(&s);
  pg_config_free(c);
  return dir;
}

static char *run(size_t threads, size_t chunk_entries, pg_sim_result *r) {
  return run_text(SCEN, PG_SIM_MARKET_ONLY, threads, chunk_entries, r);
}

/* the file without the run's wall time ("wallMs": N) */
static char *load(const char *dir, const char *name, size_t *len) {
  char p[700];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  uint8_t *data = NULL;
  pg_diag d = {{0}};
  if (pg_read_file_capped(p, 64u << 20, &data, len, &d)) fail_msg("%s", d.msg);
  char *t = (char *)data, *w = strstr(t, "\"wallMs\"");
  if (w) {
    char *e = w + 8;
    while (*e == ':' || *e == ' ' || (*e >= '0' && *e <= '9')) e++;
    memmove(w, e, *len - (size_t)(e - t) + 1);
    *len -= (size_t)(e - w);
  }
  return t;
}

static void same_dirs(const char *a, const char *b) {
  DIR *dd = opendir(a);
  assert_non_null(dd);
  struct dirent *de;
  int files = 0;
  while ((de = readdir(dd))) {
    if (de->d_name[0] == '.' || strcmp(de->d_name, "report.html") == 0) continue;
    size_t la, lb;
    char *x = load(a, de->d_name, &la), *y = load(b, de->d_name, &lb);
    if (la != lb || memcmp(x, y, la) != 0) fail_msg("%s differs between %s and %s", de->d_name, a, b);
    free(x);
    free(y);
    files++;
  }
  closedir(dd);
  assert_true(files >= 5); /* slots, participants, party_slots, balances, summary */
}

static void test_threads_identical(void **st) {
  (void)st;
  pg_sim_result r1, r3, rc;
  char *d1 = run(1, 8000000, &r1);
  char *d3 = run(3, 8000000, &r3);
  /* 77 meters: 1,000 energies a chunk is 12 slots, many chunk boundaries */
  char *dc = run(2, 1000, &rc);
  assert_int_equal(r1.n_slots, 4 * 144);
  assert_true(r1.total.supply_wh > 0 && r1.total.demand_wh > 0);
  assert_memory_equal(r1.slots, r3.slots, r1.n_slots * sizeof *r1.slots);
  assert_memory_equal(r1.parties, r3.parties, r1.n_parties * sizeof *r1.parties);
  assert_memory_equal(r1.slots, rc.slots, r1.n_slots * sizeof *r1.slots);
  assert_memory_equal(r1.parties, rc.parties, r1.n_parties * sizeof *r1.parties);
  same_dirs(d1, d3);
  same_dirs(d1, dc);
  pg_sim_result_free(&r1);
  pg_sim_result_free(&r3);
  pg_sim_result_free(&rc);
  tu_rmrf(d1);
  tu_rmrf(d3);
  tu_rmrf(dc);
}

/* Full mode with the households stepped on three threads settles, bills
 * and pays exactly as on one: the same slots, parties, payments and
 * messages (the run's transfers and message ids differ: the Tangle's order
 * of submits is not fixed). */
/* What the node's clock stamped in a full run (its state under dir): every
 * milestone's index and timestamp, and how many messages arrived at each
 * time. With more than one thread a round's milestone is issued beside the
 * next round's sources (full.c ms_begin): the same only while the node keeps
 * the milestone's round's time and nothing else writes until it is done. */
static char *node_times(const char *dir) {
  char path[700];
  snprintf(path, sizeof path, "%s/state/node/tangle.db", dir);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    fail_msg("%s: %s", path, sqlite3_errmsg(db));
  sqlite3_stmt *st = NULL;
  const char *sql = "SELECT group_concat(x, ' ') FROM ("
                    " SELECT 'm' || ms_index || '@' || timestamp AS x FROM milestones"
                    " UNION ALL SELECT 'a' || arrival_ms || 'x' || count(*) FROM messages"
                    " GROUP BY arrival_ms ORDER BY 1)";
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
    fail_msg("%s: %s", path, sqlite3_errmsg(db));
  const char *t = (const char *)sqlite3_column_text(st, 0);
  char *out = strdup(t ? t : "");
  sqlite3_finalize(st);
  sqlite3_close(db);
  assert_true(strlen(out) > 100);
  return out;
}

static void test_full_threads_identical(void **st) {
  (void)st;
  pg_sim_result r1, r3;
  char *d1 = run_text(FULL, PG_SIM_FULL, 1, 8000000, &r1);
  char *d3 = run_text(FULL, PG_SIM_FULL, 3, 8000000, &r3);
  assert_int_equal(r1.n_slots, 8);
  assert_true(r1.total.supply_wh > 0 && r1.total.demand_wh > 0 && r1.total.billed > 0);
  assert_int_equal(r1.n_slots, r3.n_slots);
  assert_memory_equal(r1.slots, r3.slots, r1.n_slots * sizeof *r1.slots);
  assert_int_equal(r1.n_parties, r3.n_parties);
  assert_memory_equal(r1.parties, r3.parties, r1.n_parties * sizeof *r1.parties);
  assert_memory_equal(&r1.total, &r3.total, sizeof r1.total);
  assert_int_equal(r1.paid, r3.paid);
  assert_int_equal(r1.paid, r1.total.billed);
  assert_int_equal(r1.outstanding, 0);
  assert_int_equal(r3.outstanding, 0);
  assert_int_equal(r1.messages, r3.messages);
  assert_int_equal(r1.supply_before, r3.supply_after);
  char *t1 = node_times(d1), *t3 = node_times(d3);
  assert_string_equal(t1, t3);
  free(t1);
  free(t3);
  const char *same[] = {"slots.csv", "participants.csv"};
  for (size_t i = 0; i < 2; i++) {
    size_t la, lb;
    char *x = load(d1, same[i], &la), *y = load(d3, same[i], &lb);
    if (la != lb || memcmp(x, y, la) != 0) fail_msg("%s differs between 1 and 3 threads", same[i]);
    free(x);
    free(y);
  }
  pg_sim_result_free(&r1);
  pg_sim_result_free(&r3);
  tu_rmrf(d1);
  tu_rmrf(d3);
}

static void test_threads_option(void **st) {
  (void)st;
  pg_sim_opts o = {.threads = 5};
  assert_int_equal(pg_sim_threads(&o, 10), 5);
  o.threads = 100000;
  assert_int_equal(pg_sim_threads(&o, 10), PG_SIM_THREADS_MAX);
  o.threads = 0;
  assert_int_equal(pg_sim_threads(&o, 10), 1); /* small runs: one */
  assert_true(pg_sim_threads(&o, 1000) >= 1);
}

int main(void) {
  pg_log_set_level(PG_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_identical),
      cmocka_unit_test(test_full_threads_identical),
      cmocka_unit_test(test_threads_option),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
