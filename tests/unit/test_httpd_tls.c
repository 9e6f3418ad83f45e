/* Unit tests for HTTPS in the generic server (src/httpd) with the project's
 * own client (pg_http_call, see test_httpd_tls.cmake): an ephemeral CA
 * issues the server's and the clients' certificates (PEM in a temporary
 * directory). What the handler learns about the peer (verified member, no
 * certificate, a certificate of another CA, a revoked one), plain HTTP on
 * the TLS port counted as a handshake failure, the Host check (421/400,
 * with raw libcurl to send odd Host headers), a client that refuses a
 * server of another CA, the server's certificate returned to the client,
 * and start errors naming the bad file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/tls/tls.h"

#define DEADLINE_MS 5000

#define ASSERT_DIAG(d, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((d).msg, (needle))) fail_msg("diag '%s' lacks '%s'", (d).msg, (needle));          \
  } while (0)

static char g_dir[64];
static pg_ca *g_ca, *g_other;
static pg_tls_trust *g_trust;
static pg_httpd *g_srv;   /* HTTPS, asks for client certificates, Host 127.0.0.1 only */
static pg_httpd *g_plain; /* plain HTTP with a Host list */
static char g_url[64], g_plain_url[64];

/* ---- files ---- */

static void path_of(const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", g_dir, name);
}

static int write_text(const char *name, const char *text) {
  char p[128];
  path_of(name, p, sizeof p);
  FILE *f = fopen(p, "w");
  if (!f) return -1;
  size_t n = strlen(text);
  int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
  return fclose(f) == 0 ? rc : -1;
}

/* Issues a certificate of ca for id/role into <stem>.crt and <stem>.key. */
static int issue(pg_ca *ca, const char *id, pg_role role, const char *const *hosts, size_t nhosts,
                 const char *stem) {
  pg_cert_opts o = {.id = id, .role = role, .hosts = hosts, .nhosts = nhosts};
  char *key = NULL, *cert = NULL, name[64];
  pg_diag d;
  if (pg_ca_issue(ca, &o, &key, &cert, &d)) {
    fprintf(stderr, "issue %s: %s\n", id, d.msg);
    return -1;
  }
  snprintf(name, sizeof name, "%s.crt", stem);
  int rc = write_text(name, cert);
  snprintf(name, sizeof name, "%s.key", stem);
  if (!rc) rc = write_text(name, key);
  pg_tls_free_secret(key);
  free(cert);
  return rc;
}

/* ---- the handler: says what it learnt about the peer ---- */

static void handle(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  const pg_httpd_peer *p = req->peer;
  json_t *j = json_pack("{s:s,s:b,s:b,s:b,s:s,s:s,s:s,s:I}", "addr", p->addr, "tls", p->tls,
                        "hasCert", p->has_cert, "verified", p->verified, "why", p->why, "id",
                        p->member.id, "role",
                        p->member.role ? pg_role_name(p->member.role) : "", "certLen",
                        (json_int_t)p->cert_len);
  pg_httpd_resp_json(resp, 200, j);
}

static int start_servers(void) {
  char crt[128], key[128];
  pg_diag d;
  static const char *const hosts[] = {"127.0.0.1"};
  path_of("server.crt", crt, sizeof crt);
  path_of("server.key", key, sizeof key);
  pg_httpd_opts o = {.handler = handle, .pool_threads = 2, .tls_cert_file = crt,
                     .tls_key_file = key, .trust = g_trust, .hosts = hosts, .nhosts = 1};
  if (pg_httpd_start(&o, &g_srv, &d)) {
    fprintf(stderr, "start: %s\n", d.msg);
    return -1;
  }
  static const char *const plain_hosts[] = {"localhost", "[::1]", "node.example"};
  pg_httpd_opts op = {.handler = handle, .hosts = plain_hosts, .nhosts = 3};
  if (pg_httpd_start(&op, &g_plain, &d)) {
    fprintf(stderr, "start: %s\n", d.msg);
    return -1;
  }
  snprintf(g_url, sizeof g_url, "https://127.0.0.1:%u/peer", (unsigned)pg_httpd_port(g_srv));
  snprintf(g_plain_url, sizeof g_plain_url, "http://127.0.0.1:%u/peer",
           (unsigned)pg_httpd_port(g_plain));
  return 0;
}

