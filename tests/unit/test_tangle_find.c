/* The find request and answer (p2pgrid/tangle/find.h): known vectors, the
 * round trips, the limits, what the encoder refuses (appending nothing) and
 * what both parsers refuse (giving nothing, with a message naming the key or
 * item and the field), each without and with the meta flag.
 * fuzz_tangle_find runs the parsers on arbitrary bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/find.h"
#include "p2pgrid/tangle/message.h"

/* version 1, flags 0, budget 65536, max 100, keys "ab" and "c" */
#define REQ_HEX "01" "00" "00000100" "6400" "0200" "026162" "0163"
#define REQ_LEN 15
/* version 1, flags 1 (meta), budget 131072, max 1000, key "idx" */
#define REQ_META_HEX "01" "01" "00000200" "e803" "0100" "03696478"
#define REQ_META_LEN 14
/* flags 0; item 1: total 5, listed 2: 11.. "xyz", 22.. not sent;
 * item 2: total 1, listed 1: 33.. "hi" */
#define ID_11 "1111111111111111111111111111111111111111111111111111111111111111"
#define ID_22 "2222222222222222222222222222222222222222222222222222222222222222"
#define ID_33 "3333333333333333333333333333333333333333333333333333333333333333"
#define ID_44 "4444444444444444444444444444444444444444444444444444444444444444"
#define ID_55 "5555555555555555555555555555555555555555555555555555555555555555"
#define ANS_HEX                                                                                    \
  "01" "00" "0200"                                                                                 \
  "050000000200" ID_11 "03000000" "78797a" ID_22 "00000000"                                        \
  "010000000100" ID_33 "02000000" "6869"
#define ANS_LEN 129
/* flags 1 (meta); item 1: total 1, listed 1: 44.. not referenced (0, 0, 0),
 * not sent; item 2: total 9, listed 1: 55.. referenced by milestone 7,
 * inclusion 2 (included), conflict 0, "cde".
 * Offsets: item 1 head 4, message 1 id 10, referencedBy 42, inclusion 46,
 * conflictReason 47, rawLength 48; item 2 head 52, message 1 id 58,
 * referencedBy 90, inclusion 94, conflictReason 95, rawLength 96, raw 100. */
#define META_ANS_HEX                                                                               \
  "01" "01" "0200"                                                                                 \
  "010000000100" ID_44 "00000000" "00" "00" "00000000"                                             \
  "090000000100" ID_55 "07000000" "02" "00" "03000000" "636465"
#define META_ANS_LEN 103

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
  assert_int_equal(b.len, REQ_LEN);
  assert_int_equal(b.len, PG_FIND_REQ_HEAD_LEN + 3 + 2);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, REQ_HEX);
  out.meta = true; /* the parser sets it either way */
  assert_int_equal(pg_find_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_false(out.meta);
  assert_int_equal(out.budget, PG_FIND_BUDGET_MIN);
  assert_int_equal(out.max, 100);
  assert_int_equal(out.count, 2);
  assert_int_equal(out.keys[0].index_len, 2);
  assert_memory_equal(out.keys[0].index, "ab", 2);
  assert_ptr_equal(out.keys[0].index, b.data + 11); /* a view into the body */
  assert_int_equal(out.keys[1].index_len, 1);
  assert_memory_equal(out.keys[1].index, "c", 1);
  assert_ptr_equal(out.keys[1].index, b.data + 14);
  pg_buf_free(&b);
}

