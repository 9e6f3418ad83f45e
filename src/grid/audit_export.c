/* audit_export.c — the grid's audit export and a member's audit keys, read
 * from the database alone (no running entity, no node): what `p2pgrid audit`
 * takes as the operator's claim and the keys that open the record. Formats:
 * docs/PROTOCOL.md "Audit export". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"

#define EXPORT_FORMAT "p2pgrid-audit-export/1"
#define KEYS_FORMAT "p2pgrid-member-keys/1"

static bool file_exists(const char *dir, const char *name) {
  char path[700];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Opens DIR/<role>.db read-only; names the role the directory belongs to
 * when it is another entity's. */
static int open_role_db(const char *dir, const char *role, sqlite3 **db, pg_diag *d) {
  static const char *roles[] = {"grid", "producer", "consumer", "source"};
  char file[32], path[700];
  *db = NULL;
  if (!dir || !*dir) return pg_fail(d, PG_ERR_CONFIG, "no data directory");
  snprintf(file, sizeof file, "%s.db", role);
  if (!file_exists(dir, file)) {
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
      char other[32];
      snprintf(other, sizeof other, "%s.db", roles[i]);
      if (strcmp(roles[i], role) != 0 && file_exists(dir, other))
        return pg_fail(d, PG_ERR_CONFIG, "%s holds a %s's database, not a %s's", dir, roles[i],
                       role);
    }
    return pg_fail(d, PG_ERR_NOT_FOUND, "no %s database in %s (no %s there)", role, dir, file);
  }
  snprintf(path, sizeof path, "%s/%s", dir, file);
  if (sqlite3_open_v2(path, db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
    int rc = pg_db_fail(*db, d, "cannot open %s", path);
    pg_grid_db_close(*db);
    *db = NULL;
    return rc;
  }
  sqlite3_busy_timeout(*db, PG_ENTITY_DB_BUSY_MS);
  int64_t tables = 0;
  if (pg_db_i64(*db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'kv'", 0,
                0, &tables, NULL) != PG_OK || tables != 1) {
    pg_grid_db_close(*db);
    *db = NULL;
    return pg_fail(d, PG_ERR_CONFIG, "%s is not a p2pgrid %s database", path, role);
  }
  return PG_OK;
}

/* kv text as a JSON string, or JSON null when missing. */
static json_t *kv_json(sqlite3 *db, const char *key, int *rc, pg_diag *d) {
  char v[256];
  if (*rc) return NULL;
  *rc = pg_kv_get_text(db, key, v, sizeof v, d);
  return *rc ? NULL : v[0] ? json_string(v) : json_null();
}

/* Sets o[key] = v (stolen); a NULL v (an earlier failure) is skipped. */
static void put(json_t *o, const char *key, json_t *v) {
  if (v) json_object_set_new(o, key, v);
}

static int grid_json(sqlite3 *db, json_t **out, pg_diag *d) {
  int rc = PG_OK;
  int64_t slot_ms = 0;
  json_t *g = json_object();
  put(g, "id", kv_json(db, "id", &rc, d));
  put(g, "address", kv_json(db, "address", &rc, d));
  json_t *root = kv_json(db, "record_root", &rc, d);
  put(g, "recordRoot", json_is_null(root) ? (json_decref(root), json_string("")) : root);
  put(g, "hrp", kv_json(db, "hrp", &rc, d));
  if (!rc) rc = pg_kv_get_i64(db, "slot_ms", 0, &slot_ms, d);
  put(g, "slotMs", json_integer(slot_ms));
  if (rc) json_decref(g);
  else *out = g;
  return rc;
}

static const char sql_config[] =
    "SELECT from_slot AS fromSlot, mechanism, import_price AS importPrice,"
    " export_price AS exportPrice, fee_per_kwh AS feePerKwh, fee_bp AS feeBp,"
    " fixed_buy_price AS fixedBuyPrice, fixed_sell_price AS fixedSellPrice"
    " FROM config_history ORDER BY from_slot";
static const char sql_tariffs[] =
    "SELECT from_slot AS fromSlot, membership_fee AS membershipFee,"
    " capacity_price AS capacityPrice, vat_bp AS vatBp, time_zone AS timeZone"
    " FROM tariff_history ORDER BY from_slot";
static const char sql_sharing[] =
    "SELECT from_slot AS fromSlot, community_price AS communityPrice, group_rules AS groupRules,"
    " members FROM sharing_history ORDER BY from_slot";

/* Members: everyone enrolled or registered, with every channel a reading or
 * a record line came from (member_channels) and the current one. */
static const char sql_members[] =
    "SELECT id, MAX(role) AS role FROM ("
    " SELECT id, role FROM enrolment UNION ALL"
    " SELECT id, CASE type WHEN 2 THEN 'producer' WHEN 3 THEN 'consumer' ELSE 'source' END"
    " FROM registrations) GROUP BY id ORDER BY id";
