/* member.c — roles, and what a member certificate (or request) says:
 * pg_member_from_cert and the PEM helpers (p2pgrid/tls/tls.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "p2pgrid/base/hex.h"
#include "tls_internal.h"

#define SAN_BUF 1024
#define URN_PREFIX "urn:p2pgrid:"
#define URN_PARENT "urn:p2pgrid:parent:"
#define URN_MAX_W "urn:p2pgrid:max-w:"

static const char *const role_names[] = {NULL, "source", "producer", "consumer", "grid",
                                         "operator"};

const char *pg_role_name(pg_role r) {
  if ((int)r <= 0 || (size_t)r >= sizeof role_names / sizeof role_names[0]) return NULL;
  return role_names[r];
}

int pg_role_parse(const char *s, pg_role *out, pg_diag *d) {
  for (int r = PG_ROLE_SOURCE; r <= PG_ROLE_OPERATOR; r++)
    if (s && strcmp(s, role_names[r]) == 0) {
      *out = (pg_role)r;
      return PG_OK;
    }
  return pg_fail(d, PG_ERR_INVALID,
                 "role: '%.64s' is not one of source, producer, consumer, grid, operator",
                 s ? s : "");
}

bool pg_tls__valid_id(const char *s, size_t n) {
  if (n < 1 || n > PG_MEMBER_ID_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void pg_member_fingerprint_hex(const pg_member *m, char out[65]) {
  pg_hex_encode(m->fingerprint, sizeof m->fingerprint, out);
}

void pg_tls_free_secret(char *s) {
  if (!s) return;
  volatile char *p = s;
  while (*p) *p++ = 0;
  free(s);
}

/* A NUL-terminated copy of len bytes (PEM decoders want a string). */
static char *dup_text(const void *data, size_t len) {
  char *s = malloc(len + 1);
  if (!s) return NULL;
  memcpy(s, data, len);
  s[len] = '\0';
  return s;
}

int pg_tls_pem_to_der(const char *pem, size_t len, uint8_t **der, size_t *der_len, pg_diag *d) {
  gnutls_datum_t out = {NULL, 0};
  int rc = PG_OK;
  if (!pem || len == 0 || len > TLS_CERT_MAX * 16)
    return pg_fail(d, PG_ERR_INVALID, "certificate: no PEM or too large");
  char *s = dup_text(pem, len);
  if (!s) return pg_fail(d, PG_ERR_NOMEM, "certificate: out of memory");
  gnutls_datum_t in = {(unsigned char *)s, (unsigned)len};
  int g = gnutls_pem_base64_decode2("CERTIFICATE", &in, &out);
  if (g < 0 || out.size == 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "certificate: no PEM CERTIFICATE block (%s)",
                 gnutls_strerror(g));
    goto out;
  }
  *der = malloc(out.size);
  if (!*der) {
    rc = pg_fail(d, PG_ERR_NOMEM, "certificate: out of memory");
    goto out;
  }
  memcpy(*der, out.data, out.size);
  *der_len = out.size;
out:
  gnutls_free(out.data);
  free(s);
  return rc;
}

static bool looks_pem(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n')) i++;
  return len - i >= 11 && memcmp(p + i, "-----BEGIN ", 11) == 0;
}

/* Counts "-----BEGIN " in len bytes. */
static size_t count_pem_blocks(const uint8_t *p, size_t len) {
  size_t n = 0;
  const uint8_t *end = p + len;
  for (;;) {
    const uint8_t *q = memmem(p, (size_t)(end - p), "-----BEGIN ", 11);
    if (!q) return n;
    n++;
    p = q + 11;
  }
}

