/* client.c — the node access interface: dispatch to an implementation's ops,
 * and helpers built on the interface alone. */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message_json.h"

void pg_client_free(pg_client *c) {
  if (c && c->ops && c->ops->destroy) c->ops->destroy(c);
}

const char *pg_client_kind(const pg_client *c) {
  return (c && c->ops && c->ops->kind) ? c->ops->kind : "none";
}

static int check(const pg_client *c, pg_diag *d) {
  if (!c || !c->ops) return pg_fail(d, PG_ERR_INVALID, "no node client");
  return PG_OK;
}

int pg_client_health(pg_client *c, bool *healthy, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!healthy) return pg_fail(d, PG_ERR_INVALID, "health: no output");
  return c->ops->health(c, healthy, d);
}

int pg_client_info(pg_client *c, pg_node_info *out, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!out) return pg_fail(d, PG_ERR_INVALID, "info: no output");
  return c->ops->info(c, out, d);
}

int pg_client_tips(pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if ((!ids && max) || !count) return pg_fail(d, PG_ERR_INVALID, "tips: no output");
  return c->ops->tips(c, ids, max, count, d);
}

int pg_client_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!json_is_object(msg)) return pg_fail(d, PG_ERR_INVALID, "submit: the message must be a JSON object");
  if (!id) return pg_fail(d, PG_ERR_INVALID, "submit: no output");
  return c->ops->submit_json(c, msg, id, d);
}

int pg_client_submit_raw(pg_client *c, const uint8_t *bytes, size_t len, uint8_t id[PG_ID_LEN],
                         pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!bytes || !id) return pg_fail(d, PG_ERR_INVALID, "submit: no message bytes");
  if (len > PG_MSG_MAX_LEN)
    return pg_fail(d, PG_ERR_TOO_LARGE, "submit: message of %zu bytes exceeds %d", len,
                   PG_MSG_MAX_LEN);
  return c->ops->submit_raw(c, bytes, len, id, d);
}

/* The arguments of a data message, as pg_client_submit_data checks them. */
static int data_args(const uint8_t *index, size_t index_len, const uint8_t *data, size_t data_len,
                     pg_diag *d) {
  if (!index || index_len < 1 || index_len > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "submit: index must be 1..%d bytes (got %zu)",
                   PG_INDEX_MAX_LEN, index ? index_len : 0);
  if (data_len && !data) return pg_fail(d, PG_ERR_INVALID, "submit: no data bytes");
  if (data_len > PG_MSG_MAX_LEN)
    return pg_fail(d, PG_ERR_TOO_LARGE, "submit: %zu data bytes exceed the %d-byte message cap",
                   data_len, PG_MSG_MAX_LEN);
  return PG_OK;
}

int pg_client_submit_data(pg_client *c, const uint8_t *index, size_t index_len, const uint8_t *data,
                          size_t data_len, uint8_t id[PG_ID_LEN], pg_diag *d) {
  int rc = check(c, d);
  if (!rc) rc = data_args(index, index_len, data, data_len, d);
  if (rc) return rc;
  char *ihex = pg_hex_dup(index, index_len);
  char *dhex = pg_hex_dup(data_len ? data : (const uint8_t *)"", data_len);
  json_t *msg = NULL;
  if (ihex && dhex)
    msg = json_pack("{s:{s:i,s:s,s:s}}", "payload", "type", PG_PAYLOAD_INDEXATION, "index", ihex,
                    "data", dhex);
  free(ihex);
  free(dhex);
  if (!msg) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  rc = c->ops->submit_json(c, msg, id, d);
  json_decref(msg);
  return rc;
}

int pg_client_follow_rule(pg_client_data *v, size_t i) {
  if (v[i].follows && i > 0 && v[i - 1].rc != PG_OK)
    return v[i].rc = pg_fail(&v[i].d, PG_ERR_STATE, "not attached: the message before it was not");
  return PG_OK;
}

