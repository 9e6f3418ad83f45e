/* Unit tests for the generic HTTP server (src/httpd) with plain libcurl:
 * methods and bodies, the body cap (413, announced and chunked), query and
 * header lookup, both error envelopes, headers and CORS, embedded assets
 * (tests/unit/assets_fixture, see test_httpd.cmake), a blocking handler
 * that must not hold up another connection, and answers given later
 * (pg_httpd_defer) that hold no thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/httpd/httpd.h"
#include "p2pgrid/base/json.h"

PG_EMBEDDED(fixture_assets);

#define MAX_BODY 1024
#define DEADLINE_MS 5000

/* ---- the handler ---- */

static atomic_int slow_in, slow_done, slow_release;
static atomic_int header_rc = 1;

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* Deferred answers of "/later", waiting for the test to give them. */
static pthread_mutex_t later_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int later_twice;
static pg_httpd_later *later_q[16];
static size_t later_n;

static void later_push(pg_httpd_later *l) {
  pthread_mutex_lock(&later_mu);
  if (later_n < 16) later_q[later_n++] = l;
  pthread_mutex_unlock(&later_mu);
}

static size_t later_count(void) {
  pthread_mutex_lock(&later_mu);
  size_t n = later_n;
  pthread_mutex_unlock(&later_mu);
  return n;
}

/* Waits until n answers are deferred. */
static void later_wait(size_t n) {
  uint64_t t0 = pg_monotonic_ms();
  while (later_count() < n && pg_monotonic_ms() - t0 < DEADLINE_MS) sleep_ms(2);
  assert_int_equal(later_count(), n);
}

/* Answers the oldest deferred request with status and body. */
static void later_give(unsigned status, const char *body) {
  pthread_mutex_lock(&later_mu);
  assert_true(later_n > 0);
  pg_httpd_later *l = later_q[0];
  memmove(later_q, later_q + 1, --later_n * sizeof *later_q);
  pthread_mutex_unlock(&later_mu);
  pg_httpd_resp *r = pg_httpd_later_resp(l);
  pg_httpd_resp_copy(r, status, "text/plain", body, strlen(body));
  assert_int_equal(pg_httpd_resp_header(r, "X-Later", "yes"), PG_OK);
  pg_httpd_later_done(l);
}

static void handle_later(const pg_httpd_req *req, pg_httpd_resp *resp) {
  pg_httpd_later *l = pg_httpd_defer(resp);
  if (!l) { /* a thread-per-connection server cannot: answered now */
    pg_httpd_resp_copy(resp, 200, "text/plain", "now", 3);
    return;
  }
  if (pg_httpd_defer(resp)) atomic_store(&later_twice, 1); /* once only */
  pg_httpd_resp_copy(resp, 500, "text/plain", "ignored", 7); /* the handle answers */
  if (strcmp(req->path, "/later-now") == 0) { /* done before the handler returns */
    pg_httpd_resp_copy(pg_httpd_later_resp(l), 202, "text/plain", "done early", 10);
    pg_httpd_later_done(l);
  } else {
    later_push(l);
  }
}

