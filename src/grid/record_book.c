/* record_book.c — the grid's side of the public settlement record: its
 * public "record" channel with the signed hello, the history of the
 * settlement settings, the member channels a record line was keyed with, and
 * the parts of a slot's record queued in the settlement's transaction. The
 * formats are p2pgrid/grid/record.h (pure); this file does the database. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/grid/record.h"
#include "p2pgrid/base/log.h"

const char pg_record_schema[] =
    "CREATE TABLE IF NOT EXISTS config_history(from_slot INTEGER PRIMARY KEY,"
    " mechanism TEXT NOT NULL, import_price INTEGER NOT NULL, export_price INTEGER NOT NULL,"
    " fee_per_kwh INTEGER NOT NULL, fee_bp INTEGER NOT NULL, fixed_buy_price INTEGER NOT NULL,"
    " fixed_sell_price INTEGER NOT NULL, since_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS member_channels(id TEXT NOT NULL, root TEXT NOT NULL,"
    " side_key TEXT NOT NULL, registered_ms INTEGER NOT NULL, PRIMARY KEY(id, root));"
    /* the monthly items (tariff.h) and the zone whose months they bill */
    "CREATE TABLE IF NOT EXISTS tariff_history(from_slot INTEGER PRIMARY KEY,"
    " membership_fee INTEGER NOT NULL, capacity_price INTEGER NOT NULL, vat_bp INTEGER NOT NULL,"
    " time_zone TEXT NOT NULL, since_ms INTEGER NOT NULL);"
    /* the sharing settings (community price, group rules, members' keys) */
    "CREATE TABLE IF NOT EXISTS sharing_history(from_slot INTEGER PRIMARY KEY,"
    " community_price INTEGER NOT NULL, group_rules TEXT NOT NULL, members TEXT NOT NULL,"
    " since_ms INTEGER NOT NULL);";

/* The record channel's hello: the grid's id and name, and with a member key
 * its certificate and the binding of the public channel to it. */
static int queue_hello(pg_entity *e, const char *root, pg_diag *d) {
  pg_grid_msg m = {.command = PG_GRID_CMD_HELLO};
  pg_grid_hello *h = &m.u.hello;
  int rc = pg_entity_hello_init(e, h, d);
  pg_entity_mark(e, &m);
  if (!rc && e->key) {
    pg_buf msg;
    pg_buf_init(&msg, 512);
    rc = pg_grid_binding_bytes_public(e->id, root, h->time, &msg, d);
    if (!rc)
      rc = pg_tls_sign(e->key, msg.data, msg.len, h->signature.sig, sizeof h->signature.sig,
                       &h->signature.sig_len, d);
    pg_buf_free(&msg);
  }
  return rc ? rc : pg_chan_queue(e->db, "record", &m, d);
}

int pg_record_channel_open(pg_entity *e, pg_diag *d) {
  int rc = pg_db_begin(e->db, d);
  if (rc) return rc;
  bool created = false;
  pg_chan_info ci;
  char stored[PG_MAM_HASH_TRYTES + 1];
  rc = pg_chan_ensure_mode(e->db, "record", PG_MAM_PUBLIC, PG_RECORD_SECURITY, &ci, &created, d);
  if (!rc && created) rc = queue_hello(e, ci.root, d);
  if (!rc) rc = pg_kv_get_text(e->db, "record_root", stored, sizeof stored, d);
  if (!rc && strcmp(stored, ci.root) != 0) rc = pg_kv_set_text(e->db, "record_root", ci.root, d);
  if (!rc) rc = pg_db_commit(e->db, d);
  else pg_db_rollback(e->db);
  if (!rc && created)
    pg_log_info(e->role, "%s: public record channel created, root %s", e->id, ci.root);
  return rc;
}

/* One value of a settings history row: text when text != NULL, else i. */
typedef struct hist_val {
  int64_t i;
  const char *text;
} hist_val;

/* Adds the row (from_slot, v[0..n), now_ms) to the settings history `table`
 * (config_history, tariff_history, sharing_history: from_slot, the values
 * in that order, since_ms) unless its newest row holds the same values. A
 * new row never starts before the newest one: the settings of slots already
 * settled are never rewritten. first = false: no row while the table is
 * empty (nothing set yet). */
