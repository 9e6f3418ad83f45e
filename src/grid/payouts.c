/* payouts.c — paying producers (gridop_internal.h): what they are owed
 * grouped into batches (one transfer each, at most PG_WALLET_MAX_OUTPUTS
 * addresses, within the payments received plus the float), each sent under
 * a reference only the grid can make and looked up before any resend, then
 * followed to confirmation; and the receive address's dust allowance and
 * sweeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridop_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"

/* batch states */
enum { BATCH_SENDING = 0, BATCH_SENT = 1, BATCH_CONFIRMED = 2 };
#define PG_DUST_MIN 1000000 /* TIP-15: outputs below 1 Mi are dust */

/* The index of batch id's transfer: "p2pgrid:payout:<id>-<16 hex digits>",
 * the unguessable part a hash of the id keyed by the wallet seed (before: drawn
 * at random; kept in batch_refs), so nobody can crowd the index with junk
 * before the payout exists and hide it from the lookup before a resend, and
 * a restored grid finds the batch it sent under that id (resume.c). Batches
 * made before batch_refs have "p2pgrid:payout:<id>". */
static int batch_ref(sqlite3 *db, int64_t id, char ref[PG_GRID_MAX_REFERENCE + 1], pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "SELECT reference FROM batch_refs WHERE batch_id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW)
    snprintf(ref, PG_GRID_MAX_REFERENCE + 1, "%s", (const char *)sqlite3_column_text(st, 0));
  else if (s == SQLITE_DONE)
    snprintf(ref, PG_GRID_MAX_REFERENCE + 1, "%s%lld", PAYOUT_PREFIX, (long long)id);
  else
    rc = pg_db_fail(db, d, "batch_refs read");
  pg_stmt_put(st);
  return rc;
}

static void payout_ref(const pg_gridop *g, int64_t id, char ref[PG_GRID_MAX_REFERENCE + 1]) {
  char what[40], hex[17];
  snprintf(what, sizeof what, "payout:%lld", (long long)id);
  pg_grid_ref_tag(g->ref_key, what, hex);
  snprintf(ref, PG_GRID_MAX_REFERENCE + 1, "%s%lld-%s", PAYOUT_PREFIX, (long long)id, hex);
}

static int new_batch_ref(const pg_gridop *g, sqlite3 *db, int64_t id, pg_diag *d) {
  char ref[PG_GRID_MAX_REFERENCE + 1];
  payout_ref(g, id, ref);
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "INSERT INTO batch_refs(batch_id, reference) VALUES (?1, ?2)", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, ref, -1, SQLITE_TRANSIENT);
  return pg_stmt_step_done(db, st, "batch_refs write", d);
}

