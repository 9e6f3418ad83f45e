/* p2pgrid/httpd.h — a small embedded HTTP/1.1 server (libmicrohttpd): capped
 * request bodies, JSON and byte responses, a one-object JSON error envelope,
 * CORS, static assets compiled into the binary (assets.h).
 *
 * Usage:
 *   static void handle(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp) {
 *     if (strcmp(req->path, "/hello") == 0)
 *       pg_httpd_resp_json(resp, 200, json_pack("{s:s}", "hello", "world"));
 *     else
 *       pg_httpd_error(resp, 404, NULL, "no such route: %s", req->path);
 *   }
 *   pg_httpd_opts o = {.port = 0, .max_body = 4096, .handler = handle, .ctx = me};
 *   pg_httpd *h = NULL;
 *   if (pg_httpd_start(&o, &h, &d)) ...
 *   printf("port %u\n", pg_httpd_port(h));
 *   pg_httpd_stop(h);
 *
 * Contract:
 * - The handler is called once per complete request, from a server thread,
 *   possibly for several requests at the same time: it must be thread-safe
 *   with respect to ctx. It answers by calling exactly the pg_httpd_resp_* /
 *   pg_httpd_error functions below (the last body-setting call wins); a
 *   handler that sets nothing answers 500.
 * - A request body over max_body is answered 413 without calling the handler
 *   (refused before reading it when Content-Length announces it; otherwise
 *   drained up to 4 MiB so the client can read the answer, then dropped).
 * - Errors travel as {"error":{"code":C,"message":M}}: M is printable ASCII
 *   (other bytes become '?'), at most 319 bytes; C is the code given to
 *   pg_httpd_error or, when it gives NULL, what opts.error_code names for the
 *   status (default: the status in decimal, "404", as TIP-13 has it).
 * - Every answer carries "Cache-Control: no-store" unless the handler sets
 *   Cache-Control itself, and with opts.cors "Access-Control-Allow-Origin: *";
 *   a 204 answer to OPTIONS also gets the preflight headers
 *   (Access-Control-Allow-Methods = opts.cors_methods, -Allow-Headers
 *   "Content-Type, Accept, Authorization", -Max-Age 86400).
 * - HEAD is passed to the handler as "HEAD"; the server sends the headers of
 *   whatever it answers, without the body.
 * - Requests are logged under opts.log_name: answers >= 500 at warn, the
 *   others at debug with their duration.
 *
 * Threads: opts.pool_threads = 0 runs one thread per connection, so a
 * handler may block (PoW, a slow node) without holding up other connections;
 * N > 0 runs a pool of N threads, each serving many connections (a blocking
 * handler then stalls the connections its thread holds). pg_httpd_stop waits
 * for running handlers to return. */
#ifndef P2PGRID_HTTPD_H
#define P2PGRID_HTTPD_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/assets.h"
#include "p2pgrid/err.h"

struct MHD_Connection;

typedef struct pg_httpd pg_httpd;
typedef struct pg_httpd_resp pg_httpd_resp; /* opaque: set through the functions below */

/* One complete request; valid during the handler call only. */
typedef struct pg_httpd_req {
  const char *method;   /* as sent: "GET", "PUT", ... */
  const char *path;     /* without the query, %-decoded by libmicrohttpd: "/a/b" */
  const uint8_t *body;  /* NULL when body_len is 0; else followed by a NUL (not counted) */
  size_t body_len;
  /* The underlying connection, for code that still calls libmicrohttpd
   * directly; new code uses pg_httpd_query / pg_httpd_header. */
  struct MHD_Connection *conn;
} pg_httpd_req;

typedef void (*pg_httpd_handler)(void *ctx, const pg_httpd_req *req, pg_httpd_resp *resp);

/* Names the error code for a status when pg_httpd_error got none. May write
 * into buf (cap bytes) and return it, or return a static string. */
typedef const char *(*pg_httpd_code_fn)(unsigned status, char *buf, size_t cap);

/* TIP-13 (the node): the status in decimal, "400". The default. */
const char *pg_httpd_code_status(unsigned status, char *buf, size_t cap);
/* docs/PROTOCOL.md (the grid): 400 invalid, 403 forbidden, 404 not_found,
 * 405 method_not_allowed, 409 conflict, 413 too_large, 415
 * unsupported_media_type, 503 unavailable, other 5xx internal, other 4xx
 * invalid. */
const char *pg_httpd_code_named(unsigned status, char *buf, size_t cap);

