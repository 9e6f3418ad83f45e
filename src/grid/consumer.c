/* consumer.c — registers at the grid, writes one `usage` per slot, reads the
 * grid's payment requests on its return channel and pays each exactly once
 * (looked up on the Tangle by its reference before any (re)send). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/client/wallet.h"

/* request states */
enum { REQ_NEW = 0, REQ_PAYING = 1, REQ_SENT = 2, REQ_CONFIRMED = 3, REQ_REFUSED = 4 };

struct pg_consumer {
  pg_entity e;
  pg_consumer_opts o;
  pg_meter *meter;
  pg_wallet *wallet;
  uint64_t next_pay_ms;
  sqlite3 *status_db;
  pthread_mutex_t status_mu;
  /* the return channel's messages from the cursor on, read ahead with
   * other consumers' (pg_consumers_read_returns), and how many of them the
   * step took (return_at) */
  pg_chan_read_req ahead;
  bool has_ahead;
  size_t ahead_taken;
  /* a daemon's own reads of its return channel (read_return) */
  pg_poll return_poll;
  /* its looks at the payments sent, until confirmed (pay_due) */
  pg_poll follow_poll;
};

/* The return channel is read at every step while messages come and at the
 * first step of each slot (its bill comes after the slot's end); a read
 * that finds nothing waits twice as long as the one before for the next,
 * from RETURN_GAP_MIN_MS up to PG_POLL_GAP_MAX_MS, at most an eighth of a
 * slot. A daemon that read at every tick asked its node twice a second for
 * what comes once a slot (1,000 households: 2,000 requests a second). A
 * step given a read-ahead (the simulator's) takes it whatever the time. */
#define RETURN_GAP_MIN_MS 1000u

/* A payment sent is looked at (its confirmation) by the same rule: at every
 * step while one is confirmed or conflicts, at a slot's first step, else
 * after gaps of 1, 2, 4 ... s up to 30 s, an eighth of a slot at most (never
 * under 1 s); from the next step after a payment is sent. It was looked at
 * every tick: about 20 requests a payment at a milestone every 10 s. */
#define FOLLOW_GAP_MIN_MS 1000u

const char pg_consumer_schema[] =
    "CREATE TABLE IF NOT EXISTS usages(slot INTEGER PRIMARY KEY, wh INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS requests(request_id TEXT PRIMARY KEY, slot INTEGER NOT NULL,"
    " owed INTEGER NOT NULL, usage_wh INTEGER NOT NULL, address TEXT NOT NULL,"
    " reference TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0, msg_id TEXT,"
    " received_ms INTEGER NOT NULL, paid_ms INTEGER, confirmed_ms INTEGER, attempts INTEGER"
    " NOT NULL DEFAULT 0, error TEXT);"
    "CREATE INDEX IF NOT EXISTS requests_open ON requests(slot) WHERE state < 3;";

int pg_consumer_open(const pg_entity_opts *o, const pg_consumer_opts *co, pg_meter *meter,
                     pg_consumer **out, pg_diag *d) {
  *out = NULL;
  if (!co || !co->seed) return pg_fail(d, PG_ERR_CONFIG, "consumer: no wallet seed");
  if (!meter) return pg_fail(d, PG_ERR_CONFIG, "consumer: no meter");
  pg_consumer *c = calloc(1, sizeof *c);
  if (!c) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  c->o = *co;
  c->o.seed = NULL;
  c->meter = meter;
  int rc = pg_entity_init(&c->e, o, "consumer", PG_GRID_ENTITY_CONSUMER, pg_consumer_schema, true, d);
  if (rc) {
    free(c);
    return rc;
  }
  rc = pg_consumer_totals_setup(c->e.db, d);
  if (!rc) rc = pg_wallet_new(o->client, co->seed, co->seed_len, NULL, &c->wallet, d);
  if (!rc) rc = pg_entity_status_conn(&c->e, &c->status_db, d);
  if (rc) {
    pg_wallet_free(c->wallet);
    pg_entity_fini(&c->e);
    free(c);
    return rc;
  }
  pthread_mutex_init(&c->status_mu, NULL);
  *out = c;
  return PG_OK;
}

