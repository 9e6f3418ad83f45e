/* registry.c — the registration API (PUT / DELETE /registration/...) and the
 * reading of registered channels with the hello rule (docs/PROTOCOL.md). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/db.h"
#include "grid_internal.h"
#include "p2pgrid/base/array.h"
#include "p2pgrid/base/log.h"

const char pg_registry_schema[] =
    "CREATE TABLE IF NOT EXISTS registrations(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " type INTEGER NOT NULL, root TEXT NOT NULL, side_key TEXT NOT NULL,"
    " next_root TEXT NOT NULL, state INTEGER NOT NULL, messages INTEGER NOT NULL DEFAULT 0,"
    " registered_ms INTEGER NOT NULL, error TEXT, return_channel TEXT,"
    " next_leaf INTEGER NOT NULL DEFAULT 0);";

/* The reading cursor is (next_root, next_leaf). Databases made before
 * complete reading have no next_leaf: it is added as 0, which is where
 * their cursor was (the first leaf of the tree at next_root). */
static int migrate(sqlite3 *db, pg_diag *d) {
  int64_t has = 0;
  int rc = pg_db_i64(db,
                     "SELECT COUNT(*) FROM pragma_table_info('registrations')"
                     " WHERE name = 'next_leaf'",
                     0, 0, &has, d);
  if (!rc && !has)
    rc = pg_db_exec(db,
                    "ALTER TABLE registrations ADD COLUMN next_leaf INTEGER NOT NULL DEFAULT 0", d);
  return rc;
}

int pg_registry_init(pg_registry *r, const pg_entity *e, unsigned allowed, bool return_channels,
                     bool explicit_enrolment, const pg_registry_limits *limits, pg_diag *d) {
  memset(r, 0, sizeof *r);
  int rc = pg_entity_open_conn(e, &r->db, d);
  if (!rc) rc = migrate(r->db, d);
  if (rc) {
    if (r->db) pg_grid_db_close(r->db);
    r->db = NULL;
    return rc;
  }
  pthread_mutex_init(&r->mu, NULL);
  r->allowed = allowed;
  r->metrics = e->metrics;
  r->clock = e->clock;
  r->security = e->security;
  r->return_channels = return_channels;
  r->explicit_enrolment = explicit_enrolment;
  if (limits) r->limits = *limits;
  if (!r->limits.rate_per_min) r->limits.rate_per_min = 10;
  if (!r->limits.max_channels) r->limits.max_channels = 32;
  if (!r->limits.binding_skew_ms) r->limits.binding_skew_ms = 10 * 60 * 1000;
  snprintf(r->owner_id, sizeof r->owner_id, "%s", e->id);
  r->resource = e->resource;
  return PG_OK;
}

