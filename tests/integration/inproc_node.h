/* inproc_node.h — a p2pgrid node in the test's own process (pg_node: a real
 * HTTP server on 127.0.0.1 at an ephemeral port), for tests that drive its
 * API with pg_client or pg_http_call. Include after <cmocka.h>.
 *
 *   pg_node *n = tn_start_node(dir, "name", "min_pow_score = 0\n[api]\nport = 0\n",
 *                              base, sizeof base);
 *   ... base is "http://127.0.0.1:<port>" ...
 *   pg_node_stop(n);
 *
 * The node's INI is "[node]\ndata_dir = <dir>/<name>\n" followed by ini (more
 * [node] keys first, then other sections; [api] port = 0 for an ephemeral
 * port). Any failure fails the test.
 *
 * tn_post posts a raw body to a plugin route of the node; tn_hostile runs
 * cases of bodies given in hex against one, each answered with its status
 * and a text that names the problem. tn_client makes an HTTP client of the
 * node; tn_route_requests reads how many requests of a route class its
 * /metrics counted. */
#ifndef P2PGRID_TEST_INPROC_NODE_H
#define P2PGRID_TEST_INPROC_NODE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/base/config.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/node/node.h"

static inline pg_node *tn_start_node(const char *dir, const char *name, const char *ini, char *base,
                              size_t cap) {
  pg_config *cfg = NULL;
  pg_diag d = {{0}};
  char text[2048];
  snprintf(text, sizeof text, "[node]\ndata_dir = %s/%s\n%s", dir, name, ini);
  assert_int_equal(pg_config_new(&cfg), PG_OK);
  if (pg_config_load_string(cfg, "node.ini", text, strlen(text), &d)) fail_msg("%s", d.msg);
  pg_node_config nc;
  pg_node_config_init(&nc);
  if (pg_node_config_load(&nc, cfg, &d)) fail_msg("config: %s", d.msg);
  pg_config_free(cfg);
  pg_node *n = NULL;
  if (pg_node_start(&nc, &n, &d)) fail_msg("start: %s", d.msg);
  pg_node_config_clear(&nc);
  snprintf(base, cap, "http://127.0.0.1:%u", (unsigned)pg_node_port(n));
  return n;
}

/* POST body to base + "/api/plugins/data/" + route; the result is the
 * caller's to free (pg_http_result_free). */
static inline pg_http_result tn_post(const char *base, const char *route, const char *ctype,
                              const void *body, size_t len) {
  char url[128];
  snprintf(url, sizeof url, "%s/api/plugins/data/%s", base, route);
  pg_http_call_opts o = {.method = "POST", .url = url, .body = body, .body_len = len,
                         .content_type = ctype ? ctype : "application/octet-stream"};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  if (pg_http_call(&o, &r, &d)) fail_msg("POST %s: %s", route, d.msg);
  return r;
}

typedef struct tn_hostile {
  const char *name;
  const char *ctype; /* NULL: application/octet-stream */
  const char *hex;   /* the body in hex, at most 64 bytes */
  long status;
  const char *says;  /* in the answer */
} tn_hostile;

static inline void tn_hostile_run(const char *base, const char *route, const tn_hostile *cases,
                           size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t body[64];
    size_t len = strlen(cases[i].hex) / 2;
    assert_true(len <= sizeof body);
    for (size_t k = 0; k < len; k++) sscanf(cases[i].hex + 2 * k, "%2hhx", &body[k]);
    pg_http_result r = tn_post(base, route, cases[i].ctype, body, len);
    if (r.status != cases[i].status || !strstr(r.body, cases[i].says))
      fail_msg("%s: %ld %s", cases[i].name, r.status, r.body);
    pg_http_result_free(&r);
  }
}

/* An HTTP client of base (max_response 0: the default). */
static inline pg_client *tn_client(const char *base, size_t max_response, bool rest_only) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  pg_http_client_opts o = {.base_url = base, .max_response = max_response, .rest_only = rest_only};
  if (pg_client_http_new(&o, &c, &d)) fail_msg("%s", d.msg);
  return c;
}

/* The node's count of requests of route class `route` answered with
 * `status` ("2xx", "4xx", ...): its /metrics histogram's _count, 0 when
 * absent. */
static inline long long tn_route_requests(const char *base, const char *route, const char *status) {
  char url[128], key[160];
  snprintf(url, sizeof url, "%s/metrics", base);
  snprintf(key, sizeof key,
           "p2pgrid_node_api_request_duration_seconds_count{route=\"%s\",status=\"%s\"} ", route,
           status);
  pg_http_result r = {0};
  pg_diag d = {{0}};
  if (pg_http_call(&(pg_http_call_opts){.method = "GET", .url = url}, &r, &d))
    fail_msg("GET metrics: %s", d.msg);
  const char *at = strstr(r.body, key);
  long long v = at ? strtoll(at + strlen(key), NULL, 10) : 0;
  pg_http_result_free(&r);
  return v;
}

#endif
