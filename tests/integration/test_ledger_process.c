/* Integration test: the ledger of a real `p2pgrid node` process.
 *
 * Starts the daemon (port 0, temporary data dir, coordinator every second,
 * no PoW) with a genesis that funds the first address of a test seed, and
 * builds signed transactions here with pg_transaction_build:
 *  - two transfers that spend the same genesis output, one posted as JSON
 *    exactly as iota.js send() posts it, one as raw bytes: after the next
 *    milestones exactly one is included and the other conflicting (reason 2
 *    in the same milestone, 1 in a later one), and the balances agree;
 *  - every TIP-13 ledger route, also with bad input;
 *  - a restart keeps the ledger; a restart with another genesis is refused
 *    (exit status 2, the message names the genesis).
 *
 * Set PG_KEEP_TMP=1 to keep the temporary directory (logs, databases). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "p2pgrid/base/bech32.h"
#include "p2pgrid/base/buf.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/ledger/ledger.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/ledger/transaction.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define GENESIS_AMOUNT 10000000ull /* 10 Mi on the seed's first address */
#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"

static proc g_n;

/* ---- keys, transactions --------------------------------------------------- */

/* A test seed (bytes 0x10..0x2f), never for real value. */
static uint8_t g_seed[32];

typedef struct key {
  uint8_t pk[32], sk[64], addr[32];
  char hex[65];
  char bech[100];
} key;

static key g_k0, g_k1, g_k2; /* m/44'/4218'/0'/0'/0', .../0'/0'/1', .../0'/1'/0' */

static void derive(key *k, uint32_t change, uint32_t index) {
  assert_int_equal(pg_iota_keypair(g_seed, sizeof g_seed, 0, change, index, k->pk, k->sk, k->addr),
                   0);
  pg_hex_encode(k->addr, 32, k->hex);
  assert_int_equal(pg_iota_address_encode("atoi", k->addr, k->bech, sizeof k->bech), 0);
}

typedef struct tx {
  uint8_t payload[1024];
  size_t len;
  uint8_t id[32];
  char id_hex[65];
  char msg_id[65];
  long long ms_index;  /* referencedByMilestoneIndex */
  bool included;
  long long conflict;  /* conflictReason when conflicting */
} tx;

static tx g_ta, g_tb;     /* the two transfers of the genesis output */
static tx *g_win, *g_lose;
static char g_genesis_out[69]; /* output id (hex) of the genesis output */

/* Builds a signed transfer of one input (unlocked by k) to the outputs. */
static void build_tx(tx *t, const char *input_hex, const key *k, const pg_tx_output_spec *outs,
                     size_t nouts) {
  pg_tx_input_spec in;
  uint8_t oid[PG_OUTPUT_ID_LEN];
  pg_buf b;
  pg_diag d = {{0}};
  memset(t, 0, sizeof *t);
  assert_int_equal(pg_hex_decode_exact(input_hex, oid, sizeof oid), 0);
  memcpy(in.tx_id, oid, 32);
  in.output_index = (uint16_t)(oid[32] | oid[33] << 8);
  memcpy(in.secret_key, k->sk, 64);
  pg_buf_init(&b, sizeof t->payload);
  if (pg_transaction_build(&b, &in, 1, outs, nouts, NULL, 0, NULL, 0, NULL, &d))
    fail_msg("pg_transaction_build: %s", d.msg);
  assert_true(b.len <= sizeof t->payload);
  memcpy(t->payload, b.data, b.len);
  t->len = b.len;
  pg_buf_free(&b);
  pg_transaction_id(t->payload, t->len, t->id);
  pg_hex_encode(t->id, 32, t->id_hex);
}

static uint64_t le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static void put_hex(pg_buf *b, const uint8_t *p, size_t n) {
  char h[2 * 128 + 1];
  assert_true(n <= 128);
  pg_hex_encode(p, n, h);
  pg_buf_puts(b, h);
}

/* The JSON body iota.js send() posts for a transaction payload: only
 * "payload"; no networkId, parents, nonce; no essence "payload" key. Written
 * from the bytes (CHRYSALIS.md 4.1) without the node's codec. */
