/* chan_flush.c — a flush of the outboxes of one or many entity
 * databases. Phase 1 (pg_chan_create_many) reads each database's unsent
 * rows once and makes their MAM messages in memory. Every channel's next
 * message is created together (pg_mam_create_batch). A channel with
 * several queued rows (the grid's record: a slot's parts, each near the 32
 * KiB message limit) has each row's state known in advance
 * (pg_mam_channel_skip), so its rows are created at once too, apart from
 * the others (their lanes would be as long as the longest); rows too few
 * for a batch go one at a time on two threads. The bytes are those of
 * pg_mam_create_message row after row (the batch's contract, and a state
 * skipped to is the state the message before would leave, but for the
 * nextRoot creation does not read), and so are the errors: a row that
 * fails stops its database there (the rows before it go, it and the later
 * ones wait), as one at a time. Phase 2 (pg_chan_send_many) attaches the
 * rows and records in one transaction per database what went, the
 * channels' states and what was made but did not go (grid_internal.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_internal.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/par.h"

/* Fewer messages than this in a group go one at a time: a 512-lane batch
 * costs about one pass whatever its size, so 16 messages are created
 * faster singly, 128 four times faster batched (docs/PERFORMANCE.md, "MAM
 * channels"). */
#define BATCH_MIN 32
/* Threads of the messages made one at a time (each on its own state). */
#define SINGLE_THREADS 2

typedef struct chan_row { /* a queued row without a payload yet */
  const out_row *r;
  size_t chan;  /* its channel in its database's list */
  size_t round; /* how many rows of its channel come before it */
  bool chained; /* its channel has other rows: made from `in`, apart */
  pg_mam_channel in; /* chained: the channel's state before this row's message */
  char *trytes;
  size_t tlen;
  pg_mam_message m;
  pg_mam_channel after; /* the channel's state after this message */
  bool made;
} crow;

typedef struct chan_state {
  pg_mam_channel ch; /* its one row's state (advanced by it), or skipped row by row */
  size_t rows;       /* its rows in this flush */
  bool loaded;
  const crow *last;  /* its last row made (saving: the state to keep) */
} cchan;

/* Row seq failed: it and every later row of its database wait; the error
 * of the lowest failing row is the database's. */
static void row_fail(pg_chan_send *c, int64_t seq, int rc, const char *msg) {
  if (seq >= c->stop) return;
  c->stop = seq;
  c->create_rc = rc;
  snprintf(c->create_d.msg, sizeof c->create_d.msg, "%s", msg);
}

static int by_channel(const void *a, const void *b) {
  const crow *x = *(const crow *const *)a, *y = *(const crow *const *)b;
  int c = strcmp(x->r->channel, y->r->channel);
  if (c) return c;
  return x->r->seq < y->r->seq ? -1 : x->r->seq > y->r->seq;
}

/* Each row's channel (index into c->chans) and round. */
static int assign_channels(pg_chan_send *c) {
  crow **by = malloc(c->nrows * sizeof *by);
  c->chans = calloc(c->nrows, sizeof *c->chans);
  if (!by || !c->chans) {
    free(by);
    return PG_ERR_NOMEM;
  }
  for (size_t i = 0; i < c->nrows; i++) by[i] = &c->rows[i];
  qsort(by, c->nrows, sizeof *by, by_channel);
  size_t nch = 0;
  for (size_t k = 0; k < c->nrows; k++) {
    bool same = k > 0 && strcmp(by[k]->r->channel, by[k - 1]->r->channel) == 0;
    if (!same) nch++;
    by[k]->chan = nch - 1;
    by[k]->round = same ? by[k - 1]->round + 1 : 0;
    c->chans[nch - 1].rows++;
  }
  free(by);
  return PG_OK;
}

/* Database c's rows to create, their channels' states and their messages
 * as trytes, in seq order up to the first that cannot be made. */
