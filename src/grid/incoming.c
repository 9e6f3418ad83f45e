/* incoming.c — the consumers' payments to the grid (gridop_internal.h):
 * the scan of the unspent outputs on the grid's address, each classified
 * by the message that made it (a bill's payment by its reference, ours, or
 * unknown) and booked once, and the slower lookup of open bills by
 * reference. Booking comes from the ledger, so nothing under an index can
 * hide or fake a payment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridop_internal.h"
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/ledger/outputs.h" /* PG_OUTPUTS_MAX_IDS */
#include "p2pgrid/tangle/message.h"

typedef struct open_bill {
  int64_t rowid;
  char request_id[PG_GRID_MAX_ID + 1];
  char reference[PG_GRID_MAX_REFERENCE + 1];
} open_bill;

/* Open bills looked up by reference per round (round robin), and how often:
 * the ledger scan finds every unspent payment each 500 ms; this slower pass
 * is for a payment the grid's wallet spent before the scan saw it, and its
 * cost grows with what is under each reference. */
#define MATCH_BATCH 16
#define MATCH_EVERY_MS 5000

/* One payment to book: output ohex of amount in message mhex, as the
 * payment of bill request_id (is_bill) or as "(own)" / "(unknown)". */
typedef struct booking {
  char ohex[2 * PG_OUTPUT_ID_LEN + 1];
  char mhex[65];
  char ref[PG_GRID_MAX_REFERENCE + 1];
  char request_id[PG_GRID_MAX_ID + 1];
  uint64_t amount;
  bool is_bill, ours, booked;
} booking;

/* b's rows, inside the caller's transaction (b->booked: it was new). */
static int book_rows(pg_gridop *g, booking *b, pg_diag *d) {
  pg_entity *e = &g->e;
  sqlite3_stmt *st = NULL;
  b->booked = false;
  int rc = pg_stmt_get(e->db, "INSERT INTO incoming(output_id, msg_id, amount, reference, request_id,"
                                " seen_ms) VALUES (?1,?2,?3,?4,?5,?6) ON CONFLICT DO NOTHING",
                         &st, d);
  if (!rc) {
    sqlite3_bind_text(st, 1, b->ohex, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, b->mhex, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)b->amount);
    if (b->ref[0]) sqlite3_bind_text(st, 4, b->ref, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, b->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)pg_entity_now(e));
    rc = pg_stmt_step_done(e->db, st, "incoming write", d);
  }
  b->booked = !rc && sqlite3_changes(e->db) == 1;
  if (!rc && b->booked && b->is_bill) {
    rc = pg_stmt_get(e->db, "UPDATE bills SET paid = paid + ?2, paid_ms = ?3, payment_msg = ?4"
                              " WHERE request_id = ?1",
                       &st, d);
    if (!rc) {
      sqlite3_bind_text(st, 1, b->request_id, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 2, (sqlite3_int64)b->amount);
      sqlite3_bind_int64(st, 3, (sqlite3_int64)pg_entity_now(e));
      sqlite3_bind_text(st, 4, b->mhex, -1, SQLITE_STATIC);
      rc = pg_stmt_step_done(e->db, st, "bills write", d);
    }
  }
  if (!rc && b->booked && !b->is_bill && !b->ours)
    rc = pg_count_add(e->db, "unknown_payments", 1, d);
  return rc;
}

/* What a booking that committed tells the operator. */
static void booked_note(pg_gridop *g, const booking *b) {
  pg_entity *e = &g->e;
  if (!b->booked) return;
  if (b->is_bill) {
    pg_grid_metrics_count(e->metrics, PG_GM_PAYMENT_RECEIVED);
    pg_log_info(e->role, "%s: request %s paid: %llu (message %s)", e->id, b->request_id,
                (unsigned long long)b->amount, b->mhex);
  } else if (!b->ours) {
    pg_log_warn(e->role, "%s: payment of %llu with unknown reference '%s' (message %s)", e->id,
                (unsigned long long)b->amount, b->ref, b->mhex);
  }
}

