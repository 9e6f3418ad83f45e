/* A replica against a lying peer (src/node/peers.c): an in-process node with
 * its own coordinator is the honest upstream; a proxy in front of it
 * (pg_httpd + pg_http_call) passes every GET through but tampers with one
 * kind of answer. A replica that lists the proxy first and the upstream
 * second must refuse the proxy with the reason named (GET
 * /api/plugins/peers), count it, and still follow the upstream to its
 * confirmed milestone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/node/node.h"
#include "test_util_tmpdir.h"

#define DEADLINE_MS 30000

typedef enum tamper { T_WRONG_NETWORK, T_ID_MISMATCH, T_NOT_MILESTONE } tamper;

typedef struct proxy {
  pg_httpd *h;
  char upstream[64];
  tamper mode;
  char data_id[65]; /* a stored non-milestone message of the upstream */
} proxy;

static char *g_tmp;
static pg_node *g_up;
static char g_up_url[64];
static char g_data_id[65];
static uint8_t g_pk[32];

static void nap(void) {
  struct timespec ts = {0, 20 * 1000000L};
  nanosleep(&ts, NULL);
}

static void set_dir(pg_node_config *c, const char *name) {
  free(c->data_dir);
  char dir[128];
  snprintf(dir, sizeof dir, "%s/%s", g_tmp, name);
  c->data_dir = strdup(dir);
  assert_non_null(c->data_dir);
  c->port = 0;
  c->min_pow_score = 0;
}

/* A node that is its own coordinator (seed 0x33..: g_pk), milestones every
 * 200 ms, in g_tmp/name. */
static void coordinator_config(pg_node_config *c, const char *name) {
  pg_node_config_init(c);
  set_dir(c, name);
  uint8_t seed[32], sk[64];
  memset(seed, 0x33, sizeof seed);
  pg_ed25519_from_seed(seed, g_pk, sk);
  c->coo_enabled = true;
  c->coo_interval_ms = 200;
  c->coo_keys_count = 1;
  memcpy(c->coo_secret_keys[0], sk, 64);
  c->ms_keys_count = 1;
  memcpy(c->ms_public_keys[0], g_pk, 32);
}

/* ---- the lying proxy ------------------------------------------------------- */

static bool ends_with(const char *s, const char *tail) {
  size_t a = strlen(s), b = strlen(tail);
  return a >= b && strcmp(s + a - b, tail) == 0;
}

static void proxy_handle(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  proxy *p = ctx;
  char url[256];
  snprintf(url, sizeof url, "%s%s", p->upstream, req->path);
  pg_http_call_opts o = {.method = "GET", .url = url};
  pg_http_result r = {0};
  if (strcmp(req->method, "GET") != 0 || pg_http_call(&o, &r, NULL) != PG_OK) {
    pg_httpd_error(resp, 503, NULL, "proxy: cannot pass this on");
    return;
  }
  if (p->mode == T_WRONG_NETWORK && strcmp(req->path, "/api/v1/info") == 0) {
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    json_object_set_new(json_object_get(j, "data"), "networkId", json_string("other-net"));
    pg_httpd_resp_json(resp, 200, j);
  } else if (p->mode == T_ID_MISMATCH && ends_with(req->path, "/raw") && r.status == 200) {
    r.body[r.len - 1] ^= 1; /* a nonce bit: still a message, another id */
    pg_httpd_resp_copy(resp, 200, "application/octet-stream", r.body, r.len);
  } else if (p->mode == T_NOT_MILESTONE && strncmp(req->path, "/api/v1/milestones/", 19) == 0 &&
             r.status == 200) {
    json_t *j = json_loadb(r.body, r.len, 0, NULL);
    json_object_set_new(json_object_get(j, "data"), "messageId", json_string(p->data_id));
    pg_httpd_resp_json(resp, 200, j);
  } else {
    pg_httpd_resp_copy(resp, (unsigned)r.status,
                       r.content_type[0] ? r.content_type : "application/json", r.body, r.len);
  }
  pg_http_result_free(&r);
}

/* ---- fixture: the honest upstream -------------------------------------------- */