static void prepare(pg_chan_send *c) {
  c->stop = INT64_MAX;
  pg_diag d = {{0}};
  int rc = pg_chan_published_recheck(c->db, &d);
  if (!rc) rc = pg_chan_unsent_rows(c->db, &c->v, &c->n, &d);
  size_t todo = 0;
  for (size_t i = 0; !rc && i < c->n; i++) todo += !c->v[i].created;
  if (!rc && todo) {
    c->rows = calloc(todo, sizeof *c->rows);
    rc = c->rows ? PG_OK : PG_ERR_NOMEM;
    for (size_t i = 0; !rc && i < c->n; i++)
      if (!c->v[i].created) c->rows[c->nrows++].r = &c->v[i];
    if (!rc) rc = assign_channels(c);
    if (rc) pg_fail(&d, rc, "out of memory");
  }
  if (rc) {
    row_fail(c, INT64_MIN, rc, d.msg);
    return;
  }
  for (size_t i = 0; i < c->nrows; i++) {
    crow *w = &c->rows[i];
    cchan *ch = &c->chans[w->chan];
    bool found = false;
    if (w->round == 0) {
      rc = pg_chan_load_state(c->db, w->r->channel, &ch->ch, NULL, &found, &d);
      if (!rc && !found)
        rc = pg_fail(&d, PG_ERR_STATE, "outbox: channel %s is missing", w->r->channel);
      ch->loaded = !rc;
    }
    if (!rc && ch->rows > 1) { /* rows in seq order: each its own state */
      w->chained = true;
      w->in = ch->ch;
      pg_mam_channel_skip(&ch->ch);
    }
    if (!rc && pg_mam_text_to_trytes(w->r->text, strlen(w->r->text), &w->trytes, &w->tlen))
      rc = pg_fail(&d, PG_ERR_INVALID, "outbox: message %lld is not valid UTF-8",
                   (long long)w->r->seq);
    if (rc) {
      row_fail(c, w->r->seq, rc, d.msg);
      return;
    }
  }
}

/* One group's rows (over every database): created in one batch when there
 * are enough, else one at a time on SINGLE_THREADS threads. A row the batch
 * did not make is tried alone, which gives the single function's error (or
 * the message, when the batch lacked memory). */
typedef struct job {
  pg_chan_send *c;
  crow *w;
} job;

typedef struct singles { /* the rows of a group made one at a time */
  const pg_mam_create_item *items;
  const size_t *at; /* their items */
  pg_mam_message *out;
  int *rcs;
  pg_diag *ds; /* by item */
} singles;

static int make_single(void *ctx, unsigned worker, size_t i, pg_diag *d) {
  (void)worker, (void)d;
  singles *s = ctx;
  size_t k = s->at[i];
  const pg_mam_create_item *it = &s->items[k];
  s->rcs[k] = pg_mam_create_message(it->ch, it->msg, it->msg_len, &s->out[k], &s->ds[k]);
  return PG_OK; /* each row's outcome is in rcs */
}

/* The items rcs says were not made, one at a time (each state is its own:
 * distinct channels, or a chained row's copy), their errors in ds. */
static int run_singles(const pg_mam_create_item *items, size_t k, pg_mam_message *out, int *rcs,
                       pg_diag *ds) {
  size_t *at = malloc((k ? k : 1) * sizeof *at), n = 0;
  if (!at) return PG_ERR_NOMEM;
  for (size_t i = 0; i < k; i++)
    if (rcs[i] != PG_OK) at[n++] = i;
  singles s = {items, at, out, rcs, ds};
  pg_diag pd = {{0}};
  int rc = pg_par_for(n, n > 1 ? SINGLE_THREADS : 1, make_single, &s, &pd);
  free(at);
  return rc;
}

static void run_group(job *jobs, size_t k, pg_mam_create_item *items, pg_mam_message *out,
                      int *rcs, pg_mam_keys *keys) {
  for (size_t i = 0; i < k; i++) {
    crow *w = jobs[i].w;
    pg_mam_channel *ch = w->chained ? &w->in : &jobs[i].c->chans[w->chan].ch;
    items[i] = (pg_mam_create_item){ch, w->trytes, w->tlen};
    rcs[i] = PG_ERR_NOMEM; /* not made (yet) */
  }
  memset(out, 0, k * sizeof *out);
  /* its failures are in rcs (every item not made is tried alone below) */
  if (k >= BATCH_MIN && pg_mam_create_batch(keys, items, k, out, rcs, NULL) != PG_OK) {
  }
  pg_diag *ds = calloc(k, sizeof *ds);
  int rc = ds ? run_singles(items, k, out, rcs, ds) : PG_ERR_NOMEM;
  for (size_t i = 0; i < k; i++) {
    crow *w = jobs[i].w;
    if (rcs[i] != PG_OK) {
      row_fail(jobs[i].c, w->r->seq, rc ? rc : rcs[i], rc ? "out of memory" : ds[i].msg);
      continue;
    }
    w->m = out[i];
    w->after = *items[i].ch;
    w->made = true;
  }
  free(ds);
}

/* Every database's rows: its channels' one rows together, then the rows of
 * channels with several. */