/* Books v[0..n) in one transaction, a savepoint each: a booking that fails
 * is rolled back alone and stops the rest (they wait for the next scan),
 * the ones before it commit. Each output once (ON CONFLICT: an output
 * booked before is no booking). */
static int book_all(pg_gridop *g, booking *v, size_t n, pg_diag *d) {
  if (n == 0) return PG_OK;
  sqlite3 *db = g->e.db;
  int rc = pg_grid_begin(db, d);
  if (rc) return rc;
  size_t done = 0;
  for (; done < n; done++) {
    if ((rc = pg_db_savepoint(db, "pg_booking", d))) break;
    if ((rc = pg_db_savepoint_end(db, "pg_booking", book_rows(g, &v[done], d), d))) break;
  }
  pg_diag cd = {{0}};
  int crc = pg_grid_commit(db, &cd);
  if (crc) return rc ? rc : pg_fail(d, crc, "%s", cd.msg);
  for (size_t i = 0; i < done; i++) booked_note(g, &v[i]);
  return rc;
}

/* The outputs of an included transfer message, message `at` of lookup f, that
 * pay our address, booked as payments of bill b (each output once,
 * whatever message carries the transaction). Its metadata and bytes come
 * with the lookup where the transport gave them, else they are asked for
 * (through raw). */
static int book_message(pg_gridop *g, const open_bill *b, const pg_client_found *f, size_t at,
                        pg_buf *raw, pg_diag *d) {
  pg_entity *e = &g->e;
  const uint8_t *mid = f->ids[at];
  pg_msg_meta meta;
  pg_diag cd = {{0}};
  if (f->meta)
    meta = f->meta[at];
  else if (pg_client_get_meta(e->client, mid, &meta, &cd) != PG_OK)
    return PG_OK;
  if (meta.inclusion != PG_INCL_INCLUDED) return PG_OK;
  const uint8_t *bytes = f->raw ? f->raw[at] : NULL;
  size_t len = bytes ? f->raw_len[at] : 0;
  if (!bytes) {
    pg_buf_reset(raw);
    if (pg_client_get_raw(e->client, mid, raw, &cd) != PG_OK) return PG_OK;
    bytes = raw->data, len = raw->len;
  }
  pg_message m;
  if (pg_message_parse(bytes, len, &m, NULL) != PG_OK) return PG_OK;
  int rc = PG_OK;
  if (m.payload_type == PG_PAYLOAD_TRANSACTION) {
    const pg_transaction *tx = m.u.transaction;
    uint8_t txid[32];
    pg_transaction_id(m.payload, m.payload_len, txid);
    char mhex[65];
    pg_hex_encode(mid, 32, mhex);
    for (uint16_t j = 0; j < tx->outputs_count && !rc; j++) {
      if (memcmp(tx->outputs[j].address, g->address, 32) != 0) continue;
      uint8_t oid[PG_OUTPUT_ID_LEN];
      booking k = {.amount = tx->outputs[j].amount, .is_bill = true};
      pg_output_id(txid, j, oid);
      pg_hex_encode(oid, sizeof oid, k.ohex);
      memcpy(k.mhex, mhex, sizeof k.mhex);
      snprintf(k.ref, sizeof k.ref, "%s", b->reference);
      snprintf(k.request_id, sizeof k.request_id, "%s", b->request_id);
      rc = book_all(g, &k, 1, d);
    }
  }
  pg_message_clear(&m);
  return rc;
}

/* Looks up the payments of open bills v[0..n) by their references (the
 * index of the consumer's transfer), all in one pg_client_find_many (over
 * HTTP one request with each message's metadata and bytes). Every message
 * under an index is read (junk there pays nothing: only included
 * transactions with outputs to us count); a payment output still unspent is
 * also found by scan_outputs whatever is under the index. */
