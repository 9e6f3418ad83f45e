/* gridop.c — the grid operator: its database and schema, registrations of
 * producers and consumers, reading their channels, settling each slot with
 * the market engine, the payment requests (bills) on the consumers' return
 * channels and the settlement record, and the step that runs it all. The
 * consumers' payments are in incoming.c, the payouts in payouts.c, what the
 * API reports in gridop_status.c (gridop_internal.h). Every step below is
 * one SQLite transaction or is idempotent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gridop_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/grid/record.h"

/* readings_open_party: the open readings of one party (the record's lines,
 * quarantine) and of every party in id order (load_parties); without it
 * both walked every reading of the day (test_grid_plans). */
const char pg_gridop_schema[] =
    "CREATE TABLE IF NOT EXISTS readings(entity_id TEXT NOT NULL, kind INTEGER NOT NULL,"
    " slot INTEGER NOT NULL, wh INTEGER NOT NULL, price INTEGER, address TEXT,"
    " msg_id TEXT NOT NULL, received_ms INTEGER NOT NULL, settled_in INTEGER,"
    " PRIMARY KEY(entity_id, slot));"
    "CREATE INDEX IF NOT EXISTS readings_open ON readings(slot) WHERE settled_in IS NULL;"
    "CREATE INDEX IF NOT EXISTS readings_open_party ON readings(entity_id, slot)"
    " WHERE settled_in IS NULL;"
    "CREATE TABLE IF NOT EXISTS slots(slot INTEGER PRIMARY KEY, settled_ms INTEGER NOT NULL,"
    " mechanism TEXT NOT NULL, supply_wh INTEGER, demand_wh INTEGER, matched_wh INTEGER,"
    " import_wh INTEGER, export_wh INTEGER, consumer_payments INTEGER, producer_revenues INTEGER,"
    " fees INTEGER, grid_income INTEGER, import_cost INTEGER, export_income INTEGER,"
    " has_price INTEGER, buy_price REAL, sell_price REAL, producers INTEGER, consumers INTEGER,"
    " late_readings INTEGER);"
    "CREATE TABLE IF NOT EXISTS bills(request_id TEXT PRIMARY KEY, slot INTEGER NOT NULL,"
    " consumer_id TEXT NOT NULL, usage_wh INTEGER NOT NULL, community_wh INTEGER NOT NULL,"
    " amount INTEGER NOT NULL, fee INTEGER NOT NULL, owed INTEGER NOT NULL,"
    " baseline INTEGER NOT NULL, reference TEXT NOT NULL UNIQUE, paid INTEGER NOT NULL DEFAULT 0,"
    " paid_ms INTEGER, payment_msg TEXT);"
    "CREATE INDEX IF NOT EXISTS bills_open ON bills(slot) WHERE paid < owed;"
    /* a member's bills (its slots, totals and events) and a slot's (the
     * audit export) without reading every bill: a day of 1,000 homes is
     * 96,000 of them */
    "CREATE INDEX IF NOT EXISTS bills_consumer ON bills(consumer_id, slot);"
    "CREATE INDEX IF NOT EXISTS bills_slot ON bills(slot);"
    "CREATE TABLE IF NOT EXISTS payouts(slot INTEGER NOT NULL, producer_id TEXT NOT NULL,"
    " output_wh INTEGER NOT NULL, community_wh INTEGER NOT NULL, amount INTEGER NOT NULL,"
    " baseline INTEGER NOT NULL, address TEXT NOT NULL, batch_id INTEGER,"
    " PRIMARY KEY(slot, producer_id));"
    "CREATE INDEX IF NOT EXISTS payouts_producer ON payouts(producer_id, slot);"
    /* the rows not yet in a batch: what a payout pays and the status's
     * payouts due, without reading every payout ever made */
    "CREATE INDEX IF NOT EXISTS payouts_due ON payouts(producer_id, address, amount)"
    " WHERE batch_id IS NULL;"
    /* a batch's payouts, read when it is made and sent: without it each
     * read scanned every payout ever made (40 a slot) */
    "CREATE INDEX IF NOT EXISTS payouts_batch ON payouts(batch_id, address, amount)"
    " WHERE batch_id IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS batches(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " state INTEGER NOT NULL, total INTEGER NOT NULL, outputs INTEGER NOT NULL, msg_id TEXT,"
    " created_ms INTEGER NOT NULL, confirmed_ms INTEGER, error TEXT);"
    "CREATE TABLE IF NOT EXISTS batch_refs(batch_id INTEGER PRIMARY KEY, reference TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS payout_holds(producer_id TEXT NOT NULL, address TEXT NOT NULL,"
    " reason TEXT NOT NULL, since_ms INTEGER NOT NULL, PRIMARY KEY(producer_id, address));"
    "CREATE TABLE IF NOT EXISTS incoming(output_id TEXT PRIMARY KEY, msg_id TEXT NOT NULL,"
    " amount INTEGER NOT NULL, reference TEXT, request_id TEXT, seen_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS incoming_seen ON incoming(seen_ms);";

const char pg_grid_sql_recent_payments[] =
    "SELECT i.msg_id AS messageId, i.amount, i.reference, i.request_id AS requestId,"
    " i.seen_ms AS time FROM incoming i WHERE i.request_id NOT LIKE '(%'"
    " ORDER BY i.seen_ms DESC LIMIT 10";

const char pg_grid_sql_batch_outputs[] =
    "SELECT address, SUM(amount) FROM payouts WHERE batch_id = ?1 GROUP BY address"
    " ORDER BY address";

const char pg_grid_sql_batch_set_total[] =
    "UPDATE batches SET total = ?2, outputs = (SELECT COUNT(DISTINCT address) FROM payouts"
    " WHERE batch_id = ?1) WHERE id = ?1";

