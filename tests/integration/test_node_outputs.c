/* POST /api/plugins/data/outputs: many output lookups, with the messages
 * that made them, in one request (p2pgrid/ledger/outputs.h), and the
 * client's pg_client_outputs_many over it.
 *
 * A node runs in-process (pg_node: a real HTTP server on 127.0.0.1, a
 * temporary data dir, a genesis of two wallets, milestones issued by the
 * test); the test talks to it with pg_client and pg_http_call.
 * - Every output of the run (the genesis's, one spent; 120 payments of two
 *   transfers, one with a reference; the remainders) and an id the node
 *   does not know, looked up four ways: in batches with the messages'
 *   bytes, in batches without, in batches whose answers are cut by a
 *   64 KiB max_response, and one GET each (rest_only); and in-process.
 *   Every item's rc, fields and bytes are the same, each message's bytes
 *   those of GET raw; the node counts outputs requests only for the
 *   batches.
 * - Hostile bodies (bad version and flags, truncated head and ids, no ids,
 *   1,001 ids, trailing bytes, a budget under 64 KiB, another media type,
 *   over api.max_body): refused with a message naming the problem, counted
 *   under outputs_post 4xx, and the node answers a good request after.
 * - A node whose POSTs need a token answers an outputs request without
 *   one (a read). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/client/wallet.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/ledger/outputs.h"
#include "p2pgrid/node/node.h"
#include "../unit/test_util_tmpdir.h"
#include "inproc_node.h"

#define MI 1000000ULL
#define START (100000 * MI)
#define PAID 120 /* payments: 100 in the first transfer, 20 in the second */

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = tu_mktmp("p2pgrid-outputs");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  g_dir = NULL;
  return 0;
}

static long long outputs_requests(const char *base, const char *status) {
  return tn_route_requests(base, "outputs_post", status);
}

/* The run: a node with two funded wallets, milestones by the test. */
typedef struct run {
  pg_node *node;
  char base[64];
  uint8_t seed[2][32], addr[2][32], coo_sk[1][64];
  uint8_t paid[PAID][32]; /* the payments' addresses */
} run;

static void run_start(run *r, const char *name, const char *token, size_t max_body) {
  memset(r, 0, sizeof *r);
  pg_genesis_output genesis[2];
  for (int i = 0; i < 2; i++) {
    memset(r->seed[i], 0x11 * (i + 1), 32);
    assert_int_equal(pg_iota_keypair(r->seed[i], 32, 0, 0, 0, NULL, NULL, r->addr[i]), PG_OK);
    memcpy(genesis[i].address, r->addr[i], 32);
    genesis[i].amount = START;
  }
  uint8_t coo_seed[32], coo_pk[32];
  memset(coo_seed, 0xc0, sizeof coo_seed);
  pg_ed25519_from_seed(coo_seed, coo_pk, r->coo_sk[0]);
  pg_node_config nc;
  pg_node_config_init(&nc);
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
  free(nc.data_dir);
  nc.data_dir = strdup(dir);
  nc.port = 0;
  nc.min_pow_score = 0;
  if (max_body) nc.max_body = max_body;
  nc.ms_keys_count = 1;
  memcpy(nc.ms_public_keys[0], coo_pk, 32);
  nc.ms_threshold = 1;
  nc.genesis = malloc(sizeof genesis);
  memcpy(nc.genesis, genesis, sizeof genesis);
  nc.genesis_count = 2;
  if (token) { /* what post_tokens_file gives: the token's digest */
    nc.post_token_hashes = malloc(32);
    assert_non_null(nc.post_token_hashes);
    pg_blake2b256((const uint8_t *)token, strlen(token), nc.post_token_hashes[0]);
    nc.post_token_count = 1;
  }
  pg_diag d = {{0}};
  if (pg_node_start(&nc, &r->node, &d)) fail_msg("start: %s", d.msg);
  pg_node_config_clear(&nc);
  snprintf(r->base, sizeof r->base, "http://127.0.0.1:%u", (unsigned)pg_node_port(r->node));
}

