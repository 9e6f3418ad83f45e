/* p2pgrid/httpd/httpd.h — a small embedded HTTP/1.1 server (libmicrohttpd): capped
 * request bodies, JSON and byte responses, a one-object JSON error envelope,
 * CORS, static assets compiled into the binary (embed.h), HTTPS with
 * client certificates verified against the community's CA (tls.h), a Host
 * check, counters.
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
 * Ownership: pg_httpd_start copies opts (its strings need not outlive the
 * call) and gives the caller the server (pg_httpd_stop frees it); ctx is
 * borrowed until then. A request and what its accessors return live for the
 * handler's call; pg_httpd_resp_json takes the reference it is given,
 * _take takes malloc'd data, _copy copies.
 * Errors: pg_httpd_start returns PG_ERR_CONFIG (bind, TLS files),
 * PG_ERR_INVALID (no handler), PG_ERR_IO (port) or PG_ERR_NOMEM with one
 * sentence in the optional pg_diag; a handler's failures are answers (the
 * JSON error envelope below), never return codes.
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
 * - TLS (opts.tls_cert_file + tls_key_file): the files are read once at
 *   start (at most 256 KiB each) and checked: a PEM certificate (chain,
 *   leaf first), an unencrypted PEM private key, the key of that
 *   certificate; otherwise PG_ERR_CONFIG naming the file and the problem
 *   ("TLS key /etc/x.key: not an unencrypted PEM private key (...)").
 *   One of the two without the other, or opts.trust without them, is
 *   PG_ERR_CONFIG. The port then speaks TLS 1.2/1.3 only.
 * - Peers: every request gets req->peer. addr is the client's IP address.
 *   Over TLS with opts.trust, the client's certificate chain is verified on
 *   every request (pg_tls_trust_verify at the current time: a revocation
 *   the trust has picked up applies to the next request, also on a kept-
 *   alive connection); verified and member say the outcome, why the
 *   reason when not verified (the trust's diag: "no client certificate",
 *   "certificate revoked", ...). Without opts.trust no certificate is asked
 *   for (has_cert false, why "no client certificate"). The server never
 *   refuses a request for its certificate: the handler decides.
 * - Host check (opts.hosts): before the body is read and without calling
 *   the handler, 400 "no Host header" or 421 "this server does not answer
 *   for host '...'" (HTTP/1.1 without Host gets libmicrohttpd's own 400).
 * - Counters (pg_httpd_get_stats): a connection counts as a handshake
 *   failure when it was TLS and closed before any request began (also an
 *   idle client that never sent one); peers_unverified counts TLS requests
 *   without a verified member, only when opts.trust is set.
 *
 * - Answering later (pool servers only): a handler may call pg_httpd_defer
 *   and return without an answer. The connection then waits suspended (no
 *   thread blocked for it, no idle timeout) until pg_httpd_later_done, called
 *   from any thread once the answer is set on pg_httpd_later_resp. Exactly
 *   one pg_httpd_later_done per handle; it may come before the handler has
 *   returned. What the handler set on its own resp is then ignored.
 *
 * Threads: opts.pool_threads = 0 runs one thread per connection, so a
 * handler may block (PoW, a slow node) without holding up other connections;
 * N > 0 runs a pool of N threads, each serving many connections (a blocking
 * handler then stalls the connections its thread holds, unless it answers
 * later). pg_httpd_stop waits for running handlers to return and for every
 * deferred answer to be done, then up to 5 s for those answers to be sent
 * (so a client whose request is answered during the stop gets the answer,
 * not a closed connection). */
#ifndef P2PGRID_HTTPD_HTTPD_H
#define P2PGRID_HTTPD_HTTPD_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/embed.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/tls/tls.h"

typedef struct pg_httpd pg_httpd;
typedef struct pg_httpd_resp pg_httpd_resp; /* opaque: set through the functions below */

/* Who is on the other end of a request. */
typedef struct pg_httpd_peer {
  char addr[64];        /* the client's IP address as text ("" if unknown) */
  bool tls;             /* the connection is TLS */
  bool has_cert;        /* TLS, and the client presented a certificate */
  bool verified;        /* ... which verified against opts.trust: member is valid */
  char why[160];        /* when !verified: why (e.g. "no client certificate",
                           "certificate revoked"); "" when verified */
  pg_member member;     /* when verified */
  const uint8_t *cert_der; /* the leaf certificate as sent (has_cert), valid during the call */
  size_t cert_len;
} pg_httpd_peer;

