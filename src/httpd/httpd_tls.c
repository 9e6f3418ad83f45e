/* httpd_tls.c — the TLS and peer side of the server: reading and checking
 * the certificate and key files, who is on the other end of a request
 * (address, client certificate and its verification against the trust),
 * and the Host check. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "httpd_internal.h"
#include "p2pgrid/base/file.h"

#define PEM_FILE_MAX (256u << 10) /* a certificate chain or a key, generously */
#define PEER_CHAIN_MAX 8          /* certificates of a client chain we look at */

/* ---- files ---- */

static void wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

void pg_httpd_free_secret(char *s) {
  if (!s) return;
  wipe(s, strlen(s));
  free(s);
}

/* Reads the whole file path (what names it in diags, e.g. "TLS key")
 * into a malloc'd NUL-terminated string of at most PEM_FILE_MAX bytes
 * (pg_read_file_capped), refusing an empty one or one with NUL bytes. The
 * caller wipes it when freeing (keys). */
static int read_pem_file(const char *what, const char *path, char **out, pg_diag *d) {
  uint8_t *buf = NULL;
  size_t len = 0;
  pg_diag rd = {{0}};
  *out = NULL;
  if (pg_read_file_capped(path, PEM_FILE_MAX, &buf, &len, &rd) != PG_OK)
    return pg_fail(d, PG_ERR_CONFIG, "%s %.150s", what, rd.msg);
  if (len == 0 || memchr(buf, '\0', len)) {
    wipe(buf, len);
    free(buf);
    return pg_fail(d, PG_ERR_CONFIG, "%s %.150s: %s", what, path,
                   len ? "holds NUL bytes (not PEM)" : "empty");
  }
  *out = (char *)buf;
  return PG_OK;
}

/* The certificate PEM must hold at least one X.509 certificate, the key PEM
 * an unencrypted private key, and the key must be the first certificate's. */
static int check_pair(const char *cert_file, const char *cert_pem, const char *key_file,
                      const char *key_pem, pg_diag *d) {
  int rc = PG_OK, g;
  gnutls_x509_crt_t *crts = NULL;
  unsigned ncrts = 0;
  gnutls_x509_privkey_t key = NULL;
  gnutls_certificate_credentials_t cred = NULL;
  gnutls_datum_t cd = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)};
  gnutls_datum_t kd = {(unsigned char *)key_pem, (unsigned)strlen(key_pem)};
  if ((g = gnutls_x509_crt_list_import2(&crts, &ncrts, &cd, GNUTLS_X509_FMT_PEM, 0)) < 0 ||
      ncrts == 0) {
    rc = pg_fail(d, PG_ERR_CONFIG, "TLS certificate %.150s: no PEM certificate in it (%s)",
                 cert_file, g < 0 ? gnutls_strerror(g) : "empty");
    goto out;
  }
  if ((g = gnutls_x509_privkey_init(&key)) < 0 ||
      (g = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
    rc = pg_fail(d, PG_ERR_CONFIG,
                 "TLS key %.150s: not an unencrypted PEM private key (%s)", key_file,
                 gnutls_strerror(g));
    goto out;
  }
  if ((g = gnutls_certificate_allocate_credentials(&cred)) < 0) {
    rc = pg_fail(d, PG_ERR_NOMEM, "TLS: %s", gnutls_strerror(g));
    goto out;
  }
  if ((g = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) <
      0)
    rc = pg_fail(d, PG_ERR_CONFIG, "TLS key %.100s is not the key of TLS certificate %.100s (%s)",
                 key_file, cert_file, gnutls_strerror(g));
out:
  for (unsigned i = 0; i < ncrts; i++) gnutls_x509_crt_deinit(crts[i]);
  gnutls_free(crts);
  if (key) gnutls_x509_privkey_deinit(key);
  if (cred) gnutls_certificate_free_credentials(cred);
  return rc;
}

int pg_httpd_tls_load(const char *cert_file, const char *key_file, char **cert_pem,
                      char **key_pem, pg_diag *d) {
  *cert_pem = NULL;
  *key_pem = NULL;
  if (!cert_file || !key_file || !*cert_file || !*key_file)
    return pg_fail(d, PG_ERR_CONFIG, "TLS: a certificate and its key go together (the %s is "
                                     "missing)",
                   cert_file && *cert_file ? "key file" : "certificate file");
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
    return pg_fail(d, PG_ERR_UNSUPPORTED, "TLS: libmicrohttpd was built without TLS support");
  int rc = read_pem_file("TLS certificate", cert_file, cert_pem, d);
  if (!rc) rc = read_pem_file("TLS key", key_file, key_pem, d);
  if (!rc) rc = check_pair(cert_file, *cert_pem, key_file, *key_pem, d);
  if (rc) {
    free(*cert_pem);
    pg_httpd_free_secret(*key_pem);
    *cert_pem = NULL;
    *key_pem = NULL;
  }
  return rc;
}

