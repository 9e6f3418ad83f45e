/* The outputs request and answer (p2pgrid/ledger/outputs.h): known vectors
 * checked byte for byte, the round trips, the limits (1,000 ids, the largest
 * item under the least budget), what the encoder and the answer's writer
 * refuse (appending nothing), and what both parsers refuse (giving nothing,
 * with a message naming the item and the field), without and with raw; every
 * prefix of a valid answer is refused. fuzz_ledger_outputs runs the parsers
 * on arbitrary bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/outputs.h"

#define R8(x) x x x x x x x x
#define R32(x) R8(x) R8(x) R8(x) R8(x) /* 32 bytes of x, in hex */

/* version 1, flags 0, budget 65536, count 2, ids aa..aa:1 and bb..bb:0x0302 */
#define REQ_HEX "01" "00" "00000100" "0200" R32("aa") "0100" R32("bb") "0203"
#define REQ_LEN 76
/* version 1, flags 1 (raw), budget 0x12345678, count 1, id cc..cc:0xffff */
#define REQ_RAW_HEX "01" "01" "78563412" "0100" R32("cc") "ffff"
#define REQ_RAW_LEN 42

/* Without raw, to 3 ids. Item 1: a genesis output (zero message id, booked
 * 0), type 0, address 44.., amount 1, unspent. Item 2: not found. Item 3:
 * message 55.., type 1, address 66.., amount PG_TOKEN_SUPPLY, booked at
 * milestone 0xffffffff, spent at 0xffffffff by a transaction not known (zero).
 * Offsets: item 1 found 4, messageId 5, type 37, address 38, amount 70,
 * bookedIndex 78, spent 82, spentIndex 83, spentTxId 87..118; item 2 found
 * 119; item 3 found 120, messageId 121, type 153, address 154, amount 186,
 * bookedIndex 194, spent 198, spentIndex 199, spentTxId 203..234. */
#define ANS_HEX                                                                                    \
  "01" "00" "0300"                                                                                 \
  "01" R32("00") "00" R32("44") "0100000000000000" "00000000" "00" "00000000" R32("00")            \
  "00"                                                                                             \
  "01" R32("55") "01" R32("66") "c15d2dd3f7df0900" "ffffffff" "01" "ffffffff" R32("00")
#define ANS_LEN 235
/* With raw, to 2 ids. Item 1: message 11.., type 1, address 22.., amount
 * 1,000,000, booked at 7, spent at 9 by 33.., raw "abc". Item 2: not found.
 * Offsets: item 1 found 4, messageId 5, type 37, address 38, amount 70,
 * bookedIndex 78, spent 82, spentIndex 83, spentTxId 87, rawLength 119, raw
 * 123..125; item 2 found 126. */
#define ANS_RAW_HEX                                                                                \
  "01" "01" "0200"                                                                                 \
  "01" R32("11") "01" R32("22") "40420f0000000000" "07000000" "01" "09000000" R32("33")            \
  "03000000" "616263"                                                                              \
  "00"
#define ANS_RAW_LEN 127

_Static_assert(PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_ITEM_MAX <= PG_OUTPUTS_BUDGET_MIN,
               "the largest item fits the least budget");

static void fail_unless_says(const pg_diag *d, const char *says) {
  if (!strstr(d->msg, says)) fail_msg("'%s' lacks '%s'", d->msg, says);
}

static void decode(const char *hex, uint8_t *out, size_t cap, size_t want) {
  size_t len = 0;
  assert_int_equal(pg_hex_decode(hex, strlen(hex), out, cap, &len), PG_OK);
  assert_int_equal(len, want);
}

/* The two ids of REQ_HEX. */
static void req_ids(uint8_t ids[2][PG_OUTPUT_ID_LEN]) {
  memset(ids[0], 0xaa, 32);
  ids[0][32] = 0x01, ids[0][33] = 0x00;
  memset(ids[1], 0xbb, 32);
  ids[1][32] = 0x02, ids[1][33] = 0x03;
}

/* ---- the request ---- */

static void test_req_vector_and_round_trip(void **state) {
  (void)state;
  uint8_t ids[2][PG_OUTPUT_ID_LEN];
  req_ids(ids);
  pg_outputs_req in = {.raw = false, .budget = PG_OUTPUTS_BUDGET_MIN, .count = 2,
                       .ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids};
  pg_outputs_req out;
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_buf_put(&b, "keep", 4); /* the encoder appends */
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_req_encode(&b, &in, &d), PG_OK);
  assert_int_equal(b.len, 4 + REQ_LEN);
  assert_int_equal(REQ_LEN, PG_OUTPUTS_REQ_HEAD_LEN + 2 * PG_OUTPUT_ID_LEN);
  assert_memory_equal(b.data, "keep", 4);
  char hex[2 * REQ_LEN + 1];
  pg_hex_encode(b.data + 4, REQ_LEN, hex);
  assert_string_equal(hex, REQ_HEX);
  memset(&out, 0xa5, sizeof out);
  assert_int_equal(pg_outputs_req_parse(b.data + 4, REQ_LEN, &out, &d), PG_OK);
  assert_false(out.raw);
  assert_int_equal(out.budget, PG_OUTPUTS_BUDGET_MIN);
  assert_int_equal(out.count, 2);
  assert_ptr_equal(out.ids, b.data + 4 + PG_OUTPUTS_REQ_HEAD_LEN); /* a view into the body */
  assert_memory_equal(out.ids[0], ids[0], PG_OUTPUT_ID_LEN);
  assert_memory_equal(out.ids[1], ids[1], PG_OUTPUT_ID_LEN);
  /* what was parsed encodes to the very same bytes */
  pg_buf c;
  pg_buf_init(&c, 1024);
  assert_int_equal(pg_outputs_req_encode(&c, &out, &d), PG_OK);
  assert_int_equal(c.len, REQ_LEN);
  assert_memory_equal(c.data, b.data + 4, REQ_LEN);
  pg_buf_free(&c);
  pg_buf_free(&b);
}