const char pg_grid_sql_due_payouts[] =
    "SELECT producer_id, address, SUM(amount) FROM payouts p WHERE batch_id IS NULL"
    " AND NOT EXISTS (SELECT 1 FROM payout_holds h WHERE h.producer_id ="
    " p.producer_id AND h.address = p.address) GROUP BY producer_id, address"
    " HAVING SUM(amount) >= ?1 ORDER BY producer_id, address";



/* bills.kind ('slot' or 'month'): databases from before it get the column. */
static int migrate_bills(sqlite3 *db, pg_diag *d) {
  int64_t has = 0;
  int rc = pg_db_i64(db, "SELECT COUNT(*) FROM pragma_table_info('bills') WHERE name = 'kind'", 0, 0,
                     &has, d);
  if (!rc && !has)
    rc = pg_db_exec(db, "ALTER TABLE bills ADD COLUMN kind TEXT NOT NULL DEFAULT 'slot'", d);
  return rc;
}

/* The public record channel and the settings history: the settings apply
 * from the next slot to settle on. */
static int record_open(pg_gridop *g, pg_diag *d) {
  pg_entity *e = &g->e;
  int rc = pg_record_channel_open(e, d);
  int64_t next = 0;
  if (!rc)
    rc = pg_kv_get_i64(e->db, "next_slot", (int64_t)pg_slot_of(pg_entity_now(e), e->slot_ms),
                       &next, d);
  if (!rc)
    rc = pg_record_config(e->db, &g->o, pg_tz_name(e->tz), next, (int64_t)pg_entity_now(e), d);
  return rc;
}

int pg_gridop_open(const pg_entity_opts *o, const pg_gridop_opts *go, pg_gridop **out,
                   pg_diag *d) {
  *out = NULL;
  if (!go || !go->seed) return pg_fail(d, PG_ERR_CONFIG, "grid: no wallet seed");
  if (go->export_price > go->import_price)
    return pg_fail(d, PG_ERR_CONFIG, "grid: the export price (%llu) is above the import price (%llu)",
                   (unsigned long long)go->export_price, (unsigned long long)go->import_price);
  if (go->fee_bp > 10000) return pg_fail(d, PG_ERR_CONFIG, "grid: fee_bp must be 0..10000");
  if (go->dust_allowance && go->dust_allowance < 1000000)
    return pg_fail(d, PG_ERR_CONFIG, "grid: a dust allowance must be at least 1000000");
  pg_gridop *g = calloc(1, sizeof *g);
  if (!g) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  g->o = *go;
  g->o.seed = NULL;
  g->o.share = NULL;
  g->o.n_share = 0;
  if (go->n_share) {
    pg_grid_share_member *m = calloc(go->n_share, sizeof *m);
    for (size_t i = 0; m && i < go->n_share; i++, g->o.n_share++) {
      m[i] = go->share[i];
      if (!(m[i].id = strdup(go->share[i].id ? go->share[i].id : ""))) break;
    }
    g->o.share = m;
    if (!m || g->o.n_share < go->n_share) {
      pg_grid_share_free(m, g->o.n_share);
      free(g);
      return pg_fail(d, PG_ERR_NOMEM, "out of memory");
    }
  }
  if (!g->o.fixed_buy_price) g->o.fixed_buy_price = go->import_price;
  if (!g->o.fixed_sell_price) g->o.fixed_sell_price = go->export_price;
  if (!g->o.default_max_w) g->o.default_max_w = 100000;
  if (!g->o.has_float) g->o.float_max = 10000000000ULL; /* 10 Gi */

  char schema[12288];
  snprintf(schema, sizeof schema, "%s%s%s%s%s%s", pg_registry_schema, pg_enrolment_schema,
           pg_quarantine_schema, pg_gridop_schema, pg_record_schema, pg_payout_credit_schema);
  int rc = pg_entity_init(&g->e, o, "grid", PG_GRID_ENTITY_NONE, schema, false, d);
  if (rc) {
    pg_grid_share_free((pg_grid_share_member *)g->o.share, g->o.n_share);
    free(g);
    return rc;
  }
  g->e.upstream = NULL;
  /* the bills' MAM cache: a slot's bills sign from the lanes the slot
   * before kept (a flush works without it) */
  if (pg_mam_keys_new(&g->e.mkeys) != PG_OK) g->e.mkeys = NULL;
  g->grace_ms = go->grace_ms ? go->grace_ms : g->e.slot_ms / 2;
  if (!g->o.late_window_ms) g->o.late_window_ms = 96 * g->e.slot_ms; /* a day of 15-minute slots */
  rc = pg_grid_ref_key(go->seed, go->seed_len, g->ref_key, d);
  if (!rc) rc = pg_wallet_new(o->client, go->seed, go->seed_len, NULL, &g->wallet, d);
  if (!rc) rc = pg_wallet_address(g->wallet, 0, 0, g->address);
  if (!rc)
    rc = pg_registry_init(&g->reg, &g->e,
                          (1u << PG_GRID_ENTITY_PRODUCER) | (1u << PG_GRID_ENTITY_CONSUMER), true,
                          true, &go->limits, d);
  if (!rc) rc = pg_entity_open_conn(&g->e, &g->status_db, d);
  if (!rc) rc = migrate_bills(g->e.db, d);
  if (!rc) rc = pg_grid_totals_setup(g->e.db, d);
  if (!rc) rc = record_open(g, d);
  if (rc) {
    pg_wallet_free(g->wallet);
    pg_registry_fini(&g->reg);
    pg_entity_fini(&g->e);
    pg_grid_share_free((pg_grid_share_member *)g->o.share, g->o.n_share);
    free(g);
    return rc;
  }
  pthread_mutex_init(&g->status_mu, NULL);
  g->dust_ok = go->dust_allowance == 0;
  *out = g;
  return PG_OK;
}

void pg_gridop_close(pg_gridop *g) {
  if (!g) return;
  pg_wallet_free(g->wallet);
  pg_registry_fini(&g->reg);
  if (g->status_db) pg_grid_db_close(g->status_db);
  pthread_mutex_destroy(&g->status_mu);
  pg_entity_fini(&g->e);
  pg_grid_share_free((pg_grid_share_member *)g->o.share, g->o.n_share);
  free(g);
}

