/* Unit tests for src/tls: roles, issuing and reading member certificates,
 * verification against the CA (expiry, foreign CA, revocation, client use),
 * member keys and signatures. Disk CA, requests and crafted certificates:
 * test_tls_ca.c and test_tls_parse.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "p2pgrid/tls/tls.h"

static pg_ca *g_ca;

static void expect_diag(const pg_diag *d, const char *needle) {
  if (!strstr(d->msg, needle)) fail_msg("diag '%s' lacks '%s'", d->msg, needle);
}

static int setup(void **state) {
  (void)state;
  pg_diag d = {{0}};
  if (pg_ca_new_ephemeral("Test energy community", &g_ca, &d)) {
    print_error("%s\n", d.msg);
    return -1;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  pg_ca_close(g_ca);
  return 0;
}

typedef struct issued {
  char *key, *cert;
  uint8_t *der;
  size_t der_len;
} issued;

static void issue(pg_ca *ca, const pg_cert_opts *o, issued *out) {
  pg_diag d = {{0}};
  int rc = pg_ca_issue(ca, o, &out->key, &out->cert, &d);
  if (rc) fail_msg("issue %s: %s", o->id, d.msg);
  rc = pg_tls_pem_to_der(out->cert, strlen(out->cert), &out->der, &out->der_len, &d);
  if (rc) fail_msg("pem_to_der: %s", d.msg);
}

static void issued_free(issued *i) {
  pg_tls_free_secret(i->key);
  free(i->cert);
  free(i->der);
}

static void test_roles(void **state) {
  (void)state;
  pg_diag d = {{0}};
  pg_role r;
  const char *names[] = {"source", "producer", "consumer", "grid", "operator"};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(pg_role_parse(names[i], &r, &d), PG_OK);
    assert_int_equal(r, i + 1);
    assert_string_equal(pg_role_name(r), names[i]);
  }
  assert_null(pg_role_name(PG_ROLE_NONE));
  assert_null(pg_role_name((pg_role)6));
  assert_int_equal(pg_role_parse("Grid", &r, &d), PG_ERR_INVALID);
  expect_diag(&d, "role: 'Grid' is not one of");
  assert_int_equal(pg_role_parse("", &r, &d), PG_ERR_INVALID);
}

/* Every role round-trips through issue and pg_member_from_cert (PEM, DER). */
static void test_issue_roundtrip(void **state) {
  (void)state;
  pg_diag d = {{0}};
  const char *hosts[] = {"grid.example", "127.0.0.1", "::1"};
  for (int role = PG_ROLE_SOURCE; role <= PG_ROLE_OPERATOR; role++) {
    char id[32];
    snprintf(id, sizeof id, "member-%d.x_y", role);
    pg_cert_opts o = {.id = id, .role = (pg_role)role,
                      .parent = role == PG_ROLE_SOURCE ? "prod-1" : NULL,
                      .max_w = role == PG_ROLE_SOURCE ? 5000 : 0,
                      .hosts = role == PG_ROLE_GRID ? hosts : NULL,
                      .nhosts = role == PG_ROLE_GRID ? 3 : 0};
    issued is = {0};
    time_t now = time(NULL);
    issue(g_ca, &o, &is);
    assert_non_null(strstr(is.key, "-----BEGIN PRIVATE KEY-----"));
    pg_member m, m2;
    assert_int_equal(pg_member_from_cert(is.cert, strlen(is.cert), &m, &d), PG_OK);
    assert_int_equal(pg_member_from_cert(is.der, is.der_len, &m2, &d), PG_OK);
    assert_memory_equal(&m, &m2, sizeof m);
    assert_string_equal(m.id, id);
    assert_int_equal(m.role, role);
    assert_string_equal(m.parent, role == PG_ROLE_SOURCE ? "prod-1" : "");
    assert_int_equal(m.max_w, role == PG_ROLE_SOURCE ? 5000 : 0);
    assert_int_equal(strlen(m.serial), 32);
    assert_true(m.not_before <= now - 299 && m.not_before >= now - 302);
    assert_true(m.not_after >= now + 825LL * 86400 - 2 && m.not_after <= now + 825LL * 86400 + 2);
    uint8_t fp[32];
    assert_int_equal(gnutls_hash_fast(GNUTLS_DIG_SHA256, is.der, is.der_len, fp), 0);
    assert_memory_equal(fp, m.fingerprint, 32);
    char hex[65];
    pg_member_fingerprint_hex(&m, hex);
    assert_int_equal(strlen(hex), 64);
    if (role == PG_ROLE_GRID) {
      assert_int_equal(m.nnames, 3);
      assert_string_equal(m.names[0], "grid.example");
      assert_string_equal(m.names[1], "127.0.0.1");
      assert_string_equal(m.names[2], "::1");
    } else {
      assert_int_equal(m.nnames, 0);
    }
    issued_free(&is);
  }
}

