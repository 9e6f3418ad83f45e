/* The grid's HTTP surface over mutual TLS beside plain HTTP: registrations
 * per second (each by another member, on a new connection, as members
 * register) and status requests per second (the operator on one keep-alive
 * connection, and on a new connection each time). The plain-HTTP server runs
 * the same handler with the member's identity given in a header, so the
 * difference is what TLS costs (handshake with ECDSA P-256, client
 * certificate verification against the CA and CRL, record encryption).
 * Prints "grid_<what>_<transport>: X unit" lines only.
 * Optional argv[1]: members to register (default 200). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "p2pgrid/base/file.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/grid/grid.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/log.h"

typedef struct bench {
  char dir[64];
  pg_gridop *grid;
  pg_tls_trust *trust;
  size_t n;
  pg_tls_key **keys;
  char **bodies;
  char (*cert_files)[128], (*key_files)[128];
  pg_httpd_peer *peers; /* what TLS would say of each member, for the plain server */
  char ca_file[128], op_cert[128], op_key[128], srv_cert[128], srv_key[128];
  pg_httpd_peer op_peer;
  pg_tls_key *op;
} bench;

static bench B;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const pg_diag *d) {
  fprintf(stderr, "bench_grid_tls: %s: %s\n", what, d ? d->msg : "");
  exit(1);
}

static void write_pem(const char *path, const char *pem) {
  pg_diag d = {{0}};
  if (pg_write_file_atomic(path, pem, strlen(pem), true, true, &d)) die(path, &d);
}

/* A member: key and certificate in memory and on disk (for libcurl). */
static pg_tls_key *issue(pg_ca *ca, const char *id, pg_role role, const char *cert_file,
                         const char *key_file, const char *host) {
  pg_diag d = {{0}};
  const char *hosts[] = {host};
  pg_cert_opts co = {.id = id, .role = role, .hosts = host ? hosts : NULL, .nhosts = host ? 1 : 0};
  char *key = NULL, *cert = NULL;
  pg_tls_key *k = NULL;
  if (pg_ca_issue(ca, &co, &key, &cert, &d) || pg_tls_key_from_pem(key, cert, &k, &d)) die(id, &d);
  write_pem(cert_file, cert);
  write_pem(key_file, key);
  pg_tls_free_secret(key);
  free(cert);
  return k;
}

static pg_httpd_peer peer_of(const pg_tls_key *k) {
  pg_httpd_peer p = {.tls = true, .has_cert = true, .verified = true};
  p.cert_der = pg_tls_key_cert_der(k, &p.cert_len);
  if (pg_member_from_cert(p.cert_der, p.cert_len, &p.member, NULL)) die("member", NULL);
  return p;
}

/* A registration of member i for its own random channel, signed now. */
static char *signed_body(size_t i, const char *id) {
  pg_grid_registration r = {.type = PG_GRID_ENTITY_CONSUMER};
  snprintf(r.name, sizeof r.name, "%s", id);
  for (int j = 0; j < PG_GRID_TRYTES; j++)
    r.channel.root[j] = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(unsigned)rand() % 27];
  snprintf(r.channel.side_key, sizeof r.channel.side_key, "SIDEKEY");
  r.time = pg_clock_now(pg_clock_real());
  pg_buf b;
  pg_buf_init(&b, 4096);
  pg_diag d = {{0}};
  if (pg_grid_binding_bytes(id, &r.channel, r.time, &b, &d) ||
      pg_tls_sign(B.keys[i], b.data, b.len, r.signature.sig, sizeof r.signature.sig,
                  &r.signature.sig_len, &d))
    die("sign", &d);
  pg_buf_reset(&b);
  if (pg_grid_registration_serialize(&r, &b, &d)) die("body", &d);
  pg_buf_put_u8(&b, 0);
  char *s = strdup((const char *)b.data);
  pg_buf_free(&b);
  return s;
}

