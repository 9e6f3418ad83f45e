/* Unit tests for bech32.c: BIP-173 vectors, 8<->5 conversion, TIP-11. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/hex.h"

static int decode_str(const char *s, size_t len, char *hrp, uint8_t *data, size_t *n,
                      pg_diag *d) {
  return pg_bech32_decode(s, len, hrp, PG_BECH32_MAX_HRP + 1, data, PG_BECH32_MAX_DATA5, n, d);
}

/* BIP-173: strings with a valid checksum; each re-encodes to its lowercase form. */
static void test_bip173_valid(void **state) {
  (void)state;
  static const char *valid[] = {
      "A12UEL5L",
      "a12uel5l",
      "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
      "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
      "11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
      "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
      "?1ezyfcl",
  };
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    char hrp[PG_BECH32_MAX_HRP + 1], enc[PG_BECH32_MAX_LEN + 1], low[PG_BECH32_MAX_LEN + 1];
    uint8_t data[PG_BECH32_MAX_DATA5];
    size_t n = 0, len = strlen(valid[i]);
    pg_diag d = {{0}};
    int rc = decode_str(valid[i], len, hrp, data, &n, &d);
    if (rc) fail_msg("%s: %s", valid[i], d.msg);
    assert_int_equal(pg_bech32_encode(hrp, data, n, enc, sizeof enc), PG_OK);
    for (size_t j = 0; j <= len; j++)
      low[j] = (valid[i][j] >= 'A' && valid[i][j] <= 'Z') ? (char)(valid[i][j] + 32) : valid[i][j];
    assert_string_equal(enc, low);
  }
}

static void expect_invalid(const char *s, size_t len, const char *needle) {
  char hrp[PG_BECH32_MAX_HRP + 1];
  uint8_t data[PG_BECH32_MAX_DATA5];
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(decode_str(s, len, hrp, data, &n, &d), PG_ERR_INVALID);
  if (!strstr(d.msg, needle)) fail_msg("'%.*s': diag '%s' lacks '%s'", (int)len, s, d.msg, needle);
}

static void test_bip173_invalid(void **state) {
  (void)state;
  expect_invalid("\x20" "1nwldj5", 8, "invalid character 0x20");
  expect_invalid("\x7f" "1axkwrx", 8, "invalid character 0x7f");
  expect_invalid("\x80" "1eym55h", 8, "invalid character 0x80");
  const char *long84 =
      "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx";
  expect_invalid(long84, strlen(long84), "too long");
  expect_invalid("pzry9x0s0muk", 12, "no separator");
  expect_invalid("1pzry9x0s0muk", 13, "empty human-readable part");
  expect_invalid("x1b4n0q5v", 9, "invalid data character 'b'");
  expect_invalid("li1dgmt3", 8, "too short");
  expect_invalid("de1lg7wt\xff", 9, "invalid character 0xff");
  expect_invalid("A1G7SGD8", 8, "bad checksum");
  expect_invalid("10a06t8", 7, "empty human-readable part");
  expect_invalid("1qzzfhee", 8, "empty human-readable part");
  /* and some of our own */
  expect_invalid("A12uEL5L", 8, "mixed");
  expect_invalid("a12uel5m", 8, "bad checksum");
  expect_invalid("", 0, "no separator");
  expect_invalid("a1\0" "2uel5l", 8, "invalid character 0x00");
}

/* BIP-173 segwit vectors exercise the 5->8 conversion: version = data[0],
 * program = data[1..] converted without padding. */
static int segwit_decode(const char *addr, uint8_t *script, size_t *slen) {
  char hrp[PG_BECH32_MAX_HRP + 1];
  uint8_t data[PG_BECH32_MAX_DATA5], prog[PG_BECH32_MAX_BYTES];
  size_t n = 0, plen = 0;
  int rc = pg_bech32_decode(addr, strlen(addr), hrp, sizeof hrp, data, sizeof data, &n, NULL);
  if (rc) return rc;
  if (strcmp(hrp, "bc") != 0 && strcmp(hrp, "tb") != 0) return PG_ERR_INVALID;
  if (n < 1 || data[0] > 16) return PG_ERR_INVALID;
  rc = pg_bech32_convert_bits(data + 1, n - 1, 5, 8, false, prog, sizeof prog, &plen);
  if (rc) return rc;
  if (plen < 2 || plen > 40) return PG_ERR_INVALID;
  if (data[0] == 0 && plen != 20 && plen != 32) return PG_ERR_INVALID;
  script[0] = data[0] ? (uint8_t)(data[0] + 0x50) : 0;
  script[1] = (uint8_t)plen;
  memcpy(script + 2, prog, plen);
  *slen = plen + 2;
  return PG_OK;
}