static void test_issue_refused(void **state) {
  (void)state;
  pg_diag d = {{0}};
  char *k = NULL, *c = NULL;
  const char *nine[9] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
  const char *bad_host[] = {"bad host"};
  struct {
    pg_cert_opts o;
    const char *diag;
  } cases[] = {
      {{.id = "has space", .role = PG_ROLE_CONSUMER}, "id 'has space' is not"},
      {{.id = "", .role = PG_ROLE_CONSUMER}, "id '' is not"},
      {{.id = "c1", .role = PG_ROLE_NONE}, "no role"},
      {{.id = "c1", .role = PG_ROLE_CONSUMER, .parent = "p1"}, "a consumer has no parent"},
      {{.id = "s1", .role = PG_ROLE_SOURCE}, "a source needs its producer"},
      {{.id = "s1", .role = PG_ROLE_SOURCE, .parent = "p 1"}, "parent 'p 1' is not"},
      {{.id = "c1", .role = PG_ROLE_CONSUMER, .max_w = PG_MEMBER_MAX_W + 1}, "over 10^12"},
      {{.id = "g1", .role = PG_ROLE_GRID, .hosts = nine, .nhosts = 9}, "9 hosts"},
      {{.id = "g1", .role = PG_ROLE_GRID, .hosts = bad_host, .nhosts = 1}, "host 'bad host'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(pg_ca_issue(g_ca, &cases[i].o, &k, &c, &d), PG_ERR_INVALID);
    expect_diag(&d, cases[i].diag);
    assert_null(k);
    assert_null(c);
  }
}

static void verify_expect(pg_tls_trust *t, const issued *is, int64_t now, int want,
                          const char *diag) {
  pg_diag d = {{0}};
  pg_member m;
  pg_der chain = {is->der, is->der_len};
  int rc = pg_tls_trust_verify(t, &chain, 1, now, &m, &d);
  if (rc != want) fail_msg("verify: %d (%s), want %d", rc, d.msg, want);
  if (diag && strcmp(d.msg, diag) != 0) fail_msg("diag '%s', want '%s'", d.msg, diag);
}

static void test_trust(void **state) {
  (void)state;
  pg_diag d = {{0}};
  pg_tls_trust *t = NULL;
  pg_member m;
  issued a = {0}, b = {0}, f = {0};
  issue(g_ca, &(pg_cert_opts){.id = "alice", .role = PG_ROLE_CONSUMER}, &a);
  issue(g_ca, &(pg_cert_opts){.id = "bob", .role = PG_ROLE_PRODUCER, .max_w = 3000}, &b);
  assert_int_equal(pg_tls_trust_from_pem(pg_ca_cert_pem(g_ca), NULL, &t, &d), PG_OK);
  assert_string_equal(pg_tls_trust_ca_pem(t), pg_ca_cert_pem(g_ca));
  int64_t now = (int64_t)time(NULL);
  pg_der chain[2] = {{a.der, a.der_len}, {NULL, 0}};
  assert_int_equal(pg_tls_trust_verify(t, chain, 1, now, &m, &d), PG_OK);
  assert_string_equal(m.id, "alice");
  assert_int_equal(m.role, PG_ROLE_CONSUMER);
  /* the CA certificate sent along is fine */
  uint8_t *ca_der = NULL;
  size_t ca_len = 0;
  assert_int_equal(pg_tls_pem_to_der(pg_ca_cert_pem(g_ca), strlen(pg_ca_cert_pem(g_ca)), &ca_der,
                                     &ca_len, &d), PG_OK);
  chain[1] = (pg_der){ca_der, ca_len};
  assert_int_equal(pg_tls_trust_verify(t, chain, 2, now, &m, &d), PG_OK);
  /* the CA certificate as a client certificate: no clientAuth */
  chain[0] = (pg_der){ca_der, ca_len};
  assert_int_equal(pg_tls_trust_verify(t, chain, 1, now, &m, &d), PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "certificate is not for client use");
  assert_int_equal(pg_tls_trust_verify(t, NULL, 0, now, &m, &d), PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "no client certificate");
  uint8_t junk[3] = {1, 2, 3};
  chain[0] = (pg_der){junk, sizeof junk};
  assert_int_equal(pg_tls_trust_verify(t, chain, 1, now, &m, &d), PG_ERR_INVALID);

  /* times */
  assert_int_equal(pg_member_from_cert(a.der, a.der_len, &m, &d), PG_OK);
  verify_expect(t, &a, m.not_before, PG_OK, NULL);
  verify_expect(t, &a, m.not_after, PG_OK, NULL);
  verify_expect(t, &a, m.not_after + 1, PG_ERR_CRYPTO, "certificate expired");
  verify_expect(t, &a, m.not_before - 1, PG_ERR_CRYPTO, "certificate not yet valid");

  /* another community's CA */
  pg_ca *other = NULL;
  assert_int_equal(pg_ca_new_ephemeral("Other community", &other, &d), PG_OK);
  issue(other, &(pg_cert_opts){.id = "alice", .role = PG_ROLE_CONSUMER}, &f);
  verify_expect(t, &f, now, PG_ERR_CRYPTO, "certificate not issued by this community's CA");

  /* revocation via the ephemeral CA's CRL */
  unsigned count = 9;
  assert_int_equal(pg_ca_revoke(g_ca, "nobody", &count, &d), PG_ERR_NOT_FOUND);
  expect_diag(&d, "no certificate was issued to 'nobody'");
  assert_int_equal(pg_ca_revoke(g_ca, "alice", &count, &d), PG_OK);
  assert_int_equal(count, 1);
  assert_int_equal(pg_ca_revoke(g_ca, "alice", &count, &d), PG_OK);
  assert_int_equal(count, 0);
  char *crl = NULL;
  assert_int_equal(pg_ca_crl_pem(g_ca, &crl, &d), PG_OK);
  pg_tls_trust *t2 = NULL;
  assert_int_equal(pg_tls_trust_from_pem(pg_ca_cert_pem(g_ca), crl, &t2, &d), PG_OK);
  verify_expect(t2, &a, now, PG_ERR_CRYPTO, "certificate revoked");
  verify_expect(t2, &b, now, PG_OK, NULL);
  verify_expect(t, &a, now, PG_OK, NULL); /* t has no CRL */
  /* a CRL of another CA is refused */
  char *other_crl = NULL;
  pg_tls_trust *t3 = NULL;
  assert_int_equal(pg_ca_crl_pem(other, &other_crl, &d), PG_OK);
  assert_int_equal(pg_tls_trust_from_pem(pg_ca_cert_pem(g_ca), other_crl, &t3, &d), PG_ERR_CRYPTO);
  expect_diag(&d, "CRL: not signed by this community's CA");
  /* a member certificate is no CA */
  assert_int_equal(pg_tls_trust_from_pem(b.cert, NULL, &t3, &d), PG_ERR_INVALID);
  assert_null(t3);

  free(crl);
  free(other_crl);
  free(ca_der);
  pg_tls_trust_free(t);
  pg_tls_trust_free(t2);
  pg_ca_close(other);
  issued_free(&a);
  issued_free(&b);
  issued_free(&f);
}

static void test_keys(void **state) {
  (void)state;
  pg_diag d = {{0}};
  issued a = {0}, b = {0};
  issue(g_ca, &(pg_cert_opts){.id = "signer", .role = PG_ROLE_PRODUCER}, &a);
  issue(g_ca, &(pg_cert_opts){.id = "other", .role = PG_ROLE_CONSUMER}, &b);
  pg_tls_key *k = NULL, *k2 = NULL;
  assert_int_equal(pg_tls_key_from_pem(a.key, b.cert, &k, &d), PG_ERR_INVALID);
  expect_diag(&d, "the certificate is not for this key");
  assert_null(k);
  assert_int_equal(pg_tls_key_from_pem("not a key", NULL, &k, &d), PG_ERR_INVALID);
  assert_int_equal(pg_tls_key_from_pem(a.key, a.cert, &k, &d), PG_OK);
  assert_int_equal(pg_tls_key_from_pem(a.key, NULL, &k2, &d), PG_OK);
  size_t len = 99;
  assert_null(pg_tls_key_cert_der(k2, &len));
  assert_int_equal(len, 0);
  const uint8_t *der = pg_tls_key_cert_der(k, &len);
  assert_int_equal(len, a.der_len);
  assert_memory_equal(der, a.der, len);

  const char msg[] = "channel binding: exporter bytes";
  uint8_t s1[PG_TLS_SIG_MAX], s2[PG_TLS_SIG_MAX], s3[PG_TLS_SIG_MAX];
  size_t l1 = 0, l2 = 0, l3 = 0;
  assert_int_equal(pg_tls_sign(k, msg, sizeof msg, s1, sizeof s1, &l1, &d), PG_OK);
  assert_int_equal(pg_tls_sign(k2, msg, sizeof msg, s2, sizeof s2, &l2, &d), PG_OK);
  assert_int_equal(l1, l2);
  assert_memory_equal(s1, s2, l1); /* deterministic (RFC 6979) */
  assert_true(l1 >= 8 && l1 <= 72);
  assert_int_equal(pg_tls_sign(k, msg, sizeof msg - 1, s3, sizeof s3, &l3, &d), PG_OK);
  assert_false(l3 == l1 && memcmp(s1, s3, l1) == 0);
  assert_int_equal(pg_tls_sign(k, msg, sizeof msg, s3, 4, &l3, &d), PG_ERR_TOO_LARGE);
  assert_int_equal(pg_tls_sign(k, "", 0, s3, sizeof s3, &l3, &d), PG_OK);

  assert_int_equal(pg_tls_sig_verify(a.der, a.der_len, msg, sizeof msg, s1, l1, &d), PG_OK);
  assert_int_equal(pg_tls_sig_verify(a.der, a.der_len, msg, sizeof msg - 1, s1, l1, &d),
                   PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "signature does not verify");
  uint8_t bad[PG_TLS_SIG_MAX];
  memcpy(bad, s1, l1);
  bad[l1 - 1] ^= 1;
  assert_int_equal(pg_tls_sig_verify(a.der, a.der_len, msg, sizeof msg, bad, l1, &d),
                   PG_ERR_CRYPTO);
  assert_int_equal(pg_tls_sig_verify(a.der, a.der_len, msg, sizeof msg, s1, l1 - 1, &d),
                   PG_ERR_CRYPTO);
  assert_int_equal(pg_tls_sig_verify(b.der, b.der_len, msg, sizeof msg, s1, l1, &d),
                   PG_ERR_CRYPTO);
  uint8_t junk[4] = {0x30, 0x02, 0, 0};
  assert_int_equal(pg_tls_sig_verify(junk, sizeof junk, msg, sizeof msg, s1, l1, &d),
                   PG_ERR_INVALID);
  pg_tls_key_free(k);
  pg_tls_key_free(k2);
  issued_free(&a);
  issued_free(&b);
}

static void test_pem_helpers(void **state) {
  (void)state;
  pg_diag d = {{0}};
  issued a = {0};
  issue(g_ca, &(pg_cert_opts){.id = "p", .role = PG_ROLE_CONSUMER}, &a);
  pg_member m;
  /* two blocks are refused by the member reader */
  size_t n = strlen(a.cert);
  char *two = malloc(2 * n + 1);
  memcpy(two, a.cert, n);
  memcpy(two + n, a.cert, n + 1);
  assert_int_equal(pg_member_from_cert(two, 2 * n, &m, &d), PG_ERR_INVALID);
  expect_diag(&d, "more than one");
  /* not NUL-terminated: only len bytes are read */
  char *exact = malloc(n);
  memcpy(exact, a.cert, n);
  assert_int_equal(pg_member_from_cert(exact, n, &m, &d), PG_OK);
  assert_int_equal(pg_member_from_cert(exact, n / 2, &m, &d), PG_ERR_INVALID);
  assert_int_equal(pg_member_from_cert("", 0, &m, &d), PG_ERR_INVALID);
  uint8_t *der = NULL;
  size_t der_len = 0;
  assert_int_equal(pg_tls_pem_to_der("hello", 5, &der, &der_len, &d), PG_ERR_INVALID);
  free(two);
  free(exact);
  issued_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roles),       cmocka_unit_test(test_issue_roundtrip),
      cmocka_unit_test(test_issue_refused), cmocka_unit_test(test_trust),
      cmocka_unit_test(test_keys),        cmocka_unit_test(test_pem_helpers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
