/* SLIP-10 vectors: the official SLIP-0010 ed25519 test vector 1 and the
 * iota.js-checked IOTA paths of CHRYSALIS.md 9.2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"

static void hexeq(const uint8_t *b, size_t n, const char *want) {
  char s[129];
  pg_hex_encode(b, n, s);
  assert_string_equal(s, want);
}

static void test_slip10_vector1(void **state) {
  (void)state;
  uint8_t seed[16];
  assert_int_equal(pg_hex_decode_exact("000102030405060708090a0b0c0d0e0f", seed, 16), PG_OK);
  pg_slip10_key k;
  assert_int_equal(pg_slip10_master(seed, 16, &k), PG_OK);
  hexeq(k.chain, 32, "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb");
  hexeq(k.priv, 32, "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7");
  const uint32_t path[] = {0, 1, 2, 2, 1000000000};
  assert_int_equal(pg_slip10_derive(seed, 16, path, 1, &k), PG_OK);
  hexeq(k.priv, 32, "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3");
  assert_int_equal(pg_slip10_derive(seed, 16, path, 5, &k), PG_OK);
  hexeq(k.chain, 32, "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230");
  hexeq(k.priv, 32, "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793");
}

static void test_iota_paths(void **state) {
  (void)state;
  uint8_t seed[32];
  for (int i = 0; i < 32; i++) seed[i] = (uint8_t)i;
  pg_slip10_key k;
  assert_int_equal(pg_slip10_master(seed, 32, &k), PG_OK);
  hexeq(k.priv, 32, "82ba6b6e7774106f4919a828a8612e5692e6744cb7b7a778b651a58fd05d7f89");
  hexeq(k.chain, 32, "45c16bf75eb742692cb481a5f0dc13ec3382b516b9289ae41dc87008172ce83c");
  uint8_t pk[32], sk[64], addr[32];
  assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, pk, sk, addr), PG_OK);
  hexeq(sk, 32, "af9d2be25f70db5f3ffd0a0b76b712623c4bef435a7a9e6ea09fcb123c03a4a3");
  hexeq(pk, 32, "d48c252cba31d45382b25bee05f28c49e9a3485b4a85dda965829b9e5368463a");
  hexeq(addr, 32, "4573b0090df3bc80368d9067d73e4671585a97a2bde6c4da8b7ba7ea18a279bc");
  assert_int_equal(pg_slip10_master(seed, 8, &k), PG_ERR_INVALID);

  /* the bech32 forms iota.js prints for change/index combinations */
  static const struct { uint32_t change, index; const char *bech32; } want[] = {
      {0, 0, "atoi1qpzh8vqfphemeqpk3kgx04e7gec4sk5h5277d3x63da606sc5fumccppzax"},
      {1, 0, "atoi1qq55spgcqkzf4zqmaqtt5sa85d8e5y5u4yf3ku93nkdtvg39atzujj45mzw"},
      {0, 1, "atoi1qpwxx3c26j3832xrejtfadurmkhajsegdwqz0f5qkuc8qgl5jq8juexfv5c"},
      {1, 1, "atoi1qr8gdhkxsp008wm79c2yc2ng4efguyjmf64mjm2t8lf4racjmd04zeyduhe"},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char b32[80];
    assert_int_equal(pg_iota_keypair(seed, 32, 0, want[i].change, want[i].index, NULL, NULL, addr),
                     PG_OK);
    assert_int_equal(pg_iota_address_encode("atoi", addr, b32, sizeof b32), PG_OK);
    assert_string_equal(b32, want[i].bech32);
  }
}

/* BIP-39 reference vectors (passphrase "TREZOR") and the seed iota.js
 * Ed25519Seed.fromMnemonic gives (no passphrase); RFC 6070-style PBKDF2 check. */
static void test_bip39(void **state) {
  (void)state;
  static const char M[] = "abandon abandon abandon abandon abandon abandon abandon abandon "
                          "abandon abandon abandon about";
  uint8_t seed[64];
  pg_bip39_seed(M, sizeof M - 1, "TREZOR", seed);
  hexeq(seed, 64, "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e5349553"
                  "1f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04");
  pg_bip39_seed(M, sizeof M - 1, NULL, seed);
  hexeq(seed, 64, "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1"
                  "9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4");
  /* PBKDF2-HMAC-SHA512("password", "salt", 1) first 32 bytes */
  uint8_t out[32];
  pg_pbkdf2_sha512((const uint8_t *)"password", 8, (const uint8_t *)"salt", 4, 1, out, 32);
  hexeq(out, 32, "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252");
}

int main(void) {
  if (pg_crypto_init()) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slip10_vector1),
      cmocka_unit_test(test_iota_paths),
      cmocka_unit_test(test_bip39),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
