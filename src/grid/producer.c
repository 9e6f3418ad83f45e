/* producer.c — serves its sources' registrations, reads their channels,
 * aggregates each slot into its own `output` (with ask and payment address)
 * at the grid, and records what it is paid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/client/wallet.h"

struct pg_producer {
  pg_entity e;
  pg_registry reg;
  pg_producer_opts o;
  uint64_t grace_ms;
  uint8_t address[32];
  char address_bech32[PG_BECH32_MAX_LEN + 1];
  pg_poll pay_poll; /* of the payment address (check_payments) */
  sqlite3 *status_db;
  pthread_mutex_t status_mu;
};

static const char producer_schema[] =
    "CREATE TABLE IF NOT EXISTS source_readings(source_id TEXT NOT NULL, slot INTEGER NOT NULL,"
    " wh INTEGER NOT NULL, msg_id TEXT NOT NULL, received_ms INTEGER NOT NULL,"
    " aggregated_in INTEGER, PRIMARY KEY(source_id, slot));"
    "CREATE INDEX IF NOT EXISTS source_readings_open ON source_readings(slot)"
    " WHERE aggregated_in IS NULL;"
    "CREATE TABLE IF NOT EXISTS outputs(slot INTEGER PRIMARY KEY, wh INTEGER NOT NULL,"
    " late_wh INTEGER NOT NULL, readings INTEGER NOT NULL, ask INTEGER);"
    "CREATE TABLE IF NOT EXISTS received(output_id TEXT PRIMARY KEY, msg_id TEXT NOT NULL,"
    " amount INTEGER NOT NULL, seen_ms INTEGER NOT NULL);";

int pg_producer_open(const pg_entity_opts *o, const pg_producer_opts *po, pg_producer **out,
                     pg_diag *d) {
  *out = NULL;
  if (!po || !po->seed) return pg_fail(d, PG_ERR_CONFIG, "producer: no wallet seed");
  pg_producer *p = calloc(1, sizeof *p);
  if (!p) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  p->o = *po;
  p->o.seed = NULL;
  char schema[8192];
  snprintf(schema, sizeof schema, "%s%s%s", pg_registry_schema, pg_enrolment_schema,
           producer_schema);
  int rc = pg_entity_init(&p->e, o, "producer", PG_GRID_ENTITY_PRODUCER, schema, true, d);
  if (rc) {
    free(p);
    return rc;
  }
  p->grace_ms = po->grace_ms ? po->grace_ms : p->e.slot_ms / 2;
  pg_wallet *w = NULL;
  rc = pg_wallet_new(o->client, po->seed, po->seed_len, NULL, &w, d);
  if (!rc) rc = pg_wallet_address(w, 0, 0, p->address);
  pg_wallet_free(w);
  if (!rc) rc = pg_registry_init(&p->reg, &p->e, 1u << PG_GRID_ENTITY_SOURCE, false, false,
                                 &po->limits, d);
  if (!rc) rc = pg_entity_open_conn(&p->e, &p->status_db, d);
  if (rc) {
    pg_registry_fini(&p->reg);
    pg_entity_fini(&p->e);
    free(p);
    return rc;
  }
  pthread_mutex_init(&p->status_mu, NULL);
  *out = p;
  return PG_OK;
}

void pg_producer_close(pg_producer *p) {
  if (!p) return;
  pg_registry_fini(&p->reg);
  if (p->status_db) pg_grid_db_close(p->status_db);
  pthread_mutex_destroy(&p->status_mu);
  pg_entity_fini(&p->e);
  free(p);
}

int pg_producer_handle(void *producer, const pg_httpd_peer *peer, const char *method,
                       const char *path, const void *body, size_t len, unsigned *status,
                       pg_buf *resp) {
  pg_producer *p = producer;
  return pg_registry_handle(&p->reg, peer, method, path, body, len, status, resp);
}

