/* Issue 18: the grid's running totals (grid_totals, kept by triggers) equal
 * the sums over bills, readings and incoming after any mix of inserts,
 * updates and deletes, in committed and rolled-back transactions; a
 * database from before them is counted once at open, however often it is
 * opened. (The status, the metrics and the payout budget read them: before,
 * each summed tables that grow by a thousand rows a slot.) The payouts by
 * producer and batch state likewise (payout_totals, over payouts and
 * batches: the status, the payouts metric and the producers' list summed
 * every payout ever made, 1.4 million rows a year), and each member's
 * readings and bills (member_totals: the producers' and consumers' lists
 * summed both per member, 35 million readings a year for 1,000 homes).
 * The same for a
 * consumer's (consumer_totals over usages and requests: its bill check and
 * status summed both tables, 34 and 148 ms after a year of 15-minute
 * slots). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/grid/grid_internal.h"

static sqlite3 *open_db(const char *schema) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, schema, NULL, NULL, NULL), SQLITE_OK);
  return db;
}

static sqlite3 *open_grid_db(void) { return open_db(pg_gridop_schema); }

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
}

static int64_t scalar(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* The totals as the status summed them before. */
static pg_grid_totals summed(sqlite3 *db) {
  return (pg_grid_totals){
      scalar(db, "SELECT COUNT(*) FROM bills"),
      scalar(db, "SELECT COUNT(*) FROM bills WHERE paid >= owed"),
      scalar(db, "SELECT COALESCE(SUM(MIN(paid, owed)),0) FROM bills"),
      scalar(db, "SELECT COALESCE(SUM(owed - MIN(paid, owed)),0) FROM bills"),
      scalar(db, "SELECT COUNT(*) FROM readings"),
      scalar(db, "SELECT COALESCE(SUM(amount), 0) FROM incoming WHERE request_id NOT LIKE '(%'"),
  };
}

static void assert_totals(sqlite3 *db, const char *when) {
  pg_grid_totals t = {0}, s = summed(db);
  pg_diag d = {{0}};
  assert_int_equal(pg_grid_totals_get(db, &t, &d), PG_OK);
  if (memcmp(&t, &s, sizeof t) != 0)
    fail_msg("%s: kept %lld %lld %lld %lld %lld %lld, summed %lld %lld %lld %lld %lld %lld", when,
             (long long)t.bills, (long long)t.bills_paid, (long long)t.paid,
             (long long)t.outstanding, (long long)t.readings, (long long)t.received,
             (long long)s.bills, (long long)s.bills_paid, (long long)s.paid,
             (long long)s.outstanding, (long long)s.readings, (long long)s.received);
}

static uint64_t next(uint64_t *x) {
  *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
  return *x;
}

/* One random write: a bill (new, paid towards, re-owed, given to another
 * consumer, gone), a reading (new, re-metered, moved to another member,
 * gone) or a payment (new with a request id, the grid's own or none;
 * changed; gone). Keys repeat, so some inserts fail on a conflict. */
