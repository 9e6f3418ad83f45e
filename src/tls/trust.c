/* trust.c — verifying a peer's certificate against the community CA and
 * its CRL, which is read again when the file changes (p2pgrid/tls/tls.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "p2pgrid/base/clock.h"
#include "p2pgrid/base/log.h"
#include "tls_internal.h"

#define CHAIN_MAX 16
#define RELOAD_EVERY_MS 1000

struct pg_tls_trust {
  pthread_mutex_t mu;          /* guards tl and the CRL file state */
  char *ca_pem;
  gnutls_x509_crt_t ca;        /* to check CRLs and the CA's own validity */
  gnutls_x509_trust_list_t tl; /* the CA and the current CRL */
  char *crl_file;              /* NULL: no reloading */
  bool have_stat;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  uint64_t checked_ms;         /* monotonic time of the last stat */
};

/* A trust list holding the CA and the CRL of crl_pem (may be NULL). */
static int build_list(pg_tls_trust *t, const char *crl_pem, gnutls_x509_trust_list_t *out,
                      pg_diag *d) {
  gnutls_x509_trust_list_t tl = NULL;
  gnutls_x509_crt_t ca = NULL;
  gnutls_x509_crl_t crl = NULL;
  unsigned status = 0;
  int rc = pg_tls__crt_import(t->ca_pem, strlen(t->ca_pem), &ca, d);
  if (rc) return rc;
  int g = gnutls_x509_trust_list_init(&tl, 0);
  if (g == 0) g = gnutls_x509_trust_list_add_cas(tl, &ca, 1, 0) == 1 ? 0 : GNUTLS_E_INTERNAL_ERROR;
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "trust: cannot hold the CA (%s)", gnutls_strerror(g));
    goto out;
  }
  ca = NULL; /* the list owns it */
  if (crl_pem) {
    gnutls_datum_t dt = {(unsigned char *)crl_pem, (unsigned)strlen(crl_pem)};
    g = gnutls_x509_crl_init(&crl);
    if (g == 0) g = gnutls_x509_crl_import(crl, &dt, GNUTLS_X509_FMT_PEM);
    if (g < 0) {
      rc = pg_fail(d, PG_ERR_INVALID, "CRL: does not parse (%s)", gnutls_strerror(g));
      goto out;
    }
    g = gnutls_x509_crl_verify(crl, &t->ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
    if (g < 0 || status != 0) {
      rc = pg_fail(d, PG_ERR_CRYPTO, "CRL: not signed by this community's CA");
      goto out;
    }
    if (gnutls_x509_trust_list_add_crls(tl, &crl, 1, 0, 0) != 1) {
      rc = pg_fail(d, PG_ERR_CRYPTO, "CRL: cannot hold it");
      goto out;
    }
    crl = NULL;
  }
  *out = tl;
  tl = NULL;
out:
  if (crl) gnutls_x509_crl_deinit(crl);
  if (ca) gnutls_x509_crt_deinit(ca);
  if (tl) gnutls_x509_trust_list_deinit(tl, 1);
  return rc;
}

void pg_tls_trust_free(pg_tls_trust *t) {
  if (!t) return;
  if (t->tl) gnutls_x509_trust_list_deinit(t->tl, 1);
  if (t->ca) gnutls_x509_crt_deinit(t->ca);
  pthread_mutex_destroy(&t->mu);
  free(t->ca_pem);
  free(t->crl_file);
  free(t);
}

const char *pg_tls_trust_ca_pem(const pg_tls_trust *t) { return t ? t->ca_pem : NULL; }

int pg_tls_trust_from_pem(const char *ca_pem, const char *crl_pem, pg_tls_trust **out,
                          pg_diag *d) {
  int rc = PG_OK;
  if (!ca_pem) return pg_fail(d, PG_ERR_INVALID, "trust: no CA certificate");
  pg_tls_trust *t = calloc(1, sizeof *t);
  if (!t) return pg_fail(d, PG_ERR_NOMEM, "trust: out of memory");
  if (pthread_mutex_init(&t->mu, NULL) != 0) {
    free(t);
    return pg_fail(d, PG_ERR_NOMEM, "trust: cannot make a mutex");
  }
  if (!(t->ca_pem = strdup(ca_pem))) {
    rc = pg_fail(d, PG_ERR_NOMEM, "trust: out of memory");
    goto out;
  }
  rc = pg_tls__crt_import(ca_pem, strlen(ca_pem), &t->ca, d);
  if (rc) goto out;
  if (gnutls_x509_crt_get_ca_status(t->ca, NULL) <= 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "trust: the CA certificate is not a CA (basicConstraints)");
    goto out;
  }
  rc = build_list(t, crl_pem, &t->tl, d);
out:
  if (rc) pg_tls_trust_free(t);
  else *out = t;
  return rc;
}

/* Reads crl_file when it differs from what was read last (t->mu held).
 * Returns PG_OK when unchanged or reloaded; the previous CRL stays otherwise. */
static int crl_refresh(pg_tls_trust *t, bool first, pg_diag *d) {
  struct stat st;
  uint8_t *text = NULL;
  size_t len = 0;
  gnutls_x509_trust_list_t tl = NULL;
  if (stat(t->crl_file, &st) != 0)
    return first ? pg_fail(d, PG_ERR_IO, "trust: cannot find the CRL %s", t->crl_file) : PG_ERR_IO;
  if (t->have_stat && st.st_dev == t->dev && st.st_ino == t->ino && st.st_size == t->size &&
      st.st_mtim.tv_sec == t->mtime.tv_sec && st.st_mtim.tv_nsec == t->mtime.tv_nsec)
    return PG_OK;
  t->have_stat = true; /* a bad file is reported once, not every second */
  t->dev = st.st_dev;
  t->ino = st.st_ino;
  t->size = st.st_size;
  t->mtime = st.st_mtim;
  int rc = pg_read_file_capped(t->crl_file, 16u * 1024 * 1024, &text, &len, d);
  if (rc == PG_OK) rc = build_list(t, (const char *)text, &tl, d);
  free(text);
  if (rc) return rc;
  if (t->tl) gnutls_x509_trust_list_deinit(t->tl, 1);
  t->tl = tl;
  if (!first) pg_log_info("tls", "%s: CRL reloaded", t->crl_file);
  return PG_OK;
}

