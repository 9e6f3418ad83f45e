/* url.c — HTTP(S) URL check (p2pgrid/base/url.h). */
#include <string.h>

#include "p2pgrid/base/url.h"

bool pg_url_http_ok(const char *u) {
  if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) return false;
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) return false;
  return true;
}
