/* ca.c — the community CA: creating, opening, issuing, signing requests
 * (p2pgrid/tls/tls.h). The record of what it issued and revoked: ca_store.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/base/log.h"
#include "tls_internal.h"

#define CA_DAYS_DEFAULT 3650u
#define CERT_DAYS_DEFAULT 825u
#define DAYS_MAX 36500u
#define BACKDATE_S 300 /* notBefore = now - 5 minutes: clocks of members differ */

int pg_tls__path(char *out, size_t cap, const char *dir, const char *name, pg_diag *d) {
  int n = snprintf(out, cap, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= cap) return pg_fail(d, PG_ERR_IO, "CA: path %s/%s too long", dir, name);
  return PG_OK;
}

static pg_ca *ca_alloc(void) {
  pg_ca *ca = calloc(1, sizeof *ca);
  if (ca && pthread_mutex_init(&ca->mu, NULL) != 0) {
    free(ca);
    ca = NULL;
  }
  return ca;
}

void pg_ca_close(pg_ca *ca) {
  if (!ca) return;
  if (ca->key) gnutls_privkey_deinit(ca->key);
  if (ca->xkey) gnutls_x509_privkey_deinit(ca->xkey);
  if (ca->crt) gnutls_x509_crt_deinit(ca->crt);
  pthread_mutex_destroy(&ca->mu);
  free(ca->cert_pem);
  free(ca->dir);
  free(ca->v);
  free(ca);
}

const char *pg_ca_cert_pem(const pg_ca *ca) { return ca ? ca->cert_pem : NULL; }

/* ca->key over ca->xkey, ca->ski and ca->cert_pem from ca->crt. */
static int ca_finish(pg_ca *ca, pg_diag *d) {
  gnutls_datum_t dt = {NULL, 0};
  ca->ski_len = sizeof ca->ski;
  int g = gnutls_privkey_init(&ca->key);
  if (g == 0) g = gnutls_privkey_import_x509(ca->key, ca->xkey, 0);
  if (g == 0) g = gnutls_x509_crt_get_subject_key_id(ca->crt, ca->ski, &ca->ski_len, NULL);
  if (g == 0) g = gnutls_x509_crt_export2(ca->crt, GNUTLS_X509_FMT_PEM, &dt);
  if (g < 0) return pg_fail(d, PG_ERR_CRYPTO, "CA: cannot use the CA key or certificate (%s)",
                            gnutls_strerror(g));
  return pg_tls__datum_str(&dt, false, &ca->cert_pem, d);
}

static int check_name(const char *name, pg_diag *d) {
  size_t n = name ? strlen(name) : 0;
  if (n < 1 || n > 64) return pg_fail(d, PG_ERR_INVALID, "CA: the name must be 1 to 64 bytes");
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
      return pg_fail(d, PG_ERR_INVALID, "CA: the name holds a control character");
  return PG_OK;
}

/* A new CA in memory: key, self-signed certificate. */
static int ca_create(const char *name, unsigned days, char **key_pem, pg_ca **out, pg_diag *d) {
  uint8_t serial[TLS_SERIAL_LEN], kid[64];
  size_t kid_len = sizeof kid;
  int rc = check_name(name, d);
  if (rc) return rc;
  if (days > DAYS_MAX) return pg_fail(d, PG_ERR_INVALID, "CA: %u days, at most %u", days, DAYS_MAX);
  pg_ca *ca = ca_alloc();
  if (!ca) return pg_fail(d, PG_ERR_NOMEM, "CA: out of memory");
  rc = pg_tls__new_key(&ca->xkey, key_pem, d);
  if (rc) goto out;
  time_t now = time(NULL);
  pg_tls__random_serial(serial);
  int g = gnutls_x509_crt_init(&ca->crt);
  if (g == 0) g = gnutls_x509_crt_set_version(ca->crt, 3);
  if (g == 0) g = gnutls_x509_crt_set_serial(ca->crt, serial, sizeof serial);
  if (g == 0) g = gnutls_x509_crt_set_activation_time(ca->crt, now - BACKDATE_S);
  if (g == 0)
    g = gnutls_x509_crt_set_expiration_time(ca->crt,
                                            now + (time_t)(days ? days : CA_DAYS_DEFAULT) * 86400);
  if (g == 0)
    g = gnutls_x509_crt_set_dn_by_oid(ca->crt, GNUTLS_OID_X520_COMMON_NAME, 0, name,
                                      (unsigned)strlen(name));
  if (g == 0) g = gnutls_x509_crt_set_key(ca->crt, ca->xkey);
  if (g == 0) g = gnutls_x509_crt_set_basic_constraints(ca->crt, 1, 0);
  if (g == 0) g = gnutls_x509_crt_set_key_usage(ca->crt, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN);
  if (g == 0) g = gnutls_x509_crt_get_key_id(ca->crt, GNUTLS_KEYID_USE_SHA1, kid, &kid_len);
  if (g == 0) g = gnutls_x509_crt_set_subject_key_id(ca->crt, kid, kid_len);
  if (g == 0) g = gnutls_x509_crt_sign2(ca->crt, ca->crt, ca->xkey, GNUTLS_DIG_SHA256, 0);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "CA: cannot make the CA certificate (%s)", gnutls_strerror(g));
    goto out;
  }
  rc = ca_finish(ca, d);
