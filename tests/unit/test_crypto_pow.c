/* TIP-12 proof of work: the worked example (CHRYSALIS.md 2.4), iota.js target
 * zeros, the TIP-6 example message, searches with 1 and 2 threads, cancel. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/pow.h"

static int setup(void **state) {
  (void)state;
  return pg_crypto_init();
}

static void test_tip12_example(void **state) {
  (void)state;
  uint8_t msg[21], d[32], want[32];
  assert_int_equal(pg_hex_decode_exact("48656c6c6f2c20576f726c64215ee6aaaaaaaaaaaa", msg, 21), PG_OK);
  pg_blake2b256(msg, 13, d);
  assert_int_equal(
      pg_hex_decode_exact("511bc81dde11180838c562c82bb35f3223f46061ebde4a955c27b3f489cf1e03", want, 32),
      PG_OK);
  assert_memory_equal(d, want, 32);
  assert_int_equal(pg_pow_trailing_zeros(msg, 21), 9);
  assert_int_equal(pg_pow_trailing_zeros_digest(d, 12297829382473049694ull), 9);
  assert_float_equal(pg_pow_score(msg, 21), 937.2857142857143, 1e-9);
  /* 3^9 = 19683; 19683 >= 937 * 21 = 19677, < 938 * 21 = 19698 */
  assert_true(pg_pow_valid(msg, 21, 937));
  assert_false(pg_pow_valid(msg, 21, 938));
  assert_true(pg_pow_valid(msg, 21, 0));
  assert_true(pg_pow_valid(msg, 21, 1));
}

static void test_target_zeros(void **state) {
  (void)state;
  assert_int_equal(pg_pow_target_zeros(100, 4000), 12);
  assert_int_equal(pg_pow_target_zeros(200, 4000), 13);
  assert_int_equal(pg_pow_target_zeros(32768, 4000), 18);
  assert_int_equal(pg_pow_target_zeros(150, 1), 5);
  assert_int_equal(pg_pow_target_zeros(150, 0), 0);
  assert_int_equal(pg_pow_target_zeros(1, 1), 0);
}

static const char TIP6_HEX[] =
    "0000000000000000"
    "02"
    "210fc7bb818639ac48a4c6afa2f1581a8b9525e20fda68927f2b2ff836f73578"
    "db0fa54c29f7fd928d92ca43f193dee47f591549f597a811c8fa67ab031ebd9c"
    "19000000"
    "02000000"
    "0400"
    "494f5441"
    "0b000000"
    "68656c6c6f20776f726c64"
    "ce6d000000000000";

static void test_tip6_message_score(void **state) {
  (void)state;
  uint8_t msg[110], id[32], want[32];
  assert_int_equal(strlen(TIP6_HEX), 220);
  assert_int_equal(pg_hex_decode_exact(TIP6_HEX, msg, 110), PG_OK);
  pg_blake2b256(msg, 110, id);
  assert_int_equal(
      pg_hex_decode_exact("e4a85f984095b4feb1f9e1c03f5baf2f7f5b28920a99fefb539bc5570567cddb", want, 32),
      PG_OK);
  assert_memory_equal(id, want, 32);
  /* nonce 28110: 12 trailing zeros, score 3^12 / 110 (meets minPoWScore 4000) */
  assert_int_equal(pg_pow_trailing_zeros(msg, 110), 12);
  assert_float_equal(pg_pow_score(msg, 110), 531441.0 / 110.0, 1e-9);
  assert_true(pg_pow_valid(msg, 110, 4000));
  assert_true(pg_pow_valid(msg, 110, 4831));
  assert_false(pg_pow_valid(msg, 110, 4832));
}