/* Sends (or finds after a crash) batch id. */
static int send_batch(pg_gridop *g, int64_t id, pg_diag *d) {
  pg_entity *e = &g->e;
  char ref[PG_GRID_MAX_REFERENCE + 1];
  int rc = batch_ref(e->db, id, ref, d);
  if (rc) return rc;
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(e->db, pg_grid_sql_batch_outputs, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  pg_wallet_output outs[PG_WALLET_MAX_OUTPUTS];
  size_t n = 0;
  int srow;
  while ((srow = sqlite3_step(st)) == SQLITE_ROW && n < PG_WALLET_MAX_OUTPUTS && !rc) {
    const char *a = (const char *)sqlite3_column_text(st, 0);
    memset(&outs[n], 0, sizeof outs[n]);
    if (pg_iota_address_decode(a, strlen(a), NULL, NULL, 0, outs[n].address, NULL) != PG_OK)
      rc = pg_fail(d, PG_ERR_STATE, "payout %lld: address '%.90s' does not decode", (long long)id, a);
    outs[n].amount = (uint64_t)sqlite3_column_int64(st, 1);
    n++;
  }
  if (!rc && srow == SQLITE_ROW)
    rc = pg_fail(d, PG_ERR_STATE, "payout %lld: more than %d addresses", (long long)id,
                 PG_WALLET_MAX_OUTPUTS);
  else if (!rc && srow != SQLITE_DONE)
    rc = pg_db_fail(e->db, d, "payouts read");
  pg_stmt_put(st);
  if (rc || n == 0) return rc;
  uint8_t mid[32];
  bool found = false;
  pg_diag pd = {{0}};
  rc = pg_wallet_find_transfer(g->wallet, (const uint8_t *)ref, strlen(ref), outs[0].address,
                               outs[0].amount, mid, &found, &pd);
  if (rc) {
    pg_entity_problem(e, "node_failures", "payout %lld lookup: %s", (long long)id, pd.msg);
    return PG_OK;
  }
  if (!found && (rc = pg_gridop_scan_before_spend(g, d))) return rc;
  if (!found) {
    pg_wallet_send_opts so = {.index = (const uint8_t *)ref, .index_len = strlen(ref)};
    rc = pg_wallet_send(g->wallet, outs, n, &so, mid, NULL, &pd);
    if (rc) {
      g->next_payout_ms = pg_entity_now(e) + e->retry_ms;
      pg_entity_problem(e, "payout_failures", "payout %lld: %s", (long long)id, pd.msg);
      return PG_OK;
    }
  }
  char hex[65];
  pg_hex_encode(mid, 32, hex);
  rc = pg_stmt_get(e->db, "UPDATE batches SET state = 1, msg_id = ?2 WHERE id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
  rc = pg_stmt_step_done(e->db, st, "batches write", d);
  if (!rc) pg_grid_metrics_count(e->metrics, PG_GM_PAYOUT_SENT);
  if (!rc) pg_poll_wake(&g->batch_poll); /* looked at from the next step */
  if (!rc)
    pg_log_info(e->role, "%s: payout %lld to %zu producers %s in %s", e->id, (long long)id, n,
                found ? "was already sent" : "sent", hex);
  return rc;
}

/* Looks at sent batch id once; *changed set when it is confirmed or
 * conflicted now (else left). */
static int follow_batch(pg_gridop *g, int64_t id, const char *msg_hex, bool *changed,
                        pg_diag *d) {
  pg_entity *e = &g->e;
  uint8_t mid[32], fin[32];
  int state = BATCH_SENDING;
  pg_diag fd = {{0}};
  if (pg_hex_decode_exact(msg_hex, mid, 32) == PG_OK) {
    pg_wallet_follow_opts fo = {.timeout_ms = 1, .poll_ms = 1};
    int rc = pg_wallet_follow(g->wallet, mid, &fo, fin, &fd);
    if (rc == PG_ERR_TIMEOUT) return PG_OK;
    if (rc == PG_OK) state = BATCH_CONFIRMED;
    else if (rc == PG_ERR_STATE) pg_entity_problem(e, "payout_conflicts", "payout %lld conflicted: %s", (long long)id, fd.msg);
    else {
      pg_entity_problem(e, "node_failures", "payout %lld: %s", (long long)id, fd.msg);
      return PG_OK;
    }
  }
  *changed = true;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "UPDATE batches SET state = ?2, confirmed_ms = ?3, error = ?4 WHERE id = ?1",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_int(st, 2, state);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)pg_entity_now(e));
  if (state == BATCH_CONFIRMED) sqlite3_bind_null(st, 4);
  else sqlite3_bind_text(st, 4, fd.msg, -1, SQLITE_STATIC);
  rc = pg_stmt_step_done(e->db, st, "batches write", d);
  if (!rc && state == BATCH_CONFIRMED) pg_grid_metrics_count(e->metrics, PG_GM_PAYOUT_CONFIRMED);
  return rc;
}

/* A producer is paid once it is owed at least this: payout_min, and never
 * less than 1 Mi, because a smaller output is dust (TIP-15) that its address
 * could only take with a dust allowance; smaller amounts are carried over. */
static int64_t payout_threshold(const pg_gridop *g) {
  return g->o.payout_min > PG_DUST_MIN ? (int64_t)g->o.payout_min : (int64_t)PG_DUST_MIN;
}

/* A producer due for a payout (its unbatched rows to one address). */
typedef struct due_payout {
  char producer[PG_GRID_MAX_ID + 1];
  char address[PG_BECH32_MAX_LEN + 1];
  int64_t amount;
} due_payout;

