/* http.c — pg_client over the TIP-13 REST API v1 with libcurl: the
 * client's set-up and vtable, the request helpers (http_client.h) and the
 * single-request ops (health, info, tips, submit, messages and their
 * metadata and children, index lookups, milestones, addresses, outputs).
 * The batched ops (POST /api/plugins/data/batch, /find, /outputs) are in
 * http_batch.c.
 *
 * One CURL easy handle per client object, reused for every request, so
 * libcurl keeps the TCP connection open between requests (HTTP/1.1
 * keep-alive) and the object is not thread-safe. curl_easy_reset() between
 * requests clears options but keeps live connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_client.h"
#include "http_internal.h"
#include "p2pgrid/base/url.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/ledger/outputs.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
#define DEFAULT_TIMEOUT_MS 60000u
#define DEFAULT_MAX_RESPONSE (1u << 20)
#define REQUEST_MAX (1u << 20) /* JSON request bodies we send */
#define URL_MAX 2048

/* ---- libcurl set-up ---- */

int pg_client_http_status_err(long status) {
  switch (status) {
  case 400: return PG_ERR_INVALID;
  case 404: return PG_ERR_NOT_FOUND;
  case 409: return PG_ERR_EXISTS;
  case 413: return PG_ERR_TOO_LARGE;
  case 503: return PG_ERR_UNAVAILABLE;
  case 403:
  case 405:
  case 415:
  case 501: return PG_ERR_UNSUPPORTED;
  case 408:
  case 504: return PG_ERR_TIMEOUT;
  default: return PG_ERR_HTTP;
  }
}

void pg_http_clean_text(const char *s, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap && k < ERRTEXT_MAX; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[k++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
  }
  if (n > ERRTEXT_MAX && k + 4 < cap) {
    memcpy(out + k, "...", 3);
    k += 3;
  }
  out[k] = '\0';
}

/* The node's explanation of a failed request: error.message of a TIP-13
 * error body, else the raw body text, else "no error message". */
static void error_text(const pg_buf *body, char *out, size_t cap) {
  json_t *j = NULL;
  if (body->len && pg_json_parse(body->data, body->len, PG_JSON_OBJECT, &j, NULL) == PG_OK) {
    json_t *err = json_object_get(j, "error");
    json_t *msg = json_is_object(err) ? json_object_get(err, "message") : NULL;
    if (json_is_string(msg)) {
      pg_http_clean_text(json_string_value(msg), json_string_length(msg), out, cap);
      json_decref(j);
      return;
    }
    json_decref(j);
  }
  if (body->len) {
    pg_http_clean_text((const char *)body->data, body->len, out, cap);
    return;
  }
  snprintf(out, cap, "no error message");
}

int pg_http_do(http_client *h, const char *method, const char *route, bool absolute,
               const char *ctype, const void *body, size_t body_len, long *status, char *what,
               size_t what_cap, pg_diag *d) {
  char url[URL_MAX];
  int n = snprintf(what, what_cap, "%s %s%s", method, absolute ? "" : h->base_path, route);
  if (n < 0 || (size_t)n >= what_cap)
    return pg_fail(d, PG_ERR_INVALID, "%s: route too long", method);
  n = snprintf(url, sizeof url, "%s%s%s", h->base_url, absolute ? "" : h->base_path, route);
  if (n < 0 || (size_t)n >= sizeof url) return pg_fail(d, PG_ERR_INVALID, "%s: URL too long", what);

  CURL *c = h->curl;
  curl_easy_reset(c); /* options only: live connections stay */
  pg_buf_reset(&h->resp);
  h->errbuf[0] = '\0';
  CURLcode cc = pg_libcurl_common(c, url, h->connect_timeout_ms, h->timeout_ms, h->max_response,
                                  &h->resp, h->errbuf);
  if (cc == CURLE_OK) cc = pg_libcurl_tls(c, h->has_tls ? &h->tls : NULL, false);
#define SETOPT(opt, val)                                                                           \
  do {                                                                                             \
    if (cc == CURLE_OK) cc = curl_easy_setopt(c, opt, val);                                        \
  } while (0)
  if (strcmp(method, "POST") == 0) {
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    SETOPT(CURLOPT_HTTPHEADER, strcmp(ctype, "application/octet-stream") == 0 ? h->hdr_octet
                                                                              : h->hdr_json);
  } else {
    SETOPT(CURLOPT_HTTPGET, 1L);
    SETOPT(CURLOPT_HTTPHEADER, h->hdr_get);
  }
#undef SETOPT
  if (cc != CURLE_OK)
    return pg_fail(d, PG_ERR_HTTP, "%s: libcurl option: %s", what, curl_easy_strerror(cc));

  return pg_libcurl_perform(c, &h->resp, h->max_response, h->errbuf, what, h->base_url, status, d);
}