static const char sql_channels[] =
    "SELECT root, side_key AS sideKey, 'restricted' AS mode, MIN(registered_ms) AS registeredMs"
    " FROM (SELECT root, side_key, registered_ms FROM member_channels WHERE id = ?1"
    " UNION ALL SELECT root, side_key, registered_ms FROM registrations WHERE id = ?1)"
    " GROUP BY root, side_key ORDER BY registeredMs, root";
static const char sql_return[] =
    "SELECT root, side_key AS sideKey FROM channels WHERE name = 'return:' || ?1";
static const char sql_addresses[] =
    "SELECT address FROM enrolment WHERE id = ?1 AND address IS NOT NULL AND address != ''"
    " UNION SELECT DISTINCT address FROM payouts WHERE producer_id = ?1 ORDER BY 1";

/* The rows of sql with the text ?1 = id. */
static int rows_for(sqlite3 *db, const char *sql, const char *id, json_t **out, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, sql, &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  return pg_rows_collect(db, st, out, d);
}

static int member_json(sqlite3 *db, json_t *m, pg_diag *d) {
  const char *id = json_string_value(json_object_get(m, "id"));
  json_t *ch = NULL, *ret = NULL, *addr = NULL, *list = json_array();
  int rc = rows_for(db, sql_channels, id, &ch, d);
  if (!rc) rc = rows_for(db, sql_return, id, &ret, d);
  if (!rc) rc = rows_for(db, sql_addresses, id, &addr, d);
  for (size_t i = 0; !rc && i < json_array_size(addr); i++)
    json_array_append(list, json_object_get(json_array_get(addr, i), "address"));
  if (!rc) {
    json_object_set(m, "channels", ch);
    json_object_set(m, "return", json_array_size(ret) ? json_array_get(ret, 0) : json_null());
    json_object_set(m, "addresses", list);
  }
  json_decref(ch), json_decref(ret), json_decref(addr), json_decref(list);
  return rc;
}

static const char sql_slots[] =
    "SELECT slot, settled_ms AS settledMs, mechanism, supply_wh AS supplyWh, demand_wh AS demandWh,"
    " matched_wh AS matchedWh, import_wh AS importWh, export_wh AS exportWh,"
    " consumer_payments AS consumerPayments, producer_revenues AS producerRevenues, fees,"
    " grid_income AS gridIncome, import_cost AS importCost, export_income AS exportIncome,"
    " has_price AS hasPrice, buy_price AS buyPrice, sell_price AS sellPrice, producers, consumers,"
    " late_readings AS lateReadings FROM slots ORDER BY slot";
static const char sql_readings[] =
    "SELECT entity_id AS id, CASE kind WHEN 2 THEN 'producer' ELSE 'consumer' END AS kind, slot,"
    " wh, price, msg_id AS msgId FROM readings WHERE settled_in = ?1 ORDER BY entity_id, slot";
static const char sql_bills[] =
    "SELECT request_id AS requestId, kind, consumer_id AS consumerId, usage_wh AS usageWh,"
    " community_wh AS communityWh, amount, fee, owed, baseline, reference, paid"
    " FROM bills WHERE slot = ?1 ORDER BY consumer_id, request_id";
static const char sql_payouts[] =
    "SELECT producer_id AS producerId, output_wh AS outputWh, community_wh AS communityWh, amount,"
    " baseline, address, batch_id AS batchId FROM payouts WHERE slot = ?1 ORDER BY producer_id";
static const char sql_batches[] =
    "SELECT id, msg_id AS msgId, total, outputs, CASE state WHEN 0 THEN 'sending' WHEN 1 THEN 'sent'"
    " ELSE 'confirmed' END AS state FROM batches ORDER BY id";

static int slot_json(sqlite3 *db, json_t *s, pg_diag *d) {
  int64_t k = json_integer_value(json_object_get(s, "slot"));
  json_t *r = NULL, *b = NULL, *p = NULL;
  json_object_set_new(s, "hasPrice", json_boolean(json_integer_value(json_object_get(s, "hasPrice"))));
  int rc = pg_rows_json(db, sql_readings, k, 0, &r, d);
  if (!rc) rc = pg_rows_json(db, sql_bills, k, 0, &b, d);
  if (!rc) rc = pg_rows_json(db, sql_payouts, k, 0, &p, d);
  if (!rc) {
    json_object_set(s, "readings", r);
    json_object_set(s, "bills", b);
    json_object_set(s, "payouts", p);
  }
  json_decref(r), json_decref(b), json_decref(p);
  return rc;
}