int pg_client_submit_data_many(pg_client *c, pg_client_data *v, size_t n, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (n && !v) return pg_fail(d, PG_ERR_INVALID, "submit: no messages");
  for (size_t i = 0; i < n; i++) {
    pg_diag_clear(&v[i].d);
    v[i].rc = data_args(v[i].index, v[i].index_len, v[i].data, v[i].data_len, &v[i].d);
    if (!v[i].rc) pg_client_follow_rule(v, i);
  }
  if (c->ops->submit_data_many) {
    c->ops->submit_data_many(c, v, n);
    return PG_OK;
  }
  pg_client_submit_each(c, v, 0, n);
  return PG_OK;
}

void pg_client_submit_each(pg_client *c, pg_client_data *v, size_t from, size_t n) {
  for (size_t i = from; i < n; i++)
    if (v[i].rc == PG_OK && pg_client_follow_rule(v, i) == PG_OK)
      v[i].rc = pg_client_submit_data(c, v[i].index, v[i].index_len, v[i].data, v[i].data_len,
                                      v[i].id, &v[i].d);
}

int pg_client_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!id || !out) return pg_fail(d, PG_ERR_INVALID, "get raw: no id or output");
  if (!c->ops->get_raw)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "get raw: the %s client cannot read messages", c->ops->kind);
  return c->ops->get_raw(c, id, out, d);
}

int pg_client_get_json(pg_client *c, const uint8_t id[PG_ID_LEN], json_t **out, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!id || !out) return pg_fail(d, PG_ERR_INVALID, "get message: no id or output");
  if (c->ops->get_json) return c->ops->get_json(c, id, out, d);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  pg_message m;
  rc = c->ops->get_raw(c, id, &raw, d);
  if (rc == PG_OK) rc = pg_message_parse(raw.data, raw.len, &m, d);
  if (rc == PG_OK) {
    *out = pg_message_to_json(&m);
    if (!*out) rc = pg_fail(d, PG_ERR_NOMEM, "get message: out of memory");
    pg_message_clear(&m);
  }
  pg_buf_free(&raw);
  return rc;
}

int pg_client_get_meta(pg_client *c, const uint8_t id[PG_ID_LEN], pg_msg_meta *out, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!id || !out) return pg_fail(d, PG_ERR_INVALID, "get metadata: no id or output");
  return c->ops->get_meta(c, id, out, d);
}

int pg_client_children(pg_client *c, const uint8_t id[PG_ID_LEN], uint8_t (*ids)[PG_ID_LEN],
                       size_t max, size_t *count, size_t *total, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!id || (!ids && max) || !count || !total)
    return pg_fail(d, PG_ERR_INVALID, "children: no id or output");
  return c->ops->children(c, id, ids, max, count, total, d);
}

/* The index of a lookup (pg_client_find_index, pg_client_find_many). */
static int find_index_ok(const uint8_t *index, size_t index_len, pg_diag *d) {
  if (!index || index_len < 1 || index_len > PG_INDEX_MAX_LEN)
    return pg_fail(d, PG_ERR_INVALID, "find: index must be 1..%d bytes", PG_INDEX_MAX_LEN);
  return PG_OK;
}

int pg_client_find_index(pg_client *c, const uint8_t *index, size_t index_len,
                         uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                         pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if ((rc = find_index_ok(index, index_len, d))) return rc;
  if ((!ids && max) || !count || !total) return pg_fail(d, PG_ERR_INVALID, "find: no output");
  return c->ops->find_index(c, index, index_len, ids, max, count, total, d);
}

void pg_client_found_clear(pg_client_found *f) {
  if (!f) return;
  for (size_t k = 0; f->raw && k < f->count; k++) free(f->raw[k]);
  free(f->raw);
  free(f->raw_len);
  free(f->meta);
  free(f->ids);
  f->ids = NULL, f->raw = NULL, f->raw_len = NULL, f->meta = NULL;
  f->count = f->total = 0;
}

