/* p2pgrid/client/http_call.h — one HTTP request over libcurl, for talking to
 * anything that is not a node (entities' registration APIs, a dashboard's
 * backend); pg_client (client.h) is for nodes.
 *
 * Usage:
 *   pg_http_call_opts o = {.method = "PUT", .url = "http://127.0.0.1:8080/registration/1",
 *                          .body = json, .body_len = strlen(json)};
 *   pg_http_result r = {0};
 *   if (pg_http_call(&o, &r, &d)) ...          transport failure, d says why
 *   if (r.status != 201) ...                   any HTTP status is a completed call
 *   use r.body (r.len bytes, NUL-terminated)
 *   pg_http_result_free(&r);
 *
 * Errors: returns 0 when an HTTP answer arrived, whatever its status; the caller
 * checks status. Failures name the method and URL in the diag:
 * PG_ERR_TIMEOUT (connect or whole-call timeout), PG_ERR_TOO_LARGE (body over
 * max_response), PG_ERR_NOMEM, PG_ERR_INVALID (bad opts: no method, a method
 * that is not an upper-case token, a URL not starting with http:// or
 * https:// or holding spaces), PG_ERR_HTTP (refused, reset, bad answer).
 * Ownership: *out is cleared first; on success it owns body and peer_der (free
 * with pg_http_result_free, which is also safe after a failure and twice). opts
 * and its strings are borrowed for the call only.
 *
 * Contract:
 * - No redirects are followed; no "Expect: 100-continue".
 * - https:// always verifies the server: its certificate must chain to
 *   tls->ca_file (then the only CA trusted; without it the system's CAs),
 *   name the URL's host, and not be revoked by tls->crl_file. TLS failures
 *   are PG_ERR_HTTP with a diag "<METHOD> <URL>: TLS: <problem> (<libcurl's
 *   text>)", problem e.g. "server certificate not trusted", "handshake
 *   failed", "client certificate refused by the server", "our client
 *   certificate or key cannot be used", "the CA file cannot be used".
 * - An http:// URL with tls set is allowed: the files are ignored (nothing
 *   is checked, nothing is read), and want_peer_cert gives no certificate.
 * - bearer must be 1..1024 printable ASCII bytes without spaces, else
 *   PG_ERR_INVALID (no header injection). Over http:// it travels in clear.
 *
 * Threads: each call has its own libcurl handle (and connection), so calls
 * may run in parallel from any thread. The first call in a process
 * initialises libcurl (thread-safe). */
#ifndef P2PGRID_CLIENT_HTTP_CALL_H
#define P2PGRID_CLIENT_HTTP_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2pgrid/base/err.h"

/* TLS material of a client (PEM files; each may be NULL). With ca_file the
 * server's certificate must chain to it (and name the URL's host); without
 * it the system's CA store is used. cert_file + key_file: our client
 * certificate. crl_file: revoked server certificates. */
typedef struct pg_tls_files {
  const char *ca_file, *cert_file, *key_file, *crl_file;
} pg_tls_files;

typedef struct pg_http_call_opts {
  const char *method;          /* required: "GET", "POST", "PUT", "DELETE", ... */
  const char *url;             /* required: "http://host:port/path?query" */
  const void *body;            /* optional request body (body_len bytes) */
  size_t body_len;
  const char *content_type;    /* of the body; NULL = "application/json" */
  unsigned timeout_ms;         /* the whole call; 0 = 10000 */
  unsigned connect_timeout_ms; /* 0 = 5000 */
  size_t max_response;         /* response body cap in bytes; 0 = 1 MiB */
  const pg_tls_files *tls;     /* for https:// (may be NULL: system CAs, no client cert) */
  const char *bearer;          /* "Authorization: Bearer <bearer>" when set */
  bool want_peer_cert;         /* https: return the server's leaf certificate (DER) */
} pg_http_call_opts;

typedef struct pg_http_result {
  long status;            /* HTTP status, e.g. 200 */
  char *body;             /* owned; NUL-terminated (may hold NULs before len) */
  size_t len;             /* bytes of body without the final NUL */
  char content_type[128]; /* the answer's Content-Type ("" if none; cut if longer) */
  uint8_t *peer_der;      /* owned: the server's leaf certificate (want_peer_cert), or NULL */
  size_t peer_der_len;
} pg_http_result;

PG_NODISCARD int pg_http_call(const pg_http_call_opts *o, pg_http_result *out, pg_diag *d);
/* Frees r->body and clears r. NULL is a no-op. */
void pg_http_result_free(pg_http_result *r);

#endif