static void milestone(run *r) {
  uint32_t ms = 0;
  pg_diag d = {{0}};
  if (pg_tangle_issue_milestone(pg_node_tangle(r->node), r->coo_sk, 1, NULL, &ms, &d))
    fail_msg("milestone: %s", d.msg);
}

/* Wallet 0 pays PAID addresses in two transfers (the second with a
 * reference), each confirmed by a milestone. */
static void pay(run *r) {
  pg_client *c = tn_client(r->base, 0, false);
  pg_wallet *w = NULL;
  pg_diag d = {{0}};
  if (pg_wallet_new(c, r->seed[0], 32, NULL, &w, &d)) fail_msg("wallet: %s", d.msg);
  milestone(r);
  pg_wallet_output outs[100];
  for (size_t i = 0; i < PAID; i++) {
    memset(r->paid[i], 0, 32);
    memcpy(r->paid[i], &i, sizeof i);
    r->paid[i][31] = 0xa5;
  }
  for (int t = 0, at = 0; t < 2; t++) {
    size_t n = t == 0 ? 100 : PAID - 100;
    for (size_t i = 0; i < n; i++) {
      outs[i] = (pg_wallet_output){.amount = MI + i};
      memcpy(outs[i].address, r->paid[at + i], 32);
    }
    pg_wallet_send_opts o = {.index = (const uint8_t *)"bill-42", .index_len = 7};
    if (pg_wallet_send(w, outs, n, t ? &o : NULL, NULL, NULL, &d)) fail_msg("send: %s", d.msg);
    milestone(r);
    at += (int)n;
  }
  pg_wallet_free(w);
  pg_client_free(c);
}

/* Every output of the run's addresses (spent too), then an unknown id. */
static size_t all_outputs(run *r, pg_client_output_got **v) {
  pg_client *c = tn_client(r->base, 0, true);
  size_t n = 0, cap = PAID + 16;
  *v = calloc(cap, sizeof **v);
  assert_non_null(*v);
  pg_diag d = {{0}};
  for (size_t a = 0; a < PAID + 2; a++) {
    const uint8_t *addr = a < 2 ? r->addr[a] : r->paid[a - 2];
    uint8_t ids[8][PG_OUTPUT_ID_LEN];
    size_t count = 0, total = 0;
    if (pg_client_address_outputs(c, addr, true, ids, 8, &count, &total, &d))
      fail_msg("outputs: %s", d.msg);
    for (size_t k = 0; k < count; k++) {
      assert_true(n < cap - 1);
      memcpy((*v)[n++].id, ids[k], PG_OUTPUT_ID_LEN);
    }
  }
  memset((*v)[n].id, 0x77, PG_OUTPUT_ID_LEN); /* nobody's */
  n++;
  pg_client_free(c);
  return n;
}

static pg_client_output_got *copy_ids(const pg_client_output_got *v, size_t n) {
  pg_client_output_got *c = calloc(n, sizeof *c);
  assert_non_null(c);
  for (size_t i = 0; i < n; i++) memcpy(c[i].id, v[i].id, PG_OUTPUT_ID_LEN);
  return c;
}

static void lookup(pg_client *c, pg_client_output_got *v, size_t n, bool raw) {
  pg_diag d = {{0}};
  if (pg_client_outputs_many(c, v, n, raw, &d)) fail_msg("outputs many: %s", d.msg);
}

static void assert_same(const pg_client_output_got *a, const pg_client_output_got *b, size_t i,
                        bool raw) {
  if (a->rc != b->rc) fail_msg("output %zu: rc %d / %d (%s / %s)", i, a->rc, b->rc, a->d.msg, b->d.msg);
  if (a->rc) return;
  pg_output_info x = a->info, y = b->info;
  if (b->info.booked_index == 0) x.booked_index = 0; /* GET outputs/{id} does not say it */
  assert_memory_equal(&x, &y, sizeof x);
  if (!raw) {
    assert_null(a->raw);
    return;
  }
  if (a->raw_rc != b->raw_rc) fail_msg("output %zu: raw_rc %d / %d", i, a->raw_rc, b->raw_rc);
  assert_int_equal(a->raw_len, b->raw_len);
  if (a->raw_len) assert_memory_equal(a->raw, b->raw, a->raw_len);
}

