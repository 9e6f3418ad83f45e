/* Unit tests: Tangle storage, entry checks, solidifier, index and children
 * lookups, persistence, PoW on attach, the TIP-4 Merkle root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/message_json.h"
#include "p2pgrid/crypto/pow.h"
#include "tangle_test_util.h"

static void open_f(tt_fixture *f) { f->t = tt_open(&f->cfg); }

static void test_network_id(void **state) {
  (void)state;
  /* CHRYSALIS.md 1.2 [checked] values */
  assert_true(pg_network_id("testnet7") == 14379272398717627559ULL);
  assert_true(pg_network_id("private-tangle") == 2321005821356827533ULL);
}

static void test_round_trip(void **state) {
  tt_fixture *f = *state;
  open_f(f);
  pg_buf msg;
  tt_build_indexation(&msg, pg_network_id("private-tangle"), &TT_SEP, 1, "round", "trip");
  uint8_t id[PG_ID_LEN], expect[PG_ID_LEN];
  pg_message_id(msg.data, msg.len, expect);
  bool is_new = false;
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, msg.data, msg.len, id, &is_new, &d), PG_OK);
  assert_true(is_new);
  assert_memory_equal(id, expect, PG_ID_LEN);

  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(f->t, id, &raw), PG_OK);
  assert_int_equal(raw.len, msg.len);
  assert_memory_equal(raw.data, msg.data, msg.len);

  pg_msg_meta m = tt_meta(f->t, id);
  assert_memory_equal(m.id, id, PG_ID_LEN);
  assert_true(m.solid);
  assert_int_equal(m.parents_count, 1);
  assert_memory_equal(m.parents[0], TT_SEP, PG_ID_LEN);
  assert_int_equal(m.referenced_by, 0);
  assert_int_equal(m.milestone_index, 0);
  assert_int_equal(m.inclusion, PG_INCL_UNKNOWN);
  assert_false(m.should_promote);
  assert_false(m.should_reattach);
  assert_true(m.arrival_ms == TT_START_MS);

  /* duplicate: idempotent */
  is_new = true;
  assert_int_equal(pg_tangle_submit(f->t, msg.data, msg.len, id, &is_new, &d), PG_OK);
  assert_false(is_new);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.messages, 1);
  assert_int_equal(s.unsolid, 0);
  assert_string_equal(s.network_name, "private-tangle");
  assert_string_equal(s.bech32_hrp, "atoi");

  uint8_t unknown[PG_ID_LEN];
  memset(unknown, 0x5a, sizeof unknown);
  assert_int_equal(pg_tangle_get_raw(f->t, unknown, &raw), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_tangle_get_meta(f->t, unknown, &m), PG_ERR_NOT_FOUND);

  /* garbage is a syntax error */
  int rc = pg_tangle_submit(f->t, msg.data, 10, id, NULL, &d);
  assert_true(rc == PG_ERR_TRUNCATED || rc == PG_ERR_INVALID);
  pg_buf_free(&raw);
  pg_buf_free(&msg);
}

static void test_wrong_network(void **state) {
  tt_fixture *f = *state;
  open_f(f);
  pg_buf msg;
  tt_build_indexation(&msg, pg_network_id("testnet7"), &TT_SEP, 1, "net", "x");
  uint8_t id[PG_ID_LEN];
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, msg.data, msg.len, id, NULL, &d), PG_ERR_NETWORK_ID);
  assert_int_equal(pg_tangle_get_meta(f->t, id, &(pg_msg_meta){0}), PG_ERR_NOT_FOUND);
  pg_buf_free(&msg);

  pg_message_draft draft;
  memset(&draft, 0, sizeof draft);
  pg_buf_init(&draft.payload, PG_MSG_MAX_LEN);
  assert_int_equal(pg_indexation_build(&draft.payload, (const uint8_t *)"a", 1, NULL, 0, NULL), PG_OK);
  draft.has_network_id = true;
  draft.network_id = 1;
  assert_int_equal(pg_tangle_attach(f->t, &draft, NULL, id, &d), PG_ERR_NETWORK_ID);
  draft.has_network_id = false; /* filled in */
  assert_int_equal(pg_tangle_attach(f->t, &draft, NULL, id, &d), PG_OK);
  pg_msg_meta m = tt_meta(f->t, id);
  assert_true(m.solid);
  pg_message_draft_clear(&draft);

  /* a data dir belongs to one network */
  pg_tangle_close(f->t);
  f->t = NULL;
  f->cfg.network_name = "testnet7";
  pg_tangle *t2 = NULL;
  assert_int_equal(pg_tangle_open(&f->cfg, &t2, &d), PG_ERR_CONFIG);
  assert_null(t2);
  assert_non_null(strstr(d.msg, "private-tangle"));
}

