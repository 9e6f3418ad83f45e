/* grid_http.c — the grid's HTTP API and dashboard as one handler, used by
 * the `p2pgrid grid` daemon and by `p2pgrid sim --serve`; and the
 * registration API over HTTP for any entity that serves one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grid_internal.h"
#include "p2pgrid/log.h"
#include "p2pgrid/web.h"

void pg_registration_http(pg_registration_handler h, void *ctx, const pg_httpd_req *req,
                          pg_httpd_resp *resp) {
  unsigned status = 500;
  pg_buf out;
  pg_buf_init(&out, 64 * 1024);
  int rc = h(ctx, req->method, req->path, req->body, req->body_len, &status, &out);
  if (rc)
    pg_httpd_error(resp, 500, NULL, "registration failed");
  else if (out.len)
    pg_httpd_resp_copy(resp, status, "application/json", out.data, out.len);
  else
    pg_httpd_resp_empty(resp, status);
  pg_buf_free(&out);
}

static bool parse_u64(const char *s, uint64_t *v) {
  if (!s || !*s) return false;
  char *end = NULL;
  unsigned long long x = strtoull(s, &end, 10);
  if (*end || s[0] == '-') return false;
  *v = x;
  return true;
}

/* ?from=&to= of a slot route; false after answering 400. */
static bool parse_range(const pg_httpd_req *req, pg_httpd_resp *resp, uint64_t *from,
                        uint64_t *to) {
  const char *f = pg_httpd_query(req, "from"), *t = pg_httpd_query(req, "to");
  if ((f && !parse_u64(f, from)) || (t && !parse_u64(t, to))) {
    pg_httpd_error(resp, 400, NULL, "from and to must be slot numbers (non-negative integers)");
    return false;
  }
  if (*from > *to) {
    pg_httpd_error(resp, 400, NULL, "from (%llu) is after to (%llu)", (unsigned long long)*from,
                   (unsigned long long)*to);
    return false;
  }
  return true;
}

#define PG_WEB_ID_MAX 64
/* "/api/producers/{id}/slots" or "/api/consumers/{id}/slots": the id
 * (1..64 bytes, no '/') into id. */
static bool entity_slots_path(const char *path, char id[PG_WEB_ID_MAX + 1], bool *is_producer) {
  const char *rest;
  if (strncmp(path, "/api/producers/", 15) == 0) {
    rest = path + 15;
    *is_producer = true;
  } else if (strncmp(path, "/api/consumers/", 15) == 0) {
    rest = path + 15;
    *is_producer = false;
  } else {
    return false;
  }
  const char *slash = strchr(rest, '/');
  size_t n = slash ? (size_t)(slash - rest) : 0;
  if (!slash || n == 0 || n > PG_WEB_ID_MAX || strcmp(slash, "/slots") != 0) return false;
  memcpy(id, rest, n);
  id[n] = '\0';
  return true;
}

/* {"lines":[...]}: the newest n lines of this process's log. */
static int log_json(uint64_t n, json_t **out, pg_diag *d) {
  size_t cap = (size_t)PG_LOG_TAIL_MAX * 400 + 1;
  char *buf = malloc(cap);
  json_t *arr = json_array();
  if (!buf || !arr) {
    free(buf);
    json_decref(arr);
    return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  }
  pg_log_tail(buf, cap, (size_t)n);
  for (char *p = buf; *p;) {
    char *nl = strchr(p, '\n');
    size_t l = nl ? (size_t)(nl - p) : strlen(p);
    json_t *s = json_stringn(p, l); /* NULL for invalid UTF-8 */
    if (!s) {
      json_decref(s);
      s = json_string("(unprintable line)");
    }
    json_array_append_new(arr, s);
    p += l + (nl ? 1 : 0);
  }
  free(buf);
  *out = json_pack("{s:o}", "lines", arr);
  return *out ? PG_OK : pg_fail(d, PG_ERR_NOMEM, "out of memory");
}

void pg_gridop_http(pg_gridop *g, const char *node_url, const pg_httpd_req *req,
                    pg_httpd_resp *resp) {
  pg_diag d = {{0}};
  if (strncmp(req->path, "/registration/", 14) == 0) {
    pg_registration_http(pg_gridop_handle, g, req, resp);
    return;
  }
  bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
  bool api = strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/api") == 0;
  if (!get) {
    if (pg_httpd_resp_header(resp, "Allow", "GET, HEAD") != PG_OK) pg_log_debug("http", "no Allow header");
    pg_httpd_error(resp, 405, NULL, "%s is read-only: use GET", req->path);
    return;
  }
  if (!api) {
    pg_web_dashboard_serve(req->path, resp); /* the dashboard (web/dashboard) */
    return;
  }
  json_t *j = NULL;
  int rc = PG_OK;
  char id[PG_WEB_ID_MAX + 1];
  bool is_producer = false;
  uint64_t from = 0, to = UINT64_MAX;
  if (strcmp(req->path, "/api/status") == 0) {
    rc = pg_gridop_status(g, &j, &d);
  } else if (strcmp(req->path, "/api/producers") == 0) {
    rc = pg_gridop_producers(g, &j, &d);
  } else if (strcmp(req->path, "/api/consumers") == 0) {
    rc = pg_gridop_consumers(g, &j, &d);
  } else if (strcmp(req->path, "/api/slots") == 0) {
    if (!parse_range(req, resp, &from, &to)) return;
    rc = pg_gridop_slots(g, from, to, &j, &d);
  } else if (entity_slots_path(req->path, id, &is_producer)) {
    if (!parse_range(req, resp, &from, &to)) return;
    rc = is_producer ? pg_gridop_producer_slots(g, id, from, to, &j, &d)
                     : pg_gridop_consumer_slots(g, id, from, to, &j, &d);
  } else if (strcmp(req->path, "/api/config") == 0) {
    j = json_pack("{s:s?}", "nodeUrl", node_url);
    rc = j ? PG_OK : pg_fail(&d, PG_ERR_NOMEM, "out of memory");
  } else if (strcmp(req->path, "/api/log") == 0) {
    uint64_t n = 50;
    const char *ls = pg_httpd_query(req, "lines");
    if (ls && (!parse_u64(ls, &n) || n == 0 || n > PG_LOG_TAIL_MAX)) {
      pg_httpd_error(resp, 400, NULL, "lines must be 1..%d", PG_LOG_TAIL_MAX);
      return;
    }
    rc = log_json(n, &j, &d);
  } else {
    pg_httpd_error(resp, 404, NULL, "no such path: %s", req->path);
    return;
  }
  if (rc)
    pg_httpd_error(resp, 500, NULL, "%s", d.msg);
  else
    pg_httpd_resp_json(resp, 200, j);
}
