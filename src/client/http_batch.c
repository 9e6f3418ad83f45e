/* http_batch.c — the HTTP node client's batched operations: many items a
 * request on a p2pgrid node's data routes, one request after the other.
 *
 * - pg_client_submit_data_many: POST /api/plugins/data/batch, batches of up
 *   to 256 items and BATCH_BODY_MAX bytes (a follower's item before it is
 *   always answered first).
 * - pg_client_find_many: POST /api/plugins/data/find, up to 256 index keys a
 *   request, whose answer also carries the listed messages' bytes (each
 *   checked to hash to its id).
 * - pg_client_outputs_many: POST /api/plugins/data/outputs, up to 1,000
 *   output ids a request, whose answer can carry each output's message
 *   (checked against its id).
 *
 * Find and outputs answers are at most the client's max_response; keys or
 * ids the node did not answer within it are asked again. A node that
 * refuses a request's size (413: its api.max_body is smaller) gets the same
 * items again in halves: the batch body cap halves down to BATCH_BODY_MIN,
 * find and outputs requests carry half as many keys or ids from then on.
 * Fallback, for the rest of the client's life: a node that takes no
 * batches (404, 501; also 403, 405, 415) gets one POST messages an item; one without the find
 * or outputs route (no_find_route), or that refuses a request of one key or
 * id, gets GETs (messages?index=, outputs/{id}, messages/{id}/raw) — the
 * *_each functions of client.c. A failed request fails each of its items
 * with its error. The object, its set-up and the single requests are in
 * http.c (http_client.h). */
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "http_client.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/outputs.h"
#include "p2pgrid/tangle/batch.h"
#include "p2pgrid/tangle/find.h"

#define BATCH_ROUTE "/api/plugins/data/batch"
#define FIND_ROUTE "/api/plugins/data/find"
#define OUTPUTS_ROUTE "/api/plugins/data/outputs"

/* ---- data batches ---------------------------------------------------- */

/* Items [from, n) of v that go in the next batch: those still to submit (rc
 * PG_OK) that pass the follow rule, up to the count and byte caps. Fills b
 * and at (v's index of each); returns where the next batch starts. */
static size_t batch_take(http_client *h, pg_client_data *v, size_t from, size_t n,
                         pg_batch_item *b, size_t *at, size_t *m) {
  size_t bytes = PG_BATCH_HEAD_LEN, j = from;
  *m = 0;
  for (; j < n && *m < PG_BATCH_MAX_ITEMS; j++) {
    if (v[j].rc != PG_OK || pg_client_follow_rule(v, j) != PG_OK) continue;
    size_t len = pg_batch_item_len(v[j].index_len, v[j].data_len);
    if (*m && bytes + len > h->batch_cap) break;
    /* the item before a follower is the last one taken, or one stored before */
    b[*m] = (pg_batch_item){v[j].index, v[j].index_len, v[j].data, v[j].data_len,
                            v[j].follows && *m > 0};
    at[(*m)++] = j;
    bytes += len;
  }
  return j;
}

/* One item's answer: {"messageId": hex} or {"error": {"code", "message"}}. */
static int batch_result(const json_t *r, pg_client_data *it, const char *what, pg_diag *inner) {
  const json_t *err = json_object_get(r, "error");
  if (!err) return get_id(r, "messageId", it->id, inner);
  const char *code = json_string_value(json_object_get(err, "code"));
  const char *msg = json_string_value(json_object_get(err, "message"));
  if (!code || !msg) return pg_fail(inner, PG_ERR_INVALID, "an item's error without code or message");
  char text[ERRTEXT_MAX + 8];
  pg_http_clean_text(msg, strlen(msg), text, sizeof text);
  it->rc = pg_fail(&it->d, pg_client_http_status_err(strtol(code, NULL, 10)),
                   "%s refused it (%.8s): %s", what, code, text);
  return PG_OK;
}

/* Posts b[0..m) and sets the rc, d and id of v[at[k]] from the answer. */
static int batch_post(http_client *h, const pg_batch_item *b, size_t m, pg_client_data *v,
                      const size_t *at, pg_diag *d) {
  pg_buf_reset(&h->req);
  int rc = pg_batch_encode(&h->req, b, m, d);
  if (rc) return rc;
  char what[ROUTE_MAX];
  json_t *j = NULL;
  if ((rc = pg_http_json_at(h, "POST", BATCH_ROUTE, true, "application/octet-stream", h->req.data,
                         h->req.len, &j, what, sizeof what, d)))
    return rc;
  pg_diag inner = {{0}};
  const json_t *a = json_object_get(j, "results");
  if (!json_is_array(a) || json_array_size(a) != m)
    rc = pg_fail(&inner, PG_ERR_INVALID, "\"results\" is not an array of %zu answers", m);
  for (size_t k = 0; rc == PG_OK && k < m; k++) {
    const json_t *r = json_array_get(a, k);
    rc = json_is_object(r) ? batch_result(r, &v[at[k]], what, &inner)
                           : pg_fail(&inner, PG_ERR_INVALID, "answer %zu is not an object", k + 1);
  }
  json_decref(j);
  return rc ? bad_answer(what, &inner, d) : PG_OK;
}

