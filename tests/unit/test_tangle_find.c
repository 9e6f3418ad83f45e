/* The find request and answer (p2pgrid/tangle/find.h): known vectors, the
 * round trips, the limits, what the encoder refuses (appending nothing) and
 * what both parsers refuse (giving nothing, with a message naming the key or
 * item and the field). fuzz_tangle_find runs the parsers on arbitrary bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"

/* budget 65536, max 100, keys "ab" and "c" */
#define REQ_HEX "0100000100640002000261620163"
/* item 1: total 5, listed 2: 11.. "xyz", 22.. not sent;
 * item 2: total 1, listed 1: 33.. "hi" */
#define ID_11 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_22 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID_33 "3333333333333333333333333333333333333333333333333333333333333333"
#define ANS_HEX                                                                                    \
  "010200"                                                                                         \
  "050000000200" ID_11 "0300000078797a" ID_22 "00000000"                                           \
  "010000000100" ID_33 "020000006869"
#define ANS_LEN 128

static void fail_unless_says(const pg_diag *d, const char *says) {
  if (!strstr(d->msg, says)) fail_msg("'%s' lacks '%s'", d->msg, says);
}

static void test_req_vector_and_round_trip(void **state) {
  (void)state;
  static pg_find_req in, out;
  in = (pg_find_req){.budget = PG_FIND_BUDGET_MIN, .max = 100, .count = 2};
  in.keys[0] = (pg_find_key){(const uint8_t *)"ab", 2};
  in.keys[1] = (pg_find_key){(const uint8_t *)"c", 1};
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_diag d = {{0}};
  assert_int_equal(pg_find_req_encode(&b, &in, &d), PG_OK);
  char hex[64];
  assert_int_equal(b.len, PG_FIND_REQ_HEAD_LEN + 3 + 2);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, REQ_HEX);
  assert_int_equal(pg_find_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_int_equal(out.budget, PG_FIND_BUDGET_MIN);
  assert_int_equal(out.max, 100);
  assert_int_equal(out.count, 2);
  assert_int_equal(out.keys[0].index_len, 2);
  assert_memory_equal(out.keys[0].index, "ab", 2);
  assert_ptr_equal(out.keys[0].index, b.data + 10); /* a view into the body */
  assert_int_equal(out.keys[1].index_len, 1);
  assert_memory_equal(out.keys[1].index, "c", 1);
  pg_buf_free(&b);
}

static void write_ans(pg_buf *b, size_t start) {
  uint8_t id[3][PG_ID_LEN];
  for (int i = 0; i < 3; i++) memset(id[i], 0x11 * (i + 1), PG_ID_LEN);
  pg_find_ans_begin(b);
  pg_find_ans_item(b, 5, 2);
  pg_find_ans_msg(b, id[0], (const uint8_t *)"xyz", 3);
  pg_find_ans_msg(b, id[1], NULL, 0);
  pg_find_ans_item(b, 1, 1);
  pg_find_ans_msg(b, id[2], (const uint8_t *)"hi", 2);
  assert_int_equal(pg_find_ans_end(b, start, 2), PG_OK);
}

static void check_msg(pg_find_item *it, uint8_t id_byte, const char *raw, size_t raw_len) {
  pg_find_msg m = {0};
  uint8_t id[PG_ID_LEN];
  memset(id, id_byte, sizeof id);
  assert_int_equal(pg_find_item_next(it, &m), PG_OK);
  assert_memory_equal(m.id, id, PG_ID_LEN);
  assert_int_equal(m.raw_len, raw_len);
  if (raw)
    assert_memory_equal(m.raw, raw, raw_len);
  else
    assert_null(m.raw);
}

static void test_ans_vector_and_parse(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 1024);
  write_ans(&b, 0);
  char hex[2 * ANS_LEN + 1];
  assert_int_equal(b.len, ANS_LEN);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, ANS_HEX);
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_find_ans_parse(b.data, b.len, 2, 2, items, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(items[0].total, 5);
  assert_int_equal(items[0].listed, 2);
  check_msg(&items[0], 0x11, "xyz", 3);
  check_msg(&items[0], 0x22, NULL, 0);
  pg_find_msg m;
  assert_int_equal(pg_find_item_next(&items[0], &m), PG_ERR_NOT_FOUND);
  assert_int_equal(items[1].total, 1);
  assert_int_equal(items[1].listed, 1);
  check_msg(&items[1], 0x33, "hi", 2);
  assert_int_equal(pg_find_item_next(&items[1], &m), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_find_item_next(&items[1], &m), PG_ERR_NOT_FOUND);
  /* the writer after bytes already there: start is where begin was called */
  pg_buf_reset(&b);
  pg_buf_put(&b, "keep", 4);
  write_ans(&b, 4);
  assert_int_equal(b.len, 4 + ANS_LEN);
  assert_memory_equal(b.data, "keep", 4);
  pg_hex_encode(b.data + 4, ANS_LEN, hex);
  assert_string_equal(hex, ANS_HEX);
  pg_buf_free(&b);
}

