/* totals.c — running totals (grid_internal.h): one row kept by triggers in
 * the same transaction as every write to the tables it sums, so a status,
 * a metric or a check reads a few numbers instead of summing a table that
 * grows every slot. The grid's: bills, readings and incoming (a thousand
 * rows a slot), payouts by producer and batch state (one per producer a
 * slot: a year is 1.4 million rows for 40 producers) and each member's
 * readings and bills (the producers' and consumers' lists: a year of
 * 1,000 homes is 35 million readings); a consumer's: its
 * usages and payment requests (one each a slot: a year of 15-minute slots
 * made each bill's check sum 35,040 rows twice, 34 ms, and its status
 * 148 ms). */
#include <stdio.h>
#include <string.h>

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

/* Creates schema (the totals' table and triggers) if missing and, when
 * count_sql finds no row, runs seed: all in one transaction. */
static int totals_setup(sqlite3 *db, const char *schema, const char *count_sql, const char *seed,
                        pg_diag *d) {
  int rc = pg_db_exec(db, "BEGIN IMMEDIATE", d);
  if (rc) return rc;
  int64_t rows = 0;
  rc = pg_db_exec(db, schema, d);
  if (!rc) rc = pg_db_i64(db, count_sql, 0, 0, &rows, d);
  if (!rc && rows == 0) rc = pg_db_exec(db, seed, d);
  if (!rc) return pg_db_commit(db, d);
  pg_db_rollback(db);
  return rc;
}

/* ---- payouts by producer and batch state ----
 * A payout's batch state (-1: in no batch, or in one that does not exist),
 * and a row's or a batch's payouts moved into (sign "") or out of ("-")
 * payout_totals. Batch ids never change (AUTOINCREMENT). */
#define BATCH_STATE(b) "COALESCE((SELECT state FROM batches WHERE id = " b "), -1)"
#define PT_UPSERT                                                                              \
  " ON CONFLICT(producer_id, state) DO UPDATE SET payouts = payouts + excluded.payouts,"       \
  " amount = amount + excluded.amount;"
#define PT_ROW(sign, r)                                                                        \
  " INSERT INTO payout_totals VALUES (" r ".producer_id, " BATCH_STATE(r ".batch_id") ", "     \
  sign "1, " sign r ".amount)" PT_UPSERT
#define PT_BATCH(sign, state, id)                                                              \
  " INSERT INTO payout_totals SELECT producer_id, " state ", " sign "COUNT(*), " sign          \
  "SUM(amount) FROM payouts WHERE batch_id = " id " GROUP BY producer_id" PT_UPSERT

