/* chan.c — our MAM channels with a persistent outbox, and reading others'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/hex.h"

static int db_fail(sqlite3 *db, pg_diag *d, const char *what) {
  return pg_fail(d, PG_ERR_DB, "%s: %s", what, sqlite3_errmsg(db));
}

static int load_state(sqlite3 *db, const char *name, pg_mam_channel *ch, pg_chan_info *info,
                      bool *found, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, "SELECT state, root, side_key FROM channels WHERE name = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  *found = false;
  if (s == SQLITE_ROW) {
    *found = true;
    if (info) {
      snprintf(info->root, sizeof info->root, "%s", (const char *)sqlite3_column_text(st, 1));
      snprintf(info->side_key, sizeof info->side_key, "%s", (const char *)sqlite3_column_text(st, 2));
    }
    if (ch) {
      const void *js = sqlite3_column_text(st, 0);
      rc = pg_mam_channel_load(ch, js, (size_t)sqlite3_column_bytes(st, 0), d);
    }
  } else if (s != SQLITE_DONE) {
    rc = db_fail(db, d, "channel read");
  }
  sqlite3_finalize(st);
  return rc;
}

static int save_state(sqlite3 *db, const char *name, const pg_mam_channel *ch,
                      const pg_chan_info *info, pg_diag *d) {
  pg_buf js;
  pg_buf_init(&js, 4096);
  int rc = pg_mam_channel_save(ch, &js);
  if (rc) {
    pg_buf_free(&js);
    return pg_fail(d, rc, "channel %s: cannot save its state", name);
  }
  sqlite3_stmt *st = NULL;
  rc = pg_db_prepare(db, info ? "INSERT INTO channels(state, name, root, side_key) VALUES (?1, ?2, ?3, ?4)"
                               : "UPDATE channels SET state = ?1 WHERE name = ?2",
                      &st, d);
  if (!rc) {
    sqlite3_bind_text(st, 1, (const char *)js.data, (int)js.len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (info) {
      sqlite3_bind_text(st, 3, info->root, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 4, info->side_key, -1, SQLITE_STATIC);
    }
    if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, d, "channel write");
    sqlite3_finalize(st);
  }
  if (js.data) memset(js.data, 0, js.cap);
  pg_buf_free(&js);
  return rc;
}

int pg_chan_ensure_mode(sqlite3 *db, const char *name, pg_mam_mode mode, int security,
                        pg_chan_info *info, bool *created, pg_diag *d) {
  if (mode != PG_MAM_RESTRICTED && mode != PG_MAM_PUBLIC)
    return pg_fail(d, PG_ERR_INVALID, "channel %s: only restricted and public channels", name);
  bool found = false;
  pg_chan_info tmp;
  memset(&tmp, 0, sizeof tmp);
  int rc = load_state(db, name, NULL, &tmp, &found, d);
  if (rc) return rc;
  if (created) *created = !found;
  if (found) {
    if (info) *info = tmp;
    return PG_OK;
  }
  char seed[PG_MAM_HASH_TRYTES + 1];
  pg_mam_channel ch;
  bool restricted = mode == PG_MAM_RESTRICTED;
  rc = pg_mam_random_trytes(seed, PG_MAM_HASH_TRYTES);
  if (!rc && restricted) rc = pg_mam_random_trytes(tmp.side_key, PG_MAM_HASH_TRYTES);
  if (rc) return pg_fail(d, rc, "channel %s: no random numbers", name);
  rc = pg_mam_channel_create(&ch, seed, mode, restricted ? tmp.side_key : NULL,
                             restricted ? PG_MAM_HASH_TRYTES : 0, security ? security : 2, d);
  memset(seed, 0, sizeof seed);
  if (!rc) rc = pg_mam_channel_root(&ch, tmp.root);
  if (!rc) rc = save_state(db, name, &ch, &tmp, d);
  pg_mam_channel_wipe(&ch);
  if (!rc && info) *info = tmp;
  return rc;
}

int pg_chan_ensure(sqlite3 *db, const char *name, int security, pg_chan_info *info, bool *created,
                   pg_diag *d) {
  return pg_chan_ensure_mode(db, name, PG_MAM_RESTRICTED, security, info, created, d);
}

int pg_chan_info_get(sqlite3 *db, const char *name, pg_chan_info *info, pg_diag *d) {
  bool found = false;
  int rc = load_state(db, name, NULL, info, &found, d);
  if (!rc && !found) rc = pg_fail(d, PG_ERR_NOT_FOUND, "no channel named %s", name);
  return rc;
}

int pg_chan_queue_text(sqlite3 *db, const char *name, const void *json, size_t len, pg_diag *d) {
  if (!json || len == 0 || len > PG_GRID_MAX_SETTLEMENT_JSON || memchr(json, '\0', len))
    return pg_fail(d, PG_ERR_INVALID, "channel %s: a message must be 1..%d bytes of text", name,
                   PG_GRID_MAX_SETTLEMENT_JSON);
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, "INSERT INTO outbox(channel, body, queued_ms) VALUES (?1, ?2, ?3)", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, (const char *)json, (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)pg_clock_now(pg_clock_real()));
  return pg_db_step_done(db, st, "outbox write", d);
}

int pg_chan_queue(sqlite3 *db, const char *name, const pg_grid_msg *m, pg_diag *d) {
  pg_buf js;
  pg_buf_init(&js, PG_GRID_MAX_JSON);
  int rc = pg_grid_msg_serialize(m, &js, d);
  if (!rc) rc = pg_chan_queue_text(db, name, js.data, js.len, d);
  pg_buf_free(&js);
  return rc;
}

/* Creates the MAM message of outbox row seq and saves payload + state. */
static int create_row(sqlite3 *db, int64_t seq, const char *channel, const char *body,
                      pg_diag *d) {
  pg_mam_channel ch;
  bool found = false;
  char *trytes = NULL;
  size_t tlen = 0;
  pg_mam_message m = {0};
  int rc = pg_db_begin(db, d);
  if (rc) return rc;
  rc = load_state(db, channel, &ch, NULL, &found, d);
  if (!rc && !found) rc = pg_fail(d, PG_ERR_STATE, "outbox: channel %s is missing", channel);
  if (!rc && pg_mam_text_to_trytes(body, strlen(body), &trytes, &tlen) != PG_OK)
    rc = pg_fail(d, PG_ERR_INVALID, "outbox: message %lld is not valid UTF-8", (long long)seq);
  if (!rc) rc = pg_mam_create_message(&ch, trytes, tlen, &m, d);
  if (!rc) rc = save_state(db, channel, &ch, NULL, d);
  if (!rc) {
    sqlite3_stmt *st = NULL;
    rc = pg_db_prepare(db, "UPDATE outbox SET payload = ?1, address = ?2 WHERE seq = ?3", &st, d);
    if (!rc) {
      sqlite3_bind_text(st, 1, m.payload, (int)m.payload_len, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, m.address, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, seq);
      if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, d, "outbox write");
      sqlite3_finalize(st);
    }
  }
  if (!rc)
    rc = pg_db_commit(db, d);
  else
    pg_db_rollback(db);
  if (found) pg_mam_channel_wipe(&ch);
  free(trytes);
  pg_mam_message_free(&m);
  return rc;
}