static void handle(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  const char *p = req->path;
  if (strncmp(p, "/assets", 7) == 0 && (p[7] == '\0' || p[7] == '/')) {
    (void)pg_httpd_serve_asset(fixture_assets, p + 7, resp);
    return;
  }
  if (strcmp(req->method, "OPTIONS") == 0) {
    pg_httpd_resp_empty(resp, 204);
    return;
  }
  if (strcmp(p, "/echo") == 0) {
    if (strcmp(req->method, "DELETE") == 0) {
      pg_httpd_resp_empty(resp, 204);
      return;
    }
    json_t *j = json_object();
    (void)json_object_set_new(j, "method", json_string(req->method));
    (void)json_object_set_new(j, "len", json_integer((json_int_t)req->body_len));
    (void)json_object_set_new(j, "body", req->body ? json_stringn((const char *)req->body,
                                                                  req->body_len)
                                                   : json_null());
    (void)json_object_set_new(j, "nul", json_boolean(!req->body || req->body[req->body_len] == 0));
    (void)json_object_set_new(j, "from", str_or_null(pg_httpd_query(req, "from")));
    (void)json_object_set_new(j, "to", str_or_null(pg_httpd_query(req, "to")));
    (void)json_object_set_new(j, "flag", str_or_null(pg_httpd_query(req, "flag")));
    (void)json_object_set_new(j, "absent", str_or_null(pg_httpd_query(req, "absent")));
    (void)json_object_set_new(j, "flag_value", str_or_null(pg_httpd_query_value(req, "flag")));
    (void)json_object_set_new(j, "to_value", str_or_null(pg_httpd_query_value(req, "to")));
    (void)json_object_set_new(j, "empty_value", str_or_null(pg_httpd_query_value(req, "empty")));
    (void)json_object_set_new(j, "xtest", str_or_null(pg_httpd_header(req, "x-TEST")));
    pg_httpd_resp_json(resp, strcmp(req->method, "PUT") == 0 ? 201 : 200, j);
    return;
  }
  if (strcmp(p, "/slow") == 0) {
    atomic_store(&slow_in, 1);
    uint64_t t0 = pg_monotonic_ms();
    while (!atomic_load(&slow_release) && pg_monotonic_ms() - t0 < DEADLINE_MS) sleep_ms(5);
    atomic_store(&slow_done, 1);
    pg_httpd_resp_copy(resp, 200, "text/plain", "slow", 4);
    return;
  }
  if (strcmp(p, "/later") == 0 || strcmp(p, "/later-now") == 0) {
    handle_later(req, resp);
    return;
  }
  if (strcmp(p, "/bin") == 0) {
    static const unsigned char bin[] = {0, 1, 2, 0xff, 0};
    pg_httpd_resp_copy(resp, 200, NULL, bin, sizeof bin);
    return;
  }
  if (strcmp(p, "/headers") == 0) {
    pg_httpd_resp_copy(resp, 201, "text/plain; charset=utf-8", "made", 4);
    int rc = pg_httpd_resp_header(resp, "Location", "/things/1");
    if (!rc) rc = pg_httpd_resp_header(resp, "Cache-Control", "max-age=60");
    if (!rc) rc = pg_httpd_resp_header(resp, "content-type", "text/x-override");
    /* refused: header injection, no name */
    if (!rc) rc = pg_httpd_resp_header(resp, "X-Bad", "a\r\nSet-Cookie: x") == PG_ERR_INVALID
                      ? PG_OK
                      : PG_ERR_STATE;
    if (!rc) rc = pg_httpd_resp_header(resp, "", "x") == PG_ERR_INVALID ? PG_OK : PG_ERR_STATE;
    atomic_store(&header_rc, rc);
    return;
  }
  if (strcmp(p, "/err") == 0) {
    pg_httpd_error(resp, 400, NULL, "bad thing: %d\n\xc3\xa9", 7);
    return;
  }
  if (strcmp(p, "/err-code") == 0) {
    pg_httpd_error(resp, 409, "already_there", "id %s is taken", "x1");
    return;
  }
  if (strcmp(p, "/json-null") == 0) {
    pg_httpd_resp_json(resp, 200, NULL);
    return;
  }
  if (strcmp(p, "/none") == 0) return; /* no answer: 500 */
  pg_httpd_error(resp, 404, NULL, "no such route: %s", p);
}

/* ---- servers: TIP-13 style with CORS and a pool; named codes, a thread
 * per connection ---- */

static pg_httpd *g_tip13, *g_named;
static char g_base13[64], g_basen[64];

static int group_setup(void **state) {
  pg_diag d;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  pg_httpd_opts o = {.max_body = MAX_BODY, .handler = handle, .cors = true, .pool_threads = 2,
                     .limit_name = "test.max_body"};
  if (pg_httpd_start(&o, &g_tip13, &d)) {
    fprintf(stderr, "start: %s\n", d.msg);
    return -1;
  }
  pg_httpd_opts on = {.max_body = MAX_BODY, .handler = handle,
                      .error_code = pg_httpd_code_named};
  if (pg_httpd_start(&on, &g_named, &d)) {
    fprintf(stderr, "start: %s\n", d.msg);
    return -1;
  }
  snprintf(g_base13, sizeof g_base13, "http://127.0.0.1:%u", (unsigned)pg_httpd_port(g_tip13));
  snprintf(g_basen, sizeof g_basen, "http://127.0.0.1:%u", (unsigned)pg_httpd_port(g_named));
  return 0;
}

static int group_teardown(void **state) {
  pg_httpd_stop(g_tip13);
  pg_httpd_stop(g_named);
  curl_global_cleanup();
  return 0;
}

/* ---- a libcurl request ---- */