void pg_registry_fini(pg_registry *r) {
  if (!r->db) return;
  pg_grid_db_close(r->db);
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

/* A refusal: counted under "refused_<what>" (one counter per reason, so an
 * operator sees who knocks and how), logged, answered. */
static int refuse(pg_registry *r, pg_buf *resp, unsigned *status, unsigned code,
                  const char *what, const pg_httpd_peer *peer, const char *fmt, ...)
    PG_PRINTF(7, 8);
static int refuse(pg_registry *r, pg_buf *resp, unsigned *status, unsigned code,
                  const char *what, const pg_httpd_peer *peer, const char *fmt, ...) {
  char msg[300], counter[48];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(counter, sizeof counter, "refused_%s", what);
  if (pg_count_add(r->db, counter, 1, NULL) != PG_OK)
    pg_log_error("registry", "%s: cannot count %s", r->owner_id, counter);
  pg_grid_metrics_count(r->metrics, PG_GM_REG_REQUEST_REFUSED);
  pg_log_warn("registry", "%s: refused (%u) a registration request from %s%s%s: %s", r->owner_id,
              code, peer && peer->addr[0] ? peer->addr : "?",
              peer && peer->verified ? " as " : "", peer && peer->verified ? peer->member.id : "",
              msg);
  const char *token = code == 403 ? "forbidden" : code == 409 ? "conflict"
                      : code == 429 ? "too_many_requests" : code == 401 ? "unauthorized"
                      : "invalid";
  return answer_error(resp, status, code, token, msg);
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
    pg_grid_msg_set_resource(&m, &r->resource);
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

/* Fixed-window rate limit per member id (a slot table: a new id takes the
 * slot of the oldest window). false when over the limit. */
static bool rate_ok(pg_registry *r, const char *id, uint64_t now) {
  uint64_t window = now - now % 60000;
  size_t victim = 0;
  for (size_t i = 0; i < PG_REG_RATE_SLOTS; i++) {
    if (strcmp(r->rate[i].id, id) == 0) {
      if (r->rate[i].window_ms != window) r->rate[i].window_ms = window, r->rate[i].count = 0;
      return ++r->rate[i].count <= r->limits.rate_per_min;
    }
    if (r->rate[i].window_ms < r->rate[victim].window_ms) victim = i;
  }
  snprintf(r->rate[victim].id, sizeof r->rate[victim].id, "%s", id);
  r->rate[victim].window_ms = window;
  r->rate[victim].count = 1;
  return r->limits.rate_per_min >= 1;
}

/* Who may call: a verified member certificate for exactly this id. */
static bool caller_ok(pg_registry *r, const pg_httpd_peer *peer, const char *id, pg_buf *resp,
                      unsigned *status) {
  if (!peer || !peer->verified) {
    const char *why = peer && peer->why[0] ? peer->why : "no client certificate";
    const char *what = !peer || !peer->tls ? "no_tls" : !peer->has_cert ? "no_cert" : "bad_cert";
    refuse(r, resp, status, 403, what, peer,
           "registration needs a member certificate of this community: %s", why);
    return false;
  }
  if (strcmp(peer->member.id, id) != 0) {
    refuse(r, resp, status, 403, "wrong_id", peer,
           "the certificate is for '%s', not for '%s'", peer->member.id, id);
    return false;
  }
  return true;
}

typedef struct put_ctx {
  pg_registry *r;
  const pg_httpd_peer *peer;
  const char *id;
  pg_grid_registration reg;
  pg_enrol_row en;
  bool enrolled;
  bool exists, same;
} put_ctx;

/* The member rules of a PUT, before anything is written: role, parent,
 * enrolment, binding signature, replay, channel cap. false after answering. */
static bool member_ok(put_ctx *c, pg_buf *resp, unsigned *status) {
  pg_registry *r = c->r;
  const pg_member *m = &c->peer->member;
  pg_diag d = {{0}};
  if ((int)m->role != (int)c->reg.type) {
    refuse(r, resp, status, 403, "role", c->peer,
           "'%s' holds a %s certificate and cannot register a %s", m->id,
           pg_role_name(m->role) ? pg_role_name(m->role) : "role-less",
           pg_grid_entity_name(c->reg.type));
    return false;
  }
  if (m->role == PG_ROLE_SOURCE && strcmp(m->parent, r->owner_id) != 0) {
    refuse(r, resp, status, 403, "parent", c->peer,
           "the certificate of source '%s' names producer '%s', not '%s'", m->id,
           m->parent[0] ? m->parent : "(none)", r->owner_id);
    return false;
  }
  if (pg_enrolment_get(r->db, c->id, &c->en, &c->enrolled, &d) != PG_OK) {
    answer_error(resp, status, 500, "internal", d.msg);
    return false;
  }
  char fp[65];
  pg_member_fingerprint_hex(m, fp);
  if (!c->enrolled && r->explicit_enrolment) {
    refuse(r, resp, status, 403, "not_enrolled", c->peer,
           "'%s' is not enrolled at '%s' (the operator enrols members: p2pgrid grid enrol)",
           c->id, r->owner_id);
    return false;
  }
  if (c->enrolled && strcmp(c->en.state, "active") != 0) {
    refuse(r, resp, status, 403, "suspended", c->peer, "the enrolment of '%s' is %s", c->id,
           c->en.state);
    return false;
  }
  if (c->enrolled && r->explicit_enrolment && strcmp(c->en.fingerprint, fp) != 0) {
    refuse(r, resp, status, 403, "other_cert", c->peer,
           "'%s' is enrolled with another certificate (fingerprint %.16s...)", c->id,
           c->en.fingerprint);
    return false;
  }
  if (!c->reg.signature.sig_len) {
    refuse(r, resp, status, 403, "unsigned", c->peer,
           "registration: 'time' and 'signature' (the channel binding) are required");
    return false;
  }
  uint64_t now = pg_clock_now(r->clock), t = c->reg.time;
  uint64_t skew = t > now ? t - now : now - t;
  if (skew > r->limits.binding_skew_ms) {
    refuse(r, resp, status, 403, "binding_time", c->peer,
           "the binding's time is %llu s away from ours (at most %llu s)",
           (unsigned long long)(skew / 1000),
           (unsigned long long)(r->limits.binding_skew_ms / 1000));
    return false;
  }
  pg_buf msg;
  pg_buf_init(&msg, 512);
  int rc = pg_grid_binding_bytes(c->id, &c->reg.channel, t, &msg, &d);
  if (!rc)
    rc = pg_tls_sig_verify(c->peer->cert_der, c->peer->cert_len, msg.data, msg.len,
                           c->reg.signature.sig, c->reg.signature.sig_len, &d);
  pg_buf_free(&msg);
  if (rc) {
    refuse(r, resp, status, 403, "binding", c->peer,
           "the channel binding does not verify with the certificate's key: %s", d.msg);
    return false;
  }
  if (c->enrolled && (int64_t)t <= c->en.last_binding_ms) {
    refuse(r, resp, status, 409, "replay", c->peer,
           "replayed registration: a binding of %llu ms is not newer than the last one accepted",
           (unsigned long long)t);
    return false;
  }
  return true;
}

/* Reads the current registration of c->id: exists (not removed) and same
 * (the same type and channel). */
static int current(put_ctx *c, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(c->r->db,
                          "SELECT type, root, side_key, state FROM registrations WHERE id = ?1",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  int s = sqlite3_step(st);
  if (s == SQLITE_ROW) {
    c->exists = sqlite3_column_int(st, 3) != PG_REG_REMOVED;
    c->same = sqlite3_column_int(st, 0) == (int)c->reg.type &&
              strcmp((const char *)sqlite3_column_text(st, 1), c->reg.channel.root) == 0 &&
              strcmp((const char *)sqlite3_column_text(st, 2), c->reg.channel.side_key) == 0;
  } else if (s != SQLITE_DONE) {
    rc = pg_db_fail(c->r->db, d, "registrations read");
  }
  pg_stmt_put(st);
  return rc;
}

static int write_registration(put_ctx *c, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(c->r->db,
                          "INSERT INTO registrations(id, name, type, root, side_key, next_root, state,"
                          " registered_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?4, 0, ?6)"
                          " ON CONFLICT(id) DO UPDATE SET name = excluded.name, type = excluded.type,"
                          " root = excluded.root, side_key = excluded.side_key,"
                          " next_root = excluded.root, next_leaf = 0, state = 0, messages = 0,"
                          " error = NULL,"
                          " registered_ms = excluded.registered_ms",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->reg.name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, (int)c->reg.type);
  sqlite3_bind_text(st, 4, c->reg.channel.root, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, c->reg.channel.side_key, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, (sqlite3_int64)pg_clock_now(c->r->clock));
  return pg_stmt_step_done(c->r->db, st, "registration write", d);
}

/* The enrolment side of an accepted PUT: pin the certificate (a producer's
 * sources), count a new channel, remember the binding time, take a
 * producer's payment address. */
static int write_enrolment(put_ctx *c, bool new_channel, pg_diag *d) {
  pg_registry *r = c->r;
  const pg_member *m = &c->peer->member;
  int rc = PG_OK;
  if (!c->enrolled) {
    rc = pg_enrolment_put(r->db, m, c->peer->cert_der, c->peer->cert_len, NULL,
                          (int64_t)pg_clock_now(r->clock), d);
  } else if (!r->explicit_enrolment) {
    char fp[65];
    pg_member_fingerprint_hex(m, fp);
    if (strcmp(fp, c->en.fingerprint) != 0) /* a renewed source certificate */
      rc = pg_enrolment_put(r->db, m, c->peer->cert_der, c->peer->cert_len, NULL,
                            (int64_t)pg_clock_now(r->clock), d);
  }
  if (!rc)
    rc = pg_enrolment_update(r->db, c->id,
                             "last_binding_ms = ?2, channels = channels + (?3 IS NOT NULL)",
                             (int64_t)c->reg.time, new_channel ? "new" : NULL, d);
  if (!rc && c->reg.payment_address[0])
    rc = pg_enrolment_update(r->db, c->id, "address = ?3, last_binding_ms = MAX(?2, last_binding_ms)",
                             (int64_t)c->reg.time, c->reg.payment_address, d);
  return rc;
}

static int do_put(pg_registry *r, const pg_httpd_peer *peer, const char *id, const void *body,
                  size_t len, unsigned *status, pg_buf *resp) {
  put_ctx c = {.r = r, .peer = peer, .id = id};
  pg_diag d = {{0}};
  if (!caller_ok(r, peer, id, resp, status)) return PG_OK;
  if (!rate_ok(r, id, pg_clock_now(r->clock)))
    return refuse(r, resp, status, 429, "rate", peer,
                  "too many registration requests for '%s' (at most %u a minute)", id,
                  r->limits.rate_per_min);
  if (pg_grid_registration_parse(body, len, &c.reg, &d) != PG_OK)
    return refuse(r, resp, status, 400, "invalid", peer, "%s", d.msg);
  if (!(r->allowed & (1u << c.reg.type)))
    return refuse(r, resp, status, 403, "type", peer, "registration: a %s cannot register here",
                  pg_grid_entity_name(c.reg.type));
  if (c.reg.payment_address[0] && c.reg.type != PG_GRID_ENTITY_PRODUCER)
    return refuse(r, resp, status, 400, "invalid", peer,
                  "registration: only a producer has a 'paymentAddress'");
  if (!member_ok(&c, resp, status)) return PG_OK;
  int rc = pg_grid_begin(r->db, &d);
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  rc = current(&c, &d);
  if (!rc && c.exists && !c.same) {
    pg_db_rollback(r->db);
    return refuse(r, resp, status, 409, "conflict", peer,
                  "registration: '%s' is registered with another channel or type; DELETE it first",
                  id);
  }
  if (!rc && !c.exists && c.enrolled && c.en.channels >= (int64_t)r->limits.max_channels) {
    pg_db_rollback(r->db);
    return refuse(r, resp, status, 403, "cap", peer,
                  "'%s' has registered %lld channels, the most one enrolment may", id,
                  (long long)c.en.channels);
  }
  if (!rc && !c.exists) rc = write_registration(&c, &d);
  if (!rc) rc = write_enrolment(&c, !c.exists, &d);
  pg_grid_channel ret;
  bool has_ret = r->return_channels && c.reg.type == PG_GRID_ENTITY_CONSUMER;
  if (!rc && has_ret) rc = return_channel(r, id, &ret, &d);
  if (!rc) rc = pg_grid_commit(r->db, &d);
  else pg_db_rollback(r->db);
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  /* the answer: a consumer's return channel and the root of our public
   * record (kv "record_root"; a grid has one, a producer does not) */
  pg_grid_reg_answer ans = {.has_return = has_ret};
  if (has_ret) ans.ret = ret;
  if (pg_kv_get_text(r->db, "record_root", ans.record, sizeof ans.record, &d) != PG_OK)
    return answer_error(resp, status, 500, "internal", d.msg);
  *status = c.exists ? 200 : 201;
  pg_buf_reset(resp);
  if (pg_grid_reg_answer_serialize(&ans, resp, &d) != PG_OK)
    return answer_error(resp, status, 500, "internal", d.msg);
  pg_grid_metrics_count(r->metrics, PG_GM_REG_REQUEST_ACCEPTED);
  if (!c.exists)
    pg_log_info("registry", "%s: registered %s '%s' (%s)", r->owner_id,
                pg_grid_entity_name(c.reg.type), id, c.reg.name);
  return PG_OK;
}

static int do_delete(pg_registry *r, const pg_httpd_peer *peer, const char *id, unsigned *status,
                     pg_buf *resp) {
  pg_diag d = {{0}};
  bool operator = peer && peer->verified && peer->member.role == PG_ROLE_OPERATOR;
  if (!operator && !caller_ok(r, peer, id, resp, status)) return PG_OK;
  if (!rate_ok(r, id, pg_clock_now(r->clock)))
    return refuse(r, resp, status, 429, "rate", peer,
                  "too many registration requests for '%s' (at most %u a minute)", id,
                  r->limits.rate_per_min);
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(r->db, "UPDATE registrations SET state = 4 WHERE id = ?1 AND state != 4",
                          &st, &d);
  if (!rc) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = pg_stmt_step_done(r->db, st, "registration write", &d);
  }
  if (rc) return answer_error(resp, status, 500, "internal", d.msg);
  if (sqlite3_changes(r->db) == 0)
    return answer_error(resp, status, 404, "not_found", "registration: no such registration");
  *status = 204;
  pg_buf_reset(resp);
  pg_log_info("registry", "%s: removed registration '%s' (by %s)", r->owner_id, id,
              peer->member.id);
  return PG_OK;
}

int pg_registry_handle(pg_registry *r, const pg_httpd_peer *peer, const char *method,
                       const char *path, const void *body, size_t len, unsigned *status,
                       pg_buf *resp) {
  char id[PG_GRID_MAX_ID + 1], side_key[PG_GRID_TRYTES + 1];
  pg_diag d = {{0}};
  if (strncmp(path, "/registration/", 14) != 0)
    return answer_error(resp, status, 404, "not_found", "no such path");
  if (pg_grid_registration_path(path, strlen(path), id, side_key, &d) != PG_OK)
    return answer_error(resp, status, 400, "invalid", d.msg);
  bool put = strcmp(method, "PUT") == 0, del = strcmp(method, "DELETE") == 0;
  if (side_key[0]) /* the old DELETE /registration/{id}/{sideKey}: a key in a URL */
    return answer_error(resp, status, 410, "gone",
                        "a side key in the URL is no longer accepted: DELETE /registration/{id}"
                        " with the member's certificate");
  if (!put && !del)
    return answer_error(resp, status, 405, "method_not_allowed",
                        "use PUT or DELETE on /registration/{id}");
  if (put && len > PG_GRID_MAX_JSON)
    return answer_error(resp, status, 413, "too_large", "registration: body over 4096 bytes");
  pthread_mutex_lock(&r->mu);
  int rc = put ? do_put(r, peer, id, body, len, status, resp) : do_delete(r, peer, id, status, resp);
  pthread_mutex_unlock(&r->mu);
  return rc;
}

/* ---- reading registered channels ---- */

static int set_reg(sqlite3 *db, const char *id, int state, const pg_mam_cursor *at, int add_msgs,
                   const char *error, pg_diag *d) {
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(db, "UPDATE registrations SET state = ?2, next_root = ?3, next_leaf = ?6,"
                              " messages = messages + ?4, error = COALESCE(?5, error) WHERE id = ?1",
                          &st, d);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 2, state);
  sqlite3_bind_text(st, 3, at->root, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 4, add_msgs);
  if (error)
    sqlite3_bind_text(st, 5, error, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 5);
  sqlite3_bind_int64(st, 6, (sqlite3_int64)at->leaf);
  return pg_stmt_step_done(db, st, "registration write", d);
}

/* The hello of a registered channel must carry the member's enrolled
 * certificate and its signature over the channel binding (so anyone with the
 * channel's keys and the CA certificate can check from the Tangle alone that
 * the channel is the member's). why = "" when it does; else the reason. */
static int hello_bound(pg_entity *e, const pg_reg_row *reg, const pg_grid_hello *h, char *why,
                       size_t cap, pg_diag *d) {
  pg_enrol_row en;
  bool found = false;
  int rc = pg_enrolment_get(e->db, reg->id, &en, &found, d);
  if (rc) return rc;
  why[0] = '\0';
  if (!found) {
    snprintf(why, cap, "'%s' has no enrolment", reg->id);
    return PG_OK;
  }
  if (!h->cert_len) {
    snprintf(why, cap, "the hello of '%s' carries no certificate and binding signature", reg->id);
    return PG_OK;
  }
  pg_member m;
  pg_diag cd = {{0}};
  char fp[65];
  if (pg_member_from_cert(h->cert, h->cert_len, &m, &cd) != PG_OK) {
    snprintf(why, cap, "the hello's certificate: %.200s", cd.msg);
    return PG_OK;
  }
  pg_member_fingerprint_hex(&m, fp);
  if (strcmp(fp, en.fingerprint) != 0) {
    snprintf(why, cap, "the hello's certificate is not the one '%s' registered with", reg->id);
    return PG_OK;
  }
  pg_grid_channel ch;
  memcpy(ch.root, reg->root, sizeof ch.root);
  memcpy(ch.side_key, reg->side_key, sizeof ch.side_key);
  pg_buf msg;
  pg_buf_init(&msg, 512);
  int vr = pg_grid_binding_bytes(reg->id, &ch, h->time, &msg, &cd);
  if (!vr)
    vr = pg_tls_sig_verify(h->cert, h->cert_len, msg.data, msg.len, h->signature.sig,
                           h->signature.sig_len, &cd);
  pg_buf_free(&msg);
  if (vr) snprintf(why, cap, "the hello's binding signature: %.200s", cd.msg);
  return PG_OK;
}

/* why = "" when m (a hello, output or usage) counts our resource in our
 * unit; else the reason naming both, logged and counted "wrong_resource". */
static int resource_ok(pg_entity *e, const pg_reg_row *reg, const pg_grid_msg *m, char *why,
                       size_t cap, pg_diag *d) {
  why[0] = '\0';
  if (m->command != PG_GRID_CMD_HELLO && m->command != PG_GRID_CMD_OUTPUT &&
      m->command != PG_GRID_CMD_USAGE)
    return PG_OK;
  if (pg_grid_msg_is_resource(m, &e->resource)) return PG_OK;
  char theirs[PG_RESOURCE_NAME_MAX + PG_RESOURCE_UNIT_MAX + 2];
  pg_grid_msg_resource_label(m, theirs, sizeof theirs);
  snprintf(why, cap, "channel %s: resource %s is not this %s's %s/%s", reg->id, theirs,
           e->type == PG_GRID_ENTITY_PRODUCER ? "producer" : "grid", e->resource.name,
           e->resource.unit);
  pg_log_warn(e->role, "%s: %s %s refused: %s", e->id, reg->id, pg_grid_command_name(m->command),
              why);
  return pg_count_add(e->db, "wrong_resource", 1, d);
}

/* One message of one channel, in one transaction that also moves the
 * channel's cursor past it. *again: go on reading. */
static int handle_one(pg_entity *e, pg_reg_row *reg, const pg_chan_read *m, pg_reg_msg_fn fn,
                      void *ctx, bool *again, pg_diag *d) {
  *again = false;
  int state = reg->state;
  const char *error = NULL;
  char why[300] = "";
  int r2 = pg_db_savepoint(e->db, "pg_msg", d);
  if (r2) return r2;
  if (m->status) {
    snprintf(why, sizeof why, "%.64s: bad message skipped: %.200s", reg->id, m->why);
    pg_log_warn(e->role, "%s", why);
    r2 = pg_count_add(e->db, "bad_messages", 1, d);
  } else if (state == PG_REG_WAITING) {
    if (m->msg.command != PG_GRID_CMD_HELLO || strcmp(m->msg.u.hello.registration_id, reg->id) != 0)
      snprintf(why, sizeof why, "the first message of the channel is not a hello naming '%s'",
               reg->id);
    else
      r2 = resource_ok(e, reg, &m->msg, why, sizeof why, d);
    if (!r2 && !why[0]) r2 = hello_bound(e, reg, &m->msg.u.hello, why, sizeof why, d);
    if (!r2 && !why[0]) {
      state = PG_REG_ACTIVE;
      pg_log_info(e->role, "%s: channel of '%s' is active", e->id, reg->id);
    } else if (!r2) {
      state = PG_REG_REJECTED;
      error = why;
      pg_log_warn(e->role, "%s: registration '%s' rejected: %s", e->id, reg->id, why);
      r2 = pg_count_add(e->db, "rejected_channels", 1, d);
    }
  } else if (m->msg.command == PG_GRID_CMD_GOODBYE) {
    state = PG_REG_CLOSED;
    pg_log_info(e->role, "%s: '%s' said goodbye", e->id, reg->id);
  } else if ((r2 = resource_ok(e, reg, &m->msg, why, sizeof why, d)) != PG_OK || why[0]) {
    /* another resource: never settled (a repeated hello changes nothing) */
    if (!r2 && m->msg.command != PG_GRID_CMD_HELLO) {
      r2 = pg_count_add(e->db, "rejected_readings", 1, d);
      pg_grid_metrics_count(e->metrics, PG_GM_READING_REFUSED);
    }
  } else if (m->msg.command == PG_GRID_CMD_HELLO) {
    /* a repeated hello changes nothing */
  } else {
    r2 = fn(ctx, reg, m, d);
  }
  if (!r2) r2 = set_reg(e->db, reg->id, state, &m->next, 1, error, d);
  /* rolled back on failure; a RELEASE that fails is this message's error */
  if ((r2 = pg_db_savepoint_end(e->db, "pg_msg", r2, d))) return r2;
  reg->state = state;
  reg->at = m->next;
  *again = state == PG_REG_ACTIVE;
  return PG_OK;
}

/* The next messages of one channel (up to max): what pg_chan_read_from
 * gives, or nothing with the problem recorded (the channel is read again
 * next step). more: the read stopped at a tree's end or at max, so more may
 * follow at once; a read that stopped at a missing leaf has read all there
 * is (reading again would only ask the node the same). */
typedef struct reg_batch {
  pg_chan_read *ms;
  size_t n;
  bool failed, more;
} reg_batch;

/* A read's outcome (rc, its diag, info) as the channel's batch. */
static void batch_outcome(pg_entity *e, const pg_reg_row *reg, int rc, const pg_diag *rd,
                          const pg_mam_read_info *info, reg_batch *b) {
  if (rc) {
    pg_entity_problem(e, "read_failures", "reading %s: %s", reg->id, rd->msg);
    b->failed = true;
    return;
  }
  b->more = info->stop != PG_MAM_STOP_MISSING;
  if (b->n == 0 && info->stop == PG_MAM_STOP_MISSING && info->later)
    pg_log_debug(e->role, "%s: leaf %u of %s's tree %.81s is missing; %zu later message(s) wait",
                 e->id, (unsigned)reg->at.leaf, reg->id, reg->at.root, info->later);
}

static void read_batch(pg_entity *e, const pg_reg_row *reg, size_t max, reg_batch *b) {
  pg_diag rd = {{0}};
  pg_mam_read_info info;
  memset(b, 0, sizeof *b);
  int rc = pg_chan_read_from(e->client, &reg->at, reg->side_key, max, &b->ms, &b->n, &info, &rd);
  batch_outcome(e, reg, rc, &rd, &info, b);
}

/* What is new on one channel, up to PG_ENTITY_MAX_READ messages: every leaf
 * of its trees in order, each message under its own savepoint (in the
 * caller's transaction). first: the channel's first batch, read already
 * (read_all); taken over (freed here). */
static int read_channel(pg_entity *e, pg_reg_row *reg, reg_batch *first, pg_reg_msg_fn fn,
                        void *ctx, pg_diag *d) {
  size_t done = 0;
  bool again = true;
  int rc = PG_OK;
  reg_batch b = *first;
  memset(first, 0, sizeof *first);
  for (;;) {
    if (b.failed) return PG_OK;
    for (size_t i = 0; i < b.n && !rc && again; i++) rc = handle_one(e, reg, &b.ms[i], fn, ctx, &again, d);
    free(b.ms);
    done += b.n;
    if (rc || !again || b.n == 0 || !b.more || done >= PG_ENTITY_MAX_READ) return rc;
    read_batch(e, reg, PG_ENTITY_MAX_READ - done, &b);
  }
}

/* What pg_registries_read_ahead read for one entity: per channel (in id
 * order) its id, the cursor and key read at, and the read's result. */
struct pg_reg_ahead {
  size_t n;
  pg_reg_row *rows;
  pg_chan_read_req *rq; /* rq[i].side_key points into rows[i] */
};

void pg_registry_ahead_free(pg_entity *e) {
  struct pg_reg_ahead *a = e->reg_ahead;
  e->reg_ahead = NULL;
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) free(a->rq[i].list);
  free(a->rq);
  free(a->rows);
  free(a);
}

