/* ca_store.c — what the CA issued and revoked: issued/, revoked, crl.pem,
 * pg_ca_revoke, pg_ca_list (p2pgrid/tls/tls.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/base/array.h"
#include "p2pgrid/base/hex.h"
#include "tls_internal.h"

#define REVOKED_MAX (16u * 1024 * 1024)

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int entry_add(pg_ca *ca, const pg_member *m, int64_t issued_ns, pg_diag *d) {
  if (pg_grow(&ca->v, &ca->cap, ca->n + 1, sizeof *ca->v, 0))
    return pg_fail(d, PG_ERR_NOMEM, "CA: out of memory");
  ca->v[ca->n].m = *m;
  ca->v[ca->n].revoked_at = 0;
  ca->v[ca->n].issued_ns = issued_ns;
  ca->n++;
  if (issued_ns > ca->last_issued_ns) ca->last_issued_ns = issued_ns;
  return PG_OK;
}

int pg_tls__ca_record(pg_ca *ca, gnutls_x509_crt_t crt, const char *pem, pg_diag *d) {
  pg_member m;
  char name[64], path[4096];
  int rc = pg_tls__member_from_crt(crt, &m, d);
  if (rc) return rc;
  pthread_mutex_lock(&ca->mu);
  /* the issue order is the files' modification time: strictly increasing,
   * also for certificates issued within one tick of the file system clock */
  int64_t at = now_ns();
  if (at <= ca->last_issued_ns) at = ca->last_issued_ns + 1;
  if (ca->dir) {
    snprintf(name, sizeof name, "issued/%s.crt", m.serial);
    rc = pg_tls__path(path, sizeof path, ca->dir, name, d);
    if (rc == PG_OK) rc = pg_write_file_atomic(path, pem, strlen(pem), false, false, d);
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT},
                             {.tv_sec = (time_t)(at / 1000000000), .tv_nsec = (long)(at % 1000000000)}};
    if (rc == PG_OK && utimensat(AT_FDCWD, path, ts, 0) != 0)
      rc = pg_fail(d, PG_ERR_IO, "CA: %s: cannot set its time: %s", path, strerror(errno));
  }
  if (rc == PG_OK) rc = entry_add(ca, &m, at, d);
  pthread_mutex_unlock(&ca->mu);
  return rc;
}

static int entry_cmp(const void *a, const void *b) {
  const ca_entry *x = a, *y = b;
  if (x->issued_ns != y->issued_ns) return x->issued_ns < y->issued_ns ? -1 : 1;
  return strcmp(x->m.serial, y->m.serial);
}