/* Batches of up to 256 items and BATCH_BODY_MAX bytes, one after the other
 * (a follower's item before it is always answered first). A node that takes
 * no batches (404: not a p2pgrid node; 501: a replica or a node that needs
 * proof of work; 403, 405, 415, which pg_client_http_status_err maps to the
 * same PG_ERR_UNSUPPORTED) gets the rest one by one, as do later calls. A failed batch
 * fails each of its items with the batch's error. */
void pg_http_submit_data_many(pg_client *c, pg_client_data *v, size_t n) {
  http_client *h = (http_client *)c;
  pg_batch_item b[PG_BATCH_MAX_ITEMS];
  size_t at[PG_BATCH_MAX_ITEMS], i = 0;
  while (i < n && !h->no_batch) {
    size_t m = 0, next = batch_take(h, v, i, n, b, at, &m);
    if (m == 0) break;
    pg_diag d = {{0}};
    int rc = batch_post(h, b, m, v, at, &d);
    if (rc == PG_ERR_NOT_FOUND || rc == PG_ERR_UNSUPPORTED) {
      h->no_batch = true;
      break;
    }
    if (rc == PG_ERR_TOO_LARGE && m > 1 && h->batch_cap / 2 >= BATCH_BODY_MIN) {
      h->batch_cap /= 2; /* the node's api.max_body is smaller: try again in halves */
      continue;
    }
    for (size_t k = 0; rc && k < m; k++) {
      v[at[k]].rc = rc;
      v[at[k]].d = d;
    }
    i = next;
  }
  if (i < n && h->no_batch) pg_client_submit_each(c, v, i, n);
}

/* ---- lookups in batches ------------------------------------------------ */

/* Item k of a find answer into f: its ids and the bytes sent, each checked
 * to hash to its id. */
static int found_item(pg_find_item *it, pg_client_found *f, size_t k, pg_diag *inner) {
  size_t n = it->listed;
  f->ids = malloc((n ? n : 1) * sizeof *f->ids);
  f->raw = calloc(n ? n : 1, sizeof *f->raw);
  f->raw_len = calloc(n ? n : 1, sizeof *f->raw_len);
  if (it->meta) f->meta = calloc(n ? n : 1, sizeof *f->meta);
  if (!f->ids || !f->raw || !f->raw_len || (it->meta && !f->meta))
    return pg_fail(inner, PG_ERR_NOMEM, "out of memory");
  f->total = it->total;
  pg_find_msg m;
  for (size_t j = 0; j < n && pg_find_item_next(it, &m) == PG_OK; j++) {
    memcpy(f->ids[j], m.id, PG_ID_LEN);
    f->count = j + 1;
    if (f->meta) {
      memcpy(f->meta[j].id, m.id, PG_ID_LEN);
      f->meta[j].referenced_by = m.meta.referenced_by;
      f->meta[j].inclusion = m.meta.inclusion; /* 0 (unknown) while not referenced: parsed so */
      f->meta[j].conflict_reason = m.meta.conflict_reason;
    }
    if (!m.raw_len) continue;
    int rc = pg_client_copy_message(m.raw, m.raw_len, m.id, &f->raw[j]);
    if (rc == PG_ERR_INVALID)
      return pg_fail(inner, rc, "item %zu: the bytes of message %zu are not its id's", k + 1,
                     j + 1);
    if (rc) return pg_fail(inner, rc, "out of memory");
    f->raw_len[j] = m.raw_len;
  }
  return PG_OK;
}

/* Posts the lookups r (for v[at[k]]) and fills the items answered: *got
 * of them (a prefix of r's keys). *status: the HTTP status, 0 without one. */