static int group_setup(void **state) {
  pg_diag d;
  snprintf(g_dir, sizeof g_dir, "/tmp/pg-httpd-tls-XXXXXX");
  if (!mkdtemp(g_dir) || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  if (pg_ca_new_ephemeral("Test community", &g_ca, &d) ||
      pg_ca_new_ephemeral("Another community", &g_other, &d)) {
    fprintf(stderr, "CA: %s\n", d.msg);
    return -1;
  }
  static const char *const server_hosts[] = {"127.0.0.1", "localhost"};
  if (write_text("ca.crt", pg_ca_cert_pem(g_ca)) ||
      write_text("other.crt", pg_ca_cert_pem(g_other)) ||
      issue(g_ca, "grid-1", PG_ROLE_GRID, server_hosts, 2, "server") ||
      issue(g_ca, "consumer-7", PG_ROLE_CONSUMER, NULL, 0, "client") ||
      issue(g_other, "consumer-7", PG_ROLE_CONSUMER, NULL, 0, "stranger") ||
      issue(g_other, "grid-1", PG_ROLE_GRID, server_hosts, 2, "fake"))
    return -1;
  if (pg_tls_trust_from_pem(pg_ca_cert_pem(g_ca), NULL, &g_trust, &d)) {
    fprintf(stderr, "trust: %s\n", d.msg);
    return -1;
  }
  return start_servers();
}

static int group_teardown(void **state) {
  pg_httpd_stop(g_srv);
  pg_httpd_stop(g_plain);
  pg_tls_trust_free(g_trust);
  pg_ca_close(g_ca);
  pg_ca_close(g_other);
  const char *names[] = {"ca.crt",     "other.crt",    "server.crt", "server.key",
                         "client.crt", "client.key",   "stranger.crt", "stranger.key",
                         "fake.crt",   "fake.key",     "garbage.pem"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char p[128];
    path_of(names[i], p, sizeof p);
    (void)unlink(p);
  }
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir); /* the disk CA's files too */
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
  curl_global_cleanup();
  return 0;
}

/* ---- calls ---- */

typedef struct files {
  char ca[128], cert[128], key[128];
  pg_tls_files tls;
} files;

/* TLS files: ca (the CA file name, or NULL) and the client stem (or NULL). */
static const pg_tls_files *files_of(files *f, const char *ca, const char *stem) {
  memset(f, 0, sizeof *f);
  if (ca) {
    path_of(ca, f->ca, sizeof f->ca);
    f->tls.ca_file = f->ca;
  }
  if (stem) {
    char n[64];
    snprintf(n, sizeof n, "%s.crt", stem);
    path_of(n, f->cert, sizeof f->cert);
    snprintf(n, sizeof n, "%s.key", stem);
    path_of(n, f->key, sizeof f->key);
    f->tls.cert_file = f->cert;
    f->tls.key_file = f->key;
  }
  return &f->tls;
}

/* GET url with the given TLS files; the handler's answer as JSON. */
static json_t *peer_seen(const char *url, const pg_tls_files *tls) {
  pg_http_call_opts o = {.method = "GET", .url = url, .tls = tls};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  int rc = pg_http_call(&o, &r, &d);
  if (rc) fail_msg("GET %s: %s", url, d.msg);
  assert_int_equal(r.status, 200);
  json_t *j = NULL;
  assert_int_equal(pg_json_parse(r.body, r.len, PG_JSON_OBJECT, &j, &d), PG_OK);
  pg_http_result_free(&r);
  return j;
}

