/* http_internal.h — libcurl plumbing shared by http.c (the node client) and
 * http_call.c (single calls); not a public contract. */
#ifndef P2PGRID_CLIENT_HTTP_INTERNAL_H
#define P2PGRID_CLIENT_HTTP_INTERNAL_H

#include <stddef.h>

#include <curl/curl.h>

#include "p2pgrid/buf.h"
#include "p2pgrid/err.h"

/* Initialises libcurl once per process (thread-safe); PG_ERR_HTTP if that failed. */
PG_NODISCARD int pg_libcurl_init(pg_diag *d);

/* Sets the options every request has: url, no signals, TCP keep-alive and
 * no-delay, the two timeouts, no redirects, http(s) only, a response cap of
 * max_response bytes, the body appended to resp (whose limit should be
 * max_response), libcurl's error text into errbuf (CURL_ERROR_SIZE bytes). */
CURLcode pg_libcurl_common(CURL *c, const char *url, long connect_timeout_ms, long timeout_ms,
                           size_t max_response, pg_buf *resp, char *errbuf);

/* Performs the request set up on c. On an HTTP answer *status gets its
 * status. Transport failures map to PG_ERR_TIMEOUT, PG_ERR_TOO_LARGE,
 * PG_ERR_NOMEM or PG_ERR_HTTP, with a diag "<what> to <where>: <why>"
 * (" to <where>" left out when where is NULL). */
PG_NODISCARD int pg_libcurl_perform(CURL *c, const pg_buf *resp, size_t max_response,
                                    const char *errbuf, const char *what, const char *where,
                                    long *status, pg_diag *d);

#endif