/* The request that reads rows[i]'s first batch. */
static pg_chan_read_req first_req(const pg_reg_row *row) {
  return (pg_chan_read_req){.at = row->at, .side_key = row->side_key, .max = PG_ENTITY_MAX_READ};
}

/* A finished read of row's channel as its batch (b takes q's list). */
static void req_batch(pg_entity *e, const pg_reg_row *row, pg_chan_read_req *q, reg_batch *b) {
  memset(b, 0, sizeof *b);
  b->ms = q->list;
  b->n = q->n;
  q->list = NULL, q->n = 0;
  batch_outcome(e, row, q->rc, &q->d, &q->info, b);
}

/* Takes the batches read ahead for rows (both in id order) whose cursor
 * and key are unchanged; have[i] says which. */
static void take_ahead(pg_entity *e, const pg_reg_row *rows, size_t n, reg_batch *out, bool *have) {
  struct pg_reg_ahead *a = e->reg_ahead;
  for (size_t i = 0, j = 0; a && i < n; i++) {
    while (j < a->n && strcmp(a->rows[j].id, rows[i].id) < 0) j++;
    if (j == a->n) break;
    const pg_reg_row *r = &a->rows[j];
    if (strcmp(r->id, rows[i].id) != 0 || r->at.leaf != rows[i].at.leaf ||
        strcmp(r->at.root, rows[i].at.root) != 0 || strcmp(r->side_key, rows[i].side_key) != 0)
      continue;
    req_batch(e, &rows[i], &a->rq[j], &out[i]);
    have[i] = true;
  }
}

