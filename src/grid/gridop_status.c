/* gridop_status.c — what the grid operator tells (gridop_internal.h): the
 * status, record and metrics of its API and the per-member and per-slot
 * series of the dashboard, read on status_db (a connection of its own)
 * under status_mu, so a request never waits for a step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridop_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/grid/record.h"

static json_t *row_json(sqlite3_stmt *st) {
  json_t *o = json_object();
  int n = sqlite3_column_count(st);
  for (int i = 0; i < n; i++) {
    const char *name = sqlite3_column_name(st, i);
    switch (sqlite3_column_type(st, i)) {
      case SQLITE_INTEGER: json_object_set_new(o, name, json_integer(sqlite3_column_int64(st, i))); break;
      case SQLITE_FLOAT: json_object_set_new(o, name, json_real(sqlite3_column_double(st, i))); break;
      case SQLITE_TEXT: json_object_set_new(o, name, json_string((const char *)sqlite3_column_text(st, i))); break;
      default: json_object_set_new(o, name, json_null()); break;
    }
  }
  return o;
}

/* Steps st to the end: a JSON array of its rows (finalizes st). */
int pg_rows_collect(sqlite3 *db, sqlite3_stmt *st, json_t **out, pg_diag *d) {
  json_t *arr = json_array();
  int s, rc = PG_OK;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(arr, row_json(st));
  if (s != SQLITE_DONE) {
    rc = pg_db_fail(db, d, "status read");
    json_decref(arr);
  } else {
    *out = arr;
  }
  pg_stmt_put(st);
  return rc;
}

int pg_rows_json(sqlite3 *db, const char *sql, int64_t a, int64_t b, json_t **out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, sql, &st, d);
  if (rc) return rc;
  int np = sqlite3_bind_parameter_count(st);
  if (np >= 1) sqlite3_bind_int64(st, 1, a);
  if (np >= 2) sqlite3_bind_int64(st, 2, b);
  return pg_rows_collect(db, st, out, d);
}

static int one_json(sqlite3 *db, const char *sql, json_t **out, pg_diag *d) {
  json_t *arr = NULL;
  int rc = pg_rows_json(db, sql, 0, 0, &arr, d);
  if (rc) return rc;
  *out = json_array_size(arr) ? json_incref(json_array_get(arr, 0)) : json_object();
  json_decref(arr);
  return PG_OK;
}

int pg_gridop_record(pg_gridop *g, json_t **out, pg_diag *d) {
  char root[PG_MAM_HASH_TRYTES + 1];
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_kv_get_text(g->status_db, "record_root", root, sizeof root, d);
  pthread_mutex_unlock(&g->status_mu);
  if (rc) return rc;
  if (!root[0]) return pg_fail(d, PG_ERR_NOT_FOUND, "grid: no record channel yet");
  *out = json_pack("{s:s,s:s,s:s,s:i}", "grid", g->e.id, "root", root, "mode", "public",
                   "security", PG_RECORD_SECURITY);
  return *out ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
}