static int group_setup(void **state) {
  (void)state;
  pg_log_set_level(PG_LOG_WARN);
  g_tmp = tu_mktmp("pg-peers");
  pg_node_config c;
  coordinator_config(&c, "up");
  pg_diag d = {{0}};
  int rc = pg_node_start(&c, &g_up, &d);
  pg_node_config_clear(&c);
  if (rc) {
    fprintf(stderr, "upstream: %s\n", d.msg);
    return -1;
  }
  snprintf(g_up_url, sizeof g_up_url, "http://127.0.0.1:%u", (unsigned)pg_node_port(g_up));
  pg_client *cl = NULL;
  pg_http_client_opts o = {.base_url = g_up_url};
  uint8_t id[32];
  if (pg_client_http_new(&o, &cl, &d) ||
      pg_client_submit_data(cl, (const uint8_t *)"peers", 5, (const uint8_t *)"x", 1, id, &d))
    return -1;
  pg_client_free(cl);
  pg_hex_encode(id, 32, g_data_id);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  pg_node_stop(g_up);
  tu_rmrf(g_tmp);
  return 0;
}

static uint32_t confirmed(pg_node *n) {
  pg_tangle_status s;
  pg_tangle_get_status(pg_node_tangle(n), &s);
  return s.confirmed_milestone_index;
}

/* The replica's GET /api/plugins/peers entry of url (new reference). */
static json_t *peer_status(pg_node *r, const char *url) {
  char u[128];
  snprintf(u, sizeof u, "http://127.0.0.1:%u/api/plugins/peers", (unsigned)pg_node_port(r));
  pg_http_call_opts o = {.method = "GET", .url = u};
  pg_http_result res = {0};
  assert_int_equal(pg_http_call(&o, &res, NULL), PG_OK);
  assert_int_equal(res.status, 200);
  json_t *j = json_loadb(res.body, res.len, 0, NULL);
  pg_http_result_free(&res);
  assert_non_null(j);
  json_t *a = json_object_get(json_object_get(j, "data"), "peers"), *found = NULL;
  for (size_t i = 0; i < json_array_size(a); i++)
    if (strcmp(json_string_value(json_object_get(json_array_get(a, i), "url")), url) == 0)
      found = json_incref(json_array_get(a, i));
  json_decref(j);
  assert_non_null(found);
  return found;
}

/* A replica of the given peers (and bearer token for them, may be NULL). */
static void start_replica(const char *name, const char *const *peers, size_t n,
                          const char *bearer, pg_node **out) {
  pg_node_config c;
  pg_node_config_init(&c);
  set_dir(&c, name);
  c.ms_keys_count = 1;
  memcpy(c.ms_public_keys[0], g_pk, 32);
  c.peer_count = n;
  c.peer_urls = calloc(n, sizeof *c.peer_urls);
  assert_non_null(c.peer_urls);
  for (size_t i = 0; i < n; i++) assert_non_null(c.peer_urls[i] = strdup(peers[i]));
  c.peer_bearer = bearer ? strdup(bearer) : NULL;
  c.peer_poll_ms = 50;
  c.peer_max_backoff_ms = 200;
  pg_diag d = {{0}};
  if (pg_node_start(&c, out, &d)) fail_msg("%s: %s", name, d.msg);
  pg_node_config_clear(&c);
}

/* A replica of [proxy(mode), upstream]: the proxy is refused for `reason`,
 * the upstream followed. */
