/* httpd.c — libmicrohttpd glue: thread model, capped request bodies, the
 * response object and how it becomes an MHD response (JSON error envelope,
 * default and CORS headers), request logging, TLS set-up and the counters.
 * Certificates, peers and the Host check: httpd_tls.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "httpd_internal.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/base/log.h"

/* A body over max_body is drained (not stored) up to this many bytes so the
 * client can read our 413; beyond it the connection is dropped. */
#define DRAIN_MAX (4u << 20)
#define LATER_SEND_WAIT_S 5 /* pg_httpd_stop: deferred answers still going out */
#define RESP_JSON_MAX (64u << 20)
#define DEFAULT_MAX_BODY (64u << 10)
/* TLS 1.2 and 1.3 only */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct pg_httpd {
  struct MHD_Daemon *mhd;
  uint16_t port;
  size_t max_body;
  pg_httpd_handler handler;
  void *ctx;
  pg_httpd_code_fn error_code;
  bool cors;
  char cors_methods[128];
  char log_name[32];
  char limit_name[64];
  /* TLS (tls false: plain HTTP) */
  bool tls;
  char *cert_pem, *key_pem; /* given to libmicrohttpd; kept until stop */
  pg_tls_trust *trust;      /* borrowed */
  size_t nhosts;
  char hosts[PG_HTTPD_HOSTS_MAX][PG_HTTPD_HOST_LEN];
  /* answering later (pg_httpd_defer): pool servers only */
  bool suspendable;
  pthread_mutex_t later_mu;
  pthread_cond_t later_cv; /* later_out fell */
  size_t later_out;        /* handles not done yet */
  size_t later_sending;    /* done, not yet sent (on_completed of their request) */
  bool stopping;           /* pg_httpd_stop: no new handles */
  /* pg_httpd_stats */
  atomic_uint_fast64_t n_connections, n_handshake_failures, n_requests, n_refused_host,
      n_peers_unverified;
};

/* Per connection (MHD_OPTION_NOTIFY_CONNECTION): used by the connection's
 * own thread only. */
typedef struct conn_state {
  uint64_t requests; /* requests that began on it */
} conn_state;

typedef struct req_state {
  pg_buf body;
  bool too_large;
  bool responded;
  size_t drained;
  uint64_t t0;
  pg_httpd_later *later; /* the handler answers later */
  bool deferred;          /* it did: counted in later_sending once done */
} req_state;

/* A deferred answer. done and suspended under the server's later_mu; the
 * connection's thread frees it after sending (or on_completed, when the
 * connection closed first). */
struct pg_httpd_later {
  pg_httpd *srv;
  struct MHD_Connection *conn;
  pg_httpd_resp resp;
  bool done;      /* pg_httpd_later_done was called */
  bool suspended; /* the connection waits for it (MHD_suspend_connection) */
};

/* ---- error codes ---- */

const char *pg_httpd_code_status(unsigned status, char *buf, size_t cap) {
  snprintf(buf, cap, "%u", status);
  return buf;
}

const char *pg_httpd_code_named(unsigned status, char *buf, size_t cap) {
  switch (status) {
  case 400: return "invalid";
  case 403: return "forbidden";
  case 404: return "not_found";
  case 405: return "method_not_allowed";
  case 409: return "conflict";
  case 413: return "too_large";
  case 415: return "unsupported_media_type";
  case 503: return "unavailable";
  default: return status >= 500 ? "internal" : "invalid";
  }
}

/* ---- response object ---- */

static void drop_body(pg_httpd_resp *resp) {
  if (resp->kind == BODY_OWNED) free(resp->data);
  resp->data = NULL;
  resp->len = 0;
  resp->kind = BODY_NONE;
  resp->ctype[0] = '\0';
}

void pg_httpd_resp_init(pg_httpd_resp *resp, const pg_httpd *srv, const pg_httpd_req *req) {
  memset(resp, 0, sizeof *resp);
  resp->srv = srv;
  resp->req = req;
}

void pg_httpd_resp_clear(pg_httpd_resp *resp) { drop_body(resp); }

