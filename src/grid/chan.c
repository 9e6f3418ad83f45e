/* chan.c — our MAM channels with a persistent outbox, and reading others'. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_internal.h"
#include "grid_internal.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/db.h"

int pg_chan_load_state(sqlite3 *db, const char *name, pg_mam_channel *ch, pg_chan_info *info,
                      bool *found, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT state, root, side_key FROM channels WHERE name = ?1", &st, d);
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
    rc = pg_db_fail(db, d, "channel read");
  }
  pg_stmt_put(st);
  return rc;
}

int pg_chan_save_state(sqlite3 *db, const char *name, const pg_mam_channel *ch,
                      const pg_chan_info *info, pg_diag *d) {
  pg_buf js;
  pg_buf_init(&js, 4096);
  int rc = pg_mam_channel_save(ch, &js);
  if (rc) {
    pg_buf_free(&js);
    return pg_fail(d, rc, "channel %s: cannot save its state", name);
  }
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(db, info ? "INSERT INTO channels(state, name, root, side_key) VALUES (?1, ?2, ?3, ?4)"
                               : "UPDATE channels SET state = ?1 WHERE name = ?2",
                      &st, d);
  if (!rc) {
    sqlite3_bind_text(st, 1, (const char *)js.data, (int)js.len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (info) {
      sqlite3_bind_text(st, 3, info->root, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 4, info->side_key, -1, SQLITE_STATIC);
    }
    rc = pg_stmt_step_done(db, st, "channel write", d);
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
  int rc = pg_chan_load_state(db, name, NULL, &tmp, &found, d);
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
  if (!rc) rc = pg_chan_save_state(db, name, &ch, &tmp, d);
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
  int rc = pg_chan_load_state(db, name, NULL, info, &found, d);
  if (!rc && !found) rc = pg_fail(d, PG_ERR_NOT_FOUND, "no channel named %s", name);
  return rc;
}

/* chan_published: the texts of our messages found on the Tangle after a
 * restore (pg_chan_skip_published). add: one more finding of text; else
 * one finding used up, if there is one (*changed tells). */
static int published_count(sqlite3 *db, const char *name, const void *text, size_t len, bool add,
                           bool *changed, pg_diag *d) {
  uint8_t h[32];
  pg_blake2b256(text, len, h);
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, add ? "INSERT INTO chan_published(channel, hash, n) VALUES (?1, ?2, 1)"
                                 " ON CONFLICT DO UPDATE SET n = n + 1"
                               : "UPDATE chan_published SET n = n - 1 WHERE channel = ?1 AND"
                                 " hash = ?2 AND n > 0",
                       &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, h, sizeof h, SQLITE_STATIC);
  rc = pg_stmt_step_done(db, st, "chan_published write", d);
  *changed = !rc && sqlite3_changes(db) == 1;
  return rc;
}

/* Whether chan_published may hold findings not used up, a flag of the
 * connection (pg_grid_db_flags) so that queueing costs no hash and no
 * UPDATE unless a restore left some: asked the first time a connection
 * queues (nothing of this connection changed the table before then, so the
 * answer is the committed one), set by every finding (on every connection
 * to the file) and asked again by pg_chan_published_recheck, outside a
 * transaction, while set (an answer inside one could be rolled back). */
enum { PUB_KNOWN = 1u << 0, PUB_LEFT = 1u << 1 };

static int published_ask(sqlite3 *db, bool *left, pg_diag *d) {
  int64_t n = 0;
  int rc = pg_db_i64(db, "SELECT EXISTS(SELECT 1 FROM chan_published WHERE n > 0)", 0, 0, &n, d);
  if (rc) return rc;
  *left = n != 0;
  unsigned f = pg_grid_db_flags(db) & ~(PUB_KNOWN | PUB_LEFT);
  (void)pg_grid_db_set_flags(db, f | PUB_KNOWN | (*left ? PUB_LEFT : 0)); /* else asked again */
  return PG_OK;
}

static int published_left(sqlite3 *db, bool *left, pg_diag *d) {
  unsigned f = pg_grid_db_flags(db);
  if (!(f & PUB_KNOWN)) return published_ask(db, left, d);
  *left = (f & PUB_LEFT) != 0;
  return PG_OK;
}

int pg_chan_published_recheck(sqlite3 *db, pg_diag *d) {
  bool left = false;
  if (!(pg_grid_db_flags(db) & PUB_LEFT) || !sqlite3_get_autocommit(db)) return PG_OK;
  return published_ask(db, &left, d);
}

