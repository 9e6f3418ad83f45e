/* Unit tests for src/grid/record.c and the settlement codec: key vectors
 * (independently recomputed with libsodium), a sealed line opens with its
 * member's side key and with no other, a flipped byte anywhere fails, tags
 * are stable and differ per slot, the canonical plaintext, the split into
 * parts (sizes against a real MAM message in a real Tangle message), and the
 * settlement message round trip and rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "p2pgrid/grid/record.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/mam/mam.h"
#include "p2pgrid/tangle/message.h"

#define SK_A "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
/* recomputed outside C: python3 hashlib.blake2b with the same steps */
#define TAG_A_42 "a9e1a42a0858c2b15e71023108ffb838" /* member id "c1" */
#define SK_B "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

static void member_key(const char *sk, uint8_t m[32]) {
  assert_int_equal(pg_record_member_key("c1", sk, strlen(sk), m), PG_OK);
}

static pg_record_plain consumer_line(void) {
  pg_record_plain p;
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "c1");
  p.role = PG_GRID_ENTITY_CONSUMER;
  p.n_readings = 2;
  memset(p.readings[0], 0xbb, 32);
  memset(p.readings[1], 0xaa, 32);
  pg_record_plain_sort(&p);
  p.wh = 1500;
  p.has_price = true;
  p.price = 250;
  p.community_wh = 1000;
  p.amount = 300;
  p.fee = 6;
  p.total = 306;
  p.baseline = 450;
  snprintf(p.request_id, sizeof p.request_id, "7-1-00112233aabbccdd");
  return p;
}

/* The key derivation as the contract states it, recomputed here. */
static void test_key_vectors(void **state) {
  (void)state;
  uint8_t m[32], want[32];
  member_key(SK_A, m);
  uint8_t in[18 + 81 + 2];
  memcpy(in, "p2pgrid-member-key", 18);
  memcpy(in + 18, SK_A, 81);
  memcpy(in + 18 + 81, "c1", 2);
  crypto_generichash(want, 32, in, sizeof in, NULL, 0);
  assert_memory_equal(m, want, 32);
  /* a short side key is '9'-padded to 81, as MAM pads it */
  uint8_t m_short[32], m_pad[32];
  member_key("ABC", m_short);
  char padded[82];
  memset(padded, '9', 81);
  memcpy(padded, "ABC", 3);
  padded[81] = '\0';
  member_key(padded, m_pad);
  assert_memory_equal(m_short, m_pad, 32);
  /* the same side key, another member: another key */
  uint8_t m_other[32];
  assert_int_equal(pg_record_member_key("c2", SK_A, 81, m_other), PG_OK);
  member_key(SK_A, m);
  assert_memory_not_equal(m, m_other, 32);
  assert_int_equal(pg_record_member_key("", SK_A, 81, m), PG_ERR_INVALID);
  assert_int_equal(pg_record_member_key(NULL, SK_A, 81, m), PG_ERR_INVALID);
  assert_int_equal(pg_record_member_key("c1", "abc", 3, m), PG_ERR_INVALID);
  assert_int_equal(pg_record_member_key("c1", SK_A "A", 82, m), PG_ERR_INVALID);

  member_key(SK_A, m);
  pg_record_keys k;
  pg_record_slot_keys(m, 0x0102030405060708ULL, &k);
  uint8_t msg[18] = "settlement";
  const uint8_t le[8] = {8, 7, 6, 5, 4, 3, 2, 1};
  memcpy(msg + 10, le, 8);
  uint8_t ks[32], tag[16], nonce[24];
  crypto_generichash(ks, 32, msg, 18, m, 32);
  crypto_generichash(tag, 16, (const uint8_t *)"tag", 3, ks, 32);
  crypto_generichash(nonce, 24, (const uint8_t *)"nonce", 5, ks, 32);
  assert_memory_equal(k.key, ks, 32);
  assert_memory_equal(k.tag, tag, 16);
  assert_memory_equal(k.nonce, nonce, 24);
  /* a fixed vector, so a change of the derivation cannot pass unnoticed */
  char hex[33];
  pg_hex_encode(k.tag, 16, hex);
  uint8_t m0[32];
  member_key(SK_A, m0);
  pg_record_keys k0;
  pg_record_slot_keys(m0, 42, &k0);
  pg_hex_encode(k0.tag, 16, hex);
  print_message("tag(SK_A, 42) = %s\n", hex);
  assert_string_equal(hex, TAG_A_42);
}