typedef struct pg_httpd_opts {
  const char *bind;        /* IPv4 or IPv6 literal; NULL = "127.0.0.1" */
  uint16_t port;           /* 0 = ephemeral (see pg_httpd_port) */
  size_t max_body;         /* request body cap in bytes; 0 = 64 KiB */
  pg_httpd_handler handler;/* required */
  void *ctx;               /* passed to handler */
  pg_httpd_code_fn error_code; /* NULL = pg_httpd_code_status */
  bool cors;               /* Access-Control-* headers (see above) */
  const char *cors_methods;/* preflight Allow-Methods; NULL = "GET, POST, OPTIONS" */
  unsigned pool_threads;   /* 0 = a thread per connection; N = pool of N threads */
  unsigned max_connections;/* 0 = libmicrohttpd's default */
  unsigned connection_timeout_s; /* idle connections closed after this; 0 = never */
  const char *log_name;    /* log tag; NULL = "httpd" */
  const char *limit_name;  /* named in the 413 message, e.g. "api.max_body"; NULL = none */
} pg_httpd_opts;

/* Starts listening (o is copied; the strings need not outlive the call).
 * PG_ERR_CONFIG for a bind that is not an address literal, PG_ERR_INVALID
 * without a handler, PG_ERR_IO when the port cannot be bound. */
PG_NODISCARD int pg_httpd_start(const pg_httpd_opts *o, pg_httpd **out, pg_diag *d);
/* The bound port (the ephemeral one when opts.port was 0). */
uint16_t pg_httpd_port(const pg_httpd *h);
/* Stops listening, waits for running handlers, frees h. NULL is a no-op. */
void pg_httpd_stop(pg_httpd *h);

/* ---- request ---- */

/* Value of query parameter key (%-escapes and '+' decoded); "" for a key
 * without '='; NULL when absent. The first one when repeated. */
const char *pg_httpd_query(const pg_httpd_req *req, const char *key);
/* Value of request header name (case-insensitive); NULL when absent. */
const char *pg_httpd_header(const pg_httpd_req *req, const char *name);

/* ---- response ---- */

/* A JSON body (Content-Type application/json). Takes the reference j (also
 * on failure); j == NULL (a failed json_pack) answers 500 "out of memory". */
void pg_httpd_resp_json(pg_httpd_resp *resp, unsigned status, json_t *j);
/* A body of len bytes; ctype NULL = "application/octet-stream".
 * _copy copies data (500 when out of memory); _take takes malloc'd data
 * (freed by the server, also on failure); _static uses data as is (it must
 * outlive the server, e.g. an embedded asset). */
void pg_httpd_resp_copy(pg_httpd_resp *resp, unsigned status, const char *ctype,
                        const void *data, size_t len);
void pg_httpd_resp_take(pg_httpd_resp *resp, unsigned status, const char *ctype, void *data,
                        size_t len);
void pg_httpd_resp_static(pg_httpd_resp *resp, unsigned status, const char *ctype,
                          const void *data, size_t len);
/* No body and no Content-Type (204, 304, ...). */
void pg_httpd_resp_empty(pg_httpd_resp *resp, unsigned status);
/* An error envelope (see the contract). code NULL = opts.error_code's name. */
void pg_httpd_error(pg_httpd_resp *resp, unsigned status, const char *code, const char *fmt,
                    ...) PG_PRINTF(4, 5);
void pg_httpd_verror(pg_httpd_resp *resp, unsigned status, const char *code, const char *fmt,
                     va_list ap) PG_PRINTF(4, 0);
/* Adds a header (Location, Allow, ETag, ...) or replaces one of the same name
 * (case-insensitive), including the defaults Content-Type and Cache-Control.
 * Kept across the body-setting calls. At most 8 headers, name < 64 and
 * value < 448 bytes: PG_ERR_TOO_LARGE; CR or LF inside: PG_ERR_INVALID. */
PG_NODISCARD int pg_httpd_resp_header(pg_httpd_resp *resp, const char *name, const char *value);

/* ---- static assets ---- */

/* Answers path from table (built by pg_embed_assets, cmake/embed.cmake):
 * "/" and a path ending in '/' or naming a directory of the table serve its
 * "index.html"; with "ETag" and "Cache-Control: no-cache", and 304 without a
 * body when the request's If-None-Match names the ETag. Returns true when
 * served, false after answering 404 (the handler may overwrite that).
 * The caller checks the method (GET or HEAD). */
bool pg_httpd_serve_asset(const pg_asset *table, const char *path, pg_httpd_resp *resp);
/* The entry for path ("a/b.js" or "/a/b.js", exactly) or NULL. */
const pg_asset *pg_asset_find(const pg_asset *table, const char *path);

#endif