static void test_req_raw_vector_and_round_trip(void **state) {
  (void)state;
  uint8_t id[1][PG_OUTPUT_ID_LEN];
  memset(id[0], 0xcc, 32);
  id[0][32] = id[0][33] = 0xff;
  pg_outputs_req in = {.raw = true, .budget = 0x12345678u, .count = 1,
                       .ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])id};
  pg_outputs_req out;
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_req_encode(&b, &in, &d), PG_OK);
  char hex[2 * REQ_RAW_LEN + 1];
  assert_int_equal(b.len, REQ_RAW_LEN);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, REQ_RAW_HEX);
  assert_int_equal(b.data[1], PG_OUTPUTS_FLAG_RAW);
  memset(&out, 0, sizeof out);
  assert_int_equal(pg_outputs_req_parse(b.data, b.len, &out, &d), PG_OK);
  assert_true(out.raw);
  assert_int_equal(out.budget, 0x12345678u);
  assert_int_equal(out.count, 1);
  assert_ptr_equal(out.ids, b.data + 8);
  assert_memory_equal(out.ids[0], id[0], PG_OUTPUT_ID_LEN);
  pg_buf c;
  pg_buf_init(&c, 1024);
  assert_int_equal(pg_outputs_req_encode(&c, &out, &d), PG_OK);
  assert_int_equal(c.len, b.len);
  assert_memory_equal(c.data, b.data, b.len);
  pg_buf_free(&c);
  pg_buf_free(&b);
}

/* 1,000 ids, the biggest budget, with raw and without. */
static void test_req_limits(void **state) {
  (void)state;
  static uint8_t ids[PG_OUTPUTS_MAX_IDS][PG_OUTPUT_ID_LEN];
  for (size_t i = 0; i < PG_OUTPUTS_MAX_IDS; i++)
    for (size_t j = 0; j < PG_OUTPUT_ID_LEN; j++) ids[i][j] = (uint8_t)(i * 7 + j);
  for (int raw = 0; raw < 2; raw++) {
    pg_outputs_req in = {.raw = raw, .budget = UINT32_MAX, .count = PG_OUTPUTS_MAX_IDS,
                         .ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids};
    pg_outputs_req out;
    pg_buf b;
    pg_buf_init(&b, 1 << 20);
    pg_diag d = {{0}};
    assert_int_equal(pg_outputs_req_encode(&b, &in, &d), PG_OK);
    assert_int_equal(b.len, PG_OUTPUTS_REQ_HEAD_LEN + PG_OUTPUTS_MAX_IDS * PG_OUTPUT_ID_LEN);
    assert_int_equal(b.data[6] | b.data[7] << 8, PG_OUTPUTS_MAX_IDS);
    assert_int_equal(pg_outputs_req_parse(b.data, b.len, &out, &d), PG_OK);
    assert_int_equal(out.raw, raw);
    assert_int_equal(out.budget, UINT32_MAX);
    assert_int_equal(out.count, PG_OUTPUTS_MAX_IDS);
    assert_memory_equal(out.ids, ids, sizeof ids);
    /* one byte short of the last id */
    out.count = 99;
    assert_int_equal(pg_outputs_req_parse(b.data, b.len - 1, &out, &d), PG_ERR_TRUNCATED);
    assert_int_equal(out.count, 0);
    fail_unless_says(&d, "outputs: 1000 ids of 34 bytes announced, 33999 bytes left");
    pg_buf_free(&b);
  }
}

static void enc_refused(const pg_outputs_req *r, size_t limit, int rc, const char *says) {
  pg_buf b;
  pg_buf_init(&b, limit);
  pg_buf_put(&b, "keep", 4);
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_req_encode(&b, r, &d), rc);
  fail_unless_says(&d, says);
  assert_int_equal(b.len, 4); /* nothing appended */
  assert_memory_equal(b.data, "keep", 4);
  pg_buf_free(&b);
}

static void test_encoder_refuses(void **state) {
  (void)state;
  uint8_t ids[2][PG_OUTPUT_ID_LEN];
  req_ids(ids);
  const pg_outputs_req ok = {.budget = PG_OUTPUTS_BUDGET_MIN, .count = 1,
                             .ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids};
  pg_outputs_req r = ok;
  r.budget = PG_OUTPUTS_BUDGET_MIN - 1;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "outputs: budget of 65535 bytes (at least 65536)");
  r.budget = 0;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "outputs: budget of 0 bytes (at least 65536)");
  r = ok;
  r.count = 0;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "outputs: 0 ids (1..1000 allowed)");
  r.count = PG_OUTPUTS_MAX_IDS + 1;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "outputs: 1001 ids (1..1000 allowed)");
  r.count = 65536; /* would wrap to 0 in the u16 */
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "outputs: 65536 ids");
  r = ok;
  r.ids = NULL;
  enc_refused(&r, 1 << 20, PG_ERR_INVALID, "outputs: no ids");
  /* "keep" + 8 + 34 = 46 bytes do not fit 45, with raw or without */
  enc_refused(&ok, 45, PG_ERR_TOO_LARGE, "outputs: the request does not fit its buffer");
  r = ok;
  r.raw = true;
  enc_refused(&r, 45, PG_ERR_TOO_LARGE, "outputs: the request does not fit its buffer");
  /* nor does the head alone */
  enc_refused(&r, 8, PG_ERR_TOO_LARGE, "outputs: the request does not fit its buffer");
  /* and fit 46 */
  pg_buf b;
  pg_buf_init(&b, 46);
  pg_buf_put(&b, "keep", 4);
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_req_encode(&b, &r, &d), PG_OK);
  assert_int_equal(b.len, 46);
  assert_int_equal(b.data[4 + 1], PG_OUTPUTS_FLAG_RAW);
  pg_buf_free(&b);
}

static void req_refused(const uint8_t *body, size_t len, int rc, const char *says) {
  /* an exact copy, so ASan sees any read past the end */
  uint8_t *copy = malloc(len ? len : 1);
  assert_non_null(copy);
  if (len) memcpy(copy, body, len);
  pg_outputs_req r = {.raw = true, .count = 99, .ids = (const uint8_t(*)[PG_OUTPUT_ID_LEN])copy};
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_req_parse(copy, len, &r, &d), rc);
  assert_int_equal(r.count, 0);
  assert_null(r.ids);
  assert_false(r.raw);
  fail_unless_says(&d, says);
  free(copy);
}

