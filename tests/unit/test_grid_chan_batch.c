/* Issue 18: the outboxes' MAM messages created together (pg_chan_create_many:
 * one pg_mam_create_batch over every database's one-row channels, another
 * over the rows of channels with several, from states skipped to in
 * advance) are byte for byte those of one database at a time
 * (pg_chan_create_queued, one at a time below 32 messages) and of
 * pg_mam_create_message row after row, channel states included; a row that
 * cannot be made (a missing channel, text that is not UTF-8 — what a
 * corrupted database holds) stops its database at that row with the single
 * path's error, and the other databases go on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "../../src/grid/chan_internal.h"
#include "../../src/grid/grid_internal.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/hash.h"

#define NDB 40 /* more than the 32 a round needs to be batched */

static sqlite3 *open_db(void) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, pg_entity_schema, NULL, NULL, NULL), SQLITE_OK);
  return db;
}

static void exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) fail_msg("%s: %s", sql, err);
}

/* twin: a copy of db's channels (seeds and states) and outbox */
static sqlite3 *twin_of(sqlite3 *db) {
  sqlite3 *t = open_db();
  sqlite3_stmt *st = NULL, *ins = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT state, name, root, side_key FROM channels", -1,
                                      &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(t, "INSERT INTO channels(state, name, root, side_key)"
                                         " VALUES (?1, ?2, ?3, ?4)", -1, &ins, NULL), SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    for (int c = 0; c < 4; c++)
      sqlite3_bind_text(ins, c + 1, (const char *)sqlite3_column_text(st, c), -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(st);
  sqlite3_finalize(ins);
  return t;
}

static void queue(sqlite3 *db, const char *chan, int i, int k) {
  char body[128];
  snprintf(body, sizeof body, "{\"reading\":%d,\"n\":%d,\"text\":\"h\\u00e9llo %d\"}", i, k, i * k);
  pg_diag d = {{0}};
  if (pg_chan_queue_text(db, chan, body, strlen(body), &d) != PG_OK) fail_msg("%s", d.msg);
}

/* Every outbox row's seq, payload and address, and every channel's state,
 * as one string. */
static char *dump(sqlite3 *db) {
  size_t cap = 1 << 20, len = 0;
  char *out = calloc(1, cap);
  assert_non_null(out);
  const char *sql[] = {"SELECT o.seq, COALESCE(m.payload, '-'), COALESCE(m.address, '-')"
                       " FROM outbox o LEFT JOIN outbox_made m ON m.seq = o.seq ORDER BY o.seq",
                       "SELECT name, state, '' FROM channels ORDER BY name"};
  for (int q = 0; q < 2; q++) {
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql[q], -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      int w = snprintf(out + len, cap - len, "%s|%s|%s\n", sqlite3_column_text(st, 0),
                       sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
      assert_true(w > 0 && (size_t)w < cap - len);
      len += (size_t)w;
    }
    sqlite3_finalize(st);
  }
  return out;
}

/* Which outbox rows have a payload, in seq order ("1" made, "0" not). */
static void assert_made(sqlite3 *db, const char *want) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(made, '') FROM (SELECT"
                                          " m.seq IS NOT NULL AS made FROM outbox o LEFT JOIN"
                                          " outbox_made m ON m.seq = o.seq ORDER BY o.seq)",
                                      -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
  sqlite3_finalize(st);
}

static void test_batch_is_single_byte_for_byte(void **state) {
  (void)state;
  sqlite3 *db[NDB], *tw[NDB];
  pg_diag d = {{0}};
  for (int i = 0; i < NDB; i++) {
    db[i] = open_db();
    assert_int_equal(pg_chan_ensure(db[i], "main", 1, NULL, NULL, &d), PG_OK);
    if (i % 3 == 0) assert_int_equal(pg_chan_ensure(db[i], "bills", 1, NULL, NULL, &d), PG_OK);
    tw[i] = twin_of(db[i]);
    /* a reading on every channel; some databases queue a second and a
     * third message on main (the next rounds), interleaved with bills */
    for (int k = 0; k < 1 + (i % 4 == 0) * 2; k++) {
      for (int t = 0; t < 2; t++) {
        sqlite3 *x = t ? tw[i] : db[i];
        queue(x, "main", i, k);
        if (i % 3 == 0) queue(x, "bills", i, k);
      }
    }
  }
  /* corrupted rows: database 5's second row names a channel it does not
   * have (a third follows it), database 7's only row is not UTF-8 */
  for (int t = 0; t < 2; t++) {
    sqlite3 *x5 = t ? tw[5] : db[5], *x7 = t ? tw[7] : db[7];
    queue(x5, "gone", 5, 1);
    queue(x5, "main", 5, 2);
    exec(x7, "UPDATE outbox SET body = CAST(X'7b22ff227d' AS TEXT)");
  }
  pg_chan_send snd[NDB];
  pg_mam_keys *keys = NULL;
  assert_int_equal(pg_mam_keys_new(&keys), PG_OK);
  for (int i = 0; i < NDB; i++) snd[i] = (pg_chan_send){.db = db[i]};
  pg_chan_create_many(snd, NDB, keys);
  pg_chan_keep_made(snd, NDB);
  pg_chan_send_free(snd, NDB);
  for (int i = 0; i < NDB; i++) {
    pg_diag sd = {{0}};
    int src = pg_chan_create_queued(tw[i], NULL, &sd);
    assert_int_equal(snd[i].rc, src);
    assert_string_equal(snd[i].d.msg, src ? sd.msg : "");
    char *a = dump(db[i]), *b = dump(tw[i]);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  assert_int_equal(snd[5].rc, PG_ERR_STATE);
  assert_non_null(strstr(snd[5].d.msg, "channel gone is missing"));
  assert_int_equal(snd[7].rc, PG_ERR_INVALID);
  assert_non_null(strstr(snd[7].d.msg, "not valid UTF-8"));
  /* database 5 made its first row only, 7 none, the others all of theirs */
  assert_made(db[5], "100");
  for (int i = 0; i < NDB; i++) {
    int64_t unmade = -1;
    assert_int_equal(pg_db_i64(db[i], "SELECT COUNT(*) FROM outbox WHERE seq NOT IN"
                                      " (SELECT seq FROM outbox_made)", 0, 0, &unmade, &d), PG_OK);
    assert_int_equal(unmade, i == 5 ? 2 : i == 7 ? 1 : 0);
  }
  /* a second flush creates nothing new and changes nothing */
  char *before = dump(db[0]);
  snd[0] = (pg_chan_send){.db = db[0]};
  pg_chan_create_many(snd, 1, keys);
  pg_chan_keep_made(snd, 1);
  pg_chan_send_free(snd, 1);
  assert_int_equal(snd[0].rc, PG_OK);
  char *after = dump(db[0]);
  assert_string_equal(before, after);
  free(before);
  free(after);
  pg_mam_keys_free(keys);
  for (int i = 0; i < NDB; i++) {
    pg_grid_db_close(db[i]);
    pg_grid_db_close(tw[i]);
  }
}


/* Row after row as one at a time makes them: channel `chan`'s queued rows
 * of twin t (not flushed), each text through pg_mam_create_message from the
 * state the row before left, compared with db's saved payload and address;
 * the channel's saved state is the last one's. Returns the rows checked. */
static int check_sequential(sqlite3 *db, sqlite3 *t, const char *chan) {
  pg_diag d = {{0}};
  pg_mam_channel ch;
  bool found = false;
  assert_int_equal(pg_chan_load_state(t, chan, &ch, NULL, &found, &d), PG_OK);
  assert_true(found);
  sqlite3_stmt *st = NULL, *got = NULL;
  assert_int_equal(sqlite3_prepare_v2(t, "SELECT seq, body FROM outbox WHERE channel = ?1"
                                         " ORDER BY seq", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT payload, address FROM outbox_made WHERE seq = ?1",
                                      -1, &got, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, chan, -1, SQLITE_STATIC);
  int n = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 1);
    char *tr = NULL;
    size_t tl = 0;
    assert_int_equal(pg_mam_text_to_trytes(text, strlen(text), &tr, &tl), PG_OK);
    pg_mam_message m;
    assert_int_equal(pg_mam_create_message(&ch, tr, tl, &m, &d), PG_OK);
    sqlite3_bind_int64(got, 1, sqlite3_column_int64(st, 0));
    assert_int_equal(sqlite3_step(got), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(got, 0), m.payload);
    assert_string_equal((const char *)sqlite3_column_text(got, 1), m.address);
    sqlite3_reset(got);
    pg_mam_message_free(&m);
    free(tr);
    n++;
  }
  sqlite3_finalize(st);
  sqlite3_finalize(got);
  pg_mam_channel saved;
  assert_int_equal(pg_chan_load_state(db, chan, &saved, NULL, &found, &d), PG_OK);
  assert_memory_equal(&saved, &ch, sizeof ch);
  pg_mam_channel_wipe(&ch);
  pg_mam_channel_wipe(&saved);
  return n;
}

/* A long text of about `bytes` bytes for row k (a record part's size). */
static void queue_long(sqlite3 *db, const char *chan, int k, size_t bytes) {
  char *body = malloc(bytes + 64);
  assert_non_null(body);
  size_t len = (size_t)snprintf(body, 64, "{\"part\":%d,\"lines\":\"", k);
  for (size_t i = 0; len < bytes; i++) body[len++] = (char)('a' + (i * 7 + (size_t)k) % 26);
  memcpy(body + len, "\"}", 3);
  pg_diag d = {{0}};
  if (pg_chan_queue_text(db, chan, body, len + 2, &d) != PG_OK) fail_msg("%s", d.msg);
  free(body);
}

/* A channel with many queued rows (the grid's record: a slot's parts near
 * the message size limit) beside 36 one-row channels: its rows are made
 * from states skipped to in advance, together, and each is byte for byte
 * what pg_mam_create_message makes from the state the row before left; so
 * is a second channel's three short rows. 40 rows, then 6 (a batch and
 * one at a time on two threads). */
static void test_many_rows_of_one_channel(void **state) {
  (void)state;
  static const int parts[] = {40, 6};
  for (size_t r = 0; r < sizeof parts / sizeof *parts; r++) {
    sqlite3 *db = open_db();
    pg_diag d = {{0}};
    char name[16];
    assert_int_equal(pg_chan_ensure(db, "record", 2, NULL, NULL, &d), PG_OK);
    for (int c = 0; c < 36; c++) {
      snprintf(name, sizeof name, "bill%02d", c);
      assert_int_equal(pg_chan_ensure(db, name, 1, NULL, NULL, &d), PG_OK);
    }
    sqlite3 *t = twin_of(db);
    for (int x = 0; x < 2; x++) {
      sqlite3 *q = x ? t : db;
      for (int k = 0; k < parts[r]; k++) {
        queue_long(q, "record", k, 6000 + (size_t)k * 97);
        if (k < 36) {
          snprintf(name, sizeof name, "bill%02d", k);
          queue(q, name, k, 0);
        }
        if (k < 3) queue(q, "bill00", k, 1);
      }
    }
    pg_mam_keys *keys = NULL;
    assert_int_equal(pg_mam_keys_new(&keys), PG_OK);
    assert_int_equal(pg_chan_create_queued(db, keys, &d), PG_OK);
    assert_int_equal(check_sequential(db, t, "record"), parts[r]);
    assert_int_equal(check_sequential(db, t, "bill00"), 4);
    assert_int_equal(check_sequential(db, t, "bill05"), 1);
    pg_mam_keys_free(keys);
    pg_grid_db_close(db);
    pg_grid_db_close(t);
  }
}

/* A chain whose third message cannot be made (its channel's leaves run out
 * there): the two before it are saved, it and the later ones wait, and the
 * error is the one-at-a-time one. */
static void test_chain_stops_where_single_does(void **state) {
  (void)state;
  sqlite3 *db = open_db();
  pg_diag d = {{0}};
  assert_int_equal(pg_chan_ensure(db, "record", 1, NULL, NULL, &d), PG_OK);
  /* a message needs start + 2 <= 2^53 - 1: two fit, the third not */
  exec(db, "UPDATE channels SET state = json_set(state, '$.start', 9007199254740988)");
  for (int k = 0; k < 5; k++) queue_long(db, "record", k, 500);
  int rc = pg_chan_create_queued(db, NULL, &d);
  assert_int_equal(rc, PG_ERR_STATE);
  assert_non_null(strstr(d.msg, "used all its leaves"));
  assert_made(db, "11000");
  pg_grid_db_close(db);
}

/* Channels c00, c01, ... (security 1 and 2 in turn) named in names[]. */
static void ensure_channels(sqlite3 *db, char (*names)[16], int n) {
  pg_diag d = {{0}};
  for (int c = 0; c < n; c++) {
    snprintf(names[c], sizeof names[c], "c%02d", c);
    assert_int_equal(pg_chan_ensure(db, names[c], 1 + c % 2, NULL, NULL, &d), PG_OK);
  }
}

/* The grid's flush: one database, 40 channels (its members' bills), a
 * message on each a round. With a MAM cache the rounds after the first sign
 * from the lanes the round before kept; the rows and channel states are
 * byte for byte those made without a cache. */
static void test_rounds_with_cache(void **state) {
  (void)state;
  enum { NCH = 40, ROUNDS = 3 };
  pg_diag d = {{0}};
  sqlite3 *db = open_db();
  char names[NCH][16];
  ensure_channels(db, names, NCH);
  sqlite3 *tw = twin_of(db);
  pg_mam_keys *keys = NULL;
  assert_int_equal(pg_mam_keys_new(&keys), PG_OK);
  for (int r = 0; r < ROUNDS; r++) {
    for (int c = 0; c < NCH; c++) {
      queue(db, names[c], c, r);
      queue(tw, names[c], c, r);
    }
    assert_int_equal(pg_chan_create_queued(db, keys, &d), PG_OK);
    assert_int_equal(pg_chan_create_queued(tw, NULL, &d), PG_OK);
    char *a = dump(db), *b = dump(tw);
    assert_string_equal(a, b);
    free(a), free(b);
  }
  pg_mam_keys_counts kc;
  pg_mam_keys_get_counts(keys, &kc);
  assert_int_equal(kc.fresh, NCH);
  assert_int_equal(kc.kept, (ROUNDS - 1) * NCH);
  assert_int_equal(kc.cached, 0);
  pg_mam_keys_free(keys);
  pg_grid_db_close(db);
  pg_grid_db_close(tw);
}

/* sql's one text value. */
static char *text_of(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  const char *v = (const char *)sqlite3_column_text(st, 0);
  char *out = strdup(v ? v : "(null)");
  sqlite3_finalize(st);
  return out;
}

/* A node that keeps what it is sent: each message's id is the hash of
 * its JSON, and the message whose index is `refuse` is refused. */
typedef struct keeper {
  pg_client base;
  char refuse[65];
  char *log; /* every accepted message's JSON, one a line */
  size_t len, cap;
} keeper;

static int k_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d) {
  keeper *k = (keeper *)c;
  const char *ix = json_string_value(json_object_get(json_object_get(msg, "payload"), "index"));
  if (ix && strcmp(ix, k->refuse) == 0) return pg_fail(d, PG_ERR_UNAVAILABLE, "HTTP 503: refused");
  char *js = json_dumps(msg, JSON_COMPACT | JSON_SORT_KEYS);
  assert_non_null(js);
  size_t n = strlen(js);
  while (k->len + n + 2 > k->cap) {
    k->cap = k->cap ? k->cap * 2 : 1 << 16;
    k->log = realloc(k->log, k->cap);
    assert_non_null(k->log);
  }
  memcpy(k->log + k->len, js, n);
  k->len += n;
  k->log[k->len++] = '\n';
  k->log[k->len] = 0;
  pg_blake2b256(js, n, id);
  free(js);
  return PG_OK;
}