/* A message from a source's channel (inside the cursor's transaction). */
static int on_source_msg(void *ctx, const pg_reg_row *reg, const pg_chan_read *m, pg_diag *d) {
  pg_producer *p = ctx;
  pg_entity *e = &p->e;
  if (m->msg.command != PG_GRID_CMD_OUTPUT) {
    pg_log_warn(e->role, "%s: '%s' sent a %s message; only output is expected", e->id, reg->id,
                pg_grid_command_name(m->msg.command));
    return pg_count_add(e->db, "unexpected_messages", 1, d);
  }
  const pg_grid_output *o = &m->msg.u.output;
  char why[200];
  if (!pg_entity_slot_ok(e, o->slot, o->start_time, o->end_time, why, sizeof why)) {
    pg_log_warn(e->role, "%s: reading of '%s' rejected: %s", e->id, reg->id, why);
    pg_grid_metrics_count(e->metrics, PG_GM_READING_REFUSED);
    return pg_count_add(e->db, "rejected_readings", 1, d);
  }
  char hex[65];
  pg_hex_encode(m->msg_id, 32, hex);
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "INSERT INTO source_readings(source_id, slot, wh, msg_id, received_ms)"
                                 " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, reg->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)o->slot);
  sqlite3_bind_int64(st, 3, o->output_wh);
  sqlite3_bind_text(st, 4, hex, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)pg_entity_now(e));
  rc = pg_stmt_step_done(e->db, st, "readings write", d);
  if (!rc && sqlite3_changes(e->db) == 0) {
    pg_log_warn(e->role, "%s: '%s' reported slot %llu twice; the first reading stands", e->id,
                reg->id, (unsigned long long)o->slot);
    pg_grid_metrics_count(e->metrics, PG_GM_READING_DUPLICATE);
    rc = pg_count_add(e->db, "duplicate_readings", 1, d);
  } else if (!rc) {
    pg_grid_metrics_count(e->metrics, PG_GM_READING_ACCEPTED);
  }
  return rc;
}

/* pg_stmt_i64 (sql a literal) as a value, its status in *rc. */
static int64_t scalar(sqlite3 *db, const char *sql, int64_t a, int *rc, pg_diag *d) {
  int64_t v = 0;
  *rc = pg_stmt_i64(db, sql, a, 0, &v, d);
  return v;
}

/* Is slot k complete: every active source has reported it? */
static int slot_complete(pg_producer *p, uint64_t k, bool *complete, pg_diag *d) {
  int rc = 0;
  int64_t missing = scalar(p->e.db,
                           "SELECT COUNT(*) FROM registrations r WHERE r.state = 1 AND NOT EXISTS"
                           " (SELECT 1 FROM source_readings s WHERE s.source_id = r.id AND s.slot = ?1)",
                           (int64_t)k, &rc, d);
  *complete = missing == 0;
  return rc;
}

/* Our enrolled capacity over one slot in Wh (from our certificate's
 * max-w); 0 when the certificate states none. */
static int64_t cap_wh(const pg_producer *p) {
  const pg_entity *e = &p->e;
  size_t n = 0;
  const uint8_t *der = e->key ? pg_tls_key_cert_der(e->key, &n) : NULL;
  pg_member m;
  if (!der || pg_member_from_cert(der, n, &m, NULL) != PG_OK || !m.max_w) return 0;
  return pg_capacity_wh(m.max_w, e->slot_ms);
}