static void set_body(pg_httpd_resp *resp, unsigned status, int kind, const char *ctype,
                     void *data, size_t len) {
  drop_body(resp);
  resp->status = status;
  resp->kind = kind;
  resp->data = data;
  resp->len = len;
  if (kind == BODY_OWNED || kind == BODY_STATIC) {
    const char *ct = ctype ? ctype : "application/octet-stream";
    if (strlen(ct) >= sizeof resp->ctype || strpbrk(ct, "\r\n")) {
      pg_httpd_error(resp, 500, NULL, "internal error: bad content type");
      return;
    }
    memcpy(resp->ctype, ct, strlen(ct) + 1);
  }
}

void pg_httpd_verror(pg_httpd_resp *resp, unsigned status, const char *code, const char *fmt,
                     va_list ap) {
  drop_body(resp);
  vsnprintf(resp->message, sizeof resp->message, fmt, ap);
  /* printable ASCII only: the text may quote client input */
  for (char *p = resp->message; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?';
  if (code)
    snprintf(resp->code, sizeof resp->code, "%s", code);
  else
    resp->code[0] = '\0';
  resp->status = status;
  resp->kind = BODY_ERROR;
}

void pg_httpd_error(pg_httpd_resp *resp, unsigned status, const char *code, const char *fmt,
                    ...) {
  va_list ap;
  va_start(ap, fmt);
  pg_httpd_verror(resp, status, code, fmt, ap);
  va_end(ap);
}

void pg_httpd_resp_json(pg_httpd_resp *resp, unsigned status, json_t *j) {
  if (!j) {
    pg_httpd_error(resp, 500, NULL, "out of memory");
    return;
  }
  pg_buf out;
  pg_buf_init(&out, RESP_JSON_MAX);
  int rc = pg_json_dump(j, &out);
  json_decref(j);
  if (rc) {
    pg_buf_free(&out);
    pg_httpd_error(resp, 500, NULL, "internal error: cannot serialise the answer: %s",
                   pg_strerror(rc));
    return;
  }
  uint8_t *p = NULL;
  size_t len = 0;
  pg_buf_take(&out, &p, &len);
  set_body(resp, status, BODY_OWNED, "application/json", p, len);
}

void pg_httpd_resp_take(pg_httpd_resp *resp, unsigned status, const char *ctype, void *data,
                        size_t len) {
  set_body(resp, status, BODY_OWNED, ctype, data, len);
}

void pg_httpd_resp_copy(pg_httpd_resp *resp, unsigned status, const char *ctype,
                        const void *data, size_t len) {
  void *p = malloc(len ? len : 1);
  if (!p) {
    pg_httpd_error(resp, 500, NULL, "out of memory");
    return;
  }
  if (len) memcpy(p, data, len);
  set_body(resp, status, BODY_OWNED, ctype, p, len);
}

void pg_httpd_resp_static(pg_httpd_resp *resp, unsigned status, const char *ctype,
                          const void *data, size_t len) {
  set_body(resp, status, BODY_STATIC, ctype, (void *)data, len);
}

unsigned pg_httpd_resp_status(const pg_httpd_resp *resp) { return resp->status; }

void pg_httpd_resp_empty(pg_httpd_resp *resp, unsigned status) {
  set_body(resp, status, BODY_EMPTY, NULL, NULL, 0);
}

static int find_header(const pg_httpd_resp *resp, const char *name) {
  for (size_t i = 0; i < resp->nhdr; i++)
    if (strcasecmp(resp->hdr[i].name, name) == 0) return (int)i;
  return -1;
}

int pg_httpd_resp_header(pg_httpd_resp *resp, const char *name, const char *value) {
  size_t nl = strlen(name), vl = strlen(value);
  if (nl == 0 || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) return PG_ERR_INVALID;
  if (nl >= sizeof resp->hdr[0].name || vl >= sizeof resp->hdr[0].value) return PG_ERR_TOO_LARGE;
  int i = find_header(resp, name);
  if (i < 0) {
    if (resp->nhdr == PG_HTTPD_HDR_MAX) return PG_ERR_TOO_LARGE;
    i = (int)resp->nhdr++;
  }
  memcpy(resp->hdr[i].name, name, nl + 1);
  memcpy(resp->hdr[i].value, value, vl + 1);
  return PG_OK;
}

/* ---- building the MHD response ---- */

static struct MHD_Response *error_response(pg_httpd_resp *resp) {
  char buf[32];
  const pg_httpd_code_fn name = resp->srv->error_code;
  const char *code = resp->code[0] ? resp->code : name(resp->status, buf, sizeof buf);
  json_t *env = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
                          resp->message[0] ? resp->message : "error");
  pg_buf out;
  pg_buf_init(&out, RESP_JSON_MAX);
  struct MHD_Response *r = NULL;
  if (env && pg_json_dump(env, &out) == PG_OK) {
    uint8_t *p = NULL;
    size_t len = 0;
    pg_buf_take(&out, &p, &len);
    r = MHD_create_response_from_buffer_with_free_callback(len, p, free);
    if (!r) free(p);
  } else {
    char oom[96];
    char c500[32];
    snprintf(c500, sizeof c500, "%s", name(500, buf, sizeof buf));
    for (char *p = c500; *p; p++)
      if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '_';
    int n = snprintf(oom, sizeof oom, "{\"error\":{\"code\":\"%s\",\"message\":\"out of memory\"}}",
                     c500);
    resp->status = 500;
    r = MHD_create_response_from_buffer((size_t)n, oom, MHD_RESPMEM_MUST_COPY);
  }
  pg_buf_free(&out);
  json_decref(env);
  if (r) snprintf(resp->ctype, sizeof resp->ctype, "application/json");
  return r;
}