static const char *jstr(const json_t *j, const char *k) {
  const char *s = json_string_value(json_object_get(j, k));
  assert_non_null(s);
  return s;
}

static bool jbool(const json_t *j, const char *k) { return json_is_true(json_object_get(j, k)); }

static pg_httpd_stats stats(void) {
  pg_httpd_stats s;
  pg_httpd_get_stats(g_srv, &s);
  return s;
}

/* ---- tests ---- */

static void test_verified_member(void **state) {
  files f;
  pg_httpd_stats before = stats();
  json_t *j = peer_seen(g_url, files_of(&f, "ca.crt", "client"));
  assert_true(jbool(j, "tls"));
  assert_true(jbool(j, "hasCert"));
  assert_true(jbool(j, "verified"));
  assert_string_equal(jstr(j, "why"), "");
  assert_string_equal(jstr(j, "id"), "consumer-7");
  assert_string_equal(jstr(j, "role"), "consumer");
  assert_string_equal(jstr(j, "addr"), "127.0.0.1");
  assert_true(json_integer_value(json_object_get(j, "certLen")) > 100);
  json_decref(j);
  pg_httpd_stats after = stats();
  assert_true(after.requests >= before.requests + 1);
  assert_true(after.connections >= before.connections + 1);
  assert_int_equal(after.peers_unverified, before.peers_unverified);
}

static void test_no_client_cert(void **state) {
  files f;
  pg_httpd_stats before = stats();
  json_t *j = peer_seen(g_url, files_of(&f, "ca.crt", NULL));
  assert_true(jbool(j, "tls"));
  assert_false(jbool(j, "hasCert"));
  assert_false(jbool(j, "verified"));
  assert_string_equal(jstr(j, "why"), "no client certificate");
  assert_string_equal(jstr(j, "id"), "");
  json_decref(j);
  assert_int_equal(stats().peers_unverified, before.peers_unverified + 1);
}

static void test_other_ca_client(void **state) {
  files f;
  /* a GnuTLS client may keep back a certificate the server's CA list does
   * not name: either way the member is not verified */
  json_t *j = peer_seen(g_url, files_of(&f, "ca.crt", "stranger"));
  assert_false(jbool(j, "verified"));
  if (jbool(j, "hasCert"))
    assert_string_equal(jstr(j, "why"), "certificate not issued by this community's CA");
  else
    assert_string_equal(jstr(j, "why"), "no client certificate");
  assert_string_equal(jstr(j, "id"), "");
  json_decref(j);
}

/* Waits until the server has counted more handshake failures than n. */
static bool handshake_failures_above(uint64_t n) {
  uint64_t t0 = pg_monotonic_ms();
  while (pg_monotonic_ms() - t0 < DEADLINE_MS) {
    if (stats().handshake_failures > n) return true;
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return false;
}

static void test_plain_http_on_tls_port(void **state) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/peer", (unsigned)pg_httpd_port(g_srv));
  uint64_t before = stats().handshake_failures;
  pg_http_call_opts o = {.method = "GET", .url = url, .timeout_ms = 3000};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  assert_int_not_equal(pg_http_call(&o, &r, &d), PG_OK);
  assert_null(r.body);
  assert_true(handshake_failures_above(before));
}

static void test_client_refuses_other_ca(void **state) {
  files f;
  pg_http_call_opts o = {.method = "PUT", .url = g_url, .tls = files_of(&f, "other.crt", "client"),
                         .body = "{}", .body_len = 2};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "PUT https://127.0.0.1:");
  ASSERT_DIAG(d, "TLS: server certificate not trusted");
  /* the server of another CA, seen from a client of ours */
  pg_httpd *fake = NULL;
  char crt[128], key[128], url[64];
  path_of("fake.crt", crt, sizeof crt);
  path_of("fake.key", key, sizeof key);
  pg_httpd_opts so = {.handler = handle, .tls_cert_file = crt, .tls_key_file = key};
  assert_int_equal(pg_httpd_start(&so, &fake, &d), PG_OK);
  snprintf(url, sizeof url, "https://127.0.0.1:%u/peer", (unsigned)pg_httpd_port(fake));
  o.url = url;
  o.tls = files_of(&f, "ca.crt", "client");
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "TLS: server certificate not trusted");
  pg_httpd_stop(fake);
}