int pg_chan_queue_text(sqlite3 *db, const char *name, const void *json, size_t len, pg_diag *d) {
  if (!json || len == 0 || len > PG_GRID_MAX_SETTLEMENT_JSON || memchr(json, '\0', len))
    return pg_fail(d, PG_ERR_INVALID, "channel %s: a message must be 1..%d bytes of text", name,
                   PG_GRID_MAX_SETTLEMENT_JSON);
  bool left = false, published = false; /* found on the Tangle after a restore: not sent again */
  int rc = published_left(db, &left, d);
  if (!rc && left) rc = published_count(db, name, json, len, false, &published, d);
  if (rc || published) return rc;
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(db, "INSERT INTO outbox(channel, body, queued_ms) VALUES (?1, ?2, ?3)", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, (const char *)json, (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)pg_clock_now(pg_clock_real()));
  return pg_stmt_step_done(db, st, "outbox write", d);
}

int pg_chan_queue(sqlite3 *db, const char *name, const pg_grid_msg *m, pg_diag *d) {
  pg_buf js;
  pg_buf_init(&js, PG_GRID_MAX_JSON);
  int rc = pg_grid_msg_serialize(m, &js, d);
  if (!rc) rc = pg_chan_queue_text(db, name, js.data, js.len, d);
  pg_buf_free(&js);
  return rc;
}

void pg_chan_free_rows(out_row *v, size_t n) {
  for (size_t i = 0; i < n; i++) free(v[i].text);
  free(v);
}

const char pg_chan_sql_unsent[] =
    "SELECT o.seq, o.channel, o.body, m.payload, m.address FROM outbox o"
    " LEFT JOIN outbox_made m ON m.seq = o.seq WHERE o.msg_id IS NULL ORDER BY o.seq";

int pg_chan_unsent_rows(sqlite3 *db, out_row **out, size_t *n, pg_diag *d) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, pg_chan_sql_unsent, &st, d);
  if (rc) return rc;
  out_row *v = NULL;
  size_t cap = 0;
  int s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    if (pg_grow(&v, &cap, *n + 1, sizeof *v, 0)) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    out_row *r = &v[*n];
    memset(r, 0, sizeof *r);
    r->seq = sqlite3_column_int64(st, 0);
    snprintf(r->channel, sizeof r->channel, "%s", (const char *)sqlite3_column_text(st, 1));
    r->created = sqlite3_column_type(st, 3) != SQLITE_NULL;
    r->text = strdup((const char *)sqlite3_column_text(st, r->created ? 3 : 2));
    if (r->created)
      snprintf(r->address, sizeof r->address, "%s", (const char *)sqlite3_column_text(st, 4));
    if (!r->text) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    else (*n)++;
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "outbox read");
  pg_stmt_put(st);
  if (rc) {
    pg_chan_free_rows(v, *n);
    *n = 0;
    return rc;
  }
  *out = v;
  return PG_OK;
}

/* Remembers the text of a message found published. */
static int note_published(sqlite3 *db, const char *name, const pg_mam_fetched *f, pg_diag *d) {
  char *text = NULL;
  size_t len = 0;
  bool changed = false;
  if (pg_mam_trytes_to_text(f->message, f->message_len, &text, &len) != PG_OK) return PG_OK;
  int rc = published_count(db, name, text, len, true, &changed, d);
  free(text);
  if (!rc) pg_grid_db_add_flags_file(db, PUB_KNOWN | PUB_LEFT);
  return rc;
}

/* Whether channel `name`'s next message (per its saved state) is already on
 * the Tangle, as a verified message of this channel; if so the state is
 * moved over it (a message created, never sent) and *moved set. */
static int skip_one(sqlite3 *db, pg_client *c, const char *name, bool *moved, pg_diag *d) {
  pg_mam_channel ch;
  bool found = false;
  *moved = false;
  int rc = pg_chan_load_state(db, name, &ch, NULL, &found, d);
  if (rc || !found) return rc;
  pg_mam_cursor at = {.leaf = ch.index};
  pg_mam_fetched *fs = NULL;
  size_t nf = 0;
  pg_mam_cursor end;
  if (pg_mam_channel_root(&ch, at.root) != PG_OK)
    rc = pg_fail(d, PG_ERR_STATE, "channel %s: no root", name);
  if (!rc)
    rc = pg_mam_read(c, &at, ch.mode, ch.mode == PG_MAM_RESTRICTED ? ch.side_key : NULL,
                     ch.mode == PG_MAM_RESTRICTED ? strlen(ch.side_key) : 0, 1, &fs, &nf, &end,
                     NULL, d);
  if (!rc && nf > 0) {
    pg_mam_message m = {0};
    rc = pg_mam_create_message(&ch, "9", 1, &m, d); /* moves the state on; never sent */
    pg_mam_message_free(&m);
    if (!rc) rc = pg_grid_begin(db, d);
    if (!rc) {
      rc = pg_chan_save_state(db, name, &ch, NULL, d);
      if (!rc) rc = note_published(db, name, &fs[0], d);
      if (!rc) rc = pg_grid_commit(db, d);
      else pg_db_rollback(db);
    }
    *moved = !rc;
  }
  pg_mam_fetched_free_all(fs, nf);
  pg_mam_channel_wipe(&ch);
  return rc;
}

