/* api.c — REST API v1 routes (TIP-13 shapes as @iota/iota.js 1.8.6 reads
 * them; see CHRYSALIS.md section 8). A route is one line in `routes`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#include "node_internal.h"
#include "p2pgrid/base/version.h"
#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/message_json.h"

#define MAX_SEGS 8

typedef void (*handler_fn)(pg_node *n, const pg_http_req *req, const char *const *args,
                           pg_http_resp *resp);

typedef struct route {
  const char *method;
  const char *pattern; /* '/'-separated segments; "*" matches one segment */
  handler_fn fn;
} route;

/* ---- helpers ---------------------------------------------------------- */

/* Copies at most 80 printable characters of s for quoting in an error. */
static const char *quote(const char *s, char *out, size_t cap) {
  size_t i = 0, n = 0;
  const size_t lim = cap > 84 ? 80 : cap - 4;
  for (; s[i] && n < lim; i++) out[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
  if (s[i]) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
  return out;
}


static json_t *num_real(double v) { return json_real(isfinite(v) ? v : 0.0); }

/* Sets data, or a 500 when building the JSON ran out of memory. */
static void ok_data(pg_http_resp *resp, unsigned status, json_t *data) {
  if (!data) {
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  resp->status = status;
  resp->data = data;
}

/* Parses a 64-character hex message id from a path segment. */
static bool parse_id(const char *s, uint8_t id[PG_ID_LEN], pg_http_resp *resp) {
  char q[96];
  if (strlen(s) != 2 * PG_ID_LEN || pg_hex_decode_exact(s, id, PG_ID_LEN) != PG_OK) {
    pg_http_error(resp, 400, "invalid message id '%s': expected %d hex characters",
                  quote(s, q, sizeof q), 2 * PG_ID_LEN);
    return false;
  }
  return true;
}

/* HTTP status for an error class from the Tangle or the codec. */
unsigned pg_node_status_for(int rc) {
  switch (rc) {
  case PG_ERR_INVALID:
  case PG_ERR_TRUNCATED:
  case PG_ERR_TOO_LARGE:
  case PG_ERR_NETWORK_ID:
  case PG_ERR_POW:
  case PG_ERR_CRYPTO:
  case PG_ERR_UNSUPPORTED:
  case PG_ERR_EXISTS:
    return 400;
  case PG_ERR_NOT_FOUND:
    return 404;
  case PG_ERR_UNAVAILABLE:
  case PG_ERR_CANCELLED:
  case PG_ERR_TIMEOUT:
  case PG_ERR_STATE:
    return 503;
  default:
    return 500;
  }
}

/* An error answer from a failed Tangle/codec call: the diag names the problem. */
static void fail_from(pg_http_resp *resp, int rc, const pg_diag *d, const char *what) {
  unsigned status = pg_node_status_for(rc);
  const char *msg = d && d->msg[0] ? d->msg : pg_strerror(rc);
  bool syntax = rc == PG_ERR_INVALID || rc == PG_ERR_TRUNCATED || rc == PG_ERR_TOO_LARGE ||
                rc == PG_ERR_UNSUPPORTED;
  if (status == 500)
    pg_http_error(resp, 500, "internal error: %s: %s", what, msg);
  else if (syntax && strncmp(msg, "invalid", 7) != 0)
    pg_http_error(resp, status, "invalid message: %s", msg);
  else
    pg_http_error(resp, status, "%s", msg);
}

/* Media type of the request without parameters, lowercased into out. */
const char *pg_node_media_type(const pg_httpd_req *hreq, char *out, size_t cap) {
  const char *ct = pg_httpd_header(hreq, "Content-Type");
  if (!ct) return NULL;
  size_t n = 0;
  while (*ct == ' ' || *ct == '\t') ct++;
  for (; *ct && *ct != ';' && n + 1 < cap; ct++) {
    char ch = *ct;
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    out[n++] = ch;
  }
  while (n && (out[n - 1] == ' ' || out[n - 1] == '\t')) n--;
  out[n] = '\0';
  return out;
}

/* ---- handlers --------------------------------------------------------- */

static void h_health(pg_node *n, const pg_http_req *req, const char *const *args,
                     pg_http_resp *resp) {
  const char *why = NULL;
  if (pg_node_health(n, &why)) {
    ok_data(resp, 200, json_pack("{s:b}", "isHealthy", 1));
  } else {
    pg_http_error(resp, 503, "node is not healthy: %s", why);
  }
}

static void h_info(pg_node *n, const pg_http_req *req, const char *const *args,
                   pg_http_resp *resp) {
  pg_tangle_status st;
  pg_tangle_get_status(n->tangle, &st);
  json_t *features = json_array();
  if (features && n->remote_pow) (void)json_array_append_new(features, json_string("PoW"));
  json_t *o = json_object();
  if (o) {
    (void)json_object_set_new(o, "name", json_string(PG_NODE_NAME));
    (void)json_object_set_new(o, "version", json_string(pg_version()));
    (void)json_object_set_new(o, "isHealthy", json_boolean(pg_node_health(n, NULL)));
    (void)json_object_set_new(o, "networkId", json_string(st.network_name ? st.network_name : ""));
    (void)json_object_set_new(o, "bech32HRP", json_string(st.bech32_hrp ? st.bech32_hrp : ""));
    (void)json_object_set_new(o, "minPoWScore", json_integer((json_int_t)st.min_pow_score));
    (void)json_object_set_new(o, "messagesPerSecond", num_real(st.messages_per_second));
    (void)json_object_set_new(o, "referencedMessagesPerSecond",
                              num_real(st.referenced_messages_per_second));
    (void)json_object_set_new(o, "referencedRate", num_real(st.referenced_rate));
    (void)json_object_set_new(o, "latestMilestoneTimestamp",
                              json_integer((json_int_t)st.latest_milestone_timestamp));
    (void)json_object_set_new(o, "latestMilestoneIndex",
                              json_integer((json_int_t)st.latest_milestone_index));
    (void)json_object_set_new(o, "confirmedMilestoneIndex",
                              json_integer((json_int_t)st.confirmed_milestone_index));
    (void)json_object_set_new(o, "pruningIndex", json_integer((json_int_t)st.pruning_index));
    (void)json_object_set_new(o, "features", features);
    features = NULL;
    if (json_object_size(o) != 14) {
      json_decref(o);
      o = NULL;
    }
  }
  json_decref(features);
  ok_data(resp, 200, o);
}

/* GET /api/plugins/display: how people read this node's amounts and times,
 * {"money": {currency, unitsPerCurrency, decimals}, "timeZone"} (the
 * explorer formats with them; the API's values stay base units and ms). */
static void h_display(pg_node *n, const pg_http_req *req, const char *const *args,
                      pg_http_resp *resp) {
  ok_data(resp, 200, json_pack("{s:o,s:s}", "money", pg_money_json(&n->money), "timeZone",
                               pg_tz_name(n->tz)));
}

static void h_tips(pg_node *n, const pg_http_req *req, const char *const *args,
                   pg_http_resp *resp) {
  uint8_t ids[PG_MSG_MAX_PARENTS][PG_ID_LEN];
  size_t count = 0;
  pg_diag d = {{0}};
  int rc = pg_tangle_select_tips(n->tangle, ids, PG_MSG_MAX_PARENTS, &count);
  if (rc == PG_OK && count == 0) rc = PG_ERR_UNAVAILABLE;
  if (rc) {
    if (rc == PG_ERR_UNAVAILABLE) snprintf(d.msg, sizeof d.msg, "no tips available");
    fail_from(resp, rc, &d, "tip selection");
    return;
  }
  /* the contract says sorted; make sure (iota.js throws on unsorted parents) */
  for (size_t i = 1; i < count; i++)
    for (size_t j = i; j > 0 && pg_id_cmp(ids[j - 1], ids[j]) > 0; j--) {
      uint8_t t[PG_ID_LEN];
      memcpy(t, ids[j], PG_ID_LEN);
      memcpy(ids[j], ids[j - 1], PG_ID_LEN);
      memcpy(ids[j - 1], t, PG_ID_LEN);
    }
  json_t *a = pg_node_ids_json((const uint8_t(*)[PG_ID_LEN])ids, count);
  ok_data(resp, 200, a ? json_pack("{s:o}", "tipMessageIds", a) : NULL);
}

static void answer_message_id(pg_http_resp *resp, const uint8_t id[PG_ID_LEN]) {
  char hex[2 * PG_ID_LEN + 1];
  pg_hex_encode(id, PG_ID_LEN, hex);
  snprintf(resp->location, sizeof resp->location, "/api/v1/messages/%s", hex);
  ok_data(resp, 201, json_pack("{s:s}", "messageId", hex));
}

/* The answer to a stored message (201 with its id) or to a refused one. */
static void answer_stored(pg_http_resp *resp, int rc, const uint8_t *id, const pg_diag *d) {
  if (rc)
    fail_from(resp, rc, d, "store");
  else
    answer_message_id(resp, id);
}

static pg_node_msg_outcome message_outcome(unsigned status, bool dup) {
  return status >= 500 || status < 200 ? PG_NODE_MSG_FAILED
         : status >= 400               ? PG_NODE_MSG_INVALID
         : dup                         ? PG_NODE_MSG_DUPLICATE
                                       : PG_NODE_MSG_STORED;
}

/* Answers a POST /messages that was deferred (pg_node_later). */
static void answer_later(pg_node_later *l, int rc, const uint8_t *id, bool is_new,
                         const pg_diag *d) {
  pg_http_resp r = {0};
  answer_stored(&r, rc, id, d);
  pg_node_metrics_message(pg_node_later_node(l), message_outcome(r.status, rc == PG_OK && !is_new));
  pg_node_later_end(l, &r);
}

void pg_node_answer_later(pg_node_later *l, int rc, const uint8_t *id, const pg_diag *d) {
  answer_later(l, rc, id, true, d);
}

/* The tangle's answer to a message it stored later (its committer thread:
 * after the COMMIT). */
static void stored_later(void *ctx, int rc, const uint8_t id[PG_ID_LEN], bool is_new,
                         const pg_diag *d) {
  answer_later(ctx, rc, id, is_new, d);
}

/* A replica's POST: to the first peer that takes it (peers.h). */
static void forward(pg_node *n, const json_t *j, const uint8_t *raw, size_t len,
                    pg_http_resp *resp) {
  pg_diag d = {{0}};
  uint8_t id[PG_ID_LEN];
  int rc = pg_peers_forward(n->peers, j, raw, len, id, &d);
  if (rc == PG_ERR_INVALID || rc == PG_ERR_TOO_LARGE)
    pg_http_error(resp, 400, "%s", d.msg[0] ? d.msg : pg_strerror(rc));
  else if (rc)
    pg_http_error(resp, 503, "%s", d.msg[0] ? d.msg : pg_strerror(rc));
  else
    answer_message_id(resp, id);
}

static void post_json(pg_node *n, const pg_http_req *req, pg_http_resp *resp) {
  pg_diag d = {{0}};
  json_t *j = NULL;
  pg_message_draft draft;
  memset(&draft, 0, sizeof draft);
  uint8_t id[PG_ID_LEN];
  int rc;
  if (req->body_len == 0) {
    pg_http_error(resp, 400, "empty body: expected a JSON message object");
    goto out;
  }
  if ((rc = pg_json_parse(req->body, req->body_len, PG_JSON_OBJECT, &j, &d))) {
    pg_http_error(resp, 400, "invalid JSON: %s", d.msg[0] ? d.msg : pg_strerror(rc));
    goto out;
  }
  if ((rc = pg_message_draft_from_json(j, &draft, &d))) {
    fail_from(resp, rc, &d, "message draft");
    goto out;
  }
  if (n->peers) { /* a replica: the draft goes to a peer as it came */
    forward(n, j, NULL, 0, resp);
    goto out;
  }
  if (!draft.has_nonce && n->min_pow_score > 0 && !n->remote_pow) {
    pg_http_error(resp, 503,
                  "this node does no proof of work (api.remote_pow = false): send the message "
                  "with its nonce (minimum PoW score %u)",
                  (unsigned)n->min_pow_score);
    goto out;
  }
  bool pow = !draft.has_nonce && n->min_pow_score > 0;
  pg_node_later *l = pg_node_later_begin(n, req, resp);
  if (l && pow) { /* the PoW thread answers (pow.c), never this worker */
    if ((rc = pg_node_pow_submit(n, &draft, l, &d))) answer_later(l, rc, NULL, true, &d);
    goto out;
  }
  if (l && (rc = pg_tangle_attach_later(n->tangle, &draft, stored_later, l, &d)) == PG_OK)
    goto out; /* stored_later answers */
  if (!l || rc == PG_ERR_UNSUPPORTED) {
    double t0 = pow ? pg_node_metrics_pow_start(n) : 0;
    rc = pg_tangle_attach(n->tangle, &draft, &n->stopping, id, &d);
    if (pow) pg_node_metrics_pow_end(n, t0, rc == PG_OK);
  }
  if (l)
    answer_later(l, rc, id, true, &d);
  else
    answer_stored(resp, rc, id, &d);
out:
  pg_message_draft_clear(&draft);
  json_decref(j);
}

static void post_raw(pg_node *n, const pg_http_req *req, pg_http_resp *resp, bool *dup) {
  pg_diag d = {{0}};
  uint8_t id[PG_ID_LEN];
  if (req->body_len == 0) {
    pg_http_error(resp, 400, "empty body: expected the message bytes");
    return;
  }
  if (req->body_len > PG_MSG_MAX_LEN) {
    pg_http_error(resp, 400, "invalid message: %zu bytes, at most %d allowed", req->body_len,
                  PG_MSG_MAX_LEN);
    return;
  }
  if (n->peers) {
    forward(n, NULL, req->body, req->body_len, resp);
    return;
  }
  pg_node_later *l = pg_node_later_begin(n, req, resp);
  if (l) {
    int rc = pg_tangle_submit_later(n->tangle, req->body, req->body_len, stored_later, l, &d);
    if (rc) answer_later(l, rc, NULL, false, &d); /* refused by the entry checks */
    return;
  }
  bool is_new = true;
  int rc = pg_tangle_submit(n->tangle, req->body, req->body_len, id, &is_new, &d);
  answer_stored(resp, rc, id, &d);
  *dup = rc == PG_OK && !is_new;
}

static void h_messages_post(pg_node *n, const pg_http_req *req, const char *const *args,
                            pg_http_resp *resp) {
  char mt[64];
  bool dup = false;
  const char *t = pg_node_media_type(req->hreq, mt, sizeof mt);
  if (!t || !*t) {
    pg_http_error(resp, 415,
                  "missing Content-Type: use application/json or application/octet-stream");
  } else if (strcmp(t, "application/json") == 0) {
    post_json(n, req, resp);
  } else if (strcmp(t, "application/octet-stream") == 0) {
    post_raw(n, req, resp, &dup);
  } else {
    char q[96];
    pg_http_error(resp, 415,
                  "unsupported Content-Type '%s': use application/json or application/octet-stream",
                  quote(t, q, sizeof q));
  }
  if (!resp->later) pg_node_metrics_message(n, message_outcome(resp->status, dup));
}

static void h_messages_find(pg_node *n, const pg_http_req *req, const char *const *args,
                            pg_http_resp *resp) {
  const char *ix = pg_httpd_query_value(req->hreq, "index");
  uint8_t index[PG_INDEX_MAX_LEN];
  size_t index_len = 0;
  char q[96];
  if (!ix || !*ix) {
    pg_http_error(resp, 400, "missing query parameter 'index' (the indexation key in hex)");
    return;
  }
  size_t sl = strlen(ix);
  if (sl > 2 * PG_INDEX_MAX_LEN) {
    pg_http_error(resp, 400, "index is %zu bytes; at most %d bytes allowed", (sl + 1) / 2,
                  PG_INDEX_MAX_LEN);
    return;
  }
  if (pg_hex_decode(ix, sl, index, sizeof index, &index_len) != PG_OK) {
    pg_http_error(resp, 400, "index '%s' is not valid hex", quote(ix, q, sizeof q));
    return;
  }
  uint8_t(*ids)[PG_ID_LEN] = malloc(PG_NODE_MAX_RESULTS * (size_t)PG_ID_LEN);
  size_t count = 0, total = 0;
  if (!ids) {
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  int rc = pg_tangle_find_index(n->tangle, index, index_len, PG_NODE_MAX_RESULTS, ids, &count,
                                &total);
  if (rc) {
    fail_from(resp, rc, NULL, "index lookup");
  } else {
    char hex[2 * PG_INDEX_MAX_LEN + 1];
    pg_hex_encode(index, index_len, hex);
    json_t *a = pg_node_ids_json((const uint8_t(*)[PG_ID_LEN])ids, count);
    ok_data(resp, 200,
            a ? json_pack("{s:s,s:i,s:I,s:o}", "index", hex, "maxResults", PG_NODE_MAX_RESULTS,
                          "count", (json_int_t)count, "messageIds", a)
              : NULL);
  }
  free(ids);
}

/* Loads the raw bytes of a message; false (answer set) when unknown/bad. */
static bool load_raw(pg_node *n, const char *seg, uint8_t id[PG_ID_LEN], pg_buf *raw,
                     pg_http_resp *resp) {
  if (!parse_id(seg, id, resp)) return false;
  int rc = pg_tangle_get_raw(n->tangle, id, raw);
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "message %s not found", seg);
    return false;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "load message");
    return false;
  }
  return true;
}