static void test_req_meta_vector_and_round_trip(void **state) {
  (void)state;
  static pg_find_req in, out;
  in = (pg_find_req){.meta = true, .budget = 2 * PG_FIND_BUDGET_MIN, .max = PG_FIND_MAX_IDS,
                     .count = 1};
  in.keys[0] = (pg_find_key){(const uint8_t *)"idx", 3};
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_diag d = {{0}};
  assert_int_equal(pg_find_req_encode(&b, &in, &d), PG_OK);
  char hex[64];
  assert_int_equal(b.len, REQ_META_LEN);
  assert_int_equal(b.len, PG_FIND_REQ_HEAD_LEN + 1 + 3);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, REQ_META_HEX);
  assert_int_equal(b.data[1], PG_FIND_FLAG_META);
  out.meta = false;
  assert_int_equal(pg_find_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_true(out.meta);
  assert_int_equal(out.budget, 2 * PG_FIND_BUDGET_MIN);
  assert_int_equal(out.max, PG_FIND_MAX_IDS);
  assert_int_equal(out.count, 1);
  assert_int_equal(out.keys[0].index_len, 3);
  assert_memory_equal(out.keys[0].index, "idx", 3);
  assert_ptr_equal(out.keys[0].index, b.data + 11);
  /* and what was parsed encodes to the very same bytes */
  pg_buf c;
  pg_buf_init(&c, 1024);
  assert_int_equal(pg_find_req_encode(&c, &out, &d), PG_OK);
  assert_int_equal(c.len, b.len);
  assert_memory_equal(c.data, b.data, b.len);
  pg_buf_free(&c);
  pg_buf_free(&b);
}

static void write_ans(pg_buf *b, size_t start) {
  uint8_t id[3][PG_ID_LEN];
  for (int i = 0; i < 3; i++) memset(id[i], 0x11 * (i + 1), PG_ID_LEN);
  pg_find_ans_begin(b, false);
  pg_find_ans_item(b, 5, 2);
  pg_find_ans_msg(b, id[0], NULL, (const uint8_t *)"xyz", 3);
  pg_find_ans_msg(b, id[1], NULL, NULL, 0);
  pg_find_ans_item(b, 1, 1);
  pg_find_ans_msg(b, id[2], NULL, (const uint8_t *)"hi", 2);
  assert_int_equal(pg_find_ans_end(b, start, 2), PG_OK);
}

static void write_meta_ans(pg_buf *b, size_t start) {
  uint8_t id44[PG_ID_LEN], id55[PG_ID_LEN];
  memset(id44, 0x44, PG_ID_LEN);
  memset(id55, 0x55, PG_ID_LEN);
  const pg_find_meta none = {0, 0, 0}, m7 = {7, 2, 0};
  pg_find_ans_begin(b, true);
  pg_find_ans_item(b, 1, 1);
  pg_find_ans_msg(b, id44, &none, NULL, 0);
  pg_find_ans_item(b, 9, 1);
  pg_find_ans_msg(b, id55, &m7, (const uint8_t *)"cde", 3);
  assert_int_equal(pg_find_ans_end(b, start, 2), PG_OK);
}

/* The next message of it: id all id_byte, the metadata given, raw as given
 * (NULL: not sent). */
static void check_msg(pg_find_item *it, uint8_t id_byte, uint32_t by, uint8_t incl,
                      uint8_t reason, const char *raw, size_t raw_len) {
  pg_find_msg m;
  memset(&m, 0xa5, sizeof m); /* item_next sets every field */
  uint8_t id[PG_ID_LEN];
  memset(id, id_byte, sizeof id);
  assert_int_equal(pg_find_item_next(it, &m), PG_OK);
  assert_memory_equal(m.id, id, PG_ID_LEN);
  assert_int_equal(m.meta.referenced_by, by);
  assert_int_equal(m.meta.inclusion, incl);
  assert_int_equal(m.meta.conflict_reason, reason);
  assert_int_equal(m.raw_len, raw_len);
  if (raw)
    assert_memory_equal(m.raw, raw, raw_len);
  else
    assert_null(m.raw);
}

