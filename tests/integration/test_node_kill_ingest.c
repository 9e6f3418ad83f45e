/* kill -9 of a node while clients post data messages (issue 18: group
 * commit). The contract under test: a 201 answer to POST /api/v1/messages
 * means the message survives a kill -9 of the node — submits that run at the
 * same time share one COMMIT, and none of them is answered before it.
 *
 * ROUNDS times: a node (its own coordinator, a milestone a second, no PoW)
 * is started on the same data dir; CLIENTS threads post data messages over
 * one keep-alive connection each and record the id of every 201; after a
 * pause from a fixed seed the node gets SIGKILL. It is restarted and every
 * recorded id of every round so far must be there (GET .../metadata 200) and
 * solid. Set PG_KEEP_TMP=1 to keep the temporary directory. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "harness.h"

#ifndef P2PGRID_BIN
#error "P2PGRID_BIN must name the p2pgrid binary"
#endif

#define ROUNDS 6
#define CLIENTS 4
#define MAX_IDS 20000 /* per client and round; far above what a round posts */
#define SEED 20261203u

typedef struct client {
  pthread_t th;
  int no;
  char url[128];
  char (*ids)[65];
  size_t n;
  long last_status; /* the answer that ended the loop (0: transport error) */
} client;

static proc g_node;
static atomic_bool g_stop;

static size_t sink(char *p, size_t sz, size_t n, void *ud) {
  json_t **out = ud;
  json_error_t e;
  json_decref(*out);
  *out = json_loadb(p, sz * n, 0, &e);
  return sz * n;
}

/* Posts one data message; 201 gives its id. Returns the HTTP status or 0. */
static long post_one(CURL *h, client *c, unsigned k, char id[65]) {
  char body[200];
  snprintf(body, sizeof body,
           "{\"payload\":{\"type\":2,\"index\":\"6b696c6c\",\"data\":\"%02x%08x\"}}", c->no, k);
  json_t *j = NULL;
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &j);
  long status = 0;
  if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  const char *mid = json_string_value(json_object_get(json_object_get(j, "data"), "messageId"));
  if (status == 201 && mid && strlen(mid) == 64)
    memcpy(id, mid, 65);
  else if (status == 201)
    status = -1; /* a 201 without an id: fails the test */
  json_decref(j);
  return status;
}

static void *client_main(void *arg) {
  client *c = arg;
  CURL *h = curl_easy_init();
  struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, c->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  for (unsigned k = 0; c->n < MAX_IDS && !atomic_load(&g_stop); k++) {
    long st = post_one(h, c, k, c->ids[c->n]);
    c->last_status = st;
    if (st == 201)
      c->n++;
    else if (st == 0)
      break; /* the node is gone */
    else if (st != 503)
      break; /* anything else is a failure the main thread reports */
  }
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
  return NULL;
}

static void start_node(void) {
  static const char *const args[] = {"--set", "coordinator.enabled=true",
                                     "--set", "coordinator.generate=true",
                                     "--set", "coordinator.interval=1s",
                                     "--set", "node.min_pow_score=0",
                                     NULL};
  proc_start(&g_node, args);
}

/* Every id acknowledged so far is stored and solid. */
static void check_all(client *all, size_t nall, int round) {
  size_t total = 0;
  for (size_t i = 0; i < nall; i++)
    for (size_t k = 0; k < all[i].n; k++) {
      char path[128];
      snprintf(path, sizeof path, "/api/v1/messages/%s/metadata", all[i].ids[k]);
      resp r;
      char err[256];
      int rc = http_try_as(&g_node, NULL, "GET", path, NULL, NULL, 0, NULL, &r, err, sizeof err);
      if (rc != 0 || r.status != 200)
        fail_msg("after kill %d: message %s answered 201 (client %zu, #%zu) is lost: %s %ld", round,
                 all[i].ids[k], i, k, rc ? err : "HTTP", rc ? 0L : r.status);
      json_t *d = json_object_get(r.json, "data");
      if (!json_is_true(json_object_get(d, "isSolid")))
        fail_msg("after kill %d: message %s is stored but not solid", round, all[i].ids[k]);
      resp_free(&r);
      total++;
    }
  fprintf(stderr, "after kill %d: all %zu acknowledged messages are there\n", round, total);
}

static void test_kill_while_posting(void **state) {
  (void)state;
  static client all[ROUNDS * CLIENTS];
  srand(SEED);
  start_node();
  for (int round = 0; round < ROUNDS; round++) {
    atomic_store(&g_stop, false);
    client *cs = &all[round * CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
      cs[i].no = round * CLIENTS + i;
      cs[i].ids = calloc(MAX_IDS, sizeof *cs[i].ids);
      assert_non_null(cs[i].ids);
      snprintf(cs[i].url, sizeof cs[i].url, "%s/api/v1/messages", g_node.base);
      assert_int_equal(pthread_create(&cs[i].th, NULL, client_main, &cs[i]), 0);
    }
    unsigned pause = 400 + (unsigned)(rand() % 1200);
    struct timespec ts = {0, (long)(pause % 1000) * 1000000L};
    ts.tv_sec = pause / 1000;
    nanosleep(&ts, NULL);
    proc_kill(&g_node);
    atomic_store(&g_stop, true);
    size_t acked = 0;
    for (int i = 0; i < CLIENTS; i++) {
      assert_int_equal(pthread_join(cs[i].th, NULL), 0);
      if (cs[i].last_status != 0 && cs[i].last_status != 201 && cs[i].last_status != 503)
        fail_msg("round %d client %d: HTTP %ld", round, i, cs[i].last_status);
      acked += cs[i].n;
    }
    fprintf(stderr, "round %d: killed after %u ms, %zu messages answered 201\n", round, pause, acked);
    assert_true(acked > 0);
    start_node();
    check_all(all, (size_t)(round + 1) * CLIENTS, round);
  }
  proc_stop(&g_node);
  for (size_t i = 0; i < ROUNDS * CLIENTS; i++) free(all[i].ids);
}

static int group_setup(void **state) {
  (void)state;
  if (harness_mkroot("/tmp/p2pgrid-ki-XXXXXX")) return -1;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
  snprintf(g_node.name, sizeof g_node.name, "node");
  snprintf(g_node.data_dir, sizeof g_node.data_dir, "%s/node", g_root);
  fprintf(stderr, "temporary directory %s\n", g_root);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  proc_kill(&g_node);
  curl_global_cleanup();
  harness_rmroot();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_while_posting)};
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
