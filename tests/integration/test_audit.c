/* test_audit.c — `p2pgrid audit` end to end: a full-mode simulation (real
 * entities on an in-process Tangle), the grid's audit export
 * (`p2pgrid grid audit-export`), then the audit against the simulation's
 * node data directory:
 *   - the clean run agrees (exit 0), and over HTTP (the run's node
 *     directory served by `p2pgrid node --config node.ini`, batched
 *     lookups) gives the very same result;
 *   - the same run with one reading, one bill, one payout and one price
 *     altered in (a copy of) the grid's database is reported at exactly
 *     those four slots and nowhere else (exit 1);
 *   - a consumer's member audit (`p2pgrid consumer audit-keys`) agrees and
 *     names nobody but itself, over HTTP as in-process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "harness.h"

static char g_out[300], g_state[400], g_export[400];

/* Two hours of a small community around noon: 2 producers, 3 households. */
static int setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-audit-XXXXXX")) return -1;
  char ini[300], log[300];
  snprintf(ini, sizeof ini, "%s/scenario.ini", g_root);
  write_file(ini, "[scenario]\nname = audit\nstart = 2025-06-21T10:00:00Z\nduration = 2h\n"
                  "slot = 15m\nseed = 7\nmode = full\n"
                  "[site]\nlat = 52.52\nlon = 13.40\ntz = Europe/Berlin\n"
                  "[market]\nmechanism = pay-as-clear\nimport_price = 300Mi\nexport_price = 80Mi\n"
                  "fee_per_kwh = 5Mi\nfee_bp = 100\npayout_min = 1Mi\n"
                  "[producers]\ncount = 2\nsources_per_producer = 2\nsolar_share = 0.67\n"
                  "kwp_min = 3\nkwp_max = 8\nwind_kw_min = 2\nwind_kw_max = 5\nwind_speed = 6\n"
                  "ask_share = 0.67\nask_min = 90Mi\nask_max = 160Mi\n"
                  "[households]\ncount = 3\nannual_kwh_min = 2500\nannual_kwh_max = 5000\n"
                  "noise = 0.3\nbid_share = 0.75\nbid_min = 200Mi\nbid_max = 290Mi\n");
  snprintf(g_out, sizeof g_out, "%s/out", g_root);
  snprintf(g_state, sizeof g_state, "%s/state", g_out);
  snprintf(log, sizeof log, "%s/sim.log", g_root);
  const char *sim[] = {P2PGRID_BIN, "sim", ini, "--full", "-q", "-o", g_out, NULL};
  run_ok(sim, log);
  snprintf(g_export, sizeof g_export, "%s/export.json", g_root);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  harness_rmroot();
  return 0;
}

static void audit_export(const char *state_dir, const char *out) {
  char dir[500], log[500];
  snprintf(dir, sizeof dir, "%s/grid", state_dir);
  snprintf(log, sizeof log, "%s.log", out);
  const char *argv[] = {P2PGRID_BIN, "grid", "audit-export", "--data-dir", dir, "--out", out, NULL};
  run_ok(argv, log);
}

/* p2pgrid audit ... --json against the node of state_dir (or the node at
 * state_dir when it is an http:// URL); the exit status, *out the parsed
 * result. */
static int audit(const char *what, const char *file, const char *state_dir, const char *tag,
                 json_t **out) {
  char node[500], log[500], html[500];
  if (strncmp(state_dir, "http://", 7) == 0) /* a node's URL */
    snprintf(node, sizeof node, "%s", state_dir);
  else
    snprintf(node, sizeof node, "%s/node", state_dir);
  snprintf(log, sizeof log, "%s/audit-%s.log", g_root, tag);
  snprintf(html, sizeof html, "%s/audit-%s.html", g_root, tag);
  const char *argv[] = {P2PGRID_BIN, "audit", what, file, "--node", node, "--json",
                        "--html", html, NULL};
  int st = run_status(argv, log);
  char *text = slurp(log, NULL);
  assert_non_null(text);
  json_error_t je;
  *out = json_loads(text, JSON_DISABLE_EOF_CHECK, &je);
  if (!*out) fail_msg("audit %s: no JSON (exit %d): %s", tag, st, text);
  free(text);
  size_t hl = 0;
  char *h = slurp(html, &hl);
  assert_non_null(h);
  assert_non_null(strstr(h, "<table>"));
  assert_null(strstr(h, "<script"));
  free(h);
  return st;
}