static void random_write(sqlite3 *db, uint64_t *x) {
  char sql[512];
  unsigned k = (unsigned)(next(x) % 40);
  int64_t a = (int64_t)(next(x) % 5000);
  switch (next(x) % 12) {
    case 0:
      snprintf(sql, sizeof sql,
               "INSERT OR IGNORE INTO bills(request_id, slot, consumer_id, usage_wh, community_wh,"
               " amount, fee, owed, baseline, reference, paid) VALUES ('r%u', %u, 'c%u', 1, 0,"
               " %lld, 0, %lld, 0, 'ref%u', %lld)",
               k, k, k % 7, (long long)a, (long long)a, k, (long long)(a % 3 == 0 ? a : 0));
      break;
    case 1:
      snprintf(sql, sizeof sql, "UPDATE bills SET paid = paid + %lld WHERE request_id = 'r%u'",
               (long long)(a % 700), k);
      break;
    case 2:
      snprintf(sql, sizeof sql, "UPDATE bills SET owed = %lld WHERE request_id = 'r%u'",
               (long long)a, k);
      break;
    case 3: snprintf(sql, sizeof sql, "DELETE FROM bills WHERE request_id = 'r%u'", k); break;
    case 4:
      snprintf(sql, sizeof sql,
               "INSERT OR IGNORE INTO readings(entity_id, kind, slot, wh, msg_id, received_ms)"
               " VALUES ('%c%u', 2, %u, %lld, 'm', 0)",
               a % 2 ? 'p' : 'c', k % 5, k, (long long)a);
      break;
    case 5: snprintf(sql, sizeof sql, "DELETE FROM readings WHERE slot = %u", k); break;
    case 9:
      snprintf(sql, sizeof sql, "UPDATE readings SET wh = %lld WHERE slot = %u", (long long)a, k);
      break;
    case 10:
      snprintf(sql, sizeof sql, "UPDATE OR IGNORE readings SET entity_id = 'c%u' WHERE slot = %u",
               (unsigned)(a % 7), k);
      break;
    case 11:
      snprintf(sql, sizeof sql, "UPDATE bills SET consumer_id = 'c%u' WHERE request_id = 'r%u'",
               (unsigned)(a % 9), k);
      break;
    case 6: {
      const char *req[] = {"'r1'", "'(own)'", "NULL", "'(genesis)'", "'r2'"};
      snprintf(sql, sizeof sql,
               "INSERT OR IGNORE INTO incoming(output_id, msg_id, amount, reference, request_id,"
               " seen_ms) VALUES ('o%u', 'm', %lld, NULL, %s, %lld)",
               k, (long long)a, req[a % 5], (long long)a);
      break;
    }
    case 7:
      snprintf(sql, sizeof sql,
               "UPDATE incoming SET amount = %lld, request_id = %s WHERE output_id = 'o%u'",
               (long long)a, a % 2 ? "'(own)'" : "'r9'", k);
      break;
    default: snprintf(sql, sizeof sql, "DELETE FROM incoming WHERE output_id = 'o%u'", k); break;
  }
  exec(db, sql);
}

typedef void (*write_fn)(sqlite3 *db, uint64_t *x);
typedef void (*check_fn)(sqlite3 *db, const char *when);

/* 300 transactions of 10 random writes from seed x, every fifth rolled
 * back, checked after each; after (may be NULL) then sees the database. */
static void churn(sqlite3 *db, uint64_t x, write_fn write, check_fn check,
                  void (*after)(sqlite3 *db, void *ctx), void *ctx) {
  for (int round = 0; round < 300; round++) {
    bool undo = round % 5 == 4;
    exec(db, "BEGIN");
    for (int i = 0; i < 10; i++) write(db, &x);
    exec(db, undo ? "ROLLBACK" : "COMMIT");
    char when[64];
    snprintf(when, sizeof when, "round %d (%s)", round, undo ? "rolled back" : "committed");
    check(db, when);
    if (after) after(db, ctx);
  }
}

typedef int (*setup_fn)(sqlite3 *db, pg_diag *d);

/* The totals set up on db, checked empty, then churned from seed x. */
static void churn_from_empty(sqlite3 *db, setup_fn setup, uint64_t x, write_fn write,
                             check_fn check, void (*after)(sqlite3 *db, void *ctx), void *ctx) {
  pg_diag d = {{0}};
  assert_int_equal(setup(db, &d), PG_OK);
  check(db, "empty");
  churn(db, x, write, check, after, ctx);
}

/* Rows written before the totals existed, in db: set-up counts them at the
 * first open, not again at the second, and the triggers keep them after
 * 100 more writes from *x. */
static void opened_twice(sqlite3 *db, setup_fn setup, uint64_t *x, write_fn write,
                         check_fn check) {
  pg_diag d = {{0}};
  assert_int_equal(setup(db, &d), PG_OK);
  check(db, "first open");
  assert_int_equal(setup(db, &d), PG_OK);
  check(db, "second open");
  for (int i = 0; i < 100; i++) write(db, x);
  check(db, "after more writes");
}

/* Rows written from seed x while drop_sql has removed one kind of the
 * grid's totals (rows_sql counts them: there must be some): counted at the
 * next open, not again at the one after, and kept from then on. */