static void test_solidifier(void **state) {
  tt_fixture *f = *state;
  open_f(f);
  pg_buf a, b, c;
  uint8_t ida[PG_ID_LEN], idb[PG_ID_LEN], idc[PG_ID_LEN], id[PG_ID_LEN];
  uint64_t net = pg_network_id("private-tangle");
  tt_build_indexation(&a, net, &TT_SEP, 1, "s", "a");
  pg_message_id(a.data, a.len, ida);
  tt_build_indexation(&b, net, (const uint8_t(*)[PG_ID_LEN])ida, 1, "s", "b");
  pg_message_id(b.data, b.len, idb);
  uint8_t pc[2][PG_ID_LEN];
  memcpy(pc[0], ida, PG_ID_LEN);
  memcpy(pc[1], idb, PG_ID_LEN);
  tt_build_indexation(&c, net, (const uint8_t(*)[PG_ID_LEN])pc, 2, "s", "c");
  pg_message_id(c.data, c.len, idc);
  pg_diag d = {{0}};

  assert_int_equal(pg_tangle_submit(f->t, c.data, c.len, id, NULL, &d), PG_OK);
  assert_false(tt_meta(f->t, idc).solid);
  assert_int_equal(pg_tangle_submit(f->t, b.data, b.len, id, NULL, &d), PG_OK);
  assert_false(tt_meta(f->t, idb).solid);
  assert_false(tt_meta(f->t, idc).solid);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.unsolid, 2);
  assert_int_equal(s.messages, 2);
  /* unsolid messages are found by index and children already */
  size_t count, total;
  uint8_t ids[8][PG_ID_LEN];
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"s", 1, 8, ids, &count, &total), PG_OK);
  assert_int_equal(total, 2);

  assert_int_equal(pg_tangle_submit(f->t, a.data, a.len, id, NULL, &d), PG_OK);
  assert_true(tt_meta(f->t, ida).solid);
  assert_true(tt_meta(f->t, idb).solid);
  assert_true(tt_meta(f->t, idc).solid);
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.unsolid, 0);
  assert_int_equal(s.messages, 3);

  /* children of A: B and C */
  assert_int_equal(pg_tangle_children(f->t, ida, 8, ids, &count, &total), PG_OK);
  assert_int_equal(count, 2);
  assert_int_equal(total, 2);
  assert_true((memcmp(ids[0], idb, PG_ID_LEN) == 0 && memcmp(ids[1], idc, PG_ID_LEN) == 0) ||
              (memcmp(ids[0], idc, PG_ID_LEN) == 0 && memcmp(ids[1], idb, PG_ID_LEN) == 0));
  assert_int_equal(pg_tangle_children(f->t, ida, 1, ids, &count, &total), PG_OK);
  assert_int_equal(count, 1);
  assert_int_equal(total, 2);
  assert_int_equal(pg_tangle_children(f->t, idc, 8, ids, &count, &total), PG_OK);
  assert_int_equal(total, 0);
  uint8_t unknown[PG_ID_LEN];
  memset(unknown, 0x77, sizeof unknown);
  assert_int_equal(pg_tangle_children(f->t, unknown, 8, ids, &count, &total), PG_OK);
  assert_int_equal(count, 0);

  /* tips: B (one approver) and C; A has two approvers and left the set */
  size_t n;
  assert_int_equal(pg_tangle_select_tips(f->t, ids, 8, &n), PG_OK);
  assert_int_equal(n, 2);
  assert_true(memcmp(ids[0], ida, PG_ID_LEN) != 0 && memcmp(ids[1], ida, PG_ID_LEN) != 0);
  assert_true(memcmp(ids[0], idb, PG_ID_LEN) == 0 || memcmp(ids[1], idb, PG_ID_LEN) == 0);
  assert_true(memcmp(ids[0], idc, PG_ID_LEN) == 0 || memcmp(ids[1], idc, PG_ID_LEN) == 0);
  pg_buf_free(&a);
  pg_buf_free(&b);
  pg_buf_free(&c);
}

