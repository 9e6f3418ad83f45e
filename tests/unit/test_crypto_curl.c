/* Curl-P: the TIP-12 worked example (CHRYSALIS.md 2.4), a literal reference
 * transform written straight from CHRYSALIS.md 10.1, and the 64-lane
 * bit-sliced transform against the scalar one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/crypto/curlp.h"
#include "p2pgrid/crypto/ternary.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}
static pg_trit rand_trit(void) { return (pg_trit)((int)(next_rand() % 3) - 1); }

/* CHRYSALIS.md 10.1, word for word. */
static void reference_transform(pg_trit *state, int rounds) {
  static const int table[11] = {1, 0, -1, 2, 1, -1, 0, 2, -1, 1, 0};
  pg_trit copy[PG_CURL_STATE];
  int j = 0;
  for (int r = 0; r < rounds; r++) {
    memcpy(copy, state, sizeof copy);
    for (int i = 0; i < PG_CURL_STATE; i++) {
      int a = copy[j];
      j = j < 365 ? j + 364 : j - 365;
      int b = copy[j];
      state[i] = (pg_trit)table[a + 4 * b + 5];
    }
  }
}

static void test_tip12_example(void **state) {
  (void)state;
  const char *in = "9C9AYYBATZQAXAH9BBVYQDYYPBDXNDWBHAO9ODPDFZTZTCAWKCLADXO9PWEYCAC9MCAZVXVXVXVXVXVX9";
  const char *want = "DJCAGKILZPLXNXWFTNXFLCHRFVUHHMTPFIOFKQXMGIKITSEVWECMQOKCFXDIIHK9YVHGQICAIVEVDJ999";
  pg_trit t[PG_CURL_HASH], h[PG_CURL_HASH];
  assert_int_equal(strlen(in), 81);
  assert_int_equal(pg_trytes_to_trits(in, 81, t), PG_OK);
  pg_curl c;
  pg_curl_init(&c, 81);
  pg_curl_absorb(&c, t, PG_CURL_HASH);
  pg_curl_rate(&c, h, PG_CURL_HASH);
  char out[82] = {0};
  pg_trits_to_trytes(h, PG_CURL_HASH, out);
  assert_string_equal(out, want);

  /* squeeze gives the same first 243 trits */
  pg_curl_init(&c, 81);
  pg_curl_absorb(&c, t, PG_CURL_HASH);
  pg_curl_squeeze(&c, h, PG_CURL_HASH);
  pg_trits_to_trytes(h, PG_CURL_HASH, out);
  assert_string_equal(out, want);
}

static void test_scalar_vs_reference(void **state) {
  (void)state;
  for (int rounds = 1; rounds <= 81; rounds += (rounds < 3 ? 1 : 26)) {
    for (int n = 0; n < 5; n++) {
      pg_curl c;
      pg_curl_init(&c, rounds);
      pg_trit ref[PG_CURL_STATE];
      for (int i = 0; i < PG_CURL_STATE; i++) c.state[i] = ref[i] = rand_trit();
      pg_curl_transform(&c);
      reference_transform(ref, rounds);
      assert_memory_equal(c.state, ref, sizeof ref);
    }
  }
}

static void test_absorb_chunks(void **state) {
  (void)state;
  /* 500 trits: chunks 243, 243, 14 (overwrite, not add) */
  pg_trit in[500], ref[PG_CURL_STATE] = {0};
  for (int i = 0; i < 500; i++) in[i] = rand_trit();
  pg_curl c;
  pg_curl_init(&c, 27);
  pg_curl_absorb(&c, in, 500);
  memcpy(ref, in, 243);
  reference_transform(ref, 27);
  memcpy(ref, in + 243, 243);
  reference_transform(ref, 27);
  memcpy(ref, in + 486, 14);
  reference_transform(ref, 27);
  assert_memory_equal(c.state, ref, sizeof ref);

  pg_trit out[300], want[300];
  memcpy(want, ref, 243);
  reference_transform(ref, 27);
  memcpy(want + 243, ref, 57);
  reference_transform(ref, 27);
  pg_curl_squeeze(&c, out, 300);
  assert_memory_equal(out, want, sizeof want);
  assert_memory_equal(c.state, ref, sizeof ref);
  pg_trit r[PG_CURL_STATE];
  pg_curl_rate(&c, r, PG_CURL_STATE);
  assert_memory_equal(r, ref, sizeof ref);
}