out:
  if (rc) {
    pg_ca_close(ca);
    if (key_pem) {
      pg_tls_free_secret(*key_pem);
      *key_pem = NULL;
    }
  } else {
    *out = ca;
  }
  return rc;
}

int pg_ca_new_ephemeral(const char *name, pg_ca **out, pg_diag *d) {
  return ca_create(name, 0, NULL, out, d);
}

static int write_in(const char *dir, const char *name, const char *text, bool secret, bool replace,
                    pg_diag *d) {
  char path[4096];
  int rc = pg_tls__path(path, sizeof path, dir, name, d);
  if (rc == PG_OK) rc = pg_write_file_atomic(path, text, strlen(text), secret, replace, d);
  return rc;
}

static int make_dir(const char *path, pg_diag *d) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return pg_fail(d, PG_ERR_IO, "CA: cannot create %s: %s", path, strerror(errno));
  return PG_OK;
}

int pg_ca_init(const char *dir, const char *name, unsigned days, pg_diag *d) {
  char path[4096];
  char *key_pem = NULL, *crl = NULL;
  pg_ca *ca = NULL;
  if (!dir || !dir[0]) return pg_fail(d, PG_ERR_INVALID, "CA: no directory");
  int rc = pg_tls__path(path, sizeof path, dir, "ca.key", d);
  if (rc) return rc;
  if (access(path, F_OK) == 0)
    return pg_fail(d, PG_ERR_EXISTS, "CA: %s exists already (a CA lives there)", path);
  rc = ca_create(name, days, &key_pem, &ca, d);
  if (rc) goto out;
  rc = make_dir(dir, d);
  if (rc == PG_OK) rc = pg_tls__path(path, sizeof path, dir, "issued", d);
  if (rc == PG_OK) rc = make_dir(path, d);
  if (rc == PG_OK) rc = write_in(dir, "ca.key", key_pem, true, false, d);
  if (rc == PG_ERR_EXISTS) rc = pg_fail(d, PG_ERR_EXISTS, "CA: %s/ca.key exists already", dir);
  if (rc) goto out;
  rc = write_in(dir, "ca.crt", ca->cert_pem, false, true, d);
  if (rc == PG_OK) rc = pg_tls__ca_crl_locked(ca, &crl, d);
  if (rc == PG_OK) rc = write_in(dir, "crl.pem", crl, false, true, d);
out:
  pg_tls_free_secret(key_pem);
  free(crl);
  pg_ca_close(ca);
  return rc;
}