static char *tx_json_body(const tx *t) {
  const uint8_t *p = t->payload;
  size_t o = 0;
  char num[64];
  pg_buf b;
  pg_buf_init(&b, 64 * 1024);
  assert_int_equal(le(p, 4), 0);
  o = 4;
  assert_int_equal(p[o++], 0); /* essence type */
  size_t ni = (size_t)le(p + o, 2);
  o += 2;
  pg_buf_puts(&b, "{\"payload\":{\"type\":0,\"essence\":{\"type\":0,\"inputs\":[");
  for (size_t i = 0; i < ni; i++) {
    assert_int_equal(p[o], 0);
    pg_buf_puts(&b, i ? ",{\"type\":0,\"transactionId\":\"" : "{\"type\":0,\"transactionId\":\"");
    put_hex(&b, p + o + 1, 32);
    snprintf(num, sizeof num, "\",\"transactionOutputIndex\":%u}", (unsigned)le(p + o + 33, 2));
    pg_buf_puts(&b, num);
    o += 35;
  }
  size_t no = (size_t)le(p + o, 2);
  o += 2;
  pg_buf_puts(&b, "],\"outputs\":[");
  for (size_t i = 0; i < no; i++) {
    snprintf(num, sizeof num, "%s{\"type\":%u,\"address\":{\"type\":0,\"address\":\"", i ? "," : "",
             (unsigned)p[o]);
    pg_buf_puts(&b, num);
    put_hex(&b, p + o + 2, 32);
    snprintf(num, sizeof num, "\"},\"amount\":%llu}", (unsigned long long)le(p + o + 34, 8));
    pg_buf_puts(&b, num);
    o += 42;
  }
  assert_int_equal(le(p + o, 4), 0); /* no essence payload */
  o += 4;
  size_t nu = (size_t)le(p + o, 2);
  o += 2;
  pg_buf_puts(&b, "]},\"unlockBlocks\":[");
  for (size_t i = 0; i < nu; i++) {
    if (i) pg_buf_puts(&b, ",");
    if (p[o] == 0) {
      assert_int_equal(p[o + 1], 0);
      pg_buf_puts(&b, "{\"type\":0,\"signature\":{\"type\":0,\"publicKey\":\"");
      put_hex(&b, p + o + 2, 32);
      pg_buf_puts(&b, "\",\"signature\":\"");
      put_hex(&b, p + o + 34, 64);
      pg_buf_puts(&b, "\"}}");
      o += 98;
    } else {
      snprintf(num, sizeof num, "{\"type\":1,\"reference\":%u}", (unsigned)le(p + o + 1, 2));
      pg_buf_puts(&b, num);
      o += 3;
    }
  }
  assert_int_equal(o, t->len);
  pg_buf_puts(&b, "]}}");
  pg_buf_put_u8(&b, 0);
  assert_int_equal(pg_buf_status(&b), 0);
  uint8_t *text = NULL;
  size_t len = 0;
  pg_buf_take(&b, &text, &len);
  pg_buf_free(&b);
  return (char *)text;
}

static void take_message_id(resp *r, const char *what, char out[65]) {
  if (r->status != 201 || !r->json)
    fail_msg("%s: status %ld body %s", what, r->status, r->body ? r->body : "");
  const char *mid = jstr(json_object_get(r->json, "data"), "messageId");
  assert_true(is_hex64(mid));
  memcpy(out, mid, 65);
}

static void submit_json(const proc *p, tx *t) {
  char *body = tx_json_body(t);
  resp r;
  http(p, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
  take_message_id(&r, "POST transaction JSON", t->msg_id);
  resp_free(&r);
  free(body);
}

/* A complete message: network id, tips as parents, the payload, nonce 0
 * (the node asks for no PoW). */
static void submit_raw(const proc *p, tx *t) {
  uint8_t parents[8][32];
  size_t np = tips(p, parents, false);
  pg_buf b;
  pg_buf_init(&b, 32768);
  pg_buf_put_u64(&b, PRIVATE_TANGLE_ID);
  pg_buf_put_u8(&b, (uint8_t)np);
  pg_buf_put(&b, parents, np * 32);
  pg_buf_put_u32(&b, (uint32_t)t->len);
  pg_buf_put(&b, t->payload, t->len);
  pg_buf_put_u64(&b, 0);
  assert_int_equal(pg_buf_status(&b), 0);
  resp r;
  http(p, "POST", "/api/v1/messages", "application/octet-stream", b.data, b.len, NULL, &r);
  take_message_id(&r, "POST transaction raw", t->msg_id);
  resp_free(&r);
  pg_buf_free(&b);
}

/* Waits (deadline) until the message is referenced; fills the inclusion. */
static void wait_referenced(const proc *p, tx *t) {
  char path[160];
  snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", t->msg_id);
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    resp r;
    json_t *d = get_data(p, path, &r);
    json_t *ms = json_object_get(d, "referencedByMilestoneIndex");
    if (ms) {
      t->ms_index = json_integer_value(ms);
      const char *state = jstr(d, "ledgerInclusionState");
      if (strcmp(state, "included") == 0) {
        t->included = true;
        assert_null(json_object_get(d, "conflictReason"));
      } else if (strcmp(state, "conflicting") == 0) {
        t->conflict = jint(d, "conflictReason");
      } else {
        fail_msg("message %s: ledgerInclusionState '%s'", t->msg_id, state);
      }
      resp_free(&r);
      return;
    }
    resp_free(&r);
    if (now_ms() > deadline) {
      dump_log(p);
      fail_msg("message %s not referenced within %d ms", t->msg_id, DEADLINE_CONFIRM_MS);
    }
    nap();
  }
}