static void test_tag_stability(void **state) {
  (void)state;
  uint8_t ma[32], mb[32];
  member_key(SK_A, ma);
  member_key(SK_B, mb);
  pg_record_keys a1, a1b, a2, b1;
  pg_record_slot_keys(ma, 1, &a1);
  pg_record_slot_keys(ma, 1, &a1b);
  pg_record_slot_keys(ma, 2, &a2);
  pg_record_slot_keys(mb, 1, &b1);
  assert_memory_equal(a1.tag, a1b.tag, 16); /* same member, same slot: same tag */
  assert_memory_not_equal(a1.tag, a2.tag, 16); /* not linkable across slots */
  assert_memory_not_equal(a1.tag, b1.tag, 16);
  assert_memory_not_equal(a1.nonce, a2.nonce, 24);
  /* sealing twice gives the same bytes (deterministic nonce) */
  pg_record_plain p = consumer_line();
  pg_grid_record_line l1, l2;
  assert_int_equal(pg_record_seal(ma, 9, &p, &l1, NULL), PG_OK);
  assert_int_equal(pg_record_seal(ma, 9, &p, &l2, NULL), PG_OK);
  assert_int_equal(l1.box_len, l2.box_len);
  assert_memory_equal(l1.box, l2.box, l1.box_len);
  free(l1.box);
  free(l2.box);
}

static void test_seal_open(void **state) {
  (void)state;
  uint8_t ma[32], mb[32];
  member_key(SK_A, ma);
  member_key(SK_B, mb);
  pg_record_plain p = consumer_line(), back;
  pg_grid_record_line l;
  pg_diag d = {{0}};
  assert_int_equal(pg_record_seal(ma, 77, &p, &l, &d), PG_OK);
  assert_int_equal(pg_record_open(ma, 77, &l, &back, &d), PG_OK);
  assert_string_equal(back.id, "c1");
  assert_int_equal(back.role, PG_GRID_ENTITY_CONSUMER);
  assert_int_equal(back.n_readings, 2);
  assert_memory_equal(back.readings, p.readings, 64);
  assert_int_equal(back.total, 306);
  assert_string_equal(back.request_id, p.request_id);
  /* another member's key: not its tag */
  assert_int_equal(pg_record_open(mb, 77, &l, &back, &d), PG_ERR_NOT_FOUND);
  /* another member's key with the tag copied in: the box does not open */
  pg_record_keys kb;
  pg_record_slot_keys(mb, 77, &kb);
  pg_grid_record_line forged = l;
  memcpy(forged.tag, kb.tag, 16);
  assert_int_equal(pg_record_open(mb, 77, &forged, &back, &d), PG_ERR_CRYPTO);
  /* the right key, another slot */
  assert_int_equal(pg_record_open(ma, 78, &l, &back, &d), PG_ERR_NOT_FOUND);
  /* every flipped byte of the box, and a flipped tag bit, fail */
  for (size_t i = 0; i < l.box_len; i++) {
    l.box[i] ^= 0x01;
    assert_int_equal(pg_record_open(ma, 77, &l, &back, NULL), PG_ERR_CRYPTO);
    l.box[i] ^= 0x01;
  }
  l.tag[5] ^= 0x80;
  assert_int_equal(pg_record_open(ma, 77, &l, &back, NULL), PG_ERR_NOT_FOUND);
  l.tag[5] ^= 0x80;
  assert_int_equal(pg_record_open(ma, 77, &l, &back, NULL), PG_OK);
  free(l.box);
}