static int run_groups(pg_chan_send *cs, size_t n, pg_mam_keys *keys) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += cs[i].nrows;
  if (total == 0) return PG_OK;
  job *jobs = malloc(total * sizeof *jobs);
  pg_mam_create_item *items = malloc(total * sizeof *items);
  pg_mam_message *out = malloc(total * sizeof *out);
  int *rcs = malloc(total * sizeof *rcs);
  int rc = jobs && items && out && rcs ? PG_OK : PG_ERR_NOMEM;
  for (int chained = 0; !rc && chained < 2; chained++) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < cs[i].nrows && cs[i].rows[j].r->seq < cs[i].stop; j++)
        if (cs[i].rows[j].chained == chained) jobs[k++] = (job){&cs[i], &cs[i].rows[j]};
    if (k) run_group(jobs, k, items, out, rcs, keys);
  }
  free(jobs), free(items), free(out), free(rcs);
  return rc;
}

static int save_payload(sqlite3 *db, int64_t seq, const pg_mam_message *m, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "INSERT OR REPLACE INTO outbox_made(payload, address, seq)"
                           " VALUES (?1, ?2, ?3)", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, m->payload, (int)m->payload_len, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, m->address, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, seq);
  return pg_stmt_step_done(db, st, "outbox write", d);
}

/* How many rows of c lead made: rows before the first failure, in seq order. */
static size_t made_rows(const pg_chan_send *c) {
  size_t k = 0;
  while (k < c->nrows && c->rows[k].made && c->rows[k].r->seq < c->stop) k++;
  return k;
}

/* What the rows made and not sent leave (in the caller's transaction):
 * each channel's state after its last row made, and the payload of every
 * row made but not among the first `sent` unsent rows (a retry attaches it
 * without making it again). */
static int save_made(pg_chan_send *c, size_t sent, pg_diag *d) {
  size_t k = made_rows(c);
  int rc = PG_OK;
  for (size_t i = 0; i < k; i++) c->chans[c->rows[i].chan].last = &c->rows[i];
  for (size_t i = 0; !rc && i < k; i++) {
    const crow *w = &c->rows[i];
    if ((size_t)(w->r - c->v) >= sent) rc = save_payload(c->db, w->r->seq, &w->m, d);
    if (!rc && c->chans[w->chan].last == w)
      rc = pg_chan_save_state(c->db, w->r->channel, &w->after, NULL, d);
  }
  return rc;
}

/* Row v sent as message id, or failed with err; a sent row's saved payload
 * (outbox_made) goes. A sent row keeps its body and id, not its payload:
 * the signed message is on the Tangle. */
