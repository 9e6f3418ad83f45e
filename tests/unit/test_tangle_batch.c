/* The data batch body (p2pgrid/tangle/batch.h): a known vector, the round
 * trip, the limits, and what the encoder refuses (appending nothing). The
 * parser's refusals of hostile bytes are fuzz_tangle_batch's seeds and
 * test_node_batch's cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/batch.h"
#include "p2pgrid/tangle/message.h"

static void test_vector_and_round_trip(void **state) {
  (void)state;
  pg_batch_item in[2] = {{(const uint8_t *)"ab", 2, (const uint8_t *)"xyz", 3, false},
                         {(const uint8_t *)"c", 1, NULL, 0, true}};
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_diag d = {{0}};
  assert_int_equal(pg_batch_encode(&b, in, 2, &d), PG_OK);
  char hex[128];
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, "010200"
                           "000261620300000078797a"
                           "01016300000000");
  assert_int_equal(b.len, PG_BATCH_HEAD_LEN + pg_batch_item_len(2, 3) + pg_batch_item_len(1, 0));
  pg_batch_item out[PG_BATCH_MAX_ITEMS];
  size_t n = 0;
  assert_int_equal(pg_batch_parse(b.data, b.len, out, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(out[0].index_len, 2);
  assert_memory_equal(out[0].index, "ab", 2);
  assert_int_equal(out[0].data_len, 3);
  assert_memory_equal(out[0].data, "xyz", 3);
  assert_false(out[0].follows);
  assert_int_equal(out[1].data_len, 0);
  assert_true(out[1].follows);
  pg_buf_free(&b);
}

static void test_limits(void **state) {
  (void)state;
  static uint8_t big[PG_MSG_MAX_LEN];
  static pg_batch_item in[PG_BATCH_MAX_ITEMS + 1];
  uint8_t index[PG_INDEX_MAX_LEN];
  memset(index, 'i', sizeof index);
  for (size_t i = 0; i <= PG_BATCH_MAX_ITEMS; i++)
    in[i] = (pg_batch_item){index, PG_INDEX_MAX_LEN, big, i == 0 ? sizeof big : 1, i > 0};
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  pg_diag d = {{0}};
  assert_int_equal(pg_batch_encode(&b, in, PG_BATCH_MAX_ITEMS, &d), PG_OK);
  pg_batch_item out[PG_BATCH_MAX_ITEMS];
  size_t n = 0;
  assert_int_equal(pg_batch_parse(b.data, b.len, out, &n, &d), PG_OK);
  assert_int_equal(n, PG_BATCH_MAX_ITEMS);
  assert_int_equal(out[0].data_len, PG_MSG_MAX_LEN);
  assert_int_equal(out[PG_BATCH_MAX_ITEMS - 1].index_len, PG_INDEX_MAX_LEN);
  pg_buf_free(&b);
}

static void refused(const pg_batch_item *in, size_t n, int rc, const char *says) {
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  pg_buf_put(&b, "keep", 4);
  pg_diag d = {{0}};
  assert_int_equal(pg_batch_encode(&b, in, n, &d), rc);
  if (!strstr(d.msg, says)) fail_msg("'%s' lacks '%s'", d.msg, says);
  assert_int_equal(b.len, 4); /* nothing appended */
  pg_buf_free(&b);
}

static void test_encoder_refuses(void **state) {
  (void)state;
  static pg_batch_item many[PG_BATCH_MAX_ITEMS + 1];
  for (size_t i = 0; i <= PG_BATCH_MAX_ITEMS; i++)
    many[i] = (pg_batch_item){(const uint8_t *)"x", 1, NULL, 0, false};
  refused(many, 0, PG_ERR_INVALID, "batch of 0 items");
  refused(many, PG_BATCH_MAX_ITEMS + 1, PG_ERR_INVALID, "batch of 257 items");
  pg_batch_item two[2] = {{(const uint8_t *)"x", 1, NULL, 0, false},
                          {(const uint8_t *)"y", 1, NULL, 0, false}};
  two[0].follows = true;
  refused(two, 2, PG_ERR_INVALID, "batch item 1 follows");
  two[0].follows = false;
  two[1].index_len = 0;
  refused(two, 2, PG_ERR_INVALID, "batch item 2: index of 0 bytes");
  two[1].index_len = PG_INDEX_MAX_LEN + 1;
  refused(two, 2, PG_ERR_INVALID, "index of 65 bytes");
  two[1].index_len = 1;
  two[1].data_len = PG_MSG_MAX_LEN + 1;
  two[1].data = (const uint8_t *)"y";
  refused(two, 2, PG_ERR_TOO_LARGE, "batch item 2: 32769 data bytes");
  two[1].data = NULL;
  two[1].data_len = 3;
  refused(two, 2, PG_ERR_INVALID, "no data bytes");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vector_and_round_trip),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_encoder_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
