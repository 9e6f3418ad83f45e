/* Unit tests for the JSON forms of messages (src/tangle/message_json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/tangle/message.h"
#include "p2pgrid/tangle/message_json.h"

#define ASSERT_DIAG(d, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((d).msg, (needle))) fail_msg("diag '%s' lacks '%s'", (d).msg, (needle));          \
  } while (0)

static const char *P1 = "210fc7bb818639ac48a4c6afa2f1581a8b9525e20fda68927f2b2ff836f73578";
static const char *P2 = "db0fa54c29f7fd928d92ca43f193dee47f591549f597a811c8fa67ab031ebd9c";

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
  size_t n = 0;
  assert_int_equal(pg_hex_decode(s, strlen(s), out, cap, &n), PG_OK);
  return n;
}

static json_t *load(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fail_msg("bad test JSON: %s", e.text);
  return j;
}

static char *dump(const json_t *j) { return json_dumps(j, JSON_COMPACT); }

/* draft -> message bytes (parents from the draft, else one zero parent) */
static void draft_to_bytes(const pg_message_draft *dr, pg_buf *out) {
  uint8_t zero[32] = {0};
  pg_diag d;
  const uint8_t *parents = dr->parents_count ? &dr->parents[0][0] : zero;
  size_t n = dr->parents_count ? dr->parents_count : 1;
  assert_int_equal(pg_message_build(out, dr->has_network_id ? dr->network_id : 0, parents, n,
                                    dr->payload.data, dr->payload.len,
                                    dr->has_nonce ? dr->nonce : 0, &d),
                   PG_OK);
}

/* bytes -> JSON -> draft -> bytes must be the identity; returns the JSON. */
static json_t *round_trip(const uint8_t *bytes, size_t len) {
  pg_message m;
  pg_diag d = {{0}};
  assert_int_equal(pg_message_parse(bytes, len, &m, &d), PG_OK);
  json_t *j = pg_message_to_json(&m);
  assert_non_null(j);
  char *s = dump(j);
  json_t *again = load(s);
  free(s);
  pg_message_draft dr;
  if (pg_message_draft_from_json(again, &dr, &d) != PG_OK) fail_msg("draft: %s", d.msg);
  assert_true(dr.has_network_id && dr.has_nonce);
  pg_buf out;
  pg_buf_init(&out, PG_MSG_MAX_LEN);
  draft_to_bytes(&dr, &out);
  assert_int_equal(out.len, len);
  assert_memory_equal(out.data, bytes, len);
  pg_buf_free(&out);
  pg_message_draft_clear(&dr);
  json_decref(again);
  pg_message_clear(&m);
  return j;
}

static void test_tip6_json(void **state) {
  (void)state;
  char hex[400];
  snprintf(hex, sizeof hex,
           "000000000000000002%s%s19000000020000000400494f54410b00000068656c6c6f20776f726c64ce6d000000000000",
           P1, P2);
  uint8_t b[200];
  size_t n = unhex(hex, b, sizeof b);
  json_t *j = round_trip(b, n);
  char *s = dump(j);
  char want[600];
  snprintf(want, sizeof want,
           "{\"networkId\":\"0\",\"parentMessageIds\":[\"%s\",\"%s\"],\"payload\":{\"type\":2,"
           "\"index\":\"494f5441\",\"data\":\"68656c6c6f20776f726c64\"},\"nonce\":\"28110\"}",
           P1, P2);
  assert_string_equal(s, want);
  free(s);
  json_decref(j);
}

