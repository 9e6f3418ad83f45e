/* Unit tests: the store's schema versions. A store written by a schema-1
 * node (child-keyed edges, indexation with its own rowid and a message_id
 * index) is converted at open and then reads exactly as it was written:
 * parents, children, index order, tips, solidity, the purge of old unsolid
 * messages; a store of an unknown version is refused and left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "tangle_test_util.h"

/* Schema 1 exactly as src/tangle/store.c created it (sessions 10 to 16). */
static const char SCHEMA_1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE messages ("
    " id BLOB PRIMARY KEY, raw BLOB NOT NULL, arrival_ms INTEGER NOT NULL,"
    " solid INTEGER NOT NULL, referenced_by INTEGER NOT NULL DEFAULT 0,"
    " milestone_index INTEGER NOT NULL DEFAULT 0, inclusion INTEGER NOT NULL DEFAULT 0,"
    " conflict_reason INTEGER NOT NULL DEFAULT 0, omrsi INTEGER NOT NULL DEFAULT 0,"
    " ymrsi INTEGER NOT NULL DEFAULT 0, mrsi_at INTEGER NOT NULL DEFAULT 0,"
    " payload_type INTEGER NOT NULL);"
    "CREATE INDEX messages_unsolid ON messages(arrival_ms) WHERE solid = 0;"
    "CREATE INDEX messages_ms ON messages(milestone_index) WHERE milestone_index > 0;"
    "CREATE TABLE edges ("
    " child BLOB NOT NULL, parent BLOB NOT NULL, position INTEGER NOT NULL,"
    " PRIMARY KEY (child, position)) WITHOUT ROWID;"
    "CREATE INDEX edges_parent ON edges(parent);"
    "CREATE TABLE indexation ("
    " seq INTEGER PRIMARY KEY, ix BLOB NOT NULL, message_id BLOB NOT NULL);"
    "CREATE INDEX indexation_ix ON indexation(ix, seq);"
    "CREATE INDEX indexation_msg ON indexation(message_id);"
    "CREATE TABLE milestones ("
    " ms_index INTEGER PRIMARY KEY, message_id BLOB NOT NULL, timestamp INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('schema_version', '1'), ('network_name', 'private-tangle');";

typedef struct v1_msg {
  const char *index, *data;
  int parents[2]; /* message numbers, -1 none, -2 the SEP, -3 late_parent (not stored) */
  bool solid;
  uint64_t arrival_ms;
  uint8_t id[PG_ID_LEN];
} v1_msg;

static void sql_ok(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
}

static const uint8_t MISSING[PG_ID_LEN] = {0x77, 0x01};
static uint8_t late_parent[PG_ID_LEN] = {0x77, 0x01}; /* what parent -3 names */

/* Writes msgs (in order) into a schema-1 store at dir/tangle.db as a
 * schema-1 node stored them: message row, one edge per parent, index row. */
static void write_v1(const char *dir, v1_msg *msgs, size_t n) {
  char path[512];
  snprintf(path, sizeof path, "%s/tangle.db", dir);
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sql_ok(db, "PRAGMA journal_mode=WAL");
  sql_ok(db, SCHEMA_1);
  sqlite3_stmt *msg, *edge, *ix;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "INSERT INTO messages(id, raw, arrival_ms, solid, payload_type)"
                                      " VALUES (?1, ?2, ?3, ?4, 2)",
                                      -1, &msg, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO edges VALUES (?1, ?2, ?3)", -1, &edge, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO indexation(ix, message_id) VALUES (?1, ?2)", -1,
                                      &ix, NULL),
                   SQLITE_OK);
  for (size_t i = 0; i < n; i++) {
    uint8_t parents[2][PG_ID_LEN];
    size_t np = 0;
    for (int k = 0; k < 2 && msgs[i].parents[k] != -1; k++) {
      int p = msgs[i].parents[k];
      memcpy(parents[np++], p == -2 ? TT_SEP : p == -3 ? late_parent : msgs[p].id, PG_ID_LEN);
    }
    pg_buf b;
    tt_build_indexation(&b, pg_network_id("private-tangle"), (const uint8_t(*)[PG_ID_LEN])parents, np,
                        msgs[i].index, msgs[i].data);
    pg_message_id(b.data, b.len, msgs[i].id);
    sqlite3_bind_blob(msg, 1, msgs[i].id, PG_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(msg, 2, b.data, (int)b.len, SQLITE_STATIC);
    sqlite3_bind_int64(msg, 3, (sqlite3_int64)msgs[i].arrival_ms);
    sqlite3_bind_int(msg, 4, msgs[i].solid);
    assert_int_equal(sqlite3_step(msg), SQLITE_DONE);
    sqlite3_reset(msg);
    uint8_t stored[PG_MSG_MAX_PARENTS][PG_ID_LEN], ns;
    assert_int_equal(pg_message_parents(b.data, b.len, stored, &ns, NULL), PG_OK);
    for (uint8_t k = 0; k < ns; k++) {
      sqlite3_bind_blob(edge, 1, msgs[i].id, PG_ID_LEN, SQLITE_STATIC);
      sqlite3_bind_blob(edge, 2, stored[k], PG_ID_LEN, SQLITE_STATIC);
      sqlite3_bind_int(edge, 3, k);
      assert_int_equal(sqlite3_step(edge), SQLITE_DONE);
      sqlite3_reset(edge);
    }
    sqlite3_bind_blob(ix, 1, msgs[i].index, (int)strlen(msgs[i].index), SQLITE_STATIC);
    sqlite3_bind_blob(ix, 2, msgs[i].id, PG_ID_LEN, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(ix), SQLITE_DONE);
    sqlite3_reset(ix);
    pg_buf_free(&b);
  }
  sqlite3_finalize(msg);
  sqlite3_finalize(edge);
  sqlite3_finalize(ix);
  assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* The one-column text answer of sql on dir/tangle.db, into out. */
static void query_text(const char *dir, const char *sql, char *out, size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/tangle.db", dir);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  out[0] = '\0';
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static void assert_ids(const uint8_t (*got)[PG_ID_LEN], size_t count, const uint8_t *const *want,
                       size_t n) {
  assert_int_equal(count, n);
  for (size_t i = 0; i < n; i++) assert_memory_equal(got[i], want[i], PG_ID_LEN);
}

static void test_schema_1_converted(void **state) {
  tt_fixture *f = *state;
  memcpy(late_parent, MISSING, PG_ID_LEN);
  /* a <- b <- c, c also approves a; u waits for a missing parent, and is old */
  v1_msg m[] = {
      {"p", "a", {-2, -1}, true, TT_START_MS - 100, {0}},
      {"p", "b", {0, -1}, true, TT_START_MS - 90, {0}},
      {"q", "c", {0, 1}, true, TT_START_MS - 80, {0}},
      {"p", "u", {-3, -1}, false, TT_START_MS - 5000, {0}},
  };
  write_v1(f->dir, m, 4);
  f->cfg.unsolid_max_age_ms = 1000;
  f->t = tt_open(&f->cfg);

  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.messages, 4);
  assert_int_equal(s.unsolid, 1);
  pg_msg_meta meta = tt_meta(f->t, m[2].id);
  assert_int_equal(meta.parents_count, 2);
  const uint8_t *ab[2] = {m[0].id, m[1].id};
  if (memcmp(ab[0], ab[1], PG_ID_LEN) > 0) ab[0] = m[1].id, ab[1] = m[0].id;
  assert_ids((const uint8_t(*)[PG_ID_LEN])meta.parents, meta.parents_count, ab, 2);
  assert_true(meta.solid);
  assert_false(tt_meta(f->t, m[3].id).solid);

  uint8_t out[8][PG_ID_LEN];
  size_t count, total;
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"p", 1, 8, out, &count, &total), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){m[0].id, m[1].id, m[3].id}, 3);
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"q", 1, 8, out, &count, &total), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){m[2].id}, 1);
  /* children, in id order */
  const uint8_t *bc[2] = {m[1].id, m[2].id};
  if (memcmp(bc[0], bc[1], PG_ID_LEN) > 0) bc[0] = m[2].id, bc[1] = m[1].id;
  assert_int_equal(pg_tangle_children(f->t, m[0].id, 8, out, &count, &total), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, bc, 2);
  assert_int_equal(pg_tangle_children(f->t, MISSING, 8, out, &count, &total), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){m[3].id}, 1);
  /* tips: only c (a and b are approved by solid messages, u is not solid) */
  assert_int_equal(pg_tangle_select_tips(f->t, out, 8, &count), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){m[2].id}, 1);

  /* the next submit purges u through the converted tables */
  uint8_t d[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])m[2].id, 1, "p", "d", d), PG_OK);
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.messages, 4);
  assert_int_equal(s.unsolid, 0);
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"p", 1, 8, out, &count, &total), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){m[0].id, m[1].id, d}, 3);
  assert_int_equal(pg_tangle_children(f->t, MISSING, 8, out, &count, &total), PG_OK);
  assert_int_equal(total, 0);
  pg_tangle_close(f->t);
  f->t = NULL;

  char v[64];
  query_text(f->dir, "SELECT value FROM meta WHERE key = 'schema_version'", v, sizeof v);
  assert_string_equal(v, "2");
  query_text(f->dir, "SELECT group_concat(name) FROM sqlite_master WHERE name LIKE 'edges%'", v,
             sizeof v);
  assert_string_equal(v, "");

  /* opens again as schema 2, the same answers */
  f->t = tt_open(&f->cfg);
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"p", 1, 8, out, &count, &total), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){m[0].id, m[1].id, d}, 3);
  assert_int_equal(pg_tangle_select_tips(f->t, out, 8, &count), PG_OK);
  assert_ids((const uint8_t(*)[PG_ID_LEN])out, count, (const uint8_t *[]){d}, 1);
}

