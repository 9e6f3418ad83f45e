/* Payment lookups over HTTP: what a grid daemon on another machine does each
 * slot. An in-process node (loopback HTTP) holds N payments to one address
 * (the grid's), each a transfer of its own from one of 100 payers with a
 * reference (indexation), as households pay their bills. The grid's scan
 * looks each new output up with the message that made it
 * (pg_client_outputs_many, raw): once in batches (POST
 * /api/plugins/data/outputs: one request a thousand outputs) and once with
 * GET outputs/{id} and GET messages/{id}/raw for each (rest_only: 2
 * requests a payment). Prints "name: value unit" lines only: the median
 * wall time of PG_BENCH_ROUNDS (default 3) lookups a way, the outputs
 * looked up a second, the HTTP requests a lookup took (the node's
 * /metrics), at N = 100, 1,000 and 3,000. Loopback has no network latency:
 * across a network each request also costs its round trip, which the
 * request counts multiply.
 *
 *   bench_node_outputs */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p2pgrid/base/log.h"
#include "p2pgrid/client/client.h"
#include "p2pgrid/client/wallet.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/node/node.h"

#include "node_requests.h"
#include "util.h"

#define PAYERS 100
#define MAX_PAID 3000
#define MI 1000000ULL

static char g_tmp[128];

typedef struct bench {
  pg_node *node;
  pg_client *local;
  pg_wallet *payer[PAYERS];
  uint8_t coo_sk[1][64];
  uint8_t grid[32];
  char base[64];
  size_t paid;
} bench;

static void seed_of(int i, uint8_t seed[32]) {
  memset(seed, 0, 32);
  seed[0] = (uint8_t)(i + 1);
  seed[31] = 0x6b;
}

/* A node whose genesis funds PAYERS wallets; milestones by the bench. */
static int start(bench *b) {
  pg_node_config c;
  pg_node_config_init(&c);
  char dir[160];
  snprintf(dir, sizeof dir, "%s/node", g_tmp);
  free(c.data_dir);
  c.data_dir = strdup(dir);
  c.port = 0;
  c.min_pow_score = 0;
  uint8_t coo_seed[32], coo_pk[32];
  memset(coo_seed, 0xc1, sizeof coo_seed);
  pg_ed25519_from_seed(coo_seed, coo_pk, b->coo_sk[0]);
  c.ms_keys_count = 1;
  memcpy(c.ms_public_keys[0], coo_pk, 32);
  c.ms_threshold = 1;
  c.genesis = calloc(PAYERS, sizeof *c.genesis);
  int rc = c.genesis ? PG_OK : PG_ERR_NOMEM;
  for (int i = 0; rc == PG_OK && i < PAYERS; i++) {
    uint8_t seed[32];
    seed_of(i, seed);
    rc = pg_iota_keypair(seed, 32, 0, 0, 0, NULL, NULL, c.genesis[i].address);
    c.genesis[i].amount = 1000 * MI;
  }
  c.genesis_count = PAYERS;
  pg_diag d = {{0}};
  if (rc == PG_OK) rc = pg_node_start(&c, &b->node, &d);
  if (rc) fprintf(stderr, "bench_node_outputs: node: %s\n", d.msg);
  pg_node_config_clear(&c);
  if (rc == PG_OK) rc = pg_client_local_new(pg_node_tangle(b->node), pg_node_ledger(b->node),
                                            &b->local, &d);
  for (int i = 0; rc == PG_OK && i < PAYERS; i++) {
    uint8_t seed[32];
    seed_of(i, seed);
    rc = pg_wallet_new(b->local, seed, 32, NULL, &b->payer[i], &d);
  }
  memset(b->grid, 0x67, sizeof b->grid);
  snprintf(b->base, sizeof b->base, "http://127.0.0.1:%u", (unsigned)pg_node_port(b->node));
  if (rc) fprintf(stderr, "bench_node_outputs: set-up: %s\n", d.msg);
  return rc;
}

static int milestone(bench *b) {
  uint32_t ms = 0;
  pg_diag d = {{0}};
  int rc = pg_tangle_issue_milestone(pg_node_tangle(b->node), b->coo_sk, 1, NULL, &ms, &d);
  if (rc) fprintf(stderr, "bench_node_outputs: milestone: %s\n", d.msg);
  return rc;
}

/* Payments until `to` have been made: each payer pays once a round (its
 * remainder is confirmed by the round's milestone). */
