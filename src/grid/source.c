/* source.c — an energy source: one `output` per finished slot on its own
 * channel, registered at its producer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/base/db.h"
#include "p2pgrid/base/log.h"

struct pg_source {
  pg_entity e;
  pg_meter *meter;
  sqlite3 *status_db; /* for status calls from other threads */
  pthread_mutex_t status_mu;
};

static const char source_schema[] =
    "CREATE TABLE IF NOT EXISTS readings(slot INTEGER PRIMARY KEY, wh INTEGER NOT NULL,"
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL);";

int pg_source_open(const pg_entity_opts *o, pg_meter *meter, pg_source **out, pg_diag *d) {
  *out = NULL;
  if (!meter) return pg_fail(d, PG_ERR_CONFIG, "source: no meter");
  pg_source *s = calloc(1, sizeof *s);
  if (!s) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = pg_entity_init(&s->e, o, "source", PG_GRID_ENTITY_SOURCE, source_schema, true, d);
  if (!rc) rc = pg_entity_status_conn(&s->e, &s->status_db, d);
  if (rc) {
    pg_entity_fini(&s->e);
    free(s);
    return rc;
  }
  pthread_mutex_init(&s->status_mu, NULL);
  s->meter = meter;
  *out = s;
  return PG_OK;
}

void pg_source_close(pg_source *s) {
  if (!s) return;
  pg_entity_status_conn_close(&s->e, s->status_db);
  pthread_mutex_destroy(&s->status_mu);
  pg_entity_fini(&s->e);
  free(s);
}

/* Queues the output of slot k (with the slot counter) in one transaction. */
static int report(pg_source *s, uint64_t k, int64_t wh, pg_diag *d) {
  pg_entity *e = &s->e;
  pg_grid_msg m;
  pg_entity_reading(e, PG_GRID_CMD_OUTPUT, k, wh, &m);
  int rc = pg_grid_begin(e->db, d);
  if (rc) return rc;
  rc = pg_chan_queue(e->db, "main", &m, d);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_stmt_get(e->db, "INSERT INTO readings(slot, wh, start_ms, end_ms) VALUES (?1,?2,?3,?4)",
                        &st, d);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)k);
    sqlite3_bind_int64(st, 2, wh);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)m.u.output.start_time);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m.u.output.end_time);
    rc = pg_stmt_step_done(e->db, st, "readings write", d);
  }
  return pg_entity_slot_done(e, k, rc, d);
}

/* Reports every finished slot the meter can answer for. The first slot is
 * the first whole slot after the source first started. */
int pg_entity_report_slots(pg_entity *e, pg_meter *meter, void *ctx,
                           int (*rep)(void *ctx, uint64_t k, int64_t wh, pg_diag *d), pg_diag *d) {
  uint64_t now = pg_entity_now(e);
  int64_t next = 0;
  int rc = pg_entity_next_slot(e, 1, &next, d);
  if (rc) return rc;
  for (uint64_t k = (uint64_t)next; pg_slot_start(k + 1, e->slot_ms) <= now; k++) {
    int64_t wh = 0;
    pg_diag md = {{0}};
    rc = pg_meter_energy(meter, pg_slot_start(k, e->slot_ms), pg_slot_start(k + 1, e->slot_ms), &wh,
                         &md);
    if (rc == PG_ERR_UNAVAILABLE) return PG_OK;
    if (rc) {
      pg_entity_problem(e, "meter_failures", "meter: %s", md.msg);
      return PG_OK;
    }
    rc = rep(ctx, k, wh, d);
    if (rc) return rc;
  }
  return PG_OK;
}

static int source_report(void *ctx, uint64_t k, int64_t wh, pg_diag *d) {
  return report(ctx, k, wh, d);
}

int pg_source_step(pg_source *s, pg_diag *d) {
  int rc = pg_entity_register(&s->e, d);
  if (!rc) rc = pg_entity_report_slots(&s->e, s->meter, s, source_report, d);
  if (!rc) rc = pg_entity_flush(&s->e, d);
  return rc;
}

int pg_source_metrics(pg_source *s, pg_buf *out, pg_diag *d) {
  return pg_entity_member_metrics(&s->e, &s->status_mu, s->status_db, out, d);
}

int pg_source_status(pg_source *s, json_t **out, pg_diag *d) {
  pthread_mutex_lock(&s->status_mu);
  json_t *o = NULL;
  int rc = pg_entity_status(&s->e, s->status_db, &o, d);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = pg_stmt_get(s->status_db, "SELECT COUNT(*), COALESCE(SUM(wh),0), MAX(slot) FROM readings",
                        &st, d);
  if (!rc && sqlite3_step(st) == SQLITE_ROW) {
    json_object_set_new(o, "slotsReported", json_integer(sqlite3_column_int64(st, 0)));
    json_object_set_new(o, "outputWh", json_integer(sqlite3_column_int64(st, 1)));
    if (sqlite3_column_type(st, 2) != SQLITE_NULL)
      json_object_set_new(o, "lastSlot", json_integer(sqlite3_column_int64(st, 2)));
    json_object_set_new(o, "meter", json_string(pg_meter_kind(s->meter)));
  }
  pg_stmt_put(st);
  pthread_mutex_unlock(&s->status_mu);
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return PG_OK;
}

pg_grid_outbox *pg_source_outbox(pg_source *s) { return (pg_grid_outbox *)&s->e; }
