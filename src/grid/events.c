/* events.c — the grid's recent events (GET /api/events, the dashboard's
 * event list): settled slots, bills, payments, payout batches,
 * registrations, enrolments and quarantined readings, read from the tables
 * that book them (no second store), merged newest first. */
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"

/* One kind of event: its query (?1 = the limit, ?2 = a member id or NULL
 * for every member) and who may see it. Each query is bounded by ?1 and
 * walks its table from the newest row (rowid or primary key order). */
typedef struct event_src {
  const char *kind; /* as the query's "kind" column says */
  const char *sql;
  bool to_public, to_member, to_operator; /* the scopes that see it */
} event_src;

static const event_src sources[] = {
    {"settlement",
     "SELECT 'settlement' AS kind, settled_ms AS time, slot, mechanism, supply_wh AS supplyWh,"
     " demand_wh AS demandWh, matched_wh AS communityWh, import_wh AS importWh,"
     " export_wh AS exportWh, has_price AS hasPrice, buy_price AS buyPrice,"
     " sell_price AS sellPrice, producers, consumers FROM slots ORDER BY slot DESC LIMIT ?1",
     true, true, true},
    {"bill",
     "SELECT 'bill' AS kind, s.settled_ms AS time, b.slot, b.consumer_id AS member,"
     " b.kind AS bill, b.request_id AS requestId, b.usage_wh AS usageWh, b.owed AS amount"
     " FROM bills b JOIN slots s ON s.slot = b.slot WHERE ?2 IS NULL OR b.consumer_id = ?2"
     " ORDER BY b.rowid DESC LIMIT ?1",
     false, true, true},
    {"payment",
     "SELECT 'payment' AS kind, i.seen_ms AS time, b.slot, b.consumer_id AS member, i.amount,"
     " i.request_id AS requestId, i.msg_id AS messageId FROM incoming i"
     " JOIN bills b ON b.request_id = i.request_id WHERE ?2 IS NULL OR b.consumer_id = ?2"
     " ORDER BY i.rowid DESC LIMIT ?1",
     false, true, true},
    {"payout",
     "SELECT 'payout' AS kind, COALESCE(confirmed_ms, created_ms) AS time, id AS batch,"
     " CASE state WHEN 0 THEN 'sending' WHEN 1 THEN 'sent' WHEN 2 THEN 'confirmed'"
     " ELSE 'unknown' END AS state, total AS amount, outputs, msg_id AS messageId"
     " FROM batches ORDER BY id DESC LIMIT ?1",
     false, false, true},
    /* a producer's own share of the payout batches */
    {"payout",
     "SELECT 'payout' AS kind, COALESCE(b.confirmed_ms, b.created_ms) AS time, p.slot,"
     " p.producer_id AS member, b.id AS batch, CASE b.state WHEN 0 THEN 'sending' WHEN 1 THEN"
     " 'sent' WHEN 2 THEN 'confirmed' ELSE 'unknown' END AS state, p.amount, 1 AS outputs,"
     " b.msg_id AS messageId FROM payouts p JOIN batches b ON b.id = p.batch_id"
     " WHERE p.producer_id = ?2 ORDER BY b.id DESC, p.slot DESC LIMIT ?1",
     false, true, false},
    {"registration",
     "SELECT 'registration' AS kind, registered_ms AS time, id AS member, name,"
     " CASE type WHEN 2 THEN 'producer' WHEN 3 THEN 'consumer' ELSE 'other' END AS role,"
     " CASE state WHEN 0 THEN 'waiting' WHEN 1 THEN 'active' WHEN 2 THEN 'closed'"
     " WHEN 3 THEN 'rejected' ELSE 'removed' END AS state FROM registrations"
     " WHERE ?2 IS NULL OR id = ?2 ORDER BY registered_ms DESC LIMIT ?1",
     false, true, true},
    {"enrolment",
     "SELECT 'enrolment' AS kind, enrolled_ms AS time, id AS member, role, state FROM enrolment"
     " WHERE ?2 IS NULL OR id = ?2 ORDER BY enrolled_ms DESC LIMIT ?1",
     false, true, true},
    {"quarantine",
     "SELECT 'quarantine' AS kind, received_ms AS time, slot, entity_id AS member, wh, reason,"
     " state, id AS quarantineId FROM quarantine WHERE ?2 IS NULL OR entity_id = ?2"
     " ORDER BY id DESC LIMIT ?1",
     false, true, true},
};

static bool visible(const event_src *s, pg_events_scope scope) {
  return scope == PG_EVENTS_ALL ? s->to_operator : scope == PG_EVENTS_MEMBER ? s->to_member
                                                                           : s->to_public;
}

/* Newer first; at the same time the later kind in sources[] first (a
 * slot's payments above its bills above its settlement). */
static int kind_rank(const json_t *e) {
  const char *k = json_string_value(json_object_get(e, "kind"));
  for (size_t i = 0; k && i < sizeof sources / sizeof *sources; i++)
    if (strcmp(sources[i].kind, k) == 0) return (int)i;
  return -1;
}

static int newer_first(const void *a, const void *b) {
  const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  json_int_t tx = json_integer_value(json_object_get(x, "time"));
  json_int_t ty = json_integer_value(json_object_get(y, "time"));
  if (tx != ty) return tx < ty ? 1 : -1;
  return kind_rank(y) - kind_rank(x);
}

/* The rows of one source appended to all. */
static int collect(sqlite3 *db, const event_src *s, const char *member, unsigned limit,
                   json_t *all, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_db_prepare(db, s->sql, &st, d);
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)limit);
  if (sqlite3_bind_parameter_count(st) >= 2) {
    if (member) sqlite3_bind_text(st, 2, member, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 2);
  }
  json_t *rows = NULL;
  rc = pg_rows_collect(db, st, &rows, d);
  if (rc) return rc;
  if (json_array_extend(all, rows) != 0) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  json_decref(rows);
  return rc;
}

int pg_grid_events_json(sqlite3 *db, pg_events_scope scope, const char *member, unsigned limit,
                        json_t **out, pg_diag *d) {
  if (limit < 1 || limit > PG_EVENTS_MAX)
    return pg_fail(d, PG_ERR_INVALID, "events: limit %u is not in 1..%d", limit, PG_EVENTS_MAX);
  if (scope == PG_EVENTS_MEMBER && (!member || !*member))
    return pg_fail(d, PG_ERR_INVALID, "events: a member's events need its id");
  const char *who = scope == PG_EVENTS_MEMBER ? member : NULL;
  json_t *all = json_array();
  if (!all) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = PG_OK;
  for (size_t i = 0; !rc && i < sizeof sources / sizeof *sources; i++)
    if (visible(&sources[i], scope)) rc = collect(db, &sources[i], who, limit, all, d);
  size_t n = json_array_size(all);
  json_t **v = rc || !n ? NULL : malloc(n * sizeof *v);
  if (!rc && n && !v) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  json_t *sorted = rc ? NULL : json_array();
  if (!rc && !sorted) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!rc) {
    for (size_t i = 0; i < n; i++) v[i] = json_array_get(all, i);
    if (n) qsort(v, n, sizeof *v, newer_first);
    for (size_t i = 0; i < n && i < limit && !rc; i++)
      if (json_array_append(sorted, v[i]) != 0) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  free(v);
  json_decref(all);
  if (rc) {
    json_decref(sorted);
    return rc;
  }
  *out = sorted;
  return PG_OK;
}
