/* web.c — serves the embedded dashboard and explorer (p2pgrid/web/web.h). */
#include <string.h>

#include "p2pgrid/web/web.h"

bool pg_web_dashboard_serve(const char *path, pg_httpd_resp *resp) {
  return pg_httpd_serve_asset(pg_web_dashboard_assets, path && *path ? path : "/", resp);
}

bool pg_web_is_explorer_path(const char *path) {
  return path && strncmp(path, "/explorer", 9) == 0 && (path[9] == '\0' || path[9] == '/');
}

bool pg_web_explorer_serve(const char *path, pg_httpd_resp *resp) {
  if (!pg_web_is_explorer_path(path)) {
    pg_httpd_error(resp, 404, NULL, "not an explorer path");
    return false;
  }
  const char *rest = path + 9; /* "" or "/..." */
  return pg_httpd_serve_asset(pg_web_explorer_assets, *rest ? rest : "/", resp);
}
