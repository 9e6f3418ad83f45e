/* store.c — the entities' kv and counter tables (over p2pgrid/base/db.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "grid_internal.h"

static const char SQL_KV_GET[] = "SELECT value FROM kv WHERE key = ?1";

/* *out: the row's statement (give it back with pg_stmt_put), NULL = no row */
static int kv_get(sqlite3 *db, const char *key, sqlite3_stmt **out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  *out = NULL;
  int rc = pg_stmt_get(db, SQL_KV_GET, &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s != SQLITE_ROW && s != SQLITE_DONE) rc = pg_db_fail(db, d, "kv read");
  if (rc || s == SQLITE_DONE) {
    pg_stmt_put(st);
    return rc;
  }
  *out = st;
  return PG_OK;
}

int pg_kv_get_i64(sqlite3 *db, const char *key, int64_t def, int64_t *out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = kv_get(db, key, &st, d);
  if (rc) return rc;
  *out = st ? sqlite3_column_int64(st, 0) : def;
  pg_stmt_put(st);
  return PG_OK;
}

int pg_kv_get_text(sqlite3 *db, const char *key, char *out, size_t cap, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = kv_get(db, key, &st, d);
  if (rc) return rc;
  out[0] = 0;
  if (st) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    if (t) snprintf(out, cap, "%s", (const char *)t);
  }
  pg_stmt_put(st);
  return PG_OK;
}

static const char SQL_KV_SET[] = "INSERT INTO kv(key, value) VALUES (?1, ?2) "
                                 "ON CONFLICT(key) DO UPDATE SET value = excluded.value";

static int kv_set(sqlite3 *db, const char *key, const char *text, int64_t v, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, SQL_KV_SET, &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (text)
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_int64(st, 2, v);
  return pg_stmt_step_done(db, st, "kv write", d);
}

int pg_kv_set_i64(sqlite3 *db, const char *key, int64_t v, pg_diag *d) {
  return kv_set(db, key, NULL, v, d);
}
int pg_kv_set_text(sqlite3 *db, const char *key, const char *v, pg_diag *d) {
  return kv_set(db, key, v, 0, d);
}

int pg_count_add(sqlite3 *db, const char *name, int64_t n, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "INSERT INTO counters(name, value) VALUES (?1, ?2) "
                              "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, n);
  return pg_stmt_step_done(db, st, "counter write", d);
}

int pg_counts_json(sqlite3 *db, json_t **out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT name, value FROM counters ORDER BY name", &st, d);
  if (rc) return rc;
  json_t *o = json_object();
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW)
    json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
                        json_integer(sqlite3_column_int64(st, 1)));
  if (s != SQLITE_DONE) {
    rc = pg_db_fail(db, d, "counters read");
    json_decref(o);
  } else {
    *out = o;
  }
  pg_stmt_put(st);
  return rc;
}

const char pg_entity_schema[] =
    "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS channels(name TEXT PRIMARY KEY, state TEXT NOT NULL,"
    " root TEXT NOT NULL, side_key TEXT NOT NULL);"
    /* messages of our channels found on the Tangle after a restore (chan.c):
     * one made again with the same text is not sent a second time */
    "CREATE TABLE IF NOT EXISTS chan_published(channel TEXT NOT NULL, hash BLOB NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY(channel, hash));"
    /* a queued message (its JSON body), msg_id once sent: the entity's log
     * of what it published (payload and address: NULL since outbox_made) */
    "CREATE TABLE IF NOT EXISTS outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " channel TEXT NOT NULL, body TEXT NOT NULL, payload TEXT, address TEXT,"
    " msg_id TEXT, queued_ms INTEGER, sent_ms INTEGER, attempts INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox(seq) WHERE msg_id IS NULL;"
    /* a created message until it is sent (chan.c): its signed payload
     * (~2-5 KiB) and address. Kept in the outbox row, it made the rows
     * grow and shrink (pages a quarter full) and the grid's database
     * mostly payloads no one reads again (86 %). Rows created before it
     * move here at open (the unsent ones only, through outbox_unsent). */
    "CREATE TABLE IF NOT EXISTS outbox_made(seq INTEGER PRIMARY KEY, payload TEXT NOT NULL,"
    " address TEXT NOT NULL);"
    "INSERT OR REPLACE INTO outbox_made SELECT seq, payload, address FROM outbox"
    " WHERE msg_id IS NULL AND payload IS NOT NULL;"
    "UPDATE outbox SET payload = NULL, address = NULL WHERE msg_id IS NULL AND payload IS NOT NULL;";

int pg_status_i64(json_t *o, const char *key, sqlite3 *db, const char *sql, pg_diag *d) {
  int64_t v = 0;
  int rc = pg_db_i64(db, sql, 0, 0, &v, d);
  if (!rc && json_object_set_new(o, key, json_integer(v)) != 0)
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  return rc;
}