int pg_http_status_fail(const http_client *h, long status, const char *what, pg_diag *d) {
  char text[ERRTEXT_MAX + 8];
  error_text(&h->resp, text, sizeof text);
  return pg_fail(d, pg_client_http_status_err(status), "HTTP %ld from %s: %s", status, what, text);
}

int pg_http_json_at(http_client *h, const char *method, const char *route, bool absolute,
                    const char *ctype, const void *body, size_t body_len, json_t **data,
                    char *what, size_t what_cap, pg_diag *d) {
  long status = 0;
  int rc =
      pg_http_do(h, method, route, absolute, ctype, body, body_len, &status, what, what_cap, d);
  if (rc) return rc;
  if (status < 200 || status > 299) return pg_http_status_fail(h, status, what, d);
  json_t *j = NULL;
  pg_diag inner = {{0}};
  if (pg_json_parse(h->resp.data, h->resp.len, PG_JSON_OBJECT, &j, &inner) != PG_OK)
    return bad_answer(what, &inner, d);
  json_t *err = json_object_get(j, "error");
  if (err) {
    /* iota.js treats a 2xx with an error key as an error too */
    char text[ERRTEXT_MAX + 8];
    error_text(&h->resp, text, sizeof text);
    json_decref(j);
    return pg_fail(d, PG_ERR_HTTP, "HTTP %ld with an error from %s: %s", status, what, text);
  }
  json_t *v = json_object_get(j, "data");
  if (!v) {
    json_decref(j);
    return pg_fail(d, PG_ERR_HTTP, "bad answer to %s: no \"data\" field", what);
  }
  json_incref(v);
  json_decref(j);
  *data = v;
  return PG_OK;
}

static int http_json(http_client *h, const char *method, const char *route, const char *ctype,
                     const void *body, size_t body_len, json_t **data, char *what, size_t what_cap,
                     pg_diag *d) {
  return pg_http_json_at(h, method, route, false, ctype, body, body_len, data, what, what_cap, d);
}

static int json_get(http_client *h, const char *route, json_t **data, char *what, size_t what_cap,
                    pg_diag *d) {
  int rc = http_json(h, "GET", route, NULL, NULL, 0, data, what, what_cap, d);
  if (rc == PG_OK && !json_is_object(*data)) {
    json_decref(*data);
    *data = NULL;
    return pg_fail(d, PG_ERR_HTTP, "bad answer to %s: \"data\" is not an object", what);
  }
  return rc;
}

/* ---- field helpers (errors go into inner, the caller wraps them) ---- */

static int opt_u32(const json_t *obj, const char *key, uint32_t *out, pg_diag *d) {
  uint64_t v = 0;
  int rc = pg_json_opt_u64(obj, key, 0, &v, d);
  if (rc) return rc;
  if (v > UINT32_MAX) return pg_fail(d, PG_ERR_INVALID, "field '%s': %llu is out of range", key,
                                     (unsigned long long)v);
  *out = (uint32_t)v;
  return PG_OK;
}

/* Reads an array of hex ids: up to max into ids, *count written; every
 * element is checked even past max. */