static const char payout_totals_schema[] =
    "CREATE TABLE IF NOT EXISTS payout_totals(producer_id TEXT NOT NULL, state INTEGER NOT NULL,"
    " payouts INTEGER NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY(producer_id, state))"
    " WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS payout_totals_new AFTER INSERT ON payouts BEGIN"
    PT_ROW("", "NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS payout_totals_set AFTER UPDATE OF producer_id, batch_id, amount"
    " ON payouts BEGIN" PT_ROW("-", "OLD") PT_ROW("", "NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS payout_totals_gone AFTER DELETE ON payouts BEGIN"
    PT_ROW("-", "OLD") " END;"
    "CREATE TRIGGER IF NOT EXISTS payout_totals_batch_new AFTER INSERT ON batches BEGIN"
    PT_BATCH("-", "-1", "NEW.id") PT_BATCH("", "NEW.state", "NEW.id") " END;"
    "CREATE TRIGGER IF NOT EXISTS payout_totals_batch_set AFTER UPDATE OF state ON batches BEGIN"
    PT_BATCH("-", "OLD.state", "OLD.id") PT_BATCH("", "NEW.state", "NEW.id") " END;"
    "CREATE TRIGGER IF NOT EXISTS payout_totals_batch_gone AFTER DELETE ON batches BEGIN"
    PT_BATCH("-", "OLD.state", "OLD.id") PT_BATCH("", "-1", "OLD.id") " END;";

/* Run when the table is empty: a database from before it (or one without
 * payouts, where it adds nothing). */
static const char payout_totals_seed[] =
    "INSERT INTO payout_totals SELECT p.producer_id, COALESCE(b.state, -1), COUNT(*),"
    " SUM(p.amount) FROM payouts p LEFT JOIN batches b ON b.id = p.batch_id GROUP BY 1, 2";

/* ---- each member's readings and bills ----
 * A reading's and a bill's shares (of NEW or OLD) added to (sign "") or
 * taken from ("-") its member's row: readings, wh, bills, billed, paid,
 * outstanding. */
#define MT_UPSERT                                                                              \
  " ON CONFLICT(entity_id) DO UPDATE SET readings = readings + excluded.readings,"              \
  " wh = wh + excluded.wh, bills = bills + excluded.bills, billed = billed + excluded.billed,"  \
  " paid = paid + excluded.paid, outstanding = outstanding + excluded.outstanding;"
#define MT_READING(sign, r)                                                                    \
  " INSERT INTO member_totals VALUES (" r ".entity_id, " sign "1, " sign r ".wh, 0, 0, 0, 0)"   \
  MT_UPSERT
#define MT_BILL(sign, r)                                                                       \
  " INSERT INTO member_totals VALUES (" r ".consumer_id, 0, 0, " sign "1, " sign r ".owed, "   \
  sign BILL_IN(r) ", " sign BILL_OUT(r) ")" MT_UPSERT

static const char member_totals_schema[] =
    "CREATE TABLE IF NOT EXISTS member_totals(entity_id TEXT PRIMARY KEY,"
    " readings INTEGER NOT NULL, wh INTEGER NOT NULL, bills INTEGER NOT NULL,"
    " billed INTEGER NOT NULL, paid INTEGER NOT NULL, outstanding INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS member_totals_reading_new AFTER INSERT ON readings BEGIN"
    MT_READING("", "NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS member_totals_reading_set AFTER UPDATE OF entity_id, wh"
    " ON readings BEGIN" MT_READING("-", "OLD") MT_READING("", "NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS member_totals_reading_gone AFTER DELETE ON readings BEGIN"
    MT_READING("-", "OLD") " END;"
    "CREATE TRIGGER IF NOT EXISTS member_totals_bill_new AFTER INSERT ON bills BEGIN"
    MT_BILL("", "NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS member_totals_bill_set AFTER UPDATE OF consumer_id, paid, owed"
    " ON bills BEGIN" MT_BILL("-", "OLD") MT_BILL("", "NEW") " END;"
    "CREATE TRIGGER IF NOT EXISTS member_totals_bill_gone AFTER DELETE ON bills BEGIN"
    MT_BILL("-", "OLD") " END;";

/* Run when the table is empty: a database from before it (or one without
 * readings or bills, where it adds nothing). */
static const char member_totals_seed[] =
    "INSERT INTO member_totals SELECT id, SUM(n), SUM(wh), SUM(b), SUM(owed), SUM(paid), SUM(out)"
    " FROM (SELECT entity_id AS id, 1 AS n, wh, 0 AS b, 0 AS owed, 0 AS paid, 0 AS out"
    " FROM readings UNION ALL SELECT consumer_id, 0, 0, 1, owed, " BILL_IN("bills") ", "
    BILL_OUT("bills") " FROM bills) GROUP BY id";

int pg_grid_totals_setup(sqlite3 *db, pg_diag *d) {
  int rc = totals_setup(db, totals_schema, "SELECT COUNT(*) FROM grid_totals", totals_seed, d);
  if (!rc)
    rc = totals_setup(db, payout_totals_schema, "SELECT COUNT(*) FROM payout_totals",
                      payout_totals_seed, d);
  if (!rc)
    rc = totals_setup(db, member_totals_schema, "SELECT COUNT(*) FROM member_totals",
                      member_totals_seed, d);
  return rc;
}

/* The one row of sql's n integer columns into v (a totals struct of int64
 * fields, in the columns' order); PG_ERR_STATE when there is no row. */
static int totals_row(sqlite3 *db, const char *sql, const char *what, int64_t *v, int n,
                      pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, sql, &st, d);
  if (rc) return rc;
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    for (int i = 0; i < n; i++) v[i] = sqlite3_column_int64(st, i);
  else
    rc = s == SQLITE_DONE ? pg_fail(d, PG_ERR_STATE, "%s: the row is missing", what)
                          : pg_db_fail(db, d, "%s read", what);
  pg_stmt_put(st);
  return rc;
}

/* The structs are their columns, in order (memcpy from the row's values). */
_Static_assert(sizeof(pg_grid_totals) == 6 * sizeof(int64_t), "grid totals: 6 columns");
_Static_assert(sizeof(pg_consumer_totals) == 9 * sizeof(int64_t), "consumer totals: 9 columns");

int pg_grid_totals_get(sqlite3 *db, pg_grid_totals *t, pg_diag *d) {
  int64_t v[6];
  int rc = totals_row(db,
                      "SELECT bills, bills_paid, paid, outstanding, readings, received"
                      " FROM grid_totals WHERE id = 1",
                      "grid totals", v, 6, d);
  if (!rc) memcpy(t, v, sizeof *t);
  return rc;
}

/* ---- a consumer's ---- */

/* A request's share of each total, for NEW, OLD or the table's row (the
 * seed). Request states: consumer.c (2 sent, 3 paid, 4 refused). */
#define R_BILLED_WH(r) "(" r ".state != 4) * " r ".usage_wh"
#define R_REFUSED(r) "(" r ".state = 4)"
#define R_PAID(r) "(" r ".state = 3) * " r ".owed"
#define R_PENDING(r) "(" r ".state = 2) * " r ".owed"
#define R_OUTSTANDING(r) "(" r ".state < 3) * " r ".owed"
/* A usage's and a request's shares added (op "+") or taken away ("-"). */
#define USAGE(op, r) " reported_wh = reported_wh " op " " r ".wh, slots_reported = slots_reported " op " 1"
#define REQUEST(op, r)                                                                         \
  " requests = requests " op " 1, billed_wh = billed_wh " op " " R_BILLED_WH(r) ","            \
  " refused = refused " op " " R_REFUSED(r) ", billed = billed " op " " r ".owed,"             \
  " paid = paid " op " " R_PAID(r) ", pending = pending " op " " R_PENDING(r) ","              \
  " outstanding = outstanding " op " " R_OUTSTANDING(r)
/* A changed request: its new shares in, its old ones out, in one UPDATE. */
#define NEW_OLD(col, share) " " col " = " col " + " share("NEW") " - " share("OLD")
#define REQUEST_SET                                                                            \
  NEW_OLD("billed_wh", R_BILLED_WH) "," NEW_OLD("refused", R_REFUSED)                          \
  ", billed = billed + NEW.owed - OLD.owed," NEW_OLD("paid", R_PAID) ","                       \
  NEW_OLD("pending", R_PENDING) "," NEW_OLD("outstanding", R_OUTSTANDING)

static const char consumer_totals_schema[] =
    "CREATE TABLE IF NOT EXISTS consumer_totals(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " reported_wh INTEGER NOT NULL, slots_reported INTEGER NOT NULL, requests INTEGER NOT NULL,"
    " billed_wh INTEGER NOT NULL, refused INTEGER NOT NULL, billed INTEGER NOT NULL,"
    " paid INTEGER NOT NULL, pending INTEGER NOT NULL, outstanding INTEGER NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS consumer_totals_usage_new AFTER INSERT ON usages BEGIN"
    " UPDATE consumer_totals SET" USAGE("+", "NEW") "; END;"
    "CREATE TRIGGER IF NOT EXISTS consumer_totals_usage_set AFTER UPDATE OF wh ON usages BEGIN"
    " UPDATE consumer_totals SET reported_wh = reported_wh + NEW.wh - OLD.wh; END;"
    "CREATE TRIGGER IF NOT EXISTS consumer_totals_usage_gone AFTER DELETE ON usages BEGIN"
    " UPDATE consumer_totals SET" USAGE("-", "OLD") "; END;"
    "CREATE TRIGGER IF NOT EXISTS consumer_totals_request_new AFTER INSERT ON requests BEGIN"
    " UPDATE consumer_totals SET" REQUEST("+", "NEW") "; END;"
    "CREATE TRIGGER IF NOT EXISTS consumer_totals_request_set AFTER UPDATE OF state, owed,"
    " usage_wh ON requests BEGIN UPDATE consumer_totals SET" REQUEST_SET "; END;"
    "CREATE TRIGGER IF NOT EXISTS consumer_totals_request_gone AFTER DELETE ON requests BEGIN"
    " UPDATE consumer_totals SET" REQUEST("-", "OLD") "; END;";

static const char consumer_totals_seed[] =
    "INSERT INTO consumer_totals(id, reported_wh, slots_reported, requests, billed_wh, refused,"
    " billed, paid, pending, outstanding) SELECT 1,"
    " (SELECT COALESCE(SUM(wh), 0) FROM usages), (SELECT COUNT(*) FROM usages), COUNT(*),"
    " COALESCE(SUM(" R_BILLED_WH("requests") "), 0), COALESCE(SUM(" R_REFUSED("requests") "), 0),"
    " COALESCE(SUM(owed), 0), COALESCE(SUM(" R_PAID("requests") "), 0),"
    " COALESCE(SUM(" R_PENDING("requests") "), 0), COALESCE(SUM(" R_OUTSTANDING("requests") "), 0)"
    " FROM requests";

int pg_consumer_totals_setup(sqlite3 *db, pg_diag *d) {
  return totals_setup(db, consumer_totals_schema, "SELECT COUNT(*) FROM consumer_totals",
                      consumer_totals_seed, d);
}

int pg_consumer_totals_get(sqlite3 *db, pg_consumer_totals *t, pg_diag *d) {
  int64_t v[9];
  int rc = totals_row(db,
                      "SELECT reported_wh, slots_reported, requests, billed_wh, refused, billed,"
                      " paid, pending, outstanding FROM consumer_totals WHERE id = 1",
                      "consumer totals", v, 9, d);
  if (!rc) memcpy(t, v, sizeof *t);
  return rc;
}