/* Reads and imports DIR/ca.key and DIR/ca.crt into ca. */
static int ca_read(pg_ca *ca, pg_diag *d) {
  char path[4096];
  uint8_t *key = NULL, *crt = NULL;
  size_t key_len = 0, crt_len = 0;
  struct stat st;
  int rc = pg_tls__path(path, sizeof path, ca->dir, "ca.key", d);
  if (rc == PG_OK) rc = pg_read_file_capped(path, TLS_CERT_MAX, &key, &key_len, d);
  if (rc) goto out;
  if (stat(path, &st) == 0 && (st.st_mode & 077))
    pg_log_warn("tls", "%s: the CA key is readable by others (mode %03o); use chmod 600", path,
                (unsigned)(st.st_mode & 0777));
  rc = pg_tls__path(path, sizeof path, ca->dir, "ca.crt", d);
  if (rc == PG_OK) rc = pg_read_file_capped(path, TLS_CERT_MAX, &crt, &crt_len, d);
  if (rc == PG_OK) rc = pg_tls__crt_import(crt, crt_len, &ca->crt, d);
  if (rc) goto out;
  gnutls_datum_t kd = {key, (unsigned)key_len};
  int g = gnutls_x509_privkey_init(&ca->xkey);
  if (g == 0) g = gnutls_x509_privkey_import2(ca->xkey, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "CA: %s/ca.key is not a readable private key (%s)", ca->dir,
                 gnutls_strerror(g));
    goto out;
  }
  uint8_t a[64], b[64];
  size_t al = sizeof a, bl = sizeof b;
  if (gnutls_x509_privkey_get_key_id(ca->xkey, GNUTLS_KEYID_USE_SHA256, a, &al) < 0 ||
      gnutls_x509_crt_get_key_id(ca->crt, GNUTLS_KEYID_USE_SHA256, b, &bl) < 0 || al != bl ||
      memcmp(a, b, al) != 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "CA: %s/ca.crt is not the certificate of ca.key", ca->dir);
    goto out;
  }
  rc = ca_finish(ca, d);
out:
  if (key) {
    memset(key, 0, key_len);
    free(key);
  }
  free(crt);
  return rc;
}

int pg_ca_open(const char *dir, pg_ca **out, pg_diag *d) {
  if (!dir || !dir[0]) return pg_fail(d, PG_ERR_INVALID, "CA: no directory");
  pg_ca *ca = ca_alloc();
  if (!ca || !(ca->dir = strdup(dir))) {
    pg_ca_close(ca);
    return pg_fail(d, PG_ERR_NOMEM, "CA: out of memory");
  }
  int rc = ca_read(ca, d);
  if (rc == PG_OK) rc = pg_tls__ca_load(ca, d);
  if (rc) pg_ca_close(ca);
  else *out = ca;
  return rc;
}

/* Signs a member certificate for pub as o says, records it, *cert_pem. */
int pg_tls__ca_sign_member(pg_ca *ca, const pg_cert_opts *o, gnutls_pubkey_t pub, unsigned days,
                           char **cert_pem, pg_diag *d) {
  uint8_t serial[TLS_SERIAL_LEN], kid[64];
  size_t kid_len = sizeof kid;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t dt = {NULL, 0};
  char *pem = NULL;
  int rc = PG_OK;
  if (days > DAYS_MAX) return pg_fail(d, PG_ERR_INVALID, "certificate: %u days, at most %u", days, DAYS_MAX);
  time_t now = time(NULL), ca_end = gnutls_x509_crt_get_expiration_time(ca->crt);
  time_t end = now + (time_t)(days ? days : CERT_DAYS_DEFAULT) * 86400;
  if (ca_end != (time_t)-1 && end > ca_end) end = ca_end; /* never past the CA */
  pg_tls__random_serial(serial);
  int g = gnutls_x509_crt_init(&crt);
  if (g == 0) g = gnutls_x509_crt_set_version(crt, 3);
  if (g == 0) g = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
  if (g == 0) g = gnutls_x509_crt_set_activation_time(crt, now - BACKDATE_S);
  if (g == 0) g = gnutls_x509_crt_set_expiration_time(crt, end);
  if (g == 0) g = gnutls_x509_crt_set_pubkey(crt, pub);
  if (g == 0) g = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
  if (g == 0) g = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (g == 0) g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
  if (g == 0 && o->nhosts) g = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
  if (g == 0) g = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA1, kid, &kid_len);
  if (g == 0) g = gnutls_x509_crt_set_subject_key_id(crt, kid, kid_len);
  if (g == 0) g = gnutls_x509_crt_set_authority_key_id(crt, ca->ski, ca->ski_len);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "certificate: cannot build it (%s)", gnutls_strerror(g));
    goto out;
  }
  rc = pg_tls__set_names(crt, NULL, o, d);
  if (rc) goto out;
  g = gnutls_x509_crt_privkey_sign(crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0);
  if (g == 0) g = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &dt);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "certificate: cannot sign it (%s)", gnutls_strerror(g));
    goto out;
  }
  rc = pg_tls__datum_str(&dt, false, &pem, d);
  if (rc == PG_OK) rc = pg_tls__ca_record(ca, crt, pem, d);
  if (rc == PG_OK) {
    *cert_pem = pem;
    pem = NULL;
  }