static int mark(sqlite3 *db, const out_row *v, const uint8_t id[32], const char *err, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = PG_OK;
  if (id && v->created) { /* its payload was kept by an earlier flush */
    rc = pg_stmt_get(db, "DELETE FROM outbox_made WHERE seq = ?1", &st, d);
    if (!rc) sqlite3_bind_int64(st, 1, v->seq);
    if (!rc) rc = pg_stmt_step_done(db, st, "outbox write", d);
  }
  if (!rc)
    rc = pg_stmt_get(db, id ? "UPDATE outbox SET msg_id = ?1, sent_ms = ?2,"
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
  sqlite3_bind_int64(st, 3, v->seq);
  return pg_stmt_step_done(db, st, "outbox write", d);
}

/* The unsent rows that can go now, a prefix of c->v: each created before
 * (its payload saved) or made by this flush. */
static size_t ready_rows(const pg_chan_send *c) {
  size_t i = 0, j = 0, k = made_rows(c);
  for (; i < c->n; i++) {
    if (c->v[i].created) continue;
    if (j >= k || c->rows[j].r != &c->v[i]) break;
    j++;
  }
  return i;
}

/* Records in one transaction what database c's attach did (it: its
 * c->ready items, NULL when nothing was attached): the attached rows sent,
 * the row that failed with its error, and what the rows made leave
 * (save_made); then its outcome. */
static void finish(pg_chan_send *c, const pg_mam_attach_item *it, int all_rc,
                   const pg_diag *all_d) {
  size_t done = 0;
  while (it && !all_rc && done < c->ready && it[done].rc == PG_OK) done++;
  int arc = done == c->ready || (!it && !all_rc) ? PG_OK : all_rc ? all_rc : it[done].rc;
  const char *why = all_rc ? all_d->msg : arc ? it[done].d.msg : "";
  pg_diag *d = &c->d;
  int rc = PG_OK;
  if (done || arc || made_rows(c)) {
    rc = pg_grid_begin(c->db, d);
    for (size_t i = 0; !rc && i < done; i++) rc = mark(c->db, &c->v[i], it[i].id, NULL, d);
    if (!rc && arc) rc = mark(c->db, &c->v[done], NULL, why, d);
    if (!rc) rc = save_made(c, done, d);
    if (!rc) rc = pg_grid_commit(c->db, d);
    else pg_db_rollback(c->db);
  }
  if (!rc) c->sent = done;
  if (!rc && arc) rc = pg_fail(d, arc, "channel %s: attach failed: %s", c->v[done].channel, why);
  if (!rc && c->create_rc) rc = pg_fail(d, c->create_rc, "%s", c->create_d.msg);
  c->rc = rc;
}

void pg_chan_send_free(pg_chan_send *s, size_t n) {
  for (size_t k = 0; k < n; k++) {
    pg_chan_send *c = &s[k];
    for (size_t i = 0; i < c->nrows; i++) {
      crow *w = &c->rows[i];
      free(w->trytes);
      pg_mam_message_free(&w->m);
      if (w->made) pg_mam_channel_wipe(&w->after);
      if (w->chained) pg_mam_channel_wipe(&w->in);
    }
    for (size_t i = 0; c->chans && i < c->nrows; i++)
      if (c->chans[i].loaded) pg_mam_channel_wipe(&c->chans[i].ch);
    free(c->rows);
    free(c->chans);
    pg_chan_free_rows(c->v, c->n);
    c->rows = NULL, c->chans = NULL, c->v = NULL;
    c->nrows = c->n = c->ready = 0;
  }
}

void pg_chan_create_many(pg_chan_send *s, size_t n, pg_mam_keys *keys) {
  for (size_t i = 0; i < n; i++) prepare(&s[i]);
  if (run_groups(s, n, keys) != PG_OK)
    for (size_t i = 0; i < n; i++) row_fail(&s[i], INT64_MIN, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) s[i].ready = ready_rows(&s[i]);
}

void pg_chan_keep_made(pg_chan_send *s, size_t n) {
  for (size_t i = 0; i < n; i++) finish(&s[i], NULL, PG_OK, NULL);
}

/* Every database's ready rows go to the node in one pg_mam_attach_many, a
 * database's in order. */
void pg_chan_send_many(pg_chan_send *s, size_t n, pg_client *c) {
  size_t total = 0;
  for (size_t i = 0; i < n; i++) total += s[i].ready;
  pg_mam_message *msg = calloc(total + 1, sizeof *msg);
  pg_mam_attach_item *it = calloc(total + 1, sizeof *it);
  pg_diag ad = {{0}};
  int rc = msg && it ? PG_OK : pg_fail(&ad, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0, k = 0; !rc && i < n; i++) {
    const crow *w = s[i].rows;
    for (size_t r = 0; r < s[i].ready; r++, k++) {
      const out_row *v = &s[i].v[r];
      if (v->created) {
        msg[k].payload = v->text;
        msg[k].payload_len = strlen(v->text);
        snprintf(msg[k].address, sizeof msg[k].address, "%s", v->address);
      } else {
        msg[k] = (w++)->m; /* borrowed: freed with its row */
      }
      it[k] = (pg_mam_attach_item){.m = &msg[k], .follows = r > 0}; /* a channel's order */
    }
  }
  if (!rc && total) rc = pg_mam_attach_many(c, it, total, &ad);
  for (size_t i = 0, k = 0; i < n; i++) { /* with rc nothing went out */
    finish(&s[i], rc ? NULL : it + k, rc, &ad);
    k += s[i].ready;
  }
  free(msg);
  free(it);
}

int pg_chan_create_queued(sqlite3 *db, pg_mam_keys *keys, pg_diag *d) {
  pg_chan_send s = {.db = db};
  pg_chan_create_many(&s, 1, keys);
  pg_chan_keep_made(&s, 1);
  pg_chan_send_free(&s, 1);
  return s.rc ? pg_fail(d, s.rc, "%s", s.d.msg) : PG_OK;
}

int pg_chan_flush(sqlite3 *db, pg_client *c, pg_mam_keys *keys, size_t *sent, pg_diag *d) {
  pg_chan_send s = {.db = db};
  pg_chan_create_many(&s, 1, keys);
  pg_chan_send_many(&s, 1, c);
  pg_chan_send_free(&s, 1);
  if (sent) *sent = s.sent;
  return s.rc ? pg_fail(d, s.rc, "%s", s.d.msg) : PG_OK;
}
