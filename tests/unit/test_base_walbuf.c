/* Unit tests: the pg-walbuf VFS (base/walbuf.h), one writing connection,
 * opened directly and through pg_db_open_sole (base/db.h: exclusive
 * locking, the WAL index in the connection's memory).
 * - A commit that returned is in the WAL file: a child process commits
 *   transactions of every shape (one small row, rows bigger than the
 *   buffer, many rows, a page cache so small that the transaction spills
 *   and rewrites frames before its commit) and is killed with SIGKILL right
 *   after a chosen COMMIT returned, before it touches the file again
 *   (synchronous=OFF, as the simulator's entities: no sync flushes the
 *   buffer, the commit's own write must); the
 *   database, opened again through the default VFS, holds every committed
 *   row and passes integrity_check.
 * - A reader on the default VFS in the same process sees each commit as
 *   soon as it returned, with the same shapes (synchronous=OFF too).
 * - The same three through "pg-walbuf-process" (pg_db_open_with .process:
 *   SQLite's unix-excl underneath, the WAL index in the process's memory),
 *   the reader in the writer's process through the same VFS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p2pgrid/base/db.h"
#include "p2pgrid/base/file.h"
#include "p2pgrid/base/walbuf.h"
#include "test_util_tmpdir.h"

#define SCHEMA "CREATE TABLE IF NOT EXISTS t (i INTEGER PRIMARY KEY, v BLOB NOT NULL);"

/* true: open_wb opens through pg_db_open_sole (test_sole_commit_survives_kill) */
static bool g_sole;
/* true: open_wb opens through pg_db_open_with .process (pg-walbuf-process),
 * and the tests' readers in this process through the same VFS */
static bool g_process;

/* Opens dir/w.db through the VFS, in WAL mode with synchronous=OFF and an
 * 8-page cache (transactions spill), with the test's table. */
static int open_wb(const char *dir, sqlite3 **db) {
  char path[600];
  snprintf(path, sizeof path, "%s/w.db", dir);
  pg_diag d;
  pg_db_open_opts o = {.busy_ms = 5000, .process = true};
  if (g_process)
    return pg_db_open_with(dir, "w.db", SCHEMA, &o, db, &d) ||
                   pg_db_exec(*db, "PRAGMA synchronous=OFF; PRAGMA cache_size=8;", &d)
               ? -1
               : 0;
  if (g_sole)
    return pg_db_open_sole(dir, "w.db", SCHEMA, db, &d) ||
                   pg_db_exec(*db, "PRAGMA synchronous=OFF; PRAGMA cache_size=8;", &d)
               ? -1
               : 0;
  if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      pg_walbuf_vfs()) != SQLITE_OK)
    return -1;
  sqlite3_busy_timeout(*db, 5000);
  return pg_db_exec(*db,
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=8;" SCHEMA,
                    &d)
             ? -1
             : 0;
}

/* Transaction k's shape: rows and the bytes of each row. */
static void shape(int k, int *rows, int *bytes) {
  switch (k % 4) {
  case 0: *rows = 1, *bytes = 100; break;          /* one frame or two */
  case 1: *rows = 1, *bytes = 300 << 10; break;    /* more than the 120 KiB buffer */
  case 2: *rows = 200, *bytes = 700; break;        /* many pages */
  default: *rows = 40, *bytes = 20 << 10; break;   /* spills: cache of 8 pages */
  }
}

/* Row i's value: n bytes derived from i. */
static void value(int64_t i, unsigned char *v, int n) {
  for (int b = 0; b < n; b++) v[b] = (unsigned char)(i * 131 + b * 7 + (b >> 8));
}

