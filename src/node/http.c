/* http.c — libmicrohttpd glue: a thread pool, keep-alive, capped request
 * bodies, JSON envelopes and CORS headers. Routing lives in api.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "node_internal.h"
#include "p2pgrid/buf.h"
#include "p2pgrid/json.h"
#include "p2pgrid/log.h"

/* A body over max_body is drained (not stored) up to this many bytes so the
 * client can read our 413; beyond it the connection is dropped. */
#define DRAIN_MAX (4u << 20)
#define RESP_JSON_MAX (64u << 20)

typedef struct req_state {
  pg_buf body;
  bool too_large;
  bool responded;
  size_t drained;
  uint64_t t0;
} req_state;

void pg_http_error(pg_http_resp *resp, unsigned status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(resp->error, sizeof resp->error, fmt, ap);
  va_end(ap);
  /* printable ASCII only: the text may quote client input */
  for (char *p = resp->error; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?';
  resp->status = status;
  json_decref(resp->data);
  resp->data = NULL;
  free(resp->raw);
  resp->raw = NULL;
  resp->raw_len = 0;
}

static void add_common_headers(struct MHD_Response *r) {
  (void)MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
  (void)MHD_add_response_header(r, "Cache-Control", "no-store");
}

/* Builds the body for resp: a JSON envelope, raw bytes or nothing. */
static struct MHD_Response *build_response(pg_http_resp *resp) {
  struct MHD_Response *r = NULL;
  const char *ctype = "application/json";
  if (resp->empty) {
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    ctype = NULL;
  } else if (resp->raw || (resp->status < 400 && resp->content_type)) {
    r = MHD_create_response_from_buffer_with_free_callback(resp->raw_len, resp->raw, free);
    if (r) resp->raw = NULL;
    ctype = resp->content_type ? resp->content_type : "application/octet-stream";
  } else {
    json_t *env = json_object();
    if (env) {
      if (resp->status >= 400) {
        char code[16];
        snprintf(code, sizeof code, "%u", resp->status);
        json_t *e = json_object();
        if (e) {
          (void)json_object_set_new(e, "code", json_string(code));
          (void)json_object_set_new(e, "message", json_string(resp->error[0] ? resp->error
                                                                               : "error"));
        }
        (void)json_object_set_new(env, "error", e);
      } else {
        (void)json_object_set_new(env, "data", resp->data ? resp->data : json_object());
        resp->data = NULL;
      }
    }
    pg_buf out;
    pg_buf_init(&out, RESP_JSON_MAX);
    if (env && pg_json_dump(env, &out) == PG_OK) {
      uint8_t *p = NULL;
      size_t len = 0;
      pg_buf_take(&out, &p, &len);
      r = MHD_create_response_from_buffer_with_free_callback(len, p, free);
      if (!r) free(p);
    } else {
      static const char oom[] = "{\"error\":{\"code\":\"500\",\"message\":\"out of memory\"}}";
      resp->status = 500;
      r = MHD_create_response_from_buffer(sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
    }
    pg_buf_free(&out);
    json_decref(env);
  }
  if (!r) return NULL;
  if (ctype) (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  add_common_headers(r);
  if (resp->location[0]) (void)MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, resp->location);
  if (resp->allow[0]) (void)MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, resp->allow);
  if (resp->status == 204) {
    (void)MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    (void)MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                  "Content-Type, Accept, Authorization");
    (void)MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
  }
  return r;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, pg_http_resp *resp,
                                 const char *method, const char *url, const req_state *st) {
  struct MHD_Response *r = build_response(resp);
  json_decref(resp->data);
  resp->data = NULL;
  free(resp->raw);
  resp->raw = NULL;
  if (!r) return MHD_NO;
  enum MHD_Result ok = MHD_queue_response(conn, resp->status, r);
  MHD_destroy_response(r);
  if (resp->status >= 500)
    pg_log_warn("api", "%s %s -> %u %s", method, url, resp->status, resp->error);
  else if (pg_log_enabled(PG_LOG_DEBUG))
    pg_log_debug("api", "%s %s -> %u (%llu ms)%s%s", method, url, resp->status,
                 (unsigned long long)(pg_monotonic_ms() - st->t0), resp->error[0] ? " " : "",
                 resp->error);
  return ok;
}

