/* registrar.c — reaching the registration API upstream: over HTTP, or by a
 * direct call of the upstream entity's handler in the same process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/grid.h"
#include "p2pgrid/http_call.h"

typedef struct http_registrar {
  pg_registrar base;
  char url[256];
} http_registrar;

static int http_call(pg_registrar *r, const char *method, const char *path, const void *body,
                     size_t len, unsigned *status, pg_buf *resp, pg_diag *d) {
  http_registrar *h = (http_registrar *)r;
  char url[512];
  snprintf(url, sizeof url, "%s%s", h->url, path);
  pg_http_call_opts o = {.method = method, .url = url, .body = body, .body_len = len,
                         .timeout_ms = 10000, .max_response = 64 * 1024};
  pg_http_result res = {0};
  int rc = pg_http_call(&o, &res, d);
  if (rc) return rc;
  *status = (unsigned)res.status;
  pg_buf_reset(resp);
  pg_buf_put(resp, res.body, res.len);
  pg_http_result_free(&res);
  return pg_buf_status(resp);
}

static void http_destroy(pg_registrar *r) { free(r); }

static const pg_registrar_ops http_ops = {.call = http_call, .destroy = http_destroy};

int pg_registrar_http_new(const char *base_url, pg_registrar **out, pg_diag *d) {
  *out = NULL;
  size_t n = base_url ? strlen(base_url) : 0;
  while (n && base_url[n - 1] == '/') n--;
  if (n == 0 || n >= 256 || (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0))
    return pg_fail(d, PG_ERR_CONFIG, "registrar: '%s' is not an http:// URL",
                   base_url ? base_url : "(none)");
  http_registrar *h = calloc(1, sizeof *h);
  if (!h) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  h->base.ops = &http_ops;
  memcpy(h->url, base_url, n);
  h->url[n] = 0;
  *out = &h->base;
  return PG_OK;
}

typedef struct local_registrar {
  pg_registrar base;
  pg_registration_handler h;
  void *ctx;
} local_registrar;

static int local_call(pg_registrar *r, const char *method, const char *path, const void *body,
                      size_t len, unsigned *status, pg_buf *resp, pg_diag *d) {
  local_registrar *l = (local_registrar *)r;
  int rc = l->h(l->ctx, method, path, body, len, status, resp);
  if (rc) return pg_fail(d, rc, "registration handler failed");
  return PG_OK;
}

static void local_destroy(pg_registrar *r) { free(r); }

static const pg_registrar_ops local_ops = {.call = local_call, .destroy = local_destroy};

int pg_registrar_local_new(pg_registration_handler h, void *ctx, pg_registrar **out, pg_diag *d) {
  *out = NULL;
  if (!h) return pg_fail(d, PG_ERR_INVALID, "registrar: no handler");
  local_registrar *l = calloc(1, sizeof *l);
  if (!l) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  l->base.ops = &local_ops;
  l->h = h;
  l->ctx = ctx;
  *out = &l->base;
  return PG_OK;
}

void pg_registrar_free(pg_registrar *r) {
  if (r) r->ops->destroy(r);
}
