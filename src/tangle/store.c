/* store.c — SQLite storage of the Tangle. See store.h. */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/base/file.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/walbuf.h"

/* Schema 2 (what a new store gets). A message's parents are read from its
 * raw bytes; children(parent, child) serves the other direction. An index
 * row's seq is its message's rowid, so rows of one index read oldest first
 * and a purge finds its row by (ix, seq). Schema 1 kept a child-keyed
 * edges(child, parent, position) table with an index on parent, and
 * indexation(seq INTEGER PRIMARY KEY, ix, message_id) with indexes on
 * (ix, seq) and message_id: five or six B-tree leaves at random places per
 * message where schema 2 writes three or four (docs/PERFORMANCE.md "Node").
 * MIGRATE_1_TO_2 converts such a store at open (schema_ready). */
#define CHILDREN_COLUMNS \
  " (parent BLOB NOT NULL, child BLOB NOT NULL, PRIMARY KEY (parent, child)) WITHOUT ROWID;"
#define INDEXATION_COLUMNS \
  " (ix BLOB NOT NULL, seq INTEGER NOT NULL, message_id BLOB NOT NULL," \
  " PRIMARY KEY (ix, seq)) WITHOUT ROWID;"

static const char META[] = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);";
static const char SCHEMA[] =
    "CREATE TABLE messages ("
    " id BLOB PRIMARY KEY, raw BLOB NOT NULL, arrival_ms INTEGER NOT NULL,"
    " solid INTEGER NOT NULL, referenced_by INTEGER NOT NULL DEFAULT 0,"
    " milestone_index INTEGER NOT NULL DEFAULT 0, inclusion INTEGER NOT NULL DEFAULT 0,"
    " conflict_reason INTEGER NOT NULL DEFAULT 0, omrsi INTEGER NOT NULL DEFAULT 0,"
    " ymrsi INTEGER NOT NULL DEFAULT 0, mrsi_at INTEGER NOT NULL DEFAULT 0,"
    " payload_type INTEGER NOT NULL);"
    "CREATE INDEX messages_unsolid ON messages(arrival_ms) WHERE solid = 0;"
    "CREATE INDEX messages_ms ON messages(milestone_index) WHERE milestone_index > 0;"
    "CREATE TABLE children" CHILDREN_COLUMNS
    "CREATE TABLE indexation" INDEXATION_COLUMNS
    "CREATE TABLE milestones ("
    " ms_index INTEGER PRIMARY KEY, message_id BLOB NOT NULL, timestamp INTEGER NOT NULL);";

/* Schema 1 -> 2 inside the open's transaction: the edges become children
 * (a message's parents are unique, TIP-6), each index row takes its
 * message's rowid as seq (both were insertion order). */