static void test_no_payload_json(void **state) {
  (void)state;
  uint8_t parent[32];
  memset(parent, 0xab, 32);
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  pg_diag d;
  assert_int_equal(pg_message_build(&msg, UINT64_MAX, parent, 1, NULL, 0, UINT64_MAX, &d), PG_OK);
  json_t *j = round_trip(msg.data, msg.len);
  assert_true(json_is_null(json_object_get(j, "payload")));
  assert_string_equal(json_string_value(json_object_get(j, "networkId")), "18446744073709551615");
  assert_string_equal(json_string_value(json_object_get(j, "nonce")), "18446744073709551615");
  json_decref(j);

  /* empty data is "data":"" */
  pg_buf pay;
  pg_buf_init(&pay, 1024);
  assert_int_equal(pg_indexation_build(&pay, (const uint8_t *)"k", 1, NULL, 0, &d), PG_OK);
  pg_buf_reset(&msg);
  assert_int_equal(pg_message_build(&msg, 1, parent, 1, pay.data, pay.len, 2, &d), PG_OK);
  j = round_trip(msg.data, msg.len);
  json_t *p = json_object_get(j, "payload");
  assert_string_equal(json_string_value(json_object_get(p, "data")), "");
  json_decref(j);
  pg_buf_free(&pay);
  pg_buf_free(&msg);
}

/* The CHRYSALIS.md 4.2 transaction, with a second input unlocked by reference
 * and an essence indexation when extra is set. */
static void tx_message(pg_buf *msg, bool extra) {
  uint8_t priv[32], pk[32], sk[64], sig[64], h[32];
  unhex("af9d2be25f70db5f3ffd0a0b76b712623c4bef435a7a9e6ea09fcb123c03a4a3", priv, 32);
  pg_ed25519_from_seed(priv, pk, sk);
  uint8_t aa[32], bb[32], own[32];
  memset(aa, 0xaa, 32);
  memset(bb, 0xbb, 32);
  unhex("4573b0090df3bc80368d9067d73e4671585a97a2bde6c4da8b7ba7ea18a279bc", own, 32);
  pg_buf ess;
  pg_buf_init(&ess, PG_MSG_MAX_LEN);
  pg_buf_put_u8(&ess, 0);
  pg_buf_put_u16(&ess, extra ? 2 : 1);
  pg_buf_put_u8(&ess, 0);
  pg_buf_put(&ess, aa, 32);
  pg_buf_put_u16(&ess, 0);
  if (extra) {
    pg_buf_put_u8(&ess, 0);
    pg_buf_put(&ess, aa, 32);
    pg_buf_put_u16(&ess, 5);
  }
  pg_buf_put_u16(&ess, 2);
  pg_buf_put_u8(&ess, 0);
  pg_buf_put_u8(&ess, 0);
  pg_buf_put(&ess, own, 32);
  pg_buf_put_u64(&ess, 500000);
  pg_buf_put_u8(&ess, 0);
  pg_buf_put_u8(&ess, 0);
  pg_buf_put(&ess, bb, 32);
  pg_buf_put_u64(&ess, 1500000);
  pg_diag d;
  if (extra) {
    pg_buf ix;
    pg_buf_init(&ix, 1024);
    assert_int_equal(pg_indexation_build(&ix, (const uint8_t *)"MYINDEX", 7,
                                         (const uint8_t *)"hi", 2, &d),
                     PG_OK);
    pg_buf_put_u32(&ess, (uint32_t)ix.len);
    pg_buf_put(&ess, ix.data, ix.len);
    pg_buf_free(&ix);
  } else {
    pg_buf_put_u32(&ess, 0);
  }
  pg_blake2b256(ess.data, ess.len, h);
  pg_ed25519_sign(sk, h, 32, sig);
  pg_buf pay;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_buf_put_u32(&pay, 0);
  pg_buf_put(&pay, ess.data, ess.len);
  pg_buf_put_u16(&pay, extra ? 2 : 1);
  pg_buf_put_u8(&pay, 0);
  pg_buf_put_u8(&pay, 0);
  pg_buf_put(&pay, pk, 32);
  pg_buf_put(&pay, sig, 64);
  if (extra) {
    pg_buf_put_u8(&pay, 1);
    pg_buf_put_u16(&pay, 0);
  }
  uint8_t parents[2][32];
  memset(parents[0], 1, 32);
  memset(parents[1], 2, 32);
  assert_int_equal(pg_message_build(msg, 14379272398717627559ull, &parents[0][0], 2, pay.data,
                                    pay.len, 226, &d),
                   PG_OK);
  pg_buf_free(&pay);
  pg_buf_free(&ess);
}

