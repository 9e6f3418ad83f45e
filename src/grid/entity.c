/* entity.c — what every entity shares: its database, its main channel, its
 * registration upstream, problems and status. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "grid_internal.h"
#include "p2pgrid/base/backup.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/log.h"

uint64_t pg_entity_now(const pg_entity *e) { return pg_clock_now(e->clock); }

bool pg_poll_due(const pg_poll *p, uint64_t now, uint64_t slot_ms) {
  return now / slot_ms != p->slot || now >= p->due_ms;
}

void pg_poll_done(pg_poll *p, uint64_t now, uint64_t slot_ms, bool found, uint64_t min_ms,
                  uint64_t cap_ms) {
  uint64_t gap = p->gap_ms ? 2 * p->gap_ms : min_ms;
  p->gap_ms = found ? 0 : gap < cap_ms ? gap : cap_ms;
  p->due_ms = now + p->gap_ms;
  p->slot = now / slot_ms;
}

void pg_poll_wake(pg_poll *p) { *p = (pg_poll){0}; }

uint64_t pg_poll_cap(uint64_t slot_ms, uint64_t floor_ms) {
  uint64_t c = slot_ms / 8 < PG_POLL_GAP_MAX_MS ? slot_ms / 8 : PG_POLL_GAP_MAX_MS;
  return c > floor_ms ? c : floor_ms;
}

int pg_entity_sign_binding(const pg_entity *e, const pg_grid_channel *c, uint64_t time_ms,
                           pg_grid_signature *out, pg_diag *d) {
  out->sig_len = 0;
  if (!e->key) return pg_fail(d, PG_ERR_CONFIG, "%s: no member key to sign the channel binding", e->role);
  pg_buf msg;
  pg_buf_init(&msg, 512);
  int rc = pg_grid_binding_bytes(e->id, c, time_ms, &msg, d);
  if (!rc) rc = pg_tls_sign(e->key, msg.data, msg.len, out->sig, sizeof out->sig, &out->sig_len, d);
  pg_buf_free(&msg);
  return rc;
}

int pg_entity_hello_init(const pg_entity *e, pg_grid_hello *h, pg_diag *d) {
  memset(h, 0, sizeof *h);
  snprintf(h->registration_id, sizeof h->registration_id, "%s", e->id);
  snprintf(h->name, sizeof h->name, "%s", e->name);
  h->time = pg_entity_now(e);
  if (!e->key) return PG_OK;
  size_t n = 0;
  const uint8_t *der = pg_tls_key_cert_der(e->key, &n);
  if (!der || n == 0 || n > sizeof h->cert)
    return pg_fail(d, PG_ERR_CONFIG, "%s: the member key has no certificate (or one over %zu bytes)",
                   e->role, sizeof h->cert);
  memcpy(h->cert, der, n);
  h->cert_len = n;
  return PG_OK;
}

void pg_entity_mark(const pg_entity *e, pg_grid_msg *m) {
  pg_grid_msg_set_resource(m, &e->resource);
}

void pg_entity_reading(const pg_entity *e, pg_grid_command cmd, uint64_t k, int64_t q,
                       pg_grid_msg *m) {
  memset(m, 0, sizeof *m);
  m->command = cmd;
  pg_entity_mark(e, m);
  uint64_t start = pg_slot_start(k, e->slot_ms), end = pg_slot_start(k + 1, e->slot_ms);
  if (cmd == PG_GRID_CMD_USAGE)
    m->u.usage = (pg_grid_usage){.slot = k, .start_time = start, .end_time = end, .usage_wh = q};
  else
    m->u.output = (pg_grid_output){.slot = k, .start_time = start, .end_time = end, .output_wh = q};
}

/* Our main channel's hello: who we are, and (with a member key) our
 * certificate and the binding of the channel to it. */