static const char MIGRATE_1_TO_2[] =
    "CREATE TABLE children" CHILDREN_COLUMNS
    "INSERT OR IGNORE INTO children(parent, child) SELECT parent, child FROM edges;"
    "DROP TABLE edges;"
    "CREATE TABLE indexation_2" INDEXATION_COLUMNS
    "INSERT OR IGNORE INTO indexation_2(ix, seq, message_id)"
    " SELECT i.ix, m.rowid, i.message_id FROM indexation i JOIN messages m ON m.id = i.message_id;"
    "DROP TABLE indexation;"
    "ALTER TABLE indexation_2 RENAME TO indexation;";

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT pg_tg_dry",
    [ST_ROLLBACK_TO] = "ROLLBACK TO pg_tg_dry",
    [ST_RELEASE] = "RELEASE pg_tg_dry",
    [ST_INSERT_MSG] = "INSERT INTO messages(id, raw, arrival_ms, solid, milestone_index, payload_type,"
                      " omrsi, ymrsi, mrsi_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_GET_ROW] = "SELECT solid, referenced_by, milestone_index, inclusion, conflict_reason,"
                   " arrival_ms, payload_type, omrsi, ymrsi, mrsi_at FROM messages WHERE id = ?1",
    [ST_GET_RAW] = "SELECT raw FROM messages WHERE id = ?1",
    [ST_GET_ROWID_RAW] = "SELECT rowid, raw FROM messages WHERE id = ?1",
    [ST_GET_WALK] = "SELECT referenced_by, payload_type, raw FROM messages WHERE id = ?1",
    [ST_INSERT_CHILD] = "INSERT INTO children(parent, child) VALUES (?1, ?2)",
    [ST_CHILDREN] = "SELECT child FROM children WHERE parent = ?1 ORDER BY child LIMIT ?2",
    [ST_CHILDREN_COUNT] = "SELECT COUNT(*) FROM children WHERE parent = ?1",
    [ST_UNSOLID_CHILDREN] = "SELECT c.child FROM children c JOIN messages m ON m.id = c.child"
                            " WHERE c.parent = ?1 AND m.solid = 0",
    [ST_SET_SOLID] = "UPDATE messages SET solid = 1 WHERE id = ?1",
    [ST_SET_MRSI] = "UPDATE messages SET omrsi = ?2, ymrsi = ?3, mrsi_at = ?4 WHERE id = ?1",
    [ST_SET_REFERENCED] = "UPDATE messages SET referenced_by = ?2, inclusion = ?3,"
                          " conflict_reason = ?4 WHERE id = ?1",
    [ST_INSERT_INDEX] = "INSERT INTO indexation(ix, seq, message_id) VALUES (?1, ?2, ?3)",
    [ST_FIND_INDEX] = "SELECT message_id FROM indexation WHERE ix = ?1 ORDER BY seq LIMIT ?2",
    [ST_COUNT_INDEX] = "SELECT COUNT(*) FROM indexation WHERE ix = ?1",
    [ST_MS_CANDIDATE] = "SELECT id FROM messages WHERE milestone_index = ?1 AND milestone_index > 0"
                        " AND solid = 1"
                        " ORDER BY arrival_ms, id LIMIT 1",
    [ST_INSERT_MILESTONE] = "INSERT INTO milestones(ms_index, message_id, timestamp) VALUES (?1, ?2, ?3)",
    [ST_GET_MILESTONE] = "SELECT message_id, timestamp FROM milestones WHERE ms_index = ?1",
    [ST_OLD_UNSOLID] = "SELECT id FROM messages WHERE solid = 0 AND arrival_ms < ?1",
    [ST_DELETE_MSG] = "DELETE FROM messages WHERE id = ?1",
    [ST_DELETE_CHILD] = "DELETE FROM children WHERE parent = ?1 AND child = ?2",
    [ST_DELETE_INDEX] = "DELETE FROM indexation WHERE ix = ?1 AND seq = ?2",
};

int pg_tg_db_fail(pg_tg_store *s, pg_diag *d, const char *what) {
  return pg_db_fail(s->db, d, "tangle db: %s", what);
}

sqlite3_stmt *pg_tg_stmt(pg_tg_store *s, int which) {
  sqlite3_stmt *st = s->st[which];
  sqlite3_reset(st); /* returns the previous step's error, already handled */
  sqlite3_clear_bindings(st);
  return st;
}

int pg_tg_exec(pg_tg_store *s, int which, pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(s, which);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) return pg_tg_db_fail(s, d, SQL[which]);
  return PG_OK;
}

int pg_tg_store_set_full(pg_tg_store *s, bool full, pg_diag *d) {
  const char *sql = full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return pg_tg_db_fail(s, d, sql);
  return PG_OK;
}

/* Reads meta[key] into buf (NUL-terminated); *found false if absent. */
static int meta_get(pg_tg_store *s, const char *key, char *buf, size_t cap, bool *found, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = PG_OK;
  *found = false;
  if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK) {
    rc = pg_tg_db_fail(s, d, "reading meta");
    goto out;
  }
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    const unsigned char *v = sqlite3_column_text(st, 0);
    int vlen = sqlite3_column_bytes(st, 0);
    if (!v || (size_t)vlen >= cap) {
      rc = pg_fail(d, PG_ERR_DB, "tangle db: meta value for %s is missing or too long", key);
      goto out;
    }
    memcpy(buf, v, (size_t)vlen);
    buf[vlen] = '\0';
    *found = true;
  } else if (step != SQLITE_DONE) {
    rc = pg_tg_db_fail(s, d, "reading meta");
  }