static void test_req_parser_refuses(void **state) {
  (void)state;
  uint8_t v[REQ_LEN + 1], q[REQ_LEN + 1];
  decode(REQ_HEX, v, sizeof v, REQ_LEN);
  size_t len = REQ_LEN;
  /* the head cut short */
  req_refused(v, 0, PG_ERR_TRUNCATED, "outputs: 0 bytes, shorter than its 8-byte head");
  req_refused(v, 1, PG_ERR_TRUNCATED, "outputs: 1 bytes, shorter than its 8-byte head");
  req_refused(v, 5, PG_ERR_TRUNCATED, "outputs: 5 bytes, shorter than its 8-byte head");
  req_refused(v, 7, PG_ERR_TRUNCATED, "outputs: 7 bytes, shorter than its 8-byte head");
  /* version */
  memcpy(q, v, len);
  q[0] = 2;
  req_refused(q, len, PG_ERR_INVALID, "outputs: version 2 (this node reads version 1)");
  q[0] = 0;
  req_refused(q, len, PG_ERR_INVALID, "outputs: version 0");
  /* flags: any bit but raw */
  memcpy(q, v, len);
  q[1] = 0x02;
  req_refused(q, len, PG_ERR_INVALID, "outputs: unknown flags 0x02");
  q[1] = 0x03; /* raw with an unknown bit */
  req_refused(q, len, PG_ERR_INVALID, "outputs: unknown flags 0x03");
  q[1] = 0x80;
  req_refused(q, len, PG_ERR_INVALID, "outputs: unknown flags 0x80");
  q[1] = 0xff;
  req_refused(q, len, PG_ERR_INVALID, "outputs: unknown flags 0xff");
  /* budget under 64 KiB */
  memcpy(q, v, len);
  q[2] = 0xff, q[3] = 0xff, q[4] = 0; /* 65535 */
  req_refused(q, len, PG_ERR_INVALID, "outputs: budget of 65535 bytes (at least 65536)");
  q[2] = q[3] = 0;
  req_refused(q, len, PG_ERR_INVALID, "outputs: budget of 0 bytes");
  /* count 0 (the head alone, and with ids after it), 1001, 65535 */
  memcpy(q, v, len);
  q[6] = 0;
  req_refused(q, PG_OUTPUTS_REQ_HEAD_LEN, PG_ERR_INVALID, "outputs: 0 ids (1..1000 allowed)");
  req_refused(q, len, PG_ERR_INVALID, "outputs: 0 ids (1..1000 allowed)");
  q[6] = 0xe9, q[7] = 0x03;
  req_refused(q, len, PG_ERR_INVALID, "outputs: 1001 ids (1..1000 allowed)");
  q[6] = 0xff, q[7] = 0xff;
  req_refused(q, len, PG_ERR_INVALID, "outputs: 65535 ids (1..1000 allowed)");
  /* ids cut short: none, in the first, at the second, in its index */
  req_refused(v, 8, PG_ERR_TRUNCATED, "outputs: 2 ids of 34 bytes announced, 0 bytes left");
  req_refused(v, 9, PG_ERR_TRUNCATED, "outputs: 2 ids of 34 bytes announced, 1 bytes left");
  req_refused(v, 42, PG_ERR_TRUNCATED, "outputs: 2 ids of 34 bytes announced, 34 bytes left");
  req_refused(v, len - 1, PG_ERR_TRUNCATED,
              "outputs: 2 ids of 34 bytes announced, 67 bytes left");
  /* one id too many announced */
  memcpy(q, v, len);
  q[6] = 3;
  req_refused(q, len, PG_ERR_TRUNCATED, "outputs: 3 ids of 34 bytes announced, 68 bytes left");
  /* a trailing byte; one id fewer announced than sent */
  memcpy(q, v, len);
  q[len] = 0;
  req_refused(q, len + 1, PG_ERR_INVALID, "outputs: 1 bytes after its last id");
  q[6] = 1;
  req_refused(q, len, PG_ERR_INVALID, "outputs: 34 bytes after its last id");
  /* the pg_diag is optional */
  pg_outputs_req nd;
  assert_int_equal(pg_outputs_req_parse(v, len - 1, &nd, NULL), PG_ERR_TRUNCATED);
  assert_int_equal(pg_outputs_req_parse(v, len, &nd, NULL), PG_OK);
  nd.count = 0;
  pg_buf nb;
  pg_buf_init(&nb, 1024);
  assert_int_equal(pg_outputs_req_encode(&nb, &nd, NULL), PG_ERR_INVALID);
  assert_int_equal(nb.len, 0);
  pg_buf_free(&nb);
  /* every prefix of both vectors */
  for (size_t k = 0; k < len; k++) {
    pg_outputs_req r = {.count = 99};
    pg_diag d = {{0}};
    assert_int_equal(pg_outputs_req_parse(v, k, &r, &d), PG_ERR_TRUNCATED);
    assert_int_equal(r.count, 0);
    fail_unless_says(&d, "outputs: ");
  }
  uint8_t w[REQ_RAW_LEN];
  decode(REQ_RAW_HEX, w, sizeof w, REQ_RAW_LEN);
  for (size_t k = 0; k < REQ_RAW_LEN; k++)
    req_refused(w, k, PG_ERR_TRUNCATED, k < 8 ? "shorter than its 8-byte head" : "announced");
}

/* ---- the answer ---- */

/* The outputs of ANS_HEX's items 1 and 3. */
static void ans_outputs(pg_output_info *genesis, pg_output_info *spent) {
  memset(genesis, 0, sizeof *genesis);
  genesis->type = 0;
  memset(genesis->address, 0x44, 32);
  genesis->amount = 1;
  memset(spent, 0, sizeof *spent);
  memset(spent->message_id, 0x55, PG_ID_LEN);
  spent->type = 1;
  memset(spent->address, 0x66, 32);
  spent->amount = PG_TOKEN_SUPPLY;
  spent->booked_index = UINT32_MAX;
  spent->spent = true;
  spent->spent_index = UINT32_MAX;
}