static void older_grid_database(const char *drop_sql, uint64_t x, write_fn write, check_fn check,
                                const char *rows_sql) {
  sqlite3 *db = open_grid_db();
  pg_diag d = {{0}};
  assert_int_equal(pg_grid_totals_setup(db, &d), PG_OK);
  exec(db, drop_sql);
  for (int i = 0; i < 400; i++) write(db, &x);
  assert_true(scalar(db, rows_sql) > 0);
  opened_twice(db, pg_grid_totals_setup, &x, write, check);
  pg_grid_db_close(db);
}

static void test_totals_follow_every_write(void **state) {
  (void)state;
  sqlite3 *db = open_grid_db();
  churn_from_empty(db, pg_grid_totals_setup, 0x9e3779b97f4a7c15ULL, random_write, assert_totals,
                   NULL, NULL);
  /* the writes reached every kind of row */
  assert_true(scalar(db, "SELECT COUNT(*) FROM bills WHERE paid >= owed") > 0);
  assert_true(scalar(db, "SELECT COUNT(*) FROM bills WHERE paid < owed") > 0);
  assert_true(scalar(db, "SELECT COUNT(*) FROM incoming WHERE request_id LIKE '(%'") > 0);
  assert_true(scalar(db, "SELECT COUNT(*) FROM readings") > 0);
  pg_grid_db_close(db);
}

/* A database with bills, readings and payments from before the totals:
 * counted at the first open, not again at the next. */
static void test_totals_of_an_older_database(void **state) {
  (void)state;
  sqlite3 *db = open_grid_db();
  uint64_t x = 12345;
  for (int i = 0; i < 400; i++) random_write(db, &x);
  pg_diag d = {{0}};
  pg_grid_totals t = {0};
  assert_int_not_equal(pg_grid_totals_get(db, &t, &d), PG_OK); /* not set up yet */
  opened_twice(db, pg_grid_totals_setup, &x, random_write, assert_totals);
  pg_grid_db_close(db);
}

/* Set-up that fails leaves nothing half made: no table, no trigger. */
static void test_setup_is_one_transaction(void **state) {
  (void)state;
  sqlite3 *db = open_grid_db();
  exec(db, "DROP TABLE incoming"); /* the seed's sum over it fails */
  pg_diag d = {{0}};
  assert_int_not_equal(pg_grid_totals_setup(db, &d), PG_OK);
  assert_int_equal(scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'grid_totals%'"),
                   0);
  assert_int_equal(sqlite3_get_autocommit(db), 1);
  pg_grid_db_close(db);
}

/* ---- payouts by producer and batch state ---- */

/* sql's rows as text, "a|b|c;" each. */
static void rows_text(sqlite3 *db, const char *sql, char *out, size_t cap) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  size_t n = 0;
  out[0] = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(st); i++) {
      const char *v = (const char *)sqlite3_column_text(st, i);
      n += (size_t)snprintf(out + n, cap - n, "%s%s", v ? v : "NULL", i + 1 < sqlite3_column_count(st) ? "|" : ";");
      assert_true(n < cap);
    }
  }
  sqlite3_finalize(st);
}

/* payout_totals against the sums the status, the metrics and the producers'
 * list made before: by producer and state, and the money in all and paid. */
static void assert_payout_totals(sqlite3 *db, const char *when) {
  static char kept[16384], summed[16384];
  rows_text(db,
            "SELECT producer_id, state, payouts, amount FROM payout_totals"
            " WHERE payouts != 0 OR amount != 0 ORDER BY 1, 2",
            kept, sizeof kept);
  rows_text(db,
            "SELECT p.producer_id, COALESCE(b.state, -1), COUNT(*), SUM(p.amount) FROM payouts p"
            " LEFT JOIN batches b ON b.id = p.batch_id GROUP BY 1, 2 ORDER BY 1, 2",
            summed, sizeof summed);
  if (strcmp(kept, summed) != 0) fail_msg("%s: kept %s\nsummed %s", when, kept, summed);
  assert_int_equal(scalar(db, "SELECT COALESCE(SUM(amount), 0) FROM payout_totals WHERE state = 2"),
                   scalar(db, "SELECT COALESCE(SUM(p.amount), 0) FROM payouts p JOIN batches b"
                              " ON b.id = p.batch_id WHERE b.state = 2"));
}

