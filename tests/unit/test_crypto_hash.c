/* BLAKE2b-256, Ed25519 and the network id derivation (CHRYSALIS.md 1.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"

static int setup(void **state) {
  (void)state;
  return pg_crypto_init();
}

static void hexeq(const uint8_t *b, size_t n, const char *want) {
  char s[129];
  pg_hex_encode(b, n, s);
  assert_string_equal(s, want);
}

static void test_blake2b_empty(void **state) {
  (void)state;
  uint8_t h[PG_HASH_LEN];
  pg_blake2b256("", 0, h);
  hexeq(h, 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  pg_blake2b b;
  pg_blake2b256_init(&b);
  pg_blake2b256_final(&b, h);
  hexeq(h, 32, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

static void test_blake2b_incremental(void **state) {
  (void)state;
  uint8_t data[1000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 31 + 7);
  uint8_t one[PG_HASH_LEN], inc[PG_HASH_LEN];
  pg_blake2b256(data, sizeof data, one);
  const size_t cuts[] = {0, 1, 63, 128, 129, 500, 999, 1000};
  for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
    pg_blake2b b;
    pg_blake2b256_init(&b);
    pg_blake2b256_update(&b, data, cuts[c]);
    pg_blake2b256_update(&b, data + cuts[c], sizeof data - cuts[c]);
    pg_blake2b256_final(&b, inc);
    assert_memory_equal(one, inc, PG_HASH_LEN);
  }
}

static uint64_t network_id(const char *name) {
  uint8_t h[PG_HASH_LEN];
  pg_blake2b256(name, strlen(name), h);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | h[i];
  return v;
}

static void test_network_id(void **state) {
  (void)state;
  assert_true(network_id("testnet7") == 14379272398717627559ull);
  assert_true(network_id("alphanet1") == 6530425480034647824ull);
  assert_true(network_id("chrysalis-mainnet") == 1454675179895816119ull);
  assert_true(network_id("private-tangle") == 2321005821356827533ull);
}

static void test_ed25519(void **state) {
  (void)state;
  uint8_t seed[PG_ED25519_SEED_LEN], pk[PG_ED25519_PK_LEN], sk[PG_ED25519_SK_LEN];
  uint8_t sig[PG_ED25519_SIG_LEN];
  /* RFC 8032 test 1 */
  assert_int_equal(
      pg_hex_decode_exact("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", seed, 32),
      PG_OK);
  pg_ed25519_from_seed(seed, pk, sk);
  hexeq(pk, 32, "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  assert_memory_equal(sk, seed, 32);
  assert_memory_equal(sk + 32, pk, 32);
  pg_ed25519_sign(sk, "", 0, sig);
  hexeq(sig, 64,
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  assert_int_equal(pg_ed25519_verify(pk, "", 0, sig), PG_OK);

  const char msg[] = "p2pgrid settles slot 42";
  pg_ed25519_sign(sk, msg, sizeof msg - 1, sig);
  assert_int_equal(pg_ed25519_verify(pk, msg, sizeof msg - 1, sig), PG_OK);
  char bad[sizeof msg];
  memcpy(bad, msg, sizeof msg);
  bad[3] ^= 1;
  assert_int_equal(pg_ed25519_verify(pk, bad, sizeof msg - 1, sig), PG_ERR_CRYPTO);
  sig[10] ^= 0x40;
  assert_int_equal(pg_ed25519_verify(pk, msg, sizeof msg - 1, sig), PG_ERR_CRYPTO);
  sig[10] ^= 0x40;
  pk[0] ^= 1;
  assert_int_equal(pg_ed25519_verify(pk, msg, sizeof msg - 1, sig), PG_ERR_CRYPTO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blake2b_empty),
      cmocka_unit_test(test_blake2b_incremental),
      cmocka_unit_test(test_network_id),
      cmocka_unit_test(test_ed25519),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