/* ANS_RAW_HEX's item 1. */
static void raw_output(pg_output_info *o) {
  memset(o, 0, sizeof *o);
  memset(o->output_id, 0x99, PG_OUTPUT_ID_LEN); /* not sent */
  memset(o->message_id, 0x11, PG_ID_LEN);
  o->type = 1;
  memset(o->address, 0x22, 32);
  o->amount = 1000000;
  o->booked_index = 7;
  o->spent = true;
  o->spent_index = 9;
  memset(o->spent_tx_id, 0x33, 32);
}

static void write_ans(pg_buf *b, size_t start) {
  pg_output_info g, s;
  ans_outputs(&g, &s);
  pg_outputs_ans_begin(b, false);
  pg_outputs_ans_found(b, false, &g, (const uint8_t *)"ignored", 7); /* no raw: not sent */
  pg_outputs_ans_missing(b);
  pg_outputs_ans_found(b, false, &s, NULL, 0);
  assert_int_equal(pg_outputs_ans_end(b, start, 3), PG_OK);
}

static void write_raw_ans(pg_buf *b, size_t start) {
  pg_output_info o;
  raw_output(&o);
  pg_outputs_ans_begin(b, true);
  pg_outputs_ans_found(b, true, &o, (const uint8_t *)"abc", 3);
  pg_outputs_ans_missing(b);
  assert_int_equal(pg_outputs_ans_end(b, start, 2), PG_OK);
}

/* Three ids for the answers: 01.., 02.., 03.. (index i + 1). */
static void ans_ids(uint8_t ids[3][PG_OUTPUT_ID_LEN]) {
  for (int i = 0; i < 3; i++) {
    memset(ids[i], i + 1, 32);
    ids[i][32] = (uint8_t)(i + 1), ids[i][33] = 0;
  }
}

static void assert_same_output(const pg_output_info *got, const pg_output_info *want,
                               const uint8_t id[PG_OUTPUT_ID_LEN]) {
  assert_memory_equal(got->output_id, id, PG_OUTPUT_ID_LEN);
  assert_memory_equal(got->message_id, want->message_id, PG_ID_LEN);
  assert_int_equal(got->type, want->type);
  assert_memory_equal(got->address, want->address, 32);
  assert_int_equal(got->amount, want->amount);
  assert_int_equal(got->booked_index, want->booked_index);
  assert_int_equal(got->spent, want->spent);
  assert_int_equal(got->spent_index, want->spent_index);
  assert_memory_equal(got->spent_tx_id, want->spent_tx_id, 32);
}

static void assert_missing(const pg_outputs_item *it) {
  static const pg_output_info zero;
  assert_false(it->found);
  assert_memory_equal(&it->info, &zero, sizeof zero);
  assert_null(it->raw);
  assert_int_equal(it->raw_len, 0);
}

static void test_ans_vector_and_parse(void **state) {
  (void)state;
  assert_int_equal(ANS_LEN, PG_OUTPUTS_ANS_HEAD_LEN + 2 * pg_outputs_item_len(false, 0) + 1);
  assert_int_equal(pg_outputs_item_len(false, 0), PG_OUTPUTS_FOUND_LEN);
  assert_int_equal(pg_outputs_item_len(false, 1234), PG_OUTPUTS_FOUND_LEN); /* no raw: no bytes */
  pg_buf b;
  pg_buf_init(&b, 1024);
  write_ans(&b, 0);
  char hex[2 * ANS_LEN + 1];
  assert_int_equal(b.len, ANS_LEN);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, ANS_HEX);
  uint8_t ids[3][PG_OUTPUT_ID_LEN];
  ans_ids(ids);
  pg_outputs_item items[3];
  memset(items, 0xa5, sizeof items); /* the parser sets every field */
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 3,
                                        false, items, &n, &d),
                   PG_OK);
  assert_int_equal(n, 3);
  pg_output_info g, s;
  ans_outputs(&g, &s);
  assert_true(items[0].found);
  assert_same_output(&items[0].info, &g, ids[0]);
  assert_null(items[0].raw);
  assert_int_equal(items[0].raw_len, 0);
  assert_missing(&items[1]);
  assert_true(items[2].found);
  assert_same_output(&items[2].info, &s, ids[2]);
  assert_null(items[2].raw);
  assert_int_equal(items[2].raw_len, 0);
  /* to more ids than answered: the rest are for another request */
  uint8_t more[PG_OUTPUTS_MAX_IDS][PG_OUTPUT_ID_LEN];
  memset(more, 0x77, sizeof more);
  static pg_outputs_item many[PG_OUTPUTS_MAX_IDS];
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])more,
                                        PG_OUTPUTS_MAX_IDS, false, many, &n, &d),
                   PG_OK);
  assert_int_equal(n, 3);
  assert_memory_equal(many[2].info.output_id, more[2], PG_OUTPUT_ID_LEN);
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

static void test_ans_raw_vector_and_parse(void **state) {
  (void)state;
  assert_int_equal(pg_outputs_item_len(true, 3), PG_OUTPUTS_FOUND_LEN + 4 + 3);
  assert_int_equal(ANS_RAW_LEN, PG_OUTPUTS_ANS_HEAD_LEN + pg_outputs_item_len(true, 3) + 1);
  pg_buf b;
  pg_buf_init(&b, 1024);
  write_raw_ans(&b, 0);
  char hex[2 * ANS_RAW_LEN + 1];
  assert_int_equal(b.len, ANS_RAW_LEN);
  pg_hex_encode(b.data, b.len, hex);
  assert_string_equal(hex, ANS_RAW_HEX);
  uint8_t ids[3][PG_OUTPUT_ID_LEN];
  ans_ids(ids);
  pg_outputs_item items[2];
  memset(items, 0xa5, sizeof items);
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 2,
                                        true, items, &n, &d),
                   PG_OK);
  assert_int_equal(n, 2);
  pg_output_info o;
  raw_output(&o);
  assert_true(items[0].found);
  assert_same_output(&items[0].info, &o, ids[0]); /* the request's id, not o's */
  assert_int_equal(items[0].raw_len, 3);
  assert_ptr_equal(items[0].raw, b.data + 123); /* a view into the body */
  assert_memory_equal(items[0].raw, "abc", 3);
  assert_missing(&items[1]);
  /* the writer after bytes already there */
  pg_buf_reset(&b);
  pg_buf_put(&b, "keep", 4);
  write_raw_ans(&b, 4);
  assert_int_equal(b.len, 4 + ANS_RAW_LEN);
  assert_memory_equal(b.data, "keep", 4);
  pg_hex_encode(b.data + 4, ANS_RAW_LEN, hex);
  assert_string_equal(hex, ANS_RAW_HEX);
  pg_buf_free(&b);
}