static int queue_hello(pg_entity *e, const pg_chan_info *ci, pg_grid_entity type, pg_diag *d) {
  pg_grid_msg m = {.command = PG_GRID_CMD_HELLO};
  pg_grid_hello *h = &m.u.hello;
  int rc = pg_entity_hello_init(e, h, d);
  if (rc) return rc;
  pg_entity_mark(e, &m);
  h->type = type;
  if (e->key) {
    pg_grid_channel ch;
    memcpy(ch.root, ci->root, sizeof ch.root);
    memcpy(ch.side_key, ci->side_key, sizeof ch.side_key);
    rc = pg_entity_sign_binding(e, &ch, h->time, &h->signature, d);
  }
  return rc ? rc : pg_chan_queue(e->db, "main", &m, d);
}

/* The resource a database was made for is fixed too (kv "resource",
 * "name/unit"; databases from before it: electricity/Wh): its readings are
 * counts of that unit. */
static int check_resource(pg_entity *e, const char *role, pg_diag *d) {
  char stored[PG_RESOURCE_NAME_MAX + PG_RESOURCE_UNIT_MAX + 2], ours[sizeof stored];
  snprintf(ours, sizeof ours, "%s/%s", e->resource.name, e->resource.unit);
  int rc = pg_kv_get_text(e->db, "resource", stored, sizeof stored, d);
  if (rc) return rc;
  if (!stored[0]) {
    int64_t slot = -1; /* an older database with readings: electricity */
    rc = pg_kv_get_i64(e->db, "next_slot", -1, &slot, d);
    if (!rc && slot >= 0 && !pg_resource_is_electricity(&e->resource))
      snprintf(stored, sizeof stored, "electricity/Wh");
  }
  if (!rc && stored[0] && strcmp(stored, ours) != 0)
    return pg_fail(d, PG_ERR_CONFIG, "%s: the data directory %s holds readings of %s, not %s",
                   role, e->data_dir, stored, ours);
  return rc ? rc : pg_kv_set_text(e->db, "resource", ours, d);
}