int pg_gridop_handle(void *gridop, const pg_httpd_peer *peer, const char *method,
                     const char *path, const void *body, size_t len, unsigned *status,
                     pg_buf *resp) {
  pg_gridop *g = gridop;
  return pg_registry_handle(&g->reg, peer, method, path, body, len, status, resp);
}

int pg_gridop_enrol(pg_gridop *g, pg_tls_trust *trust, const void *cert, size_t len,
                    const char *address, pg_member *out, pg_diag *d) {
  pthread_mutex_lock(&g->reg.mu);
  int rc = pg_enrol_db(g->reg.db, trust, cert, len, address,
                       (int64_t)pg_clock_now(g->e.clock), out, d);
  pthread_mutex_unlock(&g->reg.mu);
  return rc;
}

void pg_gridop_count(pg_gridop *g, const char *counter) {
  pthread_mutex_lock(&g->status_mu);
  if (pg_count_add(g->status_db, counter, 1, NULL) != PG_OK)
    pg_log_error(g->e.role, "cannot count %s", counter);
  pthread_mutex_unlock(&g->status_mu);
}

int pg_gridop_quarantine(pg_gridop *g, json_t **out, pg_diag *d) {
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_quarantine_json(g->status_db, false, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

int pg_gridop_events(pg_gridop *g, pg_events_scope scope, const char *member, unsigned limit,
                     json_t **out, pg_diag *d) {
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_grid_events_json(g->status_db, scope, member, limit, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

int pg_gridop_enrolments(pg_gridop *g, const char *only_id, json_t **out, pg_diag *d) {
  pthread_mutex_lock(&g->status_mu);
  int rc = pg_enrolment_json(g->status_db, only_id, out, d);
  pthread_mutex_unlock(&g->status_mu);
  return rc;
}

/* The payment address of producer id: the enrolled one (fixed by enrolment
 * or an authenticated registration); a first output's address is taken
 * when none is enrolled; a different one later is refused (counted). */
static int payout_address(pg_gridop *g, const char *id, const char *from_output,
                          char out[PG_BECH32_MAX_LEN + 1], pg_diag *d) {
  pg_enrol_row en;
  bool found = false;
  out[0] = '\0';
  int rc = pg_enrolment_get(g->e.db, id, &en, &found, d);
  if (rc || !found) return rc;
  if (!en.address[0] && from_output && *from_output) {
    rc = pg_enrolment_update(g->e.db, id, "address = ?3", 0, from_output, d);
    snprintf(out, PG_BECH32_MAX_LEN + 1, "%s", from_output);
    return rc;
  }
  if (from_output && *from_output && strcmp(from_output, en.address) != 0) {
    pg_log_warn(g->e.role, "%s: output of '%s' names payment address %s, not the enrolled one;"
                " paying the enrolled one", g->e.id, id, from_output);
    rc = pg_count_add(g->e.db, "address_change_refused", 1, d);
  }
  snprintf(out, PG_BECH32_MAX_LEN + 1, "%s", en.address);
  return rc;
}

/* ---- reading ---- */

/* The bounds of a reading: 1 (quarantine, why set) when it is for a slot
 * outside [now - late_window, now + one slot], above the member's capacity
 * (enrolled max_w, else default_max_w, over the slot's length) or priced
 * beyond the market's range; 0 when it may be settled; < 0 on error. */
static int judge_reading(pg_gridop *g, const char *id, uint64_t slot, int64_t wh, bool has_price,
                         uint64_t price, char *why, size_t cap, pg_diag *d) {
  pg_entity *e = &g->e;
  uint64_t now = pg_entity_now(e), now_slot = pg_slot_of(now, e->slot_ms);
  uint64_t late_slots = g->o.late_window_ms / e->slot_ms;
  if (pg_slot_start(slot + 1, e->slot_ms) > now + e->slot_ms) {
    snprintf(why, cap, "slot %llu is in the future (now slot %llu)", (unsigned long long)slot,
             (unsigned long long)now_slot);
    return 1;
  }
  if (slot + late_slots < now_slot) {
    snprintf(why, cap, "slot %llu is older than the late window of %llu slots",
             (unsigned long long)slot, (unsigned long long)late_slots);
    return 1;
  }
  pg_enrol_row en;
  bool found = false;
  int rc = pg_enrolment_get(e->db, id, &en, &found, d);
  if (rc) return rc;
  uint64_t max_w = found && en.max_w ? en.max_w : g->o.default_max_w;
  int64_t cap_wh = pg_capacity_wh(max_w, e->slot_ms);
  if (wh < 0 || wh > cap_wh || wh > PG_MARKET_MAX_WH) {
    snprintf(why, cap, "%lld Wh is above the capacity of %llu W over a slot (%lld Wh)",
             (long long)wh, (unsigned long long)max_w, (long long)cap_wh);
    return 1;
  }
  if (has_price && price > PG_MARKET_MAX_PRICE) {
    snprintf(why, cap, "price %llu per kWh is beyond the market's range (%llu)",
             (unsigned long long)price, (unsigned long long)PG_MARKET_MAX_PRICE);
    return 1;
  }
  return 0;
}

static int on_msg(void *ctx, const pg_reg_row *reg, const pg_chan_read *m, pg_diag *d) {
  pg_gridop *g = ctx;
  pg_entity *e = &g->e;
  uint64_t slot, start, end, price = 0;
  int64_t wh;
  bool has_price;
  const char *address = NULL;
  char enrolled_address[PG_BECH32_MAX_LEN + 1];
  if (reg->type == PG_GRID_ENTITY_PRODUCER && m->msg.command == PG_GRID_CMD_OUTPUT) {
    const pg_grid_output *o = &m->msg.u.output;
    slot = o->slot, start = o->start_time, end = o->end_time, wh = o->output_wh;
    has_price = o->has_ask, price = o->ask_per_kwh;
    int ar = payout_address(g, reg->id, o->payment_address, enrolled_address, d);
    if (ar) return ar;
    address = enrolled_address[0] ? enrolled_address : NULL;
    if (!address) {
      pg_log_warn(e->role, "%s: output of '%s' has no paymentAddress; rejected", e->id, reg->id);
      pg_grid_metrics_count(e->metrics, PG_GM_READING_REFUSED);
      return pg_count_add(e->db, "rejected_readings", 1, d);
    }
  } else if (reg->type == PG_GRID_ENTITY_CONSUMER && m->msg.command == PG_GRID_CMD_USAGE) {
    const pg_grid_usage *u = &m->msg.u.usage;
    slot = u->slot, start = u->start_time, end = u->end_time, wh = u->usage_wh;
    has_price = u->has_bid, price = u->bid_per_kwh;
  } else {
    pg_log_warn(e->role, "%s: '%s' (%s) sent an unexpected %s message", e->id, reg->id,
                pg_grid_entity_name(reg->type), pg_grid_command_name(m->msg.command));
    return pg_count_add(e->db, "unexpected_messages", 1, d);
  }
  if (slot > UINT64_MAX / e->slot_ms - 1 || start != pg_slot_start(slot, e->slot_ms) ||
      end != pg_slot_start(slot + 1, e->slot_ms)) {
    pg_log_warn(e->role, "%s: reading of '%s' rejected: slot %llu: startTime/endTime are not the"
                " slot's times", e->id, reg->id, (unsigned long long)slot);
    pg_grid_metrics_count(e->metrics, PG_GM_READING_REFUSED);
    return pg_count_add(e->db, "rejected_readings", 1, d);
  }
  char hex[65], why[200];
  pg_hex_encode(m->msg_id, 32, hex);
  int rc = judge_reading(g, reg->id, slot, wh, has_price, price, why, sizeof why, d);
  if (rc < 0) return rc;
  if (rc == 1) {
    pg_quarantined q = {.entity_id = reg->id, .kind = reg->type, .slot = slot, .wh = wh,
                        .has_price = has_price, .price = price, .address = address, .msg_id = hex,
                        .received_ms = (int64_t)pg_entity_now(e), .reason = why};
    pg_log_warn(e->role, "%s: reading of '%s' for slot %llu quarantined: %s", e->id, reg->id,
                (unsigned long long)slot, why);
    pg_grid_metrics_count(e->metrics, PG_GM_READING_QUARANTINED);
    return pg_quarantine_add(e->db, &q, d);
  }
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(e->db, "INSERT INTO readings(entity_id, kind, slot, wh, price, address, msg_id,"
                            " received_ms) VALUES (?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT DO NOTHING",
                     &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, reg->id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, reg->type);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)slot);
  sqlite3_bind_int64(st, 4, wh);
  if (has_price) sqlite3_bind_int64(st, 5, (sqlite3_int64)price);
  else sqlite3_bind_null(st, 5);
  if (address) sqlite3_bind_text(st, 6, address, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, 6);
  sqlite3_bind_text(st, 7, hex, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 8, (sqlite3_int64)pg_entity_now(e));
  rc = pg_stmt_step_done(e->db, st, "readings write", d);
  bool stored = !rc && sqlite3_changes(e->db) == 1;
  if (stored) rc = pg_record_member_channel(e->db, reg->id, d);
  if (!rc && !stored) {
    pg_log_warn(e->role, "%s: '%s' reported slot %llu twice; the first report stands", e->id,
                reg->id, (unsigned long long)slot);
    pg_grid_metrics_count(e->metrics, PG_GM_READING_DUPLICATE);
    rc = pg_count_add(e->db, "duplicate_readings", 1, d);
  } else if (!rc) {
    pg_grid_metrics_count(e->metrics, PG_GM_READING_ACCEPTED);
    int64_t settled = -1;
    rc = pg_stmt_i64(e->db, "SELECT MAX(slot) FROM slots", 0, -1, &settled, d);
    if (!rc && (int64_t)slot <= settled) {
      pg_log_info(e->role, "%s: late report of '%s' for slot %llu: settled with the next slot",
                  e->id, reg->id, (unsigned long long)slot);
      rc = pg_count_add(e->db, "late_readings", 1, d);
    }
  }
  return rc;
}

/* ---- settlement ---- */

typedef struct party {
  char id[PG_GRID_MAX_ID + 1];
  int64_t wh;
  bool has_price;
  uint64_t price;
  char address[PG_BECH32_MAX_LEN + 1];
  int64_t n_readings;
} party;

const char pg_grid_sql_open_parties[] =
    "SELECT entity_id, SUM(wh), MAX(slot), price, address,"
    " SUM(slot < ?2), COUNT(*) FROM readings"
    " WHERE settled_in IS NULL AND slot <= ?2 AND kind = ?1"
    " GROUP BY entity_id ORDER BY entity_id";

static int load_parties(sqlite3 *db, int kind, uint64_t k, party **out, size_t *n, int64_t *late,
                        pg_diag *d) {
  sqlite3_stmt *st = NULL;
  /* SQLite: the bare columns come from the row of MAX(slot): the latest price/address */
  int rc = pg_stmt_get(db, pg_grid_sql_open_parties, &st, d);
  if (rc) return rc;
  sqlite3_bind_int(st, 1, kind);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)k);
  size_t cap = 0, m = 0;
  party *v = NULL;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (m == cap) {
      cap = cap ? 2 * cap : 16;
      party *nv = realloc(v, cap * sizeof *nv);
      if (!nv) {
        rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
        break;
      }
      v = nv;
    }
    party *p = &v[m++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", (const char *)sqlite3_column_text(st, 0));
    p->wh = sqlite3_column_int64(st, 1);
    p->has_price = sqlite3_column_type(st, 3) != SQLITE_NULL;
    p->price = (uint64_t)sqlite3_column_int64(st, 3);
    if (sqlite3_column_type(st, 4) != SQLITE_NULL)
      snprintf(p->address, sizeof p->address, "%s", (const char *)sqlite3_column_text(st, 4));
    *late += sqlite3_column_int64(st, 5);
    p->n_readings = sqlite3_column_int64(st, 6);
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "readings read");
  pg_stmt_put(st);
  if (rc) {
    free(v);
    return rc;
  }
  *out = v;
  *n = m;
  return PG_OK;
}