static int aggregate(pg_producer *p, uint64_t k, pg_diag *d) {
  pg_entity *e = &p->e;
  int rc = pg_grid_begin(e->db, d);
  if (rc) return rc;
  int64_t wh = 0, late = 0, n = 0;
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(e->db, "SELECT COALESCE(SUM(wh),0), COALESCE(SUM(CASE WHEN slot < ?1 THEN wh END),0),"
                             " COUNT(*) FROM source_readings WHERE aggregated_in IS NULL AND slot <= ?1",
                      &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
    if (sqlite3_step(st) == SQLITE_ROW) {
      wh = sqlite3_column_int64(st, 0);
      late = sqlite3_column_int64(st, 1);
      n = sqlite3_column_int64(st, 2);
    } else {
      rc = pg_db_fail(e->db, d, "readings read");
    }
    pg_stmt_put(st);
  }
  /* the grid quarantines an output above our enrolled capacity: energy over
   * it (catch-up readings after an outage) is carried into the next slots */
  int64_t carry = 0, cap = cap_wh(p);
  if (!rc) rc = pg_kv_get_i64(e->db, "carry_wh", 0, &carry, d);
  wh += carry;
  carry = 0;
  if (cap > 0 && wh > cap) carry = wh - cap, wh = cap;
  if (wh > PG_GRID_MAX_WH) carry += wh - PG_GRID_MAX_WH, wh = PG_GRID_MAX_WH;
  if (!rc) rc = pg_kv_set_i64(e->db, "carry_wh", carry, d);
  pg_grid_msg m;
  pg_entity_reading(e, PG_GRID_CMD_OUTPUT, k, wh, &m);
  m.u.output.has_ask = p->o.has_ask;
  m.u.output.ask_per_kwh = p->o.ask_per_kwh;
  snprintf(m.u.output.payment_address, sizeof m.u.output.payment_address, "%s", p->address_bech32);
  if (!rc) rc = pg_chan_queue(e->db, "main", &m, d);
  if (!rc)
    rc = pg_stmt_get(e->db, "UPDATE source_readings SET aggregated_in = ?1"
                               " WHERE aggregated_in IS NULL AND slot <= ?1",
                        &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
    rc = pg_stmt_step_done(e->db, st, "readings write", d);
  }
  if (!rc)
    rc = pg_stmt_get(e->db, "INSERT INTO outputs(slot, wh, late_wh, readings, ask) VALUES (?1,?2,?3,?4,?5)",
                        &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
    sqlite3_bind_int64(st, 2, wh);
    sqlite3_bind_int64(st, 3, late);
    sqlite3_bind_int64(st, 4, n);
    if (p->o.has_ask)
      sqlite3_bind_int64(st, 5, (sqlite3_int64)p->o.ask_per_kwh);
    else
      sqlite3_bind_null(st, 5);
    rc = pg_stmt_step_done(e->db, st, "outputs write", d);
  }
  return pg_entity_slot_done(e, k, rc, d);
}

static int aggregate_due(pg_producer *p, pg_diag *d) {
  pg_entity *e = &p->e;
  uint64_t now = pg_entity_now(e);
  int64_t next = 0;
  int rc = pg_entity_next_slot(e, 1, &next, d);
  if (rc) return rc;
  for (uint64_t k = (uint64_t)next; pg_slot_start(k + 1, e->slot_ms) <= now; k++) {
    bool complete = false;
    if (now < pg_slot_start(k + 1, e->slot_ms) + p->grace_ms) {
      rc = slot_complete(p, k, &complete, d);
      if (rc) return rc;
      if (!complete) return PG_OK; /* wait for the rest or the deadline */
    }
    rc = aggregate(p, k, d);
    if (rc) return rc;
  }
  return PG_OK;
}

/* A producer is paid when the grid pays a batch (once it owes at least its
 * payout_min), so the payment address is listed at the first step of each
 * slot, at every step while payouts come, and otherwise after gaps of 1, 2,
 * 4 ... s up to 30 s, at most an eighth of a slot but never under 1 s.
 * Listing it every second was 900 requests of each producer a 15-minute
 * slot. */
#define PAY_GAP_MIN_MS 1000u

