/* quarantine.c — readings the grid will not settle as they are: above the
 * member's enrolled capacity, outside the time window, or such that the
 * member's numbers cannot be settled. They are kept with their reason,
 * counted, shown to the operator, and settled only when the operator
 * releases them (p2pgrid grid quarantine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"

const char pg_quarantine_schema[] =
    "CREATE TABLE IF NOT EXISTS quarantine(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " entity_id TEXT NOT NULL, kind INTEGER NOT NULL, slot INTEGER NOT NULL, wh INTEGER NOT NULL,"
    " price INTEGER, address TEXT, msg_id TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    " reason TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'held', decided_ms INTEGER);";

int pg_quarantine_add(sqlite3 *db, const pg_quarantined *q, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db,
                         "INSERT INTO quarantine(entity_id, kind, slot, wh, price, address, msg_id,"
                         " received_ms, reason) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, q->entity_id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, q->kind);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)q->slot);
  sqlite3_bind_int64(st, 4, q->wh);
  if (q->has_price)
    sqlite3_bind_int64(st, 5, (sqlite3_int64)q->price);
  else
    sqlite3_bind_null(st, 5);
  if (q->address && *q->address)
    sqlite3_bind_text(st, 6, q->address, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 6);
  sqlite3_bind_text(st, 7, q->msg_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, q->received_ms);
  sqlite3_bind_text(st, 9, q->reason, -1, SQLITE_STATIC);
  rc = pg_db_step_done(db, st, "quarantine write", d);
  if (!rc) rc = pg_count_add(db, "quarantined_readings", 1, d);
  return rc;
}

int pg_quarantine_party(sqlite3 *db, const char *entity_id, int kind, uint64_t k,
                        const char *reason, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db,
                         "INSERT INTO quarantine(entity_id, kind, slot, wh, price, address, msg_id,"
                         " received_ms, reason) SELECT entity_id, kind, slot, wh, price, address,"
                         " msg_id, received_ms, ?4 FROM readings WHERE entity_id = ?1 AND kind = ?2"
                         " AND settled_in IS NULL AND slot <= ?3",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, entity_id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, kind);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)k);
  sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
  rc = pg_db_step_done(db, st, "quarantine write", d);
  int64_t moved = sqlite3_changes(db);
  if (!rc)
    rc = pg_db_prepare(db,
                       "DELETE FROM readings WHERE entity_id = ?1 AND kind = ?2 AND settled_in IS NULL"
                       " AND slot <= ?3",
                       &st, d);
  if (!rc) {
    sqlite3_bind_text(st, 1, entity_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, kind);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)k);
    rc = pg_db_step_done(db, st, "readings write", d);
  }
  if (!rc) rc = pg_count_add(db, "quarantined_readings", moved, d);
  if (!rc)
    pg_log_warn("grid", "slot %llu: the readings of '%s' cannot be settled (%s): %lld quarantined;"
                " the slot settles for everyone else",
                (unsigned long long)k, entity_id, reason, (long long)moved);
  return rc;
}

int pg_quarantine_json(sqlite3 *db, bool all, json_t **out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db,
                         "SELECT id, entity_id, kind, slot, wh, price, msg_id, received_ms, reason,"
                         " state, decided_ms FROM quarantine WHERE ?1 OR state = 'held' ORDER BY id",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_int(st, 1, all);
  json_t *arr = json_array();
  int s;
  while (arr && (s = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:I,s:I,s:o,s:s,s:I,s:s,s:s,s:o}", "id", (json_int_t)sqlite3_column_int64(st, 0),
        "member", (const char *)sqlite3_column_text(st, 1), "kind",
        sqlite3_column_int(st, 2) == PG_GRID_ENTITY_PRODUCER ? "output" : "usage", "slot",
        (json_int_t)sqlite3_column_int64(st, 3), "wh", (json_int_t)sqlite3_column_int64(st, 4),
        "price",
        sqlite3_column_type(st, 5) == SQLITE_NULL ? json_null()
                                                  : json_integer(sqlite3_column_int64(st, 5)),
        "messageId", (const char *)sqlite3_column_text(st, 6), "receivedMs",
        (json_int_t)sqlite3_column_int64(st, 7), "reason", (const char *)sqlite3_column_text(st, 8),
        "state", (const char *)sqlite3_column_text(st, 9), "decidedMs",
        sqlite3_column_type(st, 10) == SQLITE_NULL ? json_null()
                                                   : json_integer(sqlite3_column_int64(st, 10)));
    if (!o || json_array_append_new(arr, o)) {
      json_decref(arr);
      arr = NULL;
    }
  }
  if (!arr) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  else if (s != SQLITE_DONE) rc = pg_db_fail(db, d, "quarantine read");
  sqlite3_finalize(st);
  if (rc) json_decref(arr);
  else *out = arr;
  return rc;
}

/* Release: the reading goes into the readings (settled with the next slot,
 * as a late reading); unless the member already has a reading of that slot. */