typedef struct answer {
  long status;
  char body[8192];
  size_t len;
  char headers[4096];
  size_t hlen;
} answer;

/* Appends to a NUL-terminated text of capacity cap; 0 (abort) when full. */
static size_t append(char *text, size_t *len, size_t cap, const char *p, size_t k) {
  if (*len + k >= cap) return 0;
  memcpy(text + *len, p, k);
  *len += k;
  text[*len] = '\0';
  return k;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  answer *a = ud;
  return append(a->body, &a->len, sizeof a->body, p, sz * n);
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  answer *a = ud;
  return append(a->headers, &a->hlen, sizeof a->headers, p, sz * n);
}

/* Value of header name in a (copied into out), or NULL. */
static const char *header(const answer *a, const char *name, char *out, size_t cap) {
  size_t nl = strlen(name);
  for (const char *l = a->headers; *l;) {
    const char *e = strstr(l, "\r\n");
    if (!e) break;
    if ((size_t)(e - l) > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
      const char *v = l + nl + 1;
      while (*v == ' ') v++;
      snprintf(out, cap, "%.*s", (int)(e - v), v);
      return out;
    }
    l = e + 2;
  }
  return NULL;
}

typedef struct chunked_src {
  size_t left;
} chunked_src;

static size_t on_read(char *p, size_t sz, size_t n, void *ud) {
  chunked_src *s = ud;
  size_t k = sz * n < s->left ? sz * n : s->left;
  memset(p, 'z', k);
  s->left -= k;
  return k;
}

/* One request. hdr: extra request header lines (NULL-terminated list or NULL).
 * chunked > 0 sends that many bytes chunked instead of body. */