static void add_default(struct MHD_Response *r, const pg_httpd_resp *resp, const char *name,
                        const char *value) {
  if (find_header(resp, name) < 0) (void)MHD_add_response_header(r, name, value);
}

/* Builds the MHD response for resp; owned body bytes pass to it. */
static struct MHD_Response *build_response(pg_httpd_resp *resp, const char *method) {
  struct MHD_Response *r = NULL;
  if (resp->kind == BODY_NONE)
    pg_httpd_error(resp, 500, NULL, "internal error: the handler gave no answer");
  switch (resp->kind) {
  case BODY_EMPTY:
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    break;
  case BODY_OWNED:
    r = MHD_create_response_from_buffer_with_free_callback(resp->len, resp->data, free);
    if (r) {
      resp->data = NULL;
      resp->kind = BODY_NONE;
    }
    break;
  case BODY_STATIC:
    r = MHD_create_response_from_buffer(resp->len, resp->data, MHD_RESPMEM_PERSISTENT);
    break;
  default:
    r = error_response(resp);
    break;
  }
  if (!r) return NULL;
  const pg_httpd *s = resp->srv;
  if (resp->ctype[0]) add_default(r, resp, MHD_HTTP_HEADER_CONTENT_TYPE, resp->ctype);
  if (s->cors) (void)MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
  add_default(r, resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  for (size_t i = 0; i < resp->nhdr; i++)
    (void)MHD_add_response_header(r, resp->hdr[i].name, resp->hdr[i].value);
  if (s->cors && resp->status == 204 && strcmp(method, "OPTIONS") == 0) {
    (void)MHD_add_response_header(r, "Access-Control-Allow-Methods", s->cors_methods);
    (void)MHD_add_response_header(r, "Access-Control-Allow-Headers",
                                  "Content-Type, Accept, Authorization");
    (void)MHD_add_response_header(r, "Access-Control-Max-Age", "86400");
  }
  return r;
}

static enum MHD_Result send_resp(pg_httpd *s, struct MHD_Connection *conn, pg_httpd_resp *resp,
                                 const char *method, const char *url, const req_state *st) {
  struct MHD_Response *r = build_response(resp, method);
  const char *msg = resp->kind == BODY_ERROR ? resp->message : "";
  enum MHD_Result ok = MHD_NO;
  if (r) {
    ok = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
  }
  if (ok == MHD_YES) atomic_fetch_add(&s->n_requests, 1);
  if (resp->status >= 500)
    pg_log_warn(s->log_name, "%s %s -> %u %s", method, url, resp->status, msg);
  else if (pg_log_enabled(PG_LOG_DEBUG))
    pg_log_debug(s->log_name, "%s %s -> %u (%llu ms)%s%s", method, url, resp->status,
                 (unsigned long long)(pg_monotonic_ms() - st->t0), msg[0] ? " " : "", msg);
  pg_httpd_resp_clear(resp);
  return ok;
}

/* ---- answering later ---- */

pg_httpd_later *pg_httpd_defer(pg_httpd_resp *resp) {
  pg_httpd *s = (pg_httpd *)resp->srv;
  if (!s->suspendable || !resp->req || resp->later) return NULL;
  pg_httpd_later *l = calloc(1, sizeof *l);
  if (!l) return NULL;
  pthread_mutex_lock(&s->later_mu);
  bool refused = s->stopping;
  if (!refused) s->later_out++;
  pthread_mutex_unlock(&s->later_mu);
  if (refused) {
    free(l);
    return NULL;
  }
  l->srv = s;
  l->conn = (struct MHD_Connection *)resp->req->conn;
  pg_httpd_resp_init(&l->resp, s, NULL);
  resp->later = l;
  return l;
}

pg_httpd_resp *pg_httpd_later_resp(pg_httpd_later *l) { return &l->resp; }

static void later_out_fell(pg_httpd *s) {
  s->later_out--;
  pthread_cond_broadcast(&s->later_cv);
}

void pg_httpd_later_done(pg_httpd_later *l) {
  pg_httpd *s = l->srv;
  pthread_mutex_lock(&s->later_mu);
  l->done = true;
  bool resume = l->suspended;
  struct MHD_Connection *conn = l->conn;
  s->later_sending++; /* until the request completes (on_completed) */
  if (!resume) later_out_fell(s); /* the handler's thread sends it when it returns */
  pthread_mutex_unlock(&s->later_mu);
  if (!resume) return;
  /* l stays valid until the connection's thread runs again: after this */
  MHD_resume_connection(conn);
  pthread_mutex_lock(&s->later_mu);
  later_out_fell(s);
  pthread_mutex_unlock(&s->later_mu);
}

/* The deferred answer of st, now done: sent, and the handle freed. */
static enum MHD_Result send_later(pg_httpd *s, struct MHD_Connection *conn, const char *method,
                                  const char *url, req_state *st) {
  pg_httpd_later *l = st->later;
  st->later = NULL;
  enum MHD_Result r = send_resp(s, conn, &l->resp, method, url, st);
  free(l);
  return r;
}

/* The handler deferred: suspend the connection until pg_httpd_later_done,
 * or send at once when that came already. */
static enum MHD_Result await_later(pg_httpd *s, struct MHD_Connection *conn, pg_httpd_resp *resp,
                                   const char *method, const char *url, req_state *st) {
  st->later = resp->later;
  st->deferred = true;
  pg_httpd_resp_clear(resp);
  pthread_mutex_lock(&s->later_mu);
  bool done = st->later->done;
  if (!done) {
    st->later->suspended = true;
    MHD_suspend_connection(conn);
  }
  pthread_mutex_unlock(&s->later_mu);
  return done ? send_later(s, conn, method, url, st) : MHD_YES;
}

/* ---- request handling ---- */

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

static void too_large(const pg_httpd *s, pg_httpd_resp *resp, unsigned long long n, bool more) {
  pg_httpd_error(resp, 413, NULL, "request body of %llu bytes%s exceeds the limit of %zu bytes%s%s%s",
                 n, more ? " or more" : "", s->max_body, s->limit_name[0] ? " (" : "",
                 s->limit_name, s->limit_name[0] ? ")" : "");
}

/* The Host check (opts.hosts): false after answering 421 or 400. */
static bool host_ok(pg_httpd *s, struct MHD_Connection *conn, pg_httpd_resp *resp) {
  if (s->nhosts == 0) return true;
  const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  if (pg_httpd_host_allowed(host, (const char(*)[PG_HTTPD_HOST_LEN])s->hosts, s->nhosts))
    return true;
  atomic_fetch_add(&s->n_refused_host, 1);
  if (!host)
    pg_httpd_error(resp, 400, NULL, "no Host header");
  else
    pg_httpd_error(resp, 421, NULL, "this server does not answer for host '%.60s%s'", host,
                   strlen(host) > 60 ? "..." : "");
  return false;
}

/* First call for a request: its state, the Host check, a body announced
 * over the cap. */
static enum MHD_Result begin_request(pg_httpd *s, struct MHD_Connection *conn, const char *url,
                                     const char *method, void **req_cls) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  conn_state *cs = ci ? ci->socket_context : NULL;
  if (cs) cs->requests++;
  req_state *st = calloc(1, sizeof *st);
  if (!st) return MHD_NO;
  pg_buf_init(&st->body, s->max_body + 1); /* + the NUL after the body */
  st->t0 = pg_monotonic_ms();
  *req_cls = st;
  pg_httpd_resp resp;
  pg_httpd_resp_init(&resp, s, NULL);
  if (!host_ok(s, conn, &resp)) {
    st->responded = true;
    return send_resp(s, conn, &resp, method, url, st);
  }
  uint64_t cl = 0;
  const char *clh = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (clh && parse_len(clh, &cl) && cl > s->max_body) {
    /* refuse before reading the body (a client that sent "Expect:
     * 100-continue" never sends it) */
    too_large(s, &resp, (unsigned long long)cl, false);
    st->responded = true;
    return send_resp(s, conn, &resp, method, url, st);
  }
  return MHD_YES;
}