static void test_bip173_segwit(void **state) {
  (void)state;
  static const struct { const char *addr, *script; } valid[] = {
      {"BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "0014751e76e8199196d454941c45d1b3a323f1433bd6"},
      {"tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
       "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262"},
      {"bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx",
       "5128751e76e8199196d454941c45d1b3a323f1433bd6751e76e8199196d454941c45d1b3a323f1433bd6"},
      {"BC1SW50QA3JX3S", "6002751e"},
      {"bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj", "5210751e76e8199196d454941c45d1b3a323"},
      {"tb1qqqqqp399et2xygdj5xreqhjjvcmzhxw4aywxecjdzew6hylgvsesrxh6hy",
       "0020000000c4a5cad46221b2a187905e5266362b99d5e91c6ce24d165dab93e86433"},
  };
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    uint8_t script[64];
    size_t slen = 0;
    char hex[130];
    assert_int_equal(segwit_decode(valid[i].addr, script, &slen), PG_OK);
    pg_hex_encode(script, slen, hex);
    assert_string_equal(hex, valid[i].script);
  }
  static const char *invalid[] = {
      "tc1qw508d6qejxtdg4y5r3zarvary0c5xw7kg3g4ty",
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
      "BC13W508D6QEJXTDG4Y5R3ZARVARY0C5XW7KN40WF2",
      "bc1rw5uspcuh",
      "bc10w508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7kw5rljs90",
      "BC1QR508D6QEJXTDG4Y5R3ZARVARYV98GJ9P",
      "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sL5k7",
      "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du",
      "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3pjxtptv",
      "bc1gmk9yu",
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    uint8_t script[64];
    size_t slen = 0;
    if (segwit_decode(invalid[i], script, &slen) == PG_OK) fail_msg("accepted %s", invalid[i]);
  }
  /* the two padding vectors fail in the byte-level decoder with a padding message */
  pg_diag d = {{0}};
  uint8_t bytes[PG_BECH32_MAX_BYTES];
  size_t n;
  const char *pad = "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du";
  char hrp[8];
  /* skip the version char: re-encode data[1..] alone to test the byte decoder */
  uint8_t data[PG_BECH32_MAX_DATA5];
  char again[PG_BECH32_MAX_LEN + 1];
  assert_int_equal(pg_bech32_decode(pad, strlen(pad), hrp, sizeof hrp, data, sizeof data, &n, NULL),
                   PG_OK);
  assert_int_equal(pg_bech32_encode(hrp, data + 1, n - 1, again, sizeof again), PG_OK);
  assert_int_equal(pg_bech32_decode_bytes(again, strlen(again), hrp, sizeof hrp, bytes,
                                          sizeof bytes, &n, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "padding"));
}

static void test_convert_bits(void **state) {
  (void)state;
  uint8_t in[3] = {0xff, 0x00, 0xa5}, five[8], back[8];
  size_t n5 = 0, n8 = 0;
  assert_int_equal(pg_bech32_convert_bits(in, 3, 8, 5, true, five, sizeof five, &n5), PG_OK);
  assert_int_equal(n5, 5); /* 24 bits -> 4.8 -> 5 groups */
  assert_int_equal(pg_bech32_convert_bits(five, n5, 5, 8, false, back, sizeof back, &n8), PG_OK);
  assert_int_equal(n8, 3);
  assert_memory_equal(back, in, 3);
  /* output too small */
  assert_int_equal(pg_bech32_convert_bits(in, 3, 8, 5, true, five, 4, &n5), PG_ERR_TOO_LARGE);
  /* value out of range for frombits */
  uint8_t bad[1] = {32};
  assert_int_equal(pg_bech32_convert_bits(bad, 1, 5, 8, true, back, sizeof back, &n8),
                   PG_ERR_INVALID);
  /* non-zero padding bits */
  uint8_t nz[2] = {31, 1}; /* 10 bits: 8 used, 2 left = 01 -> non-zero */
  assert_int_equal(pg_bech32_convert_bits(nz, 2, 5, 8, false, back, sizeof back, &n8),
                   PG_ERR_INVALID);
  /* 5 leftover bits (a whole extra group) */
  uint8_t extra[3] = {0, 0, 0}; /* 15 bits: 8 used, 7 left >= 5 */
  assert_int_equal(pg_bech32_convert_bits(extra, 3, 5, 8, false, back, sizeof back, &n8),
                   PG_ERR_INVALID);
  /* empty input */
  assert_int_equal(pg_bech32_convert_bits(NULL, 0, 8, 5, true, five, sizeof five, &n5), PG_OK);
  assert_int_equal(n5, 0);
  /* bad widths */
  assert_int_equal(pg_bech32_convert_bits(in, 3, 0, 5, true, five, sizeof five, &n5),
                   PG_ERR_INVALID);
  assert_int_equal(pg_bech32_convert_bits(in, 3, 8, 9, true, five, sizeof five, &n5),
                   PG_ERR_INVALID);
}