static void setup(size_t n) {
  pg_diag d = {{0}};
  snprintf(B.dir, sizeof B.dir, "/tmp/p2pgrid-bench-tls-XXXXXX");
  if (!mkdtemp(B.dir)) die("mkdtemp", NULL);
  pg_ca *ca = NULL;
  if (pg_ca_new_ephemeral("bench community", &ca, &d)) die("CA", &d);
  snprintf(B.ca_file, sizeof B.ca_file, "%s/ca.crt", B.dir);
  write_pem(B.ca_file, pg_ca_cert_pem(ca));
  if (pg_tls_trust_open(B.ca_file, NULL, &B.trust, &d)) die("trust", &d);
  snprintf(B.srv_cert, sizeof B.srv_cert, "%s/grid.crt", B.dir);
  snprintf(B.srv_key, sizeof B.srv_key, "%s/grid.key", B.dir);
  pg_tls_key *gk = issue(ca, "grid", PG_ROLE_GRID, B.srv_cert, B.srv_key, "127.0.0.1");
  snprintf(B.op_cert, sizeof B.op_cert, "%s/operator.crt", B.dir);
  snprintf(B.op_key, sizeof B.op_key, "%s/operator.key", B.dir);
  B.op = issue(ca, "operator", PG_ROLE_OPERATOR, B.op_cert, B.op_key, NULL);
  B.op_peer = peer_of(B.op);
  pg_client *c = NULL;
  pg_http_client_opts ho = {.base_url = "http://127.0.0.1:9"}; /* never called */
  if (pg_client_http_new(&ho, &c, &d)) die("client", &d);
  uint8_t seed[32] = {7};
  char gdir[128];
  snprintf(gdir, sizeof gdir, "%s/grid", B.dir);
  pg_entity_opts eo = {.id = "grid", .data_dir = gdir, .client = c, .slot_ms = 900000};
  pg_gridop_opts go = {.mech = PG_MARKET_PAY_AS_CLEAR, .import_price = 300, .export_price = 80,
                       .seed = seed, .seed_len = 32,
                       .limits = {.rate_per_min = 10000, .max_channels = 10}};
  if (pg_gridop_open(&eo, &go, &B.grid, &d)) die("grid", &d);
  B.n = n;
  B.keys = calloc(n, sizeof *B.keys);
  B.bodies = calloc(2 * n, sizeof *B.bodies);
  B.cert_files = calloc(n, sizeof *B.cert_files);
  B.key_files = calloc(n, sizeof *B.key_files);
  B.peers = calloc(n, sizeof *B.peers);
  for (size_t i = 0; i < n; i++) {
    char id[32];
    snprintf(id, sizeof id, "member-%zu", i);
    snprintf(B.cert_files[i], sizeof B.cert_files[i], "%s/%s.crt", B.dir, id);
    snprintf(B.key_files[i], sizeof B.key_files[i], "%s/%s.key", B.dir, id);
    B.keys[i] = issue(ca, id, PG_ROLE_CONSUMER, B.cert_files[i], B.key_files[i], NULL);
    B.peers[i] = peer_of(B.keys[i]);
    size_t len = 0;
    const uint8_t *der = pg_tls_key_cert_der(B.keys[i], &len);
    if (pg_gridop_enrol(B.grid, NULL, der, len, NULL, NULL, &d)) die("enrol", &d);
  }
  pg_tls_key_free(gk);
  pg_ca_close(ca);
  /* the client stays with the grid until exit: the bench ends there */
}

/* The plain server: the member named in X-Bench-Member is who TLS would say. */
static void plain_handler(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  const char *who = pg_httpd_header(req, "X-Bench-Member");
  pg_httpd_req r = *req;
  if (who && strcmp(who, "operator") == 0) r.peer = &B.op_peer;
  else if (who) r.peer = &B.peers[strtoul(who, NULL, 10) % B.n];
  pg_gridop_http(B.grid, NULL, NULL, &r, resp);
}

static void tls_handler(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  pg_gridop_http(B.grid, NULL, NULL, req, resp);
}

static size_t sink(char *p, size_t s, size_t n, void *u) { return s * n; }

/* One request on handle c (reused: keep-alive) or a new one. */
static long request(CURL *c, bool tls, const char *url, const char *method, const char *body,
                    const char *cert, const char *key, const char *member_hdr) {
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
  h = curl_slist_append(h, "Expect:");
  if (member_hdr) h = curl_slist_append(h, member_hdr);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  if (strcmp(method, "GET") == 0) curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  if (tls) {
    curl_easy_setopt(c, CURLOPT_CAINFO, B.ca_file);
    curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, key);
  }
  long status = 0;
  CURLcode cc = curl_easy_perform(c);
  if (cc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  return cc == CURLE_OK ? status : -1;
}