static void random_id(uint8_t id[PG_ID_LEN], unsigned i) {
  uint8_t seed[8] = {(uint8_t)i, (uint8_t)(i >> 8), 0x42, 1, 2, 3, 4, 5};
  pg_blake2b256(seed, sizeof seed, id);
}

static void test_unsolid_count_bound(void **state) {
  tt_fixture *f = *state;
  f->cfg.unsolid_max = 3;
  open_f(f);
  uint8_t id[PG_ID_LEN], missing[PG_ID_LEN];
  for (unsigned i = 0; i < 3; i++) {
    random_id(missing, i);
    assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])missing, 1, "u", "x", id), PG_OK);
  }
  random_id(missing, 99);
  pg_buf msg;
  tt_build_indexation(&msg, pg_network_id("private-tangle"), (const uint8_t(*)[PG_ID_LEN])missing, 1,
                      "u", "y");
  pg_diag d = {{0}};
  assert_int_equal(pg_tangle_submit(f->t, msg.data, msg.len, id, NULL, &d), PG_ERR_UNAVAILABLE);
  assert_non_null(strstr(d.msg, "solidifier full"));
  assert_int_equal(pg_tangle_get_meta(f->t, id, &(pg_msg_meta){0}), PG_ERR_NOT_FOUND);
  pg_buf_free(&msg);
  /* solid messages are still welcome */
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "u", "solid", id), PG_OK);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.unsolid, 3);
  assert_int_equal(s.messages, 4);
}

static void test_unsolid_age_bound(void **state) {
  tt_fixture *f = *state;
  f->cfg.unsolid_max_age_ms = 1000;
  open_f(f);
  uint8_t old_id[PG_ID_LEN], young_id[PG_ID_LEN], id[PG_ID_LEN], missing[PG_ID_LEN];
  random_id(missing, 7);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])missing, 1, "age", "old", old_id),
                   PG_OK);
  pg_vclock_advance(&f->clock, 600);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])missing, 1, "age", "young",
                                young_id),
                   PG_OK);
  pg_vclock_advance(&f->clock, 401); /* old: 1001 ms, young: 401 ms */
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "other", "x", id), PG_OK);
  pg_msg_meta m;
  assert_int_equal(pg_tangle_get_meta(f->t, old_id, &m), PG_ERR_NOT_FOUND);
  assert_int_equal(pg_tangle_get_meta(f->t, young_id, &m), PG_OK);
  size_t count, total;
  uint8_t ids[8][PG_ID_LEN];
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"age", 3, 8, ids, &count, &total), PG_OK);
  assert_int_equal(total, 1);
  assert_memory_equal(ids[0], young_id, PG_ID_LEN);
  assert_int_equal(pg_tangle_children(f->t, missing, 8, ids, &count, &total), PG_OK);
  assert_int_equal(total, 1);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.unsolid, 1);
  assert_int_equal(s.messages, 2);
  /* the deleted message may arrive again */
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])missing, 1, "age", "old", id), PG_OK);
  assert_memory_equal(id, old_id, PG_ID_LEN);
}

static void test_find_index(void **state) {
  tt_fixture *f = *state;
  open_f(f);
  uint8_t ids3[3][PG_ID_LEN], id[PG_ID_LEN];
  const char *data[3] = {"one", "two", "three"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "grid", data[i], ids3[i]), PG_OK);
    pg_vclock_advance(&f->clock, 1);
  }
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "gridx", "no", id), PG_OK);
  /* a transaction's essence indexation is not in these messages: top level only here */
  uint8_t out[8][PG_ID_LEN];
  size_t count, total;
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"grid", 4, 8, out, &count, &total), PG_OK);
  assert_int_equal(count, 3);
  assert_int_equal(total, 3);
  for (int i = 0; i < 3; i++) assert_memory_equal(out[i], ids3[i], PG_ID_LEN); /* oldest first */
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"grid", 4, 2, out, &count, &total), PG_OK);
  assert_int_equal(count, 2);
  assert_int_equal(total, 3);
  /* exactly max, and none asked for: the total is still counted */
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"grid", 4, 3, out, &count, &total), PG_OK);
  assert_int_equal(count, 3);
  assert_int_equal(total, 3);
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"grid", 4, 0, out, &count, &total), PG_OK);
  assert_int_equal(count, 0);
  assert_int_equal(total, 3);
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"nothing", 7, 8, out, &count, &total),
                   PG_OK);
  assert_int_equal(total, 0);
}