static void drop_ahead(pg_consumer *c) {
  free(c->ahead.list);
  memset(&c->ahead, 0, sizeof c->ahead);
  c->has_ahead = false;
  c->ahead_taken = 0;
}

void pg_consumer_close(pg_consumer *c) {
  if (!c) return;
  drop_ahead(c);
  pg_wallet_free(c->wallet);
  pg_entity_status_conn_close(&c->e, c->status_db);
  pthread_mutex_destroy(&c->status_mu);
  pg_entity_fini(&c->e);
  free(c);
}

static int report_usage(void *ctx, uint64_t k, int64_t wh, pg_diag *d) {
  pg_consumer *c = ctx;
  pg_entity *e = &c->e;
  pg_grid_msg m;
  pg_entity_reading(e, PG_GRID_CMD_USAGE, k, wh, &m);
  m.u.usage.has_bid = c->o.has_bid;
  m.u.usage.bid_per_kwh = c->o.bid_per_kwh;
  int rc = pg_grid_begin(e->db, d);
  if (rc) return rc;
  rc = pg_chan_queue(e->db, "main", &m, d);
  sqlite3_stmt *st = NULL;
  if (!rc) rc = pg_stmt_get(e->db, "INSERT INTO usages(slot, wh) VALUES (?1, ?2)", &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
    sqlite3_bind_int64(st, 2, wh);
    rc = pg_stmt_step_done(e->db, st, "usages write", d);
  }
  return pg_entity_slot_done(e, k, rc, d);
}

/* A payment request is paid only when it asks what we owe: the grid's
 * address (configured, or the one of the first request we accepted), a
 * usage no larger than what we reported and was not billed yet, and no more
 * than that usage at the highest price we accept (max_price_per_kwh, fees
 * included). why = "" when it passes; else the reason (nothing is paid). */
static int check_request(pg_consumer *c, const pg_grid_payment_request *r, char *why, size_t cap,
                         pg_diag *d) {
  pg_entity *e = &c->e;
  char pinned[PG_BECH32_MAX_LEN + 1] = "";
  int rc = PG_OK;
  if (c->o.grid_address && c->o.grid_address[0])
    snprintf(pinned, sizeof pinned, "%s", c->o.grid_address);
  else
    rc = pg_kv_get_text(e->db, "grid_address", pinned, sizeof pinned, d);
  if (rc) return rc;
  if (pinned[0] && strcmp(pinned, r->payment_address) != 0) {
    snprintf(why, cap, "it names address %.70s, not the grid's %.70s", r->payment_address, pinned);
    return PG_OK;
  }
  pg_consumer_totals t;
  if ((rc = pg_consumer_totals_get(e->db, &t, d))) return rc;
  int64_t reported = t.reported_wh, billed = t.billed_wh;
  if (r->usage_wh > reported - billed) {
    snprintf(why, cap, "it bills %lld Wh; we reported %lld Wh of which %lld Wh were billed already",
             (long long)r->usage_wh, (long long)reported, (long long)billed);
    return PG_OK;
  }
  if (r->usage_wh == 0 && c->o.has_max_monthly) { /* a month bill */
    if (r->owed > c->o.max_monthly)
      snprintf(why, cap, "it asks %llu for a month, over our highest monthly charge of %llu",
               (unsigned long long)r->owed, (unsigned long long)c->o.max_monthly);
    return PG_OK;
  }
  uint64_t max = c->o.has_max_price ? c->o.max_price_per_kwh : 0;
  /* owed <= usage_wh * max / 1000, in exact integers */
  if (c->o.has_max_price &&
      (unsigned __int128)r->owed * 1000u > (unsigned __int128)(uint64_t)r->usage_wh * max + 999u) {
    snprintf(why, cap, "it asks %llu for %lld Wh, over our highest price of %llu per kWh",
             (unsigned long long)r->owed, (long long)r->usage_wh, (unsigned long long)max);
    return PG_OK;
  }
  return PG_OK;
}