static void test_req_limits(void **state) {
  (void)state;
  static pg_find_req in, out;
  static uint8_t index[PG_FIND_MAX_KEYS][PG_INDEX_MAX_LEN];
  in = (pg_find_req){.budget = PG_FIND_BUDGET_MIN, .max = PG_FIND_MAX_IDS,
                     .count = PG_FIND_MAX_KEYS};
  for (size_t i = 0; i < PG_FIND_MAX_KEYS; i++) {
    for (size_t j = 0; j < PG_INDEX_MAX_LEN; j++) index[i][j] = (uint8_t)(i + j);
    in.keys[i] = (pg_find_key){index[i], PG_INDEX_MAX_LEN};
  }
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  pg_diag d = {{0}};
  assert_int_equal(pg_find_req_encode(&b, &in, &d), PG_OK);
  assert_int_equal(b.len, PG_FIND_REQ_HEAD_LEN + PG_FIND_MAX_KEYS * (1 + PG_INDEX_MAX_LEN));
  assert_int_equal(pg_find_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_int_equal(out.budget, PG_FIND_BUDGET_MIN);
  assert_int_equal(out.max, PG_FIND_MAX_IDS);
  assert_int_equal(out.count, PG_FIND_MAX_KEYS);
  for (size_t i = 0; i < PG_FIND_MAX_KEYS; i++) {
    assert_int_equal(out.keys[i].index_len, PG_INDEX_MAX_LEN);
    assert_memory_equal(out.keys[i].index, index[i], PG_INDEX_MAX_LEN);
  }
  /* and the biggest budget */
  in.budget = UINT32_MAX;
  pg_buf_reset(&b);
  assert_int_equal(pg_find_req_encode(&b, &in, &d), PG_OK);
  assert_int_equal(pg_find_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_int_equal(out.budget, UINT32_MAX);
  pg_buf_free(&b);
}

/* 256 items: item 1 lists PG_FIND_MAX_IDS messages, none sent; item 2 one of
 * PG_MSG_MAX_LEN bytes; the rest list none. */
static void test_ans_limits(void **state) {
  (void)state;
  static uint8_t big[PG_MSG_MAX_LEN];
  uint8_t id[PG_ID_LEN] = {0};
  memset(big, 'b', sizeof big);
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  pg_find_ans_begin(&b);
  pg_find_ans_item(&b, UINT32_MAX, PG_FIND_MAX_IDS);
  for (unsigned k = 0; k < PG_FIND_MAX_IDS; k++) {
    id[0] = (uint8_t)k;
    id[1] = (uint8_t)(k >> 8);
    pg_find_ans_msg(&b, id, NULL, 0);
  }
  pg_find_ans_item(&b, 1, 1);
  pg_find_ans_msg(&b, id, big, sizeof big);
  for (size_t i = 2; i < PG_FIND_MAX_KEYS; i++) pg_find_ans_item(&b, (uint32_t)i, 0);
  assert_int_equal(pg_find_ans_end(&b, 0, PG_FIND_MAX_KEYS), PG_OK);
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(
      pg_find_ans_parse(b.data, b.len, PG_FIND_MAX_KEYS, PG_FIND_MAX_IDS, items, &n, &d), PG_OK);
  assert_int_equal(n, PG_FIND_MAX_KEYS);
  assert_int_equal(items[0].total, UINT32_MAX);
  assert_int_equal(items[0].listed, PG_FIND_MAX_IDS);
  pg_find_msg m;
  for (unsigned k = 0; k < PG_FIND_MAX_IDS; k++) {
    assert_int_equal(pg_find_item_next(&items[0], &m), PG_OK);
    assert_int_equal(m.id[0] | m.id[1] << 8, k);
    assert_int_equal(m.raw_len, 0);
  }
  assert_int_equal(pg_find_item_next(&items[0], &m), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_find_item_next(&items[1], &m), PG_OK);
  assert_int_equal(m.raw_len, PG_MSG_MAX_LEN);
  assert_memory_equal(m.raw, big, PG_MSG_MAX_LEN);
  assert_int_equal(items[PG_FIND_MAX_KEYS - 1].total, PG_FIND_MAX_KEYS - 1);
  assert_int_equal(items[PG_FIND_MAX_KEYS - 1].listed, 0);
  assert_int_equal(pg_find_item_next(&items[PG_FIND_MAX_KEYS - 1], &m), PG_ERR_NOT_FOUND);
  pg_buf_free(&b);
}

static void enc_refused(const pg_find_req *r, size_t limit, int rc, const char *says) {
  pg_buf b;
  pg_buf_init(&b, limit);
  pg_buf_put(&b, "keep", 4);
  pg_diag d = {{0}};
  assert_int_equal(pg_find_req_encode(&b, r, &d), rc);
  fail_unless_says(&d, says);
  assert_int_equal(b.len, 4); /* nothing appended */
  assert_memory_equal(b.data, "keep", 4);
  pg_buf_free(&b);
}

static void test_encoder_refuses(void **state) {
  (void)state;
  static pg_find_req r;
  static const pg_find_req ok = {.budget = PG_FIND_BUDGET_MIN, .max = 1, .count = 2,
                                 .keys = {{(const uint8_t *)"x", 1}, {(const uint8_t *)"y", 1}}};
  r = ok;
  r.budget = PG_FIND_BUDGET_MIN - 1;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find: budget of 65535 bytes (at least 65536)");
  r = ok;
  r.max = 0;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find: max of 0 ids");
  r.max = PG_FIND_MAX_IDS + 1;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find: max of 1001 ids");
  r = ok;
  r.count = 0;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find: 0 keys");
  r.count = PG_FIND_MAX_KEYS + 1;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find: 257 keys");
  r = ok;
  r.keys[1].index_len = 0;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find key 2: index of 0 bytes");
  r.keys[1].index_len = PG_INDEX_MAX_LEN + 1;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find key 2: index of 65 bytes");
  r = ok;
  r.keys[1].index = NULL;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "find key 2: no index bytes");
  /* "keep" + 9 + 2 + 2 bytes do not fit 16 */
  enc_refused(&ok, 16, PG_ERR_TOO_LARGE, "find: the request does not fit its buffer");
}

static void test_ans_writer_refuses(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_find_ans_begin(&b);
  pg_find_ans_item(&b, 0, 0);
  assert_int_equal(pg_find_ans_end(&b, 0, PG_FIND_MAX_KEYS + 1), PG_ERR_INVALID);
  assert_int_equal(pg_find_ans_end(&b, b.len - 2, 1), PG_ERR_INVALID); /* no head there */
  pg_buf_free(&b);
  pg_buf_init(&b, 8);
  pg_find_ans_begin(&b);
  pg_find_ans_item(&b, 0, 0); /* 9 bytes > 8 */
  assert_int_equal(pg_find_ans_end(&b, 0, 1), PG_ERR_TOO_LARGE);
  pg_buf_free(&b);
}

static void req_refused(const uint8_t *body, size_t len, int rc, const char *says) {
  static pg_find_req r;
  r.count = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_find_req_parse(body, len, &r, &d), rc);
  assert_int_equal(r.count, 0);
  fail_unless_says(&d, says);
}