static const pg_client_ops KEEPER_OPS = {.kind = "keeper", .submit_json = k_submit_json};

/* Every outbox row's seq, msg_id and last error. */
static char *dump_sent(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(seq || '|' || COALESCE(msg_id, '-')"
                                          " || '|' || COALESCE(last_error, '-'), ';') FROM"
                                          " (SELECT * FROM outbox ORDER BY seq)", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  char *out = strdup(sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : "");
  sqlite3_finalize(st);
  return out;
}

/* pg_chan_create_many and pg_chan_send_many over 8 databases send what
 * pg_chan_flush sends database by database, in the same order, mark the
 * same rows and say the same: database 2's second message refused stops
 * database 2 there (its third waits) and no other database. made_before:
 * the rows were created and kept by an earlier flush whose attach failed
 * (outbox_made); else they are made in memory by this one. */
static void send_many_is_flush_each(bool made_before) {
  enum { N = 8 };
  sqlite3 *db[N], *tw[N];
  pg_diag d = {{0}};
  for (int i = 0; i < N; i++) {
    db[i] = open_db();
    assert_int_equal(pg_chan_ensure(db[i], "main", 1, NULL, NULL, &d), PG_OK);
    tw[i] = twin_of(db[i]);
    for (int k = 0; k < 1 + i % 3; k++) {
      queue(db[i], "main", i, k);
      queue(tw[i], "main", i, k);
    }
  }
  /* database 2's second message's attach index, from a third copy (the
   * same state and texts make the same messages) */
  sqlite3 *t2 = twin_of(db[2]);
  for (int k = 0; k < 3; k++) queue(t2, "main", 2, k);
  assert_int_equal(pg_chan_create_queued(t2, NULL, &d), PG_OK);
  char *addr = text_of(t2, "SELECT address FROM outbox_made ORDER BY seq LIMIT 1 OFFSET 1");
  pg_grid_db_close(t2);
  keeper one, many;
  memset(&one, 0, sizeof one);
  memset(&many, 0, sizeof many);
  one.base.ops = many.base.ops = &KEEPER_OPS;
  uint8_t idx[32];
  pg_mam_attach_index(addr, idx);
  free(addr);
  pg_hex_encode(idx, 32, one.refuse);
  memcpy(many.refuse, one.refuse, sizeof one.refuse);
  for (int i = 0; made_before && i < N; i++) {
    assert_int_equal(pg_chan_create_queued(db[i], NULL, &d), PG_OK);
    assert_int_equal(pg_chan_create_queued(tw[i], NULL, &d), PG_OK);
  }

  pg_chan_send snd[N];
  for (int i = 0; i < N; i++) snd[i] = (pg_chan_send){.db = db[i]};
  pg_chan_create_many(snd, N, NULL);
  pg_chan_send_many(snd, N, &many.base);
  pg_chan_send_free(snd, N);
  for (int i = 0; i < N; i++) {
    size_t sent = 0;
    pg_diag sd = {{0}};
    int rc = pg_chan_flush(tw[i], &one.base, NULL, &sent, &sd);
    assert_int_equal(snd[i].rc, rc);
    assert_string_equal(snd[i].d.msg, rc ? sd.msg : "");
    assert_int_equal(snd[i].sent, sent);
    char *a = dump_sent(db[i]), *b = dump_sent(tw[i]);
    assert_string_equal(a, b);
    free(a), free(b);
    a = dump(db[i]), b = dump(tw[i]);
    assert_string_equal(a, b);
    free(a), free(b);
  }
  assert_int_equal(snd[2].rc, PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(snd[2].d.msg, "attach failed: HTTP 503: refused"));
  assert_int_equal(snd[2].sent, 1);
  assert_non_null(one.log);
  assert_string_equal(many.log, one.log);
  int64_t waiting = -1;
  assert_int_equal(pg_chan_pending(db[2], &waiting, &d), PG_OK);
  assert_int_equal(waiting, 2);
  /* a sent row keeps its message id, not its payload (the message is on
   * the Tangle: an outbox no longer grows by a signed message a row); a
   * row made and not sent keeps its payload, to be attached again byte for
   * byte */
  for (int i = 0; i < N; i++) {
    for (int t = 0; t < 2; t++) {
      sqlite3 *x = t ? tw[i] : db[i];
      int64_t v = -1;
      assert_int_equal(pg_db_i64(x, "SELECT COUNT(*) FROM outbox o JOIN outbox_made m"
                                    " ON m.seq = o.seq WHERE o.msg_id IS NOT NULL", 0, 0, &v, &d),
                       PG_OK);
      assert_int_equal(v, 0);
      assert_int_equal(pg_db_i64(x, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL"
                                    " AND seq NOT IN (SELECT seq FROM outbox_made)", 0, 0, &v, &d),
                       PG_OK);
      assert_int_equal(v, 0);
      assert_int_equal(pg_db_i64(x, "SELECT COUNT(*) FROM outbox_made", 0, 0, &v, &d), PG_OK);
      assert_int_equal(v, i == 2 ? 2 : 0);
      assert_int_equal(pg_db_i64(x, "SELECT COUNT(*) FROM outbox WHERE payload IS NOT NULL"
                                    " OR address IS NOT NULL", 0, 0, &v, &d), PG_OK);
      assert_int_equal(v, 0);
    }
  }
  /* the next flush sends database 2's kept rows as they were made */
  one.refuse[0] = many.refuse[0] = 0;
  free(one.log), free(many.log);
  one.log = many.log = NULL;
  one.len = one.cap = many.len = many.cap = 0;
  size_t sent = 0;
  assert_int_equal(pg_chan_flush(db[2], &many.base, NULL, &sent, &d), PG_OK);
  assert_int_equal(sent, 2);
  assert_int_equal(pg_chan_flush(tw[2], &one.base, NULL, &sent, &d), PG_OK);
  assert_string_equal(many.log, one.log);
  free(one.log), free(many.log);
  for (int i = 0; i < N; i++) {
    pg_grid_db_close(db[i]);
    pg_grid_db_close(tw[i]);
  }
}

static void test_send_many_is_send_each(void **state) {
  (void)state;
  send_many_is_flush_each(false);
  send_many_is_flush_each(true);
}

/* A crash after the attach and before the flush's one transaction: the
 * create phase writes nothing (the database is as before the flush, which
 * is what a crash at any point before that transaction leaves), and a flush
 * of that database attaches the very payloads the first one did, byte for
 * byte, and leaves the same channel states: no leaf carries two messages.
 * Rows on several channels, one with three chained rows, over the 32 a
 * batch needs. */
static void test_crash_before_marking_attaches_the_same(void **state) {
  (void)state;
  sqlite3 *db = open_db();
  pg_diag d = {{0}};
  enum { NCH = 40 };
  char names[NCH][16];
  ensure_channels(db, names, NCH);
  sqlite3 *tw = twin_of(db);
  for (int t = 0; t < 2; t++)
    for (int c = 0; c < NCH; c++)
      for (int k = 0; k < (c == 3 ? 3 : 1); k++) queue(t ? tw : db, names[c], c, k);
  pg_mam_keys *keys = NULL;
  assert_int_equal(pg_mam_keys_new(&keys), PG_OK);
  char *before = dump(db);
  pg_chan_send s = {.db = db};
  pg_chan_create_many(&s, 1, keys);
  assert_int_equal(s.ready, NCH + 2);
  pg_chan_send_free(&s, 1); /* the crash: nothing made is kept */
  char *after = dump(db);
  assert_string_equal(before, after);
  free(before), free(after);

  keeper first, again;
  memset(&first, 0, sizeof first);
  memset(&again, 0, sizeof again);
  first.base.ops = again.base.ops = &KEEPER_OPS;
  size_t sent = 0;
  assert_int_equal(pg_chan_flush(db, &first.base, keys, &sent, &d), PG_OK);
  assert_int_equal(sent, NCH + 2);
  assert_int_equal(pg_chan_flush(tw, &again.base, NULL, &sent, &d), PG_OK);
  assert_int_equal(sent, NCH + 2);
  assert_string_equal(first.log, again.log);
  char *a = dump(db), *b = dump(tw);
  assert_string_equal(a, b);
  free(a), free(b);
  int64_t v = -1;
  assert_int_equal(pg_db_i64(db, "SELECT COUNT(*) FROM outbox_made", 0, 0, &v, &d), PG_OK);
  assert_int_equal(v, 0);
  free(first.log), free(again.log);
  pg_mam_keys_free(keys);
  pg_grid_db_close(db);
  pg_grid_db_close(tw);
}

/* An outbox from before outbox_made kept a created row's payload and
 * address in the row: opening it (the schema, as every open runs it)
 * moves the unsent rows' to outbox_made, the same bytes, once; a sent
 * row is left as it was. */
static void test_created_rows_of_an_older_database(void **state) {
  (void)state;
  sqlite3 *db = open_db();
  pg_diag d = {{0}};
  assert_int_equal(pg_chan_ensure(db, "main", 1, NULL, NULL, &d), PG_OK);
  for (int k = 0; k < 3; k++) queue(db, "main", 1, k);
  assert_int_equal(pg_chan_create_queued(db, NULL, &d), PG_OK);
  static const char made[] = "SELECT group_concat(seq || ':' || payload || ':' || address, ';')"
                             " FROM (SELECT * FROM outbox_made ORDER BY seq)";
  char *all = text_of(db, made);
  /* the older layout: payloads in the rows, the first row sent */
  exec(db, "UPDATE outbox SET payload = (SELECT payload FROM outbox_made m WHERE m.seq ="
           " outbox.seq), address = (SELECT address FROM outbox_made m WHERE m.seq = outbox.seq);"
           " DELETE FROM outbox_made; UPDATE outbox SET msg_id = 'sent' WHERE seq = 1");
  char *first = text_of(db, "SELECT payload FROM outbox WHERE seq = 1");
  for (int open = 0; open < 2; open++) {
    exec(db, "BEGIN");
    exec(db, pg_entity_schema);
    exec(db, "COMMIT");
    char *moved = text_of(db, made);
    assert_string_equal(moved, strchr(all, ';') + 1); /* rows 2 and 3, byte for byte */
    free(moved);
    char *kept = text_of(db, "SELECT payload FROM outbox WHERE seq = 1");
    assert_string_equal(kept, first);
    free(kept);
    int64_t v = -1;
    assert_int_equal(pg_db_i64(db, "SELECT COUNT(*) FROM outbox WHERE seq > 1 AND (payload IS NOT"
                                   " NULL OR address IS NOT NULL)", 0, 0, &v, &d), PG_OK);
    assert_int_equal(v, 0);
  }
  free(all), free(first);
  pg_grid_db_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_is_single_byte_for_byte),
      cmocka_unit_test(test_rounds_with_cache),
      cmocka_unit_test(test_send_many_is_send_each),
      cmocka_unit_test(test_crash_before_marking_attaches_the_same),
      cmocka_unit_test(test_many_rows_of_one_channel),
      cmocka_unit_test(test_chain_stops_where_single_does),
      cmocka_unit_test(test_created_rows_of_an_older_database),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
