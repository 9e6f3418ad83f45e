/* Unit tests for pg_member_from_cert on certificates crafted here with
 * GnuTLS (two CNs, no OU, unknown roles and URIs, duplicate URNs, ...), and
 * for pg_tls_trust_verify on a certificate without clientAuth. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "p2pgrid/tls/tls.h"

static gnutls_x509_privkey_t g_key; /* one key for everything here */
static gnutls_x509_crt_t g_ca;      /* a CA made with GnuTLS directly */

static void expect_diag(const pg_diag *d, const char *needle) {
  if (!strstr(d->msg, needle)) fail_msg("diag '%s' lacks '%s'", d->msg, needle);
}

#define G(x)                                                   \
  do {                                                         \
    int g_ = (x);                                              \
    if (g_ < 0) fail_msg("%s: %s", #x, gnutls_strerror(g_));   \
  } while (0)

typedef struct craft {
  const char *dn;           /* RFC 4514 */
  const char *uris[4];      /* subjectAltName URIs */
  const char *dns[10];      /* subjectAltName DNS names */
  bool no_client;           /* EKU serverAuth only */
  bool self;                /* self-signed instead of signed by g_ca */
} craft;

/* A certificate as c says, DER (caller frees). */
static uint8_t *make(const craft *c, size_t *len) {
  gnutls_x509_crt_t crt;
  const char *err = NULL;
  uint8_t serial[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  time_t now = time(NULL);
  G(gnutls_x509_crt_init(&crt));
  G(gnutls_x509_crt_set_version(crt, 3));
  G(gnutls_x509_crt_set_serial(crt, serial, sizeof serial));
  G(gnutls_x509_crt_set_activation_time(crt, now - 60));
  G(gnutls_x509_crt_set_expiration_time(crt, now + 86400));
  int g = gnutls_x509_crt_set_dn(crt, c->dn, &err);
  if (g < 0) fail_msg("set_dn %s at %s: %s", c->dn, err ? err : "?", gnutls_strerror(g));
  G(gnutls_x509_crt_set_key(crt, g_key));
  G(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
  G(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
  G(gnutls_x509_crt_set_key_purpose_oid(crt, c->no_client ? GNUTLS_KP_TLS_WWW_SERVER
                                                           : GNUTLS_KP_TLS_WWW_CLIENT, 0));
  for (int i = 0; i < 4 && c->uris[i]; i++)
    G(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, c->uris[i],
                                           (unsigned)strlen(c->uris[i]), GNUTLS_FSAN_APPEND));
  for (int i = 0; i < 10 && c->dns[i]; i++)
    G(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, c->dns[i],
                                           (unsigned)strlen(c->dns[i]), GNUTLS_FSAN_APPEND));
  G(gnutls_x509_crt_sign2(crt, c->self ? crt : g_ca, g_key, GNUTLS_DIG_SHA256, 0));
  gnutls_datum_t out;
  G(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &out));
  uint8_t *der = malloc(out.size);
  memcpy(der, out.data, out.size);
  *len = out.size;
  gnutls_free(out.data);
  gnutls_x509_crt_deinit(crt);
  return der;
}

static int setup(void **state) {
  (void)state;
  const char *err = NULL;
  time_t now = time(NULL);
  uint8_t serial[1] = {1};
  G(gnutls_x509_privkey_init(&g_key));
  G(gnutls_x509_privkey_generate(g_key, GNUTLS_PK_ECDSA,
                                 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
  G(gnutls_x509_crt_init(&g_ca));
  G(gnutls_x509_crt_set_version(g_ca, 3));
  G(gnutls_x509_crt_set_serial(g_ca, serial, 1));
  G(gnutls_x509_crt_set_activation_time(g_ca, now - 3600));
  G(gnutls_x509_crt_set_expiration_time(g_ca, now + 86400 * 10));
  G(gnutls_x509_crt_set_dn(g_ca, "CN=Crafted CA", &err));
  G(gnutls_x509_crt_set_key(g_ca, g_key));
  G(gnutls_x509_crt_set_basic_constraints(g_ca, 1, 0));
  G(gnutls_x509_crt_set_key_usage(g_ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
  G(gnutls_x509_crt_sign2(g_ca, g_ca, g_key, GNUTLS_DIG_SHA256, 0));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  gnutls_x509_crt_deinit(g_ca);
  gnutls_x509_privkey_deinit(g_key);
  return 0;
}

static void parse_expect(const craft *c, int want, const char *diag, pg_member *m) {
  size_t len = 0;
  pg_diag d = {{0}};
  uint8_t *der = make(c, &len);
  int rc = pg_member_from_cert(der, len, m, &d);
  free(der);
  if (rc != want) fail_msg("%s: rc %d (%s), want %d", c->dn, rc, d.msg, want);
  if (diag) expect_diag(&d, diag);
}

static void test_good_crafted(void **state) {
  (void)state;
  pg_member m;
  parse_expect(&(craft){.dn = "CN=pv-1,OU=source",
                        .uris = {"urn:p2pgrid:parent:prod-1", "urn:p2pgrid:max-w:1000000000000",
                                 "https://example.org/ignored"},
                        .dns = {"pv.local"}},
               PG_OK, NULL, &m);
  assert_string_equal(m.id, "pv-1");
  assert_string_equal(m.parent, "prod-1");
  assert_int_equal(m.max_w, PG_MEMBER_MAX_W);
  assert_int_equal(m.nnames, 1);
  assert_string_equal(m.names[0], "pv.local");
  assert_string_equal(m.serial, "0102030405060708");
  /* a source may leave its parent out of the certificate */
  parse_expect(&(craft){.dn = "CN=pv-2,OU=source,O=Somewhere"}, PG_OK, NULL, &m);
  assert_string_equal(m.parent, "");
  char id64[80] = "CN=";
  memset(id64 + 3, 'a', 64);
  strcpy(id64 + 67, ",OU=grid");
  parse_expect(&(craft){.dn = id64}, PG_OK, NULL, &m);
  assert_int_equal(strlen(m.id), 64);
}

static void test_bad_crafted(void **state) {
  (void)state;
  pg_member m;
  char id65[80] = "CN=";
  memset(id65 + 3, 'a', 65);
  strcpy(id65 + 68, ",OU=grid");
  struct {
    craft c;
    const char *diag;
  } cases[] = {
      {{.dn = "OU=grid"}, "certificate: the subject has no CN"},
      {{.dn = "CN=a,CN=b,OU=grid"}, "more than one CN"},
      {{.dn = "CN=has space,OU=grid"}, "CN 'has space' is not a member id"},
      {{.dn = "CN=a/b,OU=grid"}, "is not a member id"},
      {{.dn = id65}, "is not a member id"},
      {{.dn = "CN=g1"}, "the subject has no OU (role)"},
      {{.dn = "CN=g1,OU=grid,OU=consumer"}, "more than one OU (role)"},
      {{.dn = "CN=g1,OU=Grid"}, "role: 'Grid' is not one of"},
      {{.dn = "CN=g1,OU=battery"}, "role: 'battery' is not one of"},
      {{.dn = "CN=c1,OU=consumer", .uris = {"urn:p2pgrid:parent:prod-1"}},
       "a consumer names a parent"},
      {{.dn = "CN=s1,OU=source", .uris = {"urn:p2pgrid:parent:p1", "urn:p2pgrid:parent:p1"}},
       "more than one urn:p2pgrid:parent:"},
      {{.dn = "CN=s1,OU=source", .uris = {"urn:p2pgrid:parent:p 1"}}, "is not a member id"},
      {{.dn = "CN=s1,OU=source", .uris = {"urn:p2pgrid:parent:"}}, "is not a member id"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:max-w:5", "urn:p2pgrid:max-w:5"}},
       "more than one urn:p2pgrid:max-w:"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:max-w:0"}}, "not a whole number of watts"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:max-w:05"}}, "not a whole number of watts"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:max-w:1000000000001"}},
       "not a whole number of watts"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:max-w:1.5"}}, "not a whole number of watts"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:max-w:"}}, "not a whole number of watts"},
      {{.dn = "CN=s1,OU=grid", .uris = {"urn:p2pgrid:role:grid"}}, "unknown p2pgrid URI"},
      {{.dn = "CN=s1,OU=grid", .uris = {"URN:P2PGRID:parent:x"}}, "unknown p2pgrid URI"},
      {{.dn = "CN=s1,OU=grid",
        .dns = {"a", "b", "c", "d", "e", "f", "g", "h", "i"}},
       "more than 8 DNS names and IP addresses"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    parse_expect(&cases[i].c, PG_ERR_INVALID, cases[i].diag, &m);
}

static void test_not_for_clients(void **state) {
  (void)state;
  gnutls_datum_t pem;
  pg_tls_trust *t = NULL;
  pg_diag d = {{0}};
  pg_member m;
  G(gnutls_x509_crt_export2(g_ca, GNUTLS_X509_FMT_PEM, &pem));
  char *ca_pem = strndup((const char *)pem.data, pem.size);
  gnutls_free(pem.data);
  assert_int_equal(pg_tls_trust_from_pem(ca_pem, NULL, &t, &d), PG_OK);
  size_t len = 0;
  uint8_t *der = make(&(craft){.dn = "CN=g1,OU=grid", .no_client = true}, &len);
  pg_der chain = {der, len};
  int64_t now = (int64_t)time(NULL);
  assert_int_equal(pg_tls_trust_verify(t, &chain, 1, now, &m, &d), PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "certificate is not for client use");
  free(der);
  der = make(&(craft){.dn = "CN=g1,OU=grid"}, &len);
  chain = (pg_der){der, len};
  assert_int_equal(pg_tls_trust_verify(t, &chain, 1, now, &m, &d), PG_OK);
  assert_string_equal(m.id, "g1");
  free(der);
  /* trusted CA, but the leaf is not a member */
  der = make(&(craft){.dn = "CN=g1"}, &len);
  chain = (pg_der){der, len};
  assert_int_equal(pg_tls_trust_verify(t, &chain, 1, now, &m, &d), PG_ERR_INVALID);
  expect_diag(&d, "no OU");
  free(der);
  /* self-signed: not issued by the CA */
  der = make(&(craft){.dn = "CN=g1,OU=grid", .self = true}, &len);
  chain = (pg_der){der, len};
  assert_int_equal(pg_tls_trust_verify(t, &chain, 1, now, &m, &d), PG_ERR_CRYPTO);
  assert_string_equal(d.msg, "certificate not issued by this community's CA");
  free(der);
  pg_tls_trust_free(t);
  free(ca_pem);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_crafted),
      cmocka_unit_test(test_bad_crafted),
      cmocka_unit_test(test_not_for_clients),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