static void request(const char *base, const char *method, const char *path, const char *body,
                    size_t body_len, const char *const *hdr, size_t chunked, answer *a) {
  memset(a, 0, sizeof *a);
  char url[512];
  snprintf(url, sizeof url, "%s%s", base, path);
  CURL *c = curl_easy_init();
  assert_non_null(c);
  struct curl_slist *h = curl_slist_append(NULL, "Expect:");
  for (size_t i = 0; hdr && hdr[i]; i++) h = curl_slist_append(h, hdr[i]);
  chunked_src src = {chunked};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)DEADLINE_MS);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, a);
  if (chunked) {
    h = curl_slist_append(h, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &src);
  } else if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  CURLcode cc = curl_easy_perform(c);
  if (cc != CURLE_OK) fail_msg("%s %s: %s", method, url, curl_easy_strerror(cc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
}

static json_t *body_json(const answer *a) {
  json_t *j = NULL;
  pg_diag d;
  if (pg_json_parse(a->body, a->len, PG_JSON_OBJECT, &j, &d)) fail_msg("body '%s': %s", a->body, d.msg);
  return j;
}

static void assert_field(const json_t *j, const char *key, const char *want) {
  json_t *v = json_object_get(j, key);
  if (!want) {
    if (!json_is_null(v)) fail_msg("%s: expected null", key);
    return;
  }
  if (!json_is_string(v)) fail_msg("%s: expected \"%s\", got %s", key, want, pg_json_type_name(v));
  assert_string_equal(json_string_value(v), want);
}

static size_t discard(char *p, size_t size, size_t n, void *u) {
  (void)p, (void)u;
  return size * n;
}

/* ---- tests ---- */

static void test_get_put_delete(void **state) {
  answer a;
  char v[256];
  const char *const hx[] = {"X-Test: hello", NULL};
  request(g_base13, "GET", "/echo", NULL, 0, hx, 0, &a);
  assert_int_equal(a.status, 200);
  assert_non_null(header(&a, "Content-Type", v, sizeof v));
  assert_string_equal(v, "application/json");
  assert_non_null(header(&a, "Cache-Control", v, sizeof v));
  assert_string_equal(v, "no-store");
  assert_non_null(header(&a, "Access-Control-Allow-Origin", v, sizeof v));
  assert_string_equal(v, "*");
  json_t *j = body_json(&a);
  assert_field(j, "method", "GET");
  assert_field(j, "body", NULL);
  assert_field(j, "xtest", "hello");
  json_decref(j);

  /* the named server has no CORS */
  request(g_basen, "GET", "/echo", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 200);
  assert_null(header(&a, "Access-Control-Allow-Origin", v, sizeof v));

  static const char put[] = "{\"hello\":\"world\"}";
  request(g_basen, "PUT", "/echo", put, sizeof put - 1, NULL, 0, &a);
  assert_int_equal(a.status, 201);
  j = body_json(&a);
  assert_field(j, "method", "PUT");
  assert_field(j, "body", put);
  assert_true(json_is_true(json_object_get(j, "nul")));
  json_decref(j);

  /* a body of exactly max_body is accepted */
  static char full[MAX_BODY + 1];
  memset(full, 'a', MAX_BODY);
  request(g_base13, "POST", "/echo", full, MAX_BODY, NULL, 0, &a);
  assert_int_equal(a.status, 200);
  j = body_json(&a);
  assert_int_equal(json_integer_value(json_object_get(j, "len")), MAX_BODY);
  json_decref(j);

  request(g_base13, "DELETE", "/echo", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 204);
  assert_int_equal(a.len, 0);
  assert_null(header(&a, "Content-Type", v, sizeof v));

  request(g_base13, "HEAD", "/echo", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 200);
  assert_int_equal(a.len, 0);
  assert_non_null(header(&a, "Content-Type", v, sizeof v));
}

static void test_too_large(void **state) {
  static char big[5000];
  memset(big, 'x', sizeof big);
  answer a;
  request(g_base13, "PUT", "/echo", big, sizeof big, NULL, 0, &a);
  assert_int_equal(a.status, 413);
  assert_string_equal(a.body, "{\"error\":{\"code\":\"413\",\"message\":\"request body of 5000 "
                              "bytes exceeds the limit of 1024 bytes (test.max_body)\"}}");
  request(g_basen, "PUT", "/echo", big, sizeof big, NULL, 0, &a);
  assert_int_equal(a.status, 413);
  assert_non_null(strstr(a.body, "\"code\":\"too_large\""));
  /* no Content-Length: read, found too long, drained, answered */
  request(g_basen, "POST", "/echo", NULL, 0, NULL, 3000, &a);
  assert_int_equal(a.status, 413);
  assert_non_null(strstr(a.body, "or more exceeds the limit of 1024 bytes\""));
  /* the server still answers afterwards */
  request(g_basen, "GET", "/echo", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 200);
}

static void test_query(void **state) {
  answer a;
  request(g_base13, "GET", "/echo?from=a%20b%2Fc%26d&to=x+y&flag&from=second&empty=", NULL, 0,
          NULL, 0, &a);
  assert_int_equal(a.status, 200);
  json_t *j = body_json(&a);
  assert_field(j, "from", "a b/c&d");
  assert_field(j, "to", "x y");
  assert_field(j, "flag", "");
  assert_field(j, "absent", NULL);
  /* pg_httpd_query_value: a key without '=' is absent, "key=" is "" */
  assert_field(j, "flag_value", NULL);
  assert_field(j, "to_value", "x y");
  assert_field(j, "empty_value", "");
  json_decref(j);
  /* the path comes without the query */
  request(g_base13, "GET", "/nope?from=1", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 404);
  assert_string_equal(a.body, "{\"error\":{\"code\":\"404\",\"message\":\"no such route: /nope\"}}");
}

static void test_errors(void **state) {
  answer a;
  char v[128];
  request(g_basen, "GET", "/nope", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 404);
  assert_string_equal(a.body,
                      "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route: /nope\"}}");
  assert_non_null(header(&a, "Content-Type", v, sizeof v));
  assert_string_equal(v, "application/json");

  /* control and non-ASCII bytes become '?' */
  request(g_base13, "GET", "/err", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 400);
  assert_string_equal(a.body, "{\"error\":{\"code\":\"400\",\"message\":\"bad thing: 7???\"}}");
  request(g_basen, "GET", "/err", NULL, 0, NULL, 0, &a);
  assert_string_equal(a.body,
                      "{\"error\":{\"code\":\"invalid\",\"message\":\"bad thing: 7???\"}}");

  /* an explicit code wins in both styles */
  request(g_base13, "GET", "/err-code", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 409);
  assert_string_equal(a.body,
                      "{\"error\":{\"code\":\"already_there\",\"message\":\"id x1 is taken\"}}");

  request(g_basen, "GET", "/json-null", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 500);
  assert_string_equal(a.body, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
  request(g_base13, "GET", "/none", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 500);
  assert_non_null(strstr(a.body, "\"code\":\"500\""));

  /* the ready-made code names */
  char b[16];
  assert_string_equal(pg_httpd_code_status(503, b, sizeof b), "503");
  static const struct {
    unsigned s;
    const char *c;
  } named[] = {{400, "invalid"}, {403, "forbidden"}, {404, "not_found"},
               {405, "method_not_allowed"}, {409, "conflict"}, {413, "too_large"},
               {500, "internal"}, {502, "internal"}};
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
    assert_string_equal(pg_httpd_code_named(named[i].s, b, sizeof b), named[i].c);
}

static void test_headers_cors(void **state) {
  answer a;
  char v[128];
  request(g_base13, "GET", "/headers", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 201);
  assert_int_equal(atomic_load(&header_rc), PG_OK);
  assert_string_equal(a.body, "made");
  assert_string_equal(header(&a, "Location", v, sizeof v), "/things/1");
  assert_string_equal(header(&a, "Cache-Control", v, sizeof v), "max-age=60");
  assert_string_equal(header(&a, "Content-Type", v, sizeof v), "text/x-override");
  assert_null(header(&a, "X-Bad", v, sizeof v));
  assert_null(header(&a, "Set-Cookie", v, sizeof v));

  request(g_base13, "GET", "/bin", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.len, 5);
  assert_memory_equal(a.body, "\0\1\2\xff\0", 5);
  assert_string_equal(header(&a, "Content-Type", v, sizeof v), "application/octet-stream");

  const char *const pre[] = {"Origin: http://example.org", "Access-Control-Request-Method: POST",
                             NULL};
  request(g_base13, "OPTIONS", "/echo", NULL, 0, pre, 0, &a);
  assert_int_equal(a.status, 204);
  assert_string_equal(header(&a, "Access-Control-Allow-Origin", v, sizeof v), "*");
  assert_string_equal(header(&a, "Access-Control-Allow-Methods", v, sizeof v),
                      "GET, POST, OPTIONS");
  assert_string_equal(header(&a, "Access-Control-Max-Age", v, sizeof v), "86400");
  request(g_basen, "OPTIONS", "/echo", NULL, 0, pre, 0, &a);
  assert_int_equal(a.status, 204);
  assert_null(header(&a, "Access-Control-Allow-Methods", v, sizeof v));
}

/* The file as it is on disk. */
static size_t read_fixture(const char *name, char *out, size_t cap) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/unit/assets_fixture/%s", PG_SOURCE_DIR, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  size_t n = fread(out, 1, cap, f);
  fclose(f);
  return n;
}

static void expect_asset(const char *path, const char *file, const char *ctype) {
  answer a;
  char v[128];
  char want[4096];
  size_t n = read_fixture(file, want, sizeof want);
  request(g_basen, "GET", path, NULL, 0, NULL, 0, &a);
  if (a.status != 200) fail_msg("GET %s: %ld %s", path, a.status, a.body);
  assert_int_equal(a.len, n);
  assert_memory_equal(a.body, want, n);
  assert_string_equal(header(&a, "Content-Type", v, sizeof v), ctype);
  assert_string_equal(header(&a, "Cache-Control", v, sizeof v), "no-cache");
  assert_non_null(header(&a, "ETag", v, sizeof v));
}

static void test_assets(void **state) {
  const char *html = "text/html; charset=utf-8";
  expect_asset("/assets", "index.html", html);
  expect_asset("/assets/", "index.html", html);
  expect_asset("/assets/index.html", "index.html", html);
  expect_asset("/assets/sub", "sub/index.html", html);
  expect_asset("/assets/sub/", "sub/index.html", html);
  expect_asset("/assets/sub/data.json", "sub/data.json", "application/json");
  expect_asset("/assets/app.js", "app.js", "text/javascript; charset=utf-8");
  expect_asset("/assets/style.css", "style.css", "text/css; charset=utf-8");
  expect_asset("/assets/logo.png", "logo.png", "image/png");
  expect_asset("/assets/empty.txt", "empty.txt", "text/plain; charset=utf-8");

  answer a;
  char etag[64], v[64];
  request(g_basen, "GET", "/assets/missing.js", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 404);
  assert_string_equal(a.body,
                      "{\"error\":{\"code\":\"not_found\",\"message\":\"no such file: /missing.js\"}}");
  request(g_basen, "GET", "/assets/.hidden", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 404);
  request(g_basen, "GET", "/assets/su", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 404);

  /* revalidation */
  request(g_basen, "GET", "/assets/app.js", NULL, 0, NULL, 0, &a);
  assert_non_null(header(&a, "ETag", etag, sizeof etag));
  char inm[96];
  snprintf(inm, sizeof inm, "If-None-Match: \"other\", %s", etag);
  const char *const h[] = {inm, NULL};
  request(g_basen, "GET", "/assets/app.js", NULL, 0, h, 0, &a);
  assert_int_equal(a.status, 304);
  assert_int_equal(a.len, 0);
  assert_string_equal(header(&a, "ETag", v, sizeof v), etag);
  const char *const h2[] = {"If-None-Match: \"0000\"", NULL};
  request(g_basen, "GET", "/assets/app.js", NULL, 0, h2, 0, &a);
  assert_int_equal(a.status, 200);

  /* the table itself */
  assert_non_null(pg_embed_find(fixture_assets, "/sub/data.json"));
  assert_null(pg_embed_find(fixture_assets, ".hidden"));
  size_t count = 0;
  for (const pg_embed_file *x = fixture_assets; x->path; x++) count++;
  assert_int_equal(count, 7);
  const pg_embed_file *png = pg_embed_find(fixture_assets, "logo.png");
  assert_int_equal(png->len, 20);
  assert_int_equal(png->data[png->len], 0);
}

typedef struct slow_call {
  const char *base;
  answer a;
} slow_call;

static void *slow_thread(void *arg) {
  slow_call *s = arg;
  request(s->base, "GET", "/slow", NULL, 0, NULL, 0, &s->a);
  return NULL;
}

/* A handler blocked in one connection does not hold up another. */
static void blocking_handler(const char *base) {
  atomic_store(&slow_in, 0);
  atomic_store(&slow_done, 0);
  atomic_store(&slow_release, 0);
  slow_call s = {.base = base};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, slow_thread, &s), 0);
  uint64_t t0 = pg_monotonic_ms();
  while (!atomic_load(&slow_in) && pg_monotonic_ms() - t0 < DEADLINE_MS) sleep_ms(2);
  assert_true(atomic_load(&slow_in));
  answer a;
  request(base, "GET", "/echo", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 200);
  assert_false(atomic_load(&slow_done)); /* answered while /slow still blocks */
  atomic_store(&slow_release, 1);
  pthread_join(t, NULL);
  assert_int_equal(s.a.status, 200);
  assert_string_equal(s.a.body, "slow");
}