static void test_encode_errors(void **state) {
  (void)state;
  char out[PG_BECH32_MAX_LEN + 1];
  uint8_t data[PG_BECH32_MAX_DATA5 + 1] = {0};
  assert_int_equal(pg_bech32_encode("", data, 1, out, sizeof out), PG_ERR_INVALID);
  assert_int_equal(pg_bech32_encode("a b", data, 1, out, sizeof out), PG_ERR_INVALID);
  assert_int_equal(pg_bech32_encode("a\x7f", data, 1, out, sizeof out), PG_ERR_INVALID);
  data[0] = 32;
  assert_int_equal(pg_bech32_encode("a", data, 1, out, sizeof out), PG_ERR_INVALID);
  data[0] = 0;
  /* 1 + 1 + 82 + 6 = 90: fits exactly; one more value does not */
  assert_int_equal(pg_bech32_encode("a", data, 82, out, sizeof out), PG_OK);
  assert_int_equal(strlen(out), 90);
  assert_int_equal(pg_bech32_encode("a", data, 83, out, sizeof out), PG_ERR_INVALID);
  /* buffer one byte short */
  assert_int_equal(pg_bech32_encode("a", data, 0, out, 8), PG_ERR_TOO_LARGE);
  assert_int_equal(pg_bech32_encode("a", data, 0, out, 9), PG_OK);
  assert_string_equal(out, "a12uel5l");
  /* uppercase HRP is lowercased (checksum over lowercase) */
  assert_int_equal(pg_bech32_encode("A", data, 0, out, sizeof out), PG_OK);
  assert_string_equal(out, "a12uel5l");
  /* bytes: 51 bytes -> 82 values fits with hrp "a"; 52 does not */
  uint8_t bytes[52] = {0};
  assert_int_equal(pg_bech32_encode_bytes("a", bytes, 51, out, sizeof out), PG_OK);
  assert_int_equal(pg_bech32_encode_bytes("a", bytes, 52, out, sizeof out), PG_ERR_INVALID);
}

static void test_decode_caps(void **state) {
  (void)state;
  const char *s = "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw";
  char hrp[6];
  uint8_t data[32];
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_bech32_decode(s, strlen(s), hrp, sizeof hrp, data, sizeof data, &n, &d),
                   PG_ERR_TOO_LARGE); /* hrp needs 7 bytes */
  char hrp7[7];
  assert_int_equal(pg_bech32_decode(s, strlen(s), hrp7, sizeof hrp7, data, 31, &n, &d),
                   PG_ERR_TOO_LARGE);
  assert_int_equal(pg_bech32_decode(s, strlen(s), hrp7, sizeof hrp7, data, 32, &n, &d), PG_OK);
  assert_int_equal(n, 32);
  for (uint8_t i = 0; i < 32; i++) assert_int_equal(data[i], i);
  /* hrp_out NULL is allowed */
  assert_int_equal(pg_bech32_decode(s, strlen(s), NULL, 0, data, 32, &n, NULL), PG_OK);
  /* the decoder never reads past len: a valid prefix followed by junk */
  assert_int_equal(pg_bech32_decode("a12uel5lXYZ", 8, hrp7, sizeof hrp7, data, 32, &n, NULL),
                   PG_OK);
  assert_string_equal(hrp7, "a");
  assert_int_equal(n, 0);
}

