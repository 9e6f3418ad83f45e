/* Who may POST to the node, and the node over HTTPS.
 *
 * Nodes run in-process (pg_node: real HTTP server on 127.0.0.1, a temporary
 * data dir, no PoW); the test talks to them with pg_client and pg_http_call.
 * An ephemeral CA issues the node's server certificate and the clients'
 * certificates (PEM files in the temporary dir).
 * - [api] post_tokens_file over plain HTTP: GET open; POST without a token
 *   401 (TIP-13 envelope), with an unlisted token 403, with a listed one 201;
 *   a batch (POST /api/plugins/data/batch) the same; the refusals counted.
 * - [api] tls_cert/tls_key + post_ca: HTTPS only (a plain-HTTP client gets
 *   nothing and is counted as a handshake failure), GET open over HTTPS,
 *   POST without a client certificate 401, with one of another CA 403, with
 *   a member's 201. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/tls/tls.h"
#include "../unit/test_util_tmpdir.h"

#define TOKEN "poster-0123456789abcdef"

#define ASSERT_DIAG(d, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((d).msg, (needle))) fail_msg("diag '%s' lacks '%s'", (d).msg, (needle));          \
  } while (0)

static char *g_dir; /* tu_mktmp: the group's temporary directory */

static void path_of(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", g_dir, name);
}

static void write_text(const char *name, const char *text) {
  char p[128];
  path_of(name, p, sizeof p);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static void issue(pg_ca *ca, const char *id, pg_role role, const char *host, const char *stem) {
  const char *hosts[] = {host};
  pg_cert_opts o = {.id = id, .role = role, .hosts = host ? hosts : NULL, .nhosts = host ? 1 : 0};
  char *key = NULL, *cert = NULL, name[64];
  pg_diag d = {{0}};
  if (pg_ca_issue(ca, &o, &key, &cert, &d)) fail_msg("issue %s: %s", id, d.msg);
  snprintf(name, sizeof name, "%s.crt", stem);
  write_text(name, cert);
  snprintf(name, sizeof name, "%s.key", stem);
  write_text(name, key);
  pg_tls_free_secret(key);
  free(cert);
}

static int setup(void **state) {
  g_dir = tu_mktmp("p2pgrid-access");
  pg_ca *ca = NULL, *other = NULL;
  pg_diag d = {{0}};
  if (pg_ca_new_ephemeral("Node test community", &ca, &d) ||
      pg_ca_new_ephemeral("Someone else", &other, &d)) {
    fprintf(stderr, "CA: %s\n", d.msg);
    return -1;
  }
  write_text("ca.crt", pg_ca_cert_pem(ca));
  issue(ca, "node-1", PG_ROLE_GRID, "127.0.0.1", "node");
  issue(ca, "producer-1", PG_ROLE_PRODUCER, NULL, "member");
  issue(other, "producer-1", PG_ROLE_PRODUCER, NULL, "stranger");
  write_text("tokens", "# who may post\n" TOKEN "\n");
  char tokens[128];
  path_of("tokens", tokens, sizeof tokens);
  if (chmod(tokens, 0600) != 0) return -1;
  pg_ca_close(ca);
  pg_ca_close(other);
  return 0;
}

static int teardown(void **state) {
  tu_rmrf(g_dir);
  g_dir = NULL;
  return 0;
}

/* A node on a fresh data dir under g_dir with the [api] keys of ini. */
static pg_node *start_node(const char *name, const char *ini, pg_node_config *nc) {
  pg_config *cfg = NULL;
  pg_diag d = {{0}};
  char text[1024];
  snprintf(text, sizeof text, "[node]\ndata_dir = %s/%s\nmin_pow_score = 0\n[api]\nport = 0\n%s",
           g_dir, name, ini);
  assert_int_equal(pg_config_new(&cfg), PG_OK);
  if (pg_config_load_string(cfg, "node.ini", text, strlen(text), &d)) fail_msg("%s", d.msg);
  pg_node_config_init(nc);
  if (pg_node_config_load(nc, cfg, &d)) fail_msg("config: %s", d.msg);
  pg_config_free(cfg);
  pg_node *n = NULL;
  if (pg_node_start(nc, &n, &d)) fail_msg("start: %s", d.msg);
  return n;
}

static int submit(const char *base, const pg_tls_files *tls, const char *bearer, pg_diag *d) {
  pg_client *c = NULL;
  pg_http_client_opts o = {.base_url = base, .tls = tls, .bearer = bearer};
  assert_int_equal(pg_client_http_new(&o, &c, d), PG_OK);
  uint8_t id[PG_ID_LEN];
  int rc = pg_client_submit_data(c, (const uint8_t *)"access", 6, (const uint8_t *)"hi", 2, id, d);
  pg_client_free(c);
  return rc;
}

/* Two chained data messages in one batch (POST /api/plugins/data/batch);
 * the first item's rc and diag. */
static int submit_batch(const char *base, const char *bearer, pg_diag *d) {
  pg_client *c = NULL;
  pg_http_client_opts o = {.base_url = base, .bearer = bearer};
  assert_int_equal(pg_client_http_new(&o, &c, d), PG_OK);
  pg_client_data v[2] = {
      {.index = (const uint8_t *)"access", .index_len = 6, .data = (const uint8_t *)"a", .data_len = 1},
      {.index = (const uint8_t *)"access", .index_len = 6, .follows = true}};
  assert_int_equal(pg_client_submit_data_many(c, v, 2, d), PG_OK);
  pg_client_free(c);
  assert_int_equal(v[1].rc, v[0].rc); /* one request: the same answer for both */
  *d = v[0].d;
  return v[0].rc;
}

static void reads_open(const char *base, const pg_tls_files *tls) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  pg_http_client_opts o = {.base_url = base, .tls = tls};
  assert_int_equal(pg_client_http_new(&o, &c, &d), PG_OK);
  pg_node_info info;
  if (pg_client_info(c, &info, &d)) fail_msg("GET info: %s", d.msg);
  pg_client_free(c);
}