static void test_ans_vector_and_parse(void **state) {
  (void)state;
  assert_int_equal(ANS_LEN, PG_FIND_ANS_HEAD_LEN + 2 * PG_FIND_ITEM_HEAD_LEN +
                                pg_find_msg_len(false, 3) + pg_find_msg_len(false, 0) +
                                pg_find_msg_len(false, 2));
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
  assert_int_equal(pg_find_ans_parse(b.data, b.len, 2, 2, false, items, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(items[0].total, 5);
  assert_int_equal(items[0].listed, 2);
  assert_false(items[0].meta);
  check_msg(&items[0], 0x11, 0, 0, 0, "xyz", 3); /* meta zero without the flag */
  check_msg(&items[0], 0x22, 0, 0, 0, NULL, 0);
  pg_find_msg m;
  assert_int_equal(pg_find_item_next(&items[0], &m), PG_ERR_NOT_FOUND);
  assert_int_equal(items[1].total, 1);
  assert_int_equal(items[1].listed, 1);
  assert_false(items[1].meta);
  check_msg(&items[1], 0x33, 0, 0, 0, "hi", 2);
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

static void test_ans_meta_vector_and_parse(void **state) {
  (void)state;
  assert_int_equal(pg_find_msg_len(true, 3), PG_FIND_MSG_HEAD_LEN + PG_FIND_META_LEN + 3);
  assert_int_equal(META_ANS_LEN, PG_FIND_ANS_HEAD_LEN + 2 * PG_FIND_ITEM_HEAD_LEN +
                                     pg_find_msg_len(true, 0) + pg_find_msg_len(true, 3));
  pg_buf b;
  pg_buf_init(&b, 1024);
  write_meta_ans(&b, 0);
  char hex[2 * META_ANS_LEN + 1];
  assert_int_equal(b.len, META_ANS_LEN);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, META_ANS_HEX);
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_find_ans_parse(b.data, b.len, 2, 1, true, items, &n, &d), PG_OK);
  assert_int_equal(n, 2);
  assert_int_equal(items[0].total, 1);
  assert_int_equal(items[0].listed, 1);
  assert_true(items[0].meta);
  check_msg(&items[0], 0x44, 0, 0, 0, NULL, 0);
  pg_find_msg m;
  assert_int_equal(pg_find_item_next(&items[0], &m), PG_ERR_NOT_FOUND);
  assert_int_equal(items[1].total, 9);
  assert_int_equal(items[1].listed, 1);
  assert_true(items[1].meta);
  check_msg(&items[1], 0x55, 7, 2, 0, "cde", 3);
  assert_int_equal(pg_find_item_next(&items[1], &m), PG_ERR_NOT_FOUND);
  /* the views are into the body */
  assert_int_equal(pg_find_ans_parse(b.data, b.len, 2, 1, true, items, &n, &d), PG_OK);
  assert_int_equal(pg_find_item_next(&items[1], &m), PG_OK);
  assert_ptr_equal(m.id, b.data + 58);
  assert_ptr_equal(m.raw, b.data + 100);
  /* a referenced conflicting message with a reason, at the biggest milestone */
  b.data[90] = b.data[91] = b.data[92] = b.data[93] = 0xff;
  b.data[94] = 3;
  b.data[95] = 5;
  assert_int_equal(pg_find_ans_parse(b.data, b.len, 2, 1, true, items, &n, &d), PG_OK);
  check_msg(&items[0], 0x44, 0, 0, 0, NULL, 0);
  check_msg(&items[1], 0x55, UINT32_MAX, 3, 5, "cde", 3);
  /* the writer after bytes already there */
  pg_buf_reset(&b);
  pg_buf_put(&b, "keep", 4);
  write_meta_ans(&b, 4);
  assert_int_equal(b.len, 4 + META_ANS_LEN);
  assert_memory_equal(b.data, "keep", 4);
  pg_hex_encode(b.data + 4, META_ANS_LEN, hex);
  assert_string_equal(hex, META_ANS_HEX);
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
  assert_false(out.meta);
  assert_int_equal(out.budget, PG_FIND_BUDGET_MIN);
  assert_int_equal(out.max, PG_FIND_MAX_IDS);
  assert_int_equal(out.count, PG_FIND_MAX_KEYS);
  for (size_t i = 0; i < PG_FIND_MAX_KEYS; i++) {
    assert_int_equal(out.keys[i].index_len, PG_INDEX_MAX_LEN);
    assert_memory_equal(out.keys[i].index, index[i], PG_INDEX_MAX_LEN);
  }
  /* and the biggest budget, with meta */
  in.budget = UINT32_MAX;
  in.meta = true;
  pg_buf_reset(&b);
  assert_int_equal(pg_find_req_encode(&b, &in, &d), PG_OK);
  assert_int_equal(pg_find_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_int_equal(out.budget, UINT32_MAX);
  assert_true(out.meta);
  assert_int_equal(out.count, PG_FIND_MAX_KEYS);
  pg_buf_free(&b);
}

/* 256 items: item 1 lists PG_FIND_MAX_IDS messages, none sent; item 2 one of
 * PG_MSG_MAX_LEN bytes; the rest list none. With meta, message k of item 1
 * is referenced by milestone k + 1 (inclusion 1 + k % 3, reason k % 256 when
 * that is 3, conflicting) and
 * item 2's message is not referenced. */
static void ans_limits(bool meta) {
  static uint8_t big[PG_MSG_MAX_LEN];
  uint8_t id[PG_ID_LEN] = {0};
  memset(big, 'b', sizeof big);
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  pg_find_ans_begin(&b, meta);
  pg_find_ans_item(&b, UINT32_MAX, PG_FIND_MAX_IDS);
  for (unsigned k = 0; k < PG_FIND_MAX_IDS; k++) {
    id[0] = (uint8_t)k;
    id[1] = (uint8_t)(k >> 8);
    uint8_t incl = (uint8_t)(1 + k % 3);
    pg_find_meta mt = {k + 1, incl, incl == 3 ? (uint8_t)k : 0};
    pg_find_ans_msg(&b, id, meta ? &mt : NULL, NULL, 0);
  }
  pg_find_ans_item(&b, 1, 1);
  const pg_find_meta none = {0};
  pg_find_ans_msg(&b, id, meta ? &none : NULL, big, sizeof big);
  for (size_t i = 2; i < PG_FIND_MAX_KEYS; i++) pg_find_ans_item(&b, (uint32_t)i, 0);
  assert_int_equal(pg_find_ans_end(&b, 0, PG_FIND_MAX_KEYS), PG_OK);
  assert_int_equal(b.len, PG_FIND_ANS_HEAD_LEN + PG_FIND_MAX_KEYS * PG_FIND_ITEM_HEAD_LEN +
                              PG_FIND_MAX_IDS * pg_find_msg_len(meta, 0) +
                              pg_find_msg_len(meta, PG_MSG_MAX_LEN));
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_find_ans_parse(b.data, b.len, PG_FIND_MAX_KEYS, PG_FIND_MAX_IDS, meta,
                                     items, &n, &d),
                   PG_OK);
  assert_int_equal(n, PG_FIND_MAX_KEYS);
  assert_int_equal(items[0].total, UINT32_MAX);
  assert_int_equal(items[0].listed, PG_FIND_MAX_IDS);
  pg_find_msg m;
  for (unsigned k = 0; k < PG_FIND_MAX_IDS; k++) {
    assert_int_equal(pg_find_item_next(&items[0], &m), PG_OK);
    assert_int_equal(m.id[0] | m.id[1] << 8, k);
    assert_int_equal(m.raw_len, 0);
    assert_int_equal(m.meta.referenced_by, meta ? k + 1 : 0);
    assert_int_equal(m.meta.inclusion, meta ? 1 + k % 3 : 0);
    assert_int_equal(m.meta.conflict_reason, meta && k % 3 == 2 ? k % 256 : 0);
  }
  assert_int_equal(pg_find_item_next(&items[0], &m), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_find_item_next(&items[1], &m), PG_OK);
  assert_int_equal(m.raw_len, PG_MSG_MAX_LEN);
  assert_memory_equal(m.raw, big, PG_MSG_MAX_LEN);
  assert_int_equal(m.meta.referenced_by, 0);
  assert_int_equal(items[PG_FIND_MAX_KEYS - 1].total, PG_FIND_MAX_KEYS - 1);
  assert_int_equal(items[PG_FIND_MAX_KEYS - 1].listed, 0);
  assert_int_equal(pg_find_item_next(&items[PG_FIND_MAX_KEYS - 1], &m), PG_ERR_NOT_FOUND);
  pg_buf_free(&b);
}

static void test_ans_limits(void **state) {
  (void)state;
  ans_limits(false);
  ans_limits(true);
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
  /* "keep" + 10 + 2 + 2 = 18 bytes do not fit 17, with meta or without */
  enc_refused(&ok, 17, PG_ERR_TOO_LARGE, "find: the request does not fit its buffer");
  r = ok;
  r.meta = true;
  enc_refused(&r, 17, PG_ERR_TOO_LARGE, "find: the request does not fit its buffer");
  /* and fit 18 */
  pg_buf b;
  pg_buf_init(&b, 18);
  pg_buf_put(&b, "keep", 4);
  pg_diag d = {{0}};
  assert_int_equal(pg_find_req_encode(&b, &r, &d), PG_OK);
  assert_int_equal(b.len, 18);
  assert_int_equal(b.data[4 + 1], PG_FIND_FLAG_META);
  pg_buf_free(&b);
}

static void test_ans_writer_refuses(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_find_ans_begin(&b, false);
  pg_find_ans_item(&b, 0, 0);
  assert_int_equal(pg_find_ans_end(&b, 0, PG_FIND_MAX_KEYS + 1), PG_ERR_INVALID);
  assert_int_equal(pg_find_ans_end(&b, b.len - 3, 1), PG_ERR_INVALID); /* no head there */
  assert_int_equal(pg_find_ans_end(&b, SIZE_MAX - 1, 1), PG_ERR_INVALID); /* start + 4 wraps */
  pg_buf_free(&b);
  pg_buf_init(&b, 9);
  pg_find_ans_begin(&b, true);
  pg_find_ans_item(&b, 0, 0); /* 10 bytes > 9 */
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
  assert_int_equal(len, REQ_LEN);
  req_refused(v, 0, PG_ERR_TRUNCATED, "find: 0 bytes, shorter than its 10-byte head");
  req_refused(v, 9, PG_ERR_TRUNCATED, "find: 9 bytes, shorter than its 10-byte head");
  memcpy(q, v, len);
  q[0] = 2;
  req_refused(q, len, PG_ERR_INVALID, "find: version 2");
  memcpy(q, v, len);
  q[1] = 0x02;
  req_refused(q, len, PG_ERR_INVALID, "find: unknown flags 0x02");
  q[1] = 0x03; /* meta with an unknown bit */
  req_refused(q, len, PG_ERR_INVALID, "find: unknown flags 0x03");
  q[1] = 0x80;
  req_refused(q, len, PG_ERR_INVALID, "find: unknown flags 0x80");
  memcpy(q, v, len);
  q[len] = 0;
  req_refused(q, len + 1, PG_ERR_INVALID, "find: 1 bytes after its last key");
  req_refused(v, 14, PG_ERR_TRUNCATED, "find key 2: 1 index bytes announced, 0 left");
  req_refused(v, 13, PG_ERR_TRUNCATED, "find key 2: truncated before its index");
  req_refused(v, 10, PG_ERR_TRUNCATED, "find key 1: truncated before its index");
  memcpy(q, v, len);
  q[10] = 0;
  req_refused(q, len, PG_ERR_INVALID, "find key 1: index of 0 bytes");
  memcpy(q, v, len);
  q[13] = PG_INDEX_MAX_LEN + 1;
  req_refused(q, len, PG_ERR_INVALID, "find key 2: index of 65 bytes");
  memcpy(q, v, len);
  q[2] = 0xff, q[3] = 0xff, q[4] = 0; /* budget 65535 */
  req_refused(q, len, PG_ERR_INVALID, "find: budget of 65535 bytes");
  memcpy(q, v, len);
  q[6] = 0; /* max 0 */
  req_refused(q, len, PG_ERR_INVALID, "find: max of 0 ids");
  q[6] = 0xe9, q[7] = 0x03; /* max 1001 */
  req_refused(q, len, PG_ERR_INVALID, "find: max of 1001 ids");
  memcpy(q, v, len);
  q[8] = 0; /* count 0 */
  req_refused(q, 10, PG_ERR_INVALID, "find: 0 keys");
  q[8] = 1, q[9] = 1; /* count 257 */
  req_refused(q, len, PG_ERR_INVALID, "find: 257 keys");
  /* the meta vector cut short and with trailing bytes */
  assert_int_equal(pg_hex_decode(REQ_META_HEX, strlen(REQ_META_HEX), v, sizeof v, &len), PG_OK);
  assert_int_equal(len, REQ_META_LEN);
  req_refused(v, len - 1, PG_ERR_TRUNCATED, "find key 1: 3 index bytes announced, 2 left");
  memcpy(q, v, len);
  q[len] = 'x';
  req_refused(q, len + 1, PG_ERR_INVALID, "find: 1 bytes after its last key");
}

static void ans_refused(const uint8_t *body, size_t len, size_t asked, unsigned max, bool meta,
                        int rc, const char *says) {
  static pg_find_item items[PG_FIND_MAX_KEYS];
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_find_ans_parse(body, len, asked, max, meta, items, &n, &d), rc);
  assert_int_equal(n, 0);
  fail_unless_says(&d, says);
}

