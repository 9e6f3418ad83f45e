/* A node daemon holds its store for its own process (no file lock per
 * transaction: tangle.h pg_tangle_config.process) and writes the backups
 * `p2pgrid backup` asks for (base/backup_serve.h).
 *
 * - Another process cannot get at the store while the node runs: an open
 *   of tangle.db from a forked child gets "database is locked", for
 *   reading and for a checkpoint, after each kind of the node's work that
 *   could let go of the process's lock (messages stored, ledger reads over
 *   the API, a backup written by the node); the node's WAL is still there
 *   and the node goes on storing. (Before this test, a backup's own look
 *   at each file's header and the ledger's read-only connection each
 *   dropped the lock, and a sqlite3 shell then checkpointed and deleted
 *   the running node's WAL.)
 * - `p2pgrid backup` of a running node: written by the node, checked, and
 *   restored into a new data dir a second node starts on with every
 *   message the first had stored before the backup.
 * - A hostile BACKUP-REQUEST (a path where none belongs, garbage, empty)
 *   is refused in a BACKUP-RESULT, logged, nothing written, the node
 *   unharmed.
 * - After kill -9 the stale BACKUP-SERVER marker does not stop a backup:
 *   nobody takes the request, `p2pgrid backup` copies the directory.
 * Set PG_KEEP_TMP=1 to keep the temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "p2pgrid/base/err.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define NMSG 12

static proc g_node, g_copy;
static char g_ids[2 * NMSG + 8][65];
static size_t g_nids;

static void start_node(proc *p, const char *dir) {
  static const char *const args[] = {"--set", "coordinator.enabled=true",
                                     "--set", "coordinator.generate=true",
                                     "--set", "coordinator.interval=1s",
                                     "--set", "node.min_pow_score=0",
                                     NULL};
  snprintf(p->name, sizeof p->name, "%s", dir);
  snprintf(p->data_dir, sizeof p->data_dir, "%s/%s", g_root, dir);
  proc_start(p, args);
}

static void post_messages(size_t n) {
  for (size_t i = 0; i < n; i++) {
    char body[160];
    snprintf(body, sizeof body,
             "{\"payload\":{\"type\":2,\"index\":\"6261636b7570\",\"data\":\"%08zx\"}}", g_nids);
    resp r;
    http(&g_node, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
    assert_int_equal(r.status, 201);
    const char *id =
        json_string_value(json_object_get(json_object_get(r.json, "data"), "messageId"));
    assert_non_null(id);
    snprintf(g_ids[g_nids++], 65, "%s", id);
    resp_free(&r);
  }
}

/* What another process gets from the node's store: 0 when it could read
 * it (the failure this test is about), 1 when every try says locked, 2
 * for anything else. */
static int outsider(const char *dir) {
  char path[400];
  snprintf(path, sizeof path, "%s/tangle.db", dir);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    sqlite3 *db = NULL;
    int code = 2;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
      int a = sqlite3_exec(db, "SELECT COUNT(*) FROM messages", NULL, NULL, NULL);
      int b = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
      if (a == SQLITE_OK || b == SQLITE_OK) code = 0;
      else if ((a & 0xff) == SQLITE_BUSY && (b & 0xff) == SQLITE_BUSY) code = 1;
    }
    sqlite3_close(db);
    _exit(code);
  }
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 3;
}

static void expect_locked_out(const char *when) {
  int got = outsider(g_node.data_dir);
  if (got != 1) fail_msg("%s: another process %s the running node's store", when,
                         got == 0 ? "read (or checkpointed)" : "failed oddly on");
  char wal[400];
  snprintf(wal, sizeof wal, "%s/tangle.db-wal", g_node.data_dir);
  struct stat st;
  if (stat(wal, &st) != 0) fail_msg("%s: the running node's WAL is gone", when);
}

static void backup(const char *dir, const char *out, int want_status, const char *log) {
  const char *argv[] = {P2PGRID_BIN, "backup", "--data-dir", dir, "--out", out, NULL};
  int st = run_status(argv, log);
  if (st != want_status) {
    size_t n = 0;
    char *text = slurp(log, &n);
    fail_msg("p2pgrid backup exited %d, not %d: %s", st, want_status, text ? text : "");
  }
}