/* One message of the return channel, with the cursor advance, in one transaction. */
static int on_return_msg(pg_consumer *c, const pg_chan_read *m, int rstate, pg_diag *d) {
  pg_entity *e = &c->e;
  int rc = 0;
  if (rstate == 0) {
    if (m->msg.command == PG_GRID_CMD_HELLO && strcmp(m->msg.u.hello.registration_id, e->id) == 0)
      return pg_kv_set_i64(e->db, "return_state", 1, d);
    pg_entity_problem(e, "rejected_channels",
                      "the return channel does not start with a hello naming '%s'; ignored",
                      e->id);
    return pg_kv_set_i64(e->db, "return_state", 2, d);
  }
  if (m->msg.command != PG_GRID_CMD_PAYMENT_REQUEST) {
    if (m->msg.command != PG_GRID_CMD_HELLO) rc = pg_count_add(e->db, "unexpected_messages", 1, d);
    return rc;
  }
  const pg_grid_payment_request *r = &m->msg.u.payment_request;
  char why[300] = "";
  rc = check_request(c, r, why, sizeof why, d);
  if (rc) return rc;
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(e->db, "INSERT INTO requests(request_id, slot, owed, usage_wh, address, reference,"
                             " received_ms, state, error) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)"
                             " ON CONFLICT DO NOTHING",
                      &st, d);
  if (rc) return rc;
  sqlite3_bind_int(st, 8, why[0] ? REQ_REFUSED : REQ_NEW);
  if (why[0])
    sqlite3_bind_text(st, 9, why, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 9);
  sqlite3_bind_text(st, 1, r->request_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)r->slot);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)r->owed);
  sqlite3_bind_int64(st, 4, r->usage_wh);
  sqlite3_bind_text(st, 5, r->payment_address, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, r->reference, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, (sqlite3_int64)pg_entity_now(e));
  rc = pg_stmt_step_done(e->db, st, "requests write", d);
  if (!rc && sqlite3_changes(e->db) == 0) {
    pg_log_warn(e->role, "%s: payment request %s repeated; ignored", e->id, r->request_id);
    rc = pg_count_add(e->db, "duplicate_requests", 1, d);
  } else if (!rc && why[0]) {
    pg_entity_problem(e, "refused_requests", "payment request %s refused: %s", r->request_id, why);
  } else if (!rc) {
    pg_log_info(e->role, "%s: payment request %s: %llu for slot %llu", e->id, r->request_id,
                (unsigned long long)r->owed, (unsigned long long)r->slot);
    if (!c->o.grid_address || !c->o.grid_address[0]) /* pin the first one we accept */
      rc = pg_kv_set_text(e->db, "grid_address", r->payment_address, d);
  }
  return rc;
}

/* The return channel's cursor (kv return_next: root, return_leaf: 0 when
 * missing), side key and state, in one statement (every consumer asks twice
 * a round). */
static int return_cursor(pg_consumer *c, pg_mam_cursor *at, char key[PG_MAM_HASH_TRYTES + 1],
                         int64_t *rstate, pg_diag *d) {
  pg_entity *e = &c->e;
  memset(at, 0, sizeof *at);
  key[0] = '\0';
  *rstate = 0;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "SELECT key, value FROM kv WHERE key IN ('return_next',"
                              " 'return_leaf', 'return_side_key', 'return_state')", &st, d);
  if (rc) return rc;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    const char *v = (const char *)sqlite3_column_text(st, 1);
    if (!k) continue;
    if (strcmp(k, "return_next") == 0) snprintf(at->root, sizeof at->root, "%s", v ? v : "");
    else if (strcmp(k, "return_leaf") == 0) at->leaf = (uint32_t)sqlite3_column_int64(st, 1);
    else if (strcmp(k, "return_side_key") == 0) snprintf(key, PG_MAM_HASH_TRYTES + 1, "%s", v ? v : "");
    else *rstate = sqlite3_column_int64(st, 1);
  }
  if (s != SQLITE_DONE) rc = pg_db_fail(e->db, d, "kv read");
  pg_stmt_put(st);
  return rc;
}

