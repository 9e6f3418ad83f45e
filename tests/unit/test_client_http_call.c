/* Unit tests for pg_http_call (src/client/http_call.c) against a real
 * pg_httpd server in this process (test_client_http_call.cmake links it):
 * methods and bodies, any status is a completed call, the response cap,
 * refused connections, timeouts, bad options, the bearer header, TLS
 * options on http:// (ignored) and TLS failures against a plain server
 * (HTTPS itself: test_httpd_tls.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/client/http_call.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/json.h"

#define DEADLINE_MS 5000

#define ASSERT_DIAG(d, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((d).msg, (needle))) fail_msg("diag '%s' lacks '%s'", (d).msg, (needle));          \
  } while (0)

static atomic_int slow_release;

static void handle(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  if (strcmp(req->path, "/echo") == 0) {
    const char *ct = pg_httpd_header(req, "Content-Type");
    json_t *j = json_pack("{s:s,s:s%,s:s}", "method", req->method, "body",
                          req->body ? (const char *)req->body : "", req->body_len, "ctype",
                          ct ? ct : "");
    pg_httpd_resp_json(resp, strcmp(req->method, "PUT") == 0 ? 201 : 200, j);
  } else if (strcmp(req->path, "/auth") == 0) {
    const char *a = pg_httpd_header(req, "Authorization");
    pg_httpd_resp_json(resp, 200, json_pack("{s:s}", "auth", a ? a : ""));
  } else if (strcmp(req->path, "/gone") == 0) {
    pg_httpd_resp_empty(resp, 204);
  } else if (strcmp(req->path, "/big") == 0) {
    static char big[2000];
    memset(big, 'b', sizeof big);
    pg_httpd_resp_static(resp, 200, "text/plain", big, sizeof big);
  } else if (strcmp(req->path, "/slow") == 0) {
    uint64_t t0 = pg_monotonic_ms();
    while (!atomic_load(&slow_release) && pg_monotonic_ms() - t0 < DEADLINE_MS) {
      struct timespec ts = {0, 5000000};
      nanosleep(&ts, NULL);
    }
    pg_httpd_resp_empty(resp, 204);
  } else {
    pg_httpd_error(resp, 404, NULL, "no such route: %s", req->path);
  }
}

static pg_httpd *g_srv;
static char g_base[64];

static int setup(void **state) {
  pg_diag d;
  pg_httpd_opts o = {.handler = handle, .error_code = pg_httpd_code_named};
  if (pg_httpd_start(&o, &g_srv, &d)) {
    fprintf(stderr, "start: %s\n", d.msg);
    return -1;
  }
  snprintf(g_base, sizeof g_base, "http://127.0.0.1:%u", (unsigned)pg_httpd_port(g_srv));
  return 0;
}

static int teardown(void **state) {
  atomic_store(&slow_release, 1);
  pg_httpd_stop(g_srv);
  return 0;
}

static void url(char *out, size_t cap, const char *path) { snprintf(out, cap, "%s%s", g_base, path); }

static json_t *body_json(const pg_http_result *r) {
  json_t *j = NULL;
  pg_diag d;
  if (pg_json_parse(r->body, r->len, PG_JSON_OBJECT, &j, &d)) fail_msg("body '%s': %s", r->body, d.msg);
  return j;
}

static void test_methods(void **state) {
  char u[128];
  pg_diag d;
  pg_http_result r = {0};
  url(u, sizeof u, "/echo");
  pg_http_call_opts get = {.method = "GET", .url = u};
  assert_int_equal(pg_http_call(&get, &r, &d), PG_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.content_type, "application/json");
  assert_int_equal(r.body[r.len], '\0');
  json_t *j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "method")), "GET");
  assert_string_equal(json_string_value(json_object_get(j, "ctype")), "");
  json_decref(j);
  pg_http_result_free(&r);

  static const char body[] = "{\"a\":1}";
  pg_http_call_opts put = {.method = "PUT", .url = u, .body = body, .body_len = sizeof body - 1};
  assert_int_equal(pg_http_call(&put, &r, &d), PG_OK);
  assert_int_equal(r.status, 201);
  j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "method")), "PUT");
  assert_string_equal(json_string_value(json_object_get(j, "body")), body);
  assert_string_equal(json_string_value(json_object_get(j, "ctype")), "application/json");
  json_decref(j);
  pg_http_result_free(&r);

  pg_http_call_opts post = {.method = "POST", .url = u, .body = "x=1", .body_len = 3,
                            .content_type = "application/x-www-form-urlencoded"};
  assert_int_equal(pg_http_call(&post, &r, &d), PG_OK);
  j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
  assert_string_equal(json_string_value(json_object_get(j, "ctype")),
                      "application/x-www-form-urlencoded");
  json_decref(j);
  pg_http_result_free(&r);

  url(u, sizeof u, "/gone");
  pg_http_call_opts del = {.method = "DELETE", .url = u};
  assert_int_equal(pg_http_call(&del, &r, &d), PG_OK);
  assert_int_equal(r.status, 204);
  assert_int_equal(r.len, 0);
  assert_non_null(r.body);
  assert_string_equal(r.body, "");
  pg_http_result_free(&r);
  pg_http_result_free(&r); /* twice is fine */
  pg_http_result_free(NULL);
}