/* Holds producer back alone (counted once, logged) with reason. */
static int hold_payout(pg_gridop *g, const due_payout *p, const char *reason, pg_diag *d) {
  pg_entity *e = &g->e;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "INSERT INTO payout_holds(producer_id, address, reason, since_ms)"
                                " VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, p->producer, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p->address, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)pg_entity_now(e));
  rc = pg_stmt_step_done(e->db, st, "payout holds write", d);
  if (!rc && sqlite3_changes(e->db) == 1) {
    pg_log_warn(e->role, "%s: payout of %lld to '%s' held back: %s", e->id, (long long)p->amount,
                p->producer, reason);
    rc = pg_count_add(e->db, "payouts_held", 1, d);
  }
  return rc;
}

/* What may still be paid out: the consumers' payments received plus the
 * float, less what batches already carry. */
int pg_gridop_payout_budget(pg_gridop *g, sqlite3 *db, int64_t *budget, pg_diag *d) {
  pg_grid_totals t = {0};
  int64_t out = 0;
  int rc = pg_grid_totals_get(db, &t, d);
  if (!rc) rc = pg_stmt_i64(db, "SELECT COALESCE(SUM(total), 0) FROM batches", 0, 0, &out, d);
  *budget = t.received + (int64_t)g->o.float_max - out;
  return rc;
}

static int payout_budget(pg_gridop *g, int64_t *budget, pg_diag *d) {
  return pg_gridop_payout_budget(g, g->e.db, budget, d);
}

/* The producers a new batch pays, each checked before any row is assigned:
 * an address that decodes, at least the dust threshold, not held, within
 * the budget; at most PG_WALLET_MAX_OUTPUTS addresses. */
static int choose_payouts(pg_gridop *g, due_payout *v, size_t *n, pg_diag *d) {
  pg_entity *e = &g->e;
  int64_t budget = 0;
  int rc = payout_budget(g, &budget, d);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_stmt_get(e->db, pg_grid_sql_due_payouts, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, payout_threshold(g));
  int s;
  *n = 0;
  bool short_of_float = false;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW && *n < PG_WALLET_MAX_OUTPUTS) {
    due_payout p = {0};
    uint8_t a[32];
    snprintf(p.producer, sizeof p.producer, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(p.address, sizeof p.address, "%s", (const char *)sqlite3_column_text(st, 1));
    p.amount = sqlite3_column_int64(st, 2);
    if (pg_iota_address_decode(p.address, strlen(p.address), NULL, NULL, 0, a, NULL) != PG_OK)
      rc = hold_payout(g, &p, "its payment address does not decode", d);
    else if (p.amount > budget)
      short_of_float = true; /* waits until consumers have paid more */
    else
      v[(*n)++] = p, budget -= p.amount;
  }
  if (!rc && s != SQLITE_ROW && s != SQLITE_DONE)
    rc = pg_db_fail(e->db, d, "payouts read");
  pg_stmt_put(st);
  if (!rc && short_of_float)
    pg_entity_problem(e, "payouts_waiting_for_float",
                      "payouts wait: they would exceed the payments received plus the float of %llu",
                      (unsigned long long)g->o.float_max);
  return rc;
}

/* Groups the chosen payouts into a new batch (rows assigned only after
 * every recipient was checked). */
static int make_batch(pg_gridop *g, bool *made, pg_diag *d) {
  pg_entity *e = &g->e;
  *made = false;
  due_payout *v = calloc(PG_WALLET_MAX_OUTPUTS, sizeof *v);
  if (!v) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t n = 0;
  int rc = pg_grid_begin(e->db, d);
  if (!rc) rc = choose_payouts(g, v, &n, d);
  sqlite3_stmt *st = NULL;
  int64_t id = 0, total = 0;
  if (!rc && n > 0) {
    rc = pg_stmt_get(e->db, "INSERT INTO batches(state, total, outputs, created_ms) VALUES (0, 0, 0, ?1)",
                       &st, d);
    if (!rc) {
      sqlite3_bind_int64(st, 1, (sqlite3_int64)pg_entity_now(e));
      rc = pg_stmt_step_done(e->db, st, "batches write", d);
    }
    id = sqlite3_last_insert_rowid(e->db);
    if (!rc) rc = new_batch_ref(g, e->db, id, d);
  }
  for (size_t i = 0; !rc && i < n; i++) {
    rc = pg_stmt_get(e->db, "UPDATE payouts SET batch_id = ?1 WHERE batch_id IS NULL AND"
                              " producer_id = ?2 AND address = ?3",
                       &st, d);
    if (rc) break;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, v[i].producer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, v[i].address, -1, SQLITE_STATIC);
    rc = pg_stmt_step_done(e->db, st, "payouts write", d);
    total += v[i].amount;
  }
  if (!rc && n > 0) {
    rc = pg_stmt_get(e->db, pg_grid_sql_batch_set_total, &st, d);
    if (!rc) {
      sqlite3_bind_int64(st, 1, id);
      sqlite3_bind_int64(st, 2, total);
      rc = pg_stmt_step_done(e->db, st, "batches write", d);
    }
  }
  if (!rc) rc = pg_grid_commit(e->db, d);
  else pg_db_rollback(e->db);
  *made = !rc && n > 0;
  free(v);
  return rc;
}