/* The message at `at`, as pg_chan_read_at gives it. While the read ahead
 * covers `at` (its cursor, or the one after the last message taken), from
 * it: its next message, or PG_ERR_NOT_FOUND when it has none left and
 * stopped at a leaf that was not there (no lookup: a message attached
 * since is read by the next step). Else (no read ahead, it failed, it
 * stopped at its limit or at a tree's end, `at` is elsewhere) read now. */
static int return_at(pg_consumer *c, const pg_mam_cursor *at, const char *key, pg_chan_read *m,
                     pg_diag *rd) {
  const pg_chan_read_req *a = &c->ahead;
  const pg_mam_cursor *pos = c->ahead_taken ? &a->list[c->ahead_taken - 1].next : &a->at;
  if (c->has_ahead && !a->rc && pos->leaf == at->leaf && strcmp(pos->root, at->root) == 0) {
    if (c->ahead_taken < a->n) {
      *m = a->list[c->ahead_taken++];
      return m->status ? pg_fail(rd, m->status, "%s", m->why) : PG_OK;
    }
    if (a->info.stop == PG_MAM_STOP_MISSING)
      return pg_fail(rd, PG_ERR_NOT_FOUND, "no message at leaf %u of root %.81s yet",
                     (unsigned)at->leaf, at->root);
  }
  drop_ahead(c);
  return pg_chan_read_at(c->e.client, at, key, m, rd);
}

int pg_consumers_read_returns(pg_consumer *const *cs, size_t n, pg_diag *d) {
  pg_chan_read_req *rq = calloc(n ? n : 1, sizeof *rq);
  char(*keys)[PG_MAM_HASH_TRYTES + 1] = calloc(n ? n : 1, sizeof *keys);
  size_t *who = calloc(n ? n : 1, sizeof *who);
  size_t m = 0;
  int rc = rq && keys && who ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    int64_t rstate = 0;
    drop_ahead(cs[i]);
    rc = return_cursor(cs[i], &rq[m].at, keys[m], &rstate, d);
    if (rc || !rq[m].at.root[0] || !keys[m][0] || rstate == 2) continue;
    rq[m].side_key = keys[m];
    rq[m].max = PG_ENTITY_MAX_READ; /* all a step reads: then "nothing more" is known too */
    who[m++] = i;
  }
  if (!rc && m && pg_chan_read_many(cs[0]->e.client, rq, m, NULL) == PG_OK) {
    for (size_t k = 0; k < m; k++) {
      pg_consumer *c = cs[who[k]];
      drop_ahead(c); /* given twice: the later read wins */
      c->ahead = rq[k];
      c->ahead.side_key = NULL; /* keys[] goes away */
      c->has_ahead = true;
    }
  }
  free(rq), free(keys), free(who);
  return rc;
}

/* The return channel's messages from its cursor, each handled and the
 * cursor moved over it in a transaction of its own; *taken counts them. */
