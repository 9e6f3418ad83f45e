/* totals.c — the grid's running totals (grid_internal.h): one row kept by
 * triggers in the same transaction as every write to bills, readings and
 * incoming, so the status, the metrics and the payout budget read six
 * numbers instead of summing a table that grows by a thousand rows a slot. */
#include <stdio.h>

#include "grid_internal.h"

/* A bill's share of each total, for NEW or OLD. */
#define BILL_PAID(r) "(" r ".paid >= " r ".owed)"
#define BILL_IN(r) "MIN(" r ".paid, " r ".owed)"
#define BILL_OUT(r) "(" r ".owed - MIN(" r ".paid, " r ".owed))"
/* A payment's share of the money received (the grid's own outputs, whose
 * request id starts with '(', and those without one are not payments). */
#define PAYMENT(r) "(CASE WHEN " r ".request_id NOT LIKE '(%' THEN " r ".amount ELSE 0 END)"

static const char totals_schema[] =
    "CREATE TABLE IF NOT EXISTS grid_totals(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " bills INTEGER NOT NULL, bills_paid INTEGER NOT NULL, paid INTEGER NOT NULL,"
    " outstanding INTEGER NOT NULL, readings INTEGER NOT NULL, received INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_bill_new AFTER INSERT ON bills BEGIN"
    " UPDATE grid_totals SET bills = bills + 1, bills_paid = bills_paid + " BILL_PAID("NEW") ","
    " paid = paid + " BILL_IN("NEW") ", outstanding = outstanding + " BILL_OUT("NEW") "; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_bill_set AFTER UPDATE OF paid, owed ON bills BEGIN"
    " UPDATE grid_totals SET bills_paid = bills_paid + " BILL_PAID("NEW") " - " BILL_PAID("OLD") ","
    " paid = paid + " BILL_IN("NEW") " - " BILL_IN("OLD") ","
    " outstanding = outstanding + " BILL_OUT("NEW") " - " BILL_OUT("OLD") "; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_bill_gone AFTER DELETE ON bills BEGIN"
    " UPDATE grid_totals SET bills = bills - 1, bills_paid = bills_paid - " BILL_PAID("OLD") ","
    " paid = paid - " BILL_IN("OLD") ", outstanding = outstanding - " BILL_OUT("OLD") "; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_reading_new AFTER INSERT ON readings BEGIN"
    " UPDATE grid_totals SET readings = readings + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_reading_gone AFTER DELETE ON readings BEGIN"
    " UPDATE grid_totals SET readings = readings - 1; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_payment_new AFTER INSERT ON incoming BEGIN"
    " UPDATE grid_totals SET received = received + " PAYMENT("NEW") "; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_payment_set AFTER UPDATE OF amount, request_id"
    " ON incoming BEGIN"
    " UPDATE grid_totals SET received = received + " PAYMENT("NEW") " - " PAYMENT("OLD") "; END;"
    "CREATE TRIGGER IF NOT EXISTS grid_totals_payment_gone AFTER DELETE ON incoming BEGIN"
    " UPDATE grid_totals SET received = received - " PAYMENT("OLD") "; END;";

/* The totals of the rows already there (a database from before the totals,
 * or a new one: all zero). Run only when the row is missing: its sums read
 * every bill, reading and payment. */
static const char totals_seed[] =
    "INSERT INTO grid_totals(id, bills, bills_paid, paid, outstanding, readings,"
    " received) SELECT 1, COUNT(*), COALESCE(SUM(paid >= owed), 0),"
    " COALESCE(SUM(MIN(paid, owed)), 0), COALESCE(SUM(owed - MIN(paid, owed)), 0),"
    " (SELECT COUNT(*) FROM readings),"
    " (SELECT COALESCE(SUM(amount), 0) FROM incoming WHERE request_id NOT LIKE '(%')"
    " FROM bills";

int pg_grid_totals_setup(sqlite3 *db, pg_diag *d) {
  int rc = pg_db_exec(db, "BEGIN IMMEDIATE", d);
  if (rc) return rc;
  int64_t rows = 0;
  rc = pg_db_exec(db, totals_schema, d);
  if (!rc) rc = pg_db_i64(db, "SELECT COUNT(*) FROM grid_totals", 0, 0, &rows, d);
  if (!rc && rows == 0) rc = pg_db_exec(db, totals_seed, d);
  if (!rc) return pg_db_commit(db, d);
  pg_db_rollback(db);
  return rc;
}

int pg_grid_totals_get(sqlite3 *db, pg_grid_totals *t, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT bills, bills_paid, paid, outstanding, readings, received"
                           " FROM grid_totals WHERE id = 1",
                       &st, d);
  if (rc) return rc;
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    *t = (pg_grid_totals){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                          sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3),
                          sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5)};
  } else {
    rc = s == SQLITE_DONE ? pg_fail(d, PG_ERR_STATE, "grid totals: the row is missing")
                          : pg_db_fail(db, d, "grid totals read");
  }
  pg_stmt_put(st);
  return rc;
}