static void test_transaction_json(void **state) {
  (void)state;
  pg_buf msg;
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  tx_message(&msg, false);
  json_t *j = round_trip(msg.data, msg.len);
  assert_string_equal(json_string_value(json_object_get(j, "networkId")), "14379272398717627559");
  assert_string_equal(json_string_value(json_object_get(j, "nonce")), "226");
  json_t *p = json_object_get(j, "payload");
  json_t *ess = json_object_get(p, "essence");
  char *s = dump(ess);
  assert_string_equal(
      s,
      "{\"type\":0,\"inputs\":[{\"type\":0,\"transactionId\":"
      "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
      "\"transactionOutputIndex\":0}],\"outputs\":[{\"type\":0,\"address\":{\"type\":0,"
      "\"address\":\"4573b0090df3bc80368d9067d73e4671585a97a2bde6c4da8b7ba7ea18a279bc\"},"
      "\"amount\":500000},{\"type\":0,\"address\":{\"type\":0,\"address\":"
      "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"},"
      "\"amount\":1500000}],\"payload\":null}");
  free(s);
  json_t *ub = json_array_get(json_object_get(p, "unlockBlocks"), 0);
  s = dump(ub);
  assert_string_equal(
      s,
      "{\"type\":0,\"signature\":{\"type\":0,\"publicKey\":"
      "\"d48c252cba31d45382b25bee05f28c49e9a3485b4a85dda965829b9e5368463a\",\"signature\":"
      "\"155d64938933f5742a0d3dcb658bb0e67b01e81d0e11a70a7c8cff58c38fd8a48c18b4122f8e9b9df1dd6e08b6f008b3a4c6a6fb84164428a6050c7d3df97c0c\"}}");
  free(s);

  /* iota.js posts it without networkId/parents/nonce and without essence.payload */
  json_t *body = json_object();
  json_t *pc = json_deep_copy(p);
  json_object_del(json_object_get(pc, "essence"), "payload");
  json_object_set_new(body, "payload", pc);
  pg_message_draft dr;
  pg_diag d;
  assert_int_equal(pg_message_draft_from_json(body, &dr, &d), PG_OK);
  assert_false(dr.has_network_id);
  assert_false(dr.has_nonce);
  assert_int_equal(dr.parents_count, 0);
  assert_int_equal(dr.payload.len, 232);
  uint8_t txid[32];
  char hx[65];
  pg_blake2b256(dr.payload.data, dr.payload.len, txid);
  pg_hex_encode(txid, 32, hx);
  assert_string_equal(hx, "90f67e0d5784a02b1aa32964e90d29820c37369d0c0697c92c110b4c034b3598");
  pg_message_draft_clear(&dr);
  json_decref(body);
  json_decref(j);

  /* reference block and essence indexation */
  pg_buf_reset(&msg);
  tx_message(&msg, true);
  j = round_trip(msg.data, msg.len);
  p = json_object_get(j, "payload");
  ess = json_object_get(p, "essence");
  s = dump(json_object_get(ess, "payload"));
  assert_string_equal(s, "{\"type\":2,\"index\":\"4d59494e444558\",\"data\":\"6869\"}");
  free(s);
  s = dump(json_array_get(json_object_get(p, "unlockBlocks"), 1));
  assert_string_equal(s, "{\"type\":1,\"reference\":0}");
  free(s);
  json_decref(j);
  pg_buf_free(&msg);
}