void pg_client_find_each(pg_client *c, pg_client_found *v, size_t from, size_t n) {
  for (size_t i = from; i < n; i++) {
    pg_client_found *f = &v[i];
    if (f->rc != PG_OK) continue;
    f->ids = malloc(f->max * sizeof *f->ids);
    if (!f->ids) {
      f->rc = pg_fail(&f->d, PG_ERR_NOMEM, "out of memory");
      continue;
    }
    f->rc = c->ops->find_index(c, f->index, f->index_len, f->ids, f->max, &f->count, &f->total,
                               &f->d);
    if (f->rc) {
      pg_client_found_clear(f);
    } else if (f->count < f->max) { /* a thousand channels' lists are held at once */
      uint8_t(*fit)[PG_ID_LEN] = realloc(f->ids, (f->count ? f->count : 1) * sizeof *fit);
      if (fit) f->ids = fit;
    }
  }
}

int pg_client_find_many(pg_client *c, pg_client_found *v, size_t n, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (n && !v) return pg_fail(d, PG_ERR_INVALID, "find: no lookups");
  for (size_t i = 0; i < n; i++) {
    pg_client_found *f = &v[i];
    f->ids = NULL, f->raw = NULL, f->raw_len = NULL, f->meta = NULL;
    f->count = f->total = 0;
    pg_diag_clear(&f->d);
    if ((f->rc = find_index_ok(f->index, f->index_len, &f->d))) continue;
    if (f->max < 1 || f->max > PG_FIND_MAX_IDS)
      f->rc = pg_fail(&f->d, PG_ERR_INVALID, "find: max must be 1..%d ids (got %zu)",
                      PG_FIND_MAX_IDS, f->max);
  }
  if (c->ops->find_many)
    c->ops->find_many(c, v, n);
  else
    pg_client_find_each(c, v, 0, n);
  return PG_OK;
}

int pg_client_milestone(pg_client *c, uint32_t index, pg_milestone_info *out, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!out) return pg_fail(d, PG_ERR_INVALID, "milestone: no output");
  return c->ops->milestone(c, index, out, d);
}

int pg_client_address(pg_client *c, const uint8_t address[32], uint64_t *balance,
                      bool *dust_allowed, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!address || !balance) return pg_fail(d, PG_ERR_INVALID, "address: no address or output");
  if (!c->ops->address) return pg_fail(d, PG_ERR_UNSUPPORTED, "address: not supported by %s", c->ops->kind);
  bool dust = false;
  rc = c->ops->address(c, address, balance, &dust, d);
  if (rc == PG_OK && dust_allowed) *dust_allowed = dust;
  return rc;
}

int pg_client_address_outputs(pg_client *c, const uint8_t address[32], bool include_spent,
                              uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max, size_t *count,
                              size_t *total, pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!address || (!ids && max) || !count || !total)
    return pg_fail(d, PG_ERR_INVALID, "address outputs: no address or output");
  if (!c->ops->address_outputs)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "address outputs: not supported by %s", c->ops->kind);
  return c->ops->address_outputs(c, address, include_spent, ids, max, count, total, d);
}

int pg_client_address_outputs_all(pg_client *c, const uint8_t address[32], bool include_spent,
                                  size_t first, size_t limit, uint8_t (**ids)[PG_OUTPUT_ID_LEN],
                                  size_t *count, pg_diag *d) {
  size_t cap = first ? first : 1, total = 0;
  *ids = NULL;
  *count = 0;
  for (;;) {
    uint8_t(*v)[PG_OUTPUT_ID_LEN] = realloc(*ids, cap * PG_OUTPUT_ID_LEN);
    if (!v) {
      free(*ids);
      *ids = NULL;
      *count = 0;
      return pg_fail(d, PG_ERR_NOMEM, "address outputs: out of memory");
    }
    *ids = v;
    int rc = pg_client_address_outputs(c, address, include_spent, v, cap, count, &total, d);
    if (rc) *count = 0;
    if (rc || total <= cap || *count < cap || cap >= limit) return rc;
    cap = total < limit ? total : limit;
  }
}

