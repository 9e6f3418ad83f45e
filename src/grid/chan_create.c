/* chan_create.c — phase 1 of a flush: the MAM messages of the queued outbox
 * rows of one or many entity databases. Every channel's next message is
 * created together (pg_mam_create_batch). A channel with several queued
 * rows (the grid's record: a slot's parts, each near the 32 KiB message
 * limit) has each row's state known in advance (pg_mam_channel_skip), so
 * its rows are created at once too, apart from the others (their lanes
 * would be as long as the longest); rows too few for a batch go one at a
 * time on two threads. Then each database saves its rows in one
 * transaction, a savepoint each. The bytes are those of
 * pg_mam_create_message row after row (the batch's contract, and a state
 * skipped to is the state the message before would leave, but for the
 * nextRoot creation does not read), and so are the errors: a row that
 * fails stops its database there (the rows before it are saved, it and
 * the later ones wait), as one at a time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan_internal.h"
#include "p2pgrid/base/par.h"

/* Fewer messages than this in a group go one at a time: a 512-lane batch
 * costs about one pass whatever its size, so 16 messages are created
 * faster singly, 128 four times faster batched (docs/PERFORMANCE.md, "MAM
 * channels"). */
#define BATCH_MIN 32
/* Threads of the messages made one at a time (each on its own state). */
#define SINGLE_THREADS 2

typedef struct crow { /* a queued row without a payload yet */
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

typedef struct cchan {
  pg_mam_channel ch; /* its one row's state (advanced by it), or skipped row by row */
  size_t rows;       /* its rows in this flush */
  bool loaded;
} cchan;

typedef struct cdb {
  sqlite3 *db;
  out_row *v;
  size_t n;
  crow *rows; /* the rows to create, in seq order */
  size_t nrows;
  cchan *chans;
  int64_t stop; /* seq of the first row that failed (INT64_MAX: none) */
  int rc;       /* its error */
  pg_diag d;
} cdb;

/* Row seq failed: it and every later row of its database wait; the error
 * of the lowest failing row is the database's. */
static void row_fail(cdb *c, int64_t seq, int rc, const char *msg) {
  if (seq >= c->stop) return;
  c->stop = seq;
  c->rc = rc;
  snprintf(c->d.msg, sizeof c->d.msg, "%s", msg);
}

static int by_channel(const void *a, const void *b) {
  const crow *x = *(const crow *const *)a, *y = *(const crow *const *)b;
  int c = strcmp(x->r->channel, y->r->channel);
  if (c) return c;
  return x->r->seq < y->r->seq ? -1 : x->r->seq > y->r->seq;
}

/* Each row's channel (index into c->chans) and round. */
static int assign_channels(cdb *c) {
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
static void cdb_prepare(cdb *c) {
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
  cdb *c;
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
static int run_groups(cdb *cs, size_t n, pg_mam_keys *keys) {
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

/* One row saved under its own savepoint: payload, address, channel state. */
static int save_row(sqlite3 *db, const crow *w, pg_diag *d) {
  int rc = pg_db_savepoint(db, "pg_row", d);
  if (rc) return rc;
  rc = pg_chan_save_state(db, w->r->channel, &w->after, NULL, d);
  if (!rc) rc = save_payload(db, w->r->seq, &w->m, d);
  return pg_db_savepoint_end(db, "pg_row", rc, d);
}

/* Database c's created rows before its first failure, in one transaction. */
static void cdb_save(cdb *c) {
  size_t todo = 0;
  while (todo < c->nrows && c->rows[todo].made && c->rows[todo].r->seq < c->stop) todo++;
  if (todo == 0) return;
  pg_diag wd = {{0}};
  int rc = pg_grid_begin(c->db, &wd);
  if (rc) {
    row_fail(c, c->rows[0].r->seq, rc, wd.msg);
    return;
  }
  for (size_t i = 0; i < todo; i++) {
    if ((rc = save_row(c->db, &c->rows[i], &wd)) != PG_OK) {
      row_fail(c, c->rows[i].r->seq, rc, wd.msg);
      break;
    }
  }
  pg_diag cd = {{0}};
  int crc = pg_grid_commit(c->db, &cd);
  if (crc && !c->rc) row_fail(c, INT64_MIN, crc, cd.msg);
}

static void cdb_free(cdb *c) {
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
}

void pg_chan_create_many(sqlite3 *const *dbs, size_t n, pg_mam_keys *keys, int *rcs, pg_diag *ds,
                         size_t *unsent) {
  cdb *cs = calloc(n ? n : 1, sizeof *cs);
  if (!cs) {
    for (size_t i = 0; i < n; i++) {
      rcs[i] = pg_fail(&ds[i], PG_ERR_NOMEM, "out of memory");
      if (unsent) unsent[i] = 0;
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    cs[i].db = dbs[i];
    cdb_prepare(&cs[i]);
  }
  int rc = run_groups(cs, n, keys);
  for (size_t i = 0; i < n; i++) {
    if (rc) row_fail(&cs[i], INT64_MIN, rc, "out of memory");
    else cdb_save(&cs[i]);
    rcs[i] = cs[i].rc;
    ds[i] = cs[i].d;
    if (unsent) unsent[i] = cs[i].n;
    cdb_free(&cs[i]);
  }
  free(cs);
}

int pg_chan_create_queued(sqlite3 *db, pg_mam_keys *keys, pg_diag *d) {
  int rc = PG_OK;
  pg_diag cd = {{0}};
  pg_chan_create_many(&db, 1, keys, &rc, &cd, NULL);
  return rc ? pg_fail(d, rc, "%s", cd.msg) : PG_OK;
}