static void search_with(unsigned threads) {
  uint8_t msg[110];
  assert_int_equal(pg_hex_decode_exact(TIP6_HEX, msg, 110), PG_OK);
  memset(msg + 102, 0, 8);
  pg_pow_opts o = {.threads = threads, .cancel = NULL, .start_nonce = 0};
  uint64_t nonce = 0, trials = 0;
  /* 110 * 20 = 2200 -> 3^7 = 2187 < 2200, so 8 zeros */
  assert_int_equal(pg_pow_search(msg, 110, 20, &o, &nonce, &trials), PG_OK);
  assert_true(trials >= 1);
  assert_true(pg_pow_valid(msg, 110, 20));
  assert_true(pg_pow_trailing_zeros(msg, 110) >= 8);
  uint64_t le = 0;
  for (int i = 7; i >= 0; i--) le = (le << 8) | msg[102 + i];
  assert_true(le == nonce);

  /* a start nonce that is not a multiple of 64, near a byte carry */
  o.start_nonce = 0x1234567890abcdefull;
  assert_int_equal(pg_pow_search(msg, 110, 10, &o, &nonce, &trials), PG_OK);
  assert_true(pg_pow_valid(msg, 110, 10));
  assert_true(nonce >= o.start_nonce);

  /* digest form */
  uint8_t d[32];
  pg_blake2b256(msg, 102, d);
  o.start_nonce = 0xfffffffffffffff0ull; /* wraps */
  assert_int_equal(pg_pow_search_digest(d, 6, &o, &nonce, &trials), PG_OK);
  assert_true(pg_pow_trailing_zeros_digest(d, nonce) >= 6);
}

/* Every engine this CPU has, and auto. */
static void each_engine(unsigned threads) {
  static const char *const engines[] = {"sse2", "avx2", "avx512"};
  for (size_t i = 0; i < sizeof engines / sizeof *engines; i++) {
    int rc = pg_pow_set_engine(engines[i]);
    if (rc == PG_ERR_UNSUPPORTED) continue;
    assert_int_equal(rc, PG_OK);
    assert_string_equal(pg_pow_engine(), engines[i]);
    search_with(threads);
  }
  assert_int_equal(pg_pow_set_engine("auto"), PG_OK);
  search_with(threads);
  assert_int_equal(pg_pow_set_engine("nope"), PG_ERR_INVALID);
  assert_true(pg_pow_lanes() >= 128);
}

static void test_search_1_thread(void **state) {
  (void)state;
  each_engine(1);
}

static void test_search_2_threads(void **state) {
  (void)state;
  each_engine(2);
}

static void test_search_score_zero(void **state) {
  (void)state;
  uint8_t msg[60] = {1, 2, 3};
  pg_pow_opts o = {.threads = 1, .start_nonce = 77};
  uint64_t nonce = 0, trials = 0;
  assert_int_equal(pg_pow_search(msg, 60, 0, &o, &nonce, &trials), PG_OK);
  assert_true(nonce == 77);
  assert_int_equal(msg[52], 77);
  assert_int_equal(pg_pow_search(msg, 7, 1, &o, &nonce, &trials), PG_ERR_INVALID);
  uint8_t d[32] = {0};
  assert_int_equal(pg_pow_search_digest(d, 244, &o, &nonce, &trials), PG_ERR_INVALID);
}

static void *cancel_later(void *p) {
  atomic_bool *flag = p;
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  atomic_store(flag, true);
  return NULL;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_cancel(void **state) {
  (void)state;
  uint8_t d[32] = {9};
  atomic_bool flag;
  atomic_init(&flag, false);
  pg_pow_opts o = {.threads = 2, .cancel = &flag, .start_nonce = 0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, cancel_later, &flag), 0);
  double t0 = now_s();
  uint64_t nonce = 0, trials = 0;
  assert_int_equal(pg_pow_search_digest(d, 243, &o, &nonce, &trials), PG_ERR_CANCELLED);
  double dt = now_s() - t0;
  pthread_join(t, NULL);
  assert_true(dt < 5.0);
  assert_true(trials > 0);

  /* already cancelled: returns at once */
  assert_int_equal(pg_pow_search_digest(d, 243, &o, &nonce, &trials), PG_ERR_CANCELLED);
  assert_true(trials == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tip12_example),     cmocka_unit_test(test_target_zeros),
      cmocka_unit_test(test_tip6_message_score), cmocka_unit_test(test_search_1_thread),
      cmocka_unit_test(test_search_2_threads),  cmocka_unit_test(test_search_score_zero),
      cmocka_unit_test(test_cancel),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
