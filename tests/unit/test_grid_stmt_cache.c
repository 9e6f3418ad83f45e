/* Unit tests: the grid's prepared-statement cache (stmt_cache.c,
 * grid_internal.h), split by connection into locked stripes.
 * - a (connection, SQL) pair gets its cached statement back after a put,
 *   a fresh one while the cached one is out (finalized on its put), and
 *   the cached statement comes back reset and unbound;
 * - a connection's flags are its own; pg_grid_db_add_flags_file marks
 *   every connection to the same file, in whatever stripe it lives, and no
 *   other;
 * - threads working on connections of their own (the simulator's household
 *   parts) get, step and put at once, and each ends with exactly its rows;
 * - pg_stmt_i64 is pg_db_i64 on a cached statement;
 * - pg_grid_db_close forgets a connection's statements (ASan: no leak). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/grid/grid_internal.h"
#include "p2pgrid/base/db.h"
#include "test_util_tmpdir.h"

#define SCHEMA "CREATE TABLE IF NOT EXISTS t (i INTEGER PRIMARY KEY, v INTEGER NOT NULL);"

static const char SQL_INSERT[] = "INSERT INTO t(v) VALUES (?1)";
static const char SQL_COUNT[] = "SELECT count(*) FROM t WHERE v = ?1";

static sqlite3 *open_db(const char *dir, const char *file) {
  sqlite3 *db = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_open(dir, file, SCHEMA, 5000, &db, &d), PG_OK);
  return db;
}

static void test_get_put(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_stmt");
  sqlite3 *db = open_db(dir, "a.db");
  pg_diag d = {{0}};
  sqlite3_stmt *a = NULL, *b = NULL, *c = NULL;
  assert_int_equal(pg_stmt_get(db, SQL_INSERT, &a, &d), PG_OK);
  assert_int_equal(pg_stmt_get(db, SQL_INSERT, &b, &d), PG_OK); /* a is out: a fresh one */
  assert_ptr_not_equal(a, b);
  assert_int_equal(sqlite3_bind_int64(a, 1, 7), SQLITE_OK);
  assert_int_equal(pg_stmt_step_done(db, a, "insert", &d), PG_OK); /* puts a back */
  pg_stmt_put(b);                                                  /* finalized */
  assert_int_equal(pg_stmt_get(db, SQL_INSERT, &c, &d), PG_OK);
  assert_ptr_equal(c, a); /* the cached one again, unbound: v NULL is refused */
  assert_int_equal(pg_stmt_step_done(db, c, "insert unbound", &d), PG_ERR_DB);
  assert_non_null(strstr(d.msg, "NOT NULL"));
  /* pg_stmt_i64: the value, def for NULL and for no row, the error by name */
  int64_t v = -1;
  assert_int_equal(pg_stmt_i64(db, "SELECT count(*) FROM t WHERE v = ?1", 7, -1, &v, &d), PG_OK);
  assert_int_equal(v, 1);
  assert_int_equal(pg_stmt_i64(db, "SELECT max(v) FROM t WHERE v > ?1", 7, -5, &v, &d), PG_OK);
  assert_int_equal(v, -5);
  assert_int_equal(pg_stmt_i64(db, "SELECT v FROM t WHERE v > ?1", 7, -6, &v, &d), PG_OK);
  assert_int_equal(v, -6);
  assert_int_equal(pg_stmt_i64(db, "SELECT v FROM no_such_table", 0, 0, &v, &d), PG_ERR_DB);
  assert_non_null(strstr(d.msg, "no_such_table"));
  pg_grid_db_close(db);
  tu_rmrf(dir);
}

static void test_flags_by_connection_and_file(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_stmt");
  enum { N = 40 }; /* more connections than it takes to fill several stripes */
  sqlite3 *same[N], *other = open_db(dir, "other.db");
  for (int i = 0; i < N; i++) same[i] = open_db(dir, "same.db");
  assert_true(pg_grid_db_set_flags(same[0], 1u));
  assert_int_equal(pg_grid_db_flags(same[0]), 1u);
  assert_int_equal(pg_grid_db_flags(same[1]), 0u);
  for (int i = 1; i < N; i++) assert_true(pg_grid_db_set_flags(same[i], 0u)); /* known */
  assert_true(pg_grid_db_set_flags(other, 0u));
  pg_grid_db_add_flags_file(same[0], 6u);
  assert_int_equal(pg_grid_db_flags(same[0]), 7u);
  for (int i = 1; i < N; i++) assert_int_equal(pg_grid_db_flags(same[i]), 6u);
  assert_int_equal(pg_grid_db_flags(other), 0u);
  for (int i = 0; i < N; i++) pg_grid_db_close(same[i]);
  pg_grid_db_close(other);
  tu_rmrf(dir);
}

typedef struct worker {
  sqlite3 *db[4];
  int id;
  int fails;
} worker;

#define ROUNDS 400

static void *worker_main(void *p) {
  worker *w = p;
  pg_diag d = {{0}};
  for (int r = 0; r < ROUNDS; r++) {
    sqlite3 *db = w->db[r % 4];
    sqlite3_stmt *st = NULL;
    if (pg_stmt_get(db, SQL_INSERT, &st, &d) || sqlite3_bind_int64(st, 1, w->id) != SQLITE_OK ||
        pg_stmt_step_done(db, st, "insert", &d))
      w->fails++;
    if (pg_grid_db_set_flags(db, (unsigned)r) != true) w->fails++;
  }
  return NULL;
}

static void test_threads_on_own_connections(void **state) {
  (void)state;
  char *dir = tu_mktmp("pg_stmt");
  enum { T = 4 };
  worker w[T];
  pthread_t th[T];
  for (int t = 0; t < T; t++) {
    w[t] = (worker){.id = t + 1};
    for (int k = 0; k < 4; k++) {
      char f[32];
      snprintf(f, sizeof f, "w%d_%d.db", t, k);
      w[t].db[k] = open_db(dir, f);
    }
  }
  for (int t = 0; t < T; t++) assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
  for (int t = 0; t < T; t++) assert_int_equal(pthread_join(th[t], NULL), 0);
  pg_diag d = {{0}};
  for (int t = 0; t < T; t++) {
    assert_int_equal(w[t].fails, 0);
    for (int k = 0; k < 4; k++) {
      sqlite3_stmt *st = NULL;
      assert_int_equal(pg_stmt_get(w[t].db[k], SQL_COUNT, &st, &d), PG_OK);
      assert_int_equal(sqlite3_bind_int64(st, 1, w[t].id), SQLITE_OK);
      assert_int_equal(sqlite3_step(st), SQLITE_ROW);
      assert_int_equal(sqlite3_column_int64(st, 0), ROUNDS / 4);
      pg_stmt_put(st);
      assert_int_equal(pg_grid_db_flags(w[t].db[k]), (unsigned)(ROUNDS - 4 + k));
      pg_grid_db_close(w[t].db[k]);
    }
  }
  tu_rmrf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_put),
      cmocka_unit_test(test_flags_by_connection_and_file),
      cmocka_unit_test(test_threads_on_own_connections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