static int record_received(pg_producer *p, const pg_client_output_got *o, uint64_t now,
                           pg_diag *d) {
  pg_entity *e = &p->e;
  char hex[2 * PG_OUTPUT_ID_LEN + 1], mhex[65];
  pg_hex_encode(o->id, PG_OUTPUT_ID_LEN, hex);
  pg_hex_encode(o->info.message_id, 32, mhex);
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "INSERT INTO received(output_id, msg_id, amount, seen_ms)"
                              " VALUES (?1,?2,?3,?4)",
                       &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, mhex, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)o->info.amount);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
  rc = pg_stmt_step_done(e->db, st, "received write", d);
  if (!rc) pg_grid_metrics_count(e->metrics, PG_GM_PAYMENT_RECEIVED);
  if (!rc) pg_log_info(e->role, "%s: received %llu", e->id, (unsigned long long)o->info.amount);
  return rc;
}

/* The outputs of ids[0..n) not recorded yet, moved to its front: *m. */
static int keep_new(sqlite3 *db, uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t n, size_t *m,
                    pg_diag *d) {
  int rc = PG_OK;
  *m = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    char hex[2 * PG_OUTPUT_ID_LEN + 1];
    bool known = false;
    pg_hex_encode(ids[i], PG_OUTPUT_ID_LEN, hex);
    rc = pg_stmt_has_text(db, "SELECT 1 FROM received WHERE output_id = ?1", hex, &known,
                          "received read", d);
    if (!rc && !known) memmove(ids[(*m)++], ids[i], PG_OUTPUT_ID_LEN);
  }
  return rc;
}

/* Records the outputs on the payment address not recorded yet, looked up
 * together (over HTTP one request for up to 1,000); *found: any. A lookup
 * the node failed is counted and waits for the next poll. */
static int record_payments(pg_producer *p, uint64_t now, bool *found, pg_diag *d) {
  pg_entity *e = &p->e;
  enum { MAX = 1000 };
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = malloc(MAX * sizeof *ids);
  pg_client_output_got *o = NULL;
  size_t n = 0, total = 0, m = 0;
  pg_diag cd = {{0}};
  int rc = ids ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!rc && pg_client_address_outputs(e->client, p->address, true, ids, MAX, &n, &total, &cd)) {
    pg_entity_problem(e, "node_failures", "payment check: %s", cd.msg);
    n = 0;
  }
  if (!rc) rc = keep_new(e->db, ids, n, &m, d);
  if (!rc && m && !(o = calloc(m, sizeof *o))) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; !rc && i < m; i++) memcpy(o[i].id, ids[i], PG_OUTPUT_ID_LEN);
  if (!rc && m) rc = pg_client_outputs_many(e->client, o, m, false, d);
  bool failed = false;
  for (size_t i = 0; i < m && !rc; i++) {
    if (o[i].rc != PG_OK && !failed)
      pg_entity_problem(e, "node_failures", "payment check: %s", o[i].d.msg);
    failed = failed || o[i].rc != PG_OK;
    if (o[i].rc == PG_OK && !(rc = record_received(p, &o[i], now, d))) *found = true;
  }
  for (size_t i = 0; o && i < m; i++) pg_client_output_got_clear(&o[i]);
  free(o);
  free(ids);
  return rc;
}

/* Records what arrived on the payment address, when the poll is due. */
static int check_payments(pg_producer *p, pg_diag *d) {
  pg_entity *e = &p->e;
  uint64_t now = pg_entity_now(e);
  if (!pg_poll_due(&p->pay_poll, now, e->slot_ms)) return PG_OK;
  bool found = false;
  int rc = record_payments(p, now, &found, d);
  pg_grid_metrics_count(e->metrics, PG_GM_POLL_PAYOUTS);
  pg_poll_done(&p->pay_poll, now, e->slot_ms, found, PAY_GAP_MIN_MS,
               pg_poll_cap(e->slot_ms, PAY_GAP_MIN_MS));
  return rc;
}

void pg_producer_wake(pg_producer *p) { pg_poll_wake(&p->pay_poll); }