/* One random write: a payout (new in a batch or in none, moved to another
 * batch or out, re-valued, given to another producer, gone) or a batch
 * (new, possibly with payouts already pointing at its id; its state
 * changed; gone while payouts point at it). */
static void payout_random_write(sqlite3 *db, uint64_t *x) {
  char sql[512], batch[16];
  unsigned k = (unsigned)(next(x) % 40), b = (unsigned)(next(x) % 7), st = (unsigned)(next(x) % 4);
  int64_t a = (int64_t)(next(x) % 5000);
  if (b == 0)
    snprintf(batch, sizeof batch, "NULL");
  else
    snprintf(batch, sizeof batch, "%u", b);
  switch (next(x) % 9) {
    case 0:
    case 1:
      snprintf(sql, sizeof sql,
               "INSERT OR IGNORE INTO payouts(slot, producer_id, output_wh, community_wh, amount,"
               " baseline, address, batch_id) VALUES (%u, 'p%u', 1, 1, %lld, 0, 'a', %s)",
               k, k % 5, (long long)a, batch);
      break;
    case 2: snprintf(sql, sizeof sql, "UPDATE payouts SET batch_id = %s WHERE slot = %u", batch, k); break;
    case 3: snprintf(sql, sizeof sql, "UPDATE payouts SET amount = %lld WHERE slot = %u", (long long)a, k); break;
    case 4: snprintf(sql, sizeof sql, "UPDATE OR IGNORE payouts SET producer_id = 'p%u' WHERE slot = %u", b, k); break;
    case 5: snprintf(sql, sizeof sql, "DELETE FROM payouts WHERE slot = %u", k); break;
    case 6:
      snprintf(sql, sizeof sql,
               "INSERT OR IGNORE INTO batches(id, state, total, outputs, created_ms)"
               " VALUES (%u, %u, 0, 0, 0)",
               b ? b : 1, st);
      break;
    case 7: snprintf(sql, sizeof sql, "UPDATE batches SET state = %u WHERE id = %u", st, b); break;
    default: snprintf(sql, sizeof sql, "DELETE FROM batches WHERE id = %u", b); break;
  }
  exec(db, sql);
}

/* Which kinds of payout rows there are, or-ed into *(int64_t *)ctx: bit 0
 * in no batch or a missing one, bit 1 + s in a batch of state s, bit 5 in a
 * batch that does not exist. */
static void payout_kinds(sqlite3 *db, void *ctx) {
  int64_t *seen = ctx;
  *seen |= scalar(db, "SELECT COALESCE(SUM(DISTINCT 1 << (COALESCE(b.state, -1) + 1)), 0)"
                      " FROM payouts p LEFT JOIN batches b ON b.id = p.batch_id");
  *seen |= scalar(db, "SELECT COUNT(*) > 0 FROM payouts WHERE batch_id IS NOT NULL AND batch_id"
                      " NOT IN (SELECT id FROM batches)") << 5;
}

static void test_payout_totals_follow_every_write(void **state) {
  (void)state;
  sqlite3 *db = open_grid_db();
  int64_t seen = 0;
  churn_from_empty(db, pg_grid_totals_setup, 0x5851f42d4c957f2dULL, payout_random_write,
                   assert_payout_totals, payout_kinds, &seen);
  assert_int_equal(seen, 0x3f);
  pg_grid_db_close(db);
}

/* Payouts and batches from before payout_totals: counted at the first open,
 * not again at the next (the grid's own totals already there). */
static void test_payout_totals_of_an_older_database(void **state) {
  (void)state;
  older_grid_database("DROP TABLE payout_totals; DROP TRIGGER payout_totals_new;"
                      " DROP TRIGGER payout_totals_set; DROP TRIGGER payout_totals_gone;"
                      " DROP TRIGGER payout_totals_batch_new; DROP TRIGGER payout_totals_batch_set;"
                      " DROP TRIGGER payout_totals_batch_gone;",
                      777, payout_random_write, assert_payout_totals,
                      "SELECT COUNT(*) FROM payouts");
}

/* ---- each member's readings and bills ---- */

/* member_totals against the sums the producers' and consumers' lists made
 * before, member by member (a row of zeros is a member with nothing). */