/* TIP-11 vector. */
static void test_tip11(void **state) {
  (void)state;
  uint8_t addr[32], back[32];
  char out[PG_BECH32_MAX_LEN + 1], hrp[8];
  pg_diag d = {{0}};
  const char *mainnet = "iota1qrhacyfwlcnzkvzteumekfkrrwks98mpdm37cj4xx3drvmjvnep6xqgyzyx";
  const char *testnet = "atoi1qrhacyfwlcnzkvzteumekfkrrwks98mpdm37cj4xx3drvmjvnep6x8x4r7t";
  assert_int_equal(
      pg_hex_decode_exact("efdc112efe262b304bcf379b26c31bad029f616ee3ec4aa6345a366e4c9e43a3", addr,
                          32),
      PG_OK);
  assert_int_equal(pg_iota_address_encode("iota", addr, out, sizeof out), PG_OK);
  assert_string_equal(out, mainnet);
  assert_int_equal(strlen(out), 4 + 1 + PG_IOTA_BECH32_TAIL);
  assert_int_equal(pg_iota_address_encode("atoi", addr, out, sizeof out), PG_OK);
  assert_string_equal(out, testnet);
  /* too small buffer */
  assert_int_equal(pg_iota_address_encode("iota", addr, out, 64), PG_ERR_TOO_LARGE);

  assert_int_equal(pg_iota_address_decode(mainnet, strlen(mainnet), "iota", NULL, 0, back, &d),
                   PG_OK);
  assert_memory_equal(back, addr, 32);
  assert_int_equal(pg_iota_address_decode(testnet, strlen(testnet), NULL, hrp, sizeof hrp, back,
                                          &d),
                   PG_OK);
  assert_string_equal(hrp, "atoi");
  assert_memory_equal(back, addr, 32);
  /* wrong network */
  assert_int_equal(pg_iota_address_decode(testnet, strlen(testnet), "iota", NULL, 0, back, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "expected 'iota'"));
  /* uppercase is fine */
  char up[80];
  for (size_t i = 0; i <= strlen(mainnet); i++)
    up[i] = (mainnet[i] >= 'a' && mainnet[i] <= 'z') ? (char)(mainnet[i] - 32) : mainnet[i];
  assert_int_equal(pg_iota_address_decode(up, strlen(up), "iota", NULL, 0, back, &d), PG_OK);
  /* a flipped character is caught by the checksum */
  char flip[80];
  memcpy(flip, mainnet, strlen(mainnet) + 1);
  flip[10] = flip[10] == 'q' ? 'p' : 'q';
  assert_int_equal(pg_iota_address_decode(flip, strlen(flip), "iota", NULL, 0, back, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "checksum"));
  /* other address type (0x08 alias would be Stardust; not supported here) */
  uint8_t raw[33] = {0x08};
  assert_int_equal(pg_bech32_encode_bytes("iota", raw, 33, out, sizeof out), PG_OK);
  assert_int_equal(pg_iota_address_decode(out, strlen(out), "iota", NULL, 0, back, &d),
                   PG_ERR_UNSUPPORTED);
  /* wrong length */
  uint8_t shortraw[20] = {0};
  assert_int_equal(pg_bech32_encode_bytes("iota", shortraw, 20, out, sizeof out), PG_OK);
  assert_int_equal(pg_iota_address_decode(out, strlen(out), "iota", NULL, 0, back, &d),
                   PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "expected 32"));
}

/* Every byte string up to 51 bytes round-trips through the byte helpers. */
static void test_bytes_roundtrip(void **state) {
  (void)state;
  uint8_t in[PG_BECH32_MAX_BYTES] = {0}, out[PG_BECH32_MAX_BYTES];
  uint32_t x = 12345;
  for (size_t len = 0; len <= PG_BECH32_MAX_BYTES; len++) {
    for (size_t i = 0; i < len; i++) {
      x = x * 1103515245u + 12345u;
      in[i] = (uint8_t)(x >> 16);
    }
    char s[PG_BECH32_MAX_LEN + 1], hrp[4];
    size_t n = 0;
    assert_int_equal(pg_bech32_encode_bytes("x", in, len, s, sizeof s), PG_OK);
    assert_int_equal(pg_bech32_decode_bytes(s, strlen(s), hrp, sizeof hrp, out, sizeof out, &n,
                                            NULL),
                     PG_OK);
    assert_int_equal(n, len);
    if (len) assert_memory_equal(in, out, len);
    assert_string_equal(hrp, "x");
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bip173_valid),  cmocka_unit_test(test_bip173_invalid),
      cmocka_unit_test(test_bip173_segwit), cmocka_unit_test(test_convert_bits),
      cmocka_unit_test(test_encode_errors), cmocka_unit_test(test_decode_caps),
      cmocka_unit_test(test_tip11),         cmocka_unit_test(test_bytes_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