static void run(const char *label, bool tls, uint16_t port, size_t base) {
  char url[128], hdr[64];
  const char *scheme = tls ? "https" : "http";
  double t0 = now();
  size_t ok = 0;
  for (size_t i = 0; i < B.n; i++) {
    snprintf(url, sizeof url, "%s://127.0.0.1:%u/registration/member-%zu", scheme, port, i);
    snprintf(hdr, sizeof hdr, "X-Bench-Member: %zu", i);
    CURL *c = curl_easy_init();
    ok += request(c, tls, url, "PUT", B.bodies[base + i], B.cert_files[i], B.key_files[i],
                  tls ? NULL : hdr) / 100 == 2;
    curl_easy_cleanup(c);
  }
  double t = now() - t0;
  if (ok != B.n) fprintf(stderr, "bench_grid_tls: %s: %zu of %zu registrations accepted\n", label, ok, B.n);
  printf("grid_register_%s: %.0f registrations/s (%zu members, a new connection each)\n", label,
         (double)B.n / t, B.n);
  snprintf(url, sizeof url, "%s://127.0.0.1:%u/api/status", scheme, port);
  const char *op = tls ? NULL : "X-Bench-Member: operator";
  size_t m = 2000;
  CURL *c = curl_easy_init();
  t0 = now();
  for (size_t i = 0; i < m; i++) request(c, tls, url, "GET", NULL, B.op_cert, B.op_key, op);
  t = now() - t0;
  curl_easy_cleanup(c);
  printf("grid_status_%s_keepalive: %.0f requests/s\n", label, (double)m / t);
  m = 300;
  t0 = now();
  for (size_t i = 0; i < m; i++) {
    c = curl_easy_init();
    request(c, tls, url, "GET", NULL, B.op_cert, B.op_key, op);
    curl_easy_cleanup(c);
  }
  t = now() - t0;
  printf("grid_status_%s_newconn: %.0f requests/s\n", label, (double)m / t);
}

int main(int argc, char **argv) {
  size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
  if (n == 0) n = 200;
  pg_log_set_level(PG_LOG_ERROR);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  setup(n);
  for (size_t i = 0; i < 2 * n; i++) {
    char id[32];
    snprintf(id, sizeof id, "member-%zu", i % n);
    B.bodies[i] = signed_body(i % n, id);
  }
  pg_diag d = {{0}};
  pg_httpd *plain = NULL, *tls = NULL;
  pg_httpd_opts po = {.handler = plain_handler, .max_body = 8192, .pool_threads = 2};
  if (pg_httpd_start(&po, &plain, &d)) die("plain server", &d);
  pg_httpd_opts to = {.handler = tls_handler, .max_body = 8192, .pool_threads = 2,
                      .tls_cert_file = B.srv_cert, .tls_key_file = B.srv_key, .trust = B.trust};
  if (pg_httpd_start(&to, &tls, &d)) die("TLS server", &d);
  run("plain", false, pg_httpd_port(plain), 0);
  /* the TLS run registers the same members again, each with a new channel:
   * DELETE the plain run's first so both do the same work */
  for (size_t i = 0; i < n; i++) {
    char path[64];
    unsigned st = 0;
    pg_buf resp;
    pg_buf_init(&resp, 4096);
    snprintf(path, sizeof path, "/registration/member-%zu", i);
    if (pg_gridop_handle(B.grid, &B.peers[i], "DELETE", path, NULL, 0, &st, &resp) || st != 204)
      die("delete", NULL);
    pg_buf_free(&resp);
  }
  run("mtls", true, pg_httpd_port(tls), n);
  pg_httpd_stop(plain);
  pg_httpd_stop(tls);
  pg_gridop_close(B.grid);
  pg_tls_trust_free(B.trust);
  for (size_t i = 0; i < n; i++) pg_tls_key_free(B.keys[i]);
  for (size_t i = 0; i < 2 * n; i++) free(B.bodies[i]);
  pg_tls_key_free(B.op);
  free(B.keys), free(B.bodies), free(B.cert_files), free(B.key_files), free(B.peers);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", B.dir);
  if (system(cmd) != 0) fprintf(stderr, "bench_grid_tls: could not remove %s\n", B.dir);
  return 0;
}
