/* p2pgrid/base/embed.h — files compiled into the binary.
 *
 * cmake/embed.cmake's pg_embed_assets(TARGET SYMBOL DIR) turns every file
 * under DIR (names starting with '.' left out) into a generated C file
 * defining `const pg_embed_file SYMBOL[]`, sorted by path and ended by an entry
 * whose path is NULL. Declare it where it is used with PG_EMBEDDED(SYMBOL);
 * serve it with pg_httpd_serve_asset (httpd.h).
 *
 * Ownership: every field is static data: nothing to free.
 * Errors: none: declarations only, nothing here can fail.
 * Threads: read-only data; any thread. */
#ifndef P2PGRID_BASE_EMBED_H
#define P2PGRID_BASE_EMBED_H

#include <stddef.h>

typedef struct pg_embed_file {
  const char *path;         /* relative to DIR, '/'-separated, no leading '/': "js/app.js" */
  const char *content_type; /* from the extension, e.g. "text/html; charset=utf-8" */
  const unsigned char *data;/* len bytes, followed by a NUL (not counted) */
  size_t len;
} pg_embed_file;

#define PG_EMBEDDED(symbol) extern const pg_embed_file symbol[]

#endif
