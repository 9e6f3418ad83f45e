/* 1000 random transfers among 20 wallets through a real node's REST API.
 *
 * The node runs in-process (pg_node: real HTTP server on 127.0.0.1, real
 * Tangle and ledger); the wallets talk to it over HTTP with pg_client. The
 * test plays coordinator: after each round of transfers it issues a
 * milestone, so the run is fast and needs no timing. It checks that every
 * transfer is included, that every wallet's balance equals the model's, and
 * that the ledger still sums to the genesis supply. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/hash.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/node/node.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/ledger/transaction.h"
#include "p2pgrid/client/wallet.h"

#define NWALLETS 20
#define TRANSFERS 1000
#define MI 1000000ULL
#define START (100 * MI)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(uint64_t n) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state % n;
}

/* Starts the in-process node on nc; url gets its HTTP base URL. */
static pg_node *start_node(pg_node_config *nc, char *url, size_t url_cap) {
  pg_diag d = {{0}};
  pg_node *node = NULL;
  int rc = pg_node_start(nc, &node, &d);
  if (rc) print_error("node: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  snprintf(url, url_cap, "http://127.0.0.1:%u", pg_node_port(node));
  return node;
}

/* Frees the client, stops the node and removes its data dir. */
static void stop_node(pg_client *c, pg_node *node, pg_node_config *nc, const char *dir) {
  pg_client_free(c);
  pg_node_stop(node);
  pg_node_config_clear(nc);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

/* Wallets over HTTP, or over the in-process client on the same node. */
static void random_transfers(bool in_process) {
  char dir[] = "/tmp/p2pgrid-wr-XXXXXX";
  assert_non_null(mkdtemp(dir));

  uint8_t seeds[NWALLETS][32], addr[NWALLETS][32];
  pg_genesis_output genesis[NWALLETS];
  for (int i = 0; i < NWALLETS; i++) {
    memset(seeds[i], 0, 32);
    seeds[i][0] = (uint8_t)(i + 1);
    seeds[i][31] = 0x5a;
    assert_int_equal(pg_iota_keypair(seeds[i], 32, 0, 0, 0, NULL, NULL, addr[i]), PG_OK);
    memcpy(genesis[i].address, addr[i], 32);
    genesis[i].amount = START;
  }
  uint8_t coo_seed[32], coo_pk[32], coo_sk[1][64];
  memset(coo_seed, 0xc0, sizeof coo_seed);
  pg_ed25519_from_seed(coo_seed, coo_pk, coo_sk[0]);

  pg_node_config nc;
  pg_node_config_init(&nc);
  free(nc.data_dir);
  nc.data_dir = strdup(dir);
  nc.port = 0;
  nc.min_pow_score = 0;
  nc.coo_enabled = false; /* the test issues milestones itself */
  nc.ms_keys_count = 1;
  memcpy(nc.ms_public_keys[0], coo_pk, 32);
  nc.ms_threshold = 1;
  nc.dust_protection = true;
  nc.genesis = malloc(sizeof genesis);
  memcpy(nc.genesis, genesis, sizeof genesis);
  nc.genesis_count = NWALLETS;

  pg_diag d = {{0}};
  char url[64];
  pg_node *node = start_node(&nc, url, sizeof url);
  int rc;
  pg_tangle *t = pg_node_tangle(node);

  pg_client *c = NULL;
  if (in_process)
    assert_int_equal(pg_client_local_new(t, pg_node_ledger(node), &c, &d), PG_OK);
  else
    assert_int_equal(pg_client_http_new(&(pg_http_client_opts){.base_url = url}, &c, &d), PG_OK);
  pg_wallet *w[NWALLETS];
  for (int i = 0; i < NWALLETS; i++)
    assert_int_equal(pg_wallet_new(c, seeds[i], 32, NULL, &w[i], &d), PG_OK);

  uint32_t ms;
  assert_int_equal(pg_tangle_issue_milestone(t, coo_sk, 1, NULL, &ms, &d), PG_OK);

  uint64_t expect[NWALLETS];
  for (int i = 0; i < NWALLETS; i++) expect[i] = START;
  int done = 0, rounds = 0;
  while (done < TRANSFERS) {
    uint8_t sent[NWALLETS][32];
    int from[NWALLETS], to[NWALLETS], n = 0;
    uint64_t amount[NWALLETS];
    /* each wallet sends at most once a round: its remainder is unconfirmed */
    for (int i = 0; i < NWALLETS && done + n < TRANSFERS; i++) {
      if (expect[i] < MI || rnd(4) == 0) continue;
      int j = (int)rnd(NWALLETS - 1);
      if (j >= i) j++;
      uint64_t max_mi = expect[i] / MI < 10 ? expect[i] / MI : 10;
      uint64_t a = (1 + rnd(max_mi)) * MI;
      pg_wallet_output out = {.amount = a};
      memcpy(out.address, addr[j], 32);
      rc = pg_wallet_send(w[i], &out, 1, NULL, sent[n], NULL, &d);
      if (rc) print_error("transfer %d (%d -> %d, %llu): %s\n", done + n, i, j,
                          (unsigned long long)a, d.msg);
      assert_int_equal(rc, PG_OK);
      from[n] = i;
      to[n] = j;
      amount[n] = a;
      n++;
    }
    assert_int_equal(pg_tangle_issue_milestone(t, coo_sk, 1, NULL, &ms, &d), PG_OK);
    for (int k = 0; k < n; k++) {
      uint8_t fin[32];
      rc = pg_wallet_follow(w[from[k]], sent[k], &(pg_wallet_follow_opts){.timeout_ms = 10000},
                            fin, &d);
      if (rc) print_error("transfer in round %d: %s\n", rounds, d.msg);
      assert_int_equal(rc, PG_OK);
      expect[from[k]] -= amount[k];
      expect[to[k]] += amount[k];
    }
    done += n;
    rounds++;
  }

  uint64_t sum = 0;
  for (int i = 0; i < NWALLETS; i++) {
    uint64_t b = 0;
    assert_int_equal(pg_wallet_balance(w[i], &b, &d), PG_OK);
    if (b != expect[i]) print_error("wallet %d: balance %llu, expected %llu\n", i,
                                    (unsigned long long)b, (unsigned long long)expect[i]);
    assert_int_equal(b, expect[i]);
    sum += b;
  }
  assert_int_equal(sum, NWALLETS * START);
  uint64_t supply = 0;
  assert_int_equal(pg_ledger_supply(pg_node_ledger(node), &supply), PG_OK);
  assert_int_equal(supply, NWALLETS * START);
  printf("# %s: %d transfers in %d rounds, %u milestones; balances and supply exact\n",
         pg_client_kind(c), done, rounds, ms);

  for (int i = 0; i < NWALLETS; i++) pg_wallet_free(w[i]);
  stop_node(c, node, &nc, dir);
}

static void test_random_transfers_http(void **state) {
  (void)state;
  random_transfers(false);
}

static void test_random_transfers_in_process(void **state) {
  (void)state;
  random_transfers(true);
}

/* A transfer attached to stale parents (milestone 1, long after) is lazy: the
 * node says shouldReattach and pg_wallet_follow must get it confirmed by
 * reattaching its payload on fresh tips. The coordinator runs in the node. */
static void test_follow_reattaches_stale_transfer(void **state) {
  (void)state;
  char dir[] = "/tmp/p2pgrid-wf-XXXXXX";
  assert_non_null(mkdtemp(dir));
  uint8_t seeds[2][32], addr[2][32], sk0[64];
  for (int i = 0; i < 2; i++) {
    memset(seeds[i], 0x30 + i, 32);
    assert_int_equal(pg_iota_keypair(seeds[i], 32, 0, 0, 0, NULL, i ? NULL : sk0, addr[i]), PG_OK);
  }
  uint8_t coo_seed[32], coo_pk[32];
  memset(coo_seed, 0xc1, sizeof coo_seed);

  pg_node_config nc;
  pg_node_config_init(&nc);
  free(nc.data_dir);
  nc.data_dir = strdup(dir);
  nc.port = 0;
  nc.min_pow_score = 0;
  nc.coo_enabled = true;
  nc.coo_interval_ms = 150;
  nc.coo_keys_count = 1;
  pg_ed25519_from_seed(coo_seed, coo_pk, nc.coo_secret_keys[0]);
  nc.ms_keys_count = 1;
  memcpy(nc.ms_public_keys[0], coo_pk, 32);
  nc.ms_threshold = 1;
  nc.tsc_c1 = 2;
  nc.tsc_c2 = 2;
  nc.tsc_max_depth = 3;
  nc.genesis = malloc(sizeof(pg_genesis_output));
  memcpy(nc.genesis[0].address, addr[0], 32);
  nc.genesis[0].amount = START;
  nc.genesis_count = 1;

  pg_diag d = {{0}};
  char url[64];
  pg_node *node = start_node(&nc, url, sizeof url);
  pg_client *c = NULL;
  assert_int_equal(pg_client_http_new(&(pg_http_client_opts){.base_url = url}, &c, &d), PG_OK);
  pg_wallet *w = NULL;
  assert_int_equal(pg_wallet_new(c, seeds[0], 32, NULL, &w, &d), PG_OK);

  /* wait (with a deadline) until milestone 1 is well below max depth */
  pg_node_info info;
  uint64_t deadline = pg_monotonic_ms() + 30000;
  do {
    assert_int_equal(pg_client_info(c, &info, &d), PG_OK);
    assert_true(pg_monotonic_ms() < deadline);
    if (info.confirmed_milestone_index < 6) {
      struct timespec ts = {0, 20 * 1000000L};
      nanosleep(&ts, NULL);
    }
  } while (info.confirmed_milestone_index < 6);
  pg_milestone_info ms1;
  assert_int_equal(pg_client_milestone(c, 1, &ms1, &d), PG_OK);

  /* the genesis output, spent on stale parents */
  uint8_t gtx[32];
  pg_genesis_tx_id(0, gtx);
  pg_tx_input_spec in;
  memcpy(in.tx_id, gtx, 32);
  in.output_index = 0;
  memcpy(in.secret_key, sk0, 64);
  pg_tx_output_spec out = {.type = 0, .amount = START};
  memcpy(out.address, addr[1], 32);
  pg_buf payload, msg;
  pg_buf_init(&payload, PG_MSG_MAX_LEN);
  pg_buf_init(&msg, PG_MSG_MAX_LEN);
  assert_int_equal(pg_transaction_build(&payload, &in, 1, &out, 1, NULL, 0, NULL, 0, NULL, &d), PG_OK);
  assert_int_equal(pg_message_build(&msg, info.network_id, ms1.message_id, 1, payload.data,
                                    payload.len, 0, &d),
                   PG_OK);
  uint8_t stale[32], fin[32];
  assert_int_equal(pg_client_submit_raw(c, msg.data, msg.len, stale, &d), PG_OK);

  int rc = pg_wallet_follow(w, stale,
                            &(pg_wallet_follow_opts){.timeout_ms = 30000, .poll_ms = 50}, fin, &d);
  if (rc) print_error("follow: %s\n", d.msg);
  assert_int_equal(rc, PG_OK);
  assert_memory_not_equal(fin, stale, 32); /* it was reattached */
  pg_msg_meta m;
  assert_int_equal(pg_client_get_meta(c, fin, &m, &d), PG_OK);
  assert_int_equal(m.inclusion, PG_INCL_INCLUDED);
  uint64_t b = 0;
  assert_int_equal(pg_client_address(c, addr[1], &b, NULL, &d), PG_OK);
  assert_int_equal(b, START);

  pg_buf_free(&payload);
  pg_buf_free(&msg);
  pg_wallet_free(w);
  stop_node(c, node, &nc, dir);
}

int main(void) {
  if (pg_crypto_init()) return 1;
  pg_log_set_level(PG_LOG_WARN);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_random_transfers_http),
                                     cmocka_unit_test(test_random_transfers_in_process),
                                     cmocka_unit_test(test_follow_reattaches_stale_transfer)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