static bool is_crt_name(const char *s) {
  size_t n = strlen(s);
  if (n < 6 || n > 44 || strcmp(s + n - 4, ".crt") != 0) return false;
  for (size_t i = 0; i + 4 < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

static int load_issued(pg_ca *ca, pg_diag *d) {
  char path[4096];
  int rc = pg_tls__path(path, sizeof path, ca->dir, "issued", d);
  if (rc) return rc;
  DIR *dir = opendir(path);
  if (!dir) return pg_fail(d, PG_ERR_IO, "CA: cannot open %s: %s", path, strerror(errno));
  struct dirent *e;
  while (rc == PG_OK && (e = readdir(dir)) != NULL) {
    if (!is_crt_name(e->d_name)) continue;
    char file[4096 + 64];
    uint8_t *data = NULL;
    size_t len = 0;
    gnutls_x509_crt_t crt = NULL;
    pg_member m;
    rc = pg_tls__path(file, sizeof file, path, e->d_name, d);
    if (rc == PG_OK) rc = pg_read_file_capped(file, TLS_CERT_MAX, &data, &len, d);
    if (rc == PG_OK) rc = pg_tls__crt_import(data, len, &crt, d);
    if (rc == PG_OK) rc = pg_tls__member_from_crt(crt, &m, d);
    struct stat st;
    if (rc == PG_OK) {
      int64_t at = (int64_t)m.not_before * 1000000000;
      if (stat(file, &st) == 0) at = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
      rc = entry_add(ca, &m, at, d);
    } else if (rc == PG_ERR_INVALID)
      rc = pg_fail(d, PG_ERR_INVALID, "CA: %s: not a member certificate", file);
    if (crt) gnutls_x509_crt_deinit(crt);
    free(data);
  }
  closedir(dir);
  if (rc == PG_OK && ca->n > 1) qsort(ca->v, ca->n, sizeof *ca->v, entry_cmp);
  return rc;
}

/* One line of `revoked`: "<serial-hex> <id> <unix-seconds>". */
static int revoked_line(pg_ca *ca, const char *line, unsigned no, pg_diag *d) {
  char serial[64], id[PG_MEMBER_ID_MAX + 2];
  long long at = 0;
  char tail;
  if (sscanf(line, "%63s %65s %lld %c", serial, id, &at, &tail) != 3 || strlen(serial) > 40 ||
      !pg_tls__valid_id(id, strlen(id)) || at <= 0)
    return pg_fail(d, PG_ERR_INVALID, "CA: %s/revoked line %u: not '<serial-hex> <id> <unix-seconds>'",
                   ca->dir, no);
  for (size_t i = 0; i < ca->n; i++)
    if (strcmp(ca->v[i].m.serial, serial) == 0) {
      ca->v[i].revoked_at = at;
      return PG_OK;
    }
  pg_member m; /* issued/ lost the certificate: keep the revocation */
  memset(&m, 0, sizeof m);
  memcpy(m.serial, serial, strlen(serial) + 1);
  memcpy(m.id, id, strlen(id) + 1);
  int rc = entry_add(ca, &m, at * 1000000000, d);
  if (rc == PG_OK) ca->v[ca->n - 1].revoked_at = at;
  return rc;
}

static int load_revoked(pg_ca *ca, pg_diag *d) {
  char path[4096];
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = pg_tls__path(path, sizeof path, ca->dir, "revoked", d);
  if (rc) return rc;
  pg_diag rd;
  rc = pg_read_file_capped(path, REVOKED_MAX, &data, &len, &rd);
  if (rc == PG_ERR_IO && access(path, F_OK) != 0) return PG_OK; /* none yet */
  if (rc) return pg_fail(d, rc, "CA: %s", rd.msg);
  char *save = NULL;
  unsigned no = 0;
  for (char *line = strtok_r((char *)data, "\n", &save); line && rc == PG_OK;
       line = strtok_r(NULL, "\n", &save)) {
    no++;
    if (line[0] && line[0] != '#') rc = revoked_line(ca, line, no, d);
  }
  free(data);
  return rc;
}

int pg_tls__ca_load(pg_ca *ca, pg_diag *d) {
  int rc = load_issued(ca, d);
  if (rc == PG_OK) rc = load_revoked(ca, d);
  return rc;
}

int pg_tls__ca_crl_locked(pg_ca *ca, char **pem, pg_diag *d) {
  gnutls_x509_crl_t crl = NULL;
  gnutls_datum_t dt = {NULL, 0};
  int rc = PG_OK;
  time_t now = time(NULL), end = gnutls_x509_crt_get_expiration_time(ca->crt);
  uint8_t number[8];
  for (int i = 0; i < 8; i++) number[i] = (uint8_t)((uint64_t)now >> (56 - 8 * i));
  int g = gnutls_x509_crl_init(&crl);
  if (g == 0) g = gnutls_x509_crl_set_version(crl, 2);
  if (g == 0) g = gnutls_x509_crl_set_this_update(crl, now);
  if (g == 0) g = gnutls_x509_crl_set_next_update(crl, end > now ? end : now + 86400);
  if (g == 0) g = gnutls_x509_crl_set_number(crl, number, sizeof number);
  if (g == 0) g = gnutls_x509_crl_set_authority_key_id(crl, ca->ski, ca->ski_len);
  for (size_t i = 0; g == 0 && i < ca->n; i++) {
    uint8_t serial[20];
    size_t n = 0;
    if (!ca->v[i].revoked_at) continue;
    const char *hex = ca->v[i].m.serial;
    if (pg_hex_decode(hex, strlen(hex), serial, sizeof serial, &n) != PG_OK || n == 0) continue;
    g = gnutls_x509_crl_set_crt_serial(crl, serial, n, (time_t)ca->v[i].revoked_at);
  }
  if (g == 0) g = gnutls_x509_crl_privkey_sign(crl, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0);
  if (g == 0) g = gnutls_x509_crl_export2(crl, GNUTLS_X509_FMT_PEM, &dt);
  if (g < 0) {
    rc = pg_fail(d, PG_ERR_CRYPTO, "CA: cannot make the CRL (%s)", gnutls_strerror(g));
    goto out;
  }
  rc = pg_tls__datum_str(&dt, false, pem, d);
out:
  if (crl) gnutls_x509_crl_deinit(crl);
  return rc;
}

int pg_ca_crl_pem(pg_ca *ca, char **crl_pem, pg_diag *d) {
  pthread_mutex_lock(&ca->mu);
  int rc = pg_tls__ca_crl_locked(ca, crl_pem, d);
  pthread_mutex_unlock(&ca->mu);
  return rc;
}

/* Rewrites DIR/revoked and DIR/crl.pem from the entries. */
static int write_revocations(pg_ca *ca, pg_diag *d) {
  char path[4096], *crl = NULL, *text = NULL;
  size_t len = 0, cap = 1 + ca->n * (41 + PG_MEMBER_ID_MAX + 24);
  int rc = PG_OK;
  if (!(text = malloc(cap))) return pg_fail(d, PG_ERR_NOMEM, "CA: out of memory");
  for (size_t i = 0; i < ca->n; i++)
    if (ca->v[i].revoked_at)
      len += (size_t)snprintf(text + len, cap - len, "%s %s %" PRId64 "\n", ca->v[i].m.serial,
                              ca->v[i].m.id, ca->v[i].revoked_at);
  rc = pg_tls__path(path, sizeof path, ca->dir, "revoked", d);
  if (rc == PG_OK) rc = pg_write_file_atomic(path, text, len, false, true, d);
  if (rc == PG_OK) rc = pg_tls__ca_crl_locked(ca, &crl, d);
  if (rc == PG_OK) rc = pg_tls__path(path, sizeof path, ca->dir, "crl.pem", d);
  if (rc == PG_OK) rc = pg_write_file_atomic(path, crl, strlen(crl), false, true, d);
  free(crl);
  free(text);
  return rc;
}

int pg_ca_revoke(pg_ca *ca, const char *id, unsigned *count, pg_diag *d) {
  if (!id || !pg_tls__valid_id(id, strlen(id)))
    return pg_fail(d, PG_ERR_INVALID, "CA: '%.64s' is not a member id", id ? id : "");
  int rc = PG_OK;
  unsigned issued = 0, revoked = 0;
  int64_t now = (int64_t)time(NULL);
  pthread_mutex_lock(&ca->mu);
  for (size_t i = 0; i < ca->n; i++) {
    if (strcmp(ca->v[i].m.id, id) != 0) continue;
    issued++;
    if (!ca->v[i].revoked_at) {
      ca->v[i].revoked_at = now;
      revoked++;
    }
  }
  if (issued == 0) {
    rc = pg_fail(d, PG_ERR_NOT_FOUND, "CA: no certificate was issued to '%s'", id);
  } else if (ca->dir && (rc = write_revocations(ca, d)) != PG_OK) {
    for (size_t i = 0; i < ca->n; i++) /* undo what this call marked */
      if (strcmp(ca->v[i].m.id, id) == 0 && ca->v[i].revoked_at == now) ca->v[i].revoked_at = 0;
  }
  pthread_mutex_unlock(&ca->mu);
  if (rc == PG_OK && count) *count = revoked;
  return rc;
}

static json_t *entry_json(const ca_entry *e) {
  char fp[65];
  const pg_member *m = &e->m;
  static const uint8_t zero[32];
  if (memcmp(m->fingerprint, zero, sizeof zero) == 0) fp[0] = '\0';
  else pg_member_fingerprint_hex(m, fp);
  json_t *o = json_object();
  if (!o) return NULL;
  const char *role = pg_role_name(m->role);
  int bad = json_object_set_new(o, "serial", json_string(m->serial));
  bad |= json_object_set_new(o, "id", json_string(m->id));
  bad |= json_object_set_new(o, "role", role ? json_string(role) : json_null());
  bad |= json_object_set_new(o, "parent", m->parent[0] ? json_string(m->parent) : json_null());
  bad |= json_object_set_new(o, "maxW", m->max_w ? json_integer((json_int_t)m->max_w) : json_null());
  bad |= json_object_set_new(o, "notAfter", m->not_after ? json_integer(m->not_after) : json_null());
  bad |= json_object_set_new(o, "fingerprint", fp[0] ? json_string(fp) : json_null());
  bad |= json_object_set_new(o, "revoked", json_boolean(e->revoked_at != 0));
  bad |= json_object_set_new(o, "revokedAt",
                             e->revoked_at ? json_integer(e->revoked_at) : json_null());
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int pg_ca_list(pg_ca *ca, json_t **out, pg_diag *d) {
  int rc = PG_OK;
  json_t *a = json_array();
  if (!a) return pg_fail(d, PG_ERR_NOMEM, "CA: out of memory");
  pthread_mutex_lock(&ca->mu);
  for (size_t i = 0; i < ca->n && rc == PG_OK; i++) {
    json_t *o = entry_json(&ca->v[i]);
    if (!o || json_array_append_new(a, o) != 0) rc = pg_fail(d, PG_ERR_NOMEM, "CA: out of memory");
  }
  pthread_mutex_unlock(&ca->mu);
  if (rc) json_decref(a);
  else *out = a;
  return rc;
}
