/* The grid's settings histories (record_book.c pg_record_config): the rows
 * config_history, tariff_history and sharing_history hold for the audit. A
 * row only when a setting changes, never before the newest row, no tariff or
 * sharing row while there never was one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/grid/grid_internal.h"

static sqlite3 *open_db(void) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, pg_record_schema, NULL, NULL, NULL), SQLITE_OK);
  return db;
}

static long long one(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long long v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void config(sqlite3 *db, const pg_gridop_opts *o, const char *tz, int64_t from) {
  pg_diag d = {{0}};
  if (pg_record_config(db, o, tz, from, 1000 + from, &d) != PG_OK) fail_msg("%s", d.msg);
}

static void test_histories(void **state) {
  (void)state;
  sqlite3 *db = open_db();
  pg_gridop_opts o = {.mech = PG_MARKET_PAY_AS_CLEAR, .import_price = 300, .export_price = 80};
  config(db, &o, "UTC", 0);
  config(db, &o, "UTC", 4); /* unchanged: no row */
  assert_int_equal(one(db, "SELECT COUNT(*) FROM config_history"), 1);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM tariff_history"), 0);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM sharing_history"), 0);
  /* a price from slot 10; a tariff from slot 10 */
  o.import_price = 310;
  o.tariff.membership_fee = 5;
  config(db, &o, "Europe/Vienna", 10);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM config_history"), 2);
  assert_int_equal(one(db, "SELECT import_price FROM config_history WHERE from_slot = 10"), 310);
  assert_int_equal(one(db, "SELECT membership_fee FROM tariff_history WHERE from_slot = 10"), 5);
  /* a change said to start at slot 3 starts at the newest row (10), never before */
  o.import_price = 320;
  config(db, &o, "Europe/Vienna", 3);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM config_history"), 2);
  assert_int_equal(one(db, "SELECT import_price FROM config_history WHERE from_slot = 10"), 320);
  assert_int_equal(one(db, "SELECT import_price FROM config_history WHERE from_slot = 0"), 300);
  /* only the zone changes: a tariff row */
  config(db, &o, "Europe/Berlin", 20);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM tariff_history"), 2);
  /* a sharing mechanism: a sharing row; the same again: none */
  pg_grid_share_member m = {.id = "h1", .key_ppm = 250000, .group = 1, .participation = 60};
  o.mech = PG_MARKET_DYNAMIC_KEY, o.community_price = 120, o.share = &m, o.n_share = 1;
  config(db, &o, "Europe/Berlin", 30);
  config(db, &o, "Europe/Berlin", 31);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM sharing_history"), 1);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM config_history"), 3);
  /* a member's key changes: a sharing row */
  m.key_ppm = 500000;
  config(db, &o, "Europe/Berlin", 40);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM sharing_history"), 2);
  /* the tariff goes: a row of zeros says so */
  memset(&o.tariff, 0, sizeof o.tariff);
  config(db, &o, "Europe/Berlin", 50);
  assert_int_equal(one(db, "SELECT COUNT(*) FROM tariff_history"), 3);
  assert_int_equal(one(db, "SELECT membership_fee FROM tariff_history WHERE from_slot = 50"), 0);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_histories)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