static void run_case(tamper mode, const char *name, const char *reason) {
  proxy px = {.mode = mode};
  snprintf(px.upstream, sizeof px.upstream, "%s", g_up_url);
  snprintf(px.data_id, sizeof px.data_id, "%s", g_data_id);
  pg_httpd_opts ho = {.handler = proxy_handle, .ctx = &px};
  pg_diag d = {{0}};
  assert_int_equal(pg_httpd_start(&ho, &px.h, &d), PG_OK);
  char purl[64];
  snprintf(purl, sizeof purl, "http://127.0.0.1:%u", (unsigned)pg_httpd_port(px.h));
  const char *peers[] = {purl, g_up_url};
  pg_node *r = NULL;
  start_replica(name, peers, 2, NULL, &r);

  uint32_t target = confirmed(g_up) + 2;
  uint64_t deadline = pg_monotonic_ms() + DEADLINE_MS;
  for (;;) {
    json_t *bad = peer_status(r, purl), *good = peer_status(r, g_up_url);
    long long refusals = json_integer_value(json_object_get(bad, "refusals"));
    const char *why = json_string_value(json_object_get(bad, "lastError"));
    bool done = refusals >= 1 && confirmed(r) >= target;
    if (done) {
      assert_string_equal(json_string_value(json_object_get(bad, "state")), "refused");
      if (!strstr(why, reason)) fail_msg("%s: refused for '%s', want '%s'", name, why, reason);
      assert_int_equal(json_integer_value(json_object_get(good, "refusals")), 0);
      assert_true(json_integer_value(json_object_get(good, "milestones")) >= 1);
    }
    json_decref(bad);
    json_decref(good);
    if (done) break;
    if (pg_monotonic_ms() > deadline)
      fail_msg("%s: refusals %lld, confirmed %u of %u", name, refusals, confirmed(r), target);
    nap();
  }
  pg_node_stop(r);
  pg_httpd_stop(px.h);
}

static void test_wrong_network(void **state) {
  (void)state;
  run_case(T_WRONG_NETWORK, "wrong-network", "wrong network: the peer serves 'other-net'");
}

static void test_id_mismatch(void **state) {
  (void)state;
  run_case(T_ID_MISMATCH, "id-mismatch", "id mismatch: asked for message");
}

static void test_not_a_milestone(void **state) {
  (void)state;
  run_case(T_NOT_MILESTONE, "not-milestone", "is not that milestone");
}

static long post_data(pg_node *n, pg_http_result *res) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/api/v1/messages", (unsigned)pg_node_port(n));
  const char *body = "{\"payload\":{\"type\":2,\"index\":\"746f6b656e\",\"data\":\"01\"}}";
  pg_http_call_opts o = {.method = "POST", .url = url, .body = body, .body_len = strlen(body)};
  assert_int_equal(pg_http_call(&o, res, NULL), PG_OK);
  return res->status;
}

/* An upstream whose POST needs a bearer token: a replica without the token
 * gets nothing through (503 naming the peer's 401), one with [peers]
 * token_file's token forwards (201) and knows the message at once. */
static void test_forward_with_token(void **state) {
  (void)state;
  static const char token[] = "replica-forwarding-token-0123456789";
  pg_node_config c;
  coordinator_config(&c, "up-token");
  c.post_token_count = 1;
  c.post_token_hashes = calloc(1, 32);
  assert_non_null(c.post_token_hashes);
  pg_blake2b256(token, strlen(token), c.post_token_hashes[0]);
  pg_node *up = NULL, *without = NULL, *with = NULL;
  pg_diag d = {{0}};
  if (pg_node_start(&c, &up, &d)) fail_msg("upstream: %s", d.msg);
  pg_node_config_clear(&c);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)pg_node_port(up));
  const char *peers[] = {url};
  start_replica("no-token", peers, 1, NULL, &without);
  start_replica("token", peers, 1, token, &with);

  pg_http_result res = {0};
  assert_int_equal(post_data(without, &res), 503);
  if (!strstr(res.body, "no peer took the message") || !strstr(res.body, "401"))
    fail_msg("without a token: %s", res.body);
  pg_http_result_free(&res);
  assert_int_equal(post_data(with, &res), 201);
  json_t *j = json_loadb(res.body, res.len, 0, NULL);
  const char *id = json_string_value(json_object_get(json_object_get(j, "data"), "messageId"));
  uint8_t raw_id[32];
  assert_int_equal(pg_hex_decode_exact(id, raw_id, 32), PG_OK);
  pg_msg_meta m;
  assert_int_equal(pg_tangle_get_meta(pg_node_tangle(with), raw_id, &m), PG_OK);
  assert_int_equal(pg_tangle_get_meta(pg_node_tangle(up), raw_id, &m), PG_OK);
  json_decref(j);
  pg_http_result_free(&res);
  pg_node_stop(with);
  pg_node_stop(without);
  pg_node_stop(up);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wrong_network),
      cmocka_unit_test(test_id_mismatch),
      cmocka_unit_test(test_not_a_milestone),
      cmocka_unit_test(test_forward_with_token),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