/* One complete request; valid during the handler call only. */
typedef struct pg_httpd_req {
  const char *method;   /* as sent: "GET", "PUT", ... */
  const char *path;     /* without the query, %-decoded by libmicrohttpd: "/a/b" */
  const uint8_t *body;  /* NULL when body_len is 0; else followed by a NUL (not counted) */
  size_t body_len;
  const pg_httpd_peer *peer; /* never NULL */
  /* The server's connection (opaque), read through pg_httpd_query /
   * pg_httpd_query_value / pg_httpd_header. */
  struct pg_httpd_conn *conn;
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
  unsigned per_ip_connections; /* connections one client address may hold at once (more are
                                  closed at accept); 0 = no limit */
  unsigned connection_timeout_s; /* idle connections closed after this; 0 = never */
  const char *log_name;    /* log tag; NULL = "httpd" */
  const char *limit_name;  /* named in the 413 message, e.g. "api.max_body"; NULL = none */
  /* TLS. With tls_cert_file and tls_key_file (PEM files) the server speaks
   * HTTPS only (TLS 1.2 or 1.3; a plain-HTTP client gets no answer and is
   * counted in pg_httpd_stats.handshake_failures). With trust (borrowed; it
   * must outlive the server) it also asks every client for a certificate
   * (requested, not required, at the handshake) and verifies it against
   * trust for each request: req->peer says what came of it; the handler
   * decides what a request without a verified member may do. */
  const char *tls_cert_file;
  const char *tls_key_file;
  pg_tls_trust *trust;
  /* Host check: when nhosts > 0, a request whose Host header (without the
   * port; "[v6]" brackets removed; case-insensitive) is none of hosts is
   * answered 421 without calling the handler; a request without Host 400.
   * Copied at start (at most 16 names of < 256 bytes). */
  const char *const *hosts;
  size_t nhosts;
} pg_httpd_opts;

/* Counters since start (monotonic; read at any time from any thread). */
typedef struct pg_httpd_stats {
  uint64_t connections;        /* accepted */
  uint64_t handshake_failures; /* TLS connections closed before any request
                                  (failed handshake, plain HTTP on a TLS port) */
  uint64_t requests;           /* answered */
  uint64_t refused_host;       /* 421 / 400 of the Host check */
  uint64_t peers_unverified;   /* TLS requests whose certificate was missing or refused
                                  (counted with opts.trust only) */
} pg_httpd_stats;
void pg_httpd_get_stats(const pg_httpd *h, pg_httpd_stats *out);

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
/* As pg_httpd_query, but NULL also for a key without '=' ("?type"): such a
 * key counts as absent (the node's TIP-13 routes have always read it so). */
const char *pg_httpd_query_value(const pg_httpd_req *req, const char *key);
/* Value of request header name (case-insensitive); NULL when absent. */
const char *pg_httpd_header(const pg_httpd_req *req, const char *name);

/* ---- response ---- */

/* A JSON body (Content-Type application/json). Takes the reference j (also
 * on failure); j == NULL (a failed json_pack) answers 500 "out of memory". */
void pg_httpd_resp_json(pg_httpd_resp *resp, unsigned status, json_t *j);
/* The status the handler has set so far (0 = none yet: the server would
 * answer 500), e.g. for a latency histogram by status class. */
unsigned pg_httpd_resp_status(const pg_httpd_resp *resp);
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

/* ---- answering later ---- */

typedef struct pg_httpd_later pg_httpd_later;

/* Called by a handler that will answer later (see the contract): returns the
 * handle, or NULL when the server cannot (a thread-per-connection server, one
 * that is stopping, out of memory): the handler then answers now, as usual.
 * The request (req and what its accessors return) is not valid after the
 * handler returns: copy what the answer needs. */
pg_httpd_later *pg_httpd_defer(pg_httpd_resp *resp);
/* The response to fill (with the pg_httpd_resp_* functions) before done. */
pg_httpd_resp *pg_httpd_later_resp(pg_httpd_later *l);
/* Sends the answer; l is gone after the call. Any thread, exactly once. */
void pg_httpd_later_done(pg_httpd_later *l);

/* ---- static assets ---- */

/* Answers path from table (built by pg_embed_assets, cmake/embed.cmake):
 * "/" and a path ending in '/' or naming a directory of the table serve its
 * "index.html"; with "ETag" and "Cache-Control: no-cache", and 304 without a
 * body when the request's If-None-Match names the ETag. Returns true when
 * served, false after answering 404 (the handler may overwrite that).
 * The caller checks the method (GET or HEAD). */
bool pg_httpd_serve_asset(const pg_embed_file *table, const char *path, pg_httpd_resp *resp);
/* The entry for path ("a/b.js" or "/a/b.js", exactly) or NULL. */
const pg_embed_file *pg_embed_find(const pg_embed_file *table, const char *path);

#endif