static void test_req_parser_refuses(void **state) {
  (void)state;
  uint8_t v[32], q[32];
  size_t len = 0;
  assert_int_equal(pg_hex_decode(REQ_HEX, strlen(REQ_HEX), v, sizeof v, &len), PG_OK);
  assert_int_equal(len, 14);
  req_refused(v, 0, PG_ERR_TRUNCATED, "find: 0 bytes, shorter than its 9-byte head");
  req_refused(v, 8, PG_ERR_TRUNCATED, "find: 8 bytes, shorter than its 9-byte head");
  memcpy(q, v, len);
  q[0] = 2;
  req_refused(q, len, PG_ERR_INVALID, "find: version 2");
  memcpy(q, v, len);
  q[len] = 0;
  req_refused(q, len + 1, PG_ERR_INVALID, "find: 1 bytes after its last key");
  req_refused(v, 13, PG_ERR_TRUNCATED, "find key 2: 1 index bytes announced, 0 left");
  req_refused(v, 12, PG_ERR_TRUNCATED, "find key 2: truncated before its index");
  req_refused(v, 9, PG_ERR_TRUNCATED, "find key 1: truncated before its index");
  memcpy(q, v, len);
  q[9] = 0;
  req_refused(q, len, PG_ERR_INVALID, "find key 1: index of 0 bytes");
  memcpy(q, v, len);
  q[12] = PG_INDEX_MAX_LEN + 1;
  req_refused(q, len, PG_ERR_INVALID, "find key 2: index of 65 bytes");
  memcpy(q, v, len);
  q[1] = 0xff, q[2] = 0xff, q[3] = 0; /* budget 65535 */
  req_refused(q, len, PG_ERR_INVALID, "find: budget of 65535 bytes");
  memcpy(q, v, len);
  q[5] = 0; /* max 0 */
  req_refused(q, len, PG_ERR_INVALID, "find: max of 0 ids");
  q[5] = 0xe9, q[6] = 0x03; /* max 1001 */
  req_refused(q, len, PG_ERR_INVALID, "find: max of 1001 ids");
  memcpy(q, v, len);
  q[7] = 0; /* count 0 */
  req_refused(q, 9, PG_ERR_INVALID, "find: 0 keys");
  q[7] = 1, q[8] = 1; /* count 257 */
  req_refused(q, len, PG_ERR_INVALID, "find: 257 keys");
}