static void test_milestone_json(void **state) {
  (void)state;
  pg_milestone_draft ms;
  memset(&ms, 0, sizeof ms);
  ms.index = 42;
  ms.timestamp = 1700000000;
  ms.parents_count = 2;
  memset(ms.parents[0], 0x10, 32);
  memset(ms.parents[1], 0x20, 32);
  memset(ms.inclusion_merkle_proof, 0x0e, 32);
  ms.next_pow_score = 2000;
  ms.next_pow_score_milestone_index = 100;
  ms.keys_count = 1;
  memset(ms.public_keys[0], 0x55, 32);
  uint8_t sigs[1][64];
  memset(sigs, 0x66, sizeof sigs);
  pg_buf pay, msg;
  pg_buf_init(&pay, PG_MSG_MAX_LEN);
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  pg_diag d;
  assert_int_equal(pg_milestone_build(&pay, &ms, (const uint8_t(*)[64])sigs, &d), PG_OK);
  assert_int_equal(pg_message_build(&msg, 9, &ms.parents[0][0], 2, pay.data, pay.len, 3, &d), PG_OK);
  json_t *j = round_trip(msg.data, msg.len);
  json_t *p = json_object_get(j, "payload");
  const char *keys[] = {"type", "index", "timestamp", "parentMessageIds", "inclusionMerkleProof",
                        "nextPoWScore", "nextPoWScoreMilestoneIndex", "publicKeys", "receipt",
                        "signatures"};
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach(p, k, v) {
    assert_true(i < 10);
    assert_string_equal(k, keys[i]);
    i++;
  }
  assert_int_equal(i, 10);
  assert_int_equal(json_integer_value(json_object_get(p, "type")), 1);
  assert_int_equal(json_integer_value(json_object_get(p, "index")), 42);
  assert_int_equal(json_integer_value(json_object_get(p, "timestamp")), 1700000000);
  assert_int_equal(json_integer_value(json_object_get(p, "nextPoWScore")), 2000);
  assert_true(json_is_null(json_object_get(p, "receipt")));
  assert_int_equal(json_array_size(json_object_get(p, "parentMessageIds")), 2);

  /* a receipt in JSON input is refused as unsupported */
  json_t *c = json_deep_copy(j);
  json_object_set_new(json_object_get(c, "payload"), "receipt", json_object());
  pg_message_draft dr;
  assert_int_equal(pg_message_draft_from_json(c, &dr, &d), PG_ERR_UNSUPPORTED);
  ASSERT_DIAG(d, "payload.receipt");
  pg_message_draft_clear(&dr);
  json_decref(c);
  json_decref(j);
  pg_buf_free(&pay);
  pg_buf_free(&msg);
}

/* ---- iota.js drafts ------------------------------------------------------ */

static void test_iotajs_drafts(void **state) {
  (void)state;
  pg_message_draft dr;
  pg_diag d;
  json_t *j = load("{\"payload\":{\"type\":2,\"index\":\"4d59494e444558\",\"data\":\"68656c6c6f\"}}");
  assert_int_equal(pg_message_draft_from_json(j, &dr, &d), PG_OK);
  assert_false(dr.has_network_id);
  assert_false(dr.has_nonce);
  assert_int_equal(dr.parents_count, 0);
  assert_int_equal(dr.payload.len, 4 + 2 + 7 + 4 + 5);
  pg_message_draft_clear(&dr);
  json_decref(j);

  /* missing data, upper-case hex, empty strings and arrays, null payload fields */
  j = load("{\"networkId\":\"\",\"parentMessageIds\":[],\"nonce\":\"\","
           "\"payload\":{\"type\":2,\"index\":\"4D59\"}}");
  assert_int_equal(pg_message_draft_from_json(j, &dr, &d), PG_OK);
  assert_false(dr.has_network_id);
  assert_false(dr.has_nonce);
  assert_int_equal(dr.parents_count, 0);
  pg_message m;
  assert_int_equal(pg_payload_parse(dr.payload.data, dr.payload.len, &m, &d), PG_OK);
  assert_int_equal(m.u.indexation.index_len, 2);
  assert_int_equal(m.u.indexation.index[0], 0x4d);
  assert_int_equal(m.u.indexation.data_len, 0);
  pg_message_clear(&m);
  pg_message_draft_clear(&dr);
  json_decref(j);

  j = load("{\"payload\":{\"type\":2,\"index\":\"4d59\",\"data\":null},\"networkId\":null}");
  assert_int_equal(pg_message_draft_from_json(j, &dr, &d), PG_OK);
  pg_message_draft_clear(&dr);
  json_decref(j);

  /* promote: parents only */
  char text[400];
  snprintf(text, sizeof text, "{\"parentMessageIds\":[\"%s\",\"%s\"]}", P1, P2);
  j = load(text);
  assert_int_equal(pg_message_draft_from_json(j, &dr, &d), PG_OK);
  assert_int_equal(dr.parents_count, 2);
  assert_int_equal(dr.payload.len, 0);
  assert_int_equal(dr.parents[1][0], 0xdb);
  pg_message_draft_clear(&dr);
  json_decref(j);

  /* with a powProvider */
  snprintf(text, sizeof text,
           "{\"payload\":{\"type\":2,\"index\":\"00\"},\"parentMessageIds\":[\"%s\",\"%s\"],"
           "\"networkId\":\"14379272398717627559\",\"nonce\":\"226\"}",
           P1, P2);
  j = load(text);
  assert_int_equal(pg_message_draft_from_json(j, &dr, &d), PG_OK);
  assert_true(dr.has_network_id && dr.network_id == 14379272398717627559ull);
  assert_true(dr.has_nonce && dr.nonce == 226);
  pg_message_draft_clear(&dr);
  json_decref(j);

  /* empty object: nothing at all */
  j = load("{}");
  assert_int_equal(pg_message_draft_from_json(j, &dr, &d), PG_OK);
  assert_int_equal(dr.payload.len, 0);
  pg_message_draft_clear(&dr);
  json_decref(j);
}