/* The request is complete: who sent it, then the handler. */
static enum MHD_Result finish_request(pg_httpd *s, struct MHD_Connection *conn, const char *url,
                                      const char *method, req_state *st) {
  pg_httpd_resp resp;
  if (st->too_large) {
    pg_httpd_resp_init(&resp, s, NULL);
    too_large(s, &resp, (unsigned long long)st->drained, true);
    return send_resp(s, conn, &resp, method, url, st);
  }
  if (st->body.len) {
    pg_buf_put_u8(&st->body, 0);
    if (pg_buf_status(&st->body) != PG_OK) return MHD_NO;
    st->body.len--;
  }
  pg_httpd_peer peer;
  pg_httpd_peer_fill(conn, s->tls, s->trust, &peer);
  if (s->tls && s->trust && !peer.verified) atomic_fetch_add(&s->n_peers_unverified, 1);
  pg_httpd_req req = {
      .method = method,
      .path = url,
      .body = st->body.len ? st->body.data : NULL,
      .body_len = st->body.len,
      .peer = &peer,
      .conn = (struct pg_httpd_conn *)conn,
  };
  pg_httpd_resp_init(&resp, s, &req);
  s->handler(s->ctx, &req, &resp);
  if (resp.later) return await_later(s, conn, &resp, method, url, st);
  return send_resp(s, conn, &resp, method, url, st);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
  pg_httpd *s = cls;
  req_state *st = *req_cls;
  if (!st) return begin_request(s, conn, url, method, req_cls);
  if (*upload_data_size) {
    size_t sz = *upload_data_size;
    *upload_data_size = 0;
    if (st->responded) return MHD_YES;
    if (!st->too_large && st->body.len + sz > s->max_body) {
      st->too_large = true;
      st->drained = st->body.len;
      pg_buf_free(&st->body);
    }
    if (st->too_large) {
      st->drained += sz;
      return st->drained > DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    pg_buf_put(&st->body, upload_data, sz);
    return pg_buf_status(&st->body) == PG_OK ? MHD_YES : MHD_NO;
  }
  if (st->later) return send_later(s, conn, method, url, st); /* resumed: done */
  if (st->responded) return MHD_YES;
  st->responded = true;
  return finish_request(s, conn, url, method, st);
}

/* Connection life: counts connections, and TLS connections that closed
 * before any request began (a failed handshake, plain HTTP on a TLS port). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  pg_httpd *s = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    atomic_fetch_add(&s->n_connections, 1);
    *socket_context = calloc(1, sizeof(conn_state)); /* NULL: not counted, no harm */
    return;
  }
  conn_state *cs = *socket_context;
  if (cs && s->tls && cs->requests == 0) atomic_fetch_add(&s->n_handshake_failures, 1);
  free(cs);
  *socket_context = NULL;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  pg_httpd *s = cls;
  req_state *st = *req_cls;
  if (!st) return;
  if (st->deferred) { /* its answer is sent, or its connection closed */
    pthread_mutex_lock(&s->later_mu);
    s->later_sending--;
    pthread_cond_broadcast(&s->later_cv);
    pthread_mutex_unlock(&s->later_mu);
  }
  if (st->later) { /* closed before the resumed connection ran */
    pg_httpd_resp_clear(&st->later->resp);
    free(st->later);
  }
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