static void maybe_reload(pg_tls_trust *t) {
  if (!t->crl_file) return;
  uint64_t now = pg_monotonic_ms();
  if (t->checked_ms && now - t->checked_ms < RELOAD_EVERY_MS) return;
  t->checked_ms = now;
  pg_diag d = {{0}};
  if (crl_refresh(t, false, &d) != PG_OK && d.msg[0])
    pg_log_warn("tls", "%s: %s; the previous CRL stays in force", t->crl_file, d.msg);
}

int pg_tls_trust_open(const char *ca_file, const char *crl_file, pg_tls_trust **out,
                      pg_diag *d) {
  uint8_t *ca = NULL;
  size_t len = 0;
  pg_tls_trust *t = NULL;
  int rc = pg_read_file_capped(ca_file, TLS_CERT_MAX, &ca, &len, d);
  if (rc == PG_OK) rc = pg_tls_trust_from_pem((const char *)ca, NULL, &t, d);
  if (rc == PG_OK && crl_file) {
    if (!(t->crl_file = strdup(crl_file))) rc = pg_fail(d, PG_ERR_NOMEM, "trust: out of memory");
    else rc = crl_refresh(t, true, d);
    if (rc == PG_OK) t->checked_ms = pg_monotonic_ms();
  }
  free(ca);
  if (rc) pg_tls_trust_free(t);
  else *out = t;
  return rc;
}

static bool has_client_auth(gnutls_x509_crt_t crt) {
  char oid[128];
  for (unsigned i = 0; i < 64; i++) {
    size_t size = sizeof oid;
    int g = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &size, NULL);
    if (g < 0) return false;
    if (strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0) return true;
  }
  return false;
}

/* Validity of the leaf and of the CA at now_s. */
static int check_times(const pg_tls_trust *t, gnutls_x509_crt_t leaf, int64_t now_s, pg_diag *d) {
  gnutls_x509_crt_t c[2] = {leaf, t->ca};
  for (int i = 0; i < 2; i++) {
    time_t nb = gnutls_x509_crt_get_activation_time(c[i]);
    time_t na = gnutls_x509_crt_get_expiration_time(c[i]);
    if (nb == (time_t)-1 || now_s < (int64_t)nb)
      return pg_fail(d, PG_ERR_CRYPTO, "certificate not yet valid");
    if (na == (time_t)-1 || now_s > (int64_t)na)
      return pg_fail(d, PG_ERR_CRYPTO, "certificate expired");
  }
  return PG_OK;
}

int pg_tls_trust_verify(pg_tls_trust *t, const pg_der *chain, size_t n, int64_t now_s,
                        pg_member *out, pg_diag *d) {
  gnutls_x509_crt_t certs[CHAIN_MAX];
  size_t have = 0;
  unsigned status = 0;
  int rc = PG_OK;
  if (!chain || n == 0 || !chain[0].data || chain[0].len == 0)
    return pg_fail(d, PG_ERR_CRYPTO, "no client certificate");
  if (n > CHAIN_MAX)
    return pg_fail(d, PG_ERR_CRYPTO, "certificate not issued by this community's CA");
  for (; have < n; have++) {
    if (chain[have].len > TLS_CERT_MAX || gnutls_x509_crt_init(&certs[have]) < 0) {
      rc = pg_fail(d, PG_ERR_INVALID, "certificate: too large or out of memory");
      goto out;
    }
    gnutls_datum_t dt = {(unsigned char *)chain[have].data, (unsigned)chain[have].len};
    int g = gnutls_x509_crt_import(certs[have], &dt, GNUTLS_X509_FMT_DER);
    if (g < 0) {
      gnutls_x509_crt_deinit(certs[have]);
      rc = pg_fail(d, PG_ERR_INVALID, "certificate: %s of the chain does not parse (%s)",
                   have ? "a CA certificate" : "the peer's certificate", gnutls_strerror(g));
      goto out;
    }
  }
  pthread_mutex_lock(&t->mu);
  maybe_reload(t);
  int g = gnutls_x509_trust_list_verify_crt2(
      t->tl, certs, (unsigned)n, NULL, 0,
      GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS, &status, NULL);
  pthread_mutex_unlock(&t->mu);
  if (g < 0 || (status & ~GNUTLS_CERT_REVOKED & ~GNUTLS_CERT_INVALID) ||
      (status && !(status & GNUTLS_CERT_REVOKED)))
    rc = pg_fail(d, PG_ERR_CRYPTO, "certificate not issued by this community's CA");
  else if (status & GNUTLS_CERT_REVOKED)
    rc = pg_fail(d, PG_ERR_CRYPTO, "certificate revoked");
  if (rc == PG_OK) rc = check_times(t, certs[0], now_s, d);
  if (rc == PG_OK && !has_client_auth(certs[0]))
    rc = pg_fail(d, PG_ERR_CRYPTO, "certificate is not for client use");
  if (rc == PG_OK) rc = pg_tls__member_from_crt(certs[0], out, d);
out:
  for (size_t i = 0; i < have; i++) gnutls_x509_crt_deinit(certs[i]);
  return rc;
}