static void test_ans_parser_refuses(void **state) {
  (void)state;
  uint8_t v[ANS_LEN + 1], q[ANS_LEN + 1];
  size_t len = 0;
  assert_int_equal(pg_hex_decode(ANS_HEX, strlen(ANS_HEX), v, sizeof v, &len), PG_OK);
  assert_int_equal(len, ANS_LEN);
  ans_refused(v, 0, 2, 2, false, PG_ERR_TRUNCATED,
              "find answer: 0 bytes, shorter than its 4-byte head");
  ans_refused(v, 3, 2, 2, false, PG_ERR_TRUNCATED,
              "find answer: 3 bytes, shorter than its 4-byte head");
  memcpy(q, v, len);
  q[0] = 2;
  ans_refused(q, len, 2, 2, false, PG_ERR_INVALID, "find answer: version 2");
  /* flags: an answer without meta to a request with it */
  ans_refused(v, len, 2, 2, true, PG_ERR_INVALID,
              "find answer: flags 0x00 to a request of flags 0x01");
  memcpy(q, v, len);
  q[1] = 0x02;
  ans_refused(q, len, 2, 2, false, PG_ERR_INVALID,
              "find answer: flags 0x02 to a request of flags 0x00");
  ans_refused(q, len, 2, 2, true, PG_ERR_INVALID,
              "find answer: flags 0x02 to a request of flags 0x01");
  memcpy(q, v, len);
  q[2] = 0;
  ans_refused(q, len, 2, 2, false, PG_ERR_INVALID, "find answer: 0 items to 2 keys asked");
  q[2] = 3;
  ans_refused(q, len, 2, 2, false, PG_ERR_INVALID, "find answer: 3 items to 2 keys asked");
  ans_refused(v, len, 1, 2, false, PG_ERR_INVALID, "find answer: 2 items to 1 keys asked");
  ans_refused(v, len, PG_FIND_MAX_KEYS + 1, 2, false, PG_ERR_INVALID,
              "2 items to 257 keys asked");
  ans_refused(v, len, 2, 1, false, PG_ERR_INVALID, "find item 1: 2 ids listed (max 1, total 5)");
  memcpy(q, v, len);
  q[85] = 0; /* item 2: total 0, listed 1 */
  ans_refused(q, len, 2, 2, false, PG_ERR_INVALID, "find item 2: 1 ids listed (max 2, total 0)");
  memcpy(q, v, len);
  q[42] = 0x01, q[43] = 0x80; /* item 1, message 1: 32769 bytes */
  ans_refused(q, len, 2, 2, false, PG_ERR_TOO_LARGE, "find item 1: message 1 of 32769 bytes");
  memcpy(q, v, len);
  q[123] = 0; /* item 2, message 1 not sent */
  ans_refused(q, len - 2, 2, 2, false, PG_ERR_INVALID, "find item 2: message 1 without its bytes");
  ans_refused(v, len - 1, 2, 2, false, PG_ERR_TRUNCATED,
              "find item 2: message 1: 2 bytes announced, 1 left");
  ans_refused(v, 47, 2, 2, false, PG_ERR_TRUNCATED,
              "find item 1: message 1: 3 bytes announced, 1 left");
  ans_refused(v, 101, 2, 2, false, PG_ERR_TRUNCATED,
              "find item 2: message 1 truncated in its head");
  ans_refused(v, 61, 2, 2, false, PG_ERR_TRUNCATED,
              "find item 1: message 2 truncated in its head");
  ans_refused(v, 87, 2, 2, false, PG_ERR_TRUNCATED, "find item 2: truncated in its head");
  ans_refused(v, 4, 2, 2, false, PG_ERR_TRUNCATED, "find item 1: truncated in its head");
  memcpy(q, v, len);
  q[len] = 0;
  ans_refused(q, len + 1, 2, 2, false, PG_ERR_INVALID, "find answer: 1 bytes after its last item");
}