static int match_bills(pg_gridop *g, const open_bill *v, size_t n, pg_diag *d) {
  pg_entity *e = &g->e;
  enum { MAXIDS = 256 };
  pg_client_found f[MATCH_BATCH];
  for (size_t i = 0; i < n; i++)
    f[i] = (pg_client_found){.index = (const uint8_t *)v[i].reference,
                             .index_len = strlen(v[i].reference), .max = MAXIDS,
                             .want_meta = true};
  int rc = pg_client_find_many(e->client, f, n, d);
  if (rc) return rc;
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  for (size_t i = 0; i < n && !rc; i++) {
    if (f[i].rc != PG_OK)
      pg_entity_problem(e, "node_failures", "payment lookup: %s", f[i].d.msg);
    else if (f[i].total > f[i].count) /* more than we read: the ledger scan still finds it */
      rc = pg_count_add(e->db, "crowded_references", 1, d);
    for (size_t k = 0; f[i].rc == PG_OK && k < f[i].count && !rc; k++)
      rc = book_message(g, &v[i], &f[i], k, &raw, d);
  }
  pg_buf_free(&raw);
  for (size_t i = 0; i < n; i++) pg_client_found_clear(&f[i]);
  return rc;
}

/* What the transfer that made output g is (from the message the node sent
 * with it): its reference (indexation) and whether we made it ourselves (our
 * remainders, payouts, dust allowance, the genesis). false (cd says why)
 * when the node could not give the message: nothing is known then, the
 * output waits for the next scan — booking it as ours would lose a payment
 * whose message the node could not give at that moment (a node killed in
 * the middle of a scan). */
static bool classify_output(pg_gridop *g, const pg_client_output_got *o,
                            char ref[PG_GRID_MAX_REFERENCE + 1], bool *ours, pg_diag *cd) {
  pg_message m;
  ref[0] = '\0';
  *ours = true; /* not a message: the genesis snapshot */
  if (o->raw_rc != PG_OK && o->raw_rc != PG_ERR_NOT_FOUND) {
    *cd = o->d;
    return false;
  }
  if (o->raw_rc == PG_OK && pg_message_parse(o->raw, o->raw_len, &m, NULL) == PG_OK) {
    if (m.payload_type == PG_PAYLOAD_TRANSACTION) {
      const pg_transaction *tx = m.u.transaction;
      *ours = false;
      if (tx->has_indexation && tx->indexation.index_len <= PG_GRID_MAX_REFERENCE) {
        memcpy(ref, tx->indexation.index, tx->indexation.index_len);
        ref[tx->indexation.index_len] = 0;
        if (strncmp(ref, PAYOUT_PREFIX, strlen(PAYOUT_PREFIX)) == 0) *ours = true;
      }
      for (uint16_t u = 0; u < tx->unlocks_count && !*ours; u++) {
        if (tx->unlocks[u].type != 0) continue;
        uint8_t a[32];
        pg_blake2b256(tx->unlocks[u].public_key, 32, a);
        *ours = memcmp(a, g->address, 32) == 0;
      }
    }
    pg_message_clear(&m);
  }
  return true;
}

/* Every unspent output on our address (the ledger: confirmed by a
 * milestone) that is not booked yet: a bill's payment when its transfer's
 * reference names a bill, else ours or unknown (counted once). Matching from
 * the ledger means nothing under an index can hide or fake a payment. */
/* Unspent outputs on our address looked at per scan: all of them (an
 * in-process node gives all; a node's HTTP API its page), so payments behind
 * more than a page of booked but unspent ones are seen (1,000 households pay
 * 1,000 bills a slot). */
#define SCAN_MAX_OUTPUTS 65536

/* The bill whose transfer reference is k->ref, if any (k->is_bill). */
static int bill_of(sqlite3 *db, booking *k, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT request_id FROM bills WHERE reference = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, k->ref, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    k->is_bill = true;
    snprintf(k->request_id, sizeof k->request_id, "%s", (const char *)sqlite3_column_text(st, 0));
  } else if (s != SQLITE_DONE) {
    rc = pg_db_fail(db, d, "bills read");
  }
  pg_stmt_put(st);
  return rc;
}

/* Output o, looked up (not booked yet): what it is (a bill's payment, ours,
 * unknown) into *k and *book set. *book false with PG_OK: nothing to book
 * (the node did not give the output); *stop: the node could not say what
 * made it (the rest wait for the next scan). */