/* A raw POST: the status and the error envelope's code. */
static long raw_post(const char *base, const char *bearer, char code[16]) {
  char url[128];
  snprintf(url, sizeof url, "%s/api/v1/messages", base);
  pg_http_call_opts o = {.method = "POST", .url = url, .body = "{}", .body_len = 2,
                         .bearer = bearer};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  if (pg_http_call(&o, &r, &d)) fail_msg("%s", d.msg);
  json_t *j = NULL;
  code[0] = '\0';
  if (pg_json_parse(r.body, r.len, PG_JSON_OBJECT, &j, &d) == PG_OK) {
    const char *c = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    snprintf(code, 16, "%s", c ? c : "");
    json_decref(j);
  }
  long status = r.status;
  pg_http_result_free(&r);
  return status;
}

static void test_bearer_tokens(void **state) {
  char tokens[128], ini[256], base[64];
  path_of("tokens", tokens, sizeof tokens);
  snprintf(ini, sizeof ini, "post_tokens_file = %s\n", tokens);
  pg_node_config nc;
  pg_node *n = start_node("tokens-node", ini, &nc);
  snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)pg_node_port(n));
  pg_diag d = {{0}};

  reads_open(base, NULL);
  pg_client *bad = NULL;
  pg_http_client_opts bo = {.base_url = base, .bearer = "two words"};
  assert_int_equal(pg_client_http_new(&bo, &bad, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "bearer token");
  assert_null(bad);
  assert_int_equal(submit(base, NULL, NULL, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "HTTP 401 from POST /api/v1/messages: POST needs a bearer token");
  assert_int_equal(submit(base, NULL, "poster-0123456789abcdeX", &d), PG_ERR_UNSUPPORTED);
  ASSERT_DIAG(d, "HTTP 403 from POST /api/v1/messages: bearer token not accepted");
  if (submit(base, NULL, TOKEN, &d)) fail_msg("POST with the token: %s", d.msg);
  assert_int_equal(submit_batch(base, NULL, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "HTTP 401 from POST /api/plugins/data/batch: POST needs a bearer token");
  if (submit_batch(base, TOKEN, &d)) fail_msg("a batch with the token: %s", d.msg);

  char code[16];
  assert_int_equal(raw_post(base, NULL, code), 401);
  assert_string_equal(code, "401");
  assert_int_equal(raw_post(base, "wrong-token", code), 403);
  assert_string_equal(code, "403");
  assert_int_equal(raw_post(base, TOKEN, code), 201); /* the node completes an empty draft */

  pg_node_api_stats st;
  pg_node_get_api_stats(n, &st);
  assert_int_equal(st.posts_unauthenticated, 3);
  assert_int_equal(st.posts_forbidden, 2);
  assert_true(st.requests >= 9);
  assert_int_equal(st.handshake_failures, 0);
  pg_node_stop(n);
  pg_node_config_clear(&nc);
}

static void test_https_client_certs(void **state) {
  char crt[128], key[128], ca[128], ini[512], base[64], plain[64];
  path_of("node.crt", crt, sizeof crt);
  path_of("node.key", key, sizeof key);
  path_of("ca.crt", ca, sizeof ca);
  snprintf(ini, sizeof ini, "tls_cert = %s\ntls_key = %s\npost_ca = %s\n", crt, key, ca);
  pg_node_config nc;
  pg_node *n = start_node("tls-node", ini, &nc);
  snprintf(base, sizeof base, "https://127.0.0.1:%u", (unsigned)pg_node_port(n));
  snprintf(plain, sizeof plain, "http://127.0.0.1:%u", (unsigned)pg_node_port(n));
  pg_diag d = {{0}};

  pg_tls_files anon = {.ca_file = ca};
  reads_open(base, &anon); /* anyone with the CA certificate reads */
  pg_client *c = NULL;
  pg_node_info info;
  /* without our CA the client does not trust the node */
  assert_int_equal(pg_client_http_new(&(pg_http_client_opts){.base_url = base}, &c, &d), PG_OK);
  assert_int_equal(pg_client_info(c, &info, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "GET /api/v1/info to https://127.0.0.1:");
  ASSERT_DIAG(d, "TLS: server certificate not trusted");
  pg_client_free(c);
  c = NULL;
  assert_int_equal(pg_client_http_new(&(pg_http_client_opts){.base_url = plain}, &c, &d), PG_OK);
  assert_int_equal(pg_client_info(c, &info, &d), PG_ERR_HTTP); /* plain HTTP: no answer */
  pg_client_free(c);

  assert_int_equal(submit(base, &anon, NULL, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "HTTP 401 from POST /api/v1/messages: POST needs a client certificate");
  char mc[128], mk[128], sc[128], sk[128];
  path_of("member.crt", mc, sizeof mc);
  path_of("member.key", mk, sizeof mk);
  path_of("stranger.crt", sc, sizeof sc);
  path_of("stranger.key", sk, sizeof sk);
  pg_tls_files stranger = {.ca_file = ca, .cert_file = sc, .key_file = sk};
  assert_int_equal(submit(base, &stranger, NULL, &d), PG_ERR_UNSUPPORTED);
  ASSERT_DIAG(d, "HTTP 403 from POST /api/v1/messages: client certificate refused: certificate "
                 "not issued by this community's CA");
  pg_tls_files member = {.ca_file = ca, .cert_file = mc, .key_file = mk};
  if (submit(base, &member, NULL, &d)) fail_msg("POST with a member certificate: %s", d.msg);
  /* a bearer token counts for nothing here: no token file */
  assert_int_equal(submit(base, &anon, TOKEN, &d), PG_ERR_HTTP);

  pg_node_api_stats st;
  pg_node_get_api_stats(n, &st);
  assert_int_equal(st.posts_unauthenticated, 2);
  assert_int_equal(st.posts_forbidden, 1);
  /* the plain-HTTP connection is counted when the server has closed it */
  uint64_t t0 = pg_monotonic_ms();
  while (st.handshake_failures == 0 && pg_monotonic_ms() - t0 < 5000) {
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    pg_node_get_api_stats(n, &st);
  }
  assert_true(st.handshake_failures >= 1);
  pg_node_stop(n);
  pg_node_config_clear(&nc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bearer_tokens),
      cmocka_unit_test(test_https_client_certs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
