/* Integration test: replica nodes ([peers], issue 14) as real `p2pgrid node`
 * processes on 127.0.0.1.
 *
 *  - a coordinator node (PoW score 20, milestone every second) and two
 *    replicas; replica 1 follows the coordinator, replica 2 (started late)
 *    follows replica 1 and the coordinator; data messages and wallet
 *    transfers are posted to the replicas (forwarded to their peers) and are
 *    known there at once and confirmed; the late replica catches up;
 *  - replica 2 is killed (SIGKILL) mid-run and restarted: it goes on from
 *    what it stored (fetches only the milestones it lacks) and catches up;
 *  - two bad peers, both real nodes on the same network and genesis:
 *    "bad-key" runs its own coordinator key (its milestones fail the
 *    replica's signature check), "bad-pow" has the right key but min PoW
 *    score 0 (its messages fail the replica's PoW check). A third replica
 *    listing them before the coordinator refuses both, says so in its log
 *    and in GET /api/plugins/peers, and follows the coordinator;
 *  - a grid whose entities use different nodes (grid on the coordinator's
 *    node, producer and source on replica 1, consumer on replica 2, mutual
 *    TLS between them as usual): the consumer pays and the producer is paid,
 *    seen alike by all three nodes;
 *  - at the end every node's ledger digest agrees at every milestone.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "p2pgrid/client/client.h"
#include "p2pgrid/crypto/ed25519.h"
#include "p2pgrid/base/hex.h"
#include "p2pgrid/crypto/slip10.h"
#include "p2pgrid/client/wallet.h"

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define POW "20"
#define FUNDS 100000000ull /* 100 Mi per wallet */
#define GRID_FUND 1000000000000ull /* 1 Ti: the grid's float, the consumer's money */
#define SLOT_MS 3000ull

static proc g_coo = {.name = "coo"}, g_r1 = {.name = "replica1"}, g_r2 = {.name = "replica2"},
            g_r3 = {.name = "replica3"}, g_bad_key = {.name = "bad-key"},
            g_bad_pow = {.name = "bad-pow"};
static char g_genesis[300];
static char g_seed_a[65], g_seed_b[65], g_pk_a[65];
static uint8_t g_wseed[2][32];
static uint8_t g_waddr[2][32];
/* the grid on different nodes: wallets 2 grid, 3 producer, 4 consumer */
static char g_gdir[200], g_ca[260];
static uint8_t g_gaddr[5][32];
static proc g_grid = {.name = "grid"}, g_prod = {.name = "producer-0"},
            g_src = {.name = "source-0"}, g_cons = {.name = "consumer-0"};

/* ---- nodes --------------------------------------------------------------- */

typedef struct args {
  const char *v[40];
  int n;
  char buf[8][600];
  int nb;
} args;

static void set(args *a, const char *fmt, ...) PG_PRINTF(2, 3);
static void set(args *a, const char *fmt, ...) {
  assert_true(a->nb < 8 && a->n < 38);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(a->buf[a->nb], sizeof a->buf[a->nb], fmt, ap);
  va_end(ap);
  a->v[a->n++] = "--set";
  a->v[a->n++] = a->buf[a->nb++];
  a->v[a->n] = NULL;
}

/* A coordinator (seed hex) or a replica (peers: comma-separated URLs);
 * on p->port again when keep_port. */
static void start_node_on(proc *p, const char *seed, const char *pow, const char *peers,
                          bool keep_port) {
  args a = {.n = 0};
  char port[16];
  snprintf(p->data_dir, sizeof p->data_dir, "%s/%s", g_root, p->name);
  set(&a, "node.min_pow_score=%s", pow);
  set(&a, "ledger.genesis_file=%s", g_genesis);
  if (seed) {
    set(&a, "coordinator.enabled=true");
    set(&a, "coordinator.seeds=%s", seed);
    set(&a, "coordinator.interval=1s");
  } else {
    set(&a, "milestones.public_keys=%s", g_pk_a);
    set(&a, "peers.urls=%s", peers);
    set(&a, "peers.poll_interval=200ms");
    set(&a, "peers.max_backoff=2s");
  }
  if (keep_port) {
    snprintf(port, sizeof port, "%u", p->port);
    a.v[a.n++] = "--port";
    a.v[a.n++] = port;
    a.v[a.n] = NULL;
  }
  proc_start(p, a.v);
}