/* ---- rejections ---------------------------------------------------------- */

static void reject(const char *text, int want_rc, const char *needle) {
  json_t *j = load(text);
  pg_message_draft dr;
  pg_diag d;
  pg_diag_clear(&d);
  int rc = pg_message_draft_from_json(j, &dr, &d);
  pg_message_draft_clear(&dr);
  json_decref(j);
  if (rc == PG_OK) fail_msg("accepted: %s", text);
  if (want_rc) assert_int_equal(rc, want_rc);
  ASSERT_DIAG(d, needle);
}

static char *with_tx(const char *essence_inputs, const char *outputs, const char *unlocks,
                     const char *essence_payload) {
  static char buf[4096];
  snprintf(buf, sizeof buf,
           "{\"payload\":{\"type\":0,\"essence\":{\"type\":0,\"inputs\":%s,\"outputs\":%s%s%s},"
           "\"unlockBlocks\":%s}}",
           essence_inputs, outputs, essence_payload ? ",\"payload\":" : "",
           essence_payload ? essence_payload : "", unlocks);
  return buf;
}

#define TXID "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ADDR "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define PK "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define SIG PK PK
#define IN0 "{\"type\":0,\"transactionId\":\"" TXID "\",\"transactionOutputIndex\":0}"
#define IN1 "{\"type\":0,\"transactionId\":\"" TXID "\",\"transactionOutputIndex\":1}"
#define OUT(amount) "{\"type\":0,\"address\":{\"type\":0,\"address\":\"" ADDR "\"},\"amount\":" amount "}"
#define UB0 "{\"type\":0,\"signature\":{\"type\":0,\"publicKey\":\"" PK "\",\"signature\":\"" SIG "\"}}"