static void test_status_is_success(void **state) {
  char u[128];
  pg_diag d;
  pg_http_result r = {0};
  url(u, sizeof u, "/nope?x=1");
  pg_http_call_opts o = {.method = "GET", .url = u};
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  assert_int_equal(r.status, 404);
  assert_string_equal(r.body,
                      "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route: /nope\"}}");
  pg_http_result_free(&r);
}

static void test_response_cap(void **state) {
  char u[128];
  pg_diag d;
  pg_http_result r = {0};
  url(u, sizeof u, "/big");
  pg_http_call_opts o = {.method = "GET", .url = u, .max_response = 1000};
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_TOO_LARGE);
  ASSERT_DIAG(d, "GET http://127.0.0.1:");
  ASSERT_DIAG(d, "larger than 1000 bytes");
  assert_null(r.body);
  o.max_response = 2000; /* exactly the body */
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  assert_int_equal(r.len, 2000);
  assert_int_equal(r.body[2000], '\0');
  pg_http_result_free(&r);
}

static void test_transport_failures(void **state) {
  pg_diag d;
  pg_http_result r = {0};
  char u[128], want[160];

  /* refused: a server that has stopped */
  pg_httpd *gone = NULL;
  pg_httpd_opts o = {.handler = handle};
  assert_int_equal(pg_httpd_start(&o, &gone, &d), PG_OK);
  snprintf(u, sizeof u, "http://127.0.0.1:%u/x", (unsigned)pg_httpd_port(gone));
  pg_httpd_stop(gone);
  pg_http_call_opts c = {.method = "DELETE", .url = u};
  assert_int_equal(pg_http_call(&c, &r, &d), PG_ERR_HTTP);
  snprintf(want, sizeof want, "DELETE %s: ", u);
  ASSERT_DIAG(d, want);
  assert_null(r.body);

  /* timeout: the handler blocks until released */
  atomic_store(&slow_release, 0);
  url(u, sizeof u, "/slow");
  pg_http_call_opts t = {.method = "GET", .url = u, .timeout_ms = 200};
  uint64_t t0 = pg_monotonic_ms();
  assert_int_equal(pg_http_call(&t, &r, &d), PG_ERR_TIMEOUT);
  assert_true(pg_monotonic_ms() - t0 < DEADLINE_MS);
  snprintf(want, sizeof want, "GET %s: timed out", u);
  ASSERT_DIAG(d, want);
  atomic_store(&slow_release, 1);
}