static int get_id_array(const json_t *obj, const char *key, uint8_t (*ids)[PG_ID_LEN], size_t max,
                        size_t *count, size_t *seen, pg_diag *d) {
  json_t *arr = NULL;
  int rc = pg_json_get_array(obj, key, &arr, d);
  if (rc) return rc;
  size_t i;
  json_t *v;
  size_t k = 0;
  json_array_foreach(arr, i, v) {
    uint8_t id[PG_ID_LEN];
    if (!json_is_string(v) || json_string_length(v) != 2 * PG_ID_LEN ||
        pg_hex_decode_exact(json_string_value(v), id, PG_ID_LEN) != PG_OK)
      return pg_fail(d, PG_ERR_INVALID, "field '%s': element %zu is not a 64-character hex id",
                     key, i);
    if (k < max) memcpy(ids[k++], id, PG_ID_LEN);
  }
  *count = k;
  if (seen) *seen = json_array_size(arr);
  return PG_OK;
}

/* ---- ops ---- */

static int h_health(pg_client *c, bool *healthy, pg_diag *d) {
  http_client *h = (http_client *)c;
  char what[ROUTE_MAX];
  long status = 0;
  int rc = pg_http_do(h, "GET", "/health", true, NULL, NULL, 0, &status, what, sizeof what, d);
  if (rc) return rc;
  if (status == 200) *healthy = true;
  else if (status == 503) *healthy = false;
  else return pg_http_status_fail(h, status, what, d);
  return PG_OK;
}

static void copy_str(char *dst, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (n >= cap) n = cap - 1;
  memcpy(dst, s, n);
  dst[n] = '\0';
}

static int h_info(pg_client *c, pg_node_info *out, pg_diag *d) {
  http_client *h = (http_client *)c;
  char what[ROUTE_MAX];
  json_t *j = NULL;
  int rc = json_get(h, "info", &j, what, sizeof what, d);
  if (rc) return rc;
  pg_node_info info;
  memset(&info, 0, sizeof info);
  pg_diag inner = {{0}};
  const char *name = NULL, *version = NULL, *net = NULL, *hrp = NULL;
  size_t net_len = 0, hrp_len = 0;
  uint64_t ts = 0;
  if ((rc = pg_json_opt_str(j, "name", "", &name, NULL, &inner)) ||
      (rc = pg_json_opt_str(j, "version", "", &version, NULL, &inner)) ||
      (rc = pg_json_opt_bool(j, "isHealthy", false, &info.is_healthy, &inner)) ||
      (rc = pg_json_get_str(j, "networkId", &net, &net_len, &inner)) ||
      (rc = pg_json_get_str(j, "bech32HRP", &hrp, &hrp_len, &inner)) ||
      (rc = pg_json_get_u32(j, "minPoWScore", &info.min_pow_score, &inner)) ||
      (rc = opt_u32(j, "latestMilestoneIndex", &info.latest_milestone_index, &inner)) ||
      (rc = pg_json_opt_u64(j, "latestMilestoneTimestamp", 0, &ts, &inner)) ||
      (rc = opt_u32(j, "confirmedMilestoneIndex", &info.confirmed_milestone_index, &inner)) ||
      (rc = opt_u32(j, "pruningIndex", &info.pruning_index, &inner)))
    goto bad;
  if (net_len == 0 || net_len > PG_CLIENT_NETWORK_MAX) {
    rc = pg_fail(&inner, PG_ERR_INVALID, "field 'networkId': must be 1..%d bytes",
                 PG_CLIENT_NETWORK_MAX);
    goto bad;
  }
  if (hrp_len == 0 || hrp_len > PG_CLIENT_HRP_MAX) {
    rc = pg_fail(&inner, PG_ERR_INVALID, "field 'bech32HRP': must be 1..%d bytes",
                 PG_CLIENT_HRP_MAX);
    goto bad;
  }
  copy_str(info.name, sizeof info.name, name);
  copy_str(info.version, sizeof info.version, version);
  memcpy(info.network, net, net_len + 1);
  memcpy(info.bech32_hrp, hrp, hrp_len + 1);
  info.latest_milestone_timestamp = ts;
  {
    /* iota.js getPoWInfo: BLAKE2b-256 of the UTF-8 name, bytes 0..7 LE */
    uint8_t hash[PG_HASH_LEN];
    pg_blake2b256(net, net_len, hash);
    info.network_id = pg_le64(hash);
  }
  json_decref(j);
  *out = info;
  return PG_OK;
bad:
  json_decref(j);
  return bad_answer(what, &inner, d);
}

