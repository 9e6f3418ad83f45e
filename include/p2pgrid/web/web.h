/* p2pgrid/web/web.h — the browser apps compiled into the binary (web/, see
 * cmake/embed.cmake): the grid dashboard served by `p2pgrid grid` at "/",
 * and the Tangle explorer served by `p2pgrid node` at "/explorer".
 *
 * Both are plain HTML/CSS/JS (no build step, no network at run time); they
 * read the JSON APIs of the process that serves them. The caller checks the
 * method (GET or HEAD) and that the path is not one of its API routes.
 *
 * Ownership: the assets are static data compiled in (embed.h); nothing to free.
 * The response is the caller's, filled as pg_httpd_serve_asset does.
 * Errors: none as codes: an unknown path is answered with 404 and false is
 * returned.
 * Threads: read-only data; any thread, as the httpd handlers run. */
#ifndef P2PGRID_WEB_WEB_H
#define P2PGRID_WEB_WEB_H

#include <stdbool.h>

#include "p2pgrid/base/embed.h"
#include "p2pgrid/httpd/httpd.h"

PG_EMBEDDED(pg_web_dashboard_assets); /* web/dashboard */
PG_EMBEDDED(pg_web_explorer_assets);  /* web/explorer */

/* Answers path ("/", "/app.js", ...) from web/dashboard; true when served,
 * false after answering 404 (see pg_httpd_serve_asset). */
bool pg_web_dashboard_serve(const char *path, pg_httpd_resp *resp);

/* True for "/explorer" and "/explorer/..." (the explorer's paths). */
bool pg_web_is_explorer_path(const char *path);
/* Answers "/explorer", "/explorer/" (index.html) and "/explorer/<file>" from
 * web/explorer; false after answering 404 for an unknown file. */
bool pg_web_explorer_serve(const char *path, pg_httpd_resp *resp);

#endif