static void test_rejections(void **state) {
  (void)state;
  /* sanity: the valid base */
  {
    json_t *j = load(with_tx("[" IN0 "]", "[" OUT("5") "]", "[" UB0 "]", NULL));
    pg_message_draft dr;
    pg_diag d;
    if (pg_message_draft_from_json(j, &dr, &d) != PG_OK) fail_msg("%s", d.msg);
    pg_message_draft_clear(&dr);
    json_decref(j);
  }
  reject("[]", PG_ERR_INVALID, "expected an object");
  reject("{\"networkId\":5}", PG_ERR_INVALID, "networkId: expected a decimal string");
  reject("{\"networkId\":\"12a\"}", PG_ERR_INVALID, "networkId: not a decimal");
  reject("{\"networkId\":\"-1\"}", PG_ERR_INVALID, "networkId");
  reject("{\"networkId\":\"18446744073709551616\"}", PG_ERR_INVALID, "networkId: larger");
  reject("{\"nonce\":\"x\"}", PG_ERR_INVALID, "nonce: not a decimal");
  reject("{\"nonce\":1}", PG_ERR_INVALID, "nonce: expected a decimal string");
  reject("{\"parentMessageIds\":\"ab\"}", PG_ERR_INVALID, "parentMessageIds: expected an array");
  char text[1200];
  snprintf(text, sizeof text,
           "{\"parentMessageIds\":[\"%s\",\"%s\",\"%s\",\"ab\"]}", P1, P1, P1);
  reject(text, PG_ERR_INVALID, "parentMessageIds[1]: duplicates entry 0");
  snprintf(text, sizeof text,
           "{\"parentMessageIds\":[\"%.62s01\",\"%.62s02\",\"%.62s03\",\"ab\"]}", P1, P1, P1);
  reject(text, PG_ERR_INVALID, "parentMessageIds[3]: not 64 hex characters");
  snprintf(text, sizeof text, "{\"parentMessageIds\":[\"%s\",\"%s\"]}", P2, P1);
  reject(text, PG_ERR_INVALID, "parentMessageIds[1]: not in ascending order");
  snprintf(text, sizeof text, "{\"parentMessageIds\":[\"%.63sg\"]}", P1);
  reject(text, PG_ERR_INVALID, "parentMessageIds[0]: not a hex string");
  snprintf(text, sizeof text, "{\"parentMessageIds\":[1]}");
  reject(text, PG_ERR_INVALID, "parentMessageIds[0]: expected a hex string");
  {
    char *p = text;
    p += sprintf(p, "{\"parentMessageIds\":[");
    for (int i = 0; i < 9; i++) p += sprintf(p, "%s\"%02d%.62s\"", i ? "," : "", i, P1);
    sprintf(p, "]}");
    reject(text, PG_ERR_INVALID, "parentMessageIds: 9 entries; at most 8");
  }
  reject("{\"payload\":[]}", PG_ERR_INVALID, "payload: expected an object");
  reject("{\"payload\":{}}", PG_ERR_INVALID, "payload.type: missing");
  reject("{\"payload\":{\"type\":\"2\"}}", PG_ERR_INVALID, "payload.type: expected an integer");
  reject("{\"payload\":{\"type\":2.0}}", PG_ERR_INVALID, "payload.type: expected an integer");
  reject("{\"payload\":{\"type\":3}}", PG_ERR_INVALID, "payload.type: 3 (receipt)");
  reject("{\"payload\":{\"type\":4}}", PG_ERR_INVALID, "payload.type: 4 (treasury");
  reject("{\"payload\":{\"type\":7}}", PG_ERR_INVALID, "unknown payload type 7");
  reject("{\"payload\":{\"type\":-1}}", PG_ERR_INVALID, "payload.type: -1 is negative");
  reject("{\"payload\":{\"type\":2}}", PG_ERR_INVALID, "payload.index: missing");
  reject("{\"payload\":{\"type\":2,\"index\":\"\"}}", PG_ERR_INVALID, "payload.index: empty");
  {
    char idx[140];
    memset(idx, 'a', 130);
    idx[130] = 0;
    snprintf(text, sizeof text, "{\"payload\":{\"type\":2,\"index\":\"%s\"}}", idx);
    reject(text, PG_ERR_INVALID, "payload.index: 65 bytes; at most 64");
  }
  reject("{\"payload\":{\"type\":2,\"index\":\"abc\"}}", PG_ERR_INVALID, "payload.index: odd");
  reject("{\"payload\":{\"type\":2,\"index\":\"ab\",\"data\":\"zz\"}}", PG_ERR_INVALID,
         "payload.data: not a hex string");
  reject("{\"payload\":{\"type\":2,\"index\":\"ab\",\"data\":5}}", PG_ERR_INVALID,
         "payload.data: expected a hex string");
  reject("{\"payload\":{\"type\":0}}", PG_ERR_INVALID, "payload.essence: missing");
  reject("{\"payload\":{\"type\":1,\"index\":1}}", PG_ERR_INVALID, "payload.timestamp: missing");

  /* transaction fields */
  reject(with_tx("[" IN0 "]", "[" OUT("5") "]", "[" UB0 "]", "{\"type\":0}"), PG_ERR_INVALID,
         "payload.essence.payload.type: 0; only indexation (2) allowed here");
  reject(with_tx("[{\"type\":0,\"transactionId\":\"aa\",\"transactionOutputIndex\":0}]",
                 "[" OUT("5") "]", "[" UB0 "]", NULL),
         PG_ERR_INVALID, "payload.essence.inputs[0].transactionId: not 64 hex characters");
  reject(with_tx("[{\"type\":1}]", "[" OUT("5") "]", "[" UB0 "]", NULL), PG_ERR_INVALID,
         "payload.essence.inputs[0].type: 1");
  reject(with_tx("[{\"type\":0,\"transactionId\":\"" TXID "\",\"transactionOutputIndex\":70000}]",
                 "[" OUT("5") "]", "[" UB0 "]", NULL),
         PG_ERR_INVALID, "transactionOutputIndex: 70000 is larger than 65535");
  reject(with_tx("[{\"type\":0,\"transactionId\":\"" TXID "\",\"transactionOutputIndex\":127}]",
                 "[" OUT("5") "]", "[" UB0 "]", NULL),
         PG_ERR_INVALID, "payload: transaction: input 0 output index 127; at most 126");
  reject(with_tx("[" IN1 "," IN0 "]", "[" OUT("5") "]", "[" UB0 ",{\"type\":1,\"reference\":0}]",
                 NULL),
         PG_ERR_INVALID, "payload: transaction: inputs not sorted: input 1 < input 0");
  reject(with_tx("[" IN0 "]", "[" OUT("-5") "]", "[" UB0 "]", NULL), PG_ERR_INVALID,
         "payload.essence.outputs[0].amount: -5 is negative");
  reject(with_tx("[" IN0 "]", "[" OUT("\"5\"") "]", "[" UB0 "]", NULL), PG_ERR_INVALID,
         "payload.essence.outputs[0].amount: expected an integer");
  reject(with_tx("[" IN0 "]", "[" OUT("0") "]", "[" UB0 "]", NULL), PG_ERR_INVALID,
         "output 0 amount is 0");
  reject(with_tx("[" IN0 "]", "[{\"type\":0,\"address\":{\"type\":1,\"address\":\"" ADDR "\"},\"amount\":1}]",
                 "[" UB0 "]", NULL),
         PG_ERR_INVALID, "payload.essence.outputs[0].address.type: 1");
  reject(with_tx("[" IN0 "]", "[{\"type\":0,\"amount\":1}]", "[" UB0 "]", NULL), PG_ERR_INVALID,
         "payload.essence.outputs[0].address: missing");
  reject(with_tx("[" IN0 "]", "[" OUT("5") "]", "[{\"type\":5}]", NULL), PG_ERR_INVALID,
         "payload.unlockBlocks[0].type: 5");
  reject(with_tx("[" IN0 "]", "[" OUT("5") "]", "[{\"type\":0,\"signature\":{\"type\":0,\"publicKey\":\"" PK "\",\"signature\":\"" PK "\"}}]", NULL),
         PG_ERR_INVALID, "payload.unlockBlocks[0].signature.signature: not 128 hex characters");
  reject(with_tx("[" IN0 "]", "[" OUT("5") "]", "[]", NULL), PG_ERR_INVALID,
         "0 unlock blocks for 1 inputs");
  reject(with_tx("[" IN0 "]", "[" OUT("5") "]", "{}", NULL), PG_ERR_INVALID,
         "payload.unlockBlocks: expected an array");

  /* too large */
  {
    size_t n = 2 * 32800 + 200;
    char *big = malloc(n);
    assert_non_null(big);
    int off = sprintf(big, "{\"payload\":{\"type\":2,\"index\":\"aa\",\"data\":\"");
    memset(big + off, 'a', 2 * 32740);
    sprintf(big + off + 2 * 32740, "\"}}");
    reject(big, PG_ERR_TOO_LARGE, "at most 32768");
    free(big);
  }
}

int main(void) {
  if (pg_crypto_init() != PG_OK) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tip6_json),
      cmocka_unit_test(test_no_payload_json),
      cmocka_unit_test(test_transaction_json),
      cmocka_unit_test(test_milestone_json),
      cmocka_unit_test(test_iotajs_drafts),
      cmocka_unit_test(test_rejections),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