static void test_peer_cert(void **state) {
  files f;
  pg_http_call_opts o = {.method = "GET", .url = g_url, .tls = files_of(&f, "ca.crt", "client"),
                         .want_peer_cert = true};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  assert_int_equal(r.status, 200);
  assert_non_null(r.peer_der);
  assert_true(r.peer_der_len > 100);
  assert_int_equal(r.peer_der[0], 0x30); /* a DER SEQUENCE */
  pg_member m;
  assert_int_equal(pg_member_from_cert(r.peer_der, r.peer_der_len, &m, &d), PG_OK);
  assert_string_equal(m.id, "grid-1");
  assert_int_equal(m.role, PG_ROLE_GRID);
  pg_http_result_free(&r);
  assert_null(r.peer_der);
  /* plain HTTP: no certificate, no error */
  o.url = g_plain_url;
  o.tls = NULL;
  /* the plain server checks Host: 127.0.0.1 is not on its list */
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  assert_int_equal(r.status, 421);
  assert_null(r.peer_der);
  pg_http_result_free(&r);
}

/* GET on the plain server with a Host header (NULL: none at all; then
 * HTTP/1.0 unless http11). */
static long get_host_v(const char *host, bool http11) {
  CURL *c = curl_easy_init();
  assert_non_null(c);
  char line[300];
  if (host)
    snprintf(line, sizeof line, "Host: %s", host);
  else
    snprintf(line, sizeof line, "Host:"); /* libcurl then sends none */
  struct curl_slist *h = curl_slist_append(NULL, line);
  FILE *sink = fopen("/dev/null", "w");
  assert_non_null(sink);
  curl_easy_setopt(c, CURLOPT_URL, g_plain_url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
  /* HTTP/1.0 without Host: libmicrohttpd lets it through to our check */
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
                   host || http11 ? (long)CURL_HTTP_VERSION_1_1 : (long)CURL_HTTP_VERSION_1_0);
  assert_int_equal(curl_easy_perform(c), CURLE_OK);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  fclose(sink);
  return status;
}

static long get_with_host(const char *host) { return get_host_v(host, false); }

static void test_host_check(void **state) {
  pg_httpd_stats b, a;
  pg_httpd_get_stats(g_plain, &b);
  assert_int_equal(get_with_host("localhost"), 200);
  assert_int_equal(get_with_host("LocalHost:8080"), 200);
  assert_int_equal(get_with_host("[::1]:14265"), 200);
  assert_int_equal(get_with_host("[::1]"), 200);
  assert_int_equal(get_with_host("node.example"), 200);
  assert_int_equal(get_with_host("evil.example"), 421);
  assert_int_equal(get_with_host("node.example.evil"), 421);
  assert_int_equal(get_with_host("[::2]:80"), 421);
  assert_int_equal(get_with_host("::1"), 421); /* an IPv6 literal needs brackets */
  assert_int_equal(get_with_host(NULL), 400);
  pg_httpd_get_stats(g_plain, &a);
  assert_int_equal(a.refused_host, b.refused_host + 5);
  assert_int_equal(get_host_v(NULL, true), 400); /* libmicrohttpd's own (HTTP/1.1 needs Host) */
  assert_int_equal(a.handshake_failures, 0); /* not a TLS server */
  /* HTTPS with a list: 127.0.0.1 passes, localhost (also in the
   * certificate) does not */
  files f;
  json_t *j = peer_seen(g_url, files_of(&f, "ca.crt", "client"));
  json_decref(j);
  char url[64];
  snprintf(url, sizeof url, "https://localhost:%u/peer", (unsigned)pg_httpd_port(g_srv));
  pg_http_call_opts o = {.method = "GET", .url = url, .tls = &f.tls};
  pg_http_result r = {0};
  pg_diag d = {{0}};
  uint64_t before = stats().refused_host;
  int rc = pg_http_call(&o, &r, &d);
  if (rc == PG_OK) { /* localhost may resolve to ::1 only, where nothing listens */
    assert_int_equal(r.status, 421);
    assert_non_null(strstr(r.body, "localhost"));
    assert_int_equal(stats().refused_host, before + 1);
  }
  pg_http_result_free(&r);
}