static int pay_until(bench *b, size_t to) {
  int rc = PG_OK;
  while (rc == PG_OK && b->paid < to) {
    for (int i = 0; rc == PG_OK && i < PAYERS && b->paid < to; i++, b->paid++) {
      char ref[40];
      int len = snprintf(ref, sizeof ref, "p2pgrid:bill:%06zu", b->paid);
      pg_wallet_output out = {.amount = MI + b->paid};
      memcpy(out.address, b->grid, 32);
      pg_wallet_send_opts o = {.index = (const uint8_t *)ref, .index_len = (size_t)len};
      pg_diag d = {{0}};
      rc = pg_wallet_send(b->payer[i], &out, 1, &o, NULL, NULL, &d);
      if (rc) fprintf(stderr, "bench_node_outputs: payment %zu: %s\n", b->paid, d.msg);
    }
    if (rc == PG_OK) rc = milestone(b);
  }
  return rc;
}

/* The median seconds of `rounds` lookups of the address's outputs with
 * their messages, and the requests one took; < 0 when one failed. */
static double lookup_rounds(bench *b, bool rest_only, const uint8_t (*ids)[PG_OUTPUT_ID_LEN],
                            size_t n, int rounds, double *reqs) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  if (pg_client_http_new(&(pg_http_client_opts){.base_url = b->base, .rest_only = rest_only}, &c,
                         &d)) {
    fprintf(stderr, "bench_node_outputs: client: %s\n", d.msg);
    return -1;
  }
  pg_client_output_got *v = calloc(n, sizeof *v);
  double t[16], q0 = bench_node_requests(b->base);
  int done = 0;
  for (; v && done < rounds; done++) {
    for (size_t i = 0; i < n; i++) memcpy(v[i].id, ids[i], PG_OUTPUT_ID_LEN);
    double t0 = bench_now_s();
    int rc = pg_client_outputs_many(c, v, n, true, &d);
    t[done] = bench_now_s() - t0;
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
      got += v[i].rc == PG_OK && v[i].raw_rc == PG_OK;
      pg_client_output_got_clear(&v[i]);
    }
    if (rc || got != n) {
      fprintf(stderr, "bench_node_outputs: %zu of %zu found: %s\n", got, n, d.msg);
      break;
    }
  }
  *reqs = (bench_node_requests(b->base) - q0) / (done ? done : 1);
  free(v);
  pg_client_free(c);
  if (done < rounds) return -1;
  return bench_median(t, rounds);
}

static int measure(bench *b, int rounds) {
  uint8_t(*ids)[PG_OUTPUT_ID_LEN] = NULL;
  size_t n = 0;
  pg_diag d = {{0}};
  if (pg_client_address_outputs_all(b->local, b->grid, false, MAX_PAID, MAX_PAID, &ids, &n, &d) ||
      n != b->paid) {
    fprintf(stderr, "bench_node_outputs: %zu outputs of %zu payments: %s\n", n, b->paid, d.msg);
    free(ids);
    return 1;
  }
  double qb = 0, qr = 0;
  double tb = lookup_rounds(b, false, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, n, rounds, &qb);
  double tr = lookup_rounds(b, true, (const uint8_t(*)[PG_OUTPUT_ID_LEN])ids, n, rounds, &qr);
  free(ids);
  if (tb < 0 || tr < 0) return 1;
  printf("node_outputs_http_batch_%zu_payments: %.1f ms a scan (%.0f outputs/s, %.0f requests)\n",
         n, tb * 1e3, (double)n / tb, qb);
  printf("node_outputs_http_rest_%zu_payments: %.1f ms a scan (%.0f outputs/s, %.0f requests)\n",
         n, tr * 1e3, (double)n / tr, qr);
  printf("node_outputs_http_%zu_payments_speedup: %.2fx\n", n, tr / tb);
  fflush(stdout);
  return 0;
}

int main(void) {
  int rounds = bench_rounds(3);
  pg_log_set_level(PG_LOG_WARN);
  snprintf(g_tmp, sizeof g_tmp, "%s/pg-bench-outputs-XXXXXX", bench_tmpbase());
  if (!mkdtemp(g_tmp)) return 1;
  static bench b;
  static const size_t sizes[] = {100, 1000, MAX_PAID};
  int rc = start(&b);
  if (rc == PG_OK) rc = milestone(&b);
  for (size_t s = 0; rc == PG_OK && s < sizeof sizes / sizeof sizes[0]; s++) {
    rc = pay_until(&b, sizes[s]);
    if (rc == PG_OK) rc = measure(&b, rounds);
  }
  for (int i = 0; i < PAYERS; i++) pg_wallet_free(b.payer[i]);
  pg_client_free(b.local);
  if (b.node) pg_node_stop(b.node);
  bench_rmtree(g_tmp);
  return rc ? 1 : 0;
}