static void test_blocking_handler(void **state) {
  blocking_handler(g_basen);  /* a thread per connection */
  blocking_handler(g_base13); /* a pool of 2 */
}

typedef struct later_call {
  const char *base;
  const char *path;
  answer a;
  bool tolerant; /* the server may stop before answering */
  CURLcode cc;
} later_call;

static void *later_thread(void *arg) {
  later_call *c = arg;
  if (!c->tolerant) {
    request(c->base, "GET", c->path, NULL, 0, NULL, 0, &c->a);
    return NULL;
  }
  char url[512];
  snprintf(url, sizeof url, "%s%s", c->base, c->path);
  CURL *h = curl_easy_init();
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)DEADLINE_MS);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  c->cc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  return NULL;
}

static pg_httpd *start_pool1(char *base, size_t cap) {
  pg_diag d;
  pg_httpd *h = NULL;
  pg_httpd_opts o = {.handler = handle, .pool_threads = 1};
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_OK);
  snprintf(base, cap, "http://127.0.0.1:%u", (unsigned)pg_httpd_port(h));
  return h;
}

/* A deferred answer holds no thread: with a pool of ONE, other connections
 * are served while two requests wait; each gets the answer given later
 * (status, body, header), in the order given; one done inside the handler
 * is sent at once; a thread-per-connection server answers now. */
