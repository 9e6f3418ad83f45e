/* Trits, trytes and b1t6 (TIP-5 vectors, round trips, invalid input). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/ternary.h"

static void test_alphabet(void **state) {
  (void)state;
  assert_int_equal(pg_tryte_value('9'), 0);
  assert_int_equal(pg_tryte_value('A'), 1);
  assert_int_equal(pg_tryte_value('M'), 13);
  assert_int_equal(pg_tryte_value('N'), -13);
  assert_int_equal(pg_tryte_value('Y'), -2);
  assert_int_equal(pg_tryte_value('Z'), -1);
  assert_true(pg_tryte_value('a') < -13);
  assert_true(pg_tryte_value('0') < -13);
  assert_true(pg_tryte_value('\0') < -13);
  assert_true(pg_tryte_value('[') < -13);
  assert_true(pg_trytes_valid(PG_TRYTE_ALPHABET, 27));
  assert_false(pg_trytes_valid("AB9c", 4));
  /* every byte value, at the start, the middle and the end of a long run:
   * valid exactly when pg_tryte_value knows it */
  char run[1000];
  for (size_t i = 0; i < sizeof run; i++) run[i] = PG_TRYTE_ALPHABET[i % 27];
  assert_true(pg_trytes_valid(run, sizeof run));
  const size_t at[] = {0, 511, 999};
  for (int b = 0; b < 256; b++) {
    for (size_t k = 0; k < 3; k++) {
      char keep = run[at[k]];
      run[at[k]] = (char)b;
      if (pg_trytes_valid(run, sizeof run) != (pg_tryte_value((char)b) >= -13))
        fail_msg("byte %d at %zu", b, at[k]);
      run[at[k]] = keep;
    }
  }
  for (int i = 0; i < 27; i++) {
    int v = pg_tryte_value(PG_TRYTE_ALPHABET[i]);
    assert_int_equal(v, i <= 13 ? i : i - 27);
  }
}

static void test_trytes_trits(void **state) {
  (void)state;
  pg_trit t[3 * 27];
  assert_int_equal(pg_trytes_to_trits(PG_TRYTE_ALPHABET, 27, t), PG_OK);
  for (int i = 0; i < 27; i++) {
    int v = t[3 * i] + 3 * t[3 * i + 1] + 9 * t[3 * i + 2];
    assert_int_equal(v, pg_tryte_value(PG_TRYTE_ALPHABET[i]));
    for (int k = 0; k < 3; k++) assert_true(t[3 * i + k] >= -1 && t[3 * i + k] <= 1);
  }
  char back[28] = {0};
  pg_trits_to_trytes(t, 81, back);
  assert_memory_equal(back, PG_TRYTE_ALPHABET, 27);
  /* 'M' = 13 = 1 + 3 + 9, 'N' = -13 */
  assert_int_equal(pg_trytes_to_trits("MN", 2, t), PG_OK);
  const pg_trit want[6] = {1, 1, 1, -1, -1, -1};
  assert_memory_equal(t, want, 6);
  assert_int_equal(pg_trytes_to_trits("A!", 2, t), PG_ERR_INVALID);
}

/* pg_trits_to_trytes on every triple of trits -20..20 (in range and not:
 * a sum outside -13..13 gives '9'), laid end to end so that its vector loop
 * and its tail both see them, against the alphabet read directly; a
 * length that is not a multiple of 3 drops the rest. */
static void test_trits_to_trytes_all(void **state) {
  (void)state;
  enum { R = 41, N = R * R * R };
  static pg_trit t[3 * N];
  static char got[N + 1];
  size_t n = 0;
  for (int a = -20; a <= 20; a++)
    for (int b = -20; b <= 20; b++)
      for (int c = -20; c <= 20; c++, n++) {
        t[3 * n] = (pg_trit)a, t[3 * n + 1] = (pg_trit)b, t[3 * n + 2] = (pg_trit)c;
      }
  for (size_t len = N; len + 7 > N; len--) { /* several tails */
    memset(got, '#', sizeof got);
    pg_trits_to_trytes(t, 3 * len + (len & 1), got);
    for (size_t i = 0; i < len; i++) {
      int v = t[3 * i] + 3 * t[3 * i + 1] + 9 * t[3 * i + 2];
      char want = v < -13 || v > 13 ? '9' : PG_TRYTE_ALPHABET[v < 0 ? v + 27 : v];
      if (got[i] != want) fail_msg("trits %d %d %d: '%c', want '%c'", t[3 * i], t[3 * i + 1],
                                   t[3 * i + 2], got[i], want);
    }
    assert_int_equal(got[len], '#');
  }
}

