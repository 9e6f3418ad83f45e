/* Unit tests for src/tls with a CA on disk: init/open, issued/ and revoked,
 * pg_ca_list, certificate requests (make + sign with expectations), and a
 * trust opened from files that picks up a new crl.pem without a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <gnutls/gnutls.h>

#include "p2pgrid/base/file.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/tls/tls.h"
#include "test_util_tmpdir.h"

static char *g_dir;

static void expect_diag(const pg_diag *d, const char *needle) {
  if (!strstr(d->msg, needle)) fail_msg("diag '%s' lacks '%s'", d->msg, needle);
}

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("pg_tls_ca");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  return 0;
}

static void path_of(char *out, size_t cap, const char *name) {
  if ((size_t)snprintf(out, cap, "%s/ca/%s", g_dir, name) >= cap) fail_msg("path too long: %s", name);
}

static uint8_t *der_of(const char *pem, size_t *len) {
  uint8_t *der = NULL;
  pg_diag d = {{0}};
  if (pg_tls_pem_to_der(pem, strlen(pem), &der, len, &d)) fail_msg("%s", d.msg);
  return der;
}

static int verify(pg_tls_trust *t, const char *pem, pg_diag *d) {
  size_t len = 0;
  uint8_t *der = der_of(pem, &len);
  pg_der chain = {der, len};
  pg_member m;
  int rc = pg_tls_trust_verify(t, &chain, 1, (int64_t)time(NULL), &m, d);
  free(der);
  return rc;
}

static void test_disk_ca(void **state) {
  (void)state;
  char dir[300], path[300];
  pg_diag d = {{0}};
  snprintf(dir, sizeof dir, "%s/ca", g_dir);
  assert_int_equal(pg_ca_init(dir, "", 0, &d), PG_ERR_INVALID);
  assert_int_equal(pg_ca_init(dir, "Disk community", 30, &d), PG_OK);
  assert_int_equal(pg_ca_init(dir, "Again", 0, &d), PG_ERR_EXISTS);
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  path_of(path, sizeof path, "ca.key");
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  path_of(path, sizeof path, "crl.pem");
  assert_int_equal(access(path, R_OK), 0);

  pg_ca *ca = NULL;
  char *k1 = NULL, *c1 = NULL, *k2 = NULL, *c2 = NULL, *k3 = NULL, *c3 = NULL;
  assert_int_equal(pg_ca_open(dir, &ca, &d), PG_OK);
  assert_int_equal(pg_ca_issue(ca, &(pg_cert_opts){.id = "prod-1", .role = PG_ROLE_PRODUCER,
                                                   .max_w = 12000, .days = 400},
                               &k1, &c1, &d), PG_OK);
  assert_int_equal(pg_ca_issue(ca, &(pg_cert_opts){.id = "pv-1", .role = PG_ROLE_SOURCE,
                                                   .parent = "prod-1", .max_w = 4500},
                               &k2, &c2, &d), PG_OK);
  pg_member m1, m2;
  assert_int_equal(pg_member_from_cert(c1, strlen(c1), &m1, &d), PG_OK);
  assert_int_equal(pg_member_from_cert(c2, strlen(c2), &m2, &d), PG_OK);
  /* member certificates never outlive the CA (30 days) */
  assert_true(m1.not_after <= (int64_t)time(NULL) + 30 * 86400 + 2);
  char issued[300];
  snprintf(issued, sizeof issued, "issued/%s.crt", m1.serial);
  path_of(path, sizeof path, issued);
  assert_int_equal(access(path, R_OK), 0);
  pg_ca_close(ca);

  /* reopened: the record survives; revoke pv-1 */
  ca = NULL;
  assert_int_equal(pg_ca_open(dir, &ca, &d), PG_OK);
  unsigned n = 0;
  assert_int_equal(pg_ca_revoke(ca, "pv-1", &n, &d), PG_OK);
  assert_int_equal(n, 1);
  assert_int_equal(pg_ca_issue(ca, &(pg_cert_opts){.id = "pv-1", .role = PG_ROLE_SOURCE,
                                                   .parent = "prod-1"},
                               &k3, &c3, &d), PG_OK);
  pg_ca_close(ca);
  ca = NULL;
  assert_int_equal(pg_ca_open(dir, &ca, &d), PG_OK);
  json_t *list = NULL;
  assert_int_equal(pg_ca_list(ca, &list, &d), PG_OK);
  assert_int_equal(json_array_size(list), 3);
  json_t *e = json_array_get(list, 0);
  char fp[65];
  pg_member_fingerprint_hex(&m1, fp);
  assert_string_equal(json_string_value(json_object_get(e, "id")), "prod-1");
  assert_string_equal(json_string_value(json_object_get(e, "role")), "producer");
  assert_true(json_is_null(json_object_get(e, "parent")));
  assert_int_equal(json_integer_value(json_object_get(e, "maxW")), 12000);
  assert_int_equal(json_integer_value(json_object_get(e, "notAfter")), m1.not_after);
  assert_string_equal(json_string_value(json_object_get(e, "fingerprint")), fp);
  assert_string_equal(json_string_value(json_object_get(e, "serial")), m1.serial);
  assert_true(json_is_false(json_object_get(e, "revoked")));
  assert_true(json_is_null(json_object_get(e, "revokedAt")));
  int revoked = 0;
  for (size_t i = 0; i < 3; i++) {
    e = json_array_get(list, i);
    if (!json_is_true(json_object_get(e, "revoked"))) continue;
    revoked++;
    assert_string_equal(json_string_value(json_object_get(e, "serial")), m2.serial);
    assert_string_equal(json_string_value(json_object_get(e, "parent")), "prod-1");
    assert_true(json_integer_value(json_object_get(e, "revokedAt")) >= (json_int_t)time(NULL) - 60);
  }
  assert_int_equal(revoked, 1);
  json_decref(list);
  FILE *f = NULL;
  char line[200];
  path_of(path, sizeof path, "revoked");
  assert_non_null(f = fopen(path, "r"));
  assert_non_null(fgets(line, sizeof line, f));
  fclose(f);
  char want[100];
  snprintf(want, sizeof want, "%s pv-1 ", m2.serial);
  assert_memory_equal(line, want, strlen(want));

  /* key + certificate files */
  char kf[300], cf[300];
  pg_tls_key *key = NULL;
  snprintf(kf, sizeof kf, "%s/prod-1.key", g_dir);
  snprintf(cf, sizeof cf, "%s/prod-1.crt", g_dir);
  assert_int_equal(pg_write_file_atomic(kf, k1, strlen(k1), true, false, &d), PG_OK);
  assert_int_equal(pg_write_file_atomic(kf, k1, strlen(k1), true, false, &d), PG_ERR_EXISTS);
  assert_int_equal(stat(kf, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(pg_write_file_atomic(cf, c2, strlen(c2), false, false, &d), PG_OK);
  assert_int_equal(pg_tls_key_load(kf, cf, &key, &d), PG_ERR_INVALID);
  assert_int_equal(pg_write_file_atomic(cf, c1, strlen(c1), false, true, &d), PG_OK);
  assert_int_equal(pg_tls_key_load(kf, cf, &key, &d), PG_OK);
  pg_tls_key_free(key);
  snprintf(kf, sizeof kf, "%s/missing.key", g_dir);
  assert_int_equal(pg_tls_key_load(kf, NULL, &key, &d), PG_ERR_IO);

  pg_ca_close(ca);
  pg_tls_free_secret(k1);
  pg_tls_free_secret(k2);
  pg_tls_free_secret(k3);
  free(c1);
  free(c2);
  free(c3);
}

/* A trust opened from ca.crt and crl.pem sees a revocation within a second
 * or so, without being opened again. */
static void test_crl_reload(void **state) {
  (void)state;
  char dir[300], ca_file[300], crl_file[300];
  pg_diag d = {{0}};
  snprintf(dir, sizeof dir, "%s/ca", g_dir);
  path_of(ca_file, sizeof ca_file, "ca.crt");
  path_of(crl_file, sizeof crl_file, "crl.pem");
  pg_ca *ca = NULL;
  char *k = NULL, *c = NULL, *k2 = NULL, *c2 = NULL;
  assert_int_equal(pg_ca_open(dir, &ca, &d), PG_OK);
  assert_int_equal(pg_ca_issue(ca, &(pg_cert_opts){.id = "house-9", .role = PG_ROLE_CONSUMER},
                               &k, &c, &d), PG_OK);
  assert_int_equal(pg_ca_issue(ca, &(pg_cert_opts){.id = "house-10", .role = PG_ROLE_CONSUMER},
                               &k2, &c2, &d), PG_OK);
  pg_tls_trust *t = NULL;
  assert_int_equal(pg_tls_trust_open(ca_file, "/nonexistent/crl.pem", &t, &d), PG_ERR_IO);
  assert_int_equal(pg_tls_trust_open(ca_file, crl_file, &t, &d), PG_OK);
  assert_int_equal(verify(t, c, &d), PG_OK);
  assert_int_equal(pg_ca_revoke(ca, "house-9", NULL, &d), PG_OK);
  uint64_t deadline = pg_monotonic_ms() + 5000;
  int rc;
  while ((rc = verify(t, c, &d)) == PG_OK && pg_monotonic_ms() < deadline) usleep(50 * 1000);
  assert_int_equal(rc, PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "certificate revoked");
  assert_int_equal(verify(t, c2, &d), PG_OK);

  /* a CRL that does not verify is refused; the previous one stays */
  pg_ca *other = NULL;
  char *bad = NULL;
  assert_int_equal(pg_ca_new_ephemeral("Intruder", &other, &d), PG_OK);
  assert_int_equal(pg_ca_crl_pem(other, &bad, &d), PG_OK);
  assert_int_equal(pg_write_file_atomic(crl_file, bad, strlen(bad), false, true, &d), PG_OK);
  usleep(1200 * 1000); /* one reload check must pass for this to mean anything */
  assert_int_equal(verify(t, c, &d), PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "certificate revoked");
  assert_int_equal(verify(t, c2, &d), PG_OK);

  free(bad);
  pg_ca_close(other);
  pg_tls_trust_free(t);
  pg_ca_close(ca);
  pg_tls_free_secret(k);
  pg_tls_free_secret(k2);
  free(c);
  free(c2);
}

static void test_requests(void **state) {
  (void)state;
  char dir[300];
  pg_diag d = {{0}};
  snprintf(dir, sizeof dir, "%s/ca", g_dir);
  pg_ca *ca = NULL;
  char *key = NULL, *csr = NULL, *crt = NULL;
  const char *hosts[] = {"prod.local", "10.0.0.7"};
  pg_cert_opts o = {.id = "prod-2", .role = PG_ROLE_PRODUCER, .max_w = 7250, .hosts = hosts,
                    .nhosts = 2};
  assert_int_equal(pg_csr_make(&(pg_cert_opts){.id = "x y", .role = PG_ROLE_GRID}, &key, &csr, &d),
                   PG_ERR_INVALID);
  expect_diag(&d, "request: id 'x y'");
  assert_int_equal(pg_csr_make(&o, &key, &csr, &d), PG_OK);
  assert_non_null(strstr(csr, "-----BEGIN NEW CERTIFICATE REQUEST-----"));
  assert_int_equal(pg_ca_open(dir, &ca, &d), PG_OK);

  pg_cert_opts expect = {.id = "prod-3", .role = PG_ROLE_PRODUCER};
  assert_int_equal(pg_ca_sign_request(ca, csr, strlen(csr), &expect, 0, &crt, &d), PG_ERR_INVALID);
  expect_diag(&d, "request: id is 'prod-2', expected 'prod-3'");
  expect = (pg_cert_opts){.id = "prod-2", .role = PG_ROLE_GRID};
  assert_int_equal(pg_ca_sign_request(ca, csr, strlen(csr), &expect, 0, &crt, &d), PG_ERR_INVALID);
  expect_diag(&d, "request: role is producer, expected grid");
  expect = (pg_cert_opts){.id = "prod-2", .role = PG_ROLE_PRODUCER, .parent = "p"};
  assert_int_equal(pg_ca_sign_request(ca, csr, strlen(csr), &expect, 0, &crt, &d), PG_ERR_INVALID);
  expect_diag(&d, "request: parent is '(none)', expected 'p'");
  assert_int_equal(pg_ca_sign_request(ca, "junk", 4, NULL, 0, &crt, &d), PG_ERR_INVALID);
  expect_diag(&d, "request: does not parse");
  /* a tampered request: its signature fails */
  char *t = strdup(csr);
  char *p = strstr(t, "REQUEST-----\n") + 13 + 60;
  *p = *p == 'A' ? 'B' : 'A';
  int rc = pg_ca_sign_request(ca, t, strlen(t), NULL, 0, &crt, &d);
  assert_true(rc == PG_ERR_CRYPTO || rc == PG_ERR_INVALID);
  free(t);
  assert_null(crt);

  expect = (pg_cert_opts){.id = "prod-2", .role = PG_ROLE_PRODUCER};
  assert_int_equal(pg_ca_sign_request(ca, csr, strlen(csr), &expect, 10, &crt, &d), PG_OK);
  pg_member m;
  assert_int_equal(pg_member_from_cert(crt, strlen(crt), &m, &d), PG_OK);
  assert_string_equal(m.id, "prod-2");
  assert_int_equal(m.role, PG_ROLE_PRODUCER);
  assert_int_equal(m.max_w, 7250);
  assert_int_equal(m.nnames, 2);
  assert_string_equal(m.names[0], "prod.local");
  assert_string_equal(m.names[1], "10.0.0.7");
  assert_true(m.not_after - m.not_before <= 10 * 86400 + 300 + 2);
  pg_tls_key *k = NULL;
  assert_int_equal(pg_tls_key_from_pem(key, crt, &k, &d), PG_OK);
  pg_tls_key_free(k);
  free(crt);
  crt = NULL;
  /* DER requests work too, and NULL expect takes the request as it is */
  uint8_t *der = NULL;
  size_t der_len = 0;
  gnutls_datum_t in = {(unsigned char *)csr, (unsigned)strlen(csr)}, out = {NULL, 0};
  assert_int_equal(gnutls_pem_base64_decode2("NEW CERTIFICATE REQUEST", &in, &out), 0);
  der = out.data;
  der_len = out.size;
  assert_int_equal(pg_ca_sign_request(ca, der, der_len, NULL, 0, &crt, &d), PG_OK);
  gnutls_free(der);
  free(crt);
  pg_ca_close(ca);
  pg_tls_free_secret(key);
  free(csr);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_disk_ca),
      cmocka_unit_test(test_crl_reload),
      cmocka_unit_test(test_requests),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