static int read_return_now(pg_consumer *c, size_t *taken, pg_diag *d) {
  pg_entity *e = &c->e;
  pg_mam_cursor at;
  char key[PG_MAM_HASH_TRYTES + 1];
  int64_t rstate = 0;
  int rc = return_cursor(c, &at, key, &rstate, d);
  if (rc || !at.root[0] || !key[0] || rstate == 2) {
    drop_ahead(c);
    return rc;
  }
  for (int i = 0; i < PG_ENTITY_MAX_READ; i++) {
    pg_chan_read m;
    pg_diag rd = {{0}};
    int r = return_at(c, &at, key, &m, &rd);
    if (r == PG_ERR_NOT_FOUND) return PG_OK;
    if (r && r != PG_ERR_INVALID) {
      pg_entity_problem(e, "read_failures", "return channel: %s", rd.msg);
      return PG_OK;
    }
    ++*taken;
    rc = pg_grid_begin(e->db, d);
    if (rc) return rc;
    if (r == PG_ERR_INVALID) {
      pg_log_warn(e->role, "%s: bad message on the return channel skipped: %s", e->id, rd.msg);
      rc = pg_count_add(e->db, "bad_messages", 1, d);
    } else {
      rc = on_return_msg(c, &m, (int)rstate, d);
    }
    if (!rc) rc = pg_kv_set_text(e->db, "return_next", m.next.root, d);
    if (!rc) rc = pg_kv_set_i64(e->db, "return_leaf", (int64_t)m.next.leaf, d);
    if (!rc) rc = pg_grid_commit(e->db, d);
    else pg_db_rollback(e->db);
    if (rc) return rc;
    at = m.next;
    rc = pg_kv_get_i64(e->db, "return_state", 0, &rstate, d);
    if (rc || rstate == 2) return rc;
  }
  return PG_OK;
}

/* read_return_now when due (see RETURN_GAP_MIN_MS), then when the next
 * read is. */
static int read_return(pg_consumer *c, pg_diag *d) {
  pg_entity *e = &c->e;
  uint64_t now = pg_entity_now(e);
  if (!c->has_ahead && !pg_poll_due(&c->return_poll, now, e->slot_ms)) return PG_OK;
  size_t taken = 0;
  int rc = read_return_now(c, &taken, d);
  pg_grid_metrics_count(e->metrics, PG_GM_POLL_BILLS);
  /* no floor: a slot shorter than 8 s caps the gap under the minimum */
  pg_poll_done(&c->return_poll, now, e->slot_ms, taken > 0, RETURN_GAP_MIN_MS,
               pg_poll_cap(e->slot_ms, 0));
  return rc;
}

void pg_consumer_wake(pg_consumer *c) {
  pg_poll_wake(&c->return_poll);
  pg_poll_wake(&c->follow_poll);
}

typedef struct req {
  char id[PG_GRID_MAX_ID + 1];
  uint64_t owed;
  char address[PG_BECH32_MAX_LEN + 1];
  char reference[PG_GRID_MAX_REFERENCE + 1];
  int state;
  char msg_id[65];
} req;

static int set_req(sqlite3 *db, const char *id, int state, const char *msg_id, const char *error,
                   int64_t now, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "UPDATE requests SET state = ?2, msg_id = COALESCE(?3, msg_id),"
                              " error = ?4, attempts = attempts + (?2 = 1),"
                              " paid_ms = CASE WHEN ?2 = 2 THEN ?5 ELSE paid_ms END,"
                              " confirmed_ms = CASE WHEN ?2 = 3 THEN ?5 ELSE confirmed_ms END"
                              " WHERE request_id = ?1",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, state);
  if (msg_id) sqlite3_bind_text(st, 3, msg_id, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, 3);
  if (error) sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, 4);
  sqlite3_bind_int64(st, 5, now);
  return pg_stmt_step_done(db, st, "requests write", d);
}

static int load_open(sqlite3 *db, req **out, size_t *n, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT request_id, owed, address, reference, state, COALESCE(msg_id,'')"
                              " FROM requests WHERE state < 3 ORDER BY slot, request_id LIMIT 256",
                          &st, d);
  if (rc) return rc;
  req *v = calloc(256, sizeof *v);
  size_t k = 0;
  if (!v) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int srow = SQLITE_DONE;
  while (!rc && (srow = sqlite3_step(st)) == SQLITE_ROW) {
    req *r = &v[k++];
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 0));
    r->owed = (uint64_t)sqlite3_column_int64(st, 1);
    snprintf(r->address, sizeof r->address, "%s", (const char *)sqlite3_column_text(st, 2));
    snprintf(r->reference, sizeof r->reference, "%s", (const char *)sqlite3_column_text(st, 3));
    r->state = sqlite3_column_int(st, 4);
    snprintf(r->msg_id, sizeof r->msg_id, "%s", (const char *)sqlite3_column_text(st, 5));
  }
  if (!rc && srow != SQLITE_DONE) rc = pg_db_fail(db, d, "requests read");
  pg_stmt_put(st);
  if (rc) {
    free(v);
    return rc;
  }
  *out = v;
  *n = k;
  return PG_OK;
}