static void start_node(proc *p, const char *seed, const char *pow, const char *peers) {
  start_node_on(p, seed, pow, peers, false);
}

/* ---- messages and transfers through a replica ---------------------------- */

static void post_data(const proc *p, const char *text, char id[65]) {
  char hix[64], hdata[256], body[512];
  pg_hex_encode((const uint8_t *)"replica-test", 12, hix);
  pg_hex_encode((const uint8_t *)text, strlen(text), hdata);
  snprintf(body, sizeof body, "{\"payload\":{\"type\":2,\"index\":\"%s\",\"data\":\"%s\"}}", hix,
           hdata);
  resp r;
  http(p, "POST", "/api/v1/messages", "application/json", body, strlen(body), NULL, &r);
  if (r.status != 201) fail_msg("POST to %s: %ld %s", p->name, r.status, r.body);
  json_t *d = json_object_get(r.json, "data");
  snprintf(id, 65, "%s", jstr(d, "messageId"));
  resp_free(&r);
  /* the replica fetched it back from its peer: known here at once */
  char path[200];
  snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", id);
  get_data(p, path, &r);
  resp_free(&r);
}

static long long wait_referenced(const proc *p, const char *id) {
  char path[200];
  snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", id);
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    resp r;
    get(p, path, &r); /* 404 until p has it */
    if (r.status != 200 && r.status != 404) fail_msg("%s: GET %s: %ld", p->name, path, r.status);
    json_t *ref = json_object_get(json_object_get(r.json, "data"), "referencedByMilestoneIndex");
    long long v = json_is_integer(ref) ? json_integer_value(ref) : 0;
    resp_free(&r);
    if (v > 0) return v;
    if (now_ms() > deadline) fail_msg("%s: message %s not referenced in time", p->name, id);
    nap();
  }
}

/* Wallet k pays 1 Mi to a fresh address through node p and follows it. */
static void transfer(const proc *p, int k, uint8_t to_byte) {
  pg_client *c = NULL;
  pg_wallet *w = NULL;
  pg_diag d = {{0}};
  pg_http_client_opts o = {.base_url = p->base};
  assert_int_equal(pg_client_http_new(&o, &c, &d), PG_OK);
  assert_int_equal(pg_wallet_new(c, g_wseed[k], 32, NULL, &w, &d), PG_OK);
  pg_wallet_output out = {.amount = 1000000};
  memset(out.address, to_byte, 32);
  uint8_t msg[32], fin[32];
  int rc = pg_wallet_send(w, &out, 1, NULL, msg, NULL, &d);
  if (rc) fail_msg("send through %s: %s", p->name, d.msg);
  pg_wallet_follow_opts fo = {.timeout_ms = DEADLINE_CONFIRM_MS};
  rc = pg_wallet_follow(w, msg, &fo, fin, &d);
  if (rc) fail_msg("follow through %s: %s", p->name, d.msg);
  uint64_t bal = 0;
  assert_int_equal(pg_client_address(c, out.address, &bal, NULL, &d), PG_OK);
  assert_true(bal >= 1000000);
  pg_wallet_free(w);
  pg_client_free(c);
}

static json_t *peers_status(const proc *p, resp *r) { return get_data(p, "/api/plugins/peers", r); }

static json_t *peer_entry(json_t *st, const proc *peer) {
  json_t *a = json_object_get(st, "peers");
  for (size_t i = 0; i < json_array_size(a); i++) {
    json_t *e = json_array_get(a, i);
    if (strcmp(jstr(e, "url"), peer->base) == 0) return e;
  }
  fail_msg("no peer %s in the status", peer->base);
  return NULL;
}

/* ---- setup ------------------------------------------------------------------ */

