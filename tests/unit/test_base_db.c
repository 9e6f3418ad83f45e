/* Unit tests: base/db.h's openers.
 * - pg_db_open_sole: while its connection is open no other connection (of
 *   this process or another) can read the database, and no -shm file is
 *   made; once it is closed, others read every committed row.
 * - pg_db_open_with(.process): connections of this process share the
 *   database (each sees the other's commits, a reader keeps its snapshot
 *   while the other writes), no -shm file is made, and another process
 *   (this test program run again, a fresh SQLite) gets SQLITE_BUSY until
 *   the last connection of this process is closed; then it reads every
 *   committed row.
 * - pg_db_savepoint_end keeps or rolls back a savepoint's work by rc.
 * - pg_db_open_with's page size: new databases only, checked.
 * - pg_db_open keeps savepoint journals in memory: a savepoint that
 *   rewrites more than SQLite's 64 KiB spill threshold opens no temporary
 *   file (with SQLite's default it does, which the test shows first).
 * - the first opener turns SQLite's memory statistics off (a global mutex
 *   on every allocation, which the simulator's threads fought over): after
 *   work through pg_db_open SQLite has counted no memory, and a memory cap
 *   asked for after that is refused (test_base_db_cap: the other order).
 *   Runs first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "p2pgrid/base/db.h"
#include "test_util_elsewhere.h"
#include "test_util_tmpdir.h"

#define SCHEMA "CREATE TABLE IF NOT EXISTS t (i INTEGER PRIMARY KEY, v BLOB NOT NULL);"


/* SQLite's result of counting t's rows through a new connection on the
 * default VFS (the count in *n when SQLITE_OK). */
static int count_from_outside(const char *dir, int64_t *n) {
  char path[600];
  snprintf(path, sizeof path, "%s/s.db", dir);
  return tu_query_i64(path, "SELECT count(*) FROM t", n);
}

