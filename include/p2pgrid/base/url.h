/* p2pgrid/base/url.h — the check an HTTP(S) URL from configuration or the
 * command line passes before it reaches libcurl (the node client's base URL,
 * pg_http_call's URL).
 *
 * Ownership: nothing is allocated.
 * Errors: pg_url_http_ok returns false for a URL it refuses (see below).
 * Threads: pure, thread-safe. */
#ifndef P2PGRID_BASE_URL_H
#define P2PGRID_BASE_URL_H

#include <stdbool.h>

/* Whether the NUL-terminated u starts with "http://" or "https://" and holds
 * no byte <= 0x20 (space, tab, CR, LF and other controls) and no DEL (0x7f):
 * nothing that could split a request line or a header. Bytes >= 0x80 pass
 * (libcurl percent-encodes them). NULL -> false. */
bool pg_url_http_ok(const char *u);

#endif