static void h_message(pg_node *n, const pg_http_req *req, const char *const *args,
                      pg_http_resp *resp) {
  uint8_t id[PG_ID_LEN];
  pg_buf raw;
  pg_message m;
  pg_diag d = {{0}};
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  if (!load_raw(n, args[0], id, &raw, resp)) goto out;
  int rc = pg_message_parse(raw.data, raw.len, &m, &d);
  if (rc) {
    pg_http_error(resp, 500, "internal error: stored message does not parse: %s", d.msg);
    goto out;
  }
  ok_data(resp, 200, pg_message_to_json(&m));
  pg_message_clear(&m);
out:
  pg_buf_free(&raw);
}

static void h_message_raw(pg_node *n, const pg_http_req *req, const char *const *args,
                          pg_http_resp *resp) {
  uint8_t id[PG_ID_LEN];
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  if (load_raw(n, args[0], id, &raw, resp)) {
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    pg_buf_take(&raw, &resp->raw, &resp->raw_len);
  }
  pg_buf_free(&raw);
}

static void h_message_meta(pg_node *n, const pg_http_req *req, const char *const *args,
                           pg_http_resp *resp) {
  uint8_t id[PG_ID_LEN];
  pg_msg_meta m;
  if (!parse_id(args[0], id, resp)) return;
  int rc = pg_tangle_get_meta(n->tangle, id, &m);
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "message %s not found", args[0]);
    return;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "load metadata");
    return;
  }
  ok_data(resp, 200, pg_node_meta_json(&m));
}

