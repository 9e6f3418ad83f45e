/* cert.c — building blocks for certificates and requests: option checks,
 * keys, subject names and subjectAltNames. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>

#include "tls_internal.h"

#define DAYS_MAX 36500u

void pg_tls__random_serial(uint8_t serial[TLS_SERIAL_LEN]) {
  if (gnutls_rnd(GNUTLS_RND_NONCE, serial, TLS_SERIAL_LEN) < 0) abort();
  serial[0] &= 0x7f;
  if (serial[0] == 0) serial[0] = 1;
}

/* A DNS name we put into a certificate: 1..253 of [A-Za-z0-9.-]. */
static bool valid_dns(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 253 || s[0] == '.' || s[0] == '-') return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == '-'))
      return false;
  }
  return true;
}

static int check_hosts(const pg_cert_opts *o, const char *what, pg_diag *d) {
  uint8_t ip[16];
  if (o->nhosts > PG_MEMBER_NAMES_MAX)
    return pg_fail(d, PG_ERR_INVALID, "%s: %zu hosts, at most %d", what, o->nhosts,
                   PG_MEMBER_NAMES_MAX);
  if (o->nhosts && !o->hosts) return pg_fail(d, PG_ERR_INVALID, "%s: no host list", what);
  for (size_t i = 0; i < o->nhosts; i++) {
    const char *h = o->hosts[i];
    if (!h) return pg_fail(d, PG_ERR_INVALID, "%s: host %zu missing", what, i + 1);
    if (inet_pton(AF_INET, h, ip) == 1 || inet_pton(AF_INET6, h, ip) == 1) continue;
    if (!valid_dns(h))
      return pg_fail(d, PG_ERR_INVALID, "%s: host '%.64s' is neither an IP address nor a DNS name",
                     what, h);
  }
  return PG_OK;
}

int pg_tls__check_opts(const pg_cert_opts *o, const char *what, pg_diag *d) {
  if (!o) return pg_fail(d, PG_ERR_INVALID, "%s: no options", what);
  if (!o->id || !pg_tls__valid_id(o->id, strlen(o->id)))
    return pg_fail(d, PG_ERR_INVALID, "%s: id '%.64s' is not 1 to 64 of A-Z a-z 0-9 . _ -",
                   what, o->id ? o->id : "");
  if (!pg_role_name(o->role)) return pg_fail(d, PG_ERR_INVALID, "%s: no role", what);
  bool has_parent = o->parent && o->parent[0];
  if (o->role == PG_ROLE_SOURCE && !has_parent)
    return pg_fail(d, PG_ERR_INVALID, "%s: a source needs its producer as parent", what);
  if (o->role != PG_ROLE_SOURCE && has_parent)
    return pg_fail(d, PG_ERR_INVALID, "%s: a %s has no parent (only sources do)", what,
                   pg_role_name(o->role));
  if (has_parent && !pg_tls__valid_id(o->parent, strlen(o->parent)))
    return pg_fail(d, PG_ERR_INVALID, "%s: parent '%.64s' is not a member id", what, o->parent);
  if (o->max_w > PG_MEMBER_MAX_W)
    return pg_fail(d, PG_ERR_INVALID, "%s: max_w %llu is over 10^12 W", what,
                   (unsigned long long)o->max_w);
  if (o->days > DAYS_MAX)
    return pg_fail(d, PG_ERR_INVALID, "%s: %u days of validity, at most %u", what, o->days,
                   DAYS_MAX);
  return check_hosts(o, what, d);
}

int pg_tls__datum_str(gnutls_datum_t *dt, bool secret, char **out, pg_diag *d) {
  int rc = PG_OK;
  char *s = malloc((size_t)dt->size + 1);
  if (!s) {
    rc = pg_fail(d, PG_ERR_NOMEM, "out of memory");
  } else {
    memcpy(s, dt->data, dt->size);
    s[dt->size] = '\0';
    *out = s;
  }
  if (secret && dt->data) gnutls_memset(dt->data, 0, dt->size);
  gnutls_free(dt->data);
  dt->data = NULL;
  dt->size = 0;
  return rc;
}

int pg_tls__new_key(gnutls_x509_privkey_t *key, char **pem, pg_diag *d) {
  gnutls_x509_privkey_t k = NULL;
  gnutls_datum_t dt = {NULL, 0};
  int rc = PG_OK;
  int g = gnutls_x509_privkey_init(&k);
  if (g == 0)
    g = gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA,
                                     GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
  if (g == 0 && pem)
    g = gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &dt);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "key: cannot generate an ECDSA P-256 key (%s)",
                 gnutls_strerror(g));
    goto out;
  }
  if (pem) {
    rc = pg_tls__datum_str(&dt, true, pem, d);
    if (rc) goto out;
  }
  *key = k;
  k = NULL;
out:
  if (k) gnutls_x509_privkey_deinit(k);
  return rc;
}

static int set_dn(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq, const char *oid, const char *v) {
  unsigned n = (unsigned)strlen(v);
  return crt ? gnutls_x509_crt_set_dn_by_oid(crt, oid, 0, v, n)
             : gnutls_x509_crq_set_dn_by_oid(crq, oid, 0, v, n);
}

static int set_san(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq, gnutls_x509_subject_alt_name_t t,
                   const void *v, size_t n) {
  return crt ? gnutls_x509_crt_set_subject_alt_name(crt, t, v, (unsigned)n, GNUTLS_FSAN_APPEND)
             : gnutls_x509_crq_set_subject_alt_name(crq, t, v, (unsigned)n, GNUTLS_FSAN_APPEND);
}

int pg_tls__set_names(gnutls_x509_crt_t crt, gnutls_x509_crq_t crq, const pg_cert_opts *o,
                      pg_diag *d) {
  char uri[96];
  uint8_t ip[16];
  int g = set_dn(crt, crq, GNUTLS_OID_X520_COMMON_NAME, o->id);
  if (g == 0) g = set_dn(crt, crq, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, pg_role_name(o->role));
  if (g == 0 && o->parent && o->parent[0]) {
    snprintf(uri, sizeof uri, "urn:p2pgrid:parent:%s", o->parent);
    g = set_san(crt, crq, GNUTLS_SAN_URI, uri, strlen(uri));
  }
  if (g == 0 && o->max_w) {
    snprintf(uri, sizeof uri, "urn:p2pgrid:max-w:%llu", (unsigned long long)o->max_w);
    g = set_san(crt, crq, GNUTLS_SAN_URI, uri, strlen(uri));
  }
  for (size_t i = 0; g == 0 && i < o->nhosts; i++) {
    const char *h = o->hosts[i];
    if (inet_pton(AF_INET, h, ip) == 1) g = set_san(crt, crq, GNUTLS_SAN_IPADDRESS, ip, 4);
    else if (inet_pton(AF_INET6, h, ip) == 1) g = set_san(crt, crq, GNUTLS_SAN_IPADDRESS, ip, 16);
    else g = set_san(crt, crq, GNUTLS_SAN_DNSNAME, h, strlen(h));
  }
  if (g < 0)
    return pg_fail(d, PG_ERR_CRYPTO, "%s: cannot set the names (%s)",
                   crt ? "certificate" : "request", gnutls_strerror(g));
  return PG_OK;
}
