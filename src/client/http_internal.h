/* http_internal.h — libcurl plumbing shared by http.c (the node client) and
 * http_call.c (single calls); not a public contract. */
#ifndef P2PGRID_CLIENT_HTTP_INTERNAL_H
#define P2PGRID_CLIENT_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "p2pgrid/base/buf.h"
#include "p2pgrid/base/err.h"
#include "p2pgrid/client/http_call.h"

#define PG_BEARER_MAX 1024 /* bytes of a bearer token */

/* Initialises libcurl once per process (thread-safe); PG_ERR_HTTP if that failed. */
PG_NODISCARD int pg_libcurl_init(pg_diag *d);

/* Sets the options every request has: url, no signals, TCP keep-alive and
 * no-delay, the two timeouts, no redirects, http(s) only, a response cap of
 * max_response bytes, the body appended to resp (whose limit should be
 * max_response), libcurl's error text into errbuf (CURL_ERROR_SIZE bytes). */
CURLcode pg_libcurl_common(CURL *c, const char *url, long connect_timeout_ms, long timeout_ms,
                           size_t max_response, pg_buf *resp, char *errbuf);

/* TLS options: the peer is always verified (certificate and host name).
 * tls (may be NULL) names the CA (then the only one trusted), our client
 * certificate and key, and a CRL; want_peer_cert collects the server's
 * chain (pg_libcurl_peer_cert). Ignored by libcurl for http:// URLs. */
CURLcode pg_libcurl_tls(CURL *c, const pg_tls_files *tls, bool want_peer_cert);

/* Checks a bearer token (1..PG_BEARER_MAX printable ASCII bytes, no
 * spaces) and appends "Authorization: Bearer <token>" to *hdrs. what names
 * the call in diags. */
PG_NODISCARD int pg_libcurl_bearer(struct curl_slist **hdrs, const char *token, const char *what,
                                   pg_diag *d);

/* After a performed request with want_peer_cert: the server's leaf
 * certificate as malloc'd DER into *der (NULL and 0 when the connection was
 * not TLS). */
PG_NODISCARD int pg_libcurl_peer_cert(CURL *c, uint8_t **der, size_t *len, const char *what,
                                      pg_diag *d);

/* Performs the request set up on c. On an HTTP answer *status gets its
 * status. Transport failures map to PG_ERR_TIMEOUT, PG_ERR_TOO_LARGE,
 * PG_ERR_NOMEM or PG_ERR_HTTP, with a diag "<what> to <where>: <why>"
 * (" to <where>" left out when where is NULL); TLS failures say
 * "<what>...: TLS: <what went wrong> (<libcurl's text>)". */
PG_NODISCARD int pg_libcurl_perform(CURL *c, const pg_buf *resp, size_t max_response,
                                    const char *errbuf, const char *what, const char *where,
                                    long *status, pg_diag *d);

#endif