int pg_entity_init(pg_entity *e, const pg_entity_opts *o, const char *role, pg_grid_entity type,
                   const char *role_schema, bool main_channel, pg_diag *d) {
  memset(e, 0, sizeof *e);
  if (!o || !o->id || !pg_grid_is_id(o->id, strlen(o->id)))
    return pg_fail(d, PG_ERR_CONFIG, "%s: the id must be 1..64 characters of A-Z a-z 0-9 . _ -",
                   role);
  if (!o->data_dir || !*o->data_dir) return pg_fail(d, PG_ERR_CONFIG, "%s: no data directory", role);
  if (!o->client) return pg_fail(d, PG_ERR_CONFIG, "%s: no node client", role);
  const char *name = o->name && *o->name ? o->name : o->id;
  if (strlen(name) > PG_GRID_MAX_NAME)
    return pg_fail(d, PG_ERR_CONFIG, "%s: the name is longer than 64 bytes", role);
  if (o->security < 0 || o->security > 3)
    return pg_fail(d, PG_ERR_CONFIG, "%s: security must be 1, 2 or 3", role);
  snprintf(e->id, sizeof e->id, "%s", o->id);
  snprintf(e->name, sizeof e->name, "%s", name);
  snprintf(e->role, sizeof e->role, "%s", o->log_name ? o->log_name : role);
  if ((size_t)snprintf(e->data_dir, sizeof e->data_dir, "%s", o->data_dir) >= sizeof e->data_dir)
    return pg_fail(d, PG_ERR_CONFIG, "%s: data directory path too long", role);
  snprintf(e->db_path, sizeof e->db_path, "%s.db", role);
  e->client = o->client;
  e->clock = o->clock ? o->clock : pg_clock_real();
  e->slot_ms = o->slot_ms ? o->slot_ms : 15 * 60 * 1000;
  e->security = o->security ? o->security : 2;
  e->upstream = o->upstream;
  e->retry_ms = o->retry_ms ? o->retry_ms : 2000;
  e->defer_flush = o->defer_flush;
  e->no_sync = o->no_sync;
  e->sole = o->sole;
  e->process = o->process;
  e->type = type;
  e->key = o->key;
  e->events = o->events;
  e->tz = o->tz;
  char marker[sizeof e->data_dir + sizeof PG_BACKUP_MARKER + 1];
  snprintf(marker, sizeof marker, "%s/%s", e->data_dir, PG_BACKUP_MARKER);
  e->restored = access(marker, F_OK) == 0;
  e->next_slot_known = false; /* read from the database first */
  if (o->resource.name[0] && pg_resource_check(&o->resource, d) != PG_OK) return PG_ERR_CONFIG;
  e->resource = *pg_resource_or_default(&o->resource);
  if (o->money.units_per_currency == 0) pg_money_default(&e->money);
  else if (pg_money_check(&o->money, d) != PG_OK) return PG_ERR_CONFIG;
  else e->money = o->money;
  if (o->upstream && !o->key)
    return pg_fail(d, PG_ERR_CONFIG, "%s: a member key and certificate are needed to register upstream",
                   role);

  size_t sl = strlen(pg_entity_schema) + (role_schema ? strlen(role_schema) : 0) + 1;
  char *schema = malloc(sl);
  if (!schema) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  snprintf(schema, sl, "%s%s", pg_entity_schema, role_schema ? role_schema : "");
  pg_db_open_opts dbo = {.busy_ms = PG_ENTITY_DB_BUSY_MS, .sole = o->sole, .process = o->process,
                         .page_size = type == PG_GRID_ENTITY_NONE ? 0 : PG_ENTITY_MEMBER_PAGE_SIZE};
  int rc = pg_db_open_with(e->data_dir, e->db_path, schema, &dbo, &e->db, d);
  free(schema);
  if (rc) return rc;
  if (e->no_sync && (rc = pg_db_exec(e->db, "PRAGMA synchronous=OFF", d))) {
    pg_grid_db_close(e->db);
    e->db = NULL;
    return rc;
  }

  /* The id a database was made for is fixed: a config that changes it would
   * mix two entities' records. */
  char stored[PG_GRID_MAX_ID + 1];
  rc = pg_kv_get_text(e->db, "id", stored, sizeof stored, d);
  if (!rc && stored[0] && strcmp(stored, e->id) != 0)
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: the data directory %s belongs to '%s', not '%s'", role,
                 e->data_dir, stored, e->id);
  if (!rc && !stored[0]) rc = pg_kv_set_text(e->db, "id", e->id, d);
  int64_t v = 0;
  if (!rc) rc = pg_kv_get_i64(e->db, "slot_ms", 0, &v, d);
  if (!rc && v && (uint64_t)v != e->slot_ms)
    rc = pg_fail(d, PG_ERR_CONFIG, "%s: the data directory was used with slots of %lld ms, not %llu",
                 role, (long long)v, (unsigned long long)e->slot_ms);
  if (!rc && !v) rc = pg_kv_set_i64(e->db, "slot_ms", (int64_t)e->slot_ms, d);
  if (!rc) rc = check_resource(e, role, d);
  if (!rc) rc = pg_kv_get_i64(e->db, "registered", 0, &v, d);
  if (!rc) e->registered = v != 0;

  if (!rc && main_channel) {
    rc = pg_grid_begin(e->db, d);
    bool created = false;
    pg_chan_info ci;
    if (!rc) rc = pg_chan_ensure(e->db, "main", e->security, &ci, &created, d);
    if (!rc && created) rc = queue_hello(e, &ci, type, d);
    if (!rc)
      rc = pg_grid_commit(e->db, d);
    else
      pg_db_rollback(e->db);
  }
  if (!rc) rc = pg_grid_metrics_new(type, &e->metrics, d);
  if (rc) {
    pg_grid_db_close(e->db);
    e->db = NULL;
  }
  return rc;
}