static void test_bitsliced_vs_scalar(void **state) {
  (void)state;
  const int rounds_list[] = {1, 2, 27, 81};
  pg_curl64 *s = malloc(sizeof *s), *o = malloc(sizeof *o);
  pg_curl *lanes = malloc(64 * sizeof *lanes);
  assert_non_null(s);
  assert_non_null(o);
  assert_non_null(lanes);
  for (size_t ri = 0; ri < sizeof rounds_list / sizeof *rounds_list; ri++) {
    int rounds = rounds_list[ri];
    memset(s, 0, sizeof *s);
    for (int i = 0; i < PG_CURL_STATE; i++) pg_curl64_set_all(s, (size_t)i, 0);
    for (int l = 0; l < 64; l++) {
      pg_curl_init(&lanes[l], rounds);
      for (int i = 0; i < PG_CURL_STATE; i++) {
        pg_trit t = rand_trit();
        lanes[l].state[i] = t;
        pg_curl64_set(s, (size_t)l, (size_t)i, t);
        assert_int_equal(pg_curl64_get(s, (size_t)l, (size_t)i), t);
      }
    }
    pg_curl64_transform_copy(s, o, rounds);
    pg_curl64_transform(s, rounds);
    assert_memory_equal(s, o, sizeof *s);
    for (int l = 0; l < 64; l++) {
      pg_curl_transform(&lanes[l]);
      for (int i = 0; i < PG_CURL_STATE; i++)
        assert_int_equal(pg_curl64_get(s, (size_t)l, (size_t)i), lanes[l].state[i]);
    }
    /* never produces (0,0) */
    for (int i = 0; i < PG_CURL_STATE; i++) assert_true((s->lo[i] | s->hi[i]) == UINT64_MAX);
  }
  free(lanes);
  free(o);
  free(s);
}

static void test_bitsliced_sbox_all_pairs(void **state) {
  (void)state;
  /* Lane k holds pair (a, b) = (k % 3 - 1, k / 3 % 3 - 1) at trits 0 and 364:
   * after one round, trit 0 = S(state[0], state[364]). */
  pg_curl64 *s = calloc(1, sizeof *s);
  assert_non_null(s);
  static const int table[11] = {1, 0, -1, 2, 1, -1, 0, 2, -1, 1, 0};
  for (int i = 0; i < PG_CURL_STATE; i++) pg_curl64_set_all(s, (size_t)i, 0);
  for (int k = 0; k < 9; k++) {
    pg_curl64_set(s, (size_t)k, 0, (pg_trit)(k % 3 - 1));
    pg_curl64_set(s, (size_t)k, 364, (pg_trit)(k / 3 - 1));
  }
  pg_curl64_transform(s, 1);
  for (int k = 0; k < 9; k++) {
    int a = k % 3 - 1, b = k / 3 - 1;
    assert_int_equal(pg_curl64_get(s, (size_t)k, 0), table[a + 4 * b + 5]);
  }
  free(s);
}

/* 512 lanes of random states through each build of the wide transform (the
 * ones this CPU has) against the scalar transform lane by lane; and the bulk
 * load / store at unaligned row ranges, with NULL and missing lanes. */