/* ---- the peer ---- */

static void peer_addr(struct MHD_Connection *conn, pg_httpd_peer *p) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  const struct sockaddr *sa = ci ? ci->client_addr : NULL;
  if (!sa) return;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    if (!inet_ntop(AF_INET, &a->sin_addr, p->addr, sizeof p->addr)) p->addr[0] = '\0';
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    if (!inet_ntop(AF_INET6, &a->sin6_addr, p->addr, sizeof p->addr)) p->addr[0] = '\0';
  }
}

/* The client's certificate chain (DER, leaf first) as the handshake gave
 * it; *n = 0 when it sent none. The data belongs to the session. */
static void peer_chain(struct MHD_Connection *conn, pg_der *chain, size_t *n) {
  *n = 0;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
  if (!s || gnutls_certificate_type_get(s) != GNUTLS_CRT_X509) return;
  unsigned count = 0;
  const gnutls_datum_t *list = gnutls_certificate_get_peers(s, &count);
  for (unsigned i = 0; list && i < count && i < PEER_CHAIN_MAX; i++) {
    chain[i].data = list[i].data;
    chain[i].len = list[i].size;
    (*n)++;
  }
}

void pg_httpd_peer_fill(struct MHD_Connection *conn, bool tls, pg_tls_trust *trust,
                        pg_httpd_peer *p) {
  memset(p, 0, sizeof *p);
  peer_addr(conn, p);
  if (!tls) return;
  p->tls = true;
  pg_der chain[PEER_CHAIN_MAX];
  size_t n = 0;
  peer_chain(conn, chain, &n);
  if (n) {
    p->has_cert = true;
    p->cert_der = chain[0].data;
    p->cert_len = chain[0].len;
  }
  if (!trust) {
    snprintf(p->why, sizeof p->why, "%s",
             n ? "client certificates are not checked here" : "no client certificate");
    return;
  }
  /* verified on every request (cheap): a revocation (the trust reloads its
   * CRL) applies to the next request of a kept-alive connection */
  pg_diag d;
  pg_diag_clear(&d);
  int rc = pg_tls_trust_verify(trust, n ? chain : NULL, n, (int64_t)time(NULL), &p->member, &d);
  if (rc == PG_OK) {
    p->verified = true;
    return;
  }
  memset(&p->member, 0, sizeof p->member);
  snprintf(p->why, sizeof p->why, "%.*s", (int)sizeof p->why - 1,
           d.msg[0] ? d.msg : pg_strerror(rc));
}

/* ---- Host check ---- */

/* The host part of a Host header value ("name", "name:port", "[v6]",
 * "[v6]:port"): *start and *len. false when malformed. */
static bool host_part(const char *v, const char **start, size_t *len) {
  const char *end;
  if (v[0] == '[') {
    end = strchr(v, ']');
    if (!end || (end[1] != '\0' && end[1] != ':')) return false;
    *start = v + 1;
    *len = (size_t)(end - v - 1);
  } else {
    end = strchr(v, ':');
    if (end && strchr(end + 1, ':')) return false; /* a bare IPv6 literal is not a Host */
    *start = v;
    *len = end ? (size_t)(end - v) : strlen(v);
  }
  return *len > 0;
}

/* Copies a configured name without "[...]" brackets; false when too long. */
bool pg_httpd_host_copy(const char *name, char out[PG_HTTPD_HOST_LEN]) {
  size_t n = strlen(name);
  if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
    name++;
    n -= 2;
  }
  if (n == 0 || n >= PG_HTTPD_HOST_LEN) return false;
  memcpy(out, name, n);
  out[n] = '\0';
  return true;
}

bool pg_httpd_host_allowed(const char *value, const char (*hosts)[PG_HTTPD_HOST_LEN],
                           size_t nhosts) {
  const char *h = NULL;
  size_t n = 0;
  if (!value || !host_part(value, &h, &n)) return false;
  for (size_t i = 0; i < nhosts; i++)
    if (strlen(hosts[i]) == n && strncasecmp(hosts[i], h, n) == 0) return true;
  return false;
}