/* Phase 1 of a read: the first batch of every channel not read ahead
 * (have[i] false), before any is handled (reading changes nothing here: the
 * messages are the node's), the signatures of all of them checked together
 * (pg_chan_read_many). */
static void read_all(pg_entity *e, const pg_reg_row *rows, size_t n, reg_batch *out,
                     const bool *have) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) m += !have[i];
  if (m == 0) return;
  pg_chan_read_req *rq = calloc(m, sizeof *rq);
  size_t *who = calloc(m, sizeof *who);
  for (size_t i = 0, k = 0; rq && who && i < n; i++)
    if (!have[i]) who[k] = i, rq[k++] = first_req(&rows[i]);
  if (!rq || !who || pg_chan_read_many(e->client, rq, m, NULL) != PG_OK) { /* memory: one by one */
    free(rq), free(who);
    for (size_t i = 0; i < n; i++)
      if (!have[i]) read_batch(e, &rows[i], PG_ENTITY_MAX_READ, &out[i]);
    return;
  }
  for (size_t k = 0; k < m; k++) req_batch(e, &rows[who[k]], &rq[k], &out[who[k]]);
  free(rq), free(who);
}

/* Phase 2: every channel's messages handled in one transaction (each
 * message its own savepoint: a message that fails is rolled back alone, the
 * ones before it are kept, the error returned). */
