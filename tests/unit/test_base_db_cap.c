/* Unit tests: base/db.h's pg_db_memory_cap in a process that caps before
 * opening any database (as an entity daemon does): SQLite keeps its memory
 * statistics on for the cap, and after writing and reading back 16 MiB
 * through a connection with SQLite's default 2 MiB page cache it holds
 * less than the cap plus a little (without the cap: the whole cache).
 * test_base_db shows the other order refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "p2pgrid/base/db.h"
#include "test_util_tmpdir.h"

#define CAP (512 * 1024)

static void test_cap_holds(void **state) {
  (void)state;
  pg_diag d = {{0}};
  assert_int_equal(pg_db_memory_cap(CAP, &d), PG_OK);
  char *dir = tu_mktmp("pg_db_cap");
  sqlite3 *db = NULL;
  assert_int_equal(pg_db_open(dir, "c.db", "CREATE TABLE t (i INTEGER PRIMARY KEY, v BLOB);", 1000,
                              &db, &d),
                   PG_OK);
  for (int k = 0; k < 16; k++) {
    assert_int_equal(pg_db_begin(db, &d), PG_OK);
    for (int i = 0; i < 256; i++)
      assert_int_equal(pg_db_exec(db, "INSERT INTO t(v) VALUES (randomblob(4000))", &d), PG_OK);
    assert_int_equal(pg_db_commit(db, &d), PG_OK);
  }
  int64_t n = 0;
  assert_int_equal(pg_db_i64(db, "SELECT sum(length(v)) FROM t", 0, 0, &n, &d), PG_OK);
  assert_int_equal(n, 16 * 256 * 4000);
  sqlite3_int64 used = sqlite3_memory_used();
  assert_true(used > 0); /* the statistics are on */
  if (used > CAP + 256 * 1024) fail_msg("SQLite holds %lld bytes over a cap of %d", (long long)used, CAP);
  sqlite3_close(db);
  tu_rmrf(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cap_holds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