/* With raw: a genesis output (zero message id, booked 0) comes with
 * rawLength 0, unspent and spent; a found output whose message the node has
 * not comes with rawLength 0 too. */
static void test_ans_genesis_with_raw(void **state) {
  (void)state;
  pg_output_info g, s, o;
  ans_outputs(&g, &s);
  raw_output(&o);
  pg_output_info gs = g; /* a genesis output spent at milestone 1 */
  gs.spent = true;
  gs.spent_index = 1;
  memset(gs.spent_tx_id, 0xee, 32);
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_outputs_ans_begin(&b, true);
  pg_outputs_ans_found(&b, true, &g, NULL, 0);
  pg_outputs_ans_found(&b, true, &gs, NULL, 0);
  pg_outputs_ans_found(&b, true, &o, NULL, 0);
  assert_int_equal(pg_outputs_ans_end(&b, 0, 3), PG_OK);
  assert_int_equal(b.len, PG_OUTPUTS_ANS_HEAD_LEN + 3 * pg_outputs_item_len(true, 0));
  /* item 1's rawLength is 0, right after its spentTxId */
  static const uint8_t zero4[4];
  assert_memory_equal(b.data + 4 + PG_OUTPUTS_FOUND_LEN, zero4, 4);
  uint8_t ids[3][PG_OUTPUT_ID_LEN];
  ans_ids(ids);
  pg_outputs_item items[3];
  memset(items, 0xa5, sizeof items);
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 3,
                                        true, items, &n, &d),
                   PG_OK);
  assert_int_equal(n, 3);
  const pg_output_info *want[3] = {&g, &gs, &o};
  for (int i = 0; i < 3; i++) {
    assert_true(items[i].found);
    assert_same_output(&items[i].info, want[i], ids[i]);
    assert_null(items[i].raw);
    assert_int_equal(items[i].raw_len, 0);
  }
  static const uint8_t zero32[32];
  assert_memory_equal(items[0].info.message_id, zero32, 32);
  assert_int_equal(items[0].info.booked_index, 0);
  pg_buf_free(&b);
}

/* The largest item (PG_OUTPUTS_ITEM_MAX) after the head fits the least
 * budget, and parses. */
static void test_ans_item_max_fits_budget(void **state) {
  (void)state;
  static uint8_t big[PG_MSG_MAX_LEN];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(i * 31);
  assert_int_equal(pg_outputs_item_len(true, PG_MSG_MAX_LEN), PG_OUTPUTS_ITEM_MAX);
  assert_true(PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_ITEM_MAX <= PG_OUTPUTS_BUDGET_MIN);
  pg_output_info o;
  raw_output(&o);
  pg_buf b;
  pg_buf_init(&b, PG_OUTPUTS_BUDGET_MIN); /* the least budget as a hard limit */
  pg_outputs_ans_begin(&b, true);
  pg_outputs_ans_found(&b, true, &o, big, sizeof big);
  assert_int_equal(pg_outputs_ans_end(&b, 0, 1), PG_OK);
  assert_int_equal(b.len, PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_ITEM_MAX);
  uint8_t ids[3][PG_OUTPUT_ID_LEN];
  ans_ids(ids);
  pg_outputs_item it;
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 1,
                                        true, &it, &n, &d),
                   PG_OK);
  assert_int_equal(n, 1);
  assert_int_equal(it.raw_len, PG_MSG_MAX_LEN);
  assert_ptr_equal(it.raw, b.data + PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_FOUND_LEN + 4);
  assert_memory_equal(it.raw, big, sizeof big);
  /* one byte more is too large, whatever follows */
  b.data[PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_FOUND_LEN] = 0x01;
  b.data[PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_FOUND_LEN + 1] = 0x80;
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 1,
                                        true, &it, &n, &d),
                   PG_ERR_TOO_LARGE);
  assert_int_equal(n, 0);
  fail_unless_says(&d, "outputs item 1: a message of 32769 bytes (at most 32768)");
  pg_buf_free(&b);
}

/* 1,000 items: found ones (item k's amount k + 1, raw k % 5 bytes with raw)
 * and every seventh missing. */
static void ans_limits(bool raw) {
  static uint8_t ids[PG_OUTPUTS_MAX_IDS][PG_OUTPUT_ID_LEN];
  static pg_outputs_item items[PG_OUTPUTS_MAX_IDS];
  for (size_t k = 0; k < PG_OUTPUTS_MAX_IDS; k++) {
    memset(ids[k], 0, sizeof ids[k]);
    ids[k][0] = (uint8_t)k, ids[k][1] = (uint8_t)(k >> 8);
  }
  pg_output_info o;
  raw_output(&o);
  pg_buf b;
  pg_buf_init(&b, 1 << 20);
  pg_outputs_ans_begin(&b, raw);
  size_t want = PG_OUTPUTS_ANS_HEAD_LEN;
  for (size_t k = 0; k < PG_OUTPUTS_MAX_IDS; k++) {
    if (k % 7 == 3) {
      pg_outputs_ans_missing(&b);
      want += 1;
      continue;
    }
    o.amount = k + 1;
    pg_outputs_ans_found(&b, raw, &o, (const uint8_t *)"vwxyz", k % 5);
    want += pg_outputs_item_len(raw, k % 5);
  }
  assert_int_equal(pg_outputs_ans_end(&b, 0, PG_OUTPUTS_MAX_IDS), PG_OK);
  assert_int_equal(b.len, want);
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids,
                                        PG_OUTPUTS_MAX_IDS, raw, items, &n, &d),
                   PG_OK);
  assert_int_equal(n, PG_OUTPUTS_MAX_IDS);
  for (size_t k = 0; k < PG_OUTPUTS_MAX_IDS; k++) {
    if (k % 7 == 3) {
      assert_missing(&items[k]);
      continue;
    }
    assert_true(items[k].found);
    assert_memory_equal(items[k].info.output_id, ids[k], PG_OUTPUT_ID_LEN);
    assert_int_equal(items[k].info.amount, k + 1);
    size_t rl = raw ? k % 5 : 0;
    assert_int_equal(items[k].raw_len, rl);
    if (rl) {
      assert_true(items[k].raw > b.data && items[k].raw + rl <= b.data + b.len);
      assert_memory_equal(items[k].raw, "vwxyz", rl);
    } else {
      assert_null(items[k].raw);
    }
  }
  /* to 999 ids it is one item too many */
  assert_int_equal(pg_outputs_ans_parse(b.data, b.len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids,
                                        PG_OUTPUTS_MAX_IDS - 1, raw, items, &n, &d),
                   PG_ERR_INVALID);
  assert_int_equal(n, 0);
  fail_unless_says(&d, "outputs answer: 1000 items to 999 ids asked");
  pg_buf_free(&b);
}

