/* key.c — a member's key: loading with its certificate, deterministic
 * ECDSA-SHA256 signatures and their verification (p2pgrid/tls/tls.h). */
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

struct pg_tls_key {
  gnutls_privkey_t key;
  uint8_t *cert_der; /* NULL when loaded without a certificate */
  size_t cert_len;
};

void pg_tls_key_free(pg_tls_key *k) {
  if (!k) return;
  if (k->key) gnutls_privkey_deinit(k->key);
  free(k->cert_der);
  free(k);
}

const uint8_t *pg_tls_key_cert_der(const pg_tls_key *k, size_t *len) {
  if (len) *len = k && k->cert_der ? k->cert_len : 0;
  return k ? k->cert_der : NULL;
}

static int import_key(pg_tls_key *k, const char *pem, pg_diag *d) {
  unsigned bits = 0;
  gnutls_datum_t dt = {(unsigned char *)pem, (unsigned)strlen(pem)};
  int g = gnutls_privkey_init(&k->key);
  if (g == 0) g = gnutls_privkey_import_x509_raw(k->key, &dt, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (g < 0)
    return pg_fail(d, PG_ERR_INVALID, "key: not an unencrypted PEM private key (%s)",
                   gnutls_strerror(g));
  if (gnutls_privkey_get_pk_algorithm(k->key, &bits) != GNUTLS_PK_ECDSA || bits != 256)
    return pg_fail(d, PG_ERR_INVALID, "key: not an ECDSA P-256 key");
  return PG_OK;
}

/* k->cert_der from cert_pem, and the check that it holds k's public key. */
static int attach_cert(pg_tls_key *k, const char *cert_pem, pg_diag *d) {
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  uint8_t a[64], b[64];
  size_t al = sizeof a, bl = sizeof b;
  int rc = pg_tls_pem_to_der(cert_pem, strlen(cert_pem), &k->cert_der, &k->cert_len, d);
  if (rc == PG_OK) rc = pg_tls__crt_import(k->cert_der, k->cert_len, &crt, d);
  if (rc) return rc;
  int g = gnutls_pubkey_init(&pub);
  if (g == 0) g = gnutls_pubkey_import_privkey(pub, k->key, 0, 0);
  if (g == 0) g = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, a, &al);
  if (g == 0) g = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, b, &bl);
  if (g < 0)
    rc = pg_fail(d, PG_ERR_INVALID, "key: cannot compare with the certificate (%s)",
                 gnutls_strerror(g));
  else if (al != bl || memcmp(a, b, al) != 0)
    rc = pg_fail(d, PG_ERR_INVALID, "key: the certificate is not for this key");
  if (pub) gnutls_pubkey_deinit(pub);
  gnutls_x509_crt_deinit(crt);
  return rc;
}

int pg_tls_key_from_pem(const char *key_pem, const char *cert_pem, pg_tls_key **out,
                        pg_diag *d) {
  if (!key_pem) return pg_fail(d, PG_ERR_INVALID, "key: none given");
  pg_tls_key *k = calloc(1, sizeof *k);
  if (!k) return pg_fail(d, PG_ERR_NOMEM, "key: out of memory");
  int rc = import_key(k, key_pem, d);
  if (rc == PG_OK && cert_pem) rc = attach_cert(k, cert_pem, d);
  if (rc) pg_tls_key_free(k);
  else *out = k;
  return rc;
}

int pg_tls_key_load(const char *key_file, const char *cert_file, pg_tls_key **out, pg_diag *d) {
  uint8_t *key = NULL, *crt = NULL;
  size_t key_len = 0, crt_len = 0;
  pg_diag fd = {{0}};
  int rc = pg_read_file_capped(key_file, TLS_CERT_MAX, &key, &key_len, d);
  if (rc == PG_OK && cert_file) rc = pg_read_file_capped(cert_file, TLS_CERT_MAX, &crt, &crt_len, d);
  if (rc == PG_OK) {
    rc = pg_tls_key_from_pem((const char *)key, (const char *)crt, out, &fd);
    if (rc) pg_fail(d, rc, "%s: %s", fd.msg, key_file);
  }
  if (key) {
    memset(key, 0, key_len);
    free(key);
  }
  free(crt);
  return rc;
}

int pg_tls_sign(const pg_tls_key *k, const void *msg, size_t len, uint8_t *sig, size_t cap,
                size_t *sig_len, pg_diag *d) {
  gnutls_datum_t in = {(unsigned char *)(msg ? msg : ""), (unsigned)len};
  gnutls_datum_t s = {NULL, 0};
  int rc = PG_OK;
  if (!k || (!msg && len) || len > UINT32_MAX)
    return pg_fail(d, PG_ERR_INVALID, "signature: no key or message");
  int g = gnutls_privkey_sign_data2(k->key, GNUTLS_SIGN_ECDSA_SHA256,
                                    GNUTLS_PRIVKEY_FLAG_REPRODUCIBLE, &in, &s);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "signature: cannot sign (%s)", gnutls_strerror(g));
  } else if (s.size > cap) {
    rc = pg_fail(d, PG_ERR_TOO_LARGE, "signature: %u bytes, room for %zu", s.size, cap);
  } else {
    memcpy(sig, s.data, s.size);
    *sig_len = s.size;
  }
  gnutls_free(s.data);
  return rc;
}

int pg_tls_sig_verify(const uint8_t *cert_der, size_t cert_len, const void *msg, size_t len,
                      const uint8_t *sig, size_t sig_len, pg_diag *d) {
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t pub = NULL;
  int rc = PG_OK;
  if (!cert_der || cert_len == 0 || cert_len > TLS_CERT_MAX)
    return pg_fail(d, PG_ERR_INVALID, "certificate: none or too large");
  if ((!msg && len) || !sig || sig_len == 0 || sig_len > PG_TLS_SIG_MAX || len > UINT32_MAX)
    return pg_fail(d, PG_ERR_CRYPTO, "signature does not verify");
  gnutls_datum_t cd = {(unsigned char *)cert_der, (unsigned)cert_len};
  int g = gnutls_x509_crt_init(&crt);
  if (g == 0) g = gnutls_x509_crt_import(crt, &cd, GNUTLS_X509_FMT_DER);
  if (g == 0) g = gnutls_pubkey_init(&pub);
  if (g == 0) g = gnutls_pubkey_import_x509(pub, crt, 0);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "certificate: does not parse (%s)", gnutls_strerror(g));
    goto out;
  }
  gnutls_datum_t m = {(unsigned char *)(msg ? msg : ""), (unsigned)len};
  gnutls_datum_t s = {(unsigned char *)sig, (unsigned)sig_len};
  if (gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &m, &s) < 0)
    rc = pg_fail(d, PG_ERR_CRYPTO, "signature does not verify");
out:
  if (pub) gnutls_pubkey_deinit(pub);
  if (crt) gnutls_x509_crt_deinit(crt);
  return rc;
}
