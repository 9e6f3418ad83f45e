/* http_client.h — the HTTP node client's object and the request helpers
 * shared by http.c (set-up, single requests, the vtable) and http_batch.c
 * (the batched routes); private to src/client; not a public contract.
 *
 * Ownership: a http_client is made by pg_client_http_new and freed by its
 * destroy op; h->resp and h->req are the client's and reused by every
 * request, so the answer of one request is valid until the next.
 * Errors: PG_OK or a negative pg_err with a diag naming the route ("GET
 * /api/v1/info", "POST /api/plugins/data/batch").
 * Threads: a http_client is not thread-safe (one CURL handle, reused). */
#ifndef P2PGRID_CLIENT_HTTP_CLIENT_H
#define P2PGRID_CLIENT_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/base/json.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/client/http_call.h"

#define ROUTE_MAX 512
#define ERRTEXT_MAX 180 /* node error text kept in a diag */
#define BATCH_BODY_MAX (64u << 10) /* under the node's default api.max_body, 96 KiB */
#define BATCH_BODY_MIN (4u << 10) /* the cap halves down to this; a lone item goes whatever its size */

typedef struct http_client {
  pg_client base; /* first: a pg_client* is a http_client* */
  CURL *curl;
  char *base_url;  /* no trailing '/' */
  char *base_path; /* starts and ends with '/' */
  long connect_timeout_ms;
  long timeout_ms;
  size_t max_response;
  pg_buf resp; /* response body of the last request (reused) */
  pg_buf req;  /* request body scratch (reused) */
  struct curl_slist *hdr_json;
  struct curl_slist *hdr_octet;
  struct curl_slist *hdr_get;
  char errbuf[CURL_ERROR_SIZE];
  /* TLS (copied from the options; tls.* point into the strings) */
  bool has_tls;
  pg_tls_files tls;
  /* data batches (POST /api/plugins/data/batch): off for good once the node
   * says it takes none (404, 501, 403, 405, 415); the body cap halves on a
   * 413 */
  bool no_batch;
  size_t batch_cap;
  /* lookups in batches (POST /api/plugins/data/find): off for good once the
   * node says it has no such route for us (no_find_route); keys a request,
   * halved on a 413 (a node whose api.max_body is under a full request) */
  bool no_find;
  size_t find_cap;
  /* output lookups in batches (POST /api/plugins/data/outputs): the same */
  bool no_outputs;
  size_t outputs_cap;
  char *ca_file, *cert_file, *key_file, *crl_file;
} http_client;

/* ---- requests (http.c) ---- */

/* Copies up to ERRTEXT_MAX bytes of s (n bytes) into out, control characters
 * as '?', so a node cannot put line breaks into our diagnostics. */
void pg_http_clean_text(const char *s, size_t n, char *out, size_t cap);

/* Performs one request. route is relative to base_path unless absolute is
 * set. On success (any HTTP status) *status is set and h->resp holds the
 * body. Transport failures return an error with a diag naming the route. */
PG_NODISCARD int pg_http_do(http_client *h, const char *method, const char *route, bool absolute,
                            const char *ctype, const void *body, size_t body_len, long *status,
                            char *what, size_t what_cap, pg_diag *d);

/* Fails with status's pg_err (pg_client_http_status_err) and a diag "HTTP
 * <status> from <what>: <the node's explanation in h->resp>". */
PG_NODISCARD int pg_http_status_fail(const http_client *h, long status, const char *what,
                                     pg_diag *d);

/* Request with a JSON answer; *data gets a new reference to the envelope's
 * "data" value. */
PG_NODISCARD int pg_http_json_at(http_client *h, const char *method, const char *route,
                                 bool absolute, const char *ctype, const void *body,
                                 size_t body_len, json_t **data, char *what, size_t what_cap,
                                 pg_diag *d);

/* A bad (non-TIP-13) answer: inner names the field. */
static inline int bad_answer(const char *what, const pg_diag *inner, pg_diag *d) {
  return pg_fail(d, PG_ERR_HTTP, "bad answer to %s: %s", what, inner->msg);
}

/* A message id in hex at obj[key] (errors go into d, the caller wraps them). */
static inline int get_id(const json_t *obj, const char *key, uint8_t out[PG_ID_LEN], pg_diag *d) {
  return pg_json_get_hex(obj, key, out, PG_ID_LEN, d);
}

/* ---- batched routes (http_batch.c): the vtable's optional ops ---- */

void pg_http_submit_data_many(pg_client *c, pg_client_data *v, size_t n);
void pg_http_find_many(pg_client *c, pg_client_found *v, size_t n);
void pg_http_outputs_many(pg_client *c, pg_client_output_got *v, size_t n, bool raw);
size_t pg_http_outputs_batch(const pg_client *c);

#endif
