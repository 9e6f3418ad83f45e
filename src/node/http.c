/* http.c — the node's REST API on the generic server (httpd.h): a thread
 * pool, keep-alive, capped request bodies, CORS, TIP-13 envelopes
 * ({"data":...} and {"error":{"code":"<status>",...}}). Routing lives in api.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node_internal.h"
#include "p2pgrid/httpd.h"
#include "p2pgrid/log.h"
#include "p2pgrid/web.h"

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

static void on_api(void *ctx, const pg_httpd_req *hreq, pg_httpd_resp *out) {
  pg_node *n = ctx;
  if (pg_web_is_explorer_path(hreq->path) &&
      (strcmp(hreq->method, "GET") == 0 || strcmp(hreq->method, "HEAD") == 0)) {
    pg_web_explorer_serve(hreq->path, out); /* the Tangle explorer (web/explorer) */
    return;
  }
  pg_http_req req = {
      .conn = hreq->conn,
      .method = hreq->method,
      .url = hreq->path,
      .body = hreq->body,
      .body_len = hreq->body_len,
  };
  pg_http_resp resp = {0};
  pg_node_api_dispatch(n, &req, &resp);
  answer(&resp, out); /* takes resp's data and raw */
}

int pg_node_http_start(pg_node *n, const pg_node_config *c, pg_diag *d) {
  pg_httpd_opts o = {
      .bind = c->bind,
      .port = c->port,
      .max_body = n->max_body,
      .handler = on_api,
      .ctx = n,
      .error_code = pg_httpd_code_status,
      .cors = true,
      .pool_threads = c->workers ? c->workers : 1,
      .max_connections = c->max_connections,
      .connection_timeout_s = c->connection_timeout_s,
      .log_name = "api",
      .limit_name = "api.max_body",
  };
  pg_diag hd;
  pg_diag_clear(&hd);
  int rc = pg_httpd_start(&o, &n->httpd, &hd);
  if (rc) return pg_fail(d, rc, "%s%s", rc == PG_ERR_CONFIG ? "[api] " : "", hd.msg);
  n->port = pg_httpd_port(n->httpd);
  if (strchr(c->bind, ':'))
    pg_log_info("node", "listening on http://[%s]:%u", c->bind, (unsigned)n->port);
  else
    pg_log_info("node", "listening on http://%s:%u", c->bind, (unsigned)n->port);
  return PG_OK;
}

void pg_node_http_stop(pg_node *n) {
  pg_httpd_stop(n->httpd);
  n->httpd = NULL;
}