static void assert_member_totals(sqlite3 *db, const char *when) {
  static char kept[16384], summed[16384];
  rows_text(db,
            "SELECT entity_id, readings, wh, bills, billed, paid, outstanding FROM member_totals"
            " WHERE readings != 0 OR wh != 0 OR bills != 0 OR billed != 0 OR paid != 0"
            " OR outstanding != 0 ORDER BY 1",
            kept, sizeof kept);
  rows_text(db,
            "SELECT id, (SELECT COUNT(*) FROM readings x WHERE x.entity_id = id),"
            " (SELECT COALESCE(SUM(wh),0) FROM readings x WHERE x.entity_id = id),"
            " (SELECT COUNT(*) FROM bills b WHERE b.consumer_id = id),"
            " (SELECT COALESCE(SUM(owed),0) FROM bills b WHERE b.consumer_id = id),"
            " (SELECT COALESCE(SUM(MIN(paid, owed)),0) FROM bills b WHERE b.consumer_id = id),"
            " (SELECT COALESCE(SUM(owed - MIN(paid, owed)),0) FROM bills b WHERE b.consumer_id = id)"
            " FROM (SELECT entity_id AS id FROM readings UNION SELECT consumer_id FROM bills)"
            " ORDER BY 1",
            summed, sizeof summed);
  if (strcmp(kept, summed) != 0) fail_msg("%s: kept %s\nsummed %s", when, kept, summed);
}

static void test_member_totals_follow_every_write(void **state) {
  (void)state;
  sqlite3 *db = open_grid_db();
  churn_from_empty(db, pg_grid_totals_setup, 0x853c49e6748fea9bULL, random_write,
                   assert_member_totals, NULL, NULL);
  /* the writes reached members with readings only, bills only and both */
  assert_true(scalar(db, "SELECT COUNT(*) FROM member_totals WHERE readings > 0 AND bills = 0") > 0);
  assert_true(scalar(db, "SELECT COUNT(*) FROM member_totals WHERE readings = 0 AND bills > 0") > 0);
  assert_true(scalar(db, "SELECT COUNT(*) FROM member_totals WHERE readings > 0 AND bills > 0") > 0);
  assert_true(scalar(db, "SELECT COUNT(*) FROM member_totals WHERE outstanding > 0 AND paid > 0") > 0);
  pg_grid_db_close(db);
}

/* Readings and bills from before member_totals: counted at the first open,
 * not again at the next. */
static void test_member_totals_of_an_older_database(void **state) {
  (void)state;
  older_grid_database("DROP TABLE member_totals; DROP TRIGGER member_totals_reading_new;"
                      " DROP TRIGGER member_totals_reading_set; DROP TRIGGER member_totals_reading_gone;"
                      " DROP TRIGGER member_totals_bill_new; DROP TRIGGER member_totals_bill_set;"
                      " DROP TRIGGER member_totals_bill_gone;",
                      4242, random_write, assert_member_totals,
                      "SELECT MIN((SELECT COUNT(*) FROM readings), (SELECT COUNT(*) FROM bills))");
}

/* ---- a consumer's ---- */

static pg_consumer_totals consumer_summed(sqlite3 *db) {
  return (pg_consumer_totals){
      scalar(db, "SELECT COALESCE(SUM(wh), 0) FROM usages"),
      scalar(db, "SELECT COUNT(*) FROM usages"),
      scalar(db, "SELECT COUNT(*) FROM requests"),
      scalar(db, "SELECT COALESCE(SUM(usage_wh), 0) FROM requests WHERE state != 4"),
      scalar(db, "SELECT COUNT(*) FROM requests WHERE state = 4"),
      scalar(db, "SELECT COALESCE(SUM(owed), 0) FROM requests"),
      scalar(db, "SELECT COALESCE(SUM(owed), 0) FROM requests WHERE state = 3"),
      scalar(db, "SELECT COALESCE(SUM(owed), 0) FROM requests WHERE state = 2"),
      scalar(db, "SELECT COALESCE(SUM(owed), 0) FROM requests WHERE state < 3"),
  };
}