static int insert_slot(sqlite3 *db, uint64_t k, uint64_t now, pg_market_mech mech,
                       const pg_market_result *r, size_t np, size_t nc, int64_t late, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "INSERT INTO slots VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
                              "?14,?15,?16,?17,?18,?19,?20)",
                          &st, d);
  if (rc) return rc;
  int i = 1;
  sqlite3_bind_int64(st, i++, (sqlite3_int64)k);
  sqlite3_bind_int64(st, i++, (sqlite3_int64)now);
  sqlite3_bind_text(st, i++, pg_market_mech_name(mech), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, i++, r->supply_wh);
  sqlite3_bind_int64(st, i++, r->demand_wh);
  sqlite3_bind_int64(st, i++, r->matched_wh);
  sqlite3_bind_int64(st, i++, r->import_wh);
  sqlite3_bind_int64(st, i++, r->export_wh);
  sqlite3_bind_int64(st, i++, r->consumer_payments);
  sqlite3_bind_int64(st, i++, r->producer_revenues);
  sqlite3_bind_int64(st, i++, r->fees);
  sqlite3_bind_int64(st, i++, r->grid_income);
  sqlite3_bind_int64(st, i++, r->utility_import_cost);
  sqlite3_bind_int64(st, i++, r->utility_export_income);
  sqlite3_bind_int(st, i++, r->has_price);
  sqlite3_bind_double(st, i++, r->buy_price);
  sqlite3_bind_double(st, i++, r->sell_price);
  sqlite3_bind_int64(st, i++, (sqlite3_int64)np);
  sqlite3_bind_int64(st, i++, (sqlite3_int64)nc);
  sqlite3_bind_int64(st, i++, late);
  return pg_stmt_step_done(db, st, "slots write", d);
}