static int h_tips(pg_client *c, uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, pg_diag *d) {
  http_client *h = (http_client *)c;
  char what[ROUTE_MAX];
  json_t *j = NULL;
  int rc = json_get(h, "tips", &j, what, sizeof what, d);
  if (rc) return rc;
  pg_diag inner = {{0}};
  size_t n = 0;
  rc = get_id_array(j, "tipMessageIds", ids, max, &n, NULL, &inner);
  json_decref(j);
  if (rc) return bad_answer(what, &inner, d);
  *count = n;
  return PG_OK;
}

/* POST messages; the answer is {"messageId": hex}. */
static int submit(http_client *h, const char *ctype, const void *body, size_t len,
                  uint8_t id[PG_ID_LEN], pg_diag *d) {
  char what[ROUTE_MAX];
  json_t *j = NULL;
  int rc = http_json(h, "POST", "messages", ctype, body, len, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_diag inner = {{0}};
  uint8_t got[PG_ID_LEN];
  if (!json_is_object(j))
    rc = pg_fail(&inner, PG_ERR_INVALID, "\"data\" is not an object");
  else
    rc = get_id(j, "messageId", got, &inner);
  json_decref(j);
  if (rc) return bad_answer(what, &inner, d);
  memcpy(id, got, PG_ID_LEN);
  return PG_OK;
}

static int h_submit_json(pg_client *c, const json_t *msg, uint8_t id[PG_ID_LEN], pg_diag *d) {
  http_client *h = (http_client *)c;
  pg_buf_reset(&h->req);
  int rc = pg_json_dump(msg, &h->req);
  if (rc == PG_ERR_TOO_LARGE)
    return pg_fail(d, rc, "submit: JSON message larger than %u bytes", (unsigned)REQUEST_MAX);
  if (rc) return pg_fail(d, rc, "submit: cannot serialise the JSON message");
  return submit(h, "application/json", h->req.data, h->req.len, id, d);
}

static int h_submit_raw(pg_client *c, const uint8_t *bytes, size_t len, uint8_t id[PG_ID_LEN],
                        pg_diag *d) {
  return submit((http_client *)c, "application/octet-stream", bytes, len, id, d);
}

static int h_get_raw(pg_client *c, const uint8_t id[PG_ID_LEN], pg_buf *out, pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[128], hex[2 * PG_ID_LEN + 1], what[ROUTE_MAX];
  pg_hex_encode(id, PG_ID_LEN, hex);
  snprintf(route, sizeof route, "messages/%s/raw", hex);
  long status = 0;
  int rc = pg_http_do(h, "GET", route, false, NULL, NULL, 0, &status, what, sizeof what, d);
  if (rc) return rc;
  if (status < 200 || status > 299) return pg_http_status_fail(h, status, what, d);
  if ((rc = pg_buf_status(out)))
    return pg_fail(d, rc, "%s: the output buffer is in an error state", what);
  if (out->len > out->limit || h->resp.len > out->limit - out->len)
    return pg_fail(d, PG_ERR_TOO_LARGE, "%s: %zu bytes do not fit the output buffer", what,
                   h->resp.len); /* out left untouched, no sticky error */
  size_t before = out->len;
  pg_buf_put(out, h->resp.data, h->resp.len);
  if ((rc = pg_buf_status(out))) {
    out->len = before;
    return pg_fail(d, rc, "%s: out of memory", what);
  }
  return PG_OK;
}

static int h_get_json(pg_client *c, const uint8_t id[PG_ID_LEN], json_t **out, pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[128], hex[2 * PG_ID_LEN + 1], what[ROUTE_MAX];
  pg_hex_encode(id, PG_ID_LEN, hex);
  snprintf(route, sizeof route, "messages/%s", hex);
  return json_get(h, route, out, what, sizeof what, d);
}

static int parse_inclusion(const json_t *j, int *out, pg_diag *d) {
  const char *s = NULL;
  int rc = pg_json_opt_str(j, "ledgerInclusionState", NULL, &s, NULL, d);
  if (rc) return rc;
  if (!s) *out = PG_INCL_UNKNOWN;
  else if (strcmp(s, "noTransaction") == 0) *out = PG_INCL_NO_TX;
  else if (strcmp(s, "included") == 0) *out = PG_INCL_INCLUDED;
  else if (strcmp(s, "conflicting") == 0) *out = PG_INCL_CONFLICTING;
  else
    return pg_fail(d, PG_ERR_INVALID, "field 'ledgerInclusionState': unknown value '%.40s'", s);
  return PG_OK;
}

static int h_get_meta(pg_client *c, const uint8_t id[PG_ID_LEN], pg_msg_meta *out, pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[128], hex[2 * PG_ID_LEN + 1], what[ROUTE_MAX];
  pg_hex_encode(id, PG_ID_LEN, hex);
  snprintf(route, sizeof route, "messages/%s/metadata", hex);
  json_t *j = NULL;
  int rc = json_get(h, route, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_msg_meta m;
  memset(&m, 0, sizeof m);
  pg_diag inner = {{0}};
  size_t np = 0, seen = 0;
  uint64_t reason = 0;
  if ((rc = get_id(j, "messageId", m.id, &inner)) ||
      (rc = get_id_array(j, "parentMessageIds", m.parents, PG_MSG_MAX_PARENTS, &np, &seen,
                         &inner)) ||
      (rc = pg_json_get_bool(j, "isSolid", &m.solid, &inner)) ||
      (rc = opt_u32(j, "referencedByMilestoneIndex", &m.referenced_by, &inner)) ||
      (rc = opt_u32(j, "milestoneIndex", &m.milestone_index, &inner)) ||
      (rc = parse_inclusion(j, &m.inclusion, &inner)) ||
      (rc = pg_json_opt_u64(j, "conflictReason", 0, &reason, &inner)) ||
      (rc = pg_json_opt_bool(j, "shouldPromote", false, &m.should_promote, &inner)) ||
      (rc = pg_json_opt_bool(j, "shouldReattach", false, &m.should_reattach, &inner)))
    goto bad;
  if (seen > PG_MSG_MAX_PARENTS) {
    rc = pg_fail(&inner, PG_ERR_INVALID, "field 'parentMessageIds': %zu parents (max %d)", seen,
                 PG_MSG_MAX_PARENTS);
    goto bad;
  }
  if (reason > 255) {
    rc = pg_fail(&inner, PG_ERR_INVALID, "field 'conflictReason': %llu is out of range",
                 (unsigned long long)reason);
    goto bad;
  }
  if (memcmp(m.id, id, PG_ID_LEN) != 0) {
    rc = pg_fail(&inner, PG_ERR_INVALID, "field 'messageId': not the id asked for");
    goto bad;
  }
  m.parents_count = (uint8_t)np;
  m.conflict_reason = (uint8_t)reason;
  json_decref(j);
  *out = m;
  return PG_OK;
bad:
  json_decref(j);
  return bad_answer(what, &inner, d);
}

/* GET route answering a list of message ids in field key and an optional
 * "count" (default: the array's length): up to max ids into ids, *count of
 * them, *total = the count the node gives. */
static int get_id_list(http_client *h, const char *route, const char *key,
                       uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                       pg_diag *d) {
  char what[ROUTE_MAX];
  json_t *j = NULL;
  int rc = json_get(h, route, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_diag inner = {{0}};
  size_t n = 0, seen = 0;
  uint64_t cnt = 0;
  if ((rc = get_id_array(j, key, ids, max, &n, &seen, &inner)) ||
      (rc = pg_json_opt_u64(j, "count", seen, &cnt, &inner))) {
    json_decref(j);
    return bad_answer(what, &inner, d);
  }
  json_decref(j);
  *count = n;
  *total = cnt > SIZE_MAX ? SIZE_MAX : (size_t)cnt;
  return PG_OK;
}

static int h_children(pg_client *c, const uint8_t id[PG_ID_LEN], uint8_t (*ids)[PG_ID_LEN],
                      size_t max, size_t *count, size_t *total, pg_diag *d) {
  char route[128], hex[2 * PG_ID_LEN + 1];
  pg_hex_encode(id, PG_ID_LEN, hex);
  snprintf(route, sizeof route, "messages/%s/children", hex);
  return get_id_list((http_client *)c, route, "childrenMessageIds", ids, max, count, total, d);
}

static int h_find_index(pg_client *c, const uint8_t *index, size_t index_len,
                        uint8_t (*ids)[PG_ID_LEN], size_t max, size_t *count, size_t *total,
                        pg_diag *d) {
  char route[64 + 2 * PG_INDEX_MAX_LEN], hex[2 * PG_INDEX_MAX_LEN + 1];
  pg_hex_encode(index, index_len, hex);
  snprintf(route, sizeof route, "messages?index=%s", hex);
  return get_id_list((http_client *)c, route, "messageIds", ids, max, count, total, d);
}

static int h_milestone(pg_client *c, uint32_t index, pg_milestone_info *out, pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[64], what[ROUTE_MAX];
  snprintf(route, sizeof route, "milestones/%u", (unsigned)index);
  json_t *j = NULL;
  int rc = json_get(h, route, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_milestone_info ms;
  memset(&ms, 0, sizeof ms);
  pg_diag inner = {{0}};
  if ((rc = pg_json_get_u32(j, "index", &ms.index, &inner)) ||
      (rc = get_id(j, "messageId", ms.message_id, &inner)) ||
      (rc = pg_json_get_u64(j, "timestamp", &ms.timestamp, &inner))) {
    json_decref(j);
    return bad_answer(what, &inner, d);
  }
  json_decref(j);
  if (ms.index != index)
    return pg_fail(d, PG_ERR_HTTP, "bad answer to %s: index %u, asked for %u", what,
                   (unsigned)ms.index, (unsigned)index);
  *out = ms;
  return PG_OK;
}

static int h_address(pg_client *c, const uint8_t address[32], uint64_t *balance,
                     bool *dust_allowed, pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[128], hex[65], what[ROUTE_MAX];
  pg_hex_encode(address, 32, hex);
  snprintf(route, sizeof route, "addresses/ed25519/%s", hex);
  json_t *j = NULL;
  int rc = json_get(h, route, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_diag inner = {{0}};
  uint64_t b = 0;
  bool dust = false;
  if ((rc = pg_json_get_u64(j, "balance", &b, &inner)) ||
      (rc = pg_json_opt_bool(j, "dustAllowed", false, &dust, &inner))) {
    json_decref(j);
    return bad_answer(what, &inner, d);
  }
  json_decref(j);
  *balance = b;
  *dust_allowed = dust;
  return PG_OK;
}

static int h_address_outputs(pg_client *c, const uint8_t address[32], bool include_spent,
                             uint8_t (*ids)[PG_OUTPUT_ID_LEN], size_t max, size_t *count,
                             size_t *total, pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[128], hex[65], what[ROUTE_MAX];
  pg_hex_encode(address, 32, hex);
  snprintf(route, sizeof route, "addresses/ed25519/%s/outputs%s", hex,
           include_spent ? "?include-spent=true" : "");
  json_t *j = NULL;
  int rc = json_get(h, route, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_diag inner = {{0}};
  json_t *arr = NULL;
  uint64_t cnt = 0;
  size_t k = 0;
  rc = pg_json_get_array(j, "outputIds", &arr, &inner);
  if (rc == PG_OK) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
      uint8_t oid[PG_OUTPUT_ID_LEN];
      if (!json_is_string(v) || pg_hex_decode_exact(json_string_value(v), oid, sizeof oid)) {
        rc = pg_fail(&inner, PG_ERR_INVALID, "outputIds[%zu] is not a 68-character hex id", i);
        break;
      }
      if (k < max) memcpy(ids[k++], oid, sizeof oid);
    }
  }
  if (rc == PG_OK) rc = pg_json_opt_u64(j, "count", json_array_size(arr), &cnt, &inner);
  json_decref(j);
  if (rc) return bad_answer(what, &inner, d);
  *count = k;
  *total = cnt > SIZE_MAX ? SIZE_MAX : (size_t)cnt;
  return PG_OK;
}

static int h_output(pg_client *c, const uint8_t id[PG_OUTPUT_ID_LEN], pg_output_info *out,
                    pg_diag *d) {
  http_client *h = (http_client *)c;
  char route[128], hex[2 * PG_OUTPUT_ID_LEN + 1], what[ROUTE_MAX];
  pg_hex_encode(id, PG_OUTPUT_ID_LEN, hex);
  snprintf(route, sizeof route, "outputs/%s", hex);
  json_t *j = NULL;
  int rc = json_get(h, route, &j, what, sizeof what, d);
  if (rc) return rc;
  pg_output_info o;
  memset(&o, 0, sizeof o);
  memcpy(o.output_id, id, PG_OUTPUT_ID_LEN);
  pg_diag inner = {{0}};
  json_t *oj = NULL, *aj = NULL;
  uint64_t type = 0;
  if ((rc = get_id(j, "messageId", o.message_id, &inner)) ||
      (rc = pg_json_get_bool(j, "isSpent", &o.spent, &inner)) ||
      (rc = pg_json_get_object(j, "output", &oj, &inner)) ||
      (rc = pg_json_get_u64_range(oj, "type", 0, 1, &type, &inner)) ||
      (rc = pg_json_get_u64(oj, "amount", &o.amount, &inner)) ||
      (rc = pg_json_get_object(oj, "address", &aj, &inner)) ||
      (rc = pg_json_get_hex(aj, "address", o.address, 32, &inner)) ||
      (rc = opt_u32(j, "milestoneIndexSpent", &o.spent_index, &inner))) {
    json_decref(j);
    return bad_answer(what, &inner, d);
  }
  o.type = (uint8_t)type;
  if (json_object_get(j, "transactionIdSpent") &&
      (rc = pg_json_get_hex(j, "transactionIdSpent", o.spent_tx_id, 32, &inner))) {
    json_decref(j);
    return bad_answer(what, &inner, d);
  }
  json_decref(j);
  *out = o;
  return PG_OK;
}

static void h_destroy(pg_client *c) {
  http_client *h = (http_client *)c;
  if (!h) return;
  if (h->curl) curl_easy_cleanup(h->curl);
  curl_slist_free_all(h->hdr_json);
  curl_slist_free_all(h->hdr_octet);
  curl_slist_free_all(h->hdr_get);
  pg_buf_free(&h->resp);
  pg_buf_free(&h->req);
  free(h->base_url);
  free(h->base_path);
  free(h->ca_file);
  free(h->cert_file);
  free(h->key_file);
  free(h->crl_file);
  free(h);
}

static const pg_client_ops HTTP_OPS = {
    .kind = "http",
    .health = h_health,
    .info = h_info,
    .tips = h_tips,
    .submit_json = h_submit_json,
    .submit_raw = h_submit_raw,
    .submit_data_many = pg_http_submit_data_many,
    .get_raw = h_get_raw,
    .get_json = h_get_json,
    .get_meta = h_get_meta,
    .children = h_children,
    .find_index = h_find_index,
    .find_many = pg_http_find_many,
    .outputs_many = pg_http_outputs_many,
    .outputs_batch = pg_http_outputs_batch,
    .milestone = h_milestone,
    .address = h_address,
    .address_outputs = h_address_outputs,
    .output = h_output,
    .destroy = h_destroy,
};

static struct curl_slist *headers(const char *ctype, const char *bearer) {
  struct curl_slist *l = NULL, *t;
  if (bearer && pg_libcurl_bearer(&l, bearer, "HTTP client", NULL) != PG_OK) goto fail;
  if (ctype) {
    char line[96];
    snprintf(line, sizeof line, "Content-Type: %s", ctype);
    if (!(t = curl_slist_append(l, line))) goto fail;
    l = t;
  }
  if (!(t = curl_slist_append(l, "Accept: application/json, application/octet-stream"))) goto fail;
  l = t;
  /* no "Expect: 100-continue" round trip before larger bodies */
  if (!(t = curl_slist_append(l, "Expect:"))) goto fail;
  return t;
fail:
  curl_slist_free_all(l);
  return NULL;
}

/* Copies a file name of o->tls (NULL stays NULL); false when out of memory. */
static bool dup_opt(const char *s, char **out) {
  *out = s ? strdup(s) : NULL;
  return !s || *out;
}

static bool copy_tls(http_client *h, const pg_tls_files *t) {
  if (!t) return true;
  h->has_tls = true;
  if (!dup_opt(t->ca_file, &h->ca_file) || !dup_opt(t->cert_file, &h->cert_file) ||
      !dup_opt(t->key_file, &h->key_file) || !dup_opt(t->crl_file, &h->crl_file))
    return false;
  h->tls = (pg_tls_files){h->ca_file, h->cert_file, h->key_file, h->crl_file};
  return true;
}

int pg_client_http_new(const pg_http_client_opts *o, pg_client **out, pg_diag *d) {
  if (!o || !o->base_url || !out) return pg_fail(d, PG_ERR_INVALID, "HTTP client: no base URL");
  if (!pg_url_http_ok(o->base_url) || strlen(o->base_url) > URL_MAX / 2)
    return pg_fail(d, PG_ERR_INVALID,
                   "HTTP client: base URL '%.80s' must start with http:// or https:// and hold no spaces",
                   o->base_url);
  const char *bp = o->base_path ? o->base_path : "/api/v1/";
  if (strlen(bp) > ROUTE_MAX / 4)
    return pg_fail(d, PG_ERR_INVALID, "HTTP client: base path too long");
  int rc = pg_libcurl_init(d);
  if (rc) return rc;
  struct curl_slist *probe = NULL; /* the bearer token is checked here, once */
  if (o->bearer && (rc = pg_libcurl_bearer(&probe, o->bearer, "HTTP client", d))) return rc;
  curl_slist_free_all(probe);
  http_client *h = calloc(1, sizeof *h);
  if (!h) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  h->base.ops = &HTTP_OPS;
  h->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
  h->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  h->max_response = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE;
  pg_buf_init(&h->resp, h->max_response);
  pg_buf_init(&h->req, REQUEST_MAX);
  h->batch_cap = BATCH_BODY_MAX;
  h->no_batch = h->no_find = h->no_outputs = o->rest_only;
  h->find_cap = PG_FIND_MAX_KEYS;
  h->outputs_cap = PG_OUTPUTS_MAX_IDS;
  if (h->max_response < PG_FIND_BUDGET_MIN) h->no_find = true; /* no room for an answer */
  if (h->max_response < PG_OUTPUTS_BUDGET_MIN) h->no_outputs = true;

  size_t n = strlen(o->base_url);
  while (n > 0 && o->base_url[n - 1] == '/') n--;
  h->base_url = strndup(o->base_url, n);
  /* base path: leading and trailing '/' */
  size_t bn = strlen(bp);
  h->base_path = malloc(bn + 3);
  if (h->base_path) {
    size_t k = 0;
    if (bp[0] != '/') h->base_path[k++] = '/';
    memcpy(h->base_path + k, bp, bn);
    k += bn;
    if (k == 0 || h->base_path[k - 1] != '/') h->base_path[k++] = '/';
    h->base_path[k] = '\0';
  }
  h->curl = curl_easy_init();
  h->hdr_json = headers("application/json", o->bearer);
  h->hdr_octet = headers("application/octet-stream", o->bearer);
  h->hdr_get = headers(NULL, o->bearer);
  bool tls_ok = copy_tls(h, o->tls);
  if (!h->base_url || !h->base_path || !h->curl || !h->hdr_json || !h->hdr_octet || !h->hdr_get ||
      !tls_ok) {
    rc = pg_fail(d, PG_ERR_NOMEM, "HTTP client: out of memory");
    h_destroy(&h->base);
    return rc;
  }
  *out = &h->base;
  return PG_OK;
}