static void assert_consumer_totals(sqlite3 *db, const char *when) {
  pg_consumer_totals t = {0}, s = consumer_summed(db);
  pg_diag d = {{0}};
  assert_int_equal(pg_consumer_totals_get(db, &t, &d), PG_OK);
  const int64_t *a = &t.reported_wh, *b = &s.reported_wh;
  for (size_t i = 0; i < sizeof t / sizeof *a; i++)
    if (a[i] != b[i])
      fail_msg("%s: total %zu kept %lld, summed %lld", when, i, (long long)a[i], (long long)b[i]);
}

/* One random write: a usage (new, changed, gone) or a request (new in any
 * state, moved to another state, re-owed, re-metered, gone). */
static void consumer_random_write(sqlite3 *db, uint64_t *x) {
  char sql[512];
  unsigned k = (unsigned)(next(x) % 40), st = (unsigned)(next(x) % 5);
  int64_t a = (int64_t)(next(x) % 5000);
  switch (next(x) % 7) {
    case 0:
      snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO usages(slot, wh) VALUES (%u, %lld)", k,
               (long long)a);
      break;
    case 1: snprintf(sql, sizeof sql, "UPDATE usages SET wh = %lld WHERE slot = %u", (long long)a, k); break;
    case 2: snprintf(sql, sizeof sql, "DELETE FROM usages WHERE slot = %u", k); break;
    case 3:
      snprintf(sql, sizeof sql,
               "INSERT OR IGNORE INTO requests(request_id, slot, owed, usage_wh, address,"
               " reference, state, received_ms) VALUES ('r%u', %u, %lld, %lld, 'a', 'ref', %u, 0)",
               k, k, (long long)a, (long long)(a % 900), st);
      break;
    case 4: snprintf(sql, sizeof sql, "UPDATE requests SET state = %u WHERE request_id = 'r%u'", st, k); break;
    case 5:
      snprintf(sql, sizeof sql, "UPDATE requests SET owed = %lld, usage_wh = %lld WHERE request_id = 'r%u'",
               (long long)a, (long long)(a % 700), k);
      break;
    default: snprintf(sql, sizeof sql, "DELETE FROM requests WHERE request_id = 'r%u'", k); break;
  }
  exec(db, sql);
}

static sqlite3 *open_consumer_db(void) { return open_db(pg_consumer_schema); }

static void test_consumer_totals_follow_every_write(void **state) {
  (void)state;
  sqlite3 *db = open_consumer_db();
  churn_from_empty(db, pg_consumer_totals_setup, 0x2545f4914f6cdd1dULL, consumer_random_write,
                   assert_consumer_totals, NULL, NULL);
  for (int s = 0; s < 5; s++) { /* the writes reached every state */
    char q[80];
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM requests WHERE state = %d", s);
    assert_true(scalar(db, q) > 0);
  }
  assert_true(scalar(db, "SELECT COUNT(*) FROM usages") > 0);
  pg_grid_db_close(db);
}

static void test_consumer_totals_of_an_older_database(void **state) {
  (void)state;
  sqlite3 *db = open_consumer_db();
  uint64_t x = 777;
  for (int i = 0; i < 400; i++) consumer_random_write(db, &x);
  pg_diag d = {{0}};
  pg_consumer_totals t = {0};
  assert_int_not_equal(pg_consumer_totals_get(db, &t, &d), PG_OK); /* not set up yet */
  opened_twice(db, pg_consumer_totals_setup, &x, consumer_random_write, assert_consumer_totals);
  pg_grid_db_close(db);
  db = open_consumer_db(); /* set-up that fails leaves nothing half made */
  exec(db, "DROP TABLE usages");
  assert_int_not_equal(pg_consumer_totals_setup(db, &d), PG_OK);
  assert_int_equal(scalar(db, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'consumer_totals%'"), 0);
  assert_int_equal(sqlite3_get_autocommit(db), 1);
  pg_grid_db_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_totals_follow_every_write),
      cmocka_unit_test(test_totals_of_an_older_database),
      cmocka_unit_test(test_setup_is_one_transaction),
      cmocka_unit_test(test_payout_totals_follow_every_write),
      cmocka_unit_test(test_payout_totals_of_an_older_database),
      cmocka_unit_test(test_member_totals_follow_every_write),
      cmocka_unit_test(test_member_totals_of_an_older_database),
      cmocka_unit_test(test_consumer_totals_follow_every_write),
      cmocka_unit_test(test_consumer_totals_of_an_older_database),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