static int find_post(http_client *h, const pg_find_req *r, pg_client_found *v, const size_t *at,
                     size_t *got, long *status, pg_diag *d) {
  pg_buf_reset(&h->req);
  int rc = pg_find_req_encode(&h->req, r, d);
  if (rc) return rc;
  char what[ROUTE_MAX];
  if ((rc = pg_http_do(h, "POST", FIND_ROUTE, true, "application/octet-stream", h->req.data,
                    h->req.len, status, what, sizeof what, d)))
    return rc;
  if (*status < 200 || *status > 299) return pg_http_status_fail(h, *status, what, d);
  pg_find_item items[PG_FIND_MAX_KEYS];
  pg_diag inner = {{0}};
  rc = pg_find_ans_parse(h->resp.data, h->resp.len, r->count, r->max, r->meta, items, got,
                         &inner);
  for (size_t k = 0; rc == PG_OK && k < *got; k++) {
    rc = found_item(&items[k], &v[at[k]], k, &inner);
    if (rc) pg_client_found_clear(&v[at[k]]);
  }
  for (size_t k = 0; rc && k < *got; k++) pg_client_found_clear(&v[at[k]]);
  if (rc == PG_ERR_NOMEM) return pg_fail(d, rc, "%s: out of memory", what);
  return rc ? bad_answer(what, &inner, d) : PG_OK;
}

/* The next request's lookups from v[i..n): those still to do (rc PG_OK)
 * with the same max and want_meta as the first, up to 256. Returns how
 * many. */
static size_t find_take(pg_client_found *v, size_t i, size_t n, uint32_t budget, size_t cap,
                        pg_find_req *r, size_t *at) {
  *r = (pg_find_req){.budget = budget};
  for (; i < n && r->count < cap; i++) {
    if (v[i].rc != PG_OK) continue;
    if (r->count && (v[i].max != r->max || v[i].want_meta != r->meta)) break;
    r->max = (unsigned)v[i].max;
    r->meta = v[i].want_meta;
    r->keys[r->count] = (pg_find_key){v[i].index, v[i].index_len};
    at[r->count++] = i;
  }
  return r->count;
}

/* Whether a status says the node has no find route for us: 404, 405, 415
 * (not a p2pgrid node, or an older one), 501, and 401 / 403 (an older
 * p2pgrid node whose POSTs need credentials: the route is a read, open on
 * nodes that have it). */
static bool no_find_route(long status) {
  return status == 401 || status == 403 || status == 404 || status == 405 || status == 415 ||
         status == 501;
}

/* Lookups of up to 256 keys a request, one request after the other, the
 * answer at most the client's max_response; a node that answers fewer keys
 * is asked again for the rest, one that refuses the body's size (413) with
 * half as many keys a request from then on. A node without the route
 * (no_find_route), or that refuses a request of one key, gets GETs from
 * then on. A failed request fails each of its items with its error. */
void pg_http_find_many(pg_client *c, pg_client_found *v, size_t n) {
  http_client *h = (http_client *)c;
  pg_find_req *r = h->no_find ? NULL : malloc(sizeof *r);
  size_t at[PG_FIND_MAX_KEYS], i = 0;
  uint32_t budget = h->max_response > UINT32_MAX ? UINT32_MAX : (uint32_t)h->max_response;
  while (r && i < n && find_take(v, i, n, budget, h->find_cap, r, at)) {
    size_t got = 0;
    long status = 0;
    pg_diag d = {{0}};
    int rc = find_post(h, r, v, at, &got, &status, &d);
    if (rc && status == 413 && h->find_cap > 1) {
      h->find_cap /= 2; /* the same keys again, fewer a request */
      continue;
    }
    if (rc && (no_find_route(status) || status == 413)) {
      h->no_find = true;
      break;
    }
    for (size_t k = 0; rc && k < r->count; k++) {
      v[at[k]].rc = rc;
      v[at[k]].d = d;
    }
    i = at[rc ? r->count - 1 : got - 1] + 1;
  }
  free(r);
  if (i < n) pg_client_find_each(c, v, i, n);
}

/* Item k of an outputs answer into g: the fields, and the message's bytes
 * (checked to hash to its id) when the request asked for them. */
