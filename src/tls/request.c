/* request.c — the CA signs a certificate request (p2pgrid/tls/tls.h). */
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

static int crq_import(const void *data, size_t len, gnutls_x509_crq_t *out, pg_diag *d) {
  const uint8_t *p = data;
  char *text = NULL;
  gnutls_x509_crq_t crq = NULL;
  int rc = PG_OK;
  if (!data || len == 0) return pg_fail(d, PG_ERR_INVALID, "request: empty");
  if (len > TLS_CERT_MAX)
    return pg_fail(d, PG_ERR_INVALID, "request: larger than %d bytes", TLS_CERT_MAX);
  size_t i = 0;
  while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
  bool pem = len - i >= 11 && memcmp(p + i, "-----BEGIN ", 11) == 0;
  if (pem && !(text = malloc(len + 1))) return pg_fail(d, PG_ERR_NOMEM, "request: out of memory");
  if (text) {
    memcpy(text, data, len);
    text[len] = '\0';
  }
  gnutls_datum_t dt = {text ? (unsigned char *)text : (unsigned char *)p, (unsigned)len};
  int g = gnutls_x509_crq_init(&crq);
  if (g == 0) g = gnutls_x509_crq_import(crq, &dt, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "request: does not parse as PKCS#10 (%s)", gnutls_strerror(g));
    goto out;
  }
  *out = crq;
  crq = NULL;
out:
  if (crq) gnutls_x509_crq_deinit(crq);
  free(text);
  return rc;
}

/* The request says m; the operator expects e. */
static int check_expect(const pg_member *m, const pg_cert_opts *e, pg_diag *d) {
  if (!e) return PG_OK;
  if (e->id && strcmp(e->id, m->id) != 0)
    return pg_fail(d, PG_ERR_INVALID, "request: id is '%s', expected '%.64s'", m->id, e->id);
  if (e->role && e->role != m->role)
    return pg_fail(d, PG_ERR_INVALID, "request: role is %s, expected %s", pg_role_name(m->role),
                   pg_role_name(e->role) ? pg_role_name(e->role) : "?");
  if (e->parent && e->parent[0] && strcmp(e->parent, m->parent) != 0)
    return pg_fail(d, PG_ERR_INVALID, "request: parent is '%s', expected '%.64s'",
                   m->parent[0] ? m->parent : "(none)", e->parent);
  return PG_OK;
}

static int check_key(gnutls_pubkey_t pub, pg_diag *d) {
  unsigned bits = 0;
  int alg = gnutls_pubkey_get_pk_algorithm(pub, &bits);
  if (alg != GNUTLS_PK_ECDSA || bits != 256)
    return pg_fail(d, PG_ERR_INVALID, "request: the key is %s/%u bits, not ECDSA P-256",
                   gnutls_pk_get_name((gnutls_pk_algorithm_t)(alg < 0 ? 0 : alg)) ?: "unknown",
                   bits);
  return PG_OK;
}

int pg_ca_sign_request(pg_ca *ca, const void *csr, size_t len, const pg_cert_opts *expect,
                       unsigned days, char **cert_pem, pg_diag *d) {
  gnutls_x509_crq_t crq = NULL;
  gnutls_pubkey_t pub = NULL;
  pg_member m;
  const char *hosts[PG_MEMBER_NAMES_MAX];
  int rc = crq_import(csr, len, &crq, d);
  if (rc) return rc;
  if (gnutls_x509_crq_verify(crq, 0) < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "request: its signature does not verify");
    goto out;
  }
  rc = pg_tls__member_from_crq(crq, &m, d);
  if (rc == PG_OK) rc = check_expect(&m, expect, d);
  if (rc) goto out;
  for (size_t i = 0; i < m.nnames; i++) hosts[i] = m.names[i];
  pg_cert_opts o = {.id = m.id, .role = m.role, .parent = m.parent, .max_w = m.max_w,
                    .hosts = hosts, .nhosts = m.nnames, .days = days};
  rc = pg_tls__check_opts(&o, "request", d);
  if (rc) goto out;
  int g = gnutls_pubkey_init(&pub);
  if (g == 0) g = gnutls_pubkey_import_x509_crq(pub, crq, 0);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "request: unreadable public key (%s)", gnutls_strerror(g));
    goto out;
  }
  rc = check_key(pub, d);
  if (rc == PG_OK) rc = pg_tls__ca_sign_member(ca, &o, pub, days, cert_pem, d);
out:
  if (pub) gnutls_pubkey_deinit(pub);
  if (crq) gnutls_x509_crq_deinit(crq);
  return rc;
}