static int export_db(sqlite3 *db, uint64_t now_ms, json_t **out, pg_diag *d) {
  json_t *grid = NULL, *config = NULL, *tariffs = NULL, *sharing = NULL, *members = NULL,
         *slots = NULL, *batches = NULL;
  int rc = grid_json(db, &grid, d);
  if (!rc) rc = pg_rows_json(db, sql_config, 0, 0, &config, d);
  if (!rc) rc = pg_rows_json(db, sql_tariffs, 0, 0, &tariffs, d);
  if (!rc) rc = pg_rows_json(db, sql_sharing, 0, 0, &sharing, d);
  for (size_t i = 0; !rc && i < json_array_size(sharing); i++) { /* stored as JSON text */
    json_t *row = json_array_get(sharing, i);
    for (int f = 0; !rc && f < 2; f++) {
      const char *key = f ? "members" : "groupRules";
      const char *text = json_string_value(json_object_get(row, key));
      json_t *v = text ? json_loads(text, 0, NULL) : NULL;
      if (!v) rc = pg_fail(d, PG_ERR_DB, "sharing_history: '%s' is not JSON", key);
      else json_object_set_new(row, key, v);
    }
  }
  if (!rc) rc = pg_rows_json(db, sql_members, 0, 0, &members, d);
  for (size_t i = 0; !rc && i < json_array_size(members); i++)
    rc = member_json(db, json_array_get(members, i), d);
  if (!rc) rc = pg_rows_json(db, sql_slots, 0, 0, &slots, d);
  for (size_t i = 0; !rc && i < json_array_size(slots); i++)
    rc = slot_json(db, json_array_get(slots, i), d);
  if (!rc) rc = pg_rows_json(db, sql_batches, 0, 0, &batches, d);
  if (!rc) {
    *out = json_pack("{s:s,s:I,s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "format", EXPORT_FORMAT,
                     "exportedAt", (json_int_t)now_ms, "grid", grid, "config", config, "tariffs",
                     tariffs, "sharing", sharing, "members", members, "slots", slots, "batches",
                     batches);
    if (!*out) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  json_decref(grid), json_decref(config), json_decref(tariffs), json_decref(sharing);
  json_decref(members);
  json_decref(slots);
  json_decref(batches);
  return rc;
}

int pg_gridop_audit_export(const char *data_dir, uint64_t now_ms, json_t **out, pg_diag *d) {
  sqlite3 *db = NULL;
  if (!out) return pg_fail(d, PG_ERR_INVALID, "audit export: no output");
  *out = NULL;
  int rc = open_role_db(data_dir, "grid", &db, d);
  if (rc) return rc;
  /* one read transaction: a running grid cannot change the books halfway */
  rc = pg_db_exec(db, "BEGIN", d);
  if (!rc) rc = export_db(db, now_ms, out, d);
  if (pg_db_exec(db, "COMMIT", NULL) != PG_OK && !rc)
    rc = pg_db_fail(db, d, "audit export: cannot end the read");
  pg_grid_db_close(db);
  return rc;
}

static int keys_db(sqlite3 *db, const char *role, json_t **out, pg_diag *d) {
  pg_chan_info main;
  char rr[PG_MAM_HASH_TRYTES + 1], rk[PG_MAM_HASH_TRYTES + 1], rec[PG_MAM_HASH_TRYTES + 1];
  int rc = PG_OK;
  json_t *id = kv_json(db, "id", &rc, d);
  json_t *addr = strcmp(role, "producer") == 0 ? kv_json(db, "address", &rc, d) : json_null();
  if (!rc) rc = pg_chan_info_get(db, "main", &main, d);
  if (!rc) rc = pg_kv_get_text(db, "return_root", rr, sizeof rr, d);
  if (!rc) rc = pg_kv_get_text(db, "return_side_key", rk, sizeof rk, d);
  if (!rc) rc = pg_kv_get_text(db, "record_root", rec, sizeof rec, d);
  if (!rc) {
    json_t *ret = rr[0] ? json_pack("{s:s,s:s}", "root", rr, "sideKey", rk) : json_null();
    *out = json_pack("{s:s,s:O,s:s,s:[{s:s,s:s}],s:o,s:O,s:s}", "format", KEYS_FORMAT, "id", id,
                     "role", role, "channels", "root", main.root, "sideKey", main.side_key,
                     "return", ret, "address", addr, "recordRoot", rec);
    if (!*out) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  json_decref(id);
  json_decref(addr);
  return rc;
}

int pg_member_audit_keys(const char *data_dir, const char *role, json_t **out, pg_diag *d) {
  if (!out || !role || (strcmp(role, "producer") != 0 && strcmp(role, "consumer") != 0))
    return pg_fail(d, PG_ERR_INVALID, "audit keys: the role must be producer or consumer");
  *out = NULL;
  sqlite3 *db = NULL;
  int rc = open_role_db(data_dir, role, &db, d);
  if (rc) return rc;
  rc = keys_db(db, role, out, d);
  pg_grid_db_close(db);
  return rc;
}