static void test_ans_limits(void **state) {
  (void)state;
  ans_limits(false);
  ans_limits(true);
}

static void test_ans_writer_refuses(void **state) {
  (void)state;
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_outputs_ans_begin(&b, false);
  pg_outputs_ans_missing(&b);
  assert_int_equal(pg_outputs_ans_end(&b, 0, PG_OUTPUTS_MAX_IDS + 1), PG_ERR_INVALID);
  assert_int_equal(pg_outputs_ans_end(&b, b.len - 3, 1), PG_ERR_INVALID); /* no head there */
  assert_int_equal(pg_outputs_ans_end(&b, b.len + 10, 1), PG_ERR_INVALID);
  assert_int_equal(pg_outputs_ans_end(&b, SIZE_MAX - 1, 1), PG_ERR_INVALID); /* no wrap */
  /* refused: the head's count left as it was */
  assert_int_equal(b.len, 5);
  assert_int_equal(b.data[2] | b.data[3] << 8, 0);
  assert_int_equal(pg_outputs_ans_end(&b, 0, PG_OUTPUTS_MAX_IDS), PG_OK);
  assert_int_equal(b.data[2] | b.data[3] << 8, PG_OUTPUTS_MAX_IDS);
  pg_buf_free(&b);
  /* past the buffer's limit: its sticky error */
  pg_output_info o;
  raw_output(&o);
  pg_buf_init(&b, PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_FOUND_LEN + 4 + 2);
  pg_outputs_ans_begin(&b, true);
  pg_outputs_ans_found(&b, true, &o, (const uint8_t *)"abc", 3); /* 1 byte too many */
  assert_int_equal(pg_outputs_ans_end(&b, 0, 1), PG_ERR_TOO_LARGE);
  pg_buf_free(&b);
  pg_buf_init(&b, PG_OUTPUTS_ANS_HEAD_LEN + PG_OUTPUTS_FOUND_LEN + 4 + 3);
  pg_outputs_ans_begin(&b, true);
  pg_outputs_ans_found(&b, true, &o, (const uint8_t *)"abc", 3); /* just fits */
  assert_int_equal(pg_outputs_ans_end(&b, 0, 1), PG_OK);
  pg_buf_free(&b);
}

static void ans_refused(const uint8_t *body, size_t len, size_t asked, bool raw, int rc,
                        const char *says) {
  static uint8_t ids[PG_OUTPUTS_MAX_IDS + 1][PG_OUTPUT_ID_LEN];
  static pg_outputs_item items[PG_OUTPUTS_MAX_IDS + 1];
  uint8_t *copy = malloc(len ? len : 1); /* exact: ASan sees any overread */
  assert_non_null(copy);
  if (len) memcpy(copy, body, len);
  size_t n = 99;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(copy, len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, asked,
                                        raw, items, &n, &d),
                   rc);
  assert_int_equal(n, 0);
  fail_unless_says(&d, says);
  free(copy);
}

