/* Invoices from a grid operator's database (invoice.h): its readings, slot
 * and month bills with their payments, and payouts, turned into the three
 * files of a simulator output in memory and read by the same parser. */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoice_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/csv.h"

/* One query's rows as CSV lines: every column as text, joined by commas.
 * Ids are [A-Za-z0-9._-] (the protocol), message ids hex: nothing to quote. */
static int rows_csv(sqlite3 *db, const char *sql, pg_buf *out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return pg_db_fail(db, d, "grid database");
  int s, n = sqlite3_column_count(st);
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < n; i++) {
      const unsigned char *v = sqlite3_column_text(st, i);
      if (i) pg_buf_put_u8(out, ',');
      if (v) pg_buf_puts(out, (const char *)v);
    }
    pg_buf_put_u8(out, '\n');
  }
  int rc = s == SQLITE_DONE ? pg_buf_status(out)
                            : pg_db_fail(db, d, "grid database");
  sqlite3_finalize(st);
  return rc;
}

/* Producers (kind 2) and consumers (kind 3, grid/protocol.h) with readings, by id. */
static const char sql_parts[] =
    "SELECT r.entity_id, '\"' || replace(COALESCE(g.name, r.entity_id), '\"', '\"\"') || '\"',"
    " CASE r.kind WHEN 2 THEN 'producer' ELSE 'consumer' END, '', 0, 0, 0, 0, 0"
    " FROM (SELECT DISTINCT entity_id, kind FROM readings WHERE kind IN (2, 3)) r"
    " LEFT JOIN registrations g ON g.id = r.entity_id ORDER BY r.entity_id";
/* Every member's settled slots: readings with their slot bill or payout. */
static const char sql_members[] =
    "SELECT r.slot, r.entity_id, CASE r.kind WHEN 2 THEN 'producer' ELSE 'consumer' END, r.wh,"
    " COALESCE(b.community_wh, p.community_wh, 0), COALESCE(b.amount, p.amount, 0),"
    " COALESCE(b.fee, 0), COALESCE(b.owed, p.amount, 0)"
    " FROM readings r"
    " LEFT JOIN bills b ON r.kind = 3 AND b.kind = 'slot' AND b.slot = r.slot"
    "  AND b.consumer_id = r.entity_id"
    " LEFT JOIN payouts p ON r.kind = 2 AND p.slot = r.slot AND p.producer_id = r.entity_id"
    " WHERE r.kind IN (2, 3) AND r.settled_in IS NOT NULL ORDER BY r.entity_id, r.slot";
/* Payments received (a month bill under the month's last slot) and payouts
 * in confirmed batches. */
static const char sql_transfers[] =
    "SELECT CASE kind WHEN 'month' THEN slot - 1 ELSE slot END,"
    " strftime('%Y-%m-%dT%H:%M:%SZ', COALESCE(paid_ms, 0) / 1000, 'unixepoch'), consumer_id,"
    " 'grid', MIN(paid, owed), kind, COALESCE(payment_msg, '')"
    " FROM bills WHERE paid > 0"
    " UNION ALL SELECT p.slot, strftime('%Y-%m-%dT%H:%M:%SZ', COALESCE(t.confirmed_ms,"
    " t.created_ms) / 1000, 'unixepoch'), 'grid', p.producer_id, p.amount,"
    " 'batch-' || p.batch_id, COALESCE(t.msg_id, '')"
    " FROM payouts p JOIN batches t ON t.id = p.batch_id WHERE t.state = 2";

int pg_invoice_load_grid_db(const pg_invoice_opts *o, const char *path, pg_invoice_set **out,
                            pg_diag *d) {
  *out = NULL;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    int rc = pg_fail(d, PG_ERR_IO, "%s: cannot open the grid database: %s", path,
                     db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc;
  }
  pg_buf f[3];
  for (int i = 0; i < 3; i++) pg_buf_init(&f[i], (size_t)1 << 31);
  pg_buf_puts(&f[0], "id,name,role,kind,energy_wh,community_wh,amount,baseline,savings\n");
  pg_buf_puts(&f[1], "slot,id,role,energy_wh,community_wh,amount,fee,total\n");
  pg_buf_puts(&f[2], "slot,time,from,to,amount,reference,message_id\n");
  /* one read transaction: the three views agree */
  int rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK
               ? PG_OK
               : pg_db_fail(db, d, "%s", path);
  if (!rc) rc = rows_csv(db, sql_parts, &f[0], d);
  if (!rc) rc = rows_csv(db, sql_members, &f[1], d);
  if (!rc) rc = rows_csv(db, sql_transfers, &f[2], d);
  sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  sqlite3_close(db);
  if (rc == PG_ERR_DB)
    rc = pg_fail(d, rc, "%s: not a grid operator's database? (%s)", path, d ? d->msg : "");
  if (!rc)
    rc = pg_invoice_set_parse(o, f[0].data, f[0].len, f[1].data, f[1].len, f[2].data, f[2].len,
                              out, d);
  for (int i = 0; i < 3; i++) pg_buf_free(&f[i]);
  return rc;
}