static void test_persistence(void **state) {
  tt_fixture *f = *state;
  open_f(f);
  uint8_t a[PG_ID_LEN], b[PG_ID_LEN], c[PG_ID_LEN], missing[PG_ID_LEN], u[PG_ID_LEN];
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "p", "a", a), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])a, 1, "p", "b", b), PG_OK);
  assert_int_equal(tt_submit_ix(f->t, &TT_SEP, 1, "q", "c", c), PG_OK);
  random_id(missing, 3);
  assert_int_equal(tt_submit_ix(f->t, (const uint8_t(*)[PG_ID_LEN])missing, 1, "p", "u", u), PG_OK);
  pg_buf raw_b;
  pg_buf_init(&raw_b, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(f->t, b, &raw_b), PG_OK);
  pg_tangle_close(f->t);

  f->t = tt_open(&f->cfg);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.messages, 4);
  assert_int_equal(s.unsolid, 1);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(f->t, b, &raw), PG_OK);
  assert_int_equal(raw.len, raw_b.len);
  assert_memory_equal(raw.data, raw_b.data, raw.len);
  pg_msg_meta m = tt_meta(f->t, b);
  assert_true(m.solid);
  assert_memory_equal(m.parents[0], a, PG_ID_LEN);
  assert_false(tt_meta(f->t, u).solid);
  uint8_t out[8][PG_ID_LEN];
  size_t count, total;
  assert_int_equal(pg_tangle_find_index(f->t, (const uint8_t *)"p", 1, 8, out, &count, &total), PG_OK);
  assert_int_equal(total, 3);
  assert_int_equal(pg_tangle_children(f->t, a, 8, out, &count, &total), PG_OK);
  assert_int_equal(total, 1);
  /* tips rebuilt: b and c (a has a child; u is not solid) */
  assert_int_equal(pg_tangle_select_tips(f->t, out, 8, &count), PG_OK);
  assert_int_equal(count, 2);
  assert_true(memcmp(out[0], out[1], PG_ID_LEN) < 0);
  assert_true(memcmp(out[0], b, PG_ID_LEN) == 0 || memcmp(out[0], c, PG_ID_LEN) == 0);
  assert_true(memcmp(out[1], b, PG_ID_LEN) == 0 || memcmp(out[1], c, PG_ID_LEN) == 0);
  /* the unsolid message still becomes solid when its parent arrives later */
  pg_buf_free(&raw);
  pg_buf_free(&raw_b);
}