static int mark(sqlite3 *db, int64_t seq, const uint8_t id[32], const char *err, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, id ? "UPDATE outbox SET msg_id = ?1, sent_ms = ?2,"
                                   " attempts = attempts + 1 WHERE seq = ?3"
                                 : "UPDATE outbox SET last_error = ?1, attempts = attempts + 1"
                                   " WHERE seq = ?3",
                          &st, d);
  if (rc) return rc;
  char hex[65];
  if (id) {
    pg_hex_encode(id, 32, hex);
    sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)pg_clock_now(pg_clock_real()));
  } else {
    sqlite3_bind_text(st, 1, err, -1, SQLITE_STATIC);
  }
  sqlite3_bind_int64(st, 3, seq);
  if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(db, d, "outbox write");
  sqlite3_finalize(st);
  return rc;
}

int pg_chan_flush(sqlite3 *db, pg_client *c, size_t *sent, pg_diag *d) {
  if (sent) *sent = 0;
  for (;;) {
    sqlite3_stmt *st = NULL;
    int rc = pg_db_prepare(db, "SELECT seq, channel, body, payload, address FROM outbox"
                                " WHERE msg_id IS NULL ORDER BY seq LIMIT 1",
                            &st, d);
    if (rc) return rc;
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
      sqlite3_finalize(st);
      return PG_OK;
    }
    if (s != SQLITE_ROW) {
      rc = db_fail(db, d, "outbox read");
      sqlite3_finalize(st);
      return rc;
    }
    int64_t seq = sqlite3_column_int64(st, 0);
    char channel[128];
    snprintf(channel, sizeof channel, "%s", (const char *)sqlite3_column_text(st, 1));
    bool created = sqlite3_column_type(st, 3) != SQLITE_NULL;
    if (!created) {
      char *body = strdup((const char *)sqlite3_column_text(st, 2));
      sqlite3_finalize(st);
      if (!body) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
      rc = create_row(db, seq, channel, body, d);
      free(body);
      if (rc) return rc;
      continue; /* read the row again, now with its payload */
    }
    pg_mam_message m = {0};
    m.payload = strdup((const char *)sqlite3_column_text(st, 3));
    m.payload_len = m.payload ? strlen(m.payload) : 0;
    snprintf(m.address, sizeof m.address, "%s", (const char *)sqlite3_column_text(st, 4));
    sqlite3_finalize(st);
    if (!m.payload) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
    uint8_t id[32];
    pg_diag ad = {{0}};
    rc = pg_mam_attach(c, &m, NULL, 0, id, &ad);
    pg_mam_message_free(&m);
    if (rc) {
      int mrc = mark(db, seq, NULL, ad.msg, d);
      if (mrc) return mrc;
      return pg_fail(d, rc, "channel %s: attach failed: %s", channel, ad.msg);
    }
    rc = mark(db, seq, id, NULL, d);
    if (rc) return rc;
    if (sent) (*sent)++;
  }
}