static void test_bad_opts(void **state) {
  pg_diag d;
  pg_http_result r = {0};
  pg_http_call_opts none = {.url = "http://127.0.0.1:1/"};
  assert_int_equal(pg_http_call(&none, &r, &d), PG_ERR_INVALID);
  pg_http_call_opts lower = {.method = "get", .url = "http://127.0.0.1:1/"};
  assert_int_equal(pg_http_call(&lower, &r, &d), PG_ERR_INVALID);
  pg_http_call_opts ftp = {.method = "GET", .url = "ftp://127.0.0.1/"};
  assert_int_equal(pg_http_call(&ftp, &r, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "GET ftp://127.0.0.1/: the URL must start with http://");
  pg_http_call_opts space = {.method = "GET", .url = "http://127.0.0.1/a b"};
  assert_int_equal(pg_http_call(&space, &r, &d), PG_ERR_INVALID);
  pg_http_call_opts nourl = {.method = "GET"};
  assert_int_equal(pg_http_call(&nourl, &r, &d), PG_ERR_INVALID);
  assert_int_equal(pg_http_call(NULL, &r, &d), PG_ERR_INVALID);
}

static void test_bearer(void **state) {
  pg_diag d;
  pg_http_result r = {0};
  char u[128];
  url(u, sizeof u, "/auth");
  pg_http_call_opts o = {.method = "POST", .url = u, .bearer = "abc.DEF-123_~+/="};
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  json_t *j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "auth")), "Bearer abc.DEF-123_~+/=");
  json_decref(j);
  pg_http_result_free(&r);
  o.bearer = NULL;
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  j = body_json(&r);
  assert_string_equal(json_string_value(json_object_get(j, "auth")), "");
  json_decref(j);
  pg_http_result_free(&r);
  /* no header injection, no empty token */
  o.bearer = "abc\r\nX-Evil: 1";
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "bearer token holds a space, control or non-ASCII byte");
  o.bearer = "two words";
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_INVALID);
  o.bearer = "";
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_INVALID);
  ASSERT_DIAG(d, "must be 1..1024 bytes");
  assert_null(r.body);
}

static void test_tls_options(void **state) {
  pg_diag d;
  pg_http_result r = {0};
  char u[128];
  /* http:// with TLS files (even missing ones): they are ignored */
  pg_tls_files f = {.ca_file = "/nonexistent/ca.crt", .cert_file = "/nonexistent/me.crt",
                    .key_file = "/nonexistent/me.key", .crl_file = "/nonexistent/crl.pem"};
  url(u, sizeof u, "/echo");
  pg_http_call_opts o = {.method = "GET", .url = u, .tls = &f, .want_peer_cert = true};
  assert_int_equal(pg_http_call(&o, &r, &d), PG_OK);
  assert_int_equal(r.status, 200);
  assert_null(r.peer_der);
  assert_int_equal(r.peer_der_len, 0);
  pg_http_result_free(&r);
  /* https:// to a plain server: the handshake fails, said so */
  snprintf(u, sizeof u, "https://127.0.0.1:%u/echo", (unsigned)pg_httpd_port(g_srv));
  o.tls = NULL;
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "GET https://127.0.0.1:");
  ASSERT_DIAG(d, ": TLS: ");
  assert_null(r.body);
  assert_null(r.peer_der);
  /* a CA file that is not there */
  pg_tls_files ca = {.ca_file = "/nonexistent/ca.crt"};
  o.tls = &ca;
  assert_int_equal(pg_http_call(&o, &r, &d), PG_ERR_HTTP);
  ASSERT_DIAG(d, "TLS: the CA file cannot be used");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_methods),
      cmocka_unit_test(test_status_is_success),
      cmocka_unit_test(test_response_cap),
      cmocka_unit_test(test_transport_failures),
      cmocka_unit_test(test_bad_opts),
      cmocka_unit_test(test_bearer),
      cmocka_unit_test(test_tls_options),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