static void test_clean(void **state) {
  (void)state;
  audit_export(g_state, g_export);
  json_t *r = NULL;
  int st = audit("--export", g_export, g_state, "clean", &r);
  json_t *d = json_object_get(r, "differences");
  if (st != 0 || json_array_size(d) != 0) {
    char *s = json_dumps(d, JSON_INDENT(1));
    fail_msg("clean run: exit %d, differences %s", st, s);
  }
  assert_true(json_is_true(json_object_get(r, "agree")));
  assert_true(json_array_size(json_object_get(r, "slots")) >= 8);
  assert_true(json_integer_value(json_object_get(json_object_get(r, "checked"), "batches")) > 0);
  json_decref(r);
}

/* The same audit over HTTP: the run's node directory (a copy) served by
 * `p2pgrid node` with the node.ini and genesis.txt the simulation wrote
 * there; the result is the in-process audit's, and the channels and
 * payments were read with batched lookups (POST /api/plugins/data/find). */
/* `p2pgrid node --config node.ini` on a copy (tag) of the run's node
 * directory, with the node.ini and genesis.txt the simulation wrote there. */
static void serve_run(proc *node, const char *tag) {
  char src[500], ini[600], genesis[620], log[600];
  snprintf(node->name, sizeof node->name, "node-%s", tag);
  snprintf(src, sizeof src, "%s/node", g_state);
  snprintf(node->data_dir, sizeof node->data_dir, "%s/node-%s", g_root, tag);
  const char *cp[] = {"/bin/cp", "-a", src, node->data_dir, NULL};
  snprintf(log, sizeof log, "%s/cp-%s.log", g_root, tag);
  run_ok(cp, log);
  snprintf(ini, sizeof ini, "%s/node.ini", node->data_dir);
  snprintf(genesis, sizeof genesis, "ledger.genesis_file=%s/genesis.txt", node->data_dir);
  const char *extra[] = {"--config", ini, "--set", genesis, NULL};
  proc_start(node, extra);
}

/* The audit of what/file over HTTP (serve_run) and in-process give the
 * very same JSON (exit 0), and the node answered batched lookups. */
static void assert_same_over_http(const char *what, const char *file, const char *tag) {
  json_t *local = NULL, *remote = NULL;
  char t[64];
  snprintf(t, sizeof t, "%s-local", tag);
  assert_int_equal(audit(what, file, g_state, t, &local), 0);
  proc node = {0};
  serve_run(&node, tag);
  snprintf(t, sizeof t, "%s-http", tag);
  int st = audit(what, file, node.base, t, &remote);
  char *m = get_metrics(&node, NULL);
  double finds = metric_sample(
      m, "p2pgrid_node_api_request_duration_seconds_count{route=\"find_post\",status=\"2xx\"}");
  free(m);
  proc_stop(&node);
  assert_int_equal(st, 0);
  if (!json_equal(local, remote)) {
    char *a = json_dumps(local, 0), *b = json_dumps(remote, 0);
    fail_msg("%s: in-process %s\nover HTTP %s", tag, a, b);
  }
  if (finds < 2) fail_msg("%s: %.0f find requests: the audit did not batch its lookups", tag, finds);
  json_decref(local), json_decref(remote);
}

static void test_clean_over_http(void **state) {
  (void)state;
  assert_same_over_http("--export", g_export, "export");
}

/* An export that hands p001's channel keys to p002 (an operator passing
 * off one member's readings as another's): the channel is not bound to
 * p002, and the readings are not where the export says. */