static int group_setup(void **state) {
  if (harness_mkroot("/tmp/p2pgrid-replica-XXXXXX") != 0) return -1;
  uint8_t seed[32], pk[32], sk[64];
  memset(seed, 0x11, sizeof seed);
  pg_ed25519_from_seed(seed, pk, sk);
  pg_hex_encode(seed, 32, g_seed_a);
  pg_hex_encode(pk, 32, g_pk_a);
  memset(seed, 0x22, sizeof seed);
  pg_hex_encode(seed, 32, g_seed_b);
  snprintf(g_genesis, sizeof g_genesis, "%s/genesis.txt", g_root);
  FILE *f = fopen(g_genesis, "w");
  if (!f) return -1;
  for (int k = 0; k < 2; k++) {
    memset(g_wseed[k], 0x40 + k, 32);
    uint8_t wpk[32], wsk[64];
    if (pg_iota_keypair(g_wseed[k], 32, 0, 0, 0, wpk, wsk, g_waddr[k]) != 0) return -1;
    char hex[65];
    pg_hex_encode(g_waddr[k], 32, hex);
    fprintf(f, "%s %llu\n", hex, FUNDS);
  }
  snprintf(g_gdir, sizeof g_gdir, "%s/grid-world", g_root);
  if (mkdir(g_gdir, 0755) != 0) return -1;
  for (int k = 2; k <= 4; k++) {
    uint8_t gseed[32];
    char hex[65], path[300];
    memset(gseed, 0x60 + k, 32);
    if (pg_iota_keypair(gseed, 32, 0, 0, 0, NULL, NULL, g_gaddr[k]) != 0) return -1;
    pg_hex_encode(gseed, 32, hex);
    snprintf(path, sizeof path, "%s/wallet-%d.seed", g_gdir, k);
    FILE *w = fopen(path, "w");
    if (!w) return -1;
    fprintf(w, "%s\n", hex);
    fclose(w);
    pg_hex_encode(g_gaddr[k], 32, hex);
    if (k != 3) fprintf(f, "%s %llu\n", hex, GRID_FUND);
  }
  fclose(f);
  return 0;
}

static int group_teardown(void **state) {
  proc *all[] = {&g_cons, &g_src, &g_prod, &g_grid, &g_r3, &g_bad_pow, &g_bad_key, &g_r2, &g_r1, &g_coo};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) proc_kill(all[i]);
  harness_rmroot();
  return 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_replicas_follow_and_forward(void **state) {
  start_node(&g_coo, g_seed_a, POW, NULL);
  wait_confirmed(&g_coo, 2);
  start_node(&g_r1, NULL, POW, g_coo.base);
  wait_confirmed(&g_r1, 2);

  char id[65];
  post_data(&g_r1, "through replica 1", id);
  long long ms = wait_referenced(&g_r1, id);
  assert_true(ms >= 1);
  transfer(&g_r1, 0, 0xa1);

  /* replica 2 starts late and follows replica 1 first, the coordinator second */
  wait_confirmed(&g_coo, confirmed_index(&g_coo) + 3);
  char peers[200];
  snprintf(peers, sizeof peers, "%s, %s", g_r1.base, g_coo.base);
  start_node(&g_r2, NULL, POW, peers);
  wait_confirmed(&g_r2, confirmed_index(&g_coo));
  post_data(&g_r2, "through replica 2", id);
  wait_referenced(&g_r2, id);
  transfer(&g_r2, 1, 0xa2);
  wait_referenced(&g_r1, id); /* replica 1 has it too */

  resp r;
  json_t *st = peers_status(&g_r2, &r);
  assert_int_equal(jint(st, "refusals"), 0);
  resp_free(&r);
}

/* Replica 2 is killed; while it is down replica 1 (its first peer) goes
 * down too: restarted, replica 2 resumes from its own store and catches up
 * from the coordinator alone; replica 1 back on its port is used again. */
