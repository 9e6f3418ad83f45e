/* dir_client.c — a read-only pg_client over a node's data directory
 * (DIR/tangle.db), for auditing a finished simulation or a node's files
 * without starting a node (which would need its genesis and keys) and
 * without writing a byte: SQLite read-only, PRAGMA query_only.
 *
 * It reads the tables the Tangle store (src/tangle/store.h: meta, messages,
 * indexation, milestones) and the ledger (ledger_outputs) keep, and refuses
 * a database whose schema version is not one of the two below, so a schema
 * change cannot make it read wrong columns silently. Both read the same: a
 * message's parents come from its raw bytes, and indexation keeps its
 * (ix, seq, message_id) columns in both. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/audit/audit.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/tangle/message_json.h"

#define SCHEMA_VERSION "2" /* src/tangle/store.h PG_TG_SCHEMA_VERSION */
#define SCHEMA_VERSION_OLD "1" /* a store no node of this build has opened yet */

typedef struct dir_client {
  pg_client base;
  sqlite3 *db;
  char network[PG_CLIENT_NETWORK_MAX + 1];
} dir_client;

static dir_client *D(pg_client *c) { return (dir_client *)c; }

static int prep(dir_client *c, const char *sql, sqlite3_stmt **st, pg_diag *d) {
  if (sqlite3_prepare_v2(c->db, sql, -1, st, NULL) != SQLITE_OK) return pg_db_fail(c->db, d, "node data dir: %s", sql);
  return PG_OK;
}

static int d_unsupported(pg_diag *d) {
  return pg_fail(d, PG_ERR_UNSUPPORTED, "a node's data directory is read-only: no posting, no tips");
}

static int latest_ms(dir_client *c, uint32_t *idx, uint64_t *ts, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = prep(c, "SELECT ms_index, timestamp FROM milestones ORDER BY ms_index DESC LIMIT 1", &st, d);
  if (rc) return rc;
  int s = sqlite3_step(st);
  *idx = 0, *ts = 0;
  if (s == SQLITE_ROW) {
    *idx = (uint32_t)sqlite3_column_int64(st, 0);
    *ts = (uint64_t)sqlite3_column_int64(st, 1);
  } else if (s != SQLITE_DONE) {
    rc = pg_db_fail(c->db, d, "node data dir: milestones");
  }
  sqlite3_finalize(st);
  return rc;
}

static int d_health(pg_client *pc, bool *healthy, pg_diag *d) {
  uint32_t idx;
  uint64_t ts;
  int rc = latest_ms(D(pc), &idx, &ts, d);
  if (!rc) *healthy = idx > 0;
  return rc;
}

static int d_info(pg_client *pc, pg_node_info *out, pg_diag *d) {
  dir_client *c = D(pc);
  uint32_t idx;
  uint64_t ts;
  int rc = latest_ms(c, &idx, &ts, d);
  if (rc) return rc;
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "p2pgrid");
  snprintf(out->version, sizeof out->version, "data dir (read-only)");
  snprintf(out->network, sizeof out->network, "%s", c->network);
  snprintf(out->bech32_hrp, sizeof out->bech32_hrp, "atoi");
  out->network_id = pg_network_id(c->network);
  out->latest_milestone_index = out->confirmed_milestone_index = idx;
  out->latest_milestone_timestamp = ts;
  out->is_healthy = idx > 0;
  return PG_OK;
}

static int d_tips(pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, pg_diag *d) {
  (void)c, (void)ids, (void)max, (void)count;
  return d_unsupported(d);
}
static int d_submit_json(pg_client *c, const json_t *m, uint8_t id[PG_ID_LEN], pg_diag *d) {
  (void)c, (void)m, (void)id;
  return d_unsupported(d);
}
static int d_submit_raw(pg_client *c, const uint8_t *b, size_t n, uint8_t id[PG_ID_LEN], pg_diag *d) {
  (void)c, (void)b, (void)n, (void)id;
  return d_unsupported(d);
}
static int d_children(pg_client *c, const uint8_t id[PG_ID_LEN], uint8_t (*ids)[PG_ID_LEN],
                      size_t max, size_t *count, size_t *total, pg_diag *d) {
  (void)c, (void)id, (void)ids, (void)max, (void)count, (void)total;
  return d_unsupported(d);
}
static int d_address(pg_client *c, const uint8_t a[32], uint64_t *b, bool *dust, pg_diag *d) {
  (void)c, (void)a, (void)b, (void)dust;
  return d_unsupported(d);
}

static int not_found(pg_diag *d, const char *what, const uint8_t *id, size_t n) {
  char hex[2 * PG_OUTPUT_ID_LEN + 1];
  pg_hex_encode(id, n, hex);
  return pg_fail(d, PG_ERR_NOT_FOUND, "%s %s not found", what, hex);
}