/* Strict decimal for Content-Length. */
static bool parse_len(const char *s, uint64_t *out) {
  uint64_t v = 0;
  if (!s || !*s) return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  *out = v;
  return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
  pg_node *n = cls;
  req_state *st = *req_cls;
  if (!st) {
    st = calloc(1, sizeof *st);
    if (!st) return MHD_NO;
    pg_buf_init(&st->body, n->max_body);
    st->t0 = pg_monotonic_ms();
    *req_cls = st;
    uint64_t cl = 0;
    const char *clh = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (clh && parse_len(clh, &cl) && cl > n->max_body) {
      /* refuse before reading the body (a client that sent "Expect:
       * 100-continue" never sends it) */
      pg_http_resp resp = {0};
      pg_http_error(&resp, 413, "request body of %llu bytes exceeds the limit of %zu bytes (api.max_body)",
                    (unsigned long long)cl, n->max_body);
      st->responded = true;
      return send_resp(conn, &resp, method, url, st);
    }
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t sz = *upload_data_size;
    *upload_data_size = 0;
    if (st->responded) return MHD_YES;
    if (!st->too_large && st->body.len + sz > n->max_body) {
      st->too_large = true;
      st->drained = st->body.len;
      pg_buf_free(&st->body);
      pg_buf_init(&st->body, n->max_body);
    }
    if (st->too_large) {
      st->drained += sz;
      return st->drained > DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    pg_buf_put(&st->body, upload_data, sz);
    return pg_buf_status(&st->body) == PG_OK ? MHD_YES : MHD_NO;
  }
  if (st->responded) return MHD_YES;
  st->responded = true;

  pg_http_resp resp = {0};
  if (st->too_large) {
    pg_http_error(&resp, 413, "request body of %zu bytes or more exceeds the limit of %zu bytes (api.max_body)",
                  st->drained, n->max_body);
  } else {
    pg_http_req req = {
        .conn = conn,
        .method = method,
        .url = url,
        .body = st->body.data,
        .body_len = st->body.len,
    };
    pg_node_api_dispatch(n, &req, &resp);
  }
  return send_resp(conn, &resp, method, url, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  req_state *st = *req_cls;
  if (!st) return;
  pg_buf_free(&st->body);
  free(st);
  *req_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  pg_log_debug("http", "%s", line);
}

int pg_node_http_start(pg_node *n, const pg_node_config *c, pg_diag *d) {
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  struct sockaddr *sa;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
  memset(&a4, 0, sizeof a4);
  memset(&a6, 0, sizeof a6);
  if (inet_pton(AF_INET, c->bind, &a4.sin_addr) == 1) {
    a4.sin_family = AF_INET;
    a4.sin_port = htons(c->port);
    sa = (struct sockaddr *)&a4;
  } else if (inet_pton(AF_INET6, c->bind, &a6.sin6_addr) == 1) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(c->port);
    sa = (struct sockaddr *)&a6;
    flags |= MHD_USE_IPv6;
  } else {
    return pg_fail(d, PG_ERR_CONFIG, "[api] bind: '%.64s' is not an IPv4 or IPv6 address", c->bind);
  }
  snprintf(n->bind, sizeof n->bind, "%s", c->bind);
  n->mhd = MHD_start_daemon(
      flags, c->port, NULL, NULL, on_request, n,
      MHD_OPTION_SOCK_ADDR, sa,
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(c->workers ? c->workers : 1),
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)c->connection_timeout_s,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)c->max_connections,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, n,
      MHD_OPTION_EXTERNAL_LOGGER, mhd_log, n,
      MHD_OPTION_END);
  if (!n->mhd)
    return pg_fail(d, PG_ERR_IO, "cannot listen on %s port %u (address in use or not allowed?)",
                   c->bind, (unsigned)c->port);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(n->mhd, MHD_DAEMON_INFO_BIND_PORT);
  n->port = info ? info->port : c->port;
  if (sa->sa_family == AF_INET6)
    pg_log_info("node", "listening on http://[%s]:%u", c->bind, (unsigned)n->port);
  else
    pg_log_info("node", "listening on http://%s:%u", c->bind, (unsigned)n->port);
  return PG_OK;
}

void pg_node_http_stop(pg_node *n) {
  if (!n->mhd) return;
  MHD_stop_daemon(n->mhd);
  n->mhd = NULL;
}
