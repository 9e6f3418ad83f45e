/* http.c — the node's REST API on the generic server (httpd.h): a thread
 * pool, keep-alive, capped request bodies, CORS, TIP-13 envelopes
 * ({"data":...} and {"error":{"code":"<status>",...}}), optional HTTPS and
 * the POST restriction (node.h "Access"). Routing lives in api.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "node_internal.h"
#include "p2pgrid/tls/tls.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/base/metrics.h"
#include "p2pgrid/web/web.h"

#define REFUSAL_LOG_EVERY_MS 1000

void pg_http_error(pg_http_resp *resp, unsigned status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(resp->error, sizeof resp->error, fmt, ap);
  va_end(ap);
  resp->status = status;
  json_decref(resp->data);
  resp->data = NULL;
  free(resp->raw);
  resp->raw = NULL;
  resp->raw_len = 0;
}

/* Hands the route's answer to the server: an error envelope, raw bytes,
 * nothing, or {"data": ...}. */
static void answer(pg_http_resp *resp, pg_httpd_resp *out) {
  if (resp->empty) {
    pg_httpd_resp_empty(out, resp->status);
  } else if (resp->raw || (resp->status < 400 && resp->content_type)) {
    pg_httpd_resp_take(out, resp->status, resp->content_type, resp->raw, resp->raw_len);
    resp->raw = NULL;
  } else if (resp->status >= 400) {
    pg_httpd_error(out, resp->status, NULL, "%s", resp->error);
  } else {
    json_t *env = json_object();
    if (env && json_object_set_new(env, "data", resp->data ? resp->data : json_object()) != 0) {
      json_decref(env);
      env = NULL;
    } else if (!env) {
      json_decref(resp->data);
    }
    resp->data = NULL;
    pg_httpd_resp_json(out, resp->status, env);
  }
  int rc = PG_OK;
  if (resp->location[0]) rc = pg_httpd_resp_header(out, "Location", resp->location);
  if (!rc && resp->allow[0]) rc = pg_httpd_resp_header(out, "Allow", resp->allow);
  if (rc) pg_httpd_error(out, 500, NULL, "internal error: %s", pg_strerror(rc));
}

/* ---- who may POST ---- */

/* The token of an "Authorization: Bearer <token>" value; false for another
 * scheme or an empty token. */