static void free_all(pg_client_output_got *v, size_t n) {
  for (size_t i = 0; i < n; i++) pg_client_output_got_clear(&v[i]);
  free(v);
}

static void test_batched_lookups_match_one_by_one(void **state) {
  (void)state;
  static run r;
  run_start(&r, "same", NULL, 0);
  pay(&r);
  pg_client_output_got *ids = NULL;
  size_t n = all_outputs(&r, &ids);
  assert_true(n >= PAID + 4); /* genesis 2, payments, remainders, the unknown one */
  pg_client_output_got *batched = copy_ids(ids, n), *bare = copy_ids(ids, n),
                       *cut = copy_ids(ids, n), *each = copy_ids(ids, n),
                       *local = copy_ids(ids, n);
  pg_client *c = tn_client(r.base, 0, false), *small = tn_client(r.base, PG_OUTPUTS_BUDGET_MIN, false),
            *rest = tn_client(r.base, 0, true), *in = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_client_local_new(pg_node_tangle(r.node), pg_node_ledger(r.node), &in, &d),
                   PG_OK);
  long long q0 = outputs_requests(r.base, "2xx");
  lookup(c, batched, n, true);
  long long q1 = outputs_requests(r.base, "2xx");
  lookup(c, bare, n, false);
  long long q2 = outputs_requests(r.base, "2xx");
  lookup(small, cut, n, true);
  long long q3 = outputs_requests(r.base, "2xx");
  lookup(rest, each, n, true);
  assert_int_equal(outputs_requests(r.base, "2xx"), q3); /* rest_only: GETs only */
  lookup(in, local, n, true);
  assert_int_equal(q1 - q0, 1);
  assert_int_equal(q2 - q1, 1);
  /* 100 payments carry the bytes of a transfer of 100 outputs each */
  if (q3 - q2 < 5) fail_msg("%lld outputs requests under a 64 KiB budget", q3 - q2);
  size_t found = 0, with_raw = 0, genesis = 0, referenced = 0;
  for (size_t i = 0; i < n; i++) {
    assert_same(&batched[i], &local[i], i, true); /* the node's own view, whole */
    assert_same(&batched[i], &each[i], i, true);
    assert_same(&cut[i], &each[i], i, true);
    assert_same(&local[i], &each[i], i, true);
    assert_same(&bare[i], &each[i], i, false);
    if (each[i].rc) continue;
    found++;
    if (each[i].raw_rc == PG_ERR_NOT_FOUND) genesis++;
    if (each[i].raw_rc != PG_OK) continue;
    with_raw++;
    pg_buf raw; /* the very bytes of GET raw */
    pg_buf_init(&raw, PG_MSG_MAX_LEN);
    if (pg_client_get_raw(c, each[i].info.message_id, &raw, &d)) fail_msg("raw: %s", d.msg);
    assert_int_equal(raw.len, batched[i].raw_len);
    assert_memory_equal(raw.data, batched[i].raw, raw.len);
    referenced += memmem(raw.data, raw.len, "bill-42", 7) != NULL;
    pg_buf_free(&raw);
  }
  assert_int_equal(each[n - 1].rc, PG_ERR_NOT_FOUND);
  assert_non_null(strstr(batched[n - 1].d.msg, "7777"));
  assert_int_equal(found, n - 1);
  assert_int_equal(genesis, 2);               /* no message: the genesis snapshot */
  assert_int_equal(with_raw, found - 2);
  assert_true(referenced >= PAID - 100);      /* the second transfer's payments */
  size_t spent = 0;
  for (size_t i = 0; i < n; i++) spent += each[i].rc == PG_OK && each[i].info.spent;
  assert_true(spent >= 2); /* the genesis output of wallet 0, its first remainder */
  free_all(batched, n), free_all(bare, n), free_all(cut, n), free_all(each, n);
  free_all(local, n), free(ids);
  pg_client_free(c), pg_client_free(small), pg_client_free(rest), pg_client_free(in);
  pg_node_stop(r.node);
}