/* An unsolid schema-1 message still becomes solid when its parent arrives
 * after the conversion (its children row came from its edge). */
static void test_schema_1_solidifies(void **state) {
  tt_fixture *f = *state;
  pg_buf xb; /* x: not in the store, w waits for it */
  tt_build_indexation(&xb, pg_network_id("private-tangle"), &TT_SEP, 1, "x", "late");
  pg_message_id(xb.data, xb.len, late_parent);
  v1_msg m[] = {{"w", "w", {-3, -1}, false, TT_START_MS - 10, {0}}};
  write_v1(f->dir, m, 1);

  f->t = tt_open(&f->cfg);
  assert_false(tt_meta(f->t, m[0].id).solid);
  uint8_t got[PG_ID_LEN];
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, xb.data, xb.len, got, NULL, &d), PG_OK);
  assert_true(tt_meta(f->t, m[0].id).solid);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.unsolid, 0);
  assert_int_equal(s.messages, 2);
  pg_buf_free(&xb);
}

/* A version this build does not know is refused by name and not touched. */
static void test_unknown_version_refused(void **state) {
  tt_fixture *f = *state;
  f->t = tt_open(&f->cfg);
  uint8_t id[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "k", "v", id), PG_OK);
  pg_tangle_close(f->t);
  f->t = NULL;
  char path[512];
  snprintf(path, sizeof path, "%s/tangle.db", f->dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sql_ok(db, "UPDATE meta SET value = '9' WHERE key = 'schema_version'");
  sqlite3_close(db);
  pg_tangle *t = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_open(&f->cfg, &t, &d), PG_ERR_CONFIG);
  assert_null(t);
  assert_non_null(strstr(d.msg, "schema version 9, this build reads 1 and 2"));
  char v[64];
  query_text(f->dir, "SELECT count(*) FROM messages", v, sizeof v);
  assert_string_equal(v, "1");
  query_text(f->dir, "SELECT value FROM meta WHERE key = 'schema_version'", v, sizeof v);
  assert_string_equal(v, "9");
}

int main(void) {
  if (pg_crypto_init() != PG_OK) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_schema_1_converted, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_schema_1_solidifies, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_unknown_version_refused, tt_setup, tt_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