void pg_entity_fini(pg_entity *e) {
  pg_registry_ahead_free(e);
  pg_mam_keys_free(e->mkeys);
  e->mkeys = NULL;
  if (e->db) pg_grid_db_close(e->db);
  e->db = NULL;
  pg_grid_metrics_free(e->metrics);
  e->metrics = NULL;
}

int pg_entity_open_conn(const pg_entity *e, sqlite3 **out, pg_diag *d) {
  *out = NULL;
  if (e->sole)
    return pg_fail(d, PG_ERR_CONFIG, "%s: a database opened sole has no second connection",
                   e->role);
  pg_db_open_opts o = {.busy_ms = PG_ENTITY_DB_BUSY_MS, .process = e->process};
  int rc = pg_db_open_with(e->data_dir, e->db_path, NULL, &o, out, d);
  if (!rc && e->no_sync && (rc = pg_db_exec(*out, "PRAGMA synchronous=OFF", d))) {
    pg_grid_db_close(*out);
    *out = NULL;
  }
  return rc;
}

int pg_entity_status_conn(const pg_entity *e, sqlite3 **out, pg_diag *d) {
  if (!e->sole) return pg_entity_open_conn(e, out, d);
  *out = e->db;
  return PG_OK;
}

void pg_entity_status_conn_close(const pg_entity *e, sqlite3 *db) {
  if (db && db != e->db) pg_grid_db_close(db);
}

void pg_entity_problem(pg_entity *e, const char *counter, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->last_error, sizeof e->last_error, fmt, ap);
  va_end(ap);
  pg_log_warn(e->role, "%s: %s", e->id, e->last_error);
  if (counter && pg_count_add(e->db, counter, 1, NULL) != PG_OK)
    pg_log_error(e->role, "cannot count %s", counter);
  pg_grid_metrics_problem(e->metrics, counter);
}

/* Error text of a registration answer: the "message" of the error body. */
static void answer_text(const pg_buf *b, char *out, size_t cap) {
  json_t *j = NULL;
  const char *msg = NULL;
  if (b->len && pg_json_parse(b->data, b->len, PG_JSON_OBJECT, &j, NULL) == PG_OK)
    msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
  snprintf(out, cap, "%s", msg ? msg : "(no error message)");
  json_decref(j);
}