static void set_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void set_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The head and the fields, on the vector without raw. */
static void test_ans_parser_refuses(void **state) {
  (void)state;
  uint8_t v[ANS_LEN + 1], q[ANS_LEN + 1];
  decode(ANS_HEX, v, sizeof v, ANS_LEN);
  const size_t len = ANS_LEN;
  ans_refused(v, 0, 3, false, PG_ERR_TRUNCATED,
              "outputs answer: 0 bytes, shorter than its 4-byte head");
  ans_refused(v, 3, 3, false, PG_ERR_TRUNCATED,
              "outputs answer: 3 bytes, shorter than its 4-byte head");
  /* version */
  memcpy(q, v, len);
  q[0] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs answer: version 2 (this client reads version 1)");
  q[0] = 0;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs answer: version 0");
  /* flags: not the request's */
  ans_refused(v, len, 3, true, PG_ERR_INVALID,
              "outputs answer: flags 0x00 to a request of flags 0x01");
  memcpy(q, v, len);
  q[1] = 0x02;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs answer: flags 0x02 to a request of flags 0x00");
  q[1] = 0x80;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs answer: flags 0x80 to a request of flags 0x00");
  /* count: 0, over the ids asked, and the ids asked over 1,000 */
  memcpy(q, v, len);
  q[2] = 0;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs answer: 0 items to 3 ids asked");
  ans_refused(q, PG_OUTPUTS_ANS_HEAD_LEN, 3, false, PG_ERR_INVALID,
              "outputs answer: 0 items to 3 ids asked");
  q[2] = 4;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs answer: 4 items to 3 ids asked");
  q[2] = 0xff, q[3] = 0xff;
  ans_refused(q, len, PG_OUTPUTS_MAX_IDS, false, PG_ERR_INVALID,
              "outputs answer: 65535 items to 1000 ids asked");
  ans_refused(v, len, 2, false, PG_ERR_INVALID, "outputs answer: 3 items to 2 ids asked");
  ans_refused(v, len, 0, false, PG_ERR_INVALID, "outputs answer: 3 items to 0 ids asked");
  ans_refused(v, len, PG_OUTPUTS_MAX_IDS + 1, false, PG_ERR_INVALID,
              "outputs answer: 3 items to 1001 ids asked");
  /* found flag 2, in item 1 and in item 2 */
  memcpy(q, v, len);
  q[4] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 1: found flag 2 (0 or 1)");
  memcpy(q, v, len);
  q[119] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 2: found flag 2 (0 or 1)");
  q[119] = 0xff;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 2: found flag 255 (0 or 1)");
  /* type 2 */
  memcpy(q, v, len);
  q[153] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 3: output type 2 (0 or 1)");
  q[153] = 0xff;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 3: output type 255 (0 or 1)");
  memcpy(q, v, len);
  q[37] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 1: output type 2 (0 or 1)");
  /* amount 0, the supply + 1, the largest u64 */
  memcpy(q, v, len);
  set_u64(q + 70, 0);
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 1: amount 0 (1..2779530283277761)");
  memcpy(q, v, len);
  set_u64(q + 186, PG_TOKEN_SUPPLY + 1);
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 3: amount 2779530283277762 (1..2779530283277761)");
  set_u64(q + 186, UINT64_MAX);
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 3: amount 18446744073709551615 (1..");
  set_u64(q + 186, (uint64_t)1 << 63); /* a sign bit, were it read signed */
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 3: amount 9223372036854775808");
  /* spent flag 2: with a spent output's fields and with an unspent one's */
  memcpy(q, v, len);
  q[198] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 3: spent flag 2 (0 or 1)");
  memcpy(q, v, len);
  q[82] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 1: spent flag 2 (0 or 1)");
  /* spent at milestone 0 (item 1 marked spent; item 3's index zeroed) */
  memcpy(q, v, len);
  q[82] = 1;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 1: spent at milestone 0");
  memcpy(q, v, len);
  set_u32(q + 199, 0);
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 3: spent at milestone 0");
  memset(q + 203, 0x12, 32); /* a known spender does not make it right */
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs item 3: spent at milestone 0");
  /* unspent with a spent index, or a spending transaction (any byte) */
  memcpy(q, v, len);
  q[83] = 1;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 1: unspent, with a spent index or spending transaction");
  memcpy(q, v, len);
  q[86] = 0x80;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 1: unspent, with a spent index or spending transaction");
  memcpy(q, v, len);
  q[87] = 1;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 1: unspent, with a spent index or spending transaction");
  memcpy(q, v, len);
  q[118] = 1;
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 1: unspent, with a spent index or spending transaction");
  memcpy(q, v, len);
  q[198] = 0; /* item 3 unspent, its spent index left */
  ans_refused(q, len, 3, false, PG_ERR_INVALID,
              "outputs item 3: unspent, with a spent index or spending transaction");
  /* truncated: in item 1's head and fields, in item 2, in item 3's last byte */
  ans_refused(v, 4, 3, false, PG_ERR_TRUNCATED, "outputs item 1: truncated before its head");
  ans_refused(v, 5, 3, false, PG_ERR_TRUNCATED, "outputs item 1: truncated in its fields");
  ans_refused(v, 118, 3, false, PG_ERR_TRUNCATED, "outputs item 1: truncated in its fields");
  ans_refused(v, 119, 3, false, PG_ERR_TRUNCATED, "outputs item 2: truncated before its head");
  ans_refused(v, 120, 3, false, PG_ERR_TRUNCATED, "outputs item 3: truncated before its head");
  ans_refused(v, len - 1, 3, false, PG_ERR_TRUNCATED, "outputs item 3: truncated in its fields");
  /* one item fewer announced than sent, and a trailing byte */
  memcpy(q, v, len);
  q[2] = 2;
  ans_refused(q, len, 3, false, PG_ERR_INVALID, "outputs answer: 115 bytes after its last item");
  memcpy(q, v, len);
  q[len] = 0;
  ans_refused(q, len + 1, 3, false, PG_ERR_INVALID,
              "outputs answer: 1 bytes after its last item");
  /* and the supply itself (item 3) is an amount: the vector parses */
  uint8_t ids[3][PG_OUTPUT_ID_LEN] = {{0}};
  pg_outputs_item items[3];
  size_t n = 0;
  pg_diag d = {{0}};
  assert_int_equal(pg_outputs_ans_parse(v, len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 3, false,
                                        items, &n, &d),
                   PG_OK);
  assert_int_equal(items[2].info.amount, PG_TOKEN_SUPPLY);
  /* the pg_diag is optional */
  memcpy(q, v, len);
  q[153] = 2;
  n = 99;
  assert_int_equal(pg_outputs_ans_parse(q, len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 3, false,
                                        items, &n, NULL),
                   PG_ERR_INVALID);
  assert_int_equal(n, 0);
}

/* The same rules with raw, and its rawLength. */
static void test_ans_parser_refuses_raw(void **state) {
  (void)state;
  uint8_t v[ANS_RAW_LEN + 1], q[ANS_RAW_LEN + 1];
  decode(ANS_RAW_HEX, v, sizeof v, ANS_RAW_LEN);
  const size_t len = ANS_RAW_LEN;
  /* flags: with raw to a request without it; an unknown bit */
  ans_refused(v, len, 2, false, PG_ERR_INVALID,
              "outputs answer: flags 0x01 to a request of flags 0x00");
  memcpy(q, v, len);
  q[1] = 0x03;
  ans_refused(q, len, 2, true, PG_ERR_INVALID,
              "outputs answer: flags 0x03 to a request of flags 0x01");
  q[1] = 0x00;
  ans_refused(q, len, 2, true, PG_ERR_INVALID,
              "outputs answer: flags 0x00 to a request of flags 0x01");
  /* rawLength over PG_MSG_MAX_LEN: too large before it is truncated */
  memcpy(q, v, len);
  set_u32(q + 119, PG_MSG_MAX_LEN + 1);
  ans_refused(q, len, 2, true, PG_ERR_TOO_LARGE,
              "outputs item 1: a message of 32769 bytes (at most 32768)");
  set_u32(q + 119, UINT32_MAX);
  ans_refused(q, len, 2, true, PG_ERR_TOO_LARGE,
              "outputs item 1: a message of 4294967295 bytes (at most 32768)");
  set_u32(q + 119, PG_MSG_MAX_LEN); /* allowed, but not there */
  ans_refused(q, len, 2, true, PG_ERR_TRUNCATED,
              "outputs item 1: 32768 message bytes announced, 4 left");
  set_u32(q + 119, 5); /* more than the rest of the body */
  ans_refused(q, len, 2, true, PG_ERR_TRUNCATED,
              "outputs item 1: 5 message bytes announced, 4 left");
  set_u32(q + 119, 4); /* swallows item 2's byte */
  ans_refused(q, len, 2, true, PG_ERR_TRUNCATED, "outputs item 2: truncated before its head");
  set_u32(q + 119, 2); /* leaves 'c' as item 2's found flag */
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs item 2: found flag 99 (0 or 1)");
  /* message bytes for a zero messageId */
  memcpy(q, v, len);
  memset(q + 5, 0, PG_ID_LEN);
  ans_refused(q, len, 2, true, PG_ERR_INVALID,
              "outputs item 1: message bytes for a genesis output");
  q[5 + PG_ID_LEN - 1] = 1; /* any nonzero byte makes it a message */
  {
    uint8_t ids[2][PG_OUTPUT_ID_LEN] = {{0}};
    pg_outputs_item items[2];
    size_t n = 0;
    pg_diag d = {{0}};
    assert_int_equal(pg_outputs_ans_parse(q, len, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, 2, true,
                                          items, &n, &d),
                     PG_OK);
    assert_int_equal(n, 2);
  }
  /* the fields' rules hold with raw too */
  memcpy(q, v, len);
  q[37] = 2;
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs item 1: output type 2");
  memcpy(q, v, len);
  set_u64(q + 70, 0);
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs item 1: amount 0");
  memcpy(q, v, len);
  set_u32(q + 83, 0);
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs item 1: spent at milestone 0");
  memcpy(q, v, len);
  q[82] = 0;
  ans_refused(q, len, 2, true, PG_ERR_INVALID,
              "outputs item 1: unspent, with a spent index or spending transaction");
  set_u32(q + 83, 0); /* and with only the spending transaction left */
  ans_refused(q, len, 2, true, PG_ERR_INVALID,
              "outputs item 1: unspent, with a spent index or spending transaction");
  memcpy(q, v, len);
  q[82] = 2;
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs item 1: spent flag 2");
  memcpy(q, v, len);
  q[126] = 2;
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs item 2: found flag 2");
  memcpy(q, v, len);
  q[2] = 3;
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs answer: 3 items to 2 ids asked");
  /* truncated: before and in rawLength, in raw */
  for (size_t k = 119; k < 123; k++)
    ans_refused(v, k, 2, true, PG_ERR_TRUNCATED,
                "outputs item 1: truncated before its rawLength");
  ans_refused(v, 123, 2, true, PG_ERR_TRUNCATED,
              "outputs item 1: 3 message bytes announced, 0 left");
  ans_refused(v, 125, 2, true, PG_ERR_TRUNCATED,
              "outputs item 1: 3 message bytes announced, 2 left");
  ans_refused(v, 126, 2, true, PG_ERR_TRUNCATED, "outputs item 2: truncated before its head");
  /* a trailing byte, and one item fewer announced than sent */
  memcpy(q, v, len);
  q[len] = 0;
  ans_refused(q, len + 1, 2, true, PG_ERR_INVALID,
              "outputs answer: 1 bytes after its last item");
  memcpy(q, v, len);
  q[2] = 1;
  ans_refused(q, len, 2, true, PG_ERR_INVALID, "outputs answer: 1 bytes after its last item");
}

/* Every prefix of each valid answer is refused as truncated, naming the
 * head or the item it was cut in (exact copies: ASan sees any overread). */
static void prefixes_refused(const uint8_t *v, size_t len, size_t asked, bool raw) {
  for (size_t k = 0; k < len; k++)
    ans_refused(v, k, asked, raw, PG_ERR_TRUNCATED,
                k < PG_OUTPUTS_ANS_HEAD_LEN ? "outputs answer: " : "outputs item ");
}

static void test_ans_every_prefix_refused(void **state) {
  (void)state;
  uint8_t v[ANS_LEN];
  decode(ANS_HEX, v, sizeof v, ANS_LEN);
  prefixes_refused(v, ANS_LEN, 3, false);
  uint8_t w[ANS_RAW_LEN];
  decode(ANS_RAW_HEX, w, sizeof w, ANS_RAW_LEN);
  prefixes_refused(w, ANS_RAW_LEN, 2, true);
  /* a genesis output with raw (rawLength 0) */
  pg_output_info g, s;
  ans_outputs(&g, &s);
  pg_buf b;
  pg_buf_init(&b, 1024);
  pg_outputs_ans_begin(&b, true);
  pg_outputs_ans_found(&b, true, &g, NULL, 0);
  assert_int_equal(pg_outputs_ans_end(&b, 0, 1), PG_OK);
  prefixes_refused(b.data, b.len, 1, true);
  pg_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_req_vector_and_round_trip),
      cmocka_unit_test(test_req_raw_vector_and_round_trip),
      cmocka_unit_test(test_req_limits),
      cmocka_unit_test(test_encoder_refuses),
      cmocka_unit_test(test_req_parser_refuses),
      cmocka_unit_test(test_ans_vector_and_parse),
      cmocka_unit_test(test_ans_raw_vector_and_parse),
      cmocka_unit_test(test_ans_genesis_with_raw),
      cmocka_unit_test(test_ans_item_max_fits_budget),
      cmocka_unit_test(test_ans_limits),
      cmocka_unit_test(test_ans_writer_refuses),
      cmocka_unit_test(test_ans_parser_refuses),
      cmocka_unit_test(test_ans_parser_refuses_raw),
      cmocka_unit_test(test_ans_every_prefix_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