/* ---- revocation on a kept-alive connection ---- */

typedef struct keepalive {
  CURL *c;
  char url[64], ca[160], crt[128], key[128];
  char body[2048];
  size_t len;
} keepalive;

static size_t ka_write(char *p, size_t sz, size_t n, void *ud) {
  keepalive *k = ud;
  size_t m = sz * n;
  if (k->len + m >= sizeof k->body) return 0;
  memcpy(k->body + k->len, p, m);
  k->len += m;
  k->body[k->len] = '\0';
  return m;
}

/* One GET on k's handle (the connection is kept between calls); the
 * handler's JSON, and *fresh says whether a new connection was made. */
static json_t *ka_get(keepalive *k, bool *fresh) {
  k->len = 0;
  assert_int_equal(curl_easy_perform(k->c), CURLE_OK);
  long status = 0, conns = 0;
  curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(k->c, CURLINFO_NUM_CONNECTS, &conns);
  assert_int_equal(status, 200);
  *fresh = conns > 0;
  json_t *j = NULL;
  assert_int_equal(pg_json_parse(k->body, k->len, PG_JSON_OBJECT, &j, NULL), PG_OK);
  return j;
}

static void ka_open(keepalive *k, const char *dir, uint16_t port) {
  memset(k, 0, sizeof *k);
  snprintf(k->url, sizeof k->url, "https://127.0.0.1:%u/peer", (unsigned)port);
  snprintf(k->ca, sizeof k->ca, "%s/ca.crt", dir);
  path_of("member.crt", k->crt, sizeof k->crt);
  path_of("member.key", k->key, sizeof k->key);
  k->c = curl_easy_init();
  assert_non_null(k->c);
  curl_easy_setopt(k->c, CURLOPT_URL, k->url);
  curl_easy_setopt(k->c, CURLOPT_CAINFO, k->ca);
  curl_easy_setopt(k->c, CURLOPT_SSLCERT, k->crt);
  curl_easy_setopt(k->c, CURLOPT_SSLKEY, k->key);
  curl_easy_setopt(k->c, CURLOPT_WRITEFUNCTION, ka_write);
  curl_easy_setopt(k->c, CURLOPT_WRITEDATA, k);
}