/* Wallet 0 pays a fresh wallet 400 times (one transfer and milestone each,
 * in-process): 1 Mi, but 200 Mi for payments 130..256. Then that wallet,
 * over HTTP (batched or rest_only) or in-process, sends an amount only
 * those 127 large outputs cover: its input selection takes the 127 oldest,
 * then visits the rest newest first (143 small ones, then the large ones,
 * each swapped in): over HTTP that is lookups in three directions' chunks.
 * *tx its transaction's id (the same payments and selection give the same
 * id on any node of the same genesis). */
/* What counting the dust (pg_wallet_count_outputs) of the 400 outputs saw
 * and the outputs requests it made. */
typedef struct counted {
  size_t outputs, dust;
  long long posts;
} counted;

static void select_inputs(run *r, bool http, bool rest_only, uint8_t tx[32], long long *posts,
                          counted *cnt) {
  pg_client *in = NULL;
  pg_diag d = {{0}};
  assert_int_equal(pg_client_local_new(pg_node_tangle(r->node), pg_node_ledger(r->node), &in, &d),
                   PG_OK);
  pg_wallet *payer = NULL, *me = NULL;
  uint8_t seed[32], addr[32];
  memset(seed, 0x33, sizeof seed);
  assert_int_equal(pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, addr), PG_OK);
  if (pg_wallet_new(in, r->seed[0], 32, NULL, &payer, &d)) fail_msg("wallet: %s", d.msg);
  milestone(r);
  for (uint64_t k = 0; k < 400; k++) {
    pg_wallet_output out = {.amount = k >= 130 && k < 257 ? 200 * MI : MI};
    memcpy(out.address, addr, 32);
    if (pg_wallet_send(payer, &out, 1, NULL, NULL, NULL, &d)) fail_msg("pay %llu: %s",
                                                                   (unsigned long long)k, d.msg);
    milestone(r);
  }
  pg_client *c = http ? tn_client(r->base, 0, rest_only) : in;
  if (pg_wallet_new(c, seed, 32, NULL, &me, &d)) fail_msg("wallet: %s", d.msg);
  long long q0 = outputs_requests(r->base, "2xx");
  if (pg_wallet_count_outputs(me, 0, 0, &cnt->outputs, &cnt->dust, &d))
    fail_msg("count: %s", d.msg);
  cnt->posts = outputs_requests(r->base, "2xx") - q0;
  q0 = outputs_requests(r->base, "2xx");
  /* the 127 large ones are 25,400 Mi; the oldest 127 only 127 */
  pg_wallet_output out = {.amount = 25000 * MI};
  memset(out.address, 0x44, 32);
  if (pg_wallet_send(me, &out, 1, NULL, NULL, tx, &d)) fail_msg("send: %s", d.msg);
  *posts = outputs_requests(r->base, "2xx") - q0;
  pg_wallet_free(me), pg_wallet_free(payer);
  if (c != in) pg_client_free(c);
  pg_client_free(in);
}

static void test_wallet_selects_the_same_inputs(void **state) {
  (void)state;
  static run r;
  uint8_t tx[3][32];
  long long posts[3];
  counted cnt[3];
  static const char *names[] = {"sel-batch", "sel-rest", "sel-local"};
  for (int k = 0; k < 3; k++) {
    run_start(&r, names[k], NULL, 0);
    select_inputs(&r, k < 2, k == 1, tx[k], &posts[k], &cnt[k]);
    pg_node_stop(r.node);
  }
  /* counting the dust: the same counts, the 400 outputs in one request
   * batched (400 GETs with rest_only) */
  for (int k = 0; k < 3; k++) {
    assert_int_equal(cnt[k].outputs, 400);
    assert_int_equal(cnt[k].dust, 0);
  }
  assert_int_equal(cnt[0].posts, 1);
  assert_int_equal(cnt[1].posts, 0);
  assert_int_equal(cnt[2].posts, 0);
  assert_memory_equal(tx[0], tx[2], 32); /* batched over HTTP: the in-process choice */
  assert_memory_equal(tx[1], tx[2], 32); /* one GET an output: the same */
  /* 400 outputs visited oldest first, then newest first: chunks of 128 */
  if (posts[0] < 2 || posts[0] > 6) fail_msg("%lld outputs requests for one send", posts[0]);
  assert_int_equal(posts[1], 0);
  assert_int_equal(posts[2], 0);
}