static void test_swapped_channel(void **state) {
  (void)state;
  json_error_t je;
  json_t *e = json_load_file(g_export, 0, &je);
  assert_non_null(e);
  json_t *m, *p1 = NULL, *p2 = NULL;
  size_t i;
  json_array_foreach(json_object_get(e, "members"), i, m) {
    if (strcmp(jstr(m, "id"), "p001") == 0) p1 = m;
    if (strcmp(jstr(m, "id"), "p002") == 0) p2 = m;
  }
  assert_non_null(p1);
  assert_non_null(p2);
  json_object_set(p2, "channels", json_object_get(p1, "channels"));
  char path[400];
  snprintf(path, sizeof path, "%s/export-swapped.json", g_root);
  assert_int_equal(json_dump_file(e, path, 0), 0);
  json_decref(e);
  json_t *r = NULL;
  assert_int_equal(audit("--export", path, g_state, "swapped", &r), 1);
  bool unbound = false;
  json_t *x;
  json_array_foreach(json_object_get(r, "differences"), i, x)
    unbound |= strstr(jstr(x, "text"), "is not bound to p002") != NULL;
  if (!unbound) fail_msg("the swapped channel was not reported: %s", json_dumps(r, 0));
  json_decref(r);
}

/* Slots of the copy's grid database that have what the tampering needs. */
static int64_t pick(sqlite3 *db, const char *sql, int64_t not1, int64_t not2, int64_t not3) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  int64_t k = -1;
  while (sqlite3_step(st) == SQLITE_ROW) {
    int64_t v = sqlite3_column_int64(st, 0);
    if (v != not1 && v != not2 && v != not3) {
      k = v;
      break;
    }
  }
  sqlite3_finalize(st);
  assert_true(k >= 0);
  return k;
}

static void exec_one(sqlite3 *db, const char *sql, int64_t k) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, k);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  assert_int_equal(sqlite3_changes(db), 1);
  sqlite3_finalize(st);
}

/* One reading, one bill, one payout and one price altered, each in its
 * own slot; returns the four slots. */