static void test_wide_vs_scalar(void **state) {
  (void)state;
  pg_curlx *s = malloc(sizeof *s), *w = malloc(sizeof *w);
  pg_trit *tr = malloc((size_t)PG_CURLX_LANES * PG_CURL_STATE);
  pg_trit *back = malloc((size_t)PG_CURLX_LANES * PG_CURL_STATE);
  pg_curl *c = malloc(sizeof *c);
  const pg_trit *in[PG_CURLX_LANES];
  pg_trit *out[PG_CURLX_LANES];
  assert_true(s && w && tr && back && c);
  for (size_t k = 0; k < PG_CURLX_LANES; k++) {
    in[k] = tr + k * PG_CURL_STATE;
    out[k] = back + k * PG_CURL_STATE;
  }
  /* 15, 21, 27, 81: three four-round passes, then one, three, five, 23 three-round ones */
  const int rounds_list[] = {0, 1, 2, 3, 4, 5, 15, 21, 27, 81};
  const pg_curlx_impl impls[] = {PG_CURLX_PORTABLE, PG_CURLX_AVX2, PG_CURLX_AVX512, PG_CURLX_AUTO};
  for (size_t ri = 0; ri < sizeof rounds_list / sizeof *rounds_list; ri++) {
    for (size_t i = 0; i < (size_t)PG_CURLX_LANES * PG_CURL_STATE; i++) tr[i] = rand_trit();
    pg_curlx_load(s, 0, PG_CURL_STATE, in, PG_CURLX_LANES);
    for (size_t ii = 0; ii < sizeof impls / sizeof *impls; ii++) {
      if (!pg_curlx_impl_supported(impls[ii])) continue;
      memcpy(w, s, sizeof *w);
      assert_int_equal(pg_curlx_transform_with(w, rounds_list[ri], impls[ii]), PG_OK);
      memset(back, 5, (size_t)PG_CURLX_LANES * PG_CURL_STATE);
      pg_curlx_store(w, 0, PG_CURL_STATE, out, PG_CURLX_LANES);
      for (size_t k = 0; k < PG_CURLX_LANES; k += (k < 70 ? 1 : 37)) {
        pg_curl_init(c, rounds_list[ri]);
        memcpy(c->state, in[k], PG_CURL_STATE);
        pg_curl_transform(c);
        assert_memory_equal(out[k], c->state, PG_CURL_STATE);
      }
      for (size_t i = 0; i < PG_CURL_STATE; i++)
        for (size_t x = 0; x < PG_CURLX_WORDS; x++) assert_true((w->lo[i][x] | w->hi[i][x]) == UINT64_MAX);
    }
  }
  /* partial rows, NULL lanes and nlanes < 512, with each way of moving trits */
  const pg_curlx_impl moves[] = {PG_CURLX_PORTABLE, PG_CURLX_AVX512};
  for (size_t mi = 0; mi < 2; mi++) {
    for (size_t i = 0; i < (size_t)PG_CURLX_LANES * PG_CURL_STATE; i++) tr[i] = rand_trit();
    pg_curlx_fill(s, 0, PG_CURL_STATE, 1);
    in[3] = NULL;
    pg_curlx_load_with(s, 77, 130, in, 200, moves[mi]);
    in[3] = tr + 3 * PG_CURL_STATE;
    memset(back, 5, (size_t)PG_CURLX_LANES * PG_CURL_STATE);
    out[5] = NULL;
    pg_curlx_store_with(s, 70, 150, out, 300, moves[1 - mi]);
    out[5] = back + 5 * PG_CURL_STATE;
    for (size_t k = 0; k < 300; k++) {
      if (k == 5) continue;
      for (size_t i = 0; i < 150; i++) {
        size_t row = 70 + i;
        pg_trit want = row < 77 || row >= 207 ? 1 : (k < 200 && k != 3) ? in[k][row - 77] : 1;
        assert_int_equal(out[k][i], want);
      }
      assert_int_equal(out[k][150], 5);
    }
    for (size_t i = 0; i < 150; i++) assert_int_equal(back[5 * PG_CURL_STATE + i], 5);
  }
  free(c);
  free(back);
  free(tr);
  free(w);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tip12_example),       cmocka_unit_test(test_scalar_vs_reference),
      cmocka_unit_test(test_absorb_chunks),       cmocka_unit_test(test_bitsliced_vs_scalar),
      cmocka_unit_test(test_bitsliced_sbox_all_pairs), cmocka_unit_test(test_wide_vs_scalar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