static int handle_all(pg_entity *e, pg_reg_row *rows, reg_batch *b, size_t n, pg_reg_msg_fn fn,
                      void *ctx, pg_diag *d) {
  size_t any = 0;
  for (size_t i = 0; i < n; i++) any += b[i].n;
  if (any == 0) return PG_OK;
  int rc = pg_grid_begin(e->db, d);
  for (size_t i = 0; !rc && i < n; i++) rc = read_channel(e, &rows[i], &b[i], fn, ctx, d);
  if (sqlite3_get_autocommit(e->db)) return rc; /* BEGIN failed */
  pg_diag cd = {{0}};
  int crc = pg_grid_commit(e->db, &cd);
  if (!rc && crc) rc = pg_fail(d, crc, "%s", cd.msg);
  return rc;
}

/* The waiting and active registrations, in id order. */
static int list_rows(pg_entity *e, pg_reg_row **out, size_t *nout, pg_diag *d) {
  *out = NULL;
  *nout = 0;
  sqlite3_stmt *st = NULL;
  int rc = pg_stmt_get(e->db, "SELECT id, name, type, state, side_key, next_root, next_leaf, root"
                                 " FROM registrations WHERE state IN (0, 1) ORDER BY id",
                          &st, d);
  if (rc) return rc;
  size_t n = 0, cap = 0;
  pg_reg_row *rows = NULL;
  int s;
  while ((s = sqlite3_step(st)) == SQLITE_ROW) {
    if (pg_grow(&rows, &cap, n + 1, sizeof *rows, 0)) {
      rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
      break;
    }
    pg_reg_row *r = &rows[n++];
    snprintf(r->id, sizeof r->id, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(r->name, sizeof r->name, "%s", (const char *)sqlite3_column_text(st, 1));
    r->type = sqlite3_column_int(st, 2);
    r->state = sqlite3_column_int(st, 3);
    snprintf(r->side_key, sizeof r->side_key, "%s", (const char *)sqlite3_column_text(st, 4));
    snprintf(r->at.root, sizeof r->at.root, "%s", (const char *)sqlite3_column_text(st, 5));
    r->at.leaf = (uint32_t)sqlite3_column_int64(st, 6);
    snprintf(r->root, sizeof r->root, "%s", (const char *)sqlite3_column_text(st, 7));
  }
  if (!rc && s != SQLITE_DONE) rc = pg_db_fail(e->db, d, "registrations read");
  pg_stmt_put(st);
  if (rc) {
    free(rows);
    return rc;
  }
  *out = rows;
  *nout = n;
  return PG_OK;
}

int pg_registry_read(pg_entity *e, pg_reg_msg_fn fn, void *ctx, pg_diag *d) {
  pg_reg_row *rows = NULL;
  size_t n = 0;
  int rc = list_rows(e, &rows, &n, d);
  reg_batch *b = rc || n == 0 ? NULL : calloc(n, sizeof *b);
  bool *have = rc || n == 0 ? NULL : calloc(n, sizeof *have);
  if (!rc && n && (!b || !have)) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!rc && n) {
    take_ahead(e, rows, n, b, have);
    read_all(e, rows, n, b, have);
    rc = handle_all(e, rows, b, n, fn, ctx, d);
  }
  pg_registry_ahead_free(e); /* what was not taken is stale after this read */
  for (size_t i = 0; b && i < n; i++) free(b[i].ms);
  free(b), free(have);
  free(rows);
  return rc;
}