/* One payment request and its bills row: a slot's (kind "slot", the
 * consumer's settlement r) or a month's (kind "month", see bill_month). */
typedef struct bill_item {
  const char *kind;
  const char *consumer_id;
  int64_t usage_wh, community_wh, amount, fee, owed, baseline;
} bill_item;

static int bill(pg_gridop *g, uint64_t k, const bill_item *b, char request_id[PG_GRID_MAX_ID + 1],
                pg_diag *d) {
  pg_entity *e = &g->e;
  pg_grid_msg m = {.command = PG_GRID_CMD_PAYMENT_REQUEST};
  pg_grid_payment_request *pr = &m.u.payment_request;
  pr->slot = k;
  /* an unguessable part: nobody can put junk under a reference before the
   * bill exists, nor pay into another consumer's bill by guessing; keyed by
   * the wallet seed, so the same bill made again (a restored grid settling
   * a slot a second time) has the same id and reference (resume.c) */
  char what[PG_GRID_MAX_ID + 64], nhex[17];
  snprintf(what, sizeof what, "bill:%s:%s:%llu", b->kind, b->consumer_id, (unsigned long long)k);
  pg_grid_ref_tag(g->ref_key, what, nhex);
  snprintf(pr->request_id, sizeof pr->request_id, "%llu-%s", (unsigned long long)k, nhex);
  int rc = PG_OK;
  pr->owed = (uint64_t)b->owed;
  pr->usage_wh = b->usage_wh;
  snprintf(pr->payment_address, sizeof pr->payment_address, "%s", g->address_bech32);
  snprintf(pr->reference, sizeof pr->reference, "%s%.56s", PG_REF_PREFIX, pr->request_id);
  memcpy(request_id, pr->request_id, PG_GRID_MAX_ID + 1);
  char chan[96];
  snprintf(chan, sizeof chan, "return:%s", b->consumer_id);
  rc = pg_chan_queue(e->db, chan, &m, d);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_stmt_get(e->db, "INSERT INTO bills(request_id, slot, consumer_id, usage_wh, community_wh,"
                               " amount, fee, owed, baseline, reference, kind)"
                               " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)",
                        &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, pr->request_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)k);
  sqlite3_bind_text(st, 3, b->consumer_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, b->usage_wh);
  sqlite3_bind_int64(st, 5, b->community_wh);
  sqlite3_bind_int64(st, 6, b->amount);
  sqlite3_bind_int64(st, 7, b->fee);
  sqlite3_bind_int64(st, 8, b->owed);
  sqlite3_bind_int64(st, 9, b->baseline);
  sqlite3_bind_text(st, 10, pr->reference, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 11, b->kind, -1, SQLITE_STATIC);
  rc = pg_stmt_step_done(e->db, st, "bills write", d);
  if (!rc) pg_grid_metrics_count(e->metrics, PG_GM_BILL);
  return rc;
}