/* Commits transaction k (rows from *next on). */
static int commit_one(sqlite3 *db, int k, int64_t *next, unsigned char *v) {
  int rows, bytes;
  shape(k, &rows, &bytes);
  pg_diag d;
  sqlite3_stmt *st = NULL;
  if (pg_db_begin(db, &d) || pg_db_prepare(db, "INSERT INTO t(i, v) VALUES (?1, ?2)", &st, &d))
    return -1;
  for (int r = 0; r < rows; r++, (*next)++) {
    value(*next, v, bytes);
    sqlite3_bind_int64(st, 1, *next);
    sqlite3_bind_blob(st, 2, v, bytes, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return -1;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  /* rewrite a page already in the WAL within this transaction */
  if (pg_db_exec(db, "UPDATE t SET v = v WHERE i = (SELECT max(i) FROM t)", &d)) return -1;
  return pg_db_commit(db, &d) ? -1 : 0;
}

/* The child: commits transactions k = first.. and after each COMMIT
 * returned writes k to ack, then waits for a byte on go (none: killed). */
static void child(const char *dir, int first, int ack, int go) {
  sqlite3 *db = NULL;
  pg_diag d;
  if (open_wb(dir, &db)) _exit(2);
  int64_t next = 0;
  if (pg_db_i64(db, "SELECT coalesce(max(i) + 1, 0) FROM t", 0, 0, &next, &d)) _exit(2);
  unsigned char *v = malloc(300 << 10);
  for (int k = first;; k++) {
    if (!v || commit_one(db, k, &next, v)) _exit(3);
    if (write(ack, &k, sizeof k) != sizeof k) _exit(4);
    char c;
    if (read(go, &c, 1) != 1) _exit(0);
  }
}

/* Checks the database through the default VFS: integrity, and every row of
 * transactions 0..last with its value. */
static void check_rows(const char *dir, int last) {
  char path[600];
  snprintf(path, sizeof path, "%s/w.db", dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
  sqlite3_finalize(st);
  int64_t want = 0;
  for (int k = 0; k <= last; k++) {
    int rows, bytes;
    shape(k, &rows, &bytes);
    want += rows;
  }
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT i, v FROM t ORDER BY i", -1, &st, NULL), SQLITE_OK);
  unsigned char *v = malloc(300 << 10);
  assert_non_null(v);
  int64_t i = 0;
  for (int k = 0; k <= last; k++) {
    int rows, bytes;
    shape(k, &rows, &bytes);
    for (int r = 0; r < rows; r++, i++) {
      if (sqlite3_step(st) != SQLITE_ROW) fail_msg("row %lld of %lld missing", (long long)i, (long long)want);
      assert_int_equal(sqlite3_column_int64(st, 0), i);
      value(i, v, bytes);
      assert_int_equal(sqlite3_column_bytes(st, 1), bytes);
      assert_memory_equal(sqlite3_column_blob(st, 1), v, (size_t)bytes);
    }
  }
  assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* nothing uncommitted came back */
  sqlite3_finalize(st);
  free(v);
  sqlite3_close(db);
}

/* Integrity and the row count of dir/w.db through the default VFS. */
static void check_rows_total(const char *dir, int64_t want) {
  char path[600];
  snprintf(path, sizeof path, "%s/w.db", dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  pg_diag d;
  int64_t n = -1;
  assert_int_equal(pg_db_i64(db, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
  assert_int_equal(n, want);
  sqlite3_close(db);
}


static void test_commit_survives_kill(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_walbuf");
  int done = -1; /* the last transaction committed so far */
  /* kill after each shape's commit, twice, and once after a run of them */
  static const int kill_after[] = {0, 1, 2, 3, 4, 5, 6, 7, 15};
  for (size_t n = 0; n < sizeof kill_after / sizeof *kill_after; n++) {
    int ack[2], go[2];
    assert_int_equal(pipe(ack), 0);
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(ack[0]);
      close(go[1]);
      child(dir, done + 1, ack[1], go[0]);
    }
    close(ack[1]);
    close(go[0]);
    int k;
    for (;;) {
      assert_int_equal(read(ack[0], &k, sizeof k), (ssize_t)sizeof k);
      done = k;
      if (k >= kill_after[n]) break;
      assert_int_equal(write(go[1], "g", 1), 1);
    }
    /* the child now waits on go, its COMMIT returned: kill it there */
    assert_int_equal(kill(pid, SIGKILL), 0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    close(ack[0]);
    close(go[1]);
    check_rows(dir, done);
  }
  tu_rmrf(dir);
}

/* The same through pg_db_open_sole: the WAL index in the killed process's
 * memory is rebuilt from the WAL file by the next opener. */
static void test_sole_commit_survives_kill(void **state) {
  g_sole = true;
  test_commit_survives_kill(state);
  g_sole = false;
}

/* The same through pg-walbuf-process: the WAL index was in the killed
 * process's memory, the lock on the file went with the process. */
static void test_process_commit_survives_kill(void **state) {
  g_process = true;
  test_commit_survives_kill(state);
  g_process = false;
}

/* A reader in the writer's process: through the writer's VFS. */
static const char *reader_vfs(void) { return g_process ? pg_walbuf_vfs_process() : NULL; }

static void test_reader_sees_each_commit(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_walbuf");
  sqlite3 *w = NULL, *r = NULL;
  pg_diag d;
  assert_int_equal(open_wb(dir, &w), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/w.db", dir);
  assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, reader_vfs()), SQLITE_OK);
  unsigned char *v = malloc(300 << 10);
  assert_non_null(v);
  int64_t next = 0;
  for (int k = 0; k < 12; k++) {
    assert_int_equal(commit_one(w, k, &next, v), 0);
    int64_t n = -1;
    assert_int_equal(pg_db_i64(r, "SELECT count(*) FROM t", 0, -1, &n, &d), PG_OK);
    assert_int_equal(n, next);
  }
  free(v);
  sqlite3_close(r);
  sqlite3_close(w);
  check_rows(dir, 11);
  tu_rmrf(dir);
}

/* Transactions of 1..90 pages, one per row (3,000-byte rows on 4 KiB
 * pages): somewhere among them the commit frame's header still fits the
 * buffer and its page does not (the 30th frame of a buffer). A reader on
 * the default VFS reads every row after each COMMIT returned: a commit page
 * left in the buffer is a short read of the WAL (SQLITE_IOERR_SHORT_READ). */
static void test_commit_at_the_buffer_edge(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_walbuf");
  sqlite3 *w = NULL, *r = NULL;
  pg_diag d;
  assert_int_equal(open_wb(dir, &w), 0);
  assert_int_equal(pg_db_exec(w, "PRAGMA cache_size=-65536", &d), PG_OK); /* no spill */
  char path[600];
  snprintf(path, sizeof path, "%s/w.db", dir);
  assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, reader_vfs()), SQLITE_OK);
  unsigned char v[3000];
  int64_t next = 0, bytes = 0;
  for (int rows = 1; rows <= 90; rows++) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(pg_db_begin(w, &d), PG_OK);
    assert_int_equal(pg_db_prepare(w, "INSERT INTO t(i, v) VALUES (?1, ?2)", &st, &d), PG_OK);
    for (int k = 0; k < rows; k++, next++) {
      value(next, v, (int)sizeof v);
      sqlite3_bind_int64(st, 1, next);
      sqlite3_bind_blob(st, 2, v, (int)sizeof v, SQLITE_STATIC);
      assert_int_equal(sqlite3_step(st), SQLITE_DONE);
      sqlite3_reset(st);
      bytes += (int64_t)sizeof v;
    }
    sqlite3_finalize(st);
    assert_int_equal(pg_db_commit(w, &d), PG_OK);
    int64_t got = -1;
    if (pg_db_i64(r, "SELECT sum(length(v)) FROM t", 0, -1, &got, &d) != PG_OK)
      fail_msg("after a commit of %d rows the reader failed: %s (SQLite code %d)", rows, d.msg,
               sqlite3_extended_errcode(r));
    assert_int_equal(got, bytes);
  }
  sqlite3_close(r);
  sqlite3_close(w);
  check_rows_total(dir, next);
  tu_rmrf(dir);
}

static void test_process_reader_sees_each_commit(void **state) {
  g_process = true;
  test_reader_sees_each_commit(state);
  g_process = false;
}

static void test_process_commit_at_the_buffer_edge(void **state) {
  g_process = true;
  test_commit_at_the_buffer_edge(state);
  g_process = false;
}

static void test_registered_once(void **state) {
  (void)state;
  const char *a = pg_walbuf_vfs();
  assert_non_null(a);
  assert_string_equal(a, "pg-walbuf");
  assert_ptr_equal(pg_walbuf_vfs(), a);
  assert_non_null(sqlite3_vfs_find(a));
  assert_ptr_equal(sqlite3_vfs_find(a)->pAppData, sqlite3_vfs_find(NULL));
  const char *p = pg_walbuf_vfs_process();
  assert_non_null(p);
  assert_string_equal(p, "pg-walbuf-process");
  assert_ptr_equal(pg_walbuf_vfs_process(), p);
  assert_non_null(sqlite3_vfs_find(p));
  assert_ptr_equal(sqlite3_vfs_find(p)->pAppData, sqlite3_vfs_find("unix-excl"));
  assert_ptr_not_equal(sqlite3_vfs_find(NULL), sqlite3_vfs_find(p)); /* not made the default */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registered_once),
      cmocka_unit_test(test_reader_sees_each_commit),
      cmocka_unit_test(test_commit_at_the_buffer_edge),
      cmocka_unit_test(test_commit_survives_kill),
      cmocka_unit_test(test_sole_commit_survives_kill),
      cmocka_unit_test(test_process_commit_survives_kill),
      cmocka_unit_test(test_process_reader_sees_each_commit),
      cmocka_unit_test(test_process_commit_at_the_buffer_edge),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