out:
  sqlite3_finalize(st);
  return rc;
}

static int meta_put(pg_tg_store *s, const char *key, const char *value, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = PG_OK;
  if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)", -1, &st,
                         NULL) != SQLITE_OK ||
      sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_DONE)
    rc = pg_tg_db_fail(s, d, "writing meta");
  sqlite3_finalize(st);
  return rc;
}

static int exec_sql(pg_tg_store *s, const char *sql, const char *what, pg_diag *d) {
  char *err = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &err) == SQLITE_OK) return PG_OK;
  int rc = pg_fail(d, PG_ERR_DB, "%s: %s: %s", s->path, what, err ? err : "?");
  sqlite3_free(err);
  return rc;
}

/* The schema version a store holds: its meta row, "1" for a schema-1 store
 * whose first open stopped before writing it, "" for a new store. */
static int stored_version(pg_tg_store *s, char *buf, size_t cap, pg_diag *d) {
  bool found;
  int rc = meta_get(s, "schema_version", buf, cap, &found, d);
  if (rc || found) return rc;
  buf[0] = '\0';
  int64_t edges = 0, messages = 0;
  if ((rc = pg_db_i64(s->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'edges'",
                      0, 0, &edges, d)) ||
      (rc = pg_db_i64(s->db,
                      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'messages'",
                      0, 0, &messages, d)))
    return rc;
  if (edges) {
    snprintf(buf, cap, "1");
    return PG_OK;
  }
  if (messages)
    return pg_fail(d, PG_ERR_CONFIG, "%s has messages but no schema version; not a store of this node",
                   s->path);
  return PG_OK;
}

/* Creates the schema of a new store, or brings a schema-1 store to this
 * version, in one transaction (before the statements are prepared). */
static int schema_ready(pg_tg_store *s, pg_diag *d) {
  char ver[64];
  int rc = pg_db_begin(s->db, d);
  if (rc) return rc;
  if ((rc = exec_sql(s, META, "creating the meta table", d)) ||
      (rc = stored_version(s, ver, sizeof ver, d)))
    goto out;
  if (ver[0] == '\0') {
    rc = exec_sql(s, SCHEMA, "creating the schema", d);
  } else if (strcmp(ver, "1") == 0) {
    pg_log_info("tangle", "%s: converting the store from schema 1 to %s", s->path, PG_TG_SCHEMA_VERSION);
    rc = exec_sql(s, MIGRATE_1_TO_2, "converting schema 1 to 2", d);
  } else if (strcmp(ver, PG_TG_SCHEMA_VERSION) != 0) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s has schema version %s, this build reads 1 and %s", s->path, ver,
                 PG_TG_SCHEMA_VERSION);
  }
  if (!rc && strcmp(ver, PG_TG_SCHEMA_VERSION) != 0)
    rc = meta_put(s, "schema_version", PG_TG_SCHEMA_VERSION, d);
out:
  if (rc == PG_OK) return pg_db_commit(s->db, d); /* rolls back if COMMIT fails */
  pg_db_rollback(s->db);
  return rc;
}