/* Before the first batch made since start: a batch of ours already under the
 * next batch id's index (sent before a restore put the database back) is
 * booked as that batch, and so on for the ids after it; then the payout rows
 * that re-settlement makes again go to such batches first (resume.c). *ready
 * false: the node could not say yet (counted; no batch is made). */
static int resume_batches(pg_gridop *g, bool *ready, pg_diag *d) {
  pg_entity *e = &g->e;
  *ready = false;
  int rc = PG_OK;
  while (!g->batches_checked) {
    int64_t id = 0;
    char ref[PG_GRID_MAX_REFERENCE + 1], hrp[PG_CLIENT_HRP_MAX + 1];
    rc = pg_db_i64(e->db, "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name ="
                          " 'batches'), 0), COALESCE((SELECT MAX(id) FROM batches), 0)) + 1",
                   0, 1, &id, d);
    if (rc) return rc;
    payout_ref(g, id, ref);
    bool adopted = false;
    pg_diag ad = {{0}};
    int arc = pg_entity_hrp(e, hrp, &ad);
    if (!arc) arc = pg_payout_adopt(e->db, e->client, id, ref, g->address, hrp, pg_entity_now(e),
                                    &adopted, &ad);
    if (arc == PG_ERR_DB || arc == PG_ERR_NOMEM) return pg_fail(d, arc, "%s", ad.msg);
    if (arc) {
      pg_entity_problem(e, "node_failures", "payouts wait: %s", ad.msg);
      g->next_payout_ms = pg_entity_now(e) + e->retry_ms;
      return PG_OK;
    }
    if (adopted)
      pg_log_warn(e->role, "%s: payout %lld was sent before this database was restored: found on "
                  "the Tangle under %s and booked, its payouts are not sent again", e->id,
                  (long long)id, ref);
    g->batches_checked = !adopted;
  }
  size_t assigned = 0;
  rc = pg_payout_apply_credits(e->db, &assigned, d);
  if (!rc && assigned)
    pg_log_info(e->role, "%s: payouts settled again after the restore booked to the batches that "
                "paid them (%zu producers)", e->id, assigned);
  *ready = !rc;
  return rc;
}

/* A sent batch is looked at (its confirmation) from the step after it was
 * sent, then while it stays unconfirmed after gaps of 1, 2, 4 ... s up to
 * 30 s (an eighth of a slot at most, never under 1 s), at once after a
 * wake; it was looked at every tick. */
#define FOLLOW_GAP_MIN_MS 1000u

static void follow_done(pg_gridop *g, bool changed) {
  pg_entity *e = &g->e;
  pg_grid_metrics_count(e->metrics, PG_GM_POLL_CONFIRMATIONS);
  pg_poll_done(&g->batch_poll, pg_entity_now(e), e->slot_ms, changed, FOLLOW_GAP_MIN_MS,
               pg_poll_cap(e->slot_ms, FOLLOW_GAP_MIN_MS));
}