static int payout_row(pg_gridop *g, uint64_t k, const party *p, const pg_market_party *r,
                      pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(g->e.db, "INSERT INTO payouts(slot, producer_id, output_wh, community_wh, amount,"
                                   " baseline, address) VALUES (?1,?2,?3,?4,?5,?6,?7)",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
  sqlite3_bind_text(st, 2, p->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, p->wh);
  sqlite3_bind_int64(st, 4, r->community_wh);
  sqlite3_bind_int64(st, 5, r->total);
  sqlite3_bind_int64(st, 6, r->baseline);
  sqlite3_bind_text(st, 7, p->address, -1, SQLITE_STATIC);
  return pg_stmt_step_done(g->e.db, st, "payouts write", d);
}

/* One slot's parties and its market result. */
typedef struct settlement {
  party *prod, *cons;
  size_t np, nc;
  int64_t late;
  pg_market_producer *mp;
  pg_market_consumer *mc;
  pg_market_result res;
  bool have_res;
  int market_rc; /* pg_market_settle's status (invalid input is not an error) */
  char market_why[256];
} settlement;

static void settlement_free(settlement *t) {
  if (t->have_res) pg_market_result_free(&t->res);
  free(t->prod), free(t->cons), free(t->mp), free(t->mc);
  memset(t, 0, sizeof *t);
}

/* Loads the open readings up to slot k and runs the market over them. */
static int settle_market(pg_gridop *g, uint64_t k, settlement *t, pg_diag *d) {
  sqlite3 *db = g->e.db;
  int rc = load_parties(db, PG_GRID_ENTITY_PRODUCER, k, &t->prod, &t->np, &t->late, d);
  if (!rc) rc = load_parties(db, PG_GRID_ENTITY_CONSUMER, k, &t->cons, &t->nc, &t->late, d);
  if (!rc) {
    t->mp = calloc(t->np + 1, sizeof *t->mp);
    t->mc = calloc(t->nc + 1, sizeof *t->mc);
    if (!t->mp || !t->mc) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; !rc && i < t->np; i++)
    t->mp[i] = (pg_market_producer){.id = t->prod[i].id, .output_wh = t->prod[i].wh,
                                    .ask_per_kwh = t->prod[i].price, .has_ask = t->prod[i].has_price};
  for (size_t i = 0; !rc && i < t->nc; i++) {
    t->mc[i] = (pg_market_consumer){.id = t->cons[i].id, .usage_wh = t->cons[i].wh,
                                    .bid_per_kwh = t->cons[i].price, .has_bid = t->cons[i].has_price};
    if (pg_market_mech_is_sharing(g->o.mech)) pg_grid_share_apply(g->o.share, g->o.n_share, &t->mc[i]);
  }
  if (rc) return rc;
  pg_market_slot slot = {.producers = t->mp, .n_producers = t->np, .consumers = t->mc,
                         .n_consumers = t->nc, .import_price = g->o.import_price,
                         .export_price = g->o.export_price, .fee_per_kwh = g->o.fee_per_kwh,
                         .fee_bp = g->o.fee_bp, .fixed_buy_price = g->o.fixed_buy_price,
                         .fixed_sell_price = g->o.fixed_sell_price,
                         .community_price = g->o.community_price,
                         .group_rules = g->o.group_rules, .n_group_rules = g->o.n_group_rules};
  pg_diag md = {{0}};
  t->market_rc = pg_market_settle(&slot, g->o.mech, &t->res, &md);
  t->have_res = t->market_rc == PG_OK;
  snprintf(t->market_why, sizeof t->market_why, "%s", md.msg);
  return t->market_rc == PG_ERR_NOMEM ? pg_fail(d, PG_ERR_NOMEM, "out of memory") : PG_OK;
}

/* The first party whose numbers cannot be booked (an amount outside
 * 0..2^53-1, the limit of a payment request and of JavaScript); when the
 * market itself refused the slot, the party with the largest reading.
 * false when every party can be booked. */
static bool unsettleable(const settlement *t, const char **id, int *kind, char *why, size_t cap) {
  if (t->market_rc != PG_OK) {
    const party *big = NULL;
    for (size_t i = 0; i < t->np; i++)
      if (!big || t->prod[i].wh > big->wh) big = &t->prod[i], *kind = PG_GRID_ENTITY_PRODUCER;
    for (size_t i = 0; i < t->nc; i++)
      if (!big || t->cons[i].wh > big->wh) big = &t->cons[i], *kind = PG_GRID_ENTITY_CONSUMER;
    if (!big) return false;
    *id = big->id;
    snprintf(why, cap, "the market refused the slot (%.180s); the largest reading goes first",
             t->market_why);
    return true;
  }
  const party *sides[2] = {t->prod, t->cons};
  size_t counts[2] = {t->np, t->nc};
  for (int s = 0; s < 2; s++)
    for (size_t i = 0; i < counts[s]; i++)
      if (sides[s][i].n_readings > PG_RECORD_MAX_READINGS) {
        *id = sides[s][i].id;
        *kind = s == 0 ? PG_GRID_ENTITY_PRODUCER : PG_GRID_ENTITY_CONSUMER;
        snprintf(why, cap, "its %lld open readings are more than one record line holds (%d)",
                 (long long)sides[s][i].n_readings, PG_RECORD_MAX_READINGS);
        return true;
      }
  for (size_t i = 0; i < t->nc; i++) {
    int64_t v = t->res.consumers[i].total;
    if (v < 0 || (uint64_t)v > PG_GRID_MAX_SAFE_INT) {
      *id = t->cons[i].id, *kind = PG_GRID_ENTITY_CONSUMER;
      snprintf(why, cap, "its bill of %lld is outside 0..2^53-1", (long long)v);
      return true;
    }
  }
  for (size_t i = 0; i < t->np; i++) {
    int64_t v = t->res.producers[i].total;
    if (v < 0 || (uint64_t)v > PG_GRID_MAX_SAFE_INT) {
      *id = t->prod[i].id, *kind = PG_GRID_ENTITY_PRODUCER;
      snprintf(why, cap, "its payout of %lld is outside 0..2^53-1", (long long)v);
      return true;
    }
  }
  return false;
}

/* The head of slot k's public record (its part-1 fields). */
static void record_head(const pg_gridop *g, uint64_t k, uint64_t now, const settlement *t,
                        pg_grid_settlement *h) {
  const pg_market_result *r = &t->res;
  memset(h, 0, sizeof *h);
  h->slot = k;
  h->part = h->parts = 1;
  h->settled_at = now;
  h->mechanism = (int)g->o.mech;
  h->config = (pg_grid_settle_config){g->o.import_price,  g->o.export_price,
                                      g->o.fee_per_kwh,   g->o.fee_bp,
                                      g->o.fixed_buy_price, g->o.fixed_sell_price};
  h->has_price = r->has_price;
  h->buy_price = r->buy_price;
  h->sell_price = r->sell_price;
  h->totals = (pg_grid_settle_totals){
      r->supply_wh,         r->demand_wh, r->matched_wh,  r->import_wh,
      r->export_wh,         r->consumer_payments,         r->producer_revenues,
      r->fees,              r->grid_income,               r->utility_import_cost,
      r->utility_export_income, (int64_t)t->np, (int64_t)t->nc, t->late};
}

/* The local calendar month (y * 12 + m - 1) of slot k's start. */
static int64_t month_of(const pg_gridop *g, uint64_t k) {
  pg_local_time lt;
  pg_local_time_of((int64_t)pg_slot_start(k, g->e.slot_ms), g->e.tz, &lt);
  return (int64_t)lt.year * 12 + lt.month - 1;
}

/* One consumer's month bill: its slot bills and peak usage of slots lo..hi. */
static int bill_month(pg_gridop *g, uint64_t k, const char *id, int64_t lo, int64_t hi,
                      int64_t peak_wh, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(g->e.db,
                         "SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(fee), 0) FROM bills"
                         " WHERE kind = 'slot' AND consumer_id = ?1 AND slot BETWEEN ?2 AND ?3",
                         &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, lo);
  sqlite3_bind_int64(st, 3, hi);
  int64_t energy = 0, fees = 0;
  if (sqlite3_step(st) == SQLITE_ROW)
    energy = sqlite3_column_int64(st, 0), fees = sqlite3_column_int64(st, 1);
  else rc = pg_db_fail(g->e.db, d, "bills read");
  pg_stmt_put(st);
  pg_tariff_month m;
  if (!rc) rc = pg_tariff_monthly(&g->o.tariff, energy, fees, peak_wh, g->e.slot_ms, &m, d);
  if (rc || m.monthly <= 0) return rc;
  bill_item b = {"month", id, 0, 0, m.membership + m.capacity, m.vat, m.monthly, 0};
  char rid[PG_GRID_MAX_ID + 1];
  return bill(g, k, &b, rid, d);
}

/* Slot k starts a new month: bill the month before it (slots lo..k-1) to
 * every consumer with a reading in it. The month is remembered, so a
 * restart bills it exactly once. */
static int bill_months(pg_gridop *g, uint64_t k, pg_diag *d) {
  if (!pg_tariff_bills_monthly(&g->o.tariff)) return PG_OK;
  int64_t cur = month_of(g, k), last = -1;
  int rc = pg_kv_get_i64(g->e.db, "tariff_month", -1, &last, d);
  if (!rc && last != cur) rc = pg_kv_set_i64(g->e.db, "tariff_month", cur, d);
  if (rc || last < 0 || last == cur || k == 0) return rc;
  uint64_t lo = k - 1; /* the month's first slot: at most 31 days back */
  while (lo > 0 && k - lo < 32 * 86400000ULL / g->e.slot_ms && month_of(g, lo - 1) == last) lo--;
  sqlite3_stmt *st = NULL;
  rc = pg_stmt_get(g->e.db,
                     "SELECT entity_id, MAX(wh) FROM readings WHERE kind = ?1 AND slot BETWEEN ?2"
                     " AND ?3 GROUP BY entity_id ORDER BY entity_id",
                     &st, d);
  if (rc) return rc;
  sqlite3_bind_int(st, 1, PG_GRID_ENTITY_CONSUMER);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)lo);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)(k - 1));
  int s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    char id[PG_GRID_MAX_ID + 1];
    snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(st, 0));
    rc = bill_month(g, k, id, (int64_t)lo, (int64_t)k - 1, sqlite3_column_int64(st, 1), d);
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(g->e.db, d, "readings read");
  pg_stmt_put(st);
  return rc;
}