int pg_entity_register(pg_entity *e, pg_diag *d) {
  if (e->registered || !e->upstream) return PG_OK;
  uint64_t now = pg_entity_now(e);
  if (now < e->next_register_ms) return PG_OK;
  pg_chan_info ci;
  int rc = pg_chan_info_get(e->db, "main", &ci, d);
  if (rc) return rc;
  pg_grid_registration reg = {.type = e->type, .mode = PG_GRID_MODE_RESTRICTED};
  snprintf(reg.name, sizeof reg.name, "%s", e->name);
  memcpy(reg.channel.root, ci.root, sizeof reg.channel.root);
  memcpy(reg.channel.side_key, ci.side_key, sizeof reg.channel.side_key);
  snprintf(reg.payment_address, sizeof reg.payment_address, "%s", e->pay_address);
  reg.time = now;
  pg_diag sd = {{0}};
  if (pg_entity_sign_binding(e, &reg.channel, now, &reg.signature, &sd) != PG_OK)
    return pg_fail(d, PG_ERR_CONFIG, "%s: cannot sign the channel binding: %s", e->role, sd.msg);
  pg_buf body, resp;
  pg_buf_init(&body, PG_GRID_MAX_JSON);
  pg_buf_init(&resp, 64 * 1024);
  char path[128];
  snprintf(path, sizeof path, "/registration/%s", e->id);
  unsigned status = 0;
  pg_diag cd = {{0}};
  rc = pg_grid_registration_serialize(&reg, &body, &cd);
  if (!rc) rc = e->upstream->ops->call(e->upstream, "PUT", path, body.data, body.len, &status, &resp, &cd);
  if (rc) {
    pg_entity_problem(e, "registration_failures", "registration upstream failed: %s", cd.msg);
    pg_grid_metrics_count(e->metrics, PG_GM_REGISTRATION_FAILED);
    e->next_register_ms = now + e->retry_ms;
    rc = PG_OK;
  } else if (status != 200 && status != 201) {
    char text[200];
    answer_text(&resp, text, sizeof text);
    pg_entity_problem(e, "registration_refused", "registration refused with HTTP %u: %s", status,
                      text);
    pg_grid_metrics_count(e->metrics, PG_GM_REGISTRATION_REFUSED);
    e->next_register_ms = now + 5 * e->retry_ms;
  } else {
    /* a consumer's return channel; the grid's public record root */
    pg_grid_reg_answer ans;
    pg_diag ad = {{0}};
    if (pg_grid_reg_answer_parse(resp.data, resp.len, &ans, &ad) != PG_OK) {
      pg_entity_problem(e, "registration_answers_invalid", "registration answer: %s", ad.msg);
      memset(&ans, 0, sizeof ans);
    }
    bool has_ret = ans.has_return;
    const pg_grid_channel ret = ans.ret;
    rc = pg_grid_begin(e->db, d);
    if (!rc && ans.record[0]) rc = pg_kv_set_text(e->db, "record_root", ans.record, d);
    if (!rc && has_ret) rc = pg_kv_set_text(e->db, "return_root", ret.root, d);
    if (!rc && has_ret) rc = pg_kv_set_text(e->db, "return_side_key", ret.side_key, d);
    if (!rc && has_ret) {
      /* the cursor starts at the root unless we already read further */
      char cur[PG_MAM_HASH_TRYTES + 1];
      rc = pg_kv_get_text(e->db, "return_next", cur, sizeof cur, d);
      if (!rc && !cur[0]) rc = pg_kv_set_text(e->db, "return_next", ret.root, d);
    }
    if (!rc) rc = pg_kv_set_i64(e->db, "registered", 1, d);
    if (!rc)
      rc = pg_grid_commit(e->db, d);
    else
      pg_db_rollback(e->db);
    if (!rc) {
      e->registered = true;
      pg_grid_metrics_count(e->metrics, PG_GM_REGISTERED);
      pg_log_info(e->role, "%s: registered upstream (HTTP %u)", e->id, status);
    }
  }
  pg_buf_free(&body);
  pg_buf_free(&resp);
  return rc;
}

/* A flush's result: a database error is returned, any other failure
 * counted and paused for retry_ms. */
static int flush_outcome(pg_entity *e, uint64_t now, int rc, const pg_diag *fd, pg_diag *d) {
  if (rc == PG_ERR_DB) return pg_fail(d, rc, "%s", fd->msg);
  if (rc) {
    pg_entity_problem(e, "attach_failures", "%s", fd->msg);
    e->next_flush_ms = now + e->retry_ms;
  }
  return PG_OK;
}

bool pg_entity_caught_up(pg_entity *e, uint64_t now) {
  if (!e->restored) return true;
  size_t skipped = 0;
  pg_diag cd = {{0}};
  if (pg_chan_skip_published(e->db, e->client, &skipped, &cd) != PG_OK) {
    pg_entity_problem(e, "node_failures", "after the restore, reading our channels: %s", cd.msg);
    e->next_flush_ms = now + e->retry_ms;
    return false;
  }
  char marker[sizeof e->data_dir + sizeof PG_BACKUP_MARKER + 1];
  snprintf(marker, sizeof marker, "%s/%s", e->data_dir, PG_BACKUP_MARKER);
  if (unlink(marker) != 0 && errno != ENOENT)
    pg_log_warn(e->role, "%s: cannot remove %s: %s", e->id, marker, strerror(errno));
  pg_log_info(e->role, "%s: restored from a backup: %zu channel messages published after it were "
              "found on the Tangle and are not signed again", e->id, skipped);
  e->restored = false;
  return true;
}