static void test_answer_later(void **state) {
  char base[64];
  pg_httpd *h = start_pool1(base, sizeof base);
  later_call c1 = {.base = base, .path = "/later"}, c2 = {.base = base, .path = "/later"};
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, later_thread, &c1), 0);
  later_wait(1);
  assert_int_equal(pthread_create(&t2, NULL, later_thread, &c2), 0);
  later_wait(2);
  answer a;
  request(base, "GET", "/echo", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 200);
  request(base, "GET", "/later-now", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 202);
  assert_string_equal(a.body, "done early");
  later_give(201, "first");
  later_give(409, "second");
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  char v[32];
  assert_int_equal(c1.a.status, 201);
  assert_string_equal(c1.a.body, "first");
  assert_string_equal(header(&c1.a, "X-Later", v, sizeof v), "yes");
  assert_int_equal(c2.a.status, 409);
  assert_string_equal(c2.a.body, "second");
  assert_false(atomic_load(&later_twice));
  pg_httpd_stats st;
  pg_httpd_get_stats(h, &st);
  assert_int_equal(st.requests, 4);
  pg_httpd_stop(h);
  request(g_basen, "GET", "/later", NULL, 0, NULL, 0, &a);
  assert_int_equal(a.status, 200);
  assert_string_equal(a.body, "now");
}

