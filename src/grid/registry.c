/* registry.c — the registration API (PUT / DELETE /registration/...) and the
 * reading of registered channels with the hello rule (docs/PROTOCOL.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/log.h"

const char pg_registry_schema[] =
    "CREATE TABLE IF NOT EXISTS registrations(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " type INTEGER NOT NULL, root TEXT NOT NULL, side_key TEXT NOT NULL,"
    " next_root TEXT NOT NULL, state INTEGER NOT NULL, messages INTEGER NOT NULL DEFAULT 0,"
    " registered_ms INTEGER NOT NULL, error TEXT, return_channel TEXT);";

int pg_registry_init(pg_registry *r, const pg_entity *e, unsigned allowed, bool return_channels,
                     pg_diag *d) {
  memset(r, 0, sizeof *r);
  int rc = pg_entity_open_conn(e, &r->db, d);
  if (rc) return rc;
  pthread_mutex_init(&r->mu, NULL);
  r->allowed = allowed;
  r->clock = e->clock;
  r->security = e->security;
  r->return_channels = return_channels;
  snprintf(r->owner_id, sizeof r->owner_id, "%s", e->id);
  return PG_OK;
}

void pg_registry_fini(pg_registry *r) {
  if (!r->db) return;
  sqlite3_close(r->db);
  pthread_mutex_destroy(&r->mu);
  r->db = NULL;
}

static int answer_error(pg_buf *resp, unsigned *status, unsigned code, const char *token,
                        const char *msg) {
  *status = code;
  pg_buf_reset(resp);
  if (pg_grid_error_serialize(token, msg, resp) != PG_OK) pg_buf_reset(resp);
  return PG_OK;
}

/* The return channel for consumer id: created (with the grid's hello) on the
 * first registration, the same one afterwards. */
static int return_channel(pg_registry *r, const char *id, pg_grid_channel *out, pg_diag *d) {
  char name[96];
  snprintf(name, sizeof name, "return:%s", id);
  pg_chan_info ci;
  bool created = false;
  int rc = pg_chan_ensure(r->db, name, r->security, &ci, &created, d);
  if (!rc && created) {
    pg_grid_msg m = {.command = PG_GRID_CMD_HELLO};
    snprintf(m.u.hello.registration_id, sizeof m.u.hello.registration_id, "%s", id);
    m.u.hello.time = pg_clock_now(r->clock);
    rc = pg_chan_queue(r->db, name, &m, d);
  }
  if (!rc) {
    memcpy(out->root, ci.root, sizeof out->root);
    memcpy(out->side_key, ci.side_key, sizeof out->side_key);
  }
  return rc;
}

static int do_put(pg_registry *r, const char *id, const void *body, size_t len, unsigned *status,
                  pg_buf *resp) {
  pg_grid_registration reg;
  pg_diag d = {{0}};
  if (pg_grid_registration_parse(body, len, &reg, &d) != PG_OK)
    return answer_error(resp, status, 400, "invalid", d.msg);
  if (!(r->allowed & (1u << reg.type))) {
    char msg[160];
    snprintf(msg, sizeof msg, "registration: a %s cannot register here",
             pg_grid_entity_name(reg.type));
    return answer_error(resp, status, 403, "forbidden", msg);
  }
  int rc = pg_gdb_begin(r->db, &d);
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  sqlite3_stmt *st = NULL;
  rc = pg_gdb_prepare(r->db, "SELECT type, root, side_key, state FROM registrations WHERE id = ?1",
                      &st, &d);
  bool exists = false, same = false;
  if (!rc) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
      int state = sqlite3_column_int(st, 3);
      exists = state != PG_REG_REMOVED;
      same = sqlite3_column_int(st, 0) == (int)reg.type &&
             strcmp((const char *)sqlite3_column_text(st, 1), reg.channel.root) == 0 &&
             strcmp((const char *)sqlite3_column_text(st, 2), reg.channel.side_key) == 0;
    }
    sqlite3_finalize(st);
  }
  if (!rc && exists && !same) {
    pg_gdb_rollback(r->db);
    char msg[200];
    snprintf(msg, sizeof msg,
             "registration: '%s' is registered with another channel or type; DELETE it first", id);
    return answer_error(resp, status, 409, "conflict", msg);
  }
  if (!rc && !exists) {
    rc = pg_gdb_prepare(r->db,
                        "INSERT INTO registrations(id, name, type, root, side_key, next_root, state,"
                        " registered_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?4, 0, ?6)"
                        " ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type,"
                        " root = excluded.root, side_key = excluded.side_key,"
                        " next_root = excluded.root, state = 0, messages = 0, error = NULL,"
                        " registered_ms = excluded.registered_ms",
                        &st, &d);
    if (!rc) {
      sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, reg.name, -1, SQLITE_STATIC);
      sqlite3_bind_int(st, 3, (int)reg.type);
      sqlite3_bind_text(st, 4, reg.channel.root, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 5, reg.channel.side_key, -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 6, (sqlite3_int64)pg_clock_now(r->clock));
      if (sqlite3_step(st) != SQLITE_DONE)
        rc = pg_fail(&d, PG_ERR_DB, "registration write: %s", sqlite3_errmsg(r->db));
      sqlite3_finalize(st);
    }
  }
  pg_grid_channel ret;
  bool has_ret = r->return_channels && reg.type == PG_GRID_ENTITY_CONSUMER;
  if (!rc && has_ret) rc = return_channel(r, id, &ret, &d);
  if (!rc) rc = pg_gdb_commit(r->db, &d);
  else pg_gdb_rollback(r->db);
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  *status = exists ? 200 : 201;
  pg_buf_reset(resp);
  if (has_ret) {
    if (pg_grid_channel_serialize(&ret, resp, &d) != PG_OK)
      return answer_error(resp, status, 500, "internal", d.msg);
  } else {
    pg_buf_puts(resp, "{}");
  }
  if (!exists)
    pg_log_info("registry", "%s: registered %s '%s' (%s)", r->owner_id,
                pg_grid_entity_name(reg.type), id, reg.name);
  return PG_OK;
}