/* The request's libmicrohttpd connection (pg_httpd_conn is never defined:
 * it names the MHD connection to the outside). */
static struct MHD_Connection *mhd_conn(const pg_httpd_req *req) {
  return (struct MHD_Connection *)req->conn;
}

const char *pg_httpd_query(const pg_httpd_req *req, const char *key) {
  const char *v = NULL;
  if (MHD_lookup_connection_value_n(mhd_conn(req), MHD_GET_ARGUMENT_KIND, key, strlen(key), &v,
                                    NULL) != MHD_YES)
    return NULL;
  return v ? v : "";
}

const char *pg_httpd_query_value(const pg_httpd_req *req, const char *key) {
  return MHD_lookup_connection_value(mhd_conn(req), MHD_GET_ARGUMENT_KIND, key);
}

const char *pg_httpd_header(const pg_httpd_req *req, const char *name) {
  return MHD_lookup_connection_value(mhd_conn(req), MHD_HEADER_KIND, name);
}

/* ---- life cycle ---- */

/* opts.bind and opts.port as a socket address into *a4 or *a6; *sa points
 * to the one used, *v6 says which. */
static int parse_bind(const char *bind, uint16_t port, struct sockaddr_in *a4,
                      struct sockaddr_in6 *a6, struct sockaddr **sa, bool *v6, pg_diag *d) {
  memset(a4, 0, sizeof *a4);
  memset(a6, 0, sizeof *a6);
  *v6 = false;
  if (inet_pton(AF_INET, bind, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    *sa = (struct sockaddr *)a4;
  } else if (inet_pton(AF_INET6, bind, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *sa = (struct sockaddr *)a6;
    *v6 = true;
  } else {
    return pg_fail(d, PG_ERR_CONFIG, "bind: '%.64s' is not an IPv4 or IPv6 address", bind);
  }
  return PG_OK;
}

/* Copies the settings of o that are not about the socket into s, reading
 * the TLS files. */
static int configure(pg_httpd *s, const pg_httpd_opts *o, pg_diag *d) {
  s->max_body = o->max_body ? o->max_body : DEFAULT_MAX_BODY;
  s->handler = o->handler;
  s->ctx = o->ctx;
  s->error_code = o->error_code ? o->error_code : pg_httpd_code_status;
  s->cors = o->cors;
  snprintf(s->cors_methods, sizeof s->cors_methods, "%s",
           o->cors_methods ? o->cors_methods : "GET, POST, OPTIONS");
  snprintf(s->log_name, sizeof s->log_name, "%s", o->log_name ? o->log_name : "httpd");
  snprintf(s->limit_name, sizeof s->limit_name, "%s", o->limit_name ? o->limit_name : "");
  if (o->nhosts > PG_HTTPD_HOSTS_MAX)
    return pg_fail(d, PG_ERR_CONFIG, "hosts: %zu names, at most %d", o->nhosts,
                   PG_HTTPD_HOSTS_MAX);
  for (size_t i = 0; i < o->nhosts; i++)
    if (!o->hosts || !o->hosts[i] || !pg_httpd_host_copy(o->hosts[i], s->hosts[s->nhosts++]))
      return pg_fail(d, PG_ERR_CONFIG, "hosts: name %zu is empty or %d bytes or longer", i + 1,
                     PG_HTTPD_HOST_LEN);
  if (o->trust && !o->tls_cert_file && !o->tls_key_file)
    return pg_fail(d, PG_ERR_CONFIG, "TLS: a trust for client certificates needs a certificate "
                                     "and key of the server");
  if (!o->tls_cert_file && !o->tls_key_file) return PG_OK;
  int rc = pg_httpd_tls_load(o->tls_cert_file, o->tls_key_file, &s->cert_pem, &s->key_pem, d);
  if (rc) return rc;
  s->tls = true;
  s->trust = o->trust;
  return PG_OK;
}

static void free_server(pg_httpd *s) {
  if (!s) return;
  pthread_mutex_destroy(&s->later_mu);
  pthread_cond_destroy(&s->later_cv);
  free(s->cert_pem);
  pg_httpd_free_secret(s->key_pem);
  free(s);
}

int pg_httpd_start(const pg_httpd_opts *o, pg_httpd **out, pg_diag *d) {
  if (!o || !o->handler || !out) return pg_fail(d, PG_ERR_INVALID, "HTTP server: no handler");
  const char *bind = o->bind ? o->bind : "127.0.0.1";
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  struct sockaddr *sa = NULL;
  bool v6 = false;
  int rc = parse_bind(bind, o->port, &a4, &a6, &sa, &v6, d);
  if (rc) return rc;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
  if (v6) flags |= MHD_USE_IPv6;
  if (o->pool_threads == 0) flags |= MHD_USE_THREAD_PER_CONNECTION;
  else flags |= MHD_ALLOW_SUSPEND_RESUME; /* pg_httpd_defer */

  pg_httpd *s = calloc(1, sizeof *s);
  if (!s) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&s->later_mu, NULL);
  pthread_cond_init(&s->later_cv, NULL);
  s->suspendable = o->pool_threads > 0;
  if ((rc = configure(s, o, d))) goto fail;
  struct MHD_OptionItem opts[16];
  size_t n = 0;
  /* the logger first: it then also gets the warnings about later options */
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, sa};
  if (o->pool_threads)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, o->pool_threads, NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout_s, NULL};
  if (o->max_connections)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL};
  if (o->per_ip_connections)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->per_ip_connections,
                                        NULL};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
  if (s->tls) {
    flags |= MHD_USE_TLS;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
    /* with a trust, libmicrohttpd asks each client for a certificate (not
     * required); pg_httpd_peer_fill verifies what came */
    if (s->trust)
      opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                          (void *)pg_tls_trust_ca_pem(s->trust)};
  }
  opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  s->mhd = MHD_start_daemon(flags, o->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
                            MHD_OPTION_END);
  if (!s->mhd) {
    rc = pg_fail(d, PG_ERR_IO, "cannot listen on %s port %u (address in use or not allowed%s?)",
                 bind, (unsigned)o->port, s->tls ? ", or TLS set-up failed" : "");
    goto fail;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : o->port;
  *out = s;
  return PG_OK;
fail:
  free_server(s);
  return rc;
}