static void ans_refused(const uint8_t *body, size_t len, size_t asked, unsigned max, int rc,
                        const char *says) {
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_find_ans_parse(body, len, asked, max, items, &n, &d), rc);
  assert_int_equal(n, 0);
  fail_unless_says(&d, says);
}

static void test_ans_parser_refuses(void **state) {
  (void)state;
  uint8_t v[ANS_LEN + 1], q[ANS_LEN + 1];
  size_t len = 0;
  assert_int_equal(pg_hex_decode(ANS_HEX, strlen(ANS_HEX), v, sizeof v, &len), PG_OK);
  assert_int_equal(len, ANS_LEN);
  ans_refused(v, 2, 2, 2, PG_ERR_TRUNCATED, "find answer: 2 bytes, shorter than its 3-byte head");
  memcpy(q, v, len);
  q[0] = 2;
  ans_refused(q, len, 2, 2, PG_ERR_INVALID, "find answer: version 2");
  memcpy(q, v, len);
  q[1] = 0;
  ans_refused(q, len, 2, 2, PG_ERR_INVALID, "find answer: 0 items to 2 keys asked");
  q[1] = 3;
  ans_refused(q, len, 2, 2, PG_ERR_INVALID, "find answer: 3 items to 2 keys asked");
  ans_refused(v, len, 1, 2, PG_ERR_INVALID, "find answer: 2 items to 1 keys asked");
  ans_refused(v, len, PG_FIND_MAX_KEYS + 1, 2, PG_ERR_INVALID, "2 items to 257 keys asked");
  ans_refused(v, len, 2, 1, PG_ERR_INVALID, "find item 1: 2 ids listed (max 1, total 5)");
  memcpy(q, v, len);
  q[84] = 0; /* item 2: total 0, listed 1 */
  ans_refused(q, len, 2, 2, PG_ERR_INVALID, "find item 2: 1 ids listed (max 2, total 0)");
  memcpy(q, v, len);
  q[41] = 0x01, q[42] = 0x80; /* item 1, message 1: 32769 bytes */
  ans_refused(q, len, 2, 2, PG_ERR_TOO_LARGE, "find item 1: message 1 of 32769 bytes");
  memcpy(q, v, len);
  q[122] = 0; /* item 2, message 1 not sent */
  ans_refused(q, len - 2, 2, 2, PG_ERR_INVALID, "find item 2: message 1 without its bytes");
  ans_refused(v, len - 1, 2, 2, PG_ERR_TRUNCATED,
              "find item 2: message 1: 2 bytes announced, 1 left");
  ans_refused(v, 46, 2, 2, PG_ERR_TRUNCATED, "find item 1: message 1: 3 bytes announced, 1 left");
  ans_refused(v, 100, 2, 2, PG_ERR_TRUNCATED, "find item 2: message 1 truncated in its head");
  ans_refused(v, 60, 2, 2, PG_ERR_TRUNCATED, "find item 1: message 2 truncated in its head");
  ans_refused(v, 86, 2, 2, PG_ERR_TRUNCATED, "find item 2: truncated in its head");
  ans_refused(v, 3, 2, 2, PG_ERR_TRUNCATED, "find item 1: truncated in its head");
  memcpy(q, v, len);
  q[len] = 0;
  ans_refused(q, len + 1, 2, 2, PG_ERR_INVALID, "find answer: 1 bytes after its last item");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_req_vector_and_round_trip),
      cmocka_unit_test(test_ans_vector_and_parse),
      cmocka_unit_test(test_req_limits),
      cmocka_unit_test(test_ans_limits),
      cmocka_unit_test(test_encoder_refuses),
      cmocka_unit_test(test_ans_writer_refuses),
      cmocka_unit_test(test_req_parser_refuses),
      cmocka_unit_test(test_ans_parser_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