static int history_put(sqlite3 *db, const char *table, const hist_val *v, size_t n, bool first,
                       int64_t from_slot, int64_t now_ms, pg_diag *d) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY from_slot DESC LIMIT 1", table);
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, sql, &st, d);
  if (rc) return rc;
  int64_t last = -1;
  bool same = false;
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    last = sqlite3_column_int64(st, 0);
    same = true;
    for (size_t i = 0; i < n && same; i++) {
      const char *t = (const char *)sqlite3_column_text(st, (int)i + 1);
      same = v[i].text ? t && strcmp(t, v[i].text) == 0
                       : sqlite3_column_int64(st, (int)i + 1) == v[i].i;
    }
  } else if (s != SQLITE_DONE) {
    rc = pg_db_fail(db, d, "%s read", table);
  }
  sqlite3_finalize(st);
  if (rc || same || (last < 0 && !first)) return rc;
  if (from_slot < last) from_slot = last;
  int len = snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO %s VALUES (?", table);
  for (size_t i = 0; i <= n; i++) len += snprintf(sql + len, sizeof sql - (size_t)len, ",?");
  snprintf(sql + len, sizeof sql - (size_t)len, ")");
  if ((rc = pg_db_prepare(db, sql, &st, d))) return rc;
  sqlite3_bind_int64(st, 1, from_slot);
  for (size_t i = 0; i < n; i++) {
    if (v[i].text) sqlite3_bind_text(st, (int)i + 2, v[i].text, -1, SQLITE_STATIC);
    else sqlite3_bind_int64(st, (int)i + 2, v[i].i);
  }
  sqlite3_bind_int64(st, (int)n + 2, now_ms);
  snprintf(sql, sizeof sql, "%s write", table);
  return pg_db_step_done(db, st, sql, d);
}

/* The sharing settings as two JSON texts: group rules ["dynamic","static"]
 * and members [{"id","keyPpm","group","participation"}]. NULL: no memory. */
static char *sharing_texts(const pg_gridop_opts *o, char **members) {
  json_t *r = json_array(), *m = json_array();
  for (size_t i = 0; r && i < o->n_group_rules; i++)
    json_array_append_new(r, json_string(o->group_rules[i] == PG_SHARE_RULE_STATIC ? "static"
                                                                                  : "dynamic"));
  for (size_t i = 0; m && i < o->n_share; i++)
    json_array_append_new(m, json_pack("{s:s,s:I,s:I,s:I}", "id",
                                       o->share[i].id ? o->share[i].id : "", "keyPpm",
                                       (json_int_t)o->share[i].key_ppm, "group",
                                       (json_int_t)o->share[i].group, "participation",
                                       (json_int_t)o->share[i].participation));
  char *rt = r ? json_dumps(r, JSON_COMPACT) : NULL;
  *members = m ? json_dumps(m, JSON_COMPACT) : NULL;
  json_decref(r), json_decref(m);
  if (!rt || !*members) free(rt), free(*members), rt = NULL, *members = NULL;
  return rt;
}

int pg_record_config(sqlite3 *db, const pg_gridop_opts *o, const char *tz, int64_t from_slot,
                     int64_t now_ms, pg_diag *d) {
  /* the market: always */
  const hist_val cv[] = {{0, pg_market_mech_name(o->mech)},
                         {(int64_t)o->import_price, NULL},
                         {(int64_t)o->export_price, NULL},
                         {(int64_t)o->fee_per_kwh, NULL},
                         {(int64_t)o->fee_bp, NULL},
                         {(int64_t)o->fixed_buy_price, NULL},
                         {(int64_t)o->fixed_sell_price, NULL}};
  int rc = history_put(db, "config_history", cv, 7, true, from_slot, now_ms, d);
  /* the monthly items and the zone of their months: once there is a tariff */
  const pg_tariff *t = &o->tariff;
  const hist_val tv[] = {{(int64_t)t->membership_fee, NULL},
                         {(int64_t)t->capacity_price, NULL},
                         {t->vat_bp, NULL},
                         {0, tz}};
  if (!rc)
    rc = history_put(db, "tariff_history", tv, 4,
                     pg_tariff_bills_monthly(t), from_slot, now_ms, d);
  /* the sharing settings: once a sharing mechanism runs */
  char *members = NULL, *rules = rc ? NULL : sharing_texts(o, &members);
  if (!rc && !rules) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  const hist_val sv[] = {{(int64_t)o->community_price, NULL}, {0, rules}, {0, members}};
  if (!rc)
    rc = history_put(db, "sharing_history", sv, 3, pg_market_mech_is_sharing(o->mech), from_slot,
                     now_ms, d);
  free(rules), free(members);
  return rc;
}

/* The side key of id's current registration (and the channel remembered in
 * member_channels for the audit export). *found = false without one. */
