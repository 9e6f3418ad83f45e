/* registrar.c — reaching the registration API upstream: over HTTP, or by a
 * direct call of the upstream entity's handler in the same process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pgrid/grid/grid.h"
#include "p2pgrid/client/http_call.h"

typedef struct http_registrar {
  pg_registrar base;
  char url[256];
  char ca[512], cert[512], key[512], crl[512];
  pg_tls_files tls;
  pg_role expect;                    /* the server's certificate role; NONE = any */
  char expect_id[PG_MEMBER_ID_MAX + 1]; /* and id ("" = any) */
} http_registrar;

static int http_call(pg_registrar *r, const char *method, const char *path, const void *body,
                     size_t len, unsigned *status, pg_buf *resp, pg_diag *d) {
  http_registrar *h = (http_registrar *)r;
  char url[512];
  snprintf(url, sizeof url, "%s%s", h->url, path);
  bool https = strncmp(h->url, "https://", 8) == 0;
  pg_http_call_opts o = {.method = method, .url = url, .body = body, .body_len = len,
                         .timeout_ms = 10000, .max_response = 64 * 1024, .tls = &h->tls,
                         .want_peer_cert = https && h->expect != PG_ROLE_NONE};
  pg_http_result res = {0};
  int rc = pg_http_call(&o, &res, d);
  if (rc) return rc;
  if (o.want_peer_cert) { /* the CA vouched for the host name: is it our upstream? */
    pg_member m;
    pg_diag md = {{0}};
    if (!res.peer_der || pg_member_from_cert(res.peer_der, res.peer_der_len, &m, &md) != PG_OK)
      rc = pg_fail(d, PG_ERR_HTTP, "%s: the server's certificate is not a member's: %s", h->url,
                   md.msg[0] ? md.msg : "none");
    else if (m.role != h->expect || (h->expect_id[0] && strcmp(m.id, h->expect_id) != 0))
      rc = pg_fail(d, PG_ERR_HTTP, "%s: the server is %s '%s', not the %s%s%s%s we register with",
                   h->url, pg_role_name(m.role) ? pg_role_name(m.role) : "?", m.id,
                   pg_role_name(h->expect), h->expect_id[0] ? " '" : "", h->expect_id,
                   h->expect_id[0] ? "'" : "");
    if (rc) {
      pg_http_result_free(&res);
      return rc;
    }
  }
  *status = (unsigned)res.status;
  pg_buf_reset(resp);
  pg_buf_put(resp, res.body, res.len);
  pg_http_result_free(&res);
  return pg_buf_status(resp);
}

static void http_destroy(pg_registrar *r) { free(r); }

static const pg_registrar_ops http_ops = {.call = http_call, .destroy = http_destroy};

static int copy_path(char *dst, size_t cap, const char *src, const char *what, pg_diag *d) {
  if (!src) {
    dst[0] = '\0';
    return PG_OK;
  }
  if (strlen(src) >= cap) return pg_fail(d, PG_ERR_CONFIG, "registrar: %s path too long", what);
  memcpy(dst, src, strlen(src) + 1);
  return PG_OK;
}

int pg_registrar_http_new(const char *base_url, const pg_tls_files *tls, pg_role expect,
                          const char *expect_id, pg_registrar **out, pg_diag *d) {
  *out = NULL;
  size_t n = base_url ? strlen(base_url) : 0;
  while (n && base_url[n - 1] == '/') n--;
  bool https = n > 8 && strncmp(base_url, "https://", 8) == 0;
  if (n == 0 || n >= 256 || (!https && strncmp(base_url, "http://", 7) != 0))
    return pg_fail(d, PG_ERR_CONFIG, "registrar: '%s' is not an https:// URL",
                   base_url ? base_url : "(none)");
  if (https && (!tls || !tls->ca_file || !tls->cert_file || !tls->key_file))
    return pg_fail(d, PG_ERR_CONFIG,
                   "registrar: %.*s needs our CA, certificate and key ([tls] ca, cert, key)",
                   (int)n, base_url);
  http_registrar *h = calloc(1, sizeof *h);
  if (!h) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  int rc = PG_OK;
  if (tls) {
    rc = copy_path(h->ca, sizeof h->ca, tls->ca_file, "CA", d);
    if (!rc) rc = copy_path(h->cert, sizeof h->cert, tls->cert_file, "certificate", d);
    if (!rc) rc = copy_path(h->key, sizeof h->key, tls->key_file, "key", d);
    if (!rc) rc = copy_path(h->crl, sizeof h->crl, tls->crl_file, "CRL", d);
  }
  if (rc) {
    free(h);
    return rc;
  }
  h->tls = (pg_tls_files){h->ca[0] ? h->ca : NULL, h->cert[0] ? h->cert : NULL,
                          h->key[0] ? h->key : NULL, h->crl[0] ? h->crl : NULL};
  h->expect = expect;
  snprintf(h->expect_id, sizeof h->expect_id, "%s", expect_id ? expect_id : "");
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
  pg_httpd_peer peer; /* what a verified TLS client of `as` would be */
} local_registrar;

static int local_call(pg_registrar *r, const char *method, const char *path, const void *body,
                      size_t len, unsigned *status, pg_buf *resp, pg_diag *d) {
  local_registrar *l = (local_registrar *)r;
  int rc = l->h(l->ctx, &l->peer, method, path, body, len, status, resp);
  if (rc) return pg_fail(d, rc, "registration handler failed");
  return PG_OK;
}

static void local_destroy(pg_registrar *r) { free(r); }

static const pg_registrar_ops local_ops = {.call = local_call, .destroy = local_destroy};

int pg_registrar_local_new(pg_registration_handler h, void *ctx, const pg_tls_key *as,
                           pg_registrar **out, pg_diag *d) {
  *out = NULL;
  if (!h) return pg_fail(d, PG_ERR_INVALID, "registrar: no handler");
  local_registrar *l = calloc(1, sizeof *l);
  if (!l) return pg_fail(d, PG_ERR_NOMEM, "out of memory");
  l->base.ops = &local_ops;
  l->h = h;
  l->ctx = ctx;
  snprintf(l->peer.addr, sizeof l->peer.addr, "in-process");
  snprintf(l->peer.why, sizeof l->peer.why, "no client certificate");
  if (as) {
    size_t n = 0;
    const uint8_t *der = pg_tls_key_cert_der(as, &n);
    int rc = der ? pg_member_from_cert(der, n, &l->peer.member, d)
                 : pg_fail(d, PG_ERR_INVALID, "registrar: the key has no certificate");
    if (rc) {
      free(l);
      return rc;
    }
    l->peer.tls = l->peer.has_cert = l->peer.verified = true;
    l->peer.why[0] = '\0';
    l->peer.cert_der = der;
    l->peer.cert_len = n;
  }
  *out = &l->base;
  return PG_OK;
}

void pg_registrar_free(pg_registrar *r) {
  if (r) r->ops->destroy(r);
}