/* Queues slot k's public record: a line per party settled. */
static int book_record(pg_gridop *g, uint64_t k, uint64_t now, const settlement *t,
                       char (*rids)[PG_GRID_MAX_ID + 1], pg_diag *d) {
  pg_record_party *rp = calloc(t->np + t->nc + 1, sizeof *rp);
  if (!rp) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < t->np; i++, n++)
    rp[n] = (pg_record_party){t->prod[i].id, PG_GRID_ENTITY_PRODUCER, t->prod[i].wh,
                              t->prod[i].has_price, t->prod[i].price, &t->res.producers[i], NULL};
  for (size_t i = 0; i < t->nc; i++, n++)
    rp[n] = (pg_record_party){t->cons[i].id, PG_GRID_ENTITY_CONSUMER, t->cons[i].wh,
                              t->cons[i].has_price, t->cons[i].price, &t->res.consumers[i],
                              rids[i][0] ? rids[i] : NULL};
  pg_grid_settlement head;
  record_head(g, k, now, t, &head);
  int rc = pg_record_book(&g->e, &head, rp, n, d);
  free(rp);
  return rc;
}

/* Books slot k: the slot row, bills, payouts, the public record, the
 * readings settled. */
static int book(pg_gridop *g, uint64_t k, const settlement *t, pg_diag *d) {
  pg_entity *e = &g->e;
  const pg_market_result *res = &t->res;
  uint64_t now = pg_entity_now(e);
  char (*rids)[PG_GRID_MAX_ID + 1] = calloc(t->nc + 1, sizeof *rids);
  if (!rids) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = insert_slot(e->db, k, now, g->o.mech, res, t->np, t->nc, t->late, d);
  if (!rc) pg_grid_metrics_count(e->metrics, PG_GM_SLOT_SETTLED);
  for (size_t i = 0; !rc && i < t->nc; i++) {
    const pg_market_party *r = &res->consumers[i];
    bill_item b = {"slot", t->cons[i].id, t->cons[i].wh, r->community_wh, r->amount, r->fee,
                   r->total, r->baseline};
    if (r->total > 0) rc = bill(g, k, &b, rids[i], d);
  }
  if (!rc) rc = bill_months(g, k, d);
  for (size_t i = 0; !rc && i < t->np; i++)
    if (res->producers[i].total > 0) rc = payout_row(g, k, &t->prod[i], &res->producers[i], d);
  if (!rc) rc = book_record(g, k, now, t, rids, d);
  free(rids);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_stmt_get(e->db, "UPDATE readings SET settled_in = ?1 WHERE settled_in IS NULL AND slot <= ?1",
                       &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
    rc = pg_stmt_step_done(e->db, st, "readings write", d);
  }
  if (!rc) rc = pg_entity_set_next_slot(e, (int64_t)(k + 1), d);
  return rc;
}