static atomic_int stop_returned;

static void *stop_thread(void *arg) {
  pg_httpd_stop(arg);
  atomic_store(&stop_returned, 1);
  return NULL;
}

/* pg_httpd_stop waits for a deferred answer (libmicrohttpd must not stop
 * with a connection suspended) and returns once it is done. */
static void test_stop_waits_for_later(void **state) {
  char base[64];
  pg_httpd *h = start_pool1(base, sizeof base);
  later_call c = {.base = base, .path = "/later", .tolerant = true};
  pthread_t tc, ts;
  assert_int_equal(pthread_create(&tc, NULL, later_thread, &c), 0);
  later_wait(1);
  atomic_store(&stop_returned, 0);
  assert_int_equal(pthread_create(&ts, NULL, stop_thread, h), 0);
  sleep_ms(200);
  assert_false(atomic_load(&stop_returned));
  later_give(200, "bye");
  pthread_join(ts, NULL);
  assert_true(atomic_load(&stop_returned));
  pthread_join(tc, NULL);
}

/* One client address holds at most per_ip_connections: a stranger cannot
 * take every connection of a server by opening many idle ones. */
static void test_per_ip_limit(void **state) {
  pg_diag d;
  pg_httpd *h = NULL;
  pg_httpd_opts o = {.handler = handle, .per_ip_connections = 2};
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_OK);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", (unsigned)pg_httpd_port(h));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(pg_httpd_port(h))};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  int fds[2];
  for (int i = 0; i < 2; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fds[i] >= 0);
    assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof sa), 0);
  }
  /* the server has taken both idle connections once a third is refused */
  CURLcode cc = CURLE_OK;
  uint64_t deadline = pg_monotonic_ms() + 10000;
  do {
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
  } while (cc == CURLE_OK && pg_monotonic_ms() < deadline);
  assert_int_not_equal(cc, CURLE_OK);
  close(fds[0]);
  close(fds[1]);
  /* with the idle ones gone the client is served again */
  deadline = pg_monotonic_ms() + 10000;
  do {
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cc = curl_easy_perform(c);
    curl_easy_cleanup(c);
  } while (cc != CURLE_OK && pg_monotonic_ms() < deadline);
  assert_int_equal(cc, CURLE_OK);
  pg_httpd_stop(h);
}

static void test_start_errors(void **state) {
  pg_diag d;
  pg_httpd *h = NULL;
  pg_httpd_opts o = {.handler = handle, .bind = "localhost"};
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_ERR_CONFIG);
  assert_non_null(strstr(d.msg, "'localhost' is not an IPv4 or IPv6 address"));
  pg_httpd_opts none = {0};
  assert_int_equal(pg_httpd_start(&none, &h, &d), PG_ERR_INVALID);
  pg_httpd_opts busy = {.handler = handle, .port = pg_httpd_port(g_named)};
  assert_int_equal(pg_httpd_start(&busy, &h, &d), PG_ERR_IO);
  assert_null(h);
  pg_httpd_opts v6 = {.handler = handle, .bind = "::1"};
  if (pg_httpd_start(&v6, &h, &d) == PG_OK) { /* hosts without IPv6 skip this */
    assert_true(pg_httpd_port(h) > 0);
    pg_httpd_stop(h);
  }
  pg_httpd_stop(NULL);
  assert_int_equal(pg_httpd_port(NULL), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_put_delete), cmocka_unit_test(test_too_large),
      cmocka_unit_test(test_query),          cmocka_unit_test(test_errors),
      cmocka_unit_test(test_headers_cors),   cmocka_unit_test(test_assets),
      cmocka_unit_test(test_blocking_handler), cmocka_unit_test(test_start_errors),
      cmocka_unit_test(test_per_ip_limit), cmocka_unit_test(test_answer_later),
      cmocka_unit_test(test_stop_waits_for_later),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