static int member_side_key(sqlite3 *db, const char *id, char sk[PG_MAM_HASH_TRYTES + 1],
                           bool *found, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  *found = false;
  int rc = pg_stmt_get(db, "SELECT side_key FROM registrations WHERE id = ?1", &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    snprintf(sk, PG_MAM_HASH_TRYTES + 1, "%s", (const char *)sqlite3_column_text(st, 0));
    *found = sk[0] != '\0';
  } else if (s != SQLITE_DONE) {
    rc = pg_db_fail(db, d, "registrations read");
  }
  pg_stmt_put(st);
  return rc ? rc : *found ? pg_record_member_channel(db, id, d) : PG_OK;
}

int pg_record_member_channel(sqlite3 *db, const char *id, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "INSERT OR IGNORE INTO member_channels(id, root, side_key, registered_ms)"
                           " SELECT id, root, side_key, registered_ms FROM registrations"
                           " WHERE id = ?1",
                       &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  return pg_stmt_step_done(db, st, "member channels write", d);
}

const char pg_grid_sql_party_open_readings[] =
    "SELECT msg_id FROM readings WHERE settled_in IS NULL AND slot <= ?1"
    " AND entity_id = ?2 ORDER BY msg_id";

/* The message ids of the open readings of id up to slot k, sorted. */
static int line_readings(sqlite3 *db, uint64_t k, const char *id, pg_record_plain *p,
                         pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, pg_grid_sql_party_open_readings, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
  sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
  int s;
  p->n_readings = 0;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    const char *hex = (const char *)sqlite3_column_text(st, 0);
    if (p->n_readings == PG_RECORD_MAX_READINGS)
      rc = pg_fail(d, PG_ERR_TOO_LARGE, "record: '%s' has more than %d readings in slot %" PRIu64,
                   id, PG_RECORD_MAX_READINGS, k);
    else if (!hex || strlen(hex) != 64 || pg_hex_decode_exact(hex, p->readings[p->n_readings], 32))
      rc = pg_fail(d, PG_ERR_STATE, "record: reading of '%s' has no message id", id);
    else
      p->n_readings++;
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(db, d, "readings read");
  pg_stmt_put(st);
  if (!rc) pg_record_plain_sort(p);
  return rc;
}

/* Seals the line of one party; *made = false (counted) when the party has
 * no registration to take a key from. */
static int seal_party(pg_entity *e, uint64_t k, const pg_record_party *rp, pg_grid_record_line *l,
                      bool *made, pg_diag *d) {
  char sk[PG_MAM_HASH_TRYTES + 1];
  bool found = false;
  *made = false;
  int rc = member_side_key(e->db, rp->id, sk, &found, d);
  if (rc) return rc;
  if (!found) {
    pg_log_warn(e->role, "%s: slot %" PRIu64 ": '%s' has no registration; no record line", e->id,
                k, rp->id);
    return pg_count_add(e->db, "record_lines_without_key", 1, d);
  }
  pg_record_plain p;
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "%s", rp->id);
  p.role = (pg_grid_entity)rp->kind;
  rc = line_readings(e->db, k, rp->id, &p, d);
  if (rc) return rc;
  p.wh = rp->wh;
  p.has_price = rp->has_price;
  p.price = rp->price;
  p.community_wh = rp->res->community_wh;
  p.amount = rp->res->amount;
  p.fee = rp->res->fee;
  p.total = rp->res->total;
  p.baseline = rp->res->baseline;
  snprintf(p.request_id, sizeof p.request_id, "%s", rp->request_id ? rp->request_id : "");
  uint8_t m[PG_RECORD_KEY];
  rc = pg_record_member_key(rp->id, sk, strlen(sk), m);
  if (rc) return pg_fail(d, rc, "record: '%s' has an invalid side key", rp->id);
  rc = pg_record_seal(m, k, &p, l, d);
  sodium_memzero(m, sizeof m);
  *made = rc == PG_OK;
  return rc;
}

int pg_record_book(pg_entity *e, const pg_grid_settlement *head, const pg_record_party *parties,
                   size_t n, pg_diag *d) {
  pg_grid_record_line *lines = calloc(n ? n : 1, sizeof *lines);
  if (!lines) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  size_t nl = 0;
  int rc = PG_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    bool made = false;
    rc = seal_party(e, head->slot, &parties[i], &lines[nl], &made, d);
    if (made) nl++;
  }
  pg_record_parts parts = {0};
  if (!rc) rc = pg_record_build_parts(head, lines, nl, 0, &parts, d);
  for (size_t i = 0; i < parts.n && !rc; i++)
    rc = pg_chan_queue_text(e->db, "record", parts.part[i].data, parts.part[i].len, d);
  pg_record_parts_free(&parts);
  for (size_t i = 0; i < nl; i++) free(lines[i].box);
  free(lines);
  return rc;
}