static void test_replica_killed_resumes(void **state) {
  char id[65];
  long long before = confirmed_index(&g_r2);
  post_data(&g_r1, "while replica 2 runs", id);
  proc_kill(&g_r2); /* SIGKILL */
  post_data(&g_r1, "while replica 2 is down", id);
  wait_referenced(&g_r1, id);
  proc_kill(&g_r1);
  wait_confirmed(&g_coo, confirmed_index(&g_coo) + 3);

  char peers[200];
  snprintf(peers, sizeof peers, "%s, %s", g_r1.base, g_coo.base);
  start_node_on(&g_r2, NULL, POW, peers, true);
  assert_true(confirmed_index(&g_r2) >= before); /* what was stored is stored */
  long long target = confirmed_index(&g_coo);
  wait_confirmed(&g_r2, target);
  wait_referenced(&g_r2, id);

  /* it fetched only what it lacked, all of it from the coordinator */
  resp r;
  json_t *st = peers_status(&g_r2, &r);
  json_t *down = peer_entry(st, &g_r1), *coo = peer_entry(st, &g_coo);
  assert_string_equal(jstr(down, "state"), "down");
  assert_true(jint(down, "failures") >= 1);
  assert_int_equal(jint(down, "refusals"), 0);
  assert_true(jint(coo, "milestones") >= target - before);
  assert_true(jint(coo, "milestones") + jint(down, "milestones") < target);
  resp_free(&r);
  /* a POST goes to the peer that is up */
  post_data(&g_r2, "while replica 1 is down", id);

  start_node_on(&g_r1, NULL, POW, g_coo.base, true);
  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    st = peers_status(&g_r2, &r);
    bool ok = strcmp(jstr(peer_entry(st, &g_r1), "state"), "ok") == 0;
    resp_free(&r);
    if (ok) break;
    if (now_ms() > deadline) fail_msg("replica 2 did not use replica 1 again");
    nap();
  }
  wait_referenced(&g_r1, id);
}

static void test_bad_peers_refused(void **state) {
  start_node(&g_bad_key, g_seed_b, POW, NULL); /* its own key */
  start_node(&g_bad_pow, g_seed_a, "0", NULL);  /* the right key, no PoW */
  wait_confirmed(&g_bad_key, 1);
  wait_confirmed(&g_bad_pow, 1);

  char peers[300];
  snprintf(peers, sizeof peers, "%s,%s,%s", g_bad_key.base, g_bad_pow.base, g_coo.base);
  start_node(&g_r3, NULL, POW, peers);
  wait_confirmed(&g_r3, confirmed_index(&g_coo));

  uint64_t deadline = now_ms() + DEADLINE_CONFIRM_MS;
  for (;;) {
    resp r;
    json_t *st = peers_status(&g_r3, &r);
    json_t *k = peer_entry(st, &g_bad_key), *p = peer_entry(st, &g_bad_pow);
    json_t *c = peer_entry(st, &g_coo);
    bool done = jint(k, "refusals") >= 1 && jint(p, "refusals") >= 1;
    if (done) {
      assert_string_equal(jstr(k, "state"), "refused");
      assert_string_equal(jstr(p, "state"), "refused");
      assert_non_null(strstr(jstr(k, "lastError"), "bad milestone signature"));
      assert_non_null(strstr(jstr(p, "lastError"), "bad PoW"));
      assert_int_equal(jint(c, "refusals"), 0);
      assert_true(jint(st, "refusals") >= 2);
    }
    resp_free(&r);
    if (done) break;
    if (now_ms() > deadline) {
      dump_log(&g_r3);
      fail_msg("replica 3 did not refuse both bad peers in time");
    }
    nap();
  }
  char line[200];
  snprintf(line, sizeof line, "refusing peer %s: bad milestone signature", g_bad_key.base);
  assert_true(log_has(&g_r3, line));
  snprintf(line, sizeof line, "refusing peer %s: bad PoW", g_bad_pow.base);
  assert_true(log_has(&g_r3, line));
  /* its metrics (issue 19): three peers, both refusals counted */
  char *text = get_metrics(&g_r3, NULL);
  assert_int_equal(metric_sample(text, "p2pgrid_node_peers"), 3);
  assert_true(metric_sample(text, "p2pgrid_node_peer_refusals_total") >= 2);
  assert_null(strstr(text, g_bad_key.base)); /* no peer URL as a label */
  free(text);

  /* the bad-key milestone was checked before its cone was fetched: nothing
   * of it that the coordinator does not have is stored at the replica */
  resp r;
  char path[200], msid[65];
  json_t *m = get_data(&g_bad_key, "/api/v1/milestones/1", &r);
  snprintf(msid, sizeof msid, "%s", jstr(m, "messageId"));
  resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/messages/%s", msid);
  json_t *parents = json_object_get(get_data(&g_bad_key, path, &r), "parentMessageIds");
  assert_true(json_array_size(parents) >= 1);
  for (size_t i = 0; i <= json_array_size(parents); i++) {
    resp q;
    const char *id = i == 0 ? msid : json_string_value(json_array_get(parents, i - 1));
    snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", id);
    get(&g_coo, path, &q); /* the first message of a new network is the same everywhere */
    long on_coo = q.status;
    resp_free(&q);
    get(&g_r3, path, &q);
    if (q.status != on_coo) fail_msg("replica 3 stored %s of the bad-key node (%ld)", id, q.status);
    resp_free(&q);
    if (i == 0) assert_int_equal(on_coo, 404);
  }
  resp_free(&r);

  /* it keeps following the coordinator, and forwards there */
  char id[65];
  post_data(&g_r3, "through replica 3", id);
  wait_referenced(&g_r3, id);
  wait_confirmed(&g_r3, confirmed_index(&g_coo) + 2);
}