static int what_output(pg_gridop *g, const pg_client_output_got *o, booking *k, bool *book,
                       bool *stop, pg_diag *d) {
  pg_entity *e = &g->e;
  memset(k, 0, sizeof *k);
  *book = *stop = false;
  if (o->rc != PG_OK) return PG_OK;
  pg_hex_encode(o->id, PG_OUTPUT_ID_LEN, k->ohex);
  pg_diag cd = {{0}};
  if (!classify_output(g, o, k->ref, &k->ours, &cd)) {
    pg_entity_problem(e, "node_failures", "payment lookup: %s", cd.msg);
    *stop = true;
    return PG_OK;
  }
  pg_hex_encode(o->info.message_id, 32, k->mhex);
  k->amount = o->info.amount;
  int rc = PG_OK;
  if (!k->ours && k->ref[0] && (rc = bill_of(e->db, k, d))) return rc;
  if (!k->is_bill) snprintf(k->request_id, sizeof k->request_id, "%s", k->ours ? "(own)" : "(unknown)");
  *book = true;
  return PG_OK;
}

/* The outputs of ids[*at..n) not booked yet, up to PG_OUTPUTS_MAX_IDS, into
 * v (their ids set) and *m; *at moves past the ids looked at. */
static int take_new(pg_gridop *g, const uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t n, size_t *at,
                    pg_client_output_got *v, size_t *m, pg_diag *d) {
  int rc = PG_OK;
  for (*m = 0; *at < n && *m < PG_OUTPUTS_MAX_IDS && !rc; ++*at) {
    char ohex[2 * PG_OUTPUT_ID_LEN + 1];
    bool known = false;
    pg_hex_encode(ids[*at], PG_OUTPUT_ID_LEN, ohex);
    rc = pg_stmt_has_text(g->e.db, "SELECT 1 FROM incoming WHERE output_id = ?1", ohex, &known,
                          "incoming read", d);
    if (!rc && !known) memcpy(v[(*m)++].id, ids[*at], PG_OUTPUT_ID_LEN);
  }
  return rc;
}

/* What the outputs v[0..m) are, appended to the bookings *v (*nb of them);
 * *stop as what_output's. */
static int classify_all(pg_gridop *g, const pg_client_output_got *o, size_t m, booking **v,
                        size_t *nb, size_t *cap, bool *stop, pg_diag *d) {
  int rc = PG_OK;
  for (size_t i = 0; i < m && !rc && !*stop; i++) {
    bool book = false;
    if ((rc = pg_grow(v, cap, *nb + 1, sizeof **v, SCAN_MAX_OUTPUTS)))
      rc = pg_fail(d, rc, "out of memory");
    if (!rc) rc = what_output(g, &o[i], &(*v)[*nb], &book, stop, d);
    if (!rc && book) ++*nb;
  }
  return rc;
}

/* Finds the new payments first (node lookups in batches of
 * PG_OUTPUTS_MAX_IDS, with the messages that made them; no transaction
 * open), then books them in one transaction: 1,000 households pay 1,000
 * bills a slot, which were 1,000 commits and, over HTTP, 2,000 requests. */
static int scan_outputs(pg_gridop *g, size_t *found, pg_diag *d) {
  pg_entity *e = &g->e;
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
  size_t n = 0;
  pg_diag cd = {{0}};
  int rc = pg_client_address_outputs_all(e->client, g->address, false, 256, SCAN_MAX_OUTPUTS, &ids,
                                         &n, &cd);
  if (rc == PG_ERR_NOMEM) return pg_fail(d, rc, "%s", cd.msg);
  if (rc) {
    pg_entity_problem(e, "node_failures", "address outputs: %s", cd.msg);
    n = 0;
    rc = PG_OK;
  }
  pg_client_output_got *o = n ? calloc(n < PG_OUTPUTS_MAX_IDS ? n : PG_OUTPUTS_MAX_IDS, sizeof *o)
                              : NULL;
  if (n && !o) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  booking *v = NULL;
  size_t nb = 0, cap = 0, at = 0, m = 0;
  bool stop = false;
  while (!rc && !stop && at < n && !(rc = take_new(g, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, n,
                                                   &at, o, &m, d))) {
    if ((rc = pg_client_outputs_many(e->client, o, m, true, d))) break;
    rc = classify_all(g, o, m, &v, &nb, &cap, &stop, d);
    for (size_t i = 0; i < m; i++) pg_client_output_got_clear(&o[i]);
  }
  free(o);
  free(ids);
  pg_diag bd = {{0}};
  int brc = book_all(g, v, nb, &bd); /* what was found before a failure is kept */
  *found = nb;
  free(v);
  if (!rc && brc) rc = pg_fail(d, brc, "%s", bd.msg);
  return rc;
}