static int d_get_raw(pg_client *pc, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d) {
  dir_client *c = D(pc);
  sqlite3_stmt *st = NULL;
  int rc = prep(c, "SELECT raw FROM messages WHERE id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    size_t before = out->len;
    pg_buf_put(out, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    rc = pg_buf_status(out);
    if (rc) {
      out->len = before;
      rc = pg_fail(d, rc, "message too large for the buffer");
    }
  } else {
    rc = s == SQLITE_DONE ? not_found(d, "message", id, PG_ID_LEN) : pg_db_fail(c->db, d, "node data dir: messages");
  }
  sqlite3_finalize(st);
  return rc;
}

static int d_get_meta(pg_client *pc, const uint8_t id[PG_ID_LEN], pg_msg_meta *out, pg_diag *d) {
  dir_client *c = D(pc);
  sqlite3_stmt *st = NULL;
  int rc = prep(c, "SELECT solid, referenced_by, milestone_index, inclusion, conflict_reason"
                   " FROM messages WHERE id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC);
  int s = sqlite3_step(st);
  pg_msg_meta m;
  memset(&m, 0, sizeof m);
  if (s == SQLITE_ROW) {
    memcpy(m.id, id, PG_ID_LEN);
    m.solid = sqlite3_column_int(st, 0) != 0;
    m.referenced_by = (uint32_t)sqlite3_column_int64(st, 1);
    m.milestone_index = (uint32_t)sqlite3_column_int64(st, 2);
    m.inclusion = sqlite3_column_int(st, 3);
    m.conflict_reason = (uint8_t)sqlite3_column_int(st, 4);
  } else {
    rc = s == SQLITE_DONE ? not_found(d, "message", id, PG_ID_LEN) : pg_db_fail(c->db, d, "node data dir: messages");
  }
  sqlite3_finalize(st);
  if (rc) return rc;
  /* the parents from the message itself: schema 1 and 2 stores alike */
  rc = prep(c, "SELECT raw FROM messages WHERE id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC);
  s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    const uint8_t *raw = sqlite3_column_blob(st, 0);
    if (!raw || pg_message_parents(raw, (size_t)sqlite3_column_bytes(st, 0), m.parents,
                                   &m.parents_count, NULL) != PG_OK)
      rc = pg_fail(d, PG_ERR_DB, "node data dir: message's parents do not parse");
  } else {
    rc = pg_db_fail(c->db, d, "node data dir: messages");
  }
  sqlite3_finalize(st);
  if (!rc) *out = m;
  return rc;
}

/* Runs sql with blob ?1 (key, n bytes) collecting column 0 blobs of idlen
 * bytes into ids (up to max), counting all rows into *total. */
static int collect_ids(dir_client *c, const char *sql, const void *key, size_t n, uint8_t *ids,
                       size_t idlen, size_t max, size_t *count, size_t *total, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = prep(c, sql, &st, d);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, key, (int)n, SQLITE_STATIC);
  *count = *total = 0;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (*count < max && (size_t)sqlite3_column_bytes(st, 0) == idlen)
      memcpy(ids + idlen * (*count)++, sqlite3_column_blob(st, 0), idlen);
    (*total)++;
  }
  if (s != SQLITE_DONE) rc = pg_db_fail(c->db, d, "node data dir: index");
  sqlite3_finalize(st);
  return rc;
}

static int d_find_index(pg_client *pc, const uint8_t *index, size_t len, uint8_t (*ids)[PG_ID_LEN],
                        size_t max, size_t *count, size_t *total, pg_diag *d) {
  if (len < 1 || len > 64) return pg_fail(d, PG_ERR_INVALID, "index must be 1..64 bytes");
  return collect_ids(D(pc), "SELECT message_id FROM indexation WHERE ix = ?1 ORDER BY seq", index,
                     len, (uint8_t *)ids, PG_ID_LEN, max, count, total, d);
}

static int d_address_outputs(pg_client *pc, const uint8_t address[32], bool include_spent,
                             uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max, size_t *count,
                             size_t *total, pg_diag *d) {
  const char *sql = include_spent
                        ? "SELECT output_id FROM ledger_outputs WHERE address = ?1"
                          " ORDER BY booked_index, output_id"
                        : "SELECT output_id FROM ledger_outputs WHERE address = ?1"
                          " AND spent_index IS NULL ORDER BY booked_index, output_id";
  return collect_ids(D(pc), sql, address, 32, (uint8_t *)ids, PG_OUTPUT_ID_LEN, max, count, total, d);
}