/* ---- REST helpers ------------------------------------------------------- */

static long long balance_of(const proc *p, const key *k) {
  char path[200];
  resp r;
  snprintf(path, sizeof path, "/api/v1/addresses/ed25519/%s", k->hex);
  json_t *d = get_data(p, path, &r);
  assert_int_equal(jint(d, "addressType"), 0);
  assert_string_equal(jstr(d, "address"), k->hex);
  assert_true(json_is_boolean(json_object_get(d, "dustAllowed")));
  (void)jint(d, "ledgerIndex");
  long long v = jint(d, "balance");
  resp_free(&r);
  /* the bech32 route answers the same, with the address in hex */
  snprintf(path, sizeof path, "/api/v1/addresses/%s", k->bech);
  d = get_data(p, path, &r);
  assert_int_equal(jint(d, "addressType"), 0);
  assert_string_equal(jstr(d, "address"), k->hex);
  assert_int_equal(jint(d, "balance"), v);
  resp_free(&r);
  return v;
}

/* GET .../outputs[query]: count and the ids (borrowed into a new array, caller decrefs). */
static json_t *outputs_of(const proc *p, const key *k, bool bech, const char *query,
                          long long *count) {
  char path[300];
  resp r;
  snprintf(path, sizeof path, "/api/v1/addresses/%s%s/outputs%s", bech ? "" : "ed25519/",
           bech ? k->bech : k->hex, query);
  json_t *d = get_data(p, path, &r);
  assert_int_equal(jint(d, "addressType"), 0);
  assert_string_equal(jstr(d, "address"), k->hex);
  assert_int_equal(jint(d, "maxResults"), 1000);
  (void)jint(d, "ledgerIndex");
  *count = jint(d, "count");
  json_t *ids = json_object_get(d, "outputIds");
  assert_true(json_is_array(ids));
  assert_int_equal((long long)json_array_size(ids), *count);
  for (size_t i = 0; i < json_array_size(ids); i++) {
    const char *s = json_string_value(json_array_get(ids, i));
    assert_non_null(s);
    assert_int_equal(strlen(s), 68);
  }
  json_incref(ids);
  resp_free(&r);
  return ids;
}

static bool ids_contain(json_t *ids, const char *id) {
  for (size_t i = 0; i < json_array_size(ids); i++)
    if (strcmp(json_string_value(json_array_get(ids, i)), id) == 0) return true;
  return false;
}

/* ---- group setup ---------------------------------------------------------- */

static char g_genesis_arg[200];
static char g_genesis_file_arg[400];

static int group_setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-lt-XXXXXX")) return -1;
  if (pg_crypto_init() != 0) return -1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  for (int i = 0; i < 32; i++) g_seed[i] = (uint8_t)(0x10 + i);
  snprintf(g_n.name, sizeof g_n.name, "node");
  snprintf(g_n.data_dir, sizeof g_n.data_dir, "%s/node", g_root);
  fprintf(stderr, "temporary directory %s\n", g_root);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  proc_kill(&g_n);
  curl_global_cleanup();
  harness_rmroot();
  return 0;
}

/* Node arguments: coordinator every second, no PoW, genesis as given. */
static void node_args(const char **argv, const char *genesis_set) {
  static const char *const base[] = {"--set", "coordinator.enabled=true",
                                     "--set", "coordinator.generate=true",
                                     "--set", "coordinator.interval=1s",
                                     "--set", "node.min_pow_score=0"};
  size_t n = 0;
  for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) argv[n++] = base[i];
  argv[n++] = "--set";
  argv[n++] = genesis_set;
  argv[n] = NULL;
}

