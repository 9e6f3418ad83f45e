/* Replica catch-up: an in-process coordinator node (min PoW score 0) gets N
 * data messages with a milestone every 50, then an in-process replica
 * ([peers] = the coordinator's HTTP API on loopback) catches up from
 * genesis: every message fetched with /raw, checked and stored, every
 * milestone confirmed with its white-flag ledger. Prints "name: value unit"
 * lines only.
 *
 *   bench_node_replica          PG_BENCH_MESSAGES (default 5000) messages */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/base/clock.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/base/log.h"
#include "p2pgrid/node/node.h"

#include "util.h"

#define PER_MILESTONE 50

static char g_tmp[64];

static int start(const char *name, const uint8_t pk[32], const char *peer, pg_node **out) {
  pg_node_config c;
  pg_node_config_init(&c);
  char dir[128];
  snprintf(dir, sizeof dir, "%s/%s", g_tmp, name);
  free(c.data_dir);
  c.data_dir = strdup(dir);
  c.port = 0;
  c.min_pow_score = 0;
  c.ms_keys_count = 1;
  memcpy(c.ms_public_keys[0], pk, 32);
  if (peer) {
    c.peer_urls = calloc(1, sizeof *c.peer_urls);
    if (c.peer_urls) c.peer_urls[0] = strdup(peer);
    c.peer_count = 1;
    c.peer_poll_ms = 50;
  }
  pg_diag d = {{0}};
  int rc = pg_node_start(&c, out, &d);
  if (rc) fprintf(stderr, "bench_node_replica: %s: %s\n", name, d.msg);
  pg_node_config_clear(&c);
  return rc;
}

static uint32_t confirmed(pg_node *n) {
  pg_tangle_status s;
  pg_tangle_get_status(pg_node_tangle(n), &s);
  return s.confirmed_milestone_index;
}

/* N data messages through the in-process client, a milestone every 50. */
static int fill(pg_node *coo, const uint8_t sk[1][64], long n) {
  pg_client *c = NULL;
  pg_diag d = {{0}};
  int rc = pg_client_local_new(pg_node_tangle(coo), pg_node_ledger(coo), &c, &d);
  uint32_t ms = 0;
  for (long i = 0; rc == PG_OK && i < n; i++) {
    char data[32];
    int len = snprintf(data, sizeof data, "reading %ld", i);
    uint8_t id[32];
    rc = pg_client_submit_data(c, (const uint8_t *)"bench-replica", 13, (const uint8_t *)data,
                               (size_t)len, id, &d);
    if (rc == PG_OK && (i + 1) % PER_MILESTONE == 0)
      rc = pg_tangle_issue_milestone(pg_node_tangle(coo), sk, 1, NULL, &ms, &d);
  }
  if (rc == PG_OK) rc = pg_tangle_issue_milestone(pg_node_tangle(coo), sk, 1, NULL, &ms, &d);
  if (rc) fprintf(stderr, "bench_node_replica: filling: %s\n", d.msg);
  pg_client_free(c);
  return rc;
}

int main(void) {
  const char *env = getenv("PG_BENCH_MESSAGES");
  long n = env ? atol(env) : 5000;
  if (n < PER_MILESTONE) n = PER_MILESTONE;
  pg_log_set_level(PG_LOG_WARN);
  snprintf(g_tmp, sizeof g_tmp, "/tmp/pg-bench-replica-XXXXXX");
  if (!mkdtemp(g_tmp)) return 1;
  uint8_t seed[32], pk[32], sk[1][64];
  memset(seed, 0x5b, sizeof seed);
  pg_ed25519_from_seed(seed, pk, sk[0]);

  pg_node *coo = NULL, *rep = NULL;
  int rc = start("coo", pk, NULL, &coo);
  if (rc == PG_OK) rc = fill(coo, (const uint8_t(*)[64])sk, n);
  pg_tangle_status st;
  if (rc == PG_OK) {
    pg_tangle_get_status(pg_node_tangle(coo), &st);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)pg_node_port(coo));
    double t0 = bench_now_s();
    rc = start("replica", pk, url, &rep);
    while (rc == PG_OK && confirmed(rep) < st.confirmed_milestone_index) {
      struct timespec ts = {0, 5 * 1000000L};
      nanosleep(&ts, NULL);
    }
    double dt = bench_now_s() - t0;
    if (rc == PG_OK) {
      printf("replica_catchup_messages: %llu messages\n", (unsigned long long)st.messages);
      printf("replica_catchup_messages_per_s: %.0f messages/s\n", (double)st.messages / dt);
      printf("replica_catchup_milestones_per_s: %.1f milestones/s\n",
             (double)st.confirmed_milestone_index / dt);
    }
  }
  pg_node_stop(rep);
  pg_node_stop(coo);
  bench_rmtree(g_tmp);
  return rc ? 1 : 0;
}