out:
  free(pem);
  if (crt) gnutls_x509_crt_deinit(crt);
  return rc;
}

int pg_ca_issue(pg_ca *ca, const pg_cert_opts *o, char **key_pem, char **cert_pem, pg_diag *d) {
  gnutls_x509_privkey_t xkey = NULL;
  gnutls_pubkey_t pub = NULL;
  gnutls_privkey_t pk = NULL;
  char *kpem = NULL;
  int rc = pg_tls__check_opts(o, "certificate", d);
  if (rc) return rc;
  rc = pg_tls__new_key(&xkey, &kpem, d);
  if (rc) goto out;
  int g = gnutls_privkey_init(&pk);
  if (g == 0) g = gnutls_privkey_import_x509(pk, xkey, 0);
  if (g == 0) g = gnutls_pubkey_init(&pub);
  if (g == 0) g = gnutls_pubkey_import_privkey(pub, pk, 0, 0);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "certificate: cannot use the new key (%s)", gnutls_strerror(g));
    goto out;
  }
  rc = pg_tls__ca_sign_member(ca, o, pub, o->days, cert_pem, d);
  if (rc == PG_OK) {
    *key_pem = kpem;
    kpem = NULL;
  }
out:
  pg_tls_free_secret(kpem);
  if (pub) gnutls_pubkey_deinit(pub);
  if (pk) gnutls_privkey_deinit(pk);
  if (xkey) gnutls_x509_privkey_deinit(xkey);
  return rc;
}

int pg_csr_make(const pg_cert_opts *o, char **key_pem, char **csr_pem, pg_diag *d) {
  gnutls_x509_privkey_t xkey = NULL;
  gnutls_privkey_t pk = NULL;
  gnutls_x509_crq_t crq = NULL;
  gnutls_datum_t dt = {NULL, 0};
  char *kpem = NULL;
  int rc = pg_tls__check_opts(o, "request", d);
  if (rc) return rc;
  rc = pg_tls__new_key(&xkey, &kpem, d);
  if (rc) goto out;
  int g = gnutls_x509_crq_init(&crq);
  if (g == 0) g = gnutls_x509_crq_set_version(crq, 1);
  if (g == 0) g = gnutls_x509_crq_set_key(crq, xkey);
  if (g < 0) goto crypto;
  rc = pg_tls__set_names(NULL, crq, o, d);
  if (rc) goto out;
  g = gnutls_privkey_init(&pk);
  if (g == 0) g = gnutls_privkey_import_x509(pk, xkey, 0);
  if (g == 0) g = gnutls_x509_crq_privkey_sign(crq, pk, GNUTLS_DIG_SHA256, 0);
  if (g == 0) g = gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &dt);
  if (g < 0) goto crypto;
  rc = pg_tls__datum_str(&dt, false, csr_pem, d);
  if (rc == PG_OK) {
    *key_pem = kpem;
    kpem = NULL;
  }
  goto out;
crypto:
  rc = pg_fail(d, PG_ERR_CRYPTO, "request: cannot make it (%s)", gnutls_strerror(g));
out:
  pg_tls_free_secret(kpem);
  if (pk) gnutls_privkey_deinit(pk);
  if (crq) gnutls_x509_crq_deinit(crq);
  if (xkey) gnutls_x509_privkey_deinit(xkey);
  return rc;
}