int pg_tls__crt_import(const void *data, size_t len, gnutls_x509_crt_t *out, pg_diag *d) {
  uint8_t *der = NULL;
  size_t der_len = len;
  const uint8_t *bytes = data;
  gnutls_x509_crt_t crt = NULL;
  int rc = PG_OK;
  if (!data || len == 0) return pg_fail(d, PG_ERR_INVALID, "certificate: empty");
  if (len > TLS_CERT_MAX)
    return pg_fail(d, PG_ERR_INVALID, "certificate: larger than %d bytes", TLS_CERT_MAX);
  if (looks_pem(data, len)) {
    if (count_pem_blocks(data, len) != 1) {
      rc = pg_fail(d, PG_ERR_INVALID, "certificate: PEM holds more than one block");
      goto out;
    }
    rc = pg_tls_pem_to_der(data, len, &der, &der_len, d);
    if (rc) goto out;
    bytes = der;
  }
  gnutls_datum_t dt = {(unsigned char *)bytes, (unsigned)der_len};
  int g = gnutls_x509_crt_init(&crt);
  if (g == 0) g = gnutls_x509_crt_import(crt, &dt, GNUTLS_X509_FMT_DER);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_INVALID, "certificate: does not parse as X.509 (%s)",
                 gnutls_strerror(g));
    goto out;
  }
  *out = crt;
  crt = NULL;
out:
  if (crt) gnutls_x509_crt_deinit(crt);
  free(der);
  return rc;
}

/* A certificate or a request, read alike. */
typedef struct names_src {
  gnutls_x509_crt_t crt;
  gnutls_x509_crq_t crq;
  const char *what; /* "certificate" or "request" */
} names_src;

static int src_dn(const names_src *s, const char *oid, unsigned idx, char *buf, size_t *size) {
  return s->crt ? gnutls_x509_crt_get_dn_by_oid(s->crt, oid, idx, 0, buf, size)
                : gnutls_x509_crq_get_dn_by_oid(s->crq, oid, idx, 0, buf, size);
}

/* Returns the SAN type (>= 0) or a GnuTLS error. */
static int src_san(const names_src *s, unsigned seq, char *buf, size_t *size) {
  unsigned critical = 0, type = 0;
  if (s->crt) return gnutls_x509_crt_get_subject_alt_name(s->crt, seq, buf, size, &critical);
  int g = gnutls_x509_crq_get_subject_alt_name(s->crq, seq, buf, size, &type, &critical);
  return g < 0 ? g : (int)type;
}