static void test_plain_canonical(void **state) {
  (void)state;
  pg_record_plain p = consumer_line(), back;
  pg_buf b;
  pg_buf_init(&b, PG_RECORD_MAX_PLAIN);
  assert_int_equal(pg_record_plain_serialize(&p, &b, NULL), PG_OK);
  char want[600];
  snprintf(want, sizeof want,
           "{\"id\":\"c1\",\"role\":\"consumer\",\"readings\":[\"%s\",\"%s\"],\"wh\":1500,"
           "\"price\":250,\"communityWh\":1000,\"amount\":300,\"fee\":6,\"total\":306,"
           "\"baseline\":450,\"requestId\":\"7-1-00112233aabbccdd\"}",
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
           "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  assert_int_equal(pg_record_plain_parse(b.data, b.len, &back, NULL), PG_OK);
  /* a producer without a price and without a bill */
  pg_record_plain q;
  memset(&q, 0, sizeof q);
  snprintf(q.id, sizeof q.id, "p.1");
  q.role = PG_GRID_ENTITY_PRODUCER;
  pg_buf_reset(&b);
  assert_int_equal(pg_record_plain_serialize(&q, &b, NULL), PG_OK);
  const char *wq = "{\"id\":\"p.1\",\"role\":\"producer\",\"readings\":[],\"wh\":0,\"price\":null,"
                   "\"communityWh\":0,\"amount\":0,\"fee\":0,\"total\":0,\"baseline\":0,"
                   "\"requestId\":null}";
  assert_int_equal(b.len, strlen(wq));
  assert_memory_equal(b.data, wq, b.len);
  /* other spellings of the same content are refused */
  const char *spaced = "{\"id\": \"p.1\",\"role\":\"producer\",\"readings\":[],\"wh\":0,"
                       "\"price\":null,\"communityWh\":0,\"amount\":0,\"fee\":0,\"total\":0,"
                       "\"baseline\":0,\"requestId\":null}";
  pg_diag d = {{0}};
  assert_int_equal(pg_record_plain_parse(spaced, strlen(spaced), &back, &d), PG_ERR_INVALID);
  assert_non_null(strstr(d.msg, "canonical"));
  /* unsorted readings, a negative amount, a bad role are refused */
  p.readings[0][0] = 0xcc;
  pg_buf_reset(&b);
  assert_int_equal(pg_record_plain_serialize(&p, &b, NULL), PG_ERR_INVALID);
  p = consumer_line();
  p.amount = -1;
  assert_int_equal(pg_record_plain_serialize(&p, &b, NULL), PG_ERR_INVALID);
  p = consumer_line();
  p.role = PG_GRID_ENTITY_SOURCE;
  assert_int_equal(pg_record_plain_serialize(&p, &b, NULL), PG_ERR_INVALID);
  /* the longest plaintext fits PG_RECORD_MAX_PLAIN */
  pg_record_plain big;
  memset(&big, 0, sizeof big);
  memset(big.id, 'x', PG_GRID_MAX_ID);
  memset(big.request_id, 'r', PG_GRID_MAX_ID);
  big.role = PG_GRID_ENTITY_CONSUMER;
  big.n_readings = PG_RECORD_MAX_READINGS;
  for (size_t i = 0; i < big.n_readings; i++) big.readings[i][0] = (uint8_t)i;
  big.wh = big.community_wh = big.amount = big.fee = big.total = big.baseline =
      (int64_t)PG_GRID_MAX_SAFE_INT;
  big.has_price = true;
  big.price = PG_GRID_MAX_SAFE_INT;
  pg_buf_reset(&b);
  assert_int_equal(pg_record_plain_serialize(&big, &b, NULL), PG_OK);
  print_message("longest plaintext: %zu bytes\n", b.len);
  assert_true(b.len <= PG_RECORD_MAX_PLAIN);
  assert_true(PG_RECORD_MAX_PLAIN + PG_RECORD_MAC <= PG_GRID_RECORD_MAX_BOX);
  pg_buf_free(&b);
}

/* The computed bound is exact: a part of max bytes makes a Tangle message
 * of at most PG_MSG_MAX_LEN bytes (a real MAM message, real attach data and
 * indexation payload), and max + 1 bytes would not. */
static size_t real_message_bytes(size_t json_len) {
  char *json = malloc(json_len);
  assert_non_null(json);
  memset(json, 'a', json_len);
  char *trytes = NULL;
  size_t tl = 0;
  assert_int_equal(pg_mam_text_to_trytes(json, json_len, &trytes, &tl), PG_OK);
  char seed[82];
  assert_int_equal(pg_mam_random_trytes(seed, 81), PG_OK);
  pg_mam_channel ch;
  assert_int_equal(pg_mam_channel_create(&ch, seed, PG_MAM_PUBLIC, NULL, 0, PG_RECORD_SECURITY,
                                         NULL),
                   PG_OK);
  pg_mam_message m = {0};
  assert_int_equal(pg_mam_create_message(&ch, trytes, tl, &m, NULL), PG_OK);
  pg_buf data, payload;
  pg_buf_init(&data, 1 << 20);
  pg_buf_init(&payload, 1 << 20);
  assert_int_equal(pg_mam_attach_data(m.payload, m.payload_len, NULL, 0, &data), PG_OK);
  uint8_t index[32];
  pg_mam_attach_index(m.address, index);
  assert_int_equal(pg_indexation_build(&payload, index, 32, data.data, data.len, NULL), PG_OK);
  size_t total = 8 + 1 + PG_MSG_MAX_PARENTS * PG_ID_LEN + 4 + payload.len + 8;
  pg_buf_free(&data);
  pg_buf_free(&payload);
  pg_mam_message_free(&m);
  free(trytes);
  free(json);
  return total;
}

static void test_part_bound(void **state) {
  (void)state;
  size_t max = pg_record_part_max_json(PG_RECORD_SECURITY);
  print_message("part max: %zu bytes of JSON\n", max);
  assert_true(max > 20000 && max < PG_GRID_MAX_SETTLEMENT_JSON);
  assert_true(real_message_bytes(max) <= PG_MSG_MAX_LEN);
  /* the bound is tight within the few bytes one tryte group may add */
  assert_true(real_message_bytes(max + 2) > PG_MSG_MAX_LEN);
  assert_int_equal(pg_record_part_max_json(0), 0);
  /* the largest line fits a part after the longest header */
  assert_true(51 + 2 * (PG_RECORD_MAX_PLAIN + PG_RECORD_MAC) + 1200 < max);
}

static pg_grid_settlement head_for(uint64_t slot) {
  pg_grid_settlement h;
  memset(&h, 0, sizeof h);
  h.slot = slot;
  h.part = h.parts = 1;
  h.settled_at = 1700000000000ULL;
  h.mechanism = 1; /* pay-as-clear */
  h.config = (pg_grid_settle_config){300, 80, 5, 200, 300, 80};
  h.has_price = true;
  h.buy_price = 165.5;
  h.sell_price = 0.1;
  h.totals.supply_wh = 2000;
  h.totals.demand_wh = 1500;
  h.totals.grid_income = -3;
  h.totals.producers = 1;
  h.totals.consumers = 1;
  return h;
}

static void test_build_parts(void **state) {
  (void)state;
  enum { N = 300 };
  pg_grid_record_line *lines = calloc(N, sizeof *lines);
  assert_non_null(lines);
  pg_record_plain p = consumer_line();
  char sk[82];
  uint8_t keys[N][32];
  for (size_t i = 0; i < N; i++) {
    snprintf(sk, sizeof sk, "%081zu", i);
    for (size_t k = 0; k < 81; k++) sk[k] = sk[k] == '0' ? '9' : (char)('A' + sk[k] - '1');
    member_key(sk, keys[i]);
    snprintf(p.id, sizeof p.id, "m%zu", i);
    assert_int_equal(pg_record_seal(keys[i], 5, &p, &lines[i], NULL), PG_OK);
  }
  pg_grid_settlement h = head_for(5);
  pg_record_parts parts;
  pg_diag d = {{0}};
  size_t max = pg_record_part_max_json(PG_RECORD_SECURITY);
  assert_int_equal(pg_record_build_parts(&h, lines, N, 0, &parts, &d), PG_OK);
  print_message("%d lines -> %zu parts\n", N, parts.n);
  assert_true(parts.n >= 2);
  /* every part parses, is within the bound, tags ascend across parts, and
   * every member finds and opens its line */
  uint8_t last[16] = {0};
  size_t seen = 0;
  pg_grid_settlement *ps = calloc(parts.n, sizeof *ps);
  for (size_t i = 0; i < parts.n; i++) {
    assert_true(parts.part[i].len <= max);
    if (pg_grid_settlement_parse(parts.part[i].data, parts.part[i].len, &ps[i], &d))
      fail_msg("part %zu: %s", i + 1, d.msg);
    assert_int_equal(ps[i].part, i + 1);
    assert_int_equal(ps[i].parts, parts.n);
    if (i == 0) assert_int_equal(ps[i].totals.grid_income, -3);
    for (size_t k = 0; k < ps[i].n_lines; k++, seen++) {
      if (seen) assert_true(memcmp(last, ps[i].lines[k].tag, 16) < 0);
      memcpy(last, ps[i].lines[k].tag, 16);
    }
  }
  assert_int_equal(seen, N);
  /* a part is full: the next part's first line would not have fitted */
  assert_true(parts.part[0].len + 52 + 2 * ps[1].lines[0].box_len > max);
  for (size_t i = 0; i < N; i++) {
    pg_record_keys k;
    pg_record_slot_keys(keys[i], 5, &k);
    bool found = false;
    for (size_t q = 0; q < parts.n && !found; q++) {
      long at = pg_record_find(&ps[q], k.tag);
      if (at < 0) continue;
      pg_record_plain back;
      assert_int_equal(pg_record_open(keys[i], 5, &ps[q].lines[at], &back, NULL), PG_OK);
      char want[16];
      snprintf(want, sizeof want, "m%zu", i);
      assert_string_equal(back.id, want);
      found = true;
    }
    assert_true(found);
  }
  for (size_t i = 0; i < parts.n; i++) pg_grid_settlement_free(&ps[i]);
  free(ps);
  pg_record_parts_free(&parts);
  /* a repeated tag is refused; a line larger than a part too */
  free(lines[1].box);
  lines[1] = lines[0];
  lines[1].box = malloc(lines[0].box_len);
  memcpy(lines[1].box, lines[0].box, lines[0].box_len);
  assert_int_equal(pg_record_build_parts(&h, lines, 2, 0, &parts, &d), PG_ERR_INVALID);
  assert_int_equal(pg_record_build_parts(&h, lines, 1, 600, &parts, &d), PG_ERR_TOO_LARGE);
  /* no lines: one part with an empty array */
  assert_int_equal(pg_record_build_parts(&h, NULL, 0, 0, &parts, &d), PG_OK);
  assert_int_equal(parts.n, 1);
  assert_non_null(memmem(parts.part[0].data, parts.part[0].len, "\"lines\":[]}", 11));
  pg_record_parts_free(&parts);
  for (size_t i = 0; i < N; i++) free(lines[i].box);
  free(lines);
}

static void settle_round_trip(const char *text) {
  pg_grid_settlement s, back;
  pg_diag d = {{0}};
  if (pg_grid_settlement_parse(text, strlen(text), &s, &d)) fail_msg("%s: %s", text, d.msg);
  pg_buf b;
  pg_buf_init(&b, PG_GRID_MAX_SETTLEMENT_JSON);
  assert_int_equal(pg_grid_settlement_serialize(&s, &b, NULL), PG_OK);
  if (b.len != strlen(text) || memcmp(b.data, text, b.len))
    fail_msg("serialised\n %.*s\nwanted\n %s", (int)b.len, (const char *)b.data, text);
  assert_int_equal(pg_grid_settlement_parse(b.data, b.len, &back, NULL), PG_OK);
  assert_true(pg_grid_settlement_equal(&s, &back));
  pg_grid_command c;
  assert_int_equal(pg_grid_peek_command(text, strlen(text), &c, NULL), PG_OK);
  assert_int_equal(c, PG_GRID_CMD_SETTLEMENT);
  pg_grid_settlement_free(&s);
  pg_grid_settlement_free(&back);
  pg_buf_free(&b);
}

#define HEAD1                                                                                \
  "{\"command\":\"settlement\",\"slot\":7,\"part\":1,\"parts\":2,\"settledAt\":1700000000000," \
  "\"mechanism\":\"pay-as-clear\",\"config\":{\"importPrice\":300,\"exportPrice\":80,"        \
  "\"feePerKwh\":5,\"feeBp\":200,\"fixedBuyPrice\":300,\"fixedSellPrice\":80},"               \
  "\"hasPrice\":true,\"buyPrice\":165.5,\"sellPrice\":0.10000000000000001,"                   \
  "\"totals\":{\"supplyWh\":2000,\"demandWh\":1500,\"matchedWh\":1500,\"importWh\":0,"       \
  "\"exportWh\":500,\"consumerPayments\":250,\"producerRevenues\":240,\"fees\":5,"           \
  "\"gridIncome\":-3,\"importCost\":0,\"exportIncome\":40,\"producers\":1,\"consumers\":1,"  \
  "\"lateReadings\":0},"
#define LINE_A "{\"tag\":\"00112233445566778899aabbccddeeff\",\"box\":\"" BOX17 "\"}"
#define LINE_B "{\"tag\":\"10112233445566778899aabbccddeeff\",\"box\":\"" BOX17 "\"}"
#define BOX17 "000102030405060708090a0b0c0d0e0f10"

static void expect_settle_reject(const char *text, const char *needle) {
  pg_grid_settlement s;
  pg_diag d = {{0}};
  int rc = pg_grid_settlement_parse(text, strlen(text), &s, &d);
  pg_grid_settlement_free(&s);
  if (rc == PG_OK) fail_msg("accepted: %s", text);
  if (!strstr(d.msg, needle)) fail_msg("input %s\n diag '%s'\n lacks '%s'", text, d.msg, needle);
}

static void test_settlement_codec(void **state) {
  (void)state;
  settle_round_trip(HEAD1 "\"lines\":[" LINE_A "," LINE_B "]}");
  settle_round_trip(HEAD1 "\"lines\":[]}");
  settle_round_trip("{\"command\":\"settlement\",\"slot\":7,\"part\":2,\"parts\":2,\"lines\":[" LINE_B
                    "]}");
  expect_settle_reject(HEAD1 "\"lines\":[" LINE_B "," LINE_A "]}", "sorted by tag");
  expect_settle_reject(HEAD1 "\"lines\":[" LINE_A "," LINE_A "]}", "sorted by tag");
  expect_settle_reject("{\"command\":\"settlement\",\"slot\":7,\"part\":2,\"parts\":2,"
                       "\"settledAt\":1,\"lines\":[]}",
                       "unknown field 'settledAt'");
  expect_settle_reject("{\"command\":\"settlement\",\"slot\":7,\"part\":3,\"parts\":2,\"lines\":[]}",
                       "'part' must be");
  expect_settle_reject("{\"command\":\"settlement\",\"slot\":7,\"part\":1,\"parts\":1,\"lines\":[]}",
                       "missing field 'settledAt'");
  expect_settle_reject("{\"command\":\"output\",\"slot\":7,\"part\":1,\"parts\":1,\"lines\":[]}",
                       "not \"settlement\"");
  expect_settle_reject("{\"command\":\"settlement\",\"slot\":7,\"part\":2,\"parts\":2,\"lines\":["
                       "{\"tag\":\"00112233445566778899aabbccddeeff\",\"box\":\"00\"}]}",
                       "'box' must be");
  expect_settle_reject("{\"command\":\"settlement\",\"slot\":7,\"part\":2,\"parts\":2,\"lines\":["
                       "{\"tag\":\"0011\",\"box\":\"" BOX17 "\"}]}",
                       "lines[0]");
  expect_settle_reject("{\"command\":\"settlement\",\"slot\":7,\"part\":2,\"parts\":2,\"lines\":["
                       "{\"tag\":\"00112233445566778899aabbccddeeff\",\"box\":\"" BOX17
                       "\",\"x\":1}]}",
                       "unknown field 'x'");
  char bad_mech[2048];
  snprintf(bad_mech, sizeof bad_mech, "%s", HEAD1 "\"lines\":[]}");
  char *at = strstr(bad_mech, "pay-as-clear");
  memcpy(at, "pay-as-cleaR", 12);
  expect_settle_reject(bad_mech, "mechanism");
  /* a settlement is not a pg_grid_msg */
  pg_grid_msg m;
  const char *t = HEAD1 "\"lines\":[]}";
  pg_diag d = {{0}};
  assert_int_equal(pg_grid_msg_parse(t, strlen(t), &m, &d), PG_ERR_UNSUPPORTED);
  assert_non_null(strstr(d.msg, "pg_grid_settlement_parse"));
  pg_grid_command c;
  assert_int_equal(pg_grid_peek_command("{\"command\":\"hello\"}", 19, &c, NULL), PG_OK);
  assert_int_equal(c, PG_GRID_CMD_HELLO);
  assert_int_equal(pg_grid_peek_command("{\"command\":\"x\"}", 15, &c, NULL), PG_ERR_INVALID);
}

static void test_reg_answer(void **state) {
  (void)state;
  const char *both = "{\"root\":\"" SK_A "\",\"sideKey\":\"" SK_B "\",\"record\":\"" SK_B "\"}";
  const char *rec = "{\"record\":\"" SK_A "\"}";
  pg_grid_reg_answer a;
  pg_buf b;
  pg_buf_init(&b, 4096);
  assert_int_equal(pg_grid_reg_answer_parse(both, strlen(both), &a, NULL), PG_OK);
  assert_true(a.has_return);
  assert_string_equal(a.record, SK_B);
  assert_int_equal(pg_grid_reg_answer_serialize(&a, &b, NULL), PG_OK);
  assert_memory_equal(b.data, both, strlen(both));
  assert_int_equal(pg_grid_reg_answer_parse(rec, strlen(rec), &a, NULL), PG_OK);
  assert_false(a.has_return);
  pg_buf_reset(&b);
  assert_int_equal(pg_grid_reg_answer_serialize(&a, &b, NULL), PG_OK);
  assert_memory_equal(b.data, rec, strlen(rec));
  assert_int_equal(pg_grid_reg_answer_parse("{}", 2, &a, NULL), PG_OK);
  assert_false(a.has_return);
  assert_string_equal(a.record, "");
  assert_int_equal(pg_grid_reg_answer_parse("{\"record\":\"AB\"}", 15, &a, NULL), PG_ERR_INVALID);
  assert_int_equal(pg_grid_reg_answer_parse("{\"x\":1}", 7, &a, NULL), PG_ERR_INVALID);
  pg_buf_free(&b);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_vectors),   cmocka_unit_test(test_tag_stability),
      cmocka_unit_test(test_seal_open),     cmocka_unit_test(test_plain_canonical),
      cmocka_unit_test(test_part_bound),    cmocka_unit_test(test_build_parts),
      cmocka_unit_test(test_settlement_codec), cmocka_unit_test(test_reg_answer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