/* Open bills, MATCH_BATCH at a time from a cursor that walks all of them
 * round robin (so bills that are never paid cannot starve later ones). */
static int load_open_bills(pg_gridop *g, open_bill *v, size_t *n, pg_diag *d) {
  pg_entity *e = &g->e;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "SELECT rowid, request_id, reference FROM bills WHERE paid < owed"
                                " AND rowid > ?1 ORDER BY rowid LIMIT ?2",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, g->bill_cursor);
  sqlite3_bind_int(st, 2, MATCH_BATCH);
  int s;
  *n = 0;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    open_bill *b = &v[(*n)++];
    b->rowid = sqlite3_column_int64(st, 0);
    snprintf(b->request_id, sizeof b->request_id, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(b->reference, sizeof b->reference, "%s", (const char *)sqlite3_column_text(st, 2));
  }
  if (s != SQLITE_DONE) rc = pg_db_fail(e->db, d, "bills read");
  pg_stmt_put(st);
  if (!rc) g->bill_cursor = *n == MATCH_BATCH ? v[*n - 1].rowid : 0;
  return rc;
}

/* The scan runs at a slot's first step, at every step while payments come,
 * else after gaps of 500 ms, 1 s, 2 s ... up to 30 s (an eighth of a slot
 * at most, never under 500 ms), on an event (pg_gridop_wake), and before
 * the wallet spends (pg_gridop_scan_before_spend). A scan every 500 ms was
 * 1,800 listings of the address a 15-minute slot. The simulator's rounds
 * are an eighth of a slot or more apart and scan every round; its extra
 * rounds and drain, closer together, scan less often (its results are the
 * same: internals/grid.md). */
#define SCAN_GAP_MIN_MS 500u

static int scan_now(pg_gridop *g, uint64_t now, pg_diag *d) {
  size_t found = 0;
  int rc = scan_outputs(g, &found, d);
  g->last_scan_ms = now, g->scanned = true;
  pg_grid_metrics_count(g->e.metrics, PG_GM_POLL_PAYMENTS);
  pg_poll_done(&g->pay_poll, now, g->e.slot_ms, found > 0, SCAN_GAP_MIN_MS,
               pg_poll_cap(g->e.slot_ms, SCAN_GAP_MIN_MS));
  return rc;
}

int pg_gridop_scan_before_spend(pg_gridop *g, pg_diag *d) {
  uint64_t now = pg_entity_now(&g->e);
  if (g->scanned && now >= g->last_scan_ms && now - g->last_scan_ms < SCAN_GAP_MIN_MS) return PG_OK;
  return scan_now(g, now, d);
}

int pg_gridop_check_incoming(pg_gridop *g, pg_diag *d) {
  pg_entity *e = &g->e;
  uint64_t now = pg_entity_now(e);
  int rc = pg_poll_due(&g->pay_poll, now, e->slot_ms) ? scan_now(g, now, d) : PG_OK;
  open_bill v[MATCH_BATCH];
  size_t n = 0;
  if (rc || now < g->next_ref_check_ms) return rc;
  g->next_ref_check_ms = now + MATCH_EVERY_MS;
  rc = load_open_bills(g, v, &n, d);
  if (!rc) rc = match_bills(g, v, n, d);
  return rc;
}