int pg_chan_pending(sqlite3 *db, int64_t *n, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL", &st, d);
  if (rc) return rc;
  if (sqlite3_step(st) == SQLITE_ROW)
    *n = sqlite3_column_int64(st, 0);
  else
    rc = db_fail(db, d, "outbox read");
  sqlite3_finalize(st);
  return rc;
}

/* The grid message of one fetched MAM message. */
static void to_read(const pg_mam_fetched *f, const pg_mam_cursor *next, pg_chan_read *out) {
  memset(out, 0, sizeof *out);
  out->next = *next;
  memcpy(out->msg_id, f->message_id, 32);
  char *text = NULL;
  size_t tlen = 0;
  pg_diag pd = {{0}};
  if (pg_mam_trytes_to_text(f->message, f->message_len, &text, &tlen) != PG_OK)
    out->status = pg_fail(&pd, PG_ERR_INVALID, "message is not text");
  else
    out->status = pg_grid_msg_parse(text, tlen, &out->msg, &pd);
  if (out->status) {
    out->status = PG_ERR_INVALID;
    snprintf(out->why, sizeof out->why, "%.199s", pd.msg);
  }
  free(text);
}

int pg_chan_read_from(pg_client *c, const pg_mam_cursor *at, const char *side_key, size_t max,
                      pg_chan_read **out, size_t *n, pg_mam_read_info *info, pg_diag *d) {
  pg_mam_fetched *fs = NULL;
  size_t nf = 0;
  pg_mam_cursor end;
  *out = NULL;
  *n = 0;
  int rc = pg_mam_read(c, at, PG_MAM_RESTRICTED, side_key, strlen(side_key), max ? max : 1, &fs,
                       &nf, &end, info, d);
  if (rc || nf == 0) return rc;
  pg_chan_read *list = calloc(nf, sizeof *list);
  if (!list) {
    pg_mam_fetched_free_all(fs, nf);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < nf; i++) {
    /* the cursor after message i: the next leaf, or the end cursor after the last */
    pg_mam_cursor next = {.leaf = fs[i].leaf + 1};
    memcpy(next.root, fs[i].root, sizeof next.root);
    to_read(&fs[i], i + 1 == nf ? &end : &next, &list[i]);
  }
  pg_mam_fetched_free_all(fs, nf);
  *out = list;
  *n = nf;
  return PG_OK;
}

int pg_chan_read_at(pg_client *c, const pg_mam_cursor *at, const char *side_key,
                    pg_chan_read *out, pg_diag *d) {
  pg_chan_read *list = NULL;
  size_t n = 0;
  int rc = pg_chan_read_from(c, at, side_key, 1, &list, &n, NULL, d);
  if (rc) return rc;
  if (n == 0) return pg_fail(d, PG_ERR_NOT_FOUND, "no message at leaf %u of root %.81s yet",
                             (unsigned)at->leaf, at->root);
  *out = list[0];
  free(list);
  if (out->status) return pg_fail(d, out->status, "%s", out->why);
  return PG_OK;
}