static void tamper(const char *state_dir, int64_t slots[4]) {
  char path[500];
  snprintf(path, sizeof path, "%s/grid/grid.db", state_dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  slots[0] = pick(db, "SELECT settled_in FROM readings WHERE settled_in IS NOT NULL AND wh > 0"
                      " AND kind = 3 ORDER BY settled_in", -1, -1, -1);
  slots[1] = pick(db, "SELECT slot FROM bills ORDER BY slot", slots[0], -1, -1);
  slots[2] = pick(db, "SELECT slot FROM payouts WHERE batch_id IS NOT NULL ORDER BY slot",
                  slots[0], slots[1], -1);
  slots[3] = pick(db, "SELECT slot FROM slots WHERE has_price = 1 ORDER BY slot DESC", slots[0],
                  slots[1], slots[2]);
  exec_one(db, "UPDATE readings SET wh = wh + 7 WHERE rowid = (SELECT rowid FROM readings"
               " WHERE settled_in = ?1 AND kind = 3 AND wh > 0 LIMIT 1)", slots[0]);
  exec_one(db, "UPDATE bills SET owed = owed + 1000 WHERE rowid = (SELECT rowid FROM bills"
               " WHERE slot = ?1 LIMIT 1)", slots[1]);
  exec_one(db, "UPDATE payouts SET amount = amount + 5 WHERE rowid = (SELECT rowid FROM payouts"
               " WHERE slot = ?1 AND batch_id IS NOT NULL LIMIT 1)", slots[2]);
  exec_one(db, "UPDATE slots SET buy_price = buy_price + 1 WHERE slot = ?1", slots[3]);
  sqlite3_close(db);
}

static void test_tampered(void **state) {
  (void)state;
  char copy[400], log[400], ex[400];
  snprintf(copy, sizeof copy, "%s/tampered", g_root);
  snprintf(log, sizeof log, "%s/cp.log", g_root);
  const char *cp[] = {"/bin/cp", "-a", g_state, copy, NULL};
  run_ok(cp, log);
  int64_t slots[4];
  tamper(copy, slots);
  snprintf(ex, sizeof ex, "%s/export-tampered.json", g_root);
  audit_export(copy, ex);
  json_t *r = NULL;
  assert_int_equal(audit("--export", ex, copy, "tampered", &r), 1);
  json_t *diffs = json_object_get(r, "differences");
  size_t i;
  json_t *x;
  bool seen[4] = {false};
  json_array_foreach(diffs, i, x) {
    json_t *s = json_object_get(x, "slot");
    if (!json_is_integer(s)) fail_msg("a difference outside the slots: %s", jstr(x, "text"));
    int64_t k = json_integer_value(s);
    bool known = false;
    for (int j = 0; j < 4; j++)
      if (k == slots[j]) seen[j] = known = true;
    if (!known) fail_msg("a difference at slot %lld: %s", (long long)k, jstr(x, "text"));
  }
  for (int j = 0; j < 4; j++)
    if (!seen[j]) fail_msg("nothing reported at slot %lld (alteration %d)", (long long)slots[j], j);
  size_t bad = 0;
  json_array_foreach(json_object_get(r, "slots"), i, x) bad += !json_is_true(json_object_get(x, "agree"));
  assert_int_equal(bad, 4);
  json_decref(r);
}

static void test_member(void **state) {
  (void)state;
  char ini[400], keys[400], log[400], text[1200];
  snprintf(ini, sizeof ini, "%s/h0001.ini", g_root);
  snprintf(text, sizeof text, "[consumer]\nid = h0001\ndata_dir = %s/h0001\n", g_state);
  write_file(ini, text);
  snprintf(keys, sizeof keys, "%s/h0001.keys.json", g_root);
  snprintf(log, sizeof log, "%s/audit-keys.log", g_root);
  const char *ak[] = {P2PGRID_BIN, "consumer", "audit-keys", "--config", ini, "--out", keys, NULL};
  run_ok(ak, log);
  json_t *r = NULL;
  int st = audit("--member-keys", keys, g_state, "member", &r);
  if (st != 0) {
    char *s = json_dumps(json_object_get(r, "differences"), JSON_INDENT(1));
    fail_msg("member audit: exit %d, differences %s", st, s);
  }
  assert_true(json_is_true(json_object_get(r, "member")));
  assert_string_equal(jstr(r, "subject"), "h0001");
  assert_true(json_array_size(json_object_get(r, "slots")) >= 8); /* its lines of the record */
  char *all = json_dumps(r, 0);
  for (const char *other = "h0002\0h0003\0p001\0p002\0"; *other; other += strlen(other) + 1)
    if (strstr(all, other)) fail_msg("the member audit of h0001 names %s: %s", other, all);
  free(all);
  json_decref(r);
  assert_same_over_http("--member-keys", keys, "member");
}

/* Runs scenario `text` (named tag) in full mode, exports the grid's claim to
 * ex and audits it: everything must agree. st: the run's state directory. */
static void run_agreeing(const char *tag, const char *text, char st[420], char ex[400]) {
  char ini[400], out[400], log[400];
  snprintf(ini, sizeof ini, "%s/%s.ini", g_root, tag);
  write_file(ini, text);
  snprintf(out, sizeof out, "%s/%s", g_root, tag);
  snprintf(st, 420, "%s/state", out);
  snprintf(log, sizeof log, "%s/%s-sim.log", g_root, tag);
  const char *sim[] = {P2PGRID_BIN, "sim", ini, "-q", "-o", out, NULL};
  run_ok(sim, log);
  snprintf(ex, 400, "%s/export-%s.json", g_root, tag);
  audit_export(st, ex);
  json_t *r = NULL;
  int rc = audit("--export", ex, st, tag, &r);
  if (rc != 0)
    fail_msg("%s run: exit %d: %s", tag, rc, json_dumps(json_object_get(r, "differences"), 0));
  json_decref(r);
}

/* Monthly items (issue 15): a full run across a month boundary with a
 * tariff. The grid bills June's membership, capacity and VAT in the first
 * slot of July; the audit re-derives them from the Tangle (each consumer's
 * re-settled June charges and largest June reading, the tariff and zone in
 * force) and agrees. Then an operator who adds 1000 to one month bill and
 * drops another is caught at that slot, naming both consumers. */
static void test_month_bills(void **state) {
  (void)state;
  char st[420], ex[400];
  run_agreeing("month", HARNESS_MONTH_EDGE_INI, st, ex);
  json_t *r = NULL;
  /* the grid made month bills at all (else the above proves nothing) */
  char db[500];
  snprintf(db, sizeof db, "%s/grid/grid.db", st);
  sqlite3 *h = NULL;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  int64_t k = pick(h, "SELECT slot FROM bills WHERE kind = 'month' ORDER BY slot", -1, -1, -1);
  exec_one(h, "UPDATE bills SET owed = owed + 1000 WHERE request_id = (SELECT request_id FROM bills"
              " WHERE kind = 'month' AND slot = ?1 ORDER BY consumer_id LIMIT 1)", k);
  exec_one(h, "DELETE FROM bills WHERE request_id = (SELECT request_id FROM bills"
              " WHERE kind = 'month' AND slot = ?1 ORDER BY consumer_id DESC LIMIT 1)", k);
  sqlite3_close(h);
  snprintf(ex, sizeof ex, "%s/export-month-tampered.json", g_root);
  audit_export(st, ex);
  assert_int_equal(audit("--export", ex, st, "month-tampered", &r), 1);
  bool raised = false, dropped = false;
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(r, "differences"), i, x) {
    json_t *s = json_object_get(x, "slot");
    if (!json_is_integer(s) || json_integer_value(s) != k)
      fail_msg("a difference elsewhere: %s", jstr(x, "text"));
    raised |= strstr(jstr(x, "text"), "amount owed of h0001: grid's month bill") != NULL;
    dropped |= strstr(jstr(x, "text"), "h0003 owes") != NULL &&
               strstr(jstr(x, "text"), "no month bill") != NULL;
  }
  if (!raised || !dropped) fail_msg("not both caught: %s", json_dumps(r, 0));
  json_decref(r);
}