static void h_message_children(pg_node *n, const pg_http_req *req, const char *const *args,
                               pg_http_resp *resp) {
  uint8_t id[PG_ID_LEN];
  pg_msg_meta m;
  if (!parse_id(args[0], id, resp)) return;
  uint8_t(*ids)[PG_ID_LEN] = malloc(PG_NODE_MAX_RESULTS * (size_t)PG_ID_LEN);
  size_t count = 0, total = 0;
  if (!ids) {
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  int rc = pg_tangle_children(n->tangle, id, PG_NODE_MAX_RESULTS, ids, &count, &total);
  if (rc == PG_OK && total == 0) {
    /* no children: 404 only when the message itself is unknown */
    rc = pg_tangle_get_meta(n->tangle, id, &m);
    if (rc == PG_ERR_NOT_FOUND) {
      pg_http_error(resp, 404, "message %s not found", args[0]);
      goto out;
    }
  }
  if (rc) {
    fail_from(resp, rc, NULL, "children lookup");
    goto out;
  }
  char hex[2 * PG_ID_LEN + 1];
  pg_hex_encode(id, PG_ID_LEN, hex);
  json_t *a = pg_node_ids_json((const uint8_t(*)[PG_ID_LEN])ids, count);
  ok_data(resp, 200,
          a ? json_pack("{s:s,s:i,s:I,s:o}", "messageId", hex, "maxResults",
                        PG_NODE_MAX_RESULTS, "count", (json_int_t)count, "childrenMessageIds", a)
            : NULL);
out:
  free(ids);
}

static bool parse_ms_index(const char *s, uint32_t *out, pg_http_resp *resp);

static void h_milestone(pg_node *n, const pg_http_req *req, const char *const *args,
                        pg_http_resp *resp) {
  uint32_t v = 0;
  if (!parse_ms_index(args[0], &v, resp)) return;
  pg_milestone_info mi;
  int rc = v == 0 ? PG_ERR_NOT_FOUND : pg_tangle_milestone(n->tangle, v, &mi);
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "milestone %u not found", (unsigned)v);
    return;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "milestone lookup");
    return;
  }
  char hex[2 * PG_ID_LEN + 1];
  pg_hex_encode(mi.message_id, PG_ID_LEN, hex);
  ok_data(resp, 200,
          json_pack("{s:I,s:s,s:I}", "index", (json_int_t)mi.index, "messageId", hex, "timestamp",
                    (json_int_t)mi.timestamp));
}