static void test_sole_keeps_others_out(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_db");
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_open_sole(dir, "s.db", SCHEMA, &db, &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (1, x'01'), (2, x'02')", &d), PG_OK);
  int64_t n = -1;
  assert_int_equal(pg_db_i64(db, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(count_from_outside(dir, &n), SQLITE_BUSY);
  /* a second pg_db_open fails too, by name */
  sqlite3 *other = NULL;
  assert_int_not_equal(pg_db_open(dir, "s.db", NULL, 0, &other, &d), PG_OK);
  assert_null(other);
  assert_non_null(strstr(d.msg, "locked"));
  char shm[700];
  snprintf(shm, sizeof shm, "%s/s.db-shm", dir);
  assert_int_not_equal(access(shm, F_OK), 0);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (3, x'03')", &d), PG_OK);
  sqlite3_close(db);
  n = -1;
  assert_int_equal(count_from_outside(dir, &n), SQLITE_OK);
  assert_int_equal(n, 3);
  /* opened sole again over the WAL others have used */
  assert_int_equal(pg_db_open_sole(dir, "s.db", SCHEMA, &db, &d), PG_OK);
  assert_int_equal(pg_db_i64(db, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 3);
  sqlite3_close(db);
  tu_rmrf(dir);
}

/* Open file descriptors of this process that name a deleted file (how
 * SQLite's temporary files look: unlinked as soon as they are opened). */
static int deleted_fds(void) {
  DIR *dp = opendir("/proc/self/fd");
  assert_non_null(dp);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    char link[300], target[600];
    snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
    ssize_t len = readlink(link, target, sizeof target - 1);
    if (len <= 0) continue;
    target[len] = '\0';
    if (strstr(target, "(deleted)")) n++;
  }
  closedir(dp);
  return n;
}

/* Inside a transaction, a savepoint that rewrites 200 rows of 2,000 bytes
 * (about 100 pages, past the 64 KiB spill): the temporary files open while
 * it is still open. */
static int temp_files_of_a_savepoint(sqlite3 *db) {
  pg_diag d = {{0}};
  assert_int_equal(pg_db_exec(db, SCHEMA "DELETE FROM t;"
                                          "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1"
                                          " FROM n WHERE i < 200)"
                                          " INSERT INTO t SELECT i, zeroblob(2000) FROM n;",
                              &d),
                   PG_OK);
  assert_int_equal(pg_db_begin(db, &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "UPDATE t SET v = randomblob(2000) WHERE i <= 10", &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "SAVEPOINT s; UPDATE t SET v = randomblob(2000);", &d), PG_OK);
  int n = deleted_fds();
  assert_int_equal(pg_db_exec(db, "RELEASE s", &d), PG_OK);
  assert_int_equal(pg_db_commit(db, &d), PG_OK);
  return n;
}

static void test_savepoints_in_memory(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_db");
  int before = deleted_fds();
  /* SQLite's default: the savepoint's journal spills to a temporary file */
  char path[600];
  snprintf(path, sizeof path, "%s/plain.db", dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  pg_diag d = {{0}};
  assert_int_equal(pg_db_exec(db, "PRAGMA journal_mode=WAL", &d), PG_OK);
  assert_true(temp_files_of_a_savepoint(db) > before);
  sqlite3_close(db);
  /* pg_db_open's: none */
  assert_int_equal(pg_db_open(dir, "p.db", NULL, 1000, &db, &d), PG_OK);
  assert_int_equal(temp_files_of_a_savepoint(db), before);
  sqlite3_close(db);
  assert_int_equal(pg_db_open_sole(dir, "s.db", NULL, &db, &d), PG_OK);
  assert_int_equal(temp_files_of_a_savepoint(db), before);
  sqlite3_close(db);
  tu_rmrf(dir);
}

/* A savepoint's end keeps its work when rc is PG_OK, rolls it back (and
 * returns rc, the caller's sentence untouched) when rc is an error, and an
 * end that cannot release (no such savepoint) is an error by name. */
static void test_savepoint_end(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_db");
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_open(dir, "s.db", SCHEMA, 1000, &db, &d), PG_OK);
  assert_int_equal(pg_db_begin(db, &d), PG_OK);
  assert_int_equal(pg_db_savepoint(db, "sp", &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (1, x'01')", &d), PG_OK);
  assert_int_equal(pg_db_savepoint_end(db, "sp", PG_OK, &d), PG_OK);
  assert_int_equal(pg_db_savepoint(db, "sp", &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (2, x'02')", &d), PG_OK);
  snprintf(d.msg, sizeof d.msg, "the caller's sentence");
  assert_int_equal(pg_db_savepoint_end(db, "sp", PG_ERR_INVALID, &d), PG_ERR_INVALID);
  assert_string_equal(d.msg, "the caller's sentence");
  assert_int_equal(pg_db_savepoint_end(db, "never_opened", PG_OK, &d), PG_ERR_DB);
  assert_non_null(strstr(d.msg, "never_opened"));
  assert_int_equal(pg_db_commit(db, &d), PG_OK);
  int64_t n = -1;
  assert_int_equal(pg_db_i64(db, "SELECT group_concat(i) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 1);
  sqlite3_close(db);
  tu_rmrf(dir);
}

static void test_no_memory_statistics(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_db");
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_open(dir, "m.db", SCHEMA, 1000, &db, &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (1, zeroblob(100000))", &d), PG_OK);
  int64_t n = -1;
  assert_int_equal(pg_db_i64(db, "SELECT length(v) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 100000);
  assert_int_equal(sqlite3_memory_used(), 0);
  assert_int_equal(sqlite3_memory_highwater(0), 0);
  /* a memory cap needs them: too late now, refused by name; no cap is fine */
  assert_int_equal(pg_db_memory_cap(1 << 20, &d), PG_ERR_STATE);
  assert_non_null(strstr(d.msg, "memory statistics"));
  assert_int_equal(pg_db_memory_cap(0, &d), PG_OK);
  sqlite3_close(db);
  tu_rmrf(dir);
}

static int64_t page_size(sqlite3 *db) {
  int64_t n = -1;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_i64(db, "PRAGMA page_size", 0, -1, &n, &d), PG_OK);
  return n;
}

/* pg_db_open_with: a new database gets the page size asked (plain and sole,
 * where the locking mode is set too); one that exists keeps its own and
 * its rows; a page size SQLite would ignore is refused by name before
 * anything is made. */
static void test_page_size(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_db");
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  pg_db_open_opts o = {.busy_ms = 100, .page_size = 1024};
  assert_int_equal(pg_db_open_with(dir, "a.db", SCHEMA, &o, &db, &d), PG_OK);
  assert_int_equal(page_size(db), 1024);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (1, zeroblob(3000))", &d), PG_OK);
  sqlite3_close(db);
  o.sole = true;
  assert_int_equal(pg_db_open_with(dir, "s.db", SCHEMA, &o, &db, &d), PG_OK);
  assert_int_equal(page_size(db), 1024);
  char shm[700];
  snprintf(shm, sizeof shm, "%s/s.db-shm", dir);
  assert_int_not_equal(access(shm, F_OK), 0); /* exclusive locking as pg_db_open_sole */
  sqlite3_close(db);
  /* made with SQLite's default: reopened with 1 KiB asked, still 4 KiB */
  assert_int_equal(pg_db_open(dir, "b.db", SCHEMA, 100, &db, &d), PG_OK);
  assert_int_equal(pg_db_exec(db, "INSERT INTO t VALUES (1, zeroblob(3000))", &d), PG_OK);
  sqlite3_close(db);
  o.sole = false;
  assert_int_equal(pg_db_open_with(dir, "b.db", SCHEMA, &o, &db, &d), PG_OK);
  assert_int_equal(page_size(db), 4096);
  int64_t n = -1;
  assert_int_equal(pg_db_i64(db, "SELECT length(v) FROM t WHERE i = 1", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 3000);
  sqlite3_close(db);
  const unsigned bad[] = {1000, 256, 131072, 3};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o.page_size = bad[i];
    db = NULL;
    assert_int_equal(pg_db_open_with(dir, "c.db", SCHEMA, &o, &db, &d), PG_ERR_CONFIG);
    assert_null(db);
    assert_non_null(strstr(d.msg, "page size"));
  }
  char c[700];
  snprintf(c, sizeof c, "%s/c.db", dir);
  assert_int_not_equal(access(c, F_OK), 0);
  tu_rmrf(dir);
}

static void test_process_keeps_other_processes_out(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_db");
  char path[700], shm[720];
  snprintf(path, sizeof path, "%s/p.db", dir);
  snprintf(shm, sizeof shm, "%s-shm", path);
  pg_db_open_opts o = {.busy_ms = 1000, .process = true};
  sqlite3 *a = NULL, *b = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_open_with(dir, "p.db", SCHEMA, &o, &a, &d), PG_OK);
  assert_int_equal(pg_db_open_with(dir, "p.db", NULL, &o, &b, &d), PG_OK);
  assert_int_equal(pg_db_exec(a, "INSERT INTO t VALUES (1, x'01')", &d), PG_OK);
  int64_t n = -1;
  assert_int_equal(pg_db_i64(b, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 1);
  /* b's read transaction keeps its snapshot while a commits */
  assert_int_equal(pg_db_exec(b, "BEGIN DEFERRED", &d), PG_OK);
  assert_int_equal(pg_db_i64(b, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(pg_db_exec(a, "INSERT INTO t VALUES (2, x'02')", &d), PG_OK);
  assert_int_equal(pg_db_i64(b, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 1);
  assert_int_equal(pg_db_exec(b, "COMMIT", &d), PG_OK);
  assert_int_equal(pg_db_exec(b, "INSERT INTO t VALUES (3, x'03')", &d), PG_OK);
  assert_int_equal(pg_db_i64(a, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 3);
  assert_int_not_equal(access(shm, F_OK), 0); /* the WAL index is in memory */
  assert_int_equal(tu_count_elsewhere(path, "SELECT count(*) FROM t", &n), SQLITE_BUSY);
  sqlite3_close(a);
  assert_int_equal(tu_count_elsewhere(path, "SELECT count(*) FROM t", &n), SQLITE_BUSY); /* b still has it */
  sqlite3_close(b);
  n = -1;
  assert_int_equal(tu_count_elsewhere(path, "SELECT count(*) FROM t", &n), SQLITE_OK);
  assert_int_equal(n, 3);
  /* a database others have used in WAL mode opens held again */
  assert_int_equal(pg_db_open_with(dir, "p.db", SCHEMA, &o, &a, &d), PG_OK);
  assert_int_equal(pg_db_i64(a, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, 3);
  sqlite3_close(a);
  tu_rmrf(dir);
}

int main(int argc, char **argv) {
  int code = 0;
  if (tu_elsewhere_main(argc, argv, &code)) return code;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_memory_statistics),
      cmocka_unit_test(test_sole_keeps_others_out),
      cmocka_unit_test(test_process_keeps_other_processes_out),
      cmocka_unit_test(test_savepoints_in_memory),
      cmocka_unit_test(test_savepoint_end),
      cmocka_unit_test(test_page_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