/* Sharing (issue 15): a full run of a hierarchical community (a dynamic
 * group before a static one with keys, a member at 60 % participation). The
 * grid records its sharing settings (sharing_history) and the audit
 * re-settles every slot with them and agrees; an export that claims other
 * keys than those the grid settled with is refuted at the slots it changes. */
static void test_sharing(void **state) {
  (void)state;
  char st[420], ex[400];
  run_agreeing("sharing",
               "[scenario]\nname = h\nstart = 2025-06-21T10:00:00Z\nduration = 2h\n"
               "slot = 15m\nseed = 7\nmode = full\n"
               "[market]\nmechanism = hierarchical\ngroup_rules = dynamic, static\n"
               "community_price = 100Mi\npayout_min = 1Mi\n"
               "[producer roof]\nname = Roof\n[source roof-pv]\nproducer = roof\n"
               "kind = solar\nkwp = 20\n"
               "[household a]\nannual_kwh = 3000\ngroup = 0\n"
               "[household b]\nannual_kwh = 30000\ngroup = 1\nkey = 12.5%\n"
               "participation = 60%\n"
               "[household c]\nannual_kwh = 30000\ngroup = 1\nkey = 87.5%\n",
               st, ex);
  json_t *r = NULL;
  /* the same export claiming swapped keys for b and c */
  json_error_t je;
  json_t *e = json_load_file(ex, 0, &je);
  assert_non_null(e);
  json_t *members = json_object_get(json_array_get(json_object_get(e, "sharing"), 0), "members");
  assert_int_equal(json_array_size(members), 3);
  json_object_set_new(json_array_get(members, 1), "keyPpm", json_integer(875000));
  json_object_set_new(json_array_get(members, 2), "keyPpm", json_integer(125000));
  snprintf(ex, sizeof ex, "%s/export-sharing-keys.json", g_root);
  assert_int_equal(json_dump_file(e, ex, 0), 0);
  json_decref(e);
  assert_int_equal(audit("--export", ex, st, "sharing-keys", &r), 1);
  bool named = false;
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(r, "differences"), i, x)
    named |= strstr(jstr(x, "text"), "community energy (Wh) of c") != NULL;
  if (!named) fail_msg("the claimed keys were not refuted: %s", json_dumps(r, 0));
  json_decref(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean),
      cmocka_unit_test(test_clean_over_http),
      cmocka_unit_test(test_swapped_channel),
      cmocka_unit_test(test_tampered),
      cmocka_unit_test(test_member),
      cmocka_unit_test(test_month_bills),
      cmocka_unit_test(test_sharing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