static int d_output(pg_client *pc, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *out,
                    pg_diag *d) {
  dir_client *c = D(pc);
  sqlite3_stmt *st = NULL;
  int rc = prep(c, "SELECT message_id, type, address, amount, booked_index, spent_index"
                   " FROM ledger_outputs WHERE output_id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, id, PG_OUTPUT_ID_LEN, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s != SQLITE_ROW || !pg_ledger_output_row(st, id, out))
    rc = s == SQLITE_DONE ? not_found(d, "output", id, PG_OUTPUT_ID_LEN) : pg_db_fail(c->db, d, "node data dir: outputs");
  sqlite3_finalize(st);
  return rc;
}

static int d_milestone(pg_client *pc, uint32_t index, pg_milestone_info *out, pg_diag *d) {
  dir_client *c = D(pc);
  sqlite3_stmt *st = NULL;
  int rc = prep(c, "SELECT message_id, timestamp FROM milestones WHERE ms_index = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, index);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PG_ID_LEN) {
    out->index = index;
    memcpy(out->message_id, sqlite3_column_blob(st, 0), PG_ID_LEN);
    out->timestamp = (uint64_t)sqlite3_column_int64(st, 1);
  } else {
    rc = s == SQLITE_DONE || s == SQLITE_ROW
             ? pg_fail(d, PG_ERR_NOT_FOUND, "milestone %u not found", index)
             : pg_db_fail(c->db, d, "node data dir: milestones");
  }
  sqlite3_finalize(st);
  return rc;
}

static void d_destroy(pg_client *pc) {
  dir_client *c = D(pc);
  if (c->db) sqlite3_close(c->db);
  free(c);
}

static const pg_client_ops dir_ops = {
    .kind = "data-dir",
    .health = d_health,
    .info = d_info,
    .tips = d_tips,
    .submit_json = d_submit_json,
    .submit_raw = d_submit_raw,
    .get_raw = d_get_raw,
    .get_meta = d_get_meta,
    .children = d_children,
    .find_index = d_find_index,
    .milestone = d_milestone,
    .address = d_address,
    .address_outputs = d_address_outputs,
    .output = d_output,
    .destroy = d_destroy,
};

/* meta: schema version and network name. */
static int read_meta(dir_client *c, const char *path, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = prep(c, "SELECT key, value FROM meta", &st, d);
  if (rc) return rc;
  bool version_ok = false;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    const char *v = (const char *)sqlite3_column_text(st, 1);
    if (!k || !v) continue;
    if (strcmp(k, "network_name") == 0) snprintf(c->network, sizeof c->network, "%s", v);
    if (strcmp(k, "schema_version") == 0)
      version_ok = strcmp(v, SCHEMA_VERSION) == 0 || strcmp(v, SCHEMA_VERSION_OLD) == 0;
  }
  if (s != SQLITE_DONE) rc = pg_db_fail(c->db, d, "node data dir: meta");
  sqlite3_finalize(st);
  if (!rc && !version_ok)
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: not a Tangle database of schema version %s or %s", path,
                 SCHEMA_VERSION_OLD, SCHEMA_VERSION);
  return rc;
}

int pg_audit_dir_client(const char *dir, pg_client **out, pg_diag *d) {
  *out = NULL;
  char path[4096];
  if (snprintf(path, sizeof path, "%s/tangle.db", dir) >= (int)sizeof path)
    return pg_fail(d, PG_ERR_INVALID, "node data dir: path too long");
  struct stat sb;
  if (stat(path, &sb) != 0)
    return pg_fail(d, PG_ERR_NOT_FOUND, "%s: no such file (not a node's data directory)", path);
  dir_client *c = calloc(1, sizeof *c);
  if (!c) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  c->base.ops = &dir_ops;
  int rc = PG_OK;
  if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    rc = pg_db_fail(c->db, d, "cannot open %s read-only", path);
  if (!rc) sqlite3_busy_timeout(c->db, 5000);
  if (!rc && sqlite3_exec(c->db, "PRAGMA query_only = 1", NULL, NULL, NULL) != SQLITE_OK)
    rc = pg_db_fail(c->db, d, "node data dir: query_only");
  if (!rc) rc = read_meta(c, path, d);
  if (rc && (sqlite3_extended_errcode(c->db) & 0xff) == SQLITE_BUSY)
    rc = pg_fail(d, PG_ERR_UNAVAILABLE,
                 "%s is held by a running node (no other process can read its store while it"
                 " runs): audit the node over its API (--node http://HOST:PORT) or stop it first",
                 path);
  if (rc) {
    d_destroy(&c->base);
    return rc;
  }
  *out = &c->base;
  return PG_OK;
}