static int do_delete(pg_registry *r, const char *id, const char *side_key, unsigned *status,
                     pg_buf *resp) {
  pg_diag d = {{0}};
  sqlite3_stmt *st = NULL;
  int rc = pg_gdb_prepare(r->db, "SELECT side_key, state FROM registrations WHERE id = ?1", &st, &d);
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  int found = 0; /* 0 none, 1 match, 2 wrong key */
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 1) != PG_REG_REMOVED)
    found = strcmp((const char *)sqlite3_column_text(st, 0), side_key) == 0 ? 1 : 2;
  sqlite3_finalize(st);
  if (found == 0) return answer_error(resp, status, 404, "not_found", "registration: no such registration");
  if (found == 2)
    return answer_error(resp, status, 403, "forbidden",
                        "registration: the side key does not match the registered channel");
  rc = pg_gdb_prepare(r->db, "UPDATE registrations SET state = 4 WHERE id = ?1", &st, &d);
  if (!rc) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
      rc = pg_fail(&d, PG_ERR_DB, "registration write: %s", sqlite3_errmsg(r->db));
    sqlite3_finalize(st);
  }
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  *status = 204;
  pg_buf_reset(resp);
  pg_log_info("registry", "%s: removed registration '%s'", r->owner_id, id);
  return PG_OK;
}