/* Keeps rows and their read results (rq[0..n)) as e's read-ahead. */
static int keep_ahead(pg_entity *e, pg_reg_row *rows, pg_chan_read_req *rq, size_t n, pg_diag *d) {
  struct pg_reg_ahead *a = calloc(1, sizeof *a);
  pg_chan_read_req *mine = n ? malloc(n * sizeof *mine) : NULL;
  if (!a || (n && !mine)) {
    free(a), free(mine);
    for (size_t i = 0; i < n; i++) free(rq[i].list), rq[i].list = NULL;
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) mine[i] = rq[i], rq[i].list = NULL;
  a->n = n, a->rows = rows, a->rq = mine;
  pg_registry_ahead_free(e); /* an entity given twice keeps its last */
  e->reg_ahead = a;
  return PG_OK;
}

int pg_registries_read_ahead(pg_entity *const *es, size_t n, pg_diag *d) {
  pg_reg_row **rows = calloc(n ? n : 1, sizeof *rows);
  size_t *nr = calloc(n ? n : 1, sizeof *nr), total = 0;
  int rc = rows && nr ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    pg_registry_ahead_free(es[i]);
    rc = list_rows(es[i], &rows[i], &nr[i], d);
    total += nr[i];
  }
  pg_chan_read_req *rq = !rc && total ? calloc(total, sizeof *rq) : NULL;
  if (!rc && total && !rq) rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  if (!rc && total) {
    for (size_t i = 0, k = 0; i < n; i++)
      for (size_t j = 0; j < nr[i]; j++) rq[k++] = first_req(&rows[i][j]);
    bool read = pg_chan_read_many(es[0]->client, rq, total, NULL) == PG_OK; /* else its memory */
    for (size_t i = 0, k = 0; !rc && read && i < n; k += nr[i], i++) {
      rc = keep_ahead(es[i], rows[i], rq + k, nr[i], d);
      if (!rc) rows[i] = NULL; /* kept */
    }
    for (size_t k = 0; rq && k < total; k++) free(rq[k].list);
    if (rc)
      for (size_t i = 0; i < n; i++) pg_registry_ahead_free(es[i]);
  }
  for (size_t i = 0; rows && i < n; i++) free(rows[i]);
  free(rows), free(nr), free(rq);
  return rc;
}