static int check_meta(pg_tg_store *s, const char *network, pg_diag *d) {
  char buf[512];
  bool found;
  int rc = pg_tg_exec(s, ST_BEGIN, d);
  if (rc) return rc;
  rc = meta_get(s, "network_name", buf, sizeof buf, &found, d);
  if (rc) goto out;
  if (!found) {
    rc = meta_put(s, "network_name", network, d);
    if (rc) goto out;
  } else if (strcmp(buf, network) != 0) {
    rc = pg_fail(d, PG_ERR_CONFIG, "%s was created for network '%s', not '%s'", s->path, buf, network);
    goto out;
  }
out:
  if (rc == PG_OK) return pg_tg_exec(s, ST_COMMIT, d);
  sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int pg_tg_store_open(pg_tg_store *s, const char *dir, const char *network, unsigned ckpt_pages,
                     bool process, pg_diag *d) {
  memset(s, 0, sizeof *s);
  int rc = pg_mkdir_p(dir, 0700, d);
  if (rc) return rc;
  size_t n = strlen(dir) + sizeof "/tangle.db";
  s->path = malloc(n);
  if (!s->path) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  snprintf(s->path, n, "%s/tangle.db", dir);
  s->vfs = process ? pg_walbuf_vfs_process() : pg_walbuf_vfs();
  if (process && !s->vfs) {
    rc = pg_fail(d, PG_ERR_DB, "%s: SQLite's unix-excl VFS is not available", s->path);
    goto fail;
  }
  if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      s->vfs) != SQLITE_OK) {
    rc = pg_db_fail(s->db, d, "cannot open %s", s->path);
    goto fail;
  }
  if (sqlite3_busy_timeout(s->db, 5000) != SQLITE_OK) {
    rc = pg_tg_db_fail(s, d, "busy timeout");
    goto fail;
  }
  char *err = NULL;
  /* NORMAL for ordinary messages; transactions that may confirm a milestone
   * switch to FULL (store.h). Cache and checkpoint sizes: store.h. */
  if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                 " PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;"
                                 " PRAGMA mmap_size=268435456;", NULL, NULL, &err) !=
      SQLITE_OK) {
    rc = pg_fail(d, PG_ERR_DB, "%s: cannot enable WAL: %s", s->path, err ? err : "?");
    sqlite3_free(err);
    goto fail;
  }
  if ((rc = schema_ready(s, d))) goto fail;
  for (int i = 0; i < ST_COUNT; i++) {
    if (sqlite3_prepare_v3(s->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
      rc = pg_tg_db_fail(s, d, SQL[i]);
      goto fail;
    }
  }
  rc = check_meta(s, network, d);
  if (!rc) rc = pg_tg_ckpt_start(s, ckpt_pages, d);
  if (rc) goto fail;
  return PG_OK;
fail:
  pg_tg_store_close(s);
  return rc;
}

void pg_tg_store_close(pg_tg_store *s) {
  pg_tg_ckpt_stop(s);
  for (int i = 0; i < ST_COUNT; i++) {
    sqlite3_finalize(s->st[i]);
    s->st[i] = NULL;
  }
  if (s->db) sqlite3_close(s->db);
  s->db = NULL;
  free(s->path);
  s->path = NULL;
}

int pg_tg_get_row(pg_tg_store *s, const uint8_t id[PG_ID_LEN], pg_tg_row *r, pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(s, ST_GET_ROW);
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(s, d, "binding id");
  int step = sqlite3_step(st);
  int rc = PG_OK;
  if (step == SQLITE_ROW) {
    r->solid = sqlite3_column_int(st, 0) != 0;
    r->referenced_by = (uint32_t)sqlite3_column_int64(st, 1);
    r->milestone_index = (uint32_t)sqlite3_column_int64(st, 2);
    r->inclusion = sqlite3_column_int(st, 3);
    r->conflict_reason = (uint8_t)sqlite3_column_int(st, 4);
    r->arrival_ms = (uint64_t)sqlite3_column_int64(st, 5);
    r->payload_type = sqlite3_column_int(st, 6);
    r->omrsi = (uint32_t)sqlite3_column_int64(st, 7);
    r->ymrsi = (uint32_t)sqlite3_column_int64(st, 8);
    r->mrsi_at = (uint32_t)sqlite3_column_int64(st, 9);
  } else if (step == SQLITE_DONE) {
    rc = PG_ERR_NOT_FOUND;
  } else {
    rc = pg_tg_db_fail(s, d, "reading message");
  }
  sqlite3_reset(st);
  return rc;
}