static void test_pow(void **state) {
  tt_fixture *f = *state;
  f->cfg.min_pow_score = 10;
  open_f(f);
  pg_message_draft draft;
  memset(&draft, 0, sizeof draft);
  pg_buf_init(&draft.payload, PG_MSG_MAX_LEN);
  assert_int_equal(pg_indexation_build(&draft.payload, (const uint8_t *)"pow", 3,
                                       (const uint8_t *)"work", 4, NULL),
                   PG_OK);
  uint8_t id[PG_ID_LEN];
  pg_diag d = {{0}};
  int rc = pg_tangle_attach(f->t, &draft, NULL, id, &d);
  if (rc) fprintf(stderr, "attach: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  pg_buf raw;
  pg_buf_init(&raw, PG_MSG_MAX_LEN);
  assert_int_equal(pg_tangle_get_raw(f->t, id, &raw), PG_OK);
  assert_true(pg_pow_valid(raw.data, raw.len, 10));

  /* the same message with a nonce that misses the score */
  uint64_t nonce = 0;
  while (pg_pow_valid(raw.data, raw.len, 10)) pg_put_le64(raw.data + raw.len - 8, ++nonce);
  assert_int_equal(pg_tangle_submit(f->t, raw.data, raw.len, id, NULL, &d), PG_ERR_POW);
  draft.has_nonce = true;
  draft.nonce = nonce;
  memcpy(draft.parents[0], raw.data + 9, PG_ID_LEN);
  draft.parents_count = raw.data[8];
  assert_int_equal(draft.parents_count, 1);
  assert_int_equal(pg_tangle_attach(f->t, &draft, NULL, id, &d), PG_ERR_POW);
  pg_tangle_status s;
  pg_tangle_get_status(f->t, &s);
  assert_int_equal(s.messages, 1);
  assert_int_equal(s.min_pow_score, 10);
  pg_buf_free(&raw);
  pg_message_draft_clear(&draft);
}

static void hex32(const char *h, uint8_t out[32]) { assert_int_equal(pg_hex_decode_exact(h, out, 32), PG_OK); }

static void test_merkle(void **state) {
  (void)state;
  uint8_t root[32], expect[32];
  /* empty */
  pg_merkle_root(NULL, 0, root);
  hex32("0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8", expect);
  assert_memory_equal(root, expect, 32);

  /* TIP-4 example: 7 leaves */
  static const char *leaves_hex[7] = {
      "52fdfc072182654f163f5f0f9a621d729566c74d10037c4d7bbb0407d1e2c649",
      "81855ad8681d0d86d1e91e00167939cb6694d2c422acd208a0072939487f6999",
      "eb9d18a44784045d87f3c67cf22746e995af5a25367951baa2ff6cd471c483f1",
      "5fb90badb37c5821b6d95526a41a9504680b4e7c8b763a1b1d49d4955c848621",
      "6325253fec738dd7a9e28bf921119c160f0702448615bbda08313f6a8eb668d2",
      "0bf5059875921e668a5bdf2c7fc4844592d2572bcd0668d2d6c52f5054e2d083",
      "6bf84c7174cb7476364cc3dbd968b0f7172ed85794bb358b0c3b525da1786f9f",
  };
  uint8_t leaves[7][32];
  for (int i = 0; i < 7; i++) hex32(leaves_hex[i], leaves[i]);
  pg_merkle_root((const uint8_t(*)[32])leaves, 7, root);
  hex32("bf67ce7ba23e8c0951b5abaec4f5524360d2c26d971ff226d3359fa70cdb0beb", expect);
  assert_memory_equal(root, expect, 32);

  /* one leaf: H(0x00 || d); two leaves: H(0x01 || H(0x00||a) || H(0x00||b)) */
  uint8_t buf[65], la[32], lb[32];
  buf[0] = 0;
  memcpy(buf + 1, leaves[0], 32);
  pg_blake2b256(buf, 33, la);
  pg_merkle_root((const uint8_t(*)[32])leaves, 1, root);
  assert_memory_equal(root, la, 32);
  memcpy(buf + 1, leaves[1], 32);
  pg_blake2b256(buf, 33, lb);
  buf[0] = 1;
  memcpy(buf + 1, la, 32);
  memcpy(buf + 33, lb, 32);
  pg_blake2b256(buf, 65, expect);
  pg_merkle_root((const uint8_t(*)[32])leaves, 2, root);
  assert_memory_equal(root, expect, 32);

  /* structure: 3 leaves split 2 + 1 */
  uint8_t l2[32], l1[32];
  pg_merkle_root((const uint8_t(*)[32])leaves, 2, l2);
  pg_merkle_root((const uint8_t(*)[32])(leaves + 2), 1, l1);
  buf[0] = 1;
  memcpy(buf + 1, l2, 32);
  memcpy(buf + 33, l1, 32);
  pg_blake2b256(buf, 65, expect);
  pg_merkle_root((const uint8_t(*)[32])leaves, 3, root);
  assert_memory_equal(root, expect, 32);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_network_id),
      cmocka_unit_test_setup_teardown(test_round_trip, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_wrong_network, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_solidifier, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_unsolid_count_bound, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_unsolid_age_bound, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_find_index, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_persistence, tt_setup, tt_teardown),
      cmocka_unit_test_setup_teardown(test_pow, tt_setup, tt_teardown),
      cmocka_unit_test(test_merkle),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