int pg_gridop_metrics(pg_gridop *g, pg_buf *out, pg_diag *d) {
  pthread_mutex_lock(&g->status_mu);
  int64_t budget = 0;
  int rc = pg_gridop_payout_budget(g, g->status_db, &budget, d);
  if (!rc) rc = pg_entity_metrics(&g->e, g->status_db, &budget, g->o.float_max, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

int pg_gridop_status(pg_gridop *g, json_t **out, pg_diag *d) {
  pthread_mutex_lock(&g->status_mu);
  sqlite3 *db = g->status_db;
  json_t *o = NULL, *totals = NULL, *last = NULL, *recent_in = NULL, *recent_out = NULL;
  int rc = pg_entity_status(&g->e, db, &o, d);
  if (!rc)
    rc = one_json(db,
                  "SELECT COUNT(*) AS slotsSettled, COALESCE(SUM(supply_wh),0) AS producedWh,"
                  " COALESCE(SUM(demand_wh),0) AS consumedWh, COALESCE(SUM(matched_wh),0) AS communityWh,"
                  " COALESCE(SUM(import_wh),0) AS importedWh, COALESCE(SUM(export_wh),0) AS exportedWh,"
                  " COALESCE(SUM(consumer_payments),0) AS billed, COALESCE(SUM(producer_revenues),0) AS producerRevenues,"
                  " COALESCE(SUM(fees),0) AS fees, COALESCE(SUM(grid_income),0) AS gridIncome,"
                  " COALESCE(SUM(import_cost),0) AS importCost, COALESCE(SUM(export_income),0) AS exportIncome,"
                  " (SELECT bills FROM grid_totals) AS paymentRequests,"
                  " (SELECT bills_paid FROM grid_totals) AS paymentsConfirmed,"
                  " (SELECT paid FROM grid_totals) AS paid,"
                  " (SELECT outstanding FROM grid_totals) AS outstanding,"
                  " (SELECT COALESCE(SUM(amount),0) FROM payout_totals) AS distributions,"
                  " (SELECT COALESCE(SUM(amount),0) FROM payout_totals WHERE state = 2) AS paidOut,"
                  " (SELECT COALESCE(SUM(amount),0) FROM payouts WHERE batch_id IS NULL) AS payoutsDue,"
                  " (SELECT COUNT(*) FROM batches) AS payoutBatches,"
                  " (SELECT readings FROM grid_totals) AS readings FROM slots",
                  &totals, d);
  if (!rc)
    rc = one_json(db, "SELECT slot, mechanism, supply_wh AS supplyWh, demand_wh AS demandWh,"
                      " has_price AS hasPrice, buy_price AS buyPrice, sell_price AS sellPrice"
                      " FROM slots ORDER BY slot DESC LIMIT 1",
                  &last, d);
  if (!rc)
    rc = pg_rows_json(db, pg_grid_sql_recent_payments, 0, 0, &recent_in, d);
  if (!rc)
    rc = pg_rows_json(db, "SELECT id, msg_id AS messageId, total, outputs, state, created_ms AS time"
                       " FROM batches ORDER BY id DESC LIMIT 10",
                   0, 0, &recent_out, d);
  if (!rc) {
    json_object_set_new(o, "address", json_string(g->address_bech32));
    json_object_set_new(o, "mechanism", json_string(pg_market_mech_name(g->o.mech)));
    json_object_set_new(o, "importPrice", json_integer((json_int_t)g->o.import_price));
    json_object_set_new(o, "exportPrice", json_integer((json_int_t)g->o.export_price));
    rc = pg_status_i64(o, "producers", db,
                       "SELECT COUNT(*) FROM registrations WHERE type = 2 AND state IN (0,1)", d);
    if (!rc)
      rc = pg_status_i64(o, "consumers", db,
                         "SELECT COUNT(*) FROM registrations WHERE type = 3 AND state IN (0,1)", d);
    if (!rc)
      rc = pg_status_i64(o, "nextSlot", db, "SELECT value FROM kv WHERE key = 'next_slot'", d);
    json_object_set_new(o, "totals", totals);
    json_object_set_new(o, "lastSlot", last);
    json_object_set_new(o, "incoming", recent_in);
    json_object_set_new(o, "payouts", recent_out);
    totals = last = recent_in = recent_out = NULL;
  }
  pthread_mutex_unlock(&g->status_mu);
  json_decref(totals);
  json_decref(last);
  json_decref(recent_in);
  json_decref(recent_out);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return PG_OK;
}

static const char *state_sql =
    "CASE r.state WHEN 0 THEN 'waiting' WHEN 1 THEN 'active' WHEN 2 THEN 'closed'"
    " WHEN 3 THEN 'rejected' ELSE 'removed' END";

int pg_gridop_producers(pg_gridop *g, json_t **out, pg_diag *d) {
  char sql[1200];
  snprintf(sql, sizeof sql,
           "SELECT r.id, r.name, %s AS state, r.messages, r.error,"
           " COALESCE(t.readings, 0) AS readings, COALESCE(t.wh, 0) AS outputWh,"
           " (SELECT address FROM readings x WHERE x.entity_id = r.id ORDER BY slot DESC LIMIT 1) AS address,"
           " (SELECT COALESCE(SUM(amount),0) FROM payout_totals o WHERE o.producer_id = r.id) AS earned,"
           " (SELECT COALESCE(SUM(amount),0) FROM payout_totals o WHERE o.producer_id = r.id"
           "  AND o.state = 2) AS paid,"
           " (SELECT COALESCE(SUM(amount),0) FROM payouts p WHERE p.producer_id = r.id"
           "  AND p.batch_id IS NULL) AS due"
           " FROM registrations r LEFT JOIN member_totals t ON t.entity_id = r.id"
           " WHERE r.type = 2 ORDER BY r.id",
           state_sql);
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_rows_json(g->status_db, sql, 0, 0, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

int pg_gridop_consumers(pg_gridop *g, json_t **out, pg_diag *d) {
  char sql[1200];
  snprintf(sql, sizeof sql,
           "SELECT r.id, r.name, %s AS state, r.messages, r.error,"
           " COALESCE(t.readings, 0) AS readings, COALESCE(t.wh, 0) AS usageWh,"
           " COALESCE(t.billed, 0) AS billed, COALESCE(t.paid, 0) AS paid,"
           " COALESCE(t.outstanding, 0) AS outstanding, COALESCE(t.bills, 0) AS requests"
           " FROM registrations r LEFT JOIN member_totals t ON t.entity_id = r.id"
           " WHERE r.type = 3 ORDER BY r.id",
           state_sql);
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_rows_json(g->status_db, sql, 0, 0, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

int pg_gridop_slots(pg_gridop *g, uint64_t from, uint64_t to, json_t **out, pg_diag *d) {
  if (to > INT64_MAX) to = INT64_MAX;
  if (from > INT64_MAX) from = INT64_MAX;
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_rows_json(g->status_db,
                     "SELECT slot, settled_ms AS settledMs, mechanism, supply_wh AS supplyWh,"
                     " demand_wh AS demandWh, matched_wh AS communityWh, import_wh AS importWh,"
                     " export_wh AS exportWh, consumer_payments AS billed,"
                     " producer_revenues AS producerRevenues, fees, grid_income AS gridIncome,"
                     " has_price AS hasPrice, buy_price AS buyPrice, sell_price AS sellPrice,"
                     " producers, consumers, late_readings AS lateReadings"
                     " FROM slots WHERE slot BETWEEN ?1 AND ?2 ORDER BY slot LIMIT 10000",
                     (int64_t)from, (int64_t)to, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

/* ---- per-entity slot series (dashboard) ---- */

static int entity_rows(pg_gridop *g, const char *sql, const char *id, uint64_t from, uint64_t to,
                       json_t **out, pg_diag *d) {
  if (to > INT64_MAX) to = INT64_MAX;
  if (from > INT64_MAX) from = INT64_MAX;
  pthread_mutex_lock(&g->status_mu);
  sqlite3 *db = g->status_db;
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, sql, &st, d);
  if (!rc) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (int64_t)from);
    sqlite3_bind_int64(st, 3, (int64_t)to);
    rc = pg_rows_collect(db, st, out, d);
  }
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

int pg_gridop_producer_slots(pg_gridop *g, const char *id, uint64_t from, uint64_t to,
                             json_t **out, pg_diag *d) {
  return entity_rows(g,
                     "SELECT r.slot, r.wh AS outputWh, r.price AS askPrice,"
                     " COALESCE(p.community_wh, 0) AS communityWh, COALESCE(p.amount, 0) AS amount,"
                     " p.batch_id AS batchId, r.msg_id AS messageId"
                     " FROM readings r LEFT JOIN payouts p ON p.slot = r.slot AND p.producer_id = r.entity_id"
                     " WHERE r.entity_id = ?1 AND r.slot BETWEEN ?2 AND ?3 ORDER BY r.slot LIMIT 10000",
                     id, from, to, out, d);
}

int pg_gridop_consumer_slots(pg_gridop *g, const char *id, uint64_t from, uint64_t to,
                             json_t **out, pg_diag *d) {
  return entity_rows(g,
                     "SELECT r.slot, r.wh AS usageWh, r.price AS bidPrice,"
                     " COALESCE(SUM(b.owed), 0) AS billed,"
                     " COALESCE(SUM(MIN(b.paid, b.owed)), 0) AS paid,"
                     " COALESCE(SUM(b.owed - MIN(b.paid, b.owed)), 0) AS outstanding,"
                     " r.msg_id AS messageId, MAX(b.payment_msg) AS paymentMessageId"
                     " FROM readings r LEFT JOIN bills b ON b.slot = r.slot AND b.consumer_id = r.entity_id"
                     " AND b.kind = 'slot'"
                     " WHERE r.entity_id = ?1 AND r.slot BETWEEN ?2 AND ?3"
                     " GROUP BY r.slot ORDER BY r.slot LIMIT 10000",
                     id, from, to, out, d);
}

int pg_gridop_month_bills(pg_gridop *g, const char *id, uint64_t from, uint64_t to, json_t **out,
                          pg_diag *d) {
  return entity_rows(g,
                     "SELECT slot, request_id AS requestId, amount, fee AS vat, owed,"
                     " MIN(paid, owed) AS paid, payment_msg AS paymentMessageId FROM bills"
                     " WHERE kind = 'month' AND consumer_id = ?1 AND slot BETWEEN ?2 AND ?3"
                     " ORDER BY slot LIMIT 10000",
                     id, from, to, out, d);
}