static void test_store_held_and_backed_up(void **state) {
  (void)state;
  start_node(&g_node, "node");
  post_messages(NMSG);
  expect_locked_out("after messages were stored");

  /* the ledger's read connection */
  resp r;
  get(&g_node, "/api/v1/addresses/ed25519/"
               "0000000000000000000000000000000000000000000000000000000000000000", &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  get(&g_node, "/api/v1/addresses/ed25519/"
               "0000000000000000000000000000000000000000000000000000000000000000/outputs", &r);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  expect_locked_out("after ledger reads");

  char out[400], log[400];
  snprintf(out, sizeof out, "%s/node.bak", g_root);
  snprintf(log, sizeof log, "%s/backup.log", g_root);
  backup(g_node.data_dir, out, 0, log);
  expect_locked_out("after a backup written by the node");
  size_t n = 0;
  char *nodelog = slurp(g_node.log, &n);
  bool logged = nodelog && strstr(nodelog, "writing a backup of ") && strstr(nodelog, " written: ");
  free(nodelog);
  assert_true(logged);
  char data[400];
  struct stat st;
  snprintf(data, sizeof data, "%s/BACKUP-DATA", g_node.data_dir);
  assert_int_not_equal(stat(data, &st), 0); /* moved to out */
  assert_int_equal(stat(out, &st), 0);

  /* the node goes on storing */
  post_messages(NMSG);
  expect_locked_out("after more messages");

  /* the backup restored into a new data dir: a node there has what the
   * first one had stored before it */
  char copy[400];
  snprintf(copy, sizeof copy, "%s/copy", g_root);
  const char *rargv[] = {P2PGRID_BIN, "restore", "--in", out, "--data-dir", copy, NULL};
  snprintf(log, sizeof log, "%s/restore.log", g_root);
  run_ok(rargv, log);
  start_node(&g_copy, "copy");
  for (size_t i = 0; i < NMSG; i++) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/messages/%.64s/metadata", g_ids[i]);
    get(&g_copy, path, &r);
    if (r.status != 200) fail_msg("message %zu of the backup is missing: %ld", i, r.status);
    resp_free(&r);
  }
  proc_stop(&g_copy);
}

/* A request that is not one, placed by hand: refused with a result, the
 * node unharmed. */
static void test_hostile_request(void **state) {
  (void)state;
  static const char *const bad[] = {
      "p2pgrid-backup-request 1\n/tmp/a.bak\n0123456789abcdef0123456789abcdef\n",
      "p2pgrid-backup-request 1\n0123456789abcdef\x01\n",
      "p2pgrid-backup-request 2\n0123456789abcdef0123456789abcdef\n",
      "p2pgrid-backup-request 1\nNOT-HEX\n",
      "",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char req[400], res[400];
    snprintf(req, sizeof req, "%s/BACKUP-REQUEST", g_node.data_dir);
    snprintf(res, sizeof res, "%s/BACKUP-RESULT", g_node.data_dir);
    unlink(res);
    write_file(req, bad[i]);
    uint64_t until = now_ms() + 10000;
    char *text = NULL;
    size_t n = 0;
    while (now_ms() < until && !(text = slurp(res, &n))) nap();
    if (!text) fail_msg("bad request %zu: no result", i);
    char want[16];
    snprintf(want, sizeof want, "\n%d\n", PG_ERR_INVALID);
    bool ok = strstr(text, want) && strstr(text, "backup request:");
    if (!ok) fprintf(stderr, "bad request %zu: result %s\n", i, text);
    free(text);
    assert_true(ok);
    unlink(res);
    struct stat st;
    assert_int_not_equal(stat(req, &st), 0); /* taken */
  }
  struct stat st;
  char data[400];
  snprintf(data, sizeof data, "%s/BACKUP-DATA", g_node.data_dir);
  assert_int_not_equal(stat(data, &st), 0); /* nothing written */
  post_messages(1);
  expect_locked_out("after hostile requests");
}

/* kill -9 leaves BACKUP-SERVER; nobody takes the request; the directory
 * is copied. */
static void test_stale_marker(void **state) {
  (void)state;
  proc_kill(&g_node);
  char marker[400], out[400], log[400];
  snprintf(marker, sizeof marker, "%s/BACKUP-SERVER", g_node.data_dir);
  struct stat st;
  assert_int_equal(stat(marker, &st), 0);
  snprintf(out, sizeof out, "%s/after-kill.bak", g_root);
  snprintf(log, sizeof log, "%s/backup-after-kill.log", g_root);
  backup(g_node.data_dir, out, 0, log);
  const char *cargv[] = {P2PGRID_BIN, "backup", "--check", out, NULL};
  snprintf(log, sizeof log, "%s/check.log", g_root);
  run_ok(cargv, log);
  char req[400];
  snprintf(req, sizeof req, "%s/BACKUP-REQUEST", g_node.data_dir);
  assert_int_not_equal(stat(req, &st), 0); /* withdrawn */
}

static int setup(void **state) {
  (void)state;
  return harness_mkroot("/tmp/p2pgrid-it-backup-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  proc *all[] = {&g_node, &g_copy};
  proc_abort_all(all, 2);
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_store_held_and_backed_up),
      cmocka_unit_test(test_hostile_request),
      cmocka_unit_test(test_stale_marker),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