/* ---- ledger (TIP-13 UTXO routes) ------------------------------------- */

/* The ledger, or a 503 answer when the node runs none. */
pg_ledger *pg_node_need_ledger(pg_node *n, pg_http_resp *resp) {
  if (!n->ledger)
    pg_http_error(resp, 503, "this node keeps no ledger (its confirmation hook was replaced)");
  return n->ledger;
}

static json_int_t ledger_index(pg_node *n) {
  pg_tangle_status st;
  pg_tangle_get_status(n->tangle, &st);
  return (json_int_t)st.confirmed_milestone_index;
}

/* Exactly 2*len lowercase or uppercase hex characters into out. */
static bool parse_hex_exact(const char *s, uint8_t *out, size_t len) {
  return strlen(s) == 2 * len && pg_hex_decode_exact(s, out, len) == PG_OK;
}

static void h_output(pg_node *n, const pg_http_req *req, const char *const *args,
                     pg_http_resp *resp) {
  pg_ledger *l = pg_node_need_ledger(n, resp);
  uint8_t id[PG_OUTPUT_ID_LEN];
  char q[96];
  if (!l) return;
  if (!parse_hex_exact(args[0], id, sizeof id)) {
    pg_http_error(resp, 400,
                  "invalid output id '%s': expected %d hex characters (transaction id and "
                  "output index as u16 little endian)",
                  quote(args[0], q, sizeof q), 2 * PG_OUTPUT_ID_LEN);
    return;
  }
  json_int_t li = ledger_index(n);
  pg_output_info o;
  int rc = pg_ledger_output(l, id, &o);
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "output %s not found", args[0]);
    return;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "output lookup");
    return;
  }
  ok_data(resp, 200, pg_node_output_json(&o, o.spent, true, (uint32_t)li));
}