int pg_entity_flush(pg_entity *e, pg_diag *d) {
  uint64_t now = pg_entity_now(e);
  if (e->defer_flush || now < e->next_flush_ms || !pg_entity_caught_up(e, now)) return PG_OK;
  pg_diag fd = {{0}};
  int rc = pg_chan_flush(e->db, e->client, e->mkeys, NULL, &fd);
  return flush_outcome(e, now, rc, &fd, d);
}

/* pg_grid_outbox is the entity itself (grid.h). */
int pg_grid_flush_outboxes(pg_grid_outbox *const *v, size_t n, pg_mam_keys *keys, pg_diag *d) {
  return pg_grid_flush_outboxes_then(v, n, keys, NULL, NULL, d);
}

int pg_grid_flush_outboxes_then(pg_grid_outbox *const *v, size_t n, pg_mam_keys *keys,
                                int (*before_send)(void *ctx, pg_diag *d), void *ctx, pg_diag *d) {
  pg_entity **es = (pg_entity **)v;
  pg_chan_send *snd = calloc(n + 1, sizeof *snd);
  size_t *at = calloc(n + 1, sizeof *at), m = 0;
  int rc = snd && at ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
  /* phase 1: every due outbox's queued messages made together */
  for (size_t i = 0; !rc && i < n; i++) {
    uint64_t now = pg_entity_now(es[i]);
    if (now >= es[i]->next_flush_ms && pg_entity_caught_up(es[i], now))
      at[m] = i, snd[m++].db = es[i]->db;
  }
  if (!rc) pg_chan_create_many(snd, m, keys); /* each one's failure in snd[k] */
  if (!rc && before_send && (rc = before_send(ctx, d))) pg_chan_keep_made(snd, m);
  if (rc) m = 0;
  /* phase 2: attached in outbox order, together while they share a node
   * client, and recorded */
  for (size_t k = 0, run; k < m; k += run) {
    pg_client *c = es[at[k]]->client;
    for (run = 1; k + run < m && es[at[k + run]]->client == c;) run++;
    pg_chan_send_many(snd + k, run, c);
  }
  for (size_t k = 0; k < m; k++) { /* every outcome counted; the first fatal one returned */
    int r = flush_outcome(es[at[k]], pg_entity_now(es[at[k]]), snd[k].rc, &snd[k].d, d);
    if (!rc) rc = r;
  }
  if (snd) pg_chan_send_free(snd, n);
  free(snd), free(at);
  return rc;
}

int pg_entity_status(pg_entity *e, sqlite3 *db, json_t **out, pg_diag *d) {
  pg_chan_info ci;
  memset(&ci, 0, sizeof ci);
  int64_t pending = 0, registered = 0;
  json_t *errors = NULL;
  int rc = pg_chan_info_get(db, "main", &ci, NULL);
  if (rc == PG_ERR_NOT_FOUND) rc = PG_OK;
  if (!rc) rc = pg_chan_pending(db, &pending, d);
  if (!rc) rc = pg_kv_get_i64(db, "registered", 0, &registered, d);
  if (!rc) rc = pg_counts_json(db, &errors, d);
  if (rc) return rc;
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(e->id));
  json_object_set_new(o, "name", json_string(e->name));
  json_object_set_new(o, "role", json_string(e->role));
  if (e->upstream) json_object_set_new(o, "registered", json_boolean(registered != 0));
  if (ci.root[0]) json_object_set_new(o, "root", json_string(ci.root));
  json_object_set_new(o, "slotMs", json_integer((json_int_t)e->slot_ms));
  json_object_set_new(o, "money", pg_money_json(&e->money));
  json_object_set_new(o, "resource", pg_resource_json(&e->resource));
  json_object_set_new(o, "timeZone", json_string(pg_tz_name(e->tz)));
  json_object_set_new(o, "currentSlot",
                      json_integer((json_int_t)pg_slot_of(pg_entity_now(e), e->slot_ms)));
  json_object_set_new(o, "unsentMessages", json_integer(pending));
  json_object_set_new(o, "errors", errors);
  if (e->events) {
    pg_events_stats es;
    pg_events_stats_get(e->events, &es);
    json_t *ev = json_object();
    json_object_set_new(ev, "connected", json_boolean(es.connected));
    json_object_set_new(ev, "milestones", json_integer((json_int_t)es.milestones));
    json_object_set_new(ev, "outputs", json_integer((json_int_t)es.outputs));
    json_object_set_new(ev, "rejected", json_integer((json_int_t)es.rejected));
    json_object_set_new(ev, "wakes", json_integer((json_int_t)es.wakes));
    json_object_set_new(ev, "lastMilestone", json_integer(es.last_milestone));
    json_object_set_new(o, "events", ev);
  }
  *out = o;
  return PG_OK;
}