uint16_t pg_httpd_port(const pg_httpd *h) { return h ? h->port : 0; }

void pg_httpd_get_stats(const pg_httpd *h, pg_httpd_stats *out) {
  memset(out, 0, sizeof *out);
  if (!h) return;
  pg_httpd *s = (pg_httpd *)h; /* atomic loads of a const object */
  out->connections = atomic_load(&s->n_connections);
  out->handshake_failures = atomic_load(&s->n_handshake_failures);
  out->requests = atomic_load(&s->n_requests);
  out->refused_host = atomic_load(&s->n_refused_host);
  out->peers_unverified = atomic_load(&s->n_peers_unverified);
}

void pg_httpd_stop(pg_httpd *h) {
  if (!h) return;
  /* libmicrohttpd must not stop with a connection suspended */
  pthread_mutex_lock(&h->later_mu);
  h->stopping = true;
  while (h->later_out) pthread_cond_wait(&h->later_cv, &h->later_mu);
  /* and a while for the answers to go out (a client that does not read
   * its answer does not hold the stop longer) */
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += LATER_SEND_WAIT_S;
  while (h->later_sending &&
         pthread_cond_timedwait(&h->later_cv, &h->later_mu, &until) != ETIMEDOUT) {
  }
  pthread_mutex_unlock(&h->later_mu);
  MHD_stop_daemon(h->mhd);
  free_server(h);
}