/* Address from a route: ed25519 hex or bech32 with the node's HRP. */
static bool parse_address(pg_node *n, const char *s, bool bech32, uint8_t addr[32],
                          pg_http_resp *resp) {
  char q[96];
  if (!bech32) {
    if (!parse_hex_exact(s, addr, 32)) {
      pg_http_error(resp, 400, "invalid Ed25519 address '%s': expected 64 hex characters",
                    quote(s, q, sizeof q));
      return false;
    }
    return true;
  }
  pg_tangle_status st;
  pg_tangle_get_status(n->tangle, &st);
  const char *want = st.bech32_hrp ? st.bech32_hrp : "";
  char hrp[PG_BECH32_MAX_HRP + 1];
  pg_diag d = {{0}};
  if (pg_iota_address_decode(s, strlen(s), NULL, hrp, sizeof hrp, addr, &d) != PG_OK) {
    pg_http_error(resp, 400, "invalid bech32 address '%s': %s", quote(s, q, sizeof q),
                  d.msg[0] ? d.msg : "cannot decode");
    return false;
  }
  if (strcmp(hrp, want) != 0) {
    char q2[96];
    pg_http_error(resp, 400,
                  "invalid bech32 address '%s': HRP '%s' is not this network's; expected '%s'",
                  quote(s, q, sizeof q), quote(hrp, q2, sizeof q2), want);
    return false;
  }
  return true;
}