/* head: version 01, flags 00, budget 00000100 (64 KiB), count */
#define HEAD "0100" "00000100"
#define ID "0000000000000000000000000000000000000000000000000000000000000000" "0000"

static void test_hostile_requests_refused(void **state) {
  (void)state;
  static run r;
  run_start(&r, "hostile", NULL, 4096);
  static const tn_hostile cases[] = {
      {"version 2", NULL, "0200" "00000100" "0100" ID, 400, "version 2"},
      {"flags", NULL, "0102" "00000100" "0100" ID, 400, "unknown flags 0x02"},
      {"head", NULL, "01000000", 400, "shorter than its 8-byte head"},
      {"no ids", NULL, HEAD "0000", 400, "0 ids"},
      {"1001 ids", NULL, HEAD "e903" ID, 400, "1001 ids"},
      {"truncated", NULL, HEAD "0200" ID, 400, "2 ids of 34 bytes announced"},
      {"trailing", NULL, HEAD "0100" ID "00", 400, "after its last id"},
      {"budget", NULL, "0100" "ffff0000" "0100" ID, 400, "budget of 65535 bytes"},
      {"json", "application/json", HEAD "0100" ID, 415, "application/octet-stream"},
  };
  size_t nc = sizeof cases / sizeof cases[0];
  long long bad0 = outputs_requests(r.base, "4xx");
  tn_hostile_run(r.base, "outputs", cases, nc);
  assert_int_equal(outputs_requests(r.base, "4xx") - bad0, (long long)nc);
  static uint8_t big[8192] = {1, 0, 0, 0, 1, 0, 0xe8, 3}; /* the HTTP server's own 413 */
  pg_http_result h = tn_post(r.base, "outputs", NULL, big, sizeof big);
  assert_int_equal(h.status, 413);
  pg_http_result_free(&h);
  /* the node still answers: one id nobody has */
  uint8_t good[8 + PG_OUTPUT_ID_LEN] = {1, 0, 0, 0, 1, 0, 1, 0};
  h = tn_post(r.base, "outputs", NULL, good, sizeof good);
  assert_int_equal(h.status, 200);
  uint8_t want[] = {1, 0, 1, 0, 0};
  assert_int_equal(h.len, sizeof want);
  assert_memory_equal(h.body, want, sizeof want);
  pg_http_result_free(&h);
  pg_node_stop(r.node);
}

static void test_open_to_readers(void **state) {
  (void)state;
  static run r;
  run_start(&r, "readers", "outputs-test-token-0123456789abcdef", 0);
  /* genesis output 0 of wallet 0: found, no message */
  uint8_t good[8 + PG_OUTPUT_ID_LEN] = {1, 1, 0, 0, 1, 0, 1, 0}, tx[32];
  pg_genesis_tx_id(0, tx);
  pg_output_id(tx, 0, good + 8);
  pg_http_result h = tn_post(r.base, "outputs", NULL, good, sizeof good);
  assert_int_equal(h.status, 200);
  pg_outputs_item it;
  size_t got = 0;
  pg_diag d = {{0}};
  if (pg_outputs_ans_parse((const uint8_t *)h.body, h.len,
                           (const uint8_t(*)[PG_OUTPUT_ID_LEN])(good + 8), 1, true, &it, &got, &d))
    fail_msg("answer: %s", d.msg);
  assert_int_equal(got, 1);
  assert_true(it.found);
  assert_int_equal(it.info.amount, START);
  assert_int_equal(it.raw_len, 0);
  pg_http_result_free(&h);
  uint8_t batch[] = {1, 1, 0, 0, 1, 'a', 0, 0, 0, 0};
  h = tn_post(r.base, "batch", NULL, batch, sizeof batch);
  assert_int_equal(h.status, 401);
  pg_http_result_free(&h);
  pg_node_stop(r.node);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batched_lookups_match_one_by_one),
      cmocka_unit_test(test_wallet_selects_the_same_inputs),
      cmocka_unit_test(test_hostile_requests_refused),
      cmocka_unit_test(test_open_to_readers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