int pg_producer_step(pg_producer *p, pg_diag *d) {
  pg_entity *e = &p->e;
  if (!p->address_bech32[0]) {
    char hrp[PG_CLIENT_HRP_MAX + 1];
    pg_diag hd = {{0}};
    if (pg_entity_hrp(e, hrp, &hd) != PG_OK) {
      pg_entity_problem(e, "node_failures", "node info: %s", hd.msg);
      return PG_OK; /* nothing can be reported without the address */
    }
    if (pg_iota_address_encode(hrp, p->address, p->address_bech32, sizeof p->address_bech32) != PG_OK)
      return pg_fail(d, PG_ERR_STATE, "producer: cannot encode the payment address");
    snprintf(e->pay_address, sizeof e->pay_address, "%s", p->address_bech32);
    int ar = pg_kv_set_text(e->db, "address", p->address_bech32, d); /* for audit-keys */
    if (ar) return ar;
  }
  int rc = pg_entity_register(e, d);
  if (!rc) rc = pg_registry_read(e, on_source_msg, p, d);
  if (!rc) rc = aggregate_due(p, d);
  if (!rc) rc = pg_entity_flush(e, d);
  if (!rc) rc = check_payments(p, d);
  return rc;
}

int pg_producers_read_sources(pg_producer *const *ps, size_t n, pg_diag *d) {
  if (n == 0) return PG_OK;
  pg_entity **es = malloc(n * sizeof *es);
  if (!es) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) es[i] = &ps[i]->e;
  int rc = pg_registries_read_ahead(es, n, d);
  free(es);
  return rc;
}

int pg_producer_metrics(pg_producer *p, pg_buf *out, pg_diag *d) {
  return pg_entity_member_metrics(&p->e, &p->status_mu, p->status_db, out, d);
}

int pg_producer_status(pg_producer *p, json_t **out, pg_diag *d) {
  pthread_mutex_lock(&p->status_mu);
  json_t *o = NULL;
  int rc = pg_entity_status(&p->e, p->status_db, &o, d);
  if (!rc) {
    int r2 = 0;
    json_object_set_new(o, "paymentAddress", json_string(p->address_bech32));
    json_object_set_new(o, "outputWh", json_integer(scalar(p->status_db, "SELECT COALESCE(SUM(wh),0) FROM outputs WHERE ?1 = ?1", 0, &r2, d)));
    json_object_set_new(o, "slotsReported", json_integer(scalar(p->status_db, "SELECT COUNT(*) FROM outputs WHERE ?1 = ?1", 0, &r2, d)));
    json_object_set_new(o, "received", json_integer(scalar(p->status_db, "SELECT COALESCE(SUM(amount),0) FROM received WHERE ?1 = ?1", 0, &r2, d)));
    json_t *srcs = json_array();
    sqlite3_stmt *st = NULL;
    if (!r2 && pg_stmt_get(p->status_db,
                              "SELECT r.id, r.name, r.state, COUNT(s.slot), COALESCE(SUM(s.wh),0)"
                              " FROM registrations r LEFT JOIN source_readings s ON s.source_id = r.id"
                              " GROUP BY r.id ORDER BY r.id",
                              &st, d) == PG_OK) {
      static const char *states[] = {"waiting", "active", "closed", "rejected", "removed"};
      while (sqlite3_step(st) == SQLITE_ROW) {
        int s = sqlite3_column_int(st, 2);
        json_array_append_new(
            srcs, json_pack("{s:s, s:s, s:s, s:I, s:I}", "id", sqlite3_column_text(st, 0), "name",
                            sqlite3_column_text(st, 1), "state",
                            s >= 0 && s <= 4 ? states[s] : "?", "readings",
                            (json_int_t)sqlite3_column_int64(st, 3), "outputWh",
                            (json_int_t)sqlite3_column_int64(st, 4)));
      }
      pg_stmt_put(st);
    }
    json_object_set_new(o, "sources", srcs);
    rc = r2;
  }
  pthread_mutex_unlock(&p->status_mu);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return PG_OK;
}

pg_grid_outbox *pg_producer_outbox(pg_producer *p) { return (pg_grid_outbox *)&p->e; }