static void address_info(pg_node *n, const char *s, bool bech32, pg_http_resp *resp) {
  pg_ledger *l = pg_node_need_ledger(n, resp);
  uint8_t addr[32];
  if (!l || !parse_address(n, s, bech32, addr, resp)) return;
  json_int_t li = ledger_index(n);
  uint64_t balance = 0;
  bool dust_allowed = false;
  int rc = pg_ledger_balance(l, addr, &balance, &dust_allowed);
  if (rc) {
    fail_from(resp, rc, NULL, "balance lookup");
    return;
  }
  char hex[65];
  pg_hex_encode(addr, 32, hex);
  ok_data(resp, 200,
          json_pack("{s:i,s:s,s:I,s:b,s:I}", "addressType", 0, "address", hex, "balance",
                    (json_int_t)balance, "dustAllowed", dust_allowed, "ledgerIndex", li));
}

static json_t *output_ids_json(const uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t n) {
  return pg_node_hex_list_json(n ? ids[0] : NULL, n, PG_OUTPUT_ID_LEN);
}

static void address_outputs(pg_node *n, const pg_http_req *req, const char *s, bool bech32,
                            pg_http_resp *resp) {
  pg_ledger *l = pg_node_need_ledger(n, resp);
  uint8_t addr[32];
  char q[96];
  if (!l || !parse_address(n, s, bech32, addr, resp)) return;
  int type = -1;
  bool include_spent = false;
  const char *t = pg_httpd_query_value(req->hreq, "type");
  const char *sp = pg_httpd_query_value(req->hreq, "include-spent");
  if (t) {
    if (strcmp(t, "0") == 0) type = 0;
    else if (strcmp(t, "1") == 0) type = 1;
    else {
      pg_http_error(resp, 400,
                    "invalid query parameter type='%s': expected 0 (SigLockedSingleOutput) or 1 "
                    "(SigLockedDustAllowanceOutput)",
                    quote(t, q, sizeof q));
      return;
    }
  }
  if (sp) {
    if (strcmp(sp, "true") == 0) include_spent = true;
    else if (strcmp(sp, "false") != 0) {
      pg_http_error(resp, 400, "invalid query parameter include-spent='%s': expected true or false",
                    quote(sp, q, sizeof q));
      return;
    }
  }
  json_int_t li = ledger_index(n);
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = malloc(PG_NODE_MAX_RESULTS * (size_t)PG_OUTPUT_ID_LEN);
  size_t count = 0, total = 0;
  if (!ids) {
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  int rc = pg_ledger_address_outputs(l, addr, type, include_spent, PG_NODE_MAX_RESULTS, ids,
                                     &count, &total);
  if (rc) {
    fail_from(resp, rc, NULL, "address outputs lookup");
    free(ids);
    return;
  }
  json_t *a = output_ids_json((const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, count);
  free(ids);
  char hex[65];
  pg_hex_encode(addr, 32, hex);
  ok_data(resp, 200,
          a ? json_pack("{s:i,s:s,s:i,s:I,s:o,s:I}", "addressType", 0, "address", hex,
                        "maxResults", PG_NODE_MAX_RESULTS, "count", (json_int_t)count, "outputIds",
                        a, "ledgerIndex", li)
            : NULL);
}

static void h_address_bech32(pg_node *n, const pg_http_req *req, const char *const *args,
                             pg_http_resp *resp) {
  address_info(n, args[0], true, resp);
}

static void h_address_ed25519(pg_node *n, const pg_http_req *req, const char *const *args,
                              pg_http_resp *resp) {
  address_info(n, args[0], false, resp);
}

static void h_address_bech32_outputs(pg_node *n, const pg_http_req *req, const char *const *args,
                                     pg_http_resp *resp) {
  address_outputs(n, req, args[0], true, resp);
}

static void h_address_ed25519_outputs(pg_node *n, const pg_http_req *req, const char *const *args,
                                      pg_http_resp *resp) {
  address_outputs(n, req, args[0], false, resp);
}

static void h_tx_included(pg_node *n, const pg_http_req *req, const char *const *args,
                          pg_http_resp *resp) {
  pg_ledger *l = pg_node_need_ledger(n, resp);
  uint8_t tx[32], mid[PG_ID_LEN];
  char q[96];
  if (!l) return;
  if (!parse_hex_exact(args[0], tx, sizeof tx)) {
    pg_http_error(resp, 400, "invalid transaction id '%s': expected 64 hex characters",
                  quote(args[0], q, sizeof q));
    return;
  }
  int rc = pg_ledger_included_message(l, tx, mid);
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "transaction %s not found among included transactions", args[0]);
    return;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "included-message lookup");
    return;
  }
  char hex[2 * PG_ID_LEN + 1];
  pg_hex_encode(mid, PG_ID_LEN, hex);
  const char *hargs[1] = {hex};
  h_message(n, req, hargs, resp);
}