int pg_entity_hrp(pg_entity *e, char hrp[PG_CLIENT_HRP_MAX + 1], pg_diag *d) {
  int rc = pg_kv_get_text(e->db, "hrp", hrp, PG_CLIENT_HRP_MAX + 1, d);
  if (rc || hrp[0]) return rc;
  pg_node_info info;
  rc = pg_client_info(e->client, &info, d);
  if (rc) return rc;
  snprintf(hrp, PG_CLIENT_HRP_MAX + 1, "%s", info.bech32_hrp);
  return pg_kv_set_text(e->db, "hrp", hrp, d);
}

bool pg_entity_slot_ok(const pg_entity *e, uint64_t slot, uint64_t start, uint64_t end, char *why,
                       size_t cap) {
  if (slot > UINT64_MAX / e->slot_ms - 1 || start != pg_slot_start(slot, e->slot_ms) ||
      end != pg_slot_start(slot + 1, e->slot_ms)) {
    snprintf(why, cap, "slot %llu: startTime/endTime are not the slot's times (slots of %llu ms)",
             (unsigned long long)slot, (unsigned long long)e->slot_ms);
    return false;
  }
  /* clocks of different machines differ: a slot more than one slot length
   * in the future is a bad reading, not skew */
  if (end > pg_entity_now(e) + e->slot_ms) {
    snprintf(why, cap, "slot %llu is in the future", (unsigned long long)slot);
    return false;
  }
  return true;
}

int pg_entity_next_slot(pg_entity *e, int64_t first_offset, int64_t *next, pg_diag *d) {
  if (e->next_slot_known) {
    *next = e->next_slot;
    return PG_OK;
  }
  int rc = pg_kv_get_i64(e->db, "next_slot", -1, next, d);
  if (!rc && *next < 0) {
    *next = (int64_t)pg_slot_of(pg_entity_now(e), e->slot_ms) + first_offset;
    rc = pg_kv_set_i64(e->db, "next_slot", *next, d);
  }
  /* kept only as committed: outside a transaction (one could roll back) */
  if (!rc && sqlite3_get_autocommit(e->db)) e->next_slot = *next, e->next_slot_known = true;
  return rc;
}

int pg_entity_set_next_slot(pg_entity *e, int64_t next, pg_diag *d) {
  e->next_slot_known = false;
  return pg_kv_set_i64(e->db, "next_slot", next, d);
}

int pg_entity_slot_done(pg_entity *e, uint64_t k, int rc, pg_diag *d) {
  if (!rc) rc = pg_entity_set_next_slot(e, (int64_t)(k + 1), d);
  if (!rc) {
    rc = pg_grid_commit(e->db, d);
    if (!rc) pg_grid_metrics_count(e->metrics, PG_GM_SLOT_REPORTED);
    return rc;
  }
  pg_db_rollback(e->db);
  return rc;
}