/* Exactly one attribute `oid` (named `name`), at most cap - 1 bytes. */
static int one_attr(const names_src *s, const char *oid, const char *name, char *buf, size_t cap,
                    pg_diag *d) {
  size_t size = cap;
  int g = src_dn(s, oid, 0, buf, &size);
  if (g == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    return pg_fail(d, PG_ERR_INVALID, "%s: the subject has no %s", s->what, name);
  if (g == GNUTLS_E_SHORT_MEMORY_BUFFER)
    return pg_fail(d, PG_ERR_INVALID, "%s: the subject's %s is longer than %zu bytes", s->what,
                   name, cap - 1);
  if (g < 0)
    return pg_fail(d, PG_ERR_INVALID, "%s: cannot read the subject's %s (%s)", s->what, name,
                   gnutls_strerror(g));
  if (size >= cap || strlen(buf) != size)
    return pg_fail(d, PG_ERR_INVALID, "%s: the subject's %s holds a NUL byte", s->what, name);
  char other[8];
  size_t osize = sizeof other;
  g = src_dn(s, oid, 1, other, &osize);
  if (g != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
    return pg_fail(d, PG_ERR_INVALID, "%s: the subject has more than one %s", s->what, name);
  return PG_OK;
}

static int parse_max_w(const names_src *s, const char *v, size_t n, uint64_t *out, pg_diag *d) {
  uint64_t w = 0;
  bool ok = n >= 1 && n <= 13 && v[0] != '0';
  for (size_t i = 0; ok && i < n; i++) {
    if (v[i] < '0' || v[i] > '9') ok = false;
    else w = w * 10 + (uint64_t)(v[i] - '0');
  }
  if (!ok || w > PG_MEMBER_MAX_W)
    return pg_fail(d, PG_ERR_INVALID, "%s: " URN_MAX_W "'%.20s' is not a whole number of watts 1..10^12",
                   s->what, v);
  *out = w;
  return PG_OK;
}

/* One urn:p2pgrid: URI (n bytes, no NUL inside). Other URIs are ignored. */
static int read_urn(const names_src *s, const char *u, size_t n, pg_member *m, bool *seen_parent,
                    pg_diag *d) {
  size_t pl = sizeof URN_PARENT - 1, wl = sizeof URN_MAX_W - 1;
  if (n < sizeof URN_PREFIX - 1 || strncasecmp(u, URN_PREFIX, sizeof URN_PREFIX - 1) != 0)
    return PG_OK;
  if (n >= pl && memcmp(u, URN_PARENT, pl) == 0) {
    if (*seen_parent)
      return pg_fail(d, PG_ERR_INVALID, "%s: more than one " URN_PARENT " URI", s->what);
    if (!pg_tls__valid_id(u + pl, n - pl))
      return pg_fail(d, PG_ERR_INVALID, "%s: " URN_PARENT "'%.64s' is not a member id", s->what,
                     u + pl);
    memcpy(m->parent, u + pl, n - pl);
    m->parent[n - pl] = '\0';
    *seen_parent = true;
    return PG_OK;
  }
  if (n >= wl && memcmp(u, URN_MAX_W, wl) == 0) {
    if (m->max_w)
      return pg_fail(d, PG_ERR_INVALID, "%s: more than one " URN_MAX_W " URI", s->what);
    return parse_max_w(s, u + wl, n - wl, &m->max_w, d);
  }
  return pg_fail(d, PG_ERR_INVALID, "%s: unknown p2pgrid URI '%.80s'", s->what, u);
}

static int add_name(pg_member *m, const char *name) {
  size_t n = strlen(name);
  if (m->nnames == PG_MEMBER_NAMES_MAX || n > PG_MEMBER_NAME_LEN) return -1;
  memcpy(m->names[m->nnames++], name, n + 1);
  return 0;
}

/* One subjectAltName entry of `type` (size bytes in buf, NUL after them). */
static int read_san(const names_src *s, int type, const char *buf, size_t size, pg_member *m,
                    bool *seen_parent, pg_diag *d) {
  char ip[INET6_ADDRSTRLEN];
  switch (type) {
  case GNUTLS_SAN_DNSNAME:
    if (size < 1 || size > PG_MEMBER_NAME_LEN || strlen(buf) != size)
      return pg_fail(d, PG_ERR_INVALID, "%s: a DNS name is empty, too long or holds a NUL byte",
                     s->what);
    for (size_t i = 0; i < size; i++)
      if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f)
        return pg_fail(d, PG_ERR_INVALID, "%s: DNS name '%.64s' holds a character that is not printable ASCII",
                       s->what, buf);
    break;
  case GNUTLS_SAN_IPADDRESS:
    if ((size != 4 && size != 16) ||
        !inet_ntop(size == 4 ? AF_INET : AF_INET6, buf, ip, sizeof ip))
      return pg_fail(d, PG_ERR_INVALID, "%s: an IP address of %zu bytes", s->what, size);
    buf = ip;
    break;
  case GNUTLS_SAN_URI:
    if (strlen(buf) != size)
      return pg_fail(d, PG_ERR_INVALID, "%s: a URI holds a NUL byte", s->what);
    return read_urn(s, buf, size, m, seen_parent, d);
  default: return PG_OK; /* e-mail, other names: not ours */
  }
  if (add_name(m, buf) != 0)
    return pg_fail(d, PG_ERR_INVALID, "%s: more than %d DNS names and IP addresses", s->what,
                   PG_MEMBER_NAMES_MAX);
  return PG_OK;
}

static int read_sans(const names_src *s, pg_member *m, pg_diag *d) {
  char buf[SAN_BUF + 1];
  bool seen_parent = false;
  for (unsigned seq = 0;; seq++) {
    size_t size = SAN_BUF;
    memset(buf, 0, sizeof buf);
    int type = src_san(s, seq, buf, &size);
    if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return PG_OK;
    if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
      return pg_fail(d, PG_ERR_INVALID, "%s: a subjectAltName is longer than %d bytes", s->what,
                     SAN_BUF);
    if (type < 0)
      return pg_fail(d, PG_ERR_INVALID, "%s: cannot read subjectAltName %u (%s)", s->what, seq,
                     gnutls_strerror(type));
    if (size > SAN_BUF)
      return pg_fail(d, PG_ERR_INVALID, "%s: a subjectAltName is too long", s->what);
    buf[size] = '\0';
    int rc = read_san(s, type, buf, size, m, &seen_parent, d);
    if (rc) return rc;
    if (seq > 1000) return pg_fail(d, PG_ERR_INVALID, "%s: too many subjectAltNames", s->what);
  }
}

/* id, role, parent, max_w and names of a certificate or request. */
static int read_names(const names_src *s, pg_member *m, pg_diag *d) {
  char buf[PG_MEMBER_NAME_LEN + 1];
  memset(m, 0, sizeof *m);
  int rc = one_attr(s, GNUTLS_OID_X520_COMMON_NAME, "CN", buf, sizeof buf, d);
  if (rc) return rc;
  if (!pg_tls__valid_id(buf, strlen(buf)))
    return pg_fail(d, PG_ERR_INVALID,
                   "%s: CN '%.64s' is not a member id (1 to 64 of A-Z a-z 0-9 . _ -)", s->what,
                   buf);
  memcpy(m->id, buf, strlen(buf) + 1);
  rc = one_attr(s, GNUTLS_OID_X520_ORGANIZATIONAL_UNIT_NAME, "OU (role)", buf, sizeof buf, d);
  if (rc) return rc;
  pg_diag rd;
  if (pg_role_parse(buf, &m->role, &rd) != PG_OK)
    return pg_fail(d, PG_ERR_INVALID, "%s: OU %s", s->what, rd.msg);
  rc = read_sans(s, m, d);
  if (rc) return rc;
  if (m->parent[0] && m->role != PG_ROLE_SOURCE)
    return pg_fail(d, PG_ERR_INVALID, "%s: a %s names a parent (only sources have one)", s->what,
                   pg_role_name(m->role));
  return PG_OK;
}

int pg_tls__member_from_crq(gnutls_x509_crq_t crq, pg_member *out, pg_diag *d) {
  names_src s = {NULL, crq, "request"};
  return read_names(&s, out, d);
}

int pg_tls__member_from_crt(gnutls_x509_crt_t crt, pg_member *out, pg_diag *d) {
  names_src s = {crt, NULL, "certificate"};
  pg_member m;
  int rc = read_names(&s, &m, d);
  if (rc) return rc;
  size_t size = sizeof m.fingerprint;
  int g = gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, m.fingerprint, &size);
  if (g < 0 || size != sizeof m.fingerprint)
    return pg_fail(d, PG_ERR_INVALID, "certificate: cannot compute the fingerprint (%s)",
                   gnutls_strerror(g));
  uint8_t serial[64];
  size = sizeof serial;
  g = gnutls_x509_crt_get_serial(crt, serial, &size);
  if (g < 0 || size < 1 || size > 20)
    return pg_fail(d, PG_ERR_INVALID, "certificate: a serial number that is missing or over 20 bytes");
  pg_hex_encode(serial, size, m.serial);
  time_t nb = gnutls_x509_crt_get_activation_time(crt);
  time_t na = gnutls_x509_crt_get_expiration_time(crt);
  if (nb == (time_t)-1 || na == (time_t)-1)
    return pg_fail(d, PG_ERR_INVALID, "certificate: unreadable validity times");
  m.not_before = (int64_t)nb;
  m.not_after = (int64_t)na;
  *out = m;
  return PG_OK;
}

int pg_member_from_cert(const void *data, size_t len, pg_member *out, pg_diag *d) {
  gnutls_x509_crt_t crt = NULL;
  int rc = pg_tls__crt_import(data, len, &crt, d);
  if (rc) return rc;
  rc = pg_tls__member_from_crt(crt, out, d);
  gnutls_x509_crt_deinit(crt);
  return rc;
}