/* A milestone index path segment: 1..UINT32_MAX; false (400 set) otherwise. */
static bool parse_ms_index(const char *s, uint32_t *out, pg_http_resp *resp) {
  uint64_t v = 0;
  size_t len = strlen(s);
  bool ok = len >= 1 && len <= 10;
  for (size_t i = 0; ok && i < len; i++) {
    if (s[i] < '0' || s[i] > '9') ok = false;
    else v = v * 10 + (uint64_t)(s[i] - '0');
  }
  if (!ok || v > UINT32_MAX) {
    char q[96];
    pg_http_error(resp, 400, "invalid milestone index '%s': expected a number from 1 to %u",
                  quote(s, q, sizeof q), (unsigned)UINT32_MAX);
    return false;
  }
  *out = (uint32_t)v;
  return true;
}

static void h_utxo_changes(pg_node *n, const pg_http_req *req, const char *const *args,
                           pg_http_resp *resp) {
  pg_ledger *l = pg_node_need_ledger(n, resp);
  uint32_t index = 0;
  if (!l || !parse_ms_index(args[0], &index, resp)) return;
  pg_milestone_info mi;
  int rc = index == 0 ? PG_ERR_NOT_FOUND : pg_tangle_milestone(n->tangle, index, &mi);
  if (rc == PG_OK) {
    pg_tangle_status st;
    pg_tangle_get_status(n->tangle, &st);
    if (index > st.confirmed_milestone_index) rc = PG_ERR_NOT_FOUND; /* not booked yet */
  }
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "milestone %u not found (or not confirmed yet)", (unsigned)index);
    return;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "milestone lookup");
    return;
  }
  uint8_t(*created)[PG_OUTPUT_ID_LEN] = NULL, (*consumed)[PG_OUTPUT_ID_LEN] = NULL;
  size_t nc = 0, nu = 0;
  rc = pg_ledger_milestone_changes(l, index, &created, &nc, &consumed, &nu);
  if (rc) {
    fail_from(resp, rc, NULL, "utxo changes lookup");
    return;
  }
  json_t *ca = output_ids_json((const uint8_t(*)[PG_OUTPUT_ID_LEN])created, nc);
  json_t *ua = output_ids_json((const uint8_t(*)[PG_OUTPUT_ID_LEN])consumed, nu);
  free(created);
  free(consumed);
  if (!ca || !ua) {
    json_decref(ca);
    json_decref(ua);
    pg_http_error(resp, 500, "out of memory");
    return;
  }
  ok_data(resp, 200,
          json_pack("{s:I,s:o,s:o}", "index", (json_int_t)index, "createdOutputs", ca,
                    "consumedOutputs", ua));
}

/* GET /api/plugins/ledger/digest/{index} (contract A): index 0 is the
 * genesis; milestoneId is 64 zeros there. */
static void h_ledger_digest(pg_node *n, const pg_http_req *req, const char *const *args,
                            pg_http_resp *resp) {
  pg_ledger *l = pg_node_need_ledger(n, resp);
  uint32_t index = 0;
  if (!l) return;
  if (strcmp(args[0], "0") != 0 && !parse_ms_index(args[0], &index, resp)) return;
  uint8_t digest[32];
  pg_milestone_info mi;
  memset(&mi, 0, sizeof mi);
  int rc = pg_ledger_digest(l, index, digest);
  if (rc == PG_OK && index > 0) rc = pg_tangle_milestone(n->tangle, index, &mi);
  if (rc == PG_ERR_NOT_FOUND) {
    pg_http_error(resp, 404, "milestone %u not found (or not confirmed yet)", (unsigned)index);
    return;
  }
  if (rc) {
    fail_from(resp, rc, NULL, "ledger digest");
    return;
  }
  char dh[65], mh[65];
  pg_hex_encode(digest, 32, dh);
  pg_hex_encode(mi.message_id, 32, mh);
  ok_data(resp, 200,
          json_pack("{s:I,s:s,s:s}", "index", (json_int_t)index, "milestoneId", mh, "digest", dh));
}

void pg_node_peers_status(pg_node *n, const pg_http_req *req, const char *const *args,
                          pg_http_resp *resp) {
  ok_data(resp, 200,
          n->peers ? pg_peers_status_json(n->peers)
                   : json_pack("{s:[],s:i,s:n}", "peers", "refusals", 0, "syncedMilestoneIndex"));
}

static void h_receipts(pg_node *n, const pg_http_req *req, const char *const *args,
                       pg_http_resp *resp) {
  ok_data(resp, 200, json_pack("{s:[]}", "receipts"));
}