/* Pays (or finds the earlier payment of) one request. *stop: no more this
 * step; *sent set when the request is now paid (sent, or found paid before). */
static int pay_one(pg_consumer *c, req *r, bool *stop, bool *sent, pg_diag *d) {
  pg_entity *e = &c->e;
  int64_t now = (int64_t)pg_entity_now(e);
  uint8_t to[32];
  pg_diag pd = {{0}};
  if (pg_iota_address_decode(r->address, strlen(r->address), NULL, NULL, 0, to, &pd) != PG_OK) {
    pg_entity_problem(e, "bad_requests", "request %s: bad address: %s", r->id, pd.msg);
    return set_req(e->db, r->id, REQ_REFUSED, NULL, "bad payment address; not paid", now, d);
  }
  uint8_t mid[32];
  if (r->state == REQ_PAYING) {
    /* an earlier attempt may have reached the Tangle: never pay twice */
    bool found = false;
    int rc = pg_wallet_find_transfer(c->wallet, (const uint8_t *)r->reference, strlen(r->reference),
                                     to, r->owed, mid, &found, &pd);
    if (rc) {
      pg_entity_problem(e, "node_failures", "request %s: lookup: %s", r->id, pd.msg);
      *stop = true;
      return PG_OK;
    }
    if (found) {
      char hex[65];
      pg_hex_encode(mid, 32, hex);
      pg_log_info(e->role, "%s: request %s was already paid in %s", e->id, r->id, hex);
      *sent = true;
      return set_req(e->db, r->id, REQ_SENT, hex, NULL, now, d);
    }
  } else {
    int rc = set_req(e->db, r->id, REQ_PAYING, NULL, NULL, now, d);
    if (rc) return rc;
  }
  pg_wallet_output out = {.amount = r->owed};
  memcpy(out.address, to, 32);
  pg_wallet_send_opts so = {.index = (const uint8_t *)r->reference, .index_len = strlen(r->reference)};
  int rc = pg_wallet_send(c->wallet, &out, 1, &so, mid, NULL, &pd);
  if (rc) {
    *stop = true;
    c->next_pay_ms = (uint64_t)now + e->retry_ms;
    pg_entity_problem(e, "payment_failures", "request %s (%llu): %s", r->id,
                      (unsigned long long)r->owed, pd.msg);
    return set_req(e->db, r->id, REQ_PAYING, NULL, pd.msg, now, d);
  }
  char hex[65];
  pg_hex_encode(mid, 32, hex);
  pg_log_info(e->role, "%s: paid request %s: %llu in %s", e->id, r->id, (unsigned long long)r->owed,
              hex);
  pg_grid_metrics_count(e->metrics, PG_GM_PAYMENT_SENT);
  *sent = true;
  return set_req(e->db, r->id, REQ_SENT, hex, NULL, now, d);
}

/* *changed set when it is confirmed or conflicted now (else left: still
 * pending, or the node failed). */
static int follow_one(pg_consumer *c, req *r, bool *changed, pg_diag *d) {
  pg_entity *e = &c->e;
  int64_t now = (int64_t)pg_entity_now(e);
  uint8_t mid[32], fin[32];
  if (pg_hex_decode_exact(r->msg_id, mid, 32) != PG_OK)
    return set_req(e->db, r->id, REQ_PAYING, NULL, "lost message id", now, d);
  pg_wallet_follow_opts fo = {.timeout_ms = 1, .poll_ms = 1};
  pg_diag fd = {{0}};
  int rc = pg_wallet_follow(c->wallet, mid, &fo, fin, &fd);
  if (rc == PG_OK || rc == PG_ERR_STATE) *changed = true;
  if (rc == PG_OK) {
    char hex[65];
    pg_hex_encode(fin, 32, hex);
    return set_req(e->db, r->id, REQ_CONFIRMED, hex, NULL, now, d);
  }
  if (rc == PG_ERR_STATE) { /* conflicted: look again, then pay again */
    pg_entity_problem(e, "payment_conflicts", "request %s: transfer conflicted: %s", r->id, fd.msg);
    return set_req(e->db, r->id, REQ_PAYING, NULL, fd.msg, now, d);
  }
  if (rc != PG_ERR_TIMEOUT) pg_entity_problem(e, "node_failures", "request %s: %s", r->id, fd.msg);
  return PG_OK;
}