static int release(sqlite3 *db, int64_t id, int64_t now_ms, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db,
                         "INSERT INTO readings(entity_id, kind, slot, wh, price, address, msg_id,"
                         " received_ms) SELECT entity_id, kind, slot, wh, price, address, msg_id, ?2"
                         " FROM quarantine WHERE id = ?1 ON CONFLICT DO NOTHING",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int64(st, 2, now_ms);
  rc = pg_db_step_done(db, st, "readings write", d);
  if (!rc && sqlite3_changes(db) == 0)
    rc = pg_fail(d, PG_ERR_EXISTS,
                 "quarantine %lld: the member already has a reading of that slot; reject this one",
                 (long long)id);
  return rc;
}

int pg_quarantine_decide(sqlite3 *db, int64_t id, bool release_it, int64_t now_ms, pg_diag *d) {
  int rc = pg_db_begin(db, d);
  if (rc) return rc;
  int64_t held = 0;
  rc = pg_db_i64(db, "SELECT COUNT(*) FROM quarantine WHERE id = ?1 AND state = 'held'", id, 0,
                 &held, d);
  if (!rc && !held)
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "quarantine %lld: no such held reading (see `quarantine list`)",
                 (long long)id);
  if (!rc && release_it) rc = release(db, id, now_ms, d);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_db_prepare(db, "UPDATE quarantine SET state = ?2, decided_ms = ?3 WHERE id = ?1", &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, release_it ? "released" : "rejected", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    rc = pg_db_step_done(db, st, "quarantine write", d);
  }
  if (!rc) rc = pg_count_add(db, release_it ? "quarantine_released" : "quarantine_rejected", 1, d);
  if (!rc) rc = pg_db_commit(db, d);
  else pg_db_rollback(db);
  return rc;
}

int pg_grid_quarantine(const char *data_dir, const char *action, int64_t id, json_t **out,
                       pg_diag *d) {
  sqlite3 *db = NULL;
  char schema[4096];
  int sl = snprintf(schema, sizeof schema, "%s%s", pg_entity_schema, pg_quarantine_schema);
  if (sl < 0 || (size_t)sl >= sizeof schema)
    return pg_fail(d, PG_ERR_STATE, "quarantine: the schema is longer than its buffer");
  int rc = pg_db_open(data_dir, "grid.db", schema, PG_ENTITY_DB_BUSY_MS, &db, d);
  int64_t now = (int64_t)pg_clock_now(pg_clock_real());
  if (!rc && strcmp(action, "list") == 0) rc = pg_quarantine_json(db, id != 0, out, d);
  else if (!rc && strcmp(action, "release") == 0) rc = pg_quarantine_decide(db, id, true, now, d);
  else if (!rc && strcmp(action, "reject") == 0) rc = pg_quarantine_decide(db, id, false, now, d);
  else if (!rc) rc = pg_fail(d, PG_ERR_INVALID, "quarantine: unknown action '%s'", action);
  if (db) pg_grid_db_close(db);
  return rc;
}