/* Waits (deadline) until /info reports a confirmed milestone >= index. */
static long long wait_milestone(const proc *p, long long index) {
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    resp r;
    json_t *d = get_data(p, "/api/v1/info", &r);
    long long c = jint(d, "confirmedMilestoneIndex");
    resp_free(&r);
    if (c >= index) return c;
    if (now_ms() > deadline) {
      dump_log(p);
      fail_msg("no confirmed milestone %lld within %d ms", index, DEADLINE_CONFIRM_MS);
    }
    nap();
  }
}

/* ---- tests -------------------------------------------------------------- */

static void test_genesis_and_conflict(void **state) {
  (void)state;
  derive(&g_k0, 0, 0);
  derive(&g_k1, 0, 1);
  derive(&g_k2, 1, 0);
  snprintf(g_genesis_arg, sizeof g_genesis_arg, "ledger.genesis=%s:%llu", g_k0.bech,
           GENESIS_AMOUNT);
  const char *argv[16];
  node_args(argv, g_genesis_arg);
  proc_start(&g_n, argv);
  wait_milestone(&g_n, 1);

  /* the genesis output: the only output of the seed's first address */
  assert_int_equal(balance_of(&g_n, &g_k0), (long long)GENESIS_AMOUNT);
  long long count = 0;
  json_t *ids = outputs_of(&g_n, &g_k0, false, "", &count);
  assert_int_equal(count, 1);
  snprintf(g_genesis_out, sizeof g_genesis_out, "%s", json_string_value(json_array_get(ids, 0)));
  json_decref(ids);
  assert_int_equal(balance_of(&g_n, &g_k1), 0);

  /* A: 4 Mi to k1, 6 Mi back to k0 (as iota.js send() does with change);
   * B: everything to k2. Both spend the genesis output. */
  pg_tx_output_spec oa[2] = {{0, {0}, 4000000}, {0, {0}, GENESIS_AMOUNT - 4000000}};
  memcpy(oa[0].address, g_k1.addr, 32);
  memcpy(oa[1].address, g_k0.addr, 32);
  build_tx(&g_ta, g_genesis_out, &g_k0, oa, 2);
  pg_tx_output_spec ob[1] = {{0, {0}, GENESIS_AMOUNT}};
  memcpy(ob[0].address, g_k2.addr, 32);
  build_tx(&g_tb, g_genesis_out, &g_k0, ob, 1);

  /* posted back to back, before the next milestone if the machine allows */
  submit_json(&g_n, &g_ta);
  submit_raw(&g_n, &g_tb);
  wait_referenced(&g_n, &g_ta);
  wait_referenced(&g_n, &g_tb);
  fprintf(stderr, "A: milestone %lld %s (%lld); B: milestone %lld %s (%lld)\n", g_ta.ms_index,
          g_ta.included ? "included" : "conflicting", g_ta.conflict, g_tb.ms_index,
          g_tb.included ? "included" : "conflicting", g_tb.conflict);
  if (g_ta.included == g_tb.included)
    fail_msg("want exactly one of the two transfers included (A %d, B %d)", g_ta.included,
             g_tb.included);
  g_win = g_ta.included ? &g_ta : &g_tb;
  g_lose = g_ta.included ? &g_tb : &g_ta;
  if (g_lose->ms_index == g_win->ms_index)
    assert_int_equal(g_lose->conflict, 2); /* spent while confirming this milestone */
  else
    assert_int_equal(g_lose->conflict, 1); /* spent by an earlier milestone */
  assert_true(g_lose->ms_index >= g_win->ms_index);

  /* balances follow the winner */
  if (g_win == &g_ta) {
    assert_int_equal(balance_of(&g_n, &g_k0), (long long)GENESIS_AMOUNT - 4000000);
    assert_int_equal(balance_of(&g_n, &g_k1), 4000000);
    assert_int_equal(balance_of(&g_n, &g_k2), 0);
  } else {
    assert_int_equal(balance_of(&g_n, &g_k0), 0);
    assert_int_equal(balance_of(&g_n, &g_k1), 0);
    assert_int_equal(balance_of(&g_n, &g_k2), (long long)GENESIS_AMOUNT);
  }
}