int pg_registry_handle(pg_registry *r, const char *method, const char *path, const void *body,
                       size_t len, unsigned *status, pg_buf *resp) {
  char id[PG_GRID_MAX_ID + 1], side_key[PG_GRID_TRYTES + 1];
  pg_diag d = {{0}};
  if (strncmp(path, "/registration/", 14) != 0)
    return answer_error(resp, status, 404, "not_found", "no such path");
  if (pg_grid_registration_path(path, strlen(path), id, side_key, &d) != PG_OK)
    return answer_error(resp, status, 400, "invalid", d.msg);
  bool put = strcmp(method, "PUT") == 0, del = strcmp(method, "DELETE") == 0;
  if ((side_key[0] && !del) || (!side_key[0] && !put)) {
    if (side_key[0] ? put : del)
      return answer_error(resp, status, 404, "not_found", "no such path");
    return answer_error(resp, status, 405, "method_not_allowed",
                        side_key[0] ? "use DELETE on /registration/{id}/{sideKey}"
                                    : "use PUT on /registration/{id}");
  }
  if (put && len > PG_GRID_MAX_JSON)
    return answer_error(resp, status, 413, "too_large", "registration: body over 4096 bytes");
  pthread_mutex_lock(&r->mu);
  int rc = put ? do_put(r, id, body, len, status, resp) : do_delete(r, id, side_key, status, resp);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

/* ---- reading registered channels ---- */

static int set_reg(sqlite3 *db, const char *id, int state, const char *next_root, int add_msgs,
                   const char *error, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_gdb_prepare(db, "UPDATE registrations SET state = ?2, next_root = ?3,"
                              " messages = messages + ?4, error = COALESCE(?5, error) WHERE id = ?1",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, state);
  sqlite3_bind_text(st, 3, next_root, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 4, add_msgs);
  if (error)
    sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 5);
  if (sqlite3_step(st) != SQLITE_DONE) rc = pg_fail(d, PG_ERR_DB, "registration write: %s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

/* One message of one channel, in one transaction. *again: go on reading. */
static int read_one(pg_entity *e, pg_reg_row *reg, pg_reg_msg_fn fn, void *ctx, bool *again,
                    pg_diag *d) {
  *again = false;
  pg_chan_read m;
  pg_diag rd = {{0}};
  int rc = pg_chan_read_at(e->client, reg->next_root, reg->side_key, &m, &rd);
  if (rc == PG_ERR_NOT_FOUND) return PG_OK;
  if (rc && rc != PG_ERR_INVALID) {
    pg_entity_problem(e, "read_failures", "reading %s: %s", reg->id, rd.msg);
    return PG_OK;
  }
  int state = reg->state;
  const char *error = NULL;
  char why[300];
  int r2 = pg_gdb_begin(e->db, d);
  if (r2) return r2;
  if (rc == PG_ERR_INVALID) {
    snprintf(why, sizeof why, "%.64s: bad message skipped: %.200s", reg->id, rd.msg);
    pg_log_warn(e->role, "%s", why);
    r2 = pg_count_add(e->db, "bad_messages", 1, d);
  } else if (state == PG_REG_WAITING) {
    if (m.msg.command == PG_GRID_CMD_HELLO && strcmp(m.msg.u.hello.registration_id, reg->id) == 0) {
      state = PG_REG_ACTIVE;
      pg_log_info(e->role, "%s: channel of '%s' is active", e->id, reg->id);
    } else {
      state = PG_REG_REJECTED;
      snprintf(why, sizeof why, "the first message of the channel is not a hello naming '%s'",
               reg->id);
      error = why;
      pg_log_warn(e->role, "%s: registration '%s' rejected: %s", e->id, reg->id, why);
      r2 = pg_count_add(e->db, "rejected_channels", 1, d);
    }
  } else if (m.msg.command == PG_GRID_CMD_GOODBYE) {
    state = PG_REG_CLOSED;
    pg_log_info(e->role, "%s: '%s' said goodbye", e->id, reg->id);
  } else if (m.msg.command == PG_GRID_CMD_HELLO) {
    /* a repeated hello changes nothing */
  } else {
    r2 = fn(ctx, reg, &m, d);
  }
  if (!r2) r2 = set_reg(e->db, reg->id, state, m.next_root, 1, error, d);
  if (!r2) r2 = pg_gdb_commit(e->db, d);
  else pg_gdb_rollback(e->db);
  if (r2) return r2;
  reg->state = state;
  memcpy(reg->next_root, m.next_root, sizeof reg->next_root);
  *again = state == PG_REG_ACTIVE;
  return PG_OK;
}

int pg_registry_read(pg_entity *e, pg_reg_msg_fn fn, void *ctx, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_gdb_prepare(e->db, "SELECT id, name, type, state, side_key, next_root FROM registrations"
                                 " WHERE state IN (0, 1) ORDER BY id",
                          &st, d);
  if (rc) return rc;
  size_t n = 0, cap = 0;
  pg_reg_row *rows = NULL;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      size_t nc = cap ? cap * 2 : 16;
      pg_reg_row *nr = realloc(rows, nc * sizeof *nr);
      if (!nr) {
        rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
        break;
      }
      rows = nr;
      cap = nc;
    }
    pg_reg_row *r = &rows[n++];
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(r->name, sizeof r->name, "%s", (const char *)sqlite3_column_text(st, 1));
    r->type = sqlite3_column_int(st, 2);
    r->state = sqlite3_column_int(st, 3);
    snprintf(r->side_key, sizeof r->side_key, "%s", (const char *)sqlite3_column_text(st, 4));
    snprintf(r->next_root, sizeof r->next_root, "%s", (const char *)sqlite3_column_text(st, 5));
  }
  if (!rc && s != SQLITE_DONE) rc = pg_fail(d, PG_ERR_DB, "registrations read: %s", sqlite3_errmsg(e->db));
  sqlite3_finalize(st);
  for (size_t i = 0; !rc && i < n; i++) {
    bool again = true;
    for (int k = 0; !rc && again && k < PG_ENTITY_MAX_READ; k++)
      rc = read_one(e, &rows[i], fn, ctx, &again, d);
  }
  free(rows);
  return rc;
}