/* ---- a grid whose entities use different nodes ------------------------------ */

static uint64_t balance_at(const proc *p, const uint8_t addr[32]) {
  char hex[65], path[160];
  pg_hex_encode(addr, 32, hex);
  snprintf(path, sizeof path, "/api/v1/addresses/ed25519/%s", hex);
  resp r;
  uint64_t b = (uint64_t)jint(get_data(p, path, &r), "balance");
  resp_free(&r);
  return b;
}

static void grid_entity(proc *p, const char *role, const proc *node, const char *upstream,
                        int seed, const char *extra) {
  grid_dirs g = {.dir = g_gdir, .ca_dir = g_ca, .node_url = node->base, .slot_ms = SLOT_MS};
  write_entity_config(&g, role, p->name, upstream, seed, extra);
  char cfg[300];
  snprintf(cfg, sizeof cfg, "%s/%s.ini", g_gdir, p->name);
  proc_start_cmd(p, role, cfg, NULL);
}

/* The grid on the coordinator's node, producer and source on replica 1, the
 * consumer on replica 2: readings, bills, payments and payouts all go
 * through replicas; every node sees the same money at the end. */
static void test_grid_on_different_nodes(void **state) {
  snprintf(g_ca, sizeof g_ca, "%s/ca", g_gdir);
  ca_init(g_ca);
  const char *who[][3] = {{"grid", "grid", NULL},         {"operator", "operator", NULL},
                          {"producer-0", "producer", NULL}, {"source-0", "source", "producer-0"},
                          {"consumer-0", "consumer", NULL}};
  harness_tls op;
  for (size_t i = 0; i < 5; i++) {
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/%s", g_gdir, who[i][0]);
    bool big = strcmp(who[i][1], "producer") == 0 || strcmp(who[i][1], "consumer") == 0;
    ca_issue(g_ca, who[i][0], who[i][1], who[i][2], big ? "10000" : NULL, prefix,
             i == 1 ? &op : NULL);
  }
  g_tls = op;
  uint64_t t_end = (wall_ms() / SLOT_MS + 8) * SLOT_MS;
  char meter[400], path[300];
  snprintf(path, sizeof path, "%s/source-0.csv", g_gdir);
  write_csv_meter(path, SLOT_MS, t_end, 3000000, 1000);
  snprintf(path, sizeof path, "%s/consumer-0.csv", g_gdir);
  write_csv_meter(path, SLOT_MS, t_end, 2000000, 1000);

  grid_dirs g = {.dir = g_gdir, .ca_dir = g_ca, .node_url = g_coo.base, .slot_ms = SLOT_MS};
  write_entity_config(&g, "grid", "grid", NULL, 2,
                      "mechanism = pay-as-clear\nimport_price = 300000000\n"
                      "export_price = 80000000\ngrace = 1500ms\npayout_min = 0\n"
                      "dust_allowance = 10000000\n");
  grid_enrol(&g, "producer-0", NULL);
  grid_enrol(&g, "consumer-0", NULL);
  char cfg[300];
  snprintf(cfg, sizeof cfg, "%s/grid.ini", g_gdir);
  proc_start_cmd(&g_grid, "grid", cfg, NULL);
  grid_entity(&g_prod, "producer", &g_r1, g_grid.base, 3, "ask_per_kwh = 90000000\ngrace = 1s\n");
  snprintf(meter, sizeof meter, "\n[meter]\nkind = csv\npath = %s/source-0.csv\nwrap = false\n",
           g_gdir);
  grid_entity(&g_src, "source", &g_r1, g_prod.base, -1, meter);
  snprintf(meter, sizeof meter,
           "bid_per_kwh = 250000000\n\n[meter]\nkind = csv\npath = %s/consumer-0.csv\n"
           "wrap = false\n",
           g_gdir);
  grid_entity(&g_cons, "consumer", &g_r2, g_grid.base, 4, meter);

  /* the consumer paid the grid and the grid paid the producer, seen by
   * every node */
  const proc *nodes[] = {&g_coo, &g_r1, &g_r2};
  uint64_t deadline = now_ms() + 150000;
  for (;;) {
    bool done = true;
    for (size_t i = 0; i < 3; i++)
      done = done && balance_at(nodes[i], g_gaddr[3]) > 0 &&
             balance_at(nodes[i], g_gaddr[4]) < GRID_FUND;
    if (done) break;
    if (now_ms() > deadline) {
      dump_log(&g_grid);
      dump_log(&g_cons);
      fail_msg("no payment and payout through the replicas in time");
    }
    nap();
  }
  proc *ents[] = {&g_cons, &g_src, &g_prod, &g_grid};
  for (size_t i = 0; i < 4; i++) proc_stop(ents[i]);
}