static void test_ans_parser_refuses_meta(void **state) {
  (void)state;
  uint8_t v[META_ANS_LEN + 1], q[META_ANS_LEN + 1];
  size_t len = 0;
  assert_int_equal(pg_hex_decode(META_ANS_HEX, strlen(META_ANS_HEX), v, sizeof v, &len), PG_OK);
  assert_int_equal(len, META_ANS_LEN);
  /* flags: an answer with meta to a request without it */
  ans_refused(v, len, 2, 1, false, PG_ERR_INVALID,
              "find answer: flags 0x01 to a request of flags 0x00");
  memcpy(q, v, len);
  q[1] = 0x03;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find answer: flags 0x03 to a request of flags 0x01");
  /* inclusion over 3 (referenced, so that is the only fault) */
  memcpy(q, v, len);
  q[94] = 4;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 2: message 1: inclusion 4, conflict 0, referenced by 7");
  q[94] = 0xff;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 2: message 1: inclusion 255, conflict 0, referenced by 7");
  /* inclusion 0 while referenced; a conflict reason of an included message */
  memcpy(q, v, len);
  q[94] = 0;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 2: message 1: inclusion 0, conflict 0, referenced by 7");
  memcpy(q, v, len);
  q[95] = 6;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 2: message 1: inclusion 2, conflict 6, referenced by 7");
  /* inclusion 2 while not referenced */
  memcpy(q, v, len);
  q[90] = 0;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 2: message 1: inclusion 2, conflict 0, referenced by 0");
  /* conflictReason 1 while not referenced */
  memcpy(q, v, len);
  q[47] = 1;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 1: message 1: inclusion 0, conflict 1, referenced by 0");
  /* inclusion 1 while not referenced, in item 1 */
  memcpy(q, v, len);
  q[46] = 1;
  ans_refused(q, len, 2, 1, true, PG_ERR_INVALID,
              "find item 1: message 1: inclusion 1, conflict 0, referenced by 0");
  /* truncation inside the meta bytes: in referencedBy, before and in the
   * two u8, and right after them (rawLength missing) */
  static const size_t cuts1[] = {42, 43, 45, 46, 47, 48, 51};
  for (size_t i = 0; i < sizeof cuts1 / sizeof cuts1[0]; i++)
    ans_refused(v, cuts1[i], 2, 1, true, PG_ERR_TRUNCATED,
                "find item 1: message 1 truncated in its head");
  static const size_t cuts2[] = {90, 93, 94, 95, 96, 99};
  for (size_t i = 0; i < sizeof cuts2 / sizeof cuts2[0]; i++)
    ans_refused(v, cuts2[i], 2, 1, true, PG_ERR_TRUNCATED,
                "find item 2: message 1 truncated in its head");
  ans_refused(v, len - 1, 2, 1, true, PG_ERR_TRUNCATED,
              "find item 2: message 1: 3 bytes announced, 2 left");
  /* the other rules hold with meta too */
  memcpy(q, v, len);
  q[len] = 0;
  ans_refused(q, len + 1, 2, 1, true, PG_ERR_INVALID, "find answer: 1 bytes after its last item");
  memcpy(q, v, len);
  q[96] = 0; /* item 2, message 1 not sent */
  ans_refused(q, len - 3, 2, 1, true, PG_ERR_INVALID, "find item 2: message 1 without its bytes");
  memcpy(q, v, len);
  q[96] = 0x01, q[97] = 0x80; /* item 2, message 1: 32769 bytes */
  ans_refused(q, len, 2, 1, true, PG_ERR_TOO_LARGE, "find item 2: message 1 of 32769 bytes");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_req_vector_and_round_trip),
      cmocka_unit_test(test_req_meta_vector_and_round_trip),
      cmocka_unit_test(test_ans_vector_and_parse),
      cmocka_unit_test(test_ans_meta_vector_and_parse),
      cmocka_unit_test(test_req_limits),
      cmocka_unit_test(test_ans_limits),
      cmocka_unit_test(test_encoder_refuses),
      cmocka_unit_test(test_ans_writer_refuses),
      cmocka_unit_test(test_req_parser_refuses),
      cmocka_unit_test(test_ans_parser_refuses),
      cmocka_unit_test(test_ans_parser_refuses_meta),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