int pg_client_output(pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *out,
                     pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (!id || !out) return pg_fail(d, PG_ERR_INVALID, "output: no id or output");
  if (!c->ops->output) return pg_fail(d, PG_ERR_UNSUPPORTED, "output: not supported by %s", c->ops->kind);
  return c->ops->output(c, id, out, d);
}

void pg_client_output_got_clear(pg_client_output_got *g) {
  if (!g) return;
  free(g->raw);
  g->raw = NULL;
  g->raw_len = 0;
  memset(&g->info, 0, sizeof g->info);
  g->raw_rc = g->rc = PG_OK;
}

/* The bytes of g's message into g (raw_rc), read through b. */
static void output_raw(pg_client *c, pg_client_output_got *g, pg_buf *b) {
  static const uint8_t zero[PG_ID_LEN];
  if (memcmp(g->info.message_id, zero, PG_ID_LEN) == 0) {
    g->raw_rc = PG_ERR_NOT_FOUND; /* the genesis: no message */
    return;
  }
  pg_buf_reset(b);
  g->raw_rc = pg_client_get_raw(c, g->info.message_id, b, &g->d);
  if (g->raw_rc) return;
  g->raw_rc = pg_client_copy_message(b->data, b->len, g->info.message_id, &g->raw);
  if (g->raw_rc == PG_ERR_INVALID)
    pg_fail(&g->d, PG_ERR_INVALID, "the bytes of the output's message are not its id's");
  else if (g->raw_rc)
    pg_fail(&g->d, g->raw_rc, "out of memory");
  else
    g->raw_len = b->len;
}

int pg_client_copy_message(const uint8_t *raw, size_t len, const uint8_t id[PG_ID_LEN],
                           uint8_t **out) {
  uint8_t got[PG_ID_LEN];
  pg_message_id(raw, len, got);
  if (memcmp(got, id, PG_ID_LEN) != 0) return PG_ERR_INVALID;
  if (!(*out = malloc(len ? len : 1))) return PG_ERR_NOMEM;
  memcpy(*out, raw, len);
  return PG_OK;
}

void pg_client_outputs_each(pg_client *c, pg_client_output_got *v, size_t from, size_t n,
                            bool raw) {
  pg_buf b;
  pg_buf_init(&b, PG_MSG_MAX_LEN);
  for (size_t i = from; i < n; i++) {
    pg_client_output_got *g = &v[i];
    if (g->rc != PG_OK) continue;
    g->rc = c->ops->output(c, g->id, &g->info, &g->d);
    if (g->rc == PG_OK && raw) output_raw(c, g, &b);
  }
  pg_buf_free(&b);
}

int pg_client_outputs_many(pg_client *c, pg_client_output_got *v, size_t n, bool raw,
                           pg_diag *d) {
  int rc = check(c, d);
  if (rc) return rc;
  if (n && !v) return pg_fail(d, PG_ERR_INVALID, "outputs: no lookups");
  if (!c->ops->output)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "outputs: not supported by %s", c->ops->kind);
  for (size_t i = 0; i < n; i++) {
    v[i].raw = NULL;
    pg_client_output_got_clear(&v[i]);
    pg_diag_clear(&v[i].d);
  }
  if (c->ops->outputs_many)
    c->ops->outputs_many(c, v, n, raw);
  else
    pg_client_outputs_each(c, v, 0, n, raw);
  return PG_OK;
}

size_t pg_client_outputs_batch(const pg_client *c) {
  if (!c || !c->ops || !c->ops->outputs_many || !c->ops->outputs_batch) return 1;
  size_t n = c->ops->outputs_batch(c);
  return n ? n : 1;
}