static void test_digests_agree(void **state) {
  long long last = confirmed_index(&g_coo);
  const proc *nodes[] = {&g_r1, &g_r2, &g_r3};
  for (size_t i = 0; i < 3; i++) wait_confirmed(nodes[i], last);
  for (long long k = 0; k <= last; k++) {
    char path[100], want[65], mid[65];
    snprintf(path, sizeof path, "/api/plugins/ledger/digest/%lld", k);
    resp r;
    json_t *d = get_data(&g_coo, path, &r);
    assert_int_equal(jint(d, "index"), k);
    assert_true(is_hex64(jstr(d, "digest")));
    snprintf(want, sizeof want, "%s", jstr(d, "digest"));
    snprintf(mid, sizeof mid, "%s", jstr(d, "milestoneId"));
    resp_free(&r);
    for (size_t i = 0; i < 3; i++) {
      d = get_data(nodes[i], path, &r);
      if (strcmp(jstr(d, "digest"), want) != 0 || strcmp(jstr(d, "milestoneId"), mid) != 0)
        fail_msg("%s: digest %lld differs from the coordinator's", nodes[i]->name, k);
      resp_free(&r);
    }
  }
  /* the bad-key node has its own history: its digest differs after genesis */
  resp r;
  json_t *d = get_data(&g_bad_key, "/api/plugins/ledger/digest/1", &r);
  char bad[65];
  snprintf(bad, sizeof bad, "%s", jstr(d, "digest"));
  resp_free(&r);
  d = get_data(&g_coo, "/api/plugins/ledger/digest/1", &r);
  assert_string_not_equal(bad, jstr(d, "digest"));
  resp_free(&r);
  get(&g_coo, "/api/plugins/ledger/digest/4000000000", &r);
  expect_error(&r, 404, "not confirmed", "digest of a future milestone");
  resp_free(&r);

  proc *all[] = {&g_r3, &g_bad_pow, &g_bad_key, &g_r2, &g_r1, &g_coo};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) proc_stop(all[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replicas_follow_and_forward),
      cmocka_unit_test(test_replica_killed_resumes),
      cmocka_unit_test(test_bad_peers_refused),
      cmocka_unit_test(test_grid_on_different_nodes),
      cmocka_unit_test(test_digests_agree),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