static void test_revocation(void **state) {
  char dir[128], ca_crt[160], crl[160], crt[128], key[128];
  pg_diag d = {{0}};
  path_of("disk-ca", dir, sizeof dir);
  snprintf(ca_crt, sizeof ca_crt, "%s/ca.crt", dir);
  snprintf(crl, sizeof crl, "%s/crl.pem", dir);
  pg_ca *ca = NULL;
  pg_tls_trust *trust = NULL;
  pg_httpd *h = NULL;
  assert_int_equal(pg_ca_init(dir, "Disk community", 0, &d), PG_OK);
  assert_int_equal(pg_ca_open(dir, &ca, &d), PG_OK);
  static const char *const hosts[] = {"127.0.0.1"};
  assert_int_equal(issue(ca, "grid-2", PG_ROLE_GRID, hosts, 1, "disk-server"), 0);
  assert_int_equal(issue(ca, "producer-3", PG_ROLE_PRODUCER, NULL, 0, "member"), 0);
  assert_int_equal(pg_tls_trust_open(ca_crt, crl, &trust, &d), PG_OK);
  path_of("disk-server.crt", crt, sizeof crt);
  path_of("disk-server.key", key, sizeof key);
  pg_httpd_opts o = {.handler = handle, .pool_threads = 1, .tls_cert_file = crt,
                     .tls_key_file = key, .trust = trust};
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_OK);

  keepalive k;
  ka_open(&k, dir, pg_httpd_port(h));
  bool fresh = false;
  json_t *j = ka_get(&k, &fresh);
  assert_true(jbool(j, "verified"));
  assert_string_equal(jstr(j, "id"), "producer-3");
  json_decref(j);
  unsigned count = 0;
  assert_int_equal(pg_ca_revoke(ca, "producer-3", &count, &d), PG_OK);
  assert_int_equal(count, 1);
  /* the same connection: the next requests see the revocation once the
   * trust has re-read the CRL (it checks at most once a second) */
  bool revoked = false;
  uint64_t t0 = pg_monotonic_ms();
  while (!revoked && pg_monotonic_ms() - t0 < DEADLINE_MS) {
    j = ka_get(&k, &fresh);
    assert_false(fresh);
    revoked = !jbool(j, "verified");
    if (revoked) assert_string_equal(jstr(j, "why"), "certificate revoked");
    json_decref(j);
    struct timespec ts = {0, 100 * 1000000L};
    if (!revoked) nanosleep(&ts, NULL);
  }
  assert_true(revoked);
  curl_easy_cleanup(k.c);
  pg_httpd_stop(h);
  pg_tls_trust_free(trust);
  pg_ca_close(ca);
}

static void test_start_errors(void **state) {
  pg_httpd *h = NULL;
  pg_diag d = {{0}};
  char crt[128], key[128], missing[128], garbage[128], other_key[128];
  path_of("server.crt", crt, sizeof crt);
  path_of("server.key", key, sizeof key);
  path_of("nothing-here.pem", missing, sizeof missing);
  path_of("garbage.pem", garbage, sizeof garbage);
  path_of("client.key", other_key, sizeof other_key);
  assert_int_equal(write_text("garbage.pem", "-----BEGIN CERTIFICATE-----\nnope\n"), 0);

  pg_httpd_opts o = {.handler = handle, .tls_cert_file = missing, .tls_key_file = key};
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "TLS certificate /tmp/pg-httpd-tls-");
  ASSERT_DIAG(d, "/nothing-here.pem: cannot open");
  o.tls_cert_file = garbage;
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "TLS certificate /tmp/pg-httpd-tls-");
  ASSERT_DIAG(d, "garbage.pem: no PEM certificate");
  o.tls_cert_file = crt;
  o.tls_key_file = crt; /* a certificate is not a key */
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "TLS key /tmp/pg-httpd-tls-");
  ASSERT_DIAG(d, "server.crt: not an unencrypted PEM private key");
  o.tls_key_file = other_key;
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "client.key is not the key of TLS certificate");
  o.tls_key_file = NULL;
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "the key file is missing");
  pg_httpd_opts t = {.handler = handle, .trust = g_trust};
  assert_int_equal(pg_httpd_start(&t, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "a trust for client certificates needs a certificate");
  static const char *const many[17] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
                                       "j", "k", "l", "m", "n", "o", "p", "q"};
  pg_httpd_opts m = {.handler = handle, .hosts = many, .nhosts = 17};
  assert_int_equal(pg_httpd_start(&m, &h, &d), PG_ERR_CONFIG);
  ASSERT_DIAG(d, "at most 16");
  assert_null(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verified_member),
      cmocka_unit_test(test_no_client_cert),
      cmocka_unit_test(test_other_ca_client),
      cmocka_unit_test(test_plain_http_on_tls_port),
      cmocka_unit_test(test_client_refuses_other_ca),
      cmocka_unit_test(test_peer_cert),
      cmocka_unit_test(test_host_check),
      cmocka_unit_test(test_revocation),
      cmocka_unit_test(test_start_errors),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