int pg_chan_skip_published(sqlite3 *db, pg_client *c, size_t *skipped, pg_diag *d) {
  *skipped = 0;
  sqlite3_stmt *st = NULL;
  char (*names)[128] = NULL;
  size_t n = 0, cap = 0;
  int rc = pg_stmt_get(db, "SELECT name FROM channels ORDER BY name", &st, d);
  if (rc) return rc;
  while (!rc && sqlite3_step(st) == SQLITE_ROW) {
    if (pg_grow(&names, &cap, n + 1, sizeof *names, 0)) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
    if (!rc) snprintf(names[n++], sizeof names[0], "%s", (const char *)sqlite3_column_text(st, 0));
  }
  pg_stmt_put(st);
  for (size_t i = 0; !rc && i < n; i++) {
    bool moved = true;
    while (!rc && moved) {
      rc = skip_one(db, c, names[i], &moved, d);
      *skipped += moved;
    }
  }
  free(names);
  return rc;
}

int pg_chan_pending(sqlite3 *db, int64_t *n, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT COUNT(*) FROM outbox WHERE msg_id IS NULL", &st, d);
  if (rc) return rc;
  if (sqlite3_step(st) == SQLITE_ROW)
    *n = sqlite3_column_int64(st, 0);
  else
    rc = pg_db_fail(db, d, "outbox read");
  pg_stmt_put(st);
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

/* The grid messages of fs[0..nf) (freed here), each with the cursor after
 * it: the next leaf, or end after the last. */
static int to_list(pg_mam_fetched *fs, size_t nf, const pg_mam_cursor *end, pg_chan_read **out,
                   size_t *n, pg_diag *d) {
  *out = NULL;
  *n = 0;
  if (nf == 0) return PG_OK;
  pg_chan_read *list = calloc(nf, sizeof *list);
  if (!list) {
    pg_mam_fetched_free_all(fs, nf);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < nf; i++) {
    pg_mam_cursor next = {.leaf = fs[i].leaf + 1};
    memcpy(next.root, fs[i].root, sizeof next.root);
    to_read(&fs[i], i + 1 == nf ? end : &next, &list[i]);
  }
  pg_mam_fetched_free_all(fs, nf);
  *out = list;
  *n = nf;
  return PG_OK;
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
  if (rc) return rc;
  return to_list(fs, nf, &end, out, n, d);
}

int pg_chan_read_many(pg_client *c, pg_chan_read_req *reqs, size_t n, pg_diag *d) {
  pg_mam_read_req *mr = calloc(n ? n : 1, sizeof *mr);
  if (!mr) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    mr[i].at = reqs[i].at;
    mr[i].mode = PG_MAM_RESTRICTED;
    mr[i].side_key = reqs[i].side_key;
    mr[i].side_key_len = strlen(reqs[i].side_key);
    mr[i].max = reqs[i].max ? reqs[i].max : 1;
    mr[i].rc = pg_fail(&mr[i].diag, PG_ERR_NOMEM, "out of memory"); /* unless it is done */
  }
  if (pg_mam_read_many(c, mr, n, NULL) != PG_OK) {
    /* each request's failure is in its rc */
  }
  for (size_t i = 0; i < n; i++) {
    pg_chan_read_req *r = &reqs[i];
    r->info = mr[i].info;
    r->list = NULL, r->n = 0;
    r->rc = mr[i].rc;
    if (r->rc) snprintf(r->d.msg, sizeof r->d.msg, "%s", mr[i].diag.msg);
    else r->rc = to_list(mr[i].out, mr[i].n, &mr[i].next, &r->list, &r->n, &r->d);
  }
  free(mr);
  return PG_OK;
}

int pg_chan_read_first(pg_chan_read_req *r, pg_chan_read *out, pg_diag *d) {
  pg_chan_read *list = r->list;
  size_t n = r->n;
  r->list = NULL, r->n = 0;
  if (r->rc) {
    free(list);
    return pg_fail(d, r->rc, "%s", r->d.msg);
  }
  if (n == 0) {
    free(list);
    return pg_fail(d, PG_ERR_NOT_FOUND, "no message at leaf %u of root %.81s yet",
                   (unsigned)r->at.leaf, r->at.root);
  }
  *out = list[0];
  free(list);
  if (out->status) return pg_fail(d, out->status, "%s", out->why);
  return PG_OK;
}

int pg_chan_read_at(pg_client *c, const pg_mam_cursor *at, const char *side_key,
                    pg_chan_read *out, pg_diag *d) {
  pg_chan_read_req r = {.at = *at, .side_key = side_key, .max = 1};
  r.rc = pg_chan_read_from(c, at, side_key, 1, &r.list, &r.n, NULL, &r.d);
  return pg_chan_read_first(&r, out, d);
}