static void test_b1t6_vectors(void **state) {
  (void)state;
  uint8_t b[10];
  char s[21] = {0};
  b[0] = 0;
  pg_b1t6_encode_trytes(b, 1, s);
  assert_memory_equal(s, "99", 2);

  assert_int_equal(pg_hex_decode_exact("0001027e7f8081fdfeff", b, 10), PG_OK);
  pg_b1t6_encode_trytes(b, 10, s);
  assert_string_equal(s, "99A9B9RESEGVHVX9Y9Z9");

  pg_trit t[60];
  pg_b1t6_encode(b, 10, t);
  char s2[21] = {0};
  pg_trits_to_trytes(t, 60, s2);
  assert_string_equal(s2, "99A9B9RESEGVHVX9Y9Z9");

  uint8_t back[10];
  assert_int_equal(pg_b1t6_decode(t, 60, back), PG_OK);
  assert_memory_equal(back, b, 10);
  assert_int_equal(pg_b1t6_decode_trytes(s, 20, back), PG_OK);
  assert_memory_equal(back, b, 10);
}

static void test_b1t6_round_trip(void **state) {
  (void)state;
  uint8_t all[256], back[256];
  for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
  pg_trit t[256 * 6];
  char s[512];
  pg_b1t6_encode(all, 256, t);
  pg_b1t6_encode_trytes(all, 256, s);
  for (size_t i = 0; i < sizeof t; i++) assert_true(t[i] >= -1 && t[i] <= 1);
  char s2[512];
  pg_trits_to_trytes(t, sizeof t, s2);
  assert_memory_equal(s, s2, 512);
  assert_int_equal(pg_b1t6_decode(t, sizeof t, back), PG_OK);
  assert_memory_equal(back, all, 256);
  memset(back, 0, sizeof back);
  assert_int_equal(pg_b1t6_decode_trytes(s, 512, back), PG_OK);
  assert_memory_equal(back, all, 256);
}

static void test_b1t6_invalid(void **state) {
  (void)state;
  uint8_t b[4];
  /* "MM" = 13 + 27 * 13 = 364, far outside int8. */
  assert_int_equal(pg_b1t6_decode_trytes("MM", 2, b), PG_ERR_INVALID);
  assert_int_equal(pg_b1t6_decode_trytes("NN", 2, b), PG_ERR_INVALID);
  /* 127 = -8 + 27 * 5 -> "SE" */
  assert_int_equal(pg_b1t6_decode_trytes("SE", 2, b), PG_OK);
  assert_int_equal(b[0], 127);
  /* 128 = -7 + 27 * 5 -> "TE": not an int8. */
  assert_int_equal(pg_b1t6_decode_trytes("TE", 2, b), PG_ERR_INVALID);
  /* -128 = 7 - 27 * 5 -> "GV"; -129 = 6 - 27 * 5 -> "FV" */
  assert_int_equal(pg_b1t6_decode_trytes("GV", 2, b), PG_OK);
  assert_int_equal(b[0], 0x80);
  assert_int_equal(pg_b1t6_decode_trytes("FV", 2, b), PG_ERR_INVALID);
  assert_int_equal(pg_b1t6_decode_trytes("9", 1, b), PG_ERR_INVALID);
  assert_int_equal(pg_b1t6_decode_trytes("9a", 2, b), PG_ERR_INVALID);

  pg_trit t[12] = {0};
  assert_int_equal(pg_b1t6_decode(t, 5, b), PG_ERR_INVALID);
  t[3] = 2; /* not a trit */
  assert_int_equal(pg_b1t6_decode(t, 6, b), PG_ERR_INVALID);
  t[3] = 0;
  t[5] = 1; /* 243 */
  assert_int_equal(pg_b1t6_decode(t, 6, b), PG_ERR_INVALID);
  t[5] = 0;
  t[6 + 5] = -1; /* second group -243 */
  assert_int_equal(pg_b1t6_decode(t, 12, b), PG_ERR_INVALID);
  t[6 + 5] = 0;
  assert_int_equal(pg_b1t6_decode(t, 12, b), PG_OK);
  assert_int_equal(b[0], 0);
  assert_int_equal(b[1], 0);

  /* Every 6-trit group: valid iff its value is an int8. */
  int ok = 0;
  for (int v = -364; v <= 364; v++) {
    int w = v;
    pg_trit g[6];
    for (int k = 0; k < 6; k++) {
      int r = ((w % 3) + 3) % 3;
      if (r == 2) r = -1;
      g[k] = (pg_trit)r;
      w = (w - r) / 3;
    }
    int rc = pg_b1t6_decode(g, 6, b);
    if (v >= -128 && v <= 127) {
      assert_int_equal(rc, PG_OK);
      assert_int_equal((int8_t)b[0], v);
      ok++;
    } else {
      assert_int_equal(rc, PG_ERR_INVALID);
    }
  }
  assert_int_equal(ok, 256);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alphabet),        cmocka_unit_test(test_trytes_trits),
      cmocka_unit_test(test_b1t6_vectors),    cmocka_unit_test(test_b1t6_round_trip),
      cmocka_unit_test(test_b1t6_invalid),    cmocka_unit_test(test_trits_to_trytes_all),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