int pg_gridop_payouts(pg_gridop *g, pg_diag *d) {
  pg_entity *e = &g->e;
  if (pg_entity_now(e) < g->next_payout_ms) return PG_OK;
  /* follow sent batches; (re)send unsent ones (looked up first) */
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "SELECT id, state, COALESCE(msg_id,'') FROM batches WHERE state < 2 ORDER BY id LIMIT 16",
                          &st, d);
  if (rc) return rc;
  int64_t ids[16];
  int states[16];
  char msgs[16][65];
  size_t n = 0;
  int srow;
  while ((srow = sqlite3_step(st)) == SQLITE_ROW && n < 16) {
    ids[n] = sqlite3_column_int64(st, 0);
    states[n] = sqlite3_column_int(st, 1);
    snprintf(msgs[n], sizeof msgs[n], "%s", (const char *)sqlite3_column_text(st, 2));
    n++;
  }
  if (srow != SQLITE_ROW && srow != SQLITE_DONE)
    rc = pg_db_fail(e->db, d, "batches read");
  pg_stmt_put(st);
  bool unsent = false, follow = pg_poll_due(&g->batch_poll, pg_entity_now(e), e->slot_ms);
  bool followed = false, changed = false;
  for (size_t i = 0; i < n && !rc; i++) {
    if (states[i] == BATCH_SENT && follow) {
      rc = follow_batch(g, ids[i], msgs[i], &changed, d);
      followed = true;
    } else if (states[i] != BATCH_SENT) {
      rc = send_batch(g, ids[i], d);
      unsent = true;
    }
  }
  if (followed) follow_done(g, changed);
  if (rc || unsent) return rc;
  bool ready = false;
  rc = resume_batches(g, &ready, d);
  if (rc || !ready) return rc;
  bool made = false;
  rc = make_batch(g, &made, d);
  int64_t id = 0;
  if (!rc && made) rc = pg_db_i64(e->db, "SELECT MAX(id) FROM batches", 0, 0, &id, d);
  if (!rc && made) rc = send_batch(g, id, d);
  return rc;
}

/* Keeps a dust allowance on the receive address (so consumers may pay
 * amounts under 1 Mi) and sweeps dust when the address fills up, and any
 * outputs past SWEEP_ABOVE (a large community's payments). */
#define SWEEP_ABOVE 512
#define SWEEP_ROUNDS 8
int pg_gridop_dust_care(pg_gridop *g, pg_diag *d) {
  pg_entity *e = &g->e;
  if (!g->o.dust_allowance || pg_entity_now(e) < g->next_dust_ms) return PG_OK;
  g->next_dust_ms = pg_entity_now(e) + 5 * e->retry_ms;
  pg_diag wd = {{0}};
  uint8_t mid[32];
  int rc = PG_OK;
  if (!g->dust_ok) {
    bool created = false;
    if ((rc = pg_gridop_scan_before_spend(g, d))) return rc;
    if (pg_wallet_ensure_dust_allowance(g->wallet, 0, 0, g->o.dust_allowance, &created, mid, &wd) != PG_OK) {
      pg_entity_problem(e, "dust_failures", "dust allowance: %s", wd.msg);
      return PG_OK;
    }
    if (created) pg_log_info(e->role, "%s: dust allowance of %llu sent", e->id, (unsigned long long)g->o.dust_allowance);
    g->dust_ok = !created; /* look again once it is confirmed */
    return PG_OK;
  }
  size_t outputs = 0, dust = 0;
  /* past SWEEP_ABOVE the dust does not matter: not one node request per output */
  if (pg_wallet_count_outputs(g->wallet, 0, 0, &outputs, NULL, &wd) != PG_OK) return PG_OK;
  if (outputs <= SWEEP_ABOVE && pg_wallet_count_outputs(g->wallet, 0, 0, &outputs, &dust, &wd))
    return PG_OK;
  size_t allowed = (size_t)(g->o.dust_allowance / 100000);
  if (allowed > 100) allowed = 100;
  /* dust, and past SWEEP_ABOVE outputs the households' payments too (1,000
   * a slot would pile up: every scan and payout walks them), up to
   * SWEEP_ROUNDS transfers of 127 inputs at a time */
  size_t rounds = outputs > SWEEP_ABOVE ? (outputs - SWEEP_ABOVE) / 126 + 1 : dust * 2 >= allowed;
  if (rounds > SWEEP_ROUNDS) rounds = SWEEP_ROUNDS;
  if (rounds == 0) return PG_OK;
  if ((rc = pg_gridop_scan_before_spend(g, d))) return rc;
  size_t made = 0, swept = 0;
  rc = pg_wallet_sweep_many(g->wallet, NULL, 0, rounds, &made, &swept, &wd);
  if (made) pg_log_info(e->role, "%s: swept %zu outputs in %zu transfers", e->id, swept, made);
  if (rc && rc != PG_ERR_NOT_FOUND) pg_entity_problem(e, "dust_failures", "sweep: %s", wd.msg);
  return PG_OK;
}
