/* asset.c — serving files compiled in by pg_embed_assets (cmake/embed.cmake). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "p2pgrid/base/strhash.h"
#include "httpd_internal.h"

const pg_embed_file *pg_embed_find(const pg_embed_file *table, const char *path) {
  while (*path == '/') path++;
  for (const pg_embed_file *a = table; a && a->path; a++)
    if (strcmp(a->path, path) == 0) return a;
  return NULL;
}

/* Whether some entry lies below directory dir (dir has no trailing '/'). */
static bool is_dir(const pg_embed_file *table, const char *dir, size_t n) {
  for (const pg_embed_file *a = table; a && a->path; a++)
    if (strncmp(a->path, dir, n) == 0 && a->path[n] == '/') return true;
  return false;
}

/* Whether an If-None-Match list names etag ("*" matches anything). */
static bool etag_matches(const char *inm, const char *etag) {
  size_t el = strlen(etag);
  for (const char *p = inm; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',') p++;
    if (strncmp(p, "W/", 2) == 0) p += 2;
    const char *e = p;
    while (*e && *e != ',') e++;
    size_t l = (size_t)(e - p);
    while (l && (p[l - 1] == ' ' || p[l - 1] == '\t')) l--;
    if ((l == 1 && *p == '*') || (l == el && memcmp(p, etag, el) == 0)) return true;
    p = e;
  }
  return false;
}

bool pg_httpd_serve_asset(const pg_embed_file *table, const char *path, pg_httpd_resp *resp) {
  char name[512];
  while (*path == '/') path++;
  size_t n = strlen(path);
  const pg_embed_file *a = NULL;
  if (n + sizeof "/index.html" <= sizeof name) {
    if (n == 0 || path[n - 1] == '/') {
      snprintf(name, sizeof name, "%sindex.html", path);
      a = pg_embed_find(table, name);
    } else if (!(a = pg_embed_find(table, path)) && is_dir(table, path, n)) {
      snprintf(name, sizeof name, "%s/index.html", path);
      a = pg_embed_find(table, name);
    }
  }
  if (!a) {
    pg_httpd_error(resp, 404, NULL, "no such file: /%.200s", path);
    return false;
  }
  char etag[24];
  snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)pg_fnv1a64(a->data, a->len));
  const char *inm = resp->req ? pg_httpd_header(resp->req, "If-None-Match") : NULL;
  if (inm && etag_matches(inm, etag))
    pg_httpd_resp_empty(resp, 304);
  else
    pg_httpd_resp_static(resp, 200, a->content_type, a->data, a->len);
  if (pg_httpd_resp_header(resp, "ETag", etag) ||
      pg_httpd_resp_header(resp, "Cache-Control", "no-cache")) {
    pg_httpd_error(resp, 500, NULL, "internal error: too many headers");
    return false;
  }
  return true;
}