/* The parents of the message bytes in column col of st's row. */
static int column_parents(sqlite3_stmt *st, int col, uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN],
                          uint8_t *n, pg_diag *d) {
  const uint8_t *raw = sqlite3_column_blob(st, col);
  int len = sqlite3_column_bytes(st, col);
  if (!raw || pg_message_parents(raw, (size_t)len, parents, n, NULL) != PG_OK)
    return pg_fail(d, PG_ERR_DB, "tangle db: a stored message's parents do not parse");
  return PG_OK;
}

/* A malloc'd copy of the message bytes in column col of st's row. */
static int column_copy(sqlite3_stmt *st, int col, uint8_t **bytes, size_t *len, pg_diag *d) {
  const void *p = sqlite3_column_blob(st, col);
  int n = sqlite3_column_bytes(st, col);
  if (!p || n <= 0) return pg_fail(d, PG_ERR_DB, "tangle db: empty raw message");
  if (!(*bytes = malloc((size_t)n))) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  memcpy(*bytes, p, (size_t)n);
  *len = (size_t)n;
  return PG_OK;
}

int pg_tg_get_parents(pg_tg_store *s, const uint8_t id[PG_ID_LEN],
                      uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN], uint8_t *n, pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(s, ST_GET_RAW);
  *n = 0;
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(s, d, "binding id");
  int rc = PG_OK, step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    rc = column_parents(st, 0, parents, n, d);
  } else if (step != SQLITE_DONE) {
    rc = pg_tg_db_fail(s, d, "reading parents");
  }
  sqlite3_reset(st);
  return rc;
}

int pg_tg_get_walk(pg_tg_store *s, const uint8_t id[PG_ID_LEN], uint32_t *referenced_by,
                   int *payload_type, uint8_t parents[PG_MSG_MAX_PARENTS][PG_ID_LEN], uint8_t *np,
                   int raw_of_type, uint8_t **raw, size_t *len, pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(s, ST_GET_WALK);
  *np = 0;
  *raw = NULL;
  *len = 0;
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(s, d, "binding id");
  int rc = PG_OK, step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *referenced_by = (uint32_t)sqlite3_column_int64(st, 0);
    *payload_type = sqlite3_column_int(st, 1);
    if (*referenced_by == 0) { /* a referenced message's bytes are not read */
      rc = column_parents(st, 2, parents, np, d);
      if (!rc && *payload_type == raw_of_type) rc = column_copy(st, 2, raw, len, d);
    }
  } else {
    rc = step == SQLITE_DONE ? PG_ERR_NOT_FOUND : pg_tg_db_fail(s, d, "reading message");
  }
  sqlite3_reset(st);
  return rc;
}

int pg_tg_get_raw(pg_tg_store *s, const uint8_t id[PG_ID_LEN], uint8_t **bytes, size_t *len,
                  pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(s, ST_GET_RAW);
  *bytes = NULL;
  *len = 0;
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK)
    return pg_tg_db_fail(s, d, "binding id");
  int rc = PG_OK;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    rc = column_copy(st, 0, bytes, len, d);
  } else if (step == SQLITE_DONE) {
    rc = PG_ERR_NOT_FOUND;
  } else {
    rc = pg_tg_db_fail(s, d, "reading raw message");
  }
  sqlite3_reset(st);
  return rc;
}

int pg_tg_set_mrsi(pg_tg_store *s, const uint8_t id[PG_ID_LEN], uint32_t o, uint32_t y, uint32_t at,
                   pg_diag *d) {
  sqlite3_stmt *st = pg_tg_stmt(s, ST_SET_MRSI);
  if (sqlite3_bind_blob(st, 1, id, PG_ID_LEN, SQLITE_STATIC) != SQLITE_OK ||
      sqlite3_bind_int64(st, 2, o) != SQLITE_OK || sqlite3_bind_int64(st, 3, y) != SQLITE_OK ||
      sqlite3_bind_int64(st, 4, at) != SQLITE_OK)
    return pg_tg_db_fail(s, d, "binding mrsi");
  int step = sqlite3_step(st);
  sqlite3_reset(st);
  return step == SQLITE_DONE ? PG_OK : pg_tg_db_fail(s, d, "updating mrsi");
}