static bool bearer_of(const char *v, const char **tok, size_t *len) {
  while (*v == ' ' || *v == '\t') v++;
  if (strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t')) return false;
  v += 6;
  while (*v == ' ' || *v == '\t') v++;
  size_t n = strlen(v);
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
  *tok = v;
  *len = n;
  return n > 0;
}

/* Whether the token is listed. Digests are compared in constant time and
 * all of them every time, so the answer's timing says nothing about the
 * listed tokens. */
static bool token_listed(const pg_node *n, const char *tok, size_t len) {
  uint8_t h[32];
  pg_blake2b256(tok, len, h);
  int found = 0;
  for (size_t i = 0; i < n->post_token_count; i++)
    found |= sodium_memcmp(h, n->post_token_hashes[i], sizeof h) == 0;
  sodium_memzero(h, sizeof h);
  return found != 0;
}

/* Warn about a refused request: at most one line a second, naming how many
 * refusals were not logged since. */
static void log_refusal(pg_node *n, const pg_httpd_req *hreq, unsigned status, const char *why) {
  uint64_t now = pg_monotonic_ms();
  uint_fast64_t last = atomic_load(&n->refusal_logged_ms);
  if ((last && now - last < REFUSAL_LOG_EVERY_MS) ||
      !atomic_compare_exchange_strong(&n->refusal_logged_ms, &last, now)) {
    atomic_fetch_add(&n->refusals_unlogged, 1);
    return;
  }
  uint64_t more = atomic_exchange(&n->refusals_unlogged, 0);
  uint64_t total = atomic_load(&n->posts_unauthenticated) + atomic_load(&n->posts_forbidden);
  char tail[96] = "";
  if (more)
    snprintf(tail, sizeof tail, "; %llu more since the last such line",
             (unsigned long long)more);
  pg_log_warn("api", "%s %s from %s refused (%u): %s [%llu refused since start%s]", hreq->method,
              hreq->path, hreq->peer->addr[0] ? hreq->peer->addr : "?", status, why,
              (unsigned long long)total, tail);
}

static void refuse(pg_node *n, const pg_httpd_req *hreq, pg_httpd_resp *out, unsigned status,
                   const char *why) {
  atomic_fetch_add(status == 401 ? &n->posts_unauthenticated : &n->posts_forbidden, 1);
  pg_httpd_error(out, status, NULL, "%s", why);
  if (status == 401 && n->post_token_count &&
      pg_httpd_resp_header(out, "WWW-Authenticate", "Bearer realm=\"p2pgrid\"") != PG_OK)
    pg_httpd_error(out, 500, NULL, "internal error: cannot set a header");
  log_refusal(n, hreq, status, why);
}

/* node.h "Access": true when the request may go on; otherwise out holds the
 * 401 or 403. */
static bool access_ok(pg_node *n, const pg_httpd_req *hreq, pg_httpd_resp *out) {
  const char *m = hreq->method;
  if (!n->post_restricted || strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
      strcmp(m, "OPTIONS") == 0)
    return true;
  if (strcmp(m, "POST") == 0 && (strcmp(hreq->path, PG_NODE_FIND_PATH) == 0 ||
                                 strcmp(hreq->path, PG_NODE_OUTPUTS_PATH) == 0))
    return true; /* reads, with a body: open as GETs are */
  const pg_httpd_peer *p = hreq->peer;
  if (n->post_trust && p->verified) return true;
  const char *auth = n->post_token_count ? pg_httpd_header(hreq, "Authorization") : NULL;
  const char *tok = NULL;
  size_t len = 0;
  bool has_token = auth && bearer_of(auth, &tok, &len);
  if (has_token && token_listed(n, tok, len)) return true;
  char why[224];
  if (has_token) {
    refuse(n, hreq, out, 403, "bearer token not accepted");
  } else if (n->post_trust && p->has_cert) {
    snprintf(why, sizeof why, "client certificate refused: %s", p->why);
    refuse(n, hreq, out, 403, why);
  } else if (auth) {
    refuse(n, hreq, out, 401, "the Authorization header is not a bearer token");
  } else {
    snprintf(why, sizeof why, "%s needs %s%s%s", m,
             n->post_token_count ? "a bearer token (Authorization: Bearer ...)" : "",
             n->post_token_count && n->post_trust ? " or " : "",
             n->post_trust ? (p->tls ? "a client certificate of this node's CA"
                                     : "a client certificate of this node's CA over HTTPS")
                           : "");
    refuse(n, hreq, out, 401, why);
  }
  return false;
}

/* ---- answering later ---- */

struct pg_node_later {
  pg_node *n;
  pg_httpd_later *hl;
  int route;
  double t0;
};

pg_node_later *pg_node_later_begin(pg_node *n, const pg_http_req *req, pg_http_resp *resp) {
  pg_node_later *l = malloc(sizeof *l);
  if (!l) return NULL;
  if (!(l->hl = pg_httpd_defer(req->out))) {
    free(l);
    return NULL;
  }
  l->n = n;
  l->route = req->route;
  l->t0 = req->t0;
  resp->later = true;
  return l;
}

pg_node *pg_node_later_node(const pg_node_later *l) { return l->n; }

void pg_node_later_end(pg_node_later *l, pg_http_resp *resp) {
  pg_httpd_resp *out = pg_httpd_later_resp(l->hl);
  answer(resp, out);
  pg_node_metrics_request(l->n, l->route, pg_httpd_resp_status(out), pg_metrics_now() - l->t0);
  pg_httpd_later_done(l->hl);
  free(l);
}

/* Serves one request; false when its answer comes later (pg_node_later). */
static bool serve(pg_node *n, const pg_httpd_req *hreq, pg_httpd_resp *out, int *route,
                  double t0) {
  if (!access_ok(n, hreq, out)) return true;
  if (pg_web_is_explorer_path(hreq->path) &&
      (strcmp(hreq->method, "GET") == 0 || strcmp(hreq->method, "HEAD") == 0)) {
    *route = PG_NODE_ROUTE_EXPLORER;
    pg_web_explorer_serve(hreq->path, out); /* the Tangle explorer (web/explorer) */
    return true;
  }
  pg_http_req req = {
      .hreq = hreq,
      .method = hreq->method,
      .url = hreq->path,
      .body = hreq->body,
      .body_len = hreq->body_len,
      .out = out,
      .route = *route,
      .t0 = t0,
  };
  pg_http_resp resp = {0};
  pg_node_api_dispatch(n, &req, &resp);
  if (resp.later) return false;
  answer(&resp, out); /* takes resp's data and raw */
  return true;
}

/* Every request, timed into the latency histogram by route and status class
 * (one answered later, when it is answered). */
static void on_api(void *ctx, const pg_httpd_req *hreq, pg_httpd_resp *out) {
  pg_node *n = ctx;
  double t0 = pg_metrics_now();
  int route = pg_node_route_class(hreq->method, hreq->path);
  if (serve(n, hreq, out, &route, t0))
    pg_node_metrics_request(n, route, pg_httpd_resp_status(out), pg_metrics_now() - t0);
}

/* 127.0.0.0/8 or ::1: nobody else sees the traffic. */
static bool loopback(const char *bind) {
  return strncmp(bind, "127.", 4) == 0 || strcmp(bind, "::1") == 0;
}

/* Copies the POST restriction of c into n, opening the CA of post_ca. */
static int access_start(pg_node *n, const pg_node_config *c, pg_diag *d) {
  if (c->post_token_count) {
    n->post_token_hashes = malloc(c->post_token_count * sizeof *n->post_token_hashes);
    if (!n->post_token_hashes) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
    memcpy(n->post_token_hashes, c->post_token_hashes,
           c->post_token_count * sizeof *n->post_token_hashes);
    n->post_token_count = c->post_token_count;
  }
  if (c->post_ca) {
    pg_diag td;
    pg_diag_clear(&td);
    int rc = pg_tls_trust_open(c->post_ca, c->post_crl, &n->post_trust, &td);
    if (rc) return pg_fail(d, PG_ERR_CONFIG, "[api] post_ca %.100s: %s", c->post_ca, td.msg);
  }
  n->post_restricted = n->post_token_count > 0 || n->post_trust;
  return PG_OK;
}

int pg_node_http_start(pg_node *n, const pg_node_config *c, pg_diag *d) {
  int rc = pg_node_metrics_new(&n->metrics, d);
  if (!rc) rc = access_start(n, c, d);
  if (!rc && n->remote_pow && n->min_pow_score > 0)
    rc = pg_node_pow_start(n, c->pow_queue ? c->pow_queue : PG_NODE_POW_QUEUE, d);
  if (rc) return rc;
  pg_httpd_opts o = {
      .bind = c->bind,
      .port = c->port,
      .max_body = n->max_body,
      .handler = on_api,
      .ctx = n,
      .error_code = pg_httpd_code_status,
      .cors = true,
      .pool_threads = pg_node_workers(c),
      .max_connections = c->max_connections,
      .connection_timeout_s = c->connection_timeout_s,
      .log_name = "api",
      .limit_name = "api.max_body",
      .tls_cert_file = c->tls_cert,
      .tls_key_file = c->tls_key,
      .trust = n->post_trust,
  };
  pg_diag hd;
  pg_diag_clear(&hd);
  rc = pg_httpd_start(&o, &n->httpd, &hd);
  if (rc) return pg_fail(d, rc, "%s%s", rc == PG_ERR_CONFIG ? "[api] " : "", hd.msg);
  n->port = pg_httpd_port(n->httpd);
  const char *scheme = c->tls_cert ? "https" : "http";
  if (strchr(c->bind, ':'))
    pg_log_info("node", "listening on %s://[%s]:%u", scheme, c->bind, (unsigned)n->port);
  else
    pg_log_info("node", "listening on %s://%s:%u", scheme, c->bind, (unsigned)n->port);
  if (n->post_restricted) {
    char toks[64] = "";
    if (n->post_token_count)
      snprintf(toks, sizeof toks, "%zu bearer token%s", n->post_token_count,
               n->post_token_count == 1 ? "" : "s");
    pg_log_info("node", "POST and other writes need %s%s%s", toks,
                toks[0] && n->post_trust ? " or " : "",
                n->post_trust ? "a client certificate of [api] post_ca" : "");
  }
  if (n->post_token_count && !c->tls_cert && !loopback(c->bind))
    pg_log_warn("node", "[api] post_tokens_file without tls_cert on %s: bearer tokens travel as "
                        "plain text; anyone on the path can read and reuse them",
                c->bind);
  return PG_OK;
}

void pg_node_get_api_stats(pg_node *n, pg_node_api_stats *out) {
  pg_httpd_stats hs;
  pg_httpd_get_stats(n->httpd, &hs);
  memset(out, 0, sizeof *out);
  out->requests = hs.requests;
  out->connections = hs.connections;
  out->handshake_failures = hs.handshake_failures;
  out->posts_unauthenticated = atomic_load(&n->posts_unauthenticated);
  out->posts_forbidden = atomic_load(&n->posts_forbidden);
}

void pg_node_http_stop(pg_node *n) {
  pg_node_pow_stop(n); /* its deferred answers, before the server waits for them */
  pg_httpd_stop(n->httpd);
  n->httpd = NULL;
  pg_node_pow_free(n);
  pg_node_metrics_free(n->metrics);
  n->metrics = NULL;
  uint64_t a = atomic_load(&n->posts_unauthenticated), f = atomic_load(&n->posts_forbidden);
  if (a + f)
    pg_log_info("api", "%llu requests refused since start (%llu without credentials, %llu with "
                       "refused ones)",
                (unsigned long long)(a + f), (unsigned long long)a, (unsigned long long)f);
  pg_tls_trust_free(n->post_trust);
  n->post_trust = NULL;
  if (n->post_token_hashes) {
    sodium_memzero(n->post_token_hashes, n->post_token_count * sizeof *n->post_token_hashes);
    free(n->post_token_hashes);
  }
  n->post_token_hashes = NULL;
  n->post_token_count = 0;
}
