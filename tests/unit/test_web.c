/* Unit tests for pg_web (web.h): the embedded asset tables hold both apps,
 * and the serve functions answer their files over a real pg_httpd server
 * (index.html at "/" and "/explorer", 404 for unknown files). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/base/log.h"
#include "p2pgrid/web/web.h"

static void test_tables(void **state) {
  (void)state;
  const char *apps[] = {"dashboard", "explorer"};
  const pg_embed_file *tables[] = {pg_web_dashboard_assets, pg_web_explorer_assets};
  for (int i = 0; i < 2; i++) {
    const pg_embed_file *idx = pg_embed_find(tables[i], "index.html");
    assert_non_null(idx);
    assert_string_equal(idx->content_type, "text/html; charset=utf-8");
    assert_true(idx->len > 100);
    assert_non_null(strstr((const char *)idx->data, "<!doctype html>"));
    const pg_embed_file *js = pg_embed_find(tables[i], "/app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_non_null(pg_embed_find(tables[i], "style.css"));
    assert_null(pg_embed_find(tables[i], "nope.html"));
    (void)apps[i];
    /* no absolute URL to another host: nothing is loaded from the network */
    for (const pg_embed_file *a = tables[i]; a->path; a++) {
      assert_null(strstr((const char *)a->data, "https://"));
      assert_null(strstr((const char *)a->data, "src=\"http"));
    }
  }
  assert_true(pg_web_is_explorer_path("/explorer"));
  assert_true(pg_web_is_explorer_path("/explorer/"));
  assert_true(pg_web_is_explorer_path("/explorer/app.js"));
  assert_false(pg_web_is_explorer_path("/explorerx"));
  assert_false(pg_web_is_explorer_path("/"));
  assert_false(pg_web_is_explorer_path(NULL));
}

static void handler(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
  (void)ctx;
  if (pg_web_is_explorer_path(req->path))
    pg_web_explorer_serve(req->path, resp);
  else
    pg_web_dashboard_serve(req->path, resp);
}

/* One GET over a fresh connection; returns the whole answer (malloc'd). */
static char *get(uint16_t port, const char *path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  char req[256];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", path);
  assert_int_equal(write(fd, req, (size_t)n), n);
  size_t cap = 1 << 20, len = 0;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  ssize_t r;
  while ((r = read(fd, buf + len, cap - len)) > 0) len += (size_t)r;
  buf[len] = '\0';
  close(fd);
  return buf;
}

static void test_serve(void **state) {
  (void)state;
  pg_httpd_opts o = {.port = 0, .handler = handler, .error_code = pg_httpd_code_named};
  pg_httpd *h = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_httpd_start(&o, &h, &d), PG_OK);
  uint16_t port = pg_httpd_port(h);
  struct { const char *path; const char *status; const char *body; } cases[] = {
      {"/", "HTTP/1.1 200", "grid dashboard"},
      {"/index.html", "HTTP/1.1 200", "grid dashboard"},
      {"/app.js", "HTTP/1.1 200", "data-value"},
      {"/style.css", "HTTP/1.1 200", ".panel"},
      {"/nope.js", "HTTP/1.1 404", "not_found"},
      {"/explorer", "HTTP/1.1 200", "Tangle explorer"},
      {"/explorer/", "HTTP/1.1 200", "Tangle explorer"},
      {"/explorer/app.js", "HTTP/1.1 200", "mam/fetch"},
      {"/explorer/nope.js", "HTTP/1.1 404", "not_found"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *a = get(port, cases[i].path);
    if (strncmp(a, cases[i].status, strlen(cases[i].status)) != 0 || !strstr(a, cases[i].body))
      fail_msg("GET %s: want %s with '%s', got: %.200s", cases[i].path, cases[i].status,
               cases[i].body, a);
    free(a);
  }
  pg_httpd_stop(h);
}

/* pg_log_tail: the newest lines, oldest first, cut to fit. */
static void test_log_tail(void **state) {
  (void)state;
  FILE *sink = fopen("/dev/null", "w");
  assert_non_null(sink);
  pg_log_set_output(sink);
  for (int i = 0; i < 300; i++) pg_log_info("webtest", "line %d", i);
  pg_log_set_output(NULL);
  fclose(sink);
  char buf[64 * 1024];
  assert_int_equal(pg_log_tail(buf, sizeof buf, 3), 3);
  const char *a = strstr(buf, "webtest: line 297\n"), *b = strstr(buf, "webtest: line 298\n"),
             *c = strstr(buf, "webtest: line 299\n");
  assert_true(a && b && c && a < b && b < c);
  assert_int_equal(pg_log_tail(buf, sizeof buf, 1000), PG_LOG_TAIL_MAX);
  char small[80];
  size_t n = pg_log_tail(small, sizeof small, 10); /* one line of 49 bytes fits, two do not */
  assert_int_equal(n, 1);
  assert_non_null(strstr(small, "line 299\n"));
  assert_int_equal(pg_log_tail(small, 1, 10), 0);
  assert_string_equal(small, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tables),
      cmocka_unit_test(test_serve),
      cmocka_unit_test(test_log_tail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