/* Settles slot k in one transaction. A party whose numbers cannot be settled
 * is quarantined for it and the slot settles for everyone else (the market
 * runs again without it, so the money identity stays exact). */
static int settle(pg_gridop *g, uint64_t k, pg_diag *d) {
  pg_entity *e = &g->e;
  settlement t;
  memset(&t, 0, sizeof t);
  int rc = pg_grid_begin(e->db, d);
  if (rc) return rc;
  for (;;) {
    rc = settle_market(g, k, &t, d);
    const char *id = NULL;
    int kind = 0;
    char why[300];
    if (rc || !unsettleable(&t, &id, &kind, why, sizeof why)) break;
    char who[PG_GRID_MAX_ID + 1];
    snprintf(who, sizeof who, "%s", id);
    settlement_free(&t);
    rc = pg_quarantine_party(e->db, who, kind, k, why, d);
    if (rc) break;
  }
  if (!rc && t.market_rc != PG_OK) /* nobody left to blame: a settings problem */
    rc = pg_fail(d, PG_ERR_CONFIG, "slot %llu: %s", (unsigned long long)k, t.market_why);
  if (!rc) rc = book(g, k, &t, d);
  if (!rc) rc = pg_grid_commit(e->db, d);
  else pg_db_rollback(e->db);
  if (!rc)
    pg_log_info(e->role, "%s: slot %llu settled (%s): supply %lld Wh, demand %lld Wh, %zu producers,"
                " %zu consumers, billed %lld, producers earn %lld",
                e->id, (unsigned long long)k, pg_market_mech_name(g->o.mech),
                (long long)t.res.supply_wh, (long long)t.res.demand_wh, t.np, t.nc,
                (long long)t.res.consumer_payments, (long long)t.res.producer_revenues);
  settlement_free(&t);
  return rc;
}

static int settle_due(pg_gridop *g, pg_diag *d) {
  pg_entity *e = &g->e;
  uint64_t now = pg_entity_now(e);
  int64_t next = 0;
  int rc = pg_entity_next_slot(e, 0, &next, d);
  if (rc) return rc;
  for (uint64_t k = (uint64_t)next; pg_slot_start(k + 1, e->slot_ms) <= now; k++) {
    if (now < pg_slot_start(k + 1, e->slot_ms) + g->grace_ms) {
      int64_t missing = 0;
      rc = pg_stmt_i64(e->db,
                       "SELECT COUNT(*) FROM registrations r WHERE r.state = 1 AND NOT EXISTS"
                       " (SELECT 1 FROM readings x WHERE x.entity_id = r.id AND x.slot = ?1)",
                       (int64_t)k, 0, &missing, d);
      if (rc || missing > 0) return rc;
    }
    rc = settle(g, k, d);
    if (rc) return rc;
  }
  return PG_OK;
}

/* Our receive address in bech32 (the HRP asked from the node once, then
 * remembered): false when the node cannot be asked yet (counted). */
static int know_address(pg_gridop *g, bool *known, pg_diag *d) {
  pg_entity *e = &g->e;
  *known = g->address_bech32[0] != '\0';
  if (*known) return PG_OK;
  char hrp[PG_CLIENT_HRP_MAX + 1];
  pg_diag hd = {{0}};
  if (pg_entity_hrp(e, hrp, &hd) != PG_OK) {
    pg_entity_problem(e, "node_failures", "node info: %s", hd.msg);
    return PG_OK;
  }
  if (pg_iota_address_encode(hrp, g->address, g->address_bech32, sizeof g->address_bech32) != PG_OK)
    return pg_fail(d, PG_ERR_STATE, "grid: cannot encode the receive address");
  *known = true;
  return pg_kv_set_text(e->db, "address", g->address_bech32, d); /* for the audit export */
}

void pg_gridop_wake(pg_gridop *g) {
  pg_poll_wake(&g->pay_poll);
  pg_poll_wake(&g->batch_poll);
}

int pg_gridop_settle_due(pg_gridop *g, pg_diag *d) {
  bool known = false;
  int rc = know_address(g, &known, d);
  if (!rc && !known)
    rc = pg_fail(d, PG_ERR_UNAVAILABLE, "grid: the receive address is not known yet (node)");
  return rc ? rc : settle_due(g, d);
}

int pg_gridop_step(pg_gridop *g, pg_diag *d) {
  pg_entity *e = &g->e;
  bool known = false;
  int rc = know_address(g, &known, d);
  if (rc || !known) return rc;
  /* after a restore: what our channels published since the backup first */
  if (!pg_entity_caught_up(e, pg_entity_now(e))) return PG_OK;
  rc = pg_registry_read(e, on_msg, g, d);
  if (!rc) rc = settle_due(g, d);
  if (!rc) rc = pg_entity_flush(e, d);
  if (!rc) rc = pg_gridop_check_incoming(g, d);
  if (!rc) rc = pg_gridop_dust_care(g, d);
  if (!rc) rc = pg_gridop_payouts(g, d);
  return rc;
}