static void h_treasury(pg_node *n, const pg_http_req *req, const char *const *args,
                       pg_http_resp *resp) {
  static const uint8_t zero[32];
  char hex[65];
  pg_hex_encode(zero, 32, hex);
  ok_data(resp, 200, json_pack("{s:s,s:i}", "milestoneId", hex, "amount", 0));
}

/* ---- routing ---------------------------------------------------------- */

static const route routes[] = {
    {"GET", "health", h_health},
    {"GET", "api/v1/info", h_info},
    {"GET", "api/v1/tips", h_tips},
    {"GET", "api/v1/messages", h_messages_find},
    {"POST", "api/v1/messages", h_messages_post},
    {"GET", "api/v1/messages/*", h_message},
    {"GET", "api/v1/messages/*/metadata", h_message_meta},
    {"GET", "api/v1/messages/*/raw", h_message_raw},
    {"GET", "api/v1/messages/*/children", h_message_children},
    {"GET", "api/v1/milestones/*", h_milestone},
    {"GET", "api/v1/milestones/*/utxo-changes", h_utxo_changes},
    {"GET", "api/v1/outputs/*", h_output},
    {"GET", "api/v1/addresses/ed25519/*", h_address_ed25519},
    {"GET", "api/v1/addresses/ed25519/*/outputs", h_address_ed25519_outputs},
    {"GET", "api/v1/addresses/*", h_address_bech32},
    {"GET", "api/v1/addresses/*/outputs", h_address_bech32_outputs},
    {"GET", "api/v1/transactions/*/included-message", h_tx_included},
    {"GET", "api/v1/receipts", h_receipts},
    {"GET", "api/v1/treasury", h_treasury},
    {"GET", "api/plugins/mam/fetch", pg_node_mam_fetch}, /* explorer.c */
    {"GET", "api/plugins/ledger/digest/*", h_ledger_digest},
    {"GET", "api/plugins/peers", pg_node_peers_status},
    {"GET", "api/plugins/display", h_display},
    {"POST", "api/plugins/data/batch", pg_node_batch_post}, /* batch.c */
    {"POST", "api/plugins/data/find", pg_node_find_post},   /* find.c */
    {"POST", "api/plugins/data/outputs", pg_node_outputs_post}, /* outputs_post.c */
    {"GET", "metrics", pg_node_metrics_get}, /* node_metrics.c: Prometheus */
};

/* Splits path into at most MAX_SEGS non-empty segments (copied into buf). */
static int split(const char *path, char *buf, size_t cap, const char **segs) {
  size_t len = strlen(path);
  if (len >= cap) return -1;
  memcpy(buf, path, len + 1);
  int n = 0;
  char *p = buf;
  while (*p) {
    while (*p == '/') *p++ = '\0';
    if (!*p) break;
    if (n == MAX_SEGS) return -1;
    segs[n++] = p;
    while (*p && *p != '/') p++;
  }
  return n;
}

/* Matches a route pattern; wildcard captures go to args. */
static bool match(const char *pattern, const char *const *segs, int nsegs, const char **args) {
  int i = 0, a = 0;
  const char *p = pattern;
  while (*p) {
    const char *e = strchr(p, '/');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (i >= nsegs) return false;
    if (l == 1 && p[0] == '*') {
      args[a++] = segs[i];
    } else if (strlen(segs[i]) != l || memcmp(segs[i], p, l) != 0) {
      return false;
    }
    i++;
    p = e ? e + 1 : p + l;
  }
  return i == nsegs;
}

void pg_node_api_dispatch(pg_node *n, const pg_http_req *req, pg_http_resp *resp) {
  char buf[1024];
  const char *segs[MAX_SEGS];
  const char *args[MAX_SEGS];
  char q[96];
  int nsegs = split(req->url, buf, sizeof buf, segs);
  bool head = strcmp(req->method, "HEAD") == 0;
  const char *method = head ? "GET" : req->method;
  if (nsegs < 0) {
    pg_http_error(resp, 404, "no such route: %s", quote(req->url, q, sizeof q));
    return;
  }
  bool path_known = false;
  char allow[64] = "";
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (!match(routes[i].pattern, segs, nsegs, args)) continue;
    if (strcmp(routes[i].method, method) == 0) {
      routes[i].fn(n, req, args, resp);
      if (resp->status == 0) pg_http_error(resp, 500, "internal error: no answer");
      return;
    }
    if (!strstr(allow, routes[i].method)) {
      size_t l = strlen(allow);
      snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", routes[i].method);
    }
    path_known = true;
  }
  if (strcmp(req->method, "OPTIONS") == 0) {
    resp->status = 204;
    resp->empty = true;
    return;
  }
  if (path_known) {
    pg_http_error(resp, 405, "method %s not allowed on %s (allowed: %s)",
                  quote(req->method, q, sizeof q), req->url, allow);
    snprintf(resp->allow, sizeof resp->allow, "%s, OPTIONS", allow);
    return;
  }
  pg_http_error(resp, 404, "no such route: %s %s", quote(req->method, q, sizeof q), req->url);
}