static void test_routes(void **state) {
  (void)state;
  resp r;
  char path[300], oid[69];
  assert_non_null(g_win);

  /* the spent genesis output */
  snprintf(path, sizeof path, "/api/v1/outputs/%s", g_genesis_out);
  json_t *d = get_data(&g_n, path, &r);
  assert_string_equal(jstr(d, "messageId"), ZERO64);
  assert_true(strncmp(jstr(d, "transactionId"), g_genesis_out, 64) == 0);
  assert_int_equal(jint(d, "outputIndex"), 0);
  assert_true(json_is_true(json_object_get(d, "isSpent")));
  assert_int_equal(jint(d, "milestoneIndexSpent"), g_win->ms_index);
  assert_string_equal(jstr(d, "transactionIdSpent"), g_win->id_hex);
  assert_true(jint(d, "ledgerIndex") >= g_win->ms_index);
  json_t *o = json_object_get(d, "output");
  assert_int_equal(jint(o, "type"), 0);
  assert_int_equal(jint(o, "amount"), (long long)GENESIS_AMOUNT);
  assert_int_equal(jint(json_object_get(o, "address"), "type"), 0);
  assert_string_equal(jstr(json_object_get(o, "address"), "address"), g_k0.hex);
  resp_free(&r);

  /* an output of the winner: unspent, booked by its message */
  snprintf(oid, sizeof oid, "%s0000", g_win->id_hex);
  snprintf(path, sizeof path, "/api/v1/outputs/%s", oid);
  d = get_data(&g_n, path, &r);
  assert_string_equal(jstr(d, "messageId"), g_win->msg_id);
  assert_string_equal(jstr(d, "transactionId"), g_win->id_hex);
  assert_true(json_is_false(json_object_get(d, "isSpent")));
  assert_null(json_object_get(d, "milestoneIndexSpent"));
  assert_null(json_object_get(d, "transactionIdSpent"));
  assert_true(jint(json_object_get(d, "output"), "amount") > 0);
  resp_free(&r);
  /* the loser created nothing */
  snprintf(path, sizeof path, "/api/v1/outputs/%s0000", g_lose->id_hex);
  get(&g_n, path, &r);
  expect_error(&r, 404, "not found", "output of the conflicting transaction");
  resp_free(&r);

  /* address outputs: unspent by default, include-spent, type filters, both forms */
  long long unspent = 0, all = 0, n = 0;
  json_t *u = outputs_of(&g_n, &g_k0, false, "", &unspent);
  json_t *a = outputs_of(&g_n, &g_k0, true, "?include-spent=true", &all);
  assert_false(ids_contain(u, g_genesis_out));
  assert_true(ids_contain(a, g_genesis_out));
  assert_int_equal(all, unspent + 1);
  if (g_win == &g_ta) {
    assert_int_equal(unspent, 1);
    snprintf(oid, sizeof oid, "%s", json_string_value(json_array_get(u, 0)));
    assert_true(strncmp(oid, g_ta.id_hex, 64) == 0);
  } else {
    assert_int_equal(unspent, 0);
  }
  json_decref(u);
  json_decref(a);
  json_decref(outputs_of(&g_n, &g_k0, false, "?type=0&include-spent=true", &n));
  assert_int_equal(n, all);
  json_decref(outputs_of(&g_n, &g_k0, true, "?type=1&include-spent=true", &n));
  assert_int_equal(n, 0);
  json_decref(outputs_of(&g_n, &g_k0, false, "?include-spent=false", &n));
  assert_int_equal(n, unspent);

  /* an address nobody ever used: 200, balance 0, no outputs */
  key unused;
  derive(&unused, 0, 7);
  assert_int_equal(balance_of(&g_n, &unused), 0);
  json_decref(outputs_of(&g_n, &unused, true, "", &n));
  assert_int_equal(n, 0);

  /* included-message: the winner's message, as GET /messages/{id} shows it */
  snprintf(path, sizeof path, "/api/v1/transactions/%s/included-message", g_win->id_hex);
  d = get_data(&g_n, path, &r);
  resp r2;
  snprintf(path, sizeof path, "/api/v1/messages/%s", g_win->msg_id);
  json_t *m = get_data(&g_n, path, &r2);
  assert_true(json_equal(d, m));
  assert_int_equal(jint(json_object_get(d, "payload"), "type"), 0);
  resp_free(&r);
  resp_free(&r2);
  snprintf(path, sizeof path, "/api/v1/transactions/%s/included-message", g_lose->id_hex);
  get(&g_n, path, &r);
  expect_error(&r, 404, "not found", "included-message of the conflicting transaction");
  resp_free(&r);

  /* utxo-changes of the winner's milestone */
  snprintf(path, sizeof path, "/api/v1/milestones/%lld/utxo-changes", g_win->ms_index);
  d = get_data(&g_n, path, &r);
  assert_int_equal(jint(d, "index"), g_win->ms_index);
  json_t *created = json_object_get(d, "createdOutputs");
  json_t *consumed = json_object_get(d, "consumedOutputs");
  assert_true(ids_contain(consumed, g_genesis_out));
  snprintf(oid, sizeof oid, "%s0000", g_win->id_hex);
  assert_true(ids_contain(created, oid));
  assert_int_equal((long long)json_array_size(created), g_win == &g_ta ? 2 : 1);
  resp_free(&r);
  d = get_data(&g_n, "/api/v1/milestones/1/utxo-changes", &r);
  assert_int_equal(json_array_size(json_object_get(d, "createdOutputs")), 0);
  assert_int_equal(json_array_size(json_object_get(d, "consumedOutputs")), 0);
  resp_free(&r);

  /* receipts and treasury of a private network */
  d = get_data(&g_n, "/api/v1/receipts", &r);
  assert_true(json_is_array(json_object_get(d, "receipts")));
  assert_int_equal(json_array_size(json_object_get(d, "receipts")), 0);
  resp_free(&r);
  d = get_data(&g_n, "/api/v1/treasury", &r);
  assert_string_equal(jstr(d, "milestoneId"), ZERO64);
  assert_int_equal(jint(d, "amount"), 0);
  resp_free(&r);

  /* bad input: 400 naming the problem; unknown items: 404 */
  static const struct {
    const char *path;
    long status;
    const char *needle;
  } bad[] = {
      {"/api/v1/outputs/1234", 400, "output id"},
      {"/api/v1/outputs/zz" ZERO64 "00", 400, "output id"},
      {"/api/v1/outputs/" ZERO64 "0000", 404, "not found"},
      {"/api/v1/addresses/ed25519/abcd", 400, "address"},
      {"/api/v1/addresses/ed25519/" ZERO64 "/outputs?type=7", 400, "type"},
      {"/api/v1/addresses/ed25519/" ZERO64 "/outputs?include-spent=maybe", 400, "include-spent"},
      {"/api/v1/addresses/atoi1notanaddress", 400, "bech32"},
      /* TIP-11 vector with the mainnet HRP: the node expects "atoi" */
      {"/api/v1/addresses/iota1qrhacyfwlcnzkvzteumekfkrrwks98mpdm37cj4xx3drvmjvnep6xqgyzyx", 400,
       "atoi"},
      {"/api/v1/addresses/iota1qrhacyfwlcnzkvzteumekfkrrwks98mpdm37cj4xx3drvmjvnep6xqgyzyx/outputs",
       400, "atoi"},
      {"/api/v1/transactions/xyz/included-message", 400, "transaction id"},
      {"/api/v1/transactions/" ZERO64 "/included-message", 404, "not found"},
      {"/api/v1/milestones/abc/utxo-changes", 400, "milestone index"},
      {"/api/v1/milestones/4000000000/utxo-changes", 404, "not found"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    get(&g_n, bad[i].path, &r);
    expect_error(&r, bad[i].status, bad[i].needle, bad[i].path);
    resp_free(&r);
  }
}

/* Runs `p2pgrid node` that must fail: waits (deadline) for its exit status. */
static int run_failing(const proc *p, const char *const *extra, const char *log) {
  const char *argv[32];
  int argc = 0;
  argv[argc++] = P2PGRID_BIN;
  argv[argc++] = "node";
  argv[argc++] = "--data-dir";
  argv[argc++] = p->data_dir;
  argv[argc++] = "--port";
  argv[argc++] = "0";
  for (int i = 0; extra[i]; i++) argv[argc++] = extra[i];
  argv[argc] = NULL;
  pid_t pid = spawn_logged(argv, log);
  uint64_t deadline = now_ms() + DEADLINE_START_MS;
  int st = 0;
  while (waitpid(pid, &st, WNOHANG) != pid) {
    if (now_ms() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      fail_msg("node with a bad configuration did not exit within %d ms", DEADLINE_START_MS);
    }
    nap();
  }
  assert_true(WIFEXITED(st));
  return WEXITSTATUS(st);
}

static void test_restart(void **state) {
  (void)state;
  assert_non_null(g_win);
  /* what the ledger says before the stop */
  long long b0 = balance_of(&g_n, &g_k0), b1 = balance_of(&g_n, &g_k1),
            b2 = balance_of(&g_n, &g_k2), n = 0;
  json_t *before = outputs_of(&g_n, &g_k0, false, "?include-spent=true", &n);
  resp r;
  char path[200];
  snprintf(path, sizeof path, "/api/v1/outputs/%s", g_genesis_out);
  json_t *gout = json_deep_copy(get_data(&g_n, path, &r));
  resp_free(&r);
  json_object_del(gout, "ledgerIndex");
  proc_stop(&g_n);

  /* the same genesis, now from a file with the address in hex */
  char file[300];
  snprintf(file, sizeof file, "%s/genesis.txt", g_root);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fprintf(f, "# test genesis\n%s %llu\n", g_k0.hex, GENESIS_AMOUNT);
  fclose(f);
  snprintf(g_genesis_file_arg, sizeof g_genesis_file_arg, "ledger.genesis_file=%s", file);
  const char *argv[16];
  node_args(argv, g_genesis_file_arg);
  proc_start(&g_n, argv);
  assert_int_equal(balance_of(&g_n, &g_k0), b0);
  assert_int_equal(balance_of(&g_n, &g_k1), b1);
  assert_int_equal(balance_of(&g_n, &g_k2), b2);
  json_t *after = outputs_of(&g_n, &g_k0, false, "?include-spent=true", &n);
  assert_true(json_equal(before, after));
  json_decref(before);
  json_decref(after);
  json_t *g2 = json_deep_copy(get_data(&g_n, path, &r));
  resp_free(&r);
  json_object_del(g2, "ledgerIndex");
  assert_true(json_equal(gout, g2));
  json_decref(gout);
  json_decref(g2);

  /* the ledger goes on: the winner's first output moves on to k1 */
  const key *owner = g_win == &g_ta ? &g_k1 : &g_k2;
  char oid[69];
  snprintf(oid, sizeof oid, "%s0000", g_win->id_hex);
  snprintf(path, sizeof path, "/api/v1/outputs/%s", oid);
  json_t *d = get_data(&g_n, path, &r);
  long long amount = jint(json_object_get(d, "output"), "amount");
  assert_string_equal(jstr(json_object_get(json_object_get(d, "output"), "address"), "address"),
                      owner->hex);
  resp_free(&r);
  key dest;
  derive(&dest, 1, 3);
  pg_tx_output_spec oc[1] = {{0, {0}, (uint64_t)amount}};
  memcpy(oc[0].address, dest.addr, 32);
  tx tc;
  build_tx(&tc, oid, owner, oc, 1);
  submit_json(&g_n, &tc);
  wait_referenced(&g_n, &tc);
  if (!tc.included) fail_msg("transfer after restart: conflicting (%lld)", tc.conflict);
  assert_int_equal(balance_of(&g_n, &dest), amount);
  proc_stop(&g_n);

  /* another genesis on the same data: refused with exit 2, naming the genesis */
  char other[200], log[300];
  snprintf(other, sizeof other, "ledger.genesis=%s:%llu", g_k0.bech, GENESIS_AMOUNT + 1);
  node_args(argv, other);
  snprintf(log, sizeof log, "%s/other-genesis.log", g_root);
  int st = run_failing(&g_n, argv, log);
  char *out = slurp(log, NULL);
  assert_non_null(out);
  if (st != 2 || !strstr(out, "genesis"))
    fail_msg("start with another genesis: exit %d, output '%s' (want exit 2 naming the genesis)",
             st, out);
  free(out);

  /* a bad genesis entry is a configuration error naming the item */
  snprintf(other, sizeof other, "ledger.genesis=%s:lots", g_k0.bech);
  node_args(argv, other);
  st = run_failing(&g_n, argv, log);
  out = slurp(log, NULL);
  assert_non_null(out);
  if (st != 2 || !strstr(out, "[ledger] genesis item 1") || !strstr(out, "amount"))
    fail_msg("bad genesis amount: exit %d, output '%s'", st, out);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_genesis_and_conflict),
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_restart),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