static int pay_due(pg_consumer *c, pg_diag *d) {
  pg_entity *e = &c->e;
  req *v = NULL;
  size_t n = 0;
  int rc = load_open(e->db, &v, &n, d);
  if (rc) return rc;
  uint64_t now = pg_entity_now(e);
  bool stop = now < c->next_pay_ms, follow = pg_poll_due(&c->follow_poll, now, e->slot_ms);
  bool followed = false, changed = false, sent = false;
  for (size_t i = 0; i < n && !rc; i++) {
    req *r = &v[i];
    if (r->state == REQ_SENT && follow) {
      rc = follow_one(c, r, &changed, d);
      followed = true;
    } else if (r->state == REQ_SENT) {
      continue;
    } else if (r->owed == 0) {
      rc = set_req(e->db, r->id, REQ_CONFIRMED, NULL, NULL, (int64_t)now, d);
    } else if (!stop) {
      rc = pay_one(c, r, &stop, &sent, d); /* sent: looked at from the next step */
    }
  }
  if (followed) pg_grid_metrics_count(e->metrics, PG_GM_POLL_CONFIRMATIONS);
  if (sent) pg_poll_wake(&c->follow_poll);
  else if (followed)
    pg_poll_done(&c->follow_poll, now, e->slot_ms, changed, FOLLOW_GAP_MIN_MS,
                 pg_poll_cap(e->slot_ms, FOLLOW_GAP_MIN_MS));
  free(v);
  return rc;
}

int pg_consumer_step(pg_consumer *c, pg_diag *d) {
  pg_entity *e = &c->e;
  int rc = pg_entity_register(e, d);
  if (!rc) rc = pg_entity_report_slots(e, c->meter, c, report_usage, d);
  if (!rc) rc = pg_entity_flush(e, d);
  if (!rc) rc = read_return(c, d);
  drop_ahead(c); /* it told of the channel as it was before this step only */
  if (!rc) rc = pay_due(c, d);
  return rc;
}


int pg_consumer_metrics(pg_consumer *c, pg_buf *out, pg_diag *d) {
  return pg_entity_member_metrics(&c->e, &c->status_mu, c->status_db, out, d);
}

int pg_consumer_status(pg_consumer *c, json_t **out, pg_diag *d) {
  pthread_mutex_lock(&c->status_mu);
  json_t *o = NULL;
  int rc = pg_entity_status(&c->e, c->status_db, &o, d);
  pg_consumer_totals t;
  if (!rc) rc = pg_consumer_totals_get(c->status_db, &t, d);
  if (!rc) {
    const struct {
      const char *key;
      int64_t v;
    } fields[] = {{"refused", t.refused}, {"usageWh", t.reported_wh},
                  {"slotsReported", t.slots_reported}, {"requests", t.requests},
                  {"billed", t.billed}, {"paid", t.paid}, {"pending", t.pending},
                  {"outstanding", t.outstanding}};
    for (size_t i = 0; !rc && i < sizeof fields / sizeof fields[0]; i++)
      if (json_object_set_new(o, fields[i].key, json_integer(fields[i].v)) != 0)
        rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  pthread_mutex_unlock(&c->status_mu);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return PG_OK;
}

pg_grid_outbox *pg_consumer_outbox(pg_consumer *c) { return (pg_grid_outbox *)&c->e; }