static int output_item(const pg_outputs_item *it, bool raw, pg_client_output_got *g, size_t k,
                       pg_diag *inner) {
  if (!it->found) {
    char hex[2 * PG_OUTPUT_ID_LEN + 1];
    pg_hex_encode(g->id, PG_OUTPUT_ID_LEN, hex);
    g->rc = pg_fail(&g->d, PG_ERR_NOT_FOUND, "output %s not found", hex);
    return PG_OK;
  }
  g->info = it->info;
  if (!raw) return PG_OK;
  if (!it->raw_len) {
    char hex[2 * PG_ID_LEN + 1];
    pg_hex_encode(it->info.message_id, PG_ID_LEN, hex);
    g->raw_rc = pg_fail(&g->d, PG_ERR_NOT_FOUND, "message %s: the node sent none", hex);
    return PG_OK;
  }
  int rc = pg_client_copy_message(it->raw, it->raw_len, it->info.message_id, &g->raw);
  if (rc == PG_ERR_INVALID)
    return pg_fail(inner, rc, "item %zu: the message bytes are not its id's", k + 1);
  if (rc) return pg_fail(inner, rc, "out of memory");
  g->raw_len = it->raw_len;
  return PG_OK;
}

/* Posts the lookups of v[at[0..count)] (ids in ids) and fills the items
 * answered: *got of them (a prefix). *status: the HTTP status, 0 without
 * one. items: room for count. */
static int outputs_post(http_client *h, const uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t count,
                        bool raw, pg_client_output_got *v, const size_t *at,
                        pg_outputs_item *items, size_t *got, long *status, pg_diag *d) {
  pg_outputs_req r = {.raw = raw, .count = count, .ids = ids,
                      .budget = h->max_response > UINT32_MAX ? UINT32_MAX
                                                             : (uint32_t)h->max_response};
  pg_buf_reset(&h->req);
  int rc = pg_outputs_req_encode(&h->req, &r, d);
  if (rc) return rc;
  char what[ROUTE_MAX];
  if ((rc = pg_http_do(h, "POST", OUTPUTS_ROUTE, true, "application/octet-stream", h->req.data,
                    h->req.len, status, what, sizeof what, d)))
    return rc;
  if (*status < 200 || *status > 299) return pg_http_status_fail(h, *status, what, d);
  pg_diag inner = {{0}};
  rc = pg_outputs_ans_parse(h->resp.data, h->resp.len, ids, count, raw, items, got, &inner);
  for (size_t k = 0; rc == PG_OK && k < *got; k++)
    rc = output_item(&items[k], raw, &v[at[k]], k, &inner);
  for (size_t k = 0; rc && k < *got; k++) pg_client_output_got_clear(&v[at[k]]);
  if (rc == PG_ERR_NOMEM) return pg_fail(d, rc, "%s: out of memory", what);
  return rc ? bad_answer(what, &inner, d) : PG_OK;
}

/* Output lookups of up to 1,000 ids a request, one request after the
 * other, the answer at most the client's max_response; a node that answers
 * fewer is asked again for the rest, one that refuses the body's size (413)
 * with half as many ids a request from then on. A node without the route
 * (no_find_route's statuses), or that refuses a request of one id, gets
 * GETs from then on. A failed request fails each of its items with its
 * error. */
void pg_http_outputs_many(pg_client *c, pg_client_output_got *v, size_t n, bool raw) {
  http_client *h = (http_client *)c;
  size_t i = 0, *at = NULL;
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
  pg_outputs_item *items = NULL;
  if (!h->no_outputs && n) {
    at = malloc(PG_OUTPUTS_MAX_IDS * sizeof *at);
    ids = malloc(PG_OUTPUTS_MAX_IDS * sizeof *ids);
    items = malloc(PG_OUTPUTS_MAX_IDS * sizeof *items);
  }
  while (at && ids && items && i < n) {
    size_t count = 0;
    for (size_t k = i; k < n && count < h->outputs_cap; k++) {
      if (v[k].rc != PG_OK) continue;
      memcpy(ids[count], v[k].id, PG_OUTPUT_ID_LEN);
      at[count++] = k;
    }
    if (!count) {
      i = n;
      break;
    }
    size_t got = 0;
    long status = 0;
    pg_diag d = {{0}};
    int rc = outputs_post(h, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count, raw, v, at, items,
                          &got, &status, &d);
    if (rc && status == 413 && h->outputs_cap > 1) {
      h->outputs_cap /= 2; /* the same ids again, fewer a request */
      continue;
    }
    if (rc && (no_find_route(status) || status == 413)) {
      h->no_outputs = true;
      break;
    }
    for (size_t k = 0; rc && k < count; k++) {
      v[at[k]].rc = rc;
      v[at[k]].d = d;
    }
    i = at[rc ? count - 1 : got - 1] + 1;
  }
  free(items);
  free(ids);
  free(at);
  if (i < n) pg_client_outputs_each(c, v, i, n, raw);
}

size_t pg_http_outputs_batch(const pg_client *c) {
  const http_client *h = (const http_client *)c;
  return h->no_outputs ? 1 : h->outputs_cap;
}
